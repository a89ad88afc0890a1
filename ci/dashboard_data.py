"""What ``mlgate dashboard`` draws, as tidy pandas frames: pure data loading, no Streamlit (ci.dashboard_app draws).

Three sources, each read only, each allowed to be missing:

* the **registry** (:func:`load_registry`): the champion and every version with its ``mlgate.*`` tags (promotion,
  image, gate report sha256) and the gate report of its run: ``release/report.json`` when the version was released,
  else ``reports/report.json`` from the gated run (layers, failures, waivers, the HTML report). No store: nothing is
  opened (a reader never creates ``mlruns/``);
* the **monitor history** (:func:`load_monitor`, ``[monitor] history``): one line per ``mlgate monitor`` run, from
  which :func:`monitor_frames` builds input and prediction drift (effect against its floor), live quality against
  offline with its interval, the label-free estimate, latency p50/p99 and request volume, all against ``at``;
* the **retrain journal** (:func:`load_journal`, ``[retrain] journal``): one row per retrain id, its outcome in plain
  words (:data:`STATUS`), ``interrupted`` when a later retrain found it dead, ``open`` when it only started.

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
from mlgate.pipeline.registry.store import store_exists
from mlgate.pipeline.tags import Tag

__all__ = [
    "CHAMPION_CHANGED", "JOURNAL_COLUMNS", "NOTHING_JOURNAL", "NOTHING_MONITOR", "NOTHING_STORE", "STATUS",
    "GateSummary", "JournalView", "MonitorFrames", "RegistryView", "journal_frame", "load_journal", "load_monitor",
    "load_registry", "monitor_frames", "store_exists", "summarize_report",
]  # fmt: skip

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


def summarize_report(data: Any, *, source: str, html: str | None = None) -> GateSummary:
    """A report.json's verdict, layer statuses, failures (fail and error) and waived results; never raises."""
    if not isinstance(data, Mapping):
        return GateSummary(source, html=html, error=f"{source}: not a report (a JSON object was expected)")
    results = [r for r in data.get("results") or [] if isinstance(r, Mapping)]
    columns = ["id", "layer", "status", "reason", "blocking", "message"]
    failures = [{k: r.get(k) for k in columns} for r in results if r.get("status") in ("fail", "error")]
    waivers = [
        {"id": r.get("id"), **{k: _dig(r, "details", "waiver", k) for k in ("owner", "reason", "expires")}}
        for r in results
        if r.get("status") == "waived"
    ]
    layers, passed = data.get("layers"), data.get("passed")
    return GateSummary(
        source, passed if isinstance(passed, bool) else None,
        {str(k): str(v) for k, v in layers.items()} if isinstance(layers, Mapping) else {},
        pd.DataFrame(failures, columns=columns), pd.DataFrame(waivers, columns=["id", "owner", "reason", "expires"]),
        html,
    )  # fmt: skip


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


#: The registry tags shown per version, by column.
_VERSION_TAGS = {
    "gate_status": Tag.GATE_STATUS, "promoted_at": Tag.PROMOTED_AT, "rolled_back_at": Tag.ROLLED_BACK_AT,
    "image": Tag.IMAGE, "retrain_triggers": Tag.RETRAIN_TRIGGERS, "gate_report_sha256": Tag.GATE_REPORT_SHA256,
}  # fmt: skip


def _versions_frame(history: Iterable[Any]) -> pd.DataFrame:
    rows = [
        {"version": r.version, "champion": "champion" in r.aliases, "aliases": ", ".join(r.aliases),
         "registered_at": r.registered_at, **{k: r.tags.get(tag) for k, tag in _VERSION_TAGS.items()},
         "run_id": r.run_id}
        for r in history
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["version", "champion", "aliases", "registered_at", *_VERSION_TAGS, "run_id"])


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


def _mappings(value: Any) -> list[Row]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _joined(value: Any) -> str:
    return ", ".join(str(v) for v in value) if isinstance(value, list) else "" if value is None else str(value)


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
        for result in _mappings(record.get("results")):
            if (subject := _subject(result.get("id"), prefix)) is None:
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
    "effect": _detail("effect"), "effect_floor": _detail("effect_floor"),
    "effect_name": _text("details", "effect_name"), "p_value": _detail("p_value"),
}  # fmt: skip
_INTERVAL = {key: (lambda r, key=key: _num(_dig(r, "interval", key))) for key in ("low", "high", "confidence")}


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
    rows = [
        {"at": r.get("at"), "model_version": r.get("model_version"), "predictions": _num(r.get("predictions")),
         "rejected": _rejected(r.get("rejected")), "dropped": _num(r.get("dropped")),
         "passed": r.get("passed") if isinstance(r.get("passed"), bool) else None,
         "failing": _joined(r.get("failing")) if isinstance(r.get("failing"), list) else "",
         "report": _text("report")(r)}
        for r in records
    ]  # fmt: skip
    return _with_time(rows, ["model_version", "predictions", "rejected", "dropped", "passed", "failing", "report"])


