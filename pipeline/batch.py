"""New data for the drift gate: a batch read and cleaned like the project data, and the training-data reference
it is compared with.

The reference is the champion's training rows: every registered candidate logs its training rows (train +
validation: what the model learned from and chose its threshold on), features and target as prepared, as
``drift/reference.parquet`` (:func:`reference_rows`, :func:`write_reference`). Why rows and not per-column
summaries: the drift gate's tests are exact two-sample tests (Kolmogorov–Smirnov on the values, chi-square on the
category counts), so a later batch gets exactly the statistics the train-vs-test gate uses, with no binning
choice baked into the champion; at most ``drift.reference_max_rows`` rows (a seeded random sample, itself a
sample of the same population) keep the file small. ``drift.log_reference = false`` logs nothing, for data that
must not be copied into the tracking store; comparisons then fall back to the project data.

A batch (:func:`load_batch`) is read with the same readers as ``[data]`` (:func:`pipeline.ingest.load`: CSV,
Parquet, read-only SQL) and cleaned with the same rules as :func:`pipeline.prepare.prepare`: sentinel strings
become missing, each feature is coerced to the kind it has in the project data (a numeric feature's unreadable
values become missing and are counted), numbers in a categorical feature become text. Nothing else is dropped: a
batch is what arrived. The target is optional; a feature the gate tests must be there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from mlgate.pipeline.config import ProjectConfig
from mlgate.pipeline.config_sections import CurrentSource
from mlgate.pipeline.errors import DataError
from mlgate.pipeline.ingest import load
from mlgate.pipeline.prepare import _coerce_kinds, _refuse_huge_integers, _replace_sentinels

if TYPE_CHECKING:
    from mlgate.pipeline.records import DataBundle

__all__ = [
    "REFERENCE_ARTIFACT",
    "Batch",
    "DriftReference",
    "batch_source",
    "load_batch",
    "project_reference",
    "read_reference",
    "reference_rows",
    "write_reference",
]

#: Where a registered candidate's training rows are logged in its run.
REFERENCE_ARTIFACT = "drift/reference.parquet"


@dataclass(frozen=True)
class DriftReference:
    """Training rows a new batch is compared with, and whose they are (for every message)."""

    frame: pd.DataFrame
    description: str  # "champion v3's training data (run 1a2b…)" or "the project data's training rows (...)"
    champion_version: str | None = None  # None: the project data stands in (no champion, or none logged)


@dataclass(frozen=True)
class Batch:
    """A new batch, cleaned like the project data: the features it was asked for, and the target when present."""

    frame: pd.DataFrame
    source: str  # the file, or the URL with its password redacted
    has_labels: bool
    changes: dict[str, Any] = field(default_factory=dict)  # rows, sentinels_replaced, coerced_to_missing


def batch_source(config: ProjectConfig, current: CurrentSource) -> str:
    """The batch's path resolved against the config's folder, or its URL (sqlite paths resolved likewise)."""
    if current.resolved_format == "sql":
        return config.resolve_uri(current.source)
    return str(config.resolve(current.source))


def load_batch(config: ProjectConfig, current: CurrentSource, *, numeric: list[str], categorical: list[str]) -> Batch:
    """Read ``current`` like ``[data]`` and clean it with the project data's feature kinds (module docstring).

    A feature of ``numeric`` / ``categorical`` missing from the batch is a :class:`DataError` naming the batch and
    the column (exit 2), raised before any test runs.
    """
    settings = config.data.model_copy(
        update={
            "source": current.source,
            "format": current.format,
            "query": current.query,
            "query_timeout_s": current.query_timeout_s,
        }
    )
    dataset = load(settings, source=batch_source(config, current), require_target=False)
    frame, source = dataset.frame, dataset.source
    wanted = [*numeric, *categorical]
    absent = [column for column in wanted if column not in frame.columns]
    if absent:
        raise DataError(
            f"{source}: column '{absent[0]}' (a feature the drift gate compares) not found in the current batch"
            f"{f' (+{len(absent) - 1} more)' if len(absent) > 1 else ''}; columns are {', '.join(frame.columns)}"
        )
    target = config.data.target
    out = frame[[*wanted, *([target] if target in frame.columns else [])]].copy()
    _refuse_huge_integers(out, source)
    sentinels = _replace_sentinels(out, config.data.missing_values)
    coerced = _coerce_kinds(out, numeric, categorical, source)
    has_labels = target in out.columns and bool(out[target].notna().any())
    changes = {"rows": len(out), "sentinels_replaced": sentinels, "coerced_to_missing": coerced}
    return Batch(out, source, has_labels, changes)


def reference_rows(data: DataBundle, *, max_rows: int, random_state: int) -> pd.DataFrame:
    """The training rows (train + validation), features and target, at most ``max_rows`` (a seeded sample)."""
    prepared, parts = data.prepared, data.split
    columns = [*prepared.features, prepared.target]
    frames = [parts.train, *([parts.validation] if parts.validation is not None else [])]
    rows = pd.concat([part[columns] for part in frames])
    if len(rows) > max_rows:
        rows = rows.sample(n=max_rows, random_state=random_state)
    return rows.reset_index(drop=True)


def write_reference(rows: pd.DataFrame, path: Path) -> Path:
    """``rows`` as Parquet. A text column holding values of several types is written as text (Parquet needs one
    type per column); numbers stay numbers, so the KS test reads back the same values."""
    out = rows.copy()
    for name in out.columns:
        if out[name].dtype == object:
            out[name] = out[name].map(_text_or_none).astype(object)
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_parquet(path, index=False)
    return path


def _text_or_none(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    return None if value is None or pd.isna(value) else str(value)


def read_reference(path: Path, *, what: str) -> pd.DataFrame:
    """A logged reference read back; a :class:`DataError` naming ``what`` when the file is not readable Parquet."""
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        raise DataError(f"{what}: not a readable Parquet file ({type(exc).__name__}: {exc})") from exc


def project_reference(data: DataBundle, *, why: str) -> DriftReference:
    """The project data's training rows standing in for the champion's (``why``: "no champion yet", ...)."""
    rows = reference_rows(data, max_rows=len(data.prepared.frame) or 1, random_state=0)
    return DriftReference(rows, f"the project data's training rows ({why})", None)
