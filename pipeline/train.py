"""Train: build the configured scikit-learn Pipeline and fit it, with an optional seeded search."""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import RandomizedSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline

from pipeline.config import ModelSettings
from pipeline.errors import TrainingError
from pipeline.features import build_preprocessor

__all__ = ["ESTIMATORS", "TrainedModel", "build_pipeline", "fit"]

#: Short names usable as ``model.estimator``; anything else is imported as a dotted class path.
ESTIMATORS: dict[str, type] = {
    "hist_gradient_boosting": HistGradientBoostingClassifier,
    "random_forest": RandomForestClassifier,
    "logistic_regression": LogisticRegression,
    "majority_class": DummyClassifier,
}
#: Estimators whose numeric inputs should be standardised.
_SCALED = (LogisticRegression,)


@dataclass(frozen=True)
class TrainedModel:
    pipeline: Pipeline
    estimator_name: str
    params: dict[str, Any]
    search: dict[str, Any] = field(default_factory=dict)


def _estimator_class(name: str) -> type:
    if name in ESTIMATORS:
        return ESTIMATORS[name]
    module_name, _, class_name = name.rpartition(".")
    if not module_name:
        raise TrainingError(
            f"model.estimator {name!r} is neither a short name ({', '.join(ESTIMATORS)}) nor a dotted path"
        )
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise TrainingError(f"model.estimator {name!r} cannot be imported ({exc})") from exc
    if not (isinstance(cls, type) and issubclass(cls, BaseEstimator) and issubclass(cls, ClassifierMixin)):
        raise TrainingError(f"model.estimator {name!r} is not a scikit-learn classifier")
    return cls


def build_pipeline(
    settings: ModelSettings, numeric: list[str], categorical: list[str], *, random_state: int | None
) -> Pipeline:
    """Preprocessor + estimator. ``random_state`` is passed to the estimator when it takes one.

    ``random_state=None`` is allowed only so a test can build a deliberately non-deterministic model.
    """
    cls = _estimator_class(settings.estimator)
    params = dict(settings.params)
    if "random_state" in inspect.signature(cls).parameters and "random_state" not in params:
        params["random_state"] = random_state
    try:
        estimator = cls(**params)
    except TypeError as exc:
        raise TrainingError(f"model.params do not fit {cls.__name__}: {exc}") from exc
    scale = issubclass(cls, _SCALED)
    return Pipeline([("features", build_preprocessor(numeric, categorical, scale=scale)), ("model", estimator)])


def fit(
    settings: ModelSettings,
    X: pd.DataFrame,
    y: pd.Series,
    *,
    numeric: list[str],
    categorical: list[str],
    random_state: int | None,
) -> TrainedModel:
    """Fit the configured pipeline, after a seeded randomised search when `model.search.enabled`."""
    pipeline = build_pipeline(settings, numeric, categorical, random_state=random_state)
    search_info: dict[str, Any] = {}
    try:
        if settings.search.enabled and settings.search.param_distributions:
            distributions = {f"model__{k}": v for k, v in settings.search.param_distributions.items()}
            search = RandomizedSearchCV(
                pipeline,
                distributions,
                n_iter=settings.search.n_iter,
                scoring=settings.search.scoring,
                cv=StratifiedKFold(settings.search.cv, shuffle=True, random_state=random_state),
                random_state=random_state,
                refit=True,
                n_jobs=1,
            )
            search.fit(X, y)
            pipeline = search.best_estimator_
            search_info = {
                "best_params": {k.removeprefix("model__"): v for k, v in search.best_params_.items()},
                "best_score": float(search.best_score_),
                "scoring": settings.search.scoring,
                "n_iter": settings.search.n_iter,
            }
        else:
            pipeline.fit(X, y)
    except ValueError as exc:
        raise TrainingError(f"fitting {settings.estimator} failed: {exc}") from exc
    params = {k: v for k, v in pipeline.named_steps["model"].get_params(deep=False).items()}
    return TrainedModel(pipeline, settings.estimator, params, search_info)
