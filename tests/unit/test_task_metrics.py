"""Multi-class and regression metrics on bootstrap weights (pipeline/task_metrics.py): every value equals
scikit-learn's on the weighted rows, and the decisions and costs follow their documented rules."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn import metrics as skm

from mlgate.checks.bootstrap import resample_counts, resample_indices
from mlgate.pipeline.config_quality import PredictionCost
from mlgate.pipeline.metric_names import MULTICLASS_METRIC_RANGES, REGRESSION_METRIC_RANGES
from mlgate.pipeline.task_metrics import (
    class_cost_array,
    decide_classes,
    per_class,
    prediction_row_cost,
    weighted_multiclass,
    weighted_regression,
)


def _one_hot_brier(y, p, w):
    return np.average(((p - np.eye(p.shape[1])[y]) ** 2).sum(axis=1), weights=w)


def _labels(p):
    return list(range(p.shape[1]))


# name -> scikit-learn on (codes, probabilities, decided codes, weights) of the rows a resample keeps
MULTICLASS = {
    "log_loss": lambda y, p, d, w: skm.log_loss(y, p, sample_weight=w, labels=_labels(p)),
    "brier_score": lambda y, p, d, w: skm.brier_score_loss(y, p, sample_weight=w, labels=_labels(p)),
    "accuracy": lambda y, p, d, w: skm.accuracy_score(y, d, sample_weight=w),
    "balanced_accuracy": lambda y, p, d, w: skm.balanced_accuracy_score(y, d, sample_weight=w),
    "f1_macro": lambda y, p, d, w: skm.f1_score(y, d, average="macro", sample_weight=w, zero_division=0),
    "f1_weighted": lambda y, p, d, w: skm.f1_score(y, d, average="weighted", sample_weight=w, zero_division=0),
    "precision_macro": lambda y, p, d, w: skm.precision_score(y, d, average="macro", sample_weight=w, zero_division=0),
    "precision_weighted": lambda y, p, d, w: skm.precision_score(
        y, d, average="weighted", sample_weight=w, zero_division=0
    ),
    "recall_macro": lambda y, p, d, w: skm.recall_score(y, d, average="macro", sample_weight=w, zero_division=0),
    "recall_weighted": lambda y, p, d, w: skm.recall_score(y, d, average="weighted", sample_weight=w, zero_division=0),
    "roc_auc_ovr": lambda y, p, d, w: skm.roc_auc_score(y, p, multi_class="ovr", labels=_labels(p), sample_weight=w),
    "cohen_kappa": lambda y, p, d, w: skm.cohen_kappa_score(y, d, sample_weight=w),
    "matthews_corrcoef": lambda y, p, d, w: skm.matthews_corrcoef(y, d, sample_weight=w),
    "zero_one_loss": lambda y, p, d, w: skm.zero_one_loss(y, d, sample_weight=w),
}

REGRESSION = {
    "mean_squared_error": skm.mean_squared_error,
    "root_mean_squared_error": skm.root_mean_squared_error,
    "mean_absolute_error": skm.mean_absolute_error,
    "median_absolute_error": skm.median_absolute_error,
    "mean_absolute_percentage_error": skm.mean_absolute_percentage_error,
    "mean_squared_log_error": skm.mean_squared_log_error,
    "mean_poisson_deviance": skm.mean_poisson_deviance,
    "mean_gamma_deviance": skm.mean_gamma_deviance,
    "r2": skm.r2_score,
    "explained_variance": skm.explained_variance_score,
    "d2_absolute_error": skm.d2_absolute_error_score,
}


def _classes(seed: int, n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, k, n), rng.dirichlet(np.ones(k), size=n)


def _amounts(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Positive truth (rounded: ties for the median) and positive predictions."""
    rng = np.random.default_rng(seed)
    y = np.round(rng.gamma(2.0, 3.0, n), 1) + 0.1
    return y, y * rng.lognormal(0.0, 0.4, n)


def _counts(n: int, seed: int) -> np.ndarray:
    return resample_counts(resample_indices(n, resamples=6, random_state=seed), n)


def _quietly(fn, *args, **kwargs) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn's UndefinedMetricWarning on a degenerate resample
        return float(fn(*args, **kwargs))


