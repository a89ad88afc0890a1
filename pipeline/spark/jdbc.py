"""Read an SQL data source on Spark through JDBC: the pandas engine's settings and rules, Spark's JDBC reader.

``data.source`` stays the SQLAlchemy URL the pandas engine takes (``postgresql+psycopg://user:pw@host:port/db``,
``${NAME}`` for values taken from the environment at connect time, see :mod:`pipeline.sql_source`) and
``data.query`` the one read-only SELECT, checked by the same parser before anything connects. :func:`jdbc_source`
turns them into a JDBC URL *without* credentials (``jdbc:postgresql://host:port/db``) plus connection properties:
the user and password travel only as properties, so neither the URL Spark logs and shows in its plans nor any
message holds them. Every message shows the source redacted (:mod:`pipeline.redact`), on one line, without a Java
stack (:func:`~pipeline.spark.session.short_error`).

Only PostgreSQL is supported: its driver is Debian's ``libpostgresql-jdbc-java`` at a fixed path
(:data:`POSTGRES_JAR`, installed by ``scripts/install-system-deps.sh``), never a path from the config, which is
untrusted; a jar would run code in the driver and every executor. The session must be started with it
(:func:`session_conf` gives ``spark.jars`` for :func:`pipeline.spark.session.start`'s ``extra_conf``), which also
ships it to the executors. The database keeps the connection read-only as on the pandas engine
(``default_transaction_read_only`` and ``statement_timeout`` as start-up ``options``); only a few libpq URL
parameters have a safe JDBC meaning and are passed on, any other one is refused by name: pgjdbc properties can name
classes to load (``socketFactory``, ``sslfactory``) and a URL parameter must not reach them.

The rows are read once (:meth:`JdbcSource.read` checkpoints them locally): a table may change between Spark's jobs,
and the fingerprint must describe the very rows the gates look at, not a re-run of the query.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from mlgate.pipeline.config import DataSettings
from mlgate.pipeline.errors import DataError, MlgateError
from mlgate.pipeline.redact import redact_text, redact_url, url_secrets
from mlgate.pipeline.spark.session import EngineError, short_error
from mlgate.pipeline.sql_source import check_read_query, resolve_env

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["DRIVER", "POSTGRES_JAR", "JdbcSource", "jar_conf", "jdbc_jars", "jdbc_source", "session_conf"]

DRIVER = "org.postgresql.Driver"
#: Debian's PostgreSQL JDBC driver (libpostgresql-jdbc-java): a fixed, trusted path, never taken from the config.
POSTGRES_JAR = Path("/usr/share/java/postgresql.jar")
_KEY = "key 'data.source'"
_INSTALL = "install Debian's libpostgresql-jdbc-java (scripts/install-system-deps.sh does)"
#: libpq URL parameters with the same meaning in pgjdbc, and the property they become (``options`` and
#: ``connect_timeout`` are merged with mlgate's own values). Nothing here names a class or a file to run.
_PARAMS = {"sslmode": "sslmode", "sslrootcert": "sslrootcert", "application_name": "ApplicationName"}
_MERGED = {"options", "connect_timeout"}
#: Rows fetched per round trip: pgjdbc reads the whole result into memory unless a fetch size is set.
_FETCH_SIZE = 10_000


def jdbc_jars() -> list[str]:
    """The JDBC driver jars the Spark session needs for an SQL source: the Debian jar when installed, else []."""
    return [str(POSTGRES_JAR)] if POSTGRES_JAR.is_file() else []


def jar_conf() -> dict[str, str]:
    """``spark.jars`` with the driver jar (on the driver's classpath and shipped to every executor), {} without it."""
    jars = jdbc_jars()
    return {"spark.jars": ",".join(jars)} if jars else {}


def _missing_jar() -> EngineError:
    return EngineError(
        f"data.format = 'sql' on data.engine = 'spark' needs the PostgreSQL JDBC driver {POSTGRES_JAR}, which is "
        f"not there: {_INSTALL}"
    )


def session_conf(settings: DataSettings, source: str) -> dict[str, str]:
    """The ``extra_conf`` to start the session with for this data: the driver jar for an SQL source, else {}.

    An SQL source is checked here first (the query, the URL, the environment variables it names, the jar), so a
    mistake is reported before the JVM takes its seconds to start."""
    if settings.resolved_format != "sql":
        return {}
    jdbc_source(settings, source)
    conf = jar_conf()
    if not conf:
        raise _missing_jar()
    return conf


@dataclass(frozen=True)
class JdbcSource:
    """A JDBC read of an SQL source: ``url`` and ``shown`` carry no secret; ``properties`` do (never printed)."""

    url: str
    query: str
    shown: str
    user: str
    timeout_s: float
    properties: dict[str, str] = field(repr=False)
    secrets: tuple[str, ...] = field(repr=False)

    def read(self, spark: SparkSession) -> DataFrame:
        """The query's rows, read once and kept by Spark (see the module docstring); failures are raised as they
        come from Spark: pass them to :meth:`error`."""
        if not POSTGRES_JAR.is_file():
            raise _missing_jar()
        frame = spark.read.format("jdbc").option("url", self.url).option("query", self.query)
        loaded = frame.options(**self.properties).load()
        parts = max(1, spark.sparkContext.defaultParallelism)
        return loaded.repartition(parts).localCheckpoint(eager=True)

    def error(self, exc: BaseException) -> MlgateError:
        """``exc`` from Spark's JDBC reader as one redacted line naming the key to fix."""
        if isinstance(exc, MlgateError):
            return exc
        detail = short_error(exc)
        state = _sqlstate(exc)
        if DRIVER in detail or "No suitable driver" in detail:
            return EngineError(
                f"{_KEY}: this Spark session has no PostgreSQL JDBC driver on its classpath ({detail}): start it "
                f"with pipeline.spark.jdbc.session_conf() as extra_conf, which adds {POSTGRES_JAR}"
            )
        key = "data.source"
        if state in {"28P01", "28000"} or "password authentication failed" in detail:
            what = f"the database refused the login for user '{self.user}'"
        elif state is not None and (state.startswith("08") or state == "3D000"):
            what = "cannot connect"
        elif state == "25006":
            key, what = "data.query", "refused by the read-only connection"
        elif state == "57014":
            key, what = "data.query_timeout_s", f"the query timed out after {self.timeout_s:g} s"
        elif state is not None and state[:2] in {"42", "22", "0A"}:
            key, what = "data.query", "the query failed"
        else:
            what = "Spark could not read the query's rows"
        return DataError(redact_text(f"key '{key}': {self.shown}: {what}: {detail}", self.secrets))


def _sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of the innermost Java ``SQLException`` behind ``exc`` (PostgreSQL's code), if there is one."""
    java = getattr(exc, "java_exception", None) or getattr(exc, "_origin", None)
    state: str | None = None
    try:
        while java is not None:
            try:
                found = java.getSQLState()
            except Exception:  # not an SQLException: py4j has no such method on it
                found = None
            state = str(found) if found else state
            java = java.getCause()
    except Exception:  # the JVM is gone: no code, the message alone
        return state
    return state


def _jdbc_url(parsed: Any, shown: str) -> str:
    """``jdbc:postgresql://host[:port]/database`` from a parsed SQLAlchemy URL: never a user or a password."""
    host = str(parsed.host or "")
    if not host or "/" in host:
        raise DataError(
            f"{_KEY}: {shown}: the Spark engine reaches PostgreSQL over TCP and needs a host name in the URL "
            "(postgresql://user@HOST:PORT/database; a unix socket is for data.engine = 'pandas')"
        )
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    port = f":{int(parsed.port)}" if parsed.port else ""
    return f"jdbc:postgresql://{host}{port}/{quote(str(parsed.database or ''), safe='')}"


def _properties(parsed: Any, shown: str, timeout_s: float) -> dict[str, str]:
    """Connection properties: credentials, the driver class, read-only start-up options and the timeouts."""
    options = f"-c default_transaction_read_only=on -c statement_timeout={math.ceil(timeout_s * 1000)}"
    properties = {"driver": DRIVER, "readOnly": "true", "fetchsize": str(_FETCH_SIZE)}
    properties["connectTimeout"] = str(max(2, min(30, math.ceil(timeout_s))))
    properties["queryTimeout"] = str(max(1, math.ceil(timeout_s)))
    for key, value in parsed.query.items():
        if key not in _PARAMS and key not in _MERGED:
            known = ", ".join([*_PARAMS, *sorted(_MERGED)])
            raise DataError(
                f"{_KEY}: {shown}: URL parameter '{key}' is not passed to the JDBC driver on data.engine = 'spark' "
                f"(it takes {known}); remove it, or read with data.engine = 'pandas'"
            )
        if not isinstance(value, str):
            raise DataError(f"{_KEY}: {shown}: URL parameter '{key}' is given more than once")
        if key == "options":
            options = f"{value} {options}"  # mlgate's settings last: they win over the user's
        elif key == "connect_timeout":
            properties["connectTimeout"] = value
        else:
            properties[_PARAMS[key]] = value
    properties["options"] = options
    if parsed.username:
        properties["user"] = str(parsed.username)
    if parsed.password is not None:
        properties["password"] = str(parsed.password)
    return properties


def jdbc_source(settings: DataSettings, source: str) -> JdbcSource:
    """The JDBC read for ``source`` (a PostgreSQL SQLAlchemy URL) and ``data.query``, checked without connecting.

    The query is checked first (a refused query never connects, as on the pandas engine); then ``${NAME}`` values
    are taken from the environment and the URL is translated (see the module docstring)."""
    from sqlalchemy.engine import make_url

    assert settings.query is not None  # enforced by the config model
    statement = check_read_query(settings.query)
    shown = redact_url(source)
    resolved, env_values = resolve_env(source)
    secrets = (*url_secrets(source), *url_secrets(resolved), *env_values)
    try:
        parsed = make_url(resolved)
    except Exception as exc:  # malformed URL: the parser's message may quote it, so it is redacted
        raise DataError(redact_text(f"{_KEY}: {shown}: not a usable SQLAlchemy URL: {exc}", secrets)) from None
    backend = parsed.get_backend_name()
    if backend != "postgresql":
        raise DataError(
            f"{_KEY}: {shown}: the Spark engine reads SQL sources from PostgreSQL only (postgresql://...), not "
            f"{backend}; read this database with data.engine = 'pandas'"
        )
    return JdbcSource(
        url=_jdbc_url(parsed, shown),
        query=statement,
        shown=shown,
        user=str(parsed.username or ""),
        timeout_s=settings.query_timeout_s,
        properties=_properties(parsed, shown, settings.query_timeout_s),
        secrets=secrets,
    )
