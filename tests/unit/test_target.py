"""The target column (pipeline/target.py): which task its values tell, and its values encoded for the task, on
hand-made columns and on the data sets scikit-learn ships."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import datasets

from mlgate.pipeline.errors import DataError
from mlgate.pipeline.target import MAX_INTEGER_CLASSES, MIN_REGRESSION_VALUES, encode_target, infer_task


def column(values) -> pd.Series:
    return pd.Series(values, name="y")


@pytest.mark.parametrize(
    ("values", "task", "why"),
    [
        (["yes", "no", "yes"], "binary", "two distinct values"),
        ([0, 1, 1, np.nan], "binary", "two distinct values"),
        ([True, False, True], "binary", "two distinct values"),
        (["cat", "dog", "bird", "cat"], "multiclass", "3 distinct text labels"),
        ([f"c{i}" for i in range(100)], "multiclass", "100 distinct text labels"),
        (list(range(MAX_INTEGER_CLASSES)), "multiclass", "10 distinct whole numbers (at most 10)"),
        ([1.0, 2.0, 3.0, 2.0], "multiclass", "3 distinct whole numbers (at most 10)"),
        (["1", "2", "3"], "multiclass", "3 distinct whole numbers (at most 10)"),
        (list(range(MIN_REGRESSION_VALUES)), "regression", "30 distinct whole numbers (at least 30)"),
        ([0.5, 1.25, 3.0], "regression", "numbers with a fractional part"),
        ([-2.5, 0.0, 7.1, 7.1], "regression", "numbers with a fractional part"),
    ],
)
def test_infer_task_follows_its_rules(values, task: str, why: str) -> None:
    assert infer_task(column(values), source="f.csv") == (task, why)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (range(11), r"holds 11 distinct whole numbers: classes or amounts\? set model\.task = \"multiclass\" or"),
        (range(29), r"holds 29 distinct whole numbers: .* \"regression\"$"),
        (["a", "a", np.nan], r"has a single class \['a'\]; need two to train"),
        ([f"id{i}" for i in range(101)], r"holds 101 distinct text values: too many to be classes; set model\.task"),
    ],
)
def test_infer_task_refuses_a_column_it_cannot_tell(values, message: str) -> None:
    with pytest.raises(DataError, match=rf"^f\.csv: target column 'y' {message}"):
        infer_task(column(list(values)), source="f.csv")


def test_large_amounts_with_a_fraction_are_regression() -> None:
    prices = column([250000.5, 260000.5, 270000.5, 280000.5])
    assert infer_task(prices, source="f.csv") == ("regression", "numbers with a fractional part")


# --- encode_target ---------------------------------------------------------------------------------------------


def test_positive_label_makes_an_auto_task_binary() -> None:
    target = encode_target(column(["a", "b"] * 3), "auto", "b", source="f.csv")
    assert (target.task, target.classes) == ("binary", ())
    assert target.decided_by == 'data.positive_label is set (model.task = "auto")'
    assert target.y.tolist() == [0, 1, 0, 1, 0, 1]


def test_an_inferred_binary_target_needs_the_positive_label() -> None:
    with pytest.raises(
        DataError, match=r"is binary \(inferred: two distinct values .*data\.positive_label is required"
    ):
        encode_target(column(["a", "b", "a"]), "auto", None, source="f.csv")


def test_numeric_classes_are_ordered_by_value() -> None:
    target = encode_target(column([2, 10, 1, 2]), "auto", None, source="f.csv")
    assert (target.task, target.classes) == ("multiclass", (1, 2, 10))
    assert all(type(label) is int for label in target.classes)
    assert target.y.tolist() == [1, 2, 0, 1]
    assert target.decided_by == 'inferred: 3 distinct whole numbers (at most 10) (model.task = "auto")'


def test_numbers_written_as_text_are_ordered_by_value_and_keep_their_text() -> None:
    target = encode_target(column(["2", "10", "1", "2"]), "multiclass", None, source="f.csv")
    assert target.classes == ("1", "2", "10")
    assert target.y.tolist() == [1, 2, 0, 1]
    assert target.decided_by == "model.task"


def test_text_classes_are_sorted() -> None:
    target = encode_target(column(["pear", "apple", "fig", "pear"]), "auto", None, source="f.csv")
    assert target.classes == ("apple", "fig", "pear")
    assert target.y.tolist() == [2, 0, 1, 2]
    assert target.y.name == "y" and str(target.y.dtype) == "int64"


def test_a_regression_target_is_floats() -> None:
    target = encode_target(column(["1.5", 2, 3.25]), "regression", None, source="f.csv")
    assert (target.task, target.classes) == ("regression", ())
    assert target.y.tolist() == [1.5, 2.0, 3.25] and target.y.dtype == np.float64


@pytest.mark.parametrize(
    ("values", "task", "message"),
    [
        (
            ["1.5", "x", "2", "y"],
            "regression",
            r"has 2 values that are not numbers \(first: 'x'\); a regression target",
        ),
        ([1.0, np.inf, 2.0], "regression", r"holds an infinite value; a regression target is finite"),
        ([1.0, "-inf", 2.0], "regression", r"holds an infinite value"),
        ([True, False, True], "regression", r"has 3 values that are not numbers \(first: True\)"),
        ([5, 5, 5], "regression", r"has a single value; nothing to learn"),
        (["a", "b", "a"], "multiclass", r"has 2 classes \['a', 'b'\]; a multi-class .* set model\.task = \"binary\"$"),
        (["a", "b", "c"], "binary", r"has 3 classes \['a', 'b', 'c'\]; .* set model\.task = \"multiclass\""),
    ],
)
def test_a_target_that_does_not_fit_its_task_is_refused(values, task: str, message: str) -> None:
    positive = "a" if task == "binary" else None
    with pytest.raises(DataError, match=rf"^f\.csv: target column 'y' {message}"):
        encode_target(column(values), task, positive, source="f.csv")


# --- scikit-learn's bundled data -------------------------------------------------------------------------------


@pytest.mark.parametrize("load", [datasets.load_iris, datasets.load_wine])
def test_bundled_class_codes_are_multiclass(load) -> None:
    y = column(load().target)
    target = encode_target(y, "auto", None, source=load.__name__)
    assert (target.task, target.classes) == ("multiclass", (0, 1, 2))
    assert target.y.tolist() == y.tolist()


def test_bundled_diabetes_progression_is_regression() -> None:
    y = column(datasets.load_diabetes().target)  # whole numbers 25 .. 346
    target = encode_target(y, "auto", None, source="diabetes")
    assert target.task == "regression"
    assert target.decided_by == f'inferred: {y.nunique()} distinct whole numbers (at least 30) (model.task = "auto")'
    np.testing.assert_array_equal(target.y.to_numpy(), y.to_numpy())


def test_bundled_breast_cancer_is_binary_with_its_positive_label() -> None:
    y = column(datasets.load_breast_cancer().target)
    target = encode_target(y, "auto", 0, source="breast_cancer")  # 0: malignant
    assert target.task == "binary"
    assert target.y.sum() == (y == 0).sum() == 212
    with pytest.raises(DataError, match="data.positive_label is required"):
        encode_target(y, "auto", None, source="breast_cancer")
