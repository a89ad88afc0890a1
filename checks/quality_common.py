"""Pieces shared by the quality checks: a model's scores, the rows a comparison uses, the verdict rule, formatting."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlgate.checks.bootstrap import Bootstrap, bootstrap_metric, paired_difference, point_metric
from mlgate.checks.evidence import Evidence
from mlgate.checks.result import CheckResult, Reason, Status
from mlgate.checks.stats import judge
from mlgate.pipeline.config import MetricBound, QualitySettings
from mlgate.pipeline.evaluate import PROBABILITY_METRICS, metric_function

__all__ = [
    "LAYER",
    "RULE",
    "HeldOut",
    "Scored",
    "bound_reason",
    "bound_result",
    "bound_text",
    "check_metric_name",
    "confirmed",
    "fmt",
    "held_out_rows",
    "interval_of",
    "judge",
    "paired_interval",
    "point_value",
    "rule_details",
    "verdict_note",
    "within",
]

LAYER = "quality"


@dataclass(frozen=True)
class Scored:
    """One model's scores on the test rows and the threshold it decides with: the positive-class probability
    (binary), every class's probability (``(n, k)``, multi-class) or the predicted value (regression; ``task``),
    judged with ``costs`` (the task's cost, :func:`pipeline.task_metrics.costs_for`; binary: the settings' matrix)."""

    name: str
    proba: np.ndarray
    threshold: float
    threshold_source: str  # "validation", "fixed", or where a champion's threshold came from
    task: str = "binary"
    costs: Any = None

    def like(self, name: str, proba: np.ndarray, threshold: float, threshold_source: str) -> Scored:
        """Another model's scores, judged as this one's (same task and costs)."""
        return Scored(name, proba, threshold, threshold_source, self.task, self.costs)


def costs_of(scored: Scored, settings: QualitySettings) -> Any:
    """The cost ``scored`` is priced with: the settings' cost matrix (binary) or the task's own."""
    return settings.cost_matrix if scored.task == "binary" else scored.costs


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


#: The one rule of every quality verdict (and of the balance gate), as messages and details state it.
RULE = "fails only when the whole interval is beyond the bound, warns when only the estimate is"


def confirmed(low: float, high: float, *, at_least: float | None = None, at_most: float | None = None) -> bool:
    """Whether the whole interval meets the bound(s): a PASS the data confirms, not only the estimate."""
    return (at_least is None or low >= at_least) and (at_most is None or high <= at_most)


def rule_details(status: Status, *, is_confirmed: bool, confidence: float, family: int = 1) -> dict[str, Any]:
    """What every judged result's ``details`` says about how it was judged."""
    return {
        "judged_on": "interval",
        "rule": RULE,
        "confirmed": is_confirmed,
        "interval_confidence": confidence,
        "simultaneous_over": family,
        "verdict": status.value,
    }


def verdict_note(status: Status, *, is_confirmed: bool, n: int) -> str:
    """The clause that says which case of :data:`RULE` applied (after "below the minimum 0.700 (key)" and the
    like on a WARN or FAIL; after the requirement on a PASS)."""
    if status is Status.FAIL:
        return "credibly: the whole interval is beyond it"
    if status is Status.WARN:
        return f"on the estimate only, the interval reaches it: inconclusive with {n} rows, not blocking ({RULE})"
    if is_confirmed:
        return "the whole interval meets it"
    return f"met on the estimate, not confirmed with {n} rows: the interval reaches past it ({RULE})"


_WARN_REASONS = {Reason.BELOW_BOUND: Reason.BELOW_BOUND_POINT_ONLY, Reason.ABOVE_BOUND: Reason.ABOVE_BOUND_POINT_ONLY}


def bound_result(
    check_id: str,
    boot: Bootstrap,
    bound: MetricBound,
    *,
    where: str,
    key: str,
    advice: str,
    n: int,
    details: Mapping[str, Any],
    slice: str | None = None,
    family: int = 1,
) -> CheckResult:
    """A metric judged against its bound with its interval (:func:`judge`), bounds inclusive.

    The one rule of the metric and slice-metric checks. ``where`` says what was measured (with the interval),
    ``key`` the config key of the bound, ``advice`` what to do on a WARN or FAIL; ``family`` is the number of
    intervals that hold simultaneously (the groups of one column), reported in the details.
    """
    status = judge(boot.estimate, boot.low, boot.high, at_least=bound.min, at_most=bound.max)
    is_confirmed = confirmed(boot.low, boot.high, at_least=bound.min, at_most=bound.max)
    note = verdict_note(status, is_confirmed=is_confirmed, n=n)
    reason = bound_reason(boot.estimate, bound)
    if status is Status.PASS:
        message = f"{where}: {bound_text(bound)} required ({key}); {note}"
    else:
        below = reason is Reason.BELOW_BOUND
        side = f"below the minimum {fmt(bound.min)}" if below else f"above the maximum {fmt(bound.max)}"
        message = f"{where}, {side} ({key}) {note}; {advice}"
        if status is Status.WARN and reason is not None:
            reason = _WARN_REASONS[reason]
    return CheckResult(
        check_id,
        LAYER,
        status,
        message,
        observed=boot.estimate,
        expected=bound_text(bound),
        interval=boot.interval,
        slice=slice,
        details={
            **details,
            **rule_details(status, is_confirmed=is_confirmed, confidence=boot.confidence, family=family),
        },
        reason=reason,
    )


