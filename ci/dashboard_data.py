"""What ``mlgate dashboard`` draws, as tidy pandas frames: pure data loading, no Streamlit (ci.dashboard_app draws).

Three sources, each read only, each allowed to be missing:

* the **registry** (:func:`load_registry`): the champion and every version with its ``mlgate.*`` tags (promotion,
  image, gate report sha256) and the gate report of its run: ``release/report.json`` when the version was released,
  else ``reports/report.json`` from the gated run (layers, failures, waivers, the HTML report). No store: nothing is
  opened (a reader never creates ``mlruns/``);
* the **monitor history** (:func:`load_monitor`, ``[monitor] history``): one line per ``mlgate monitor`` run, from
  which :func:`monitor_frames` builds input and prediction drift (effect against its floor), live quality against
  offline with its interval, the label-free estimate, latency p50/p99 and request volume, all against ``at``;
* the **retrain journal** (:func:`load_journal`, ``[retrain] journal``): one row per line, the ``started`` lines
  without a ``finished`` line of the same id marked ``open`` (running or died).

Every frame is defensive: a missing or malformed field is NaN (or None), a line without a readable ``at`` is left
out, a torn line is skipped by :func:`ci.journal.read_lines` and counted, never a traceback.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from mlgate.ci.cli_options import RUN_EXTRA_MODULES
from mlgate.ci.journal import Lines, read_lines
from mlgate.pipeline.config import ProjectConfig
from mlgate.pipeline.errors import MlgateError
from mlgate.pipeline.records import ChampionRecord
from mlgate.pipeline.tags import Tag

__all__ = [
    "NOTHING_JOURNAL",
    "NOTHING_MONITOR",
    "NOTHING_STORE",
    "GateSummary",
    "JournalView",
    "MonitorFrames",
    "RegistryView",
    "journal_frame",
    "load_journal",
    "load_monitor",
    "load_registry",
    "monitor_frames",
    "store_exists",
    "summarize_report",
]

NOTHING_STORE = "nothing yet, run mlgate run"
NOTHING_MONITOR = "nothing yet, run mlgate monitor"
NOTHING_JOURNAL = "nothing yet, run mlgate retrain"
#: The gate report of a version's run, newest first: the release's (it adds the parity check), then the gated run's.
REPORT_FOLDERS = ("release", "reports")
NAN = float("nan")

Row = dict[str, Any]


# -- the registry ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GateSummary:
    """One run's gate report as the dashboard shows it (``source``: the artifact it was read from)."""

    source: str
    passed: bool | None = None
    layers: dict[str, str] = field(default_factory=dict)
    failures: pd.DataFrame = field(default_factory=pd.DataFrame)
    waivers: pd.DataFrame = field(default_factory=pd.DataFrame)
    html: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class RegistryView:
    """The champion, every version (``versions``, newest first) and the gate reports of the newest ones."""

    exists: bool
    model_name: str
    champion: ChampionRecord | None = None
    versions: pd.DataFrame = field(default_factory=pd.DataFrame)
    reports: dict[str, GateSummary] = field(default_factory=dict)
    error: str | None = None


def store_exists(config: ProjectConfig) -> bool:
    """:func:`ci.registration.store_exists` without the training code it sits beside (reads only, creates nothing)."""
    from mlgate.pipeline.registry.store import StoreState, store_state

    nothing = {StoreState.ABSENT, StoreState.INTERRUPTED}
    return not any(store_state(uri) in nothing for uri in {config.tracking_uri, config.registry_uri})


def summarize_report(data: Any, *, source: str, html: str | None = None) -> GateSummary:
    """A report.json's verdict, layer statuses, failures (fail and error) and waived results; never raises."""
    if not isinstance(data, Mapping):
        return GateSummary(source, html=html, error=f"{source}: not a report (a JSON object was expected)")
    results = [r for r in data.get("results") or [] if isinstance(r, Mapping)]
    failures = [
        {k: r.get(k) for k in ("id", "layer", "status", "reason", "blocking", "message")}
        for r in results
        if r.get("status") in ("fail", "error")
    ]
    waivers = []
    for r in results:
        if r.get("status") == "waived":
            info = _dig(r, "details", "waiver")
            info = info if isinstance(info, Mapping) else {}
            waivers.append({"id": r.get("id"), **{k: info.get(k) for k in ("owner", "reason", "expires")}})
    layers = data.get("layers")
    passed = data.get("passed")
    return GateSummary(
        source,
        passed if isinstance(passed, bool) else None,
        {str(k): str(v) for k, v in layers.items()} if isinstance(layers, Mapping) else {},
        pd.DataFrame(failures, columns=["id", "layer", "status", "reason", "blocking", "message"]),
        pd.DataFrame(waivers, columns=["id", "owner", "reason", "expires"]),
        html,
    )


