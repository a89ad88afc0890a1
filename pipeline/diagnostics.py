"""Model diagnostics for the ML Test Score checks: what each feature contributes, and the fit on its own rows.

The gated run computes them right after training (:func:`diagnose`, from ``ci.gated_run``'s model stage) and
``Evidence.diagnostics`` carries them; :mod:`checks.quality_health` only judges them.

* **Permutation importance with an interval.** On the VALIDATION split (rows the candidate was not fitted on,
  never the test split), each feature's values are shuffled ``repeats`` times and the model re-scored; a row's
  contribution is how much its log loss rises, averaged over the shuffles. The log loss is a sum over rows, so
  the importance is the mean of those per-row rises, and its interval is a t interval over the rows: it covers
  which rows happened to land in the validation split, not only which shuffles were drawn (the repeats of
  ``sklearn.inspection.permutation_importance`` only cover the latter, and a whole-set score like ROC AUC cannot
  be split by row). The intervals hold simultaneously across the features (Bonferroni), so a model with many
  features does not collect a false alarm by chance. A feature the model ignores moves no prediction: its rises
  are all 0 (below 1e-12, the noise of recomputing the same prediction in a batch) and so is its interval.
* **Probabilities on the training rows**, for the check that the fit learned anything (its training log loss
  below the prior's).

Seeded by ``random_state`` (the gated run passes ``quality.random_state``); the shuffles are drawn in feature
order from one generator, so the same inputs give the same numbers. Light at import (numpy, pandas, scipy): the
record types are read by ``checks``; scoring imports :mod:`pipeline.evaluate` (scikit-learn) only when called.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

if TYPE_CHECKING:  # (types only: pipeline.split imports scikit-learn)
    from mlgate.pipeline.split import Split

__all__ = [
    "DEFAULT_REPEATS",
    "MAX_ROWS",
    "Diagnostics",
    "Importance",
    "diagnose",
    "permutation_importance",
    "row_log_loss",
    "row_loss",
]

#: Shuffles per feature.
DEFAULT_REPEATS = 10
#: Validation rows used at most (a seeded subsample beyond): each feature costs ``repeats`` x rows predictions.
MAX_ROWS = 10_000
_EPS = 1e-15
#: A per-row rise smaller than this is floating-point noise (the same prediction computed in a stacked batch).
_NOISE = 1e-12


@dataclass(frozen=True)
class Importance:
    """One feature's contribution: the mean rise of the per-row log loss when it is shuffled, with its interval."""

    column: str
    estimate: float
    low: float
    high: float


@dataclass(frozen=True)
class Diagnostics:
    """What the model-health checks judge. ``importance`` is empty when there is no validation split (``note``
    says why); ``confidence`` is the simultaneous confidence of the importance intervals."""

    importance: tuple[Importance, ...]
    importance_rows: int
    repeats: int
    confidence: float
    proba_train: np.ndarray
    note: str | None = None


def row_log_loss(y: np.ndarray, proba: np.ndarray) -> np.ndarray:
    """Each row's log loss for 0/1 labels ``y`` and positive-class probabilities ``proba`` (clipped to (0, 1))."""
    p = np.clip(np.asarray(proba, dtype=np.float64), _EPS, 1.0 - _EPS)
    y = np.asarray(y, dtype=np.float64)
    loss: np.ndarray = -(y * np.log(p) + (1.0 - y) * np.log1p(-p))
    return loss


def row_loss(y: np.ndarray, scores: np.ndarray, task: str = "binary") -> np.ndarray:
    """Each row's loss for ``task``: log loss (binary; multi-class: minus the log of the true class's
    probability) or the squared error (regression)."""
    if task == "binary":
        return row_log_loss(y, scores)
    scores = np.asarray(scores, dtype=np.float64)
    if task == "multiclass":
        true = scores[np.arange(len(y)), np.asarray(y, dtype=np.int64)]
        loss: np.ndarray = -np.log(np.clip(true, _EPS, 1.0))
        return loss
    error: np.ndarray = (scores - np.asarray(y, dtype=np.float64)) ** 2
    return error


def _interval(rises: np.ndarray, level: float) -> tuple[float, float, float]:
    estimate = float(np.mean(rises))
    spread = float(np.std(rises, ddof=1)) if rises.size > 1 else 0.0
    if spread == 0.0 or not np.isfinite(spread):
        return estimate, estimate, estimate
    half = float(stats.t.ppf(0.5 + level / 2.0, df=rises.size - 1)) * spread / float(np.sqrt(rises.size))
    return estimate, estimate - half, estimate + half


def permutation_importance(
    model: Any,
    X: pd.DataFrame,
    y: np.ndarray,
    *,
    features: Sequence[str],
    repeats: int = DEFAULT_REPEATS,
    confidence: float = 0.95,
    random_state: int,
    task: str = "binary",
) -> tuple[Importance, ...]:
    """Each feature's permutation importance on ``(X, y)`` (see the module docstring); one scoring call per
    feature on ``repeats`` stacked shuffled copies of ``X``. The loss is :func:`row_loss` for ``task``."""
    from mlgate.pipeline.evaluate import model_scores

    rng = np.random.default_rng(random_state)
    y = np.asarray(y)
    n = len(X)
    base = row_loss(y, model_scores(model, X, task), task)
    stacked = pd.concat([X] * repeats, ignore_index=True)
    level = 1.0 - (1.0 - confidence) / max(len(features), 1)  # simultaneous across the features (Bonferroni)
    found = []
    for name in features:
        column = X[name].reset_index(drop=True)
        shuffled = stacked.copy()  # the column keeps its dtype (pandas strings stay strings)
        shuffled[name] = pd.concat([column.iloc[rng.permutation(n)] for _ in range(repeats)], ignore_index=True)
        losses = row_loss(np.tile(y, repeats), model_scores(model, shuffled, task), task).reshape(repeats, n)
        rises = (losses - base).mean(axis=0)
        rises[np.abs(rises) < _NOISE] = 0.0  # identical predictions, summed in another order: no contribution
        found.append(Importance(str(name), *_interval(rises, level)))
    return tuple(found)


def diagnose(
    model: Any,
    split: Split,
    *,
    features: Sequence[str],
    random_state: int,
    repeats: int = DEFAULT_REPEATS,
    confidence: float = 0.95,
    max_rows: int = MAX_ROWS,
    task: str = "binary",
) -> Diagnostics:
    """The diagnostics of a fitted ``model`` on a :class:`pipeline.split.Split` (``split.train`` is what it was
    fitted on; importance is measured on ``split.validation``)."""
    from mlgate.pipeline.evaluate import model_scores

    proba_train = model_scores(model, split.train[list(features)], task)
    if split.validation is None or split.y_validation is None or len(split.validation) < 2:
        note = "no validation split (split.validation_size = 0): importance is measured on held-out validation rows"
        return Diagnostics((), 0, repeats, confidence, proba_train, note=note)
    X, y = split.validation[list(features)], split.y_validation.to_numpy()
    if len(X) > max_rows:
        keep = np.sort(np.random.default_rng(random_state).choice(len(X), size=max_rows, replace=False))
        X, y = X.iloc[keep], y[keep]
    found = permutation_importance(
        model, X, y, features=features, repeats=repeats, confidence=confidence, random_state=random_state, task=task
    )
    return Diagnostics(found, len(X), repeats, confidence, proba_train)
