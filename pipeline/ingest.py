"""Ingest: read the data source (CSV, Parquet or SQL) into a :class:`Dataset` with a content fingerprint.

The fingerprint is a sha256 over the *multiset* of rows: it does not change when rows or columns are
reordered, and changes when any value, column name or column type changes. Each row is hashed with
pandas' vectorised ``hash_pandas_object`` (columns in name order), the row hashes are sorted, and the
sorted array is hashed together with the column names and dtypes. Reordering rows is not a change of the
data a model learns from, so it must not make a champion look stale.
"""

from __future__ import annotations

import codecs
import csv
import errno
import hashlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlgate.pipeline.config import DataSettings
from mlgate.pipeline.errors import DataError
from mlgate.pipeline.redact import redact_url

__all__ = ["Dataset", "check_file", "check_partitions", "fingerprint", "load", "row_hashes"]


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
    hashes: np.ndarray = pd.util.hash_pandas_object(ordered, index=False).to_numpy(dtype=np.uint64)
    return hashes


def fingerprint(frame: pd.DataFrame) -> str:
    """Order-insensitive content hash of a frame (see module docstring)."""
    digest = hashlib.sha256()
    for name in sorted(frame.columns, key=str):
        digest.update(f"{name}\x1f{frame[name].dtype}\x1e".encode())
    digest.update(np.sort(row_hashes(frame)).tobytes())
    return digest.hexdigest()


def check_file(path: Path) -> None:
    """A regular, non-empty file, or a DataError saying what the path is instead (loop, directory, FIFO...)."""
    try:
        info = path.stat()  # follows symlinks: ELOOP for a loop, FileNotFoundError for a dangling link
    except FileNotFoundError as exc:
        if path.is_symlink():
            raise DataError(f"{path}: a symlink to {os.readlink(path)}, which does not exist") from exc
        raise DataError(f"{path}: data file not found") from exc
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise DataError(
                f"{path}: symlink loop (the link leads back to itself); point data.source at the file"
            ) from exc
        raise DataError(f"{path}: cannot read the data file ({exc.strerror})") from exc
    if stat.S_ISDIR(info.st_mode):
        raise DataError(f"{path}: a directory, not a data file; set data.source to the file")
    if not stat.S_ISREG(info.st_mode):
        kind = "a FIFO (named pipe)" if stat.S_ISFIFO(info.st_mode) else "not a regular file"
        kind = "a socket" if stat.S_ISSOCK(info.st_mode) else kind
        kind = "a device" if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode) else kind
        raise DataError(f"{path}: {kind}; data.source must be a regular CSV or Parquet file")
    if info.st_size == 0:
        raise DataError(f"{path}: the file is empty")


def check_partitions(path: Path) -> None:
    """A folder of Parquet files (``format = "parquet"``, e.g. hive partitions ``year=2026/part-0.parquet``)."""
    try:
        found = next((p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in {".parquet", ".pq"}), None)
    except OSError as exc:
        raise DataError(f"{path}: cannot read the Parquet folder ({exc.strerror or exc})") from exc
    if found is None:
        raise DataError(f"{path}: a folder with no .parquet file; data.source must be a file or a Parquet folder")


def _locate_decode_error(path: Path, encoding: str) -> tuple[int, int, bytes] | None:
    """(byte offset in the file, line number, the bytes) of the first undecodable byte, by decoding the file here.

    pandas' UnicodeDecodeError counts from the start of the chunk it was decoding, which is not a position a user
    can find. Reads the file in 1 MiB chunks with the codec's incremental decoder; None when it decodes.
    """
    decoder = codecs.getincrementaldecoder(encoding)()
    offset, line = 0, 1
    with path.open("rb") as handle:
        while True:
            chunk = handle.read(1 << 20)
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                # exc.object is the chunk plus any bytes held back from the previous one: it ends where the chunk ends
                start = offset + len(chunk) - len(exc.object) + exc.start
                before = codecs.decode(exc.object[: exc.start], encoding, errors="replace")
                return start, line + before.count("\n"), exc.object[exc.start : exc.end]
            if not chunk:
                return None
            line += text.count("\n")
            offset += len(chunk)


