"""The schema gate: the bundled data passes its committed schema; every kind of violation fails, by column."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlgate.checks.evidence import Evidence
from mlgate.checks.result import Status
from mlgate.checks.schema import load_prepared, load_schema, run, validate
from mlgate.pipeline.candidate import load_data
from mlgate.pipeline.config import load_config
from mlgate.pipeline.errors import SchemaFileError


@pytest.fixture(scope="module")
def config(german_config_path: Path):
    return load_config(german_config_path)


@pytest.fixture(scope="module")
def schema(config):
    return load_schema(config.schema_path)


@pytest.fixture(scope="module")
def prepared_frame(config) -> pd.DataFrame:
    return load_prepared(config).frame


@pytest.fixture
def frame(prepared_frame: pd.DataFrame) -> pd.DataFrame:
    return prepared_frame.copy()


def by_id(results) -> dict:
    return {r.id: r for r in results}


def failing(results) -> dict:
    return {r.id: r for r in results if r.status is Status.FAIL}


def test_bundled_data_passes_the_committed_schema(frame: pd.DataFrame, schema) -> None:
    results = validate(frame, schema, source="data/german_credit.csv")
    assert [r.status for r in results] == [Status.PASS] * (1 + len(schema.columns))
    ids = [r.id for r in results]
    assert ids[0] == "schema.columns"
    assert set(ids[1:]) == {f"schema.column[{name}]" for name in frame.columns}
    assert all(r.layer == "schema" for r in results)
    assert "all 10 schema columns present, no unexpected columns" in results[0].message
    age = by_id(results)["schema.column[age]"]
    assert age.message == "column 'age': 1000 values match dtype int64, no missing values and in_range(18, 100)"


def test_run_validates_the_evidence_prepared_frame(config) -> None:
    data = load_data(config)
    evidence = Evidence(config=config, dataset=data.dataset, prepared=data.prepared, split=data.split)
    results = run(evidence)
    assert results and all(r.status is Status.PASS for r in results)
    assert results[0].details["source"].endswith("german_credit.csv")


def test_run_raises_a_schema_file_error_for_a_missing_schema(project_copy: Path) -> None:
    (project_copy / "schemas" / "german_credit.schema.yaml").unlink()
    config = load_config(project_copy / "mlgate.toml")
    data = load_data(config)
    evidence = Evidence(config=config, dataset=data.dataset, prepared=data.prepared, split=data.split)
    with pytest.raises(SchemaFileError, match=r"german_credit\.schema\.yaml: schema file not found; propose one"):
        run(evidence)


def _text_in_numeric(f: pd.DataFrame) -> None:
    f["credit_amount"] = f["credit_amount"].astype("str")
    f.loc[4, "credit_amount"] = "lots"


def _below_range(f: pd.DataFrame) -> None:
    f.loc[[3, 17, 40], "age"] = [16, 12, 17]


def _above_range(f: pd.DataFrame) -> None:
    f.loc[[8, 2], "duration"] = [120, 96]


def _unknown_category(f: pd.DataFrame) -> None:
    f.loc[[5, 6], "housing"] = ["castle", "boat"]


def _null_in_non_nullable(f: pd.DataFrame) -> None:
    f.loc[[11, 12], "purpose"] = np.nan


def _null_in_non_nullable_numeric(f: pd.DataFrame) -> None:
    f["age"] = f["age"].astype("float64")
    f.loc[7, "age"] = np.nan


VIOLATIONS: dict[str, tuple[Callable[[pd.DataFrame], None], str, str]] = {
    "text in a numeric column": (
        _text_in_numeric,
        "credit_amount",
        "column 'credit_amount': dtype str, expected int64: 1 value cannot be read as int64, e.g. 'lots'; "
        "first rows: 4",
    ),
    "value below range": (
        _below_range,
        "age",
        "column 'age': 3 values below 18 (min allowed 18, lowest 12); first rows: 3, 17, 40",
    ),
    "value above range": (
        _above_range,
        "duration",
        "column 'duration': 2 values above 84 (max allowed 84, highest 120); first rows: 2, 8",
    ),
    "unknown category": (
        _unknown_category,
        "housing",
        "column 'housing': 2 values not among the allowed categories ['free', 'own', 'rent'] "
        "(observed 'castle', 'boat'); first rows: 5, 6",
    ),
    "null in a non-nullable column": (
        _null_in_non_nullable,
        "purpose",
        "column 'purpose': 2 missing values (the column is not nullable); first rows: 11, 12",
    ),
    "null in a non-nullable integer column": (
        _null_in_non_nullable_numeric,
        "age",
        "column 'age': 1 missing value (the column is not nullable); first rows: 7; "
        "dtype float64, expected int64 (because of the missing values)",
    ),
}


@pytest.mark.parametrize("kind", list(VIOLATIONS))
def test_each_violation_fails_its_column_with_a_precise_message(frame: pd.DataFrame, schema, kind: str) -> None:
    mutate, column, message = VIOLATIONS[kind]
    mutate(frame)
    results = validate(frame, schema, source="x.csv", schema_file="schemas/german_credit.schema.yaml")
    failures = failing(results)
    assert list(failures) == [f"schema.column[{column}]"]
    result = failures[f"schema.column[{column}]"]
    assert result.message.startswith(message), result.message
    assert result.message.endswith(
        "fix the data, or if the change is intended update schemas/german_credit.schema.yaml"
    )
    assert result.blocks
    # every other column was still checked and passed
    assert sum(r.status is Status.PASS for r in results) == len(results) - 1


def test_failure_details_name_checks_rows_and_examples(frame: pd.DataFrame, schema) -> None:
    _below_range(frame)
    result = failing(validate(frame, schema, source="x.csv"))["schema.column[age]"]
    assert result.details["failing_checks"] == ["in_range"]
    assert result.details["failing_values"] == 3
    assert result.details["rows"] == [3, 17, 40]
    assert result.observed == {"dtype": "int64", "failing_values": 3}
    assert result.expected == {"dtype": "int64", "nullable": False, "checks": ["in_range(18, 100)"]}


def test_missing_and_extra_columns_fail_the_column_set(frame: pd.DataFrame, schema) -> None:
    frame = frame.drop(columns=["age", "sex"]).assign(favourite_colour="blue")
    results = by_id(validate(frame, schema, source="x.csv"))
    columns = results["schema.columns"]
    assert columns.status is Status.FAIL
    assert "unexpected column(s) 'favourite_colour' (the schema is strict" in columns.message
    assert "missing column(s) 'sex', 'age' required by the schema" in columns.message
    assert columns.details["missing"] == ["sex", "age"]
    assert columns.details["unexpected"] == ["favourite_colour"]
    assert results["schema.column[age]"].status is Status.SKIPPED
    assert results["schema.column[age]"].message == "column 'age': missing from x.csv (see schema.columns)"
    assert results["schema.column[duration]"].status is Status.PASS


def test_column_order_does_not_matter(frame: pd.DataFrame, schema) -> None:
    results = validate(frame[list(reversed(frame.columns))], schema, source="x.csv")
    assert all(r.status is Status.PASS for r in results)


def test_several_violations_are_all_reported(frame: pd.DataFrame, schema) -> None:
    for kind in ("value below range", "value above range", "unknown category", "null in a non-nullable column"):
        VIOLATIONS[kind][0](frame)
    frame.loc[9, "sex"] = "unknown"
    frame.loc[9, "age"] = 130  # a second problem in an already failing column
    frame = frame.assign(extra=1)
    failures = failing(validate(frame, schema, source="x.csv"))
    assert set(failures) == {
        "schema.columns",
        "schema.column[age]",
        "schema.column[duration]",
        "schema.column[housing]",
        "schema.column[purpose]",
        "schema.column[sex]",
    }
    age = failures["schema.column[age]"].message
    assert "3 values below 18 (min allowed 18, lowest 12); first rows: 3, 17, 40" in age
    assert "1 value above 100 (max allowed 100, highest 130); first rows: 9" in age


def test_object_string_columns_are_checked_like_string_columns(frame: pd.DataFrame, schema) -> None:
    frame["job"] = frame["job"].astype(object)
    assert all(r.status is Status.PASS for r in validate(frame, schema, source="x.csv"))
    frame.loc[3, "job"] = 7  # an int among strings
    job = failing(validate(frame, schema, source="x.csv"))["schema.column[job]"]
    assert "7" in job.message and "first rows: 3" in job.message


def test_validate_does_not_change_the_callers_frame(frame: pd.DataFrame, schema) -> None:
    frame["job"] = frame["job"].astype(object)
    before = frame.copy()
    validate(frame, schema, source="x.csv")
    pd.testing.assert_frame_equal(frame, before)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, r"schema file not found"),
        ("columns: [unclosed", r"schema file is not valid YAML at line 1"),
        ("- a\n- b\n", r"not a pandera schema: expected a mapping with a non-empty 'columns' key"),
        ("schema_type: dataframe\ncolumns: {}\n", r"non-empty 'columns' key"),
        (
            "schema_type: dataframe\ncolumns:\n  age:\n    dtype: no_such_type\n",
            r"columns\.age\.dtype: unknown dtype 'no_such_type'",
        ),
        ("\xff\xfe", r"not UTF-8 text"),
    ],
)
def test_load_schema_errors_name_the_file(tmp_path: Path, text: str | None, message: str) -> None:
    path = tmp_path / "broken.schema.yaml"
    if text == "\xff\xfe":
        path.write_bytes(b"\xff\xfe\x00bad")
    elif text is not None:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(SchemaFileError, match=message) as info:
        load_schema(path)
    assert str(info.value).startswith(f"{path}: ")
    assert "\n" not in str(info.value)
    assert info.value.exit_code == 2


def test_counts_stay_exact_when_more_values_fail_than_pandera_keeps(prepared_frame: pd.DataFrame, schema) -> None:
    frame = pd.concat([prepared_frame] * 3, ignore_index=True)  # 3000 rows > CASES_PER_CHECK
    frame.loc[10:, "age"] = 500
    frame.loc[:2500, "sex"] = "X"
    failures = failing(validate(frame, schema, source="x.csv"))
    assert failures["schema.column[age]"].message.startswith(
        "column 'age': 2990 values above 100 (max allowed 100, highest 500); first rows: 10, 11, 12, 13, 14"
    )
    assert failures["schema.column[sex]"].message.startswith(
        "column 'sex': 2501 values not among the allowed categories ['female', 'male'] (observed 'X'); "
        "first rows: 0, 1, 2, 3, 4"
    )
    assert failures["schema.column[age]"].details["failing_values"] == 2990
