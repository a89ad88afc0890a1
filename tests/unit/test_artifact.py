"""The model artifact format: skops round trip, mlgate's fixed type allow-list, signature and sha256 checks."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import hypothesis.strategies as st
import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from hypothesis import given
from hypothesis.extra.numpy import arrays
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from mlgate.pipeline.artifact import (
    ALLOWED_TYPES,
    ArtifactError,
    file_sha256,
    load_meta,
    load_model,
    meta_path,
    save_model,
    seal_path,
)
from mlgate.pipeline.candidate import DataBundle, load_data
from mlgate.pipeline.config import ModelSettings, load_config
from mlgate.pipeline.signing import seal_text, sign_model
from mlgate.pipeline.train import ESTIMATORS as SUPPORTED
from mlgate.pipeline.train import REGRESSORS, build_pipeline

ESTIMATORS = {
    "logistic_regression": {"C": 0.5, "max_iter": 1000},
    "hist_gradient_boosting": {"max_iter": 30},
    "random_forest": {"n_estimators": 25},
    "majority_class": {},
}
ESTIMATORS_BY_NAME = {"logistic_regression": LogisticRegression, "random_forest": RandomForestClassifier}
CALLED: list[object] = []


@pytest.fixture(scope="module")
def data(german_config_path: Path) -> DataBundle:
    return load_data(load_config(german_config_path))


@pytest.fixture(scope="module")
def fitted(data: DataBundle) -> dict[str, Pipeline]:
    prepared, parts = data.prepared, data.split
    models = {}
    for name, params in ESTIMATORS.items():
        settings = ModelSettings(estimator=name, params=params)
        pipeline = build_pipeline(settings, prepared.numeric, prepared.categorical, random_state=7)
        models[name] = pipeline.fit(parts.train[prepared.features], parts.y_train)
    return models


def sign_beside(path: Path, *, run_id: str | None = "run-1", model_name: str | None = "m") -> dict:
    """Sign a saved model with the session key and write model.sig.json beside it (as download_bundle does)."""
    seal = sign_model(file_sha256(path), meta_sha256=file_sha256(meta_path(path)), model_name=model_name, run_id=run_id)
    seal_path(path).write_text(seal_text(seal))
    return seal


@pytest.fixture
def saved(tmp_path: Path, fitted: dict[str, Pipeline]) -> Path:
    path = tmp_path / "model.skops"
    save_model(fitted["logistic_regression"], path, threshold=0.4, positive_label=np.int64(1))
    sign_beside(path)
    return path


def _double(x):  # a user function: not in the allow-list, so a pipeline using it must not be saved or loaded
    CALLED.append(x)
    return x * 2


REGRESSION_ESTIMATORS = {
    "hist_gradient_boosting": {"max_iter": 30},
    "random_forest": {"n_estimators": 25},
    "ridge": {},
    "mean": {},
    "median": {},
}


def _other_tasks() -> dict[str, Pipeline]:
    """Every classifier fitted on three classes and every regressor on a numeric target (small synthetic data)."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=300), "b": rng.choice(["x", "y", "z"], size=300)})
    classes, amount = rng.integers(0, 3, size=300), rng.normal(size=300) * 10
    models: dict[str, Pipeline] = {}
    for name, params in ESTIMATORS.items():
        pipe = build_pipeline(
            ModelSettings(estimator=name, params=params), ["a"], ["b"], random_state=7, task="multiclass"
        )
        models[f"multiclass {name}"] = pipe.fit(X, classes)
    for name, params in REGRESSION_ESTIMATORS.items():
        pipe = build_pipeline(
            ModelSettings(estimator=name, params=params), ["a"], ["b"], random_state=7, task="regression"
        )
        models[f"regression {name}"] = pipe.fit(X, amount)
    return models