def test_every_metric_name_has_a_scikit_learn_reference() -> None:
    assert set(MULTICLASS) == set(MULTICLASS_METRIC_RANGES) - {"expected_cost"}
    assert set(REGRESSION) == set(REGRESSION_METRIC_RANGES) - {"expected_cost"}


def _multiclass_expected(name: str, y, p, counts, costs) -> np.ndarray:
    d = decide_classes(p, costs)
    expected = []
    for w in counts:
        keep = w > 0
        if name == "roc_auc_ovr" and len(np.unique(y[keep])) < p.shape[1]:
            expected.append(np.nan)  # one-vs-rest needs every class in the resample
            continue
        expected.append(_quietly(MULTICLASS[name], y[keep], p[keep], d[keep], w[keep]))
    return np.array(expected)


@pytest.mark.parametrize("name", sorted(MULTICLASS))
@given(seed=st.integers(0, 2**16), n=st.integers(6, 60), k=st.sampled_from([3, 5]))
def test_multiclass_metrics_equal_scikit_learn_on_weighted_rows(name: str, seed: int, n: int, k: int) -> None:
    y, p = _classes(seed, n, k)
    counts = _counts(n, seed)
    values = weighted_multiclass(name, y, p, counts, costs=None)
    np.testing.assert_allclose(values, _multiclass_expected(name, y, p, counts, None), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", sorted(MULTICLASS))
def test_multiclass_metrics_follow_cost_decisions(name: str) -> None:
    y, p = _classes(7, 80, 3)
    costs = np.array([[0.0, 1.0, 1.0], [8.0, 0.0, 1.0], [1.0, 3.0, 0.0]])
    counts = _counts(80, 7)
    values = weighted_multiclass(name, y, p, counts, costs=costs)
    np.testing.assert_allclose(values, _multiclass_expected(name, y, p, counts, costs), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("k", [3, 5])
def test_multiclass_brier_score_is_the_summed_squared_distance_to_the_one_hot_label(k: int) -> None:
    y, p = _classes(3, 50, k)
    counts = _counts(50, 3)
    expected = [_one_hot_brier(y[w > 0], p[w > 0], w[w > 0]) for w in counts]
    np.testing.assert_allclose(weighted_multiclass("brier_score", y, p, counts, costs=None), expected, rtol=1e-9)


def _truth_varies(y: np.ndarray, counts: np.ndarray) -> np.ndarray:
    return np.array([np.ptp(y[w > 0]) > 0 for w in counts])


@pytest.mark.parametrize("name", sorted(REGRESSION))
@given(seed=st.integers(0, 2**16), n=st.integers(3, 60))
def test_regression_metrics_equal_scikit_learn_on_weighted_rows(name: str, seed: int, n: int) -> None:
    y, pred = _amounts(seed, n)
    counts = _counts(n, seed)
    if name in ("r2", "explained_variance"):  # a constant truth: test_r2_of_a_constant_truth_is_undefined
        counts = counts[_truth_varies(y, counts)]
    values = weighted_regression(name, y, pred, counts, costs=None)
    expected = [_quietly(REGRESSION[name], y[w > 0], pred[w > 0], sample_weight=w[w > 0]) for w in counts]
    np.testing.assert_allclose(values, np.array(expected).reshape(-1), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", ["r2", "explained_variance"])
@pytest.mark.parametrize("value", [3.0, 7.7, 3.3])
def test_r2_of_a_constant_truth_is_undefined(name: str, value: float) -> None:
    """Where scikit-learn's ``force_finite`` makes up 0.0 (or 1.0 for a perfect fit), mlgate says NaN: also on
    a resample that draws one row of a varying truth three times."""
    y, w = np.array([value, 1.0]), np.array([[3.0, 0.0]])
    for pred in (y + 1.0, y.copy()):
        assert np.isnan(weighted_regression(name, y, pred, w, costs=None)).all()


@pytest.mark.parametrize("name", ["r2", "explained_variance"])
def test_r2_keeps_its_precision_for_a_truth_far_from_zero(name: str) -> None:
    rng = np.random.default_rng(0)
    y = 1e6 + rng.normal(0.0, 1.0, 200)
    pred = y + rng.normal(0.0, 0.5, 200)
    expected = REGRESSION[name](y, pred)
    np.testing.assert_allclose(weighted_regression(name, y, pred, np.ones((1, 200)), costs=None), [expected], rtol=1e-9)


@pytest.mark.parametrize(
    ("name", "y"),
    [
        ("mean_squared_log_error", [-1.5, 1.0, 2.0]),
        ("mean_poisson_deviance", [-1.0, 1.0, 2.0]),
        ("mean_gamma_deviance", [0.0, 1.0, 2.0]),
    ],
)
def test_metrics_scikit_learn_refuses_on_these_values_are_nan(name: str, y: list[float]) -> None:
    truth = np.array(y)
    with pytest.raises(ValueError):
        getattr(skm, name)(truth, np.array([1.0, 1.0, 2.5]))
    assert np.isnan(weighted_regression(name, truth, np.array([1.0, 1.0, 2.5]), np.ones((1, 3)), costs=None)).all()


def test_unknown_metric_names_raise_key_error() -> None:
    y, p = _classes(0, 10, 3)
    with pytest.raises(KeyError, match="unknown multi-class metric 'r2'"):
        weighted_multiclass("r2", y, p, np.ones((1, 10)), costs=None)
    with pytest.raises(KeyError, match="unknown regression metric 'accuracy'"):
        weighted_regression("accuracy", p[:, 0], p[:, 1], np.ones((1, 10)), costs=None)


# --- decisions -------------------------------------------------------------------------------------------------


def test_without_costs_the_most_probable_class_is_decided() -> None:
    _, p = _classes(1, 200, 5)
    decided = decide_classes(p, None)
    assert decided.dtype == np.int64
    np.testing.assert_array_equal(decided, np.argmax(p, axis=1))


def test_the_least_expected_cost_is_decided() -> None:
    costs = np.array([[0.0, 1.0, 1.0], [10.0, 0.0, 1.0], [1.0, 1.0, 0.0]])  # missing a true 1 costs 10
    # expected costs of deciding 0, 1, 2: 3.1, 0.7, 0.9
    assert decide_classes(np.array([[0.6, 0.3, 0.1]]), costs).tolist() == [1]
    assert decide_classes(np.array([[0.6, 0.3, 0.1]]), None).tolist() == [0]


def test_a_class_very_expensive_to_decide_is_never_decided() -> None:
    _, p = _classes(2, 500, 3)
    costs = 1.0 - np.eye(3)
    costs[[0, 1], 2] = 1000.0  # deciding class 2 on a row of another class
    assert (np.argmax(p, axis=1) == 2).any()
    assert p[:, 2].max() < 0.999
    assert 2 not in decide_classes(p, costs)


@pytest.mark.parametrize("costs", [None, 1.0 - np.eye(3)])
def test_ties_go_to_the_lower_code(costs) -> None:
    p = np.array([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    assert decide_classes(p, costs).tolist() == [0, 1, 0]


# --- costs -----------------------------------------------------------------------------------------------------


def test_class_cost_array_follows_the_class_order_with_a_free_diagonal() -> None:
    costs = {"high": {"low": 9, "mid": 2}, "low": {"mid": 1, "high": 5}, "mid": {"low": 3, "high": 4, "mid": 0.5}}
    array = class_cost_array(costs, ("low", "mid", "high"))
    np.testing.assert_array_equal(array, [[0, 1, 5], [3, 0.5, 4], [9, 2, 0]])


def test_class_cost_array_matches_numeric_classes_by_their_text() -> None:
    costs = {"10": {"1": 1, "2": 2}, "1": {"2": 3, "10": 4}, "2": {"1": 5, "10": 6}}
    np.testing.assert_array_equal(class_cost_array(costs, (1, 2, 10)), [[0, 3, 4], [5, 0, 6], [1, 2, 0]])


@pytest.mark.parametrize(
    ("costs", "message"),
    [
        ({"a": {"b": 1}, "b": {"a": 1}, "x": {"a": 1}}, r"'x' is not a class \(the target's classes: a, b, c\)"),
        ({"a": {"b": 1}, "b": {"a": 1}}, r"class 'c' has no row \(the target's classes: a, b, c\)"),
    ],
)
def test_class_cost_array_names_a_stray_or_missing_label(costs, message: str) -> None:
    with pytest.raises(ValueError, match=rf"^quality\.class_costs: {message}$"):
        class_cost_array(costs, ("a", "b", "c"))


def test_linear_prediction_cost_prices_each_side() -> None:
    cost = PredictionCost(under=3, over=1)
    assert prediction_row_cost(np.full(4, 10.0), np.array([7.0, 10.0, 12.0, 9.5]), cost).tolist() == [9, 0, 2, 1.5]


def test_piecewise_prediction_cost_interpolates_and_extends_the_outer_segments() -> None:
    cost = PredictionCost(points=[(-2, 4), (0, 0), (1, 1), (3, 5)])
    errors = np.array([-4.0, -2.0, -1.0, 0.0, 0.5, 2.0, 3.0, 5.0])
    expected = [8.0, 4.0, 2.0, 0.0, 0.5, 3.0, 5.0, 9.0]
    np.testing.assert_allclose(prediction_row_cost(np.zeros(8), errors, cost), expected)


def test_an_extended_outer_segment_never_pays_for_an_error() -> None:
    cost = PredictionCost(points=[(-1, 0.5), (0, 2), (1, 1)])  # falling beyond both outer points
    row_cost = prediction_row_cost(np.zeros(4), np.array([-5.0, -1.25, 3.0, 10.0]), cost)
    np.testing.assert_allclose(row_cost, [0.0, 0.125, 0.0, 0.0])


def test_multiclass_expected_cost_is_the_mean_row_cost_of_the_decisions() -> None:
    y, p = _classes(4, 60, 3)
    costs = np.array([[0.0, 2.0, 5.0], [1.0, 0.0, 1.0], [4.0, 2.0, 0.0]])
    counts = _counts(60, 4)
    row_cost = costs[y, decide_classes(p, costs)]
    expected = [np.average(row_cost[w > 0], weights=w[w > 0]) for w in counts]
    np.testing.assert_allclose(weighted_multiclass("expected_cost", y, p, counts, costs=costs), expected, rtol=1e-12)
    with pytest.raises(KeyError, match="quality.class_costs"):
        weighted_multiclass("expected_cost", y, p, counts, costs=None)


@pytest.mark.parametrize("cost", [PredictionCost(under=2, over=0.5), PredictionCost(points=[(-1, 3), (0, 0), (2, 1)])])
def test_regression_expected_cost_is_the_mean_row_cost(cost: PredictionCost) -> None:
    y, pred = _amounts(5, 60)
    counts = _counts(60, 5)
    row_cost = prediction_row_cost(y, pred, cost)
    expected = [np.average(row_cost[w > 0], weights=w[w > 0]) for w in counts]
    np.testing.assert_allclose(weighted_regression("expected_cost", y, pred, counts, costs=cost), expected, rtol=1e-12)
    with pytest.raises(KeyError, match="quality.prediction_cost"):
        weighted_regression("expected_cost", y, pred, counts, costs=None)


# --- per class -------------------------------------------------------------------------------------------------

PER_CLASS = {"recall": skm.recall_score, "precision": skm.precision_score, "f1": skm.f1_score}


@pytest.mark.parametrize("name", sorted(PER_CLASS))
@given(seed=st.integers(0, 2**16), n=st.integers(4, 40))
def test_per_class_metrics_equal_scikit_learn_with_nan_where_undefined(name: str, seed: int, n: int) -> None:
    y, p = _classes(seed, n, 4)
    d = decide_classes(p, None)
    counts = _counts(n, seed)
    expected = []
    for w in counts:
        keep = w > 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected.append(
                PER_CLASS[name](
                    y[keep], d[keep], labels=range(4), average=None, sample_weight=w[keep], zero_division=np.nan
                )
            )
    np.testing.assert_allclose(per_class(name, y, d, counts, 4), expected, rtol=1e-9)


def test_per_class_is_nan_for_a_class_without_rows_or_decisions() -> None:
    y, d = np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1])  # class 2: no rows, never decided
    ones = np.ones((1, 4))
    np.testing.assert_allclose(per_class("recall", y, d, ones, 3), [[0.5, 1.0, np.nan]])
    np.testing.assert_allclose(per_class("precision", y, d, ones, 3), [[1.0, 2 / 3, np.nan]])
    np.testing.assert_allclose(per_class("f1", y, d, ones, 3), [[2 / 3, 0.8, np.nan]])
    with pytest.raises(KeyError, match="unknown per-class metric 'accuracy'"):
        per_class("accuracy", y, d, ones, 3)
