"""The schema layer's duplicate and integrity checks on Spark give the pandas engine's results for the same rows.

Each case loads a project on Spark (``load_spark_data``) and builds the pandas engine's evidence for the same rows:
its own ingest and preparation (``load_data``; the duplicate, identifier and feature-policy checks read every
prepared row) with the Spark split's partitions collected (the leak and stability checks read the training and test
rows, and this way both engines judge the very same ones). Every result is compared whole (id, status, reason,
blocking, message, observed, expected, details). The differences :mod:`checks.spark_integrity` documents are
applied to the pandas engine's result by :func:`as_on_spark`, one by one, so any other difference fails.

Known-bad data (a near copy of the target as a number and as a category, a shuffled customer id, a row number, values
beyond float32, a column without a value, e-mail addresses, duplicate rows) is flagged on both engines with the same
message; the bundled data passes alike. Multiclass (the wine data, with two leaks added) agrees result for result;
for a regression target (the diabetes data) Spark skips the leak check, as documented, and agrees on the rest.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlgate.checks import duplicates, integrity, spark_integrity
from mlgate.checks.evidence import Evidence
from mlgate.checks.result import CheckResult, Reason, Status
from mlgate.pipeline.config import IntegritySettings, ProjectConfig, load_config
from mlgate.pipeline.dataload import load_data
from mlgate.pipeline.spark.dataload import SparkBundle, load_spark_data
from mlgate.pipeline.spark.prepare import Y
from mlgate.pipeline.split import Split

pytestmark = pytest.mark.spark

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "data" / "german_credit.csv"
Engines = tuple[list[CheckResult], list[CheckResult], SparkBundle]


def with_data(config: ProjectConfig, path: Path, **features: object) -> ProjectConfig:
    data = config.data.model_copy(update={"source": str(path)})
    return config.model_copy(update={"data": data, "features": config.features.model_copy(update=features)})


def spark_split_on_pandas(bundle: SparkBundle) -> Split:
    """The Spark split's partitions as the pandas engine's :class:`Split` (the same rows, collected)."""
    target = bundle.prepared.target

    def part(frame):
        rows = frame.toPandas()
        return rows.drop(columns=[Y]), rows[Y].rename(target)

    parts = bundle.split
    (train, y_train), (test, y_test) = part(parts.train), part(parts.test)
    validation, y_validation = part(parts.validation) if parts.validation is not None else (None, None)
    return Split(train, test, validation, y_train, y_test, y_validation, parts.random_state)


@pytest.fixture(scope="module")
def frames_cached():
    """Caches each case's prepared Spark frame (the split's frames are read from it) and drops them at the end: the
    data is read once per case, not once per Spark job."""
    cached = []
    yield cached
    for frame in cached:
        frame.unpersist()


def both_engines(spark, config: ProjectConfig, cached: list, bundle: SparkBundle | None = None) -> Engines:
    """(Spark results, pandas results, the Spark bundle) for ``config``'s data (loaded on Spark unless given)."""
    if bundle is None:
        bundle = load_spark_data(spark, config)
        cached.append(bundle.prepared.frame.cache())
    theirs = load_data(config)
    ready = theirs.prepared
    assert (ready.features, ready.numeric, ready.categorical) == (
        bundle.prepared.features,
        bundle.prepared.numeric,
        bundle.prepared.categorical,
    )
    evidence = Evidence(config, theirs.dataset, ready, spark_split_on_pandas(bundle))
    return spark_integrity.run(bundle, config), duplicates.run(evidence) + integrity.run(evidence), bundle


def as_on_spark(result: CheckResult, bundle: SparkBundle) -> CheckResult:
    """The pandas engine's result with the differences the Spark engine documents (checks.spark_integrity)."""
    details, message = dict(result.details), result.message
    if result.id == duplicates.CHECK_ID:  # no data row numbers: no example rows
        details["examples"] = []
        message = re.sub(r"equal data rows: [^;]*", f"equal data rows: {duplicates.NO_ROW_NUMBERS}", message)
    if result.id.startswith("schema.identifier"):  # no row order: a numbered column is judged by its distinct share
        details["row_order"] = spark_integrity.ROW_ORDER
        if isinstance(result.observed, str) and "in row order" in result.observed:
            n = bundle.prepared.report.rows_out
            why = f"{n} distinct values in {n} rows (100.0%): unique per row, like an id"
            message = message.replace(result.observed, why)
            result = replace(result, observed=why)
    return replace(result, message=message, details=details)


