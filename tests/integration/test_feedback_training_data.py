"""The gated run on the bundled training data plus served rows with ground truth (pipeline.feedback_data): the
combined Parquet snapshot passes through the ingest, the schema gate and the model layers of a real run; a column
that is no model input is missing in served rows, which the schema gate judges by the schema's nullability."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlgate.checks.result import Status
from mlgate.ci.gated_run import run_pipeline
from mlgate.pipeline.config import load_config
from mlgate.pipeline.dataload import load_dataset
from mlgate.pipeline.feedback_data import combined_snapshot, feedback_rows
from tests.fixtures.feedback_log import Served, request, write_log


def test_the_gated_run_trains_on_training_and_feedback_rows(project_copy: Path, tmp_path: Path) -> None:
    config = load_config(project_copy / "mlgate.toml")
    dataset = load_dataset(config)
    frame = dataset.frame
    served = [Served(f"r{i}", request(frame.iloc[i], age=60 + i % 20), int(frame["risk"].iloc[i])) for i in range(40)]
    write_log(tmp_path / "log", served)
    rows = feedback_rows(config, str(tmp_path / "log"), dataset=dataset)
    derived, sources = combined_snapshot(config, dataset, rows, tmp_path / "snapshots")
    assert sources["combined"]["rows"] == 1040
    # every layer: the reproducibility gate's fresh-process retrain is told to train on the snapshot too
    run = run_pipeline(derived, register=False, promote=False, out=tmp_path / "reports")
    failed = [f"{r.id}: {r.message}" for r in run.report.results if r.status in (Status.FAIL, Status.ERROR)]
    assert failed == []
    assert any(r.id.startswith("reproducibility.retrain") and r.status == Status.PASS for r in run.report.results)
    schema = [r for r in run.report.results if r.id.startswith("schema.column[")]
    assert len(schema) == 10 and all(r.status == Status.PASS for r in schema)
    assert run.report.run["data"]["fingerprint"] == sources["combined"]["fingerprint"]
    assert run.report.run["data"]["rows"] == 1040


@pytest.mark.parametrize("nullable", [False, True])
def test_an_excluded_column_is_judged_by_the_schemas_nullability(
    project_copy: Path, tmp_path: Path, nullable: bool
) -> None:
    toml = project_copy / "mlgate.toml"
    toml.write_text(toml.read_text().replace("exclude = []", 'exclude = ["housing"]'))
    if nullable:  # (an integer column would also need a dtype that holds a missing value: float64)
        schema = project_copy / "schemas" / "german_credit.schema.yaml"
        schema.write_text(schema.read_text().replace("  housing:\n", "  housing:\n    nullable: true\n"))
    config = load_config(toml)
    dataset = load_dataset(config)
    inputs = request(dataset.frame.iloc[0], credit_amount=99)
    del inputs["housing"]  # no model input: not in a request
    write_log(tmp_path / "log", [Served("a", inputs, 1)])
    derived, _ = combined_snapshot(config, dataset, feedback_rows(config, str(tmp_path / "log")), tmp_path / "snap")
    run = run_pipeline(derived, layers=("schema",), register=False, promote=False)
    [housing] = [r for r in run.report.results if r.id == "schema.column[housing]"]
    assert housing.status == (Status.PASS if nullable else Status.FAIL), housing.message
    assert nullable or "1 missing value (the column is not nullable); first rows: 1000" in housing.message
