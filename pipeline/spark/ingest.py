"""Ingest on Spark: read the configured CSV, Parquet or SQL source into a Spark DataFrame with a content fingerprint.

The same rules as :mod:`pipeline.ingest`, with Spark's readers: a CSV is read with ``FAILFAST`` (a malformed line
is an error naming the file, never a row of nulls; Spark's default ``PERMISSIVE`` mode would keep it silently), and
the cells pandas reads as missing are missing here too (:func:`_pandas_missing`);
a Parquet folder (hive partitions included) must hold files of one schema, checked from every file's footer
before Spark reads them (Spark takes the schema of one file and reads the others' differing columns as null).

The fingerprint (:func:`fingerprint`) is computed in Spark in one pass and is order- and partitioning-insensitive:
each row is hashed with Spark's ``xxhash64`` twice (two seeds) over its columns in name order, each value preceded
by its null flag (Spark's hash skips nulls, which would make ``(null, 1)`` and ``(1, null)`` equal); the 64-bit
hashes are summed as two 32-bit halves (no overflow below 2^31 rows), and the column names and Spark types, the
row count and the four sums are hashed with sha256. It is **not** the pandas engine's fingerprint of the same
file: that one hashes pandas' values and dtypes (``hash_pandas_object``), which Spark cannot compute; switching
a project's engine therefore looks like new data to the staleness gate once. Within an engine it is stable.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgate.pipeline.config import DataSettings
from mlgate.pipeline.errors import DataError, MlgateError
from mlgate.pipeline.ingest import check_file, check_partitions
from mlgate.pipeline.spark.session import short_error

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

__all__ = ["SparkDataset", "fingerprint", "flagged_values", "load", "parquet_schema_problem"]

_SEEDS = (42, 4242)
_LOW = 0xFFFFFFFF


@dataclass(frozen=True)
class SparkDataset:
    """A table read by Spark, where it came from and what it is (``n_rows`` counted once, at ingest)."""

    frame: DataFrame
    source: str
    fingerprint: str
    n_rows: int
    meta: dict[str, Any] = field(default_factory=dict)


def flagged_values(frame: DataFrame) -> list[Column]:
    """What a row hash reads: each column in name order, preceded by its null flag (so ``(a, null)`` and
    ``(null, a)`` differ; ``xxhash64`` skips a null)."""
    from pyspark.sql import functions as F

    return [part for name in sorted(frame.columns) for part in (F.isnull(F.col(f"`{name}`")), F.col(f"`{name}`"))]


def fingerprint(frame: DataFrame) -> tuple[str, int]:
    """(order-insensitive content hash, row count) of ``frame``, in one Spark job (see the module docstring)."""
    from pyspark.sql import functions as F

    names = sorted(frame.columns)
    flagged = flagged_values(frame)
    sums = []
    for seed in _SEEDS:
        hashed = F.xxhash64(*flagged) if seed == 42 else F.xxhash64(F.lit(seed), *flagged)
        sums += [F.sum(hashed.bitwiseAND(F.lit(_LOW))), F.sum(F.shiftrightunsigned(hashed, 32))]
    row = frame.agg(F.count(F.lit(1)).alias("n"), *[s.alias(f"s{i}") for i, s in enumerate(sums)]).collect()[0]
    digest = hashlib.sha256()
    types = dict(frame.dtypes)
    for name in names:
        digest.update(f"{name}\x1f{types[name]}\x1e".encode())
    n = int(row["n"])
    digest.update((f"{n}:" + ":".join(str(int(row[f"s{i}"] or 0)) for i in range(len(sums)))).encode())
    return digest.hexdigest(), n


def parquet_schema_problem(folder: Path) -> str | None:
    """A one-line description of the first Parquet file under ``folder`` whose schema differs from the first
    file's (names and Arrow types, partition columns aside), or None when they all agree. Reads footers only."""
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in {".parquet", ".pq"})
    first: tuple[Path, dict[str, str]] | None = None
    for path in files:
        try:
            schema = pq.read_schema(path)
        except Exception as exc:  # pyarrow raises several unrelated types for a bad footer
            return f"{path}: not a readable Parquet file ({type(exc).__name__}: {exc})"
        columns = {name: str(schema.field(name).type) for name in schema.names}
        if first is None:
            first = (path, columns)
            continue
        base_path, base = first
        for name in sorted(set(base) | set(columns)):
            if base.get(name) != columns.get(name):
                a, b = base.get(name, "absent"), columns.get(name, "absent")
                return (
                    f"column '{name}' is {a} in {base_path.relative_to(folder)} but {b} in "
                    f"{path.relative_to(folder)}: a Parquet folder must hold one schema"
                )
    return None


