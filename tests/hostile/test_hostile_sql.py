"""Bad-input corpus: SQL sources. Queries that are not a single read query, URLs that cannot connect, secrets.

Every case runs ``mlgate run`` on a copy of the bundled project whose ``[data]`` reads the German credit data
from SQL, and asserts: the exit code, one ``mlgate: error:`` line matching the case's regex, no traceback, no
report written, and the URL's password nowhere in stdout or stderr.

- ``closed``: a PostgreSQL URL with a password on a closed 127.0.0.1 port. A query refused by the parser never
  connects, so these cases need no server; a query that passes it fails fast with "connection refused".
- ``live`` / ``wrong-password``: the test PostgreSQL server (marker ``postgres``); after each case table
  ``credit`` still has its 1,000 rows.
- ``sqlite``: a SQLite copy of the data; after each case the table still has its 1,000 rows.
"""

from __future__ import annotations

import json
import socket
import sqlite3
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fixtures.postgres import credit_rows
from hostile_helpers import assert_one_line_error

FAKE_PASSWORD = "Tr0ub4dor-and-3"
REFUSED = r"^mlgate: error: data\.query refused: {what} \(mlgate runs one read-only SELECT query; nothing was sent"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _sql_project(project: Path, source: str, query: str, **extra: Any) -> Path:
    """Point the project's [data] at ``source`` + ``query`` (JSON strings are valid TOML basic strings)."""
    config = project / "mlgate.toml"
    lines = [f"source = {json.dumps(source)}", f"query = {json.dumps(query)}"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in extra.items()]
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('source = "data/german_credit.csv"', "\n".join(lines)), encoding="utf-8")
    return config


def _sqlite_copy(project: Path) -> Path:
    database = project / "data" / "credit.db"
    with sqlite3.connect(database) as connection:
        pd.read_csv(project / "data" / "german_credit.csv").to_sql("credit", connection, index=False)
    connection.close()
    return database


def _sqlite_rows(database: Path) -> int:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        rows = connection.execute("SELECT count(*) FROM credit").fetchone()[0]
    connection.close()
    return rows


def _run(run_cli, project: Path, config: Path, code: int, pattern: str, password: str) -> None:
    result = run_cli("run", "--config", str(config), "--out", str(project / "reports"))
    assert_one_line_error(result, code, pattern)
    assert password not in result.stdout + result.stderr
    assert not (project / "reports" / "report.json").exists()


# (query, extra [data] keys, exit code, message regex) — against a closed port: refused before connecting.
PARSER_CASES = [
    pytest.param("DROP TABLE credit", {}, 2, REFUSED.format(what="DROP statement"), id="drop-table"),
    pytest.param("DELETE FROM credit", {}, 2, REFUSED.format(what="DELETE statement"), id="delete"),
    pytest.param("UPDATE credit SET age = 0", {}, 2, REFUSED.format(what="UPDATE statement"), id="update"),
    pytest.param("INSERT INTO credit (age) VALUES (1)", {}, 2, REFUSED.format(what="INSERT statement"), id="insert"),
    pytest.param(
        "SELECT * FROM credit; DROP TABLE credit",
        {},
        2,
        REFUSED.format(what=r"2 statements separated by ';' \(SELECT, DROP\)"),
        id="select-then-drop",
    ),
    pytest.param("   \n  ", {}, 2, REFUSED.format(what="the query is empty"), id="empty-query"),
    pytest.param(
        "-- SELECT * FROM credit\n/* nothing else */",
        {},
        2,
        REFUSED.format(what="the query has only comments, no statement"),
        id="comment-only",
    ),
    pytest.param(
        "WITH gone AS (DELETE FROM credit RETURNING *) SELECT * FROM gone",
        {},
        2,
        REFUSED.format(what="DELETE inside the query"),
        id="with-delete-select",
    ),
    pytest.param(
        "WITH a AS (SELECT 1) DELETE FROM credit", {}, 2, REFUSED.format(what="DELETE statement"), id="with-delete"
    ),
    pytest.param(
        "SELECT * INTO credit_copy FROM credit",
        {},
        2,
        REFUSED.format(what="SELECT … INTO writes a table"),
        id="select-into",
    ),
    pytest.param("COPY credit TO '/tmp/credit.csv'", {}, 2, REFUSED.format(what="COPY statement"), id="copy"),
    pytest.param(
        "SET default_transaction_read_only = off", {}, 2, REFUSED.format(what="SET statement"), id="set-session"
    ),
    pytest.param("CALL refresh_credit()", {}, 2, REFUSED.format(what="CALL statement"), id="call"),
    pytest.param(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity",
        {},
        2,
        REFUSED.format(what=r"function pg_terminate_backend\(\) has side effects"),
        id="pg-terminate-backend",
    ),
    pytest.param(
        "SELECT pg_read_file('/etc/passwd')",
        {},
        2,
        REFUSED.format(what=r"function pg_read_file\(\) has side effects"),
        id="pg-read-file",
    ),
    pytest.param(
        "SELECT lo_export(16384, '/tmp/out')",
        {},
        2,
        REFUSED.format(what=r"function lo_export\(\) has side effects"),
        id="lo-export",
    ),
    pytest.param(
        "SELECT dblink_exec('dbname=mlgate', 'DROP TABLE credit')",
        {},
        2,
        REFUSED.format(what=r"function dblink_exec\(\) has side effects"),
        id="dblink-exec",
    ),
    pytest.param(
        "SELECT 'x\\' ; DROP TABLE credit; --' AS a",
        {},
        2,
        REFUSED.format(what="a backslash before a quote in a string literal, read differently by databases; write ''"),
        id="backslash-quote-smuggling",
    ),
    pytest.param(
        "SELECT * FROM credit",
        {},
        2,
        r"^mlgate: error: postgresql\+psycopg://mlgate_owner:\*\*\*@127\.0\.0\.1:\d+/mlgate: cannot connect "
        r"\(key data\.source\): .*Connection refused",
        id="unreachable-port",
    ),
]


