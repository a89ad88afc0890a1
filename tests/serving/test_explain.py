"""``POST /explain`` over real HTTP (uvicorn on 127.0.0.1): the explanation adds up to the score ``/predict`` gives,
bad records are a 422 naming the field, and a model no exact method applies to is a 501 naming its estimator."""

from __future__ import annotations

import math
import time

import httpx
import numpy as np
import pytest
from conftest import write_bundle
from prometheus_client.parser import text_string_to_metric_families
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline

GOOD = {
    "sex": "female",
    "job": "2",
    "housing": "own",
    "saving_accounts": None,
    "checking_account": "little",
    "credit_amount": 5943,
    "duration": 24,
    "purpose": "radio/TV",
    "age": 44,
}


def _adds_up(body: dict) -> None:
    total = body["base_value"] + math.fsum(c["contribution"] for c in body["contributions"])
    assert abs(total - body["raw_score"]) <= 1e-9 * max(1.0, abs(body["raw_score"]))


def _validation_failures(client: httpx.Client, route: str) -> float:
    text = client.get("/metrics").text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "mlgate_validation_failures_total" and sample.labels.get("route") == route
    )


def test_explain_adds_up_to_the_score_predict_gives(client, golden):
    response = client.post("/explain", json=GOOD)
    assert response.status_code == 200, response.text
    body = response.json()
    predicted = client.post("/predict", json=GOOD).json()
    assert body["probability"] == predicted["probability"]  # the same frame, the same model: bit for bit
    assert body["prediction"] == predicted["prediction"]
    assert (body["model_name"], body["model_version"], body["threshold"]) == ("german-credit", "7", golden.threshold)
    assert (body["method"], body["score_space"]) == ("linear_exact", "logit")
    assert body["probability"] == pytest.approx(1.0 / (1.0 + math.exp(-body["raw_score"])), abs=1e-12)
    _adds_up(body)
    contributions = body["contributions"]
    assert sorted(c["feature"] for c in contributions) == sorted(golden.features)
    sizes = [abs(c["contribution"]) for c in contributions]
    assert sizes == sorted(sizes, reverse=True)
    assert {c["feature"]: c["value"] for c in contributions} == GOOD
    assert response.headers["x-request-id"] == body["request_id"]
    assert len(body["request_id"]) == 32


def test_explain_matches_predict_and_the_offline_probabilities(client, golden):
    for index in range(0, len(golden.records), 11):
        record = golden.records[index]
        body = client.post("/explain", json=record).json()
        assert body["probability"] == client.post("/predict", json=record).json()["probability"], index
        assert body["probability"] == pytest.approx(float(golden.proba[index]), rel=1e-14), index  # batch vs one row
        _adds_up(body)


def test_the_request_id_header_is_kept(client):
    response = client.post("/explain", json=GOOD, headers={"X-Request-ID": "ticket-4711:a"})
    assert response.status_code == 200, response.text
    assert response.json()["request_id"] == response.headers["x-request-id"] == "ticket-4711:a"


@pytest.mark.parametrize(
    ("payload", "headers", "loc", "message"),
    [
        pytest.param({**GOOD, "age": 200}, {}, ["body", "age"], "less than or equal", id="out-of-range"),
        pytest.param({**GOOD, "sex": "x"}, {}, ["body", "sex"], "Input should be", id="unknown-category"),
        pytest.param({k: v for k, v in GOOD.items() if k != "age"}, {}, ["body", "age"], "required", id="missing"),
        pytest.param({**GOOD, "agee": 1}, {}, ["body", "agee"], "Extra inputs", id="unknown-field"),
        pytest.param({"records": [GOOD]}, {}, ["body", "records"], "takes one record", id="batch"),
        pytest.param(GOOD, {"X-Request-ID": "a b"}, ["header", "X-Request-ID"], "1 to 64", id="bad-request-id"),
        pytest.param(GOOD, {"X-Request-ID": "x" * 65}, ["header", "X-Request-ID"], "1 to 64", id="long-request-id"),
    ],
)
def test_bad_input_is_422_naming_the_field(client, payload, headers, loc, message):
    before = _validation_failures(client, "/explain")
    response = client.post("/explain", json=payload, headers=headers)
    assert response.status_code == 422, response.text
    body = response.json()
    matching = [e for e in body["detail"] if e["loc"] == loc]
    assert matching, body
    assert message in matching[0]["msg"]
    assert body["errors_total"] >= 1
    assert "input" not in matching[0]
    assert _validation_failures(client, "/explain") == before + 1


def test_body_that_is_not_json_is_refused_as_by_predict(client):
    json_type = {"content-type": "application/json"}
    assert client.post("/explain", content=b"{", headers=json_type).status_code == 422
    assert client.post("/explain", content=b"age=4", headers={"content-type": "text/plain"}).status_code == 415
    assert client.post("/explain", content=b"\xff\xfe{", headers=json_type).status_code == 400


def test_openapi_documents_explain(client):
    document = client.get("/openapi.json").json()
    operation = document["paths"]["/explain"]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["properties"]) == set(GOOD)
    assert set(operation["responses"]) >= {"200", "422", "501", "503"}
    response = document["components"]["schemas"]["ExplainResponse"]
    assert {"request_id", "probability", "raw_score", "base_value", "contributions", "method"} <= set(
        response["properties"]
    )


