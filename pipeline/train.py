"""Train: build the configured scikit-learn Pipeline and fit it, with an optional seeded search."""

from __future__ import annotations

import difflib
import importlib
import inspect
import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import KFold, RandomizedSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline

from mlgate.pipeline.config import ModelSettings
from mlgate.pipeline.errors import TrainingError
from mlgate.pipeline.features import build_preprocessor

__all__ = ["ESTIMATORS", "REGRESSORS", "TrainedModel", "build_pipeline", "estimator_class", "fit"]

#: Short names usable as ``model.estimator`` for a classification target (binary or multi-class); anything else
#: is imported as a dotted class path.
ESTIMATORS: dict[str, type] = {
    "hist_gradient_boosting": HistGradientBoostingClassifier,
    "random_forest": RandomForestClassifier,
    "logistic_regression": LogisticRegression,
    "linear": LogisticRegression,
    "majority_class": DummyClassifier,
}
#: Short names for a regression target. ``mean`` and ``median`` are DummyRegressor with that strategy.
REGRESSORS: dict[str, type] = {
    "hist_gradient_boosting": HistGradientBoostingRegressor,
    "random_forest": RandomForestRegressor,
    "ridge": Ridge,
    "linear": Ridge,
    "mean": DummyRegressor,
    "median": DummyRegressor,
}
#: Estimators whose numeric inputs should be standardised.
_SCALED = (LogisticRegression, Ridge)


#: The search's scorer when ``model.search.scoring`` is not given.
_SCORING = {"binary": "roc_auc", "multiclass": "neg_log_loss", "regression": "neg_mean_squared_error"}


@dataclass(frozen=True)
class TrainedModel:
    pipeline: Pipeline
    estimator_name: str
    params: dict[str, Any]
    search: dict[str, Any] = field(default_factory=dict)


def estimator_class(name: str, task: str = "binary") -> type:
    """The class behind ``model.estimator`` for ``task``: a short name of the task, or a dotted path to a
    scikit-learn classifier (binary, multi-class) or regressor (regression); TrainingError naming the key."""
    short = REGRESSORS if task == "regression" else ESTIMATORS
    if name in short:
        return short[name]
    other = ESTIMATORS if task == "regression" else REGRESSORS
    module_name, _, class_name = name.rpartition(".")
    if not module_name:
        if name in other:
            raise TrainingError(
                f"model.estimator {name!r} is not a short name for a {task} target (its short names: "
                f"{', '.join(short)})"
            )
        raise TrainingError(f"model.estimator {name!r} is neither a short name ({', '.join(short)}) nor a dotted path")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise TrainingError(f"model.estimator {name!r} cannot be imported ({exc})") from exc
    kind, mixin = ("regressor", RegressorMixin) if task == "regression" else ("classifier", ClassifierMixin)
    if not (isinstance(cls, type) and issubclass(cls, BaseEstimator) and issubclass(cls, mixin)):
        raise TrainingError(f"model.estimator {name!r} is not a scikit-learn {kind}, as a {task} target needs")
    return cls


