"""Read an SQL data source read-only: the query is checked before connecting, then run on a read-only connection.

Two layers, because neither is enough alone:

1. :func:`check_read_query` parses ``data.query`` with sqlparse before any connection is opened and refuses
   anything that is not exactly one read query: an empty or comment-only query, a second statement after ``;``,
   any statement type but ``SELECT`` (``WITH … SELECT`` is fine, ``WITH … DELETE`` is not), a data-modifying
   keyword anywhere inside (``WITH d AS (DELETE … RETURNING *) SELECT …``, ``SELECT … INTO``, ``FOR UPDATE``),
   ``COPY``/``PRAGMA``/``ATTACH``/``CALL``/``EXECUTE``/``SET``, calls of functions known to have side effects
   (``pg_terminate_backend``, ``lo_export``, ``dblink_exec``, ``pg_read_file``, ``set_config``, …) and a
   backslash before a quote in a string literal (sqlparse and PostgreSQL would split such a query differently).
2. The query runs on a connection the database itself keeps read-only, so a side effect the parser cannot see
   (a user-defined function that deletes, ``nextval``) fails there: PostgreSQL sessions start with
   ``default_transaction_read_only`` and the transaction is ``READ ONLY`` (``postgresql_readonly``); SQLite
   files are opened with ``mode=ro``, ``PRAGMA query_only = ON``, and an authorizer that allows only reads.
   Other dialects get layer 1 only: give them a database role that can only read.

``data.query_timeout_s`` bounds the query (PostgreSQL ``statement_timeout``; SQLite a progress handler) and the
PostgreSQL connect timeout. ``${NAME}`` in the URL's user, password, host, database or query values is taken
from the environment when connecting, and only then, so a password need not sit in the config file. Every
message shows the URL redacted (:mod:`pipeline.redact`).
"""

from __future__ import annotations

import math
import os
import re
import sqlite3
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd

from mlgate.pipeline.errors import DataError
from mlgate.pipeline.redact import redact_text, redact_url, url_secrets

__all__ = ["check_read_query", "read_sql", "resolve_env"]

_RULE = "mlgate runs one read-only SELECT query"
#: Words that make a statement write, lock, run other code or change the session, wherever they appear.
# fmt: off
_FORBIDDEN_WORDS = frozenset({
    "INSERT", "UPDATE", "DELETE", "MERGE", "UPSERT", "DROP", "CREATE", "ALTER", "TRUNCATE", "RENAME", "GRANT",
    "REVOKE", "COPY", "PRAGMA", "ATTACH", "DETACH", "CALL", "EXEC", "EXECUTE", "SET", "RESET", "LOCK", "VACUUM",
    "REINDEX", "CLUSTER", "REFRESH", "LISTEN", "NOTIFY", "PREPARE", "DEALLOCATE", "DECLARE", "INTO", "LOAD",
    "IMPORT", "COMMIT", "ROLLBACK", "SAVEPOINT",
})
# fmt: on
#: Functions with side effects (signals, files, other connections, session settings, locks, SQL in strings).
_FORBIDDEN_FUNCTIONS = re.compile(
    r"pg_(terminate|cancel)_backend|pg_reload_conf|pg_rotate_logfile|pg_promote|pg_switch_wal|pg_(create|drop)_.*"
    r"|pg_(start|stop|backup)_.*|pg_read_.*|pg_ls_.*|pg_stat_file|pg_file_.*|pg_advisory_.*|pg_try_advisory_.*"
    r"|pg_notify|pg_logical_emit_message|lo_.*|dblink.*|set_config|query_to_xml.*|cursor_to_xml.*"
    r"|load_extension|readfile|writefile|edit|fts3_tokenizer"
)
_ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _refuse(what: str) -> DataError:
    return DataError(f"data.query refused: {what} ({_RULE}; nothing was sent to the database)")


def _leaves(statement: Any) -> list[Any]:
    """The statement's tokens, without whitespace and comments."""
    from sqlparse import tokens as T

    return [t for t in statement.flatten() if not t.is_whitespace and t.ttype not in T.Comment]


