"""The prediction log and feedback on a real PostgreSQL server (tests/fixtures/postgres.py): two replicas write
one database given by MLGATE_PREDICTION_LOG_URL (as the image gets it), feedback reaches either replica, the
window is read back by URL, and the password appears nowhere; a wrong password leaves the app serving."""

from __future__ import annotations

import httpx
import pytest
from fixtures.predlog import GOOD, log_state, metric, rows

from mlgate.pipeline.predlog import read_window

pytestmark = pytest.mark.postgres


def test_two_replicas_log_to_one_postgresql_database(
    postgres_server, bundle_dir, start_server, server_log_dir, golden, monkeypatch
) -> None:
    url = postgres_server.create_database("predlog")
    monkeypatch.setenv("MLGATE_PREDICTION_LOG_URL", url)
    with (
        start_server(bundle_dir) as first_url,
        start_server(bundle_dir) as second_url,
        httpx.Client(base_url=first_url) as first,
        httpx.Client(base_url=second_url) as second,
    ):
        assert log_state(first) == log_state(second) == "ok"
        batch = first.post("/predict", json={"records": golden.records[:5]}, headers={"X-Request-ID": "pg"})
        assert batch.status_code == 200
        assert second.post("/predict", json=GOOD, headers={"X-Request-ID": "pg-single"}).status_code == 200
        assert first.post("/predict", json={**GOOD, "age": 9}).status_code == 422
        window = rows(url, 6)
        assert second.post("/feedback", json={"request_id": "pg-3", "label": 1}).status_code == 201
        assert first.post("/feedback", json={"request_id": "pg-3", "label": 1}).json()["status"] == "duplicate"
        assert first.post("/feedback", json={"request_id": "pg-3", "label": 0}).status_code == 409
        assert first.post("/feedback", json={"request_id": "pg-404", "label": 0}).status_code == 404
        assert metric(first, "mlgate_prediction_log_written_total") >= 6
        probabilities = [p["probability"] for p in batch.json()["predictions"]]

    window = read_window(url)
    frame = window.predictions.set_index("request_id")
    assert sorted(frame.index) == ["pg-0", "pg-1", "pg-2", "pg-3", "pg-4", "pg-single"]
    assert frame.loc[[f"pg-{i}" for i in range(5)], "proba"].tolist() == probabilities
    assert window.sources == 1
    assert len(postgres_server.admin("SELECT DISTINCT replica FROM predictions", database="predlog")) == 2
    assert frame.loc["pg-3", "label"] == 1 and window.labelled == 1
    assert str(frame["received_at"].dt.tz) == "UTC"
    assert window.rejected == {"validation": 1} and window.dropped == 0 and window.written == 7
    assert window.url_redacted.startswith("postgresql+psycopg://mlgate_owner:***@127.0.0.1:")
    assert postgres_server.admin("SELECT count(*) FROM feedback", database="predlog") == [(1,)]
    kinds = dict(
        postgres_server.admin(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'predictions'",
            database="predlog",
        )
    )
    assert kinds["received_at"] == "timestamp with time zone" and kinds["proba"] == "double precision"
    for log in server_log_dir.glob("serve-*.log"):
        assert postgres_server.owner_password not in log.read_text(errors="replace")


def test_a_wrong_password_keeps_serving_and_says_why(postgres_server, bundle_dir, start_server, monkeypatch) -> None:
    url = postgres_server.url(database="mlgate").replace(postgres_server.owner_password, "wrong-password-123")
    monkeypatch.setenv("MLGATE_PREDICTION_LOG_URL", url)
    with start_server(bundle_dir) as server_url, httpx.Client(base_url=server_url) as http:
        state = log_state(http)
        assert state.startswith("unavailable: ") and "password authentication failed" in state
        assert "wrong-password-123" not in state
        assert http.post("/predict", json=GOOD).status_code == 200
        assert http.post("/feedback", json={"request_id": "x", "label": 1}).status_code == 503
