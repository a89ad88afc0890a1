"""The prediction log's large result sets as Arrow tables, and their columns decoded: the reader's heavy lifting.

:func:`~pipeline.predlog.reader.read_window` reads every prediction of a window, a million rows for a busy day.
Through Python's ``sqlite3`` each row becomes a tuple of Python objects first (about 6 s for 1M rows here);
Apache Arrow's ADBC SQLite driver (``adbc-driver-sqlite``, in the ``run`` extra) steps the same statement in C and
fills Arrow columns directly, and releases the GIL, so :func:`sqlite_tables` runs a table's rowid ranges on
connections of their own at once (``benchmarks/bench_monitor.py --speed`` for the figures). The statements stay
SQLAlchemy Core: they are compiled for SQLite and the timestamps bound exactly as the writer stored them.

Without ADBC (a serving-only install) or for a server database, :func:`rows_table` fetches the driver's plain
tuples and builds the same Arrow columns. ADBC infers a column's type from its first 1,024 rows (all NULL, then
a value, is an error), so the reader's query selects no NULL (``coalesce`` and a missing flag).

Decoding: :func:`typed` gives every table the same column types (an empty ADBC result has none), with
:func:`timestamps` parsing SQLite's naive UTC text in Arrow; :func:`decode_scalars` decodes each distinct JSON
scalar once; :func:`decode_inputs` parses the input records as one buffer of JSON lines with pyarrow.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.json as pa_json  # type: ignore[import-untyped]
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection

from mlgate.pipeline.predlog.location import SQLITE_BUSY_TIMEOUT_S, short_reason
from mlgate.pipeline.predlog.tables import PredictionLogError, predictions

__all__ = [
    "STAMP",
    "adbc_available",
    "decode_inputs",
    "decode_scalars",
    "rows_table",
    "schema_of",
    "select_text",
    "sqlite_tables",
    "timestamps",
    "typed",
]

_SQLITE = sqlite.dialect(paramstyle="qmark")
#: The log's timestamps in Arrow and pandas: UTC, nanoseconds.
STAMP = pa.timestamp("ns", tz="UTC")


def adbc_available() -> bool:
    """True when the ADBC SQLite driver can be imported (the ``run`` extra installs it)."""
    try:
        import adbc_driver_sqlite.dbapi  # noqa: F401
    except ImportError:
        return False
    return True


def _stamp(value: datetime) -> str:
    """A timestamp as the log stores it in SQLite (naive UTC text, microseconds always written)."""
    column_type = predictions.c.received_at.type
    process = column_type.dialect_impl(_SQLITE).bind_processor(_SQLITE)
    text = process(value) if process is not None else value
    return str(text)


def _compiled(query: Any) -> tuple[str, list[Any]]:
    """``query`` as SQLite SQL with ``?`` placeholders and its parameters in order (timestamps as stored)."""
    compiled = query.compile(dialect=_SQLITE)
    names = compiled.positiontup or []
    values = [compiled.params[name] for name in names]
    return str(compiled), [_stamp(value) if isinstance(value, datetime) else value for value in values]


def _fetch(path: Path, query: Any) -> pa.Table:
    """One statement on its own ADBC connection (autocommit: a lock held only while the statement runs)."""
    import adbc_driver_sqlite.dbapi as adbc

    with closing(adbc.connect(str(path), autocommit=True)) as connection, closing(connection.cursor()) as cursor:
        cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        cursor.fetchall()
        sql, parameters = _compiled(query)
        cursor.execute(sql, parameters)
        return cursor.fetch_arrow_table()


def sqlite_tables(path: Path, queries: Sequence[Sequence[Any]], shown: str) -> list[pa.Table]:
    """Run ``queries`` on the SQLite file at ``path`` through ADBC: each is a list of SQLAlchemy selects whose
    results are concatenated (a large table split into ranges), one Arrow table per query. Every select runs on a
    connection of its own in a thread pool: the driver releases the GIL, so two ranges take about half the time
    of one statement on two cores. A database error is a :class:`PredictionLogError` naming ``shown``. Call only
    when :func:`adbc_available`."""
    import adbc_driver_manager

    pieces = [piece for query in queries for piece in query]
    try:
        with ThreadPoolExecutor(max_workers=max(1, min(len(pieces), 4)), thread_name_prefix="predlog-adbc") as pool:
            fetched = iter(list(pool.map(lambda piece: _fetch(path, piece), pieces)))
    except adbc_driver_manager.Error as exc:
        raise PredictionLogError(f"{shown}: cannot read the prediction log ({short_reason(exc)})") from exc
    return [_concat([next(fetched) for _ in query]) for query in queries]


def _concat(tables: list[pa.Table]) -> pa.Table:
    """Tables of one query's ranges as one; a range that returned no rows has no types (ADBC infers them from the
    rows) and is left out unless every range is empty."""
    kept = [table for table in tables if table.num_rows] or tables[:1]
    return pa.concat_tables(kept) if len(kept) > 1 else kept[0]


def rows_table(connection: Connection, query: Any) -> pa.Table:
    """``query``'s rows as an Arrow table, built from the driver's plain tuples: none of the selected columns
    needs SQLAlchemy's result processing (timestamps are text on SQLite and aware datetimes from PostgreSQL),
    and a million ``Row`` objects would cost seconds."""
    result = connection.execute(query)
    try:
        names = list(result.keys())
        rows = result.cursor.fetchall() if result.cursor is not None else []
    finally:
        result.close()
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    arrays = [pa.array(list(values), from_pandas=True) for values in columns]
    return pa.table(dict(zip(names, arrays, strict=True)))


def select_text(column: Any, sqlite_text: bool) -> Any:
    """A timestamp column selected as stored: text on SQLite (parsed at once by Arrow, not row by row)."""
    return sa.type_coerce(column, sa.String()) if sqlite_text else column


def timestamps(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Timestamps as UTC nanoseconds: SQLite's naive UTC text parsed by Arrow at once (pandas' ISO 8601 parser
    for any text Arrow refuses), a server's aware datetimes converted."""
    if pa.types.is_timestamp(column.type):
        return column.cast(STAMP)
    text = column.cast(pa.string())
    try:
        return text.cast(pa.timestamp("ns")).cast(STAMP)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        texts = pd.Series(text.to_numpy(zero_copy_only=False), dtype=object)
        parsed = pd.to_datetime(texts, utc=True, format="ISO8601")
        return pa.chunked_array([pa.Array.from_pandas(parsed, type=STAMP)])


