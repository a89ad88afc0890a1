"""Ingest on Spark: CSV and Parquet (files and partitioned folders), the fingerprint, and bad sources."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mlgate.pipeline.config import DataSettings
from mlgate.pipeline.errors import DataError
from mlgate.pipeline.spark.ingest import fingerprint, load

pytestmark = pytest.mark.spark

ROOT = Path(__file__).resolve().parents[2]
CSV = ROOT / "data" / "german_credit.csv"


def settings(**extra) -> DataSettings:
    return DataSettings(source=str(extra.pop("source", CSV)), target="risk", positive_label=1, **extra)


def test_the_bundled_csv_reads_with_every_row_and_typed_columns(spark):
    dataset = load(spark, settings(), source=str(CSV))
    assert dataset.n_rows == 1000 == len(pd.read_csv(CSV))
    types = dict(dataset.frame.dtypes)
    assert types["credit_amount"] == "int" and types["sex"] == "string"
    assert dataset.meta == {"format": "csv", "rows": 1000, "columns": 10, "engine": "spark"}


def test_the_fingerprint_ignores_order_and_partitioning_and_sees_every_change(spark):
    frame = load(spark, settings(), source=str(CSV)).frame
    digest, n = fingerprint(frame)
    assert n == 1000
    assert fingerprint(frame.repartition(7))[0] == digest
    assert fingerprint(frame.orderBy("age", "credit_amount", ascending=False).coalesce(1))[0] == digest
    assert fingerprint(frame.select(*reversed(frame.columns)))[0] == digest
    from pyspark.sql import functions as F

    changed = frame.withColumn("age", F.when(F.col("credit_amount") == 1169, F.lit(68)).otherwise(F.col("age")))
    assert fingerprint(changed)[0] != digest  # one applicant one year older
    assert fingerprint(frame.limit(999))[0] != digest
    assert fingerprint(frame.withColumnRenamed("age", "Age"))[0] != digest
    swapped = spark.createDataFrame([(None, 1), (1, None)], "a int, b int")
    other = spark.createDataFrame([(1, None), (None, 1)], "a int, b int")
    twice = spark.createDataFrame([(None, 1), (None, 1)], "a int, b int")
    assert fingerprint(swapped)[0] == fingerprint(other)[0] != fingerprint(twice)[0]


def test_a_partitioned_parquet_folder_reads_whole(spark, tmp_path):
    frame = pd.read_csv(CSV)
    for sex, part in frame.groupby("sex"):
        folder = tmp_path / "data" / f"sex={sex}"
        folder.mkdir(parents=True)
        part.drop(columns="sex").iloc[:200].to_parquet(folder / "a.parquet", index=False)
        part.drop(columns="sex").iloc[200:].to_parquet(folder / "b.parquet", index=False)
    config = settings(source=tmp_path / "data", format="parquet")
    dataset = load(spark, config, source=str(tmp_path / "data"))
    assert dataset.n_rows == 1000 and "sex" in dataset.frame.columns


def test_a_parquet_folder_with_two_schemas_is_refused_naming_the_column(spark, tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    frame = pd.read_csv(CSV)
    frame.iloc[:500].to_parquet(folder / "part-0.parquet", index=False)
    frame.iloc[500:].astype({"age": "float64"}).to_parquet(folder / "part-1.parquet", index=False)
    with pytest.raises(DataError, match=r"column 'age' is int64 in part-0.parquet but double in part-1.parquet"):
        load(spark, settings(source=folder, format="parquet"), source=str(folder))


def test_a_malformed_csv_line_is_an_error_not_a_row_of_nulls(spark, tmp_path):
    text = CSV.read_text().splitlines()
    text[5] += ",surplus"
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(text) + "\n")
    expected = r"bad.csv: Spark could not read the csv data: \[MALFORMED_CSV_RECORD\] Malformed CSV record: "
    with pytest.raises(DataError, match=expected + "0,male,2,free,little,little,4870,24,car,53,surplus$"):
        load(spark, settings(source=path), source=str(path))


def test_missing_target_and_empty_and_absent_files(spark, tmp_path):
    with pytest.raises(DataError, match="target column 'risk' not found; columns are a, b"):
        path = tmp_path / "x.csv"
        path.write_text("a,b\n1,2\n")
        load(spark, settings(source=path), source=str(path))
    empty = tmp_path / "empty.csv"
    empty.write_text("risk,a\n")
    with pytest.raises(DataError, match="empty.csv: no data rows"):
        load(spark, settings(source=empty), source=str(empty))
    with pytest.raises(DataError, match="data file not found"):
        load(spark, settings(source=tmp_path / "nope.csv"), source=str(tmp_path / "nope.csv"))