def _statement_type(statement: Any, leaves: list[Any]) -> str:
    """sqlparse's type, looking inside a leading parenthesis (``(SELECT 1) UNION (SELECT 2)``)."""
    from sqlparse import tokens as T

    kind: str = statement.get_type()
    if kind == "UNKNOWN" and leaves and leaves[0].value == "(":
        first = next((t for t in leaves if t.ttype in T.Keyword), None)
        kind = first.normalized if first is not None else kind
    if kind == "UNKNOWN" and leaves:
        kind = leaves[0].value.upper()
    return kind


def check_read_query(query: str) -> str:
    """``query`` without a trailing ``;`` if it is one read query; else a :class:`DataError` naming what was refused."""
    import sqlparse
    from sqlparse import tokens as T

    if not (query or "").strip():
        raise _refuse("the query is empty")
    statements = [s for s in sqlparse.parse(query) if [t.value for t in _leaves(s)] not in ([], [";"])]
    if not statements:
        raise _refuse("the query has only comments, no statement")
    if len(statements) > 1:
        kinds = ", ".join(_statement_type(s, _leaves(s)) for s in statements)
        raise _refuse(f"{len(statements)} statements separated by ';' ({kinds})")
    statement = statements[0]
    leaves = _leaves(statement)
    kind = _statement_type(statement, leaves)
    if kind != "SELECT":
        raise _refuse(f"{kind} statement")
    for index, token in enumerate(leaves):
        word = token.value.upper()
        if token.ttype in T.Keyword or token.ttype in T.Name:
            if word == "INTO":
                raise _refuse("SELECT … INTO writes a table")
            if word in _FORBIDDEN_WORDS:
                raise _refuse(f"{word} inside the query")
        following = leaves[index + 1].value if index + 1 < len(leaves) else ""
        name = token.value.strip('"`[]').lower()
        if following == "(" and _FORBIDDEN_FUNCTIONS.fullmatch(name):
            raise _refuse(f"function {name}() has side effects")
        if token.ttype in T.String.Single and "\\'" in token.value:
            raise _refuse("a backslash before a quote in a string literal, read differently by databases; write ''")
    text = str(statement).strip()
    return text[:-1].rstrip() if text.endswith(";") else text


def resolve_env(url: str) -> tuple[str, list[str]]:
    """``url`` with each ``${NAME}`` replaced from the environment, and the values used (to hide in messages).

    Substitution happens in the parsed URL's user, password, host, database and query values, so a value needs
    no URL-encoding. An unset variable is a :class:`DataError` naming it.
    """
    names = _ENV_RE.findall(url)
    if not names:
        return url, []
    missing = [name for name in dict.fromkeys(names) if name not in os.environ]
    if missing:
        raise DataError(
            f"data.source: environment variable {missing[0]} is not set (the URL uses ${{{missing[0]}}}); "
            "export it before running mlgate"
        )
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception as exc:
        raise DataError(f"{redact_url(url)}: not a usable SQLAlchemy URL (key data.source): {exc}") from exc

    def sub(value: Any) -> Any:
        if isinstance(value, str):
            return _ENV_RE.sub(lambda m: os.environ[m.group(1)], value)
        return tuple(sub(v) for v in value) if isinstance(value, tuple) else value

    resolved = parsed.set(
        username=sub(parsed.username),
        password=sub(parsed.password),
        host=sub(parsed.host),
        database=sub(parsed.database),
        query={key: sub(value) for key, value in parsed.query.items()},
    )
    values = [os.environ[name] for name in dict.fromkeys(names)]
    return resolved.render_as_string(hide_password=False), values


def _sqlite_read_only(url: Any) -> Any:
    """A sqlite file URL opened as ``file:PATH?mode=ro&uri=true`` (memory databases are left as they are)."""
    database = url.database or ""
    if database in {"", ":memory:"}:
        return url
    query = dict(url.query)
    if not database.startswith("file:"):
        if not Path(database).is_file():
            raise FileNotFoundError(database)
        database = "file:" + quote(str(Path(database).resolve()))
    return url.set(database=database, query={**query, "mode": "ro", "uri": "true"})


