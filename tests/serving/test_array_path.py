"""The array path (pipeline.serve.array_path): the compiled preprocessing scores bit for bit like the fitted
scikit-learn pipeline, for the bundled German credit model and for models of every task and estimator kind, over
random records (missing values in every column, unknown categories, extreme numbers, batches of 1 to 50); every
structure it does not support is refused with its reason, and the app picks its path at load
(pipeline.serve.state.select_path) and answers the same either way."""

from __future__ import annotations

import dataclasses
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, StandardScaler

from mlgate.pipeline.config import load_config
from mlgate.pipeline.config_sections import ModelSettings
from mlgate.pipeline.dataload import load_data
from mlgate.pipeline.schema_file import parse_schema_yaml, read_schema_text
from mlgate.pipeline.serve.array_path import ArrayModel, ServingPath, compile_model, frame_of, probe_rows, verify
from mlgate.pipeline.serve.loader import load_model
from mlgate.pipeline.serve.metrics import ServingMetrics
from mlgate.pipeline.serve.models import ColumnSpec, column_specs
from mlgate.pipeline.serve.predict import _answer
from mlgate.pipeline.serve.state import select_path, serving_state
from mlgate.pipeline.serve.tasks import TaskRule, check_model, response_models, score
from mlgate.pipeline.train import build_pipeline

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = {"German credit": ROOT, "wine": ROOT / "examples" / "wine", "diabetes": ROOT / "examples" / "diabetes"}
SETTINGS = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
ESTIMATORS = {
    "binary": {
        "logistic_regression": {"C": 0.5, "max_iter": 1000},
        "hist_gradient_boosting": {"max_iter": 20},
        "random_forest": {"n_estimators": 15},
        "majority_class": {},
        "sklearn.tree.DecisionTreeClassifier": {"max_depth": 5},
    },
    "multiclass": {
        "logistic_regression": {"max_iter": 2000},
        "hist_gradient_boosting": {"max_iter": 20},
        "random_forest": {"n_estimators": 15},
        "majority_class": {},
    },
    "regression": {
        "ridge": {},
        "hist_gradient_boosting": {"max_iter": 20},
        "random_forest": {"n_estimators": 15},
        "mean": {},
        "median": {},
        "sklearn.linear_model.Lasso": {"alpha": 0.1},
    },
}
PROJECT = {"binary": "German credit", "multiclass": "wine", "regression": "diabetes"}


@dataclasses.dataclass(frozen=True)
class Project:
    data: Any
    specs: tuple[ColumnSpec, ...]

    @property
    def train(self) -> tuple[pd.DataFrame, pd.Series]:
        return self.data.split.train[self.data.prepared.features], self.data.split.y_train


@pytest.fixture(scope="module")
def projects() -> dict[str, Project]:
    found = {}
    for name, folder in EXAMPLES.items():
        config = load_config(folder / "mlgate.toml")
        data = load_data(config)
        schema_path = config.schema_path
        schema = parse_schema_yaml(read_schema_text(schema_path), schema_path)
        specs = column_specs(schema, data.prepared.features, source=str(schema_path))
        found[name] = Project(data, tuple(specs))
    return found


def _nullable(specs: tuple[ColumnSpec, ...]) -> tuple[ColumnSpec, ...]:
    return tuple(dataclasses.replace(spec, nullable=True) for spec in specs)


def _values(spec: ColumnSpec) -> st.SearchStrategy[Any]:
    """Valid, unknown and extreme values of one field (None when the field is nullable)."""
    if spec.kind == "str":
        known = [*(spec.allowed or ()), "missing", "", "0", "1", "unknown"]
        base: st.SearchStrategy[Any] = st.sampled_from(known) | st.text(max_size=4)
    elif spec.kind == "int":
        base = st.integers(-1000, 30_000) | st.integers(-(2**63), 2**63 - 1)
    elif spec.kind == "float":
        base = st.floats(-1e4, 1e4) | st.floats(allow_nan=False, allow_infinity=False)
    else:
        base = st.booleans()
    return st.none() | base if spec.nullable else base