def test_the_allow_list_is_exactly_what_the_supported_estimators_need(fitted: dict[str, Pipeline]) -> None:
    """Regenerates ALLOWED_TYPES: every supported estimator (with its preprocessing) saves within it, and every
    entry is needed by one of them (a stale entry is a type trusted for nothing)."""
    assert set(ESTIMATORS) == set(SUPPORTED) - {"linear"}  # a new one must be fitted here too ("linear": an alias)
    assert set(REGRESSION_ESTIMATORS) == set(REGRESSORS) - {"linear"}
    models = {**fitted, **_other_tasks()}
    needed = {name: set(sio.get_untrusted_types(data=sio.dumps(model))) for name, model in models.items()}
    missing = {name: sorted(types - set(ALLOWED_TYPES)) for name, types in needed.items() if types - set(ALLOWED_TYPES)}
    assert not missing, f"add these exact type names to pipeline.artifact.ALLOWED_TYPES: {missing}"
    assert set().union(*needed.values()) == set(ALLOWED_TYPES)
    assert all("." in t and not t.endswith(".") for t in ALLOWED_TYPES)  # exact names, never prefixes


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_round_trip_gives_bitwise_identical_probabilities(
    name: str, tmp_path: Path, fitted: dict[str, Pipeline], data: DataBundle
) -> None:
    model = fitted[name]
    path = tmp_path / "model.skops"
    sha = save_model(
        model,
        path,
        numeric=data.prepared.numeric,
        categorical=data.prepared.categorical,
        threshold=0.5,
        positive_label=1,
    )
    meta = load_meta(path)
    loaded = load_model(path, expected_sha256=sha)
    X = data.split.test[data.prepared.features]
    assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert meta["sha256"] == sha
    assert meta["features"] == data.prepared.features  # taken from feature_names_in_
    assert meta["numeric"] == data.prepared.numeric
    assert set(meta["trusted_types"]) <= set(ALLOWED_TYPES)  # informational


def test_tree_models_record_their_tree_type(tmp_path: Path, fitted: dict[str, Pipeline]) -> None:
    save_model(fitted["random_forest"], tmp_path / "model.skops")
    assert "sklearn.tree._tree.Tree" in load_meta(tmp_path / "model.skops")["trusted_types"]


def test_meta_file_is_plain_json_with_loading_facts(saved: Path) -> None:
    meta = json.loads(meta_path(saved).read_text())
    assert meta_path(saved).name == "model.meta.json"
    assert meta["positive_label"] == 1 and isinstance(meta["positive_label"], int)
    assert meta["threshold"] == 0.4
    assert meta["format"] == "mlgate-model/1"
    assert meta["sklearn_version"]


def test_a_signed_model_loads_with_its_signature_beside_it(
    saved: Path, fitted: dict[str, Pipeline], data: DataBundle
) -> None:
    X = data.split.test[data.prepared.features]
    assert np.array_equal(load_model(saved).predict_proba(X), fitted["logistic_regression"].predict_proba(X))
    assert load_model(saved, run_id="run-1", model_name="m") is not None


def test_the_meta_file_is_not_a_record_an_unsigned_model_is_refused(saved: Path) -> None:
    seal_path(saved).unlink()  # the meta's sha256 matches the file, but the meta is not a record
    with pytest.raises(ArtifactError, match=r"model\.skops: the model is not signed \(no model\.sig\.json beside it"):
        load_model(saved)


