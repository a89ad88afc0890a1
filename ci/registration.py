"""What the gated run records in MLflow, and how it reads the champion back as evidence.

Order (see ci.gated_run): read the champion -> log + register the candidate (alias ``challenger``) -> model
gates -> write the report files to --out -> log them and the verdict -> promote (one alias move) when every
blocking gate passed. Nothing that can fail is left after the promotion.
Run tags recorded for every candidate, read by staleness, reproduce and status:
``mlgate.data_fingerprint``, ``mlgate.config_sha256``, ``mlgate.git_commit``, ``mlgate.lock_sha256``,
``mlgate.project``, ``mlgate.event_time_max`` (when the config names an event-time column); artifacts
``data/row_hashes.npy`` (sorted uint64 row hashes of the ingested data) and, unless ``drift.log_reference`` is
false, ``drift/reference.parquet`` (the training rows, features and target: :mod:`pipeline.batch`); and the folder
``monitor/``, the reference ``mlgate monitor`` judges served traffic against (:mod:`ci.monitor_profile`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlgate.checks.result import GateReport
from mlgate.ci.monitor_profile import write_profile
from mlgate.pipeline.batch import REFERENCE_ARTIFACT, reference_rows, write_reference
from mlgate.pipeline.candidate import Candidate, DataBundle
from mlgate.pipeline.config import ProjectConfig
from mlgate.pipeline.errors import RegistryError
from mlgate.pipeline.ingest import row_hashes
from mlgate.pipeline.monitor_reference import MONITOR_DIR
from mlgate.pipeline.records import ChampionRecord, LoggedModel, RunMeta
from mlgate.pipeline.redact import redact_text, redact_url, url_secrets
from mlgate.pipeline.registry import Registry
from mlgate.pipeline.registry.store import store_exists
from mlgate.pipeline.tags import Tag
from mlgate.pipeline.task_metrics import costs_for

__all__ = [
    "champion_evidence",
    "champion_packages",
    "finish_registration",
    "log_candidate",
    "make_registry",
    "rollback_release",
    "store_exists",
]


def make_registry(config: ProjectConfig) -> Registry:
    return Registry.from_config(config)


def champion_evidence(registry: Registry, config: ProjectConfig, *, with_model: bool = True) -> ChampionRecord | None:
    """The champion as the gates see it (tags, row hashes and, for comparisons, its model), or None when there
    is no champion or no store yet (reading never creates a sqlite store)."""
    from mlgate.ci.status import champion_evidence as staleness_view

    if not store_exists(config):
        return None
    found = staleness_view(registry)
    if found is None or not with_model:
        return found
    return dataclasses.replace(found, model=registry.load_model(found.version))


#: Run artifact listing the run's installed packages (``name==version`` lines; see :func:`log_candidate`).
ENVIRONMENT_ARTIFACT = "environment/environment.txt"


def champion_packages(registry: Registry, champion: ChampionRecord, folder: Path) -> tuple[str, ...] | None:
    """The champion run's installed packages (its ``environment/environment.txt``), or None when it logged none
    or it cannot be read (``reproducibility.dependencies`` then compares the uv.lock hashes only)."""
    try:
        path = registry.download_artifact(champion.run_id, ENVIRONMENT_ARTIFACT, folder / "champion-environment")
        text = Path(path).read_text(encoding="utf-8")
    except (RegistryError, OSError, UnicodeDecodeError):
        return None
    return tuple(line.strip() for line in text.splitlines() if line.strip())


_REDACTED_HEADER = (
    "# mlgate: a copy of {name} with credentials replaced by ***. The run's mlgate.config_sha256 is the sha256\n"
    '# of the original file, not of this copy. Keep passwords out of the config: data.source = "...:${{VAR}}@..."\n'
)


def _param(value: Any) -> Any:
    value = value if isinstance(value, int | float | str | bool) or value is None else repr(value)
    return redact_text(value) if isinstance(value, str) else value


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return [value] if isinstance(value, str) else []


def _config_artifact(config: ProjectConfig, folder: Path) -> Path:
    """The config file to log: the file itself, or a redacted copy when it holds a credential.

    Credentials are the passwords and secret parameters of the URLs the config names (data source, tracking and
    registry URIs, also as overridden by the environment), hidden with :func:`pipeline.redact.redact_text`. The
    copy is parsed back and every string in it checked; if anything secret were left, the copy is withheld (a
    comment only) rather than logged. ``mlgate.config_sha256`` keeps the sha256 of the original file.
    """
    assert config.path is not None
    raw = config.path.read_text(encoding="utf-8")
    uris = [config.data.source, config.mlflow.tracking_uri, config.mlflow.registry_uri or ""]
    secrets = [s for uri in [*uris, config.tracking_uri, config.registry_uri] for s in url_secrets(uri)]
    redacted = redact_text(raw, secrets)
    if redacted == raw:
        return config.path
    try:
        values = _strings(tomllib.loads(redacted))
        safe = not any(redact_text(v, secrets) != v for v in values)
    except tomllib.TOMLDecodeError:
        safe = False
    body = redacted if safe else "# withheld: the config could not be redacted safely\n"
    copy = folder / "config" / config.path.name
    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.write_text(_REDACTED_HEADER.format(name=config.path.name) + body, encoding="utf-8")
    return copy


def _reference_artifact(config: ProjectConfig, data: DataBundle, staging: Path) -> dict[str, Path]:
    """``{"drift": reference.parquet}``: the training rows a later batch is compared with (:mod:`pipeline.batch`);
    nothing when ``drift.log_reference`` is false."""
    if not config.drift.log_reference:
        return {}
    rows = reference_rows(data, max_rows=config.drift.reference_max_rows, random_state=config.split.random_state)
    return {"drift": write_reference(rows, staging / REFERENCE_ARTIFACT.rsplit("/", 1)[-1])}


def _model_meta(config: ProjectConfig, data: DataBundle, candidate: Candidate) -> dict[str, object]:
    """What the model's meta file records beside it (:func:`pipeline.artifact.save_model`)."""
    prepared = data.prepared
    costs = costs_for(config.quality, prepared.task, prepared.classes) if prepared.task == "multiclass" else None
    return {
        "features": prepared.features,
        "numeric": prepared.numeric,
        "categorical": prepared.categorical,
        "threshold": candidate.threshold,
        "positive_label": config.data.positive_label,
        "task": prepared.task,
        "classes": list(prepared.classes),
        # the decision rule the gate judged (k x k, true class x decided class): serving decides the same way
        "class_costs": None if costs is None else costs.tolist(),
    }


