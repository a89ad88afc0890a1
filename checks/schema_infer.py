"""Propose a pandera schema from data, for a human to review and commit (``mlgate schema infer``).

The proposal describes the *prepared* frame (sentinels already missing, numeric columns coerced, target kept):

* every column gets its observed dtype and is nullable only if a missing value was seen;
* categorical columns and a classifier's target get ``isin`` with the observed categories (a regression target:
  a range, like a numeric column);
* numeric columns get ``in_range`` widened by ``margin`` x (max - min) on both sides, rounded outwards, and
  never below 0 when every observed value was >= 0;
* the column set is ``strict`` (an unknown extra column fails) but not ``ordered``: models select columns by
  name, so reordering columns in a CSV is not a schema change;
* nothing is coerced: the gate checks types, it does not convert them;
* a column that looks like a row identifier (:func:`checks.integrity.identifier_reason`: unique per row, or
  numbered in row order) gets NO range (the next batch's ids lie outside any range seen so far) and is named in
  a comment of the proposal's header; :func:`infer_with_notes` also returns those notes, which ``mlgate schema
  infer`` prints on stderr.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from mlgate.checks.integrity import identifier_reason

if TYPE_CHECKING:
    from mlgate.pipeline.config import ProjectConfig
    from mlgate.pipeline.prepare import Prepared

__all__ = ["find_identifiers", "infer_for_config", "infer_schema", "infer_with_notes", "load_prepared", "schema_yaml"]

_STRING_DTYPE = "str"  # pandera resolves it to pandas' default string dtype (string[pyarrow] on pandas 3)


def _is_string_like(column: pd.Series) -> bool:
    if isinstance(column.dtype, pd.StringDtype):
        return True
    return column.dtype == object and pd.api.types.infer_dtype(column, skipna=True) in {"string", "empty"}


def _dtype_of(column: pd.Series) -> Any:
    return _STRING_DTYPE if _is_string_like(column) else str(column.dtype)


def _native(value: Any) -> Any:
    """numpy scalars -> plain Python values, so the YAML shows ``18`` and not a numpy tag."""
    return value.item() if isinstance(value, np.generic) else value


def _round_out(value: float, *, down: bool, digits: int = 3) -> float:
    """Round to ``digits`` significant digits, away from the observed data (down for a min, up for a max)."""
    if value == 0 or not math.isfinite(value):
        return float(value)
    scale = 10.0 ** (math.floor(math.log10(abs(value))) - digits + 1)
    if scale == 0.0 or not math.isfinite(value / scale):  # subnormal values: 10**-326 underflows to 0
        return float(value)
    rounded = (math.floor if down else math.ceil)(value / scale) * scale
    if not math.isfinite(rounded):  # rounding 1.79e308 up overflows: a bound must stay finite
        return float(value)
    return float(round(rounded, max(0, -math.floor(math.log10(scale)))))


def numeric_range(column: pd.Series, *, margin: float) -> tuple[float, float] | None:
    """``[min, max]`` widened by ``margin`` x range on each side; None when the column has no values."""
    values = column.dropna()
    if values.empty:
        return None
    low, high = float(values.min()), float(values.max())
    spread = (high - low) or abs(low)
    lower, upper = low - margin * spread, high + margin * spread
    if not math.isfinite(lower) or not math.isfinite(upper):  # widening past the float range: keep the data's
        lower, upper = (lower if math.isfinite(lower) else low), (upper if math.isfinite(upper) else high)
    if low >= 0:
        lower = max(lower, 0.0)
    if pd.api.types.is_integer_dtype(column.dtype):
        return float(math.floor(lower)), float(math.ceil(upper))
    return _round_out(lower, down=True), _round_out(upper, down=False)


def _bound(value: float, column: pd.Series) -> int | float:
    return int(value) if pd.api.types.is_integer_dtype(column.dtype) else value


def _column(column: pd.Series, *, kind: str, margin: float) -> pa.Column:
    checks: list[pa.Check] = []
    nullable = bool(column.isna().any())
    if kind == "categorical":
        categories = sorted({_native(v) for v in column.dropna().unique()}, key=lambda v: (str(type(v)), v))
        checks.append(pa.Check.isin(categories))
    elif kind == "numeric" and pd.api.types.is_numeric_dtype(column.dtype) and column.dtype != bool:
        bounds = numeric_range(column, margin=margin)
        if bounds is not None:
            checks.append(pa.Check.in_range(_bound(bounds[0], column), _bound(bounds[1], column)))
    return pa.Column(_dtype_of(column), checks=checks, nullable=nullable, coerce=False)


def find_identifiers(frame: pd.DataFrame, *, target: str, share: float = 0.95) -> dict[str, str]:
    """Column -> why it looks like a row identifier, for every column of ``frame`` but the target."""
    found = {str(name): identifier_reason(frame[name], share=share) for name in frame.columns if name != target}
    return {name: why for name, why in found.items() if why is not None}


def infer_schema(
    frame: pd.DataFrame,
    *,
    target: str,
    categorical: list[str],
    numeric: list[str],
    margin: float = 0.1,
    identifiers: Collection[str] = (),
    task: str = "binary",
) -> pa.DataFrameSchema:
    """Propose a strict schema for ``frame`` (see the module docstring for what is inferred).

    Columns in neither list (e.g. an event-time column), and ``identifiers``, get their dtype and nullability only.
    """
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    for label, names in (("target", [target]), ("categorical", categorical), ("numeric", numeric)):
        missing = [name for name in names if name not in frame.columns]
        if missing:
            raise ValueError(f"column '{missing[0]}' ({label}) is not in the frame; columns: {list(frame.columns)}")
    both = set(categorical) & set(numeric)
    if both:
        raise ValueError(f"column '{sorted(both)[0]}' is listed as both categorical and numeric")
    kinds = {**dict.fromkeys(numeric, "numeric"), **dict.fromkeys(categorical, "categorical")}
    kinds[target] = "numeric" if task == "regression" else "categorical"  # a classifier's labels are categories
    kinds.update(dict.fromkeys(identifiers, "other"))  # no range: the next batch's ids lie outside it
    columns = {str(name): _column(frame[name], kind=kinds.get(name, "other"), margin=margin) for name in frame.columns}
    return pa.DataFrameSchema(columns, strict=True, ordered=False, coerce=False)


def schema_yaml(
    schema: pa.DataFrameSchema,
    *,
    source: str = "unknown data",
    on: date | None = None,
    identifiers: Mapping[str, str] | None = None,
) -> str:
    """``schema.to_yaml()`` under a header saying where the proposal came from and that it needs a review, and
    naming the columns that look like identifiers (``identifiers``: column -> why)."""
    day = (on or date.today()).isoformat()
    header = (
        f"# Proposed by `mlgate schema infer` on {day} from {source}.\n"
        "# Review it (ranges, categories, nullability), then commit it: the schema gate validates the prepared\n"
        "# data against this file. strict: unknown extra columns fail; column order is not checked.\n"
    )
    if identifiers:
        header += (
            "#\n# Looks like an identifier, so no range is proposed (a model can only memorise it; leave it out of\n"
            "# the features with features.exclude; the schema gate flags it as schema.identifier):\n"
        )
        header += "".join(f"#   {name}: {why}\n" for name, why in identifiers.items())
    return header + str(schema.to_yaml())


def load_prepared(config: ProjectConfig) -> Prepared:
    """Ingest and prepare the configured data (no split, no sklearn import): what the schema gate validates."""
    from mlgate.pipeline.dataload import load_prepared as load_configured

    return load_configured(config)


def infer_with_notes(config: ProjectConfig, *, margin: float = 0.1, on: date | None = None) -> tuple[str, list[str]]:
    """The proposed schema as reviewable YAML text, and one line per column that looks like an identifier (for
    the command to print on stderr)."""
    prepared = load_prepared(config)
    identifiers = find_identifiers(prepared.frame, target=prepared.target, share=config.integrity.identifier_share)
    schema = infer_schema(
        prepared.frame,
        target=prepared.target,
        categorical=prepared.categorical,
        numeric=prepared.numeric,
        margin=margin,
        identifiers=identifiers,
        task=prepared.task,
    )
    source = config.data.source if config.data.resolved_format != "sql" else "the configured SQL query"
    notes = [
        f"column '{name}' looks like an identifier ({why}): no range proposed" for name, why in identifiers.items()
    ]
    return schema_yaml(schema, source=source, on=on, identifiers=identifiers), notes


def infer_for_config(config: ProjectConfig, *, margin: float = 0.1, on: date | None = None) -> str:
    """Load and prepare the configured data and return the proposed schema as reviewable YAML text."""
    return infer_with_notes(config, margin=margin, on=on)[0]
