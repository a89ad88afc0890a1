"""``mlgate reproduce RUN_ID``: re-run a past gated run from what it logged, and say whether it comes out the same.

From the MLflow run it reads the logged config file (any ``*.toml`` artifact, preferring the one whose sha256
matches the run's ``mlgate.config_sha256`` tag), the data fingerprint tag (``mlgate.data_fingerprint``), the
logged metrics and the logged model (``mlgate_model/model.skops``, loaded only when the run's
``mlgate.model_signature`` verifies with a trusted key for exactly those bytes and this run; otherwise exit 3).
Then, on the project's current data (relative paths of the logged config resolve against the project folder):

- ``reproducibility.reproduce_config``: the logged config is the one the run recorded (sha256);
- ``reproducibility.reproduce_data``: the current data has the run's fingerprint; if not, it FAILS and the
  retrain is not attempted (a different data set cannot reproduce anything);
- ``reproducibility.reproduce_predictions``: a fresh-process retrain's test probabilities equal the logged
  model's on the same split (exact, or within the logged config's ``reproducibility.tolerance``);
- ``reproducibility.reproduce_metrics``: the retrain's test metrics equal the metrics the run logged (a logged
  metric is matched by name, or as ``test_<name>`` / ``test.<name>``; the threshold as ``threshold``).
"""

from __future__ import annotations

import hashlib
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mlgate.checks.reproducibility import compare_metrics, compare_predictions
from mlgate.checks.result import CheckResult, Reason, Status
from mlgate.pipeline.config import ProjectConfig, load_config
from mlgate.pipeline.errors import MlgateError, RegistryError
from mlgate.pipeline.retrain import child_thread_count, retrain_in_fresh_process, thread_counts

__all__ = [
    "MODEL_DIR",
    "TAG_CONFIG_SHA256",
    "TAG_DATA_FINGERPRINT",
    "TAG_MODEL_SHA256",
    "TAG_MODEL_SIGNATURE",
    "logged_metric",
    "reproduce",
]

LAYER = "reproducibility"
#: Run tags the gated run records (ci.registration) and reproduce reads.
TAG_DATA_FINGERPRINT = "mlgate.data_fingerprint"
TAG_CONFIG_SHA256 = "mlgate.config_sha256"
TAG_MODEL_SHA256 = "mlgate.model_sha256"
TAG_MODEL_SIGNATURE = "mlgate.model_signature"
MODEL_DIR, MODEL_FILE = "mlgate_model", "model.skops"
_SKIP_DIRS = {MODEL_DIR, "model", "reports"}


def _result(check: str, status: Status, message: str, *, reason: Reason | None = None, **fields: Any) -> CheckResult:
    return CheckResult(
        id=f"{LAYER}.reproduce_{check}", layer=LAYER, status=status, message=message, reason=reason, **fields
    )


@contextmanager
def _mlflow_errors(action: str, uri: str) -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The ``noload`` loader strategy", category=DeprecationWarning)
        try:
            yield
        except MlgateError:
            raise
        except Exception as exc:
            line = (str(getattr(exc, "message", None) or exc).strip().splitlines() or [type(exc).__name__])[0]
            from mlgate.pipeline.redact import redact_text, redact_url, url_secrets

            reason = redact_text(line[:300], url_secrets(uri))
            raise RegistryError(f"{action} at {redact_url(uri)} failed: {type(exc).__name__}: {reason}") from exc


def _client(tracking_uri: str, registry_uri: str | None):
    """The MLflow client, once the store is known to exist: reproduce only reads, it never creates a store."""
    from mlgate.pipeline.mlflow_store import prepare_sqlite_store

    for uri in dict.fromkeys((tracking_uri, registry_uri or tracking_uri)):
        prepare_sqlite_store(uri, create=False)  # missing or unfinished: one line, nothing created
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri, registry_uri=registry_uri or tracking_uri)


