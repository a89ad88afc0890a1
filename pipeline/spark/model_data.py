"""The model side of a Spark run: the rows the candidate is fitted and judged on, brought to this process.

The model layers fit scikit-learn models, so the model side needs its rows on the driver. Training does not need
them all: :func:`collect_for_model` fits on a seeded, stratified sample of the training split of at most
``spark.train_sample_rows`` rows (the whole split when it is smaller), and chooses the threshold and measures
permutation importance on a sample of the validation split of the same bound. The test split comes whole: every
quality metric, slice, baseline and champion comparison is computed on all test rows, so the driver must hold the
test split's feature columns (about 8 bytes per numeric and ~60 per text cell). The samples are the training rows
with the smallest row keys under a second seed (:mod:`pipeline.row_key`, seed ``split.random_state + 1``), per
stratum in proportion (largest remainders): the same rows whatever the partitioning, and so the same rows in the
reproducibility gate's fresh-process retrain, which loads them again with :func:`load_model_data`.

What comes back is the pandas engine's :class:`~pipeline.records.DataBundle` (features, encoded target, the
prepare report of ALL rows), so the model stage, registry, reports and release run unchanged, plus
:func:`sample_record`, the report's ``run.data.engine.model_rows``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlgate.pipeline.config import ProjectConfig
from mlgate.pipeline.ingest import Dataset
from mlgate.pipeline.prepare import Prepared

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from mlgate.pipeline.records import DataBundle
    from mlgate.pipeline.spark.dataload import SparkBundle
    from mlgate.pipeline.spark.prepare import SparkPrepared

__all__ = ["allocate", "collect_for_model", "load_model_data", "sample_record"]


def allocate(counts: dict[int, int], total: int) -> dict[int, int]:
    """Rows to take per stratum for a sample of ``total`` rows in proportion to ``counts`` (largest remainders;
    ties by stratum), never more than a stratum holds; every stratum when ``total`` covers them all."""
    n = sum(counts.values())
    if total >= n:
        return dict(counts)
    shares = {s: total * c / n for s, c in counts.items()}
    taken = {s: min(counts[s], math.floor(v)) for s, v in shares.items()}
    order = sorted(counts, key=lambda s: (-(shares[s] - math.floor(shares[s])), s))
    for stratum in order[: total - sum(taken.values())]:
        taken[stratum] = min(counts[stratum], taken[stratum] + 1)
    return taken


def _sample(frame: DataFrame, prepared: SparkPrepared, limit: int, seed: int, stratify: bool) -> DataFrame:
    """At most ``limit`` rows of ``frame``: per stratum the smallest keys under ``seed`` (module docstring)."""
    from pyspark.sql import functions as F

    from mlgate.pipeline.spark.prepare import Y
    from mlgate.pipeline.spark.split import BUCKET, KEY, STRATUM, _cutoffs, _key

    stratum = F.col(Y).cast("long") if stratify and prepared.task != "regression" else F.lit(0).cast("long")
    keyed = frame.select("*", _key(prepared, frame, seed).alias(KEY), stratum.alias(STRATUM))
    counts = {int(r[STRATUM]): int(r["count"]) for r in keyed.groupBy(STRATUM).count().collect()}
    wanted = allocate(counts, limit)
    if wanted == counts:
        return frame
    keyed = keyed.withColumn(BUCKET, F.shiftright(F.col(KEY), 48))
    cut = _cutoffs(keyed, {s: [n] for s, n in wanted.items()})
    edge = F.lit(None).cast("long")
    for s, (key,) in cut.items():
        edge = F.when(F.col(STRATUM) == s, F.lit(key)).otherwise(edge)
    return keyed.where(F.col(KEY) <= edge).drop(KEY, STRATUM, BUCKET)


def _to_pandas(frame: DataFrame, prepared: SparkPrepared, text: set[str]) -> tuple[pd.DataFrame, pd.Series]:
    """The rows with the pandas engine's dtypes: a categorical feature read as text is pandas' ``str`` (missing
    NaN), one made from numbers text objects (missing None), as :mod:`pipeline.prepare` gives them; ``y`` encoded."""
    from mlgate.pipeline.spark.prepare import Y

    rows: pd.DataFrame = frame.toPandas()
    y = rows.pop(Y)
    y = y.astype(np.float64) if prepared.task == "regression" else y.astype(np.int64)
    for name in prepared.categorical:
        values = rows[name].astype(object).where(rows[name].notna(), None)
        rows[name] = values.astype("str") if name in text else values
    return rows, y.rename(prepared.target)


def collect_for_model(bundle: SparkBundle, config: ProjectConfig) -> DataBundle:
    """The pandas engine's DataBundle of the model side: sampled training and validation rows, all test rows."""
    from mlgate.pipeline.records import DataBundle
    from mlgate.pipeline.split import Split

    prepared, parts = bundle.prepared, bundle.split
    limit, seed, stratify = config.spark.train_sample_rows, config.split.random_state + 1, config.split.stratify
    text = {name for name, kind in bundle.dataset.frame.dtypes if kind == "string"}
    train, y_train = _to_pandas(_sample(parts.train, prepared, limit, seed, stratify), prepared, text)
    validation = y_validation = None
    if parts.validation is not None:
        sampled = _sample(parts.validation, prepared, limit, seed, stratify)
        validation, y_validation = _to_pandas(sampled, prepared, text)
    test, y_test = _to_pandas(parts.test, prepared, text)
    pieces = [train, *([validation] if validation is not None else []), test]
    offsets = np.cumsum([0, *[len(p) for p in pieces]])
    for piece, start in zip(pieces, offsets[:-1], strict=True):  # one index over the three, as in one frame
        piece.index = pd.RangeIndex(int(start), int(start) + len(piece))
    for series, piece in ((y_train, train), (y_validation, validation), (y_test, test)):
        if series is not None and piece is not None:
            series.index = piece.index
    frame = pd.concat(pieces)
    y = pd.concat([s for s in (y_train, y_validation, y_test) if s is not None])
    ready = Prepared(frame, prepared.target, list(prepared.features), list(prepared.numeric),
                     list(prepared.categorical), y, prepared.report, task=prepared.task,
                     task_decided_by=prepared.task_decided_by, classes=prepared.classes)  # fmt: skip
    split = Split(train, test, validation, y_train, y_test, y_validation, parts.random_state, by=parts.by)
    dataset = Dataset(frame, bundle.dataset.source, bundle.dataset.fingerprint, dict(bundle.dataset.meta))
    return DataBundle(dataset, ready, split)


def sample_record(bundle: SparkBundle, data: DataBundle, limit: int) -> dict[str, Any]:
    """``run.data.engine.model_rows``: the rows the model side used against the split's sizes."""
    sizes, parts = bundle.split.sizes, data.split
    return {
        "train_sample_rows": limit,
        "train": {"used": len(parts.train), "of": int(sizes.get("train", 0))},
        "validation": {
            "used": 0 if parts.validation is None else len(parts.validation),
            "of": int(sizes.get("validation", 0)),
        },
        "test": {"used": len(parts.test), "of": int(sizes.get("test", 0))},
    }


def load_model_data(config: ProjectConfig) -> DataBundle:
    """Read, prepare, split and collect on a Spark session of this process (``local[*]``): the reproducibility
    gate's fresh-process retrain. The row keys make the rows those of the gated run on any master."""
    from mlgate.pipeline.spark.dataload import load_spark_data
    from mlgate.pipeline.spark.jdbc import session_conf
    from mlgate.pipeline.spark.session import session

    settings = config.spark.model_copy(update={"master": "local[*]"})
    with session(settings, extra_conf=session_conf(config.data, config.data_source)) as spark:
        return collect_for_model(load_spark_data(spark, config), config)
