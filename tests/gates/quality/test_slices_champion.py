"""Per-group bounds and gaps, and the champion comparison, on synthetic inputs with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from quality_helpers import FixedModel, champion_with, noisy, settings

from mlgate.checks.quality_common import HeldOut, Scored
from mlgate.checks.quality_compare import check_baselines, check_champion
from mlgate.checks.quality_slices import check_slices, slice_bounds
from mlgate.checks.result import Reason, Status

RNG = np.random.default_rng(0)
Y = RNG.integers(0, 2, 120)
GOOD = np.clip(0.5 + (Y - 0.5) * 0.6 + RNG.normal(scale=0.2, size=120), 0.01, 0.99)  # ranks well
GROUPS = {"sex": pd.Series(["female"] * 60 + ["male"] * 60)}


def scored(proba: np.ndarray) -> Scored:
    return Scored("candidate", proba, 0.5, "fixed")


def test_slice_bounds_most_specific_key_wins() -> None:
    s = settings(
        thresholds={"roc_auc": {"min": 0.7}, "log_loss": {"max": 0.6}},
        slice_thresholds={"*": {"roc_auc": {"min": 0.6}}, "sex": {"roc_auc": {"min": 0.65}}, "sex=female": {}},
    )
    assert slice_bounds(s, "sex", "female")["roc_auc"].min == 0.65
    assert slice_bounds(s, "age", "18-24")["roc_auc"].min == 0.6
    assert slice_bounds(s, "age", "18-24")["log_loss"].max == 0.6


def test_group_the_model_ignores_fails_and_the_other_passes() -> None:
    proba = GOOD.copy()
    proba[:60] = 0.5  # every woman gets the same score
    s = settings(thresholds={"roc_auc": {"min": 0.7}}, max_group_gap={"roc_auc": 0.1})
    results = {r.id: r for r in check_slices(Y, scored(proba), GROUPS, settings=s, min_size=30)}
    female = results["quality.slice_metric[sex=female][roc_auc]"]
    assert female.status is Status.FAIL and female.slice == "sex=female" and female.reason is Reason.BELOW_BOUND
    assert "slice sex=female: roc_auc is 0.500 (97.5% CI 0.500 to 0.500)" in female.message
    assert "the interval holds jointly for the 2 groups of sex judged" in female.message
    assert "below the minimum 0.700 (quality.thresholds / quality.slice_thresholds) credibly" in female.message
    assert female.details["simultaneous_over"] == 2 and female.details["interval_confidence"] == 0.975
    assert results["quality.slice_metric[sex=male][roc_auc]"].status is Status.PASS
    gap = results["quality.group_gap[sex][roc_auc]"]
    assert gap.status is Status.FAIL and gap.reason is Reason.GROUP_GAP
    assert "worst group sex=female (0.500) trails the best sex=male" in gap.message
    assert "more than the 0.100 allowed (quality.max_group_gap.roc_auc) credibly" in gap.message
    assert gap.interval is not None and gap.interval.low > 0.1


def test_group_below_its_bound_on_the_estimate_only_warns() -> None:
    rng = np.random.default_rng(5)
    proba = GOOD.copy()
    proba[:60] = np.clip(0.5 + (Y[:60] - 0.5) * 0.1 + rng.normal(scale=0.2, size=60), 0.01, 0.99)  # weak ranking
    s = settings(thresholds={"roc_auc": {"min": 0.7}}, max_group_gap={"roc_auc": 0.2})
    results = {r.id: r for r in check_slices(Y, scored(proba), GROUPS, settings=s, min_size=30)}
    female = results["quality.slice_metric[sex=female][roc_auc]"]
    assert female.status is Status.WARN and female.reason is Reason.BELOW_BOUND_POINT_ONLY
    assert female.observed < 0.7 <= female.interval.high
    assert "on the estimate only, the interval reaches it: inconclusive with 60 rows, not blocking" in female.message
    gap = results["quality.group_gap[sex][roc_auc]"]
    assert gap.status is Status.WARN and gap.observed > 0.2 >= gap.interval.low


def test_gap_interval_comes_from_the_simultaneous_group_intervals() -> None:
    s = settings(thresholds={"roc_auc": {"min": 0.5}}, max_group_gap={"roc_auc": 0.3})
    results = {r.id: r for r in check_slices(Y, scored(GOOD), GROUPS, settings=s, min_size=30)}
    gap = results["quality.group_gap[sex][roc_auc]"]
    female, male = (results[f"quality.slice_metric[sex={g}][roc_auc]"].interval for g in ("female", "male"))
    assert gap.status is Status.PASS
    assert gap.interval.high == pytest.approx(max(female.high, male.high) - min(female.low, male.low))
    assert gap.interval.low == pytest.approx(max(0.0, max(female.low, male.low) - min(female.high, male.high)))
    assert gap.interval.low <= gap.observed <= gap.interval.high


def test_small_and_single_class_groups_are_skipped_and_left_out_of_gaps() -> None:
    groups = {"purpose": pd.Series(["car"] * 100 + ["repairs"] * 12 + ["mono"] * 8)}
    y = Y.copy()
    y[100:112] = [0, 1] * 6  # repairs: 12 rows of both classes, large enough for min_size=10
    s = settings(thresholds={"roc_auc": {"min": 0.5}}, max_group_gap={"roc_auc": 0.3})
    results = {r.id: r for r in check_slices(y, scored(GOOD), groups, settings=s, min_size=10)}
    repairs = results["quality.slice_metric[purpose=repairs][roc_auc]"]
    mono = results["quality.slice_metric[purpose=mono][roc_auc]"]
    assert repairs.status is not Status.SKIPPED and repairs.details["n"] == 12  # judged, not skipped
    assert repairs.details["simultaneous_over"] == 2  # car and repairs: mono is too small to count
    assert mono.status is Status.SKIPPED
    assert mono.message == "slice purpose=mono: too small to judge (n=8 < 10, slices.min_size)"
    assert "mono" in results["quality.group_gap[purpose][roc_auc]"].details["skipped_groups"]

    y_one_class = y.copy()
    y_one_class[100:112] = 1
    one = {r.id: r for r in check_slices(y_one_class, scored(GOOD), groups, settings=s, min_size=10)}
    skipped = one["quality.slice_metric[purpose=repairs][roc_auc]"]
    assert skipped.status is Status.SKIPPED
    assert "one class only (12 positives of n=12), roc_auc is undefined" in skipped.message


def test_gap_needs_two_groups_large_enough() -> None:
    s = settings(max_group_gap={"roc_auc": 0.1})
    (gap,) = check_slices(Y, scored(GOOD), GROUPS, settings=s, min_size=61)
    assert gap.status is Status.SKIPPED
    assert "fewer than two groups large enough to compare roc_auc (0 of 2" in gap.message


def test_unknown_slice_threshold_key_warns() -> None:
    s = settings(slice_thresholds={"sexx": {"roc_auc": {"min": 0.6}}})
    (warn,) = check_slices(Y, scored(GOOD), GROUPS, settings=s, min_size=30)
    assert warn.status is Status.WARN and "key 'sexx' names no slice column or group" in warn.message


FEATURES = pd.DataFrame({"x": np.zeros(120)})


def held(proba: np.ndarray, y: np.ndarray = Y, features: pd.DataFrame = FEATURES) -> HeldOut:
    return HeldOut(y, scored(proba), features, f"the same {len(y)} test rows", len(y))


def test_baseline_margin_boundary() -> None:
    same = {"logistic_regression": scored(GOOD)}
    (even,) = check_baselines(held(GOOD), same, settings=settings(baseline_margin=0.0))
    assert even.status is Status.PASS and even.observed == 0.0
    (short,) = check_baselines(held(GOOD), same, settings=settings(baseline_margin=0.01))
    assert short.status is Status.FAIL and short.reason is Reason.WORSE_THAN_BASELINE  # identical: a zero-width CI
    assert "less than the +0.010 required (quality.baseline_margin) credibly" in short.message


def test_baseline_tolerance_lets_a_candidate_trail_within_noise_but_not_credibly_beyond() -> None:
    base = {"logistic_regression": scored(GOOD)}
    slightly = noisy(GOOD, scale=0.3, random_state=0)
    (within,) = check_baselines(held(slightly), base, settings=settings(baseline_tolerance=0.05))
    assert within.status is Status.PASS, within.message
    assert "at least -0.050 required (quality.baseline_tolerance)" in within.message
    (strict,) = check_baselines(held(noisy(GOOD, scale=0.3, random_state=3)), base, settings=settings())
    assert strict.status is Status.WARN and strict.observed < 0 <= strict.interval.high
    assert "on the estimate only" in strict.message and "not blocking" in strict.message
    (much,) = check_baselines(held(noisy(GOOD, scale=3.0, random_state=0)), base, settings=settings())
    assert much.status is Status.FAIL and much.interval.high < 0
    assert "the simpler logistic_regression model does as well" in much.message


def test_no_champion_passes_with_reason() -> None:
    result = check_champion(held(GOOD), None, settings=settings())
    assert result.status is Status.PASS and result.message == "no champion yet: nothing to compare"


def test_champion_credibly_better_by_more_than_margin_fails() -> None:
    worse = noisy(GOOD, scale=3.0, random_state=0)
    result = check_champion(held(worse), champion_with(FixedModel(GOOD)), settings=settings())
    assert result.status is Status.FAIL and result.reason is Reason.WORSE_THAN_CHAMPION
    assert "credibly worse than the champion by more than the margin" in result.message
    assert result.interval is not None and result.interval.high < -0.02
    assert "this comparison detects a drop of" in result.message


def test_slightly_worse_within_noise_passes_and_states_what_it_could_detect() -> None:
    slightly = noisy(GOOD, scale=0.3, random_state=0)
    result = check_champion(held(slightly), champion_with(FixedModel(GOOD)), settings=settings())
    assert result.status is Status.PASS, result.message
    assert "at least -0.020 required (quality.champion_margin)" in result.message
    mde = result.details["minimum_detectable_effect"]
    assert mde["power"] == 0.8 and mde["margin"] == 0.02
    assert mde["effect"] == pytest.approx(0.02 + 2.8016 * mde["se"], rel=1e-3)
    assert f"this comparison detects a drop of {mde['effect']:.3f} roc_auc with 80% power" in result.message


def test_worse_than_the_margin_on_the_estimate_only_warns() -> None:
    worse = noisy(GOOD, scale=0.3, random_state=3)
    result = check_champion(held(worse), champion_with(FixedModel(GOOD)), settings=settings(champion_margin=0.0))
    assert result.status is Status.WARN, result.message
    assert result.observed < 0 <= result.interval.high
    assert "on the estimate only" in result.message and "inconclusive with 120 rows, not blocking" in result.message


def test_identical_scores_have_no_detectable_effect_to_report() -> None:
    result = check_champion(held(GOOD), champion_with(FixedModel(GOOD)), settings=settings())
    assert result.status is Status.PASS and result.details["minimum_detectable_effect"]["effect"] is None
    assert "the two models score these rows alike in every resample" in result.message


def test_champion_without_model_or_unable_to_score_is_an_error() -> None:
    missing = check_champion(held(GOOD), champion_with(None), settings=settings())
    assert missing.status is Status.ERROR and "champion german-credit v7 could not score" in missing.message
    assert "its model was not loaded from the registry" in missing.message
    wrong_rows = check_champion(held(GOOD), champion_with(FixedModel(GOOD[:5])), settings=settings())
    assert wrong_rows.status is Status.ERROR and "cannot compare" in wrong_rows.message


def test_champion_threshold_comes_from_its_tag() -> None:
    s = settings(champion_metric="accuracy")
    result = check_champion(held(GOOD), champion_with(FixedModel(GOOD), **{"mlgate.threshold": "0.3"}), settings=s)
    assert result.details["champion_threshold"] == 0.3
    assert result.details["champion_threshold_source"] == "champion tag 'mlgate.threshold'"


@given(
    y=st.lists(st.integers(0, 1), min_size=4, max_size=80).filter(lambda v: 0 < sum(v) < len(v)),
    seed=st.integers(0, 2**16),
    metric=st.sampled_from(["roc_auc", "log_loss", "accuracy", "f1"]),
)
def test_candidate_identical_to_champion_is_never_judged_worse(y: list[int], seed: int, metric: str) -> None:
    proba = np.random.default_rng(seed).random(len(y))
    features = pd.DataFrame({"x": np.zeros(len(y))})
    s = settings(champion_metric=metric, champion_margin=0.0, random_state=seed)
    result = check_champion(held(proba, np.array(y), features), champion_with(FixedModel(proba)), settings=s)
    assert result.status is Status.PASS
    assert result.observed == 0.0