def check_metric_name(name: str, settings: QualitySettings, task: str = "binary") -> str | None:
    """Why ``name`` cannot be computed (unknown metric, cost without a cost matrix), or None when it can."""
    if task != "binary":
        from mlgate.pipeline.metric_names import metric_problem

        return metric_problem(name, task)
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
        costs=costs_of(scored, settings),
        resamples=settings.bootstrap_resamples,
        confidence=settings.bootstrap_confidence,
        random_state=settings.random_state,
        task=scored.task,
    )


def point_value(name: str, y: np.ndarray, scored: Scored, settings: QualitySettings) -> float:
    """The metric of ``scored`` on rows ``y`` (no interval), at its own threshold, with the configured costs."""
    costs = costs_of(scored, settings)
    return point_metric(name, y, scored.proba, threshold=scored.threshold, costs=costs, task=scored.task)


def paired_interval(name: str, y: np.ndarray, a: Scored, b: Scored, settings: QualitySettings) -> Bootstrap:
    """How much better ``a`` is than ``b`` on rows ``y`` (positive: ``a`` better), paired bootstrap as configured."""
    return paired_difference(
        name,
        y,
        a.proba,
        b.proba,
        threshold_a=a.threshold,
        threshold_b=b.threshold,
        costs=costs_of(a, settings),
        resamples=settings.bootstrap_resamples,
        confidence=settings.bootstrap_confidence,
        random_state=settings.random_state,
        task=a.task,
    )


@dataclass(frozen=True)
class HeldOut:
    """The rows a comparison is made on: labels, the candidate's scores, the features another model scores, how
    they were chosen (for the message) and how many of them are test rows (the rest are validation rows)."""

    y: np.ndarray
    candidate: Scored
    features: pd.DataFrame
    described: str
    n_test: int

    def scores(self, other: Scored, validation: np.ndarray | None) -> Scored:
        """``other`` (scored on the test rows) on these rows: its validation scores appended when they are used."""
        if len(self.y) == self.n_test:
            return other
        assert validation is not None  # held_out_rows uses the validation rows only when every model has them
        proba = np.concatenate([other.proba, np.asarray(validation, dtype=np.float64)])
        return other.like(other.name, proba, other.threshold, other.threshold_source)


def held_out_rows(
    evidence: Evidence, candidate: Scored, metric: str, *, others: Iterable[np.ndarray | None] = ()
) -> HeldOut:
    """Every labelled row no compared model trained on: the test rows, plus the validation rows when ``metric``
    does not depend on the decision threshold (the validation rows chose the thresholds, so a decision metric
    there would flatter them; ROC AUC, log loss, Brier score and average precision do not see it) and every model
    has scores there (``others``: the other models' validation scores, None when missing).

    The candidate and the baselines never trained on either split. A champion is assumed to have been trained on
    this data's training split (same data and split settings, as a previous gated run of this config did); a
    champion trained on other rows may have seen some of these, which can only flatter the champion.
    """
    split, model = evidence.split, evidence.model
    y_test = split.y_test.to_numpy()
    features = split.test[evidence.prepared.features]
    validation, y_val = split.validation, split.y_validation
    n_val = None if y_val is None else len(y_val)
    mine = None if model is None else model.proba_validation
    scored_everywhere = all(v is not None and len(v) == n_val for v in (mine, *others))
    threshold_free = metric in PROBABILITY_METRICS or candidate.task != "binary"  # nothing chosen on validation
    if not threshold_free or validation is None or y_val is None or not scored_everywhere:
        why = (
            f"{metric} depends on the decision threshold, which the validation rows chose"
            if not threshold_free
            else "no validation scores to add"
        )
        return HeldOut(y_test, candidate, features, f"the same {len(y_test)} test rows ({why})", len(y_test))
    y = np.concatenate([y_test, y_val.to_numpy()])
    chose = "the threshold the validation rows chose" if candidate.task == "binary" else "the validation rows"
    both = pd.concat([features, validation[evidence.prepared.features]])
    described = (
        f"the same {len(y)} held-out rows ({len(y_test)} test + {len(y_val)} validation: no compared model trained "
        f"on them, and {metric} does not depend on {chose})"
    )
    rows = HeldOut(y, candidate, both, described, len(y_test))
    return dataclasses.replace(rows, candidate=rows.scores(candidate, mine))
