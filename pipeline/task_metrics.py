"""Metrics and decisions of multi-class and regression models, for every bootstrap resample at once.

What :mod:`pipeline.evaluate` and :mod:`checks.bootstrap` do for a binary model, for the other two tasks. A
model's *scores* on ``n`` rows are, per task:

* **multiclass**: an ``(n, k)`` array of class probabilities, columns in class-code order (``y`` holds codes);
  the decided class is the one of least expected cost under ``quality.class_costs``, or the most probable one.
* **regression**: an ``(n,)`` array of predicted values; the decision is the prediction itself.

Every metric is computed for each row of a ``(B, n)`` weight matrix (a resample's per-row counts; one row of
ones for the estimate) with array operations: means of per-row losses are ``w @ loss / w.sum()``, per-class
counts are ``w @ one_hot``. Metrics without such a form (``roc_auc_ovr``, ``median_absolute_error``, the
deviances, ``d2_absolute_error``) call scikit-learn with ``sample_weight``, one resample at a time.
``tests/unit/test_task_metrics.py`` holds every value equal to scikit-learn's on weighted rows.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "class_cost_array",
    "costs_for",
    "decide_classes",
    "per_class",
    "prediction_row_cost",
    "weighted_multiclass",
    "weighted_regression",
]

_EPS = np.finfo(np.float64).eps


def _divide(num: np.ndarray, den: np.ndarray, *, zero: float) -> np.ndarray:
    out = np.full(np.broadcast(num, den).shape, zero, dtype=np.float64)
    np.divide(num, den, out=out, where=den != 0)
    return out


def class_cost_array(costs: Mapping[str, Mapping[str, float]], classes: Sequence[Any]) -> np.ndarray:
    """``quality.class_costs`` as a ``(k, k)`` array [true class, decided class] in class-code order.

    Raises ValueError naming the key when its labels are not the target's classes.
    """
    names = [str(c) for c in classes]
    given = [str(c) for c in costs]
    if sorted(given) != sorted(names):
        stray = [g for g in given if g not in names]
        missing = [n for n in names if n not in given]
        what = f"'{stray[0]}' is not a class" if stray else f"class '{missing[0]}' has no row"
        raise ValueError(f"quality.class_costs: {what} (the target's classes: {', '.join(names)})")
    table = {str(truth): {str(d): float(c) for d, c in row.items()} for truth, row in costs.items()}
    return np.array([[table[t].get(d, 0.0) for d in names] for t in names], dtype=np.float64)


def costs_for(quality: Any, task: str, classes: Sequence[Any]) -> Any:
    """The configured cost of decisions in the form ``task`` prices them: ``quality.cost_matrix`` (binary), the
    ``(k, k)`` array of ``quality.class_costs`` (multi-class) or ``quality.prediction_cost`` (regression)."""
    if task == "binary":
        return quality.cost_matrix
    if task == "multiclass":
        return None if quality.class_costs is None else class_cost_array(quality.class_costs, classes)
    return quality.prediction_cost


def decide_classes(proba: np.ndarray, costs: np.ndarray | None) -> np.ndarray:
    """The decided class code per row: least expected cost ``proba @ costs`` (ties: the lower code), or the most
    probable class without costs."""
    proba = np.asarray(proba, dtype=np.float64)
    chosen = np.argmax(proba, axis=1) if costs is None else np.argmin(proba @ costs, axis=1)
    return np.asarray(chosen, dtype=np.int64)


def prediction_row_cost(y: np.ndarray, pred: np.ndarray, cost: Any) -> np.ndarray:
    """Cost of each prediction under ``quality.prediction_cost`` (error = prediction - truth)."""
    error = np.asarray(pred, dtype=np.float64) - np.asarray(y, dtype=np.float64)
    if cost.points is None:
        return np.asarray(np.where(error < 0, -error * cost.under, error * cost.over), dtype=np.float64)
    xs = np.array([p[0] for p in cost.points], dtype=np.float64)
    ys = np.array([p[1] for p in cost.points], dtype=np.float64)
    out = np.interp(error, xs, ys)
    low_slope = (ys[1] - ys[0]) / (xs[1] - xs[0])
    high_slope = (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])
    out = np.where(error < xs[0], ys[0] + (error - xs[0]) * low_slope, out)
    out = np.where(error > xs[-1], ys[-1] + (error - xs[-1]) * high_slope, out)
    return np.asarray(np.maximum(out, 0.0), dtype=np.float64)  # extended outer segments never pay for an error


def per_class(name: str, y: np.ndarray, decision: np.ndarray, w: np.ndarray, k: int) -> np.ndarray:
    """``recall``, ``precision`` or ``f1`` of each class on each resample: ``(B, k)``; NaN where the class has
    no rows (recall), no decisions (precision) or neither (f1)."""
    tp, support, predicted = _class_counts(np.asarray(y, dtype=np.int64), np.asarray(decision, dtype=np.int64), w, k)
    if name == "recall":
        return _divide(tp, support, zero=np.nan)
    if name == "precision":
        return _divide(tp, predicted, zero=np.nan)
    if name == "f1":
        return _divide(2 * tp, support + predicted, zero=np.nan)
    raise KeyError(f"unknown per-class metric {name!r} (recall, precision, f1)")


def _averaged(kind: str, average: str, tp: np.ndarray, support: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Macro or support-weighted average of a per-class metric over the classes present (as scikit-learn: those
    in the truth or the decisions), a class without decisions counting 0 precision."""
    if kind == "recall":
        value = _divide(tp, support, zero=0.0)
    elif kind == "precision":
        value = _divide(tp, predicted, zero=0.0)
    else:
        value = _divide(2 * tp, support + predicted, zero=0.0)
    if average == "weighted":
        return _divide((value * support).sum(axis=1), support.sum(axis=1), zero=np.nan)
    present = (support + predicted) > 0
    return _divide((value * present).sum(axis=1), present.sum(axis=1), zero=np.nan)


