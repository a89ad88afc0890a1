"""Seeded, vectorised bootstrap of classification metrics, alone and paired.

One resample is a row of a ``(B, n)`` index array drawn with replacement; it is turned into per-row counts
(weights), so every metric of one resample is a weighted metric of the original rows and all ``B`` resamples
are computed at once with array operations (ROC AUC with a rank-based sweep over the distinct scores).
Metrics without a vectorised form fall back to scikit-learn with ``sample_weight``, one resample at a time.

A *paired* bootstrap applies the same resamples to two models' scores on the same rows, so the interval of
the difference reflects only how the two models differ, not how the rows were drawn.

Conventions:

* The estimate is the metric on all rows (weights all one), computed by the same code as the resamples.
* Intervals are percentile intervals; resamples where the metric is undefined (one class only) are dropped
  and counted in ``undefined``. A percentile interval can miss the estimate on tiny or degenerate samples;
  the reported interval is widened to contain it, so a report never shows an estimate outside its interval.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import sklearn

from mlgate.checks.result import Interval
from mlgate.pipeline.config import CostMatrix
from mlgate.pipeline.evaluate import (
    PROBABILITY_METRICS,
    choose_threshold,
    confusion_cost,
    greater_is_better,
    metric_function,
)
from mlgate.pipeline.task_metrics import weighted_multiclass, weighted_regression

__all__ = [
    "TWO_CLASS_METRICS",
    "VECTORISED_METRICS",
    "Bootstrap",
    "bootstrap_metric",
    "costs_with_threshold_choice",
    "metric_draws",
    "paired_difference",
    "point_metric",
    "resample_counts",
    "resample_indices",
    "seeded_counts",
    "summarise_draws",
    "weighted_metric",
]

#: Metrics computed for all resamples at once; any other scikit-learn metric loops over the resamples.
VECTORISED_METRICS = frozenset(
    {
        "roc_auc",
        "log_loss",
        "brier_score",
        "accuracy",
        "balanced_accuracy",
        "precision",
        "recall",
        "f1",
        "expected_cost",
    }
)
#: Metrics undefined when the rows hold one class only (as in ``pipeline.evaluate``).
TWO_CLASS_METRICS = frozenset({"roc_auc", "average_precision", "log_loss"})


@dataclass(frozen=True)
class Bootstrap:
    """An estimate with its percentile interval over ``resamples`` resamples (``undefined`` of them dropped) and
    the standard deviation of the defined draws (``se``: the bootstrap standard error, NaN below two draws)."""

    estimate: float
    low: float
    high: float
    confidence: float
    resamples: int
    undefined: int = 0
    se: float = float("nan")

    @property
    def interval(self) -> Interval:
        return Interval(self.low, self.high, self.confidence)

    def describe(self, digits: int = 3, *, signed: bool = False) -> str:
        """``0.757 (95% CI 0.702 to 0.809)``; ``signed`` prints a leading + on non-negative values."""
        fmt = f"{{:+.{digits}f}}" if signed else f"{{:.{digits}f}}"
        pct = f"{self.confidence * 100:g}%"
        return f"{fmt.format(self.estimate)} ({pct} CI {fmt.format(self.low)} to {fmt.format(self.high)})"

    def to_dict(self) -> dict[str, float | int]:
        return {
            "estimate": self.estimate,
            "low": self.low,
            "high": self.high,
            "confidence": self.confidence,
            "resamples": self.resamples,
            "undefined_resamples": self.undefined,
            "se": self.se,
        }


def resample_indices(n: int, *, resamples: int, random_state: int) -> np.ndarray:
    """A ``(resamples, n)`` array of row indices drawn with replacement from a generator seeded by ``random_state``."""
    if n < 1:
        raise ValueError(f"cannot resample {n} rows")
    return np.random.default_rng(random_state).integers(0, n, size=(resamples, n))


def resample_counts(indices: np.ndarray, n: int) -> np.ndarray:
    """How often each of ``n`` rows occurs in each resample: ``(B, n)`` float counts."""
    b = indices.shape[0]
    flat = (indices + (np.arange(b) * n)[:, None]).ravel()
    return np.bincount(flat, minlength=b * n).reshape(b, n).astype(np.float64)


@functools.lru_cache(maxsize=2)
def seeded_counts(n: int, resamples: int, random_state: int) -> np.ndarray:
    """``resample_counts(resample_indices(n, ...), n)``, read-only and kept for the next call with the same
    arguments: the checks of one run bootstrap the same rows with the same seed for every metric (the live
    quality and estimated quality of a monitor window: 6 identical ``(1000, 5000)`` matrices become 2)."""
    counts = resample_counts(resample_indices(n, resamples=resamples, random_state=random_state), n)
    counts.setflags(write=False)
    return counts


def _divide(num: np.ndarray, den: np.ndarray, *, zero: float) -> np.ndarray:
    out = np.full(np.broadcast(num, den).shape, zero, dtype=np.float64)
    np.divide(num, den, out=out, where=den != 0)
    return out


def _roc_auc(y: np.ndarray, proba: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted Mann-Whitney AUC per resample: P(score_pos > score_neg) + ½ P(tie), rank-based."""
    order = np.argsort(proba, kind="stable")
    s, ys, ws = proba[order], y[order], w[:, order]
    starts = np.flatnonzero(np.concatenate([[True], s[1:] != s[:-1]]))  # first row of each distinct score
    pos = np.add.reduceat(ws * ys, starts, axis=1)
    neg = np.add.reduceat(ws * (1 - ys), starts, axis=1)
    neg_below = np.cumsum(neg, axis=1) - neg
    num = (pos * (neg_below + 0.5 * neg)).sum(axis=1)
    den = pos.sum(axis=1) * neg.sum(axis=1)
    return _divide(num, den, zero=np.nan)


