"""mlgate gates a second, different data set with no code change: the churn example (examples/churn).

A real ``mlgate run`` subprocess on a private copy of examples/churn (config, reviewed schema, Parquet data):
other column names and types than German credit, a string target with positive_label "yes", empty cells as
missing values, an id column excluded from the features, its own cost matrix and its own MLflow store.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from mlgate.checks.result import LAYERS

MLGATE = [sys.executable, "-m", "mlgate.ci.cli"]


def mlgate(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    env.pop("MLGATE_TRACKING_URI", None)  # the project's own store, as its config says
    env.pop("MLGATE_REGISTRY_URI", None)
    return subprocess.run([*MLGATE, *args], cwd=cwd, capture_output=True, text=True, timeout=600, env=env)


def copy_example(repo_root: Path, destination: Path) -> Path:
    """examples/churn without any local MLflow store, so every test starts with an empty registry."""
    project = destination / "churn"
    shutil.copytree(repo_root / "examples" / "churn", project, ignore=shutil.ignore_patterns("mlruns", "__pycache__"))
    return project


def churn_versions(project: Path) -> list[tuple[str, str]]:
    db = project / "mlruns" / "mlflow.db"
    if not db.exists():
        return []
    with sqlite3.connect(db) as connection:
        return connection.execute("select name, version from model_versions order by version").fetchall()


@pytest.fixture(scope="module")
def churn_run(tmp_path_factory: pytest.TempPathFactory, repo_root: Path):
    base = tmp_path_factory.mktemp("second-project")
    project = copy_example(repo_root, base)
    reports = base / "reports"
    # run from another folder: the config's relative paths must resolve against the config's own folder
    result = mlgate("run", "--config", str(project / "mlgate.toml"), "--out", str(reports), cwd=base)
    return project, reports, result


def test_the_churn_project_passes_every_gate_on_merit(churn_run) -> None:
    project, reports, result = churn_run
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((reports / "report.json").read_text())
    assert report["passed"] is True and report["exit_code"] == 0
    assert report["counts"]["fail"] == 0 and report["counts"]["error"] == 0 and report["counts"]["waived"] == 0
    assert report["run"]["project"] == "churn"
    data = report["run"]["data"]
    assert data["source"] == str(project / "churn.parquet")
    assert data["format"] == "parquet"
    assert data["rows"] == 3000
    # the empty cells arrived as missing values (kept for the imputer), the id column is not a feature
    assert set(data["prepare"]["missing_values"]) == {"monthly_charges", "payment_method"}


def test_all_six_layers_ran(churn_run) -> None:
    _, reports, _ = churn_run
    report = json.loads((reports / "report.json").read_text())
    assert report["run"]["layers_run"] == list(LAYERS)
    layers_with_results = {r["layer"] for r in report["results"]}
    assert layers_with_results == set(LAYERS)
    # no champion yet: staleness has nothing to judge; every other layer judged something
    statuses = report["layers"]
    assert statuses["staleness"] == "skipped"
    assert all(statuses[layer] in {"pass", "warn"} for layer in LAYERS if layer != "staleness"), statuses
    ids = {r["id"] for r in report["results"]}
    assert {
        "schema.column[churned]",
        "balance.sensitive_share[test][senior=yes]",
        "drift.feature[monthly_charges]",
        "quality.business_cost",
        "quality.slice_metric[contract=month-to-month][roc_auc]",
        "reproducibility.retrain_predictions",
    } <= ids
    assert not any("customer_id" in i for i in ids)


def test_the_candidate_is_registered_in_the_projects_own_store(churn_run) -> None:
    project, reports, _ = churn_run
    assert churn_versions(project) == [("churn", 1)]
    registry = json.loads((reports / "report.json").read_text())["run"]["registry"]
    assert registry["model_name"] == "churn" and registry["promoted"] is True


def _rename_target(project: Path) -> None:
    config = project / "mlgate.toml"
    config.write_text(config.read_text().replace('target = "churned"', 'target = "churn_flag"'))


def _corrupt_parquet(project: Path) -> None:
    (project / "churn.parquet").write_bytes(b"customer_id,churned\nC00001,yes\n")


@pytest.mark.parametrize(
    ("breaker", "message"),
    [
        (_rename_target, "churn.parquet: target column 'churn_flag' not found; columns are customer_id,"),
        (_corrupt_parquet, "churn.parquet: not a readable Parquet file"),
    ],
    ids=["target-not-in-parquet", "not-a-parquet-file"],
)
def test_bad_input_exits_2_with_one_line_naming_the_problem(tmp_path: Path, repo_root: Path, breaker, message) -> None:
    project = copy_example(repo_root, tmp_path)
    breaker(project)
    result = mlgate("run", "--config", str(project / "mlgate.toml"), "--out", str(tmp_path / "reports"), cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("mlgate: error:")]
    assert len(errors) == 1 and message in errors[0], result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "reports").exists()
    assert churn_versions(project) == []
