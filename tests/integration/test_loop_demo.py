"""The continuous-training loop end to end (ci/loop_demo.py) through the real app in-process: champion v1 served,
held-out rows replayed with delayed feedback, a shift injected, the monitor failing on it, ``mlgate retrain --when
drift`` training on the new period too and its candidate serving, with no failed request. ``make loop-e2e``
runs the same command with the real image (release, replicas behind nginx, the rolling update under load) and
prints its table; ``benchmarks/bench_loop.py`` repeats it over seeds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlgate.ci.journal import read_lines
from mlgate.ci.loop_demo import main


def test_the_loop_closes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--workdir", str(tmp_path), "--seed", "0", "--serving", "in-process"]) == 0
    out = capsys.readouterr().out
    saved = json.loads((tmp_path / "timeline.json").read_text())
    events = saved["events"]
    assert events["shift_at"] == 300 and 0 < events["detected_after"] <= 450
    assert events["retrain_outcome"] == "registered" and saved["failed_requests"] == 0
    clean = [v for v in saved["verdicts"] if v["phase"] == "clean"]
    assert clean and all(v["passed"] for v in clean)  # no false alarm before the shift
    first_fail = next(v for v in saved["verdicts"] if not v["passed"])
    assert "monitor.input_drift[duration]" in first_fail["failing"]
    # the retrain trained on the data file plus the labelled served rows, the shifted period among them
    project = tmp_path / "project"
    [finished] = [r for r in read_lines(project / ".mlgate/retrain/journal.jsonl").records if r["event"] == "finished"]
    feedback = finished["inputs"]["feedback"]
    assert finished["fired"] == ["drift"] and feedback["training"]["rows"] == 500
    assert feedback["feedback"]["rows"] >= 500 and feedback["combined"]["rows"] == 500 + feedback["feedback"]["rows"]
    history = read_lines(project / ".mlgate/monitor/history.jsonl").records
    assert len(history) == len(saved["verdicts"])  # every verdict is in the history the dashboard draws
    assert "new - shadow (paired)" in out and (tmp_path / "timeline.png").stat().st_size > 10_000
    # the label shift made v1 costly; the retrained model, on the same later records, is credibly cheaper
    quality = saved["quality"]
    assert quality["shifted, v1"]["cost"][0] > quality["clean"]["cost"][0] + 0.3
    assert quality["new - shadow (paired)"]["cost"][2] < 0
