"""The monitor gates: the served model judged on a window of its prediction log, with the gated run's checks.

``mlgate monitor`` (:mod:`ci.monitor`) reads a window of the log (:func:`pipeline.predlog.read_window`) and the
model's monitoring reference (:mod:`pipeline.monitor_reference`) into :class:`MonitorEvidence`; :func:`run`
returns every result (ids ``monitor.*``, filed under the gate layer whose question they ask again):

- schema layer: ``monitor.window`` (what was judged; an empty window WARNS), ``monitor.input_schema[...]``,
  ``monitor.rejected_share``, ``monitor.dropped_records`` (:mod:`checks.monitor_inputs`, here);
- drift layer: ``monitor.input_drift[<feature>]`` and ``monitor.prediction_drift`` (the drift gate's function);
- balance layer: ``monitor.balance[<column>=<group>]`` (the balance gate's function);
- quality layer: ``monitor.live_quality[<metric>]``, ``monitor.calibration``, ``monitor.estimated_quality[...]``,
  ``monitor.latency[p50|p99]``, ``monitor.numerics`` (:mod:`checks.monitor_quality`, :mod:`checks.monitor_estimate`);
- staleness layer: ``monitor.champion_age`` (:func:`checks.staleness.check_age`).

False alarms across windows (:func:`family_alpha`): a monitor run ``monitor.runs_per_day`` times a day spends
``alpha_window = monitor.alarm_budget_per_day / runs_per_day`` per window, split equally over the window's
statistical families (input drift, prediction drift, one per sensitive attribute, live quality, estimated quality:
Bonferroni); inside a family the tests are corrected as the gated run corrects them (Holm over the features,
simultaneous intervals over the groups of an attribute and over the metrics). Under no change, P(any statistical
alarm in a window) <= alpha_window, so by the union bound P(any false alarm in a day) <= the daily budget. The
checks against fixed bounds (schema, rejected share, latency, numerics, staleness) are not tests and spend nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import pandas as pd

from mlgate.checks.result import CheckResult, Reason, Status
from mlgate.pipeline.config import ProjectConfig
from mlgate.pipeline.monitor_reference import MonitorReference
from mlgate.pipeline.records import ChampionRecord

if TYPE_CHECKING:
    import pandera.pandas as pa

__all__ = ["MonitorEvidence", "WindowLike", "families", "family_alpha", "judged_rows", "run"]


class WindowLike(Protocol):
    """What the monitor reads from a window of the log (``pipeline.predlog.Window`` has these fields)."""

    @property
    def predictions(self) -> pd.DataFrame: ...

    @property
    def rejected(self) -> Mapping[str, int]: ...

    @property
    def dropped(self) -> int: ...

    @property
    def url_redacted(self) -> str: ...


@dataclass(frozen=True)
class MonitorEvidence:
    """Everything a monitor run judges. ``version``: the model version the reference belongs to (only its
    predictions are judged; None judges every row). ``champion``: the registry's champion, for its age."""

    config: ProjectConfig
    reference: MonitorReference
    window: WindowLike
    window_label: str
    now: datetime
    version: str | None = None
    champion: ChampionRecord | None = None
    schema: pa.DataFrameSchema | None = None


def families(config: ProjectConfig) -> list[str]:
    """The statistical families one window spends its false-alarm budget on (module docstring)."""
    sensitive = [f"balance of '{a.column}'" for a in config.balance.sensitive]
    return ["input drift", "prediction drift", *sensitive, "live quality", "estimated quality"]


def family_alpha(config: ProjectConfig) -> float:
    """Each family's share of the window's budget: ``alarm_budget_per_day / runs_per_day / len(families)``."""
    return config.monitor.alpha_window / len(families(config))


def judged_rows(evidence: MonitorEvidence) -> tuple[pd.DataFrame, dict[str, int]]:
    """The predictions of ``evidence.version`` (all when None) and how many other versions served."""
    frame = evidence.window.predictions
    if evidence.version is None or "model_version" not in frame.columns or frame.empty:
        return frame, {}
    versions = frame["model_version"].astype(str)
    mine = versions == str(evidence.version)
    others = versions[~mine].value_counts()
    return frame.loc[mine], {str(k): int(v) for k, v in others.items()}


