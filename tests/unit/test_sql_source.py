"""pipeline.sql_source: the query check before connecting, and the read-only connections behind it.

The CLI-level corpus (exit codes, messages, tables left intact) is tests/hostile/test_hostile_sql.py; here each
layer is tested alone: the parser on queries it must accept and refuse, and the connections with the parser
bypassed, so each layer is shown to hold by itself.
"""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from fixtures.postgres import credit_rows
from pydantic import ValidationError

from mlgate.pipeline.config import DataSettings
from mlgate.pipeline.errors import DataError
from mlgate.pipeline.sql_source import _engine, check_read_query, read_sql, resolve_env


@pytest.mark.parametrize(
    ("query", "statement"),
    [
        ("SELECT * FROM credit", "SELECT * FROM credit"),
        ("select * from credit;", "select * from credit"),
        ("  SELECT 1 ;  ;", "SELECT 1"),
        ("WITH young AS (SELECT * FROM credit WHERE age < 25) SELECT * FROM young", None),
        ("(SELECT age FROM credit) UNION (SELECT age FROM archive)", None),
        ("-- the training snapshot\nSELECT * FROM credit /* all columns */", None),
        ("SELECT 'it''s', '50%', '10:30', \"set\" FROM credit", None),
        ("SELECT replace(purpose, 'car', 'auto') AS purpose, count(*) FROM credit GROUP BY 1", None),
        ("SELECT $$ DROP TABLE credit $$ AS text", None),
    ],
)
def test_read_queries_pass(query: str, statement: str | None) -> None:
    assert check_read_query(query) == (statement or query.strip())


@pytest.mark.parametrize(
    ("query", "refused"),
    [
        ("SELECT * FROM credit FOR UPDATE", "UPDATE inside the query"),
        ("EXPLAIN ANALYZE DELETE FROM credit", "EXPLAIN statement"),
        ("VALUES (1), (2)", "VALUES statement"),
        ("TRUNCATE credit", "TRUNCATE statement"),
        ("GRANT ALL ON credit TO PUBLIC", "GRANT statement"),
        ("SELECT * FROM credit;\n-- and then\nDELETE FROM credit", "2 statements separated by ';' (SELECT, DELETE)"),
        ("SELECT query_to_xml('DELETE FROM credit', true, false, '')", "function query_to_xml() has side effects"),
        ("SELECT set_config('default_transaction_read_only', 'off', false)", "function set_config()"),
        ("SELECT pg_catalog.pg_terminate_backend(42)", "function pg_terminate_backend()"),
        ("SELECT \"pg_read_file\"('/etc/passwd')", "function pg_read_file()"),
        ("SELECT pg_advisory_lock(1)", "function pg_advisory_lock()"),
        ("SELECT lo_import('/etc/passwd')", "function lo_import()"),
        ("SELECT * FROM credit WHERE purpose = 'car\\' OR 1=1; DROP TABLE credit; --'", "a backslash before a quote"),
    ],
)
def test_other_statements_are_refused(query: str, refused: str) -> None:
    with pytest.raises(DataError, match=r"^data\.query refused: ") as info:
        check_read_query(query)
    assert refused in str(info.value)
    assert str(info.value).endswith("(mlgate runs one read-only SELECT query; nothing was sent to the database)")


@pytest.fixture
def credit_db(tmp_path: Path, repo_root: Path) -> Path:
    database = tmp_path / "credit.db"
    with sqlite3.connect(database) as connection:
        pd.read_csv(repo_root / "data" / "german_credit.csv").to_sql("credit", connection, index=False)
    connection.close()
    return database


def _rows(database: Path) -> int:
    with sqlite3.connect(database) as connection:
        count = connection.execute("SELECT count(*) FROM credit").fetchone()[0]
    connection.close()
    return count


@pytest.mark.parametrize(
    "statement",
    ["DELETE FROM credit", "DROP TABLE credit", "PRAGMA query_only = OFF", "ATTACH DATABASE ':memory:' AS other"],
)
def test_sqlite_connection_is_read_only_without_the_parser(credit_db: Path, statement: str) -> None:
    """The second layer alone: sent straight to the connection, a write is refused by SQLite itself."""
    import sqlalchemy as sa

    engine = _engine(f"sqlite:///{credit_db}", 5.0)
    try:
        with engine.connect() as connection, pytest.raises(sa.exc.DatabaseError, match="not authorized|readonly"):
            connection.exec_driver_sql(statement)
    finally:
        engine.dispose()
    assert _rows(credit_db) == 1000


def test_sqlite_reads_literals_with_percent_and_colon(credit_db: Path) -> None:
    frame = read_sql(f"sqlite:///{credit_db}", "SELECT '50%' AS share, '10:30' AS time, age FROM credit", timeout_s=5)
    assert frame.shape == (1000, 3) and frame.loc[0, "time"] == "10:30" and frame.loc[0, "share"] == "50%"


def test_env_reference_is_resolved_without_url_encoding(monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.engine import make_url

    monkeypatch.setenv("MLGATE_TEST_PW", "p@ss/w:rd%20 x")
    monkeypatch.setenv("MLGATE_TEST_DB", "credit")
    resolved, values = resolve_env("postgresql+psycopg://reader:${MLGATE_TEST_PW}@127.0.0.1:5432/${MLGATE_TEST_DB}")
    parsed = make_url(resolved)
    assert (parsed.password, parsed.database, parsed.host, parsed.port) == (
        "p@ss/w:rd%20 x",
        "credit",
        "127.0.0.1",
        5432,
    )
    assert values == ["p@ss/w:rd%20 x", "credit"]
    assert resolve_env("sqlite:///x.db") == ("sqlite:///x.db", [])


@pytest.mark.parametrize("bad", [0, -1, math.nan, math.inf, 86_401])
def test_query_timeout_must_be_a_positive_finite_bound(bad: float) -> None:
    with pytest.raises(ValidationError, match="query_timeout_s"):
        DataSettings(source="sqlite:///x.db", query="SELECT 1", target="y", positive_label=1, query_timeout_s=bad)


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ("DELETE FROM credit", "cannot execute DELETE in a read-only transaction"),
        ("SELECT mlgate_wipe()", "cannot execute DELETE in a read-only transaction"),
        ("SET TRANSACTION READ WRITE", "transaction read-write mode must be set before any query"),
    ],
)
def test_postgres_connection_is_read_only_without_the_parser(german_credit_pg, statement: str, message: str) -> None:
    """The second layer alone, for the password role that owns the table and could otherwise write."""
    import sqlalchemy as sa

    engine = _engine(german_credit_pg.owner_url, 5.0)
    try:
        with engine.connect() as connection, pytest.raises(sa.exc.DatabaseError, match=message):
            connection.exec_driver_sql("SELECT 1")
            connection.exec_driver_sql(statement)
    finally:
        engine.dispose()
    assert credit_rows(german_credit_pg) == 1000
