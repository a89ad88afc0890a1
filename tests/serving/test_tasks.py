"""Serving a multi-class and a regression model, the way a user gets there: scikit-learn's wine classes and
diabetes progression written as two projects, ``mlgate schema infer``, ``mlgate run`` (registered), the release
bundle built from the registry (``ci.release_flow.build_release_bundle``: the model, its golden set), then the app
under a real uvicorn server (``python -m mlgate.pipeline.serve``) and httpx.

Every served score must equal the registered model's own ``predict_proba`` / ``predict`` on the same rows, bit
for bit; the multi-class decision is the gate's rule (``pipeline.task_metrics.decide_classes``).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from fixtures.project import mlgate

from mlgate.checks.result import GateReport
from mlgate.ci.release.smoke import compare_golden
from mlgate.ci.release_flow import build_release_bundle
from mlgate.pipeline.config import load_config
from mlgate.pipeline.serve.loader import BundleError, load_model, read_bundle
from mlgate.pipeline.serve.tasks import TaskRule, check_model
from mlgate.pipeline.signing import sign_model
from mlgate.pipeline.task_metrics import decide_classes

TOML = {
    "wine": """name = "wine"
schema = "wine.schema.yaml"
[data]
source = "wine.csv"
target = "cultivar"
[model]
task = "multiclass"
estimator = "logistic_regression"
params = { C = 1.0, max_iter = 2000 }
[quality]
thresholds = { accuracy = { min = 0.8 } }
[mlflow]
experiment = "wine"
model_name = "wine"
""",
    "diabetes": """name = "diabetes"
