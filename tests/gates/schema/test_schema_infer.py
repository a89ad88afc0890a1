"""Schema inference: what it proposes, the YAML it writes, and the round trip through pandera's YAML reader."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlgate.checks.result import Status
from mlgate.checks.schema import infer_for_config, infer_schema, load_schema, schema_yaml, validate
from mlgate.checks.schema_infer import numeric_range
from mlgate.pipeline.config import load_config


def small_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "y": [0, 1, 1, 0],
            "colour": pd.Series(["red", "blue", None, "red"], dtype="str"),
            "size": [10, 20, 30, 110],
            "score": [-1.5, 0.25, 2.0, np.nan],
            "when": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]),
        }
    )


def infer_small(**kwargs) -> pa.DataFrameSchema:
    options = {"target": "y", "categorical": ["colour"], "numeric": ["size", "score"], **kwargs}
    return infer_schema(small_frame(), **options)


def test_inference_proposes_types_nullability_categories_and_ranges() -> None:
    schema = infer_small()
    cols = schema.columns
    assert schema.strict is True and schema.ordered is False and schema.coerce is False
    assert list(cols) == ["y", "colour", "size", "score", "when"]
    assert [str(cols[c].dtype) for c in cols] == ["int64", "string[pyarrow]", "int64", "float64", "datetime64[ns]"]
    assert {c: cols[c].nullable for c in cols} == {
        "y": False,
        "colour": True,
        "size": False,
        "score": True,
        "when": False,
    }
    assert cols["y"].checks[0].statistics["allowed_values"] == [0, 1]
    assert cols["colour"].checks[0].statistics["allowed_values"] == ["blue", "red"]
    # size: range 100, margin 10 -> [0 (never below 0 when min >= 0), 120]
    assert cols["size"].checks[0].statistics == {
        "min_value": 0,
        "max_value": 120,
        "include_min": True,
        "include_max": True,
    }
    # score: range 3.5, margin 0.35 -> [-1.85, 2.35]
    stats = cols["score"].checks[0].statistics
    assert (stats["min_value"], stats["max_value"]) == (-1.85, 2.35)
    assert cols["when"].checks == []


def test_the_inferred_schema_accepts_its_own_data() -> None:
    results = validate(small_frame(), infer_small(), source="small")
    assert all(r.status is Status.PASS for r in results)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target": "label"}, r"column 'label' \(target\) is not in the frame"),
        ({"numeric": ["size", "weight"]}, r"column 'weight' \(numeric\) is not in the frame"),
        ({"categorical": ["size"]}, r"column 'size' is listed as both categorical and numeric"),
        ({"margin": -0.1}, r"margin must be >= 0, got -0.1"),
    ],
)
def test_inference_rejects_bad_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        infer_small(**kwargs)


def test_yaml_has_a_review_header_and_round_trips() -> None:
    schema = infer_small()
    text = schema_yaml(schema, source="data/small.csv", on=date(2025, 3, 1))
    assert text.startswith("# Proposed by `mlgate schema infer` on 2025-03-01 from data/small.csv.\n")
    assert "then commit it" in text
    back = pa.DataFrameSchema.from_yaml(text)
    assert back == schema
    assert back.to_yaml() == schema.to_yaml()


def test_infer_for_config_matches_the_committed_schema_except_reviewed_ranges(german_config_path: Path) -> None:
    config = load_config(german_config_path)
    proposed = pa.DataFrameSchema.from_yaml(infer_for_config(config, on=date(2025, 1, 1)))
    committed = load_schema(config.schema_path)
    assert list(proposed.columns) == list(committed.columns)
    assert (proposed.strict, proposed.ordered) == (committed.strict, committed.ordered)
    for name, column in committed.columns.items():
        other = proposed.columns[name]
        assert (str(other.dtype), other.nullable) == (str(column.dtype), column.nullable), name
        assert [c.name for c in other.checks] == [c.name for c in column.checks], name
        if column.checks[0].name == "isin":  # categories as observed
            assert other.checks[0].statistics == column.checks[0].statistics, name
    # the proposal is the +-10% range; the committed file says adults only
    assert proposed.columns["age"].checks[0].statistics["min_value"] == 13
    assert committed.columns["age"].checks[0].statistics["min_value"] == 18


@pytest.mark.parametrize(
    ("values", "margin", "expected"),
    [
        ([19, 75], 0.1, (13.0, 81.0)),  # 56 * 0.1 = 5.6, rounded outwards
        ([2, 10], 0.5, (0.0, 14.0)),  # would go to -2, but the data is never negative
        ([-4, 6], 0.1, (-5.0, 7.0)),
        ([5, 5], 0.1, (4.0, 6.0)),  # a constant column widens by margin x |value|
        ([0.1234, 0.5678], 0.0, (0.123, 0.568)),  # floats rounded outwards to 3 significant digits
    ],
)
def test_numeric_range(values: list, margin: float, expected: tuple) -> None:
    assert numeric_range(pd.Series(values), margin=margin) == expected


def test_numeric_range_of_an_empty_column_is_none() -> None:
    assert numeric_range(pd.Series([np.nan, np.nan]), margin=0.1) is None


finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@given(
    values=st.lists(st.one_of(finite, st.just(float("nan"))), min_size=1, max_size=30),
    ints=st.lists(st.integers(min_value=-1000, max_value=1000), min_size=1, max_size=30),
    margin=st.floats(min_value=0.0, max_value=1.0),
)
def test_inferred_numeric_schema_always_accepts_its_source(values: list, ints: list, margin: float) -> None:
    frame = pd.DataFrame({"y": [0, 1] * 15})
    frame["x"] = pd.Series(values + [values[0]] * (30 - len(values)), dtype="float64")
    frame["n"] = pd.Series(ints + [ints[0]] * (30 - len(ints)), dtype="int64")
    schema = infer_schema(frame, target="y", categorical=[], numeric=["x", "n"], margin=margin)
    assert schema.columns["x"].nullable == bool(frame["x"].isna().any())
    for name in ("x", "n"):
        checks = schema.columns[name].checks
        if checks and frame[name].min() >= 0:
            assert checks[0].statistics["min_value"] >= 0
    assert all(r.status is Status.PASS for r in validate(frame, schema, source="generated"))


def test_rounding_a_subnormal_bound_keeps_it() -> None:
    """Found by Hypothesis (CI profile): 10**-326 underflows to 0 and the rounding divided by it."""
    from mlgate.checks.schema_infer import _round_out

    assert _round_out(5e-324, down=True) == 5e-324
    assert _round_out(-5e-324, down=False) == -5e-324
