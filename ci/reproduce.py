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

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlgate.checks.reproducibility import compare_metrics, compare_predictions
from mlgate.checks.result import CheckResult, Reason, Status
from mlgate.pipeline.config import ProjectConfig, load_config
from mlgate.pipeline.errors import MlgateError
from mlgate.pipeline.records import DataBundle, RetrainOutput
from mlgate.pipeline.registry import RunReader
from mlgate.pipeline.retrain import child_thread_count, retrain_in_fresh_process, thread_counts
from mlgate.pipeline.tags import Tag

__all__ = ["logged_metric", "reproduce"]

LAYER = "reproducibility"


def _result(check: str, status: Status, message: str, *, reason: Reason | None = None, **fields: Any) -> CheckResult:
    return CheckResult(
        id=f"{LAYER}.reproduce_{check}", layer=LAYER, status=status, message=message, reason=reason, **fields
    )


def logged_metric(logged: Mapping[str, float], name: str) -> float | None:
    """The run's value of metric ``name`` (logged as ``name``, ``test_name`` or ``test.name``), or None."""
    for key in (name, f"test_{name}", f"test.{name}", f"test/{name}"):
        if key in logged:
            return float(logged[key])
    return None


def _config_check(run_id: str, tags: Mapping[str, str], config_file: Path, config_sha: str) -> CheckResult:
    """The logged config is the one the run recorded (sha256), or the redacted copy the run says it logged."""
    recorded_sha = tags.get(Tag.CONFIG_SHA256)
    if recorded_sha is None:
        return _result(
            "config",
            Status.WARN,
            f"run {run_id} has no {Tag.CONFIG_SHA256} tag: using its logged config {Path(config_file).name} unverified",
            observed=config_sha,
            reason=Reason.PROVENANCE_MISSING,
        )
    elif recorded_sha != config_sha and tags.get(Tag.CONFIG_REDACTED) == "true":
        return _result(
            "config",
            Status.WARN,
            f"run {run_id} logged a redacted copy of its config (credentials replaced by ***), so its "
            f"sha256 {config_sha[:12]} cannot equal the recorded {recorded_sha[:12]}: using it unverified",
            observed=config_sha,
            expected=recorded_sha,
            reason=Reason.PROVENANCE_MISSING,
        )
    elif recorded_sha != config_sha:
        return _result(
            "config",
            Status.FAIL,
            f"run {run_id}: the logged config {Path(config_file).name} has sha256 "
            f"{config_sha[:12]}, the run recorded {recorded_sha[:12]}; the artifact store was changed",
            observed=config_sha,
            expected=recorded_sha,
            reason=Reason.ARTIFACT_MISMATCH,
        )
    else:
        return _result(
            "config",
            Status.PASS,
            f"run {run_id}: logged config {Path(config_file).name} matches the recorded sha256 {config_sha[:12]}",
            observed=config_sha,
            expected=recorded_sha,
        )


def _data_check(run_id: str, tags: Mapping[str, str], data: DataBundle) -> CheckResult:
    """The current data has the run's fingerprint (else reproduce cannot reproduce anything)."""
    recorded_fp, current_fp = tags.get(Tag.DATA_FINGERPRINT), data.dataset.fingerprint
    if recorded_fp != current_fp:
        why = (
            f"run {run_id} recorded no {Tag.DATA_FINGERPRINT} tag"
            if recorded_fp is None
            else f"the data changed since run {run_id}: fingerprint now {current_fp[:12]}, the run's {recorded_fp[:12]}"
        )
        return _result(
            "data",
            Status.FAIL,
            f"{why} ({data.dataset.source}); reproduce needs the data the run was "
            "trained on: restore that snapshot and run again",
            observed=current_fp,
            expected=recorded_fp,
            reason=Reason.PROVENANCE_MISSING if recorded_fp is None else Reason.DATA_CHANGED,
        )
    return _result(
        "data",
        Status.PASS,
        f"the current data has run {run_id}'s fingerprint {current_fp[:12]}",
        observed=current_fp,
        expected=recorded_fp,
    )


def _metrics_check(
    run_id: str, logged_metrics: Mapping[str, float], retrained: RetrainOutput, tolerance: float
) -> CheckResult:
    """The retrain's test metrics (and threshold) equal what the run logged."""
    names = [*retrained.metrics, "threshold"]
    observed = {**retrained.metrics, "threshold": retrained.threshold}
    recorded = {name: logged_metric(logged_metrics, name) for name in names}
    compared = {name: value for name, value in recorded.items() if value is not None}
    not_logged = sorted(set(names) - set(compared))
    if not compared:
        return _result(
            "metrics",
            Status.FAIL,
            f"run {run_id} logged none of the metrics {', '.join(names)}: nothing to compare the retrain with",
            reason=Reason.PROVENANCE_MISSING,
        )
    else:
        return compare_metrics(
            compared,
            {name: observed[name] for name in compared},
            tolerance=tolerance,
            check_id=f"{LAYER}.reproduce_metrics",
            what=f"a fresh retrain of run {run_id} (vs its logged metrics)",
            details={"not_logged": not_logged},
        )


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
    from mlgate.pipeline.evaluate import model_scores

    project: ProjectConfig | None = load_config(config_path_or_None) if config_path_or_None is not None else None
    root = project.root if project is not None else Path.cwd()
    uri = tracking_uri or (project.tracking_uri if project is not None else None)
    if not uri:
        raise MlgateError("reproduce needs a tracking URI: pass --config or set MLGATE_TRACKING_URI")
    if registry_uri is None and project is not None and tracking_uri is None:
        registry_uri = project.registry_uri

    with tempfile.TemporaryDirectory(prefix="mlgate-reproduce-") as scratch:
        work = Path(scratch)
        reader = RunReader(uri, registry_uri)  # never creates a store: a missing one is a one-line error
        run = reader.read(run_id)
        tags, logged_metrics = run.tags, run.metrics
        config_file, config_sha = reader.download_config(run, work / "config")
        model = reader.load_model(run, work / "model")

        results = [_config_check(run_id, tags, config_file, config_sha)]
        logged_config = load_config(config_file).model_copy(update={"path": root.resolve() / config_file.name})
        data = load_data(logged_config)
        results.append(_data_check(run_id, tags, data))
        if results[-1].status is not Status.PASS:
            skipped = f"not attempted: the data differs from run {run_id}'s"
            return results + [
                _result(name, Status.SKIPPED, skipped, reason=Reason.DATA_CHANGED)
                for name in ("predictions", "metrics")
            ]
        retrained = retrain_in_fresh_process(
            config_file,
            threads=child_thread_count(thread_counts()),
            root=root,
            timeout_s=logged_config.reproducibility.retrain_timeout_s,
        )
        tolerance = logged_config.reproducibility.tolerance
        logged_proba = model_scores(model, data.split.test[data.prepared.features], data.prepared.task)
        results.append(
            compare_predictions(
                logged_proba,
                retrained.proba_test,
                tolerance=tolerance,
                check_id=f"{LAYER}.reproduce_predictions",
                what=f"a fresh retrain of run {run_id} (vs its logged model)",
            )
        )
        results.append(_metrics_check(run_id, logged_metrics, retrained, tolerance))
    return results
