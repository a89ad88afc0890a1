"""Quality per group: metric bounds on each group of each slice column / sensitive attribute, and group gaps.

Bounds of a group: ``quality.thresholds`` overridden, metric by metric, by ``quality.slice_thresholds`` entries
keyed ``"*"`` (every group), ``"<column>"`` (every group of that column), then ``"<column>=<group>"`` (that
group) — the most specific key wins. A group with fewer than ``slices.min_size`` test rows, or with one class
when the metric needs two, is SKIPPED "too small to judge": never passed, never failed.

``quality.max_group_gap = {metric = d}``: among the groups large enough to judge, the worst group's metric may
trail the best group's by at most ``d`` (judged on the estimates; the interval comes from resampling every
group independently). Missing values of a grouping column form the group ``<missing>``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from mlgate.checks.bootstrap import TWO_CLASS_METRICS, Bootstrap, metric_draws
from mlgate.checks.quality_common import LAYER, Scored, bound_result, bound_text, check_metric_name, fmt, interval_of
from mlgate.checks.result import CheckResult, Interval, Reason, Status
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


def _too_small(name: str, y: np.ndarray, min_size: int) -> str | None:
    positives = int(y.sum())
    if len(y) < min_size:
        return f"too small to judge (n={len(y)} < {min_size}, slices.min_size)"
    if name in TWO_CLASS_METRICS and positives in (0, len(y)):
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


def _slice_metric(name: str, bound: MetricBound, label: str, y: np.ndarray, boot: Bootstrap | str) -> CheckResult:
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
    where = f"slice {label}: {name} is {boot.describe()} on n={len(y)} test rows ({int(y.sum())} positives)"
    return bound_result(
        check_id,
        boot,
        bound,
        passed=f"{where}: {bound_text(bound)} required",
        failed=(
            f"{where}, expected {bound_text(bound)} (quality.thresholds / quality.slice_thresholds): the model "
            f"serves this group worse than required; look at its features and training rows"
        ),
        slice=label,
        details={"metric": name, "n": len(y), "positives": int(y.sum()), "bootstrap": boot.to_dict()},
    )


def _group_gap(
    column: str,
    name: str,
    limit: float,
    eligible: dict[str, tuple[np.ndarray, Scored]],
    skipped: dict[str, str],
    settings: QualitySettings,
) -> CheckResult:
    check_id = f"quality.group_gap[{column}][{name}]"
    if len(eligible) < 2:
        return CheckResult(
            check_id,
            LAYER,
            Status.SKIPPED,
            f"column '{column}': fewer than two groups large enough to compare {name} "
            f"({len(eligible)} of {len(eligible) + len(skipped)}; slices.min_size)",
            expected=limit,
            details={"skipped_groups": skipped},
            reason=Reason.TOO_SMALL,
        )
    estimates: dict[str, float] = {}
    draws = []
    for group, (y, scored) in eligible.items():
        estimates[group], group_draws = metric_draws(
            name,
            y,
            scored.proba,
            threshold=scored.threshold,
            costs=settings.cost_matrix,
            resamples=settings.bootstrap_resamples,
            random_state=settings.random_state,
        )
        draws.append(group_draws)
    order = sorted(estimates, key=estimates.__getitem__, reverse=greater_is_better(name))
    best, worst = order[0], order[-1]
    gap = abs(estimates[best] - estimates[worst])
    stacked = np.vstack(draws)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a resample where every group is undefined: dropped below
        gaps = np.nanmax(stacked, axis=0) - np.nanmin(stacked, axis=0)
    gaps = gaps[np.isfinite(gaps)]
    tail = (1 - settings.bootstrap_confidence) / 2 * 100
    low, high = np.percentile(gaps, [tail, 100 - tail]) if gaps.size else (np.nan, np.nan)
    boot = Bootstrap(gap, min(float(low), gap), max(float(high), gap), settings.bootstrap_confidence, stacked.shape[1])
    ok = gap <= limit
    where = (
        f"column '{column}': {name} of the worst group {column}={worst} ({fmt(estimates[worst])}) trails the best "
        f"{column}={best} ({fmt(estimates[best])}) by {boot.describe()}"
    )
    if ok:
        message = f"{where}; at most {fmt(limit)} allowed (quality.max_group_gap.{name})"
    else:
        message = (
            f"{where}, more than the {fmt(limit)} allowed (quality.max_group_gap.{name}): "
            f"the model serves {column}={worst} markedly worse; fix before release or waive with a reason"
        )
    return CheckResult(
        check_id,
        LAYER,
        Status.PASS if ok else Status.FAIL,
        message,
        observed=gap,
        expected=limit,
        interval=Interval(boot.low, boot.high, boot.confidence),
        details={"metric": name, "groups": estimates, "worst": worst, "best": best, "skipped_groups": skipped},
        reason=None if ok else Reason.GROUP_GAP,
    )


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
        masks = group_masks(labels)
        gap_metrics = dict(settings.max_group_gap)
        eligible: dict[str, dict[str, tuple[np.ndarray, Scored]]] = {m: {} for m in gap_metrics}
        skipped: dict[str, dict[str, str]] = {m: {} for m in gap_metrics}
        for group, mask in masks.items():
            label = f"{column}={group}"
            y_g = y[mask]
            scored = Scored(candidate.name, candidate.proba[mask], candidate.threshold, candidate.threshold_source)
            for name, bound in slice_bounds(settings, column, group).items():
                problem = check_metric_name(name, settings)
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
                reason = _too_small(name, y_g, min_size)
                boot = reason if reason is not None else interval_of(name, y_g, scored, settings)
                results.append(_slice_metric(name, bound, label, y_g, boot))
            for name in gap_metrics:
                reason = _too_small(name, y_g, min_size)
                if reason is None:
                    eligible[name][group] = (y_g, scored)
                else:
                    skipped[name][group] = reason
        for name, limit in gap_metrics.items():
            problem = check_metric_name(name, settings)
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
            results.append(_group_gap(column, name, limit, eligible[name], skipped[name], settings))
    return results