def _artifact_files(client, run_id: str, folder: str | None = None) -> list[str]:
    files: list[str] = []
    for item in client.list_artifacts(run_id, folder):
        if item.is_dir:
            if item.path.split("/")[-1] not in _SKIP_DIRS:
                files += _artifact_files(client, run_id, item.path)
        else:
            files.append(item.path)
    return files


def _download_config(client, run_id: str, expected_sha: str | None, dest: Path) -> tuple[Path, str]:
    """The run's logged config file (the one matching ``expected_sha`` when several are logged)."""
    candidates = [path for path in _artifact_files(client, run_id) if path.endswith(".toml")]
    if not candidates:
        raise MlgateError(f"run {run_id} has no logged config file (*.toml artifact): it cannot be reproduced")
    fallback: tuple[Path, str] | None = None
    for index, artifact in enumerate(candidates):
        local = Path(client.download_artifacts(run_id, artifact, dst_path=str(dest / str(index))))
        sha = hashlib.sha256(local.read_bytes()).hexdigest()
        if expected_sha is None or sha == expected_sha:
            return local, sha
        fallback = fallback or (local, sha)
    assert fallback is not None
    return fallback


def logged_metric(logged: Mapping[str, float], name: str) -> float | None:
    """The run's value of metric ``name`` (logged as ``name``, ``test_name`` or ``test.name``), or None."""
    for key in (name, f"test_{name}", f"test.{name}", f"test/{name}"):
        if key in logged:
            return float(logged[key])
    return None


def _load_logged_model(client, run_id: str, seal: str | None, dest: Path):
    """The run's model, after its signature verified (trusted key, this run, these bytes); RegistryError if not."""
    from mlgate.pipeline.artifact import ArtifactError, load_model

    if not seal:
        raise RegistryError(
            f"run {run_id} has no {TAG_MODEL_SIGNATURE} tag: its model was logged by an mlgate older than model "
            "signing (or not by mlgate) and an unsigned model is never loaded; re-run `mlgate run` to log a signed one"
        )
    folder = Path(client.download_artifacts(run_id, MODEL_DIR, dst_path=str(dest)))
    try:
        return load_model(folder / MODEL_FILE, seal=seal, run_id=run_id, name=f"{MODEL_DIR}/{MODEL_FILE}")
    except ArtifactError as exc:
        raise RegistryError(f"run {run_id}: {exc}; refusing to load it") from exc


