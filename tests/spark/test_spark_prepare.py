"""Prepare on Spark counts every change exactly as the pandas engine does, on the bundled data and messy data."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlgate.pipeline.config import DataSettings, FeatureSettings
from mlgate.pipeline.errors import DataError
from mlgate.pipeline.prepare import prepare as pandas_prepare
from mlgate.pipeline.spark.ingest import load
from mlgate.pipeline.spark.prepare import Y, count_duplicate_rows, prepare

pytestmark = pytest.mark.spark

CSV = Path(__file__).resolve().parents[2] / "data" / "german_credit.csv"
FIELDS = ("rows_in", "rows_out", "duplicates_dropped", "missing_target_dropped", "sentinels_replaced",
          "coerced_to_missing", "missing_values", "duplicate_rows")  # fmt: skip


def both(spark, path: Path, data: DataSettings, features: FeatureSettings, **kw):
    ours = prepare(load(spark, data, source=str(path)).frame, data, features, source=str(path), **kw)
    theirs = pandas_prepare(pd.read_csv(path), data, features, source=str(path), **kw)
    return ours, theirs


def same_report(ours, theirs) -> None:
    for name in FIELDS:
        assert getattr(ours.report, name) == getattr(theirs.report, name), name
    assert (ours.features, ours.numeric, ours.categorical) == (theirs.features, theirs.numeric, theirs.categorical)
    assert (ours.task, ours.task_decided_by, ours.classes) == (theirs.task, theirs.task_decided_by, theirs.classes)


def test_the_bundled_data_prepares_like_pandas(spark):
    data = DataSettings(source=str(CSV), target="risk", positive_label=1, missing_values=["not_known"])
    ours, theirs = both(spark, CSV, data, FeatureSettings(categorical=["job"]))
    same_report(ours, theirs)
    assert ours.report.sentinels_replaced  # the bundled data has 'not_known' cells
    y = ours.frame.select(Y).toPandas()[Y]
    assert sorted(y.tolist()) == sorted(theirs.y.tolist())
    assert dict(ours.frame.dtypes)["job"] == "string" and dict(ours.frame.dtypes)["age"] == "double"


def test_messy_data_prepares_like_pandas(spark, tmp_path):
    rng = np.random.default_rng(7)
    n = 400
    frame = pd.DataFrame({
        "label": rng.choice(["a", "b", "c", None], n, p=[0.4, 0.3, 0.25, 0.05]),
        "amount": [str(v) if i % 17 else "n/a" for i, v in enumerate(rng.integers(0, 900, n))],
        "kind": rng.choice([" x", "y ", "?", "z"], n),
        "score": rng.normal(size=n).round(1),
        "flag": rng.choice([True, False], n),
    })  # fmt: skip
    frame.loc[5, "amount"] = "twelve"
    frame = pd.concat([frame, frame.iloc[:30]])  # 30 duplicate rows
    path = tmp_path / "messy.csv"
    frame.to_csv(path, index=False)
    data = DataSettings(source=str(path), target="label", missing_values=["?", "n/a"])
    features = FeatureSettings(numeric=["amount"])
    ours, theirs = both(spark, path, data, features)
    same_report(ours, theirs)
    assert ours.task == "multiclass" and ours.report.duplicate_rows == theirs.report.duplicate_rows > 0
    assert ours.report.coerced_to_missing == {"amount": 2}  # "twelve", in a row that is also duplicated
    later = prepare(load(spark, data, source=str(path)).frame, data, features, source=str(path),
                    count_duplicates=False)  # fmt: skip
    assert later.report.duplicate_rows == 0  # left for the split's cache (load_spark_data)
    counted = count_duplicate_rows(replace(later, frame=later.frame.cache()), drop_duplicates=False)
    assert counted.report == ours.report
    from pyspark.sql import functions as F

    for key in (F.xxhash64(*[F.col(c) for c in later.features]), F.lit(0)):  # a row key; one shared by every row
        keyed = later.frame.withColumn("k", key)
        assert count_duplicate_rows(later, False, keyed=keyed, key="k").report == ours.report
    dropping = data.model_copy(update={"drop_duplicates": True})
    ours, theirs = both(spark, path, dropping, features)
    same_report(ours, theirs)
    assert ours.report.duplicates_dropped == theirs.report.duplicates_dropped > 0


def test_an_infinite_number_and_a_missing_target_are_refused(spark, tmp_path):
    path = tmp_path / "inf.csv"
    path.write_text("y,x\n1,2.0\n0,Infinity\n1,3\n0,1\n")  # Spark reads Inf and Infinity, not inf
    data = DataSettings(source=str(path), target="y", positive_label=1)
    frame = load(spark, data, source=str(path)).frame
    with pytest.raises(DataError, match=r"numeric column 'x' holds 1 infinite value\(s\)"):
        prepare(frame, data, FeatureSettings(), source=str(path))
    with pytest.raises(DataError, match=r"column 'nope' \(features.include\) not found"):
        prepare(frame, data, FeatureSettings(include=["nope"]), source=str(path))


@pytest.mark.parametrize("fallback", [False, True])
def test_distinct_rows_is_exact_whoever_shares_a_hash(spark, monkeypatch, fallback):
    """Triples, pairs and singles; ``(a, null)`` against ``(null, a)`` and null against NaN; equal to
    ``distinct().count()``; the same past the limit of repeated hashes (``distinct()`` itself)."""
    from mlgate.pipeline.spark import prepare as spark_prepare

    if fallback:
        monkeypatch.setattr(spark_prepare, "REPEATED_HASHES", 0)
    rows = [("a", None, 1.0), (None, "a", 1.0), ("a", None, 1.0), ("b", "c", float("nan")), ("b", "c", None)]
    rows += [("b", "c", float("nan")), ("b", "c", float("nan"))] + [(f"s{i}", "t", float(i)) for i in range(40)]
    frame = spark.createDataFrame(rows, "p string, q string, x double").repartition(3)
    expected = frame.distinct().count()
    assert expected == 4 + 40  # (a,null,1) (null,a,1) (b,c,NaN) (b,c,null) and the singles
    assert spark_prepare.distinct_rows(frame, len(rows)) == expected
    assert spark.conf.get("spark.sql.execution.bypassPartialAggregation") == "false"  # set for its job only


def test_repeated_hashes_are_counted_without_a_partial_aggregation(spark):
    """The cached query is planned with the bypass on (a conf set after ``persist()`` would not reach it)."""
    from pyspark.sql import functions as F

    from mlgate.pipeline.spark import prepare as spark_prepare

    hashed = spark.range(0, 1000, 1, 4).select(F.xxhash64(F.col("id") % 700).alias(spark_prepare._HASH))
    repeated = spark_prepare.repeated_hashes(hashed)
    try:
        assert repeated.count() == 300
        plan = repeated._jdf.queryExecution().executedPlan().toString()
        assert "HashAggregate" in plan and "partial_count" not in plan
    finally:
        repeated.unpersist()
