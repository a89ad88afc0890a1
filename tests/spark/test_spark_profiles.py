"""pipeline/spark/profiles.py: category counts and the exact KS D from Spark equal the pandas side's, bit for bit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pyspark")

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from mlgate.checks.categories import category_text
from mlgate.checks.stats import (
    KS_QUANTILES,
    MISSING,
    _ks_statistic,
    _labelled_counts,
    _sort_missing_last,
    sorted_quantiles,
)
from mlgate.pipeline.spark import profiles, quantiles

pytestmark = pytest.mark.spark

DATA = Path(__file__).resolve().parents[2] / "data" / "german_credit.csv"
CATEGORICAL = ["risk", "sex", "job", "housing", "saving_accounts", "checking_account", "purpose"]
NUMERIC = ["age", "credit_amount", "duration"]


def _pandas_counts(column: pd.Series, *, canonical: bool = False) -> dict[str | None, int]:
    """The pandas side's counts (checks.stats), missing keyed None as profiles keys it."""
    counts = _labelled_counts(category_text(column) if canonical else column)
    return {None if key == MISSING else key: count for key, count in counts.items()}


def _expected_d(reference: np.ndarray, current: np.ndarray) -> float:
    """D as checks.stats.ks_two_sample computes it above 10,000 rows (the same preprocessing at every size)."""
    ref_sorted, _ = _sort_missing_last(np.asarray(reference, dtype=np.float64))
    cur_sorted, _ = _sort_missing_last(np.asarray(current, dtype=np.float64))
    return _ks_statistic(ref_sorted, cur_sorted)


@pytest.fixture(scope="module")
def credit() -> pd.DataFrame:
    return pd.read_csv(DATA)


def _synthetic_categories() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 600
    doubles = np.array([0.0, -0.0, 1.0, 1.5, 1e20, 1e-5, 0.1, np.inf, 5e-324, np.nan, 2.0, -3.0])
    drawn = doubles[rng.integers(0, len(doubles), n)]
    drawn[0] = 0.0  # pandas spells the one value of 0.0 and -0.0 as the first it meets; Spark always "0.0"
    return pd.DataFrame(
        {
            "ints": rng.integers(-3, 4, n),
            "nullable_ints": pd.array(np.where(rng.random(n) < 0.2, None, rng.integers(0, 5, n)), dtype="Int64"),
            "doubles": drawn,
            "floats": np.array([0.1, 2.0, 3.25], dtype=np.float32)[rng.integers(0, 3, n)],
            "bools": rng.random(n) < 0.3,
            "nullable_bools": pd.array(np.where(rng.random(n) < 0.1, None, rng.random(n) < 0.5), dtype="boolean"),
            "strings": pd.array(
                np.array(["a", "1.0", "1", "NaN", "(x)", "é", None], dtype=object)[rng.integers(0, 7, n)], dtype="str"
            ),
        }
    )


def test_category_counts_equal_pandas_on_german_credit(spark: Any, credit: pd.DataFrame) -> None:
    frame = spark.createDataFrame(credit)
    counted = profiles.counts_by(frame, CATEGORICAL)
    for column in CATEGORICAL:
        assert counted[column] == _pandas_counts(credit[column]), column
    assert profiles.category_counts(frame, "job", canonical=True) == _pandas_counts(credit["job"], canonical=True)


def test_category_counts_equal_pandas_on_every_type(spark: Any) -> None:
    data = _synthetic_categories()
    frame = spark.createDataFrame(data).repartition(3)
    assert frame.schema["floats"].dataType.simpleString() == "float"  # the float32 path is really taken
    for canonical in (False, True):
        counted = profiles.counts_by(frame, list(data.columns), canonical=canonical)
        for column in data.columns:
            assert counted[column] == _pandas_counts(data[column], canonical=canonical), (column, canonical)
    # Spark NaN (not only null) is missing too; -0.0 counts with 0.0
    extra = frame.select(F.when(F.col("doubles").isNull(), F.lit(float("nan"))).otherwise(F.col("doubles")).alias("d"))
    assert profiles.category_counts(extra, "d") == _pandas_counts(data["doubles"])
    assert list(profiles.category_counts(frame, "ints").values()) == sorted(data["ints"].value_counts(), reverse=True)


def test_category_counts_refuse_an_id_column(spark: Any) -> None:
    frame = spark.range(50)
    with pytest.raises(ValueError, match="'id' has more than 20 distinct values"):
        profiles.category_counts(frame, "id", max_distinct=20)
    with pytest.raises(ValueError, match="column 'nope' is not in the data"):
        profiles.counts_by(frame, ["nope"])


