"""The model artifact format: skops round trip, sha256 verification, explicit trusted types."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given
from hypothesis.extra.numpy import arrays
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from pipeline.artifact import ArtifactError, load_meta, load_model, meta_path, save_model
from pipeline.candidate import DataBundle, load_data
from pipeline.config import ModelSettings, load_config
from pipeline.train import build_pipeline

ESTIMATORS = {
    "logistic_regression": {"C": 0.5, "max_iter": 1000},
    "hist_gradient_boosting": {"max_iter": 30},
    "random_forest": {"n_estimators": 25},
}
ESTIMATORS_BY_NAME = {"logistic_regression": LogisticRegression, "random_forest": RandomForestClassifier}


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


@pytest.fixture
def saved(tmp_path: Path, fitted: dict[str, Pipeline]) -> Path:
    path = tmp_path / "model.skops"
    save_model(fitted["logistic_regression"], path, threshold=0.4, positive_label=np.int64(1))
    return path


def _double(x):  # a user function: not in the allow-list, so a pipeline using it must not be saved
    return x * 2


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
    loaded = load_model(path, expected_sha256=sha, trusted=meta["trusted_types"])
    X = data.split.test[data.prepared.features]
    assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert meta["sha256"] == sha
    assert meta["features"] == data.prepared.features  # taken from feature_names_in_
    assert meta["numeric"] == data.prepared.numeric
    assert all(t.startswith(("sklearn.", "numpy.", "scipy.")) for t in meta["trusted_types"])


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


def test_load_defaults_to_the_meta_file(saved: Path, fitted: dict[str, Pipeline], data: DataBundle) -> None:
    X = data.split.test[data.prepared.features]
    assert np.array_equal(load_model(saved).predict_proba(X), fitted["logistic_regression"].predict_proba(X))


def test_tampered_file_fails_the_hash_check(saved: Path) -> None:
    sha = load_meta(saved)["sha256"]
    blob = bytearray(saved.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    saved.write_bytes(bytes(blob))
    expected = rf"model\.skops: sha256 [0-9a-f]{{64}} does not match the recorded sha256 {sha}"
    with pytest.raises(ArtifactError, match=expected):
        load_model(saved, expected_sha256=sha, trusted=[])
    with pytest.raises(ArtifactError, match="does not match the recorded sha256"):
        load_model(saved)  # the meta's record catches it too


def test_a_file_swapped_with_its_meta_is_refused_by_the_independent_record(
    tmp_path: Path, saved: Path, fitted: dict[str, Pipeline]
) -> None:
    registry_sha = load_meta(saved)["sha256"]
    other = tmp_path / "other" / "model.skops"
    save_model(fitted["random_forest"], other)
    shutil.copy2(other, saved)
    shutil.copy2(meta_path(other), meta_path(saved))
    load_model(saved)  # self-consistent on its own...
    with pytest.raises(ArtifactError, match=f"does not match the recorded sha256 {registry_sha}"):
        load_model(saved, expected_sha256=registry_sha)  # ...but not what the registry recorded


def test_meta_of_another_model_is_refused(tmp_path: Path, saved: Path, fitted: dict[str, Pipeline]) -> None:
    sha = load_meta(saved)["sha256"]
    other = tmp_path / "other" / "model.skops"
    save_model(fitted["random_forest"], other)
    shutil.copy2(meta_path(other), meta_path(saved))
    with pytest.raises(ArtifactError, match=r"model\.meta\.json: describes a file with sha256 .* belongs to another"):
        load_model(saved, expected_sha256=sha)


def test_untrusted_type_is_refused_at_save_time(tmp_path: Path, data: DataBundle) -> None:
    X = data.split.train[["credit_amount", "duration"]]
    model = Pipeline([("double", FunctionTransformer(_double)), ("model", LogisticRegression())])
    model.fit(X, data.split.y_train)
    path = tmp_path / "model.skops"
    with pytest.raises(ArtifactError, match=r"refusing to save a model that needs untrusted types .*\._double"):
        save_model(model, path)
    assert not path.exists() and not meta_path(path).exists()


def test_numpy_functions_round_trip(tmp_path: Path, data: DataBundle) -> None:
    X = data.split.train[["credit_amount", "duration"]]
    model = Pipeline([("log", FunctionTransformer(np.log1p)), ("model", LogisticRegression())])
    model.fit(X, data.split.y_train)
    save_model(model, tmp_path / "model.skops")
    assert np.array_equal(load_model(tmp_path / "model.skops").predict_proba(X), model.predict_proba(X))


def test_a_trusted_list_outside_the_allow_list_is_refused_at_load(saved: Path) -> None:
    with pytest.raises(ArtifactError, match=r"refusing to trust types os\.system \(allowed module prefixes"):
        load_model(saved, trusted=[*load_meta(saved)["trusted_types"], "os.system"])


def test_a_trusted_list_missing_a_needed_type_is_refused_by_skops(tmp_path: Path, fitted: dict[str, Pipeline]) -> None:
    path = tmp_path / "model.skops"
    sha = save_model(fitted["random_forest"], path)
    with pytest.raises(ArtifactError, match=r"types that are not in its trusted list: .*sklearn\.tree\._tree\.Tree"):
        load_model(path, expected_sha256=sha, trusted=["numpy.dtype"])


def test_unfitted_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match=r"refusing to save LogisticRegression: it is not a fitted estimator"):
        save_model(LogisticRegression(), tmp_path / "model.skops")


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: p.unlink(), r"model\.skops: model file not found"),
        (lambda p: meta_path(p).unlink(), r"model\.meta\.json: meta file not found"),
        (lambda p: meta_path(p).write_text("{not json"), r"model\.meta\.json: not readable JSON"),
        (lambda p: meta_path(p).write_text("[]"), r"model\.meta\.json: expected a JSON object with 'sha256'"),
    ],
)
def test_missing_or_broken_files_give_one_line_errors(saved: Path, setup, message: str) -> None:
    setup(saved)
    with pytest.raises(ArtifactError, match=message) as info:
        load_model(saved)
    assert "\n" not in str(info.value)


def test_garbage_with_the_right_hash_is_not_a_model(tmp_path: Path) -> None:
    import hashlib

    path = tmp_path / "model.skops"
    path.write_bytes(b"not a zip file")
    with pytest.raises(ArtifactError, match=r"model\.skops: not a readable skops model file"):
        load_model(path, expected_sha256=hashlib.sha256(b"not a zip file").hexdigest(), trusted=[])


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