def _batches(specs: tuple[ColumnSpec, ...]) -> st.SearchStrategy[list[dict[str, Any]]]:
    record = st.fixed_dictionaries({spec.name: _values(spec) for spec in specs})
    return st.lists(record, min_size=1, max_size=50)


def _outcome(call: Any) -> tuple[str, Any]:
    try:
        return "scored", np.asarray(call())
    except Exception as exc:  # an overflow (a warning is an error here): both paths must refuse alike
        return "refused", f"{type(exc).__name__}: {exc}"


def _assert_same(expected: tuple[str, Any], observed: tuple[str, Any]) -> None:
    assert expected[0] == observed[0], (expected, observed)
    if expected[0] == "refused":
        assert expected[1] == observed[1]
        return
    want, got = expected[1], observed[1]
    assert want.dtype == got.dtype and want.shape == got.shape
    if want.dtype.kind == "f":
        assert want.tobytes() == got.tobytes(), float(np.nanmax(np.abs(want - got)))
    else:
        assert np.array_equal(want, got)


def _assert_scores_alike(model: Any, array: ArrayModel, rows: list[dict[str, Any]], specs) -> None:
    frame = frame_of(rows, specs)
    _assert_same(_outcome(lambda: model.steps[0][1].transform(frame)), _outcome(lambda: array.transform(rows)))
    methods = ["predict_proba", "predict"] if hasattr(model, "predict_proba") else ["predict"]
    for method in methods:
        expected = _outcome(lambda method=method: getattr(model, method)(frame))
        _assert_same(expected, _outcome(lambda method=method: getattr(array, method)(rows)))


@pytest.mark.parametrize("nullable", [False, True], ids=["schema", "every-field-nullable"])
def test_the_german_credit_model_scores_bitwise_alike(trained, projects, nullable):
    _, candidate = trained
    specs = projects["German credit"].specs
    specs = _nullable(specs) if nullable else specs
    array = compile_model(candidate.pipeline, specs)
    assert isinstance(array, ArrayModel)

    @SETTINGS
    @given(rows=_batches(specs))
    def check(rows):
        _assert_scores_alike(candidate.pipeline, array, rows, specs)

    check()


def _fitted(project: Project, task: str, estimator: str, params: dict[str, Any]) -> Pipeline:
    prepared = project.data.prepared
    settings_ = ModelSettings(estimator=estimator, params=params)
    pipeline = build_pipeline(settings_, prepared.numeric, prepared.categorical, random_state=3, task=task)
    X, y = project.train
    return pipeline.fit(X, y)


CASES = [(task, name) for task, names in ESTIMATORS.items() for name in names]


@pytest.mark.parametrize(("task", "estimator"), CASES, ids=[f"{t}-{e}" for t, e in CASES])
def test_every_task_and_estimator_scores_bitwise_alike(projects, task, estimator):
    project = projects[PROJECT[task]]
    model = _fitted(project, task, estimator, ESTIMATORS[task][estimator])
    specs = _nullable(project.specs)
    array = compile_model(model, specs)
    assert isinstance(array, ArrayModel)
    assert verify(array, model, frame_of(probe_rows(array, specs), specs)) is None

    @SETTINGS
    @given(rows=_batches(specs))
    def check(rows):
        _assert_scores_alike(model, array, rows, specs)

    check()


# -- unsupported structures ------------------------------------------------------------------------------------------

NUMERIC = ["credit_amount", "duration", "age"]
CATEGORICAL = ["sex", "job", "housing", "saving_accounts", "checking_account", "purpose"]


