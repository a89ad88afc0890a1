"""Absolute metric bounds and the business cost, on small hand-made inputs with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError
from quality_helpers import settings

from mlgate.checks.quality import check_business_cost, check_thresholds
from mlgate.checks.quality_common import Scored
from mlgate.checks.result import Status
from mlgate.pipeline.config import MetricBound

# AUC of these scores is exactly 3/4: the 0.4 positive beats the 0.1 negative but not the 0.6 one.
Y = np.array([0, 0, 1, 1])
PROBA = np.array([0.1, 0.6, 0.4, 0.9])
SCORED = Scored("candidate", PROBA, 0.5, "fixed")


@pytest.mark.parametrize(
    ("bound", "status"),
    [({"min": 0.75}, Status.PASS), ({"min": 0.7500001}, Status.FAIL), ({"max": 0.75}, Status.PASS)],
)
def test_bound_exactly_at_the_estimate_passes(bound, status) -> None:
    (result,) = check_thresholds(Y, SCORED, settings=settings(thresholds={"roc_auc": bound}))
    assert result.id == "quality.metric[roc_auc]"
    assert result.status is status
    assert result.observed == 0.75


def test_metric_below_minimum_fails_naming_metric_bound_and_interval() -> None:
    (result,) = check_thresholds(Y, SCORED, settings=settings(thresholds={"roc_auc": {"min": 0.8}}))
    assert result.status is Status.FAIL
    assert result.message.startswith("roc_auc of the candidate on the 4 test rows is 0.750 (95% CI")
    assert "below the minimum 0.800 (quality.thresholds.roc_auc)" in result.message
    assert result.interval is not None and result.interval.low <= 0.75 <= result.interval.high


def test_loss_above_maximum_fails() -> None:
    (result,) = check_thresholds(Y, SCORED, settings=settings(thresholds={"log_loss": {"max": 0.3}}))
    assert result.status is Status.FAIL
    assert "above the maximum 0.300 (quality.thresholds.log_loss)" in result.message


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


def test_business_cost_at_maximum_passes_and_reports_threshold_source() -> None:
    result = check_business_cost(Y, SCORED, {}, settings=settings(cost_matrix=COSTS, max_expected_cost=1.5))
    assert result.status is Status.PASS
    assert result.observed == 1.5
    assert "at threshold 0.500 (fixed by quality.decision_threshold; costs FP=5, FN=1)" in result.message


def test_business_cost_above_maximum_fails() -> None:
    result = check_business_cost(Y, SCORED, {}, settings=settings(cost_matrix=COSTS, max_expected_cost=1.0))
    assert result.status is Status.FAIL
    assert "above the maximum 1.000 (quality.max_expected_cost)" in result.message


def test_business_cost_higher_than_a_baseline_fails() -> None:
    result = check_business_cost(Y, SCORED, {"majority_class": REJECT_ALL}, settings=settings(cost_matrix=COSTS))
    assert result.status is Status.FAIL
    assert "costlier than the majority_class baseline (0.500) by 1.000" in result.message
    assert result.details["baselines"]["majority_class"]["expected_cost"] == 0.5


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
