"""New data against the champion's data: a batch (file, Parquet, SQL) read and cleaned like the project data,
compared with the reference by the drift gate's tests (ids drift.current[...], drift.current_label[...])."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_wine

from mlgate.checks import drift
from mlgate.checks.evidence import Evidence
from mlgate.checks.result import Reason, Status
from mlgate.ci.current_batch import drift_reference, override_current, with_current_batch
from mlgate.ci.gated_run import run_pipeline
from mlgate.pipeline.batch import DriftReference, read_reference, reference_rows, write_reference
from mlgate.pipeline.candidate import load_data
from mlgate.pipeline.config import DriftSettings, ProjectConfig, load_config
from mlgate.pipeline.config_sections import CurrentSource
from mlgate.pipeline.errors import DataError, MlgateError


@pytest.fixture
def project(project_copy: Path) -> Path:
    """The bundled project and three batches: a fresh sample of the population, the same with a shift, and one
    without labels."""
    frame = pd.read_csv(project_copy / "data" / "german_credit.csv")
    sample = frame.sample(400, random_state=3)
    sample.to_csv(project_copy / "same.csv", index=False)
    shifted = sample.copy()
    shifted["credit_amount"] = (shifted["credit_amount"] * 1.5).round()
    shifted.loc[shifted.index[:150], "risk"] = 0
    shifted.to_csv(project_copy / "shifted.csv", index=False)
    sample.drop(columns=["risk"]).to_parquet(project_copy / "unlabelled.parquet")
    return project_copy


def _config(project: Path, current: str | None = None) -> ProjectConfig:
    return override_current(load_config(project / "mlgate.toml"), current)


def _evidence(config: ProjectConfig) -> Evidence:
    bundle = load_data(config)
    evidence = Evidence(config, bundle.dataset, bundle.prepared, bundle.split)
    return with_current_batch(evidence, bundle)


def _current(results) -> dict[str, object]:
    return {r.id: r for r in results if r.id.startswith("drift.current")}


# ------------------------------------------------------------------------------------------- good input
def test_a_fresh_sample_of_the_population_passes_every_feature_and_the_label(project: Path) -> None:
    evidence = _evidence(_config(project, str(project / "same.csv")))
    results = _current(drift.run(evidence))
    prepared = evidence.prepared
    columns = [*prepared.numeric, *prepared.categorical]
    assert list(results) == [f"drift.current[{c}]" for c in columns] + ["drift.current_label[risk]"]
    assert {r.status for r in results.values()} == {Status.PASS}, [r.message for r in results.values()]
    message = results["drift.current[age]"].message
    assert f"({project / 'same.csv'} vs the project data's training rows (no champion yet)): no drift" in message
    assert "holm over 9 features and the label" in message


def test_an_unlabelled_parquet_batch_is_compared_without_the_label(project: Path) -> None:
    evidence = _evidence(_config(project, str(project / "unlabelled.parquet")))
    results = _current(drift.run(evidence))
    assert "drift.current_label[risk]" not in results and len(results) == 9
    assert {r.status for r in results.values()} == {Status.PASS}
    assert evidence.current is not None and not evidence.current.has_labels


def test_a_batch_from_an_sql_query_is_read_read_only_like_the_data(project: Path) -> None:
    database = project / "new.db"
    with sqlite3.connect(database) as connection:
        pd.read_csv(project / "same.csv").to_sql("batch", connection, index=False)
    config = load_config(project / "mlgate.toml")
    source = CurrentSource(source="sqlite:///new.db", query="SELECT * FROM batch WHERE age >= 0")
    config = config.model_copy(update={"drift": config.drift.model_copy(update={"current": source})})
    evidence = _evidence(config)
    assert evidence.current is not None and evidence.current.source.startswith("sqlite:///")
    assert {r.status for r in _current(drift.run(evidence)).values()} == {Status.PASS}


def test_the_batch_is_cleaned_like_the_data_and_categories_are_compared_as_text(project: Path) -> None:
    frame = pd.read_csv(project / "same.csv")
    frame["credit_amount"] = frame["credit_amount"].astype(object)
    frame.loc[frame.index[:3], "credit_amount"] = "unknown amount"  # unreadable numbers become missing, counted
    frame.loc[frame.index[3], "job"] = None  # 'job' (categorical, coded 0-3) is now read as floats: 2.0, 1.0, ...
    frame.to_csv(project / "messy.csv", index=False)
    evidence = _evidence(_config(project, str(project / "messy.csv")))
    assert evidence.current is not None
    assert evidence.current.changes["coerced_to_missing"] == {"credit_amount": 3}
    assert evidence.current.changes["sentinels_replaced"]["checking_account"] > 0  # data.missing_values applied
    job = _current(drift.run(evidence))["drift.current[job]"]
    assert job.status is Status.PASS, job.message  # "2.0" in the batch is the category "2" of the reference
    categories = job.details["shares"]["categories"]
    assert "2" in categories and not any(".0" in name for name in categories)


def test_the_project_data_stands_in_when_there_is_no_store(project: Path) -> None:
    config = _config(project)
    reference = drift_reference(config, load_data(config))
    assert reference.champion_version is None
    assert reference.description == "the project data's training rows (no champion yet)"
    assert not (project / "mlruns").exists()  # reading never creates a store


# ----------------------------------------------------------------------------------------- bad inputs
def test_a_shifted_batch_fails_on_the_shifted_feature_and_the_label_naming_the_champion(project: Path) -> None:
    config = _config(project, str(project / "shifted.csv"))
    bundle = load_data(config)
    evidence = with_current_batch(Evidence(config, bundle.dataset, bundle.prepared, bundle.split), bundle)
    champion = DriftReference(
        reference_rows(bundle, max_rows=100_000, random_state=1), "champion v7's training data", "7"
    )
    results = _current(drift.run(dataclasses.replace(evidence, drift_reference=champion)))
    failed = sorted(key for key, r in results.items() if r.status is Status.FAIL)
    assert failed == ["drift.current[credit_amount]", "drift.current_label[risk]"]
    amount = results["drift.current[credit_amount]"]
    assert amount.reason is Reason.SIGNIFICANT_ABOVE_FLOOR and amount.layer == "drift"
    assert amount.message.startswith(
        f"feature 'credit_amount' drifted ({project / 'shifted.csv'} vs champion v7's training data): Kolmogorov"
    )
    assert "The new data differs from what the champion learned from" in amount.message
    assert results["drift.current_label[risk]"].message.startswith("label 'risk' drifted (")


@pytest.mark.parametrize(
    ("batch", "message"),
    [
        ("noage.csv", r"noage\.csv: column 'age' \(a feature the drift gate compares\) not found in the current batch"),
        ("absent.csv", r"absent\.csv: data file not found$"),
    ],
)
def test_a_batch_that_cannot_be_compared_is_one_data_error_naming_it(project: Path, batch: str, message: str) -> None:
    pd.read_csv(project / "same.csv").drop(columns=["age"]).to_csv(project / "noage.csv", index=False)
    with pytest.raises(DataError, match=message) as caught:
        _evidence(_config(project, str(project / batch)))
    assert caught.value.exit_code == 2 and "\n" not in str(caught.value)


def test_an_sql_url_on_the_command_line_needs_the_configured_query(project: Path) -> None:
    with pytest.raises(MlgateError, match=r"^--current sqlite://\.\.\.: an SQLAlchemy URL needs the read query"):
        _config(project, "sqlite:///new.db")


def test_a_gate_run_with_a_batch_reports_it_in_the_run_section(project: Path) -> None:
    config = _config(project, str(project / "shifted.csv"))
    run = run_pipeline(config, layers=["drift"], register=False, promote=False)
    ids = {r.id for r in run.report.results}
    assert {"drift.feature[age]", "drift.label[risk]", "drift.current[age]", "drift.current_label[risk]"} <= ids
    current = run.report.run["data"]["current"]
    assert current["source"] == str(project / "shifted.csv") and current["rows"] == 400 and current["labelled"]
    assert current["reference"] == "the project data's training rows (no champion yet)"
    assert run.report.exit_code == 1


# --------------------------------------------------------------------- data sets mlgate's authors did not write
@pytest.mark.parametrize(
    ("loader", "column", "seed"), [(load_breast_cancer, "worst area", 0), (load_wine, "proline", 5)]
)
def test_scikit_learn_data_sets_a_fresh_batch_passes_a_shifted_one_fails(loader, column: str, seed: int) -> None:
    data = loader(as_frame=True).frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    reference, batch = data.iloc[: len(data) // 2], data.iloc[len(data) // 2 :].copy()
    numeric = [c for c in data.columns if c != "target"]

    def failed(current: pd.DataFrame) -> list[str]:
        results = drift.compare(
            reference,
            current,
            numeric=numeric,
            categorical=[],
            settings=DriftSettings(),
            id_prefix="drift.current",
            target="target",
            target_prefix="drift.current_label",
            canonical=True,
        )
        return [r.id for r in results if r.status is Status.FAIL]

    assert failed(batch) == []
    batch[column] = batch[column] * 1.8
    assert failed(batch) == [f"drift.current[{column}]"]


def test_the_logged_reference_reads_back_the_same_values(tmp_path: Path, german_config_path: Path) -> None:
    bundle = load_data(load_config(german_config_path))
    rows = reference_rows(bundle, max_rows=500, random_state=3)
    assert len(rows) == 500 and list(rows.columns) == [*bundle.prepared.features, "risk"]
    again = read_reference(write_reference(rows, tmp_path / "r.parquet"), what="r")
    assert np.array_equal(again["credit_amount"].to_numpy(), rows["credit_amount"].to_numpy())
    assert again["job"].tolist() == rows["job"].tolist()
    with pytest.raises(DataError, match=r"^bad: not a readable Parquet file"):
        read_reference(tmp_path / "missing.parquet", what="bad")