def schema_of(types: dict[str, Any]) -> pa.Schema:
    return pa.schema(list(types.items()))


def typed(table: pa.Table, types: dict[str, Any]) -> pa.Table:
    """``table`` with the columns of ``types``, in that order and of those types (an empty result from ADBC has
    no types to infer; a server gives aware datetimes, SQLite text)."""
    columns = {}
    for name, kind in types.items():
        column = table.column(name)
        columns[name] = timestamps(column) if kind == STAMP else column.cast(kind)
    return pa.table(columns)


def decode_scalars(column: pa.ChunkedArray | pa.Array, *, infer: bool = False) -> pd.Series:
    """JSON scalar texts as values, each distinct text decoded once; a missing text is None. With ``infer``, the
    values' own dtype (int64 for 0/1 decisions) inferred on the distinct values, not on a million objects."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    encoded = pc.dictionary_encode(array)
    values = np.array([*(json.loads(text) for text in encoded.dictionary.to_pylist()), None], dtype=object)
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False)
    if infer and encoded.indices.null_count == 0 and len(values) > 1:
        typed = pd.Series(values[:-1], dtype=object).infer_objects()
        return pd.Series(typed.to_numpy()[codes], dtype=typed.dtype)
    return pd.Series(values[codes], dtype=object)  # code -1 (no text) takes the trailing None


def decode_inputs(column: pa.ChunkedArray) -> pd.DataFrame:
    """The JSON objects in ``column`` as columns: the texts, each ending in a newline, are one buffer of JSON lines
    for pyarrow's reader (C++, several threads, no Python object per row); strings stay strings (pyarrow would
    turn ISO-date-like strings into timestamps); python's json for anything pyarrow refuses."""
    if not len(column):
        return pd.DataFrame(index=pd.RangeIndex(0))
    lines = column.combine_chunks()  # each text ends in a newline (the query appends it)
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)
    first, last = int(offsets[lines.offset]), int(offsets[lines.offset + len(lines)])
    data = lines.buffers()[2][first:last]
    read = pa_json.ReadOptions(block_size=1 << 22)  # 4 MiB blocks: parsed on every core (ints widen to floats)
    try:
        table = pa_json.read_json(pa.BufferReader(data), read_options=read)
        dated = [f.name for f in table.schema if pa.types.is_timestamp(f.type) or pa.types.is_date(f.type)]
        if dated:
            schema = pa.schema([(name, pa.string()) for name in dated])
            parse = pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="infer")
            order = table.column_names
            table = pa_json.read_json(pa.BufferReader(data), read_options=read, parse_options=parse).select(order)
        return table.to_pandas()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pd.DataFrame.from_records([json.loads(text) for text in column.to_pylist()])
