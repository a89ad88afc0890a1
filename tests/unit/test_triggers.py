"""The retrain triggers (ci/triggers.py): each fires on its known-bad situation with the evidence named, stays
quiet on the known-good one, and a key a completed retrain handled never fires again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mlgate.ci.journal import append_line, monitor_entry, read_lines
from mlgate.ci.triggers import Situation, evaluate
from mlgate.pipeline.config import load_config
from mlgate.pipeline.records import ChampionRecord
from mlgate.pipeline.tags import Tag

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
ALL = ["new-data", "drift", "quality", "stale", "schedule"]


def _config(repo_root: Path) -> Any:
    return load_config(repo_root / "mlgate.toml")


def _champion(version: str = "3", fingerprint: str = "a" * 64, age_days: float = 1.0) -> ChampionRecord:
    return ChampionRecord(
        name="german-credit",
        version=version,
        run_id=f"run{version}",
        trained_at=NOW - timedelta(days=age_days),
        tags={Tag.DATA_FINGERPRINT: fingerprint},
    )


def _situation(repo_root: Path, **kwargs: Any) -> Situation:
    base: dict[str, Any] = {
        "config": _config(repo_root),
        "now": NOW,
        "champion": _champion(),
        "data_fingerprint": "a" * 64,
        "data_source": "data/german_credit.csv",
        "data_rows": 1000,
    }
    base.update(kwargs)
    return Situation(**base)


def _by_name(situation: Situation, names: list[str] | None = None) -> dict[str, Any]:
    return {t.name: t for t in evaluate(situation, names or ALL)}


def _monitor_line(at: datetime, version: str, failing: list[str], run_id: str = "m1") -> dict[str, Any]:
    return {"kind": "monitor", "id": run_id, "at": at.isoformat(), "model_version": version, "failing": failing,
            "predictions": 500, "v": 1}  # fmt: skip


def test_quiet_when_nothing_changed(repo_root: Path) -> None:
    found = _by_name(_situation(repo_root, journal=[_finished("r0", NOW - timedelta(hours=1), "released", [])]))
    assert not any(t.fires for t in found.values()), {n: t.evidence for n, t in found.items()}
    assert "is the data champion v3 was trained on" in found["new-data"].evidence
    assert "no mlgate monitor verdict" in found["drift"].evidence


def test_new_data_fires_on_a_changed_fingerprint_and_without_champion(repo_root: Path) -> None:
    found = _by_name(_situation(repo_root, data_fingerprint="b" * 64, data_rows=1060), ["new-data"])
    t = found["new-data"]
    assert t.fires and "changed" in t.evidence and "1060 rows" in t.evidence and t.key == f"new-data:{'b' * 64}"
    alone = _by_name(_situation(repo_root, champion=None), ["new-data"])["new-data"]
    assert alone.fires and "no champion yet" in alone.evidence


def test_drift_and_quality_fire_on_the_newest_failing_verdict_of_the_champion(repo_root: Path) -> None:
    history = [
        _monitor_line(NOW - timedelta(hours=2), "3", [], "m1"),
        _monitor_line(NOW - timedelta(hours=1), "3", ["monitor.input_drift[credit_amount]"], "m2"),
    ]
    found = _by_name(_situation(repo_root, history=history))
    assert found["drift"].fires and "monitor.input_drift[credit_amount]" in found["drift"].evidence
    assert found["drift"].key == "drift:m2"
    assert not found["quality"].fires and "no quality check failed" in found["quality"].evidence
    history.append(_monitor_line(NOW - timedelta(minutes=5), "3", ["monitor.live_quality[roc_auc]"], "m3"))
    found = _by_name(_situation(repo_root, history=history))
    assert found["quality"].fires and not found["drift"].fires  # only the newest verdict counts


def test_monitor_verdicts_that_do_not_count(repo_root: Path) -> None:
    old = [_monitor_line(NOW - timedelta(hours=30), "3", ["monitor.prediction_drift"])]
    assert (
        "no mlgate monitor verdict in the last 24 h" in _by_name(_situation(repo_root, history=old))["drift"].evidence
    )
    other = [_monitor_line(NOW - timedelta(hours=1), "2", ["monitor.prediction_drift"])]
    t = _by_name(_situation(repo_root, history=other))["drift"]
    assert not t.fires and "judged v2, not v3" in t.evidence


def test_stale_fires_past_max_age(repo_root: Path) -> None:
    t = _by_name(_situation(repo_root, champion=_champion(age_days=100)), ["stale"])["stale"]
    assert t.fires and "stale" in t.evidence and t.key == "stale:v3"
    assert not _by_name(_situation(repo_root, champion=_champion(age_days=40)), ["stale"])["stale"].fires


def _finished(rid: str, at: datetime, outcome: str, fired_keys: list[str]) -> dict[str, Any]:
    triggers = [{"name": k.split(":")[0], "fired": True, "fires": True, "key": k} for k in fired_keys]
    return {"kind": "retrain", "event": "finished", "id": rid, "at": at.isoformat(), "outcome": outcome,
            "triggers": triggers, "v": 1}  # fmt: skip


def test_schedule_fires_after_the_interval(repo_root: Path) -> None:
    assert _by_name(_situation(repo_root), ["schedule"])["schedule"].fires  # no retrain ever
    recent = [_finished("r1", NOW - timedelta(hours=10), "released", [])]
    assert not _by_name(_situation(repo_root, journal=recent), ["schedule"])["schedule"].fires
    old = [_finished("r1", NOW - timedelta(days=8), "rejected", [])]
    t = _by_name(_situation(repo_root, journal=old), ["schedule"])["schedule"]
    assert t.fires and "r1" in t.evidence
    failed = [_finished("r1", NOW - timedelta(hours=1), "error", [])]  # an error is not a retrain
    assert _by_name(_situation(repo_root, journal=failed), ["schedule"])["schedule"].fires


def test_a_handled_key_never_fires_twice(repo_root: Path) -> None:
    key = f"new-data:{'b' * 64}"
    done = [_finished("r1", NOW - timedelta(hours=1), "rejected", [key])]
    t = _by_name(_situation(repo_root, data_fingerprint="b" * 64, journal=done), ["new-data"])["new-data"]
    assert t.fired and not t.fires and t.handled_by == "r1"
    crashed = [_finished("r1", NOW - timedelta(hours=1), "interrupted", [key])]  # did not complete: fire again
    assert _by_name(_situation(repo_root, data_fingerprint="b" * 64, journal=crashed), ["new-data"])["new-data"].fires


def test_journal_lines_survive_a_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    append_line(path, {"kind": "retrain", "id": "a"})
    with path.open("ab") as out:
        out.write(b'{"kind": "retrain", "id": "b", "v"')  # a crash mid-write
    append_line(path, {"kind": "retrain", "id": "c"})
    lines = read_lines(path)
    assert [r["id"] for r in lines.records] == ["a", "c"] and lines.skipped == 1  # c starts on a line of its own
    assert read_lines(tmp_path / "missing.jsonl").records == []


def test_monitor_entry_records_the_verdict() -> None:
    from mlgate.checks.result import CheckResult, GateReport, Status

    report = GateReport.collect(
        [CheckResult("monitor.prediction_drift", "drift", Status.FAIL, "drifted", observed=0.3)],
        run={"monitor": {"predictions": 10, "window": "w"}, "registry": {"version": "3"}},
    )
    entry = monitor_entry(report, at=NOW, out=None)
    assert entry["failing"] == ["monitor.prediction_drift"] and entry["model_version"] == "3"
    assert entry["passed"] is False and entry["results"][0]["observed"] == 0.3


def test_a_retrain_that_would_reproduce_the_champion_is_skipped(repo_root: Path) -> None:
    from mlgate.ci.retrain_loop import _skip_reason

    config = _config(repo_root)
    same = _champion()
    same.tags[Tag.CONFIG_SHA256] = config.sha256
    reason = _skip_reason(_situation(repo_root, champion=same), "key")
    assert reason is not None and "would reproduce it" in reason
    other_config = _champion()
    other_config.tags[Tag.CONFIG_SHA256] = "0" * 64  # the config changed since: a retrain is not a copy
    assert _skip_reason(_situation(repo_root, champion=other_config), "key") is None
    assert _skip_reason(_situation(repo_root, champion=same, data_fingerprint="b" * 64), "key") is None
    tried = [{"kind": "retrain", "event": "finished", "id": "r1", "outcome": "rejected", "inputs": {"key": "key"}}]
    reason = _skip_reason(_situation(repo_root, champion=None, journal=tried), "key")
    assert reason is not None and "r1 already trained on these inputs" in reason