def monitor_frames(lines: Lines) -> MonitorFrames:
    """The frames of the monitor history's intact ``monitor`` lines (module docstring)."""
    records = [r for r in lines.records if r.get("kind", "monitor") == "monitor"]
    quality = {"live": _detail("live"), "offline": _detail("offline"), "difference": _detail("difference", "estimate")}
    estimate = {
        "expected": _detail("expected"), "offline": _detail("offline"),
        "offline_measured": _detail("offline_measured"), "difference": _detail("difference", "estimate"),
    }  # fmt: skip
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

#: Each ``finished`` outcome (:mod:`ci.retrain_loop`) in plain words.
STATUS = {
    "rolled-out": "retrained and rolled out", "released": "released", "registered": "registered",
    "identical": "identical to the champion", "rejected": "rejected", "release-failed": "release failed",
    "rollout-failed": "rollout failed, old image kept", "skipped": "skipped", "not-fired": "nothing fired",
    "dry-run": "dry run", "error": "error", "interrupted": "interrupted",
}  # fmt: skip
RUNNING = "running or died"
#: The outcomes that made a new champion: a rule on the drift and quality charts (:func:`retrain_marks`).
CHAMPION_CHANGED = ("registered", "released", "rolled-out")
_COLUMNS = ["status", "outcome", "fired", "evidence", "model_version", "champion", "failing", "stage", "message"]
JOURNAL_COLUMNS = ["at", *_COLUMNS, "id", "open"]


@dataclass(frozen=True)
class JournalView:
    """One row per retrain (``frame``, oldest first; :data:`JOURNAL_COLUMNS`) and each retrain's lines by id."""

    frame: pd.DataFrame
    skipped: int = 0
    exists: bool = False
    lines: dict[str, list[Row]] = field(default_factory=dict)


def _event(record: Row) -> str:
    """``started``, ``interrupted`` or ``finished`` (``event``; ``kind`` in lines that name it there)."""
    event = record.get("event", record.get("kind"))
    return event if event in ("started", "interrupted") else "finished"


def _evidence(triggers: Any) -> str:
    """``name: evidence`` of the fired triggers, or of every trigger when none fired."""
    shown = [t for t in _mappings(triggers) if t.get("fires")] or _mappings(triggers)
    return "; ".join(f"{t.get('name')}: {t.get('evidence')}" for t in shown)


def _champion(before: Any, after: Any) -> str:
    if after is None or after == before:
        return "" if before is None else f"v{before} (kept)"
    return f"{'none' if before is None else f'v{before}'} → v{after}"


def _retrain_row(rid: str, lines: list[Row]) -> Row:
    by = {_event(record): record for record in lines}  # the last line of each event
    done, started, dead = by.get("finished"), by.get("started"), by.get("interrupted")
    line = done or started or dead or {}
    times = [r.get(key) for r in (done, started, dead) if r for key in ("at", "started_at")]
    at = next((time for time in times if isinstance(time, str)), None)
    outcome = done.get("outcome") if done else "interrupted" if dead else None
    status = STATUS.get(str(outcome), str(outcome or "no outcome")) if done or dead else RUNNING
    message = line.get("message") or line.get("error")
    if dead and not done:
        message = f"died before its finished line; found by retrain {dead.get('detected_by')} at {dead.get('at')}"
    return {
        "at": at, "status": status, "outcome": outcome, "fired": _joined(line.get("fired")),
        "evidence": _evidence(line.get("triggers")), "model_version": line.get("model_version"),
        "champion": _champion(line.get("champion_before"), line.get("champion_after")),
        "failing": _joined(_dig(line, "gate", "failing")), "stage": line.get("stage"), "message": _joined(message),
        "id": rid, "open": not (done or dead),
    }  # fmt: skip


def _by_retrain(lines: Lines) -> dict[str, list[Row]]:
    retrains: dict[str, list[Row]] = {}
    for number, record in enumerate(lines.records, 1):
        line = {key: value for key, value in record.items() if key != "v"}
        retrains.setdefault(str(record.get("id", f"line {number}")), []).append(line)
    return retrains


def journal_frame(lines: Lines) -> pd.DataFrame:
    """One row per retrain id (:data:`JOURNAL_COLUMNS`): its ``finished`` line in plain words (``status``), or
    ``interrupted`` when a later retrain found it dead, or ``open`` (running or died) for a lone ``started``."""
    rows = [_retrain_row(rid, records) for rid, records in _by_retrain(lines).items()]
    return _with_time(rows, JOURNAL_COLUMNS[1:])


def load_journal(config: ProjectConfig) -> JournalView:
    """:func:`journal_frame` of ``[retrain] journal`` (a missing file: an empty frame, ``exists`` False)."""
    lines = read_lines(config.retrain.journal_path(config.root))
    return JournalView(journal_frame(lines), lines.skipped, lines.exists, _by_retrain(lines))
