"""Exact statistics of Spark DataFrames for the drift and balance gates: category counts and the two-sample KS D.

The gates' judging code (``checks/``) gets from here the same numbers it computes itself from pandas frames, so it
gives the same verdicts; only what is small ever reaches the driver:

* :func:`category_counts` / :func:`counts_by` — exact counts of each value of one or several columns, in one pass
  (one Spark job whatever the number of columns). The driver receives one row per distinct value: the result.
* :func:`ks_statistic` / :func:`ks_statistics` — the exact two-sample Kolmogorov–Smirnov statistic D of
  ``checks.stats.ks_two_sample`` (missing values sort after every value), of several columns in shared passes. The
  driver receives the counts per distinct value when there are few of them, else a few numbers per partition and
  column; never a row of the data (see :func:`ks_statistics`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import partial

import numpy as np
import pandas as pd
from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, Row
from pyspark.sql import functions as F
from pyspark.sql import types as T

__all__ = [
    "KsProfile",
    "category_counts",
    "counts_by",
    "ks_from_counts",
    "ks_statistic",
    "ks_statistics",
    "texts_counted",
]

_INTEGRAL_TEXT = re.compile(r"-?\d+\.0*")  # as checks.categories: "1.0", "1.000", "1." are the integer 1
_FLOATS = (T.FloatType, T.DoubleType)
#: Distinct (key, value) rows up to which :func:`small_counts` collects the counts for the driver.
LOCAL_ROWS = 1_000_000


def _col(name: str) -> Column:
    """The column named ``name``, taken literally (a dot or a space in the name is part of it)."""
    return F.col("`" + name.replace("`", "``") + "`")


def _check_columns(df: DataFrame, columns: Sequence[str], *, numeric: bool = False) -> None:
    for name in columns:
        if name not in df.columns:
            raise ValueError(f"column '{name}' is not in the data (columns: {', '.join(df.columns)})")
        kind = df.schema[name].dataType
        if numeric and not isinstance(kind, T.NumericType | T.BooleanType):
            raise ValueError(f"column '{name}' is {kind.simpleString()}, not numeric")


# ------------------------------------------------------------------------------------------------ category counts
def _key(name: str | Column, kind: T.DataType) -> Column:
    """The value as the text Spark groups on: a float as the exact double (``float()`` of the text gives it back),
    NaN as null (pandas counts NaN as missing), -0.0 as 0.0 (pandas counts them as one value)."""
    column = _col(name) if isinstance(name, str) else name
    if isinstance(kind, _FLOATS):
        number = column.cast("double")  # a float32 widens exactly; its own text would round differently
        return F.when(F.isnan(number), F.lit(None)).when(number == 0.0, F.lit("0.0")).otherwise(number.cast("string"))
    return column.cast("string")


def _pandas_text(text: str, kind: T.DataType) -> str:
    """``str(value)`` of the value pandas holds for the Spark value written ``text`` (``checks.stats``' spelling)."""
    if isinstance(kind, T.BooleanType):
        return "True" if text == "true" else "False"
    if isinstance(kind, _FLOATS):
        return str(float(text))  # Java writes 1e20 as "1.0E20", Python as "1e+20"
    return text


def _canonical_text(text: str, kind: T.DataType) -> str:
    """``checks.categories.category_text`` of the same value: integral numbers written as integers."""
    if isinstance(kind, _FLOATS):
        number = float(text)
        return str(int(number)) if number.is_integer() else text
    if isinstance(kind, T.BooleanType | T.IntegralType):
        return text
    return text.split(".")[0] if _INTEGRAL_TEXT.fullmatch(text) else text


def counts_by(
    df: DataFrame, columns: Sequence[str], *, canonical: bool = False, max_distinct: int | None = 1_000_000
) -> dict[str, dict[str | None, int]]:
    """Exact count of every value of each of ``columns``, keyed by its text (``None``: null, or NaN), in ONE job.

    The text is what the pandas side compares: ``str(value)`` of the value pandas holds (``checks.stats``' category
    counts), or with ``canonical`` :func:`checks.categories.category_text` (integral numbers as integers: ``1.0``
    and ``"1.0"`` count as ``"1"``). Spark's own text differs for two types, so the driver rewrites it: a boolean
    (Spark ``true``, Python ``True``) and a float (Spark ``1.0E20``, Python ``1e+20``; a float32 as the double
    pandas reports, ``0.10000000149011612``). Integers and strings are the same text. Remaining differences:
    ``-0.0`` always counts as ``"0.0"`` (pandas counts both zeros as one value, spelled as the first one it met);
    a decimal is written with its column's scale (``1.50``) where pandas holds ``Decimal`` objects with their own;
    dates, timestamps and nested values are Spark's text (pandas writes a timestamp ``2024-01-01 00:00:00``).

    One pass: every row becomes one ``(column index, text)`` pair per column (``inline`` of an array of structs),
    grouped and counted (Spark counts each partition's pairs before the shuffle, so only distinct pairs move). The
    driver collects one row per distinct (column, value); more than ``max_distinct`` values in a column (an id
    column taken for a category) is a ValueError rather than a driver out of memory.
    """
    _check_columns(df, columns)
    if not columns:
        return {}
    kinds = [df.schema[name].dataType for name in columns]
    pairs = F.array(*[F.struct(F.lit(i).alias("c"), _key(name, kinds[i]).alias("v")) for i, name in enumerate(columns)])
    grouped = df.select(F.inline(pairs)).groupBy("c", "v").count()
    limit = None if max_distinct is None else max_distinct * len(columns) + 1
    rows = (grouped if limit is None else grouped.limit(limit)).collect()
    found = texts_counted([(row["c"], row["v"], row["count"]) for row in rows], columns, kinds, canonical=canonical,
                          max_distinct=max_distinct, complete=limit is None or len(rows) < limit)  # fmt: skip
    return dict(zip(columns, found, strict=True))


def texts_counted(
    rows: Sequence[tuple[int, str | None, int]],
    columns: Sequence[str],
    kinds: Sequence[T.DataType],
    *,
    canonical: bool = False,
    max_distinct: int | None = None,
    complete: bool = True,
) -> list[dict[str | None, int]]:
    """Per column, most frequent first: the counts of ``(column index, Spark text, count)`` rows keyed by the text
    the pandas side compares (:func:`counts_by`). ``complete`` False: the rows were cut at a limit (ValueError)."""
    seen = np.bincount([c for c, _, _ in rows], minlength=len(columns))
    if max_distinct is not None and (not complete or seen.max(initial=0) > max_distinct):
        worst = columns[int(np.argmax(seen))]
        raise ValueError(f"column '{worst}' has more than {max_distinct} distinct values: not a category")
    found: list[dict[str | None, int]] = [{} for _ in columns]
    for c, text, count in rows:
        kind = kinds[c]
        key = None if text is None else _pandas_text(text, kind)
        if canonical and key is not None:
            key = _canonical_text(key, kind)
        found[c][key] = found[c].get(key, 0) + int(count)
    return [_most_frequent_first(counts) for counts in found]


def _most_frequent_first(counts: dict[str | None, int]) -> dict[str | None, int]:
    order = sorted(counts.items(), key=lambda item: (-item[1], item[0] is None, item[0] or ""))
    return dict(order)


def category_counts(
    df: DataFrame, column: str, *, canonical: bool = False, max_distinct: int | None = 1_000_000
) -> dict[str | None, int]:
    """Exact count of each value of ``column`` as text, ``None`` for null or NaN, in one pass (:func:`counts_by`)."""
    return counts_by(df, [column], canonical=canonical, max_distinct=max_distinct)[column]


# ---------------------------------------------------------------------------------------------------------- exact KS
@dataclass(frozen=True)
class KsProfile:
    """The two-sample KS statistic D of one column and the sizes behind it (missing: null or NaN rows)."""

    statistic: float
    n_reference: int
    n_current: int
    missing_reference: int
    missing_current: int
    #: (reference, current) quantiles of the non-missing values at ``ks_statistics``' ``levels``, exact (numpy's
    #: linear interpolation, as ``checks.stats.sorted_quantiles``); set when the counts were held on the driver
    quantiles: tuple[list[float], list[float]] | None = field(default=None, compare=False)


def _sided(df: DataFrame, columns: Sequence[str], side: int) -> DataFrame:
    """One ``(c, v, m, side)`` row per row and column: ``v`` the value as a double, a missing one (null or NaN) as
    +inf like ``checks.stats._sort_missing_last`` (tied with a real +inf, as there), ``m`` 1 when missing."""
    entries = []
    for i, name in enumerate(columns):
        number = _col(name).cast("double")
        missing = number.isNull() | F.isnan(number)
        value = F.when(missing, F.lit(math.inf)).when(number == 0.0, F.lit(0.0)).otherwise(number)
        entries.append(F.struct(F.lit(i).alias("c"), value.alias("v"), missing.cast("long").alias("m")))
    return df.select(F.inline(F.array(*entries))).withColumn("side", F.lit(side))


def _value_counts(reference: DataFrame, current: DataFrame, columns: Sequence[str]) -> DataFrame:
    """Per column and distinct value: how many reference rows (``r``) and current rows (``u``) hold it, and how many
    of those are missing (``mr``, ``mu``; only at +inf)."""
    reference_side = F.col("side") == 0
    return (
        _sided(reference, columns, 0)
        .unionByName(_sided(current, columns, 1))
        .groupBy("c", "v")
        .agg(
            F.sum(F.when(reference_side, 1).otherwise(0)).alias("r"),
            F.sum(F.when(reference_side, 0).otherwise(1)).alias("u"),
            F.sum(F.when(reference_side, F.col("m")).otherwise(0)).alias("mr"),
            F.sum(F.when(reference_side, 0).otherwise(F.col("m"))).alias("mu"),
        )
    )


def _offsets(
    segments: list[tuple[int, float, int, int]],
) -> dict[tuple[int, float], tuple[int, int]]:
    """Per segment ``(column, first value)``: the reference and current rows of that column before it."""
    offsets: dict[tuple[int, float], tuple[int, int]] = {}
    before: dict[int, tuple[int, int]] = {}
    for c, first, r, u in sorted(segments):
        below_r, below_u = before.get(c, (0, 0))
        offsets[(c, first)] = (below_r, below_u)
        before[c] = (below_r + r, below_u + u)
    return offsets


def _runs(batch: pd.DataFrame) -> Iterator[tuple[int, int, int]]:
    """``(column, start, end)`` of each run of one column's rows in an Arrow batch (rows sorted by column)."""
    columns = batch["c"].to_numpy()
    starts = np.flatnonzero(np.r_[True, columns[1:] != columns[:-1]]) if len(columns) else np.array([], dtype=int)
    for start, end in zip(starts, [*starts[1:], len(columns)], strict=True):
        yield int(columns[start]), int(start), int(end)


def _segment_maxima(
    offsets: dict[tuple[int, float], tuple[int, int]],
    sizes: dict[int, tuple[int, int]],
    batches: Iterator[pd.DataFrame],
) -> Iterator[pd.DataFrame]:
    """Pass 2, per range partition (rows sorted by column and value, one row per distinct value): the largest
    ``|F_ref - F_cur|`` at its values, the ECDFs evaluated after each value as ``checks.stats._ks_statistic`` does
    (``count / n`` of exact int64 counts, the same float operations, hence the same doubles)."""
    best: dict[int, float] = {}
    running: dict[int, tuple[int, int]] = {}  # a column's counts so far, carried from one Arrow batch to the next
    for batch in batches:
        ref, cur = batch["r"].to_numpy(dtype=np.int64), batch["u"].to_numpy(dtype=np.int64)
        for c, start, end in _runs(batch):
            first = float(batch["v"].iat[start])
            if c not in running and (c, first) not in offsets:
                raise RuntimeError("the range partitions changed between the two passes of the KS statistic")
            below_r, below_u = running.get(c) or offsets[(c, first)]
            count_ref = below_r + np.cumsum(ref[start:end])
            count_cur = below_u + np.cumsum(cur[start:end])
            n1, n2 = sizes[c]
            gap = float(np.max(np.abs(count_ref / n1 - count_cur / n2)))
            best[c] = max(best.get(c, 0.0), gap)
            running[c] = (int(count_ref[-1]), int(count_cur[-1]))
    yield pd.DataFrame({"c": np.array(list(best), dtype=np.int32), "d": np.array(list(best.values()))})


def ks_statistics(
    reference: DataFrame,
    current: DataFrame,
    columns: Sequence[str],
    *,
    partitions: int | None = None,
    levels: Sequence[float] = (),
) -> dict[str, KsProfile]:
    """The exact two-sample KS statistic D of each numeric column between ``reference`` and ``current``.

    Semantics of ``checks.stats.ks_two_sample``: values as doubles, missing ones (null or NaN) after every value
    (as +inf), ECDFs compared after the last of each run of tied values. D equals ``checks.stats._ks_statistic``
    bit for bit: both compute ``|count_ref / n1 - count_cur / n2|`` from the same exact integer counts with the same
    double operations at the same points, and a maximum adds no rounding.

    How, without a row of the data on the driver and without a single-partition window (all columns share every
    step):

    1. one shuffle: each side's rows become ``(column, value)`` pairs counted per distinct value and side (Spark
       counts within each partition first, so only distinct values move), cached. With at most
       :data:`LOCAL_ROWS` distinct (column, value) pairs, the driver collects those counts and runs steps 3 and 4
       on them in one piece (:func:`small_counts`), and gives each side's exact quantiles at ``levels`` from them
       (:attr:`KsProfile.quantiles`); else:
    2. those counts are range-partitioned on ``(column, value)`` into ``partitions`` ranges (default
       ``spark.sql.shuffle.partitions``; Spark samples them for the boundaries), sorted within each range and cached
       (memory, then disk: one row per distinct value, never more rows than the data);
    3. pass 1 (JVM): the totals of each range's segment of each column — the driver collects at most
       ``partitions + len(columns)`` rows and turns them into each segment's prefix counts (rows before it);
    4. pass 2 (``mapInPandas``): each range adds its prefix to its running counts and returns its largest gap per
       column — again at most ``partitions + len(columns)`` rows. D is the largest of them.
    """
    _check_columns(reference, columns, numeric=True)
    _check_columns(current, columns, numeric=True)
    if not columns:
        return {}
    return ks_from_counts(_value_counts(reference, current, columns), columns, partitions=partitions, levels=levels)


def ks_from_counts(
    counts: DataFrame, columns: Sequence[str], *, partitions: int | None = None, levels: Sequence[float] = ()
) -> dict[str, KsProfile]:
    """Steps 2-4 of :func:`ks_statistics` from step 1's counts: one row per column index ``c`` and value ``v``
    (missing as +inf) with its reference and current rows ``r``, ``u`` and the missing ones among them ``mr``,
    ``mu`` (also what :meth:`pipeline.spark.statistics.SplitCounts.ks_counts` gives)."""
    if partitions is None:
        partitions = int(counts.sparkSession.conf.get("spark.sql.shuffle.partitions") or 200)
    counted = counts.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        local = small_counts(counted)
        if local is not None:  # few distinct values: both passes on the driver, over the collected counts
            sums = local.groupby("c")[["r", "u", "mr", "mu"]].sum()
            totals = {c: (0, 0, 0, 0) for c in range(len(columns))}
            for c, (r, u, mr, mu) in zip(sums.index, sums.to_numpy(dtype=np.int64).tolist(), strict=True):
                totals[int(c)] = (r, u, mr, mu)
            maxima = _segment_maxima(first_offsets(local), _sizes(totals), iter([local]))
            found = _ks_profiles(columns, totals, maxima)
            if levels:
                from mlgate.pipeline.spark.quantiles import counted_quantiles

                for c, part in local.groupby("c"):
                    v = part["v"].to_numpy()
                    ref, cur = (counted_quantiles(v, (part[k] - part[f"m{k}"]).to_numpy(), levels) for k in "ru")
                    found[columns[int(c)]] = replace(found[columns[int(c)]], quantiles=(ref, cur))
            return found
        return _ks_ranged(counted, columns, partitions)
    finally:
        counted.unpersist()


def small_counts(counts: DataFrame, limit: int | None = None) -> pd.DataFrame | None:
    """``counts`` (one row per key ``c`` and value ``v``) collected and sorted by ``(c, v)`` when it has at most
    ``limit`` rows (default :data:`LOCAL_ROWS`), else None. Few distinct values (a category score, a rounded
    amount, an age) are the common case: then the exact two-pass statistics run on the driver over at most that
    many rows instead of range-partitioning, sorting and caching them in Spark. With the KS quantiles taken from
    the same counts, the 10M-row drift gate went from 28.4 to 16.0 s (benchmarks/bench_spark_scale.py)."""
    limit = LOCAL_ROWS if limit is None else limit
    rows: pd.DataFrame = counts.limit(limit + 1).toPandas()
    if len(rows) > limit:
        return None
    return rows.sort_values(["c", "v"], kind="stable").reset_index(drop=True)


def first_offsets(local: pd.DataFrame) -> dict[tuple[int, float], tuple[int, int]]:
    """The offsets of :func:`_offsets` for counts held whole: each key's first value, nothing before it."""
    firsts = local.drop_duplicates("c")
    return {(int(c), float(v)): (0, 0) for c, v in zip(firsts["c"], firsts["v"], strict=True)}


def _sizes(totals: dict[int, tuple[int, int, int, int]]) -> dict[int, tuple[int, int]]:
    return {c: (n1, n2) for c, (n1, n2, _, _) in totals.items()}


def _ks_profiles(
    columns: Sequence[str], totals: dict[int, tuple[int, int, int, int]], maxima: Iterator[pd.DataFrame]
) -> dict[str, KsProfile]:
    empty = [columns[c] for c, (n1, n2, _, _) in totals.items() if n1 == 0 or n2 == 0]
    if empty:
        raise ValueError(f"both samples need at least one row; column '{empty[0]}' has none on one side")
    best: dict[int, float] = {}
    for part in maxima:
        for c, d in zip(part["c"], part["d"], strict=True):
            best[int(c)] = max(best.get(int(c), 0.0), float(d))
    return {name: KsProfile(best.get(c, 0.0), *totals[c]) for c, name in enumerate(columns)}


def _ks_ranged(counted: DataFrame, columns: Sequence[str], partitions: int) -> dict[str, KsProfile]:
    """Passes 1 and 2 of :func:`ks_statistics` in Spark, over range partitions of the counts."""
    ranged = counted.repartitionByRange(partitions, "c", "v").sortWithinPartitions("c", "v")
    ranged = ranged.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        segments = (  # pass 1 in the JVM: Arrow would move every cached row to Python once more
            ranged.withColumn("p", F.spark_partition_id())
            .groupBy("p", "c")
            .agg(F.min("v").alias("first"), *[F.sum(k).alias(k) for k in ("r", "u", "mr", "mu")])
            .collect()
        )
        totals = _column_totals(segments, len(columns))
        _ks_profiles(columns, totals, iter([]))  # an empty side is refused before pass 2
        offsets = _offsets([(row["c"], row["first"], row["r"], row["u"]) for row in segments])
        maxima = (
            ranged.select("c", "v", "r", "u")
            .mapInPandas(partial(_segment_maxima, offsets, _sizes(totals)), "c int, d double")
            .toPandas()
        )
    finally:
        ranged.unpersist()
    return _ks_profiles(columns, totals, iter([maxima]))


def _column_totals(segments: list[Row], n_columns: int) -> dict[int, tuple[int, int, int, int]]:
    """Per column: reference rows, current rows, missing reference rows, missing current rows."""
    totals = {c: [0, 0, 0, 0] for c in range(n_columns)}
    for row in segments:
        for i, key in enumerate(("r", "u", "mr", "mu")):
            totals[row["c"]][i] += int(row[key])
    return {c: (t[0], t[1], t[2], t[3]) for c, t in totals.items()}


def ks_statistic(reference: DataFrame, current: DataFrame, column: str, *, partitions: int | None = None) -> KsProfile:
    """The exact two-sample KS statistic D of ``column`` (see :func:`ks_statistics`)."""
    return ks_statistics(reference, current, [column], partitions=partitions)[column]