def _gate_summary(registry: Any, run_id: str, scratch: Path) -> GateSummary | None:
    for folder in REPORT_FOLDERS:
        found = registry.find_artifact(run_id, f"{folder}/report.json", scratch / folder)
        if found is None:
            continue
        source = f"{folder}/report.json"
        try:
            data = json.loads(Path(found).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            return GateSummary(source, error=f"run {run_id} {source}: not readable JSON ({exc})")
        page = registry.find_artifact(run_id, f"{folder}/report.html", scratch / folder)
        html = Path(page).read_text(encoding="utf-8", errors="replace") if page is not None else None
        return summarize_report(data, source=source, html=html)
    return None


def _versions_frame(history: Iterable[Any]) -> pd.DataFrame:
    rows = [
        {
            "version": record.version,
            "champion": "champion" in record.aliases,
            "aliases": ", ".join(record.aliases),
            "registered_at": record.registered_at,
            "gate_status": record.tags.get(Tag.GATE_STATUS),
            "promoted_at": record.tags.get(Tag.PROMOTED_AT),
            "rolled_back_at": record.tags.get(Tag.ROLLED_BACK_AT),
            "image": record.tags.get(Tag.IMAGE),
            "gate_report_sha256": record.tags.get(Tag.GATE_REPORT_SHA256),
            "run_id": record.run_id,
        }
        for record in history
    ]
    columns = ["version", "champion", "aliases", "registered_at", "gate_status", "promoted_at", "rolled_back_at"]
    return pd.DataFrame(rows, columns=[*columns, "image", "gate_report_sha256", "run_id"])


def load_registry(config: ProjectConfig, *, max_reports: int = 10) -> RegistryView:
    """The registry's view (module docstring); the gate reports of the ``max_reports`` newest versions.

    No store: ``exists`` is False and nothing is opened. A store error (or MLflow not installed) is one line in
    ``error``, not an exception.
    """
    name = config.mlflow.model_name
    if not store_exists(config):
        return RegistryView(False, name)
    try:
        from mlgate.pipeline.registry import Registry

        registry = Registry.from_config(config)
        champion = registry.champion()
        history = registry.history()
        reports: dict[str, GateSummary] = {}
        with tempfile.TemporaryDirectory(prefix="mlgate-dashboard-") as scratch:
            for record in history[:max_reports]:
                if record.run_id and (found := _gate_summary(registry, record.run_id, Path(scratch) / record.version)):
                    reports[record.version] = found
    except MlgateError as exc:
        return RegistryView(True, name, error=str(exc))
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] not in RUN_EXTRA_MODULES:
            raise
        return RegistryView(True, name, error=f"the registry needs the 'run' extra: pip install 'mlgate[run]' ({exc})")
    return RegistryView(True, name, champion, _versions_frame(history), reports)


# -- the monitor history --------------------------------------------------------------------------------------------


