"""Split: train / validation / test partitions, either stratified and seeded (``split.by = "random"``) or by
time (``split.by = "time"``: train on the past, test on the most recent rows).

A time split orders the rows by ``data.event_time_column`` and cuts the most recent ``test_size`` share off as
the test split, then the most recent ``validation_size`` share of the rest as the validation split: the same
sizes ``sklearn.model_selection.train_test_split`` gives (the held-out share rounded up). Nothing is shuffled,
so the train-vs-test drift gate compares the past with the present and can see real change. Ties in time are
ordered by row content (:func:`pipeline.ingest.row_hashes`), not by file position, so the same rows in another
order split the same way (the data fingerprint ignores row order too).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlgate.pipeline.config import SplitSettings
from mlgate.pipeline.errors import DataError
from mlgate.pipeline.ingest import row_hashes
from mlgate.pipeline.prepare import Prepared
from mlgate.pipeline.shuffle_split import SplitError, shuffle_split

__all__ = ["Split", "event_order", "event_times", "split", "strata_of", "time_sizes"]


@dataclass(frozen=True)
class Split:
    """Row positions of each partition in ``Prepared.frame`` plus the partitions themselves."""

    train: pd.DataFrame
    test: pd.DataFrame
    validation: pd.DataFrame | None
    y_train: pd.Series
    y_test: pd.Series
    y_validation: pd.Series | None
    random_state: int
    by: str = "random"


#: A regression target is stratified by the deciles of its values (fewer bands on small data).
REGRESSION_STRATA = 10


def strata_of(y: pd.Series, task: str) -> pd.Series:
    """What a stratified split keeps in proportion: the class, or for regression the target's quantile band
    (up to :data:`REGRESSION_STRATA` bands of at least 3 rows each), so both parts see the whole range."""
    if task != "regression":
        return y
    bands = max(1, min(REGRESSION_STRATA, len(y) // 6))
    codes = pd.qcut(y.rank(method="first"), bands, labels=False)
    return pd.Series(np.asarray(codes, dtype=np.int64), index=y.index, name=y.name)


def split(
    prepared: Prepared,
    settings: SplitSettings,
    *,
    random_state: int,
    source: str = "",
    time_column: str | None = None,
) -> Split:
    """Split rows into train/test (and validation, carved out of train, when `validation_size` > 0).

    ``source`` (the data file or URL) prefixes error messages. ``settings.by == "time"`` orders the rows by
    ``time_column`` (``data.event_time_column``, which :func:`pipeline.prepare.prepare` keeps in the frame).
    """
    if settings.by == "time":
        return _time_split(prepared, settings, time_column, source=source, random_state=random_state)
    frame, y = prepared.frame, prepared.y
    where = f"{source}: " if source else ""
    strata = strata_of(y, prepared.task)
    counts = strata.value_counts()
    if settings.stratify and counts.min() < 3:
        if prepared.task == "multiclass":
            rare = prepared.classes[int(counts.idxmin())]
            raise DataError(
                f"{where}target '{prepared.target}' has only {int(counts.min())} rows of class {rare!r}; need at "
                "least 3 per class for a stratified split (split.stratify): merge it into a related class or drop "
                "its rows, or set split.stratify = false"
            )
        raise DataError(
            f"{where}target '{prepared.target}' has only {int(counts.min())} rows of one class; "
            "need at least 3 per class for a stratified split (split.stratify)"
        )
    if settings.method == "row_key":
        return _row_key_split(prepared, settings, strata.to_numpy(), random_state)
    try:  # row for row what sklearn's train_test_split gives (pipeline.shuffle_split, without importing it)
        rows, held = shuffle_split(
            strata.to_numpy(), test_size=settings.test_size, random_state=random_state, stratify=settings.stratify
        )
        train, test, y_train, y_test = frame.iloc[rows], frame.iloc[held], y.iloc[rows], y.iloc[held]
        validation = y_validation = None
        if settings.validation_size > 0:
            rows, held = shuffle_split(
                strata_of(y_train, prepared.task).to_numpy(),
                test_size=settings.validation_size,
                random_state=random_state,
                stratify=settings.stratify,
            )
            train, validation = train.iloc[rows], train.iloc[held]
            y_train, y_validation = y_train.iloc[rows], y_train.iloc[held]
    except SplitError as exc:
        raise DataError(
            f"{where}cannot split {len(frame)} rows with split.test_size = {settings.test_size:g} and "
            f"split.validation_size = {settings.validation_size:g}: {exc}"
        ) from exc
    return Split(train, test, validation, y_train, y_test, y_validation, random_state)


def event_order(frame: pd.DataFrame, column: str, *, source: str = "") -> np.ndarray:
    """Row positions of ``frame`` from the oldest to the newest ``column`` value, ties ordered by row content.

    A numeric column is ordered by its numbers; any other by its values parsed as dates (UTC). A missing or
    unparseable time cannot be placed in time: a :class:`DataError` names the column, the count and the first.
    """
    times = event_times(frame, column, source=source)
    order: np.ndarray = np.lexsort((row_hashes(frame), times))  # the last key sorts first: time, then content
    return order


def event_times(frame: pd.DataFrame, column: str, *, source: str = "") -> np.ndarray:
    """``column`` as float64 times (numbers, or dates parsed as UTC nanoseconds); a missing one is a DataError."""
    where = f"{source}: " if source else ""
    values = frame[column]
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        times: np.ndarray = values.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        parsed = pd.to_datetime(values, utc=True, errors="coerce", format="mixed")
        times = parsed.to_numpy(dtype="datetime64[ns]").astype(np.int64).astype(np.float64)
        times[parsed.isna().to_numpy()] = np.nan
    bad = np.isnan(times)
    if bad.any():
        first = values.iloc[int(np.flatnonzero(bad)[0])]
        raise DataError(
            f"{where}split.by = \"time\": column '{column}' (data.event_time_column) has {int(bad.sum())} value(s) "
            f"that are not times (first: {first!r}); every row needs a time to be placed in the time split"
        )
    return times


def _held_out(n: int, share: float) -> int:
    return math.ceil(share * n)  # train_test_split's rounding of test_size


def time_sizes(n: int, settings: SplitSettings, where: str = "") -> tuple[int, int, int]:
    """(train, validation, train + validation) rows of a time split of ``n`` rows, or a DataError."""
    n_test = _held_out(n, settings.test_size)
    n_rest = n - n_test
    n_validation = _held_out(n_rest, settings.validation_size) if settings.validation_size > 0 else 0
    n_train = n_rest - n_validation
    if n_train < 1 or n_test < 1 or (settings.validation_size > 0 and n_validation < 1):
        raise DataError(
            f"{where}cannot split {n} rows by time with split.test_size = {settings.test_size:g} and "
            f"split.validation_size = {settings.validation_size:g}: a partition would be empty"
        )
    return n_train, n_validation, n_rest


def _time_split(
    prepared: Prepared, settings: SplitSettings, column: str | None, *, source: str, random_state: int
) -> Split:
    """The most recent rows as test, the most recent of the rest as validation (module docstring)."""
    frame, y = prepared.frame, prepared.y
    where = f"{source}: " if source else ""
    if column is None or column not in frame.columns:
        raise DataError(f'{where}split.by = "time" needs data.event_time_column, a column of the data')
    if settings.method == "row_key":  # ties in time by row key, edges as the Spark engine draws them
        from mlgate.pipeline.row_key import row_keys, time_cut

        times = event_times(frame, column, source=source)
        n_train, _, n_rest = time_sizes(len(times), settings, where)
        keys = row_keys(frame, y, prepared.numeric, prepared.categorical, 0)
        part = time_cut(times, keys, n_train, n_rest)
        parts = {name: np.flatnonzero(part == code) for name, code in (("train", 0), ("validation", 2), ("test", 1))}
    else:
        order = event_order(frame, column, source=source)
        n_train, _, n_rest = time_sizes(len(order), settings, where)
        parts = {"train": order[:n_train], "validation": order[n_train:n_rest], "test": order[n_rest:]}
    n_validation = len(parts["validation"])
    for name, rows in parts.items():
        classes = y.iloc[rows].nunique()
        if len(rows) and classes < 2:
            times = frame[column].iloc[rows]
            raise DataError(
                f"{where}split.by = \"time\": the {name} split ({len(rows)} rows, '{column}' from {times.min()} to "
                f"{times.max()}) holds one class of '{prepared.target}' only; a model cannot be trained or judged "
                "on it: change split.test_size / split.validation_size or use more data"
            )
    train, test = frame.iloc[parts["train"]], frame.iloc[parts["test"]]
    validation = frame.iloc[parts["validation"]] if n_validation else None
    y_validation = y.iloc[parts["validation"]] if n_validation else None
    return Split(
        train, test, validation, y.iloc[parts["train"]], y.iloc[parts["test"]], y_validation, random_state, by="time"
    )


def _row_key_split(prepared: Prepared, settings: SplitSettings, strata: np.ndarray, random_state: int) -> Split:
    """``split.method = "row_key"``: the rows the Spark engine picks for the same data (:mod:`pipeline.row_key`)."""
    from mlgate.pipeline.row_key import cut, row_keys

    frame, y = prepared.frame, prepared.y
    keys = row_keys(frame, y, prepared.numeric, prepared.categorical, random_state)
    stratified = strata if settings.stratify else np.zeros(len(frame), dtype=np.int64)
    parts = cut(keys, stratified, settings.test_size, settings.validation_size)
    validation = y_validation = None
    if settings.validation_size > 0:
        validation, y_validation = frame.iloc[parts["validation"]], y.iloc[parts["validation"]]
    train, test = frame.iloc[parts["train"]], frame.iloc[parts["test"]]
    return Split(train, test, validation, y.iloc[parts["train"]], y.iloc[parts["test"]], y_validation, random_state)
