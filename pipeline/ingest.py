"""Ingest: read the data source (CSV, Parquet or SQL) into a :class:`Dataset` with a content fingerprint.

The fingerprint is a sha256 over the *multiset* of rows: it does not change when rows or columns are
reordered, and changes when any value, column name or column type changes. Each row is hashed with
pandas' vectorised ``hash_pandas_object`` (columns in name order), the row hashes are sorted, and the
sorted array is hashed together with the column names and dtypes. Reordering rows is not a change of the
data a model learns from, so it must not make a champion look stale.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.config import DataSettings
from pipeline.errors import DataError
from pipeline.redact import redact_url

__all__ = ["Dataset", "fingerprint", "load", "row_hashes"]


@dataclass(frozen=True)
class Dataset:
    """A loaded table plus where it came from and what it is."""

    frame: pd.DataFrame
    source: str
    fingerprint: str
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n_rows(self) -> int:
        return len(self.frame)


def row_hashes(frame: pd.DataFrame) -> np.ndarray:
    """One uint64 per row, independent of column order (columns are hashed in name order)."""
    ordered = frame[sorted(frame.columns, key=str)]
    return pd.util.hash_pandas_object(ordered, index=False).to_numpy(dtype=np.uint64)


def fingerprint(frame: pd.DataFrame) -> str:
    """Order-insensitive content hash of a frame (see module docstring)."""
    digest = hashlib.sha256()
    for name in sorted(frame.columns, key=str):
        digest.update(f"{name}\x1f{frame[name].dtype}\x1e".encode())
    digest.update(np.sort(row_hashes(frame)).tobytes())
    return digest.hexdigest()


def _read_csv(path: Path, settings: DataSettings) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, sep=settings.delimiter, encoding=settings.encoding)
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path}: not readable as {settings.encoding} (byte {exc.start}); set data.encoding in the config"
        ) from exc
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{path}: the file is empty") from exc
    except (pd.errors.ParserError, csv.Error) as exc:
        raise DataError(f"{path}: not a valid CSV with delimiter {settings.delimiter!r}: {exc}") from exc
    if frame.shape[1] == 1 and settings.delimiter not in str(frame.columns[0]):
        header = str(frame.columns[0])
        for guess in (";", "\t", "|", ","):
            if guess != settings.delimiter and guess in header:
                raise DataError(
                    f"{path}: only one column read with delimiter {settings.delimiter!r}, but the header "
                    f"contains {guess!r}; set data.delimiter = {guess!r} in the config"
                )
    return frame


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        raise DataError(f"{path}: not a readable Parquet file ({type(exc).__name__}: {exc})") from exc


def _read_sql(url: str, settings: DataSettings) -> pd.DataFrame:
    """The query's rows, read-only and with credentials redacted from every message (see pipeline.sql_source)."""
    from pipeline.sql_source import read_sql

    assert settings.query is not None  # enforced by the config model
    return read_sql(url, settings.query, timeout_s=settings.query_timeout_s)


def load(settings: DataSettings, *, source: str) -> Dataset:
    """Read ``source`` as configured by ``settings``; ``source`` is the resolved path or URL."""
    fmt = settings.resolved_format
    if fmt == "sql":
        frame = _read_sql(source, settings)
        source = redact_url(source)  # what is shown and stored (Dataset.source, messages) never holds a password
    else:
        path = Path(source)
        if not path.exists():
            raise DataError(f"{path}: data file not found")
        if not path.is_file():
            raise DataError(f"{path}: not a file")
        if path.stat().st_size == 0:
            raise DataError(f"{path}: the file is empty")
        try:
            frame = _read_parquet(path) if fmt == "parquet" else _read_csv(path, settings)
        except PermissionError as exc:
            raise DataError(f"{path}: cannot read the data file (permission denied)") from exc
    if frame.empty:
        raise DataError(f"{source}: no data rows")
    frame.columns = [str(c).strip() for c in frame.columns]
    duplicated = frame.columns[frame.columns.duplicated()].tolist()
    if duplicated:
        raise DataError(f"{source}: duplicate column names {duplicated}")
    if settings.target not in frame.columns:
        raise DataError(
            f"{source}: target column '{settings.target}' not found; columns are {', '.join(frame.columns)}"
        )
    meta = {"format": fmt, "rows": int(frame.shape[0]), "columns": int(frame.shape[1])}
    return Dataset(frame=frame, source=source, fingerprint=fingerprint(frame), meta=meta)
