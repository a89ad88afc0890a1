from __future__ import annotations

import sqlite3
from pathlib import Path

import hypothesis.strategies as st
import pandas as pd
import pytest
from hypothesis import given

from pipeline.config import DataSettings
from pipeline.errors import DataError
from pipeline.ingest import fingerprint, load

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