def _column_at(path: Path, settings: DataSettings, offset: int) -> str | None:
    """The header name of the CSV column holding byte ``offset``, when the encoding is ASCII-compatible."""
    if "\n".encode(settings.encoding, errors="ignore") != b"\n":
        return None
    with path.open("rb") as handle:
        header = handle.readline(1 << 16)
        handle.seek(max(0, offset - (1 << 16)))
        before = handle.read(offset - handle.tell()).rsplit(b"\n", 1)[-1]

    def fields(raw: bytes) -> list[str]:
        text = raw.decode(settings.encoding, errors="replace").rstrip("\r\n")
        return next(csv.reader([text], delimiter=settings.delimiter), [""])

    names, index = fields(header), len(fields(before)) - 1
    return names[index].strip() if 0 <= index < len(names) else None


def _decode_error(path: Path, settings: DataSettings, exc: UnicodeError) -> DataError:
    where = _locate_decode_error(path, settings.encoding)
    if where is None:  # pandas failed where a plain decode does not (e.g. a BOM-less UTF-16 stream)
        return DataError(f"{path}: not readable as {settings.encoding} ({exc}); set data.encoding in the config")
    offset, line, raw = where
    column = _column_at(path, settings, offset)
    in_column = f", column '{column}'" if column else ""
    return DataError(
        f"{path}: not readable as {settings.encoding}: byte {' '.join(f'0x{b:02x}' for b in raw[:4])} at offset "
        f"{offset} of the file "
        f"(line {line}{in_column}); set data.encoding in the config (e.g. 'latin-1' or 'cp1252')"
    )


def _read_csv(path: Path, settings: DataSettings) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, sep=settings.delimiter, encoding=settings.encoding)
    except UnicodeError as exc:
        raise _decode_error(path, settings, exc) from exc
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
    from mlgate.pipeline.sql_source import read_sql

    assert settings.query is not None  # enforced by the config model
    return read_sql(url, settings.query, timeout_s=settings.query_timeout_s)


def load(settings: DataSettings, *, source: str, require_target: bool = True) -> Dataset:
    """Read ``source`` as configured by ``settings``; ``source`` is the resolved path or URL.

    ``require_target=False`` reads a table that may lack the label (a new batch for the drift gate).
    """
    fmt = settings.resolved_format
    if fmt == "sql":
        frame = _read_sql(source, settings)
        source = redact_url(source)  # what is shown and stored (Dataset.source, messages) never holds a password
    else:
        path = Path(source)
        if fmt == "parquet" and path.is_dir():
            check_partitions(path)  # a partitioned dataset: every Parquet file under the folder, in any order
        else:
            check_file(path)
        try:
            frame = _read_parquet(path) if fmt == "parquet" else _read_csv(path, settings)
        except PermissionError as exc:
            raise DataError(f"{path}: cannot read the data file (permission denied)") from exc
        except OSError as exc:  # an I/O error while reading (not a parse error: those are wrapped above)
            raise DataError(f"{path}: cannot read the data file ({exc.strerror or exc})") from exc
    if frame.empty:
        raise DataError(f"{source}: no data rows")
    # A blank header cell: pandas names it 'Unnamed: N' unless it holds spaces; name both alike, so the column can
    # be named in the config (an empty name cannot) and is visible in the messages that list the columns.
    frame.columns = [str(c).strip() or f"Unnamed: {i}" for i, c in enumerate(frame.columns)]
    duplicated = frame.columns[frame.columns.duplicated()].tolist()
    if duplicated:
        raise DataError(f"{source}: duplicate column names {duplicated}")
    if require_target and settings.target not in frame.columns:
        raise DataError(
            f"{source}: target column '{settings.target}' not found; columns are {', '.join(frame.columns)}"
        )
    meta = {"format": fmt, "rows": int(frame.shape[0]), "columns": int(frame.shape[1])}
    return Dataset(frame=frame, source=source, fingerprint=fingerprint(frame), meta=meta)
