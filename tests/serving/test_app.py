"""The serving app over real HTTP: uvicorn on 127.0.0.1 (session fixture ``server``), httpx as the client."""

from __future__ import annotations

import json
import socket
import time

import httpx
import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

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


def _metric(client: httpx.Client, name: str, **labels: str) -> float:
    text = client.get("/metrics").text
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def test_health_ready_and_model_describe_the_release(client, bundle_dir):
    release = json.loads((bundle_dir / "release.json").read_text())
    assert client.get("/health").json() == {"status": "ok"}
    deadline = time.monotonic() + 30
    while (ready := client.get("/ready")).json().get("prediction_log") == "connecting" and time.monotonic() < deadline:
        time.sleep(0.05)  # the log's writer connects in the background
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "model_sha256": release["model_sha256"], "prediction_log": "ok"}
    info = client.get("/model").json()
    for key in ("model_name", "model_version", "run_id", "data_fingerprint", "gate_report_sha256", "model_sha256"):
        assert info[key] == release[key], key
    assert info["features"] == json.loads((bundle_dir / "model.meta.json").read_text())["features"]
    # the compiled path, checked bitwise against the fitted pipeline when the model loaded (pipeline.serve.array_path)
    assert info["scoring_path"] == "array" and info["scoring_path_reason"] is None


def test_golden_batch_probabilities_equal_offline_bitwise(client, golden):
    response = client.post("/predict", json={"records": golden.records})
    assert response.status_code == 200, response.text
    body = response.json()
    proba = np.array([p["probability"] for p in body["predictions"]], dtype=np.float64)
    assert proba.shape == golden.proba.shape
    # bitwise, not approximately: the JSON float round-trips float64 exactly
    assert np.array_equal(proba.view(np.int64), golden.proba.view(np.int64))
    expected = (golden.proba >= golden.threshold).astype(int).tolist()
    assert [p["prediction"] for p in body["predictions"]] == expected
    assert body["model_name"] == "german-credit"
    assert body["model_version"] == "7"
    assert body["positive_label"] == 1
    assert body["threshold"] == golden.threshold


def test_single_records_equal_offline(client, golden):
    for index in range(0, len(golden.records), 37):
        body = client.post("/predict", json=golden.records[index]).json()
        assert body["probability"] == golden.proba[index], index
        assert body["prediction"] == int(golden.proba[index] >= golden.threshold)
        assert set(body) == {
            *("request_id", "prediction", "probability"),
            *("model_name", "model_version", "positive_label", "threshold"),
        }


def test_integral_numbers_are_integers_as_in_json_schema(client):
    as_int = client.post("/predict", json=GOOD).json()
    as_float = client.post("/predict", json={**GOOD, "age": 44.0, "credit_amount": 5943.0}).json()
    assert as_float.pop("request_id") != as_int.pop("request_id")  # a new id for each request
    assert as_float == as_int


def test_json_floats_round_trip_float64_exactly(golden):
    assert [json.loads(json.dumps(p)) for p in golden.proba.tolist()] == golden.proba.tolist()


BAD = [
    pytest.param({**GOOD, "age": "44"}, ["body", "age"], "valid integer", id="wrong-type-int"),
    pytest.param({**GOOD, "credit_amount": 44.5}, ["body", "credit_amount"], "valid integer", id="float-for-int"),
    pytest.param({**GOOD, "job": 2}, ["body", "job"], "valid string", id="int-for-categorical"),
    pytest.param({**GOOD, "sex": "other"}, ["body", "sex"], "'female' or 'male'", id="unknown-category"),
    pytest.param({**GOOD, "age": 17}, ["body", "age"], "greater than or equal to 18", id="below-range"),
    pytest.param({**GOOD, "duration": 85}, ["body", "duration"], "less than or equal to 84", id="above-range"),
    pytest.param({**GOOD, "sex": None}, ["body", "sex"], "should not be null", id="null-not-nullable"),
    pytest.param({**GOOD, "age": None}, ["body", "age"], "should not be null", id="null-numeric"),
    pytest.param({k: v for k, v in GOOD.items() if k != "age"}, ["body", "age"], "Field required", id="missing"),
    pytest.param({**GOOD, "risk": 1}, ["body", "risk"], "Extra inputs are not permitted", id="target-is-extra"),
    pytest.param({**GOOD, "bogus": 1}, ["body", "bogus"], "Extra inputs are not permitted", id="extra"),
    pytest.param(
        {"records": [GOOD, {**GOOD, "age": 200}]}, ["body", "records", 1, "age"], "less than or equal", id="batch-row"
    ),
    pytest.param({"records": []}, ["body", "records"], "at least 1 item", id="empty-batch"),
    pytest.param([GOOD], ["body"], 'one record, or {"records"', id="bare-list"),
    pytest.param("hello", ["body"], "must be a JSON object", id="string-body"),
]


@pytest.mark.parametrize(("payload", "loc", "message"), BAD)
def test_invalid_payload_is_422_naming_the_field(client, payload, loc, message):
    before = _metric(client, "mlgate_validation_failures_total", kind="invalid")
    response = client.post("/predict", json=payload)
    assert response.status_code == 422, response.text
    errors = response.json()["detail"]
    matching = [e for e in errors if e["loc"] == loc]
    assert matching, f"no error at {loc}: {errors}"
    assert message in matching[0]["msg"]
    assert "input" not in matching[0]  # the payload is not echoed back
    assert _metric(client, "mlgate_validation_failures_total", kind="invalid") == before + 1


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param(json.dumps(GOOD).replace("44}", "NaN}"), "finite number|valid integer", id="NaN"),
        pytest.param(json.dumps(GOOD).replace("44}", "Infinity}"), "finite number|valid integer", id="Infinity"),
        pytest.param(json.dumps(GOOD).replace("44}", "1e400}"), "finite number|valid integer", id="overflow"),
    ],
)
def test_nan_and_infinity_are_422(client, raw, message):
    response = client.post("/predict", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "age"]
    assert any(part in error["msg"] for part in message.split("|"))