def _vectorised(
    name: str, y: np.ndarray, proba: np.ndarray, w: np.ndarray, threshold: float, costs: CostMatrix | None
) -> np.ndarray:
    total = w.sum(axis=1)
    if name == "roc_auc":
        return _roc_auc(y, proba, w)
    if name == "log_loss":
        eps = np.finfo(np.float64).eps
        p = np.clip(proba, eps, 1 - eps)
        loss = -(y * np.log(p) + (1 - y) * np.log1p(-p))
        return _divide(w @ loss, total, zero=np.nan)
    if name == "brier_score":
        return _divide(w @ (proba - y) ** 2, total, zero=np.nan)
    d = (proba >= threshold).astype(np.float64)
    tp, fp = w @ (d * y), w @ (d * (1 - y))
    fn, tn = w @ ((1 - d) * y), w @ ((1 - d) * (1 - y))
    if name == "accuracy":
        return _divide(tp + tn, total, zero=np.nan)
    if name == "precision":
        return _divide(tp, tp + fp, zero=0.0)
    if name == "recall":
        return _divide(tp, tp + fn, zero=0.0)
    if name == "balanced_accuracy":
        balanced: np.ndarray = (_divide(tp, tp + fn, zero=np.nan) + _divide(tn, tn + fp, zero=np.nan)) / 2
        return balanced
    if name == "f1":
        return _divide(2 * tp, 2 * tp + fp + fn, zero=0.0)
    if costs is None:
        raise KeyError("expected_cost needs a cost matrix (quality.cost_matrix)")
    return _divide(confusion_cost(tp, fp, tn, fn, costs), total, zero=np.nan)


def _looped(name: str, y: np.ndarray, proba: np.ndarray, w: np.ndarray, threshold: float) -> np.ndarray:
    fn = metric_function(name)
    scores = proba if name in PROBABILITY_METRICS else (proba >= threshold).astype(np.int64)
    out = np.full(w.shape[0], np.nan)
    for b, weights in enumerate(w):
        keep = weights > 0
        if name in TWO_CLASS_METRICS and len(np.unique(y[keep])) < 2:
            continue
        with warnings.catch_warnings(), sklearn.config_context(skip_parameter_validation=True):
            warnings.simplefilter("ignore")  # zero division and the like: the value is still defined
            out[b] = float(fn(y[keep], scores[keep], sample_weight=weights[keep]))
    return out


