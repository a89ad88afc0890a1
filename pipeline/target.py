"""The target column: which task it is, and its values as the model learns them.

* **binary**: 1 for ``data.positive_label``, 0 for the other class.
* **multiclass**: the class's position in :attr:`Target.classes` (0 .. k-1); the classes are ordered by value
  (numerically when every label is a number, else as text), the order a model's probability columns follow.
* **regression**: the value as a float.

``model.task = "auto"`` with ``data.positive_label`` set is binary (the key only exists for binary targets).
Without it, the task is inferred from the labelled values (:func:`infer_task`): two distinct values are
binary; text labels, or at most :data:`MAX_INTEGER_CLASSES` distinct whole numbers, are multi-class; numbers with
a fraction, or at least :data:`MIN_REGRESSION_VALUES` distinct whole numbers, are regression. Anything between
is ambiguous and refused with the key that settles it. The report states the task and how it was decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlgate.pipeline.errors import DataError

__all__ = ["MAX_INTEGER_CLASSES", "MIN_REGRESSION_VALUES", "Target", "binary_target", "encode_target", "infer_task"]

#: Whole-number targets with at most this many distinct values are classes when the task is inferred.
MAX_INTEGER_CLASSES = 10
#: Whole-number targets with at least this many distinct values are amounts when the task is inferred.
MIN_REGRESSION_VALUES = 30
#: More distinct text labels than this is not a multi-class target mlgate infers (an identifier, free text).
MAX_TEXT_CLASSES = 100


@dataclass(frozen=True)
class Target:
    """The encoded target, its task, how the task was decided, and the class labels (classification)."""

    y: pd.Series
    task: str
    decided_by: str
    classes: tuple[Any, ...] = ()


def _numeric(values: pd.Series) -> pd.Series | None:
    """``values`` as floats when every one is a number (bools are labels, not numbers), else None."""
    if pd.api.types.is_bool_dtype(values):
        return None
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.isna().any():
        return None
    return numbers.astype(np.float64)


def infer_task(values: pd.Series, *, source: str) -> tuple[str, str]:
    """(task, why) for a target whose ``model.task`` is ``auto``; DataError when the values cannot tell."""
    present = values.dropna()
    distinct = present.nunique()
    name = values.name
    if distinct < 2:
        raise DataError(
            f"{source}: target column '{name}' has a single class {present.unique().tolist()!r}; need two to train"
        )
    if distinct == 2:
        return "binary", "two distinct values"
    numbers = _numeric(present)
    if numbers is None:
        if 2 < distinct <= MAX_TEXT_CLASSES:
            return "multiclass", f"{distinct} distinct text labels"
        raise DataError(
            f"{source}: target column '{name}' holds {distinct} distinct text values: too many to be classes; "
            'set model.task ("multiclass" to gate them as classes anyway)'
        )
    whole = bool(np.all(numbers == np.round(numbers)))  # exact: 250000.5 has a fraction at any scale
    if not whole:
        return "regression", "numbers with a fractional part"
    if distinct <= MAX_INTEGER_CLASSES:
        return "multiclass", f"{distinct} distinct whole numbers (at most {MAX_INTEGER_CLASSES})"
    if distinct >= MIN_REGRESSION_VALUES:
        return "regression", f"{distinct} distinct whole numbers (at least {MIN_REGRESSION_VALUES})"
    raise DataError(
        f"{source}: target column '{name}' holds {distinct} distinct whole numbers: classes or amounts? "
        'set model.task = "multiclass" or "regression"'
    )


def binary_target(values: pd.Series, positive_label: object, *, source: str) -> pd.Series:
    """Map the label column to 1 (positive) / 0, checking the positive label exists and two classes do."""
    present = values.dropna().unique().tolist()
    if len(present) < 2:
        raise DataError(f"{source}: target column '{values.name}' has a single class {present!r}; need two to train")
    if len(present) > 2:
        raise DataError(
            f"{source}: target column '{values.name}' has {len(present)} classes {sorted(map(str, present))}; "
            'a binary target has two (model.task = "binary"): set model.task = "multiclass" to gate them all'
        )
    matches = [v for v in present if v == positive_label or str(v) == str(positive_label)]
    if not matches:
        raise DataError(
            f"{source}: positive_label {positive_label!r} not found in target column '{values.name}' "
            f"(values: {sorted(map(str, present))})"
        )
    return (values == matches[0]).astype(np.int64).rename(values.name)


def _ordered(labels: list[Any]) -> list[Any]:
    numbers = pd.to_numeric(pd.Series(labels, dtype=object), errors="coerce")
    if not any(isinstance(v, bool) for v in labels) and not numbers.isna().any():
        return [label for _, label in sorted(zip(numbers.tolist(), labels, strict=True), key=lambda p: p[0])]
    return sorted(labels, key=str)


def multiclass_target(values: pd.Series, *, source: str) -> tuple[pd.Series, tuple[Any, ...]]:
    """Class codes 0 .. k-1 and the k labels in code order."""
    present = values.dropna().unique().tolist()
    if len(present) < 3:
        raise DataError(
            f"{source}: target column '{values.name}' has {len(present)} classes {sorted(map(str, present))}; "
            'a multi-class target has at least 3 (model.task = "multiclass"): set model.task = "binary"'
        )
    classes = [v.item() if hasattr(v, "item") else v for v in _ordered(present)]
    codes = {str(label): code for code, label in enumerate(classes)}
    y = values.map(lambda v: codes[str(v.item() if hasattr(v, "item") else v)]).astype(np.int64)
    return y.rename(values.name), tuple(classes)


def regression_target(values: pd.Series, *, source: str) -> pd.Series:
    """The target as floats; DataError naming the first value that is no number."""
    numbers = pd.to_numeric(values, errors="coerce") if not pd.api.types.is_bool_dtype(values) else None
    bad = values.notna() if numbers is None else (numbers.isna() & values.notna())
    if bool(bad.any()):
        first = values[bad].iloc[0]
        first = first.item() if hasattr(first, "item") else first  # numpy's np.True_ -> True in the message
        count = int(bad.sum())
        what = "value that is not a number" if count == 1 else "values that are not numbers"
        raise DataError(
            f"{source}: target column '{values.name}' has {count} {what} (first: {first!r}); a regression target "
            '(model.task = "regression") must be numeric'
        )
    assert numbers is not None
    if not np.isfinite(numbers.to_numpy(dtype=np.float64)).all():
        raise DataError(
            f"{source}: target column '{values.name}' holds an infinite value; a regression target is finite"
        )
    if numbers.nunique() < 2:
        raise DataError(f"{source}: target column '{values.name}' has a single value; nothing to learn")
    return numbers.astype(np.float64).rename(values.name)


def encode_target(values: pd.Series, task: str, positive_label: object, *, source: str) -> Target:
    """The labelled ``values`` encoded for ``task`` (``auto``: inferred first)."""
    decided_by = "model.task"
    if task == "auto" and positive_label is not None:
        task, decided_by = "binary", 'data.positive_label is set (model.task = "auto")'
    if task == "auto":
        task, why = infer_task(values, source=source)
        decided_by = f'inferred: {why} (model.task = "auto")'
    if task == "binary":
        if positive_label is None:
            raise DataError(
                f"{source}: target column '{values.name}' is binary ({decided_by}); data.positive_label is required "
                "(the label of the positive class)"
            )
        return Target(binary_target(values, positive_label, source=source), task, decided_by)
    if task == "multiclass":
        y, classes = multiclass_target(values, source=source)
        return Target(y, task, decided_by, classes)
    return Target(regression_target(values, source=source), task, decided_by)
