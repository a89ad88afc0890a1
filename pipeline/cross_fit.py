"""Cross-fitted recipes: the candidate's and the champion's recipe refitted on folds of every labelled row.

``quality.champion`` judges the two fitted models on the rows neither trained on (on the bundled project, the
475 test and validation rows of 1,000). A *recipe* — the fitted pipeline's estimators and parameters, as
``sklearn.base.clone`` copies them (the hyperparameters a search chose, not the search itself) — can be judged
on every labelled row instead: refit it on K−1 stratified folds and score the K-th, for both models on the
same folds, and compare the out-of-fold scores pairwise. At 1,000 rows that shrinks the standard error of the
difference to about √(475/1000) ≈ 0.69 of the held-out one, which is what makes a 0.05 ROC AUC drop
detectable (``benchmarks/bench_seed_stability.py``). ``quality.champion_recipe`` (``checks.quality_compare``)
judges the result with the same interval rule.

Not computed (``CrossFitted.skipped`` says why): no champion model; ``quality.champion_recipe = "off"``; a
time-ordered split (refitting on folds would train on the future); more labelled rows than
``quality.champion_recipe_max_rows`` under ``"auto"``; a champion fitted on columns the prepared data lacks; a
class with fewer rows than folds. Two identical recipes (same estimators, parameters and features) are not
refitted: they would score every row alike (``same_recipe``).
"""

from __future__ import annotations

import time
from collections.abc import Hashable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold

from mlgate.pipeline.config import ProjectConfig
from mlgate.pipeline.evaluate import model_scores
from mlgate.pipeline.records import CrossFitted, DataBundle
from mlgate.pipeline.split import strata_of

__all__ = ["cross_fit_recipes", "recipe_key"]


def recipe_key(model: Any) -> Hashable:
    """A comparable description of an estimator's recipe: its class and (recursively) its parameters."""
    if hasattr(model, "get_params") and not isinstance(model, type):
        params = model.get_params(deep=False)
        kind = f"{type(model).__module__}.{type(model).__qualname__}"
        return (kind, tuple((name, recipe_key(value)) for name, value in sorted(params.items())))
    if isinstance(model, list | tuple):
        return tuple(recipe_key(value) for value in model)
    if isinstance(model, dict):
        return tuple((repr(k), recipe_key(v)) for k, v in sorted(model.items(), key=lambda kv: repr(kv[0])))
    if isinstance(model, np.ndarray):
        return ("array", model.dtype.str, model.shape, model.tobytes())
    return repr(model)


def _all_rows(data: DataBundle) -> tuple[pd.DataFrame, np.ndarray]:
    """Every labelled row of the split (train, validation, test), with its encoded label (pipeline.target)."""
    parts = data.split
    frames = [parts.train, parts.test] if parts.validation is None else [parts.train, parts.validation, parts.test]
    labels = [parts.y_train, parts.y_test]
    if parts.y_validation is not None:
        labels.insert(1, parts.y_validation)
    kind = np.float64 if data.prepared.task == "regression" else np.int64
    return pd.concat(frames), pd.concat(labels).to_numpy(dtype=kind)


def _columns(model: Any, frame: pd.DataFrame, fallback: list[str]) -> list[str] | str:
    """The columns ``model`` was fitted on (``feature_names_in_``), or a reason when the frame lacks some."""
    names = [str(c) for c in getattr(model, "feature_names_in_", fallback)]
    missing = [c for c in names if c not in frame.columns]
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        return f"the champion was fitted on columns the prepared data does not hold ({shown})"
    return names


def _skip(y: np.ndarray, reason: str, *, seed: int) -> CrossFitted:
    return CrossFitted(y=y, skipped=reason, seed=seed)


def cross_fit_recipes(config: ProjectConfig, data: DataBundle, candidate: Any, champion: Any | None) -> CrossFitted:
    """Out-of-fold probabilities of the candidate's and the champion's recipes on every labelled row.

    ``candidate`` and ``champion`` are fitted scikit-learn estimators (the candidate's pipeline, the champion's
    model as loaded from the registry); each is cloned and refitted on the same ``quality.champion_recipe_folds``
    stratified folds (seed ``quality.random_state``). A recipe that cannot be refitted is reported in
    ``skipped``, never raised: the held-out comparison still judges the models.
    """
    settings, seed = config.quality, config.quality.random_state
    X, y = _all_rows(data)
    if champion is None:
        return _skip(y, "no champion model to refit", seed=seed)
    if settings.champion_recipe == "off":
        return _skip(y, "quality.champion_recipe = 'off'", seed=seed)
    if data.split.by == "time":
        return _skip(
            y, "the split is time-ordered (split.by = 'time'): refitting on folds would train on the future", seed=seed
        )
    if len(y) > settings.champion_recipe_max_rows and settings.champion_recipe == "auto":
        return _skip(
            y,
            f"{len(y):,} labelled rows, more than quality.champion_recipe_max_rows = "
            f"{settings.champion_recipe_max_rows:,} (set quality.champion_recipe = 'cross_fitted' to refit anyway)",
            seed=seed,
        )
    features = list(data.prepared.features)
    champion_columns = _columns(champion, X, features)
    if isinstance(champion_columns, str):
        return _skip(y, champion_columns, seed=seed)
    folds = settings.champion_recipe_folds
    if recipe_key(candidate) == recipe_key(champion) and champion_columns == features:
        return CrossFitted(y=y, folds=folds, seed=seed, same_recipe=True)
    task = data.prepared.task
    strata = strata_of(pd.Series(y), task).to_numpy()  # classes, or a regression target's quantile bands
    smallest = int(np.bincount(strata, minlength=2).min())
    if smallest < folds:
        return _skip(y, f"the smallest class has {smallest} rows, fewer than {folds} folds", seed=seed)
    started = time.perf_counter()
    shape = (len(y), len(data.prepared.classes)) if task == "multiclass" else (len(y),)
    scores = {"candidate": np.full(shape, np.nan), "champion": np.full(shape, np.nan)}
    models = {"candidate": (candidate, features), "champion": (champion, champion_columns)}
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(np.zeros(len(y)), strata):
        for name, (model, columns) in models.items():
            try:
                fitted = clone(model).fit(X.iloc[train][columns], y[train])
                scores[name][test] = model_scores(fitted, X.iloc[test][columns], task)
            except Exception as exc:  # a recipe that cannot be refitted: the held-out comparison still judges
                return _skip(y, f"the {name}'s recipe could not be refitted ({type(exc).__name__}: {exc})", seed=seed)
    return CrossFitted(
        y=y,
        candidate=scores["candidate"],
        champion=scores["champion"],
        folds=folds,
        seed=seed,
        seconds=time.perf_counter() - started,
    )
