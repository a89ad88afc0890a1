"""The monitor's quality checks (checks.monitor_quality, checks.monitor_estimate, the champion's age): known-good
and known-bad windows for live quality, estimated quality, calibration, numerics and latency."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from fixtures.monitor_traffic import Traffic, with_monitor

from mlgate.checks.monitor_estimate import calibration, expected_metric
from mlgate.checks.result import Reason, Status
from mlgate.pipeline.records import ChampionRecord

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # the judge fixture's "now"
LIVE = ["roc_auc", "log_loss", "expected_cost"]  # quality.thresholds of the bundled config + the cost


def _label_shift(y: np.ndarray, share: float, seed: int = 0) -> np.ndarray:
    """``share`` of the good applicants (label 1) reported bad through feedback."""
    labels = y.copy()
    good = np.flatnonzero(labels == 1)
    labels[np.random.default_rng(seed).choice(good, size=int(share * len(good)), replace=False)] = 0
    return labels


def test_live_quality_passes_on_the_held_out_rows_with_their_true_labels(served, judge) -> None:
    results = judge(served.traffic(labels=list(served.y)))
    for metric in LIVE:
        result = results[f"monitor.live_quality[{metric}]"]
        assert result.status is Status.PASS, result.message
        assert result.details["live"] == pytest.approx(result.details["offline"])
    assert (
        "live roc_auc 0.757 on 300 predictions with feedback vs 0.757 offline"
        in results["monitor.live_quality[roc_auc]"].message
    )


def test_a_label_shift_seen_through_feedback_fails_live_quality(served, judge) -> None:
    results = judge(served.traffic(labels=list(_label_shift(served.y, 0.4))))
    cost = results["monitor.live_quality[expected_cost]"]
    assert cost.status is Status.FAIL and cost.reason is Reason.WORSE_THAN_OFFLINE and cost.blocks
    assert "credibly worse than offline by more than the margin 0.05 (monitor.live_cost_margin)" in cost.message
    assert results["monitor.live_quality[log_loss]"].status is Status.FAIL
    assert cost.interval is not None and cost.interval.high < -0.05


def test_labels_given_as_text_are_read_against_the_positive_label(served, judge) -> None:
    results = judge(served.traffic(labels=[str(v) for v in served.y]))
    assert results["monitor.live_quality[roc_auc]"].status is Status.PASS


@pytest.mark.parametrize("labelled", [0, 40])
def test_too_little_feedback_is_too_small_to_judge_never_a_pass(served, judge, labelled: int) -> None:
    labels = [*served.y[:labelled], *([None] * (len(served.y) - labelled))]
    results = judge(served.traffic(labels=labels))
    for metric in LIVE:
        result = results[f"monitor.live_quality[{metric}]"]
        assert result.status is Status.SKIPPED
        assert result.reason is (Reason.NO_ROWS if labelled == 0 else Reason.TOO_SMALL)
        assert f"{labelled} predictions with feedback in the window, monitor.min_feedback = 100" in result.message
        assert "too small to judge, never a pass" in result.message


def test_feedback_of_one_class_only_skips_the_two_class_metrics(served, judge) -> None:
    config = with_monitor(served.config, min_feedback=20)
    good = served.y == 1
    traffic = Traffic(served.X[good], served.score(served.X[good]), labels=list(served.y[good]))
    results = judge(traffic, config=config)
    assert results["monitor.live_quality[roc_auc]"].status is Status.SKIPPED
    assert "one class only" in results["monitor.live_quality[roc_auc]"].message
    assert results["monitor.live_quality[expected_cost]"].status is not Status.SKIPPED


def test_an_unknown_live_metric_is_an_error_naming_the_key(served, judge) -> None:
    config = with_monitor(served.config, metrics=["roc_auc", "no_such_metric"])
    results = judge(served.traffic(labels=list(served.y)), config=config)
    result = results["monitor.live_quality[no_such_metric]"]
    assert result.status is Status.ERROR and result.reason is Reason.INVALID_CONFIG
    assert result.message.startswith("monitor.metrics:")


def test_a_nan_score_fails_numerics_naming_the_requests(served, judge) -> None:
    proba = served.score(served.X)
    proba[[5, 9]] = np.nan
    proba[11] = np.inf
    result = judge(Traffic(served.X, proba))["monitor.numerics"]
    assert result.status is Status.FAIL and result.reason is Reason.NON_FINITE
    assert "3 of 300 served scores are not finite probabilities (2 NaN, 1 ±inf" in result.message
    assert "req-5, req-9, req-11" in result.message
    assert judge(served.traffic())["monitor.numerics"].status is Status.PASS


def test_latency_over_its_budget_fails_and_within_it_passes(served, judge) -> None:
    config = with_monitor(served.config, latency_p50_ms=20.0, latency_p99_ms=50.0)
    slow = judge(served.traffic(latency_ms=[10.0] * 290 + [120.0] * 10), config=config)
    assert slow["monitor.latency[p50]"].status is Status.PASS
    p99 = slow["monitor.latency[p99]"]
    assert p99.status is Status.FAIL and p99.reason is Reason.ABOVE_BOUND
    assert "latency p99 120.0 ms over 300 predictions, above the budget 50 ms (monitor.latency_p99_ms)" in p99.message
    fast = judge(served.traffic(latency_ms=[10.0] * 300), config=config)
    assert fast["monitor.latency[p99]"].status is Status.PASS


def test_latency_without_a_budget_is_reported_not_judged(served, judge) -> None:
    result = judge(served.traffic())["monitor.latency[p99]"]
    assert result.status is Status.SKIPPED and result.reason is Reason.NOT_CONFIGURED
    assert result.observed == pytest.approx(5.0)


def test_the_latency_budget_recorded_in_the_reference_is_used_when_the_config_sets_none(served, judge) -> None:
    reference = dataclasses.replace(served.reference, latency_budget_ms={"p50": None, "p99": 8.0})
    result = judge(served.traffic(), reference=reference)["monitor.latency[p99]"]
    assert result.status is Status.PASS and "(recorded at registration)" in result.message


def test_estimated_quality_passes_on_clean_traffic_and_is_labelled_an_estimate(served, judge) -> None:
    results = judge(served.traffic())
    assert results["monitor.calibration"].status is Status.PASS, results["monitor.calibration"].message
    for metric in LIVE:
        result = results[f"monitor.estimated_quality[{metric}]"]
        assert result.status is Status.PASS, result.message
        assert result.message.startswith("ESTIMATE (no labels") and result.details["estimate"] is True
        assert not result.blocking


def test_estimated_quality_fails_without_blocking_when_the_scores_lose_their_confidence(served, judge) -> None:
    proba = 0.5 + 0.1 * (served.score(served.X) - 0.5)  # every score near 0.5: the model cannot tell
    results = judge(Traffic(served.X, proba))
    result = results["monitor.estimated_quality[roc_auc]"]
    assert result.status is Status.FAIL and result.reason is Reason.WORSE_THAN_OFFLINE
    assert not result.blocks and "ESTIMATE" in result.message


def test_an_uncalibrated_model_gets_no_estimates(served, judge) -> None:
    skewed = served.reference.test_proba**4  # far too low for the positives
    reference = dataclasses.replace(served.reference, test_proba=skewed)
    results = judge(served.traffic(), reference=reference)
    assert results["monitor.calibration"].status is Status.WARN
    assert results["monitor.calibration"].reason is Reason.UNCALIBRATED
    for metric in LIVE:
        result = results[f"monitor.estimated_quality[{metric}]"]
        assert result.status is Status.SKIPPED and result.reason is Reason.UNCALIBRATED


def test_the_expected_roc_auc_matches_labels_drawn_from_the_probabilities() -> None:
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(3)
    proba = np.round(rng.beta(2, 2, size=400), 2)  # ties included
    draws = [roc_auc_score(rng.random(400) < proba, proba) for _ in range(400)]
    estimate = expected_metric("roc_auc", proba, np.ones((1, 400)), threshold=0.5, costs=None)[0]
    assert estimate == pytest.approx(np.mean(draws), abs=0.005)


def test_calibration_tells_calibrated_from_miscalibrated_scores() -> None:
    rng = np.random.default_rng(4)
    proba = rng.uniform(0.05, 0.95, size=2000)
    y = (rng.random(2000) < proba).astype(int)
    assert calibration(y, proba)["p_value"] > 0.05
    assert calibration(y, proba**3)["p_value"] < 1e-6


def test_the_champions_age_is_judged_by_the_staleness_rule(served, judge) -> None:
    def champion(days: float) -> ChampionRecord:
        moment = NOW - timedelta(days=days)
        return ChampionRecord(name="german-credit", version="1", run_id="r", trained_at=moment, registered_at=moment)

    old = judge(served.traffic(), champion=champion(120))["monitor.champion_age"]
    assert old.status is Status.FAIL and old.reason is Reason.STALE and old.layer == "staleness"
    assert judge(served.traffic(), champion=champion(3))["monitor.champion_age"].status is Status.PASS
    missing = judge(served.traffic())["monitor.champion_age"]
    assert missing.status is Status.SKIPPED and missing.reason is Reason.NO_CHAMPION
