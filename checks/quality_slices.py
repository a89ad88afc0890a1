"""Quality per group: metric bounds on each group of each slice column / sensitive attribute, and group gaps.

Bounds of a group: ``quality.thresholds`` overridden, metric by metric, by ``quality.slice_thresholds`` entries
keyed ``"*"`` (every group), ``"<column>"`` (every group of that column), then ``"<column>=<group>"`` (that
group) — the most specific key wins. A group with fewer than ``slices.min_size`` test rows, or with one class
when the metric needs two, is SKIPPED "too small to judge": never passed, never failed.

Every group is judged with its interval by the rule of the whole gate (:data:`quality_common.RULE`: FAIL when the
whole interval is beyond the bound, WARN when only the estimate is). A column with k groups large enough to judge
a metric asks k questions at once, so the k intervals are *simultaneous* (Bonferroni, each at
``1 - (1 - bootstrap_confidence) / k``, as the balance gate's group shares): the chance that any of a good
model's groups fails on noise stays below ``1 - bootstrap_confidence``. Each is a percentile interval over at
least ``bootstrap_resamples`` resamples, more when the level needs them (:func:`checks.stats.tail_resamples`:
ten draws beyond each end).

``quality.max_group_gap = {metric = d}``: among the groups large enough to judge, the best group's metric may
lead the worst's by at most ``d``. The estimate is best − worst; its interval follows from the simultaneous group
intervals (highest lower end − lowest upper end, to highest upper end − lowest lower end), which hold for every
pair at once, so picking the worst and best after looking needs no further correction. FAIL when the whole
interval is above ``d``, WARN when only the estimate is. Missing values of a grouping column form the group
``<missing>``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from mlgate.checks.bootstrap import TWO_CLASS_METRICS, Bootstrap, bootstrap_metric
from mlgate.checks.quality_common import (
    LAYER,
    Scored,
    bound_result,
    bound_text,
    check_metric_name,
    confirmed,
    costs_of,
    fmt,
    judge,
    rule_details,
    verdict_note,
)
from mlgate.checks.result import CheckResult, Interval, Reason, Status
from mlgate.checks.stats import simultaneous_confidence, tail_resamples
from mlgate.pipeline.config import MetricBound, QualitySettings
from mlgate.pipeline.evaluate import greater_is_better

__all__ = ["check_slices", "group_masks", "slice_bounds"]


def slice_bounds(settings: QualitySettings, column: str, group: str) -> dict[str, MetricBound]:
    """The metric bounds of one group: global thresholds, then ``*``, column and group overrides."""
    bounds = dict(settings.thresholds)
    for key in ("*", column, f"{column}={group}"):
        bounds.update(settings.slice_thresholds.get(key, {}))
    return bounds


def group_masks(labels: pd.Series) -> dict[str, np.ndarray]:
    """Boolean row masks of each group (as strings, sorted; missing values form ``<missing>``)."""
    values = np.asarray(pd.Series(labels).astype("string").fillna("<missing>"), dtype=object)
    return {str(v): values == v for v in sorted(set(values))}


def _too_small(name: str, y: np.ndarray, min_size: int, task: str = "binary") -> str | None:
    positives = int(y.sum())
    if len(y) < min_size:
        return f"too small to judge (n={len(y)} < {min_size}, slices.min_size)"
    if task == "binary" and name in TWO_CLASS_METRICS and positives in (0, len(y)):
        return f"too small to judge: one class only ({positives} positives of n={len(y)}), {name} is undefined"
    return None


def _unknown_keys(settings: QualitySettings, groups: Mapping[str, pd.Series]) -> list[CheckResult]:
    known = {"*", *groups}
    for column, labels in groups.items():
        known.update(f"{column}={g}" for g in group_masks(labels))
    return [
        CheckResult(
            f"quality.slice_thresholds[{key}]",
            LAYER,
            Status.WARN,
            f"quality.slice_thresholds key '{key}' names no slice column or group "
            f"(columns: {', '.join(groups) or 'none'}): fix the key, it is not applied",
            reason=Reason.INVALID_CONFIG,
        )
        for key in settings.slice_thresholds
        if key not in known
    ]


def _simultaneous(
    name: str,
    y: np.ndarray,
    candidate: Scored,
    masks: Mapping[str, np.ndarray],
    settings: QualitySettings,
    min_size: int,
) -> dict[str, Bootstrap | str]:
    """Each group's metric with its interval, simultaneous over the groups large enough to judge (Bonferroni);
    a group too small to judge maps to the reason."""
    judged: dict[str, Bootstrap | str] = {}
    for group, mask in masks.items():
        reason = _too_small(name, y[mask], min_size, candidate.task)
        if reason is not None:
            judged[group] = reason
    family = max(1, len(masks) - len(judged))
    confidence = simultaneous_confidence(settings.bootstrap_confidence, family)
    resamples = max(settings.bootstrap_resamples, tail_resamples(confidence))
    for group, mask in masks.items():
        if group not in judged:
            judged[group] = bootstrap_metric(
                name,
                y[mask],
                candidate.proba[mask],
                threshold=candidate.threshold,
                costs=costs_of(candidate, settings),
                resamples=resamples,
                confidence=confidence,
                random_state=settings.random_state,
                task=candidate.task,
            )
    return judged


def _family(judged: Mapping[str, Bootstrap | str]) -> int:
    return sum(isinstance(boot, Bootstrap) for boot in judged.values())


def _slice_metric(
    name: str, bound: MetricBound, label: str, y: np.ndarray, boot: Bootstrap | str, family: int, task: str = "binary"
) -> CheckResult:
    check_id = f"quality.slice_metric[{label}][{name}]"
    if isinstance(boot, str):
        return CheckResult(
            check_id,
            LAYER,
            Status.SKIPPED,
            f"slice {label}: {boot}",
            expected=bound_text(bound),
            slice=label,
            reason=Reason.TOO_SMALL,
        )
    column, positives = label.split("=", 1)[0], int(y.sum())
    together = f"; the interval holds jointly for the {family} groups of {column} judged" if family > 1 else ""
    rows = f"({positives} positives{together})" if task == "binary" else f"({together.removeprefix('; ')})"
    rows = "" if rows == "()" else f" {rows}"
    return bound_result(
        check_id,
        boot,
        bound,
        where=f"slice {label}: {name} is {boot.describe()} on n={len(y)} test rows{rows}",
        key="quality.thresholds / quality.slice_thresholds",
        advice="the model serves this group worse than required; look at its features and training rows",
        n=len(y),
        slice=label,
        family=family,
        details={
            "metric": name,
            "n": len(y),
            "positives": positives if task == "binary" else None,
            "bootstrap": boot.to_dict(),
        },
    )


def _group_gap(column: str, name: str, limit: float, judged: Mapping[str, Bootstrap | str], rows: int) -> CheckResult:
    """The gap between the best and the worst group judged, with the interval the simultaneous group intervals
    give it (see the module docstring); ``rows`` is how many test rows those groups hold."""
    check_id = f"quality.group_gap[{column}][{name}]"
    boots = {group: boot for group, boot in judged.items() if isinstance(boot, Bootstrap)}
    skipped = {group: boot for group, boot in judged.items() if isinstance(boot, str)}
    if len(boots) < 2:
        return CheckResult(
            check_id,
            LAYER,
            Status.SKIPPED,
            f"column '{column}': fewer than two groups large enough to compare {name} "
            f"({len(boots)} of {len(judged)}; slices.min_size)",
            expected=limit,
            details={"skipped_groups": skipped},
            reason=Reason.TOO_SMALL,
        )
    estimates = {group: boot.estimate for group, boot in boots.items()}
    order = sorted(estimates, key=estimates.__getitem__, reverse=greater_is_better(name))
    best, worst = order[0], order[-1]
    gap = abs(estimates[best] - estimates[worst])
    lows, highs = [b.low for b in boots.values()], [b.high for b in boots.values()]
    low, high = max(0.0, max(lows) - min(highs)), max(highs) - min(lows)
    confidence = next(iter(boots.values())).confidence
    status = judge(gap, low, high, at_most=limit)
    is_confirmed = confirmed(low, high, at_most=limit)
    where = (
        f"column '{column}': {name} of the worst group {column}={worst} ({fmt(estimates[worst])}) trails the best "
        f"{column}={best} ({fmt(estimates[best])}) by {fmt(gap)} (interval {fmt(low)} to {fmt(high)} from the "
        f"{confidence:.4g} intervals of the {len(boots)} groups, simultaneous)"
    )
    key = f"quality.max_group_gap.{name}"
    if status is Status.PASS:
        message = (
            f"{where}; at most {fmt(limit)} allowed ({key}), {verdict_note(status, is_confirmed=is_confirmed, n=rows)}"
        )
    else:
        message = (
            f"{where}, more than the {fmt(limit)} allowed ({key}) {verdict_note(status, is_confirmed=False, n=rows)}; "
            f"the model serves {column}={worst} markedly worse; fix before release or waive with a reason"
        )
    return CheckResult(
        check_id,
        LAYER,
        status,
        message,
        observed=gap,
        expected=limit,
        interval=Interval(low, high, confidence),
        details={
            "metric": name,
            "groups": estimates,
            "intervals": {group: [boot.low, boot.high] for group, boot in boots.items()},
            "worst": worst,
            "best": best,
            "skipped_groups": skipped,
            **rule_details(status, is_confirmed=is_confirmed, confidence=confidence, family=len(boots)),
        },
        reason=None if status is Status.PASS else Reason.GROUP_GAP,
    )


def _column_checks(
    column: str, labels: pd.Series, y: np.ndarray, candidate: Scored, settings: QualitySettings, min_size: int
) -> list[CheckResult]:
    """The slice-metric and group-gap checks of one grouping column."""
    masks = group_masks(labels)
    bounds = {group: slice_bounds(settings, column, group) for group in masks}
    wanted = dict.fromkeys([*(name for b in bounds.values() for name in b), *settings.max_group_gap])
    judged = {
        name: _simultaneous(name, y, candidate, masks, settings, min_size)
        for name in wanted
        if check_metric_name(name, settings, candidate.task) is None
    }
    results = []
    for group, mask in masks.items():
        label = f"{column}={group}"
        for name, bound in bounds[group].items():
            problem = check_metric_name(name, settings, candidate.task)
            if problem is not None:
                results.append(
                    CheckResult(
                        f"quality.slice_metric[{label}][{name}]",
                        LAYER,
                        Status.ERROR,
                        problem,
                        slice=label,
                        reason=Reason.INVALID_CONFIG,
                    )
                )
                continue
            results.append(
                _slice_metric(name, bound, label, y[mask], judged[name][group], _family(judged[name]), candidate.task)
            )
    for name, limit in settings.max_group_gap.items():
        problem = check_metric_name(name, settings, candidate.task)
        if problem is not None:
            results.append(
                CheckResult(
                    f"quality.group_gap[{column}][{name}]",
                    LAYER,
                    Status.ERROR,
                    f"quality.max_group_gap: {problem}",
                    reason=Reason.INVALID_CONFIG,
                )
            )
            continue
        rows = sum(int(masks[group].sum()) for group, boot in judged[name].items() if isinstance(boot, Bootstrap))
        results.append(_group_gap(column, name, limit, judged[name], rows))
    return results


def check_slices(
    y: np.ndarray,
    candidate: Scored,
    groups: Mapping[str, pd.Series],
    *,
    settings: QualitySettings,
    min_size: int,
) -> list[CheckResult]:
    """``quality.slice_metric[...]`` for each group x bound and ``quality.group_gap[...]`` for each gap bound.

    ``groups`` maps a slice column (or sensitive attribute) to each test row's group label, aligned with ``y``.
    """
    y = np.asarray(y, dtype=np.float64)
    results = _unknown_keys(settings, groups)
    for column, labels in groups.items():
        results += _column_checks(column, labels, y, candidate, settings, min_size)
    return results
