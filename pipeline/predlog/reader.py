"""Read a window of the prediction log: the predictions with their feedback, the rejections, the drop counts.

``read_window(location, since=..., until=..., last=...)`` reads a folder of per-replica SQLite files (every
``predictions-*.sqlite`` in it), one SQLite file, or one SQLAlchemy URL (``postgresql+psycopg://...``).
The window is ``since <= received_at < until`` (either end open when None; a naive datetime is read as UTC),
then, with ``last``, only the ``last`` most recent predictions of it. Rejections are counted over the same
span (with ``last`` and no ``since``: from the first kept prediction). ``dropped`` and ``written`` are the
writers' totals since each log began (``writer_stats``), not per window.

A process killed while writing leaves no partial row (every batch is one transaction; SQLite rolls back a hot
journal when the file is next opened), so every row read is a whole record.

Rows arrive as Arrow tables (:mod:`pipeline.predlog.arrow_fetch`: ADBC for SQLite files, two rowid ranges at
once) and become the frame column by column: timestamps parsed by Arrow, repeated texts decoded once each, the
inputs' JSON parsed by pyarrow's reader on a second thread, labels joined with Arrow's hash lookup.
"""

from __future__ import annotations

import itertools
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from mlgate.pipeline.predlog.arrow_fetch import (
    STAMP,
    adbc_available,
    decode_inputs,
    decode_scalars,
    rows_table,
    schema_of,
    select_text,
    sqlite_tables,
    typed,
)
from mlgate.pipeline.predlog.location import is_url, log_files, make_engine, short_reason, sqlite_url
from mlgate.pipeline.predlog.tables import (
    SCHEMA_VERSION,
    PredictionLogError,
    feedback,
    predictions,
    rejections,
    schema_version,
    writer_stats,
)
from mlgate.pipeline.redact import redact_url

__all__ = ["COLUMNS", "Window", "read_window"]

#: The columns of :attr:`Window.predictions` before the input features.
COLUMNS = (
    "request_id",
    "received_at",
    "model_version",
    "model_sha256",
    "proba",
    "decision",
    "latency_ms",
    "label",
)
#: What is fetched per prediction, as typed Arrow columns (model name and replica are left in the database).
_PREDICTION_TYPES: dict[str, Any] = {
    "received_at": STAMP,
    "request_id": pa.string(),
    "model_version": pa.string(),
    "model_sha256": pa.string(),
    "inputs": pa.large_string(),
    "proba": pa.float64(),
    "proba_missing": pa.bool_(),
    "decision": pa.string(),
    "latency_ms": pa.float64(),
}
#: What is fetched per feedback row.
_LABEL_TYPES: dict[str, Any] = {"request_id": pa.string(), "received_at": STAMP, "label": pa.string()}


@dataclass(frozen=True)
class Window:
    """One window of the log. ``predictions`` has one row per prediction, oldest first: :data:`COLUMNS`
    (``received_at`` UTC-aware; ``decision`` and ``label`` decoded from JSON; ``label`` None without
    feedback), then one column per input feature (``features``, in first-seen order). ``written`` and
    ``dropped`` are the writers' totals; ``sources`` the databases read; ``labelled`` the rows with a label."""

    predictions: pd.DataFrame
    rejected: dict[str, int]
    dropped: int
    url_redacted: str
    features: tuple[str, ...] = ()
    written: int = 0
    sources: int = 0
    since: datetime | None = None
    until: datetime | None = None
    labelled: int = 0


@dataclass
class _Part:
    """What one database holds for the window: prediction rows (:data:`_PREDICTION_TYPES`), feedback rows
    (:data:`_LABEL_TYPES`) and the writers' totals."""

    predictions: pa.Table
    labels: pa.Table
    dropped: int
    written: int


