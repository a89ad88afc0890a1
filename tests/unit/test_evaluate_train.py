from __future__ import annotations

import hypothesis.strategies as st
import numpy as np
import pandas as pd
import pytest
from hypothesis import given

from mlgate.pipeline.candidate import load_data, train_candidate
from mlgate.pipeline.config import CostMatrix, ModelSettings, load_config
from mlgate.pipeline.errors import TrainingError
from mlgate.pipeline.evaluate import choose_threshold, evaluate, expected_cost, metric_function
from mlgate.pipeline.train import build_pipeline, fit

COSTS = CostMatrix(false_positive=5, false_negative=1)


@given(st.lists(st.tuples(st.floats(0, 1), st.integers(0, 1)), min_size=1, max_size=60))
def test_chosen_threshold_minimises_cost_like_brute_force(pairs: list[tuple[float, int]]) -> None:
    proba = np.array([p for p, _ in pairs])
    y = np.array([label for _, label in pairs])
    chosen = choose_threshold(y, proba, COSTS)
    best = min(expected_cost(y, (proba >= t).astype(int), COSTS) for t in [*proba, 0.0, np.nextafter(1.0, 2.0)])
    assert expected_cost(y, (proba >= chosen).astype(int), COSTS) == pytest.approx(best)
    assert 0.0 <= chosen <= np.nextafter(1.0, 2.0)


def test_expected_cost_counts_each_error_at_its_price() -> None:
    y = np.array([1, 1, 0, 0])
    decision = np.array([1, 0, 1, 0])  # tp, fn, fp, tn
    assert expected_cost(y, decision, COSTS) == pytest.approx((1 * 1 + 1 * 5) / 4)


def test_evaluate_reports_slices_and_undefined_metrics_as_none() -> None:
    y = pd.Series([1, 0, 1, 1, 0, 1])
    proba = np.array([0.9, 0.2, 0.8, 0.4, 0.6, 0.7])
    groups = {"sex": pd.Series(["f", "f", "m", "m", "m", "x"])}
    result = evaluate(y, proba, threshold=0.5, costs=COSTS, groups=groups)
    assert result.overall["roc_auc"] == pytest.approx(7 / 8)
    assert result.confusion == {"tp": 3, "fp": 1, "tn": 1, "fn": 1}
    assert result.slices["sex"]["x"]["n"] == 1 and result.slices["sex"]["x"]["metrics"]["roc_auc"] is None
    assert result.slices["sex"]["f"]["metrics"]["accuracy"] == 1.0


def test_unknown_metric_is_named() -> None:
    with pytest.raises(KeyError, match="unknown metric 'rocauc'"):
        metric_function("rocauc")


def test_estimator_names_and_errors() -> None:
    with pytest.raises(TrainingError, match="neither a short name"):
        build_pipeline(ModelSettings(estimator="boosted_magic"), [], ["a"], random_state=0)
    with pytest.raises(TrainingError, match="cannot be imported"):
        build_pipeline(ModelSettings(estimator="sklearn.nope.Thing"), [], ["a"], random_state=0)
    with pytest.raises(TrainingError, match="not a scikit-learn classifier"):
        build_pipeline(ModelSettings(estimator="sklearn.preprocessing.StandardScaler"), [], ["a"], random_state=0)
    with pytest.raises(TrainingError, match=r"^model\.params\.depth: LogisticRegression has no parameter 'depth'"):
        build_pipeline(ModelSettings(estimator="logistic_regression", params={"depth": 3}), [], ["a"], random_state=0)
    pipe = build_pipeline(ModelSettings(estimator="sklearn.ensemble.ExtraTreesClassifier"), ["n"], [], random_state=5)
    assert pipe.named_steps["model"].random_state == 5


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"params": {"C": "abc"}}, r"^model\.params\.C: The 'C' parameter of LogisticRegression must be a float"),
        ({"params": {"C": -1.0}}, r"^model\.params\.C: .*Got -1\.0 instead"),
        ({"params": {"Cc": 1.0}}, r"^model\.params\.Cc: .*no parameter 'Cc'; did you mean 'C'\?"),
        (
            {"search": {"enabled": True, "param_distributions": {"depth": [1, 2]}}},
            r"^model\.search\.param_distributions\.depth: LogisticRegression has no parameter 'depth'",
        ),
        (
            {"search": {"enabled": True, "param_distributions": {"C": [1.0, "x"]}}},
            r"^model\.search\.param_distributions\.C\[1\]: The 'C' parameter .* Got 'x' instead",
        ),
    ],
)
def test_estimator_parameters_are_checked_before_fitting_and_named_by_key(settings: dict, message: str) -> None:
    model = ModelSettings.model_validate({"estimator": "logistic_regression", **settings})
    with pytest.raises(TrainingError, match=message) as info:
        build_pipeline(model, ["n"], [], random_state=0)
    assert "Traceback" not in str(info.value) and "\n" not in str(info.value)


def test_an_unknown_search_scoring_is_named_before_the_search() -> None:
    X = pd.DataFrame({"n": np.arange(20.0)})
    y = pd.Series([0, 1] * 10)
    settings = ModelSettings.model_validate(
        {
            "estimator": "logistic_regression",
            "search": {"enabled": True, "scoring": "rocauc", "param_distributions": {"C": [1.0]}},
        }
    )
    with pytest.raises(
        TrainingError, match=r"^model\.search\.scoring: 'rocauc' is not a scikit-learn scorer name; did you"
    ):
        fit(settings, X, y, numeric=["n"], categorical=[], random_state=0)


def test_metric_names_outside_the_table_are_refused_even_if_sklearn_has_them() -> None:
    for name in ("confusion_matrix", "auc", "roc_auc_score"):
        with pytest.raises(KeyError):
            metric_function(name)


def test_seeded_search_is_reproducible() -> None:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=200), "c": rng.choice(["u", "v"], 200)})
    y = pd.Series((X["a"] + rng.normal(scale=0.5, size=200) > 0).astype(int))
    settings = ModelSettings(
        estimator="random_forest",
        params={"n_estimators": 20},
        search={"enabled": True, "n_iter": 3, "param_distributions": {"max_depth": [2, 4, 8]}},
    )
    one = fit(settings, X, y, numeric=["a"], categorical=["c"], random_state=3)
    two = fit(settings, X, y, numeric=["a"], categorical=["c"], random_state=3)
    assert one.search["best_params"] == two.search["best_params"]
    assert np.array_equal(one.pipeline.predict_proba(X), two.pipeline.predict_proba(X))


def test_candidate_threshold_comes_from_validation_not_test(german_config_path) -> None:
    config = load_config(german_config_path)
    data = load_data(config)
    candidate = train_candidate(config, data, random_state=config.model.random_state)
    assert candidate.threshold_source == "validation"
    assert candidate.threshold == choose_threshold(
        data.split.y_validation.to_numpy(), candidate.proba_validation, config.quality.cost_matrix
    )
    assert set(candidate.evaluation.slices) == {"housing", "purpose", "sex", "age"}
    assert candidate.evaluation.n == len(data.split.test)