def log_candidate(
    registry: Registry,
    config: ProjectConfig,
    data: DataBundle,
    candidate: Candidate,
    run_meta: RunMeta,
    scratch: Path,
) -> LoggedModel:
    """One MLflow run: params, metrics, provenance tags, config/schema/lock/environment/row hashes, the model."""
    staging = scratch / "log"
    staging.mkdir(parents=True, exist_ok=True)
    hashes = staging / "row_hashes.npy"
    np.save(hashes, np.sort(row_hashes(data.dataset.frame)), allow_pickle=False)
    environment = staging / "environment.txt"
    packages = run_meta.environment.packages if run_meta.environment else ()
    environment.write_text("\n".join(packages) + "\n", encoding="utf-8")
    prepare_report = staging / "prepare.json"
    prepare_report.write_text(redact_text(json.dumps(run_meta.data, indent=2, default=str)), encoding="utf-8")
    artifacts: dict[str, Path] = {"data": hashes, "data_report": prepare_report, "environment": environment}
    artifacts.update(_reference_artifact(config, data, staging))
    if data.prepared.task == "binary":  # mlgate monitor judges binary models (multi-class, regression: not yet)
        artifacts[MONITOR_DIR] = write_profile(config, data, candidate, staging)  # a folder: monitor/
    if config.path is not None:
        artifacts["config"] = _config_artifact(config, staging)
    if config.schema_path.is_file():
        artifacts["schema"] = config.schema_path
    lock = run_meta.environment.lock_file if run_meta.environment else None
    if lock:
        artifacts["environment_lock"] = Path(lock)

    tags: dict[str, str] = {
        Tag.PROJECT: config.name,
        Tag.DATA_FINGERPRINT: data.dataset.fingerprint,
        Tag.CONFIG_SHA256: config.sha256,
        Tag.GIT_COMMIT: run_meta.git_commit or "unknown",
        Tag.LOCK_SHA256: run_meta.lock_sha256 or "unknown",
        Tag.DATA_SOURCE: redact_url(data.dataset.source),
        Tag.THRESHOLD: repr(candidate.threshold),
        Tag.TASK: data.prepared.task,
    }
    if artifacts.get("config") not in (None, config.path):
        tags[Tag.CONFIG_REDACTED] = "true"
    event_column = config.data.event_time_column
    if event_column:
        newest = pd.to_datetime(data.prepared.frame[event_column], errors="coerce", utc=True).max()
        if pd.notna(newest):
            tags[Tag.EVENT_TIME_MAX] = newest.isoformat()
    params = {f"model.{k}": _param(v) for k, v in candidate.trained.params.items()}
    params.update(
        {
            "model.estimator": candidate.trained.estimator_name,
            "model.random_state": config.model.random_state,
            "split.random_state": config.split.random_state,
            "split.test_size": config.split.test_size,
            "split.validation_size": config.split.validation_size,
            "split.by": config.split.by,
            "decision_threshold": candidate.threshold,
            "decision_threshold_source": candidate.threshold_source,
            "model.task": data.prepared.task,
        }
    )
    for key, value in candidate.trained.search.get("best_params", {}).items():
        params[f"search.best.{key}"] = _param(value)
    metrics = {f"test_{k}": v for k, v in candidate.evaluation.overall.items() if v is not None}
    metrics["threshold"] = candidate.threshold
    prepared = data.prepared
    return registry.log_candidate(
        model=candidate.pipeline,
        params=params,
        metrics=metrics,
        tags=tags,
        artifacts=artifacts,
        model_meta=_model_meta(config, data, candidate),
        input_example=data.split.test[prepared.features].head(5),
        workdir=scratch / "model",
    )


