"""``staleness.data_distribution``: did the data change in *distribution* since the champion was trained?

``staleness.data_changed`` counts changed rows (row-hash multisets): it says how much of the table is new, not
whether what a model learns from moved. Appending 20% new rows drawn from the same population fails it and
changes nothing a model could learn; replacing 4% of the rows with a different kind of customer passes it and
may matter. This check is the other half: the champion's training rows (``drift/reference.parquet``, logged with
it, see :mod:`pipeline.batch`) against this run's training rows (train + validation), feature by feature and the
label, with the drift gate's statistics and settings (``[drift]`` alpha, correction, effect floors:
:func:`checks.drift.compare`).

Outcomes: the fingerprint is unchanged -> PASS without testing (same rows); some feature or the label drifted
(significant and above its floor) -> WARN naming each with its effect, reason ``significant_above_floor``;
none drifted -> PASS with the largest effect seen; the champion logged no reference -> SKIPPED
(``provenance_missing``). A WARN, not a FAIL: staleness fails on the row count, the age and the event lag as
before (``mlgate status`` exits 1 on those), and this check says whether that change is one a retrain would
learn from. Its id and the existing checks' ids and meanings are unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from mlgate.checks.drift import compare
from mlgate.checks.result import CheckResult, Reason, Status
from mlgate.pipeline.batch import DriftReference
from mlgate.pipeline.config import DriftSettings, ProjectConfig
from mlgate.pipeline.records import ChampionRecord

__all__ = ["check_data_distribution"]

_ID, _LAYER = "staleness.data_distribution", "staleness"


def _result(
    status: Status,
    message: str,
    *,
    blocking: bool,
    reason: Reason | None = None,
    observed: Any = None,
    expected: Any = None,
    details: Mapping[str, Any] | None = None,
) -> CheckResult:
    return CheckResult(
        id=_ID,
        layer=_LAYER,
        status=status,
        message=message,
        blocking=blocking,
        reason=reason,
        observed=observed,
        expected=expected,
        details=dict(details or {}),
    )


def check_data_distribution(
    champion: ChampionRecord,
    config: ProjectConfig,
    *,
    reference: DriftReference | None,
    current: pd.DataFrame,
    numeric: list[str],
    categorical: list[str],
    target: str | None,
    fingerprint: str,
    blocking: bool = True,
) -> CheckResult:
    """The champion's training rows (``reference``) vs ``current`` (this run's training rows), by the drift tests."""
    who = f"champion {champion.name} v{champion.version}"
    if champion.data_fingerprint == fingerprint:
        return _result(
            Status.PASS,
            f"the data is unchanged since {who} was trained (fingerprint {fingerprint[:12]}): same distribution",
            blocking=blocking,
        )
    if reference is None or reference.champion_version is None:  # (the project data never stands in here)
        return _result(
            Status.SKIPPED,
            f"{who} logged no training-data reference (drift/reference.parquet: an older run, or "
            "drift.log_reference = false): whether the data changed in distribution is unknown",
            blocking=blocking,
            reason=Reason.PROVENANCE_MISSING,
        )
    chosen = config.drift.columns
    tests = compare(
        reference.frame,
        current,
        numeric=[c for c in numeric if chosen is None or c in chosen],
        categorical=[c for c in categorical if chosen is None or c in chosen],
        settings=config.drift,
        id_prefix="staleness.feature",
        label=f"{who}'s training data vs this run's",
        target=target if config.drift.label else None,
        target_prefix="staleness.label",
        canonical=True,
    )
    return _summarise(
        tests, who=who, settings=config.drift, rows=(len(reference.frame), len(current)), blocking=blocking
    )


def _summarise(
    tests: list[CheckResult], *, who: str, settings: DriftSettings, rows: tuple[int, int], blocking: bool
) -> CheckResult:
    """One result from the per-column tests: WARN naming each column that drifted, else PASS (module docstring)."""
    judged = [r for r in tests if r.status in (Status.PASS, Status.FAIL)]
    effects = {
        r.details["column"]: {
            "status": r.status.value,
            "effect": round(float(r.details["effect"]), 6),
            "effect_name": r.details["effect_name"],
            "p_adjusted": r.details["p_adjusted"],
        }
        for r in judged
    }
    details = {
        "columns": effects,
        "not_compared": [r.details["column"] for r in tests if r not in judged],
        "rows_then": rows[0],
        "rows_now": rows[1],
        "tests": f"{settings.correction} over {len(judged)}, alpha {settings.alpha:g}",
    }
    drifted = [r for r in judged if r.status is Status.FAIL]
    shown = [f"{c} ({'D' if e['effect_name'] == 'ks_d' else 'TVD'} = {e['effect']:.3f})" for c, e in effects.items()]
    if drifted:
        names = [s for s, r in zip(shown, judged, strict=True) if r.status is Status.FAIL]
        return _result(
            Status.WARN,
            f"the data changed in distribution since {who} was trained: {', '.join(names)} drifted (adjusted p < "
            f"{settings.alpha:g} and effect above the [drift] floor; {rows[0]} -> {rows[1]} training rows); a "
            "retrain would learn from a different population",
            blocking=blocking,
            reason=Reason.SIGNIFICANT_ABOVE_FLOOR,
            observed=[r.details["column"] for r in drifted],
            expected="no feature or label drifted",
            details=details,
        )
    largest = max(zip(shown, judged, strict=True), key=lambda pair: pair[1].details["effect"], default=None)
    return _result(
        Status.PASS,
        f"the data changed since {who} was trained, but not in distribution: no feature or label drifted "
        f"({len(judged)} tested; largest {largest[0] if largest else 'none'})",
        blocking=blocking,
        observed=[],
        expected="no feature or label drifted",
        details=details,
    )
