"""The row-key split: a seeded, stratified split that the pandas and the Spark engine compute to the same rows.

``split.method = "row_key"`` (the Spark engine's only method; the pandas engine's on request) gives each prepared
row a 64-bit key that depends on nothing but the row's values and the seed, then takes, within each stratum (the
class; a regression target's quantile band), the ``ceil(test_size * n)`` rows with the smallest keys as the test
split and of the rest the ``ceil(validation_size * rest)`` next smallest as the validation split (the sizes
``train_test_split`` gives per stratum). No shuffle, no row order: the same rows whatever the file order, the
partitioning or the number of executors, and duplicates always on one side. Rows whose keys tie at a cut-off go
to the held-out side together (only equal rows tie, but for the ~2^-64 chance of a collision).

The key is Spark's ``xxhash64`` (:func:`hash_long` is its ``hashLong``, bit for bit; tested against Spark) chained
over a canonical form of the row, so Spark computes it with built-in expressions and numpy with vector arithmetic:
``xxhash64(seed, v_1, ..., v_k, y)`` over the features in name order, where a numeric feature is its double
(missing -> NaN; Spark hashes a double's bits, -0.0 as 0.0, every NaN as one), a categorical feature is Spark's
``xxhash64`` of its text's UTF-8 bytes (:func:`hash_bytes`, computed once per distinct value here; missing -> -1;
integral numbers written as integers, ``true``/``false`` in lower case: :func:`canonical_text`), and ``y`` is
the encoded target as a double (the class code, or the value). Until 2026-12-03 a text's part was the first 60
bits of its SHA-256: six times slower on Spark (28.9 vs 4.7 s for the keys of 10M rows), so a ``row_key`` split
made before then chose other rows. One known difference: a categorical column that Spark holds as floats of
10^7 or more is written by Java in E-notation (``1.2345678E7``) and by Python in full, so such rows get different
keys on the two engines.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
import xxhash

__all__ = ["MISSING_TEXT_KEY", "canonical_text", "hash_bytes", "hash_long", "key_parts", "row_keys", "text_keys"]

_P1, _P2, _P3, _P4, _P5 = (
    np.uint64(v)
    for v in (
        11400714785074694791,
        14029467366897019727,
        1609587929392839161,
        9650029242287828579,
        2870177450012600261,
    )
)
#: The key of a missing categorical value (a text whose hash is -1 shares it: a 2^-64 chance).
MISSING_TEXT_KEY = -1
#: Spark's default seed for ``xxhash64``.
SPARK_SEED = 42
_INTEGRAL = re.compile(r"(-?[0-9]+)\.0+")


def _rotl(x: np.ndarray, r: int) -> np.ndarray:
    return (x << np.uint64(r)) | (x >> np.uint64(64 - r))


def hash_long(values: np.ndarray, seed: np.ndarray | int) -> np.ndarray:
    """Spark's ``XXH64.hashLong(value, seed)`` (xxHash64 of the 8 little-endian bytes), on int64 arrays."""
    v = np.asarray(values, dtype=np.int64).view(np.uint64)
    h = np.asarray(seed, dtype=np.int64).view(np.uint64)
    with np.errstate(over="ignore"):
        h = h + _P5 + np.uint64(8)
        h = h ^ (_rotl(v * _P2, 31) * _P1)
        h = _rotl(h, 27) * _P1 + _P4
        h = h ^ (h >> np.uint64(33))
        h = h * _P2
        h = h ^ (h >> np.uint64(29))
        h = h * _P3
        h = h ^ (h >> np.uint64(32))
    return h.view(np.int64)


_M = (1 << 64) - 1


def hash_bytes(data: bytes, seed: int = SPARK_SEED) -> int:
    """Spark's ``XXH64.hashUnsafeBytes(data, seed)`` (what ``xxhash64`` gives a string: xxHash64 of its UTF-8
    bytes), as a signed 64-bit int: the ``xxhash`` package's XXH64 (C; 4x faster than the pure-Python rounds it
    replaced, which gave the same values); tested against Spark on texts of every length class."""
    h = xxhash.xxh64_intdigest(data, seed & _M)
    return h - (1 << 64) if h >= 1 << 63 else h


