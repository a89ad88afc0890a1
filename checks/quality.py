"""The model-quality gate layer: is the candidate good enough, for every group, and better than the alternatives?

Checks (ids in brackets), all on the held-out TEST split, each value with a seeded bootstrap interval
(``quality.bootstrap_resamples`` resamples, ``quality.bootstrap_confidence``, ``quality.random_state``):

1. ``quality.metric[<metric>]`` — every metric in ``quality.thresholds`` against its ``min``/``max``.
2. ``quality.business_cost`` — expected cost per row from ``quality.cost_matrix`` at the candidate's
   decision threshold, against ``quality.max_expected_cost`` and against each baseline's expected cost.
3. ``quality.slice_metric[<column>=<group>][<metric>]`` and ``quality.group_gap[<column>][<metric>]`` — per
   group of each slice column and sensitive attribute (see :mod:`checks.quality_slices`).
4. ``quality.baseline[majority_class]``, ``quality.baseline[logistic_regression]`` — a simpler model trained on
   the same split must not be as good (see :mod:`checks.quality_compare`).
5. ``quality.champion`` — the candidate must not be credibly worse than the current champion.

How a check decides (a release manager should be able to predict every verdict):

* Bounds (1, 2, 3) and the baseline margin (4) are judged on the POINT ESTIMATE; bounds are inclusive. The
  interval is reported beside it so a reader sees how sure the verdict is, but it does not move the verdict:
  a 300-row test set gives ROC AUC intervals ±0.05 wide, so "fail when the interval dips below the bound"
  would fail every honest model, and "fail only when the whole interval is below" would pass bad ones.
* The champion comparison (5) is a non-inferiority test on the paired bootstrap of (candidate − champion):
  it fails only when the upper end of the interval is below ``-champion_margin``, i.e. the candidate is
  credibly worse by more than the margin. Replacing a champion is the one decision where "not proven worse"
  is the right default, because the champion was itself gated.
* A group smaller than ``slices.min_size``, or with one class when the metric needs two, is SKIPPED (never
  passed, never failed).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from mlgate.checks import quality_health
from mlgate.checks.evidence import Evidence
from mlgate.checks.quality_common import (
    LAYER,
    Scored,
    bound_result,
    bound_text,
    check_metric_name,
    fmt,
    interval_of,
    paired_interval,
    point_value,
)
from mlgate.checks.quality_compare import check_baselines, check_champion, scored_baselines
from mlgate.checks.quality_slices import check_slices
from mlgate.checks.result import CheckResult, Reason, Status
from mlgate.pipeline.config import QualitySettings
from mlgate.pipeline.records import evaluation_groups

__all__ = ["check_business_cost", "check_thresholds", "run"]

_SOURCES = {
    "validation": "chosen on the validation split to minimise expected cost",
    "fixed": "fixed by quality.decision_threshold",
}


def check_thresholds(y: np.ndarray, candidate: Scored, *, settings: QualitySettings) -> list[CheckResult]:
    """``quality.metric[<name>]`` for every metric bound in ``settings.thresholds``, judged on the estimate."""
    results = []
    y = np.asarray(y)
    for name, bound in settings.thresholds.items():
        check_id = f"quality.metric[{name}]"
        problem = check_metric_name(name, settings)
        if problem is not None:
            results.append(
                CheckResult(
                    check_id,
                    LAYER,
                    Status.ERROR,
                    f"quality.thresholds.{name}: {problem}",
                    expected=bound_text(bound),
                    reason=Reason.INVALID_CONFIG,
                )
            )
            continue
        boot = interval_of(name, y, candidate, settings)
        where = f"{name} of the candidate on the {len(y)} test rows"
        if not np.isfinite(boot.estimate):
            results.append(
                CheckResult(
                    check_id,
                    LAYER,
                    Status.ERROR,
                    f"{where} is undefined (the test split holds one class only): cannot judge it",
                    expected=bound_text(bound),
                    reason=Reason.UNDEFINED_METRIC,
                )
            )
            continue
        side = "below the minimum" if bound.min is not None and boot.estimate < bound.min else "above the maximum"
        limit = bound.min if side == "below the minimum" else bound.max
        results.append(
            bound_result(
                check_id,
                boot,
                bound,
                passed=f"{where} is {boot.describe()}: {bound_text(bound)} required (quality.thresholds.{name})",
                failed=(
                    f"{where} is {boot.describe()}, {side} {fmt(limit)} (quality.thresholds.{name}): "
                    "improve the model, or change the bound with a stated reason"
                ),
                details={"metric": name, "n": len(y), "bootstrap": boot.to_dict(), "judged_on": "estimate"},
            )
        )
    return results


def _versus_baselines(
    y: np.ndarray,
    candidate: Scored,
    baselines: Mapping[str, Scored],
    *,
    settings: QualitySettings,
) -> tuple[dict[str, dict[str, object]], list[str], list[str]]:
    """The candidate's expected cost against each baseline's (at that baseline's own threshold), with a paired
    bootstrap of the saving: the details per baseline, the message parts, and a problem for each baseline the
    candidate is costlier than by more than ``baseline_cost_margin``."""
    compared: dict[str, dict[str, object]] = {}
    parts: list[str] = []
    problems: list[str] = []
    for name, base in baselines.items():
        base_cost = point_value("expected_cost", y, base, settings)
        saving = paired_interval("expected_cost", y, candidate, base, settings)
        compared[name] = {"expected_cost": base_cost, "threshold": base.threshold, "saving": saving.to_dict()}
        parts.append(f"{name} baseline {fmt(base_cost)}: candidate saves {saving.describe(signed=True)}")
        if -saving.estimate > settings.baseline_cost_margin:
            problems.append(
                f"costlier than the {name} baseline ({fmt(base_cost)}) by {fmt(-saving.estimate)} "
                f"(allowed {fmt(settings.baseline_cost_margin)}, quality.baseline_cost_margin)"
            )
    return compared, parts, problems


def check_business_cost(
    y: np.ndarray, candidate: Scored, baselines: Mapping[str, Scored], *, settings: QualitySettings
) -> CheckResult:
    """``quality.business_cost``: expected cost per row at the candidate's threshold vs the maximum and baselines.

    Fails when the estimate is above ``max_expected_cost`` (when set), or above any baseline's expected cost
    (at that baseline's own threshold, chosen the same way) by more than ``baseline_cost_margin``.
    """
    check_id = "quality.business_cost"
    costs = settings.cost_matrix
    if costs is None:
        return CheckResult(
            check_id,
            LAYER,
            Status.SKIPPED,
            "no quality.cost_matrix configured: the business cost is not judged",
            reason=Reason.NOT_CONFIGURED,
        )
    y = np.asarray(y)
    boot = interval_of("expected_cost", y, candidate, settings)
    source = _SOURCES.get(candidate.threshold_source, candidate.threshold_source)
    prices = f"costs FP={costs.false_positive:g}, FN={costs.false_negative:g}"
    if costs.true_positive or costs.true_negative:
        prices += f", TP={costs.true_positive:g}, TN={costs.true_negative:g}"
    problems: list[str] = []
    reason: Reason | None = None
    if settings.max_expected_cost is not None and boot.estimate > settings.max_expected_cost:
        reason = Reason.ABOVE_BOUND
        problems.append(f"above the maximum {fmt(settings.max_expected_cost)} (quality.max_expected_cost)")
    compared, parts, costlier = _versus_baselines(y, candidate, baselines, settings=settings)
    if costlier:
        reason = reason or Reason.WORSE_THAN_BASELINE
        problems += costlier
    head = (
        f"expected cost per row of the candidate on the {len(y)} test rows is {boot.describe()} "
        f"at threshold {candidate.threshold:.3f} ({source}; {prices})"
    )
    versus = f"; vs {'; '.join(parts)}" if parts else ""
    limit = f"; maximum {fmt(settings.max_expected_cost)}" if settings.max_expected_cost is not None else ""
    if problems:
        message = f"{head}: {'; '.join(problems)}{versus}: lower the cost (model or threshold) before release"
    else:
        message = f"{head}{versus}{limit}"
    return CheckResult(
        check_id,
        LAYER,
        Status.FAIL if problems else Status.PASS,
        message,
        observed=boot.estimate,
        expected=settings.max_expected_cost,
        interval=boot.interval,
        details={
            "threshold": candidate.threshold,
            "threshold_source": candidate.threshold_source,
            "cost_matrix": costs.model_dump(),
            "bootstrap": boot.to_dict(),
            "baselines": compared,
            "judged_on": "estimate",
        },
        reason=reason,
    )


def run(evidence: Evidence) -> list[CheckResult]:
    """Every quality check of the candidate in ``evidence`` (one SKIPPED result when there is no candidate)."""
    if evidence.model is None:
        return [
            CheckResult(
                "quality.skipped",
                LAYER,
                Status.SKIPPED,
                "no candidate model in the evidence: the quality layer judges a trained model (run it after training)",
                reason=Reason.NO_CANDIDATE,
            )
        ]
    config, settings, model = evidence.config, evidence.config.quality, evidence.model
    y = evidence.split.y_test.to_numpy()
    candidate = Scored("candidate", np.asarray(model.proba_test), model.threshold, model.threshold_source)
    results = check_thresholds(y, candidate, settings=settings)
    if evidence.baselines is None:
        baselines: dict[str, Scored] = {}
        baseline_errors = [
            CheckResult(
                "quality.baseline",
                LAYER,
                Status.ERROR,
                "no baselines in the evidence: the gated run trains them (pipeline.candidate.train_baselines)",
                reason=Reason.CHECK_ERROR,
            )
        ]
    else:
        baselines, baseline_errors = scored_baselines(evidence.baselines)
    results.append(check_business_cost(y, candidate, baselines, settings=settings))
    groups = evaluation_groups(config, evidence.split.test)
    results += check_slices(y, candidate, groups, settings=settings, min_size=config.slices.min_size)
    results += check_baselines(y, candidate, baselines, settings=settings)
    results += baseline_errors
    features = evidence.split.test[evidence.prepared.features]
    results.append(check_champion(y, candidate, evidence.champion, features, settings=settings))
    results += quality_health.run(evidence)  # feature importance, finite outputs, loss vs prior
    return results
