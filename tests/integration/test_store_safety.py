"""Store safety, the slow cases (real processes, real kills, real sqlite MLflow stores; about 5 minutes in all):

* a first run killed while it creates the store (at three exact points, and once at a time a poll finds) leaves
  no store or a complete one, and the next run succeeds;
* two first runs at once both succeed, one after the other;
* two runs at once on a store with a champion both promote, each judged against the champion it replaces;
* a killed ``mlgate`` (SIGKILL, SIGTERM, SIGINT) leaves no retrain child behind.

The fast store cases (read-only commands, artifact locations, the lock's message) are in
tests/hostile/test_hostile_store.py.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlgate.pipeline.registry import Registry
from mlgate.pipeline.registry.store import StoreState, store_state

ROOT = Path(__file__).resolve().parents[2]

#: Runs ``mlgate`` with a hook that SIGKILLs the process at an exact point of the store's creation.
HOOKED = """
import os, signal, sys

point = sys.argv[1]


def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)


if point == "tables-created":  # create_all done, no migration applied yet
    import mlflow.store.db.utils as utils

    utils._upgrade_db = die
elif point == "mid-migration":  # the 20th alembic migration recorded
    from alembic.runtime.migration import HeadMaintainer

    original, steps = HeadMaintainer.update_to_step, []

    def step(self, *args, **kwargs):
        original(self, *args, **kwargs)
        steps.append(1)
        if len(steps) == 20:
            die()

    HeadMaintainer.update_to_step = step
elif point == "before-commit":  # migrated and checked, not yet moved into place
    import mlgate.pipeline.registry.store as store

    store._commit = die
from mlgate.ci.cli import main

sys.exit(main(sys.argv[2:]))
"""


def _copy_project(folder: Path, *, retrain: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("mlgate.toml", "data", "schemas"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, folder / name)
    config = folder / "mlgate.toml"
    if not retrain:  # the fresh-process retrain is not what most of these cases are about
        config.write_text(config.read_text() + "\n[reproducibility]\nenabled = false\n")
    return config


def _env() -> dict[str, str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    for name in ("MLGATE_TRACKING_URI", "MLGATE_REGISTRY_URI"):
        env.pop(name, None)
    return env


def _start(config: Path, *args: str, hook: str | None = None) -> subprocess.Popen[str]:
    prefix = ["-c", HOOKED, hook] if hook else ["-m", "mlgate.ci.cli"]
    return subprocess.Popen(
        [sys.executable, *prefix, *args, "--config", str(config)],
        cwd=config.parent,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(process: subprocess.Popen[str], timeout: float = 600) -> tuple[int, str]:
    try:
        _, err = process.communicate(timeout=timeout)
    finally:
        process.kill()
    return process.returncode, err


def _db(config: Path) -> Path:
    return config.parent / "mlruns" / "mlflow.db"


def _registry_section(out: Path) -> dict:
    return json.loads((out / "report.json").read_text(encoding="utf-8"))["run"]["registry"]


def _run_in_process(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    from mlgate.ci.cli import main

    capsys.readouterr()
    code = main(list(args))
    return code, capsys.readouterr().err


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout:g} s waiting for {what}")


# -- a first run killed while creating the store -------------------------------------------------------------


@pytest.mark.parametrize("point", ["tables-created", "mid-migration", "before-commit", "polled-1s"])
def test_a_first_run_killed_while_creating_the_store_leaves_none_and_the_next_run_succeeds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, point: str
) -> None:
    for name in ("MLGATE_TRACKING_URI", "MLGATE_REGISTRY_URI"):
        monkeypatch.delenv(name, raising=False)
    config = _copy_project(tmp_path / "project")
    db = _db(config)
    out = ["--out", str(tmp_path / "killed")]
    if point == "polled-1s":  # a plain `mlgate run`, SIGKILLed one second into the store's creation
        process = _start(config, "run", *out)
        _wait_for(lambda: list(db.parent.glob(".mlflow.db.init-*")), 300, "the store's temporary file")
        time.sleep(1.0)
        process.send_signal(signal.SIGKILL)
    else:
        process = _start(config, "run", *out, hook=point)
    code, err = _finish(process)
    assert code == -signal.SIGKILL, err

    # the kill left no store at all (or, had it landed after the commit, a complete one), never a half-migrated one
    assert store_state(f"sqlite:///{db}") in {StoreState.ABSENT, StoreState.READY}
    if point != "polled-1s":
        assert not db.exists()
        assert list(db.parent.glob(f".mlflow.db.init-{process.pid}.tmp")), "the kill did not hit the creation"

    # the next run creates the store, registers and promotes (and the killed run's lock did not block it)
    code, err = _run_in_process(
        capsys, "run", "--config", str(config), "--out", str(tmp_path / "next"), "--lock-timeout", "0"
    )
    assert code == 0, err
    section = _registry_section(tmp_path / "next")
    assert (section["version"], section["champion_before"], section["champion_after"]) == ("1", None, "1")
    assert store_state(f"sqlite:///{db}") is StoreState.READY
    assert list(db.parent.glob(".mlflow.db.init-*")) == []  # the killed creator's leftover was removed


# -- concurrent runs -----------------------------------------------------------------------------------------


def _variant(config: Path, name: str) -> Path:
    """A copy of ``config`` beside it (same data, same store) one comment apart: a run with the very config, data
    and model of the champion is an identical re-run, reported and not registered (test_identical_rerun.py)."""
    copy = config.with_name(f"mlgate-{name}.toml")
    copy.write_text(config.read_text() + f"# run {name}\n")
    return copy


def _race(config: Path, outs: tuple[Path, Path]) -> list[tuple[int, str]]:
    processes = [_start(_variant(config, out.name), "run", "--out", str(out)) for out in outs]
    return [_finish(process) for process in processes]


@pytest.fixture(scope="module")
def raced(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Two first runs started at once on a new project: the store has a champion afterwards."""
    base = tmp_path_factory.mktemp("raced")
    config = _copy_project(base / "project")
    outs = (base / "first-a", base / "first-b")
    return {"config": config, "base": base, "outs": outs, "results": _race(config, outs)}


