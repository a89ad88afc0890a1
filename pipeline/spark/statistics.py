"""One pass over the split's rows for every count the data gates judge: :class:`SplitCounts`.

The schema, balance and drift layers all count values per feature: the rank AUC of the target-leak test (per
feature value and class, training rows), the identifier test (distinct values, all rows), the KS and chi-square
drift tests (per value, training vs test rows), the label's drift and the class and group shares of the balance
gate (per side). Each used to be its own ``inline`` + ``groupBy`` job over the cached rows: seven passes, about 450 s
of the 100M-row benchmark. :func:`split_counts` makes them one: every row becomes one ``(entry, value)`` pair per
entry (a feature, the target, a group column), grouped with the row's side (0: train and validation, 1: test) and
class, and counted; Spark counts each partition's pairs before the shuffle, so only distinct
``(side, class, entry, value)`` rows move. The result, one row per such value, is cached, and each test reads its
own small ``groupBy`` of it. It has as many rows as the data has distinct values per side and class, so it is
smaller than the data (much smaller when the values repeat, as counts, codes and rounded amounts do).

Values are kept as the tests compare them: a numeric entry as its double (``d``; NaN and null missing, -0.0 as 0.0,
as pandas counts them), with ``w`` whether it is not a whole number (or ±inf); a text entry as
:func:`pipeline.spark.profiles._key` of it (``t``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from mlgate.pipeline.spark.profiles import _col, _key, texts_counted
from mlgate.pipeline.spark.split import SIDE

if TYPE_CHECKING:
    from mlgate.pipeline.spark.split import SparkSplit

__all__ = ["SplitCounts", "number", "split_counts"]


def number(column: str | Column) -> Column:
    """The value as a double, NaN as missing and -0.0 as 0.0 (pandas counts NaN missing, and both zeros as one)."""
    value = (_col(column) if isinstance(column, str) else column).cast("double")
    return F.when(F.isnan(value), F.lit(None)).when(value == 0.0, F.lit(0.0)).otherwise(value)


@dataclass
class SplitCounts:
    """The counts of :func:`split_counts`: ``frame`` has one row per side ``s``, class ``y`` (null for a numeric
    target), entry ``f`` and value (``d`` a number, ``t`` a text; both null: missing) with its rows ``n`` and ``w``.
    Entries are named by ``names`` (index = ``f``); ``kinds`` holds a text entry's Spark type (None: numeric)."""

    frame: DataFrame
    names: list[str]
    kinds: list[T.DataType | None]
    _cached: bool = field(default=True, repr=False)

    def index(self, names: Sequence[str]) -> list[int]:
        return [self.names.index(name) for name in names]

    def close(self) -> None:
        if self._cached:
            self.frame.unpersist()
            self._cached = False

    def _rows(self, names: Sequence[str]) -> tuple[DataFrame, Column]:
        """The rows of the entries ``names`` and each one's position in ``names`` (``c``)."""
        ids = self.index(names)
        position_of = F.lit(None).cast("int")
        for i, f in enumerate(ids):
            position_of = F.when(F.col("f") == f, F.lit(i)).otherwise(position_of)
        return self.frame.where(F.col("f").isin(ids)), position_of

    def ks_counts(self, names: Sequence[str]) -> DataFrame:
        """``(c, v, r, u, mr, mu)`` of :func:`pipeline.spark.profiles.ks_from_counts`: training rows against test
        rows, missing values as +inf (tied with a real +inf, as ``checks.stats`` sorts them)."""
        rows, c = self._rows(names)
        reference, missing = F.col("s") == 0, F.col("d").isNull()
        n = F.col("n")
        return rows.groupBy(c.alias("c"), F.coalesce(F.col("d"), F.lit(math.inf)).alias("v")).agg(
            F.sum(F.when(reference, n).otherwise(0)).alias("r"),
            F.sum(F.when(reference, 0).otherwise(n)).alias("u"),
            F.sum(F.when(reference & missing, n).otherwise(0)).alias("mr"),
            F.sum(F.when(~reference & missing, n).otherwise(0)).alias("mu"),
        )

    def text_counts(
        self, names: Sequence[str], *, canonical: bool = False, max_distinct: int | None = 1_000_000
    ) -> tuple[dict[str, dict[str | None, int]], dict[str, dict[str | None, int]]]:
        """Per text entry, the count of each value (:func:`pipeline.spark.profiles.counts_by`'s keys) among the
        training rows and among the test rows, in one job."""
        if not names:
            return {}, {}
        rows, c = self._rows(names)
        grouped = rows.groupBy("s", c.alias("c"), "t").agg(F.sum("n").alias("n"))
        limit = None if max_distinct is None else 2 * max_distinct * len(names) + 1
        collected = (grouped if limit is None else grouped.limit(limit)).collect()
        kinds = [self.kinds[f] or T.StringType() for f in self.index(names)]
        sides = []
        for side in (0, 1):
            found = [(r["c"], r["t"], r["n"]) for r in collected if r["s"] == side]
            counted = texts_counted(found, names, kinds, canonical=canonical, max_distinct=max_distinct,
                                    complete=limit is None or len(collected) < limit)  # fmt: skip
            sides.append(dict(zip(names, counted, strict=True)))
        return sides[0], sides[1]

    def class_counts(self) -> tuple[dict[int | None, int], dict[int | None, int]]:
        """Rows per class code (None: no class) among the training rows and among the test rows."""
        grouped = self.frame.where(F.col("f") == 0).groupBy("s", "y").agg(F.sum("n").alias("n")).collect()
        sides: tuple[dict[int | None, int], dict[int | None, int]] = ({}, {})
        for row in grouped:
            sides[row["s"]][None if row["y"] is None else int(row["y"])] = int(row["n"])
        return sides

    def by_class(self, names: Sequence[str], codes: Sequence[int], side: int, prefix: str = "") -> DataFrame:
        """``(f, v, t, n<i>)`` per entry of ``names`` (``f`` its index in :attr:`names`) and value ``v`` (a number,
        or for text entries the text) of one side: its rows and its rows of each class ``codes[i]``."""
        ids = self.index(names)
        numeric = self.kinds[ids[0]] is None if ids else True
        rows = self.frame.where(F.col("f").isin(ids) & (F.col("s") == side))
        value = F.col("d") if numeric else F.col("t")
        if numeric:
            rows = rows.where(F.col("d").isNotNull())
        n = F.col("n")
        sums = [F.sum(F.when(F.col("y") == c, n).otherwise(0)).alias(f"{prefix}n{i}") for i, c in enumerate(codes)]
        return rows.groupBy(F.col("f").alias("f"), value.alias("v")).agg(F.sum(n).alias(f"{prefix}t"), *sums)

    def distinct(self, names: Sequence[str]) -> dict[str, tuple[int, int, bool]]:
        """Per entry, all rows: its non-missing values, its distinct values (exact) and whether a numeric one holds
        a value that is not a whole number (or ±inf)."""
        rows, c = self._rows(names)
        present = rows.where(F.col("d").isNotNull() | F.col("t").isNotNull())
        values = present.groupBy(c.alias("c"), "d", "t").agg(F.sum("n").alias("k"), F.max("w").alias("w"))
        per = values.groupBy("c").agg(F.count(F.lit(1)).alias("d"), F.sum("k").alias("n"), F.max("w").alias("w"))
        found = {int(r["c"]): (int(r["n"]), int(r["d"]), bool(r["w"])) for r in per.collect()}
        return {name: found.get(i, (0, 0, False)) for i, name in enumerate(names)}


