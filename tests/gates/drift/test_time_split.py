"""split.by = "time": train on the past, test on the most recent rows; the train-vs-test drift gate then sees
change over time that a random split hides."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlgate.checks import drift
from mlgate.checks.evidence import Evidence
from mlgate.checks.result import Status
from mlgate.pipeline.candidate import load_data
from mlgate.pipeline.config import DataSettings, FeatureSettings, SplitSettings, load_config
from mlgate.pipeline.errors import ConfigError, DataError
from mlgate.pipeline.prepare import prepare
from mlgate.pipeline.split import event_order, split

DATA = DataSettings(source="x", target="y", positive_label=1, event_time_column="when")
TIME = SplitSettings(by="time", test_size=0.25, validation_size=0.2)


def _frame(n: int = 40, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    days = pd.date_range("2024-01-01", periods=n, freq="D")
    return pd.DataFrame(
        {
            "when": rng.permutation(days.strftime("%Y-%m-%d")),  # file order is not time order
            "x": rng.normal(size=n),
            "y": np.tile([0, 1], n // 2),
        }
    )


def _prepared(frame: pd.DataFrame):
    return prepare(frame, DATA, FeatureSettings(), source="f.csv")


def _times(part: pd.DataFrame) -> pd.Series:
    return pd.to_datetime(part["when"])


def test_the_most_recent_rows_are_the_test_split_and_the_next_most_recent_validation() -> None:
    parts = split(_prepared(_frame()), TIME, random_state=0, source="f.csv", time_column="when")
    n_test = math.ceil(0.25 * 40)
    n_validation = math.ceil(0.2 * (40 - n_test))
    assert (len(parts.test), len(parts.validation), len(parts.train)) == (n_test, n_validation, 40 - 10 - 6)
    assert _times(parts.train).max() < _times(parts.validation).min()
    assert _times(parts.validation).max() < _times(parts.test).min()
    assert _times(parts.test).is_monotonic_increasing and parts.by == "time"
    assert parts.y_test.tolist() == parts.test["y"].tolist()  # labels stay with their rows


def test_a_time_split_ignores_the_seed_and_the_file_order_ties_included() -> None:
    frame = _frame()
    frame["when"] = frame["when"].str[:7]  # months: many rows share one time
    first = split(_prepared(frame), TIME, random_state=0, time_column="when")
    shuffled = frame.sample(frac=1.0, random_state=9).reset_index(drop=True)
    again = split(_prepared(shuffled), TIME, random_state=123, time_column="when")
    for name in ("train", "validation", "test"):
        rows = {tuple(r) for r in getattr(first, name).to_numpy().tolist()}
        assert rows == {tuple(r) for r in getattr(again, name).to_numpy().tolist()}, name


def test_a_numeric_event_time_orders_by_its_numbers() -> None:
    frame = pd.DataFrame({"when": [2021, 2019, 2020, 2018], "x": [1.0, 2.0, 3.0, 4.0], "y": [0, 1, 0, 1]})
    assert event_order(frame, "when").tolist() == [3, 1, 2, 0]


def test_a_value_that_is_not_a_time_is_refused_naming_the_column() -> None:
    frame = _frame()
    frame.loc[5, "when"] = "someday"
    with pytest.raises(DataError, match=r"^f\.csv: split\.by = \"time\": column 'when' \(data\.event_time_column\) "):
        split(_prepared(frame), TIME, random_state=0, source="f.csv", time_column="when")


def test_a_partition_with_one_class_is_refused_with_its_time_range() -> None:
    frame = _frame()
    order = pd.to_datetime(frame["when"]).rank(method="first").astype(int)
    frame["y"] = np.where(order > 30, 0, order % 2)  # the 10 most recent rows are all negative
    with pytest.raises(DataError, match=r"the test split \(10 rows, 'when' from .* holds one class of 'y' only"):
        split(_prepared(frame), TIME, random_state=0, source="f.csv", time_column="when")


def test_split_by_time_without_an_event_time_column_is_a_config_error(tmp_path: Path, german_config_path: Path) -> None:
    text = german_config_path.read_text().replace(
        "random_state = 42\n\n[model]", 'random_state = 42\nby = "time"\n\n[model]'
    )
    config = tmp_path / "mlgate.toml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=r"key 'data\.event_time_column': is required by split\.by = \"time\""):
        load_config(config)


def _german_with_time(tmp_path: Path, german_config_path: Path, *, by: str, shift: float) -> Evidence:
    """The bundled data with an application date; the most recent quarter of the rows asks for ``shift`` × the
    credit amount (a change over time, e.g. inflation)."""
    frame = pd.read_csv(german_config_path.parent / "data" / "german_credit.csv")
    rng = np.random.default_rng(11)
    days = rng.permutation(len(frame))
    frame["applied"] = (pd.Timestamp("2023-01-01") + pd.to_timedelta(days, unit="D")).strftime("%Y-%m-%d")
    recent = days >= int(0.75 * len(frame))
    frame.loc[recent, "credit_amount"] = (frame.loc[recent, "credit_amount"] * shift).round()
    frame.to_csv(tmp_path / "credit.csv", index=False)
    text = german_config_path.read_text()
    text = text.replace('source = "data/german_credit.csv"', 'source = "credit.csv"\nevent_time_column = "applied"')
    text = text.replace("random_state = 42\n\n[model]", f'random_state = 42\nby = "{by}"\n\n[model]')
    text = text.replace('schema = "schemas/', f'schema = "{german_config_path.parent}/schemas/')
    config = tmp_path / "mlgate.toml"
    config.write_text(text)
    project = load_config(config)
    bundle = load_data(project)
    return Evidence(project, bundle.dataset, bundle.prepared, bundle.split)


@pytest.mark.parametrize(("by", "flagged"), [("random", False), ("time", True)])
def test_the_time_split_lets_the_drift_gate_see_a_change_over_time(
    tmp_path: Path, german_config_path: Path, by: str, flagged: bool
) -> None:
    evidence = _german_with_time(tmp_path, german_config_path, by=by, shift=1.6)
    results = {r.id: r for r in drift.run(evidence)}
    amount = results["drift.feature[credit_amount]"]
    assert (amount.status is Status.FAIL) is flagged, amount.message
    assert all(r.status is Status.PASS for key, r in results.items() if key != "drift.feature[credit_amount]")
    assert evidence.split.by == by and "applied" not in evidence.prepared.features


def test_an_unchanged_history_passes_under_the_time_split(tmp_path: Path, german_config_path: Path) -> None:
    evidence = _german_with_time(tmp_path, german_config_path, by="time", shift=1.0)
    assert {r.status for r in drift.run(evidence)} == {Status.PASS}