@pytest.mark.parametrize(("query", "extra", "code", "pattern"), PARSER_CASES)
def test_refused_or_unreachable_without_a_server(
    run_cli, project_copy: Path, query: str, extra: dict[str, Any], code: int, pattern: str
) -> None:
    url = f"postgresql+psycopg://mlgate_owner:{FAKE_PASSWORD}@127.0.0.1:{_closed_port()}/mlgate"
    config = _sql_project(project_copy, url, query, **extra)
    _run(run_cli, project_copy, config, code, pattern, FAKE_PASSWORD)


@pytest.mark.parametrize(
    ("source", "code", "pattern"),
    [
        pytest.param(
            f"nosuchdb://mlgate_owner:{FAKE_PASSWORD}@127.0.0.1/mlgate",
            2,
            r"^mlgate: error: nosuchdb://mlgate_owner:\*\*\*@127\.0\.0\.1/mlgate: not a usable SQLAlchemy URL "
            r"\(key data\.source\): NoSuchModuleError: Can't load plugin: sqlalchemy\.dialects:nosuchdb$",
            id="unknown-driver",
        ),
        pytest.param(
            f"mysql+pymysql://mlgate_owner:{FAKE_PASSWORD}@127.0.0.1/mlgate",
            2,
            r"^mlgate: error: mysql\+pymysql://mlgate_owner:\*\*\*@127\.0\.0\.1/mlgate: not a usable SQLAlchemy URL "
            r"\(key data\.source\): ModuleNotFoundError: No module named 'pymysql'$",
            id="driver-not-installed",
        ),
        pytest.param(
            "postgresql+psycopg://mlgate_owner:${MLGATE_TEST_UNSET_VAR}@127.0.0.1/mlgate",
            2,
            r"^mlgate: error: data\.source: environment variable MLGATE_TEST_UNSET_VAR is not set "
            r"\(the URL uses \$\{MLGATE_TEST_UNSET_VAR\}\); export it before running mlgate$",
            id="unset-env-var",
        ),
        pytest.param(
            f"postgresql+psycopg://mlgate_owner:{FAKE_PASSWORD}@127.0.0.1:5432/mlgate?password={FAKE_PASSWORD}x",
            2,
            REFUSED.format(what="DROP statement"),
            id="secret-query-parameter",
        ),
    ],
)
def test_bad_urls(
    run_cli, project_copy: Path, monkeypatch: pytest.MonkeyPatch, source: str, code: int, pattern: str
) -> None:
    monkeypatch.delenv("MLGATE_TEST_UNSET_VAR", raising=False)
    query = "DROP TABLE credit" if "password=" in source else "SELECT * FROM credit"
    config = _sql_project(project_copy, source, query)
    _run(run_cli, project_copy, config, code, pattern, FAKE_PASSWORD)


# --- against the live PostgreSQL server: the refusals leave table credit intact ---------------------------------

LIVE_CASES = [
    pytest.param("DROP TABLE credit", {}, REFUSED.format(what="DROP statement"), id="live-drop-table"),
    pytest.param("DELETE FROM credit", {}, REFUSED.format(what="DELETE statement"), id="live-delete"),
    pytest.param("UPDATE credit SET age = 0", {}, REFUSED.format(what="UPDATE statement"), id="live-update"),
    pytest.param(
        "INSERT INTO credit SELECT * FROM credit", {}, REFUSED.format(what="INSERT statement"), id="live-insert"
    ),
    pytest.param(
        "SELECT * FROM credit; DROP TABLE credit",
        {},
        REFUSED.format(what=r"2 statements separated by ';' \(SELECT, DROP\)"),
        id="live-select-then-drop",
    ),
    pytest.param(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity",
        {},
        REFUSED.format(what=r"function pg_terminate_backend\(\) has side effects"),
        id="live-pg-terminate-backend",
    ),
    # Past the parser: only the read-only transaction stands between these and the data.
    pytest.param(
        "SELECT mlgate_wipe() AS wiped",
        {},
        r"^mlgate: error: postgresql\+psycopg://mlgate_owner:\*\*\*@127\.0\.0\.1:\d+/mlgate: data\.query refused by "
        r"the read-only connection: cannot execute DELETE in a read-only transaction$",
        id="live-function-that-deletes",
    ),
    pytest.param(
        "SELECT nextval('credit_seq') AS n",
        {},
        r"data\.query refused by the read-only connection: cannot execute nextval\(\) in a read-only transaction$",
        id="live-nextval",
    ),
    pytest.param(
        "SELECT * FROM nope",
        {},
        r"^mlgate: error: postgresql\+psycopg://mlgate_owner:\*\*\*@127\.0\.0\.1:\d+/mlgate: query failed: "
        r'relation "nope" does not exist',
        id="live-nonexistent-table",
    ),
    pytest.param(
        "SELECT pg_sleep(5) AS slept",
        {"query_timeout_s": 0.5},
        r"query timed out after 0\.5 s \(data\.query_timeout_s\): canceling statement due to statement timeout$",
        id="live-statement-timeout",
    ),
]