def reproduce(
    config_path_or_None: str | Path | None,
    run_id: str,
    *,
    tracking_uri: str | None,
    registry_uri: str | None = None,
) -> list[CheckResult]:
    """Re-run ``run_id`` from its logged config on the current data in a fresh process; compare with what it logged.

    ``config_path_or_None``: the project's config; its folder resolves the logged config's relative paths, and
    its tracking URI is used when ``tracking_uri`` is None. Without it, the current folder is the project.
    Raises :class:`RegistryError` when the store or the run cannot be read, :class:`MlgateError` when the
    run lacks what is needed (config file, model).
    """
    from mlgate.pipeline.candidate import load_data
    from mlgate.pipeline.evaluate import positive_proba

    project: ProjectConfig | None = load_config(config_path_or_None) if config_path_or_None is not None else None
    root = project.root if project is not None else Path.cwd()
    uri = tracking_uri or (project.tracking_uri if project is not None else None)
    if not uri:
        raise MlgateError("reproduce needs a tracking URI: pass --config or set MLGATE_TRACKING_URI")
    if registry_uri is None and project is not None and tracking_uri is None:
        registry_uri = project.registry_uri

    results: list[CheckResult] = []
    with tempfile.TemporaryDirectory(prefix="mlgate-reproduce-") as scratch:
        work = Path(scratch)
        with _mlflow_errors(f"reading run {run_id}", uri):
            client = _client(uri, registry_uri)
            run = client.get_run(run_id)
            tags, logged_metrics = dict(run.data.tags), dict(run.data.metrics)
            config_file, config_sha = _download_config(client, run_id, tags.get(TAG_CONFIG_SHA256), work / "config")
            model = _load_logged_model(client, run_id, tags.get(TAG_MODEL_SIGNATURE), work / "model")

        recorded_sha = tags.get(TAG_CONFIG_SHA256)
        if recorded_sha is None:
            results.append(
                _result(
                    "config",
                    Status.WARN,
                    f"run {run_id} has no {TAG_CONFIG_SHA256} tag: using its logged "
                    f"config {Path(config_file).name} unverified",
                    observed=config_sha,
                    reason=Reason.PROVENANCE_MISSING,
                )
            )
        elif recorded_sha != config_sha:
            results.append(
                _result(
                    "config",
                    Status.FAIL,
                    f"run {run_id}: the logged config {Path(config_file).name} has sha256 "
                    f"{config_sha[:12]}, the run recorded {recorded_sha[:12]}; the artifact store was changed",
                    observed=config_sha,
                    expected=recorded_sha,
                    reason=Reason.ARTIFACT_MISMATCH,
                )
            )
        else:
            results.append(
                _result(
                    "config",
                    Status.PASS,
                    f"run {run_id}: logged config {Path(config_file).name} matches the "
                    f"recorded sha256 {config_sha[:12]}",
                    observed=config_sha,
                    expected=recorded_sha,
                )
            )

        logged_config = load_config(config_file).model_copy(update={"path": root.resolve() / config_file.name})
        data = load_data(logged_config)
        recorded_fp, current_fp = tags.get(TAG_DATA_FINGERPRINT), data.dataset.fingerprint
        if recorded_fp != current_fp:
            why = (
                f"run {run_id} recorded no {TAG_DATA_FINGERPRINT} tag"
                if recorded_fp is None
                else f"the data changed since run {run_id}: fingerprint now {current_fp[:12]}, the run's "
                f"{recorded_fp[:12]}"
            )
            results.append(
                _result(
                    "data",
                    Status.FAIL,
                    f"{why} ({data.dataset.source}); reproduce needs the data the run was "
                    "trained on: restore that snapshot and run again",
                    observed=current_fp,
                    expected=recorded_fp,
                    reason=Reason.PROVENANCE_MISSING if recorded_fp is None else Reason.DATA_CHANGED,
                )
            )
            skipped = f"not attempted: the data differs from run {run_id}'s"
            results += [
                _result(name, Status.SKIPPED, skipped, reason=Reason.DATA_CHANGED)
                for name in ("predictions", "metrics")
            ]
            return results
        results.append(
            _result(
                "data",
                Status.PASS,
                f"the current data has run {run_id}'s fingerprint {current_fp[:12]}",
                observed=current_fp,
                expected=recorded_fp,
            )
        )

        retrained = retrain_in_fresh_process(
            config_file,
            threads=child_thread_count(thread_counts()),
            root=root,
            timeout_s=logged_config.reproducibility.retrain_timeout_s,
        )
        tolerance = logged_config.reproducibility.tolerance
        logged_proba = positive_proba(model, data.split.test[data.prepared.features])
        results.append(
            compare_predictions(
                logged_proba,
                retrained.proba_test,
                tolerance=tolerance,
                check_id=f"{LAYER}.reproduce_predictions",
                what=f"a fresh retrain of run {run_id} (vs its logged model)",
            )
        )
        names = [*retrained.metrics, "threshold"]
        observed = {**retrained.metrics, "threshold": retrained.threshold}
        recorded = {name: logged_metric(logged_metrics, name) for name in names}
        compared = {name: value for name, value in recorded.items() if value is not None}
        not_logged = sorted(set(names) - set(compared))
        if not compared:
            results.append(
                _result(
                    "metrics",
                    Status.FAIL,
                    f"run {run_id} logged none of the metrics {', '.join(names)}: nothing to compare the retrain with",
                    reason=Reason.PROVENANCE_MISSING,
                )
            )
        else:
            results.append(
                compare_metrics(
                    compared,
                    {name: observed[name] for name in compared},
                    tolerance=tolerance,
                    check_id=f"{LAYER}.reproduce_metrics",
                    what=f"a fresh retrain of run {run_id} (vs its logged metrics)",
                    details={"not_logged": not_logged},
                )
            )
    return results
