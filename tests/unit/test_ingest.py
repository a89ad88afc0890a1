from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import hypothesis.strategies as st
import pandas as pd
import pytest
from hypothesis import given

from mlgate.pipeline.config import DataSettings
from mlgate.pipeline.errors import DataError
from mlgate.pipeline.ingest import fingerprint, load

SETTINGS = DataSettings(source="x", target="risk", positive_label=1)


@pytest.fixture(scope="module")
def german(repo_root: Path) -> pd.DataFrame:
    return pd.read_csv(repo_root / "data" / "german_credit.csv")


def test_csv_parquet_and_sql_give_the_same_rows_and_fingerprint(
    tmp_path: Path, german: pd.DataFrame, repo_root: Path
) -> None:
    csv = load(SETTINGS, source=str(repo_root / "data" / "german_credit.csv"))
    german.to_parquet(tmp_path / "g.parquet")
    parquet = load(SETTINGS.model_copy(update={"format": "parquet"}), source=str(tmp_path / "g.parquet"))
    with sqlite3.connect(tmp_path / "g.db") as connection:
        german.to_sql("applicants", connection, index=False)
    sql_settings = SETTINGS.model_copy(update={"source": "sqlite:///g.db", "query": "SELECT * FROM applicants"})
    sql = load(sql_settings, source=f"sqlite:///{tmp_path / 'g.db'}")
    assert csv.meta == {"format": "csv", "rows": 1000, "columns": 10}
    assert parquet.meta["format"] == "parquet" and sql.meta["format"] == "sql"
    assert csv.n_rows == parquet.n_rows == sql.n_rows == 1000
    assert csv.fingerprint == parquet.fingerprint


def test_fingerprint_ignores_row_and_column_order_but_not_values(german: pd.DataFrame) -> None:
    base = fingerprint(german)
    shuffled = german.sample(frac=1.0, random_state=7)[list(reversed(german.columns))]
    assert fingerprint(shuffled) == base
    changed = german.copy()
    changed.loc[3, "age"] += 1
    assert fingerprint(changed) != base
    assert fingerprint(german.rename(columns={"age": "age_years"})) != base
    assert fingerprint(german.astype({"age": "float64"})) != base


@given(
    st.lists(st.tuples(st.integers(-5, 5), st.sampled_from(["a", "b", "c"])), min_size=1, max_size=30),
    st.randoms(use_true_random=False),
)
def test_fingerprint_is_a_multiset_hash(rows: list[tuple[int, str]], rng) -> None:
    frame = pd.DataFrame(rows, columns=["n", "s"])
    permuted = rows[:]
    rng.shuffle(permuted)
    assert fingerprint(pd.DataFrame(permuted, columns=["n", "s"])) == fingerprint(frame)
    assert fingerprint(frame.iloc[:-1]) != fingerprint(frame) or len(rows) == 0


@pytest.mark.parametrize(
    ("content", "settings_update", "message"),
    [
        (None, {}, "data file not found"),
        (b"", {}, "the file is empty"),
        (b"risk;sex\n1;male\n0;female\n", {}, "set data.delimiter = ';'"),
        ("risk,sex\n1,m\u00e4nnlich\n".encode("latin-1"), {}, "not readable as utf-8"),
        (b"sex,age\nmale,3\n", {}, "target column 'risk' not found; columns are sex, age"),
        (b"risk,sex\n", {}, "no data rows"),
        (b"PAR1garbage", {"format": "parquet"}, "not a readable Parquet file"),
    ],
)
def test_bad_data_sources_give_one_line_errors_naming_the_file(
    tmp_path: Path, content: bytes | None, settings_update: dict, message: str
) -> None:
    path = tmp_path / "data.csv"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DataError, match=message) as info:
        load(SETTINGS.model_copy(update=settings_update), source=str(path))
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_bad_sql_query_names_the_url(tmp_path: Path) -> None:
    sqlite3.connect(tmp_path / "empty.db").close()
    settings = SETTINGS.model_copy(update={"source": "sqlite:///empty.db", "query": "SELECT * FROM nope"})
    with pytest.raises(DataError, match="query failed: no such table: nope"):
        load(settings, source=f"sqlite:///{tmp_path / 'empty.db'}")


