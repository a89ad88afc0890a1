"""The prediction log end to end over real HTTP (uvicorn on 127.0.0.1, SQLite files in a temporary folder):
request ids, every record read back by read_window exactly as scored, rejections counted by reason without
payload values, POST /feedback (stored, duplicate, 409, 404, 422), two replicas on one folder, a log that is
unavailable at start, and the log turned off."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime

import httpx
import pandas as pd
import pytest
from fixtures.predlog import GOOD, log_state, metric, rows

from mlgate.pipeline.predlog import log_files, read_window


@pytest.fixture
def logged(bundle_dir, start_server, tmp_path):
    """A server of its own logging to ``tmp_path / "log"``: (client, log folder)."""
    folder = tmp_path / "log"
    with start_server(bundle_dir, "--prediction-log-dir", str(folder)) as url, httpx.Client(base_url=url) as http:
        assert log_state(http) == "ok"
        yield http, folder


def test_every_record_is_logged_with_its_request_id(logged, golden, bundle_dir) -> None:
    http, folder = logged
    before = datetime.now(UTC)
    plain = http.post("/predict", json=GOOD)
    named = http.post("/predict", json=GOOD, headers={"X-Request-ID": "client-42.a:b_c"})
    batch = http.post("/predict", json={"records": golden.records[:3]}, headers={"X-Request-ID": "batch-7"})
    anonymous = http.post("/predict", json={"records": golden.records[3:5]})
    assert all(r.status_code == 200 for r in (plain, named, batch, anonymous))
    assert re.fullmatch(r"[0-9a-f]{32}", plain.json()["request_id"])
    assert plain.headers["x-request-id"] == plain.json()["request_id"]
    assert named.json()["request_id"] == named.headers["x-request-id"] == "client-42.a:b_c"
    assert batch.json()["request_id"] == batch.headers["x-request-id"] == "batch-7"
    assert [p["request_id"] for p in batch.json()["predictions"]] == ["batch-7-0", "batch-7-1", "batch-7-2"]
    base = anonymous.json()["request_id"]
    assert [p["request_id"] for p in anonymous.json()["predictions"]] == [f"{base}-0", f"{base}-1"]

    window = rows(folder, 7)
    frame = window.predictions.set_index("request_id")
    assert len(frame) == 7 and window.dropped == 0 and window.sources == 1
    answers = {plain.json()["request_id"]: plain.json(), "client-42.a:b_c": named.json()}
    answers |= {p["request_id"]: p for p in batch.json()["predictions"] + anonymous.json()["predictions"]}
    assert set(frame.index) == set(answers)
    for rid, answer in answers.items():
        row = frame.loc[rid]
        assert row["proba"] == answer["probability"]  # the double as served, bit for bit
        assert row["decision"] == answer["prediction"]  # German credit: the labels are 0 and 1
        assert before <= row["received_at"].to_pydatetime() <= datetime.now(UTC)
        assert row["latency_ms"] > 0
    release = json.loads((bundle_dir / "release.json").read_text())
    assert set(frame["model_version"]) == {"7"} and set(frame["model_sha256"]) == {release["model_sha256"]}
    with sqlite3.connect(log_files(folder)[0]) as db:
        assert db.execute("SELECT DISTINCT model_name FROM predictions").fetchall() == [("german-credit",)]
    sent = {plain.json()["request_id"]: GOOD, "batch-7-1": golden.records[1]}
    for rid, record in sent.items():
        logged = {k: frame.loc[rid][k] for k in record}
        assert {k: None if pd.isna(v) else v for k, v in logged.items()} == record  # the validated record
    assert window.features == tuple(GOOD)
    assert metric(http, "mlgate_prediction_log_written_total") >= 7
    assert metric(http, "mlgate_prediction_log_up") == 1.0
    assert metric(http, "mlgate_prediction_log_queue_depth") == 0.0


@pytest.mark.parametrize(
    ("header", "records", "message"),
    [
        pytest.param("has space", 1, "must be 1 to 64 characters", id="character"),
        pytest.param("-leading", 1, "starting with a letter or digit", id="leading-dash"),
        pytest.param("x" * 65, 1, "(got 65 characters)", id="too-long"),
        pytest.param("x" * 63, 10, "leaves no room for the record index of a batch of 10", id="no-room-for-index"),
    ],
)
def test_a_bad_request_id_is_a_422_naming_the_header(client, golden, header, records, message) -> None:
    body = GOOD if records == 1 else {"records": golden.records[:records]}
    answer = client.post("/predict", json=body, headers={"X-Request-ID": header})
    assert answer.status_code == 422
    error = answer.json()["detail"][0]
    assert error["loc"] == ["header", "X-Request-ID"] and message in error["msg"]
    assert header not in answer.text


def test_rejections_are_counted_by_reason_without_payload_values(bundle_dir, start_server, tmp_path) -> None:
    folder = tmp_path / "log"
    args = ("--prediction-log-dir", str(folder), "--max-body-bytes", "4000")
    with start_server(bundle_dir, *args) as url, httpx.Client(base_url=url) as http:
        assert log_state(http) == "ok"
        secret = "SECRET-VALUE-42"
        refused = [
            http.post("/predict", json={**GOOD, "age": 500}),
            http.post("/predict", json={**GOOD, secret: secret}),
            http.post("/predict", json=GOOD, headers={"X-Request-ID": "bad id"}),
            http.post("/predict", content=b"age=1", headers={"content-type": "text/plain"}),
            http.post("/predict", content=b"\xff\xfe{}", headers={"content-type": "application/json"}),
            http.post("/predict", json={"records": [GOOD] * 40}),
        ]
        assert [r.status_code for r in refused] == [422, 422, 422, 415, 400, 413]
        assert http.post("/predict", json=GOOD).status_code == 200
        window = rows(folder, 1)
        deadline = datetime.now(UTC).timestamp() + 20
        while sum(window.rejected.values()) < 6 and datetime.now(UTC).timestamp() < deadline:
            window = read_window(folder)
        expected = {"validation": 3, "unsupported_media_type": 1, "bad_encoding": 1, "body_too_large": 1}
        assert window.rejected == expected
        for reason, count in expected.items():
            assert metric(http, "mlgate_rejected_requests_total", reason=reason) == count
    with sqlite3.connect(log_files(folder)[0]) as db:
        details = [row[0] for row in db.execute("SELECT detail FROM rejections")]
    assert "HTTP 422: 1 error: body.age less_than_equal" in details
    assert "HTTP 422: 1 error: body.? extra_forbidden" in details
    assert not any(secret in d or "500" in d or "bad id" in d for d in details)


def test_feedback_is_validated_idempotent_and_reported(logged, golden) -> None:
    http, folder = logged
    served = http.post("/predict", json={"records": golden.records[:4]}, headers={"X-Request-ID": "fb"}).json()
    assert [p["request_id"] for p in served["predictions"]] == ["fb-0", "fb-1", "fb-2", "fb-3"]

    first = http.post("/feedback", json={"request_id": "fb-0", "label": 1})  # at once: found in the queue
    assert (first.status_code, first.json()) == (201, {"request_id": "fb-0", "status": "stored", "label": 1})
    again = http.post("/feedback", json={"request_id": "fb-0", "label": 1})
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    other = http.post("/feedback", json={"request_id": "fb-0", "label": 0})
    assert other.status_code == 409 and "already has label 1" in other.json()["detail"]
    unknown = http.post("/feedback", json={"request_id": "never-served", "label": 0})
    assert unknown.status_code == 404 and "'never-served' is not in the prediction log" in unknown.json()["detail"]

    for body, loc, message in [
        ({"request_id": "fb-1", "label": "1"}, ["body", "label"], "request 'fb-1': label \"1\" is not a label"),
        ({"request_id": "fb-1", "label": 2}, ["body", "label"], "of target 'risk' (one of 0, 1"),
        ({"request_id": "fb 1", "label": 1}, ["body", "request_id"], "String should match pattern"),
        ({"request_id": "fb-1"}, ["body", "label"], "Field required"),
        ({"feedback": [{"request_id": "fb-1", "label": 1}, {"request_id": "fb-2", "label": True}]},
         ["body", "feedback", 1, "label"], "request 'fb-2': label true is not a label"),
    ]:  # fmt: skip
        answer = http.post("/feedback", json=body)
        assert answer.status_code == 422, body
        error = answer.json()["detail"][0]
        assert error["loc"] == loc and message in error["msg"], (body, error)

    batch = http.post(
        "/feedback",
        json={
            "feedback": [{"request_id": r, "label": v} for r, v in [("fb-1", 0), ("fb-0", 1), ("fb-0", 0), ("zz", 1)]]
        },
    )
    assert batch.status_code == 200
    assert [(r["request_id"], r["status"], r["label"]) for r in batch.json()["results"]] == [
        ("fb-1", "stored", 0), ("fb-0", "duplicate", 1), ("fb-0", "conflict", 1), ("zz", "unknown", None)
    ]  # fmt: skip
    assert {k: batch.json()[k] for k in ("stored", "duplicate", "conflict", "unknown")} == dict.fromkeys(
        ("stored", "duplicate", "conflict", "unknown"), 1
    )
    window = rows(folder, 4)
    labels = dict(zip(window.predictions["request_id"], window.predictions["label"], strict=True))
    assert labels == {"fb-0": 1, "fb-1": 0, "fb-2": None, "fb-3": None} and window.labelled == 2
    with sqlite3.connect(log_files(folder)[0]) as db:
        assert db.execute("SELECT count(*) FROM feedback").fetchone()[0] == 2  # no second row, nothing unknown
    assert metric(http, "mlgate_feedback_total", status="stored") == 2
    assert metric(http, "mlgate_feedback_total", status="unknown") == 2


def test_two_replicas_on_one_folder_write_two_files_read_as_one_log(bundle_dir, start_server, tmp_path) -> None:
    folder = tmp_path / "shared"
    args = ("--prediction-log-dir", str(folder))
    with (
        start_server(bundle_dir, *args) as first_url,
        start_server(bundle_dir, *args) as second_url,
        httpx.Client(base_url=first_url) as first,
        httpx.Client(base_url=second_url) as second,
    ):
        assert log_state(first) == log_state(second) == "ok"
        for index in range(3):
            assert first.post("/predict", json=GOOD, headers={"X-Request-ID": f"a{index}"}).status_code == 200
            assert second.post("/predict", json=GOOD, headers={"X-Request-ID": f"b{index}"}).status_code == 200
        rows(folder, 6)
        stored = second.post("/feedback", json={"request_id": "a1", "label": 0})  # served by the other replica
        assert stored.status_code == 201
        assert first.post("/feedback", json={"request_id": "a1", "label": 1}).status_code == 409
    files = log_files(folder)
    assert len(files) == 2
    window = read_window(folder)
    assert window.sources == 2 and sorted(window.predictions["request_id"]) == ["a0", "a1", "a2", "b0", "b1", "b2"]
    replicas = set()
    for path in files:
        with sqlite3.connect(path) as db:
            replicas |= {row[0] for row in db.execute("SELECT DISTINCT replica FROM predictions")}
    assert len(replicas) == 2 and all(f"predictions-{name}.sqlite" in {p.name for p in files} for name in replicas)
    assert window.predictions.set_index("request_id").loc["a1", "label"] == 0


def test_a_log_unavailable_at_start_keeps_serving_and_counts_drops(new_bundle, start_server, tmp_path) -> None:
    bundle = new_bundle("tiny-queue")
    release = json.loads((bundle / "release.json").read_text())
    tuning = {"enabled": True, "queue_size": 2, "batch_size": 1, "flush_interval_s": 0.1}
    (bundle / "release.json").write_text(json.dumps({**release, "prediction_log": tuning}))
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with (
        start_server(bundle, "--prediction-log-dir", str(blocker / "log")) as url,
        httpx.Client(base_url=url) as http,
    ):
        state = log_state(http)
        assert state.startswith("unavailable: ") and "not-a-folder" in state
        assert all(http.post("/predict", json=GOOD).status_code == 200 for _ in range(5))
        assert metric(http, "mlgate_prediction_log_dropped_total", reason="queue_full") == 3  # 2 wait in the queue
        assert metric(http, "mlgate_prediction_log_up") == 0.0
        answer = http.post("/feedback", json={"request_id": "x", "label": 1})
        assert answer.status_code == 503 and "feedback needs the prediction log, which is unavailable: " in answer.text


def test_the_log_can_be_turned_off(bundle_dir, start_server) -> None:
    with start_server(bundle_dir, "--no-prediction-log") as url, httpx.Client(base_url=url) as http:
        assert log_state(http) == "disabled"
        assert http.post("/predict", json=GOOD).status_code == 200
        answer = http.post("/feedback", json={"request_id": "x", "label": 1})
        assert answer.status_code == 503 and "disabled" in answer.json()["detail"]
        assert metric(http, "mlgate_prediction_log_dropped_total") == 0.0


def test_a_bad_prediction_log_setting_is_one_line(new_bundle, tmp_path) -> None:
    bundle = new_bundle("bad-tuning")
    release = json.loads((bundle / "release.json").read_text())
    (bundle / "release.json").write_text(json.dumps({**release, "prediction_log": {"queue_size": 0}}))
    done = subprocess.run(
        [sys.executable, "-m", "mlgate.pipeline.serve", "--bundle", str(bundle), "--prediction-log-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "release.json: 'prediction_log': queue_size" in done.stderr
    bad_url = subprocess.run(
        [sys.executable, "-m", "mlgate.pipeline.serve", "--bundle", str(bundle)],
        capture_output=True, text=True, timeout=120, env={**os.environ, "MLGATE_PREDICTION_LOG_URL": "db"},
    )  # fmt: skip
    assert bad_url.returncode == 2 and "must be an SQLAlchemy URL" in bad_url.stderr


_WITHOUT_SQLALCHEMY = """
import asyncio, importlib.abc, json, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] == "sqlalchemy":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Block())
import httpx
from mlgate.pipeline.serve import create_app
from mlgate.pipeline.serve.recording import LogOptions
app = create_app(sys.argv[1], prediction_log=LogOptions(location=sys.argv[2]))
async def main():
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            ready = (await client.get("/ready")).json()
            predicted = (await client.post("/predict", json=json.loads(sys.argv[3]))).status_code
            feedback = (await client.post("/feedback", json={"request_id": "x", "label": 1})).status_code
            metrics = (await client.get("/metrics")).text
    dropped = [line for line in metrics.splitlines() if line.startswith("mlgate_prediction_log_dropped_total")]
    print(json.dumps({"ready": ready, "predict": predicted, "feedback": feedback, "dropped": dropped}))
asyncio.run(main())
"""


def test_without_sqlalchemy_the_app_serves_and_says_why(bundle_dir, tmp_path) -> None:
    """The serving image's `serve` extra may lack SQLAlchemy: the app still serves, /ready names the missing
    package, records are counted as dropped, /feedback is a 503."""
    done = subprocess.run(
        [sys.executable, "-c", _WITHOUT_SQLALCHEMY, str(bundle_dir), str(tmp_path / "log"), json.dumps(GOOD)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["ready"]["prediction_log"].startswith("unavailable: the prediction log needs SQLAlchemy")
    assert (result["predict"], result["feedback"]) == (200, 503)
    assert result["dropped"] == ['mlgate_prediction_log_dropped_total{reason="unavailable"} 1.0']
    assert not (tmp_path / "log").exists()