def _registry_section(
    registry: Registry, logged: LoggedModel, *, champion_before: str | None, promote: bool, will_promote: bool
) -> dict[str, Any]:
    return {
        "tracking_uri": redact_url(registry.tracking_uri),
        "model_name": registry.model_name,
        "version": logged.version,
        "run_id": logged.run_id,
        "model_uri": logged.model_uri,
        "model_sha256": logged.sha256,
        "champion_before": champion_before,
        "promotion_requested": promote,
        "promoted": will_promote,
        "champion_after": logged.version if will_promote else champion_before,
    }


def _stage_reports(rendered: dict[str, str], folder: Path, attachments: Mapping[str, Path]) -> dict[str, Path]:
    from mlgate.checks.report import REPORT_FILES

    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for kind, text in rendered.items():
        path = folder / REPORT_FILES[kind]
        path.write_text(text, encoding="utf-8", newline="\n")
        files[path.name] = path
    for name, source in attachments.items():  # deepchecks/<suite>.html: logged under reports/ like the rest
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, path)
        files[name] = path
    return files


def finish_registration(
    registry: Registry,
    config: ProjectConfig,
    logged: LoggedModel,
    report: GateReport,
    *,
    champion_before: str | None,
    promote: bool,
    scratch: Path,
    out: Path | None = None,
    attachments: Mapping[str, Path] | None = None,
) -> tuple[GateReport, dict[str, str], dict[str, Path]]:
    """Write the reports, log them and the verdict to the run, then promote when the gates passed.

    Everything that can fail before the promotion happens before it: the reports are rendered and written to
    ``out`` (when given), logged to the run, the verdict tags are set, and only then does the alias move. When
    a step after the reports were written fails, the reports are written again saying the promotion did not
    happen and why, and a RegistryError says so. Returns the final report, its rendered files (the bytes logged
    to the run, so the sha256 in the registry matches the files written) and the written paths.
    """
    from mlgate.checks.report import render_all, write_reports

    version = logged.version
    if version is None:  # log_candidate always registers: a LoggedModel without a version was saved locally
        raise RegistryError(f"run {logged.run_id} registered no model version: nothing to record or promote")
    will_promote = bool(promote and report.passed)
    section = _registry_section(
        registry, logged, champion_before=champion_before, promote=promote, will_promote=will_promote
    )
    report = dataclasses.replace(report, run={**report.run, "registry": section})
    rendered = render_all(report)
    report_sha = hashlib.sha256(rendered["json"].encode("utf-8")).hexdigest()
    attachments = attachments or {}
    paths = write_reports(report, out, rendered=rendered, attachments=attachments) if out is not None else {}
    try:
        staged = _stage_reports(rendered, scratch / "reports", attachments)
        registry.log_artifacts(logged.run_id, staged, folder="reports")
        verdict: dict[str, str] = {
            Tag.GATE_STATUS: "passed" if report.passed else "failed",
            Tag.GATE_REPORT_SHA256: report_sha,
        }
        registry.set_run_tags(logged.run_id, verdict)
        registry.set_version_tags(version, verdict)
        if will_promote:
            registry.promote(version, gate_report_sha256=report_sha)
    except BaseException as exc:  # a RegistryError, or an interrupt: the written reports must not claim a promotion
        reason = str(exc) or type(exc).__name__
        failed = dataclasses.replace(
            report,
            run={
                **report.run,
                "registry": {**section, "promoted": False, "champion_after": champion_before, "error": reason},
            },
        )
        if out is not None:
            write_reports(failed, out)
        if not isinstance(exc, RegistryError):
            raise
        where = f"its reports in {out} say so" if out is not None else "nothing was promoted"
        verb = "promoting" if will_promote else "recording the verdict of"
        raise RegistryError(
            f"{verb} version {logged.version} of '{registry.model_name}' failed after the gates ran "
            f"({exc}); 'champion' is unchanged ({champion_before or 'none'}), {where}"
        ) from exc
    return report, rendered, paths


def rollback_release(config: ProjectConfig, *, lock_timeout_s: float | None = None) -> str:
    """Move ``champion`` back to the previous champion; a running deployment follows (when there is one).

    Holds the store lock (:mod:`pipeline.store_lock`) like a gated run, so a rollback never interleaves with a
    promotion. A missing store is refused before anything (even the lock folder) is created.
    """
    from mlgate.pipeline.store_lock import DEFAULT_LOCK_TIMEOUT_S, store_lock

    registry = make_registry(config)
    registry.open()
    timeout = DEFAULT_LOCK_TIMEOUT_S if lock_timeout_s is None else lock_timeout_s
    with store_lock(config, timeout_s=timeout):
        demoted, restored = registry.rollback()
    return f"champion of '{registry.model_name}' moved back from version {demoted} to version {restored}"