def assert_same(ours: list[CheckResult], theirs: list[CheckResult], bundle: SparkBundle) -> None:
    assert [r.id for r in ours] == [r.id for r in theirs]
    for a, b in zip(ours, theirs, strict=True):
        assert a.to_dict() == as_on_spark(b, bundle).to_dict(), a.id


def by_id(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.id: r for r in results}


# ------------------------------------------------------------------------------------------------- good data
def test_the_bundled_project_gives_the_pandas_engines_results(spark, frames_cached):
    ours, theirs, bundle = both_engines(spark, load_config(ROOT / "mlgate.toml"), frames_cached)
    assert_same(ours, theirs, bundle)
    assert [(r.id, r.status) for r in ours] == [
        ("schema.duplicate_rows", Status.PASS),
        ("schema.target_leak", Status.PASS),
        ("schema.identifier", Status.PASS),
        ("schema.feature_policy", Status.PASS),
        ("schema.numeric_stability", Status.PASS),
    ]
    leak = by_id(ours)["schema.target_leak"]
    assert "strongest: 'checking_account'" in leak.message and 0.6 < leak.observed < 0.8
    assert leak.observed == by_id(theirs)["schema.target_leak"].observed  # the same double, not merely close


# -------------------------------------------------------------------------------------------------- bad data
@pytest.fixture(scope="module")
def bad_csv(tmp_path_factory) -> Path:
    """The bundled rows with a leak of each kind, two identifiers and two numeric columns no model can use."""
    frame = pd.read_csv(BUNDLED)
    rng = np.random.default_rng(5)
    n, y = len(frame), frame["risk"].to_numpy()
    huge = rng.normal(50, 10, n)
    huge[rng.choice(n, 12, replace=False)] = 1e39  # beyond float32: a tree estimator would read inf
    frame = frame.assign(
        approved_flag=np.where(rng.random(n) < 0.03, 1 - y, y),  # the label, 3% of it wrong: AUC ~0.97
        decision=np.where(np.where(rng.random(n) < 0.02, 1 - y, y) == 1, "yes", "no"),  # the same as a category
        customer=[f"C{i:06d}" for i in rng.permutation(n)],  # unique text, in no order
        row_id=np.arange(1, n + 1),  # numbered in file order
        huge=huge,
        empty=np.nan,  # no value at all
    )
    path = tmp_path_factory.mktemp("bad") / "bad.csv"
    frame.to_csv(path, index=False)
    return path


def bad_config(path: Path) -> ProjectConfig:
    return with_data(load_config(ROOT / "mlgate.toml"), path, numeric=["empty"])


@pytest.fixture(scope="module")
def bad(spark, bad_csv, frames_cached) -> Engines:
    return both_engines(spark, bad_config(bad_csv), frames_cached)


def test_known_bad_columns_are_flagged_on_both_engines_with_the_same_message(bad):
    ours, theirs, bundle = bad
    assert_same(ours, theirs, bundle)
    found = by_id(ours)
    for column in ("approved_flag", "decision"):
        leak = found[f"schema.target_leak[{column}]"]
        assert leak.status is Status.WARN and leak.reason is Reason.TARGET_LEAK and leak.observed > 0.95
    assert "rank AUC on the training rows" in found["schema.target_leak[approved_flag]"].message
    assert "scored on the test rows" in found["schema.target_leak[decision]"].message
    for column in ("customer", "row_id"):
        assert found[f"schema.identifier[{column}]"].reason is Reason.IDENTIFIER
        assert found[f"schema.identifier[{column}]"].details["row_order"] == spark_integrity.ROW_ORDER
    assert "1000 distinct values in 1000 rows (100.0%)" in found["schema.identifier[customer]"].message
    huge, empty = found["schema.numeric_stability[huge]"], found["schema.numeric_stability[empty]"]
    assert huge.status is Status.FAIL and huge.reason is Reason.NON_FINITE and "value(s) beyond float32" in huge.message
    assert "no value in any training row" in empty.message
    assert {r.id for r in ours if r.status is Status.PASS} == {"schema.duplicate_rows", "schema.feature_policy"}


