"""``mlgate monitor``: read a window of the prediction log and the served model's reference, judge, report.

Steps (:func:`run_monitor`): parse the window (``--since``/``--until`` as ISO 8601 times or ages such as ``2h``;
``--last N`` predictions; default: the last ``1 / monitor.runs_per_day`` of a day, one run's share of the alarm
budget) -> read it with :func:`pipeline.predlog.read_window` (a SQLite file, a folder of per-replica files, or a
database URL) -> the monitoring reference of the model version that served the window (its run's ``monitor/``
artifact in the registry, or ``--bundle DIR``'s ``monitor/``: the training file is never read) -> the committed
schema -> :func:`checks.monitor.run` -> the four report files and, with ``--metrics-file``, a Prometheus textfile
(:mod:`ci.monitor_metrics`). Exit 0 (warnings allowed, an empty window is a warning), 1 (a blocking check failed),
2 (a malformed option, config, schema file or reference), 3 (no store, or the store failed).
"""

from __future__ import annotations

import re
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

from mlgate.checks.monitor import MonitorEvidence, WindowLike, families, family_alpha
from mlgate.checks.monitor import run as run_checks
from mlgate.checks.result import GateReport
from mlgate.pipeline.config import ProjectConfig
from mlgate.pipeline.errors import MlgateError, RegistryError
from mlgate.pipeline.monitor_reference import (
    MONITOR_DIR,
    REFERENCE_FILE,
    MonitorReference,
    MonitorReferenceError,
    read_monitor_reference,
)
from mlgate.pipeline.records import ChampionRecord
from mlgate.pipeline.registry import Registry
from mlgate.pipeline.registry.store import store_exists
from mlgate.pipeline.tags import Tag

__all__ = ["MonitorRun", "WindowSpec", "parse_moment", "run_monitor", "window_spec"]