def _utc(value: datetime | None, name: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _sources(location: str | Path) -> tuple[list[tuple[str, str]], str]:
    """``[(url, shown name)]`` to read and how to name the whole log in messages."""
    text = str(location)
    if is_url(text):
        shown = redact_url(text)
        database = sa.engine.make_url(text)
        if database.get_backend_name() == "sqlite" and not Path(database.database or "").is_file():
            raise PredictionLogError(f"{shown}: no prediction log at this SQLite URL (file not found)")
        return [(text, shown)], shown
    path = Path(text).expanduser()
    if path.is_dir():
        return [(sqlite_url(p), str(p)) for p in log_files(path)], str(path)
    if path.is_file():
        return [(sqlite_url(path), str(path))], str(path)
    raise PredictionLogError(
        f"{path}: no prediction log here: give the folder of predictions-<replica>.sqlite files the serving app "
        "writes ([monitor.log] dir), one such file, or an SQLAlchemy URL ([monitor.log] url)"
    )


def _window(column: Any, since: datetime | None, until: datetime | None) -> list[Any]:
    where = []
    if since is not None:
        where.append(column >= since)
    if until is not None:
        where.append(column < until)
    return where


def _read_part(
    connection: Connection,
    sqlite_file: Path | None,
    shown: str,
    window: tuple[datetime | None, datetime | None, int | None],
    join: bool,
) -> _Part:
    """One database's rows as Arrow tables: through ADBC for a SQLite file when it is installed, else the driver's
    rows. With ``join`` (the log is this one database) the labels come with the predictions (a LEFT JOIN on the
    feedback's key, in the database); else the feedback rows are fetched for :func:`_labels`. NULLs are selected
    with ``coalesce`` (and a missing flag for ``proba``): ADBC infers a column's type from its first rows."""
    since, until, last = window
    table = predictions
    text = connection.dialect.name == "sqlite"
    columns = [
        select_text(table.c.received_at, text).label("received_at"),
        *(table.c[name] for name in ("request_id", "model_version", "model_sha256")),
        table.c.inputs.concat("\n").label("inputs"),  # JSON lines for pyarrow's reader, no copy to add them
        sa.func.coalesce(table.c.proba, 0.0).label("proba"),
        table.c.proba.is_(None).label("proba_missing"),
        table.c.decision,
        table.c.latency_ms,
    ]
    source: Any = table
    if join:  # JSON text is never empty: '' is "no label"
        columns.append(sa.func.coalesce(feedback.c.label, "").label("label"))
        source = table.outerjoin(feedback, feedback.c.request_id == table.c.request_id)
    query = sa.select(*columns).select_from(source).where(*_window(table.c.received_at, since, until))
    if last is not None:
        query = query.order_by(table.c.received_at.desc()).limit(last)
    labels_query = sa.select(
        feedback.c.request_id, select_text(feedback.c.received_at, text).label("received_at"), feedback.c.label
    )
    if since is not None:  # feedback always arrives after its prediction
        labels_query = labels_query.where(feedback.c.received_at >= since)
    wanted = [] if join else [labels_query]
    if sqlite_file is not None and adbc_available():
        pieces = [query] if last is not None else _ranges(connection, query)
        rows, *labels = sqlite_tables(sqlite_file, [pieces, *([q] for q in wanted)], shown)
    else:
        rows, *labels = [rows_table(connection, q) for q in (query, *wanted)]
    dropped, written = (sa.func.coalesce(sa.func.sum(writer_stats.c[name]), 0) for name in ("dropped", "written"))
    totals = connection.execute(sa.select(dropped, written)).one()
    types = {**_PREDICTION_TYPES, "label": pa.string()} if join else _PREDICTION_TYPES
    found = typed(labels[0], _LABEL_TYPES) if labels else schema_of(_LABEL_TYPES).empty_table()
    return _Part(typed(rows, types), found, int(totals[0]), int(totals[1]))


#: Below this many rowids one statement reads the table (two connections cost more than they save).
_SPLIT_MIN_ROWS = 10_000


def _ranges(connection: Connection, query: Any, parts: int = 2) -> list[Any]:
    """``query`` split into ``parts`` rowid ranges of the predictions table (rows are appended, so rowids are
    dense): the ranges are fetched on connections of their own, in parallel."""
    rowid: Any = sa.literal_column("predictions.rowid")
    # two statements: SQLite reads min() or max() of the rowid off the b-tree's end, but both at once by a scan
    ends = (sa.func.min(rowid), sa.func.max(rowid))
    low, high = (connection.scalar(sa.select(end).select_from(predictions)) for end in ends)
    if low is None or high is None or high - low < _SPLIT_MIN_ROWS:
        return [query]
    bounds = [low + (high - low + 1) * index // parts for index in range(parts)] + [high + 1]
    return [query.where(rowid >= start, rowid < end) for start, end in itertools.pairwise(bounds)]


def _rejected(connection: Connection, since: datetime | None, until: datetime | None) -> Counter[str]:
    query = (
        sa.select(rejections.c.reason, sa.func.count())
        .where(*_window(rejections.c.received_at, since, until))
        .group_by(rejections.c.reason)
    )
    return Counter({str(reason): int(count) for reason, count in connection.execute(query)})


def _check_version(connection: Connection, shown: str) -> None:
    try:
        found = schema_version(connection)
    except sa.exc.OperationalError as exc:
        raise PredictionLogError(f"{shown}: not a prediction log (no log_info table: {short_reason(exc)})") from exc
    except sa.exc.ProgrammingError as exc:
        raise PredictionLogError(f"{shown}: not a prediction log ({short_reason(exc)})") from exc
    if found != SCHEMA_VERSION:
        raise PredictionLogError(
            f"{shown}: prediction log schema_version {found!r}; this mlgate reads version {SCHEMA_VERSION!r}"
        )


def _labels(parts: list[_Part], request_ids: pa.ChunkedArray) -> pd.Series:
    """The label of each request id (None without one), joined with Arrow's hash lookup; when two replicas
    stored different labels for an id, the earliest counts."""
    labels = pa.concat_tables([part.labels for part in parts] or [schema_of(_LABEL_TYPES).empty_table()])
    if len(parts) > 1 and labels.num_rows:
        labels = labels.take(pc.sort_indices(labels, sort_keys=[("received_at", "ascending")]))  # stable
        ids = labels.column("request_id").to_numpy(zero_copy_only=False)
        labels = labels.filter(pa.array(~pd.Series(ids, dtype=object).duplicated(keep="first").to_numpy()))
    ids, texts = labels.column("request_id").combine_chunks(), labels.column("label").combine_chunks()
    found = pc.index_in(request_ids, value_set=ids)
    return decode_scalars(texts.take(found.combine_chunks()))


def _joined(table: pa.Table) -> pa.ChunkedArray:
    """The labels joined in the database: '' (no feedback row) as null."""
    column = table.column("label")
    return pc.if_else(pc.equal(column, ""), pa.scalar(None, pa.string()), column)


def _columns(table: pa.Table, parts: list[_Part]) -> pd.DataFrame:
    """The :data:`COLUMNS` of the fetched predictions."""
    ids = table.column("request_id")
    proba = table.column("proba").to_numpy().astype("float64")
    proba[table.column("proba_missing").to_numpy()] = np.nan  # NULL (NaN in SQLite) is NaN
    return pd.DataFrame(
        {
            "request_id": ids.to_pandas(),
            "received_at": table.column("received_at").to_pandas(),
            "model_version": table.column("model_version").to_pandas(),
            "model_sha256": table.column("model_sha256").to_pandas(),
            "proba": pd.Series(proba, dtype="float64"),
            "decision": decode_scalars(table.column("decision"), infer=True),
            "latency_ms": pd.Series(table.column("latency_ms").to_numpy(), dtype="float64"),
            "label": decode_scalars(_joined(table)) if "label" in table.column_names else _labels(parts, ids),
        }
    )


def _frame(parts: list[_Part], shown: str) -> pd.DataFrame:
    """The predictions of every part as one frame, oldest first (ties: in the order of the sources)."""
    table = pa.concat_tables([part.predictions for part in parts] or [schema_of(_PREDICTION_TYPES).empty_table()])
    # pyarrow parses the inputs without the GIL: on a second core while this thread builds the other columns
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="predlog-inputs") as pool:
        decoding = pool.submit(decode_inputs, table.column("inputs"))
        out = _columns(table, parts)
        inputs = decoding.result()
    clash = [name for name in inputs.columns if name in COLUMNS]
    if clash:
        raise PredictionLogError(
            f"{shown}: input feature '{clash[0]}' has the name of a prediction log column ({', '.join(COLUMNS)})"
        )
    frame = pd.concat([out, inputs.set_axis(out.index)], axis=1) if len(inputs.columns) else out
    if frame["received_at"].is_monotonic_increasing:  # as a log is written: no copy of a million rows to sort
        return frame
    return frame.sort_values("received_at", kind="stable", ignore_index=True)


def _open(source: str, shown: str) -> tuple[Engine, Connection]:
    engine = make_engine(source)
    try:
        return engine, engine.connect()
    except sa.exc.SQLAlchemyError as exc:
        engine.dispose()
        raise PredictionLogError(f"{shown}: cannot open the prediction log ({short_reason(exc, source)})") from exc


def _read(
    sources: list[tuple[str, str]], shown_log: str, since: datetime | None, until: datetime | None, last: int | None
) -> tuple[pd.DataFrame, Counter[str], list[_Part], datetime | None]:
    parts: list[_Part] = []
    opened: list[tuple[Engine, Connection]] = []
    try:
        for source, shown in sources:
            engine, connection = _open(source, shown)
            opened.append((engine, connection))
            _check_version(connection, shown)
            database = engine.url.database if engine.dialect.name == "sqlite" else None
            sqlite_file = Path(database) if database and database != ":memory:" else None
            parts.append(_read_part(connection, sqlite_file, shown, (since, until, last), len(sources) == 1))
        frame = _frame(parts, shown_log)
        if last is not None and len(frame) > last:
            frame = frame.iloc[len(frame) - last :].reset_index(drop=True)
        start = since
        if start is None and last is not None and not frame.empty:
            start = frame["received_at"].iloc[0].to_pydatetime()
        rejected: Counter[str] = Counter()
        for _, connection in opened:
            rejected += _rejected(connection, start, until)
        return frame, rejected, parts, start
    finally:
        for engine, connection in opened:
            connection.close()
            engine.dispose()


def read_window(
    url: str | Path, *, since: datetime | None = None, until: datetime | None = None, last: int | None = None
) -> Window:
    """The window of the log at ``url`` (see the module docstring); :class:`PredictionLogError` (one line naming
    the log, credentials hidden) when it cannot be read."""
    since, until = _utc(since, "since"), _utc(until, "until")
    if last is not None and (isinstance(last, bool) or not isinstance(last, int) or last < 1):
        raise ValueError(f"last must be a positive integer, got {last!r}")
    sources, shown_log = _sources(url)
    try:
        frame, rejected, parts, start = _read(sources, shown_log, since, until, last)
    except sa.exc.SQLAlchemyError as exc:
        reason = short_reason(exc, str(url))
        raise PredictionLogError(f"{shown_log}: cannot read the prediction log ({reason})") from exc
    except ValueError as exc:  # a value the log's types do not allow (an edited or foreign file), e.g. a time
        raise PredictionLogError(f"{shown_log}: cannot read the prediction log ({short_reason(exc)})") from None
    return Window(
        predictions=frame,
        rejected=dict(sorted(rejected.items())),
        dropped=sum(p.dropped for p in parts),
        url_redacted=shown_log,
        features=tuple(c for c in frame.columns if c not in COLUMNS),
        written=sum(p.written for p in parts),
        sources=len(sources),
        since=start,
        until=until,
        labelled=int(frame["label"].notna().sum()),
    )