def _dig(value: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _num(value: Any) -> float:
    """A finite float, or NaN (None, text, a bool, a dict: anything that is not a number)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return NAN
    number = float(value)
    return number if math.isfinite(number) else NAN


def _subject(check_id: Any, prefix: str) -> str | None:
    """``feature`` of ``monitor.input_drift[feature]`` for prefix ``monitor.input_drift``; None for another id."""
    if not isinstance(check_id, str) or not check_id.startswith(prefix):
        return None
    rest = check_id[len(prefix) :]
    if rest == "":
        return ""
    return rest[1:-1] if rest.startswith("[") and rest.endswith("]") else None


def _with_time(rows: list[Row], columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["at", *columns])
    text = frame["at"].map(lambda value: value if isinstance(value, str) else None)
    frame["at"] = pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")
    return frame.dropna(subset=["at"]).sort_values("at", kind="stable").reset_index(drop=True)


def _check_rows(records: list[Row], prefix: str, key: str, fields: Mapping[str, Callable[[Row], Any]]) -> pd.DataFrame:
    """One row per result whose id is ``prefix`` or ``prefix[<subject>]`` (the subject in column ``key``)."""
    rows = []
    for record in records:
        results = record.get("results")
        for result in results if isinstance(results, list) else []:
            subject = _subject(_dig(result, "id"), prefix) if isinstance(result, Mapping) else None
            if subject is None:
                continue
            row: Row = {"at": record.get("at"), "model_version": record.get("model_version"), key: subject}
            row.update({name: get(result) for name, get in fields.items()})
            row["status"] = result.get("status")
            rows.append(row)
    return _with_time(rows, ["model_version", key, *fields, "status"])


def _detail(*keys: str) -> Callable[[Row], float]:
    return lambda result: _num(_dig(result, "details", *keys))


def _text(*keys: str) -> Callable[[Row], Any]:
    return lambda result: value if isinstance(value := _dig(result, *keys), str) else None


_DRIFT = {
    "effect": _detail("effect"),
    "effect_floor": _detail("effect_floor"),
    "effect_name": _text("details", "effect_name"),
    "p_value": _detail("p_value"),
}
_INTERVAL = {
    "low": lambda r: _num(_dig(r, "interval", "low")),
    "high": lambda r: _num(_dig(r, "interval", "high")),
    "confidence": lambda r: _num(_dig(r, "interval", "confidence")),
}


def _band(frame: pd.DataFrame, value: str) -> pd.DataFrame:
    """The interval of ``value - offline`` in the metric's units: a normal interval (estimate ± z·se, signed by
    whether greater is better) is symmetric, so it is ``value`` ± half its width, whatever the sign."""
    half = (frame["high"] - frame["low"]) / 2.0
    return frame.assign(**{f"{value}_low": frame[value] - half, f"{value}_high": frame[value] + half})


@dataclass(frozen=True)
class MonitorFrames:
    """The monitor history as tidy frames, each with a UTC ``at`` column, oldest first."""

    runs: pd.DataFrame
    input_drift: pd.DataFrame
    prediction_drift: pd.DataFrame
    live_quality: pd.DataFrame
    estimated_quality: pd.DataFrame
    latency: pd.DataFrame
    skipped: int = 0
    exists: bool = False

    @property
    def empty(self) -> bool:
        return bool(self.runs.empty)


def _rejected(value: Any) -> float:
    if isinstance(value, Mapping):
        counts = [_num(v) for v in value.values()]
        return float(sum(c for c in counts if not math.isnan(c)))
    return _num(value)


def _runs(records: list[Row]) -> pd.DataFrame:
    rows = []
    for record in records:
        failing = record.get("failing")
        rows.append(
            {
                "at": record.get("at"),
                "model_version": record.get("model_version"),
                "predictions": _num(record.get("predictions")),
                "rejected": _rejected(record.get("rejected")),
                "dropped": _num(record.get("dropped")),
                "passed": record.get("passed") if isinstance(record.get("passed"), bool) else None,
                "failing": ", ".join(str(f) for f in failing) if isinstance(failing, list) else "",
                "report": record.get("report") if isinstance(record.get("report"), str) else None,
            }
        )
    return _with_time(rows, ["model_version", "predictions", "rejected", "dropped", "passed", "failing", "report"])


def monitor_frames(lines: Lines) -> MonitorFrames:
    """The frames of the monitor history's intact ``monitor`` lines (module docstring)."""
    records = [r for r in lines.records if r.get("kind", "monitor") == "monitor"]
    quality = {"live": _detail("live"), "offline": _detail("offline"), "difference": _detail("difference", "estimate")}
    estimate = {
        "expected": _detail("expected"),
        "offline": _detail("offline"),
        "offline_measured": _detail("offline_measured"),
        "difference": _detail("difference", "estimate"),
    }
    latency = {"observed": lambda r: _num(r.get("observed")), "budget_ms": _detail("budget_ms")}
    return MonitorFrames(
        runs=_runs(records),
        input_drift=_check_rows(records, "monitor.input_drift", "feature", _DRIFT),
        prediction_drift=_check_rows(records, "monitor.prediction_drift", "subject", _DRIFT).drop(columns="subject"),
        live_quality=_band(_check_rows(records, "monitor.live_quality", "metric", {**quality, **_INTERVAL}), "live"),
        estimated_quality=_band(
            _check_rows(records, "monitor.estimated_quality", "metric", {**estimate, **_INTERVAL}), "expected"
        ),
        latency=_check_rows(records, "monitor.latency", "quantile", latency),
        skipped=lines.skipped,
        exists=lines.exists,
    )


def load_monitor(config: ProjectConfig) -> MonitorFrames:
    """:func:`monitor_frames` of ``[monitor] history`` (a missing file: empty frames, ``exists`` False)."""
    return monitor_frames(read_lines(config.monitor.history_path(config.root)))


# -- the retrain journal --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JournalView:
    """The retrain journal, one row per intact line, oldest first."""

    frame: pd.DataFrame
    skipped: int = 0
    exists: bool = False


def _cell(value: Any) -> Any:
    """A journal field as one table cell: scalars as they are, lists joined, objects as compact JSON."""
    if isinstance(value, list):
        return ", ".join(str(v) if not isinstance(v, dict | list) else json.dumps(v, sort_keys=True) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, default=str)
    return value


def journal_frame(lines: Lines) -> pd.DataFrame:
    """``at``, ``kind``, ``id``, ``open`` (a ``started`` line with no ``finished`` one), then every other field."""
    records = [r for r in lines.records if isinstance(r, Mapping)]
    finished = {r.get("id") for r in records if r.get("kind") == "finished"}
    rows = []
    for record in records:
        row = {key: _cell(value) for key, value in record.items() if key != "v"}
        row["open"] = record.get("kind") == "started" and record.get("id") not in finished
        rows.append(row)
    others = sorted({key for row in rows for key in row} - {"at", "kind", "id", "open"})
    return _with_time(rows, ["kind", "id", "open", *others])


def load_journal(config: ProjectConfig) -> JournalView:
    """:func:`journal_frame` of ``[retrain] journal`` (a missing file: an empty frame, ``exists`` False)."""
    lines = read_lines(config.retrain.journal_path(config.root))
    return JournalView(journal_frame(lines), lines.skipped, lines.exists)