schema = "diabetes.schema.yaml"
[data]
source = "diabetes.csv"
target = "progression"
[features]
categorical = ["sex"]
[model]
task = "regression"
estimator = "ridge"
params = { alpha = 1.0 }
[quality]
thresholds = { r2 = { min = 0.3 } }
[mlflow]
experiment = "diabetes"
model_name = "diabetes"
""",
}


def _data(name: str) -> pd.DataFrame:
    from sklearn.datasets import load_diabetes, load_wine

    if name == "wine":
        bunch = load_wine(as_frame=True)
        frame = bunch.data.rename(columns=lambda column: column.replace("/", "_"))
        return frame.assign(cultivar=np.asarray(bunch.target_names)[bunch.target.to_numpy()])
    bunch = load_diabetes(as_frame=True, scaled=False)
    return bunch.data.assign(progression=bunch.target)


@dataclass(frozen=True)
class Released:
    bundle: Path
    model: Any
    golden: dict[str, Any]
    frame: pd.DataFrame  # the golden rows as the model's input frame


def _release(folder: Path, name: str) -> Released:
    """The project ``name`` registered by ``mlgate run`` and its release bundle, as ``mlgate release`` builds it."""
    folder.mkdir()
    _data(name).to_csv(folder / f"{name}.csv", index=False)
    (folder / f"{name}.toml").write_text(TOML[name])
    infer = mlgate("schema", "infer", "--config", f"{name}.toml", "--out", f"{name}.schema.yaml", cwd=folder)
    assert infer.returncode == 0, infer.stdout + infer.stderr
    run = mlgate("run", "--config", f"{name}.toml", "--out", "reports", cwd=folder)
    assert run.returncode == 0, run.stdout + run.stderr
    raw = (folder / "reports" / "report.json").read_bytes()
    config = load_config(folder / f"{name}.toml")
    report = GateReport.from_dict(json.loads(raw))
    bundle = build_release_bundle(config, report, hashlib.sha256(raw).hexdigest(), folder / "bundle")
    golden = json.loads((bundle / "golden.json").read_text())
    model = load_model(read_bundle(bundle))  # as the app loads it: the release's signature verified
    return Released(bundle, model, golden, pd.DataFrame(golden["rows"]))


@pytest.fixture(scope="module")
def released(tmp_path_factory) -> dict[str, Released]:
    root = tmp_path_factory.mktemp("tasks")
    return {name: _release(root / name, name) for name in ("wine", "diabetes")}


@pytest.fixture(scope="module")
def urls(released, start_server, server_log_dir):
    """Both apps served at once (prediction log on, as by default): {"wine": url, "diabetes": url}."""
    with start_server(released["wine"].bundle) as wine, start_server(released["diabetes"].bundle) as diabetes:
        yield {"wine": wine, "diabetes": diabetes}  # the lifespan loaded the model before /health answered


def _bits(values: Any) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).view(np.uint64)


def test_multiclass_batch_answers_every_class_probability_and_the_decided_label_bitwise(released, urls):
    wine = released["wine"]
    body = httpx.post(f"{urls['wine']}/predict", json={"records": wine.golden["rows"]}, timeout=30).json()
    classes = ["class_0", "class_1", "class_2"]
    assert {k: body[k] for k in ("model_name", "task", "decision")} == {
        "model_name": "wine",
        "task": "multiclass",
        "decision": "most_probable",
    }
    assert set(body) == {"model_name", "model_version", "task", "decision", "request_id", "predictions"}
    items = body["predictions"]
    assert all(set(item) == {"request_id", "prediction", "probabilities"} for item in items)
    assert all(list(item["probabilities"]) == classes for item in items)
    served = np.array([[item["probabilities"][c] for c in classes] for item in items])
    own = wine.model.predict_proba(wine.frame)  # the registered model on the same rows, in one batch
    assert np.array_equal(_bits(served), _bits(own))
    assert np.array_equal(_bits(served), _bits(wine.golden["proba"]))
    assert [item["prediction"] for item in items] == [classes[c] for c in np.argmax(own, axis=1)]
    assert compare_golden(wine.golden, body).passed


def test_regression_batch_answers_the_predicted_values_bitwise(released, urls):
    diabetes = released["diabetes"]
    body = httpx.post(f"{urls['diabetes']}/predict", json={"records": diabetes.golden["rows"]}, timeout=30).json()
    assert set(body) == {"model_name", "model_version", "task", "request_id", "predictions"}
    assert body["task"] == "regression"
    assert all(set(item) == {"request_id", "prediction"} for item in body["predictions"])
    served = [item["prediction"] for item in body["predictions"]]
    assert np.array_equal(_bits(served), _bits(diabetes.model.predict(diabetes.frame)))
    assert np.array_equal(_bits(served), _bits(diabetes.golden["values"]))
    assert compare_golden(diabetes.golden, body).passed


@pytest.mark.parametrize("name", ["wine", "diabetes"])
def test_single_records_equal_the_models_own_one_row_answer(released, urls, name):
    project = released[name]
    for index in range(0, len(project.frame), 9):
        body = httpx.post(f"{urls[name]}/predict", json=project.golden["rows"][index]).json()
        row = project.frame.iloc[[index]]
        if name == "wine":
            own = project.model.predict_proba(row)[0]
            assert np.array_equal(_bits(list(body["probabilities"].values())), _bits(own)), index
            assert body["prediction"] == f"class_{int(np.argmax(own))}"
        else:
            assert np.array_equal(_bits([body["prediction"]]), _bits(project.model.predict(row))), index
        assert body["task"] == ("multiclass" if name == "wine" else "regression")


def test_model_endpoint_states_the_task_classes_and_decision(urls):
    wine = httpx.get(f"{urls['wine']}/model").json()
    assert (wine["task"], wine["classes"], wine["decision"]) == (
        "multiclass",
        ["class_0", "class_1", "class_2"],
        "most_probable",
    )
    assert (wine["threshold"], wine["positive_label"], wine["class_costs"]) == (None, None, None)
    diabetes = httpx.get(f"{urls['diabetes']}/model").json()
    assert (diabetes["task"], diabetes["classes"], diabetes["decision"]) == ("regression", [], "prediction")


def test_openapi_names_each_class_and_the_task(urls):
    schemas = httpx.get(f"{urls['wine']}/openapi.json").json()["components"]["schemas"]
    assert list(schemas["ClassProbabilities"]["properties"]) == ["class_0", "class_1", "class_2"]
    assert schemas["MulticlassPrediction"]["properties"]["prediction"]["enum"] == ["class_0", "class_1", "class_2"]
    regression = httpx.get(f"{urls['diabetes']}/openapi.json").json()["components"]["schemas"]
    assert regression["RegressionPrediction"]["properties"]["prediction"]["type"] == "number"


BAD = [
    pytest.param("wine", {"alcohol": "13.2"}, ["body", "alcohol"], "valid number", id="wine-wrong-type"),
    pytest.param("wine", {"alcohol": 1e6}, ["body", "alcohol"], "less than or equal", id="wine-above-range"),
    pytest.param("wine", {"cultivar": "class_0"}, ["body", "cultivar"], "Extra inputs", id="wine-target-is-extra"),
    pytest.param("diabetes", {"bmi": None}, ["body", "bmi"], "should not be null", id="diabetes-null"),
    pytest.param("diabetes", {"sex": "3.0"}, ["body", "sex"], "'1.0' or '2.0'", id="diabetes-unknown-category"),
    pytest.param("diabetes", {"bp": True}, ["body", "bp"], "valid number", id="diabetes-bool-for-number"),
]


@pytest.mark.parametrize(("name", "change", "loc", "message"), BAD)
def test_a_bad_field_is_422_naming_it(released, urls, name, change, loc, message):
    record = {**released[name].golden["rows"][0], **change}
    response = httpx.post(f"{urls[name]}/predict", json=record)
    assert response.status_code == 422, response.text
    errors = [e for e in response.json()["detail"] if e["loc"] == loc]
    assert errors and message in errors[0]["msg"], response.json()


def test_a_missing_field_is_422(released, urls):
    record = {k: v for k, v in released["diabetes"].golden["rows"][0].items() if k != "age"}
    response = httpx.post(f"{urls['diabetes']}/predict", json=record)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "age"]


@pytest.mark.parametrize("name", ["wine", "diabetes"])
def test_feedback_and_explanations_are_binary_only_for_now(released, urls, name):
    task = "multiclass" if name == "wine" else "regression"
    record = released[name].golden["rows"][0]
    for method, path, payload in (
        ("POST", "/feedback", {"request_id": "abc", "label": 151.0 if name == "diabetes" else "class_0"}),
        ("POST", "/explain", record),
        ("GET", "/explain/abc", None),
    ):
        response = httpx.request(method, f"{urls[name]}{path}", json=payload)
        assert response.status_code == 501, (path, response.text)
        assert f"available for binary models only; this model's task is {task}" in response.json()["detail"]


def test_the_prediction_log_is_off_for_non_binary_models_with_one_note(urls, server_log_dir):
    for name, task in (("wine", "multiclass"), ("diabetes", "regression")):
        assert httpx.get(f"{urls[name]}/ready").json()["prediction_log"] == "disabled"
        port = urls[name].rsplit(":", 1)[1]
        server_log = (server_log_dir / f"serve-{port}.log").read_text()
        assert f"prediction log off: {task} models' predictions are not logged yet" in server_log


def test_metrics_count_decided_classes(released, urls):
    httpx.post(f"{urls['wine']}/predict", json=released["wine"].golden["rows"][0])
    text = httpx.get(f"{urls['wine']}/metrics").text
    assert 'mlgate_predictions_total{predicted_class="class_' in text
    assert 'mlgate_predictions_total{predicted_class="1"}' not in text


def _with_meta(bundle: Path, dest: Path, **changes: Any) -> Path:
    """A copy of ``bundle`` whose model.meta.json has ``changes``, signed again (the session's key)."""
    shutil.copytree(bundle, dest)
    meta_path, release_path = dest / "model.meta.json", dest / "release.json"
    meta = {**json.loads(meta_path.read_text()), **changes}
    meta_path.write_text(json.dumps(meta, indent=2, sort_keys=True))
    release = json.loads(release_path.read_text())
    release["model_signature"] = sign_model(
        release["model_sha256"],
        meta_sha256=hashlib.sha256(meta_path.read_bytes()).hexdigest(),
        model_name=release["model_name"],
        run_id=release["run_id"],
    )
    release_path.write_text(json.dumps(release))
    return dest


def test_class_costs_make_the_served_decision_the_least_expected_cost(released, start_server, tmp_path):
    """With the project's cost matrix in the meta file the app decides as the gate does; the release parity check
    catches an app that decides otherwise than the golden set's decisions."""
    wine = released["wine"]
    costs = [[0.0, 1.0, 1.0], [1.0, 0.0, 1.0], [100.0, 100.0, 0.0]]  # missing a class_2 wine is costly
    proba = wine.model.predict_proba(wine.frame)
    cheapest = decide_classes(proba, np.array(costs))
    assert (cheapest != np.argmax(proba, axis=1)).any(), "the costs must change some decision"
    bundle = _with_meta(wine.bundle, tmp_path / "costly", class_costs=costs)
    with start_server(bundle, "--no-prediction-log") as url:
        body = httpx.post(f"{url}/predict", json={"records": wine.golden["rows"]}, timeout=30).json()
        info = httpx.get(f"{url}/model").json()
    assert body["decision"] == info["decision"] == "least_expected_cost"
    assert info["class_costs"] == costs
    assert [item["prediction"] for item in body["predictions"]] == [f"class_{c}" for c in cheapest]
    parity = compare_golden(wine.golden, body)  # the golden decisions are the most probable classes
    assert parity.mismatches == 0 and parity.decision_mismatches == int((cheapest != np.argmax(proba, 1)).sum())
    assert not parity.passed


BAD_META = [
    pytest.param({"task": "ranking"}, "'task' must be one of binary, multiclass, regression", id="unknown-task"),
    pytest.param({"classes": []}, "'classes' must list its distinct class labels", id="no-classes"),
    pytest.param({"classes": ["a", "a", "b"]}, "'classes' must list its distinct", id="duplicate-classes"),
    pytest.param({"classes": [1, "1", 2]}, "'classes' must list its distinct", id="same-key-classes"),
    pytest.param({"class_costs": [[0, 1], [1, 0]]}, "'class_costs' must be a 3x3 list", id="costs-not-k-by-k"),
    pytest.param({"class_costs": [[0, 1, "x"]] * 3}, "'class_costs' must be a 3x3", id="costs-not-numbers"),
]


@pytest.mark.parametrize(("changes", "message"), BAD_META)
def test_a_bad_task_in_the_meta_file_refuses_the_bundle(released, tmp_path, changes, message):
    bundle = _with_meta(released["wine"].bundle, tmp_path / "bad", **changes)
    with pytest.raises(BundleError, match=re.escape(message)):
        read_bundle(bundle)


def test_a_model_of_another_task_than_its_meta_file_is_refused(released, tmp_path):
    wine, diabetes = released["wine"], released["diabetes"]
    with pytest.raises(BundleError, match="says task 'regression', but the model is a classifier"):
        check_model(wine.model, TaskRule("regression"), tmp_path / "model.skops")
    with pytest.raises(BundleError, match=r"names 4 classes, so the model's classes must be the codes \[0, 1, 2, 3\]"):
        check_model(wine.model, TaskRule("multiclass", classes=("a", "b", "c", "d")), tmp_path / "model.skops")
    with pytest.raises(BundleError, match="names 3 classes"):
        check_model(diabetes.model, TaskRule("multiclass", classes=("a", "b", "c")), tmp_path / "model.skops")
