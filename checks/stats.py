"""Statistics helpers for the data gates, vectorised on numpy and scipy (no per-row Python).

* :func:`wilson_interval` — Wilson score intervals for proportions, optionally simultaneous (Bonferroni)
  across the ``k`` groups of one attribute.
* :func:`adjust_pvalues` — Holm (family-wise error) or Benjamini–Hochberg (false discovery rate) adjusted
  p-values across the features of one comparison.
* :func:`ks_two_sample` — two-sample Kolmogorov–Smirnov test for a numeric feature; effect = the statistic D.
* :func:`chi2_homogeneity` — chi-square test of homogeneity on the 2×k table of a categorical feature
  (both samples random), sparse categories pooled until every expected count is >= 5; effect = total
  variation distance.
* :func:`simultaneous_confidence`, :func:`tail_resamples`, :func:`detectable_effect` — what the quality gate's
  interval verdicts need: Bonferroni levels for the groups of one column, enough bootstrap resamples for a
  percentile at that level, and the smallest shortfall a verdict detects with a given power.

Missing values: a categorical feature counts missing as its own category (:data:`MISSING`). A numeric
feature sorts missing values after every value (as ``+inf``): a feature with no missing values is tested
exactly as usual, and a change in the missing share alone moves the empirical CDFs apart at the top, so
``D >= |missing share(reference) - missing share(current)|``. The tie this creates only makes the KS test
conservative, so the false-alarm bound still holds. The missing shares are also returned for the message.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from mlgate.checks.result import Status

__all__ = [
    "MISSING",
    "TwoSampleTest",
    "adjust_pvalues",
    "benjamini_hochberg",
    "category_counts",
    "chi2_homogeneity",
    "detectable_effect",
    "holm",
    "judge",
    "ks_two_sample",
    "numeric_values",
    "pool_sparse",
    "simultaneous_confidence",
    "sorted_quantiles",
    "tail_resamples",
    "total_variation",
    "wilson_interval",
]

MISSING = "(missing)"
Correction = Literal["holm", "bh", "none"]
ArrayLike = npt.ArrayLike
KS_QUANTILES = np.round(np.linspace(0.0, 1.0, 21), 6)  # the levels a KS result shows: 0, 0.05, ..., 1
EXACT_KS_MAX_N = 10_000  # scipy's own switch from the exact to the asymptotic KS distribution


# ----------------------------------------------------------------------------------------------- intervals
def wilson_interval(
    count: ArrayLike, n: ArrayLike, *, confidence: float = 0.95, simultaneous: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval(s) for ``count`` successes out of ``n``; arrays broadcast.

    ``simultaneous=k`` gives Bonferroni intervals (each at ``1 - (1 - confidence) / k``) that hold jointly
    for ``k`` proportions at ``confidence``. ``n == 0`` gives ``[0, 1]``. The bounds always lie in [0, 1]
    and contain ``count / n``.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1); got {confidence}")
    if simultaneous < 1:
        raise ValueError(f"simultaneous must be >= 1; got {simultaneous}")
    count_arr = np.asarray(count, dtype=np.float64)
    n_arr = np.asarray(n, dtype=np.float64)
    if np.any(count_arr < 0) or np.any(count_arr > n_arr):
        raise ValueError("every count must satisfy 0 <= count <= n")
    z = stats.norm.isf((1.0 - confidence) / simultaneous / 2.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = count_arr / n_arr
        z2n = z * z / n_arr
        denominator = 1.0 + z2n
        centre = (share + z2n / 2.0) / denominator
        half = z * np.sqrt(share * (1.0 - share) / n_arr + z2n / (4.0 * n_arr)) / denominator
        low = np.clip(np.minimum(centre - half, share), 0.0, 1.0)
        high = np.clip(np.maximum(centre + half, share), 0.0, 1.0)
    empty = n_arr == 0
    return np.where(empty, 0.0, low), np.where(empty, 1.0, high)


def simultaneous_confidence(confidence: float, k: int) -> float:
    """Bonferroni: the confidence of each of ``k`` intervals that hold jointly with at least ``confidence``."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1); got {confidence}")
    if k < 1:
        raise ValueError(f"k must be >= 1; got {k}")
    return 1.0 - (1.0 - confidence) / k


