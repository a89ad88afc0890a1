"""Groups of rows: slice columns and sensitive attributes (numeric ones cut into declared bands)."""

from __future__ import annotations

from itertools import pairwise

import pandas as pd

from pipeline.config import SensitiveAttribute

__all__ = ["band_labels", "group_labels"]


def band_labels(attribute: SensitiveAttribute) -> list[str]:
    """Labels of a binned attribute's bands: the declared ones, or ``[lo, hi)`` from the edges."""
    assert attribute.bins is not None
    if attribute.labels is not None:
        return list(attribute.labels)
    edges = [int(b) if float(b).is_integer() else b for b in attribute.bins]
    return [f"[{lo}, {hi})" for lo, hi in pairwise(edges)]


def group_labels(frame: pd.DataFrame, attribute: SensitiveAttribute) -> pd.Series:
    """Each row's group under ``attribute`` as strings; missing (or outside every band) is NA."""
    column = frame[attribute.column]
    if attribute.bins is None:
        return column.astype("string")
    values = pd.to_numeric(column, errors="coerce")
    cut = pd.cut(values, bins=attribute.bins, labels=band_labels(attribute), right=False)
    return cut.astype("string")