def _synthetic_numeric() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Columns of one shape each: ties, missing values (+/-inf too), disjoint samples, identical samples."""
    rng = np.random.default_rng(11)
    n_ref, n_cur = 4000, 2000
    ties_ref, ties_cur = rng.integers(0, 6, n_ref), rng.choice(6, n_cur, p=[0.1, 0.1, 0.2, 0.2, 0.2, 0.2])
    missing_ref = np.where(rng.random(n_ref) < 0.1, np.nan, rng.normal(0.0, 1.0, n_ref).round(2))
    missing_cur = np.where(rng.random(n_cur) < 0.25, np.nan, rng.normal(0.1, 1.0, n_cur).round(2))
    missing_ref[:5], missing_cur[:3] = np.inf, -np.inf
    identical = rng.normal(size=n_cur)
    reference = pd.DataFrame(
        {
            "ties": ties_ref,
            "missing": missing_ref,
            "disjoint": rng.normal(size=n_ref),
            "identical": np.tile(identical, 2),
            "nan_flag": rng.random(n_ref) < 0.5,
        }
    )
    current = pd.DataFrame(
        {
            "ties": ties_cur,
            "missing": missing_cur,
            "disjoint": rng.normal(size=n_cur) + 100.0,
            "identical": identical,
            "nan_flag": rng.random(n_cur) < 0.5,
        }
    )
    return reference, current


def _with_real_nan(frame: DataFrame) -> DataFrame:
    """Half the missing values as Spark NaN (Arrow turned pandas' NaN into null)."""
    nan = F.when(F.col("missing").isNull() & F.col("nan_flag"), F.lit(float("nan"))).otherwise(F.col("missing"))
    return frame.withColumn("missing", nan)


#: (partitions, the counts held on the driver): the driver's pass once, Spark's range passes at 1, 3 and 8 ranges
PATHS = [(3, True), (1, False), (3, False), (8, False)]


def _path(monkeypatch: pytest.MonkeyPatch, local: bool) -> None:
    """Force Spark's range passes (no counts collected) unless ``local``."""
    if not local:
        monkeypatch.setattr(profiles, "LOCAL_ROWS", 0)


@pytest.mark.parametrize(("k", "local"), PATHS)
def test_ks_equals_pandas_on_german_credit(
    spark: Any, credit: pd.DataFrame, k: int, local: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    _path(monkeypatch, local)
    order = np.random.default_rng(2024).permutation(len(credit))
    reference, current = credit.iloc[order[:500]], credit.iloc[order[500:]]
    found = profiles.ks_statistics(
        spark.createDataFrame(reference).repartition(k),
        spark.createDataFrame(current).repartition(k),
        NUMERIC,
        partitions=k,
    )
    for column in NUMERIC:
        assert found[column].statistic == _expected_d(reference[column].to_numpy(), current[column].to_numpy()), column
        assert (found[column].n_reference, found[column].n_current) == (500, 500)


@pytest.mark.parametrize(("k", "local"), PATHS)
def test_ks_equals_pandas_on_ties_missing_disjoint_identical(
    spark: Any, k: int, local: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    _path(monkeypatch, local)
    reference, current = _synthetic_numeric()
    columns = ["ties", "missing", "disjoint", "identical"]
    ref_frame = _with_real_nan(spark.createDataFrame(reference).repartition(k))
    cur_frame = _with_real_nan(spark.createDataFrame(current).repartition(k))
    found = profiles.ks_statistics(ref_frame, cur_frame, columns, partitions=k)
    for column in columns:
        assert found[column].statistic == _expected_d(reference[column].to_numpy(), current[column].to_numpy()), column
    assert found["disjoint"].statistic == 1.0
    assert found["identical"].statistic == 0.0
    missing = found["missing"]
    assert (missing.n_reference, missing.n_current) == (4000, 2000)
    assert missing.missing_reference == int(reference["missing"].isna().sum()) > 0
    assert missing.missing_current == int(current["missing"].isna().sum()) > 0
    if k == 3:
        assert profiles.ks_statistic(ref_frame, cur_frame, "ties", partitions=k) == found["ties"]


def test_ks_quantiles_from_the_driver_counts_are_pandas_exact_ones(spark: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the counts on the driver, each side's quantiles are ``sorted_quantiles`` of its non-missing values
    (ties, missing values and NaN; no infinity: preparation refuses one in a numeric feature)."""
    reference, current = _synthetic_numeric()
    for side in (reference, current):
        side["missing"] = side["missing"].replace([np.inf, -np.inf], 7.5)
    columns = ["ties", "missing", "disjoint"]
    ref_frame = _with_real_nan(spark.createDataFrame(reference))
    cur_frame = _with_real_nan(spark.createDataFrame(current))
    found = profiles.ks_statistics(ref_frame, cur_frame, columns, levels=KS_QUANTILES.tolist())
    for column in columns:
        expected = [
            sorted_quantiles(np.sort(side[column].dropna().to_numpy(np.float64)), KS_QUANTILES).tolist()
            for side in (reference, current)
        ]
        assert found[column].quantiles == (expected[0], expected[1]), column
    assert found["missing"].quantiles is not None and found["missing"].quantiles[0][-1] == 7.5
    _path(monkeypatch, local=False)
    ranged = profiles.ks_statistics(ref_frame, cur_frame, columns, partitions=3, levels=[0.5])
    assert ranged["ties"] == found["ties"]  # the statistic and sizes; quantiles are not compared
    assert ranged["ties"].quantiles is None  # Spark's range passes leave them to percentile_approx
    assert np.isnan(quantiles.counted_quantiles(np.array([1.0, 2.0]), np.array([0, 0]), [0.5])[0])  # no values


def test_ks_on_large_samples_collects_no_rows(spark: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """200k rows a side, exact at 1, 3 and 8 partitions; past the driver's limit of distinct values (here 1,000)
    the driver receives that limit plus one row of counts (finding that there are more), then only per-partition
    totals.

    Every row the implementation brings to the driver passes through DataFrame.collect (or toPandas): counting
    them proves that no row of the data (nor one row per distinct value) is collected.
    """
    monkeypatch.setattr(profiles, "LOCAL_ROWS", 1000)
    rng = np.random.default_rng(5)
    n = 200_000
    reference = pd.DataFrame({"x": rng.normal(0.0, 1.0, n)})
    current = pd.DataFrame({"x": rng.normal(0.02, 1.0, n)})
    expected = _expected_d(reference["x"].to_numpy(), current["x"].to_numpy())
    ref_frame, cur_frame = spark.createDataFrame(reference), spark.createDataFrame(current)
    collected: list[int] = []
    classic = type(ref_frame)  # PySpark 4: pyspark.sql.classic.dataframe.DataFrame, which defines collect itself
    original_collect, original_to_pandas = classic.collect, classic.toPandas

    def counting_collect(self: DataFrame) -> list[Any]:
        rows = original_collect(self)
        collected.append(len(rows))
        return rows

    def counting_to_pandas(self: DataFrame) -> pd.DataFrame:
        rows = original_to_pandas(self)
        collected.append(len(rows))
        return rows

    monkeypatch.setattr(classic, "collect", counting_collect)
    monkeypatch.setattr(classic, "toPandas", counting_to_pandas)
    for k in (1, 3, 8):
        collected.clear()
        found = profiles.ks_statistic(ref_frame.repartition(k), cur_frame.repartition(k), "x", partitions=k)
        assert found.statistic == expected, k
        assert collected[0] == 1001 and max(collected[1:]) <= k + 1, (k, collected)


def test_ks_refuses_text_and_empty_samples(spark: Any) -> None:
    frame = spark.createDataFrame(pd.DataFrame({"x": [1.0, 2.0], "s": ["a", "b"]}))
    with pytest.raises(ValueError, match="column 's' is string, not numeric"):
        profiles.ks_statistic(frame, frame, "s")
    with pytest.raises(ValueError, match="both samples need at least one row"):
        profiles.ks_statistic(frame, frame.where(F.col("x") > 5.0), "x")


def test_quantiles_are_values_within_the_rank_error(spark: Any) -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(size=5000)
    data = pd.DataFrame({"x": np.where(rng.random(5000) < 0.1, np.nan, values)})
    frame = _with_real_nan(
        spark.createDataFrame(data.assign(missing=data["x"], nan_flag=rng.random(5000) < 0.5))
    ).select(F.col("missing").alias("x"))
    present = np.sort(data["x"].dropna().to_numpy())
    q = [0.0, 0.1, 0.5, 0.9, 1.0]
    found = quantiles.quantiles(frame, "x", q, accuracy=100)
    for p, value in zip(q, found, strict=True):
        rank = np.searchsorted(present, value, side="right")
        assert value in present and abs(rank - p * len(present)) <= len(present) / 100 + 1, (p, value)
    exact = quantiles.quantiles(frame, "x", [0.5], accuracy=100_000)
    assert exact == [present[int(np.ceil(0.5 * len(present))) - 1]]
    assert np.isnan(quantiles.quantiles(frame.where(F.col("x") > 100.0), "x", [0.5])).all()