def tail_resamples(confidence: float, *, per_tail: int = 10) -> int:
    """Bootstrap resamples for a percentile interval at ``confidence`` with ``per_tail`` draws beyond each end.

    A 95% interval needs 400; a 99.4% one (95% simultaneous over 8 groups) 3,200: with fewer, the end of the
    interval is one or two extreme draws.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1); got {confidence}")
    return math.ceil(2 * per_tail / (1.0 - confidence) - 1e-9)


def detectable_effect(se: float, *, margin: float, confidence: float, power: float = 0.8) -> float:
    """The smallest true shortfall that a whole-interval verdict detects with probability ``power``.

    A verdict fails when the two-sided ``confidence`` interval of a difference lies wholly beyond ``-margin``.
    With the estimate roughly normal with standard error ``se`` around a true shortfall ``d``, that happens
    with probability ``Phi((d - margin) / se - z)``, ``z`` the interval's normal quantile; solving for
    ``power`` gives ``margin + (z + z_power) * se`` (the usual minimum detectable effect). NaN when ``se`` is.
    """
    if not 0.0 < confidence < 1.0 or not 0.0 < power < 1.0:
        raise ValueError(f"confidence and power must be in (0, 1); got {confidence} and {power}")
    z = float(stats.norm.ppf(0.5 + confidence / 2.0))
    return float(margin + (z + float(stats.norm.ppf(power))) * se)


# ------------------------------------------------------------------------------------ multiple testing
def holm(p_values: ArrayLike) -> np.ndarray:
    """Holm step-down adjusted p-values (family-wise error control under any dependence); NaN stays NaN."""
    p = np.asarray(p_values, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    finite = ~np.isnan(p)
    m = int(finite.sum())
    if m == 0:
        return out
    values = p[finite]
    order = np.argsort(values, kind="stable")
    scaled = (m - np.arange(m)) * values[order]
    adjusted_sorted = np.minimum(np.maximum.accumulate(scaled), 1.0)
    adjusted = np.empty(m)
    adjusted[order] = adjusted_sorted
    out[finite] = adjusted
    return out


def benjamini_hochberg(p_values: ArrayLike) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (``scipy.stats.false_discovery_control``); NaN stays NaN."""
    p = np.asarray(p_values, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    finite = ~np.isnan(p)
    if finite.any():
        out[finite] = stats.false_discovery_control(p[finite], method="bh")
    return out


def adjust_pvalues(p_values: ArrayLike, *, method: Correction) -> np.ndarray:
    """Adjusted p-values for one family of tests: ``"holm"``, ``"bh"`` or ``"none"`` (a copy)."""
    if method == "holm":
        return holm(p_values)
    if method == "bh":
        return benjamini_hochberg(p_values)
    if method == "none":
        return np.asarray(p_values, dtype=np.float64).copy()
    raise ValueError(f"unknown correction {method!r}; expected 'holm', 'bh' or 'none'")


# ------------------------------------------------------------------------------------ two-sample tests
@dataclass(frozen=True)
class TwoSampleTest:
    """The outcome of one two-sample test plus what a report needs to plot it."""

    test: Literal["ks", "chi2"]
    statistic: float
    p_value: float
    effect: float
    effect_name: Literal["ks_d", "tvd"]
    n_reference: int
    n_current: int
    extra: dict[str, Any] = field(default_factory=dict)


def numeric_values(column: pd.Series) -> np.ndarray:
    """A numeric column as float64 with missing values as NaN."""
    values: np.ndarray = column.to_numpy(dtype=np.float64, na_value=np.nan)
    return values


def sorted_quantiles(sorted_values: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Linear-interpolation quantiles (numpy's default) of an already sorted array, in O(len(q))."""
    n = len(sorted_values)
    if n == 0:
        return np.full(len(q), np.nan)
    position = q * (n - 1)
    below = np.floor(position).astype(np.int64)
    above = np.minimum(below + 1, n - 1)
    weight = position - below
    quantiles: np.ndarray = sorted_values[below] * (1.0 - weight) + sorted_values[above] * weight
    return quantiles


def _sort_missing_last(values: np.ndarray) -> tuple[np.ndarray, int]:
    n_missing = int(np.count_nonzero(np.isnan(values)))
    ordered = np.sort(values)  # NaN sorts last
    if n_missing:
        ordered[len(ordered) - n_missing :] = np.inf
    return ordered, n_missing


def _ks_statistic(reference: np.ndarray, current: np.ndarray) -> float:
    """sup |F_ref - F_cur| for two sorted arrays: one timsort merge of two runs (O(n)), then cumsums."""
    n1, n2 = len(reference), len(current)
    pooled = np.concatenate([reference, current])
    order = np.argsort(pooled, kind="stable")
    pooled = pooled[order]
    count_ref = np.cumsum(order < n1)
    count_cur = np.arange(1, n1 + n2 + 1) - count_ref
    run_end = np.empty(n1 + n2, dtype=bool)  # evaluate the ECDFs after the last of each run of ties
    run_end[:-1] = pooled[1:] != pooled[:-1]
    run_end[-1] = True
    return float(np.max(np.abs(count_ref[run_end] / n1 - count_cur[run_end] / n2)))


def ks_two_sample(reference: ArrayLike, current: ArrayLike, *, quantiles: int = 21) -> TwoSampleTest:
    """Two-sample Kolmogorov–Smirnov test; missing values (NaN) sort last (see the module docstring).

    Up to 10,000 rows per sample the p-value is scipy's exact one (``ks_2samp``); above, D is computed
    here on the sorted samples and the p-value is Smirnov's asymptotic ``scipy.stats.kstwo`` — the same
    formula ``ks_2samp`` uses at that size, without its second pass over the data. ``extra`` carries
    ``quantiles`` of the non-missing values and the missing shares.
    """
    ref_sorted, ref_missing = _sort_missing_last(np.asarray(reference, dtype=np.float64))
    cur_sorted, cur_missing = _sort_missing_last(np.asarray(current, dtype=np.float64))
    n1, n2 = len(ref_sorted), len(cur_sorted)
    if n1 == 0 or n2 == 0:
        raise ValueError(f"both samples need at least one row; got {n1} and {n2}")
    if max(n1, n2) <= EXACT_KS_MAX_N:
        with warnings.catch_warnings():  # scipy falls back to the asymptotic p-value and says so
            warnings.filterwarnings("ignore", message=".*[Ee]xact.*", category=RuntimeWarning)
            result = stats.ks_2samp(ref_sorted, cur_sorted)
        statistic, p_value = float(result.statistic), float(result.pvalue)
    else:
        statistic = _ks_statistic(ref_sorted, cur_sorted)
        p_value = ks_asymptotic_p(statistic, n1, n2)
    q = KS_QUANTILES if quantiles == 21 else np.round(np.linspace(0.0, 1.0, quantiles), 6)
    extra = ks_extra(
        q.tolist(),
        sorted_quantiles(ref_sorted[: n1 - ref_missing], q).tolist(),
        sorted_quantiles(cur_sorted[: n2 - cur_missing], q).tolist(),
        (ref_missing / n1, cur_missing / n2),
    )
    return TwoSampleTest("ks", statistic, p_value, statistic, "ks_d", n1, n2, extra)


def ks_asymptotic_p(statistic: float, n1: int, n2: int) -> float:
    """Smirnov's asymptotic p-value of a two-sample KS statistic (``scipy.stats.kstwo``, as ``ks_2samp`` uses it
    above :data:`EXACT_KS_MAX_N` rows): the large-sample branch of :func:`ks_two_sample`, and the Spark engine's."""
    return float(np.clip(stats.kstwo.sf(statistic, round(n1 * n2 / (n1 + n2))), 0.0, 1.0))


def ks_extra(q: list[float], reference: list[float], current: list[float], missing: tuple[float, float]) -> dict:  # type: ignore[type-arg]
    """A KS result's ``extra``: quantiles ``q`` of both samples' non-missing values, and their missing shares."""
    return {"quantiles": {"q": q, "reference": reference, "current": current},
            "missing_share": {"reference": missing[0], "current": missing[1]}}  # fmt: skip


def total_variation(reference_counts: ArrayLike, current_counts: ArrayLike) -> float:
    """Total variation distance ½·Σ|p_i − q_i| between two count vectors' distributions, in [0, 1]."""
    ref = np.asarray(reference_counts, dtype=np.float64)
    cur = np.asarray(current_counts, dtype=np.float64)
    if ref.sum() == 0 or cur.sum() == 0:
        return 0.0
    return float(min(1.0, 0.5 * np.abs(ref / ref.sum() - cur / cur.sum()).sum()))


def category_counts(
    reference: pd.Series | Mapping[str, int], current: pd.Series
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Counts of every category (missing as :data:`MISSING`) in both samples, aligned, most frequent first.

    Categories are compared by their text, so ``1`` and ``"1"`` (or ``None`` and ``NaN``) are one category.
    ``reference`` may also be its count table already (category text -> count, missing as :data:`MISSING`).
    """
    ref = dict(reference) if isinstance(reference, Mapping) else _labelled_counts(reference)
    return aligned_counts(ref, _labelled_counts(current))


def aligned_counts(ref: Mapping[str, int], cur: Mapping[str, int]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """:func:`category_counts` from both samples' count tables (category text -> count, missing as
    :data:`MISSING`): the categories of either, most frequent in both first (ties in first-seen order)."""
    names = list(dict.fromkeys([*ref, *cur]))
    ref_counts = np.array([ref.get(name, 0) for name in names], dtype=np.int64)
    cur_counts = np.array([cur.get(name, 0) for name in names], dtype=np.int64)
    order = np.argsort(-(ref_counts + cur_counts), kind="stable")
    return [names[i] for i in order], ref_counts[order], cur_counts[order]


def _labelled_counts(column: pd.Series) -> dict[str, int]:
    counts = column.value_counts(dropna=False, sort=False)  # fast on Arrow strings and categoricals
    labelled: dict[str, int] = {}
    for value, count in zip(counts.index.tolist(), counts.to_numpy().tolist(), strict=True):
        if count:
            key = MISSING if _is_na(value) else str(value)
            labelled[key] = labelled.get(key, 0) + count
    return labelled


def _is_na(value: object) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def pool_sparse(
    categories: Sequence[str], reference_counts: ArrayLike, current_counts: ArrayLike, *, min_expected: float
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Pool categories whose expected count in the 2×k table would fall below ``min_expected``.

    The smallest expected count of a category is ``total_j * min(n_ref, n_cur) / N``; categories below are
    merged into one ``(other: ...)`` bucket, and a bucket still too small is merged into the smallest kept
    category. May return a single category, in which case no test is possible.
    """
    ref = np.asarray(reference_counts, dtype=np.int64)
    cur = np.asarray(current_counts, dtype=np.int64)
    totals = ref + cur
    n_small = min(int(ref.sum()), int(cur.sum()))
    if n_small == 0:
        return list(categories), ref, cur
    needed = min_expected * int(totals.sum()) / n_small
    keep = totals >= needed
    if keep.all():
        return list(categories), ref, cur
    names = [c for c, k in zip(categories, keep, strict=True) if k]
    pooled_names = [c for c, k in zip(categories, keep, strict=True) if not k]
    pooled_ref, pooled_cur = int(ref[~keep].sum()), int(cur[~keep].sum())
    ref, cur = ref[keep], cur[keep]
    if pooled_ref + pooled_cur >= needed or len(names) == 0:
        return [*names, _pooled_label(pooled_names)], np.append(ref, pooled_ref), np.append(cur, pooled_cur)
    smallest = int(np.argmin(ref + cur))
    ref[smallest] += pooled_ref
    cur[smallest] += pooled_cur
    names[smallest] = f"{names[smallest]} + {_pooled_label(pooled_names)}"
    return names, ref, cur


def _pooled_label(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"(other: {len(names)} categories)"


def chi2_homogeneity(
    categories: Sequence[str],
    reference_counts: ArrayLike,
    current_counts: ArrayLike,
    *,
    min_expected: float = 5.0,
) -> TwoSampleTest:
    """Chi-square test of homogeneity of the 2×k table (both samples random), after :func:`pool_sparse`.

    Not a goodness-of-fit test: the reference counts are a sample too, so their noise is in the variance.
    No continuity correction. Fewer than two categories after pooling: statistic 0 and p = 1 (nothing to
    compare). Effect = total variation distance on the pooled table (the table that was tested).
    """
    names, ref, cur = pool_sparse(categories, reference_counts, current_counts, min_expected=min_expected)
    n1, n2 = int(ref.sum()), int(cur.sum())
    if n1 == 0 or n2 == 0:
        raise ValueError(f"both samples need at least one row; got {n1} and {n2}")
    if len(names) < 2:
        statistic, p_value, dof = 0.0, 1.0, 0
    else:
        result = stats.chi2_contingency(np.vstack([ref, cur]), correction=False)
        statistic, p_value, dof = float(result.statistic), float(result.pvalue), int(result.dof)
    extra = {
        "shares": {"categories": names, "reference": (ref / n1).tolist(), "current": (cur / n2).tolist()},
        "dof": dof,
        "pooled": len(names) < len(categories),
    }
    if math.isnan(p_value):
        p_value = 1.0
    return TwoSampleTest("chi2", statistic, p_value, total_variation(ref, cur), "tvd", n1, n2, extra)


def judge(
    estimate: float, low: float, high: float, *, at_least: float | None = None, at_most: float | None = None
) -> Status:
    """The verdict on a value that must be ``>= at_least`` and/or ``<= at_most``, given its interval: the one
    interval rule of the balance and quality gates.

    FAIL when the whole interval ``[low, high]`` lies beyond a bound (credibly on the wrong side), WARN when only
    the estimate does (inconclusive at this size: not blocking), PASS when the estimate is within (bounds
    inclusive). A test set large enough to matter gives PASS or FAIL; noise can only move a verdict to WARN.
    """
    if (at_least is not None and high < at_least) or (at_most is not None and low > at_most):
        return Status.FAIL
    if (at_least is not None and estimate < at_least) or (at_most is not None and estimate > at_most):
        return Status.WARN
    return Status.PASS