#: Reads a window: ``(url, since=, until=, last=) -> Window`` (:func:`pipeline.predlog.read_window`).
Reader = Callable[..., WindowLike]
_AGE = re.compile(r"^(?P<n>\d+(?:\.\d+)?)(?P<unit>s|m|h|d|w)$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


@dataclass(frozen=True)
class WindowSpec:
    since: datetime | None
    until: datetime | None
    last: int | None

    @property
    def label(self) -> str:
        if self.last is not None:
            return f"the last {self.last} predictions" + (
                f" up to {self.until:%Y-%m-%d %H:%M:%S}Z" if self.until else ""
            )
        start = f"{self.since:%Y-%m-%d %H:%M:%S}Z" if self.since else "the start of the log"
        end = f"{self.until:%Y-%m-%d %H:%M:%S}Z" if self.until else "now"
        return f"{start} to {end}"


@dataclass(frozen=True)
class MonitorRun:
    report: GateReport
    paths: dict[str, Path]
    empty: bool
    history_error: str | None = None  # the verdict could not be appended to [monitor] history (a warning)


def parse_moment(text: str, *, option: str, now: datetime) -> datetime:
    """An ISO 8601 time (no zone = UTC) or an age before ``now`` (``90s``, ``30m``, ``2h``, ``1d``, ``1w``)."""
    value = text.strip()
    age = _AGE.match(value)
    if age:
        return now - timedelta(seconds=float(age["n"]) * _UNITS[age["unit"]])
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    except ValueError:
        raise MlgateError(
            f"{option} {text!r}: not a time; give an ISO 8601 time (2026-12-01T10:00:00Z) or an age such as 30m, "
            "2h or 1d"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def window_spec(
    config: ProjectConfig, *, since: str | None, until: str | None, last: int | None, now: datetime
) -> WindowSpec:
    """The window the options name (module docstring); every mistake is one MlgateError line (exit 2)."""
    if since is not None and last is not None:
        raise MlgateError("--since and --last name two different windows: give one of them")
    if last is not None and last < 1:
        raise MlgateError(f"--last {last}: give a number of predictions >= 1")
    end = parse_moment(until, option="--until", now=now) if until is not None else None
    if last is not None:
        return WindowSpec(None, end, last)
    start = (
        parse_moment(since, option="--since", now=now)
        if since is not None
        else (end or now) - timedelta(days=1 / config.monitor.runs_per_day)
    )
    if end is not None and start >= end:
        raise MlgateError(f"--since {since!r} is not before --until {until!r}: the window is empty by construction")
    return WindowSpec(start, end, None)


def default_log(config: ProjectConfig) -> str:
    """Where the serving app records predictions (``[monitor.log]`` ``url`` or ``dir``, environment overrides)."""
    return config.monitor.log.location(config.root)


def _read_window(location: str, **window: Any) -> WindowLike:
    from mlgate.pipeline.predlog import read_window

    return read_window(location, **window)


def _served_version(window: WindowLike) -> str | None:
    frame = window.predictions
    if frame.empty or "model_version" not in frame.columns:
        return None
    counts = Counter(str(v) for v in frame["model_version"].dropna())
    return counts.most_common(1)[0][0] if counts else None


def _registry_reference(
    config: ProjectConfig, window: WindowLike, wanted: str | None = None
) -> tuple[MonitorReference, str, ChampionRecord | None]:
    if not store_exists(config):
        raise RegistryError(
            f"no MLflow store at {config.tracking_uri}: mlgate monitor reads the served model's reference from the "
            "registry (register one with mlgate run), or give the release bundle with --bundle DIR"
        )
    registry = Registry.from_config(config)
    champion = registry.champion()
    runs = {record.version: record.run_id for record in registry.history()}
    served = wanted or _served_version(window)
    if wanted is not None and wanted not in runs:
        raise RegistryError(f"'{registry.model_name}' has no version {wanted}")
    version = served if served in runs else (champion.version if champion is not None else None)
    if version is None:
        raise RegistryError(f"'{registry.model_name}' has no champion and the window names no registered version")
    run_id = runs[version]
    with tempfile.TemporaryDirectory(prefix="mlgate-monitor-") as scratch:
        found = registry.find_artifact(run_id, f"{MONITOR_DIR}/{REFERENCE_FILE}", Path(scratch) / "probe")
        what = f"model v{version} (run {run_id})"
        if found is None:
            task = champion.tags.get(Tag.TASK) if champion is not None and champion.version == version else None
            if (task or config.model.task) not in ("binary", "auto"):
                raise MonitorReferenceError(
                    f"{what} is a {task or config.model.task} model: mlgate monitor judges binary models only "
                    "(monitoring multi-class and regression models is not built yet)"
                )
            raise MonitorReferenceError(
                f"{what} logged no monitoring reference ({MONITOR_DIR}/{REFERENCE_FILE}): it was registered before "
                "mlgate monitor existed; register it again with mlgate run"
            )
        folder = registry.download_artifact(run_id, MONITOR_DIR, Path(scratch) / "reference")
        reference = read_monitor_reference(folder, description=f"{what}'s reference")
    return reference, version, champion


def _bundle_reference(
    config: ProjectConfig, bundle: Path
) -> tuple[MonitorReference, str | None, ChampionRecord | None]:
    import json

    try:
        release = json.loads((bundle / "release.json").read_text(encoding="utf-8"))
        version = str(release["model_version"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise MonitorReferenceError(f"{bundle / 'release.json'}: not a readable release file ({exc})") from exc
    reference = read_monitor_reference(bundle / MONITOR_DIR, description=f"model v{version}'s reference (bundle)")
    champion = Registry.from_config(config).champion() if store_exists(config) else None
    return reference, version, champion


def _run_section(
    config: ProjectConfig, evidence: MonitorEvidence, spec: WindowSpec, source: str, now: datetime
) -> dict[str, Any]:
    window, reference = evidence.window, evidence.reference
    return {
        "project": config.name,
        "config": str(config.path) if config.path else None,
        "mlgate_version": metadata.version("mlgate"),
        "started_at": now.isoformat(timespec="seconds"),
        "registry": {"model_name": config.mlflow.model_name, "version": evidence.version},
        "model": {"threshold": reference.threshold, "threshold_source": reference.meta.get("threshold_source")},
        "data": {"source": window.url_redacted},
        "monitor": {
            "window": spec.label,
            "since": spec.since.isoformat() if spec.since else None,
            "until": spec.until.isoformat() if spec.until else None,
            "last": spec.last,
            "log": window.url_redacted,
            "predictions": len(window.predictions),
            "rejected": dict(window.rejected),
            "dropped": int(window.dropped),
            "reference": reference.description,
            "reference_source": source,
            "reference_training_rows": reference.rows_total,
            "reference_sampled": reference.sampled,
            "alpha_window": config.monitor.alpha_window,
            "alpha_family": family_alpha(config),
            "families": families(config),
        },
    }


def run_monitor(
    config: ProjectConfig,
    *,
    since: str | None = None,
    until: str | None = None,
    last: int | None = None,
    log: str | None = None,
    out: Path | None = None,
    bundle: Path | None = None,
    metrics_file: Path | None = None,
    now: datetime | None = None,
    reader: Reader | None = None,
    history: bool = True,
    version: str | None = None,
) -> MonitorRun:
    """One monitor run (module docstring). ``reader`` defaults to :func:`pipeline.predlog.read_window`; with
    ``history`` the verdict is appended to ``[monitor] history`` (:mod:`ci.journal`), which the retrain triggers
    and the dashboard read. ``version`` judges that registered version (a canary's) instead of the one that served
    most of the window; predictions of other versions are counted, not judged."""
    from mlgate.checks.report import check_out_dir, write_reports
    from mlgate.checks.schema import load_schema

    now = now or datetime.now(UTC)
    spec = window_spec(config, since=since, until=until, last=last, now=now)
    if out is not None:
        check_out_dir(out)
    schema = load_schema(config.schema_path)
    read: Reader = reader if reader is not None else _read_window
    window = read(log or default_log(config), since=spec.since, until=spec.until, last=spec.last)
    if bundle is not None:
        reference, version, champion = _bundle_reference(config, bundle)
        source = f"bundle {bundle}"
    else:
        reference, version, champion = _registry_reference(config, window, version)
        source = "registry"
    evidence = MonitorEvidence(config, reference, window, spec.label, now, version, champion, schema)
    report = GateReport.collect(run_checks(evidence), run=_run_section(config, evidence, spec, source, now))
    paths = write_reports(report, out) if out is not None else {}
    if metrics_file is not None:
        from mlgate.ci.monitor_metrics import write_metrics

        write_metrics(report, metrics_file, now=now)
    history_error = None
    if history:  # a read-only checkout still gets its verdict: the history is for the triggers and the dashboard
        from mlgate.ci.journal import append_line, monitor_entry

        try:
            append_line(config.monitor.history_path(config.root), monitor_entry(report, at=now, out=out))
        except MlgateError as exc:
            history_error = str(exc)
    empty = any(r.id == "monitor.window" and r.observed == 0 for r in report.results)
    return MonitorRun(report, paths, empty, history_error)