def test_a_row_number_is_flagged_on_both_engines_only_worded_differently(bad):
    ours, theirs, _ = bad
    spark_said, pandas_said = by_id(ours)["schema.identifier[row_id]"], by_id(theirs)["schema.identifier[row_id]"]
    assert pandas_said.observed == "strictly increasing whole numbers in row order (1 .. 1000), like a row id"
    assert spark_said.observed == "1000 distinct values in 1000 rows (100.0%): unique per row, like an id"
    assert (spark_said.status, spark_said.blocking) == (pandas_said.status, pandas_said.blocking)


def test_integrity_blocking_fails_on_spark_as_on_pandas(spark, bad, bad_csv, frames_cached):
    config = bad_config(bad_csv)
    config = config.model_copy(update={"integrity": IntegritySettings(blocking=True)})
    ours, theirs, bundle = both_engines(spark, config, frames_cached, bundle=bad[2])  # the same rows, judged again
    assert_same(ours, theirs, bundle)
    failed = {r.id for r in ours if r.status is Status.FAIL and r.blocks}
    leaks = {f"schema.target_leak[{c}]" for c in ("approved_flag", "decision")}
    identifiers = {f"schema.identifier[{c}]" for c in ("customer", "row_id")}
    assert failed == leaks | identifiers | {f"schema.numeric_stability[{c}]" for c in ("huge", "empty")}


def test_duplicates_and_personal_data_beyond_the_sample_on_both_engines(spark, tmp_path, frames_cached):
    """30 copied rows (3%: over the warn bound) and e-mail addresses in 1,030 rows, more than the personal-data
    test reads (1,000): pandas reads the first 1,000, Spark the 1,000 with the smallest row hash."""
    frame = pd.read_csv(BUNDLED)
    frame["contact"] = [f"applicant{i}@example.org" for i in range(len(frame))]
    frame = pd.concat([frame, frame.sample(30, random_state=4)], ignore_index=True)
    path = tmp_path / "copied.csv"
    frame.to_csv(path, index=False)
    ours, theirs, bundle = both_engines(spark, with_data(load_config(ROOT / "mlgate.toml"), path), frames_cached)
    policy, sampled = (
        "schema.feature_policy[contact]",
        "of 1000 of its 1030 values (Spark: those of the rows with the smallest hash)",
    )
    assert f"100% {sampled} look like e-mail addresses" in by_id(ours)[policy].message
    assert "100% of its first 1000 values look like e-mail addresses" in by_id(theirs)[policy].message
    reworded = [replace(r, message=r.message.replace("of its first 1000 values", sampled)) for r in theirs]
    assert_same(ours, reworded, bundle)
    copies = by_id(ours)["schema.duplicate_rows"]
    assert copies.status is Status.WARN and copies.reason is Reason.DUPLICATE_ROWS
    assert copies.observed["duplicate_rows"] == 30 and copies.details["examples"] == []
    assert "equal data rows: not listed (the Spark engine has no data row numbers)" in copies.message
    assert "equal data rows: " in by_id(theirs)["schema.duplicate_rows"].message  # pandas names the rows
    assert by_id(ours)["schema.identifier[contact]"].status is Status.WARN  # 1000 distinct in 1030: 97.1%


# ------------------------------------------------------------------------------------- multiclass, regression
def test_multiclass_wine_gives_the_pandas_engines_results(spark, tmp_path, frames_cached):
    frame = pd.read_csv(ROOT / "examples" / "wine" / "wine.csv")
    rng = np.random.default_rng(2)
    codes = frame["cultivar"].map({"class_0": 0.0, "class_1": 1.0, "class_2": 2.0}).to_numpy()
    frame["lab_code"] = codes + rng.normal(0, 0.1, len(frame))  # the class, measured with a little noise
    frame["batch"] = np.where(rng.random(len(frame)) < 0.05, "mixed", frame["cultivar"].str.upper())  # a category
    path = tmp_path / "wine.csv"
    frame.to_csv(path, index=False)
    config = with_data(load_config(ROOT / "examples" / "wine" / "mlgate.toml"), path)
    # a class-vs-rest rank AUC of the middle class is ~0.5 for any one number: lab_code's mean is ~0.83
    config = config.model_copy(update={"integrity": IntegritySettings(leak_auc=0.8)})
    ours, theirs, bundle = both_engines(spark, config, frames_cached)
    assert_same(ours, theirs, bundle)
    found = by_id(ours)
    assert bundle.prepared.task == "multiclass"
    for column in ("lab_code", "batch"):
        leak = found[f"schema.target_leak[{column}]"]
        assert leak.status is Status.WARN and "mean over 3 classes of class-vs-rest" in leak.message


