"""Absolute metric bounds and the business cost, on small hand-made inputs with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError
from quality_helpers import settings

from mlgate.checks.quality import check_business_cost, check_thresholds
from mlgate.checks.quality_common import Scored
from mlgate.checks.result import Reason, Status
from mlgate.pipeline.config import MetricBound

# AUC of these scores is exactly 3/4: the 0.4 positive beats the 0.1 negative but not the 0.6 one.
Y = np.array([0, 0, 1, 1])
PROBA = np.array([0.1, 0.6, 0.4, 0.9])
SCORED = Scored("candidate", PROBA, 0.5, "fixed")
# The same four rows 100 times over: the same estimates, an interval narrow enough to be credible.
Y400, SCORED400 = np.tile(Y, 100), Scored("candidate", np.tile(PROBA, 100), 0.5, "fixed")


@pytest.mark.parametrize(
    ("bound", "status"),
    [({"min": 0.75}, Status.PASS), ({"min": 0.7500001}, Status.WARN), ({"max": 0.75}, Status.PASS)],
)
def test_bound_exactly_at_the_estimate_passes_and_just_past_it_only_warns_on_four_rows(bound, status) -> None:
    (result,) = check_thresholds(Y, SCORED, settings=settings(thresholds={"roc_auc": bound}))
    assert result.id == "quality.metric[roc_auc]"
    assert result.status is status
    assert result.observed == 0.75
    assert result.details["judged_on"] == "interval" and result.details["verdict"] == status.value


def test_metric_credibly_below_minimum_fails_naming_metric_bound_interval_and_rule() -> None:
    (result,) = check_thresholds(Y400, SCORED400, settings=settings(thresholds={"roc_auc": {"min": 0.85}}))
    assert result.status is Status.FAIL
    assert result.reason is Reason.BELOW_BOUND
    assert result.message.startswith("roc_auc of the candidate on the 400 test rows is 0.750 (95% CI")
    assert "below the minimum 0.850 (quality.thresholds.roc_auc) credibly: the whole interval is beyond it" in (
        result.message
    )
    assert result.interval is not None and result.interval.low <= 0.75 <= result.interval.high < 0.85


def test_metric_below_minimum_on_four_rows_only_warns_as_inconclusive() -> None:
    (result,) = check_thresholds(Y, SCORED, settings=settings(thresholds={"roc_auc": {"min": 0.8}}))
    assert result.status is Status.WARN
    assert result.reason is Reason.BELOW_BOUND_POINT_ONLY
    assert "below the minimum 0.800 (quality.thresholds.roc_auc) on the estimate only" in result.message
    assert "inconclusive with 4 rows, not blocking" in result.message
    assert result.interval is not None and result.interval.high >= 0.8


def test_loss_credibly_above_maximum_fails_and_above_on_the_estimate_warns() -> None:
    (fail,) = check_thresholds(Y400, SCORED400, settings=settings(thresholds={"log_loss": {"max": 0.3}}))
    assert fail.status is Status.FAIL and fail.reason is Reason.ABOVE_BOUND
    assert "above the maximum 0.300 (quality.thresholds.log_loss) credibly" in fail.message
    (warn,) = check_thresholds(Y, SCORED, settings=settings(thresholds={"log_loss": {"max": 0.5}}))
    assert warn.status is Status.WARN and warn.reason is Reason.ABOVE_BOUND_POINT_ONLY


def test_a_pass_says_whether_the_whole_interval_confirms_it() -> None:
    (loose,) = check_thresholds(Y400, SCORED400, settings=settings(thresholds={"roc_auc": {"min": 0.6}}))
    assert loose.status is Status.PASS and loose.details["confirmed"] is True
    assert loose.message.endswith("at least 0.600 required (quality.thresholds.roc_auc); the whole interval meets it")
    (tight,) = check_thresholds(Y, SCORED, settings=settings(thresholds={"roc_auc": {"min": 0.7}}))
    assert tight.status is Status.PASS and tight.details["confirmed"] is False
    assert "met on the estimate, not confirmed with 4 rows" in tight.message


def test_unknown_metric_is_refused_by_the_config_and_an_error_if_it_gets_past() -> None:
    with pytest.raises(ValidationError, match="unknown metric 'rocauc'; did you mean 'roc_auc'"):
        settings(thresholds={"rocauc": {"min": 0.8}})
    # settings built without validation (an API caller): the gate still names the metric instead of crashing
    unchecked = settings().model_copy(update={"thresholds": {"rocauc": MetricBound(min=0.8)}})
    (result,) = check_thresholds(Y, SCORED, settings=unchecked)
    assert result.status is Status.ERROR
    assert "quality.thresholds.rocauc: unknown metric 'rocauc'" in result.message


def test_any_sklearn_metric_can_be_bounded() -> None:
    (result,) = check_thresholds(Y, SCORED, settings=settings(thresholds={"matthews_corrcoef": {"min": 0.0}}))
    assert result.status is Status.PASS
    assert result.observed == pytest.approx(0.0)  # decisions 0,1,0,1 vs labels 0,0,1,1


COSTS = {"false_positive": 5, "false_negative": 1}
# decisions at 0.5: [0, 1, 0, 1] -> one false positive (5) and one false negative (1): 6 / 4 = 1.5 per row
REJECT_ALL = Scored("majority_class", np.full(4, 0.5), 0.9, "validation")  # rejects all: 2 FN = 0.5 per row
REJECT_ALL400 = Scored("majority_class", np.full(400, 0.5), 0.9, "validation")


def test_business_cost_at_maximum_passes_and_reports_threshold_source() -> None:
    result = check_business_cost(Y, SCORED, {}, settings=settings(cost_matrix=COSTS, max_expected_cost=1.5))
    assert result.status is Status.PASS
    assert result.observed == 1.5
    assert "at threshold 0.500 (fixed by quality.decision_threshold; costs FP=5, FN=1)" in result.message


def test_business_cost_credibly_above_maximum_fails_and_on_four_rows_warns() -> None:
    costly = settings(cost_matrix=COSTS, max_expected_cost=1.0)
    fail = check_business_cost(Y400, SCORED400, {}, settings=costly)
    assert fail.status is Status.FAIL and fail.reason is Reason.ABOVE_BOUND
    assert "above the maximum 1.000, credibly (whole interval) (quality.max_expected_cost)" in fail.message
    warn = check_business_cost(Y, SCORED, {}, settings=costly)
    assert warn.status is Status.WARN and warn.reason is Reason.ABOVE_BOUND_POINT_ONLY
    assert "above the maximum 1.000, on the estimate only" in warn.message and "not blocking" in warn.message


def test_business_cost_credibly_higher_than_a_baseline_fails() -> None:
    result = check_business_cost(
        Y400, SCORED400, {"majority_class": REJECT_ALL400}, settings=settings(cost_matrix=COSTS)
    )
    assert result.status is Status.FAIL and result.reason is Reason.WORSE_THAN_BASELINE
    assert "costlier than the majority_class baseline (0.500) by 1.000, credibly (whole interval)" in result.message
    assert result.details["baselines"]["majority_class"]["expected_cost"] == 0.5
    assert result.details["baselines"]["majority_class"]["verdict"] == "fail"


def test_business_cost_margin_allows_a_costlier_candidate() -> None:
    allowed = settings(cost_matrix=COSTS, baseline_cost_margin=1.0)
    assert check_business_cost(Y, SCORED, {"majority_class": REJECT_ALL}, settings=allowed).status is Status.PASS


def test_business_cost_without_cost_matrix_is_skipped() -> None:
    result = check_business_cost(Y, SCORED, {}, settings=settings())
    assert result.status is Status.SKIPPED
    assert "no quality.cost_matrix" in result.message


def test_baseline_tolerance_is_range_checked_and_exclusive_with_a_margin() -> None:
    assert settings(baseline_tolerance=0.01).baseline_tolerance == 0.01
    with pytest.raises(ValidationError, match="must be at least 0 \\(got -0.01\\)"):
        settings(baseline_tolerance=-0.01)
    with pytest.raises(ValidationError, match="must be below 1, the width of roc_auc's range"):
        settings(baseline_tolerance=1.0)
    with pytest.raises(ValidationError, match="give quality.baseline_margin .* or baseline_tolerance .*, not both"):
        settings(baseline_margin=0.01, baseline_tolerance=0.01)


def test_cost_intervals_without_a_threshold_choice_are_the_plain_bootstrap() -> None:
    from mlgate.checks.bootstrap import bootstrap_metric, costs_with_threshold_choice, paired_difference
    from mlgate.pipeline.config import CostMatrix

    costs, kw = CostMatrix(**COSTS), {"resamples": 300, "confidence": 0.95, "random_state": 3}
    base = np.full(400, 0.5)
    (mine, theirs), (saving,) = costs_with_threshold_choice(
        Y400, [SCORED400.proba, base], [0.5, 0.9], costs=costs, validation=None, **kw
    )
    plain = bootstrap_metric("expected_cost", Y400, SCORED400.proba, threshold=0.5, costs=costs, **kw)
    paired = paired_difference(
        "expected_cost", Y400, SCORED400.proba, base, threshold_a=0.5, threshold_b=0.9, costs=costs, **kw
    )
    assert (mine.estimate, mine.low, mine.high) == pytest.approx((plain.estimate, plain.low, plain.high))
    assert (saving.estimate, saving.low, saving.high) == pytest.approx((paired.estimate, paired.low, paired.high))
    assert theirs.estimate == 0.5


RNG = np.random.default_rng(11)
Y_TEST, Y_VAL = RNG.integers(0, 2, 300), RNG.integers(0, 2, 40)
P_TEST = np.clip(0.5 + (Y_TEST - 0.5) * 0.4 + RNG.normal(scale=0.25, size=300), 0.01, 0.99)
P_VAL = np.clip(0.5 + (Y_VAL - 0.5) * 0.4 + RNG.normal(scale=0.25, size=40), 0.01, 0.99)


def _chosen(proba_val: np.ndarray, costs: dict[str, float]) -> float:
    from mlgate.pipeline.config import CostMatrix
    from mlgate.pipeline.evaluate import choose_threshold

    return choose_threshold(Y_VAL, proba_val, CostMatrix(**costs))


def test_a_threshold_chosen_on_few_rows_is_noise_the_cost_verdict_carries() -> None:
    """Two models that score the test rows alike and the 40 validation rows almost alike: their thresholds,
    chosen there, differ by luck (0.696 vs 0.681). On the test rows alone the candidate looks credibly costlier;
    choosing each threshold again on each resample of the validation rows shows that is the choice's noise."""
    p_val = np.clip(P_VAL + np.random.default_rng(34).normal(scale=0.05, size=40), 0.01, 0.99)
    candidate = Scored("candidate", P_TEST, _chosen(p_val, COSTS), "validation")
    baseline = {"logistic_regression": Scored("logistic_regression", P_TEST, _chosen(P_VAL, COSTS), "validation")}
    s = settings(cost_matrix=COSTS, bootstrap_resamples=400)
    fixed = check_business_cost(Y_TEST, candidate, baseline, settings=s)
    assert fixed.status is Status.FAIL and fixed.details["threshold_choice_resampled"] is False
    validation = (Y_VAL, {"candidate": p_val, "logistic_regression": P_VAL})
    rechosen = check_business_cost(Y_TEST, candidate, baseline, settings=s, validation=validation)
    assert rechosen.status is Status.WARN and rechosen.details["threshold_choice_resampled"] is True
    assert rechosen.observed == fixed.observed  # the estimate is the cost at the shipped threshold
    saving = rechosen.details["baselines"]["logistic_regression"]["saving"]
    assert saving["low"] < saving["estimate"] < 0 < saving["high"]


def test_a_truly_costlier_model_still_fails_when_the_threshold_choice_is_resampled() -> None:
    even = {"false_positive": 1, "false_negative": 1}
    blind_test, blind_val = np.random.default_rng(2).random(300), np.random.default_rng(3).random(40)  # know nothing
    candidate = Scored("candidate", blind_test, _chosen(blind_val, even), "validation")
    baseline = {"logistic_regression": Scored("logistic_regression", P_TEST, _chosen(P_VAL, even), "validation")}
    validation = (Y_VAL, {"candidate": blind_val, "logistic_regression": P_VAL})
    s = settings(cost_matrix=even, bootstrap_resamples=400)
    result = check_business_cost(Y_TEST, candidate, baseline, settings=s, validation=validation)
    assert result.status is Status.FAIL and result.reason is Reason.WORSE_THAN_BASELINE
    assert "costlier than the logistic_regression baseline (0.190) by 0.267, credibly" in result.message
