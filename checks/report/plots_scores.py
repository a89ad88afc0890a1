"""Plots drawn from each test row's score, for the tasks whose aggregates say too little on their own.

- multi-class: each class's one-vs-rest ROC curve (with its AUC) and its calibration (reliability) curve;
- regression: predicted vs actual with the identity line, and the residuals against the prediction and as a
  histogram (residual = actual − predicted: above 0 the model under-predicted).

The rows come from ``run.model.predictions`` (:func:`row_scores`: ``actual`` and ``scores``, the scores as
:func:`pipeline.evaluate.model_scores` gives them). Every function returns ``None`` when its input is not what
its task needs (a binary model's scores, a malformed payload), and the page shows a note instead.
Drawing plumbing is in :mod:`checks.report.plots`; only numpy is used, no scikit-learn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from mlgate.checks.report._common import number
from mlgate.checks.report.plots import REFERENCE_COLOR, figure, margins, style, to_svg
from mlgate.checks.report.plots_model import plain

__all__ = ["one_vs_rest", "payload_rows", "predicted_vs_actual", "residuals", "row_scores"]

_CLASS_COLORS = ("#0969da", "#bc4c00", "#1a7f37", "#8250df", "#1b7c83", "#bf3989", "#9a6700", "#57606a")
_POINT_COLOR = "#0969da"


def row_scores(model: Mapping[str, Any] | None, task: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(actual, scores) from ``run.model.predictions``, or None when missing or not shaped for ``task``.

    Regression: two ``(n,)`` float arrays. Multi-class: class codes ``(n,)`` in ``0 .. k-1`` and ``(n, k)``
    probabilities. Non-finite values or mismatched lengths give None.
    """
    payload = model.get("predictions") if isinstance(model, Mapping) else None
    if not isinstance(payload, Mapping):
        return None
    try:
        actual = np.asarray(payload.get("actual"), dtype=np.float64)
        scores = np.asarray(payload.get("scores"), dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if actual.ndim != 1 or scores.ndim not in (1, 2) or len(actual) < 2 or len(scores) != len(actual):
        return None
    if not (np.isfinite(actual).all() and np.isfinite(scores).all()):
        return None
    if task == "regression":
        return (actual, scores) if scores.ndim == 1 else None
    if task == "multiclass" and scores.ndim == 2 and scores.shape[1] >= 2:
        codes = actual.astype(np.int64)
        if (codes == actual).all() and codes.min() >= 0 and codes.max() < scores.shape[1]:
            return codes, scores
    return None


def _shown(max_points: int, *values: np.ndarray) -> np.ndarray:
    """The rows to draw: all of them up to ``max_points``, else evenly spaced ones plus the extremes of each of
    ``values`` (so the most wrong predictions are always drawn)."""
    n = len(values[0])
    if n <= max_points:
        return np.arange(n)
    extremes = [int(f(v)) for v in values for f in (np.argmin, np.argmax)]
    return np.unique(np.r_[np.linspace(0, n - 1, max_points - len(extremes)).round().astype(int), extremes])


def _roc(truth: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """(false positive rates, true positive rates, AUC) of ``score`` ranking the rows where ``truth`` holds."""
    order = np.argsort(-score, kind="mergesort")
    ranked, hits = score[order], truth[order].astype(np.float64)
    last = np.r_[np.flatnonzero(np.diff(ranked)), len(ranked) - 1]  # one point per distinct score (ties at once)
    tpr = np.r_[0.0, np.cumsum(hits)[last] / hits.sum()]
    fpr = np.r_[0.0, np.cumsum(1.0 - hits)[last] / (len(hits) - hits.sum())]
    return fpr, tpr, float(np.trapezoid(tpr, fpr))


def _calibration(truth: np.ndarray, score: np.ndarray, bins: int, min_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """(mean predicted probability, observed share) per equal-width bin holding at least ``min_rows`` rows."""
    which = np.minimum((score * bins).astype(int), bins - 1)
    counts = np.bincount(which, minlength=bins)
    keep = counts >= min_rows
    predicted = np.bincount(which, weights=score, minlength=bins)[keep] / counts[keep]
    observed = np.bincount(which, weights=truth.astype(np.float64), minlength=bins)[keep] / counts[keep]
    return predicted, observed


def one_vs_rest(
    actual: np.ndarray,
    proba: np.ndarray,
    *,
    classes: Sequence[str] | None = None,
    max_classes: int = 8,
    bins: int = 10,
    min_rows: int = 3,
) -> str | None:
    """Per class (the first ``max_classes``), its one-vs-rest ROC curve and its calibration curve on the test split.

    A class absent from the test rows, or the only one there, has no ROC curve and is left out. Calibration bins
    (``bins`` equal-width on [0, 1]) with fewer than ``min_rows`` rows are not drawn.
    """
    actual, proba = np.asarray(actual), np.asarray(proba, dtype=np.float64)
    if proba.ndim != 2 or len(actual) != len(proba) or proba.shape[1] < 2:
        return None
    k = proba.shape[1]
    names = [plain(c, limit=18) for c in classes] if classes and len(classes) == k else [f"class {i}" for i in range(k)]
    drawable = [c for c in range(k) if 0 < int((actual == c).sum()) < len(actual)][:max_classes]
    if not drawable:
        return None
    with style():
        fig = figure(11, 4.3)
        margins(fig, left=0.7, top=0.45, bottom=0.6, right=2.2, wspace=0.28)
        roc_ax, cal_ax = fig.subplots(1, 2)
        for ax in (roc_ax, cal_ax):
            ax.plot([0, 1], [0, 1], color=REFERENCE_COLOR, ls="--", lw=1)
            ax.set_xlim(0, 1)
            ax.set_ylim(0, 1.02)
        for i, c in enumerate(drawable):
            color, truth = _CLASS_COLORS[i % len(_CLASS_COLORS)], actual == c
            fpr, tpr, auc = _roc(truth, proba[:, c])
            roc_ax.plot(fpr, tpr, color=color, lw=1.8, label=f"{names[c]} (AUC {auc:.3f})")
            predicted, observed = _calibration(truth, proba[:, c], bins, min_rows)
            cal_ax.plot(predicted, observed, "o-", color=color, lw=1.4, ms=4)
        roc_ax.set_title("One-vs-rest ROC per class (test split)", loc="left")
        roc_ax.set_xlabel("false positive rate (other classes called this one)")
        roc_ax.set_ylabel("true positive rate (recall of the class)")
        cal_ax.set_title(f"Calibration per class ({bins} bins of ≥ {min_rows} rows)", loc="left")
        cal_ax.set_xlabel("predicted probability of the class (bin mean)")
        cal_ax.set_ylabel("observed share of the class")
        shown = f"{len(drawable)} of {k} classes" if len(drawable) < k else f"{k} classes"
        handles, labels = roc_ax.get_legend_handles_labels()
        fig.legend(handles, labels, loc="center right", frameon=False, fontsize=8, title=shown, title_fontsize=8)
    return to_svg(fig, title="One-vs-rest ROC and calibration per class")


def _regression_pair(actual: Any, predicted: Any) -> tuple[np.ndarray, np.ndarray] | None:
    actual, predicted = np.asarray(actual, dtype=np.float64), np.asarray(predicted, dtype=np.float64)
    if actual.ndim != 1 or predicted.shape != actual.shape or len(actual) < 2:
        return None
    if not (np.isfinite(actual).all() and np.isfinite(predicted).all()):
        return None
    return actual, predicted


def _shown_note(n: int, shown: int, test_rows: int | None) -> str:
    """``"n = 111"``, ``"2,000 of 20,000 rows shown"``; a payload sampled from more test rows says so."""
    if test_rows is not None and test_rows > n:
        return f"{shown:,} rows shown, a sample of {test_rows:,}"
    return f"n = {n:,}" if shown == n else f"{shown:,} of {n:,} rows shown"


def payload_rows(model: Mapping[str, Any] | None) -> int | None:
    """How many test rows ``run.model.predictions`` was sampled from (its ``rows``), when recorded."""
    payload = model.get("predictions") if isinstance(model, Mapping) else None
    rows = payload.get("rows") if isinstance(payload, Mapping) else None
    return rows if isinstance(rows, int) and not isinstance(rows, bool) and rows > 0 else None


def predicted_vs_actual(
    actual: Any,
    predicted: Any,
    *,
    metrics: Mapping[str, Any] | None = None,
    max_points: int = 2000,
    sampled_from: int | None = None,
) -> str | None:
    """Each test row's prediction against its actual value, with the identity line (a perfect model).

    ``sampled_from``: the number of test rows when ``actual`` holds a sample of them.
    """
    pair = _regression_pair(actual, predicted)
    if pair is None:
        return None
    actual, predicted = pair
    rows = _shown(max_points, actual, predicted, actual - predicted)
    low = float(min(actual.min(), predicted.min()))
    high = float(max(actual.max(), predicted.max()))
    pad = 0.04 * (high - low or 1.0)
    facts = [_shown_note(len(actual), len(rows), sampled_from)]
    for name, label in (("r2", "R²"), ("root_mean_squared_error", "RMSE"), ("mean_absolute_error", "MAE")):
        value = number((metrics or {}).get(name))
        if value is not None:
            facts.append(f"{label} {value:.4g}")
    with style():
        fig = figure(6.2, 5.6)
        margins(fig, left=0.8, top=0.5, bottom=0.6)
        ax = fig.add_subplot()
        ax.plot([low - pad, high + pad], [low - pad, high + pad], color=REFERENCE_COLOR, ls="--", lw=1.2)
        ax.scatter(actual[rows], predicted[rows], s=12, color=_POINT_COLOR, alpha=0.6, linewidths=0)
        ax.set_xlim(low - pad, high + pad)
        ax.set_ylim(low - pad, high + pad)
        ax.set_aspect("equal")
        ax.set_xlabel("actual value")
        ax.set_ylabel("predicted value")
        ax.set_title("Predicted vs actual (test split)\n" + " · ".join(facts), loc="left")
        ax.annotate("identity: predicted = actual", (0.98, 0.02), xycoords="axes fraction", ha="right", fontsize=8)
    return to_svg(fig, title="Predicted vs actual")


def residuals(
    actual: Any, predicted: Any, *, max_points: int = 2000, bins: int = 30, sampled_from: int | None = None
) -> str | None:
    """Residuals (actual − predicted) against the prediction, and their histogram (every row given)."""
    pair = _regression_pair(actual, predicted)
    if pair is None:
        return None
    actual, predicted = pair
    residual = actual - predicted
    rows = _shown(max_points, predicted, residual)
    mean, sd = float(residual.mean()), float(residual.std(ddof=1))
    with style():
        fig = figure(11, 4.2)
        margins(fig, left=0.8, top=0.45, bottom=0.6, wspace=0.25)
        scatter_ax, hist_ax = fig.subplots(1, 2)
        scatter_ax.axhline(0, color=REFERENCE_COLOR, ls="--", lw=1.2)
        scatter_ax.scatter(predicted[rows], residual[rows], s=12, color=_POINT_COLOR, alpha=0.6, linewidths=0)
        scatter_ax.set_xlabel("predicted value")
        scatter_ax.set_ylabel("residual = actual − predicted")
        scatter_ax.set_title(
            f"Residuals vs predicted ({_shown_note(len(actual), len(rows), sampled_from)})\nabove 0: under-predicted",
            loc="left",
        )
        hist_ax.hist(residual, bins=min(bins, max(5, len(residual) // 4)), color=_POINT_COLOR, alpha=0.75)
        hist_ax.axvline(0, color=REFERENCE_COLOR, ls="--", lw=1.2)
        hist_ax.axvline(mean, color="#bc4c00", lw=1.6, label=f"mean {mean:.3g}")
        hist_ax.set_xlabel("residual = actual − predicted")
        hist_ax.set_ylabel("rows")
        counted = _shown_note(len(residual), len(residual), sampled_from)
        hist_ax.set_title(f"Residual distribution ({counted})\nmean {mean:.3g} · sd {sd:.3g}", loc="left")
        hist_ax.legend(frameon=False, fontsize=8, loc="upper right")
    return to_svg(fig, title="Residuals")
