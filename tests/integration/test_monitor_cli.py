"""``mlgate monitor`` end to end: a gated run registers the bundled project's model (with its monitoring reference)
in a temporary store, served traffic is written into a real prediction log with the predlog writer (SQLite files,
and a PostgreSQL server), and ``python -m mlgate.ci.cli monitor`` judges it: exit codes, one-line errors, the four
report files, the Prometheus textfile, the release bundle's copy of the reference."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fixtures.monitor_traffic import Traffic, shifted, write_log
from fixtures.project import WINDOW, mlgate, monitored_project

from mlgate.pipeline.config import load_config


def _report(folder: Path) -> dict:
    return json.loads((folder / "report.json").read_text(encoding="utf-8"))


def _status(report: dict, check: str) -> str:
    return next(r["status"] for r in report["results"] if r["id"] == check)


def _error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert "Traceback" not in result.stderr, result.stderr
    return [line for line in result.stderr.splitlines() if line.startswith("mlgate: error:")]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled project after a passing gated run, with three logs of the held-out rows as the champion scores
    them: clean (with feedback), credit_amount x1.25, and feedback with 40% of good applicants reported bad."""
    from mlgate.pipeline.evaluate import positive_proba

    found = monitored_project(tmp_path_factory.mktemp("monitored"))
    flipped = found.data.split.y_test.to_numpy().copy()
    good = np.flatnonzero(flipped == 1)
    flipped[np.random.default_rng(0).choice(good, size=int(0.4 * len(good)), replace=False)] = 0
    labels = Traffic(found.rows, positive_proba(found.model, found.rows), labels=list(flipped))
    write_log(found.folder / "log-labels", labels)
    return found.folder


