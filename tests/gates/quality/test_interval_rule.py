"""The one verdict rule of the quality gate and the statistics behind it (simultaneous levels, resamples, MDE)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from mlgate.checks.quality_common import confirmed, judge
from mlgate.checks.result import Status
from mlgate.checks.stats import detectable_effect, simultaneous_confidence, tail_resamples

values = st.floats(-1.0, 1.0, allow_nan=False)


@pytest.mark.parametrize(
    ("estimate", "low", "high", "status"),
    [
        (0.75, 0.71, 0.80, Status.PASS),  # the whole interval meets the bound
        (0.72, 0.66, 0.78, Status.PASS),  # the estimate does: not confirmed, still a pass
        (0.70, 0.64, 0.76, Status.PASS),  # bounds are inclusive
        (0.68, 0.62, 0.74, Status.WARN),  # only the estimate is below: inconclusive
        (0.65, 0.60, 0.70, Status.WARN),  # the interval still reaches the bound
        (0.64, 0.58, 0.69, Status.FAIL),  # the whole interval is below: credible
    ],
)
def test_a_minimum_is_judged_by_the_whole_interval(estimate, low, high, status) -> None:
    assert judge(estimate, low, high, at_least=0.70) is status


def test_a_maximum_and_a_band_mirror_it() -> None:
    assert judge(0.55, 0.50, 0.62, at_most=0.60) is Status.PASS
    assert judge(0.62, 0.55, 0.70, at_most=0.60) is Status.WARN
    assert judge(0.70, 0.61, 0.80, at_most=0.60) is Status.FAIL
    assert judge(0.5, 0.45, 0.55, at_least=0.4, at_most=0.6) is Status.PASS
    assert judge(0.5, 0.45, 0.55, at_least=0.6, at_most=0.9) is Status.FAIL


@given(a=values, b=values, c=values, bound=values, minimum=st.booleans())
def test_noise_can_move_a_verdict_to_warn_never_across(
    a: float, b: float, c: float, bound: float, minimum: bool
) -> None:
    low, estimate, high = sorted((a, b, c))
    side = {"at_least": bound} if minimum else {"at_most": bound}
    status = judge(estimate, low, high, **side)
    wrong_estimate = estimate < bound if minimum else estimate > bound
    wrong_interval = high < bound if minimum else low > bound
    assert (status is Status.PASS) == (not wrong_estimate)  # a pass is a pass on the estimate, as before
    assert (status is Status.FAIL) == wrong_interval  # a fail needs the whole interval
    assert confirmed(low, high, **side) <= (status is Status.PASS)


def test_simultaneous_levels_and_the_resamples_they_need() -> None:
    assert simultaneous_confidence(0.95, 1) == 0.95
    assert simultaneous_confidence(0.95, 4) == pytest.approx(0.9875)
    assert tail_resamples(0.95) == 400
    assert tail_resamples(simultaneous_confidence(0.95, 8)) == 3200
    with pytest.raises(ValueError, match="k must be >= 1"):
        simultaneous_confidence(0.95, 0)
    with pytest.raises(ValueError, match="confidence must be in"):
        tail_resamples(1.0)


def test_the_detectable_effect_is_the_drop_the_rule_catches_with_that_power() -> None:
    assert detectable_effect(0.01, margin=0.0, confidence=0.95) == pytest.approx(0.0280, abs=1e-4)
    assert detectable_effect(0.01, margin=0.02, confidence=0.95, power=0.5) == pytest.approx(0.0396, abs=1e-4)
    # simulate: a true drop of the MDE, estimates normal around it, the rule "upper end below -margin"
    se, margin = 0.018, 0.0
    effect = detectable_effect(se, margin=margin, confidence=0.95)
    estimates = np.random.default_rng(0).normal(-effect, se, 200_000)
    caught = np.mean(estimates + stats.norm.ppf(0.975) * se < -margin)
    assert caught == pytest.approx(0.8, abs=0.01)
    assert np.isnan(detectable_effect(float("nan"), margin=0.0, confidence=0.95))
