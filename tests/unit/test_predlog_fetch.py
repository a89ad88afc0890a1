"""The prediction log's two fetch paths give the same window: ADBC straight into Arrow for SQLite files (the table
split into rowid ranges read in parallel), and the driver's rows through SQLAlchemy (PostgreSQL, or an install
without ADBC). A log made to trip both: probabilities missing for more than ADBC's first batch of 1,024 rows, a
date-like string feature, labels stored in another replica's file, two replicas disagreeing on a label."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from mlgate.pipeline.predlog import PredictionLogError, arrow_fetch, log_file, predictions, read_window, reader
from tests.unit.test_predlog import record, writer, written

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
ROWS = 2_500


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("log")
    first, second = writer(folder, "host-1", queue_size=5_000, batch_size=500), writer(folder, "host-2")
    records = [
        record(i, decision='"bad"' if i % 3 else '"good"', note=f"2026-01-{1 + i % 28:02d}") for i in range(ROWS)
    ]
    for index, item in enumerate(records):
        if index < 1_500:  # no score (NaN, stored as NULL) for more than ADBC's first batch
            object.__setattr__(item, "proba", float("nan"))
    first.submit_many(records)
    second.submit_many(record(i, rid=f"s{i}") for i in range(ROWS, ROWS + 20))
    written(first)
    written(second)
    with sqlite3.connect(log_file(folder, "host-1")) as db:
        db.executemany(
            "INSERT INTO feedback VALUES (?, ?, ?)",
            [
                (f"r{i}", '"bad"' if i % 2 else '"good"', f"2026-12-01 10:00:{i % 60:02d}.000000")
                for i in range(0, ROWS, 7)
            ],
        )
    with sqlite3.connect(log_file(folder, "host-2")) as db:  # r7's label, given earlier on the other replica, counts
        db.execute("INSERT INTO feedback VALUES ('r7', '\"good\"', '2026-12-01 09:00:00.000000')")
        db.execute("INSERT INTO feedback VALUES ('s2505', '1', '2026-12-01 09:00:00.000000')")
    return folder


WINDOWS = {
    "all": {},
    "since-until": {"since": T0 + timedelta(seconds=1_000), "until": T0 + timedelta(seconds=2_000)},
    "last": {"last": 30},
    "empty": {"since": T0 + timedelta(days=3)},
}


@pytest.mark.parametrize("window", list(WINDOWS))
@pytest.mark.parametrize("where", ["folder of two files", "one file (labels joined in SQL)"])
def test_adbc_and_the_driver_rows_read_the_same_window(log: Path, where: str, window: str, monkeypatch) -> None:
    assert arrow_fetch.adbc_available()
    location = log if where.startswith("folder") else log_file(log, "host-1")
    monkeypatch.setattr(reader, "_SPLIT_MIN_ROWS", 100)  # the ranges path on a small log
    fast = read_window(location, **WINDOWS[window])
    monkeypatch.setattr(reader, "adbc_available", lambda: False)
    rows = read_window(location, **WINDOWS[window])
    pd.testing.assert_frame_equal(fast.predictions, rows.predictions)
    assert (fast.labelled, fast.rejected, fast.written, fast.features) == (
        rows.labelled,
        rows.rejected,
        rows.written,
        rows.features,
    )


def test_the_window_holds_what_was_written(log: Path, monkeypatch) -> None:
    monkeypatch.setattr(reader, "_SPLIT_MIN_ROWS", 100)
    frame = read_window(log).predictions
    assert len(frame) == ROWS + 20 and frame["request_id"].is_unique
    assert frame["proba"].isna().sum() == 1_500 and frame["proba"].iloc[1_500] == 15.0
    assert frame["note"].iloc[:3].tolist() == ["2026-01-01", "2026-01-02", "2026-01-03"]  # strings, not dates
    labels = dict(zip(frame["request_id"], frame["label"], strict=True))
    assert labels["r0"] == "good" and labels["r7"] == "good" and labels["r14"] == "good" and labels["r1"] is None
    assert labels["r21"] == "bad" and labels["s2505"] == 1
    assert frame["decision"].tolist()[:3] == ["good", "bad", "bad"]
    assert frame["received_at"].is_monotonic_increasing and str(frame["received_at"].dt.tz) == "UTC"
    one = read_window(log_file(log, "host-1")).predictions  # its own labels only: r7's is the one stored there
    assert len(one) == ROWS and one["label"].iloc[7] == "bad" and one["label"].iloc[14] == "good"


def test_a_database_error_in_the_adbc_fetch_is_one_line_naming_the_log(tmp_path: Path) -> None:
    path = log_file(tmp_path, "broken")
    path.write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)  # a header and nothing sound behind it
    query = sa.select(predictions.c.request_id)
    with pytest.raises(PredictionLogError, match=r"^shown-name: cannot read the prediction log \(.*database"):
        arrow_fetch.sqlite_tables(path, [[query]], "shown-name")
    with pytest.raises(PredictionLogError, match=f"^{tmp_path}: cannot read the prediction log"):
        read_window(tmp_path)


def test_the_serving_side_of_the_log_imports_without_pyarrow() -> None:
    """The serving image installs no pyarrow: writing the log and feedback must not need the reader."""
    code = (
        "import sys; sys.modules['pyarrow'] = None\n"
        "from mlgate.pipeline import predlog\n"
        "from mlgate.pipeline.predlog import FeedbackStore, LogWriter, PredictionLogError\n"
        "assert 'mlgate.pipeline.predlog.reader' not in sys.modules\n"
        "try:\n    predlog.read_window\nexcept ImportError:\n    print('reader needs pyarrow')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "reader needs pyarrow"


def test_a_logged_time_that_is_no_time_is_one_line_naming_the_log(tmp_path: Path) -> None:
    """An edited log whose received_at text neither Arrow nor pandas parses: PredictionLogError, not ValueError."""
    folder = tmp_path / "log"
    first = writer(folder, "host-1")
    first.submit_many(record(i) for i in range(20))
    written(first)
    with sqlite3.connect(log_file(folder, "host-1")) as db:
        db.execute("UPDATE predictions SET received_at = 'the day after tomorrow' WHERE rowid = 3")
    with pytest.raises(PredictionLogError) as caught:
        read_window(str(folder))
    assert str(folder) in str(caught.value) and "day after tomorrow" in str(caught.value)
