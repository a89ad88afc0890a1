"""The vectorised bootstrap: agrees with scikit-learn, is seeded, and its intervals contain the estimate."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn import metrics as skm

from mlgate.checks.bootstrap import (
    bootstrap_metric,
    paired_difference,
    resample_counts,
    resample_indices,
    weighted_metric,
)
from mlgate.pipeline.config import CostMatrix

COSTS = CostMatrix(false_positive=5, false_negative=1)

labelled = st.lists(
    st.tuples(st.integers(0, 1), st.floats(0.0, 1.0).map(lambda p: round(p, 2))), min_size=4, max_size=60
).filter(lambda rows: 0 < sum(y for y, _ in rows) < len(rows))


def _arrays(rows):
    return np.array([y for y, _ in rows]), np.array([p for _, p in rows])


SKLEARN = {
    "roc_auc": lambda y, p, d, w: skm.roc_auc_score(y, p, sample_weight=w),
    "log_loss": lambda y, p, d, w: skm.log_loss(y, p, sample_weight=w, labels=[0, 1]),
    "brier_score": lambda y, p, d, w: skm.brier_score_loss(y, p, sample_weight=w),
    "accuracy": lambda y, p, d, w: skm.accuracy_score(y, d, sample_weight=w),
    "precision": lambda y, p, d, w: skm.precision_score(y, d, sample_weight=w, zero_division=0),
    "recall": lambda y, p, d, w: skm.recall_score(y, d, sample_weight=w, zero_division=0),
    "f1": lambda y, p, d, w: skm.f1_score(y, d, sample_weight=w, zero_division=0),
    "balanced_accuracy": lambda y, p, d, w: skm.balanced_accuracy_score(y, d, sample_weight=w),
}


@given(rows=labelled, seed=st.integers(0, 1000), name=st.sampled_from(sorted(SKLEARN)))
def test_weighted_metrics_match_scikit_learn(rows, seed: int, name: str) -> None:
    y, p = _arrays(rows)
    counts = resample_counts(resample_indices(len(y), resamples=3, random_state=seed), len(y))
    values = weighted_metric(name, y, p, counts, threshold=0.5)
    for b, w in enumerate(counts):
        keep = w > 0
        if len(np.unique(y[keep])) < 2:
            assert name not in {"roc_auc", "log_loss"} or np.isnan(values[b])
            continue
        expected = SKLEARN[name](y[keep], p[keep], (p[keep] >= 0.5).astype(int), w[keep])
        assert values[b] == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_expected_cost_and_fallback_metric_match() -> None:
    y = np.array([1, 1, 0, 0, 1])
    p = np.array([0.9, 0.2, 0.7, 0.1, 0.6])
    ones = np.ones((1, 5))
    assert weighted_metric("expected_cost", y, p, ones, threshold=0.5, costs=COSTS)[0] == pytest.approx((5 + 1) / 5)
    mcc = weighted_metric("matthews_corrcoef", y, p, ones, threshold=0.5)[0]
    assert mcc == pytest.approx(skm.matthews_corrcoef(y, p >= 0.5))
    with pytest.raises(KeyError, match="expected_cost needs a cost matrix"):
        weighted_metric("expected_cost", y, p, ones, threshold=0.5)
    with pytest.raises(KeyError, match="unknown metric 'rocauc'"):
        weighted_metric("rocauc", y, p, ones, threshold=0.5)


def test_resamples_are_one_index_array_and_counts_sum_to_n() -> None:
    idx = resample_indices(300, resamples=1000, random_state=0)
    assert idx.shape == (1000, 300) and idx.min() >= 0 and idx.max() < 300
    counts = resample_counts(idx, 300)
    assert counts.shape == (1000, 300) and (counts.sum(axis=1) == 300).all()
    assert counts[7, 12] == (idx[7] == 12).sum()


@given(rows=labelled, seed=st.integers(0, 2**20), name=st.sampled_from(["roc_auc", "log_loss", "f1", "expected_cost"]))
def test_same_seed_same_result_interval_contains_estimate(rows, seed: int, name: str) -> None:
    y, p = _arrays(rows)
    kwargs = {"threshold": 0.5, "costs": COSTS, "resamples": 200, "confidence": 0.9}
    one = bootstrap_metric(name, y, p, random_state=seed, **kwargs)
    assert one == bootstrap_metric(name, y, p, random_state=seed, **kwargs)
    assert one.low <= one.estimate <= one.high


def test_different_seeds_give_different_intervals() -> None:
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 300)
    p = np.clip(y * 0.3 + rng.random(300) * 0.7, 0, 1)
    kwargs = {"threshold": 0.5, "resamples": 1000, "confidence": 0.95}
    a = bootstrap_metric("roc_auc", y, p, random_state=1, **kwargs)
    b = bootstrap_metric("roc_auc", y, p, random_state=2, **kwargs)
    assert a.estimate == b.estimate == pytest.approx(skm.roc_auc_score(y, p))
    assert (a.low, a.high) != (b.low, b.high)


@given(rows=labelled, seed=st.integers(0, 2**20))
def test_paired_difference_of_a_model_with_itself_is_exactly_zero(rows, seed: int) -> None:
    y, p = _arrays(rows)
    diff = paired_difference(
        "roc_auc", y, p, p, threshold_a=0.5, threshold_b=0.5, resamples=100, confidence=0.95, random_state=seed
    )
    assert (diff.estimate, diff.low, diff.high) == (0.0, 0.0, 0.0)


def test_paired_difference_is_oriented_so_positive_means_better() -> None:
    y = np.array([0, 0, 1, 1] * 25)
    good = np.array([0.2, 0.3, 0.7, 0.8] * 25)
    bad = np.array([0.6, 0.3, 0.4, 0.8] * 25)
    kwargs = {"threshold_a": 0.5, "threshold_b": 0.5, "resamples": 200, "confidence": 0.95, "random_state": 0}
    assert paired_difference("roc_auc", y, good, bad, **kwargs).estimate > 0
    assert paired_difference("log_loss", y, good, bad, **kwargs).estimate > 0  # lower loss is better
    assert paired_difference("expected_cost", y, bad, good, costs=COSTS, **kwargs).estimate < 0


def test_undefined_resamples_are_dropped_and_counted() -> None:
    y = np.array([1] * 29 + [0])
    p = np.linspace(0, 1, 30)
    result = bootstrap_metric("roc_auc", y, p, threshold=0.5, resamples=500, confidence=0.95, random_state=0)
    assert 0 < result.undefined < 500
    assert result.low <= result.estimate <= result.high
