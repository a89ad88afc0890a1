"""Properties of the committed schema: data it generates passes; one value pushed out of bounds always fails."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlgate.checks.result import Status
from mlgate.checks.schema import load_prepared, load_schema, validate
from mlgate.pipeline.config import load_config

CONFIG = load_config(Path(__file__).resolve().parents[3] / "mlgate.toml")
SCHEMA = load_schema(CONFIG.schema_path)
NUMERIC = [n for n, c in SCHEMA.columns.items() if c.checks and c.checks[0].name == "in_range"]
CATEGORICAL = [n for n, c in SCHEMA.columns.items() if c.checks and c.checks[0].name == "isin" and n != "risk"]


@pytest.fixture(scope="module")
def bundled() -> pd.DataFrame:
    return load_prepared(CONFIG).frame


@given(frame=SCHEMA.strategy(size=20))
def test_frames_generated_from_the_committed_schema_pass(frame: pd.DataFrame) -> None:
    results = validate(frame, SCHEMA, source="generated")
    assert [r.id for r in results if r.status is not Status.PASS] == []


@given(
    column=st.sampled_from(NUMERIC),
    row=st.integers(min_value=0, max_value=999),
    above=st.booleans(),
    distance=st.integers(min_value=1, max_value=10**6),
)
def test_one_value_out_of_range_always_fails_that_column(
    bundled: pd.DataFrame, column: str, row: int, above: bool, distance: int
) -> None:
    stats = SCHEMA.columns[column].checks[0].statistics
    low, high = stats["min_value"], stats["max_value"]
    frame = bundled.copy()
    frame.loc[row, column] = high + distance if above else low - distance
    failures = [r for r in validate(frame, SCHEMA, source="mutated") if r.status is not Status.PASS]
    assert [r.id for r in failures] == [f"schema.column[{column}]"]
    word = f"above {high} (max allowed {high}" if above else f"below {low} (min allowed {low}"
    assert f"column '{column}': 1 value {word}" in failures[0].message
    assert failures[0].details["rows"] == [row]


@given(
    column=st.sampled_from(CATEGORICAL),
    row=st.integers(min_value=0, max_value=999),
    value=st.text(min_size=1, max_size=12),
)
def test_one_unknown_category_always_fails_that_column(
    bundled: pd.DataFrame, column: str, row: int, value: str
) -> None:
    allowed = SCHEMA.columns[column].checks[0].statistics["allowed_values"]
    value = value if value not in allowed else value + "?"
    frame = bundled.copy()
    frame.loc[row, column] = value
    failures = [r for r in validate(frame, SCHEMA, source="mutated") if r.status is not Status.PASS]
    assert [r.id for r in failures] == [f"schema.column[{column}]"]
    assert f"column '{column}': 1 value not among the allowed categories" in failures[0].message
    assert failures[0].details["rows"] == [row]
