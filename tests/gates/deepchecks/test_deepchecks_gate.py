"""The deepchecks layer in the gated run, as a user runs it (``mlgate run --deepchecks``, ``mlgate gate --layer
deepchecks``): the bundled project passes, a known-bad input per suite fails with deepchecks' own condition,
deepchecks' HTML reports are written beside mlgate's, linked and logged to MLflow; waivers, JUnit and the pytest
plugin treat the layer like any other; a missing environment or a runner past its time limit says so.

deepchecks runs in its own environment (``mlgate deepchecks setup``: built once into this machine's cache).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest
from fixtures.project import cli_env, copy_project, mlgate


@pytest.fixture(scope="module", autouse=True)
def environment() -> None:
    from mlgate.ci.deepchecks_env import build

    build()


def configure(project: Path, text: str) -> None:
    with open(project / "mlgate.toml", "a", encoding="utf-8") as handle:
        handle.write("\n" + text + "\n")


def results(out: Path) -> dict[str, dict]:
    report = json.loads((out / "report.json").read_text())
    return {r["id"]: r for r in report["results"]}


def test_the_bundled_project_passes_with_deepchecks_and_its_reports_are_attached(tmp_path: Path) -> None:
    project = copy_project(tmp_path)
    run = mlgate("run", "--deepchecks", "--out", "reports", cwd=project)
    assert run.returncode == 0, run.stdout + run.stderr
    out = project / "reports"
    report = json.loads((out / "report.json").read_text())
    assert report["layers"]["deepchecks"] in {"pass", "warn"} and report["run"]["registry"]["promoted"] is True
    found = results(out)
    simple = found["deepchecks.model_evaluation.SimpleModelComparison"]  # advisory by default: F1 is not the goal
    assert simple["status"] == "warn" and "advisory" in simple["message"] and not simple["blocking"]
    assert found["deepchecks.train_test_validation.FeatureDrift"]["status"] == "pass"
    suites = report["run"]["deepchecks"]["suites"]
    assert set(suites) == {"data_integrity", "train_test_validation", "model_evaluation"}
    for suite, part in suites.items():
        page = out / part["html"]
        assert page.name == f"{suite}.html" and page.stat().st_size > 100_000 and "plotly" in page.read_text()
        assert f"[{suite}](deepchecks/{suite}.html)" in (out / "report.md").read_text()
        assert f'<a href="deepchecks/{suite}.html">{suite}</a>' in (out / "report.html").read_text()
        logged = list((project / "mlruns").glob(f"artifacts/*/artifacts/reports/deepchecks/{suite}.html"))
        assert len(logged) == 1 and logged[0].read_bytes() == page.read_bytes()
    junit = ET.parse(out / "junit.xml").getroot()
    suite = next(s for s in junit.iter("testsuite") if s.get("name") == "mlgate.deepchecks")
    assert int(suite.get("tests", 0)) == sum(1 for r in report["results"] if r["layer"] == "deepchecks")


def test_conflicting_labels_fail_the_integrity_suite(tmp_path: Path) -> None:
    project = copy_project(tmp_path)
    data = pd.read_csv(project / "data/german_credit.csv")
    twins = data.head(40).assign(risk=1 - data.head(40)["risk"])  # the same applicants, the other outcome
    pd.concat([data, twins]).to_csv(project / "data/german_credit.csv", index=False)
    configure(project, '[deepchecks]\nsuites = ["data_integrity"]\nchecks = { data_integrity = ["ConflictingLabels"] }')
    run = mlgate("gate", "--layer", "deepchecks", "--out", "reports", cwd=project)
    assert run.returncode == 1, run.stdout + run.stderr
    failed = [r for r in results(project / "reports").values() if r["status"] == "fail"]
    assert failed and {r["id"].split("[")[0] for r in failed} == {"deepchecks.data_integrity.ConflictingLabels"}
    assert all("Ambiguous sample ratio is less or equal to 0%" in r["expected"] for r in failed)
    assert all(r["reason"] == "check_failed" and r["blocking"] for r in failed)


def test_a_feature_that_drifted_over_time_fails_train_test_validation(tmp_path: Path) -> None:
    project = copy_project(tmp_path)
    data = pd.read_csv(project / "data/german_credit.csv")
    data["applied"] = range(len(data))  # the last 30% applied most recently: the test split of a time split
    recent = data["applied"] >= 0.7 * len(data)
    data.loc[recent, "credit_amount"] = data.loc[recent, "credit_amount"] * 2
    data.to_csv(project / "data/german_credit.csv", index=False)
    text = (project / "mlgate.toml").read_text()
    text = text.replace('target = "risk"', 'target = "risk"\nevent_time_column = "applied"', 1)
    (project / "mlgate.toml").write_text(text.replace("random_state = 42\n", 'random_state = 42\nby = "time"\n', 1))
    configure(project, '[deepchecks]\nsuites = ["train_test_validation"]')
    run = mlgate("gate", "--layer", "deepchecks", "--out", "reports", cwd=project)
    assert run.returncode == 1, run.stdout + run.stderr
    drift = results(project / "reports")["deepchecks.train_test_validation.FeatureDrift"]
    assert drift["status"] == "fail" and "credit_amount" in drift["message"]


def test_a_weak_model_fails_model_evaluation_and_a_waiver_lets_it_through(tmp_path: Path) -> None:
    project = copy_project(tmp_path)
    text = (project / "mlgate.toml").read_text()
    text = text.replace('estimator = "logistic_regression"', 'estimator = "majority_class"')
    (project / "mlgate.toml").write_text(text.replace("params = { C = 0.1, max_iter = 1000 }\n", ""))
    configure(project, '[deepchecks]\nsuites = ["model_evaluation"]\nchecks = { model_evaluation = ["RocReport"] }')
    run = mlgate("gate", "--layer", "deepchecks", "--out", "reports", cwd=project)
    assert run.returncode == 1, run.stdout + run.stderr
    for dataset in ("train", "test"):  # deepchecks runs the check on each split
        roc = results(project / "reports")[f"deepchecks.model_evaluation.RocReport[{dataset}]"]
        assert roc["status"] == "fail" and "AUC score for all the classes is greater than 0.7" in roc["expected"]
        assert "Found classes with AUC below threshold: {1: '0.5'}" in roc["message"]
    configure(
        project,
        '[[waivers]]\ncheck = "deepchecks.model_evaluation.RocReport*"\nreason = "a baseline run"\n'
        'owner = "ml team"\nexpires = 2099-12-31',
    )
    run = mlgate("gate", "--layer", "deepchecks", "--out", "reports", cwd=project)
    assert run.returncode == 0, run.stdout + run.stderr
    waived = results(project / "reports")
    assert {waived[f"deepchecks.model_evaluation.RocReport[{d}]"]["status"] for d in ("train", "test")} == {"waived"}


def test_the_pytest_plugin_runs_the_layer_on_request(tmp_path: Path) -> None:
    project = copy_project(tmp_path)
    configure(project, '[deepchecks]\nsuites = ["data_integrity"]\nchecks = { data_integrity = ["DataDuplicates"] }')
    command = [sys.executable, "-m", "pytest", "-m", "deepchecks", "mlgate.toml", "-q"]
    done = subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=600, env=cli_env())
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"\b2 passed\b", done.stdout), done.stdout  # DataDuplicates on train and on test


def test_a_missing_environment_is_one_line_before_any_work(tmp_path: Path) -> None:
    project = copy_project(tmp_path)
    env = {**cli_env(), "MLGATE_CACHE": str(tmp_path / "empty-cache")}
    done = subprocess.run(
        [sys.executable, "-m", "mlgate.ci.cli", "run", "--deepchecks", "--out", "reports"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert done.returncode == 2 and done.stderr.strip().count("\n") == 0, done.stderr
    assert "mlgate deepchecks setup" in done.stderr and "Traceback" not in done.stderr
    assert not (project / "mlruns").exists() and not (project / "reports").exists()


def test_a_runner_past_its_time_limit_is_an_error_result(tmp_path: Path) -> None:
    project = copy_project(tmp_path)
    configure(project, '[deepchecks]\nsuites = ["data_integrity"]\ntimeout_s = 0.5')
    run = mlgate("gate", "--layer", "deepchecks", "--out", "reports", cwd=project)
    assert run.returncode == 1, run.stdout + run.stderr
    error = results(project / "reports")["deepchecks.run"]
    assert error["status"] == "error" and "did not finish within 0.5 s (deepchecks.timeout_s)" in error["message"]
    assert not [p for p in os.listdir(project / "reports") if p.startswith(".")]  # nothing half-written