def _bundle_with(estimator, trained, tmp_path):
    data, candidate = trained
    pipeline = Pipeline([("features", candidate.pipeline[:-1]), ("model", estimator)])
    features = data.prepared.features
    pipeline.fit(data.split.train[features], data.split.y_train)
    bundle = write_bundle(
        tmp_path / "bundle",
        pipeline,
        features=features,
        numeric=data.prepared.numeric,
        categorical=data.prepared.categorical,
        threshold=candidate.threshold,
    )
    return bundle, pipeline


def test_gradient_boosting_is_explained_with_tree_shap(trained, golden, start_server, tmp_path):
    model = HistGradientBoostingClassifier(max_iter=60, random_state=0)
    bundle, pipeline = _bundle_with(model, trained, tmp_path)
    frame_proba = pipeline.predict_proba(trained[0].split.test[golden.features].iloc[:10])[:, 1]
    with start_server(bundle, "--no-prediction-log") as url, httpx.Client(base_url=url, timeout=30.0) as http:
        for record, expected in zip(golden.records[:10], frame_proba, strict=True):
            response = http.post("/explain", json=record)
            assert response.status_code == 200, response.text
            body = response.json()
            assert (body["method"], body["score_space"]) == ("tree_path_shap", "logit")
            assert body["probability"] == pytest.approx(float(expected), abs=1e-12)
            assert body["probability"] == pytest.approx(1.0 / (1.0 + math.exp(-body["raw_score"])), abs=1e-12)
            _adds_up(body)
        assert np.isfinite(body["base_value"])


def test_a_model_without_an_exact_method_is_501_naming_it(trained, start_server, tmp_path):
    bundle, _ = _bundle_with(DummyClassifier(strategy="prior"), trained, tmp_path)
    with start_server(bundle, "--no-prediction-log") as url:
        response = httpx.post(f"{url}/explain", json=GOOD, timeout=30.0)
        assert response.status_code == 501, response.text
        assert "DummyClassifier" in response.json()["detail"]
        assert httpx.post(f"{url}/predict", json=GOOD, timeout=30.0).status_code == 200
        logged = httpx.get(f"{url}/explain/any-id", timeout=30.0)
        assert logged.status_code == 503
        assert "needs the prediction log, which is disabled" in logged.json()["detail"]


# ---------------------------------------------------------------- GET /explain/{request_id}: a logged prediction


def test_a_logged_prediction_is_explained_by_its_request_id(client):
    predicted = client.post("/predict", json=GOOD, headers={"X-Request-ID": "explain-later-1"})
    assert predicted.status_code == 200, predicted.text
    response = client.get("/explain/explain-later-1")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["request_id"] == response.headers["x-request-id"] == "explain-later-1"
    assert body["probability"] == predicted.json()["probability"]
    fresh = client.post("/explain", json=GOOD).json()
    assert body["contributions"] == fresh["contributions"]
    assert (body["raw_score"], body["base_value"]) == (fresh["raw_score"], fresh["base_value"])


def test_a_batch_record_is_explained_by_its_own_id(client, golden):
    records = golden.records[:3]
    predicted = client.post("/predict", json={"records": records}, headers={"X-Request-ID": "explain-batch"})
    assert predicted.status_code == 200, predicted.text
    body = client.get("/explain/explain-batch-2").json()
    assert body["contributions"] == client.post("/explain", json=records[2]).json()["contributions"]


@pytest.mark.parametrize(
    ("request_id", "status", "message"),
    [
        pytest.param("never-predicted", 404, "'never-predicted' is not in the prediction log", id="unknown"),
        pytest.param("x" * 65, 422, "at most 64 characters", id="too-long"),
    ],
)
def test_an_id_the_log_cannot_answer_is_refused_naming_it(client, request_id, status, message):
    response = client.get(f"/explain/{request_id}")
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert message in (detail if isinstance(detail, str) else detail[0]["msg"])


def test_a_prediction_of_another_model_is_a_409_on_any_replica_sharing_the_log(
    trained, bundle_dir, start_server, tmp_path
):
    trees, _ = _bundle_with(HistGradientBoostingClassifier(max_iter=30, random_state=0), trained, tmp_path)
    shared = ("--prediction-log-dir", str(tmp_path / "shared-log"))
    with start_server(bundle_dir, *shared) as linear, start_server(trees, *shared) as boosted:
        for url, rid in ((linear, "scored-by-linear"), (boosted, "scored-by-trees")):
            answer = httpx.post(f"{url}/predict", json=GOOD, headers={"X-Request-ID": rid}, timeout=30.0)
            assert answer.status_code == 200, answer.text
        own = httpx.get(f"{boosted}/explain/scored-by-trees", timeout=30.0)
        assert own.status_code == 200, own.text
        assert own.json()["method"] == "tree_path_shap"
        for url, rid in ((boosted, "scored-by-linear"), (linear, "scored-by-trees")):  # found in the other's file
            deadline = time.monotonic() + 10  # once the other replica's writer has flushed (every 0.5 s)
            while (other := httpx.get(f"{url}/explain/{rid}", timeout=30.0)).status_code == 404:
                assert time.monotonic() < deadline, other.text
                time.sleep(0.1)
            assert other.status_code == 409, other.text
            assert "ask a replica that serves that model" in other.json()["detail"]