def _sided(split: SparkSplit) -> DataFrame:
    """Every prepared row with its side (:data:`SIDE`): the split's own column, or its parts for a split built
    without one."""
    if split.sided is not None:
        return split.sided
    return split.train_all.withColumn(SIDE, F.lit(0)).unionByName(split.test.withColumn(SIDE, F.lit(1)))


def split_counts(
    split: SparkSplit,
    numeric: Sequence[str],
    text: Sequence[str],
    *,
    classes: Column | None,
    extra: Sequence[tuple[str, Column, T.DataType]] = (),
) -> SplitCounts:
    """Count the split's rows per side, class (``classes``: each row's class code; None: no class) and value of
    each ``numeric`` and ``text`` column and each ``extra`` text entry ``(name, expression, type)``, in one cached
    pass (the module docstring). Computed by the first job that reads it."""
    frame = _sided(split)
    schema = frame.schema
    entries: list[tuple[Column, Column, Column]] = []
    names: list[str] = []
    kinds: list[T.DataType | None] = []
    for name in numeric:
        value = number(name)
        odd = F.coalesce((value != F.rint(value)) | (F.abs(value) == F.lit(math.inf)), F.lit(False))
        entries.append((value, F.lit(None).cast("string"), odd))
        names.append(name)
        kinds.append(None)
    texts = [(name, _col(name), schema[name].dataType) for name in text]
    for name, expression, kind in [*texts, *extra]:
        entries.append((F.lit(None).cast("double"), _key(expression, kind), F.lit(False)))
        names.append(name)
        kinds.append(kind)
    if not entries:
        raise ValueError("split_counts needs at least one column")
    pairs = F.array(*[F.struct(F.lit(i).alias("f"), d.alias("d"), t.alias("t"), w.alias("w"))
                      for i, (d, t, w) in enumerate(entries)])  # fmt: skip
    y = (classes if classes is not None else F.lit(None)).cast("long")
    counted = (
        frame.select(F.col(SIDE).cast("int").alias("s"), y.alias("y"), F.inline(pairs))
        .groupBy("s", "y", "f", "d", "t")
        .agg(F.count(F.lit(1)).alias("n"), F.max("w").alias("w"))
    )
    return SplitCounts(counted.persist(StorageLevel.MEMORY_AND_DISK), names, kinds)