def _class_counts(y: np.ndarray, d: np.ndarray, w: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per resample and class ``(B, k)``: rows of the class decided as it, rows of the class, rows decided as it."""
    truth, decided = np.eye(k)[y], np.eye(k)[d]
    return w @ (truth * decided), w @ truth, w @ decided


def weighted_multiclass(
    name: str, y: np.ndarray, proba: np.ndarray, w: np.ndarray, *, costs: np.ndarray | None
) -> np.ndarray:
    """Metric ``name`` of class probabilities ``proba`` (``(n, k)``) on codes ``y`` for each row of ``w``."""
    y = np.asarray(y, dtype=np.int64)
    proba = np.asarray(proba, dtype=np.float64)
    k = proba.shape[1]
    total = w.sum(axis=1)
    rows = np.arange(len(y))
    if name == "log_loss":
        loss = -np.log(np.clip(proba[rows, y], _EPS, 1.0))
        return _divide(w @ loss, total, zero=np.nan)
    if name == "brier_score":
        return _divide(w @ ((proba - np.eye(k)[y]) ** 2).sum(axis=1), total, zero=np.nan)
    if name == "roc_auc_ovr":
        return _looped_multiclass(y, proba, w)
    d = decide_classes(proba, costs)
    if name == "expected_cost":
        if costs is None:
            raise KeyError("expected_cost needs quality.class_costs")
        return _divide(w @ costs[y, d], total, zero=np.nan)
    tp, support, predicted = _class_counts(y, d, w, k)
    right = tp.sum(axis=1)
    accuracy = _divide(right, total, zero=np.nan)
    if name == "accuracy":
        return accuracy
    if name == "zero_one_loss":
        return 1.0 - accuracy
    if name == "balanced_accuracy":
        recall = _divide(tp, support, zero=np.nan)
        return np.asarray(np.nanmean(np.where(support > 0, recall, np.nan), axis=1), dtype=np.float64)
    kind, _, average = name.partition("_")
    if kind in ("f1", "precision", "recall") and average in ("macro", "weighted"):
        return _averaged(kind, average, tp, support, predicted)
    expected = _divide((support * predicted).sum(axis=1), total**2, zero=np.nan)
    if name == "cohen_kappa":
        return _divide(accuracy - expected, 1.0 - expected, zero=np.nan)
    if name == "matthews_corrcoef":
        cov = right * total - (support * predicted).sum(axis=1)
        spread = (total**2 - (predicted**2).sum(axis=1)) * (total**2 - (support**2).sum(axis=1))
        return _divide(cov, np.sqrt(spread), zero=0.0)
    raise KeyError(f"unknown multi-class metric {name!r}")


def _looped_multiclass(y: np.ndarray, proba: np.ndarray, w: np.ndarray) -> np.ndarray:
    from sklearn.metrics import roc_auc_score

    k = proba.shape[1]
    out = np.full(w.shape[0], np.nan)
    for b, weights in enumerate(w):
        keep = weights > 0
        if len(np.unique(y[keep])) < k:
            continue  # one-vs-rest needs every class
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p = proba[keep] / proba[keep].sum(axis=1, keepdims=True)
            out[b] = float(
                roc_auc_score(y[keep], p, multi_class="ovr", labels=list(range(k)), sample_weight=weights[keep])
            )
    return out


_LOOPED_REGRESSION = {
    "median_absolute_error",
    "mean_poisson_deviance",
    "mean_gamma_deviance",
    "d2_absolute_error",
}


def weighted_regression(name: str, y: np.ndarray, pred: np.ndarray, w: np.ndarray, *, costs: Any) -> np.ndarray:
    """Metric ``name`` of predictions ``pred`` on values ``y`` for each row of ``w``."""
    y = np.asarray(y, dtype=np.float64)
    pred = np.asarray(pred, dtype=np.float64)
    total = w.sum(axis=1)
    error = pred - y

    def mean(values: np.ndarray) -> np.ndarray:
        return _divide(w @ values, total, zero=np.nan)

    if name == "mean_squared_error":
        return mean(error**2)
    if name == "root_mean_squared_error":
        return np.asarray(np.sqrt(mean(error**2)), dtype=np.float64)
    if name == "mean_absolute_error":
        return mean(np.abs(error))
    if name == "mean_absolute_percentage_error":
        return mean(np.abs(error) / np.maximum(np.abs(y), _EPS))
    if name == "mean_squared_log_error":
        if (y <= -1).any() or (pred <= -1).any():
            return np.full(w.shape[0], np.nan)  # undefined below -1, as scikit-learn refuses it
        return mean((np.log1p(pred) - np.log1p(y)) ** 2)
    if name in ("r2", "explained_variance"):
        # Variances in one pass over the resamples, on values centred once (a shift changes no variance, and
        # centring keeps mean(y^2) - mean(y)^2 from cancelling when the target sits far from zero). A resample whose
        # truth is constant leaves only rounding: undefined (NaN), where scikit-learn's force_finite says 0 or 1.
        centred, residuals = y - y.mean(), error - error.mean()
        second = mean(centred**2)
        spread = second - mean(centred) ** 2
        spread = np.where(spread > 1e-12 * second, spread, np.nan)
        residual = mean(error**2) if name == "r2" else mean(residuals**2) - mean(residuals) ** 2
        return np.asarray(1.0 - residual / spread, dtype=np.float64)
    if name == "expected_cost":
        if costs is None:
            raise KeyError("expected_cost needs quality.prediction_cost")
        return mean(prediction_row_cost(y, pred, costs))
    if name in _LOOPED_REGRESSION:
        return _looped_regression(name, y, pred, w)
    raise KeyError(f"unknown regression metric {name!r}")


def _looped_regression(name: str, y: np.ndarray, pred: np.ndarray, w: np.ndarray) -> np.ndarray:
    from sklearn import metrics

    fn = getattr(metrics, name if name != "d2_absolute_error" else "d2_absolute_error_score")
    out = np.full(w.shape[0], np.nan)
    for b, weights in enumerate(w):
        keep = weights > 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                out[b] = float(fn(y[keep], pred[keep], sample_weight=weights[keep]))
            except ValueError:  # a deviance of a non-positive value: undefined
                continue
    return out