def weighted_metric(
    name: str,
    y: np.ndarray,
    proba: np.ndarray,
    weights: np.ndarray,
    *,
    threshold: float,
    costs: Any = None,
    task: str = "binary",
) -> np.ndarray:
    """Metric ``name`` for each row of ``weights`` (``(B, n)`` counts); NaN where undefined.

    Binary: ``y`` holds 0/1 labels, ``proba`` the positive-class probability; decision metrics use
    ``proba >= threshold``. Multi-class and regression: ``proba`` holds the model's scores for the task and
    ``costs`` the task's cost (:mod:`pipeline.task_metrics`). Raises KeyError for a metric name mlgate does not know.
    """
    if task != "binary":
        w = np.atleast_2d(np.asarray(weights, dtype=np.float64))
        if task == "multiclass":
            return weighted_multiclass(name, y, proba, w, costs=costs)
        return weighted_regression(name, y, proba, w, costs=costs)
    y = np.asarray(y, dtype=np.float64)
    proba = np.asarray(proba, dtype=np.float64)
    w = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    if name in VECTORISED_METRICS:
        values = _vectorised(name, y, proba, w, threshold, costs)
    else:
        values = _looped(name, y.astype(np.int64), proba, w, threshold)
    if name in TWO_CLASS_METRICS:  # undefined on one class, even where a formula would give a number
        both = ((w * y) > 0).any(axis=1) & ((w * (1 - y)) > 0).any(axis=1)
        values = np.where(both, values, np.nan)
    return values


def point_metric(
    name: str, y: np.ndarray, proba: np.ndarray, *, threshold: float, costs: Any = None, task: str = "binary"
) -> float:
    """Metric ``name`` on all rows, each counted once: the estimate an interval is drawn around (NaN if undefined)."""
    ones = np.ones((1, len(y)))
    return float(weighted_metric(name, y, proba, ones, threshold=threshold, costs=costs, task=task)[0])


def metric_draws(
    name: str,
    y: np.ndarray,
    proba: np.ndarray,
    *,
    threshold: float,
    costs: Any = None,
    resamples: int,
    random_state: int,
    task: str = "binary",
) -> tuple[float, np.ndarray]:
    """The estimate (:func:`point_metric`) and the metric on each of ``resamples`` seeded resamples of the rows.

    :func:`bootstrap_metric` summarises the draws as an interval; a check that combines several groups' draws
    (the group gap) takes them raw.
    """
    y = np.asarray(y, dtype=np.int64 if task == "multiclass" else np.float64)
    estimate = point_metric(name, y, proba, threshold=threshold, costs=costs, task=task)
    counts = seeded_counts(len(y), resamples, random_state)
    return estimate, weighted_metric(name, y, proba, counts, threshold=threshold, costs=costs, task=task)


def summarise_draws(estimate: float, values: np.ndarray, confidence: float) -> Bootstrap:
    """An estimate and its draws (NaN where undefined) as a :class:`Bootstrap`: the percentile interval of the
    defined draws at ``confidence``, widened to contain the estimate."""
    finite = values[np.isfinite(values)]
    undefined = int(values.size - finite.size)
    if finite.size == 0 or not np.isfinite(estimate):
        return Bootstrap(estimate, np.nan, np.nan, confidence, int(values.size), undefined)
    tail = (1 - confidence) / 2 * 100
    low, high = (float(v) for v in np.percentile(finite, [tail, 100 - tail]))
    se = float(np.std(finite, ddof=1)) if finite.size > 1 else float("nan")
    return Bootstrap(estimate, min(low, estimate), max(high, estimate), confidence, int(values.size), undefined, se)


def bootstrap_metric(
    name: str,
    y: np.ndarray,
    proba: np.ndarray,
    *,
    threshold: float,
    costs: Any = None,
    resamples: int,
    confidence: float,
    random_state: int,
    task: str = "binary",
) -> Bootstrap:
    """Metric ``name`` on all rows with its seeded percentile bootstrap interval."""
    estimate, values = metric_draws(
        name, y, proba, threshold=threshold, costs=costs, resamples=resamples, random_state=random_state, task=task
    )
    return summarise_draws(estimate, values, confidence)


def paired_difference(
    name: str,
    y: np.ndarray,
    proba_a: np.ndarray,
    proba_b: np.ndarray,
    *,
    threshold_a: float,
    threshold_b: float,
    costs: Any = None,
    resamples: int,
    confidence: float,
    random_state: int,
    task: str = "binary",
) -> Bootstrap:
    """Improvement of model A over model B on the same rows, oriented so that positive means A is better.

    For a metric where larger is better that is ``metric(A) - metric(B)``; for a loss or a cost it is
    ``metric(B) - metric(A)``. Both models are scored on the same resamples (a paired bootstrap).
    """
    y = np.asarray(y, dtype=np.int64 if task == "multiclass" else np.float64)
    sign = 1.0 if greater_is_better(name) else -1.0
    ones = np.ones((1, len(y)))
    counts = seeded_counts(len(y), resamples, random_state)
    both = np.vstack([ones, counts])
    a = weighted_metric(name, y, proba_a, both, threshold=threshold_a, costs=costs, task=task)
    b = weighted_metric(name, y, proba_b, both, threshold=threshold_b, costs=costs, task=task)
    diff = sign * (a - b)
    return summarise_draws(float(diff[0]), diff[1:], confidence)


