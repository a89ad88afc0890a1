"""The prediction log's tables (SQLAlchemy Core), created on first use, and the schema version they carry.

One log is one SQLAlchemy database: a SQLite file per serving replica by default, or one shared server
database (PostgreSQL) for a team. Every table is written by :mod:`pipeline.predlog.writer` (predictions,
rejections, writer statistics) or :mod:`pipeline.predlog.feedback` (labels), and read by
:mod:`pipeline.predlog.reader`:

- ``predictions``: one row per scored record; ``request_id`` is the key (at most 64 characters), ``inputs`` the
  validated input record as a compact JSON object, ``decision`` the decided label as JSON scalar text;
- ``feedback``: the ground-truth label of a request id (JSON scalar text), at most one per id;
- ``rejections``: one row per refused ``/predict`` request: a reason and a short detail, never payload values;
- ``writer_stats``: per replica, how many records the writer wrote and how many it dropped;
- ``log_info``: ``schema_version`` (:data:`SCHEMA_VERSION`); a log of another version is refused.

Timestamps are UTC and timezone-aware on both sides of the database (SQLite stores them as naive UTC text,
which sorts and compares in time order).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect

from mlgate.pipeline.errors import MlgateError

__all__ = [
    "MAX_ID_LENGTH",
    "SCHEMA_VERSION",
    "PredictionLogError",
    "UtcDateTime",
    "ensure_schema",
    "feedback",
    "log_info",
    "metadata",
    "predictions",
    "rejections",
    "writer_stats",
]

SCHEMA_VERSION = "1"
MAX_ID_LENGTH = 64


class PredictionLogError(MlgateError):
    """The prediction log cannot be opened, read or written: a missing folder, an unreachable database, a
    database that is not a prediction log or has another schema version."""


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp: naive datetimes are refused on the way in, and every value read back is
    aware (SQLite keeps no zone: it stores naive UTC)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("prediction log timestamps must be timezone-aware (UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


metadata = sa.MetaData()

predictions = sa.Table(
    "predictions",
    metadata,
    sa.Column("request_id", sa.String(MAX_ID_LENGTH), primary_key=True),
    sa.Column("received_at", UtcDateTime(), nullable=False),
    sa.Column("model_name", sa.Text(), nullable=False),
    sa.Column("model_version", sa.Text(), nullable=False),
    sa.Column("model_sha256", sa.Text(), nullable=False),
    sa.Column("replica", sa.Text(), nullable=False),
    sa.Column("inputs", sa.Text(), nullable=False),
    sa.Column("proba", sa.Double(), nullable=True),  # NaN is NULL in SQLite; the reader gives NaN either way
    sa.Column("decision", sa.Text(), nullable=False),
    sa.Column("latency_ms", sa.Double(), nullable=False),
    sa.Index("ix_predictions_received_at", "received_at"),
)

feedback = sa.Table(
    "feedback",
    metadata,
    sa.Column("request_id", sa.String(MAX_ID_LENGTH), primary_key=True),
    sa.Column("label", sa.Text(), nullable=False),
    sa.Column("received_at", UtcDateTime(), nullable=False),
)

rejections = sa.Table(
    "rejections",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("received_at", UtcDateTime(), nullable=False),
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("detail", sa.Text(), nullable=False),
    sa.Index("ix_rejections_received_at", "received_at"),
)

log_info = sa.Table(
    "log_info",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text(), nullable=False),
)

writer_stats = sa.Table(
    "writer_stats",
    metadata,
    sa.Column("replica", sa.String(128), primary_key=True),
    sa.Column("dropped", sa.BigInteger(), nullable=False),
    sa.Column("written", sa.BigInteger(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)


def schema_version(connection: Connection) -> str | None:
    """The log's ``schema_version``, or None when ``log_info`` has none."""
    query = sa.select(log_info.c.value).where(log_info.c.key == "schema_version")
    value = connection.execute(query).scalar_one_or_none()
    return None if value is None else str(value)


def ensure_schema(connection: Connection, *, where: str) -> None:
    """Create the missing tables (``checkfirst``) and record the schema version; refuse another version.

    Run inside the caller's transaction. ``where`` names the log in the error (a redacted URL or a file).
    """
    metadata.create_all(connection, checkfirst=True)
    found = schema_version(connection)
    if found is None:
        connection.execute(sa.insert(log_info).values(key="schema_version", value=SCHEMA_VERSION))
    elif found != SCHEMA_VERSION:
        raise PredictionLogError(
            f"{where}: prediction log schema_version {found!r}, but this mlgate reads and writes version "
            f"{SCHEMA_VERSION!r}; point the log at a new folder or database"
        )