def _double_bits(values: pd.Series) -> np.ndarray:
    """Java's ``doubleToLongBits`` after Spark's normalisation: -0.0 as 0.0, missing and every NaN as one NaN."""
    numbers: np.ndarray = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan).copy()
    numbers[numbers == 0.0] = 0.0
    numbers[np.isnan(numbers)] = np.nan  # numpy's NaN is Java's canonical 0x7ff8000000000000
    return numbers.view(np.int64)


def canonical_text(text: str) -> str:
    """A categorical value's text as the key reads it: ``2.0`` -> ``2``, ``True`` -> ``true``."""
    if text in {"True", "False", "TRUE", "FALSE"}:
        return text.lower()
    match = _INTEGRAL.fullmatch(text)
    return match.group(1) if match else text


def text_keys(values: pd.Series) -> np.ndarray:
    """Each value's key: Spark's ``xxhash64`` of its canonical text (:func:`hash_bytes`), once per distinct value."""
    text = values.astype(object).where(values.notna(), None)
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    table = np.array(
        [hash_bytes(canonical_text(str(u)).encode()) for u in uniques] + [0],
        dtype=np.int64,
    )
    keys: np.ndarray = table[codes]  # -1 (missing) picks the padding entry, then is overwritten
    keys[codes < 0] = MISSING_TEXT_KEY
    return keys


def key_parts(numeric: Sequence[str], categorical: Sequence[str]) -> list[tuple[str, str]]:
    """The key's columns in order: ``(name, "numeric" | "categorical")`` by feature name."""
    kinds = {**dict.fromkeys(categorical, "categorical"), **dict.fromkeys(numeric, "numeric")}
    return [(name, kinds[name]) for name in sorted(kinds)]


def row_keys(
    frame: pd.DataFrame, y: pd.Series, numeric: Sequence[str], categorical: Sequence[str], seed: int
) -> np.ndarray:
    """Each row's key (int64): the chain of :func:`hash_long` over the seed, the features and ``y``."""
    h = hash_long(np.full(len(frame), seed, dtype=np.int64), SPARK_SEED)
    for name, kind in key_parts(numeric, categorical):
        values = _double_bits(frame[name]) if kind == "numeric" else text_keys(frame[name])
        h = hash_long(values, h)
    return hash_long(_double_bits(y), h)


def cut(keys: np.ndarray, strata: np.ndarray, test_size: float, validation_size: float) -> dict[str, np.ndarray]:
    """Row positions of ``test``, ``validation`` and ``train``: per stratum the smallest keys (module docstring)."""
    part = np.full(len(keys), 0, dtype=np.int8)  # 0 train, 1 test, 2 validation
    for stratum in np.unique(strata):
        members = np.flatnonzero(strata == stratum)
        ordered = np.sort(keys[members])
        n = len(members)
        n_test = math.ceil(test_size * n)
        n_validation = math.ceil(validation_size * (n - n_test)) if validation_size > 0 else 0
        test_edge = ordered[n_test - 1]
        held = keys[members] <= test_edge
        part[members[held]] = 1
        if n_validation:
            validation_edge = ordered[n_test + n_validation - 1]
            part[members[~held & (keys[members] <= validation_edge)]] = 2
    return {
        "train": np.flatnonzero(part == 0),
        "test": np.flatnonzero(part == 1),
        "validation": np.flatnonzero(part == 2),
    }


def time_cut(times: np.ndarray, keys: np.ndarray, n_train: int, n_rest: int) -> np.ndarray:
    """``split.by = "time"`` with row keys: 0 train, 2 validation, 1 test per row. Rows are ordered by (time, key);
    the ``n_train``-th and ``n_rest``-th rows in that order are the edges and every row up to an edge (equal rows
    included, as in :func:`cut`) falls on its side: what the Spark engine computes from its two edges."""
    order = np.lexsort((keys, times))
    part = np.full(len(times), 1, dtype=np.int8)
    for edge_rank, code in ((n_rest, 2), (n_train, 0)):
        if edge_rank < 1:
            continue
        edge = order[edge_rank - 1]
        t, k = times[edge], keys[edge]
        part[(times < t) | ((times == t) & (keys <= k))] = code
    return part