def test_clean_traffic_passes_with_four_reports_and_a_prometheus_textfile(project: Path) -> None:
    result = mlgate("monitor", "--log", "log-clean", *WINDOW, "--out", "mon", "--metrics-file", "m.prom", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert {p.name for p in (project / "mon").iterdir()} >= {"report.json", "report.md", "report.html", "junit.xml"}
    report = _report(project / "mon")
    assert report["passed"] is True
    assert report["run"]["registry"]["version"] == "1"
    assert report["run"]["monitor"]["reference"].startswith("model v1 (run ")
    assert report["run"]["monitor"]["predictions"] == 300
    assert _status(report, "monitor.input_drift[credit_amount]") == "pass"
    assert _status(report, "monitor.live_quality[expected_cost]") == "pass"
    assert _status(report, "monitor.champion_age") == "pass"
    assert "mlgate_monitor_passed 1.0" in (project / "m.prom").read_text(encoding="utf-8")
    assert "window" in (project / "mon" / "report.md").read_text(encoding="utf-8")


def test_a_shifted_feature_exits_1_naming_the_feature(project: Path) -> None:
    result = mlgate("monitor", "--log", "log-shift", *WINDOW, "--out", "mon-shift", cwd=project)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "monitor.input_drift[credit_amount]" in result.stdout
    assert "feature 'credit_amount' drifted" in result.stdout
    report = _report(project / "mon-shift")
    failing = [r["id"] for r in report["results"] if r["status"] == "fail" and r["blocking"]]
    assert failing == ["monitor.input_drift[credit_amount]"]


def test_every_verdict_is_appended_to_the_monitor_history(project: Path) -> None:
    from mlgate.ci.journal import read_lines

    history = project / ".mlgate" / "monitor" / "history.jsonl"
    before = len(read_lines(history).records)
    assert mlgate("monitor", "--log", "log-shift", *WINDOW, "--out", "mon-h", cwd=project).returncode == 1
    entries = read_lines(history).records
    assert len(entries) == before + 1
    assert entries[-1]["failing"] == ["monitor.input_drift[credit_amount]"] and entries[-1]["model_version"] == "1"
    assert (
        mlgate("monitor", "--log", "log-shift", *WINDOW, "--out", "mon-h", "--no-history", cwd=project).returncode == 1
    )
    assert len(read_lines(history).records) == before + 1
    history.rename(history.with_name("moved"))
    history.mkdir()  # a history path that cannot be appended to: a warning, the verdict stands
    try:
        result = mlgate("monitor", "--log", "log-shift", *WINDOW, "--out", "mon-h", cwd=project)
        assert result.returncode == 1 and "warning: the verdict was not added to the monitor history" in result.stderr
    finally:
        history.rmdir()
        history.with_name("moved").rename(history)


def test_a_label_shift_through_feedback_exits_1_on_live_quality(project: Path) -> None:
    result = mlgate("monitor", "--log", "log-labels", *WINDOW, "--out", "mon-labels", cwd=project)
    assert result.returncode == 1, result.stdout + result.stderr
    report = _report(project / "mon-labels")
    assert _status(report, "monitor.live_quality[expected_cost]") == "fail"
    assert _status(report, "monitor.input_drift[credit_amount]") == "pass"


def test_an_empty_window_exits_0_with_a_warning_and_judges_nothing(project: Path) -> None:
    window = ["--since", "2020-01-01T00:00:00Z", "--until", "2020-01-02T00:00:00Z"]
    result = mlgate("monitor", "--log", "log-clean", *window, "--out", "mon-empty", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "mlgate: warning: no predictions in the window" in result.stderr
    report = _report(project / "mon-empty")
    assert _status(report, "monitor.window") == "warn"
    assert _status(report, "monitor.input_drift[age]") == "skipped"
    assert not [r for r in report["results"] if r["layer"] == "drift" and r["status"] == "pass"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--since", "last tuesday"], "--since 'last tuesday': not a time"),
        (["--since", "1h", "--last", "5"], "--since and --last name two different windows"),
        (["--log", "no-such-folder"], "no-such-folder"),
    ],
)
def test_a_bad_option_is_one_line_and_exit_2(project: Path, options: list[str], message: str) -> None:
    result = mlgate("monitor", *(options if "--log" in options else ["--log", "log-clean", *options]), cwd=project)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = _error_lines(result)
    assert len(lines) == 1 and message in lines[0], result.stderr


def test_a_corrupted_reference_artifact_is_one_line_and_exit_2(project: Path) -> None:
    found = sorted(project.glob("mlruns/artifacts/*/artifacts/monitor/rows.parquet"))
    assert len(found) == 1
    saved = found[0].read_bytes()
    try:
        found[0].write_bytes(saved[:-20] + b"\0" * 20)
        result = mlgate("monitor", "--log", "log-clean", *WINDOW, "--out", "mon-bad", cwd=project)
    finally:
        found[0].write_bytes(saved)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = _error_lines(result)
    assert len(lines) == 1 and "rows.parquet: sha256" in lines[0] and "changed or corrupted" in lines[0]
    assert not (project / "mon-bad" / "report.json").exists()


def test_the_release_bundle_carries_the_reference_and_monitor_reads_it(project: Path) -> None:
    import hashlib

    from mlgate.checks.result import GateReport
    from mlgate.ci.release_flow import build_release_bundle

    config = load_config(project / "mlgate.toml")
    raw = (project / "reports" / "report.json").read_text(encoding="utf-8")
    report = GateReport.from_dict(json.loads(raw))
    bundle = build_release_bundle(config, report, hashlib.sha256(raw.encode()).hexdigest(), project / "bundle")
    assert (bundle / "monitor" / "reference.json").is_file()
    result = mlgate("monitor", "--bundle", "bundle", "--log", "log-shift", *WINDOW, "--out", "mon-b", cwd=project)
    assert result.returncode == 1, result.stdout + result.stderr
    assert _report(project / "mon-b")["run"]["monitor"]["reference_source"] == "bundle bundle"


@pytest.mark.postgres
def test_monitor_reads_a_prediction_log_on_postgresql(project: Path, postgres_server) -> None:
    from mlgate.pipeline.dataload import load_data
    from mlgate.pipeline.evaluate import positive_proba
    from mlgate.pipeline.registry import Registry

    url = postgres_server.create_database("monitor_log")
    config = load_config(project / "mlgate.toml")
    data = load_data(config)
    rows = data.split.test[data.prepared.features].reset_index(drop=True)
    moved = shifted(rows, column="credit_amount", factor=1.25)
    model = Registry.from_config(config).load_model("champion")
    write_log(url, Traffic(moved, positive_proba(model, moved)))
    result = mlgate("monitor", "--log", url, *WINDOW, "--out", "mon-pg", cwd=project)
    assert result.returncode == 1, result.stdout + result.stderr
    report_text = (project / "mon-pg" / "report.json").read_text(encoding="utf-8")
    assert postgres_server.owner_password not in report_text + result.stdout + result.stderr
    assert _status(json.loads(report_text), "monitor.input_drift[credit_amount]") == "fail"


def test_monitor_has_help_and_is_light_to_start(repo_root: Path) -> None:
    result = mlgate("monitor", "--help", cwd=repo_root)
    assert result.returncode == 0, result.stderr
    for option in ("--since", "--last", "--until", "--log", "--out", "--bundle", "--metrics-file"):
        assert option in result.stdout


def test_without_a_store_or_a_bundle_monitor_says_where_the_reference_comes_from(project_copy: Path) -> None:
    write_log(project_copy / "log", Traffic(pd.DataFrame({"age": [30]}), np.array([0.5])))
    result = mlgate("monitor", "--log", "log", *WINDOW, cwd=project_copy)
    assert result.returncode == 3, result.stdout + result.stderr
    lines = _error_lines(result)
    assert len(lines) == 1 and "no MLflow store at" in lines[0] and "--bundle DIR" in lines[0]
    assert not (project_copy / "mlruns").exists()


def test_the_walkthrough_serves_sends_traffic_and_feedback_and_monitors_it_through_the_real_app(project: Path) -> None:
    """ci.monitor_walkthrough (what .ci/run runs, on SQLite and PostgreSQL): the real app logs 600 clean records
    and their labels, then 600 with credit_amount x 1.25; mlgate monitor passes the first window and fails the second
    naming the feature."""
    bundle = project / "bundle"
    if not (bundle / "monitor" / "reference.json").is_file():
        test_the_release_bundle_carries_the_reference_and_monitor_reads_it(project)
    command = [
        sys.executable, "-m", "mlgate.ci.monitor_walkthrough", "--config", "mlgate.toml", "--bundle", "bundle",
        "--workdir", "walk", "--rows", "600",
    ]  # fmt: skip
    done = subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads((project / "walk" / "walkthrough.json").read_text(encoding="utf-8"))
    assert summary["clean"] == {"exit": 0, "failing": []}
    assert summary["shifted"] == {"exit": 1, "failing": ["monitor.input_drift[credit_amount]"]}
    assert len(list((project / "walk" / "predictions").glob("*.sqlite"))) == 1
