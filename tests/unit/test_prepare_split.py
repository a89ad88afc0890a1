from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlgate.pipeline.config import DataSettings, FeatureSettings, SplitSettings
from mlgate.pipeline.errors import DataError
from mlgate.pipeline.prepare import prepare
from mlgate.pipeline.split import split

DATA = DataSettings(source="x", target="y", positive_label="good", missing_values=["not_known"], drop_duplicates=True)


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


def test_unknown_feature_names_are_named_with_the_real_columns() -> None:
    real = "columns are y, colour, amount$"
    with pytest.raises(DataError, match=rf"^f\.csv: column 'size' \(features\.include\) not found; {real}"):
        prepare(frame(), DATA, FeatureSettings(include=["size"]), source="f.csv")
    with pytest.raises(DataError, match=rf"^f\.csv: column 'size' \(features\.exclude\) not found; {real}"):
        prepare(frame(), DATA, FeatureSettings(exclude=["size"]), source="f.csv")


def test_an_unnamed_header_column_is_pointed_out() -> None:
    unnamed = frame().rename(columns={"colour": "Unnamed: 1"})
    with pytest.raises(DataError, match=r"a blank header cell is read as 'Unnamed: 1'"):
        prepare(unnamed, DATA, FeatureSettings(exclude=["index"]), source="f.csv")


def test_group_columns_must_exist_and_are_kept_beside_the_features() -> None:
    groups = {"colour": "slices.columns[0]"}
    prepared = prepare(frame(), DATA, FeatureSettings(include=["amount"]), source="f.csv", groups=groups)
    assert prepared.features == ["amount"] and "colour" in prepared.frame.columns
    with pytest.raises(DataError, match=r"column 'sex' \(balance\.sensitive\[0\]\.column\) not found; columns are"):
        prepare(frame(), DATA, FeatureSettings(), source="f.csv", groups={"sex": "balance.sensitive[0].column"})


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (2**70, r"column 'amount', data row 3: the integer 1180591620717411303424 does not fit in 64 bits"),
        (-(2**63) - 1, r"column 'amount', data row 3: the integer -9223372036854775809 does not fit"),
        (float("inf"), r"numeric column 'amount' holds inf \(data row 3; 1 infinite value\(s\)\)"),
        (float("-inf"), r"numeric column 'amount' holds -inf \(data row 3"),
    ],
)
def test_values_no_model_can_use_are_refused_with_column_and_row(value: object, message: str) -> None:
    column = [1, 2, value, 4, 5, 6, 7, 8]
    bad = frame().assign(amount=pd.Series(column, dtype=object if isinstance(value, int) else float))
    with pytest.raises(DataError, match=rf"^f\.csv: {message}"):
        prepare(bad, DATA, FeatureSettings(), source="f.csv")


def test_large_but_64_bit_integers_and_finite_floats_pass() -> None:
    fine = frame().assign(amount=[1, 2, 2**62, 4, 5, 6, 7, 8])
    assert prepare(fine, DATA, FeatureSettings(), source="f.csv").numeric == ["amount"]


def test_a_target_without_any_value_is_named() -> None:
    with pytest.raises(DataError, match=r"target column 'y' has no values"):
        prepare(frame().assign(y=None), DATA, FeatureSettings(), source="f.csv")


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


def test_a_split_that_cannot_be_made_names_the_file_and_the_keys() -> None:
    prepared = prepare(frame(), DATA, FeatureSettings(), source="f.csv")
    with pytest.raises(DataError, match=r"^f\.csv: target 'y' has only 2 rows of one class"):
        split(prepared, SplitSettings(), random_state=0, source="f.csv")
    with pytest.raises(DataError, match=r"^f\.csv: cannot split 6 rows with split\.test_size = 0\.9"):
        split(prepared, SplitSettings(test_size=0.9, stratify=False), random_state=0, source="f.csv")