def _pipeline(*, numeric=None, categorical=None, remainder="drop", weights=None, estimator=None, extra=()) -> Pipeline:
    numeric = numeric or [("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]
    categorical = categorical or [
        ("impute", SimpleImputer(strategy="constant", fill_value="missing")),
        ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
    ]
    features = ColumnTransformer(
        [("numeric", Pipeline(numeric), NUMERIC), ("categorical", Pipeline(categorical), CATEGORICAL)],
        remainder=remainder,
        transformer_weights=weights,
        verbose_feature_names_out=False,
    )
    return Pipeline([("features", features), ("model", estimator or DummyClassifier()), *extra])


def _encoder(**params) -> dict[str, Any]:
    imputer = SimpleImputer(strategy="constant", fill_value="missing")
    return {"categorical": [("impute", imputer), ("onehot", OneHotEncoder(**{"sparse_output": False, **params}))]}


UNSUPPORTED = {
    "drop-first": (
        _encoder(handle_unknown="ignore", drop="first"),
        "features.categorical.onehot: drop='first' is not supported by the array path",
    ),
    "unknown-error": (_encoder(), "features.categorical.onehot: handle_unknown='error' is not supported"),
    "min-frequency": (_encoder(handle_unknown="ignore", min_frequency=5), "onehot: min_frequency=5"),
    "infrequent": (
        _encoder(handle_unknown="infrequent_if_exist"),
        "features.categorical.onehot: handle_unknown='infrequent_if_exist' is not supported",
    ),
    "max-categories": (_encoder(handle_unknown="ignore", max_categories=3), "onehot: max_categories=3"),
    "float32": (_encoder(handle_unknown="ignore", dtype=np.float32), "onehot: dtype=<class 'numpy.float32'>"),
    "sparse": (
        _encoder(handle_unknown="ignore", sparse_output=True),
        "features.categorical.onehot: sparse_output=True is not supported",
    ),
    "most-frequent": (
        {"numeric": [("impute", SimpleImputer(strategy="most_frequent"))]},
        "features.numeric.impute: strategy='most_frequent' is not supported",
    ),
    "indicator": (
        {"numeric": [("impute", SimpleImputer(strategy="median", add_indicator=True))]},
        "features.numeric.impute: add_indicator=True is not supported",
    ),
    "min-max": (
        {"numeric": [("impute", SimpleImputer(strategy="median")), ("scale", MinMaxScaler())]},
        "features.numeric.scale: MinMaxScaler (expected StandardScaler) is not supported",
    ),
    "passthrough": ({"remainder": "passthrough"}, "features: remainder='passthrough' is not supported"),
    "weights": ({"weights": {"numeric": 2.0}}, "features: transformer_weights={'numeric': 2.0} is not supported"),
}


@pytest.mark.parametrize(("change", "reason"), UNSUPPORTED.values(), ids=list(UNSUPPORTED))
def test_each_unsupported_structure_gives_its_reason(projects, change, reason):
    project = projects["German credit"]
    X, y = project.train
    model = _pipeline(**change).fit(X, y)
    found = compile_model(model, project.specs)
    assert isinstance(found, str) and reason in found, found


def test_models_that_are_not_the_supported_pipeline_give_their_reason(trained, projects):
    _, candidate = trained
    specs, model = projects["German credit"].specs, candidate.pipeline
    bare = LogisticRegression().fit(np.eye(2), [0, 1])
    assert (
        compile_model(bare, specs) == "model: LogisticRegression (expected Pipeline) is not supported by the array path"
    )
    assert "a pipeline of 3 steps" in compile_model(Pipeline([*model.steps, ("again", "passthrough")]), specs)
    assert "cannot be read (AttributeError" in compile_model(_pipeline(), specs)  # not fitted
    as_int = tuple(dataclasses.replace(s, kind="int") if s.name == "job" else s for s in specs)
    reason = "features: categorical column 'job' served as int is not supported by the array path"
    assert compile_model(model, as_int) == reason
    assert compile_model(model, specs[1:]) == "features: column 'sex' is not a request field"
    pandas_out = Pipeline([("features", model.steps[0][1]), ("model", model.steps[1][1])])
    pandas_out.steps[0][1].set_output(transform="pandas")
    try:
        assert "set_output(transform='pandas')" in compile_model(pandas_out, specs)
    finally:
        pandas_out.steps[0][1].set_output(transform="default")


def test_verify_reports_a_one_ulp_difference(trained, projects):
    _, candidate = trained
    specs = projects["German credit"].specs
    array = compile_model(candidate.pipeline, specs)
    assert isinstance(array, ArrayModel)
    frame = frame_of(probe_rows(array, specs), specs)
    assert verify(array, candidate.pipeline, frame) is None
    block = array.numeric[0]
    block.mean[0] = np.nextafter(block.mean[0], np.inf)  # type: ignore[index]
    try:
        reason = verify(array, candidate.pipeline, frame)
    finally:
        block.mean[0] = np.nextafter(block.mean[0], -np.inf)  # type: ignore[index]
    assert reason is not None and reason.startswith("features: ") and "max absolute difference 2.2" in reason


# -- the app ---------------------------------------------------------------------------------------------------------


def _served(bundle: Path) -> Any:
    served = serving_state(bundle, max_batch=1000, max_body_bytes=2_000_000)
    model = load_model(served.info)
    served.loaded.positive_index = check_model(model, served.rule, served.info.model_path)
    served.loaded.model, served.loaded.error = model, ""
    return served, model


def test_the_app_serves_the_array_path_once_verified_and_answers_the_same(new_bundle, golden):
    served, model = _served(new_bundle("array-path"))
    assert served.loaded.path == ServingPath("sklearn", "model not loaded yet")
    assert select_path(served, model) == ServingPath("array") == served.loaded.path
    array = served.loaded.array
    single, batch = response_models(served.rule)
    fields = (tuple(single.model_fields), tuple(batch.model_fields))
    adapter = TypeAdapter(single | batch)
    for body in [{"records": golden.records}, *golden.records[:20]]:
        raw = json.dumps(body).encode()
        fast = _answer(served, fields, raw, "application/json", "r", datetime.now(UTC), time.perf_counter())
        served.loaded.array = None
        slow = _answer(served, fields, raw, "application/json", "r", datetime.now(UTC), time.perf_counter())
        served.loaded.array = array
        assert fast == slow  # floats by repr: bit for bit
        # the bytes FastAPI made when it validated and encoded the answer through the response model itself
        dumped = adapter.dump_python(adapter.validate_python(json.loads(fast)), mode="json", by_alias=True)
        assert fast == json.dumps(dumped, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
    assert select_path(served, model, prefer="sklearn") == ServingPath("sklearn", "the scikit-learn path was asked for")
    assert served.loaded.array is None


def test_the_golden_rows_are_verified_and_an_unreadable_golden_set_is_not_served(new_bundle, golden):
    bundle = new_bundle("golden")
    (bundle / "golden.json").write_text(json.dumps({"rows": golden.records, "proba": golden.proba.tolist()}))
    served, model = _served(bundle)
    assert select_path(served, model) == ServingPath("array")
    (bundle / "golden.json").write_text(json.dumps({"rows": [{"sex": "male"}]}))
    path = select_path(served, model)
    assert path.path == "sklearn" and path.reason == "not verified (KeyError: 'job')" and served.loaded.array is None
    (bundle / "golden.json").write_text("{")
    assert "golden.json: not readable JSON" in str(select_path(served, model).reason)


def test_a_model_without_the_array_path_is_served_by_scikit_learn_with_the_reason(new_bundle, monkeypatch):
    served, model = _served(new_bundle("fallback"))
    monkeypatch.setattr(ArrayModel, "transform", lambda self, rows: np.zeros((len(rows), self.width)))
    path = select_path(served, model)
    assert path.path == "sklearn" and str(path.reason).startswith("not verified: features: ")
    assert served.loaded.array is None


@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_scoring_other_tasks_answers_the_same_on_either_path(projects, task):
    project = projects[PROJECT[task]]
    estimator = next(iter(ESTIMATORS[task]))
    model = _fitted(project, task, estimator, ESTIMATORS[task][estimator])
    array = compile_model(model, project.specs)
    assert isinstance(array, ArrayModel)
    classes = tuple(f"c{i}" for i in range(len(getattr(model, "classes_", []))))
    rule = TaskRule(task=task, classes=classes)
    rows = frame_of(probe_rows(array, project.specs), project.specs).to_dict("records")
    fast = score(array, rows, rule, positive_index=-1, metrics=ServingMetrics())
    slow = score(model, frame_of(rows, project.specs), rule, positive_index=-1, metrics=ServingMetrics())
    assert json.dumps(fast.answers) == json.dumps(slow.answers)
