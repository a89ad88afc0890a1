"""Load the configured data on Spark: ingest -> prepare -> split, the Spark engine's :mod:`pipeline.dataload`.

The rows stay in Spark (:class:`SparkBundle` holds lazy frames and the counts each stage took); nothing is collected
to the driver here but the counts, the distinct labels and the split's cut-offs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from mlgate.pipeline.config import ProjectConfig
from mlgate.pipeline.dataload import check_task
from mlgate.pipeline.prepare import group_columns

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from mlgate.pipeline.spark.ingest import SparkDataset
    from mlgate.pipeline.spark.prepare import SparkPrepared
    from mlgate.pipeline.spark.split import SparkSplit

__all__ = ["SparkBundle", "load_spark_data"]


@dataclass(frozen=True)
class SparkBundle:
    """The configured data on Spark: as read, as prepared and as split."""

    dataset: SparkDataset
    prepared: SparkPrepared
    split: SparkSplit


def load_spark_data(spark: SparkSession, config: ProjectConfig) -> SparkBundle:
    """Ingest, prepare and split the configured data on ``spark`` with ``split.random_state``."""
    from mlgate.pipeline.spark.ingest import load
    from mlgate.pipeline.spark.prepare import count_duplicate_rows, prepare
    from mlgate.pipeline.spark.split import KEY, split

    dataset = load(spark, config.data, source=config.data_source)
    prepared = prepare(
        dataset.frame,
        config.data,
        config.features,
        source=dataset.source,
        groups=group_columns(config),
        task=config.model.task,
        count_duplicates=False,
    )
    check_task(config, prepared)
    parts = split(prepared, config.split, random_state=config.split.random_state, source=dataset.source,
                  time_column=config.data.event_time_column)  # fmt: skip
    if parts.rows is not None:  # the gates read the prepared rows from the split's cache, not from the source
        prepared = replace(prepared, frame=parts.rows)
    prepared = count_duplicate_rows(prepared, config.data.drop_duplicates, keyed=parts.sided, key=KEY)
    return SparkBundle(dataset, prepared, parts)
