"""Groups of rows: slice columns and sensitive attributes (numeric ones cut into declared bands)."""

from __future__ import annotations

import pandas as pd

from mlgate.pipeline.config import SensitiveAttribute
from mlgate.pipeline.config_rules import band_labels as config_band_labels

__all__ = ["band_labels", "group_labels"]


def band_labels(attribute: SensitiveAttribute) -> list[str]:
    """Labels of a binned attribute's bands: the declared ones, or ``[lo, hi)`` from the edges (the names the
    config's ``reference`` keys were checked against at load)."""
    assert attribute.bins is not None
    return config_band_labels(attribute.bins, attribute.labels)


def group_labels(frame: pd.DataFrame, attribute: SensitiveAttribute) -> pd.Series:
    """Each row's group under ``attribute`` as strings; missing (or outside every band) is NA."""
    column = frame[attribute.column]
    if attribute.bins is None:
        return column.astype("string")
    values = pd.to_numeric(column, errors="coerce")
    cut = pd.cut(values, bins=attribute.bins, labels=band_labels(attribute), right=False)
    return cut.astype("string")