def _threshold_draws(y_val: np.ndarray, proba_val: np.ndarray, indices: np.ndarray, costs: CostMatrix) -> np.ndarray:
    """The threshold :func:`pipeline.evaluate.choose_threshold` picks on each resample (row of ``indices``)."""
    return np.array([choose_threshold(y_val[rows], proba_val[rows], costs) for rows in indices])


def _cost_draws(
    y: np.ndarray, proba: np.ndarray, counts: np.ndarray, thresholds: np.ndarray, costs: CostMatrix
) -> np.ndarray:
    """Expected cost per row on each resample (``counts``, ``(B, n)``) at that resample's threshold (``(B,)``)."""
    decide = (proba[None, :] >= thresholds[:, None]).astype(np.float64)
    tp, fp = (counts * decide) @ y, (counts * decide) @ (1 - y)
    fn, tn = (counts * (1 - decide)) @ y, (counts * (1 - decide)) @ (1 - y)
    return _divide(confusion_cost(tp, fp, tn, fn, costs), counts.sum(axis=1), zero=np.nan)


def costs_with_threshold_choice(
    y: np.ndarray,
    probas: list[np.ndarray],
    thresholds: list[float],
    *,
    costs: Any,
    validation: tuple[np.ndarray, list[np.ndarray | None]] | None,
    resamples: int,
    confidence: float,
    random_state: int,
    task: str = "binary",
) -> tuple[list[Bootstrap], list[Bootstrap]]:
    """Each model's expected cost per row on rows ``y`` and, paired, how much model 0 saves against each other.

    A model's threshold was chosen on validation rows when ``validation = (y_val, [proba_val or None per
    model])`` gives its validation scores: then every resample also resamples the validation rows (the same
    resample for every model) and chooses that model's threshold again, so the interval carries the noise of the
    threshold choice, not only of the rows judged; a model without validation scores keeps its threshold. The
    estimates are the costs at the ``thresholds`` the models ship with. Returns ``([cost of each model],
    [saving of model 0 against model k, k >= 1])``, savings positive when model 0 is cheaper. A multi-class or
    regression model (``task``) has no threshold to choose: its cost is drawn on the resamples of ``y`` only.
    """
    counts = seeded_counts(len(y), resamples, random_state)
    if task != "binary":
        both = np.vstack([np.ones((1, len(y))), counts])
        rows = [weighted_metric("expected_cost", y, p, both, threshold=0.0, costs=costs, task=task) for p in probas]
        each = [summarise_draws(float(r[0]), r[1:], confidence) for r in rows]
        savings = [summarise_draws(float(r[0] - rows[0][0]), r[1:] - rows[0][1:], confidence) for r in rows[1:]]
        return each, savings
    y = np.asarray(y, dtype=np.float64)
    fixed = [np.full(resamples, t) for t in thresholds]
    drawn = fixed
    if validation is not None:
        y_val, val_probas = np.asarray(validation[0], dtype=np.int64), validation[1]
        picks = resample_indices(len(y_val), resamples=resamples, random_state=random_state + 1)
        drawn = [
            fix if pv is None else _threshold_draws(y_val, np.asarray(pv, dtype=np.float64), picks, costs)
            for fix, pv in zip(fixed, val_probas, strict=True)
        ]
    ones = np.ones((1, len(y)))
    estimates = [
        float(_cost_draws(y, np.asarray(p, dtype=np.float64), ones, np.array([t]), costs)[0])
        for p, t in zip(probas, thresholds, strict=True)
    ]
    draws = [
        _cost_draws(y, np.asarray(p, dtype=np.float64), counts, t, costs) for p, t in zip(probas, drawn, strict=True)
    ]
    each = [summarise_draws(e, d, confidence) for e, d in zip(estimates, draws, strict=True)]
    savings = [
        summarise_draws(estimates[k] - estimates[0], draws[k] - draws[0], confidence) for k in range(1, len(probas))
    ]
    return each, savings
