"""Read a window of the prediction log: the predictions with their feedback, the rejections, the drop counts.

``read_window(location, since=..., until=..., last=...)`` reads a folder of per-replica SQLite files (every
``predictions-*.sqlite`` in it), one SQLite file, or one SQLAlchemy URL (``postgresql+psycopg://...``).
The window is ``since <= received_at < until`` (either end open when None; a naive datetime is read as UTC),
then, with ``last``, only the ``last`` most recent predictions of it. Rejections are counted over the same
span (with ``last`` and no ``since``: from the first kept prediction). ``dropped`` and ``written`` are the
writers' totals since each log began (``writer_stats``), not per window.

A process killed while writing leaves no partial row (every batch is one transaction; SQLite rolls back a hot
journal when the file is next opened), so every row read is a whole record.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

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
#: What is fetched per row (model name and replica are left in the database: fewer objects per row to build).
_FETCHED = ("received_at", "request_id", "model_version", "model_sha256", "inputs", "proba", "decision", "latency_ms")


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
    """What one database holds for the window: prediction rows (:data:`_FETCHED`), feedback rows
    ``(request_id, received_at, label)`` and the writers' totals."""

    rows: list[Any]
    labels: list[Any]
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
    connection: Connection, since: datetime | None, until: datetime | None, last: int | None, sqlite: bool
) -> _Part:
    """One database's rows; SQLite timestamps stay text (parsed at once by pandas, not row by row)."""

    def stamp(column: Any) -> Any:
        return sa.type_coerce(column, sa.String()) if sqlite else column

    table = predictions
    columns = [stamp(table.c.received_at).label("received_at"), *(table.c[name] for name in _FETCHED[1:])]
    query = sa.select(*columns).where(*_window(table.c.received_at, since, until))
    if last is not None:
        query = query.order_by(table.c.received_at.desc()).limit(last)
    rows = _tuples(connection, query)
    labels_query = sa.select(feedback.c.request_id, stamp(feedback.c.received_at), feedback.c.label)
    if since is not None:  # feedback always arrives after its prediction
        labels_query = labels_query.where(feedback.c.received_at >= since)
    labels = _tuples(connection, labels_query)
    dropped, written = (sa.func.coalesce(sa.func.sum(writer_stats.c[name]), 0) for name in ("dropped", "written"))
    totals = connection.execute(sa.select(dropped, written)).one()
    return _Part(rows, labels, int(totals[0]), int(totals[1]))


def _tuples(connection: Connection, query: Any) -> list[Any]:
    """The rows as the driver's plain tuples: none of the selected columns needs SQLAlchemy's result processing
    (timestamps are text on SQLite and aware datetimes from PostgreSQL), and a million Row objects cost seconds."""
    result = connection.execute(query)
    try:
        return list(result.cursor.fetchall()) if result.cursor is not None else []
    finally:
        result.close()


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


def _decode_scalars(texts: Any) -> pd.Series:
    """JSON scalar texts (an object array) as values, each distinct text decoded once; a missing text is None."""
    codes, uniques = pd.factorize(pd.Series(texts, dtype=object), use_na_sentinel=True)
    values = np.array([*(json.loads(text) for text in uniques), None], dtype=object)
    return pd.Series(values[codes], dtype=object)  # code -1 (no text) takes the trailing None


def _decode_inputs(column: np.ndarray) -> pd.DataFrame:
    """The JSON objects in ``column`` (an object array of texts) as columns: parsed by pyarrow as JSON lines
    (fast, without the GIL), strings kept strings (pyarrow would turn ISO-date-like strings into timestamps),
    python's json for anything pyarrow refuses."""
    texts: list[str] = column.tolist()
    if not texts:
        return pd.DataFrame(index=pd.RangeIndex(0))
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.json as pa_json  # type: ignore[import-untyped]

    data = ("\n".join(texts)).encode("utf-8")
    block = max(1 << 20, min(len(data) + 1, 1 << 28))
    read = pa_json.ReadOptions(block_size=block)
    try:
        table = pa_json.read_json(io.BytesIO(data), read_options=read)
        dated = [f.name for f in table.schema if pa.types.is_timestamp(f.type) or pa.types.is_date(f.type)]
        if dated:
            schema = pa.schema([(name, pa.string()) for name in dated])
            parse = pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="infer")
            order = table.column_names
            table = pa_json.read_json(io.BytesIO(data), read_options=read, parse_options=parse).select(order)
        return table.to_pandas()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pd.DataFrame.from_records([json.loads(text) for text in texts])