def test_regression_leaks_are_skipped_on_spark_and_the_rest_agrees(spark, frames_cached):
    config = load_config(ROOT / "examples" / "diabetes" / "mlgate.toml")
    ours, theirs, bundle = both_engines(spark, config, frames_cached)
    assert bundle.prepared.task == "regression"
    skipped = ours[1]
    assert (skipped.id, skipped.status, skipped.reason) == ("schema.target_leak", Status.SKIPPED, Reason.NOT_ON_ENGINE)
    assert not skipped.blocks and "Kendall tau-b" in skipped.message
    assert by_id(theirs)["schema.target_leak"].status is Status.PASS
    keep = [r for r in theirs if not r.id.startswith("schema.target_leak")]
    assert_same([r for r in ours if not r.id.startswith("schema.target_leak")], keep, bundle)


# --------------------------------------------------------------------------------------------- the rank statistic
@pytest.mark.parametrize("local", [False, True])
def test_rank_u_gives_rank_auc_across_ranges_and_arrow_batches(spark, local, monkeypatch):
    """Heavy ties, negative values and several keys, over 7 ranges and Arrow batches of 50 rows: a key's run of
    values crosses range and batch boundaries, and each AUC is ``rank_auc``'s double. The same on the driver
    (``local``: the counts collected, at most ``profiles.LOCAL_ROWS`` rows)."""
    from mlgate.pipeline.spark import profiles

    if not local:
        monkeypatch.setattr(profiles, "LOCAL_ROWS", 0)
    rng = np.random.default_rng(9)
    rows = []
    expected = {}
    for key, (n, levels) in enumerate([(3000, 40), (2000, 2000), (500, 3), (50, 1)]):
        values = rng.integers(-levels // 2, levels // 2 + 1, n).astype(np.float64)
        y = (rng.random(n) < 1 / (1 + np.exp(-values / max(levels, 1) * 3))).astype(np.int64)
        expected[key] = integrity.rank_auc(values, y)
        counted = pd.DataFrame({"v": values, "y": y}).groupby("v")["y"].agg(["sum", "count"]).reset_index()
        rows += [(key, float(v), int(p), int(t - p)) for v, p, t in counted.itertuples(index=False)]
    counts = spark.createDataFrame(rows, "c int, v double, pos long, neg long")
    previous = spark.conf.get("spark.sql.execution.arrow.maxRecordsPerBatch")
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "50")
    try:
        found = spark_integrity.rank_u(counts, partitions=7)
    finally:
        spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", previous)
    for key, auc in expected.items():
        twice, positives, negatives = found[key]
        ours = None if not positives or not negatives else (twice / 2) / (float(positives) * float(negatives))
        assert ours == auc, key


def test_the_sample_of_the_smallest_hashes_is_each_columns_own_in_one_job(spark):
    """The shared job's values equal, per column, those of the column's own ``orderBy(hash, value)``: a full column
    from the shared rows, a mostly missing one (fewer than 1,000 values among them) from its own job."""
    from pyspark.sql import functions as F

    rng = np.random.default_rng(3)
    full = [f"v{i}" for i in rng.integers(0, 5000, 6000)]
    sparse = [f"s{i}" if i % 4 == 0 else None for i in range(6000)]
    frame = spark.createDataFrame(list(zip(full, sparse, strict=True)), "full string, sparse string")
    row_hash = F.xxhash64(F.col("full"), F.col("sparse"))
    got = spark_integrity._smallest_hash_values(frame, row_hash, ["full", "sparse"])
    for name in ("full", "sparse"):
        own = frame.where(F.col(name).isNotNull()).select(row_hash.alias("h"), F.col(name).alias("v"))
        assert got[name] == [r["v"] for r in own.orderBy("h", "v").limit(1000).collect()]
    assert len(got["sparse"]) == 1000 and len(got["full"]) == 1000
