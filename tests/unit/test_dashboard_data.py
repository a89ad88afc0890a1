"""ci.dashboard_data: the dashboard's frames from monitor history and retrain journal lines written with
``append_line`` (torn lines skipped, missing files empty, malformed fields NaN), the gate report summary, the
registry view without a store (nothing created), and ci.cli_dashboard's command line (flags, env, the missing
extra, a broken config, light imports)."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from mlgate.checks.result import CheckResult, GateReport, Interval, Reason, Status
from mlgate.ci import cli_dashboard
from mlgate.ci.dashboard_data import (
    JOURNAL_COLUMNS,
    STATUS,
    journal_frame,
    load_journal,
    load_monitor,
    load_registry,
    monitor_frames,
    summarize_report,
)
from mlgate.ci.journal import Lines, append_line, read_lines
from mlgate.pipeline.config import ProjectConfig, load_config
from mlgate.pipeline.errors import ConfigError, MlgateError

pytestmark = pytest.mark.unit

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def _drift(feature: str, effect: float, *, floor: float = 0.1, status: Status = Status.PASS) -> CheckResult:
    check = "monitor.prediction_drift" if feature == "" else f"monitor.input_drift[{feature}]"
    reason = None if status is Status.PASS else Reason.SIGNIFICANT_ABOVE_FLOOR
    details = {"effect": effect, "effect_floor": floor, "effect_name": "ks_d", "p_value": 0.01}
    return CheckResult(check, "drift", status, "drift", observed=effect, details=details, reason=reason)


def _live(metric: str, live: float, offline: float, low: float, high: float) -> CheckResult:
    diff = {"estimate": live - offline, "low": low, "high": high, "confidence": 0.95}
    details = {"metric": metric, "live": live, "offline": offline, "difference": diff}
    interval = Interval(low, high, 0.95)
    return CheckResult(
        f"monitor.live_quality[{metric}]", "quality", Status.PASS, "q", live, None, interval, None, True, details
    )


def _entry(at: datetime, results: list[CheckResult], **fields: Any) -> dict[str, Any]:
    return {
        "kind": "monitor",
        "id": f"run-{at:%H%M}",
        "at": at.isoformat(timespec="seconds"),
        "model_version": "3",
        "predictions": 300,
        "rejected": {"schema": 4, "too_large": 1},
        "dropped": 0,
        "passed": True,
        "failing": [],
        "report": "reports/monitor",
        "results": [r.to_dict() for r in results],
        **fields,
    }


@pytest.fixture
def config(project_copy: Path) -> ProjectConfig:
    return load_config(project_copy / "mlgate.toml")


@pytest.fixture
def history(config: ProjectConfig) -> Path:
    """Two monitor runs, the newer one first in the file (the frames sort by time), and a torn line between."""
    path = config.monitor.history_path(config.root)
    later = [
        _drift("age", 0.25, status=Status.FAIL),
        _drift("sex", 0.05, floor=0.2),
        _drift("", 0.12),
        _live("roc_auc", 0.70, 0.75, -0.09, -0.01),
        CheckResult("monitor.latency[p99]", "quality", Status.PASS, "l", 42.5, details={"budget_ms": 100.0}),
    ]
    append_line(path, _entry(T0 + timedelta(hours=1), later, passed=False, failing=["monitor.input_drift[age]"]))
    with path.open("ab") as handle:
        handle.write(b'{"v": 1, "kind": "monitor", "at": "2026-12-01T10:30:00+00:00", "resul\n')
    earlier = [_drift("age", 0.04), _live("roc_auc", 0.74, 0.75, -0.05, 0.03)]
    append_line(path, _entry(T0, earlier, rejected={"schema": 2}))
    return path


def test_monitor_frames_are_tidy_sorted_by_time_and_skip_the_torn_line(config: ProjectConfig, history: Path) -> None:
    frames = load_monitor(config)
    assert frames.exists and frames.skipped == 1
    assert list(frames.runs["at"]) == [T0, T0 + timedelta(hours=1)]
    assert list(frames.runs["predictions"]) == [300.0, 300.0]
    assert list(frames.runs["rejected"]) == [2.0, 5.0]
    assert list(frames.runs["passed"]) == [True, False]
    assert frames.runs["failing"].iloc[1] == "monitor.input_drift[age]"

    drift = frames.input_drift
    assert list(zip(drift["feature"], drift["effect"], strict=True)) == [("age", 0.04), ("age", 0.25), ("sex", 0.05)]
    assert list(drift["effect_floor"]) == [0.1, 0.1, 0.2]
    assert list(drift["status"]) == ["pass", "fail", "pass"]
    assert list(frames.prediction_drift["effect"]) == [0.12]
    assert "subject" not in frames.prediction_drift.columns


def test_live_quality_carries_the_interval_in_metric_units(config: ProjectConfig, history: Path) -> None:
    live = load_monitor(config).live_quality
    assert list(live["metric"]) == ["roc_auc", "roc_auc"]
    newer = live.iloc[1]
    assert (newer["live"], newer["offline"], newer["low"], newer["high"]) == (0.70, 0.75, -0.09, -0.01)
    assert newer["difference"] == pytest.approx(-0.05)
    # live - offline = -0.05 with interval [-0.09, -0.01]: live within 0.70 ± 0.04
    assert (newer["live_low"], newer["live_high"]) == (pytest.approx(0.66), pytest.approx(0.74))


def test_latency_and_estimates_from_the_producers_fields(config: ProjectConfig, history: Path) -> None:
    frames = load_monitor(config)
    assert list(frames.latency[["quantile", "observed", "budget_ms"]].itertuples(index=False, name=None)) == [
        ("p99", 42.5, 100.0)
    ]
    assert frames.estimated_quality.empty


def test_the_estimate_frame_reads_expected_and_offline() -> None:
    diff = {"estimate": 0.01, "low": -0.02, "high": 0.04, "confidence": 0.9}
    details = {"expected": 0.72, "offline": 0.71, "offline_measured": 0.75, "difference": diff, "estimate": True}
    result = CheckResult(
        "monitor.estimated_quality[roc_auc]",
        "quality",
        Status.PASS,
        "ESTIMATE",
        observed=0.72,
        interval=Interval(-0.02, 0.04, 0.9),
        blocking=False,
        details=details,
    )
    frame = monitor_frames(Lines([{"v": 1, **_entry(T0, [result])}], 0, True)).estimated_quality
    row = frame.iloc[0]
    assert (row["metric"], row["expected"], row["offline"], row["offline_measured"]) == ("roc_auc", 0.72, 0.71, 0.75)
    assert (row["expected_low"], row["expected_high"]) == (pytest.approx(0.69), pytest.approx(0.75))


def test_a_missing_field_is_nan_and_a_line_without_time_is_left_out() -> None:
    broken = {"id": "monitor.input_drift[age]", "status": "pass", "details": {"effect": "big", "effect_floor": None}}
    odd = {"id": "monitor.latency[p50]", "observed": True, "details": []}
    records = [
        {"v": 1, "kind": "monitor", "at": T0.isoformat(), "results": [broken, odd, "not a result", 3]},
        {"v": 1, "kind": "monitor", "at": "yesterday", "results": [broken]},
        {"v": 1, "kind": "monitor", "results": [broken]},
        {"v": 1, "kind": "something else", "at": T0.isoformat(), "results": [broken]},
    ]
    frames = monitor_frames(Lines(records, 0, True))
    assert len(frames.runs) == 1 and math.isnan(frames.runs["predictions"].iloc[0])
    assert len(frames.input_drift) == 1
    assert math.isnan(frames.input_drift["effect"].iloc[0]) and math.isnan(frames.input_drift["effect_floor"].iloc[0])
    assert math.isnan(frames.latency["observed"].iloc[0])


JSON = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False, allow_infinity=False) | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)
IDS = st.sampled_from(
    ["monitor.input_drift[a]", "monitor.prediction_drift", "monitor.live_quality[m]", "monitor.latency[p50]", "x"]
)
RESULT = st.fixed_dictionaries({"id": IDS}, optional={"details": JSON, "interval": JSON, "observed": JSON})


@given(st.lists(st.fixed_dictionaries({"at": st.just(T0.isoformat())}, optional={"results": st.lists(RESULT | JSON)})))
def test_any_json_in_a_line_gives_frames_not_a_traceback(records: list[dict[str, Any]]) -> None:
    frames = monitor_frames(Lines([{"v": 1, **r} for r in records], 0, True))
    assert len(frames.runs) == len(records)


def test_missing_history_and_journal_are_empty_not_errors(config: ProjectConfig) -> None:
    frames, journal = load_monitor(config), load_journal(config)
    assert frames.empty and not frames.exists and frames.input_drift.empty and frames.latency.empty
    assert journal.frame.empty and not journal.exists


def test_an_unreadable_history_is_one_mlgate_error(config: ProjectConfig) -> None:
    config.monitor.history_path(config.root).mkdir(parents=True)
    with pytest.raises(MlgateError, match="cannot read the journal"):
        load_monitor(config)


def _line(event: str, rid: str, at: datetime, **fields: Any) -> dict[str, Any]:
    """A journal line as ci.retrain_loop writes it (a ``started`` line has ``started_at``, no ``at``)."""
    moment = "started_at" if event == "started" else "at"
    return {"kind": "retrain", "event": event, "id": rid, moment: at.isoformat(timespec="seconds"), **fields}


def _trigger(name: str, fires: bool, evidence: str) -> dict[str, Any]:
    key = f"{name}:k"
    return {"name": name, "fired": fires, "fires": fires, "evidence": evidence, "key": key, "handled_by": None}


DRIFT = _trigger("drift", True, "monitor run failed monitor.input_drift[duration]")
STALE = _trigger("stale", False, "champion trained 2 days ago (limit 30)")


@pytest.fixture
def journal(config: ProjectConfig) -> Path:
    """Six retrains: registered, rejected, nothing fired, died (an ``interrupted`` line), running, a config error."""
    path = config.retrain.journal_path(config.root)
    both, m = [DRIFT, STALE], timedelta(minutes=1)
    append_line(path, _line("started", "r-new", T0, triggers=both, fired=["drift"]))
    append_line(path, _line("finished", "r-new", T0 + 5 * m, outcome="registered", stage="gate", triggers=both,
                            fired=["drift"], model_version="2", champion_before="1", champion_after="2",
                            gate={"passed": True, "failing": []}, message="v2 passed and is champion"))  # fmt: skip
    append_line(path, _line("finished", "r-bad", T0 + 10 * m, outcome="rejected", stage="gate", triggers=[DRIFT],
                            fired=["drift"], model_version="3", champion_before="2", champion_after="2",
                            gate={"passed": False, "failing": ["quality.metric[roc_auc]", "fairness.gap[sex]"]},
                            message="v3 failed the gate"))  # fmt: skip
    quiet = [{**DRIFT, "fired": False, "fires": False, "evidence": "no monitor run since v2"}, STALE]
    append_line(path, _line("finished", "r-quiet", T0 + 20 * m, outcome="not-fired", stage="triggers", triggers=quiet,
                            fired=[], champion_before="2", message="no trigger fired: nothing to do"))  # fmt: skip
    append_line(path, _line("started", "r-dead", T0 + 30 * m, triggers=[DRIFT], fired=["drift"]))
    with path.open("ab") as handle:
        handle.write(b'{"v": 1, "kind": "retrain", "event": "finished", "id": "r-dead"\n')  # torn
    append_line(path, _line("interrupted", "r-dead", T0 + 40 * m, detected_by="r-next"))
    append_line(path, _line("started", "r-run", T0 + 50 * m, triggers=[DRIFT], fired=["drift"]))
    append_line(path, _line("finished", "r-config", T0 + 60 * m, outcome="error", stage="config", exit_code=2,
                            error="mlgate.toml: [retrain] when: unknown trigger 'sometimes'", triggers=[], fired=[],
                            message="the config mlgate.toml did not load: unknown trigger 'sometimes'"))  # fmt: skip
    return path


def test_the_journal_is_one_row_per_retrain_with_named_columns(config: ProjectConfig, journal: Path) -> None:
    view = load_journal(config)
    assert view.exists and view.skipped == 1
    frame = view.frame.set_index("id")
    assert list(view.frame.columns) == JOURNAL_COLUMNS
    assert list(view.frame["id"]) == ["r-new", "r-bad", "r-quiet", "r-dead", "r-run", "r-config"]  # by time
    assert list(view.frame["status"]) == [
        "registered", "rejected", "nothing fired", "interrupted", "running or died", "error"
    ]  # fmt: skip
    assert list(view.frame["open"]) == [False, False, False, False, True, False]
    assert frame.loc["r-new", "at"] == T0 + timedelta(minutes=5)  # the finished line's time
    assert frame.loc["r-dead", "at"] == T0 + timedelta(minutes=30)  # the started line's started_at
    assert frame.loc["r-new", "champion"] == "v1 → v2" and frame.loc["r-bad", "champion"] == "v2 (kept)"
    assert frame.loc["r-new", "model_version"] == "2" and frame.loc["r-new", "fired"] == "drift"
    assert frame.loc["r-bad", "failing"] == "quality.metric[roc_auc], fairness.gap[sex]"
    assert frame.loc["r-new", "failing"] == "" and frame.loc["r-new", "stage"] == "gate"


def test_the_evidence_is_of_the_fired_triggers_or_of_all_when_none_fired(config: ProjectConfig, journal: Path) -> None:
    frame = load_journal(config).frame.set_index("id")
    assert frame.loc["r-new", "evidence"] == "drift: monitor run failed monitor.input_drift[duration]"
    assert frame.loc["r-quiet", "evidence"] == (
        "drift: no monitor run since v2; stale: champion trained 2 days ago (limit 30)"
    )


def test_interrupted_and_config_error_lines_say_what_happened(config: ProjectConfig, journal: Path) -> None:
    frame = load_journal(config).frame.set_index("id")
    dead, broken = frame.loc["r-dead"], frame.loc["r-config"]
    assert (dead["status"], dead["outcome"], dead["fired"]) == ("interrupted", "interrupted", "drift")
    assert dead["message"] == ("died before its finished line; found by retrain r-next at 2026-12-01T10:40:00+00:00")
    assert (broken["status"], broken["stage"], broken["champion"]) == ("error", "config", "")
    assert broken["message"] == "the config mlgate.toml did not load: unknown trigger 'sometimes'"


def test_each_retrains_lines_are_kept_for_its_details(config: ProjectConfig, journal: Path) -> None:
    lines = load_journal(config).lines
    assert [line["event"] for line in lines["r-new"]] == ["started", "finished"]
    assert [line["event"] for line in lines["r-dead"]] == ["started", "interrupted"]
    assert lines["r-new"][1]["triggers"] == [DRIFT, STALE] and "v" not in lines["r-new"][1]


@pytest.mark.parametrize(
    ("outcome", "status"),
    [
        ("rolled-out", "retrained and rolled out"),
        ("released", "released"),
        ("registered", "registered"),
        ("rejected", "rejected"),
        ("skipped", "skipped"),
        ("not-fired", "nothing fired"),
        ("dry-run", "dry run"),
        ("error", "error"),
        ("interrupted", "interrupted"),
        ("rollout-failed", "rollout failed, old image kept"),
        ("a-new-outcome", "a-new-outcome"),
    ],
)
def test_every_outcome_has_plain_words(tmp_path: Path, outcome: str, status: str) -> None:
    append_line(tmp_path / "j.jsonl", _line("finished", "r", T0, outcome=outcome))
    frame = journal_frame(read_lines(tmp_path / "j.jsonl"))
    assert (frame["status"].iloc[0], frame["outcome"].iloc[0], frame["open"].iloc[0]) == (status, outcome, False)


def test_every_documented_outcome_is_in_plain_words(repo_root: Path) -> None:
    documented = (repo_root / "ci" / "retrain_loop.py").read_text(encoding="utf-8").split("``outcome`` (")[1]
    outcomes = re.findall(r"``([a-z-]+)``", documented.split(")")[0])
    assert len(outcomes) >= 10 and set(outcomes) <= set(STATUS)


def test_older_lines_naming_the_event_in_kind_still_pair(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    append_line(path, {"kind": "started", "id": "a", "at": T0.isoformat(), "triggers": ["drift", "stale"]})
    append_line(path, {"kind": "finished", "id": "a", "at": (T0 + timedelta(minutes=5)).isoformat(), "why": {"p": 1}})
    append_line(path, {"kind": "started", "id": "b", "at": (T0 + timedelta(hours=1)).isoformat()})
    frame = journal_frame(read_lines(path))
    assert list(zip(frame["id"], frame["status"], frame["open"], strict=True)) == [
        ("a", "no outcome", False),
        ("b", "running or died", True),
    ]


def test_the_retrains_that_made_a_champion_are_chart_marks(config: ProjectConfig, journal: Path) -> None:
    from mlgate.ci.dashboard_app import retrain_marks

    append_line(journal, _line("finished", "r-out", T0 + timedelta(hours=2), outcome="rolled-out", model_version="4"))
    append_line(journal, _line("finished", "r-rel", T0 + timedelta(hours=3), outcome="released", model_version=5))
    marks = retrain_marks(load_journal(config).frame)
    assert list(marks["id"]) == ["r-new", "r-out", "r-rel"]  # not the rejected, quiet, dead or broken ones
    assert list(marks["label"]) == ["retrain → v2", "retrain → v4", "retrain → v5"]
    assert list(marks["at"]) == [T0 + timedelta(minutes=5), T0 + timedelta(hours=2), T0 + timedelta(hours=3)]


def test_journal_frame_of_nothing_has_its_columns() -> None:
    assert list(journal_frame(Lines()).columns) == JOURNAL_COLUMNS


def test_the_gate_summary_lists_layers_failures_and_waivers() -> None:
    waived = CheckResult(
        "drift.feature[age]",
        "drift",
        Status.WAIVED,
        "waived: drift",
        details={"waiver": {"owner": "ana", "reason": "known", "expires": "2027-01-01"}},
        reason=Reason.SIGNIFICANT_ABOVE_FLOOR,
    )
    failed = CheckResult(
        "quality.metric[roc_auc]", "quality", Status.FAIL, "roc_auc 0.6 below 0.7", reason=Reason.BELOW_BOUND
    )
    passed = CheckResult("schema.columns", "schema", Status.PASS, "ok")
    data = json.loads(json.dumps(GateReport.collect([waived, failed, passed]).to_dict()))
    summary = summarize_report(data, source="release/report.json", html="<html/>")
    assert summary.passed is False and summary.error is None and summary.html == "<html/>"
    assert summary.layers["quality"] == "fail" and summary.layers["drift"] == "waived"
    assert list(summary.failures["id"]) == ["quality.metric[roc_auc]"]
    assert summary.failures["message"].iloc[0] == "roc_auc 0.6 below 0.7"
    assert summary.waivers.to_dict("records") == [
        {"id": "drift.feature[age]", "owner": "ana", "reason": "known", "expires": "2027-01-01"}
    ]


@pytest.mark.parametrize("data", [[], "text", None])
def test_a_report_that_is_not_an_object_is_an_error_line(data: Any) -> None:
    summary = summarize_report(data, source="reports/report.json")
    assert summary.error == "reports/report.json: not a report (a JSON object was expected)"


def test_no_store_is_reported_and_never_created(config: ProjectConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLGATE_TRACKING_URI", raising=False)
    view = load_registry(config)
    assert view.exists is False and view.champion is None and view.error is None
    assert not (config.root / "mlruns").exists()


def test_a_store_error_is_one_line_not_an_exception(config: ProjectConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlgate.ci import dashboard_data
    from mlgate.pipeline.errors import RegistryError
    from mlgate.pipeline.registry import Registry

    def refuse(self: Registry) -> None:
        raise RegistryError("reading the champion failed: locked")

    monkeypatch.setattr(dashboard_data, "store_exists", lambda config: True)
    monkeypatch.setattr(Registry, "champion", refuse)
    view = load_registry(config)
    assert view.exists and view.error == "reading the champion failed: locked"


# -- ci.cli_dashboard -----------------------------------------------------------------------------------------------


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command()(cli_dashboard.dashboard)
    return app


def test_the_command_starts_streamlit_headless_on_localhost(
    project_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[tuple[list[str], dict[str, str]]] = []
    monkeypatch.setattr(cli_dashboard, "_exec", lambda command, env: started.append((command, env)))
    result = CliRunner().invoke(_app(), ["--config", str(project_copy / "mlgate.toml"), "--port", "8765"])
    assert result.exit_code == 0, result.output
    ((command, env),) = started
    assert command[:5] == [sys.executable, "-m", "streamlit", "run", str(cli_dashboard.APP)]
    flags = dict(zip(command[5::2], command[6::2], strict=True))
    assert flags["--server.headless"] == "true" and flags["--browser.gatherUsageStats"] == "false"
    assert flags["--server.address"] == "127.0.0.1" and flags["--server.port"] == "8765"
    assert env[cli_dashboard.CONFIG_ENV] == str((project_copy / "mlgate.toml").resolve())
    assert env["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] == "false"
    assert cli_dashboard.APP.is_file()


def test_a_broken_config_stops_before_the_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_dashboard, "_exec", lambda command, env: pytest.fail("the server was started"))
    (tmp_path / "mlgate.toml").write_text("name = [\n", encoding="utf-8")
    result = CliRunner().invoke(_app(), ["--config", str(tmp_path / "mlgate.toml")])
    assert isinstance(result.exception, ConfigError)


def test_a_missing_extra_names_mlgate_dashboard(monkeypatch: pytest.MonkeyPatch) -> None:
    real = cli_dashboard.importlib.util.find_spec
    monkeypatch.setattr(
        cli_dashboard.importlib.util, "find_spec", lambda name: None if name == "streamlit" else real(name)
    )
    result = CliRunner().invoke(_app(), [])
    assert isinstance(result.exception, MlgateError)
    assert str(result.exception) == (
        "mlgate dashboard needs the 'dashboard' extra (module 'streamlit' is not installed): "
        "pip install 'mlgate[dashboard]'"
    )


def test_the_dashboard_extra_matches_its_modules(repo_root: Path) -> None:
    project = tomllib.loads((repo_root / "pyproject.toml").read_text(encoding="utf-8"))
    extra = project["project"]["optional-dependencies"]["dashboard"]
    names = {re.split(r"[<>=\[ ]", spec)[0].lower() for spec in extra}
    assert names - {"mlgate"} == set(cli_dashboard.DASHBOARD_EXTRA_MODULES)
    assert "mlgate[run]" in extra  # the registry needs MLflow
    assert "mlgate[dashboard]" in project["dependency-groups"]["dev"]


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        ("mlgate.ci.cli_dashboard", {"streamlit", "altair", "pandas", "mlflow", "sklearn", "matplotlib"}),
        ("mlgate.ci.dashboard_data", {"streamlit", "altair", "mlflow", "sklearn", "matplotlib"}),
    ],
)
def test_imports_stay_light(module: str, forbidden: set[str]) -> None:
    code = "import importlib, json, sys; importlib.import_module(sys.argv[1]); print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code, module], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    loaded = {name.split(".")[0] for name in json.loads(done.stdout)}
    assert not loaded & forbidden, f"import {module} loads {sorted(loaded & forbidden)}"


def test_read_lines_is_what_the_frames_read(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    append_line(path, _entry(T0, []))
    assert monitor_frames(read_lines(path)).runs["model_version"].tolist() == ["3"]
