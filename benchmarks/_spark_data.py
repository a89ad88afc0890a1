"""Synthetic German-credit-shaped Parquet folders for bench_spark_scale.py: seeded, written in chunks, cached.

Every row copies the target and the six categorical columns of one bundled row drawn at random (so the label,
sex, job, housing, the accounts and the purpose keep their joint shares, ``not_known`` sentinels included); each
numeric column (``credit_amount``, ``duration``, ``age``) is drawn on its own from the bundled rows of the same
class, then jittered -- ``credit_amount`` by a log-normal factor (sd :data:`AMOUNT_SD`), ``duration`` and ``age``
by a whole number in ``[-INT_JITTER, INT_JITTER]`` -- and clipped to the schema's ``in_range`` (read from the
schema file), so the schema gate passes. Drawing the numbers apart from the categories keeps equal rows rare: the
1,000 rows resampled whole, even jittered, would give ~1.5% copies at 1M rows and ~15% at 10M
(``schema.duplicate_rows`` fails above 5%). Some remain, as the columns' value space is small (two rows are equal
with chance ~9e-10, hardly less with wider jitter: the marginals set it), and their share grows with the rows:
0.04% at 1M, 0.4% at 10M, ~4% at 100M, where that check warns (above 1%).

Chunk ``i`` (``CHUNK_ROWS`` rows, one Parquet file, row groups of ``ROW_GROUP_ROWS`` so Spark can split a file
between cores) comes from ``numpy.random.default_rng([SEED, i])``: a size's files are the first files of any
larger size, and nothing depends on the machine or the run. A folder is reused when its manifest
(``<folder>.json``, written last) matches the rows, the seed and :data:`VERSION`; generation writes to a
temporary folder and renames it, so an interrupted run leaves nothing that looks complete.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "german_credit.csv"
SCHEMA = ROOT / "schemas" / "german_credit.schema.yaml"

SEED = 15  # issue 15: the Spark engine
VERSION = 1  # bump when the rows a seed gives change
CHUNK_ROWS = 1_000_000
ROW_GROUP_ROWS = 131_072
AMOUNT_SD = 0.1
INT_JITTER = 3
TARGET = "risk"
CATEGORICAL = ("sex", "job", "housing", "saving_accounts", "checking_account", "purpose")
NUMERIC = ("credit_amount", "duration", "age")


@dataclass(frozen=True)
class Source:
    """What rows are drawn from: the bundled rows, numeric pools by class, and the schema's ranges."""

    columns: list[str]  # the bundled file's column order
    rows: pd.DataFrame  # target + categorical columns of the bundled rows
    pools: dict[str, dict[int, np.ndarray]]  # numeric column -> class -> that class's observed values
    ranges: dict[str, tuple[int, int]]  # numeric column -> (min, max) from the schema's in_range


def load_source(data: Path = DATA, schema: Path = SCHEMA) -> Source:
    frame = pd.read_csv(data)
    spec = yaml.safe_load(schema.read_text(encoding="utf-8"))["columns"]
    ranges = {c: (int(spec[c]["in_range"]["min_value"]), int(spec[c]["in_range"]["max_value"])) for c in NUMERIC}
    classes = sorted(int(v) for v in frame[TARGET].unique())
    pools = {c: {k: frame.loc[frame[TARGET] == k, c].to_numpy(np.int64) for k in classes} for c in NUMERIC}
    return Source(list(frame.columns), frame[[TARGET, *CATEGORICAL]].reset_index(drop=True), pools, ranges)


def _string_column(values: pd.Series, picks: np.ndarray) -> pa.Array:
    """``values[picks]`` as an Arrow string column (through a dictionary: no Python object per row)."""
    dictionary, codes = np.unique(values.to_numpy(dtype=str), return_inverse=True)
    indices = pa.array(codes[picks].astype(np.int32))
    return pa.DictionaryArray.from_arrays(indices, pa.array(dictionary.tolist())).cast(pa.string())


def _numeric(source: Source, column: str, target: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = np.empty(len(target), dtype=np.int64)
    for label, pool in source.pools[column].items():
        mask = target == label
        out[mask] = pool[rng.integers(0, len(pool), int(mask.sum()))]
    if column == "credit_amount":
        out = np.rint(out * np.exp(rng.normal(0.0, AMOUNT_SD, len(out)))).astype(np.int64)
    else:
        out += rng.integers(-INT_JITTER, INT_JITTER + 1, len(out))
    low, high = source.ranges[column]
    return np.clip(out, low, high)


def chunk(source: Source, index: int, n_rows: int) -> pa.Table:
    """Chunk ``index`` of ``n_rows`` rows (see the module docstring); the same for the same arguments."""
    rng = np.random.default_rng([SEED, index])
    picks = rng.integers(0, len(source.rows), n_rows)
    target = source.rows[TARGET].to_numpy(np.int64)[picks]
    arrays: dict[str, pa.Array] = {TARGET: pa.array(target)}
    arrays["job"] = pa.array(source.rows["job"].to_numpy(np.int64)[picks])  # coded 0-3, as in the CSV
    for column in CATEGORICAL:
        if column != "job":
            arrays[column] = _string_column(source.rows[column], picks)
    for column in NUMERIC:
        arrays[column] = pa.array(_numeric(source, column, target, rng))
    return pa.table({name: arrays[name] for name in source.columns})


def _manifest(rows: int) -> dict[str, int]:
    return {"rows": rows, "seed": SEED, "version": VERSION, "chunk_rows": CHUNK_ROWS}


def dataset(data_dir: Path, rows: int, source: Source | None = None) -> tuple[Path, float | None]:
    """The Parquet folder of ``rows`` rows under ``data_dir`` and the seconds generation took (None: cached)."""
    folder = data_dir / f"german-credit-{rows}"
    manifest = folder.with_suffix(".json")
    if folder.is_dir() and manifest.is_file() and json.loads(manifest.read_text()) == _manifest(rows):
        return folder, None
    started = time.perf_counter()
    source = source or load_source()
    partial = data_dir / f".partial-{folder.name}"
    for stale in (partial, folder):
        shutil.rmtree(stale, ignore_errors=True)
    manifest.unlink(missing_ok=True)
    partial.mkdir(parents=True)
    for index, start in enumerate(range(0, rows, CHUNK_ROWS)):
        table = chunk(source, index, min(CHUNK_ROWS, rows - start))
        pq.write_table(table, partial / f"part-{index:05d}.parquet", row_group_size=ROW_GROUP_ROWS)
    partial.rename(folder)
    manifest.write_text(json.dumps(_manifest(rows)))
    return folder, time.perf_counter() - started
