"""``label_text`` (the live-quality labels, each distinct value converted once) gives what
``checks.drift.category_text`` gives value by value (missing values: NaN or None, both missing), on every kind
of label column a window can hold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlgate.checks.drift import category_text
from mlgate.checks.monitor_quality import label_text


def _texts(values: pd.Series) -> list[object]:
    """The texts, every missing value as None (``labelled`` only asks ``notna`` of them)."""
    return [None if pd.isna(v) else v for v in values]


CASES = [
    pd.Series([1, 0, None, 1, np.nan], dtype=object),
    pd.Series([True, 1, False, 0, None], dtype=object),  # a bool beside numbers: True == 1 hashes alike
    pd.Series([1, 1.0, "1.0", "1", None], dtype=object),
    pd.Series([1.0, 0.0, -0.0, np.nan, 2.5]),
    pd.Series([1, 0, 1], dtype="int64"),
    pd.Series(["good", "bad", None, "good"], dtype="str"),
    pd.Series([np.True_, np.False_, True], dtype=object),
    pd.Series([pd.NA, 1, 2], dtype=object),
    pd.Series([None, None], dtype=object),
    pd.Series([], dtype=object),
]


@pytest.mark.parametrize("values", CASES, ids=range(len(CASES)))
def test_label_text_is_category_text(values: pd.Series) -> None:
    assert _texts(label_text(values)) == _texts(category_text(values))


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([0.0, 1.0, 1.5, -0.0, float("nan")]),
    st.sampled_from(["0", "1", "1.0", "good", "bad"]),
)


@given(st.lists(scalars, max_size=30))
def test_label_text_is_category_text_on_any_mix(values: list[object]) -> None:
    series = pd.Series(values, dtype=object)
    assert _texts(label_text(series)) == _texts(category_text(series))