def _versions(config: Path) -> dict[str, dict[str, str]]:
    registry = Registry(f"sqlite:///{_db(config)}", experiment="german-credit", model_name="german-credit")
    return {record.version: {**record.tags, "aliases": ",".join(record.aliases)} for record in registry.history()}


def test_two_first_runs_at_once_both_succeed_one_after_the_other(raced: dict) -> None:
    for code, err in raced["results"]:
        assert code == 0, err
    waited = [err for _, err in raced["results"] if "waiting up to 300 s for the store lock held by pid" in err]
    assert len(waited) == 1, "exactly one run should have waited for the other"
    sections = sorted((_registry_section(out) for out in raced["outs"]), key=lambda s: int(s["version"]))
    assert [(s["version"], s["champion_before"], s["promoted"]) for s in sections] == [
        ("1", None, True),
        ("2", "1", True),
    ]
    versions = _versions(raced["config"])
    assert "champion" in versions["2"]["aliases"].split(",") and versions["2"]["mlgate.promoted_from"] == "1"


def test_two_runs_at_once_on_a_champion_are_each_judged_against_the_champion_they_replace(raced: dict) -> None:
    outs = (raced["base"] / "second-c", raced["base"] / "second-d")
    for code, err in _race(raced["config"], outs):
        assert code == 0, err
    sections = sorted((_registry_section(out) for out in outs), key=lambda s: int(s["version"]))
    # each report names the champion that was current when that run read it, and that is the one it replaced
    assert [(s["version"], s["champion_before"], s["champion_after"]) for s in sections] == [
        ("3", "2", "3"),
        ("4", "3", "4"),
    ]
    versions = _versions(raced["config"])
    assert versions["3"]["mlgate.promoted_from"] == "2" and versions["4"]["mlgate.promoted_from"] == "3"
    assert "champion" in versions["4"]["aliases"].split(",")


# -- a killed run leaves no child ----------------------------------------------------------------------------


def _retrain_children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and "mlgate.pipeline.retrain" in cmdline:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited (its new parent has not reaped it yet)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the child through /proc (Linux)")
@pytest.mark.parametrize(
    ("command", "sig"),
    [
        pytest.param(["run"], signal.SIGKILL, id="run-SIGKILL"),
        pytest.param(["gate", "-l", "reproducibility"], signal.SIGTERM, id="gate-SIGTERM"),
        pytest.param(["gate", "-l", "reproducibility"], signal.SIGINT, id="gate-SIGINT"),
    ],
)
def test_a_killed_mlgate_leaves_no_retrain_child(tmp_path: Path, command: list[str], sig: signal.Signals) -> None:
    config = _copy_project(tmp_path / "project", retrain=True)
    process = _start(config, *command, "--out", str(tmp_path / "out"))
    children: list[int] = []
    try:
        children = _wait_for(lambda: _retrain_children(process.pid), 300, "the retrain child")
        process.send_signal(sig)
        code, err = _finish(process, timeout=30)
        assert code in {-sig, 130}, err
        _wait_for(lambda: not any(_alive(child) for child in children), 10, f"the retrain child {children} to exit")
    finally:
        for child in children:
            if _alive(child):
                os.kill(child, signal.SIGKILL)
        process.kill()
