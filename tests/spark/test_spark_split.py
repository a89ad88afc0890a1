"""The Spark split: exact sizes per stratum, the same rows whatever the partitioning, duplicates kept together."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from mlgate.pipeline.config import DataSettings, FeatureSettings, SplitSettings
from mlgate.pipeline.errors import DataError
from mlgate.pipeline.spark.ingest import fingerprint, load
from mlgate.pipeline.spark.prepare import Y, prepare
from mlgate.pipeline.spark.split import split

pytestmark = pytest.mark.spark

CSV = Path(__file__).resolve().parents[2] / "data" / "german_credit.csv"
DATA = DataSettings(source=str(CSV), target="risk", positive_label=1, missing_values=["not_known"])


@pytest.fixture(scope="module")
def prepared(spark):
    return prepare(load(spark, DATA, source=str(CSV)).frame, DATA, FeatureSettings(categorical=["job"]), source="x")


def class_counts(frame) -> dict[int, int]:
    return {int(r[Y]): int(r["count"]) for r in frame.groupBy(Y).count().collect()}


def test_sizes_per_class_follow_the_pandas_engines_rounding(prepared):
    parts = split(prepared, SplitSettings(test_size=0.25, validation_size=0.2), random_state=42)
    total = class_counts(prepared.frame)  # 700 good, 300 bad
    test, validation, train = class_counts(parts.test), class_counts(parts.validation), class_counts(parts.train)
    for label, n in total.items():
        n_test = math.ceil(0.25 * n)
        assert test[label] == n_test
        assert validation[label] == math.ceil(0.2 * (n - n_test))
        assert train[label] == n - n_test - validation[label]
    assert parts.sizes == {"test": 250, "validation": 150, "train": 600}


def test_the_same_rows_whatever_the_partitioning(prepared):
    settings = SplitSettings(test_size=0.25, validation_size=0.0)
    one = split(prepared, settings, random_state=7)
    from dataclasses import replace

    spread = split(replace(prepared, frame=prepared.frame.repartition(5)), settings, random_state=7)
    assert fingerprint(one.test)[0] == fingerprint(spread.test)[0]
    assert fingerprint(one.train)[0] == fingerprint(spread.train)[0]
    other_seed = split(prepared, settings, random_state=8)
    assert fingerprint(other_seed.test)[0] != fingerprint(one.test)[0]


def test_duplicate_rows_land_in_the_same_split(spark, prepared):
    from dataclasses import replace

    doubled = replace(prepared, frame=prepared.frame.unionByName(prepared.frame.limit(200)))
    parts = split(doubled, SplitSettings(test_size=0.3, validation_size=0.0), random_state=42)
    train_rows = {tuple(r) for r in parts.train.collect()}
    assert not any(tuple(r) in train_rows for r in parts.test.collect())


def test_a_class_of_two_rows_cannot_be_stratified(spark, tmp_path):
    path = tmp_path / "rare.csv"
    path.write_text("y,x\n" + "".join(f"{c},{i}\n" for i, c in enumerate(["a"] * 20 + ["b"] * 20 + ["c"] * 2)))
    data = DataSettings(source=str(path), target="y")
    ready = prepare(load(spark, data, source=str(path)).frame, data, FeatureSettings(), source=str(path))
    with pytest.raises(DataError, match=r"only 2 rows of class 'c'; need at least 3 per class"):
        split(ready, SplitSettings(), random_state=1, source=str(path))
