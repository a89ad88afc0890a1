"""Pieces shared by the quality checks: a model's scores on the test rows, metric bounds, formatting."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlgate.checks.bootstrap import Bootstrap, bootstrap_metric, paired_difference, point_metric
from mlgate.checks.result import CheckResult, Reason, Status
from mlgate.pipeline.config import MetricBound, QualitySettings
from mlgate.pipeline.evaluate import metric_function

__all__ = [
    "LAYER",
    "Scored",
    "bound_reason",
    "bound_result",
    "bound_text",
    "check_metric_name",
    "fmt",
    "interval_of",
    "paired_interval",
    "point_value",
    "within",
]

LAYER = "quality"


@dataclass(frozen=True)
class Scored:
    """One model's positive-class probabilities on the test rows and the threshold it decides with."""

    name: str
    proba: np.ndarray
    threshold: float
    threshold_source: str  # "validation", "fixed", or where a champion's threshold came from


def fmt(value: float | None, digits: int = 3) -> str:
    return "undefined" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def bound_text(bound: MetricBound) -> str:
    """``at least 0.700``, ``at most 0.600`` or ``between 0.600 and 0.900``."""
    if bound.min is not None and bound.max is not None:
        return f"between {fmt(bound.min)} and {fmt(bound.max)}"
    return f"at least {fmt(bound.min)}" if bound.min is not None else f"at most {fmt(bound.max)}"


def within(value: float, bound: MetricBound) -> bool:
    """Bounds are inclusive: a value exactly at ``min`` or ``max`` passes."""
    return (bound.min is None or value >= bound.min) and (bound.max is None or value <= bound.max)


def bound_reason(value: float, bound: MetricBound) -> Reason | None:
    """None when ``value`` is within ``bound``, else which side it left (``below_bound`` / ``above_bound``)."""
    if within(value, bound):
        return None
    return Reason.BELOW_BOUND if bound.min is not None and value < bound.min else Reason.ABOVE_BOUND


def bound_result(
    check_id: str,
    boot: Bootstrap,
    bound: MetricBound,
    *,
    passed: str,
    failed: str,
    details: Mapping[str, Any],
    slice: str | None = None,
) -> CheckResult:
    """A metric judged against its bound on the POINT ESTIMATE, bounds inclusive, the interval reported beside it.

    The one rule of the metric and slice-metric checks; ``passed`` / ``failed`` is the message of either verdict.
    """
    reason = bound_reason(boot.estimate, bound)
    return CheckResult(
        check_id,
        LAYER,
        Status.PASS if reason is None else Status.FAIL,
        passed if reason is None else failed,
        observed=boot.estimate,
        expected=bound_text(bound),
        interval=boot.interval,
        slice=slice,
        details=details,
        reason=reason,
    )


def check_metric_name(name: str, settings: QualitySettings) -> str | None:
    """Why ``name`` cannot be computed (unknown metric, cost without a cost matrix), or None when it can."""
    if name == "expected_cost":
        return None if settings.cost_matrix is not None else "expected_cost needs quality.cost_matrix"
    try:
        metric_function(name)
    except KeyError as exc:
        return str(exc.args[0])
    return None


def interval_of(name: str, y: np.ndarray, scored: Scored, settings: QualitySettings) -> Bootstrap:
    """The metric of ``scored`` on rows ``y`` with its bootstrap interval, as configured in ``settings``."""
    return bootstrap_metric(
        name,
        y,
        scored.proba,
        threshold=scored.threshold,
        costs=settings.cost_matrix,
        resamples=settings.bootstrap_resamples,
        confidence=settings.bootstrap_confidence,
        random_state=settings.random_state,
    )


def point_value(name: str, y: np.ndarray, scored: Scored, settings: QualitySettings) -> float:
    """The metric of ``scored`` on rows ``y`` (no interval), at its own threshold, with the configured costs."""
    return point_metric(name, y, scored.proba, threshold=scored.threshold, costs=settings.cost_matrix)


def paired_interval(name: str, y: np.ndarray, a: Scored, b: Scored, settings: QualitySettings) -> Bootstrap:
    """How much better ``a`` is than ``b`` on rows ``y`` (positive: ``a`` better), paired bootstrap as configured."""
    return paired_difference(
        name,
        y,
        a.proba,
        b.proba,
        threshold_a=a.threshold,
        threshold_b=b.threshold,
        costs=settings.cost_matrix,
        resamples=settings.bootstrap_resamples,
        confidence=settings.bootstrap_confidence,
        random_state=settings.random_state,
    )
