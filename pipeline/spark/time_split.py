"""``split.by = "time"`` on Spark: the most recent rows as test, the most recent of the rest as validation.

The rows are ordered by (time, row key under seed 0) — the key of :mod:`pipeline.row_key`, so rows with equal times
are ordered the same way by the pandas engine with ``split.method = "row_key"`` (:func:`pipeline.row_key.time_cut`)
— and the sizes are :func:`pipeline.split.time_sizes`' (``train_test_split``'s rounding). The two edge rows are found
exactly without sorting the data: the times' approximate quantiles cut the rows into up to 1,024 buckets
(``Bucketizer``, a binary search per row), one job counts each bucket, and the (time, key) pairs of the one bucket
holding each edge (about n / 1,024 rows) are collected and sorted on the driver. A row goes to a side when its
(time, key) is at most that side's edge: equal rows stay together.

Times: a numeric column as its numbers; a date or timestamp column as microseconds since the epoch; text parsed with
Spark's ``try_to_timestamp`` (ISO 8601 forms; pandas' mixed-format parser reads more spellings, so a column pandas
reads may be refused here, naming the column, the count and the first value).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlgate.pipeline.config import SplitSettings
from mlgate.pipeline.errors import DataError
from mlgate.pipeline.split import time_sizes

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

    from mlgate.pipeline.spark.prepare import SparkPrepared
    from mlgate.pipeline.spark.split import SparkSplit

__all__ = ["time_split"]

_TIME, _TKEY, _BUCKET, _PART = "__mlgate_time", "__mlgate_tkey", "__mlgate_tbucket", "__mlgate_part"
BUCKETS = 1024


def _times(frame: DataFrame, column: str) -> Column:
    from pyspark.sql import functions as F

    kind = dict(frame.dtypes)[column]
    value = F.col(f"`{column}`")
    if kind in {"tinyint", "smallint", "int", "bigint", "float", "double"} or kind.startswith("decimal"):
        return value.cast("double")
    stamp = value.cast("timestamp") if kind in {"date", "timestamp", "timestamp_ntz"} else F.try_to_timestamp(value)
    return F.unix_micros(stamp).cast("double")


def _edges(keyed: DataFrame, ranks: list[int]) -> dict[int, tuple[float, int]]:
    """The (time, key) of the row at each 1-based rank of the (time, key) order (module docstring)."""
    from pyspark.ml.feature import Bucketizer
    from pyspark.sql import functions as F

    levels = [i / BUCKETS for i in range(1, BUCKETS)]
    inner = keyed.agg(F.percentile_approx(_TIME, levels, 10_000)).collect()[0][0] or []
    splits = [-float("inf"), *sorted(set(inner)), float("inf")]
    bucketed = Bucketizer(splits=splits, inputCol=_TIME, outputCol=_BUCKET).transform(keyed)
    counts = sorted((int(r[_BUCKET]), int(r["count"])) for r in bucketed.groupBy(_BUCKET).count().collect())
    found: dict[int, tuple[int, int]] = {}  # rank -> (bucket, rank within the bucket)
    for rank in ranks:
        below = 0
        for bucket, count in counts:
            if below + count >= rank:
                found[rank] = (bucket, rank - below)
                break
            below += count
    wanted = sorted({bucket for bucket, _ in found.values()})
    rows = bucketed.where(F.col(_BUCKET).isin(wanted)).select(_BUCKET, _TIME, _TKEY).collect()
    by_bucket: dict[int, list[tuple[float, int]]] = {}
    for row in rows:
        by_bucket.setdefault(int(row[_BUCKET]), []).append((float(row[_TIME]), int(row[_TKEY])))
    return {rank: sorted(by_bucket[bucket])[within - 1] for rank, (bucket, within) in found.items()}


def _check_times(keyed: DataFrame, column: str, where: str) -> int:
    """The row count; a DataError when a time is missing or unreadable (count and first value)."""
    from pyspark.sql import functions as F

    row = keyed.agg(F.count(F.lit(1)).alias("n"), F.sum(F.when(F.col(_TIME).isNull(), 1).otherwise(0)).alias("bad"),
                    F.first(F.when(F.col(_TIME).isNull(), F.col(f"`{column}`").cast("string")), ignorenulls=True)
                    .alias("first")).collect()[0]  # fmt: skip
    if row["bad"]:
        raise DataError(
            f"{where}split.by = \"time\": column '{column}' (data.event_time_column) has {int(row['bad'])} value(s) "
            f"that are not times (first: {row['first']!r}); every row needs a time to be placed in the time split"
        )
    return int(row["n"])


def time_split(prepared: SparkPrepared, settings: SplitSettings, column: str | None, *, random_state: int,
               source: str = "") -> SparkSplit:  # fmt: skip
    """Train / validation / test by time (module docstring)."""
    from pyspark.sql import functions as F

    from mlgate.pipeline.spark.prepare import Y
    from mlgate.pipeline.spark.session import cache
    from mlgate.pipeline.spark.split import KEY, SIDE, SparkSplit, _key

    where = f"{source}: " if source else ""
    frame = prepared.frame
    if column is None or column not in frame.columns:
        raise DataError(f'{where}split.by = "time" needs data.event_time_column, a column of the data')
    keyed = cache(frame.select("*", _times(frame, column).alias(_TIME), _key(prepared, frame, 0).alias(_TKEY)))
    n_train, _, n_rest = time_sizes(_check_times(keyed, column, where), settings, where)
    edges = _edges(keyed, [rank for rank in (n_train, n_rest) if rank >= 1])

    def upto(rank: int) -> Column:
        t, k = edges[rank]
        return (F.col(_TIME) < F.lit(t)) | ((F.col(_TIME) == F.lit(t)) & (F.col(_TKEY) <= F.lit(k)))

    part = F.when(upto(n_train), "train").when(upto(n_rest), "validation").otherwise("test")
    marked = keyed.withColumn(_PART, part)
    stats = marked.groupBy(_PART).agg(
        F.count(F.lit(1)).alias("n"),
        F.countDistinct(Y).alias("classes"),
        F.min(F.col(f"`{column}`")).alias("lo"),
        F.max(F.col(f"`{column}`")).alias("hi"),
    )
    sizes = {}
    for row in stats.collect():  # fmt: skip
        sizes[row[_PART]] = int(row["n"])
        if prepared.task != "regression" and row["classes"] < 2:
            raise DataError(
                f"{where}split.by = \"time\": the {row[_PART]} split ({row['n']} rows, '{column}' from {row['lo']} to "
                f"{row['hi']}) holds one class of '{prepared.target}' only; a model cannot be trained or judged on "
                "it: change split.test_size / split.validation_size or use more data"
            )

    def rows(*names: str) -> DataFrame:
        return marked.where(F.col(_PART).isin(*names)).drop(_PART, _TIME, _TKEY)

    validation = rows("validation") if settings.validation_size > 0 else None
    everything = keyed.drop(_TIME, _TKEY)
    sided = marked.withColumn(SIDE, (F.col(_PART) == "test").cast("int")).drop(_PART, _TIME)
    sided = sided.withColumnRenamed(_TKEY, KEY)  # seed 0: equal rows, equal keys, as the random split's
    return SparkSplit(rows("train"), rows("test"), validation, sizes, random_state, by="time", rows=everything,
                      training=rows("train", "validation"), sided=sided)  # fmt: skip