def _sqlite_authorizer(action: int, arg1: str | None, arg2: str | None, _db: str | None, _trigger: str | None) -> int:
    """Allow reading and calling harmless functions; deny everything else (writes, PRAGMA, ATTACH, …)."""
    if action in {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_RECURSIVE}:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_FUNCTION and not _FORBIDDEN_FUNCTIONS.fullmatch((arg2 or "").lower()):
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


def _engine(url: str, timeout_s: float) -> Any:
    """An engine whose connections can only read (see the module docstring), with the query timeout."""
    import sqlalchemy as sa

    parsed = sa.engine.make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        options = f"-c default_transaction_read_only=on -c statement_timeout={math.ceil(timeout_s * 1000)}"
        if parsed.query.get("options"):
            options = f"{parsed.query['options']} {options}"
        connect_args = {"options": options, "connect_timeout": max(2, min(30, math.ceil(timeout_s)))}
        return sa.create_engine(parsed, connect_args=connect_args, poolclass=sa.pool.NullPool).execution_options(
            postgresql_readonly=True
        )
    if backend == "sqlite":
        engine = sa.create_engine(_sqlite_read_only(parsed), poolclass=sa.pool.NullPool)

        @sa.event.listens_for(engine, "connect")
        def _read_only(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
            dbapi_connection.execute("PRAGMA query_only = ON")
            deadline = time.monotonic() + timeout_s
            dbapi_connection.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
            dbapi_connection.set_authorizer(_sqlite_authorizer)

        return engine
    return sa.create_engine(parsed, poolclass=sa.pool.NullPool)


def _reason(exc: BaseException) -> tuple[str, str | None]:
    """The driver's first message line and its SQLSTATE (PostgreSQL) from a pandas or SQLAlchemy error."""
    cause = exc.__cause__ if isinstance(exc, pd.errors.DatabaseError) and exc.__cause__ else exc
    original = getattr(cause, "orig", None) or cause
    lines = str(original).strip().splitlines() or [type(original).__name__]
    return lines[0], getattr(original, "sqlstate", None)


def read_sql(url: str, query: str, *, timeout_s: float) -> pd.DataFrame:
    """Run ``query`` read-only on ``url`` (see the module docstring); every failure is one redacted DataError.

    Driver exceptions are not chained (``from None``): some carry the connection string, and a chained
    traceback printed by a wrapper or a logger would show it.
    """
    import sqlalchemy as sa

    statement = check_read_query(query)  # before anything else: a refused query never connects
    shown = redact_url(url)
    resolved, env_values = resolve_env(url)
    secrets = [*url_secrets(url), *url_secrets(resolved), *env_values]

    def fail(what: str, exc: BaseException | str) -> DataError:
        detail = exc if isinstance(exc, str) else _reason(exc)[0]
        return DataError(redact_text(f"{shown}: {what}: {detail}", secrets))

    try:
        engine = _engine(resolved, timeout_s)
    except FileNotFoundError as exc:
        raise fail("cannot connect (key data.source)", f"sqlite database file {exc.args[0]} not found") from None
    except Exception as exc:  # unknown dialect, missing driver module, malformed URL
        raise fail("not a usable SQLAlchemy URL (key data.source)", f"{type(exc).__name__}: {exc}") from None
    try:
        try:
            connection = engine.connect()
        except sa.exc.SQLAlchemyError as exc:
            raise fail("cannot connect (key data.source)", exc) from None
        with connection:
            return pd.read_sql_query(statement, connection.execution_options(no_parameters=True))
    except (sa.exc.SQLAlchemyError, pd.errors.DatabaseError, sqlite3.Error) as exc:
        reason, sqlstate = _reason(exc)
        if sqlstate == "25006" or "readonly database" in reason or reason == "not authorized":
            raise fail("data.query refused by the read-only connection", exc) from None
        if sqlstate == "57014" or reason == "interrupted":
            raise fail(f"query timed out after {timeout_s:g} s (data.query_timeout_s)", exc) from None
        raise fail("query failed", exc) from None
    finally:
        engine.dispose()