def _labels(parts: list[_Part], request_ids: np.ndarray) -> np.ndarray:
    """The label text of each request id (None without one), joined with pyarrow's hash lookup; when two
    replicas stored different labels for an id, the earliest counts."""
    rows = [row for part in parts for row in part.labels]
    if not rows or not len(request_ids):
        return np.full(len(request_ids), None, dtype=object)
    import pyarrow as pa
    import pyarrow.compute as pc  # type: ignore[import-untyped]

    table = np.array(rows, dtype=object)
    if len(parts) == 1:  # one database: request_id is feedback's key, every id is there once
        ids, texts = table[:, 0], np.array([*table[:, 2], None], dtype=object)
    else:
        moments = pd.to_datetime(pd.Series(table[:, 1], dtype=object), utc=True, format="ISO8601")
        order = np.argsort(moments.dt.tz_convert(None).to_numpy(), kind="stable")
        keep = pd.Series(table[order, 0], index=order, dtype=object).drop_duplicates(keep="first").index.to_numpy()
        ids = table[keep, 0]
        texts = np.array([*table[keep, 2], None], dtype=object)
    found = pc.index_in(pa.array(request_ids, type=pa.string()), value_set=pa.array(ids, type=pa.string()))
    return np.asarray(texts[found.fill_null(-1).to_numpy()])  # -1 (no label) takes the trailing None


def _columns(raw: dict[str, np.ndarray], parts: list[_Part]) -> pd.DataFrame:
    """The :data:`COLUMNS` of the fetched rows (``raw``: one object array per fetched column)."""
    return pd.DataFrame(
        {
            "request_id": pd.Series(raw["request_id"], dtype=object),
            "received_at": pd.to_datetime(pd.Series(raw["received_at"], dtype=object), utc=True, format="ISO8601"),
            "model_version": pd.Series(raw["model_version"], dtype=object),
            "model_sha256": pd.Series(raw["model_sha256"], dtype=object),
            "proba": pd.Series(raw["proba"], dtype="float64"),  # NULL (a NaN in SQLite) is NaN
            "decision": _decode_scalars(raw["decision"]).infer_objects(),
            "latency_ms": pd.Series(raw["latency_ms"], dtype="float64"),
            "label": _decode_scalars(_labels(parts, raw["request_id"])),
        }
    )


def _frame(parts: list[_Part], shown: str) -> pd.DataFrame:
    """The predictions of every part as one frame, oldest first (ties: in the order of the sources)."""
    rows = [row for part in parts for row in part.rows]
    table = np.array(rows, dtype=object) if rows else np.empty((0, len(_FETCHED)), dtype=object)
    raw = {name: table[:, index] for index, name in enumerate(_FETCHED)}
    # pyarrow parses the inputs without the GIL: on a second core while this thread builds the other columns
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="predlog-inputs") as pool:
        decoding = pool.submit(_decode_inputs, raw["inputs"])
        out = _columns(raw, parts)
        inputs = decoding.result()
    clash = [name for name in inputs.columns if name in COLUMNS]

    if clash:
        raise PredictionLogError(
            f"{shown}: input feature '{clash[0]}' has the name of a prediction log column ({', '.join(COLUMNS)})"
        )
    frame = pd.concat([out, inputs.set_axis(out.index)], axis=1) if len(inputs.columns) else out
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
            parts.append(_read_part(connection, since, until, last, engine.dialect.name == "sqlite"))
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