def _window_result(evidence: MonitorEvidence, rows: pd.DataFrame, others: Mapping[str, int]) -> CheckResult:
    config = evidence.config
    budget = config.monitor
    model = f"model v{evidence.version}" if evidence.version is not None else "the served model"
    other = (
        "; predictions by other versions not judged: " + ", ".join(f"v{k}: {v}" for k, v in others.items())
        if others
        else ""
    )
    labelled = int(rows["label"].notna().sum()) if "label" in rows.columns else 0
    details: dict[str, Any] = {
        "window": evidence.window_label,
        "log": evidence.window.url_redacted,
        "predictions": len(rows),
        "labelled": labelled,
        "other_versions": dict(others),
        "alpha_window": budget.alpha_window,
        "alpha_family": family_alpha(config),
        "families": families(config),
    }
    if rows.empty:
        return CheckResult(
            "monitor.window",
            "schema",
            Status.WARN,
            f"no predictions by {model} in the window ({evidence.window_label}) of {evidence.window.url_redacted}"
            f"{other}: nothing to judge, drift, balance and quality checks SKIPPED (never a pass); check that the "
            "app serves and records predictions, or widen --since / --last",
            observed=0,
            expected=f">= {budget.min_predictions} predictions",
            blocking=False,
            details=details,
            reason=Reason.NO_ROWS,
        )
    return CheckResult(
        "monitor.window",
        "schema",
        Status.PASS,
        f"{len(rows)} predictions by {model} ({labelled} with feedback) in the window ({evidence.window_label}) of "
        f"{evidence.window.url_redacted}{other}; false-alarm budget {budget.alarm_budget_per_day:g}/day over "
        f"{budget.runs_per_day} runs a day = {budget.alpha_window:.2g} per window, {family_alpha(config):.2g} per "
        f"family ({len(families(config))} families)",
        observed=len(rows),
        details=details,
    )


def _rejected_result(evidence: MonitorEvidence, predictions: int) -> CheckResult:
    bound = evidence.config.monitor.max_rejected_share
    by_reason = {str(k): int(v) for k, v in evidence.window.rejected.items() if int(v)}
    rejected = sum(by_reason.values())
    total = rejected + predictions
    share = rejected / total if total else 0.0
    shown = ", ".join(f"{k}: {v}" for k, v in sorted(by_reason.items())) or "none"
    figures = (
        f"{rejected} rejected requests of {total} requests and records in the window ({share:.1%}; by reason: "
        f"{shown}); at most monitor.max_rejected_share = {bound:.1%}"
    )
    failed = share > bound
    return CheckResult(
        "monitor.rejected_share",
        "schema",
        Status.FAIL if failed else Status.PASS,
        f"{figures}: clients send what the schema refuses; find the client or the schema change" if failed else figures,
        observed=share,
        expected=f"<= {bound:g}",
        details={"rejected": by_reason, "predictions": predictions},
        reason=Reason.ABOVE_BOUND if failed else None,
    )


def _dropped_result(evidence: MonitorEvidence) -> CheckResult:
    dropped = int(evidence.window.dropped)
    if dropped <= 0:
        return CheckResult(
            "monitor.dropped_records", "schema", Status.PASS, "no records dropped by the log writers", observed=0
        )
    return CheckResult(
        "monitor.dropped_records",
        "schema",
        Status.WARN,
        f"the log writers dropped {dropped} prediction records since the log began (queue full or log unreachable; "
        "writer_stats, not per window): the log misses them, every judgement here is on what was recorded; give "
        "the writer more room or fix the log database",
        observed=dropped,
        expected=0,
        blocking=False,
        reason=Reason.ABOVE_BOUND,
    )


def _champion_age(evidence: MonitorEvidence) -> CheckResult:
    from mlgate.checks.staleness import check_age

    champion = evidence.champion
    if champion is None:
        return CheckResult(
            "monitor.champion_age",
            "staleness",
            Status.SKIPPED,
            "no champion in the registry (or no store here): the served model's age is not judged",
            reason=Reason.NO_CHAMPION,
        )
    result = check_age(champion, evidence.config, now=evidence.now)
    return replace(result, id="monitor.champion_age")


def run(evidence: MonitorEvidence) -> list[CheckResult]:
    """Every monitor check on ``evidence`` (module docstring); nothing raises on bad traffic.

    The families are independent reads of one window, each with its own seeded generator, so they run on two
    threads (numpy and pandas release the GIL in the sorts, counts and products that dominate on a large window);
    the results keep this order whatever finishes first."""
    from mlgate.checks.monitor_estimate import check_estimates
    from mlgate.checks.monitor_inputs import check_balance, check_input_drift, check_input_schema
    from mlgate.checks.monitor_quality import check_latency, check_live_quality, check_numerics

    rows, others = judged_rows(evidence)
    families: list[Callable[[], list[CheckResult]]] = [
        lambda: [_window_result(evidence, rows, others)],
        lambda: check_input_schema(evidence, rows),
        lambda: [_rejected_result(evidence, len(rows)), _dropped_result(evidence)],
        lambda: check_input_drift(evidence, rows),
        lambda: check_balance(evidence, rows),
        lambda: check_live_quality(evidence, rows),
        lambda: check_estimates(evidence, rows),
        lambda: [*check_latency(evidence, rows), check_numerics(evidence, evidence.window.predictions)],
        lambda: [_champion_age(evidence)],
    ]
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="monitor-checks") as pool:
        judged = list(pool.map(lambda family: family(), families))
    return [result for results in judged for result in results]
