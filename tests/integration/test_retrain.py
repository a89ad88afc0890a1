"""``mlgate retrain`` / ``mlgate watch`` end to end on a copy of the bundled project, with real gated runs and a
real MLflow store (the image release and the rollout are replaced by stand-ins where a test is about what happens
around them; .ci/run's loop demonstration runs them for real).

Known-good: new data fires, the candidate passes and becomes champion, the next evaluation is quiet. Known-bad:
a candidate that fails a gate is rejected (champion untouched), a failing release or rollout leaves champion and
serving as they were, a broken config or unreadable data is one line with exit 2 and a journal line, a second
retrain is refused while one runs, and a retrain a killed process left half done is reported and redone once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fixtures.retrain import append_rows, champion_version

from mlgate.ci.journal import read_lines
from mlgate.ci.release.errors import ReleaseError, RolloutFailed
from mlgate.ci.retrain_lock import retrain_lock, retrain_lock_path
from mlgate.ci.retrain_loop import Steps, retrain
from mlgate.pipeline.config import load_config
from mlgate.pipeline.errors import DataError, StoreBusyError


def _project(project_copy: Path, extra: str = "") -> Path:
    config = project_copy / "mlgate.toml"
    config.write_text(
        config.read_text() + "\n[reproducibility]\nenabled = false\n\n[retrain]\nrelease = false\n" + extra
    )
    return config


def _journal(project: Path) -> list[dict[str, Any]]:
    return [
        r for r in read_lines(project / ".mlgate" / "retrain" / "journal.jsonl").records if r["event"] == "finished"
    ]


def _quiet(_: str) -> None:
    return None


def test_new_data_retrains_once_then_the_loop_is_quiet(project_copy: Path) -> None:
    config_path = _project(project_copy)
    first = retrain(load_config(config_path), when=["new-data"], say=_quiet)
    assert (first.outcome, first.exit_code) == ("registered", 0) and champion_version(project_copy) == "1"
    again = retrain(load_config(config_path), when=["new-data", "schedule"], say=_quiet)
    assert again.outcome == "not-fired", again.message
    append_rows(project_copy)
    dry = retrain(load_config(config_path), when=["new-data"], dry_run=True, say=_quiet)
    assert dry.outcome == "dry-run" and champion_version(project_copy) == "1"
    third = retrain(load_config(config_path), when=["new-data"], say=_quiet)
    assert third.outcome == "registered" and champion_version(project_copy) == "2"
    entries = _journal(project_copy)
    assert [e["outcome"] for e in entries] == ["registered", "not-fired", "dry-run", "registered"]
    assert entries[-1]["inputs"]["data_rows"] == 1060 and entries[-1]["fired"] == ["new-data"]
    assert entries[-1]["gate"]["passed"] is True and entries[-1]["run_id"]
    from mlgate.pipeline.registry import Registry
    from mlgate.pipeline.tags import Tag

    champion = Registry.from_config(load_config(config_path)).champion()
    assert champion is not None and champion.tags[Tag.RETRAIN_ID] == third.id
    assert champion.tags[Tag.RETRAIN_TRIGGERS] == "new-data"
    [latest, *_] = Registry.from_config(load_config(config_path)).history()
    assert latest.version == "2" and latest.tags[Tag.RETRAIN_TRIGGERS] == "new-data"  # the version's own tags
    logged = Registry.from_config(load_config(config_path)).find_artifact(
        champion.run_id, "retrain/inputs.json", project_copy / "probe"
    )
    assert logged is not None
    inputs = json.loads(Path(logged).read_text())
    assert inputs["retrain_id"] == third.id and inputs["data_rows"] == 1060 and inputs["data_fingerprint"]


def test_a_failing_candidate_is_rejected_and_the_champion_stays(project_copy: Path) -> None:
    config_path = _project(project_copy)
    assert retrain(load_config(config_path), when=["new-data"], say=_quiet).outcome == "registered"
    append_rows(project_copy)
    text = config_path.read_text().replace("roc_auc = { min = 0.70 }", "roc_auc = { min = 0.99 }")
    config_path.write_text(text)
    rejected = retrain(load_config(config_path), when=["new-data"], say=_quiet)
    assert (rejected.outcome, rejected.exit_code) == ("rejected", 1) and champion_version(project_copy) == "1"
    assert "quality.metric[roc_auc]" in " ".join(_journal(project_copy)[-1]["gate"]["failing"])
    # the same inputs under the same config are not retrained again
    again = retrain(load_config(config_path), when=["new-data"], say=_quiet)
    assert again.outcome == "not-fired" and again.triggers[0].handled_by == rejected.id


class _Released:
    image, digest = "127.0.0.1:5000/mlgate-serve:test", "sha256:" + "0" * 64


class _Final:
    def __init__(self, version: str) -> None:
        self.passed, self.run = True, {"release": {"promoted": True}}


def _promoting_release(config: Any, report: Path, workdir: Path) -> tuple[Any, Any, dict[str, Path]]:
    from mlgate.ci.registration import make_registry

    version = json.loads(report.read_text())["run"]["registry"]["version"]
    make_registry(config).promote(version, gate_report_sha256="0" * 64)
    return _Released(), _Final(version), {}


def _release_on(project_copy: Path) -> Path:
    config_path = _project(project_copy)
    config_path.write_text(config_path.read_text().replace("release = false", "release = true"))
    return config_path


def test_a_failing_release_leaves_champion_and_serving(project_copy: Path) -> None:
    config_path = _release_on(project_copy)
    steps = Steps(release=_promoting_release, rollout=lambda *a: None)
    assert retrain(load_config(config_path), when=["new-data"], steps=steps, say=_quiet).outcome == "released"
    append_rows(project_copy)

    def broken(*_: Any) -> Any:
        raise ReleaseError("podman push failed: the registry at 127.0.0.1:5000 refused the connection")

    failed = retrain(load_config(config_path), when=["new-data"], steps=Steps(release=broken), say=_quiet)
    assert (failed.outcome, failed.exit_code) == ("release-failed", 1)
    assert champion_version(project_copy) == "1"  # the candidate v2 was registered, never promoted
    entry = _journal(project_copy)[-1]
    assert entry["stage"] == "release" and "refused the connection" in entry["error"]


def test_a_failing_rollout_moves_the_champion_back(project_copy: Path) -> None:
    config_path = _release_on(project_copy)
    assert retrain(load_config(config_path), when=["new-data"], steps=Steps(release=_promoting_release,
                   rollout=lambda *a: None), say=_quiet).outcome == "released"  # fmt: skip
    append_rows(project_copy)

    def never_ready(*_: Any) -> Any:
        raise RolloutFailed("rolling update to X failed and was rolled back to Y (replica never ready)")

    failed = retrain(load_config(config_path), when=["new-data"], steps=Steps(release=_promoting_release,
                     rollout=never_ready), say=_quiet)  # fmt: skip
    assert (failed.outcome, failed.exit_code) == ("rollout-failed", 1)
    assert champion_version(project_copy) == "1"  # serving kept v1's image, so the champion went back to v1
    assert "moved back from version 2 to version 1" in failed.message


def test_bad_data_is_one_line_exit_2_and_a_journal_line(project_copy: Path) -> None:
    config_path = _project(project_copy)
    (project_copy / "data" / "german_credit.csv").unlink()
    with pytest.raises(DataError) as caught:
        retrain(load_config(config_path), when=["new-data"], say=_quiet)
    assert caught.value.exit_code == 2 and "german_credit.csv" in str(caught.value)
    entry = _journal(project_copy)[-1]
    assert entry["outcome"] == "error" and entry["stage"] == "triggers" and "german_credit.csv" in entry["error"]


def test_broken_config_through_the_command(project_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mlgate.ci.cli import main

    config_path = project_copy / "mlgate.toml"
    config_path.write_text(config_path.read_text() + "\n[retrain]\ntriggers = ['new-data', 'sunspots']\n")
    assert main(["retrain", "--config", str(config_path)]) == 2
    err = capsys.readouterr().err
    assert "retrain.triggers" in err and "Traceback" not in err
    entry = _journal(project_copy)[-1]
    assert entry["stage"] == "config" and entry["exit_code"] == 2
    assert main(["retrain", "--config", str(config_path), "--when", "new-data,sunspots"]) == 2
    assert "sunspots: not a trigger" in capsys.readouterr().err


def test_a_second_retrain_is_refused_while_one_runs(project_copy: Path) -> None:
    config = load_config(_project(project_copy))
    with retrain_lock(config, journal_id="first"), pytest.raises(StoreBusyError) as caught:
        retrain(config, when=["new-data"], say=_quiet)
    assert caught.value.exit_code == 3 and "another retrain" in str(caught.value) and "pid" in str(caught.value)


def test_a_killed_retrain_is_reported_and_redone_once(project_copy: Path) -> None:
    config = load_config(_project(project_copy))
    lock = retrain_lock_path(config)
    lock.parent.mkdir(parents=True, exist_ok=True)  # what a SIGKILLed holder leaves: its owner file
    lock.with_name(lock.stem + ".owner.json").write_text(
        json.dumps(
            {
                "pid": 99999,
                "host": "h",
                "started_at": "2026-12-01T00:00:00+00:00",
                "command": "mlgate watch",
                "journal_id": "killed-one",
            }
        )
    )
    lines: list[str] = []
    done = retrain(config, when=["new-data"], say=lines.append)
    assert done.outcome == "registered" and any("killed-one is marked interrupted" in line for line in lines)
    records = read_lines(project_copy / ".mlgate" / "retrain" / "journal.jsonl").records
    assert {"event": "interrupted", "id": "killed-one"}.items() <= records[0].items()
    assert retrain(config, when=["new-data"], say=_quiet).outcome == "not-fired"  # done once, not twice


def test_watch_runs_cycles_and_survives_a_bad_one(project_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mlgate.ci.cli import main

    config_path = _project(project_copy)
    code = main(["watch", "--config", str(config_path), "--interval", "1s", "--max-cycles", "2", "--when", "new-data"])
    out = capsys.readouterr().out
    assert code == 0 and "cycle 2" in out and "stopped after 2 cycle(s)" in out
    assert [e["outcome"] for e in _journal(project_copy)] == ["registered", "not-fired"]
    assert main(["watch", "--config", str(config_path), "--interval", "soon"]) == 2


def test_watch_killed_mid_retrain_and_restarted_retrains_once(project_copy: Path) -> None:
    """A real `mlgate watch` process SIGKILLed while its retrain runs; the restarted watch reports the dead one,
    retrains once, and the next cycle finds nothing to do."""
    import os
    import signal
    import subprocess
    import sys
    import time

    config_path = _project(project_copy)
    journal = project_copy / ".mlgate" / "retrain" / "journal.jsonl"
    command = [sys.executable, "-m", "mlgate.ci.cli", "watch", "--config", str(config_path), "--interval", "1s",
               "--when", "new-data"]  # fmt: skip
    first = subprocess.Popen([*command, "--max-cycles", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not any(r.get("event") == "started" for r in read_lines(journal).records):
        assert first.poll() is None and time.monotonic() < deadline, "the watch never started a retrain"
        time.sleep(0.05)
    os.kill(first.pid, signal.SIGKILL)  # mid gated run: no finished line, the lock's owner file left behind
    first.wait()
    killed = next(r["id"] for r in read_lines(journal).records if r.get("event") == "started")
    second = subprocess.run([*command, "--max-cycles", "2"], capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"its journal entry {killed} is marked interrupted" in second.stdout
    records = read_lines(journal).records
    assert any(r.get("event") == "interrupted" and r["id"] == killed for r in records)
    assert [e["outcome"] for e in _journal(project_copy)] == ["registered", "not-fired"]
    assert champion_version(project_copy) == "1"


def test_a_new_partition_of_a_parquet_folder_is_new_data(project_copy: Path) -> None:
    frame = pd.read_csv(project_copy / "data" / "german_credit.csv")
    folder = project_copy / "data" / "credit"
    folder.mkdir()
    frame.iloc[:600].to_parquet(folder / "part-0.parquet", index=False)
    frame.iloc[600:].to_parquet(folder / "part-1.parquet", index=False)
    config_path = _project(project_copy)
    text = config_path.read_text().replace(
        'source = "data/german_credit.csv"', 'source = "data/credit"\nformat = "parquet"'
    )
    config_path.write_text(text)
    assert retrain(load_config(config_path), when=["new-data"], say=_quiet).outcome == "registered"
    assert retrain(load_config(config_path), when=["new-data"], say=_quiet).outcome == "not-fired"
    extra = frame.sample(60, random_state=3).assign(credit_amount=lambda f: f["credit_amount"] + 11)
    extra.to_parquet(folder / "part-2.parquet", index=False)  # a new partition
    fired = retrain(load_config(config_path), when=["new-data"], dry_run=True, say=_quiet)
    assert fired.outcome == "dry-run" and "1060 rows" in fired.triggers[0].evidence
    shuffled = pd.concat([pd.read_parquet(folder / f"part-{i}.parquet") for i in (2, 1, 0)])
    for part in folder.iterdir():
        part.unlink()
    shuffled.to_parquet(folder / "all.parquet", index=False)  # the same rows, one file, another order
    again = retrain(load_config(config_path), when=["new-data"], dry_run=True, say=_quiet)
    assert again.triggers[0].key == fired.triggers[0].key  # the fingerprint is of the rows, not of the files
