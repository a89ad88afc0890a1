"""A column the config leaves out of the model is still in the data: the schema gate validates it as read.

Issue 9: excluding a feature made the schema gate fail with "missing column ... fix the data" although the
column was in the file. Known-good: excluded (or not included) columns pass with a note. Known-bad: a bad value
in an excluded column still fails, and a column really missing from the file is still reported missing.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mlgate.checks.evidence import Evidence
from mlgate.checks.result import Reason, Status
from mlgate.checks.schema import run
from mlgate.ci.hooks import check_data
from mlgate.pipeline.candidate import load_data
from mlgate.pipeline.config import ProjectConfig, load_config

NOTE = "(not a model input: left out by the [features] config; validated as read)"


def _config(project: Path, **features: object) -> ProjectConfig:
    config = load_config(project / "mlgate.toml")
    return config.model_copy(update={"features": config.features.model_copy(update=features)})


def _run(config: ProjectConfig) -> dict:
    """The schema results by id, without schema.duplicate_rows (fewer columns kept can make rows equal)."""
    bundle = load_data(config)
    results = run(Evidence(config, bundle.dataset, bundle.prepared, bundle.split))
    return {r.id: r for r in results if r.id != "schema.duplicate_rows"}


def test_excluded_columns_are_validated_as_read_not_missing(project_copy: Path) -> None:
    config = _config(project_copy, exclude=["credit_amount", "job", "saving_accounts"], categorical=None)
    results = _run(config)
    assert {r.status for r in results.values()} == {Status.PASS}, [
        r.message for r in results.values() if r.status is not Status.PASS
    ]
    assert "all 10 schema columns present" in results["schema.columns"].message
    for name in ("credit_amount", "job", "saving_accounts"):
        found = results[f"schema.column[{name}]"]
        assert found.message.endswith(NOTE) and found.details["model_input"] is False
    # job is coded 0-3 in the file; as a left-out column it is read as the schema's text, as when it was a feature
    assert "isin(['0', '1', '2', '3'])" in results["schema.column[job]"].message
    assert NOTE not in results["schema.column[age]"].message


def test_columns_outside_features_include_are_validated_too(project_copy: Path) -> None:
    results = _run(_config(project_copy, include=["duration", "age"], categorical=None))
    assert {r.status for r in results.values()} == {Status.PASS}
    assert results["schema.column[checking_account]"].message.endswith(NOTE)


def test_a_bad_value_in_an_excluded_column_still_fails(project_copy: Path) -> None:
    path = project_copy / "data" / "german_credit.csv"
    frame = pd.read_csv(path)
    frame.loc[6, "credit_amount"] = 99_999_999
    frame.loc[8, "saving_accounts"] = "offshore"
    frame.to_csv(path, index=False)
    results = _run(_config(project_copy, exclude=["credit_amount", "saving_accounts"]))
    amount = results["schema.column[credit_amount]"]
    assert amount.status is Status.FAIL and amount.reason is Reason.OUT_OF_RANGE
    assert "highest 1e+08" in amount.message and amount.details["rows"] == [6]  # prepared row index (0-based)
    saving = results["schema.column[saving_accounts]"]
    assert saving.status is Status.FAIL and saving.reason is Reason.NOT_IN_SET and "offshore" in saving.message


def test_a_column_missing_from_the_file_is_still_missing(project_copy: Path) -> None:
    path = project_copy / "data" / "german_credit.csv"
    pd.read_csv(path).drop(columns=["purpose"]).to_csv(path, index=False)
    config = load_config(project_copy / "mlgate.toml")
    config = config.model_copy(update={"slices": config.slices.model_copy(update={"columns": ["housing"]})})
    results = _run(config)
    columns = results["schema.columns"]
    assert columns.status is Status.FAIL and columns.reason is Reason.MISSING_COLUMN
    assert "missing column(s) 'purpose' required by the schema" in columns.message


def test_the_pre_commit_data_hook_agrees(project_copy: Path) -> None:
    config = _config(project_copy, exclude=["credit_amount"])
    assert check_data(config) == []
    path = project_copy / "data" / "german_credit.csv"
    frame = pd.read_csv(path)
    frame.loc[3, "credit_amount"] = -5
    frame.to_csv(path, index=False)
    (failed,) = check_data(config)
    assert failed.id == "schema.column[credit_amount]" and failed.message.endswith(NOTE)
