"""Prepare: clean the ingested frame and say exactly what was changed.

Nothing is dropped silently: sentinel strings turned into missing values, values that could not be coerced
to a numeric column, duplicate rows and rows without a label are all counted in :class:`PrepareReport`.
Missing *feature* values are kept (the model's imputer handles them); rows without a label are dropped.
Duplicate rows are counted (with example groups, by data row) whether or not ``data.drop_duplicates`` drops
them: the schema layer's ``schema.duplicate_rows`` reports them (:mod:`checks.duplicates`).
Values no model can use are refused with the column and row named (:class:`DataError`): an integer beyond 64
bits, ±inf in a numeric feature. Slice and sensitive-attribute columns are kept beside the features (a
sensitive attribute need not be a feature to be judged per group).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mlgate.pipeline.config import DataSettings, FeatureSettings, ProjectConfig
from mlgate.pipeline.errors import DataError
from mlgate.pipeline.target import encode_target

__all__ = ["PrepareReport", "Prepared", "group_columns", "prepare", "resolve_features"]

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


#: Example groups of duplicate rows kept in the report, and data rows shown per group.
DUPLICATE_GROUPS, ROWS_PER_GROUP = 5, 5


@dataclass(frozen=True)
class PrepareReport:
    """Every change preparation made, counted. Rows: ``rows_in`` read, minus ``missing_target_dropped``, minus
    ``duplicates_dropped`` = ``rows_out``. ``duplicate_rows`` counts the rows equal to an earlier labelled row
    (over the kept columns) whether or not they were dropped; ``duplicate_examples`` lists a few groups of equal
    rows by data row (1-based, header not counted), the first of each group first."""

    rows_in: int
    rows_out: int
    duplicates_dropped: int
    missing_target_dropped: int
    sentinels_replaced: dict[str, int] = field(default_factory=dict)
    coerced_to_missing: dict[str, int] = field(default_factory=dict)
    missing_values: dict[str, int] = field(default_factory=dict)
    duplicate_rows: int = 0
    duplicate_examples: list[list[int]] = field(default_factory=list)

    @property
    def rows_labelled(self) -> int:
        """Rows with a label: the rows the duplicate share is taken over."""
        return self.rows_in - self.missing_target_dropped

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "duplicates_dropped": self.duplicates_dropped,
            "missing_target_dropped": self.missing_target_dropped,
            "sentinels_replaced": self.sentinels_replaced,
            "coerced_to_missing": self.coerced_to_missing,
            "missing_values": self.missing_values,
            "duplicate_rows": self.duplicate_rows,
            "duplicate_examples": self.duplicate_examples,
        }


@dataclass(frozen=True)
class Prepared:
    """The cleaned frame, the resolved feature lists and the encoded target (:mod:`pipeline.target`: 1 = positive
    class; a class code 0 .. k-1 indexing ``classes``; a float), with its task.

    ``rows`` holds, for each row of ``frame``, its position in the ingested frame (``source``): the schema gate
    reads columns the config leaves out of ``frame`` (:meth:`unused`) for the same rows.
    """

    frame: pd.DataFrame
    target: str
    features: list[str]
    numeric: list[str]
    categorical: list[str]
    y: pd.Series
    report: PrepareReport
    rows: np.ndarray | None = field(default=None, repr=False, compare=False)
    source: pd.DataFrame | None = field(default=None, repr=False, compare=False)
    missing_markers: tuple[str, ...] = field(default=(), repr=False, compare=False)
    task: str = "binary"
    task_decided_by: str = "model.task"
    classes: tuple[Any, ...] = ()

    def target_record(self) -> dict[str, Any]:
        """The target as a report states it: column, task, how the task was decided, the classes (as text)."""
        classes = [str(c) for c in self.classes]
        return {"column": self.target, "task": self.task, "decided_by": self.task_decided_by, "classes": classes}

    @property
    def X(self) -> pd.DataFrame:
        return self.frame[self.features]

    def unused(self, names: list[str]) -> pd.DataFrame:
        """Ingested columns that ``frame`` leaves out (excluded, or not in ``features.include``), for its rows,
        cleaned like the kept ones (strings stripped, sentinels missing) but not converted: the data as read."""
        if self.source is None or self.rows is None:
            return pd.DataFrame(index=self.frame.index)
        part = self.source[names].iloc[self.rows].reset_index(drop=True)
        _replace_sentinels(part, list(self.missing_markers))
        return part


def group_columns(config: ProjectConfig) -> dict[str, str]:
    """The columns the gates group rows by (slices, sensitive attributes), each with the config key naming it."""
    keys = {column: f"slices.columns[{i}]" for i, column in enumerate(config.slices.columns)}
    for i, attribute in enumerate(config.balance.sensitive):
        keys.setdefault(attribute.column, f"balance.sensitive[{i}].column")
    return keys


def _not_found(source: str, column: str, key: str, columns: list[str]) -> DataError:
    """``column`` named by ``key`` is not in the data: list the real columns (and how pandas names a blank header)."""
    unnamed = [c for c in columns if c.startswith("Unnamed: ")]
    hint = f" (a blank header cell is read as '{unnamed[0]}')" if unnamed else ""
    return DataError(f"{source}: column '{column}' ({key}) not found; columns are {', '.join(columns)}{hint}")


def resolve_features(
    columns: list[str], features: FeatureSettings, *, target: str, source: str, ignore: tuple[str, ...] = ()
) -> list[str]:
    """The feature list: `include` as given, or every column but the target, `exclude` and `ignore`."""
    if features.include is not None:
        missing = [c for c in features.include if c not in columns]
        if missing:
            raise _not_found(source, missing[0], "features.include", columns)
        if target in features.include:
            raise DataError(f"{source}: the target '{target}' cannot also be a feature (features.include)")
        return list(features.include)
    unknown = [c for c in features.exclude if c not in columns]
    if unknown:
        raise _not_found(source, unknown[0], "features.exclude", columns)
    dropped = {target, *features.exclude, *ignore}
    chosen = [c for c in columns if c not in dropped]
    if not chosen:
        raise DataError(f"{source}: no feature columns left after excluding {sorted(dropped)}")
    return chosen


def _split_kinds(
    frame: pd.DataFrame, features: list[str], settings: FeatureSettings, *, source: str
) -> tuple[list[str], list[str]]:
    declared_numeric = settings.numeric or []
    declared_categorical = settings.categorical or []
    for key, names in (("features.numeric", declared_numeric), ("features.categorical", declared_categorical)):
        for name in names:
            if name not in features:
                raise DataError(f"{source}: '{name}' ({key}) is not among the features ({', '.join(features)})")
    numeric: list[str] = []
    categorical: list[str] = []
    for name in features:
        if name in declared_categorical:
            categorical.append(name)
        elif name in declared_numeric or pd.api.types.is_numeric_dtype(frame[name].dtype):
            numeric.append(name)
        else:
            categorical.append(name)
    return numeric, categorical


def _first_row(mask: pd.Series) -> int:
    """The 1-based data row (header not counted) of the first True in ``mask``."""
    return int(np.flatnonzero(mask.to_numpy(dtype=bool))[0]) + 1


def _beyond_int64(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and not _INT64_MIN <= value <= _INT64_MAX


def _refuse_huge_integers(frame: pd.DataFrame, source: str) -> None:
    """An integer beyond 64 bits makes pandas read its column as Python objects (or as uint64): no model input."""
    for name in frame.columns:
        column = frame[name]
        if column.dtype == object:
            huge = column.map(_beyond_int64)
        elif column.dtype == np.uint64:
            huge = column > _INT64_MAX
        else:
            continue
        if huge.any():
            row = _first_row(huge)
            raise DataError(
                f"{source}: column '{name}', data row {row}: the integer {column.iloc[row - 1]} does not fit in 64 "
                f"bits ({int(huge.sum())} such value(s)); correct it, or make the column text"
            )


def _refuse_infinite(frame: pd.DataFrame, numeric: list[str], source: str) -> None:
    for name in numeric:
        infinite = pd.Series(np.isinf(frame[name].to_numpy(dtype=np.float64, na_value=np.nan)), index=frame.index)
        if infinite.any():
            row = _first_row(infinite)
            raise DataError(
                f"{source}: numeric column '{name}' holds {frame[name].iloc[row - 1]} (data row {row}; "
                f"{int(infinite.sum())} infinite value(s)): a model cannot use it; correct it or leave the cell empty"
            )


def _replace_sentinels(out: pd.DataFrame, missing_values: list[str]) -> dict[str, int]:
    """Strip string cells and turn sentinel strings into missing values, in place; the count per column."""
    sentinels: dict[str, int] = {}
    for name in out.columns:
        column = out[name]
        if column.dtype == object:  # mixed Python objects: strip the strings only
            stripped = column.map(lambda v: v.strip() if isinstance(v, str) else v)
        elif pd.api.types.is_string_dtype(column.dtype):
            stripped = column.str.strip()
        else:
            continue
        hits = stripped.isin(missing_values) if missing_values else pd.Series(False, out.index)
        if hits.any():
            sentinels[name] = int(hits.sum())
        out[name] = stripped.mask(hits)
    return sentinels


def _coerce_kinds(out: pd.DataFrame, numeric: list[str], categorical: list[str], source: str) -> dict[str, int]:
    """Give each feature of ``out`` its kind, in place, as the model will see it: numeric columns become numbers
    (a value that is not one becomes missing, counted per column in the result; ±inf is refused), categorical
    columns that read as numbers become text. The training data and a new batch (:mod:`pipeline.batch`) alike."""
    coerced: dict[str, int] = {}
    for name in numeric:
        if not pd.api.types.is_numeric_dtype(out[name].dtype):
            before = out[name].notna()
            out[name] = pd.to_numeric(out[name], errors="coerce")
            lost = int((before & out[name].isna()).sum())
            if lost:
                coerced[name] = lost
    _refuse_infinite(out, numeric, source)
    for name in categorical:
        if pd.api.types.is_numeric_dtype(out[name].dtype):
            out[name] = out[name].astype("string").astype(object).where(out[name].notna(), None)
    return coerced


def _duplicates(frame: pd.DataFrame, positions: np.ndarray) -> tuple[np.ndarray, list[list[int]]]:
    """Which rows equal an earlier row (missing equals missing), and a few groups of equal rows as data rows.

    ``positions`` are the rows' positions in the ingested frame (data row = position + 1).
    """
    duplicated = frame.duplicated(keep="first").to_numpy(dtype=bool)
    if not duplicated.any():
        return duplicated, []
    hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    groups: list[list[int]] = []
    for value in pd.unique(hashes[duplicated])[:DUPLICATE_GROUPS]:  # in order of first duplicate
        members = positions[np.flatnonzero(hashes == value)[:ROWS_PER_GROUP]]
        groups.append([int(p) + 1 for p in members])
    return duplicated, groups


def prepare(
    frame: pd.DataFrame,
    data: DataSettings,
    features: FeatureSettings,
    *,
    source: str,
    groups: Mapping[str, str] | None = None,
    task: str = "auto",
) -> Prepared:
    """Clean ``frame`` (a copy) as configured and report every change; encode the target for ``task``
    (``model.task``; ``auto``: inferred from the labelled values, :mod:`pipeline.target`).

    ``groups`` maps the columns the gates group rows by (see :func:`group_columns`) to the config key naming
    each; they must exist and are kept beside the features.
    """
    rows_in = len(frame)
    columns = list(frame.columns)
    ignore = (data.event_time_column,) if data.event_time_column else ()
    feature_names = resolve_features(columns, features, target=data.target, source=source, ignore=ignore)
    if data.event_time_column and data.event_time_column not in columns:
        raise _not_found(source, data.event_time_column, "data.event_time_column", columns)
    for column, key in (groups or {}).items():
        if column not in columns:
            raise _not_found(source, column, key, columns)
    keep = list(dict.fromkeys([data.target, *feature_names, *(groups or {}), *ignore]))
    out = frame[keep].copy()
    _refuse_huge_integers(out, source)
    sentinels = _replace_sentinels(out, data.missing_values)

    numeric, categorical = _split_kinds(out, feature_names, features, source=source)
    coerced = _coerce_kinds(out, numeric, categorical, source)

    missing_target = out[data.target].isna()
    if missing_target.all():
        raise DataError(f"{source}: target column '{data.target}' has no values (every row is missing its label)")
    positions = np.flatnonzero(~missing_target.to_numpy(dtype=bool))
    out = out.loc[~missing_target]
    duplicated, examples = _duplicates(out, positions)
    dropped = duplicated if data.drop_duplicates else np.zeros(len(out), dtype=bool)
    out = out.loc[~dropped].reset_index(drop=True)
    positions = positions[~dropped]
    if out.empty:
        raise DataError(f"{source}: no rows left after dropping rows without a label and duplicates")

    target = encode_target(out[data.target], task, data.positive_label, source=source)
    missing = {name: int(n) for name, n in out[feature_names].isna().sum().items() if n}
    report = PrepareReport(
        rows_in=rows_in,
        rows_out=len(out),
        duplicates_dropped=int(dropped.sum()),
        missing_target_dropped=int(missing_target.sum()),
        sentinels_replaced=sentinels,
        coerced_to_missing=coerced,
        missing_values=missing,
        duplicate_rows=int(duplicated.sum()),
        duplicate_examples=examples,
    )
    markers = tuple(data.missing_values)
    return Prepared(
        out,
        data.target,
        feature_names,
        numeric,
        categorical,
        target.y,
        report,
        positions,
        frame,
        markers,
        task=target.task,
        task_decided_by=target.decided_by,
        classes=target.classes,
    )
