"""The retrain triggers of ``mlgate retrain``: each says whether it fired, with its evidence, and a key.

=============  ===========================================================================================
Trigger        Fires when
=============  ===========================================================================================
``new-data``   the training data's fingerprint (:func:`pipeline.ingest.fingerprint`: an appended CSV or
               Parquet file, a changed SQL table) differs from the one the champion was trained on, or
               there is no champion yet
``drift``      the newest ``mlgate monitor`` verdict on the champion (``[monitor] history``, no older than
               ``retrain.monitor_max_age_hours``) failed ``monitor.input_drift[...]`` or
               ``monitor.prediction_drift``
``quality``    ... failed ``monitor.live_quality[...]``
``stale``      the staleness gate's ``check_age`` fails the champion (older than ``staleness.max_age_days``)
``schedule``   the last retrain recorded in the journal is older than ``retrain.min_interval_hours`` (or none)
=============  ===========================================================================================

The **key** names the condition, not the moment (``new-data:<fingerprint>``, ``drift:<monitor run id>``,
``stale:v3``, ``schedule:<last retrain id>``): a condition a completed retrain already handled (its key is in a
``finished`` journal line) does not fire again, so ``mlgate watch`` killed and restarted never retrains twice for
one trigger. Evaluating reads only: the registry, the data source, the two journal files.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from mlgate.checks.result import Status
from mlgate.checks.staleness import check_age
from mlgate.pipeline.config import ProjectConfig
from mlgate.pipeline.records import ChampionRecord

__all__ = ["COMPLETED", "Situation", "TriggerResult", "evaluate", "moment"]

#: Journal outcomes of a retrain that ran to its end: the conditions it was started for are handled.
COMPLETED = frozenset({"rejected", "identical", "registered", "released", "rolled-out", "release-failed"})
DRIFT_PREFIXES = ("monitor.input_drift[", "monitor.prediction_drift")
QUALITY_PREFIXES = ("monitor.live_quality[",)


@dataclass(frozen=True)
class TriggerResult:
    name: str
    fired: bool
    evidence: str
    key: str | None = None
    handled_by: str | None = None  # the journal id of the completed retrain that handled this key

    @property
    def fires(self) -> bool:
        """Fired, and not already handled by a completed retrain."""
        return self.fired and self.handled_by is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "fired": self.fired,
            "fires": self.fires,
            "evidence": self.evidence,
            "key": self.key,
            "handled_by": self.handled_by,
        }


@dataclass
class Situation:
    """What the triggers look at, gathered once per evaluation (:mod:`ci.retrain_loop`)."""

    config: ProjectConfig
    now: datetime
    champion: ChampionRecord | None
    data_fingerprint: str
    data_source: str
    data_rows: int
    history: list[dict[str, Any]] = field(default_factory=list)
    journal: list[dict[str, Any]] = field(default_factory=list)

    def champion_fingerprints(self) -> set[str]:
        """What the champion was trained on: its run's data fingerprint and, when a retrain trained it on the
        training data joined with served feedback, that retrain's training-data fingerprint."""
        if self.champion is None:
            return set()
        found = {self.champion.data_fingerprint or ""}
        for entry in self.finished():
            if str(entry.get("model_version")) == self.champion.version and entry.get("run_id") == self.champion.run_id:
                found.add(str((entry.get("inputs") or {}).get("data_fingerprint") or ""))
        return found - {""}

    def finished(self) -> list[dict[str, Any]]:
        return [e for e in self.journal if e.get("kind") == "retrain" and e.get("event") == "finished"]


def moment(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text))
    except ValueError:
        return None


def _new_data(s: Situation) -> TriggerResult:
    key = f"new-data:{s.data_fingerprint}"
    if s.champion is None:
        return TriggerResult("new-data", True, f"no champion yet; {s.data_source} holds {s.data_rows} rows", key)
    known = s.champion_fingerprints()
    who = f"champion v{s.champion.version}"
    if not known:
        return TriggerResult("new-data", False, f"{who} records no data fingerprint: cannot tell new data", None)
    if s.data_fingerprint in known:
        return TriggerResult("new-data", False, f"{s.data_source} is the data {who} was trained on", None)
    return TriggerResult(
        "new-data",
        True,
        f"{s.data_source} changed: fingerprint {s.data_fingerprint[:12]}… ({s.data_rows} rows), {who} was trained on "
        f"{sorted(known)[0][:12]}…",
        key,
    )


