"""The balance and drift gates on Spark give the pandas engine's results, to the last digit, on the same rows.

Each case splits on Spark, then hands the very same rows (collected) to the pandas engine's layers and compares
every result's id, status, message, observed value, interval and details. Known-bad cases fail on both engines
with the same message: a skewed group share, a shifted numeric feature (D from the distributed computation, above
10,000 rows) and a shifted category.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlgate.checks import balance as pandas_balance
from mlgate.checks import drift as pandas_drift
from mlgate.checks import spark_gates
from mlgate.checks.evidence import Evidence
from mlgate.checks.result import Status
from mlgate.pipeline.config import SplitSettings, load_config
from mlgate.pipeline.ingest import Dataset
from mlgate.pipeline.prepare import Prepared
from mlgate.pipeline.spark.ingest import load
from mlgate.pipeline.spark.prepare import Y, prepare
from mlgate.pipeline.spark.split import split
from mlgate.pipeline.split import Split

pytestmark = pytest.mark.spark

ROOT = Path(__file__).resolve().parents[2]


def on_spark(spark, config, path: Path):
    data = config.data.model_copy(update={"source": str(path)})
    from mlgate.pipeline.prepare import group_columns

    ready = prepare(load(spark, data, source=str(path)).frame, data, config.features, source=str(path),
                    groups=group_columns(config), task=config.model.task)  # fmt: skip
    return ready, split(ready, config.split, random_state=config.split.random_state)


def pandas_evidence(config, ready, parts) -> Evidence:
    """The pandas engine's evidence for the rows of the Spark split."""

    def frame(part):
        rows = part.toPandas()
        return rows.drop(columns=[Y]), rows[Y].rename(ready.target)

    (train, y_train), (test, y_test) = frame(parts.train), frame(parts.test)
    validation, y_validation = frame(parts.validation) if parts.validation is not None else (None, None)
    everything = pd.concat([train, test, *([validation] if validation is not None else [])], ignore_index=True)
    y = pd.concat([y_train, y_test, *([y_validation] if y_validation is not None else [])], ignore_index=True)
    prepared = Prepared(everything, ready.target, ready.features, ready.numeric, ready.categorical, y, ready.report,
                        task=ready.task, classes=ready.classes)  # fmt: skip
    parts_pd = Split(train, test, validation, y_train, y_test, y_validation, parts.random_state)
    return Evidence(config, Dataset(everything, "x", "x"), prepared, parts_pd)


def same(ours, theirs, *, skip_quantiles: bool = False) -> None:
    assert [r.id for r in ours] == [r.id for r in theirs]
    for a, b in zip(ours, theirs, strict=True):
        left, right = a.to_dict(), b.to_dict()
        if skip_quantiles:  # display only: Spark's are approximate (percentile_approx), the pandas engine's exact
            left["details"].pop("quantiles", None), right["details"].pop("quantiles", None)
        assert left == right, a.id


def test_the_bundled_project_gives_the_pandas_engines_results(spark):
    config = load_config(ROOT / "mlgate.toml")
    ready, parts = on_spark(spark, config, config.data_source)
    evidence = pandas_evidence(config, ready, parts)
    same(spark_gates.balance(parts, ready, config.balance), pandas_balance.run(evidence))
    same(spark_gates.drift(parts, ready, config.drift), pandas_drift.run(evidence))
    assert {r.status for r in spark_gates.balance(parts, ready, config.balance)} <= {Status.PASS, Status.WARN}


@pytest.fixture(scope="module")
def large(tmp_path_factory):
    """German-credit-shaped rows, 40,000 of them: past the exact KS limit, so D comes from the distributed path."""
    rng = np.random.default_rng(11)
    n = 40_000
    frame = pd.DataFrame({
        "risk": rng.choice([0, 1], n, p=[0.3, 0.7]),
        "sex": rng.choice(["male", "female"], n, p=[0.69, 0.31]),
        "age": rng.integers(19, 75, n),
        "credit_amount": rng.lognormal(8, 0.8, n).round(),
        "purpose": rng.choice(["car", "radio/TV", "furniture/equipment", "business"], n),
        "duration": rng.choice([6, 12, 18, 24, 36, 48], n),
    })  # fmt: skip
    frame.loc[rng.choice(n, 500, replace=False), "credit_amount"] = np.nan
    path = tmp_path_factory.mktemp("large") / "large.csv"
    frame.to_csv(path, index=False)
    return path


def project(tmp_path: Path, *, sensitive_female: float = 0.31):
    config = load_config(ROOT / "mlgate.toml")
    data = config.data.model_copy(update={"missing_values": []})
    sensitive = [
        config.balance.sensitive[0].model_copy(
            update={"reference": {"male": 1 - sensitive_female, "female": sensitive_female}}
        )
    ]
    return config.model_copy(update={"data": data, "features": config.features.model_copy(update={"categorical": []}),
                                     "balance": config.balance.model_copy(update={"sensitive": sensitive}),
                                     "slices": config.slices.model_copy(update={"columns": []}),
                                     "split": SplitSettings(test_size=0.25, validation_size=0.0)})  # fmt: skip


def test_forty_thousand_rows_distributed_ks_gives_the_same_d_and_p(spark, large, tmp_path):
    config = project(tmp_path)
    ready, parts = on_spark(spark, config, large)
    evidence = pandas_evidence(config, ready, parts)
    ours, theirs = spark_gates.drift(parts, ready, config.drift), pandas_drift.run(evidence)
    same(ours, theirs, skip_quantiles=True)
    amount = next(r for r in ours if r.id == "drift.feature[credit_amount]")
    assert amount.details["n_reference"] > 10_000 and amount.details["missing_share"]["reference"] > 0


def test_known_bad_rows_fail_on_both_engines_with_the_same_message(spark, large, tmp_path):
    frame = pd.read_csv(large)
    test_like = frame.sample(frac=0.5, random_state=3).index
    frame.loc[test_like, "credit_amount"] *= 1.6  # half the rows shifted: train and test then differ
    path = tmp_path / "shifted.csv"
    frame.to_csv(path, index=False)
    config = project(tmp_path, sensitive_female=0.45)  # the data holds 31% women: outside 45% ± tolerance
    ready, parts = on_spark(spark, config, path)
    # the shift must separate the splits: shift exactly the test rows instead
    from pyspark.sql import functions as F

    shifted = replace(parts, test=parts.test.withColumn("credit_amount", F.col("credit_amount") * 1.6), sided=None)
    evidence = pandas_evidence(config, ready, shifted)
    ours_drift, ours_balance = (
        spark_gates.drift(shifted, ready, config.drift),
        spark_gates.balance(shifted, ready, config.balance),
    )
    same(ours_drift, pandas_drift.run(evidence), skip_quantiles=True)
    same(ours_balance, pandas_balance.run(evidence))
    failed = {r.id for r in [*ours_drift, *ours_balance] if r.status is Status.FAIL}
    assert "drift.feature[credit_amount]" in failed
    assert "balance.sensitive_share[train][sex=female]" in failed
