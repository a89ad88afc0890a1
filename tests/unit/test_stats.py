"""checks.stats: intervals, multiple-testing corrections and two-sample tests, against scipy and as properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from scipy import stats

from mlgate.checks.stats import (
    MISSING,
    adjust_pvalues,
    benjamini_hochberg,
    category_counts,
    chi2_homogeneity,
    holm,
    ks_two_sample,
    pool_sparse,
    sorted_quantiles,
    total_variation,
    wilson_interval,
)

p_values = st.lists(st.floats(0.0, 1.0, allow_nan=False), min_size=1, max_size=30)
counts = st.lists(st.integers(0, 400), min_size=1, max_size=12)


# ------------------------------------------------------------------------------------------ intervals
@pytest.mark.parametrize(("count", "n"), [(0, 10), (3, 10), (10, 10), (1, 1000), (517, 1000)])
def test_wilson_matches_scipy(count: int, n: int) -> None:
    low, high = wilson_interval(count, n, confidence=0.9)
    expected = stats.binomtest(count, n).proportion_ci(confidence_level=0.9, method="wilson")
    assert low == pytest.approx(expected.low, abs=1e-12)
    assert high == pytest.approx(expected.high, abs=1e-12)


def test_simultaneous_interval_is_bonferroni_and_wider() -> None:
    single = wilson_interval(30, 100, confidence=0.95)
    joint = wilson_interval(30, 100, confidence=0.95, simultaneous=4)
    bonferroni = stats.binomtest(30, 100).proportion_ci(confidence_level=1 - 0.05 / 4, method="wilson")
    assert joint[0] < single[0] and joint[1] > single[1]
    assert joint[0] == pytest.approx(bonferroni.low) and joint[1] == pytest.approx(bonferroni.high)


def test_wilson_of_no_rows_is_the_unit_interval() -> None:
    low, high = wilson_interval([0, 2], [0, 4])
    assert low[0] == 0.0 and high[0] == 1.0 and 0 < low[1] < 0.5 < high[1] < 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"count": 5, "n": 4}, "0 <= count <= n"),
        ({"count": -1, "n": 4}, "0 <= count <= n"),
        ({"count": 1, "n": 4, "confidence": 1.0}, "confidence must be in"),
        ({"count": 1, "n": 4, "simultaneous": 0}, "simultaneous must be >= 1"),
    ],
)
def test_wilson_rejects_bad_input(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        wilson_interval(**kwargs)


@given(n=st.integers(0, 10_000), data=st.data(), confidence=st.floats(0.5, 0.999), k=st.integers(1, 10))
def test_wilson_contains_the_estimate_and_stays_in_unit_interval(n, data, confidence, k) -> None:
    count = data.draw(st.integers(0, n))
    low, high = wilson_interval(count, n, confidence=confidence, simultaneous=k)
    assert 0.0 <= low <= high <= 1.0
    if n:
        assert low <= count / n <= high


# ------------------------------------------------------------------------------------ multiple testing
def test_holm_and_bh_known_values() -> None:
    raw = [0.01, 0.04, 0.03, 0.5]
    np.testing.assert_allclose(holm(raw), [0.04, 0.09, 0.09, 0.5])
    np.testing.assert_allclose(benjamini_hochberg(raw), [0.04, 0.16 / 3, 0.16 / 3, 0.5])
    np.testing.assert_allclose(adjust_pvalues(raw, method="none"), raw)


def test_corrections_keep_nan_and_reject_unknown_method() -> None:
    assert np.isnan(holm([0.01, np.nan])[1]) and holm([0.01, np.nan])[0] == pytest.approx(0.01)
    assert np.isnan(benjamini_hochberg([np.nan])).all()
    with pytest.raises(ValueError, match="unknown correction 'bonferroni'"):
        adjust_pvalues([0.1], method="bonferroni")  # type: ignore[arg-type]


@pytest.mark.parametrize("method", ["holm", "bh"])
@given(raw=p_values)
def test_adjusted_p_values_are_monotone_and_not_below_raw(method: str, raw: list[float]) -> None:
    adjusted = adjust_pvalues(raw, method=method)
    raw_arr = np.asarray(raw)
    assert np.all(adjusted >= raw_arr - 1e-12) and np.all(adjusted <= 1.0)
    order = np.argsort(raw_arr, kind="stable")
    assert np.all(np.diff(adjusted[order]) >= -1e-12)  # same order as the raw p-values


def test_holm_is_never_below_bh() -> None:
    raw = np.random.default_rng(3).uniform(size=40) ** 3
    assert np.all(holm(raw) >= benjamini_hochberg(raw) - 1e-12)


# --------------------------------------------------------------------------------------------- KS test
@pytest.mark.parametrize(("n1", "n2"), [(40, 25), (700, 300), (30_000, 12_000)])
def test_ks_matches_scipy(n1: int, n2: int) -> None:
    rng = np.random.default_rng(n1)
    ref, cur = rng.normal(size=n1), rng.normal(0.03, 1.0, size=n2)
    ours = ks_two_sample(ref, cur)
    theirs = stats.ks_2samp(ref, cur)
    assert ours.statistic == pytest.approx(theirs.statistic, abs=1e-12)
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-9)
    assert (ours.test, ours.effect_name, ours.n_reference, ours.n_current) == ("ks", "ks_d", n1, n2)


def test_ks_with_ties_matches_scipy() -> None:
    rng = np.random.default_rng(5)
    ref, cur = rng.integers(0, 20, 20_000).astype(float), rng.integers(0, 21, 15_000).astype(float)
    assert ks_two_sample(ref, cur).statistic == pytest.approx(stats.ks_2samp(ref, cur).statistic)


def test_ks_counts_a_change_in_the_missing_share() -> None:
    rng = np.random.default_rng(0)
    ref, cur = rng.normal(size=5000), rng.normal(size=5000)
    cur[:1000] = np.nan  # same values, 20% now missing
    result = ks_two_sample(ref, cur)
    assert result.effect >= 0.2 - 1e-9 and result.p_value < 1e-10
    assert result.extra["missing_share"] == {"reference": 0.0, "current": 0.2}
    assert not np.isnan(result.extra["quantiles"]["current"]).any()


def test_ks_quantiles_match_numpy() -> None:
    values = np.random.default_rng(1).exponential(size=999)
    q = np.linspace(0, 1, 21)
    np.testing.assert_allclose(sorted_quantiles(np.sort(values), q), np.quantile(values, q))
    assert np.isnan(sorted_quantiles(np.empty(0), q)).all()


def test_ks_rejects_empty_sample() -> None:
    with pytest.raises(ValueError, match="at least one row; got 0 and 3"):
        ks_two_sample([], [1.0, 2.0, 3.0])


finite = st.floats(-1e6, 1e6, allow_nan=False)


@given(values=st.lists(finite | st.just(float("nan")), min_size=1, max_size=300))
def test_identical_numeric_samples_are_never_different(values: list[float]) -> None:
    result = ks_two_sample(values, list(values))
    assert result.effect == 0.0 and result.p_value == 1.0


@given(ref=st.lists(finite, min_size=1, max_size=200), cur=st.lists(finite, min_size=1, max_size=200))
def test_ks_effect_is_in_unit_interval(ref: list[float], cur: list[float]) -> None:
    result = ks_two_sample(ref, cur)
    assert 0.0 <= result.effect <= 1.0 and 0.0 <= result.p_value <= 1.0


@given(n=st.integers(60, 3000), seed=st.integers(0, 2**32 - 1), scale=st.floats(0.1, 100.0))
def test_a_large_shift_is_always_significant(n: int, seed: int, scale: float) -> None:
    rng = np.random.default_rng(seed)
    ref = rng.normal(0.0, scale, size=n)
    cur = rng.normal(0.0, scale, size=n) + 100 * scale  # beyond every reference value
    result = ks_two_sample(ref, cur)
    assert result.effect == 1.0 and result.p_value < 1e-6


# ---------------------------------------------------------------------------------------- chi-square
def test_chi2_homogeneity_matches_scipy_on_a_dense_table() -> None:
    ref, cur = np.array([300, 200, 100]), np.array([80, 90, 30])
    ours = chi2_homogeneity(["a", "b", "c"], ref, cur)
    theirs = stats.chi2_contingency(np.vstack([ref, cur]), correction=False)
    assert ours.statistic == pytest.approx(theirs.statistic) and ours.p_value == pytest.approx(theirs.pvalue)
    assert ours.effect == pytest.approx(total_variation(ref, cur))
    assert ours.extra["shares"]["categories"] == ["a", "b", "c"] and not ours.extra["pooled"]


def test_homogeneity_is_not_goodness_of_fit() -> None:
    """A goodness-of-fit test treating the reference shares as exact gives a larger statistic."""
    ref, cur = np.array([60, 40]), np.array([48, 52])
    homogeneity = chi2_homogeneity(["a", "b"], ref, cur)
    gof = stats.chisquare(cur, f_exp=ref / ref.sum() * cur.sum())
    assert homogeneity.statistic < gof.statistic and homogeneity.p_value > gof.pvalue


def test_sparse_categories_are_pooled() -> None:
    # needed total per category: 5 * 1814 / 902 = 10.06; c and d (7 each) are pooled into 14
    names, ref, cur = pool_sparse(["a", "b", "c", "d"], [500, 400, 6, 6], [500, 400, 1, 1], min_expected=5)
    assert names == ["a", "b", "(other: 2 categories)"]
    assert ref.tolist() == [500, 400, 12] and cur.tolist() == [500, 400, 2]
    # a pooled bucket still too small joins the smallest kept category
    names, ref, cur = pool_sparse(["a", "b", "c"], [500, 400, 3], [50, 40, 1], min_expected=5)
    assert names == ["a", "b + c"] and ref.tolist() == [500, 403] and cur.tolist() == [50, 41]


def test_a_single_category_after_pooling_is_no_evidence() -> None:
    result = chi2_homogeneity(["a", "b"], [5, 0], [1, 1])
    assert result.p_value == 1.0 and result.statistic == 0.0


def test_category_counts_treat_missing_as_a_category() -> None:
    ref = pd.Series(["a", "b", None, "a"], dtype=object)
    cur = pd.Series(["a", np.nan, np.nan, "c"], dtype="str")
    names, ref_counts, cur_counts = category_counts(ref, cur)
    table = dict(zip(names, zip(ref_counts.tolist(), cur_counts.tolist(), strict=True), strict=True))
    assert table == {"a": (2, 1), MISSING: (1, 2), "b": (1, 0), "c": (0, 1)}
    names, _, cur_counts = category_counts(ref, pd.Series(["a", pd.NA], dtype="string"))
    assert dict(zip(names, cur_counts.tolist(), strict=True))[MISSING] == 1


@given(ref=counts, data=st.data())
def test_pooled_tables_have_expected_counts_of_at_least_five(ref: list[int], data) -> None:
    cur = data.draw(st.lists(st.integers(0, 400), min_size=len(ref), max_size=len(ref)))
    assume(sum(ref) > 0 and sum(cur) > 0)
    names, r, c = pool_sparse([str(i) for i in range(len(ref))], ref, cur, min_expected=5)
    assert r.sum() == sum(ref) and c.sum() == sum(cur)
    if len(names) >= 2:
        table = np.vstack([r, c]).astype(float)
        expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0) / table.sum()
        assert expected.min() >= 5 - 1e-9


@given(ref=counts, data=st.data())
def test_identical_categorical_samples_are_never_different(ref: list[int], data) -> None:
    assume(sum(ref) > 0)
    result = chi2_homogeneity([str(i) for i in range(len(ref))], ref, ref)
    assert result.effect == 0.0 and result.p_value == pytest.approx(1.0)


@given(ref=counts, data=st.data())
def test_tvd_is_in_unit_interval(ref: list[int], data) -> None:
    cur = data.draw(st.lists(st.integers(0, 400), min_size=len(ref), max_size=len(ref)))
    assume(sum(ref) > 0 and sum(cur) > 0)
    result = chi2_homogeneity([str(i) for i in range(len(ref))], ref, cur)
    assert 0.0 <= result.effect <= 1.0 and 0.0 <= result.p_value <= 1.0
    assert 0.0 <= total_variation(ref, cur) <= 1.0