@pytest.mark.postgres
@pytest.mark.parametrize(("query", "extra", "pattern"), LIVE_CASES)
def test_live_postgres_refusals_leave_the_table_intact(
    run_cli, project_copy: Path, german_credit_pg, query: str, extra: dict[str, Any], pattern: str
) -> None:
    server = german_credit_pg
    config = _sql_project(project_copy, server.owner_url, query, **extra)
    _run(run_cli, project_copy, config, 2, pattern, server.owner_password)
    assert credit_rows(server) == 1000


@pytest.mark.postgres
def test_live_postgres_wrong_password(run_cli, project_copy: Path, german_credit_pg) -> None:
    server = german_credit_pg
    wrong = server.owner_url.replace(server.owner_password, FAKE_PASSWORD)
    config = _sql_project(project_copy, wrong, "SELECT * FROM credit")
    pattern = (
        r"^mlgate: error: postgresql\+psycopg://mlgate_owner:\*\*\*@127\.0\.0\.1:\d+/mlgate: cannot connect "
        r'\(key data\.source\): .*password authentication failed for user "mlgate_owner"$'
    )
    _run(run_cli, project_copy, config, 2, pattern, FAKE_PASSWORD)


# --- SQLite: the parser refuses, and the connection itself is read-only --------------------------------------

SQLITE_CASES = [
    pytest.param("DROP TABLE credit", {}, REFUSED.format(what="DROP statement"), id="sqlite-drop-table"),
    pytest.param("DELETE FROM credit", {}, REFUSED.format(what="DELETE statement"), id="sqlite-delete"),
    pytest.param("UPDATE credit SET age = 0", {}, REFUSED.format(what="UPDATE statement"), id="sqlite-update"),
    pytest.param(
        "INSERT INTO credit SELECT * FROM credit", {}, REFUSED.format(what="INSERT statement"), id="sqlite-insert"
    ),
    pytest.param(
        "SELECT * FROM credit; DELETE FROM credit",
        {},
        REFUSED.format(what=r"2 statements separated by ';' \(SELECT, DELETE\)"),
        id="sqlite-select-then-delete",
    ),
    pytest.param("PRAGMA writable_schema = ON", {}, REFUSED.format(what="PRAGMA statement"), id="sqlite-pragma"),
    pytest.param(
        "ATTACH DATABASE '/tmp/mlgate-evil.db' AS evil", {}, REFUSED.format(what="ATTACH statement"), id="sqlite-attach"
    ),
    pytest.param(
        "SELECT load_extension('/tmp/evil.so')",
        {},
        REFUSED.format(what=r"function load_extension\(\) has side effects"),
        id="sqlite-load-extension",
    ),
    pytest.param(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT max(i) AS i FROM n",
        {"query_timeout_s": 0.3},
        r"^mlgate: error: sqlite:///.*credit\.db: query timed out after 0\.3 s \(data\.query_timeout_s\): "
        r"interrupted$",
        id="sqlite-endless-query-times-out",
    ),
]


@pytest.mark.parametrize(("query", "extra", "pattern"), SQLITE_CASES)
def test_sqlite_refusals_leave_the_table_intact(
    run_cli, project_copy: Path, query: str, extra: dict[str, Any], pattern: str
) -> None:
    database = _sqlite_copy(project_copy)
    config = _sql_project(project_copy, "sqlite:///data/credit.db", query, **extra)
    _run(run_cli, project_copy, config, 2, pattern, FAKE_PASSWORD)
    assert _sqlite_rows(database) == 1000
    assert not Path("/tmp/mlgate-evil.db").exists()


def test_sqlite_missing_database_is_not_created(run_cli, project_copy: Path) -> None:
    config = _sql_project(project_copy, "sqlite:///data/missing.db", "SELECT * FROM credit")
    pattern = r"^mlgate: error: sqlite:///.*missing\.db: cannot connect \(key data\.source\): sqlite database file .*"
    _run(run_cli, project_copy, config, 2, pattern + r"missing\.db not found$", FAKE_PASSWORD)
    assert not (project_copy / "data" / "missing.db").exists()