def _symlink_loop(folder: Path) -> Path:
    (folder / "a.csv").symlink_to(folder / "b.csv")
    (folder / "b.csv").symlink_to(folder / "a.csv")
    return folder / "a.csv"


def _fifo(folder: Path) -> Path:
    path = folder / "pipe.csv"
    os.mkfifo(path)
    return path


def _dangling(folder: Path) -> Path:
    (folder / "link.csv").symlink_to(folder / "gone.csv")
    return folder / "link.csv"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_symlink_loop, r"a\.csv: symlink loop"),
        (_fifo, r"pipe\.csv: a FIFO \(named pipe\); data\.source must be a regular CSV or Parquet file"),
        (_dangling, r"link\.csv: a symlink to .*gone\.csv, which does not exist"),
        (lambda folder: folder, r": a directory, not a data file"),
    ],
)
def test_paths_that_are_not_regular_files_say_what_they_are(tmp_path: Path, make, message: str) -> None:
    path = make(tmp_path)
    with pytest.raises(DataError, match=message) as info:
        load(SETTINGS, source=str(path))
    assert "not found" not in str(info.value) or "symlink to" in str(info.value)


def test_a_symlink_to_a_real_file_is_read(tmp_path: Path, repo_root: Path) -> None:
    (tmp_path / "link.csv").symlink_to(repo_root / "data" / "german_credit.csv")
    assert load(SETTINGS, source=str(tmp_path / "link.csv")).n_rows == 1000


def test_an_unreadable_file_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # tests may run as root, which chmod cannot lock out: make the read itself fail as it would for a user
    path = tmp_path / "data.csv"
    path.write_text("risk,sex\n1,male\n")

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(pd, "read_csv", denied)
    with pytest.raises(DataError, match=r"data\.csv: cannot read the data file \(permission denied\)"):
        load(SETTINGS, source=str(path))


def test_a_decoding_error_names_the_offset_in_the_file_the_line_and_the_column(tmp_path: Path) -> None:
    # far past pandas' first read chunk, inside a cell: pandas' own offset would count from the chunk, not the file
    rows = [f"{i % 2},male,{'x' * 50}" for i in range(5000)]
    rows[4321] = "1,m\u00e4nnlich,plain"
    head = b"risk,sex,note\n"
    body = "\n".join(rows).encode("latin-1") + b"\n"
    path = tmp_path / "data.csv"
    path.write_bytes(head + body)
    offset = (head + body).index(b"\xe4")
    with pytest.raises(DataError) as info:
        load(SETTINGS, source=str(path))
    assert str(info.value) == (
        f"{path}: not readable as utf-8: byte 0xe4 at offset {offset} of the file (line 4323, column 'sex'); "
        "set data.encoding in the config (e.g. 'latin-1' or 'cp1252')"
    )
    assert load(SETTINGS.model_copy(update={"encoding": "latin-1"}), source=str(path)).n_rows == 5000


def test_the_decoding_error_is_found_across_chunk_boundaries(tmp_path: Path) -> None:
    from mlgate.pipeline.ingest import _locate_decode_error

    path = tmp_path / "data.csv"
    # a two-byte UTF-8 character split by the 1 MiB chunk boundary, then a bad byte after it
    good = b"a" * ((1 << 20) - 1) + "\u00e4".encode() + b"\nb\n"
    path.write_bytes(good + b"\xff")
    assert _locate_decode_error(path, "utf-8") == (len(good), 3, b"\xff")
    path.write_bytes(good)
    assert _locate_decode_error(path, "utf-8") is None
