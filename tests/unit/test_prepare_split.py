from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.config import DataSettings, FeatureSettings, SplitSettings
from pipeline.errors import DataError
from pipeline.prepare import prepare
from pipeline.split import split

DATA = DataSettings(source="x", target="y", positive_label="good", missing_values=["not_known"])


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "y": ["good", "bad", "good", "good", "bad", "good", None, "good"],
            "colour": ["red", " not_known", "blue", "blue", "red", "red", "red", "blue"],
            "amount": ["1", "2", "x", "4", "5", "6", "7", "4"],
        }
    )


def test_prepare_counts_every_change() -> None:
    prepared = prepare(frame(), DATA, FeatureSettings(numeric=["amount"]), source="f.csv")
    report = prepared.report
    assert report.rows_in == 8
    assert report.missing_target_dropped == 1
    assert report.duplicates_dropped == 1  # rows 3 and 7 are equal once 'amount' is numeric
    assert report.rows_out == 6
    assert report.sentinels_replaced == {"colour": 1}
    assert report.coerced_to_missing == {"amount": 1}
    assert report.missing_values == {"colour": 1, "amount": 1}
    assert prepared.numeric == ["amount"] and prepared.categorical == ["colour"]
    assert prepared.y.tolist() == [1, 0, 1, 1, 0, 1]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda f: f.assign(y="good"), "single class"),
        (lambda f: f.assign(y=["a", "b", "c", "a", "b", "c", "a", "b"]), "3 classes"),
        (lambda f: f.assign(y=["ok", "bad"] * 4), "positive_label 'good' not found"),
    ],
)
def test_prepare_rejects_unusable_targets(mutate, message: str) -> None:
    with pytest.raises(DataError, match=message):
        prepare(mutate(frame()), DATA, FeatureSettings(), source="f.csv")


def test_unknown_feature_names_are_named() -> None:
    with pytest.raises(DataError, match="feature column 'size' .* not found"):
        prepare(frame(), DATA, FeatureSettings(include=["size"]), source="f.csv")
    with pytest.raises(DataError, match="column 'size' in features.exclude not found"):
        prepare(frame(), DATA, FeatureSettings(exclude=["size"]), source="f.csv")


def test_split_is_stratified_and_seeded() -> None:
    rng = np.random.default_rng(0)
    big = pd.DataFrame({"y": rng.choice(["good", "bad"], 1000, p=[0.7, 0.3]), "x": rng.normal(size=1000)})
    prepared = prepare(big, DATA, FeatureSettings(), source="f.csv")
    settings = SplitSettings(test_size=0.3, validation_size=0.25)
    first = split(prepared, settings, random_state=1)
    again = split(prepared, settings, random_state=1)
    other = split(prepared, settings, random_state=2)
    assert first.test.index.equals(again.test.index)
    assert not first.test.index.equals(other.test.index)
    assert len(first.test) == 300 and len(first.validation) == 175
    share = prepared.y.mean()
    for part in (first.y_train, first.y_test, first.y_validation):
        assert abs(part.mean() - share) < 0.01
    assert not set(first.train.index) & set(first.test.index)