def _monitor_trigger(name: str, prefixes: Sequence[str]) -> Callable[[Situation], TriggerResult]:
    def trigger(s: Situation) -> TriggerResult:
        settings = s.config.retrain
        if s.champion is None:
            return TriggerResult(name, False, "no champion: nothing is monitored yet")
        oldest = s.now - timedelta(hours=settings.monitor_max_age_hours)
        runs = [e for e in s.history if e.get("kind") == "monitor" and (moment(e.get("at")) or oldest) > oldest]
        if not runs:
            return TriggerResult(
                name, False, f"no mlgate monitor verdict in the last {settings.monitor_max_age_hours:g} h"
            )
        latest = runs[-1]
        version = str(latest.get("model_version"))
        if version != s.champion.version:
            judged = f"the newest monitor verdict judged v{version}, not v{s.champion.version}"
            return TriggerResult(name, False, judged)
        failing = [str(i) for i in latest.get("failing") or [] if str(i).startswith(tuple(prefixes))]
        where = f"monitor run {latest.get('at')} on v{version} ({latest.get('predictions')} predictions)"
        if not failing:
            return TriggerResult(name, False, f"{where}: no {name} check failed")
        shown = ", ".join(failing[:5]) + (f" and {len(failing) - 5} more" if len(failing) > 5 else "")
        return TriggerResult(name, True, f"{where} failed {shown}", f"{name}:{latest.get('id')}")

    return trigger


def _stale(s: Situation) -> TriggerResult:
    if s.champion is None:
        return TriggerResult("stale", False, "no champion")
    result = check_age(s.champion, s.config, now=s.now)
    if result.status is Status.FAIL:
        return TriggerResult("stale", True, result.message, f"stale:v{s.champion.version}")
    return TriggerResult("stale", False, result.message)


def _schedule(s: Situation) -> TriggerResult:
    hours = s.config.retrain.min_interval_hours
    done = [e for e in s.finished() if e.get("outcome") in COMPLETED]
    if not done:
        return TriggerResult("schedule", True, "no retrain recorded in the journal", "schedule:never")
    last = done[-1]
    at = moment(last.get("at"))
    if at is None or s.now - at >= timedelta(hours=hours):
        return TriggerResult(
            "schedule", True, f"the last retrain ({last.get('id')}) was at {last.get('at')}, over {hours:g} h ago",
            f"schedule:{last.get('id')}",
        )  # fmt: skip
    return TriggerResult("schedule", False, f"the last retrain was at {last.get('at')} (every {hours:g} h)")


TRIGGER_FUNCTIONS: Mapping[str, Callable[[Situation], TriggerResult]] = {
    "new-data": _new_data,
    "drift": _monitor_trigger("drift", DRIFT_PREFIXES),
    "quality": _monitor_trigger("quality", QUALITY_PREFIXES),
    "stale": _stale,
    "schedule": _schedule,
}


def _handled(situation: Situation) -> dict[str, str]:
    """key -> id of the completed retrain whose fired triggers included it."""
    handled: dict[str, str] = {}
    for entry in situation.finished():
        if entry.get("outcome") in COMPLETED:
            for trigger in entry.get("triggers") or []:
                if isinstance(trigger, dict) and trigger.get("fires") and trigger.get("key"):
                    handled[str(trigger["key"])] = str(entry.get("id"))
    return handled


def evaluate(situation: Situation, names: Sequence[str]) -> list[TriggerResult]:
    """Every trigger of ``names`` on ``situation``, in :data:`pipeline.config_retrain.TRIGGERS` order."""
    from mlgate.pipeline.config_retrain import TRIGGERS

    handled = _handled(situation)
    results = []
    for name in (n for n in TRIGGERS if n in names):
        found = TRIGGER_FUNCTIONS[name](situation)
        if found.fired and found.key in handled:
            found = TriggerResult(found.name, True, found.evidence, found.key, handled[found.key])
        results.append(found)
    return results
