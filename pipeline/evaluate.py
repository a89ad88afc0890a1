"""Evaluate: metrics on held-out data, overall and per slice, plus the business metric (expected cost).

The metrics that can be named are those of :data:`pipeline.metric_names.METRIC_RANGES` (the config refuses any
other at load); each resolves to its scikit-learn function: ``roc_auc`` to ``sklearn.metrics.roc_auc_score``,
``log_loss`` to ``sklearn.metrics.log_loss``. Metrics in :data:`PROBABILITY_METRICS` get the positive-class
probability; all others get the 0/1 decision at the chosen threshold. A multi-class or regression model is scored
by :func:`model_scores` (every class's probability, or the prediction) and evaluated by
:mod:`pipeline.task_metrics` (:func:`evaluate` with ``task``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from mlgate.pipeline.config import CostMatrix
from mlgate.pipeline.metric_names import metric_problem

__all__ = [
    "DEFAULT_METRICS",
    "PROBABILITY_METRICS",
    "Evaluation",
    "choose_threshold",
    "confusion",
    "confusion_cost",
    "evaluate",
    "expected_cost",
    "metric_function",
    "model_scores",
    "positive_proba",
    "task_metrics",
]

PROBABILITY_METRICS = frozenset({"roc_auc", "log_loss", "brier_score", "average_precision"})
DEFAULT_METRICS = ("roc_auc", "log_loss", "brier_score", "accuracy", "precision", "recall", "f1")
# Larger is better for these; for every other metric name ending in "loss"/"error"/"brier" smaller is.
LOWER_IS_BETTER_SUFFIXES = ("loss", "error", "brier_score", "expected_cost", "deviance")


@dataclass(frozen=True)
class Evaluation:
    """Metrics of one model on one labelled set."""

    n: int
    threshold: float
    overall: dict[str, float | None]
    confusion: dict[str, Any]
    slices: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    task: str = "binary"

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "task": self.task,
            "threshold": self.threshold,
            "overall": self.overall,
            "confusion": self.confusion,
            "slices": self.slices,
        }


def positive_proba(model: Any, X: pd.DataFrame) -> np.ndarray:
    """Probability of the positive class (label 1) for each row."""
    proba = model.predict_proba(X)
    classes = list(getattr(model, "classes_", [0, 1]))
    return np.asarray(proba[:, classes.index(1)], dtype=np.float64)


#: The metrics a multi-class or regression candidate is evaluated on besides the configured ones.
TASK_DEFAULT_METRICS = {
    "multiclass": ("log_loss", "accuracy", "balanced_accuracy", "f1_macro", "f1_weighted"),
    "regression": ("mean_squared_error", "root_mean_squared_error", "mean_absolute_error", "r2"),
}


def model_scores(model: Any, X: pd.DataFrame, task: str) -> np.ndarray:
    """A model's scores for ``task``: the positive-class probability (binary), every class's probability in
    class-code order (multi-class, ``(n, k)``), or the predicted value (regression)."""
    if task == "binary":
        return positive_proba(model, X)
    if task == "multiclass":
        return np.asarray(model.predict_proba(X), dtype=np.float64)
    return np.asarray(model.predict(X), dtype=np.float64)


def task_metrics(
    task: str, names: tuple[str, ...], y: np.ndarray, scores: np.ndarray, costs: Any
) -> dict[str, float | None]:
    """Multi-class or regression metrics of ``scores`` on ``y`` (every row once); None where undefined."""
    from mlgate.pipeline import task_metrics as tm

    ones = np.ones((1, len(y)))
    out: dict[str, float | None] = {}
    for name in names:
        if name == "expected_cost" and costs is None:
            continue
        if task == "multiclass":
            value = float(tm.weighted_multiclass(name, y, scores, ones, costs=costs)[0])
        else:
            value = float(tm.weighted_regression(name, y, scores, ones, costs=costs)[0])
        out[name] = value if np.isfinite(value) else None
    return out


def _task_evaluation(
    task: str,
    y: np.ndarray,
    scores: np.ndarray,
    metrics: tuple[str, ...],
    costs: Any,
    groups: Mapping[str, pd.Series] | None,
) -> Evaluation:
    """:func:`evaluate` for a multi-class or a regression model (no threshold: recorded as 0.0)."""
    from mlgate.pipeline.task_metrics import decide_classes

    y = np.asarray(y, dtype=np.int64 if task == "multiclass" else np.float64)
    names = tuple(dict.fromkeys((*TASK_DEFAULT_METRICS[task], *metrics, "expected_cost")))
    overall = task_metrics(task, names, y, scores, costs)
    confusion_table: dict[str, Any] = {}
    if task == "multiclass":
        k = scores.shape[1]
        decided = decide_classes(scores, costs)
        matrix = np.zeros((k, k), dtype=np.int64)
        np.add.at(matrix, (y, decided), 1)
        confusion_table = {"matrix": matrix.tolist()}
    slices: dict[str, dict[str, dict[str, Any]]] = {}
    for name, labels in (groups or {}).items():
        labels_arr = np.asarray(pd.Series(labels).astype("string").fillna("<missing>"), dtype=object)
        slices[name] = {}
        for value in sorted(set(labels_arr)):
            mask = labels_arr == value
            entry: dict[str, Any] = {"n": int(mask.sum())}
            entry["metrics"] = task_metrics(task, names, y[mask], scores[mask], costs)
            slices[name][str(value)] = entry
    return Evaluation(len(y), 0.0, overall, confusion_table, slices, task)


def metric_function(name: str) -> Callable[..., float]:
    """The scikit-learn function behind a metric name; raises KeyError for a name mlgate does not compute."""
    if name == "expected_cost":
        raise KeyError("expected_cost needs a cost matrix; use expected_cost()")
    problem = metric_problem(name)
    if problem is not None:
        raise KeyError(problem)
    for candidate in (f"{name}_score", name, f"{name}_loss"):
        fn = getattr(skm, candidate, None)
        if callable(fn) and not isinstance(fn, type):
            return cast(Callable[..., float], fn)  # a sklearn.metrics score or loss: arrays in, one float out
    raise KeyError(f"unknown metric {name!r}: no sklearn.metrics.{name}_score or sklearn.metrics.{name}")


def greater_is_better(name: str) -> bool:
    if name.startswith("d2_"):  # d2_absolute_error is a score (1 is perfect), whatever its name ends with
        return True
    return not name.endswith(LOWER_IS_BETTER_SUFFIXES)


def _metric(name: str, y: np.ndarray, proba: np.ndarray, decision: np.ndarray) -> float | None:
    if len(np.unique(y)) < 2 and name in {"roc_auc", "average_precision", "log_loss"}:
        return None  # undefined on a single class
    fn = metric_function(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zero-division and similar: the value is still defined
        if name == "log_loss":
            value = fn(y, proba, labels=[0, 1])
        elif name in PROBABILITY_METRICS:
            value = fn(y, proba)
        elif "zero_division" in getattr(fn, "__wrapped__", fn).__code__.co_varnames:
            value = fn(y, decision, zero_division=0)
        else:
            value = fn(y, decision)
    value = float(value)
    return value if np.isfinite(value) else None


def confusion(y: np.ndarray, decision: np.ndarray) -> dict[str, int]:
    y = np.asarray(y, dtype=bool)
    d = np.asarray(decision, dtype=bool)
    return {"tp": int((y & d).sum()), "fp": int((~y & d).sum()), "tn": int((~y & ~d).sum()), "fn": int((y & ~d).sum())}


def confusion_cost(tp: Any, fp: Any, tn: Any, fn: Any, costs: CostMatrix) -> Any:
    """Total cost of confusion counts (numbers or arrays of them alike): THE expected-cost formula.

    :func:`expected_cost`, :func:`choose_threshold` and the bootstrap's weighted metric
    (:func:`checks.bootstrap.weighted_metric`) all price decisions through it.
    """
    return fp * costs.false_positive + fn * costs.false_negative + tp * costs.true_positive + tn * costs.true_negative


def expected_cost(y: np.ndarray, decision: np.ndarray, costs: CostMatrix) -> float:
    """Mean cost per row of acting on ``decision`` (1 = positive predicted)."""
    c = confusion(y, decision)
    cost: float = confusion_cost(c["tp"], c["fp"], c["tn"], c["fn"], costs) / max(len(y), 1)
    return cost


def choose_threshold(y: np.ndarray, proba: np.ndarray, costs: CostMatrix) -> float:
    """The decision threshold minimising expected cost on (validation) data; ties go to the lower one.

    Candidates are the midpoints between consecutive distinct probabilities, plus 0 ("accept all") and the
    float just above 1 ("accept none": a probability of exactly 1.0 must not pass it), so the result does not
    sit on a validation-set probability. Vectorised: O(n log n).
    """
    y = np.asarray(y, dtype=np.int64)
    order = np.argsort(-proba, kind="stable")
    p_sorted, y_sorted = proba[order], y[order]
    distinct = np.unique(p_sorted)[::-1]
    candidates = np.concatenate([[np.nextafter(1.0, 2.0)], (distinct[:-1] + distinct[1:]) / 2, [0.0]])
    # predicted positive when proba >= t
    n_pos_pred = np.searchsorted(-p_sorted, -candidates, side="right")
    tp = np.concatenate([[0], np.cumsum(y_sorted)])[n_pos_pred]
    fp = n_pos_pred - tp
    fn = y.sum() - tp
    tn = len(y) - n_pos_pred - fn
    cost = confusion_cost(tp, fp, tn, fn, costs)
    best = int(np.argmin(cost))
    return float(candidates[best])


def _scores(
    y: np.ndarray, proba: np.ndarray, threshold: float, names: tuple[str, ...], costs: CostMatrix | None
) -> dict[str, float | None]:
    decision = (proba >= threshold).astype(np.int64)
    out = {name: _metric(name, y, proba, decision) for name in names}
    if costs is not None:
        out["expected_cost"] = expected_cost(y, decision, costs)
    return out


def evaluate(
    y: pd.Series | np.ndarray,
    proba: np.ndarray,
    *,
    threshold: float,
    metrics: tuple[str, ...] = DEFAULT_METRICS,
    costs: CostMatrix | None = None,
    groups: Mapping[str, pd.Series] | None = None,
    task: str = "binary",
    task_costs: Any = None,
) -> Evaluation:
    """Score ``proba`` against ``y`` overall and within each group of each grouping in ``groups``.

    A multi-class or regression model's scores (:func:`model_scores`) are judged with ``task_costs`` (the class
    cost array or the prediction cost) instead of ``costs`` and ``threshold``.
    """
    if task != "binary":
        return _task_evaluation(task, np.asarray(y), np.asarray(proba, dtype=np.float64), metrics, task_costs, groups)
    y_arr = np.asarray(y, dtype=np.int64)
    proba = np.asarray(proba, dtype=np.float64)
    overall = _scores(y_arr, proba, threshold, metrics, costs)
    slices: dict[str, dict[str, dict[str, Any]]] = {}
    for name, labels in (groups or {}).items():
        labels_arr = np.asarray(pd.Series(labels).astype("string").fillna("<missing>"), dtype=object)
        slices[name] = {}
        for value in sorted(set(labels_arr)):
            mask = labels_arr == value
            entry: dict[str, Any] = {"n": int(mask.sum()), "positives": int(y_arr[mask].sum())}
            entry["metrics"] = _scores(y_arr[mask], proba[mask], threshold, metrics, costs)
            slices[name][str(value)] = entry
    decision = (proba >= threshold).astype(np.int64)
    return Evaluation(len(y_arr), threshold, overall, confusion(y_arr, decision), slices)
