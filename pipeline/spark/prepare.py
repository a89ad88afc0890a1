"""Prepare on Spark: the rules of :mod:`pipeline.prepare`, as Spark column expressions, every change counted.

Strings are stripped and ``data.missing_values`` sentinels become null (counted per column); the features get
their kinds by the same rules (declared, else numeric for Spark's numeric and boolean types, as pandas counts
``bool`` numeric); a numeric feature read as text is cast with ``try_cast`` and every value that is not a number
becomes missing and is counted; ±inf in a numeric feature is refused naming the column; rows without a label are
dropped and counted; duplicate rows (equal over the kept columns, missing equal to missing) are counted as
labelled rows minus distinct rows (:func:`distinct_rows`) and dropped when ``data.drop_duplicates``. The target is
encoded as :mod:`pipeline.target` does (its task and classes decided from the distinct labels, at most
:data:`DISTINCT_LABELS` of them collected) into the column :data:`Y`. The counts of changes come from two Spark
jobs.

Not available on Spark: data row numbers (a distributed file has no row order to number), so a refusal names
the column and the count, and ``duplicate_examples`` stays empty; integers beyond 64 bits are read by Spark as
decimals and used as numbers rather than refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import pandas as pd

from mlgate.pipeline.config import DataSettings, FeatureSettings
from mlgate.pipeline.errors import DataError
from mlgate.pipeline.prepare import PrepareReport, _not_found, resolve_features
from mlgate.pipeline.target import encode_target

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

__all__ = ["DISTINCT_LABELS", "SparkPrepared", "Y", "count_duplicate_rows", "prepare"]

#: The encoded target's column in :attr:`SparkPrepared.frame`.
Y = "__mlgate_y"
#: Distinct labels collected to decide the task (more is a regression target, or an identifier).
DISTINCT_LABELS = 1000
_FLAG = "__mlgate_sentinel:"
_LOST = "__mlgate_not_a_number:"
#: Repeated row hashes up to which :func:`distinct_rows` compares only the rows that share a hash.
REPEATED_HASHES = 20_000_000
_HASH = "__mlgate_row_hash"
_BYPASS = "spark.sql.execution.bypassPartialAggregation"
_NUMERIC_TYPES = ("tinyint", "smallint", "int", "bigint", "float", "double", "boolean")


@dataclass(frozen=True)
class SparkPrepared:
    """The cleaned Spark frame (kept columns and :data:`Y`), the feature lists, the report and the task."""

    frame: DataFrame
    target: str
    features: list[str]
    numeric: list[str]
    categorical: list[str]
    report: PrepareReport
    task: str
    task_decided_by: str
    classes: tuple[Any, ...] = ()

    def target_record(self) -> dict[str, Any]:
        classes = [str(c) for c in self.classes]
        return {"column": self.target, "task": self.task, "decided_by": self.task_decided_by, "classes": classes}


def _c(name: str) -> Column:
    from pyspark.sql import functions as F

    return F.col(f"`{name}`")


def _is_numeric(spark_type: str) -> bool:
    return spark_type in _NUMERIC_TYPES or spark_type.startswith("decimal")


def _kinds(
    types: Mapping[str, str], names: list[str], settings: FeatureSettings, source: str
) -> tuple[list[str], list[str]]:
    declared_numeric, declared_categorical = settings.numeric or [], settings.categorical or []
    for key, declared in (("features.numeric", declared_numeric), ("features.categorical", declared_categorical)):
        for name in declared:
            if name not in names:
                raise DataError(f"{source}: '{name}' ({key}) is not among the features ({', '.join(names)})")
    numeric = [n for n in names if n not in declared_categorical and (n in declared_numeric or _is_numeric(types[n]))]
    return numeric, [n for n in names if n not in numeric]


def _clean(frame: DataFrame, keep: list[str], markers: list[str]) -> tuple[DataFrame, dict[str, Column]]:
    """Strip strings and null the sentinels; the expressions counting each column's sentinels (over flag columns
    this select adds: the sentinels are gone from the cleaned columns)."""
    from pyspark.sql import functions as F

    types, columns, counts = dict(frame.dtypes), [], {}
    for name in keep:
        if types[name] != "string":
            columns.append(_c(name))
            continue
        stripped = F.trim(_c(name))
        if markers:  # a flag column, counted in the next job and dropped after it
            hit = stripped.isin(markers)
            columns.append(F.when(hit, 1).otherwise(0).alias(f"{_FLAG}{name}"))
            counts[name] = F.sum(F.col(f"`{_FLAG}{name}`"))
            stripped = F.when(hit, F.lit(None).cast("string")).otherwise(stripped)
        columns.append(stripped.alias(name))
    return frame.select(*columns), counts


def _coerce(frame: DataFrame, numeric: list[str], categorical: list[str]) -> tuple[DataFrame, dict[str, Column]]:
    """Numeric features as doubles (a non-number becomes null: counted), categorical ones as text."""
    from pyspark.sql import functions as F

    types, counts, columns = dict(frame.dtypes), {}, []
    for name in frame.columns:
        if name in numeric and types[name] == "string":
            cast = F.expr(f"try_cast(`{name}` AS DOUBLE)")
            columns.append(F.when(_c(name).isNotNull() & cast.isNull(), 1).otherwise(0).alias(f"{_LOST}{name}"))
            counts[name] = F.sum(F.col(f"`{_LOST}{name}`"))  # a flag column: counted in the next job, then dropped
            columns.append(cast.alias(name))
        elif name in numeric:
            columns.append(_c(name).cast("double").alias(name))
        elif name in categorical and types[name] != "string":
            columns.append(_c(name).cast("string").alias(name))
        else:
            columns.append(_c(name))
    return frame.select(*columns), counts


def _encode(frame: DataFrame, data: DataSettings, task: str, source: str) -> tuple[DataFrame, Any]:
    """The target decided from its distinct labels (``pipeline.target.encode_target`` on them) and encoded."""
    from pyspark.sql import functions as F

    target = data.target
    labels = [row[0] for row in frame.select(_c(target)).distinct().limit(DISTINCT_LABELS + 1).collect()]
    decided = encode_target(pd.Series(labels, name=target), task, data.positive_label, source=source)
    text = _c(target).cast("string")
    if decided.task == "binary":
        positive = labels[int(decided.y.to_numpy().argmax())]
        y = F.when(text == F.lit(str(positive)), 1).otherwise(0)
    elif decided.task == "multiclass":
        codes = F.create_map(*[part for code, c in enumerate(decided.classes) for part in (F.lit(str(c)), F.lit(code))])
        y = codes[text]
    else:
        y = F.expr(f"try_cast(`{target}` AS DOUBLE)")
    return frame.withColumn(Y, y.cast("double" if decided.task == "regression" else "int")), decided


def _counts(
    typed: DataFrame, target: str, numeric: list[str], sentinels: dict[str, Column], coerced: dict[str, Column]
) -> dict[str, int]:
    """One job: rows, unlabelled rows, sentinels (``s:``), values coerced to missing (``c:``), infinities (``i:``)."""
    from pyspark.sql import functions as F

    infinite = {n: F.sum(F.when(F.abs(_c(n)) == F.lit(float("inf")), 1).otherwise(0)) for n in numeric}
    named = [*(c.alias(f"s:{n}") for n, c in sentinels.items()), *(c.alias(f"c:{n}") for n, c in coerced.items())]
    named += [c.alias(f"i:{n}") for n, c in infinite.items()]
    unlabelled = F.sum(F.when(_c(target).isNotNull(), 0).otherwise(1)).alias("unlabelled")
    row = typed.agg(F.count(F.lit(1)).alias("rows"), unlabelled, *named).collect()[0]
    return {key: int(value or 0) for key, value in row.asDict().items()}


def repeated_hashes(hashed: DataFrame) -> DataFrame:
    """The hashes of ``hashed`` held by more than one row, with their ``count``, cached; counted without a
    map-side partial aggregation (Spark's ``bypassPartialAggregation``, set while ``persist()`` plans the query)."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    conf, before = hashed.sparkSession.conf, hashed.sparkSession.conf.get(_BYPASS, None)
    conf.set(_BYPASS, "true")
    try:
        return hashed.groupBy(_HASH).count().where(F.col("count") > 1).persist(StorageLevel.MEMORY_AND_DISK)
    finally:
        if before is None:
            conf.unset(_BYPASS)
        else:
            conf.set(_BYPASS, before)


def distinct_rows(frame: DataFrame, rows: int, *, row_hash: str | None = None) -> int:
    """The number of distinct rows of ``frame`` (``rows`` rows; missing equal to missing), exact, without moving
    every row through a shuffle as ``distinct()`` does: rows are grouped by a 64-bit hash of all their values
    (the fingerprint's null flags keep ``(a, null)`` and ``(null, a)`` apart); a hash held by one row is one
    distinct row; only the rows whose hash repeats (the duplicates, and the ~n^2/2^65 pairs that collide) are
    compared whole, with ``distinct()``, after a broadcast semi-join on the repeated hashes. Past
    :data:`REPEATED_HASHES` repeated hashes (a table mostly of duplicates) it is ``distinct().count()``. The hash
    grouping runs with Spark's map-side partial aggregation bypassed (:func:`repeated_hashes`): nearly every hash
    is unique, so a partial count per task only fills and spills a hash map. Measured on the benchmark's 10M rows
    (0.4% duplicates; one local[2] session, each timed alone, nothing else running): 10.5 s against 22.0 s for
    ``distinct().count()`` (21.5 s with the partial aggregation). At 100M, before the bypass, its two passes took
    155 s of the 454 s that ingest, prepare and split took.

    ``row_hash``: a column of ``frame`` that already holds a hash equal for equal rows (the split's row key), used
    instead of hashing every value, and not itself compared."""
    from pyspark.sql import functions as F

    from mlgate.pipeline.spark.ingest import flagged_values

    if row_hash is None:
        hashed = frame.select("*", F.xxhash64(*flagged_values(frame)).alias(_HASH))
    else:
        hashed, frame = frame.withColumnRenamed(row_hash, _HASH), frame.drop(row_hash)
    repeated = repeated_hashes(hashed)
    try:
        found = repeated.agg(F.count(F.lit(1)).alias("hashes"), F.sum("count").alias("rows")).collect()[0]
        hashes, in_repeated = int(found["hashes"]), int(found["rows"] or 0)
        if hashes == 0:
            return rows
        if hashes > REPEATED_HASHES:
            return frame.distinct().count()
        inside = hashed.join(F.broadcast(repeated.select(_HASH)), _HASH, "left_semi").drop(_HASH)
        return rows - in_repeated + inside.distinct().count()
    finally:
        repeated.unpersist()


def prepare(
    frame: DataFrame,
    data: DataSettings,
    features: FeatureSettings,
    *,
    source: str,
    groups: Mapping[str, str] | None = None,
    task: str = "auto",
    count_duplicates: bool = True,
) -> SparkPrepared:
    """Clean ``frame`` as configured and count every change (the module docstring); encode the target.
    ``count_duplicates`` False (duplicates kept only): ``duplicate_rows`` is left at 0 for
    :func:`count_duplicate_rows` to count on cached rows (the split's cache) instead of reading the source again."""
    from pyspark.sql import functions as F

    columns = list(frame.columns)
    ignore = (data.event_time_column,) if data.event_time_column else ()
    names = resolve_features(columns, features, target=data.target, source=source, ignore=ignore)
    named = [(data.event_time_column, "data.event_time_column")] if data.event_time_column else []
    for column, key in [*named, *(groups or {}).items()]:
        if column not in columns:
            raise _not_found(source, column, key, columns)
    keep = list(dict.fromkeys([data.target, *names, *(groups or {}), *ignore]))
    cleaned, sentinel_counts = _clean(frame, keep, list(data.missing_values))
    numeric, categorical = _kinds(dict(cleaned.dtypes), names, features, source)
    typed, coerced_counts = _coerce(cleaned, numeric, categorical)
    first = _counts(typed, data.target, numeric, sentinel_counts, coerced_counts)
    for name in numeric:
        if first.get(f"i:{name}"):
            raise DataError(
                f"{source}: numeric column '{name}' holds {first[f'i:{name}']} infinite value(s): a model cannot use "
                "them; correct them or leave the cells empty"
            )
    if first["unlabelled"] == first["rows"]:
        raise DataError(f"{source}: target column '{data.target}' has no values (every row is missing its label)")
    flags = [*(f"{_FLAG}{n}" for n in sentinel_counts), *(f"{_LOST}{n}" for n in coerced_counts)]
    kept = typed.where(_c(data.target).isNotNull()).drop(*flags)
    distinct = kept.distinct() if data.drop_duplicates else None
    out, decided = _encode(distinct if distinct is not None else kept, data, task, source)
    missing = {n: F.sum(F.when(_c(n).isNull(), 1).otherwise(0)).alias(f"m:{n}") for n in names}
    second = out.agg(F.count(F.lit(1)).alias("rows"), *missing.values()).collect()[0].asDict()
    labelled_rows = first["rows"] - first["unlabelled"]
    counted_later = distinct is not None or not count_duplicates
    unique_rows = second["rows"] if counted_later else distinct_rows(kept, labelled_rows)
    if second["rows"] == 0:
        raise DataError(f"{source}: no rows left after dropping rows without a label and duplicates")
    report = PrepareReport(
        rows_in=first["rows"],
        rows_out=second["rows"],
        duplicates_dropped=labelled_rows - second["rows"],
        missing_target_dropped=first["unlabelled"],
        sentinels_replaced={n: first[f"s:{n}"] for n in sentinel_counts if first[f"s:{n}"]},
        coerced_to_missing={n: first[f"c:{n}"] for n in coerced_counts if first[f"c:{n}"]},
        missing_values={n: second[f"m:{n}"] for n in names if second[f"m:{n}"]},
        duplicate_rows=labelled_rows - unique_rows,
    )
    return SparkPrepared(out, data.target, names, numeric, categorical, report, decided.task, decided.decided_by,
                         decided.classes)  # fmt: skip


def count_duplicate_rows(
    prepared: SparkPrepared, drop_duplicates: bool, *, keyed: DataFrame | None = None, key: str = ""
) -> SparkPrepared:
    """``prepared`` with the report's ``duplicate_rows`` counted on its frame (:func:`distinct_rows`), what
    ``prepare(count_duplicates=False)`` left out; unchanged when duplicates were dropped (``distinct()`` counted
    them). The Spark engine counts them on the split's cache rather than reading, preparing and hashing the
    source again (:func:`pipeline.spark.dataload.load_spark_data`). ``keyed``: the same rows with a row key
    ``key`` over the features and the target (the split's), grouped on instead of a hash of every value when those
    are all the columns (another column would make rows that differ in it share a key: still exact, slower)."""
    if drop_duplicates:
        return prepared
    rows, columns = prepared.report.rows_out, prepared.frame.columns
    if keyed is not None and set(columns) <= {*prepared.features, prepared.target, Y}:
        duplicates = rows - distinct_rows(keyed.select(*columns, key), rows, row_hash=key)
    else:
        duplicates = rows - distinct_rows(prepared.frame, rows)
    return replace(prepared, report=replace(prepared.report, duplicate_rows=duplicates))
