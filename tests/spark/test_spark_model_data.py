"""The model side of a Spark run: a seeded, stratified sample of the training split (``spark.train_sample_rows``),
the same rows whatever the partitioning, all test rows, in the pandas engine's dtypes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from mlgate.pipeline.config import load_config
from mlgate.pipeline.spark.model_data import allocate, collect_for_model, sample_record

pytestmark = pytest.mark.spark

ROOT = Path(__file__).resolve().parents[2]


def test_allocate_is_proportional_with_largest_remainders():
    assert allocate({0: 157, 1: 367}, 200) == {0: 60, 1: 140}
    assert allocate({0: 1, 1: 2, 2: 3}, 3) == {0: 1, 1: 1, 2: 1}  # remainders 0.5, 0, 0.5: ties by stratum
    assert allocate({0: 5, 1: 5}, 100) == {0: 5, 1: 5}


@pytest.fixture(scope="module")
def config():
    base = load_config(ROOT / "mlgate.toml")
    spark = base.spark.model_copy(update={"train_sample_rows": 200})
    return base.model_copy(update={"data": base.data.model_copy(update={"engine": "spark"}), "spark": spark})


@pytest.fixture(scope="module")
def bundle(spark, config):
    from mlgate.pipeline.spark.dataload import load_spark_data

    return load_spark_data(spark, config)


def test_sample_sizes_strata_and_dtypes(bundle, config):
    data = collect_for_model(bundle, config)
    parts = data.split
    assert len(parts.train) == 200 and len(parts.validation) == 176 and len(parts.test) == 300
    counts = {int(r["__mlgate_y"]): int(r["count"]) for r in bundle.split.train.groupBy("__mlgate_y").count().collect()}
    assert parts.y_train.value_counts().to_dict() == allocate(counts, 200)
    assert str(parts.train["housing"].dtype) == "str" and parts.train["job"].dtype == object
    assert parts.y_test.dtype == "int64" and parts.train.index.is_unique
    assert not set(parts.train.index) & set(parts.test.index)
    assert sample_record(bundle, data, 200)["train"] == {"used": 200, "of": 524}


def test_sample_is_the_same_rows_whatever_the_partitioning(bundle, config):
    first = collect_for_model(bundle, config).split.train
    moved = replace(bundle, split=replace(bundle.split, train=bundle.split.train.repartition(7)))
    second = collect_for_model(moved, config).split.train

    def rows(frame):
        return sorted(tuple(map(repr, row)) for row in frame[sorted(frame.columns)].itertuples(index=False))

    assert rows(first) == rows(second)


def test_the_candidate_trains_on_the_sample(bundle, config):
    from mlgate.pipeline.candidate import train_candidate

    data = collect_for_model(bundle, config)
    candidate = train_candidate(config, data, random_state=config.model.random_state)
    assert len(candidate.proba_test) == 300 and 0.5 < candidate.evaluation.overall["roc_auc"] <= 1.0
