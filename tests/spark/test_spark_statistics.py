"""The one counting pass of the data layers (:mod:`pipeline.spark.statistics`): each view of it equals the direct
Spark count it replaced, and the three layers build it once per run and drop it after."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mlgate.checks import spark_gates
from mlgate.checks.result import Status
from mlgate.checks.spark_layers import run_spark_layers
from mlgate.pipeline.config import load_config
from mlgate.pipeline.spark import profiles
from mlgate.pipeline.spark.dataload import load_spark_data

pytestmark = pytest.mark.spark

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bundled(spark):
    config = load_config(ROOT / "mlgate.toml")
    return config, load_spark_data(spark, config)


def _sorted(frame) -> pd.DataFrame:
    rows: pd.DataFrame = frame.toPandas()
    return rows.sort_values(["c", "v"]).reset_index(drop=True).astype({k: "int64" for k in ("c", "r", "u", "mr", "mu")})


def test_each_view_of_the_pass_equals_the_direct_count(bundled):
    config, bundle = bundled
    parts, ready = bundle.split, bundle.prepared
    counts = spark_gates.split_counts_for(parts, ready, config.balance.sensitive)
    try:
        direct = profiles._value_counts(parts.train_all, parts.test, ready.numeric)
        pd.testing.assert_frame_equal(_sorted(counts.ks_counts(ready.numeric)), _sorted(direct))
        reference, current = counts.text_counts(ready.categorical)
        assert reference == profiles.counts_by(parts.train_all, ready.categorical)
        assert current == profiles.counts_by(parts.test, ready.categorical)
        training, test = counts.class_counts()
        assert sum(training.values()) == parts.sizes["train"] + parts.sizes.get("validation", 0)
        assert sum(test.values()) == parts.sizes["test"] and set(training) == {0, 1}
        rows = ready.frame.toPandas()
        for name, (n, distinct, fraction) in counts.distinct(ready.features).items():
            assert (n, distinct) == (rows[name].notna().sum(), rows[name].nunique()), name
            assert not fraction or name in ready.numeric
        with pytest.raises(ValueError, match="column 'purpose' has more than 2 distinct values"):
            counts.text_counts(["purpose"], max_distinct=2)
    finally:
        counts.close()
    assert not counts.frame.is_cached


def test_the_three_layers_count_in_one_pass_and_drop_it(bundled, monkeypatch):
    config, bundle = bundled
    built = []
    real = spark_gates.split_counts_for

    def spy(*args, **kwargs):
        built.append(real(*args, **kwargs))
        return built[-1]

    monkeypatch.setattr(spark_gates, "split_counts_for", spy)
    results = run_spark_layers(bundle, config, ["schema", "balance", "drift"])
    assert {r.layer for r in results} == {"schema", "balance", "drift"}
    assert not [r.id for r in results if r.status is Status.ERROR]
    assert len(built) == 1 and not built[0].frame.is_cached