def test_malformed_json_is_422_with_the_decode_error(client):
    response = client.post("/predict", content=b'{"sex": "female",', headers={"content-type": "application/json"})
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["type"] == "json_invalid"
    assert error["msg"].startswith("JSON decode error: ")


def test_body_that_is_not_utf8_is_400(client):
    response = client.post("/predict", content=b'{"sex": "\xff\xfe"}', headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {"detail": "the request body could not be read as JSON text (is it UTF-8?)"}


def test_missing_body_is_422(client):
    response = client.post("/predict")
    assert response.status_code == 422
    assert response.json()["detail"] == [{"loc": ["body"], "msg": "Field required", "type": "missing"}]


def test_batch_over_the_limit_is_413(client, server_max_batch):
    SERVER_MAX_BATCH = server_max_batch
    before = _metric(client, "mlgate_validation_failures_total", kind="too_large")
    response = client.post("/predict", json={"records": [GOOD] * (SERVER_MAX_BATCH + 1)})
    assert response.status_code == 413
    assert response.json() == {
        "detail": f"batch of {SERVER_MAX_BATCH + 1} records exceeds the limit of {SERVER_MAX_BATCH} records "
        "per request; split it into smaller batches"
    }
    assert _metric(client, "mlgate_validation_failures_total", kind="too_large") == before + 1
    assert client.post("/predict", json={"records": [GOOD] * SERVER_MAX_BATCH}).status_code == 200


def test_body_over_the_byte_limit_is_413(server, server_max_body_bytes):
    # A declared length above the limit is refused before the body is read. httpx will not send a short body,
    # so speak HTTP/1.1 over a socket.
    declared = server_max_body_bytes + 1
    url = httpx.URL(server)
    with socket.create_connection((url.host, url.port), timeout=30) as sock:
        sock.sendall(
            b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {declared}\r\nConnection: close\r\n\r\n{{}}".encode()
        )
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 ")
    assert json.loads(body) == {
        "detail": f"request body of {declared} bytes exceeds the limit of {server_max_body_bytes} bytes; "
        "send smaller batches"
    }


def test_streamed_body_over_the_byte_limit_is_413(client, server_max_body_bytes):
    before = _metric(client, "mlgate_validation_failures_total", kind="too_large", route="/predict")
    counted = _metric(client, "mlgate_requests_total", route="/predict", status="413")
    payload = json.dumps({"records": [GOOD] * 20}).encode()
    chunks = iter([payload] * (server_max_body_bytes // len(payload) + 1))  # no Content-Length: chunked upload
    response = client.post("/predict", content=chunks, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json() == {
        "detail": f"request body of more bytes exceeds the limit of {server_max_body_bytes} bytes; send smaller batches"
    }
    assert _metric(client, "mlgate_validation_failures_total", kind="too_large", route="/predict") == before + 1
    # refused before routing, still counted under its route (not "unmatched")
    assert _metric(client, "mlgate_requests_total", route="/predict", status="413") == counted + 1
    small = client.post("/predict", content=iter([payload]), headers={"content-type": "application/json"})
    assert small.status_code == 200  # a chunked body under the limit is replayed to the app intact


def test_unknown_route_and_method(client):
    assert client.get("/nope").json() == {"detail": "Not Found"}
    assert client.get("/predict").status_code == 405


def test_metrics_count_requests_predictions_and_probabilities(client, golden):
    ok_before = _metric(client, "mlgate_requests_total", route="/predict", status="200")
    classes_before = _metric(client, "mlgate_predictions_total")
    proba_before = _metric(client, "mlgate_prediction_probability_count")
    client.post("/predict", json={"records": golden.records[:10]})
    assert _metric(client, "mlgate_requests_total", route="/predict", status="200") == ok_before + 1
    assert _metric(client, "mlgate_predictions_total") == classes_before + 10
    assert _metric(client, "mlgate_prediction_probability_count") == proba_before + 10
    assert _metric(client, "mlgate_request_duration_seconds_count", route="/predict") >= 1
    for stage in ("validate", "score", "serialise", "log"):  # where a /predict request's time goes
        assert _metric(client, "mlgate_predict_stage_seconds_count", stage=stage) >= 1, stage
    positives = _metric(client, "mlgate_predictions_total", predicted_class="1")
    assert 0 < positives < _metric(client, "mlgate_predictions_total")
    # the route template is the label, never the raw path: unknown paths share one series
    client.get("/no/such/path/123")
    assert _metric(client, "mlgate_requests_total", route="unmatched", status="404") >= 1
    assert "/no/such/path/123" not in client.get("/metrics").text


def test_tampered_model_is_never_ready(new_bundle, start_server):
    bundle = new_bundle("tampered")
    model = bundle / "model.skops"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    release = json.loads((bundle / "release.json").read_text())
    with start_server(bundle) as url, httpx.Client(base_url=url, timeout=30) as http:
        assert http.get("/health").status_code == 200
        ready = http.get("/ready")
        assert ready.status_code == 503
        detail = ready.json()["detail"]
        assert "model.skops: sha256 " in detail
        assert f"does not match release.json model_sha256 {release['model_sha256']}" in detail
        predict = http.post("/predict", json=GOOD)
        assert predict.status_code == 503
        assert predict.json()["detail"].startswith("model not ready: ")
