"""Split: stratified, seeded train / validation / test partitions."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sklearn.model_selection import train_test_split

from mlgate.pipeline.config import SplitSettings
from mlgate.pipeline.errors import DataError
from mlgate.pipeline.prepare import Prepared

__all__ = ["Split", "split"]


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


def split(prepared: Prepared, settings: SplitSettings, *, random_state: int, source: str = "") -> Split:
    """Split rows into train/test (and validation, carved out of train, when `validation_size` > 0).

    ``source`` (the data file or URL) prefixes error messages.
    """
    frame, y = prepared.frame, prepared.y
    where = f"{source}: " if source else ""
    stratify = y if settings.stratify else None
    counts = y.value_counts()
    if settings.stratify and counts.min() < 3:
        raise DataError(
            f"{where}target '{prepared.target}' has only {int(counts.min())} rows of one class; "
            "need at least 3 per class for a stratified split (split.stratify)"
        )
    try:
        train, test, y_train, y_test = train_test_split(
            frame, y, test_size=settings.test_size, stratify=stratify, random_state=random_state
        )
        validation = y_validation = None
        if settings.validation_size > 0:
            train, validation, y_train, y_validation = train_test_split(
                train,
                y_train,
                test_size=settings.validation_size,
                stratify=y_train if settings.stratify else None,
                random_state=random_state,
            )
    except ValueError as exc:
        raise DataError(
            f"{where}cannot split {len(frame)} rows with split.test_size = {settings.test_size:g} and "
            f"split.validation_size = {settings.validation_size:g}: {exc}"
        ) from exc
    return Split(train, test, validation, y_train, y_test, y_validation, random_state)
