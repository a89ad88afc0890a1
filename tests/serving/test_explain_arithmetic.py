"""The arithmetic of :mod:`pipeline.serve.explain` on fitted scikit-learn pipelines (no server).

Linear: each input column's contribution is coefficient x transformed value summed over its columns, and the
contributions plus the intercept are the decision function. Trees: the values equal the Shapley values of the
path-dependent tree game computed by brute force (every subset of the input columns), and add up to the raw score.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import ExtraTreesClassifier, HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, PolynomialFeatures, StandardScaler
from sklearn.tree import DecisionTreeClassifier

from mlgate.pipeline.features import build_preprocessor
from mlgate.pipeline.serve.explain import Explainer, Unsupported, build_explainer

NUMERIC, CATEGORICAL = ["a", "b", "c"], ["d", "e"]
COLUMNS = NUMERIC + CATEGORICAL


def _data(rows: int = 400, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=rows),
            "b": np.where(rng.random(rows) < 0.1, np.nan, rng.normal(3.0, 2.0, size=rows)),
            "c": rng.integers(0, 5, size=rows).astype(float),
            "d": pd.Series(rng.choice(["x", "y", "z", None], size=rows, p=[0.4, 0.3, 0.2, 0.1]), dtype=object),
            "e": pd.Series(rng.choice(["p", "q"], size=rows), dtype=object),
        }
    )
    logit = frame["a"] - 0.5 * frame["b"].fillna(3.0) + (frame["d"] == "x") + 0.8 * (frame["e"] == "q")
    y = (logit + rng.normal(size=rows) > 0).astype(int).to_numpy()
    return frame, y


def _fit(estimator, *, scale: bool = False, preprocess=None) -> Pipeline:
    frame, y = _data()
    features = preprocess if preprocess is not None else build_preprocessor(NUMERIC, CATEGORICAL, scale=scale)
    return Pipeline([("features", features), ("model", estimator)]).fit(frame, y)


def _explainer(pipeline: Pipeline, positive_index: int = 1) -> Explainer:
    explainer = build_explainer(pipeline, positive_index=positive_index)
    assert isinstance(explainer, Explainer), explainer
    return explainer


def _rows(count: int = 12) -> list[pd.DataFrame]:
    frame, _ = _data(rows=200, seed=1)
    return [frame.iloc[[i]] for i in range(count)]


# ---------------------------------------------------------------- linear


def test_linear_contributions_are_coefficient_times_transformed_value_per_input_column():
    pipeline = _fit(LogisticRegression(C=0.5, max_iter=1000), scale=True)
    explainer = _explainer(pipeline)
    model, transform = pipeline[-1], pipeline[:-1]
    names = list(transform.get_feature_names_out())
    for row in _rows():
        explanation = explainer.explain(row)
        transformed = transform.transform(row)[0]
        weighted = dict(zip(names, model.coef_[0] * transformed, strict=True))
        by_column = dict(explanation.contributions)
        for column in NUMERIC:
            assert by_column[column] == weighted[column]
        for column in CATEGORICAL:
            block = [v for name, v in weighted.items() if name.startswith(f"{column}_")]
            assert by_column[column] == pytest.approx(math.fsum(block), abs=1e-15)
        decision = float(model.decision_function(transformed[None, :])[0])
        assert explanation.base_value == float(model.intercept_[0])
        assert abs(explanation.base_value + math.fsum(by_column.values()) - decision) <= 1e-9
        assert explanation.raw_score == decision
        assert (explanation.method, explanation.score_space) == ("linear_exact", "logit")


def test_linear_traces_indicators_dropped_categories_and_passthrough_columns():
    preprocess = ColumnTransformer(
        [
            ("numeric", Pipeline([("impute", SimpleImputer(add_indicator=True)), ("scale", StandardScaler())]), ["b"]),
            ("categorical", OneHotEncoder(drop="first", handle_unknown="ignore"), ["e"]),
            (
                "more",
                Pipeline([("impute", SimpleImputer(strategy="most_frequent")), ("onehot", OneHotEncoder())]),
                ["d"],
            ),
        ],
        remainder="passthrough",
    )
    pipeline = _fit(LogisticRegression(max_iter=1000), preprocess=preprocess)
    explainer = _explainer(pipeline)
    assert list(explainer.features) == COLUMNS
    # b, its missing indicator, e (one column after drop="first"), d (x, y, z and None), then a and c passed through
    assert explainer.origins.tolist() == [1, 1, 4, 3, 3, 3, 3, 0, 2]
    row = _rows()[0].assign(b=np.nan)
    explanation = explainer.explain(row)
    decision = float(pipeline.decision_function(row)[0])
    assert abs(explanation.base_value + math.fsum(v for _, v in explanation.contributions) - decision) <= 1e-9


def test_the_negative_class_as_positive_label_flips_every_sign():
    pipeline = _fit(LogisticRegression(max_iter=1000), scale=True)
    row = _rows()[3]
    positive, negative = _explainer(pipeline, 1).explain(row), _explainer(pipeline, 0).explain(row)
    assert negative.raw_score == -positive.raw_score
    assert dict(negative.contributions) == {k: -v for k, v in positive.contributions}


def test_contributions_are_sorted_largest_first_and_name_every_input_column():
    explanation = _explainer(_fit(LogisticRegression(max_iter=1000), scale=True)).explain(_rows()[0])
    sizes = [abs(v) for _, v in explanation.contributions]
    assert sizes == sorted(sizes, reverse=True)
    assert sorted(name for name, _ in explanation.contributions) == sorted(COLUMNS)


# ---------------------------------------------------------------- trees: brute-force Shapley values


def _sklearn_nodes(tree, scale: float) -> dict[str, np.ndarray]:
    structure = tree.tree_
    proba = structure.value[:, 0, :] / structure.value[:, 0, :].sum(axis=1, keepdims=True)
    return {
        "left": structure.children_left,
        "right": structure.children_right,
        "feature": structure.feature,
        "threshold": structure.threshold,
        "cover": structure.weighted_n_node_samples,
        "value": proba[:, 1] * scale,
        "float32": np.array(True),
    }


def _hist_nodes(predictor) -> dict[str, np.ndarray]:
    nodes = predictor.nodes
    leaf = nodes["is_leaf"].astype(bool)
    return {
        "left": np.where(leaf, -1, nodes["left"].astype(int)),
        "right": np.where(leaf, -1, nodes["right"].astype(int)),
        "feature": nodes["feature_idx"],
        "threshold": nodes["num_threshold"],
        "cover": nodes["count"].astype(float),
        "value": nodes["value"],
        "float32": np.array(False),
    }


def _expected(tree: dict[str, np.ndarray], x: np.ndarray, players: set[int], origins: np.ndarray, node=0) -> float:
    """Algorithm 1 of Lundberg et al. (2020): follow x on a split by a player in the set, else average by cover."""
    left, right = tree["left"][node], tree["right"][node]
    if left < 0:
        return float(tree["value"][node])
    feature = tree["feature"][node]
    if origins[feature] in players:
        value = np.float32(x[feature]) if tree["float32"] else x[feature]
        return _expected(tree, x, players, origins, left if value <= tree["threshold"][node] else right)
    share = tree["cover"][left] / tree["cover"][node]
    return share * _expected(tree, x, players, origins, left) + (1 - share) * _expected(
        tree, x, players, origins, right
    )


def _brute_force_shapley(trees, x: np.ndarray, origins: np.ndarray, n: int) -> np.ndarray:
    def game(players: set[int]) -> float:
        return math.fsum(_expected(tree, x, players, origins) for tree in trees)

    phi = np.zeros(n)
    for i in range(n):
        others = [j for j in range(n) if j != i]
        for size in range(n):
            weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
            for subset in itertools.combinations(others, size):
                phi[i] += weight * (game({*subset, i}) - game(set(subset)))
    return phi


TREE_MODELS = [
    pytest.param(HistGradientBoostingClassifier(max_iter=12, max_depth=4, random_state=0), id="hist-gradient-boosting"),
    pytest.param(RandomForestClassifier(n_estimators=4, max_depth=5, random_state=0), id="random-forest"),
    pytest.param(ExtraTreesClassifier(n_estimators=3, max_depth=5, random_state=0), id="extra-trees"),
    pytest.param(DecisionTreeClassifier(max_depth=6, random_state=0), id="decision-tree"),
]


def _node_arrays(model) -> list[dict[str, np.ndarray]]:
    if isinstance(model, HistGradientBoostingClassifier):
        return [_hist_nodes(iteration[0]) for iteration in model._predictors]
    members = getattr(model, "estimators_", [model])
    return [_sklearn_nodes(tree, 1.0 / len(members)) for tree in members]


@pytest.mark.parametrize("model", TREE_MODELS)
def test_tree_values_are_the_brute_force_shapley_values_of_the_input_columns(model):
    pipeline = _fit(model)
    explainer = _explainer(pipeline)
    trees = _node_arrays(pipeline[-1])
    for row in _rows(6):
        explanation = explainer.explain(row)
        x = np.asarray(pipeline[:-1].transform(row), dtype=np.float64)[0]
        expected = _brute_force_shapley(trees, x, explainer.origins, len(COLUMNS))
        observed = dict(explanation.contributions)
        assert [observed[c] for c in COLUMNS] == pytest.approx(expected.tolist(), abs=1e-12)


@pytest.mark.parametrize("model", TREE_MODELS)
def test_tree_values_add_up_to_the_raw_score(model):
    pipeline = _fit(model)
    explainer = _explainer(pipeline)
    boosted = isinstance(model, HistGradientBoostingClassifier)
    assert explainer.score_space == ("logit" if boosted else "probability")
    for row in _rows(15):
        explanation = explainer.explain(row)
        raw = float(pipeline.decision_function(row)[0]) if boosted else float(pipeline.predict_proba(row)[0, 1])
        assert explanation.raw_score == raw
        total = explanation.base_value + math.fsum(v for _, v in explanation.contributions)
        assert abs(total - raw) <= 1e-9


@pytest.fixture(scope="module")
def boosted() -> Explainer:
    return _explainer(_fit(HistGradientBoostingClassifier(max_iter=40, random_state=0)))


@settings(max_examples=25)  # each example is two HistGradientBoosting predictions (about 50 ms)
@given(
    a=st.floats(-1e6, 1e6),
    b=st.one_of(st.just(float("nan")), st.floats(-1e6, 1e6)),
    c=st.floats(-10, 10),
    d=st.sampled_from(["x", "y", "z", "unseen", None]),
    e=st.sampled_from(["p", "q"]),
)
def test_gradient_boosting_adds_up_for_any_record(boosted, a, b, c, d, e):
    numbers = pd.DataFrame({"a": [a], "b": [b], "c": [c]}, dtype=np.float64)
    row = numbers.assign(d=pd.Series([d], dtype=object), e=pd.Series([e], dtype=object))
    explanation = boosted.explain(row)
    total = explanation.base_value + math.fsum(v for _, v in explanation.contributions)
    assert abs(total - explanation.raw_score) <= 1e-9 * max(1.0, abs(explanation.raw_score))


# ---------------------------------------------------------------- refusals and the additivity guard


@pytest.mark.parametrize(
    ("pipeline", "named"),
    [
        pytest.param(lambda: _fit(DummyClassifier()), "DummyClassifier", id="dummy"),
        pytest.param(
            lambda: _fit(
                LogisticRegression(max_iter=1000),
                preprocess=ColumnTransformer(
                    [("poly", Pipeline([("i", SimpleImputer()), ("p", PolynomialFeatures())]), NUMERIC)]
                ),
            ),
            "PolynomialFeatures",
            id="interaction-terms",
        ),
    ],
)
def test_a_model_without_an_exact_method_is_unsupported_naming_it(pipeline, named):
    explainer = build_explainer(pipeline(), positive_index=1)
    assert isinstance(explainer, Unsupported)
    assert named in explainer.reason


def test_a_multiclass_model_is_unsupported():
    frame, y = _data()
    pipeline = Pipeline([("f", build_preprocessor(NUMERIC, CATEGORICAL, scale=True)), ("m", LogisticRegression())])
    pipeline.fit(frame, y + (frame["c"].to_numpy() > 3))
    explainer = build_explainer(pipeline, positive_index=1)
    assert isinstance(explainer, Unsupported)
    assert "only binary" in explainer.reason


def test_contributions_that_miss_the_score_are_an_error_not_an_answer():
    explainer = _explainer(_fit(LogisticRegression(max_iter=1000), scale=True))
    broken = Explainer(
        explainer.method,
        explainer.score_space,
        explainer.features,
        explainer.origins,
        explainer.transform,
        explainer.attribute,
        lambda row: explainer.decision(row) + 1e-6,
        per_input=False,
    )
    with pytest.raises(ArithmeticError, match="contributions miss the raw score"):
        broken.explain(_rows()[0])
