"""Split on Spark: seeded, stratified, and the same rows whatever the number of partitions or executors.

The row-key split of :mod:`pipeline.row_key`: each row's key is ``xxhash64`` over the seed and a canonical form of
its values (:func:`_key`, the Spark spelling of :func:`pipeline.row_key.row_keys`): a function of the row alone, so
no shuffle, partitioning or executor count can move it, and the pandas engine with ``split.method = "row_key"``
computes the same keys and so the same split. Within each stratum (the class; for a regression target the band of
its approximate quantiles) the ``ceil(test_size * n)`` rows with the smallest keys are the test split and, of the
rest, the ``ceil(validation_size * rest)`` next smallest the validation split. The cut-off keys are found exactly in
two passes, never sorting the data: a count of the rows in each of 65,536 key ranges per stratum, then the keys of
the one range per stratum that holds the cut-off (about ``n / 65,536`` values) collected and sorted on the driver.

Equal rows have equal keys, so duplicates always land in the same split (a copy of a test row is never trained
on). A regression target's bands come from ``percentile_approx`` here and from exact ranks on pandas, so rows at a
band edge may be stratified differently. ``split.by = "time"``: :mod:`pipeline.spark.time_split`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mlgate.pipeline.config import SplitSettings
from mlgate.pipeline.errors import DataError
from mlgate.pipeline.row_key import MISSING_TEXT_KEY, key_parts
from mlgate.pipeline.spark.prepare import SparkPrepared, Y
from mlgate.pipeline.spark.session import cache

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

__all__ = ["KEY", "SIDE", "STRATUM", "SparkSplit", "split"]

KEY, STRATUM, BUCKET = "__mlgate_key", "__mlgate_stratum", "__mlgate_bucket"
#: The column of :attr:`SparkSplit.sided` holding each row's side: 0 train or validation, 1 test.
SIDE = "__mlgate_side"
REGRESSION_STRATA = 10


@dataclass(frozen=True)
class SparkSplit:
    """The partitions as Spark frames (the prepared columns and :data:`pipeline.spark.prepare.Y`), with sizes."""

    train: DataFrame
    test: DataFrame
    validation: DataFrame | None
    sizes: dict[str, int]
    random_state: int
    by: str = "random"
    rows: DataFrame | None = None  # every prepared row, from the split's cache: what the gates read (see split())
    training: DataFrame | None = None  # train and validation in one filter of that cache (one scan, not a union)
    #: every row of that cache with its side (SIDE) and its row key (KEY: equal rows, equal keys): what the one
    #: counting pass, the duplicate count and the feature policy's sample read
    sided: DataFrame | None = None

    @property
    def train_all(self) -> DataFrame:
        """Training rows the data gates judge: train and validation together (the pandas engine's train_frame)."""
        if self.training is not None:
            return self.training
        return self.train if self.validation is None else self.train.unionByName(self.validation)


def _text_key(name: str) -> Column:
    """:func:`pipeline.row_key.text_keys` as a Spark expression (the regular expression only where it can match:
    it is most of the key's cost on text columns)."""
    from pyspark.sql import functions as F

    text = F.col(f"`{name}`").cast("string")
    text = (
        F.when(text.contains(".0"), F.regexp_replace(text, r"^(-?[0-9]+)\.0+$", "$1"))
        .when(text.isin("True", "False", "TRUE", "FALSE"), F.lower(text))
        .otherwise(text)
    )
    return F.when(text.isNull(), F.lit(MISSING_TEXT_KEY).cast("long")).otherwise(F.xxhash64(text))


def _key(prepared: SparkPrepared, frame: DataFrame, seed: int) -> Column:
    """:func:`pipeline.row_key.row_keys` as a Spark expression: the same key for the same row on both engines."""
    from pyspark.sql import functions as F

    parts = []
    for name, kind in key_parts(prepared.numeric, prepared.categorical):
        parts.append(F.coalesce(F.col(f"`{name}`").cast("double"), F.lit(float("nan"))) if kind == "numeric"
                     else _text_key(name))  # fmt: skip
    y = F.coalesce(F.col(Y).cast("double"), F.lit(float("nan")))
    return F.xxhash64(F.lit(seed).cast("long"), *parts, y)


def _strata(prepared: SparkPrepared, frame: DataFrame, stratify: bool) -> Column:
    from pyspark.sql import functions as F

    if not stratify:
        return F.lit(0)
    if prepared.task != "regression":
        return F.col(Y).cast("long")
    n = frame.count()
    bands = max(1, min(REGRESSION_STRATA, n // 6))
    edges = frame.agg(F.percentile_approx(Y, [i / bands for i in range(1, bands)], 10_000)).collect()[0][0] or []
    band = F.lit(0)
    for edge in sorted(set(edges)):
        band = band + F.when(F.col(Y) > F.lit(edge), 1).otherwise(0)
    return band


def _cutoffs(keyed: DataFrame, wanted: dict[int, list[int]]) -> dict[int, list[int | None]]:
    """For each stratum and each rank r in ``wanted[stratum]`` (1-based, ascending), the key of the r-th smallest
    key of the stratum (None for r = 0): two passes, see the module docstring."""
    from pyspark.sql import functions as F

    histogram = keyed.groupBy(STRATUM, BUCKET).count().collect()
    by_stratum: dict[int, dict[int, int]] = {}
    for row in histogram:
        by_stratum.setdefault(int(row[STRATUM]), {})[int(row[BUCKET])] = int(row["count"])
    targets: list[tuple[int, int, int, int]] = []  # (stratum, rank, bucket, rank within the bucket)
    for stratum, ranks in wanted.items():
        buckets, below = sorted(by_stratum[stratum].items()), 0
        for rank in ranks:
            if rank == 0:
                continue
            below = 0
            for bucket, count in buckets:
                if below + count >= rank:
                    targets.append((stratum, rank, bucket, rank - below))
                    break
                below += count
    pairs = sorted({(s, b) for s, _, b, _ in targets})
    inside = F.lit(False)
    for stratum, bucket in pairs:
        inside = inside | ((F.col(STRATUM) == stratum) & (F.col(BUCKET) == bucket))
    values: dict[tuple[int, int], list[int]] = {}
    for row in keyed.where(inside).select(STRATUM, BUCKET, KEY).collect():
        values.setdefault((int(row[STRATUM]), int(row[BUCKET])), []).append(int(row[KEY]))
    found = {(s, r): sorted(values[(s, b)])[k - 1] for s, r, b, k in targets}
    return {s: [found.get((s, r)) for r in ranks] for s, ranks in wanted.items()}


def _count_strata(keyed: DataFrame) -> dict[int, int]:
    return {int(r[STRATUM]): int(r["count"]) for r in keyed.groupBy(STRATUM).count().collect()}


def _check_counts(prepared: SparkPrepared, counts: dict[int, int], stratify: bool, where: str) -> None:
    smallest = min(counts.values())
    if stratify and smallest < 3:
        if prepared.task == "multiclass":
            rare = prepared.classes[min(counts, key=lambda s: counts[s])]
            raise DataError(
                f"{where}target '{prepared.target}' has only {smallest} rows of class {rare!r}; need at least 3 per "
                "class for a stratified split (split.stratify): merge it into a related class or drop its rows, or "
                "set split.stratify = false"
            )
        raise DataError(
            f"{where}target '{prepared.target}' has only {smallest} rows of one class; need at least 3 per class "
            "for a stratified split (split.stratify)"
        )


def split(prepared: SparkPrepared, settings: SplitSettings, *, random_state: int, source: str = "",
          time_column: str | None = None) -> SparkSplit:  # fmt: skip
    """Train / test (and validation, carved out of train when ``validation_size`` > 0); see the module docstring.
    ``split.by = "time"``: :func:`pipeline.spark.time_split.time_split` on ``time_column``."""
    from pyspark.sql import functions as F

    if settings.by == "time":
        from mlgate.pipeline.spark.time_split import time_split

        return time_split(prepared, settings, time_column, random_state=random_state, source=source)
    where = f"{source}: " if source else ""
    frame = prepared.frame
    stratify = settings.stratify
    keyed = frame.select(
        "*", _key(prepared, frame, random_state).alias(KEY), _strata(prepared, frame, stratify).alias(STRATUM)
    )
    keyed = keyed.withColumn(BUCKET, F.shiftright(F.col(KEY), 48))  # arithmetic: keeps the keys' signed order
    keyed = cache(keyed)
    counts = _count_strata(keyed)
    _check_counts(prepared, counts, stratify, where)
    wanted: dict[int, list[int]] = {}
    for stratum, n in counts.items():
        n_test = math.ceil(settings.test_size * n)
        n_validation = math.ceil(settings.validation_size * (n - n_test)) if settings.validation_size > 0 else 0
        if n - n_test - n_validation < 1 or n_test < 1:
            raise DataError(
                f"{where}cannot split {n} rows of a stratum with split.test_size = {settings.test_size:g} and "
                f"split.validation_size = {settings.validation_size:g}: a partition would be empty"
            )
        wanted[stratum] = [n_test, n_test + n_validation]
    cut = _cutoffs(keyed, wanted)
    test_edge, validation_edge = F.lit(None).cast("long"), F.lit(None).cast("long")
    for stratum, (test_key, validation_key) in cut.items():
        test_edge = F.when(F.col(STRATUM) == stratum, F.lit(test_key)).otherwise(test_edge)
        validation_edge = F.when(F.col(STRATUM) == stratum, F.lit(validation_key)).otherwise(validation_edge)
    part = (
        F.when(F.col(KEY) <= test_edge, "test")
        .when(F.lit(settings.validation_size > 0) & (F.col(KEY) <= validation_edge), "validation")
        .otherwise("train")
    )
    marked = keyed.withColumn("__mlgate_part", part).drop(BUCKET)
    sizes = {r["__mlgate_part"]: int(r["count"]) for r in marked.groupBy("__mlgate_part").count().collect()}

    def rows(*names: str) -> DataFrame:
        return marked.where(F.col("__mlgate_part").isin(*names)).drop("__mlgate_part", KEY, STRATUM)

    validation = rows("validation") if settings.validation_size > 0 else None
    everything = keyed.drop(KEY, STRATUM, BUCKET)
    sided = marked.withColumn(SIDE, (F.col("__mlgate_part") == "test").cast("int")).drop("__mlgate_part", STRATUM)
    return SparkSplit(rows("train"), rows("test"), validation, sizes, random_state, rows=everything,
                      training=rows("train", "validation"), sided=sided)  # fmt: skip
