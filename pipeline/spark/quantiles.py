"""Quantiles of Spark columns for display: exact ones from counts on the driver, approximate ones in Spark.

* :func:`counted_quantiles` — ``checks.stats.sorted_quantiles`` (numpy's linear interpolation) of values held as
  distinct values and their counts, not expanded: the KS results' quantiles when the counts are few
  (:func:`pipeline.spark.profiles.ks_statistics`);
* :func:`quantiles` — approximate quantiles of the non-missing values of a column (``percentile_approx``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from mlgate.pipeline.spark.profiles import _check_columns, _col

__all__ = ["counted_quantiles", "quantiles"]


def counted_quantiles(values: np.ndarray, counts: np.ndarray, levels: Sequence[float]) -> list[float]:
    """``checks.stats.sorted_quantiles`` of ``values`` (ascending) each repeated ``counts`` times, not expanded."""
    cumulative = np.cumsum(counts)
    n = int(cumulative[-1]) if len(cumulative) else 0
    if n == 0:
        return [math.nan] * len(levels)
    position = np.asarray(levels, dtype=np.float64) * (n - 1)
    below = np.floor(position).astype(np.int64)
    above = np.minimum(below + 1, n - 1)
    weight = position - below
    low, high = (values[np.searchsorted(cumulative, i, side="right")] for i in (below, above))
    return [float(x) for x in low * (1.0 - weight) + high * weight]


def quantiles(df: DataFrame, column: str, q: Sequence[float], accuracy: int = 10_000) -> list[float]:
    """Approximate quantiles ``q`` (each in [0, 1]) of the non-missing values of ``column``, for display only.

    Spark's ``percentile_approx``: each result is a value of the data whose rank is within ``n / accuracy`` of the
    exact rank ``q * n`` (relative rank error ``1 / accuracy``; memory grows with ``accuracy``). Unlike
    ``checks.stats.sorted_quantiles`` it does not interpolate between two values. NaN for every ``q`` when the
    column has no value.
    """
    _check_columns(df, [column], numeric=True)
    if any(not 0.0 <= p <= 1.0 for p in q):
        raise ValueError(f"every quantile must be in [0, 1]; got {list(q)}")
    if not q:
        return []
    number = _col(column).cast("double")
    present = df.where(number.isNotNull() & ~F.isnan(number))
    row = present.agg(F.percentile_approx(number, [float(p) for p in q], accuracy).alias("q")).first()
    if row is None or row["q"] is None:
        return [math.nan] * len(q)
    return [float(value) for value in row["q"]]