def test_tampered_file_fails_the_hash_and_the_signature_check(saved: Path) -> None:
    sha = load_meta(saved)["sha256"]
    blob = bytearray(saved.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    saved.write_bytes(bytes(blob))
    expected = rf"model\.skops: sha256 [0-9a-f]{{64}} does not match the recorded sha256 {sha}"
    with pytest.raises(ArtifactError, match=expected):
        load_model(saved, expected_sha256=sha)
    with pytest.raises(ArtifactError, match=rf"model file has sha256 [0-9a-f]{{64}}, the signature .* is for {sha}"):
        load_model(saved)


def test_a_file_swapped_with_its_meta_is_refused_by_the_signature(
    tmp_path: Path, saved: Path, fitted: dict[str, Pipeline]
) -> None:
    signed_sha = load_meta(saved)["sha256"]
    other = tmp_path / "other" / "model.skops"
    save_model(fitted["random_forest"], other)
    shutil.copy2(other, saved)
    shutil.copy2(meta_path(other), meta_path(saved))  # file and meta agree with each other...
    with pytest.raises(ArtifactError, match=f"the signature .* is for {signed_sha}; the file is not the one"):
        load_model(saved)  # ...but not with the signature
    with pytest.raises(ArtifactError, match=f"does not match the recorded sha256 {signed_sha}"):
        load_model(saved, expected_sha256=signed_sha)


def test_a_changed_meta_file_is_refused_by_the_signature(saved: Path) -> None:
    meta = json.loads(meta_path(saved).read_text())
    meta_path(saved).write_text(json.dumps({**meta, "threshold": 0.0}))  # approve everyone
    with pytest.raises(ArtifactError, match=r"model\.meta\.json has sha256 .* the meta file \(threshold, features\)"):
        load_model(saved)


def test_the_signature_must_name_the_expected_run_and_model(saved: Path) -> None:
    with pytest.raises(ArtifactError, match=r"the signature is for run_id 'run-1', not 'run-2'"):
        load_model(saved, run_id="run-2")
    with pytest.raises(ArtifactError, match=r"the signature is for model_name 'm', not 'other'"):
        load_model(saved, model_name="other")


def test_a_type_outside_the_allow_list_is_refused_at_save_time(tmp_path: Path, data: DataBundle) -> None:
    X = data.split.train[["credit_amount", "duration"]]
    model = Pipeline([("double", FunctionTransformer(_double)), ("model", LogisticRegression())])
    model.fit(X, data.split.y_train)
    path = tmp_path / "model.skops"
    with pytest.raises(
        ArtifactError, match=r"refusing to save a model that needs type .*test_artifact\._double, which is not in"
    ) as info:
        save_model(model, path)
    assert "\n" not in str(info.value)
    assert not path.exists() and not meta_path(path).exists()


def test_a_type_outside_the_allow_list_is_refused_at_load_and_never_called(tmp_path: Path, data: DataBundle) -> None:
    X = data.split.train[["credit_amount", "duration"]]
    model = Pipeline([("double", FunctionTransformer(_double)), ("model", LogisticRegression())]).fit(
        X, data.split.y_train
    )
    blob = sio.dumps(model)  # written past save_model, as an attacker would
    path = tmp_path / "model.skops"
    path.write_bytes(blob)
    CALLED.clear()
    with pytest.raises(ArtifactError, match=r"refusing to load a model that needs type .*_double, which is not in"):
        load_model(path, expected_sha256=hashlib.sha256(blob).hexdigest())
    assert CALLED == []


def test_numpy_ufuncs_are_skops_defaults_and_round_trip(tmp_path: Path, data: DataBundle) -> None:
    X = data.split.train[["credit_amount", "duration"]]
    model = Pipeline([("log", FunctionTransformer(np.log1p)), ("model", LogisticRegression())])
    model.fit(X, data.split.y_train)
    sha = save_model(model, tmp_path / "model.skops")
    loaded = load_model(tmp_path / "model.skops", expected_sha256=sha)
    assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_unfitted_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match=r"refusing to save LogisticRegression: it is not a fitted estimator"):
        save_model(LogisticRegression(), tmp_path / "model.skops")


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: p.unlink(), r"model\.skops: model file not found"),
        (lambda p: seal_path(p).unlink(), r"model\.skops: the model is not signed"),
        (lambda p: seal_path(p).write_text("{not json"), r"model\.sig\.json: the model signature is not JSON"),
        (lambda p: seal_path(p).write_text("[]"), r"model\.sig\.json: the model signature must be an object"),
    ],
)
def test_missing_or_broken_files_give_one_line_errors(saved: Path, setup, message: str) -> None:
    setup(saved)
    with pytest.raises(ArtifactError, match=message) as info:
        load_model(saved)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: meta_path(p).unlink(), r"model\.meta\.json: meta file not found"),
        (lambda p: meta_path(p).write_text("{not json"), r"model\.meta\.json: not readable JSON"),
        (lambda p: meta_path(p).write_text("[]"), r"model\.meta\.json: expected a JSON object with 'sha256'"),
    ],
)
def test_a_missing_or_broken_meta_file_gives_one_line_errors(saved: Path, change, message: str) -> None:
    change(saved)
    with pytest.raises(ArtifactError, match=message):
        load_meta(saved)


def test_garbage_with_the_right_hash_is_not_a_model(tmp_path: Path) -> None:
    path = tmp_path / "model.skops"
    path.write_bytes(b"not a zip file")
    with pytest.raises(ArtifactError, match=r"model\.skops: not a readable skops model file"):
        load_model(path, expected_sha256=hashlib.sha256(b"not a zip file").hexdigest())


@given(
    arrays(np.float64, st.tuples(st.integers(6, 40), st.integers(1, 4)), elements=st.floats(-100, 100, width=64)),
    st.sampled_from(["logistic_regression", "random_forest"]),
)
def test_any_fitted_model_round_trips_bitwise(
    tmp_path_factory: pytest.TempPathFactory, X: np.ndarray, name: str
) -> None:
    y = np.arange(len(X)) % 2  # both classes always present
    params = {"n_estimators": 3} if name == "random_forest" else {"max_iter": 5000}
    model = ESTIMATORS_BY_NAME[name](**params, random_state=0).fit(X, y)
    path = tmp_path_factory.mktemp("prop") / "model.skops"
    sha = save_model(model, path)
    loaded = load_model(path, expected_sha256=sha)
    assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X), equal_nan=True)
