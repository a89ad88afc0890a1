"""Judging one drift comparison: its family of two-sample tests, p-values adjusted together, each against a floor.

Split from :mod:`checks.drift` (the method is described there), so the pandas engine (:func:`checks.drift.compare`)
and the Spark engine (:mod:`checks.spark_gates`) judge their tests with the same code.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlgate.checks.result import CheckResult, Reason, Status
from mlgate.checks.stats import TwoSampleTest, adjust_pvalues
from mlgate.pipeline.config import DriftSettings

__all__ = ["Tested", "judge_family", "result"]

_EFFECT_NAMES = {"ks_d": "D", "tvd": "TVD"}
_ADVICE = {
    "drift.feature": "Check how the data was collected or split",
    "drift.current": "The new data differs from what the champion learned from: find the upstream change, or "
    "retrain on data that includes it",
}


@dataclass(frozen=True)
class Tested:
    column: str
    outcome: TwoSampleTest
    id_prefix: str
    kind: str  # "feature" or "label"


def judge_family(
    tested: list[Tested],
    label_test: Tested | None,
    problems: list[CheckResult],
    settings: DriftSettings,
    *,
    id_prefix: str,
    columns: list[str],
    label: str,
) -> list[CheckResult]:
    """One comparison's results from its tests (features, then the label's): p-values adjusted together, each
    judged against its floor; ``problems`` (columns that could not be tested) in column order among them. The
    pandas and the Spark engines both end here (:mod:`checks.spark_gates` builds ``tested`` from Spark
    aggregates)."""
    every = [*tested, *([label_test] if label_test is not None else [])]
    adjusted = adjust_pvalues([t.outcome.p_value for t in every], method=settings.correction)
    family = (len(tested), label_test is not None)
    results = [_judge(t, float(p), family, settings, label=label) for t, p in zip(every, adjusted, strict=True)]
    by_column = {(r.id.split("[", 1)[0], r.details["column"]): r for r in [*results, *problems]}
    order = [(id_prefix, c) for c in dict.fromkeys(columns)]
    return [by_column[key] for key in order if key in by_column] + ([results[-1]] if label_test else [])


def result(
    id_prefix: str,
    column: str,
    settings: DriftSettings,
    status: Status,
    message: str,
    details: Mapping[str, Any],
    *,
    reason: Reason | None,
    observed: Any = None,
    expected: Any = None,
) -> CheckResult:
    return CheckResult(
        id=f"{id_prefix}[{column}]",
        layer="drift",
        status=status,
        message=message,
        blocking=settings.blocking,
        details={"column": column, **details},
        reason=reason,
        observed=observed,
        expected=expected,
    )


def _floor(tested: Tested, settings: DriftSettings) -> float:
    if tested.kind == "label":
        floor = settings.label_effect_floor
        if floor is not None:
            return floor
        return settings.numeric_effect_floor if tested.outcome.test == "ks" else settings.categorical_effect_floor
    return settings.numeric_effect_floor if tested.outcome.test == "ks" else settings.categorical_effect_floor


def _judge(
    tested: Tested, p_adjusted: float, family: tuple[int, bool], settings: DriftSettings, *, label: str
) -> CheckResult:
    column, out, kind, id_prefix = tested.column, tested.outcome, tested.kind, tested.id_prefix
    floor = _floor(tested, settings)
    significant = p_adjusted < settings.alpha
    large = out.effect >= floor
    effect_name = _EFFECT_NAMES[out.effect_name]
    features, with_label = family
    members = f"{features} feature{'s' if features != 1 else ''}{' and the label' if with_label else ''}"
    correction = "no correction" if settings.correction == "none" else f"{settings.correction} over {members}"
    test = (
        f"Kolmogorov–Smirnov D = {out.effect:.3f}"
        if out.test == "ks"
        else f"chi-square homogeneity = {out.statistic:.4g} (dof {out.extra.get('dof', 0)}), TVD = {out.effect:.3f}"
    )
    figures = (
        f"{test} (floor {floor:g}), adjusted p = {_p(p_adjusted)} (alpha {settings.alpha:g}, "
        f"{correction}); "
        f"n = {out.n_reference} vs {out.n_current}{_missing_note(out)}"
    )
    reason: Reason | None = None
    if significant and large:
        status, reason = Status.FAIL, Reason.SIGNIFICANT_ABOVE_FLOOR
        advice = _ADVICE["drift.current" if id_prefix.startswith(("drift.current", "monitor.")) else "drift.feature"]
        message = (
            f"{kind} '{column}' drifted ({label}): {figures}. Expected {effect_name} < {floor:g} or "
            f"adjusted p >= {settings.alpha:g}. {advice}; if the shift is expected, waive this check with a reason"
        )
        note = "drift"
    elif significant:
        status, note = Status.PASS, "significant_below_floor"
        message = (
            f"{kind} '{column}' ({label}): a statistically detectable but small shift, below the "
            f"effect floor: {figures}"
        )
    elif large:
        status, note = Status.PASS, "large_but_not_significant"
        message = (
            f"{kind} '{column}' ({label}): {effect_name} reaches the floor but is not significant "
            f"(too few rows to tell it from sampling noise): {figures}"
        )
    else:
        status, note = Status.PASS, "no_drift"
        message = f"{kind} '{column}' ({label}): no drift: {figures}"
    details = {
        "test": out.test,
        "statistic": out.statistic,
        "p_value": out.p_value,
        "p_adjusted": p_adjusted,
        "correction": settings.correction,
        "effect": out.effect,
        "effect_name": out.effect_name,
        "effect_floor": floor,
        "alpha": settings.alpha,
        "n_reference": out.n_reference,
        "n_current": out.n_current,
        "note": note,
        "label": label,
        **out.extra,
    }
    return result(
        id_prefix,
        column,
        settings,
        status,
        message,
        details,
        reason=reason,
        observed=round(out.effect, 6),
        expected=f"{out.effect_name} < {floor:g} or p_adjusted >= {settings.alpha:g}",
    )


def _p(value: float) -> str:
    return "nan" if math.isnan(value) else (f"{value:.3g}" if value >= 1e-3 else f"{value:.1e}")


def _missing_note(out: TwoSampleTest) -> str:
    shares = out.extra.get("missing_share")
    if not shares or (shares["reference"] == 0 and shares["current"] == 0):
        return ""
    return f"; missing {shares['reference']:.1%} vs {shares['current']:.1%}"