def _reason(exc: BaseException) -> str:
    """A third-party message on one line: its first line, and its last when it spans several (the cause)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip() and not line.startswith("Traceback")]
    if not lines:
        return type(exc).__name__
    return lines[0] if len(lines) == 1 else f"{lines[0]} ... {lines[-1]}"


def _no_such_parameter(owner: str, name: str, known: list[str]) -> str:
    guess = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean '{guess[0]}'?" if guess else ""
    return f"{owner} has no parameter '{name}'{hint} (its parameters: {', '.join(sorted(known))})"


def _check_params(estimator: BaseEstimator, settings: ModelSettings) -> None:
    """Check ``model.params`` and every ``model.search.param_distributions`` candidate against the estimator's own
    parameter constraints before fitting, so a bad value is named by its key (``model.params.C``) rather than
    surfacing from inside a fit or a search."""
    owner = type(estimator).__name__
    known = list(estimator.get_params(deep=False))
    validate = getattr(estimator, "_validate_params", None)  # scikit-learn's own checks; absent in some third parties
    if validate is not None:
        try:
            validate()
        except (TypeError, ValueError) as exc:
            named = re.search(r"The '(\w+)' parameter", str(exc))
            key = f"model.params.{named.group(1)}" if named and named.group(1) in settings.params else "model.params"
            raise TrainingError(f"{key}: {_reason(exc)}") from exc
    for name, values in settings.search.param_distributions.items():
        key = f"model.search.param_distributions.{name}"
        if name not in known:
            raise TrainingError(f"{key}: {_no_such_parameter(owner, name, known)}")
        for index, value in enumerate(values):
            candidate = clone(estimator).set_params(**{name: value})
            try:
                getattr(candidate, "_validate_params", lambda: None)()
            except (TypeError, ValueError) as exc:
                raise TrainingError(f"{key}[{index}]: {_reason(exc)}") from exc


def _check_scoring(scoring: str) -> None:
    from sklearn.metrics import get_scorer_names

    names = get_scorer_names()
    if scoring not in names:
        guess = difflib.get_close_matches(scoring, names, n=1)
        hint = f"; did you mean '{guess[0]}'?" if guess else ""
        raise TrainingError(
            f"model.search.scoring: '{scoring}' is not a scikit-learn scorer name{hint} (e.g. roc_auc, "
            "average_precision, neg_log_loss, accuracy, f1; all: sklearn.metrics.get_scorer_names())"
        )


def build_pipeline(
    settings: ModelSettings,
    numeric: list[str],
    categorical: list[str],
    *,
    random_state: int | None,
    task: str = "binary",
) -> Pipeline:
    """Preprocessor + estimator for ``task``. ``random_state`` is passed to the estimator when it takes one.

    ``random_state=None`` is allowed only so a test can build a deliberately non-deterministic model.
    """
    cls = estimator_class(settings.estimator, task)
    params = dict(settings.params)
    if cls is DummyRegressor and settings.estimator in ("mean", "median"):
        params.setdefault("strategy", settings.estimator)
    accepted = inspect.signature(cls).parameters
    for name in params:
        if name not in accepted:
            raise TrainingError(f"model.params.{name}: {_no_such_parameter(cls.__name__, name, list(accepted))}")
    if "random_state" in accepted and "random_state" not in params:
        params["random_state"] = random_state
    try:
        estimator = cls(**params)
    except (TypeError, ValueError) as exc:
        raise TrainingError(f"model.params do not fit {cls.__name__}: {_reason(exc)}") from exc
    _check_params(estimator, settings)
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
    task: str = "binary",
) -> TrainedModel:
    """Fit the configured pipeline, after a seeded randomised search when `model.search.enabled`."""
    pipeline = build_pipeline(settings, numeric, categorical, random_state=random_state, task=task)
    search_info: dict[str, Any] = {}
    try:
        if settings.search.enabled and settings.search.param_distributions:
            scoring = settings.search.scoring or _SCORING[task]
            _check_scoring(scoring)
            distributions = {f"model__{k}": v for k, v in settings.search.param_distributions.items()}
            folds = KFold if task == "regression" else StratifiedKFold
            search = RandomizedSearchCV(
                pipeline,
                distributions,
                n_iter=settings.search.n_iter,
                scoring=scoring,
                cv=folds(settings.search.cv, shuffle=True, random_state=random_state),
                random_state=random_state,
                refit=True,
                n_jobs=1,
            )
            search.fit(X, y)
            pipeline = search.best_estimator_
            search_info = {
                "best_params": {k.removeprefix("model__"): v for k, v in search.best_params_.items()},
                "best_score": float(search.best_score_),
                "scoring": scoring,
                "n_iter": settings.search.n_iter,
            }
        else:
            pipeline.fit(X, y)
    except (TypeError, ValueError) as exc:
        raise TrainingError(f"fitting {settings.estimator} failed: {_reason(exc)}") from exc
    params = {k: v for k, v in pipeline.named_steps["model"].get_params(deep=False).items()}
    return TrainedModel(pipeline, settings.estimator, params, search_info)
