"""Why one record was scored as it was: the contribution of each input column to the model's raw score.

:func:`build_explainer` looks at the fitted scikit-learn objects once (no training code is imported) and returns
an :class:`Explainer`, or :class:`Unsupported` with the reason. Every explanation is additive in the model's raw
score::

    base_value + sum(contributions) == raw_score      (checked on every answer, to 1e-9)

Methods (``Explanation.method``):

``linear_exact``
    A linear classifier (``coef_``/``intercept_``: LogisticRegression, SGDClassifier, LinearSVC, ...) after the
    preprocessing. Each transformed column contributes ``coef_j * x_j``; the columns a transformer made from one
    input column (a one-hot block, an imputer's missing indicator) are summed back to it. ``base_value`` is the
    intercept: the score of an all-zero transformed row (with a StandardScaler, every number at its training
    mean; a one-hot column at "no known category"). Exact: no approximation at all. ``raw_score`` is the
    decision function, the log-odds of the positive label for a logistic regression.

``tree_path_shap``
    A tree ensemble (HistGradientBoostingClassifier, RandomForestClassifier, ExtraTreesClassifier,
    DecisionTreeClassifier): exact Shapley values of the path-dependent tree game of TreeSHAP (Lundberg et al.
    2020, Algorithm 1, the game ``shap.TreeExplainer(model, feature_perturbation="tree_path_dependent")``
    explains), computed in :mod:`pipeline.serve.explain_trees`, with the *input* columns as the players: all
    the columns a one-hot encoder made from one input column enter and leave the game together (summing
    shap's per-one-hot-column values would be additive too, but is not the Shapley value of the input column).
    ``base_value`` is the expected raw score over the training rows as the trees saw them (each node weighted by
    its training sample count). ``raw_score`` is the log-odds for gradient boosting and the positive-class
    probability for forests and single trees (a forest averages probabilities; a logit of the average is not
    additive over trees). Limits: "absent" columns are marginalised along the trees' own training splits, so
    correlated columns share credit as the trees split on them, not as a causal or interventional analysis would.

Anything else (a kernel SVM, k-nearest neighbours, a dummy classifier, a multi-class model, a transformer whose
output columns cannot be traced to one input column each) is :class:`Unsupported`, and ``POST /explain`` answers
501 naming the estimator or step: no approximation is offered in place of an explanation that can be checked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

__all__ = ["Explainer", "Explanation", "Unsupported", "build_explainer", "input_origins"]

Method = Literal["linear_exact", "tree_path_shap"]
ScoreSpace = Literal["logit", "probability", "decision_function"]
TOLERANCE = 1e-9


@dataclass(frozen=True)
class Explanation:
    """One record's explanation: ``base_value + sum(contributions.values()) == raw_score``.

    ``contributions`` holds every input column of the model, largest absolute contribution first.
    """

    method: Method
    score_space: ScoreSpace
    raw_score: float
    base_value: float
    contributions: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class Unsupported:
    """The model cannot be explained exactly; ``reason`` names the estimator or the preprocessing step."""

    reason: str


@dataclass(frozen=True)
class Explainer:
    """What :func:`build_explainer` prepared once per loaded model; :meth:`explain` answers one record."""

    method: Method
    score_space: ScoreSpace
    features: tuple[str, ...]  # the input columns, in the order the preprocessing was fitted on
    origins: np.ndarray  # transformed column j came from input column origins[j]
    transform: Callable[[pd.DataFrame], np.ndarray]
    attribute: Callable[[np.ndarray], tuple[np.ndarray, float]]  # (per transformed column or per input, base)
    decision: Callable[[np.ndarray], float]  # the model's own raw score for the transformed row
    per_input: bool  # attribute() answers per input column already (trees) rather than per transformed column

    def explain(self, frame: pd.DataFrame) -> Explanation:
        """The explanation of the single row in ``frame`` (the columns the pipeline was fitted on)."""
        row = self.transform(frame)
        if row.shape[1] != len(self.origins):
            raise ArithmeticError(f"{row.shape[1]} transformed columns, {len(self.origins)} traced to the inputs")
        values, base = self.attribute(row)
        totals = values if self.per_input else np.bincount(self.origins, weights=values, minlength=len(self.features))
        raw = self.decision(row)
        gap = base + float(np.sum(totals)) - raw
        if not abs(gap) <= TOLERANCE * max(1.0, abs(raw)):
            raise ArithmeticError(f"{self.method}: contributions miss the raw score {raw!r} by {gap!r}")
        order = sorted(range(len(self.features)), key=lambda i: (-abs(float(totals[i])), self.features[i]))
        pairs = tuple((self.features[i], float(totals[i])) for i in order)
        return Explanation(self.method, self.score_space, raw, base, pairs)


# ---------------------------------------------------------------- transformed columns -> input columns


def _resolve(columns: Any, names: list[str]) -> list[int]:
    """A ColumnTransformer's column selection (names, positions or a boolean mask) as input positions."""
    if isinstance(columns, str | int | np.integer):
        columns = [columns]
    if isinstance(columns, slice):
        return list(range(len(names)))[columns]
    selected = list(columns)
    if all(isinstance(c, bool | np.bool_) for c in selected) and len(selected) == len(names):
        return [i for i, keep in enumerate(selected) if keep]
    if all(isinstance(c, str) for c in selected):
        return [names.index(c) for c in selected]
    if all(isinstance(c, int | np.integer) for c in selected):
        return [int(c) for c in selected]
    raise ValueError(f"column selection {columns!r} is neither names, positions nor a mask")


