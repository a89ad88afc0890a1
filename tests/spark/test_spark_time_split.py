"""``split.by = "time"`` on Spark: the most recent rows as test, the same rows as the pandas engine with
``split.method = "row_key"`` (ties in time ordered by row key), whatever the partitioning; an unreadable time is one
line naming the column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlgate.pipeline.config import DataSettings, FeatureSettings, SplitSettings
from mlgate.pipeline.errors import DataError

pytestmark = pytest.mark.spark

ROOT = Path(__file__).resolve().parents[2]


def _data(tmp_path: Path, rows: int = 3000) -> Path:
    """The bundled applicants with an application date: 400 distinct days, so many rows tie in time."""
    frame = pd.read_csv(ROOT / "data" / "german_credit.csv")
    frame = frame.sample(n=rows, replace=True, random_state=5).reset_index(drop=True)
    days = np.random.default_rng(5).integers(0, 400, size=rows)
    frame["applied"] = (pd.Timestamp("2024-01-01") + pd.to_timedelta(days, unit="D")).strftime("%Y-%m-%d")
    path = tmp_path / "dated.csv"
    frame.to_csv(path, index=False)
    return path


def _settings(path: Path) -> tuple[DataSettings, FeatureSettings, SplitSettings]:
    data = DataSettings(source=str(path), target="risk", positive_label=1, missing_values=["not_known"],
                        event_time_column="applied")  # fmt: skip
    split = SplitSettings(test_size=0.3, validation_size=0.25, by="time", method="row_key")
    return data, FeatureSettings(categorical=["job"]), split


def _rows(frame: pd.DataFrame) -> list[tuple[str, ...]]:
    return sorted(tuple(map(repr, row)) for row in frame[sorted(frame.columns)].itertuples(index=False))


def test_time_split_equals_the_pandas_engine_and_ignores_partitioning(spark, tmp_path):
    from mlgate.pipeline.prepare import prepare as prepare_pandas
    from mlgate.pipeline.spark.ingest import load
    from mlgate.pipeline.spark.prepare import Y, prepare
    from mlgate.pipeline.spark.split import split
    from mlgate.pipeline.split import split as split_pandas

    path = _data(tmp_path)
    data, features, settings = _settings(path)
    ready_pd = prepare_pandas(pd.read_csv(path), data, features, source=str(path))
    expected = split_pandas(ready_pd, settings, random_state=1, time_column="applied")
    ready = prepare(load(spark, data, source=str(path)).frame, data, features, source=str(path))
    for frame in (ready.frame, ready.frame.repartition(5)):
        from dataclasses import replace

        parts = split(replace(ready, frame=frame), settings, random_state=1, time_column="applied")
        assert parts.by == "time"
        for name in ("train", "validation", "test"):
            ours = getattr(parts, name).drop(Y).toPandas()
            theirs = getattr(expected, name)[ours.columns].astype({c: "float64" for c in ready_pd.numeric})
            assert len(ours) == len(theirs), name
            assert _rows(ours.astype(str)) == _rows(theirs.astype(str)), name
    assert parts.sizes == {"train": len(expected.train), "validation": len(expected.validation),
                           "test": len(expected.test)}  # fmt: skip
    newest_train = expected.train["applied"].max()
    assert (expected.test["applied"] >= newest_train).all()


def test_an_unreadable_time_is_one_line_naming_the_column(spark, tmp_path):
    from mlgate.pipeline.spark.ingest import load
    from mlgate.pipeline.spark.prepare import prepare
    from mlgate.pipeline.spark.split import split

    path = _data(tmp_path, rows=200)
    frame = pd.read_csv(path)
    frame.loc[7, "applied"] = "soon"
    frame.to_csv(path, index=False)
    data, features, settings = _settings(path)
    ready = prepare(load(spark, data, source=str(path)).frame, data, features, source=str(path))
    with pytest.raises(DataError, match=r"column 'applied' \(data.event_time_column\) has 1 value\(s\) that are not "
                                        r"times \(first: 'soon'\)"):  # fmt: skip
        split(ready, settings, random_state=1, time_column="applied")
