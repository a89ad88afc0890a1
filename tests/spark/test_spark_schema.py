"""The schema gate on Spark gives the pandas engine's results for the same rows, bad rows included.

Each case writes a copy of the bundled German credit data (edited to be bad in one known way), prepares it with
both engines and validates both against the committed schema (or an edited copy): every result's id, status,
reason, observed and expected values, details and message must agree, except for what the Spark engine documents
it cannot give (:mod:`checks.spark_schema`): data row numbers (the pandas messages' "; first rows: ..." parts,
``details["rows"]``) and which failing values are shown (compared as sets when the pandas engine shows them all,
else checked to be true failing values). The known-bad cases must FAIL with the right reason.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from mlgate.checks import schema as pandas_schema
from mlgate.checks import spark_schema
from mlgate.checks.result import Reason, Status
from mlgate.pipeline.config import ProjectConfig, load_config
from mlgate.pipeline.dataload import load_prepared
from mlgate.pipeline.prepare import group_columns
from mlgate.pipeline.spark.ingest import load
from mlgate.pipeline.spark.prepare import prepare

pytestmark = pytest.mark.spark

ROOT = Path(__file__).resolve().parents[2]
CONFIG = load_config(ROOT / "mlgate.toml")
ROWS = re.compile(r"; first rows: [0-9, ]+")
LISTS = re.compile(r"(e\.g\. |\(observed )([^;)]*)")


def configured(path: Path, **data: Any) -> ProjectConfig:
    return CONFIG.model_copy(update={"data": CONFIG.data.model_copy(update={"source": str(path), **data})})


def write(tmp_path: Path, frame: pd.DataFrame, name: str = "data.csv") -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def schema_file(tmp_path: Path, edit: Any = None) -> Path:
    """A copy of the committed schema, edited by ``edit(spec)``."""
    spec = yaml.safe_load(CONFIG.schema_path.read_text(encoding="utf-8"))
    if edit is not None:
        edit(spec)
    path = tmp_path / "schema.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def both(spark, config: ProjectConfig, schema_path: Path):
    """(Spark results, pandas results) for the configured data validated against ``schema_path``."""
    schema, source = pandas_schema.load_schema(schema_path), config.data_source
    dataset = load(spark, config.data, source=source)
    ready = prepare(dataset.frame, config.data, config.features, source=source, groups=group_columns(config),
                    task=config.model.task)  # fmt: skip
    ours = spark_schema.validate_prepared(ready, dataset.frame, schema, source=source, schema_file="schema.yaml",
                                          missing_values=config.data.missing_values)  # fmt: skip
    theirs = pandas_schema.validate_prepared(load_prepared(config), schema, source=source, schema_file="schema.yaml")
    return ours, theirs


def _lists(message: str) -> tuple[str, list[list[str]]]:
    """The message with each example list taken out, and the lists."""
    found = [match.group(2).split(", ") for match in LISTS.finditer(message)]
    return LISTS.sub(lambda m: m.group(1) + "<examples>", message), found


def same_examples(ours: list[str], theirs: list[str], where: str) -> None:
    """All of them when the pandas engine shows fewer than five (it then shows every distinct failing value)."""
    if len(theirs) < 5:
        assert sorted(ours) == sorted(theirs), where
    else:
        assert len(ours) == 5, where


def same(ours, theirs) -> None:
    assert [r.id for r in ours] == [r.id for r in theirs]
    for a, b in zip(ours, theirs, strict=True):
        left, right = a.to_dict(), b.to_dict()
        assert left["details"].pop("rows", []) == [], a.id
        right["details"].pop("rows", None)
        same_examples(left["details"].pop("examples", []), right["details"].pop("examples", []), a.id)
        (left_text, left_lists), (right_text, right_lists) = (
            _lists(left.pop("message")),
            _lists(ROWS.sub("", right.pop("message"))),
        )
        assert left_text == right_text, a.id
        for mine, pandas_ones in zip(left_lists, right_lists, strict=True):
            same_examples(mine, pandas_ones, a.id)
        assert left == right, a.id


def by_id(results) -> dict[str, Any]:
    return {r.id: r for r in results}


@pytest.fixture(scope="module")
def credit() -> pd.DataFrame:
    return pd.read_csv(CONFIG.data_source)


def test_the_bundled_data_passes_on_both_engines(spark, tmp_path):
    ours, theirs = both(spark, CONFIG, CONFIG.schema_path)
    same(ours, theirs)
    assert {r.status for r in ours} == {Status.PASS} and len(ours) == 11


def test_values_out_of_range_fail_alike(spark, credit, tmp_path):
    frame = credit.copy()
    frame.loc[[3, 40, 41, 500], "age"] = 5
    frame.loc[[7, 900], "age"] = 300
    ours, theirs = both(spark, configured(write(tmp_path, frame)), CONFIG.schema_path)
    same(ours, theirs)
    age = by_id(ours)["schema.column[age]"]
    assert age.status is Status.FAIL and age.reason is Reason.OUT_OF_RANGE
    assert "4 values below 18 (min allowed 18, lowest 5); 2 values above 100 (max allowed 100, highest 300)" in (
        age.message
    )
    assert age.details["failing_values"] == 6 and age.details["rows"] == []


def test_a_category_outside_the_set_and_missing_values_fail_alike(spark, credit, tmp_path):
    frame = credit.copy()
    frame.loc[[2, 9], "purpose"] = "spaceship"
    frame.loc[[4, 5, 6], "housing"] = np.nan  # text column, not nullable
    frame.loc[[8], "credit_amount"] = np.nan  # integer column: pandas reads it as float64
    ours, theirs = both(spark, configured(write(tmp_path, frame)), CONFIG.schema_path)
    same(ours, theirs)
    results = by_id(ours)
    assert results["schema.column[purpose]"].reason is Reason.NOT_IN_SET
    assert "(observed 'spaceship')" in results["schema.column[purpose]"].message
    assert results["schema.column[housing]"].reason is Reason.NULL_VALUES
    amount = results["schema.column[credit_amount]"]
    assert amount.reason is Reason.WRONG_DTYPE and "(because of the missing values)" in amount.message


def test_text_in_a_numeric_column_is_a_wrong_dtype_on_both_engines(spark, credit, tmp_path):
    frame = credit.copy()
    frame["age"] = frame["age"].astype(object)
    frame.loc[[10, 11], "age"] = "old"
    ours, theirs = both(spark, configured(write(tmp_path, frame)), CONFIG.schema_path)
    same(ours, theirs)
    age = by_id(ours)["schema.column[age]"]
    assert age.reason is Reason.WRONG_DTYPE and age.observed["dtype"] == spark_schema.TEXT_DTYPE
    assert "2 values cannot be read as int64, e.g. 'old'" in age.message


def test_a_missing_and_an_unexpected_column_fail_alike(spark, credit, tmp_path):
    frame = credit.drop(columns=["duration"]).assign(branch="north")
    ours, theirs = both(spark, configured(write(tmp_path, frame)), CONFIG.schema_path)
    same(ours, theirs)
    results = by_id(ours)
    columns = results["schema.columns"]
    assert columns.status is Status.FAIL and columns.reason is Reason.MISSING_COLUMN
    assert columns.details["missing"] == ["duration"] and columns.details["unexpected"] == ["branch"]
    assert results["schema.column[duration]"].status is Status.SKIPPED


@pytest.mark.filterwarnings("ignore::pandera.errors.SchemaWarning")  # raise_warning: pandera warns, no failure
def test_string_checks_and_check_options_fail_alike(spark, credit, tmp_path):
    def edit(spec: dict) -> None:
        spec["columns"]["purpose"]["str_length"] = {"max_value": 15}
        spec["columns"]["sex"]["str_matches"] = "^(fe)?male$"
        spec["columns"]["housing"]["checks"] = {"isin": spec["columns"]["housing"].pop("isin"),
                                                "str_startswith": {"string": "r", "raise_warning": True}}  # fmt: skip
        savings = spec["columns"]["saving_accounts"]
        savings["checks"] = {"isin": savings.pop("isin"), "notin": {"forbidden_values": ["rich"], "ignore_na": False},
                             "str_endswith": {"string": "e", "error": "ends in e"}}  # fmt: skip
        spec["columns"]["duration"]["checks"] = {"str_length": {"max_value": 2}}  # cannot run on numbers
        del spec["columns"]["duration"]["in_range"]

    frame = credit.copy()
    frame.loc[[1, 2, 3], "sex"] = "Male"
    ours, theirs = both(spark, configured(write(tmp_path, frame)), schema_file(tmp_path, edit))
    same(ours, theirs)
    results = by_id(ours)
    assert results["schema.column[purpose]"].reason is Reason.CHECK_FAILED
    assert results["schema.column[sex]"].details["failing_checks"] == ["isin", "str_matches"]
    assert results["schema.column[housing]"].status is Status.PASS  # a warning-only check does not fail
    assert results["schema.column[duration]"].reason is Reason.CHECK_ERROR
    assert "ends in e" in results["schema.column[saving_accounts]"].message


def test_more_than_a_thousand_failures_use_the_recount_and_agree(spark, credit, tmp_path):
    frame = pd.concat([credit] * 3, ignore_index=True)
    frame.loc[frame.index[::2], "age"] = 5  # 1,500 failing values: pandera keeps 1,000, the pandas engine recounts
    ours, theirs = both(spark, configured(write(tmp_path, frame)), CONFIG.schema_path)
    same(ours, theirs)
    age = by_id(ours)["schema.column[age]"]
    assert age.details["counts"] == {"in_range(18, 100)": 1500} and age.details["failing_values"] == 1500


def test_a_column_left_out_of_the_model_is_validated_as_read(spark, credit, tmp_path):
    frame = credit.copy()
    frame.loc[[0, 1], "credit_amount"] = 0
    config = configured(write(tmp_path, frame))
    config = config.model_copy(update={"features": config.features.model_copy(update={"exclude": ["credit_amount"]})})
    ours, theirs = both(spark, config, CONFIG.schema_path)
    same(ours, theirs)
    amount = by_id(ours)["schema.column[credit_amount]"]
    assert amount.status is Status.FAIL and amount.details["model_input"] is False
    assert amount.message.endswith("(not a model input: left out by the [features] config; validated as read)")


def test_unlabelled_rows_sentinels_and_an_unused_text_column_agree(spark, credit, tmp_path):
    """Dtypes that depend on rows the prepared frame no longer holds: pandas read the whole file."""
    frame = credit.astype({"risk": object, "duration": object, "job": object})
    frame.loc[[5, 6], "risk"] = np.nan  # unlabelled rows (dropped): pandas read risk as float64 all the same
    frame.loc[[7, 8], "duration"] = "not_known"  # a sentinel in an integer column: text with missing values
    frame.loc[[9], "job"] = "unknown"  # a bad value in a column left out of the model
    config = configured(write(tmp_path, frame))
    config = config.model_copy(
        update={"features": config.features.model_copy(update={"exclude": ["job"], "categorical": None})}
    )
    ours, theirs = both(spark, config, CONFIG.schema_path)
    same(ours, theirs)
    results = by_id(ours)
    assert results["schema.column[risk]"].message.startswith("column 'risk': dtype float64, expected int64;")
    duration = results["schema.column[duration]"].message
    assert f"dtype {spark_schema.TEXT_DTYPE}, expected int64 (because of the missing values)" in duration
    assert results["schema.column[job]"].reason is Reason.NOT_IN_SET
    assert results["schema.column[job]"].details["model_input"] is False


def test_plain_frames_agree_check_by_check(spark):
    """validate() on frames built in both engines: options and checks the German credit cases do not reach."""
    import pandera.pandas as pa

    frame = pd.DataFrame({
        "n": [1.0, 2.5, np.nan, 7.0, -3.0, 2.5],
        "t": pd.Series(["ab", None, "abcd", "zz", "ab", "q"], dtype="str"),
        "k": [1, 2, 3, 1, 2, 3],
        "b": [True, False, True, True, False, True],
        "w": [17, 16, 15, 14, 13, 12],  # six failing values: each engine shows five (different ones)
    })  # fmt: skip
    schema = pa.DataFrameSchema({
        "n": pa.Column("float64", [pa.Check.ge(0, ignore_na=False), pa.Check.lt(5, error="too big"),
                                   pa.Check.ne(2.5), pa.Check.isin([1, 2.5, 7])], nullable=True),
        "t": pa.Column("string[pyarrow]", [pa.Check.str_length(1, 2), pa.Check.isin(["ab"], ignore_na=False),
                                           pa.Check.eq("ab"), pa.Check.ge(0), pa.Check.str_contains("b")]),
        "k": pa.Column("int64", [pa.Check.unique_values_eq([1, 2]), pa.Check.in_range(1, 3, include_max=False)]),
        "b": pa.Column("int64", [pa.Check.isin([1])]),
        "w": pa.Column("int64", [pa.Check.str_length(1, 1), pa.Check.notin([12, 13, 14, 15, 16, 17])]),
        "gone": pa.Column("int64", required=False),
    }, strict=True)  # fmt: skip
    ours = spark_schema.validate(spark.createDataFrame(frame.astype({"t": object})), schema, source="s",
                                 dtypes={"t": str(frame["t"].dtype)})  # fmt: skip
    theirs = pandas_schema.validate(frame, schema, source="s")
    same(ours, theirs)
    assert {r.id: r.status for r in ours}["schema.columns"] is Status.PASS  # 'gone' is not required
    assert all(r.status is Status.FAIL for r in ours[1:6])
    shown = {r.id: r for r in ours}["schema.column[w]"]
    assert shown.details["examples"] == ["12", "13", "14", "15", "16"]  # the smallest failing values, not the first
    assert "e.g. 12, 13, 14, 15, 16" in shown.message and "check_error" in shown.details["failing_checks"]


def test_one_aggregate_job_and_one_job_for_examples(spark, credit, tmp_path):
    """Nothing is collected column by column: one aggregate job for every figure of every column, one single-stage
    job for the failing examples (counted with adaptive execution off: it runs a shuffle's map side as a job)."""
    frame = credit.copy()
    frame.loc[[3, 4], "age"] = 5
    frame.loc[[2], "purpose"] = "spaceship"
    config = configured(write(tmp_path, frame))
    dataset = load(spark, config.data, source=config.data_source)
    ready = prepare(dataset.frame, config.data, config.features, source=config.data_source,
                    groups=group_columns(config), task=config.model.task)  # fmt: skip
    schema = pandas_schema.load_schema(CONFIG.schema_path)
    context, adaptive = spark.sparkContext, spark.conf.get("spark.sql.adaptive.enabled")
    spark.conf.set("spark.sql.adaptive.enabled", "false")
    try:
        jobs = []
        for group, data in (("bad", ready.frame), ("good", ready.frame.where("age >= 18 AND purpose != 'spaceship'"))):
            context.setJobGroup(group, "the schema gate's jobs")
            results = spark_schema.validate_prepared(replace(ready, frame=data), dataset.frame, schema, source="s")
            jobs.append((len(context.statusTracker().getJobIdsForGroup(group)), {r.status for r in results}))
    finally:
        context.setLocalProperty("spark.jobGroup.id", None)
        spark.conf.set("spark.sql.adaptive.enabled", adaptive)
    assert jobs == [(2, {Status.PASS, Status.FAIL}), (1, {Status.PASS})]
