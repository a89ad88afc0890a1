"""Prepare: clean the ingested frame and say exactly what was changed.

Nothing is dropped silently: sentinel strings turned into missing values, values that could not be coerced
to a numeric column, duplicate rows and rows without a label are all counted in :class:`PrepareReport`.
Missing *feature* values are kept (the model's imputer handles them); rows without a label are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pipeline.config import DataSettings, FeatureSettings
from pipeline.errors import DataError

__all__ = ["PrepareReport", "Prepared", "binary_target", "prepare", "resolve_features"]


@dataclass(frozen=True)
class PrepareReport:
    rows_in: int
    rows_out: int
    duplicates_dropped: int
    missing_target_dropped: int
    sentinels_replaced: dict[str, int] = field(default_factory=dict)
    coerced_to_missing: dict[str, int] = field(default_factory=dict)
    missing_values: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "duplicates_dropped": self.duplicates_dropped,
            "missing_target_dropped": self.missing_target_dropped,
            "sentinels_replaced": self.sentinels_replaced,
            "coerced_to_missing": self.coerced_to_missing,
            "missing_values": self.missing_values,
        }


@dataclass(frozen=True)
class Prepared:
    """The cleaned frame, the resolved feature lists and the binary label (1 = positive class)."""

    frame: pd.DataFrame
    target: str
    features: list[str]
    numeric: list[str]
    categorical: list[str]
    y: pd.Series
    report: PrepareReport

    @property
    def X(self) -> pd.DataFrame:
        return self.frame[self.features]


def resolve_features(
    columns: list[str], features: FeatureSettings, *, target: str, source: str, ignore: tuple[str, ...] = ()
) -> list[str]:
    """The feature list: `include` as given, or every column but the target, `exclude` and `ignore`."""
    if features.include is not None:
        missing = [c for c in features.include if c not in columns]
        if missing:
            raise DataError(f"{source}: feature column '{missing[0]}' (features.include) not found")
        if target in features.include:
            raise DataError(f"{source}: the target '{target}' cannot also be a feature (features.include)")
        return list(features.include)
    unknown = [c for c in features.exclude if c not in columns]
    if unknown:
        raise DataError(f"{source}: column '{unknown[0]}' in features.exclude not found")
    dropped = {target, *features.exclude, *ignore}
    chosen = [c for c in columns if c not in dropped]
    if not chosen:
        raise DataError(f"{source}: no feature columns left after excluding {sorted(dropped)}")
    return chosen


def binary_target(values: pd.Series, positive_label: object, *, source: str) -> pd.Series:
    """Map the label column to 1 (positive) / 0, checking the positive label exists and two classes do."""
    present = values.dropna().unique().tolist()
    if len(present) < 2:
        raise DataError(f"{source}: target column '{values.name}' has a single class {present!r}; need two to train")
    if len(present) > 2:
        raise DataError(
            f"{source}: target column '{values.name}' has {len(present)} classes {sorted(map(str, present))}; "
            "mlgate gates binary classifiers"
        )
    matches = [v for v in present if v == positive_label or str(v) == str(positive_label)]
    if not matches:
        raise DataError(
            f"{source}: positive_label {positive_label!r} not found in target column '{values.name}' "
            f"(values: {sorted(map(str, present))})"
        )
    return (values == matches[0]).astype(np.int64).rename(values.name)


def _split_kinds(frame: pd.DataFrame, features: list[str], settings: FeatureSettings) -> tuple[list, list]:
    declared_numeric = set(settings.numeric or [])
    declared_categorical = set(settings.categorical or [])
    for name in declared_numeric | declared_categorical:
        if name not in features:
            raise DataError(f"feature '{name}' (features.numeric/categorical) is not among the features")
    numeric, categorical = [], []
    for name in features:
        if name in declared_categorical:
            categorical.append(name)
        elif name in declared_numeric or pd.api.types.is_numeric_dtype(frame[name].dtype):
            numeric.append(name)
        else:
            categorical.append(name)
    return numeric, categorical


def prepare(frame: pd.DataFrame, data: DataSettings, features: FeatureSettings, *, source: str) -> Prepared:
    """Clean ``frame`` (a copy) as configured and report every change."""
    rows_in = len(frame)
    ignore = (data.event_time_column,) if data.event_time_column else ()
    feature_names = resolve_features(list(frame.columns), features, target=data.target, source=source, ignore=ignore)
    keep = [data.target, *feature_names, *[c for c in ignore if c in frame.columns]]
    if data.event_time_column and data.event_time_column not in frame.columns:
        raise DataError(f"{source}: event-time column '{data.event_time_column}' not found")
    out = frame[keep].copy()

    sentinels: dict[str, int] = {}
    for name in out.columns:
        column = out[name]
        if pd.api.types.is_string_dtype(column.dtype) or column.dtype == object:
            stripped = column.str.strip() if pd.api.types.is_string_dtype(column.dtype) else column
            hits = stripped.isin(data.missing_values) if data.missing_values else pd.Series(False, out.index)
            if hits.any():
                sentinels[name] = int(hits.sum())
            out[name] = stripped.mask(hits)

    numeric, categorical = _split_kinds(out, feature_names, features)
    coerced: dict[str, int] = {}
    for name in numeric:
        if not pd.api.types.is_numeric_dtype(out[name].dtype):
            before = out[name].notna()
            out[name] = pd.to_numeric(out[name], errors="coerce")
            lost = int((before & out[name].isna()).sum())
            if lost:
                coerced[name] = lost
    for name in categorical:
        if pd.api.types.is_numeric_dtype(out[name].dtype):
            out[name] = out[name].astype("string").astype(object).where(out[name].notna(), None)

    missing_target = out[data.target].isna()
    out = out.loc[~missing_target]
    dupes = out.duplicated() if data.drop_duplicates else pd.Series(False, index=out.index)
    out = out.loc[~dupes].reset_index(drop=True)
    if out.empty:
        raise DataError(f"{source}: no rows left after dropping rows without a label and duplicates")

    y = binary_target(out[data.target], data.positive_label, source=source)
    missing = {name: int(n) for name, n in out[feature_names].isna().sum().items() if n}
    report = PrepareReport(
        rows_in=rows_in,
        rows_out=len(out),
        duplicates_dropped=int(dupes.sum()),
        missing_target_dropped=int(missing_target.sum()),
        sentinels_replaced=sentinels,
        coerced_to_missing=coerced,
        missing_values=missing,
    )
    return Prepared(out, data.target, feature_names, numeric, categorical, y, report)
