"""The prediction log on its own (pipeline.predlog): the writer's bounded queue, its one-transaction batches and
retries, the reader's decoding and windows, feedback statuses, and the [monitor.log] settings. Real SQLite files
in a temporary folder; the HTTP side is tests/serving/test_predlog_serving.py."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from mlgate.pipeline.config import load_config
from mlgate.pipeline.config_monitor import LOG_DIR_ENV, LOG_URL_ENV, PredictionLogSettings
from mlgate.pipeline.errors import ConfigError
from mlgate.pipeline.predlog import (
    FeedbackStatus,
    FeedbackStore,
    LogWriter,
    PredictionLogError,
    PredictionRecord,
    RejectionRecord,
    feedback,
    log_file,
    read_window,
    sqlite_url,
)
from mlgate.pipeline.predlog.tables import ensure_schema

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
INPUTS = {"age": 30, "sex": "male", "opened": "2020-01-01", "amount": 1.5, "checking": None, "flag": True}


def record(index: int, *, rid: str | None = None, decision: str = "1", **inputs: object) -> PredictionRecord:
    return PredictionRecord(
        request_id=rid or f"r{index}",
        received_at=T0 + timedelta(seconds=index),
        model_name="german-credit",
        model_version="7",
        model_sha256="ab" * 32,
        inputs={**INPUTS, "age": 20 + index, **inputs},
        proba=index / 100,
        decision=decision,
        latency_ms=1.25,
    )


def writer(folder: Path, replica: str = "r1", **options: object) -> LogWriter:
    settings: dict[str, object] = {"queue_size": 100, "batch_size": 10, "flush_interval_s": 0.05}
    return LogWriter(sqlite_url(log_file(folder, replica)), replica=replica, **{**settings, **options})  # type: ignore[arg-type]


def written(w: LogWriter) -> None:
    """Start ``w`` (if needed), wait until everything queued is committed, and stop it."""
    if w._thread is None:
        w.start()
    assert w.flush(20), w.state
    w.close()


def test_a_full_queue_drops_and_counts_without_blocking(tmp_path: Path) -> None:
    drops: list[tuple[int, str]] = []
    w = writer(tmp_path, queue_size=3, on_dropped=lambda n, reason: drops.append((n, reason)))
    assert w.submit_many(record(i) for i in range(5)) == 3
    started = time.perf_counter()
    assert w.submit(record(9)) is False  # full: returns at once
    assert time.perf_counter() - started < 0.05
    assert w.dropped == 3 and drops == [(2, "queue_full"), (1, "queue_full")]
    written(w)
    window = read_window(tmp_path)
    assert window.predictions["request_id"].tolist() == ["r0", "r1", "r2"]
    assert (window.dropped, window.written, window.sources) == (3, 3, 1)  # the drops reached writer_stats


def test_a_batch_is_one_transaction_refused_wholly(tmp_path: Path) -> None:
    path = log_file(tmp_path, "r1")
    engine = sa.create_engine(sqlite_url(path))
    with engine.begin() as connection:
        ensure_schema(connection, where=str(path))
    engine.dispose()
    with sqlite3.connect(path) as db:  # the third row of the batch fails inside the transaction
        db.execute(
            "CREATE TRIGGER poison BEFORE INSERT ON predictions WHEN NEW.request_id = 'poison' "
            "BEGIN SELECT RAISE(ABORT, 'poisoned row'); END"
        )
    drops: list[tuple[int, str]] = []
    w = writer(tmp_path, on_dropped=lambda n, reason: drops.append((n, reason)))
    w.submit_many([record(0), record(1), record(2, rid="poison"), record(3), RejectionRecord(T0, "validation", "x")])
    w.start()
    assert w.flush(20)
    window = read_window(tmp_path)
    assert window.predictions.empty and window.rejected == {}  # neither the rows before nor after the bad one
    assert drops == [(5, "write_error")]
    w.submit(record(4))
    written(w)  # the writer goes on
    window = read_window(tmp_path)
    assert window.predictions["request_id"].tolist() == ["r4"]
    assert (window.dropped, window.written) == (5, 1)


def test_a_repeated_request_id_keeps_the_first_record(tmp_path: Path) -> None:
    w = writer(tmp_path)
    w.submit_many([record(0, rid="same"), record(1, rid="same")])  # within one batch
    w.start()
    assert w.flush(20)
    w.submit(record(2, rid="same"))  # and in a later one
    written(w)
    window = read_window(tmp_path)
    assert window.predictions["request_id"].tolist() == ["same"]
    assert window.predictions["age"].tolist() == [20]
    assert window.dropped == 2


def test_an_unreachable_log_is_retried_and_nothing_queued_is_lost(tmp_path: Path) -> None:
    blocker = tmp_path / "volume"
    blocker.write_text("not a folder")  # the log folder cannot be made
    w = LogWriter(
        sqlite_url(log_file(blocker / "logs", "r1")), replica="r1", batch_size=10, flush_interval_s=0.05,
        backoff_s=(0.05, 0.2),
    )  # fmt: skip
    w.submit_many(record(i) for i in range(3))
    w.start()
    deadline = time.monotonic() + 10
    while w.state == "connecting" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert w.state.startswith("unavailable: ") and w.engine is None
    assert not w.flush(0.2)
    blocker.unlink()  # the volume appears
    written(w)
    assert w.state == "ok"
    assert read_window(blocker / "logs").predictions["request_id"].tolist() == ["r0", "r1", "r2"]


def test_an_unreachable_server_is_named_without_its_password(tmp_path: Path) -> None:
    w = LogWriter("postgresql+psycopg://mlgate:s3cret-pw@127.0.0.1:1/log", replica="r1", backoff_s=(5.0, 5.0))
    w.start()
    deadline = time.monotonic() + 20
    while w.state == "connecting" and time.monotonic() < deadline:
        time.sleep(0.01)
    w.close(0.5)
    assert w.state.startswith("unavailable: ") and "s3cret-pw" not in w.state
    assert w.url_redacted == "postgresql+psycopg://mlgate:***@127.0.0.1:1/log"
    with pytest.raises(PredictionLogError, match=r"mlgate:\*\*\*@127.0.0.1:1/log: cannot open") as error:
        read_window("postgresql+psycopg://mlgate:s3cret-pw@127.0.0.1:1/log")
    assert "s3cret-pw" not in str(error.value)


def test_the_reader_decodes_records_labels_and_windows(tmp_path: Path) -> None:
    w = writer(tmp_path)
    w.submit_many(record(i, decision='"bad"' if i % 2 else '"good"') for i in range(6))
    w.submit(RejectionRecord(T0 + timedelta(seconds=1.5), "validation", "HTTP 422: 1 error: body.age missing"))
    w.submit(RejectionRecord(T0 + timedelta(seconds=9), "body_too_large", "HTTP 413"))
    written(w)
    with sqlite3.connect(log_file(tmp_path, "r1")) as db:
        db.execute("INSERT INTO feedback VALUES ('r1', '\"bad\"', '2026-12-01 09:00:00.000000')")
    window = read_window(tmp_path)
    frame = window.predictions
    assert list(frame.columns[:8]) == [
        *("request_id", "received_at", "model_version", "model_sha256"),
        *("proba", "decision", "latency_ms", "label"),
    ]
    assert window.features == ("age", "sex", "opened", "amount", "checking", "flag")
    assert str(frame["received_at"].dt.tz) == "UTC" and frame["received_at"].iloc[0] == pd.Timestamp(T0)
    assert frame["age"].tolist() == [20, 21, 22, 23, 24, 25]
    assert frame["opened"].tolist() == ["2020-01-01"] * 6  # a date-like string stays a string
    assert frame["amount"].tolist() == [1.5] * 6 and frame["flag"].tolist() == [True] * 6
    assert frame["checking"].isna().all()
    assert frame["decision"].tolist() == ["good", "bad"] * 3
    assert frame["label"].tolist() == [None, "bad", None, None, None, None] and window.labelled == 1
    assert frame["proba"].tolist() == [i / 100 for i in range(6)]
    assert window.rejected == {"body_too_large": 1, "validation": 1}
    part = read_window(tmp_path, since=T0 + timedelta(seconds=1), until=T0 + timedelta(seconds=3))
    assert part.predictions["request_id"].tolist() == ["r1", "r2"] and part.rejected == {"validation": 1}
    last = read_window(tmp_path, last=2)
    assert last.predictions["request_id"].tolist() == ["r4", "r5"] and last.rejected == {"body_too_large": 1}
    naive = read_window(tmp_path, since=(T0 + timedelta(seconds=4)).replace(tzinfo=None))
    assert naive.predictions["request_id"].tolist() == ["r4", "r5"]  # a naive time is UTC
    assert read_window(tmp_path, since=T0 + timedelta(days=1)).predictions.empty


def test_every_replica_file_is_read_and_feedback_finds_ids_in_other_files(tmp_path: Path) -> None:
    first, second = writer(tmp_path, "host-1"), writer(tmp_path, "host-2")
    first.submit_many(record(i) for i in range(3))
    second.submit_many(record(i, rid=f"s{i}") for i in range(3, 5))
    first.start()
    second.start()
    assert first.flush(20) and second.flush(20) and first.wait_connected(20) and second.wait_connected(20)
    store = FeedbackStore(second, tmp_path)  # a load balancer sends r0's label to the other replica
    outcomes = store.submit([("r0", "1"), ("s3", "0"), ("nope", "1")])
    assert [o.status for o in outcomes] == [FeedbackStatus.STORED, FeedbackStatus.STORED, FeedbackStatus.UNKNOWN]
    assert FeedbackStore(first, tmp_path).submit([("r0", "0")])[0].status == FeedbackStatus.CONFLICT
    first.close()
    second.close()
    window = read_window(tmp_path)
    assert window.sources == 2 and len(window.predictions) == 5
    for name, ids in (("host-1", [("r0",), ("r1",), ("r2",)]), ("host-2", [("s3",), ("s4",)])):
        with sqlite3.connect(log_file(tmp_path, name)) as db:  # each replica's rows in its own file, named
            assert db.execute(f"SELECT request_id FROM predictions WHERE replica = '{name}'").fetchall() == ids
    assert dict(zip(window.predictions["request_id"], window.predictions["label"], strict=True)) == {
        "r0": 1,
        "r1": None,
        "r2": None,
        "s3": 0,
        "s4": None,
    }
    assert read_window(log_file(tmp_path, "host-1")).sources == 1  # one file
    assert len(read_window(sqlite_url(log_file(tmp_path, "host-2"))).predictions) == 2  # one URL


def test_feedback_is_idempotent_and_finds_a_record_still_in_the_queue(tmp_path: Path) -> None:
    w = writer(tmp_path, flush_interval_s=2.0)
    w.start()
    assert w.wait_connected(20)
    w.submit(record(0))  # queued: the writer would wait up to 2 s to batch it
    store = FeedbackStore(w)
    started = time.monotonic()
    statuses = [o.status for o in store.submit([("r0", "1"), ("r0", "1"), ("r0", "0"), ("r9", "1")])]
    assert time.monotonic() - started < 5
    assert statuses == ["stored", "duplicate", "conflict", "unknown"]
    assert [o.status for o in store.submit([("r0", "1")])] == ["duplicate"]
    second = store.submit([("r0", "0")])[0]
    assert second.status == "conflict" and second.stored_label == "1"
    w.close()
    with sqlite3.connect(log_file(tmp_path, "r1")) as db:
        assert db.execute("SELECT request_id, label FROM feedback").fetchall() == [("r0", "1")]
    unavailable = LogWriter(sqlite_url(tmp_path / "x.sqlite"), replica="r2")  # never started: not connected
    with pytest.raises(PredictionLogError, match="is connecting"):
        FeedbackStore(unavailable).submit([("r0", "1")])


@pytest.mark.parametrize(
    ("make", "message"),
    [
        pytest.param(lambda p: p / "missing", r"missing: no prediction log here", id="no-folder"),
        pytest.param(lambda p: sqlite_url(p / "none.sqlite"), r"no prediction log at this SQLite URL", id="no-file"),
        pytest.param(lambda p: _other_database(p), r"not a prediction log", id="not-a-log"),
        pytest.param(lambda p: _other_version(p), r"schema_version '0'; this mlgate reads version '1'", id="version"),
    ],
)
def test_the_reader_refuses_what_is_not_a_log(tmp_path: Path, make, message: str) -> None:
    with pytest.raises(PredictionLogError, match=message):
        read_window(make(tmp_path))


def _other_database(folder: Path) -> Path:
    path = folder / "predictions-x.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (a INTEGER)")
    return folder


def _other_version(folder: Path) -> Path:
    w = writer(folder)
    written(w)
    with sqlite3.connect(log_file(folder, "r1")) as db:
        db.execute("UPDATE log_info SET value = '0' WHERE key = 'schema_version'")
    return folder


def test_an_empty_folder_is_an_empty_window_and_bad_arguments_are_refused(tmp_path: Path) -> None:
    window = read_window(tmp_path)
    assert window.predictions.empty and window.sources == 0 and window.dropped == 0 and window.features == ()
    with pytest.raises(ValueError, match="last must be a positive integer"):
        read_window(tmp_path, last=0)
    engine = sa.create_engine(sqlite_url(tmp_path / "t.sqlite"))
    with pytest.raises(sa.exc.StatementError, match="timezone-aware"), engine.begin() as connection:
        ensure_schema(connection, where="t")
        connection.execute(sa.insert(feedback).values(request_id="x", label="1", received_at=datetime(2026, 1, 1)))
    engine.dispose()


def test_log_settings_resolve_against_the_config_and_the_environment(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(LOG_URL_ENV, raising=False)
    monkeypatch.delenv(LOG_DIR_ENV, raising=False)
    settings = PredictionLogSettings()
    assert settings.location(tmp_path) == str(tmp_path / "predictions")
    assert PredictionLogSettings(dir="/var/log/p").location(tmp_path) == "/var/log/p"
    assert PredictionLogSettings(url="sqlite:///log.sqlite").location(tmp_path) == f"sqlite:///{tmp_path}/log.sqlite"
    monkeypatch.setenv(LOG_DIR_ENV, "elsewhere")
    assert PredictionLogSettings(url="postgresql://h/db").location(tmp_path) == str(tmp_path / "elsewhere")
    monkeypatch.setenv(LOG_URL_ENV, "postgresql+psycopg://h/db")
    assert settings.location(tmp_path) == "postgresql+psycopg://h/db"
    assert settings.bundle_fields() == {
        "enabled": True,
        "queue_size": 10_000,
        "batch_size": 256,
        "flush_interval_s": 0.5,
    }


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ('url = "my-server/db"', r"key 'monitor.log.url': .*must be an SQLAlchemy URL"),
        ("batch_size = 500\nqueue_size = 100", r"key 'monitor.log'.*batch_size 500 is larger than queue_size 100"),
        ("flush_interval_s = 0", r"key 'monitor.log.flush_interval_s'"),
        ("queue_size = 0", r"key 'monitor.log.queue_size'"),
        ('dir = ""', r"key 'monitor.log.dir'"),
        ("enabld = false", r"unknown key 'monitor.log.enabld'"),
    ],
)
def test_bad_log_settings_are_one_line_naming_the_key(tmp_path: Path, section: str, message: str) -> None:
    root = Path(__file__).resolve().parents[2]
    config = tmp_path / "mlgate.toml"
    text = (root / "mlgate.toml").read_text(encoding="utf-8").replace('source = "data/', f'source = "{root}/data/')
    config.write_text(text + f"\n[monitor.log]\n{section}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as error:
        load_config(config)
    assert "\n" not in str(error.value)