def _pandas_missing(frame: DataFrame) -> DataFrame:
    """A CSV's text cells that pandas reads as missing (``NA``, ``n/a``, ``null``, ``NaN``...: pandas' default
    ``na_values``) made null, and a text column whose every other cell is a number made numeric (``bigint`` when
    every one is whole, else ``double``): the columns and values the pandas engine reads from the same file.
    Spark's reader knows only the empty cell as missing, so a numeric column with an ``NA`` would stay text."""
    from pandas._libs.parsers import STR_NA_VALUES
    from pyspark.sql import functions as F

    text = [name for name, kind in frame.dtypes if kind == "string"]
    if not text:
        return frame
    tokens = sorted(STR_NA_VALUES)
    nulled = frame.select(
        *[F.when(F.col(f"`{n}`").isin(tokens), None).otherwise(F.col(f"`{n}`")).alias(n) if n in text
          else F.col(f"`{n}`") for n in frame.columns]
    )  # fmt: skip
    checks = []
    for name in text:
        value = F.col(f"`{name}`")
        number = F.expr(f"try_cast(`{name}` AS DOUBLE)")
        checks.append(F.sum(F.when(value.isNotNull() & number.isNull(), 1).otherwise(0)).alias(f"t:{name}"))
        checks.append(
            F.sum(F.when(number.isNotNull() & (number != F.floor(number)), 1).otherwise(0)).alias(f"f:{name}")
        )
    counts = nulled.agg(*checks).collect()[0].asDict()
    numeric = {n: ("bigint" if not counts[f"f:{n}"] else "double") for n in text if not counts[f"t:{n}"]}
    if not numeric:
        return nulled
    return nulled.select(
        *[F.expr(f"try_cast(`{n}` AS {numeric[n].upper()})").alias(n) if n in numeric else F.col(f"`{n}`")
          for n in nulled.columns]
    )  # fmt: skip


def _read(spark: SparkSession, settings: DataSettings, path: Path, fmt: str) -> DataFrame:
    if fmt == "parquet":
        if path.is_dir():
            check_partitions(path)
            problem = parquet_schema_problem(path)
            if problem:
                raise DataError(f"{path}: {problem}")
        return spark.read.parquet(str(path))
    options = {"header": "true", "inferSchema": "true", "mode": "FAILFAST", "sep": settings.delimiter}
    options |= {"encoding": settings.encoding, "enforceSchema": "false", "multiLine": "false"}
    return _pandas_missing(spark.read.options(**options).csv(str(path)))


def load(spark: SparkSession, settings: DataSettings, *, source: str, require_target: bool = True) -> SparkDataset:
    """Read ``source`` (a CSV or Parquet file, a Parquet folder, or a PostgreSQL URL with ``data.query``, read
    through JDBC by :mod:`pipeline.spark.jdbc`) as configured by ``settings``.

    For SQL, ``source`` becomes the redacted URL before anything is read: it is what every message and the
    dataset show, and it must never hold a password."""
    fmt = settings.resolved_format
    jdbc = None
    path = Path(source)
    if fmt == "sql":
        from mlgate.pipeline.spark.jdbc import jdbc_source

        jdbc = jdbc_source(settings, source)  # the query and the URL are checked before anything connects
        source = jdbc.shown
    elif not (fmt == "parquet" and path.is_dir()):
        check_file(path)
    try:
        frame = jdbc.read(spark) if jdbc is not None else _read(spark, settings, path, fmt)
        columns = [c.strip() for c in frame.columns]
        lowered = [c.lower() for c in columns]
        duplicated = sorted({c for c in columns if lowered.count(c.lower()) > 1})
        if duplicated:  # Spark resolves names case-insensitively: 'Age' and 'age' would be one column
            raise DataError(f"{source}: duplicate column names {duplicated}")
        frame = frame.toDF(*columns)
        digest, n_rows = fingerprint(frame)
    except MlgateError:
        raise
    except Exception as exc:  # Spark's reader or the first job failed: a malformed line, an unreadable file
        if jdbc is not None:  # the database's answer (a refused login, a missing table), redacted
            raise jdbc.error(exc) from None
        raise DataError(f"{source}: Spark could not read the {fmt} data: {short_error(exc)}") from None
    if n_rows == 0:
        raise DataError(f"{source}: no data rows")
    if require_target and settings.target not in frame.columns:
        raise DataError(
            f"{source}: target column '{settings.target}' not found; columns are {', '.join(frame.columns)}"
        )
    meta = {"format": fmt, "rows": n_rows, "columns": len(frame.columns), "engine": "spark"}
    return SparkDataset(frame=frame, source=source, fingerprint=digest, n_rows=n_rows, meta=meta)
