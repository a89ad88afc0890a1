"""A candidate truly worse than the champion by a known ROC AUC, as a real recipe (for bench_seed_stability).

:class:`NoisyRecipe` wraps a recipe (an unfitted scikit-learn pipeline) and adds seeded logit noise keyed by each
row's content (``pandas.util.hash_pandas_object`` with a 16-character key, mapped to a standard normal): a
deterministic function of the input, so it is fitted, cloned, refitted on folds and scored like any model, and
ranks worse than its base by an amount set by ``scale``. :func:`calibrate` picks the scale at which the expected
drop of the served model's ROC AUC on held-out rows is the target, averaged over split seeds (and noise keys) that
the benchmark does not judge.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit, logit, ndtri
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.metrics import roc_auc_score

__all__ = ["NoisyRecipe", "calibrate", "noise_key", "row_noise"]


def noise_key(seed: int) -> str:
    """The 16-character hash key of one seed's noise."""
    return f"mlgate-noise{seed:04d}"[:16].ljust(16, "0")


def row_noise(X: pd.DataFrame, key: str) -> np.ndarray:
    """One standard-normal draw per row, a function of the row's values and ``key`` only."""
    hashed = pd.util.hash_pandas_object(X, index=False, hash_key=key).to_numpy(dtype=np.uint64)
    uniform = (hashed.astype(np.float64) + 0.5) / 2.0**64
    return np.asarray(ndtri(np.clip(uniform, 1e-12, 1 - 1e-12)))


class NoisyRecipe(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """``base`` refitted as is; its positive-class logit plus ``scale`` x :func:`row_noise` (key ``key``)."""

    def __init__(self, base: Any = None, scale: float = 0.0, key: str = "mlgate-noise0000") -> None:
        self.base = base
        self.scale = scale
        self.key = key

    def fit(self, X: pd.DataFrame, y: Any) -> NoisyRecipe:
        self.base_ = clone(self.base).fit(X, y)
        self.classes_ = self.base_.classes_
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        p = np.clip(self.base_.predict_proba(X)[:, 1], 1e-12, 1 - 1e-12)
        q = expit(logit(p) + self.scale * row_noise(X, self.key))
        return np.column_stack([1 - q, q])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)])


def calibrate(samples: list[tuple[np.ndarray, np.ndarray, np.ndarray]], *, drop: float) -> float:
    """The noise scale at which the ROC AUC drops by ``drop`` on average over ``samples`` (labels, the base
    model's probabilities, the rows' noise): on held-out rows of split seeds the benchmark does not judge, so the
    candidate *as trained and served* is truly ``drop`` worse than the champion in expectation."""
    prepared = [(y, logit(np.clip(p, 1e-12, 1 - 1e-12)), z, roc_auc_score(y, p)) for y, p, z in samples]

    def mean_drop(scale: float) -> float:
        return float(np.mean([auc - roc_auc_score(y, expit(lp + scale * z)) for y, lp, z, auc in prepared]))

    low, high = 0.0, 3.0
    for _ in range(30):
        mid = (low + high) / 2
        low, high = (mid, high) if mean_drop(mid) < drop else (low, mid)
    return (low + high) / 2
