"""The ``mlgate`` command as a user runs it: a real subprocess, a copy of the bundled project, a real
sqlite MLflow store. Checks exit codes, one-line errors, the report files and the registry entries."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

MLGATE = [sys.executable, "-m", "mlgate.ci.cli"]


def mlgate(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})}
    full_env.pop("MLGATE_TRACKING_URI", None)
    return subprocess.run([*MLGATE, *args], cwd=cwd, capture_output=True, text=True, timeout=600, env=full_env)


def registered_versions(project: Path) -> int:
    db = project / "mlruns" / "mlflow.db"
    if not db.exists():
        return 0
    with sqlite3.connect(db) as connection:
        return connection.execute("select count(*) from model_versions").fetchone()[0]


@pytest.mark.parametrize(
    "command",
    [[], ["run"], ["gate"], ["schema", "infer"], ["status"], ["rollback"], ["reproduce"], ["release"], ["deploy"]],
)
def test_every_command_has_help(command: list[str], repo_root: Path) -> None:
    result = mlgate(*command, "--help", cwd=repo_root)
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout


def test_unknown_option_is_a_usage_error(repo_root: Path) -> None:
    result = mlgate("run", "--colour", "blue", cwd=repo_root)
    assert result.returncode == 2
    assert "No such option" in result.stderr


def _break(project: Path, what: str) -> None:
    config = project / "mlgate.toml"
    data = project / "data" / "german_credit.csv"
    if what == "missing data file":
        data.unlink()
    elif what == "wrong delimiter":
        data.write_text(data.read_text().replace(",", ";"))
    elif what == "wrong encoding":
        data.write_bytes(data.read_text().replace("male", "m\u00e4le").encode("utf-16"))
    elif what == "missing target":
        config.write_text(config.read_text().replace('target = "risk"', 'target = "default"'))
    elif what == "empty file":
        data.write_text("")
    elif what == "one class":
        lines = data.read_text().splitlines()
        data.write_text("\n".join([lines[0], *(("1" + line[1:]) for line in lines[1:])]) + "\n")
    elif what == "unknown config key":
        config.write_text(config.read_text().replace("[drift]\n", "[drift]\nalpah = 0.1\n"))
    elif what == "wrong config type":
        config.write_text(config.read_text().replace("alpha = 0.05", 'alpha = "low"'))
    elif what == "missing schema file":
        shutil.rmtree(project / "schemas")


@pytest.mark.parametrize(
    ("what", "message"),
    [
        ("missing data file", "german_credit.csv: data file not found"),
        ("wrong delimiter", "set data.delimiter = ';'"),
        ("wrong encoding", "not readable as utf-8"),
        ("missing target", "target column 'default' not found"),
        ("empty file", "german_credit.csv: the file is empty"),
        ("one class", "target column 'risk' has a single class"),
        ("unknown config key", "unknown key 'drift.alpah'"),
        ("wrong config type", "key 'drift.alpha'"),
        ("missing schema file", "german_credit.schema.yaml"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(project_copy: Path, what: str, message: str) -> None:
    _break(project_copy, what)
    result = mlgate("run", "--out", "reports", cwd=project_copy)
    assert result.returncode == 2, (result.stdout, result.stderr)
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("mlgate: error:")]
    assert len(error_lines) == 1 and message in error_lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert not (project_copy / "reports").exists()
    assert registered_versions(project_copy) == 0


@pytest.fixture(scope="module")
def gated_project(
    tmp_path_factory: pytest.TempPathFactory, repo_root: Path
) -> tuple[Path, subprocess.CompletedProcess]:
    project = tmp_path_factory.mktemp("project")
    for name in ("mlgate.toml", "data", "schemas"):
        source = repo_root / name
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, project / name)
    return project, mlgate("run", "--out", "reports", cwd=project)


def test_gated_run_passes_writes_four_reports_and_promotes(gated_project) -> None:
    project, result = gated_project
    assert result.returncode == 0, result.stdout + result.stderr
    files = {p.name for p in (project / "reports").iterdir()}
    assert {"report.json", "report.md", "report.html", "junit.xml"} <= files
    for name in ("report.json", "report.md", "report.html", "junit.xml"):
        assert f"reports/{name}" in result.stdout
    report = json.loads((project / "reports" / "report.json").read_text())
    assert report["passed"] is True and report["exit_code"] == 0
    assert set(report["layers"]) == {"schema", "balance", "drift", "quality", "reproducibility", "staleness"}
    registry = report["run"]["registry"]
    assert registry["promoted"] is True and registry["version"] == "1"
    assert registered_versions(project) == 1


def test_gate_single_layer_registers_nothing(gated_project) -> None:
    project, _ = gated_project
    before = registered_versions(project)
    result = mlgate("gate", "--layer", "drift", "--out", "drift-report", cwd=project)
    assert result.returncode == 0, result.stderr
    report = json.loads((project / "drift-report" / "report.json").read_text())
    assert {r["layer"] for r in report["results"]} == {"drift"}
    assert registered_versions(project) == before


def test_a_failing_gate_exits_1_reports_the_column_and_promotes_nothing(project_copy: Path) -> None:
    data = project_copy / "data" / "german_credit.csv"
    lines = data.read_text().splitlines()
    # row 5 gets an impossible age: the schema gate must fail on column 'age' (and only block, not crash)
    fields = lines[5].split(",")
    fields[-1] = "250"
    lines[5] = ",".join(fields)
    data.write_text("\n".join(lines) + "\n")
    result = mlgate("run", "--out", "reports", cwd=project_copy)
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads((project_copy / "reports" / "report.json").read_text())
    failing = [r for r in report["results"] if r["status"] == "fail"]
    assert any(r["id"] == "schema.column[age]" and "250" in r["message"] for r in failing), failing
    assert report["run"]["registry"]["promoted"] is False
    with sqlite3.connect(project_copy / "mlruns" / "mlflow.db") as connection:
        aliases = dict(connection.execute("select alias, version from registered_model_aliases").fetchall())
    assert aliases == {"challenger": 1}


def test_release_refuses_a_report_that_did_not_pass(gated_project) -> None:
    project, _ = gated_project
    report = json.loads((project / "reports" / "report.json").read_text())
    report["passed"] = False
    report["results"][0]["status"] = "fail"
    failing = project / "failing-report.json"
    failing.write_text(json.dumps(report))
    result = mlgate("release", "--report", str(failing), cwd=project)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "mlgate: error: release refused" in result.stderr and "did not pass" in result.stderr
    assert report["results"][0]["id"] in result.stderr
    assert not (project / ".mlgate" / "release").exists()  # refused before anything was built


def test_release_refuses_a_report_without_a_registered_model(gated_project) -> None:
    project, _ = gated_project
    assert mlgate("gate", "--layer", "schema", "--out", "schema-only", cwd=project).returncode == 0
    result = mlgate("release", "--report", "schema-only/report.json", cwd=project)
    assert result.returncode == 1
    assert "names no registered model version" in result.stderr


def test_status_and_rollback(gated_project) -> None:
    project, _ = gated_project
    status = mlgate("status", cwd=project)
    assert status.returncode == 0, status.stdout + status.stderr
    assert "not stale" in status.stdout
    rollback = mlgate("rollback", cwd=project)  # only one champion so far: nothing to go back to
    assert rollback.returncode == 3
    assert "no previous champion to roll back to" in rollback.stderr


def test_gate_current_compares_a_new_batch_with_the_champions_logged_training_rows(gated_project) -> None:
    project, _ = gated_project
    frame = [line.split(",") for line in (project / "data" / "german_credit.csv").read_text().splitlines()]
    header, rows = frame[0], frame[1:401]
    amount = header.index("credit_amount")
    shifted = [[*row[:amount], str(int(row[amount]) * 2), *row[amount + 1 :]] for row in rows]
    (project / "same.csv").write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n")
    (project / "shifted.csv").write_text("\n".join(",".join(r) for r in [header, *shifted]) + "\n")
    before = registered_versions(project)
    same = mlgate("gate", "--layer", "drift", "--current", "same.csv", "--out", "current-same", cwd=project)
    assert same.returncode == 0, same.stdout + same.stderr
    result = mlgate("gate", "--layer", "drift", "--current", "shifted.csv", "--out", "current-shifted", cwd=project)
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads((project / "current-shifted" / "report.json").read_text())
    failed = [r for r in report["results"] if r["status"] == "fail"]
    assert [r["id"] for r in failed] == ["drift.current[credit_amount]"]
    assert f"({project / 'shifted.csv'} vs champion v1's training data)" in failed[0]["message"]
    assert report["run"]["data"]["current"]["champion_version"] == "1"
    assert registered_versions(project) == before  # read, never written
    (project / "noage.csv").write_text("risk,sex\n1,male\n")
    missing = mlgate("gate", "--layer", "drift", "--current", "noage.csv", cwd=project)
    errors = [line for line in missing.stderr.splitlines() if line.startswith("mlgate: error:")]
    assert missing.returncode == 2 and len(errors) == 1, missing.stderr
    assert "noage.csv: column 'credit_amount' (a feature the drift gate compares) not found" in missing.stderr