def _column_transformer(step: Any, n_in: int) -> list[int]:
    names = list(getattr(step, "feature_names_in_", [str(i) for i in range(n_in)]))
    blocks: list[tuple[int, list[int]]] = []
    for name, transformer, columns in step.transformers_:
        if isinstance(transformer, str) and transformer == "drop":
            continue
        selected = _resolve(columns, names)
        if not selected:
            continue
        inner = list(range(len(selected))) if transformer == "passthrough" else _step_origins(transformer, selected)
        where = step.output_indices_[name]
        if where.stop - where.start != len(inner):
            raise ValueError(f"transformer {name!r} makes {where.stop - where.start} columns, traced {len(inner)}")
        blocks.append((where.start, [selected[i] for i in inner]))
    return [origin for _, block in sorted(blocks) for origin in block]


def _step_origins(step: Any, inputs: list[int]) -> list[int]:
    """For each output column of a fitted preprocessing ``step``, the position (in ``inputs``) it came from."""
    from sklearn.base import OneToOneFeatureMixin
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder

    n_in = len(inputs)
    if step is None or (isinstance(step, str) and step == "passthrough"):
        return list(range(n_in))
    if isinstance(step, Pipeline):
        current = list(range(n_in))
        for _, inner in step.steps:
            current = [current[i] for i in _step_origins(inner, current)]
        return current
    if isinstance(step, ColumnTransformer):
        return _column_transformer(step, n_in)
    if isinstance(step, OneHotEncoder):
        sizes = list(step._n_features_outs)  # scikit-learn's own count per input column (drop, infrequent)
        return [i for i, size in enumerate(sizes) for _ in range(size)]
    if isinstance(step, SimpleImputer):
        kept = [i for i, s in enumerate(step.statistics_) if step.keep_empty_features or not pd.isna(s)]
        indicated = list(step.indicator_.features_) if step.add_indicator else []
        return kept + [int(i) for i in indicated]
    if isinstance(step, OneToOneFeatureMixin) or (isinstance(step, FunctionTransformer) and step.func is None):
        return list(range(n_in))  # a scaler, an ordinal encoder, the identity a ColumnTransformer keeps for passthrough
    raise ValueError(f"preprocessing step {type(step).__name__} (its output columns cannot be traced to inputs)")


def input_origins(pipeline: Any) -> tuple[tuple[str, ...], np.ndarray, Any, Any]:
    """``(input columns, origin of each transformed column, preprocessing, final estimator)`` of a fitted model.

    Raises ValueError for a step whose output columns do not each come from exactly one input column.
    """
    from sklearn.pipeline import Pipeline

    if isinstance(pipeline, Pipeline):
        preprocess, estimator = (pipeline[:-1] if len(pipeline.steps) > 1 else None), pipeline.steps[-1][1]
    else:
        preprocess, estimator = None, pipeline
    source = preprocess if preprocess is not None else estimator
    names = getattr(source, "feature_names_in_", None)
    if names is None:
        raise ValueError(f"{type(source).__name__} was not fitted on named columns")
    features = tuple(str(n) for n in names)
    origins = _step_origins(preprocess, list(range(len(features))))
    return features, np.asarray(origins, dtype=np.intp), preprocess, estimator


# ---------------------------------------------------------------- estimators


def _dense(values: Any) -> np.ndarray:
    array = values.toarray() if hasattr(values, "toarray") else values
    return np.asarray(array, dtype=np.float64)


def _linear(estimator: Any, sign: float) -> tuple[Callable[..., Any], Callable[..., Any], ScoreSpace] | str:
    coef = np.asarray(getattr(estimator, "coef_", np.empty(0)), dtype=np.float64)
    if coef.ndim != 2 or coef.shape[0] != 1:
        return f"{type(estimator).__name__} has coefficients of shape {coef.shape}; only binary models are explained"
    weights = coef[0] * sign
    intercept = float(np.ravel(estimator.intercept_)[0]) * sign if hasattr(estimator, "intercept_") else 0.0

    def attribute(row: np.ndarray) -> tuple[np.ndarray, float]:
        return weights * row[0], intercept

    def decision(row: np.ndarray) -> float:
        return sign * float(np.ravel(estimator.decision_function(row))[0])

    from sklearn.linear_model import LogisticRegression

    space: ScoreSpace = "logit" if isinstance(estimator, LogisticRegression) else "decision_function"
    return attribute, decision, space


def build_explainer(pipeline: Any, *, positive_index: int) -> Explainer | Unsupported:
    """The explainer for a fitted binary classifier (a Pipeline of preprocessing and an estimator, or a bare one).

    ``positive_index`` is the position of the positive label in ``classes_``; scores are those of that label.
    """
    from mlgate.pipeline.serve.explain_trees import tree_attribution

    try:
        features, origins, preprocess, estimator = input_origins(pipeline)
    except (ValueError, AttributeError) as exc:  # a step this module does not know, or a changed attribute
        return Unsupported(f"cannot trace the model's columns back to its inputs: {exc}")
    name = type(estimator).__name__
    if len(getattr(estimator, "classes_", ())) != 2:
        return Unsupported(f"{name}: only binary classifiers are explained")
    sign = 1.0 if positive_index == 1 else -1.0

    def transform(frame: pd.DataFrame) -> np.ndarray:
        return _dense(preprocess.transform(frame) if preprocess is not None else frame[list(features)])

    if hasattr(estimator, "coef_") and hasattr(estimator, "decision_function"):
        linear = _linear(estimator, sign)
        if isinstance(linear, str):
            return Unsupported(linear)
        attribute, decision, space = linear
        return Explainer("linear_exact", space, features, origins, transform, attribute, decision, per_input=False)
    trees = tree_attribution(estimator, origins, n_inputs=len(features), positive_index=positive_index)
    if isinstance(trees, str):
        return Unsupported(trees)
    attribute, decision, space = trees
    return Explainer("tree_path_shap", space, features, origins, transform, attribute, decision, per_input=True)
