"""Category text: how every comparison of two sources' categories spells a value (the drift gate, monitoring).

Split from :mod:`checks.drift`, which re-exports :func:`category_text`.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["category_text"]

_INTEGRAL_TEXT = re.compile(r"-?\d+\.0*")


def category_text(column: pd.Series) -> pd.Series:
    """Each value as category text, integral numbers written as integers (``1``, ``1.0``, ``"1.0"`` -> ``"1"``).

    Two sources of one column disagree on such spellings (an integer column read back from Parquet, the same
    column with a missing value read from a CSV as floats): compared as text they would look like new categories.
    """

    def one(value: Any) -> str | None:
        if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            return None
        if isinstance(value, bool | np.bool_):
            return str(value)
        if isinstance(value, int | np.integer | float | np.floating) and float(value).is_integer():
            return str(int(value))
        text = str(value)
        return text.split(".")[0] if _INTEGRAL_TEXT.fullmatch(text) else text

    return column.map(one).astype(object)
