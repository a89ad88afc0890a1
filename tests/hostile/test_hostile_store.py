"""Store safety, the fast cases: read-only commands on a missing or unfinished store, an artifact location
MLflow could not use, an experiment pinned elsewhere, and the store lock's refusal (who holds it) and release
when its holder is killed.

The slow cases (runs killed while creating the store, concurrent runs, a killed run's retrain child) are in
tests/integration/test_store_safety.py. Real sqlite MLflow stores in tmp_path throughout.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from hostile_helpers import assert_one_line_error

from mlgate.pipeline.config import load_config
from mlgate.pipeline.errors import StoreBusyError
from mlgate.pipeline.registry import Registry
from mlgate.pipeline.registry.store import StoreState, store_state
from mlgate.pipeline.store_lock import DEFAULT_LOCK_TIMEOUT_S, lock_path, store_lock

NO_STORE = r"^mlgate: error: no MLflow store at .*/mlruns/mlflow\.db; run `mlgate run` first$"
REPO = Path(__file__).resolve().parents[2]


def _set_mlflow(project: Path, **values: str) -> Path:
    """Rewrite keys of the bundled config's [mlflow] table (it is the last table of the file)."""
    config = project / "mlgate.toml"
    text = config.read_text(encoding="utf-8")
    for key, value in values.items():
        text, count = re.subn(rf"(?m)^{key} = .*$", f"{key} = {value!r}".replace("'", '"'), text)
        assert count == 1, key
    config.write_text(text + "\n[reproducibility]\nenabled = false\n", encoding="utf-8")
    return config


def _store(project: Path) -> Path:
    return project / "mlruns" / "mlflow.db"


@pytest.fixture(scope="module")
def template_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One complete, empty MLflow store made by mlgate (copied by the tests that need a store on disk)."""
    db = tmp_path_factory.mktemp("template") / "mlflow.db"
    Registry(f"sqlite:///{db}", experiment="x", model_name="template").open(create=True)
    return db


def _unfinished(template: Path, target: Path, *, with_data: bool) -> None:
    """A store as an interrupted migration leaves it: the last tables missing, alembic at an older revision."""
    import sqlite3

    from alembic.script import ScriptDirectory
    from mlflow.store.db.utils import _get_alembic_config

    script = ScriptDirectory.from_config(_get_alembic_config(""))
    older = script.get_revision(script.get_current_head()).down_revision
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(template, target)
    with sqlite3.connect(target) as connection:
        connection.execute("DROP TABLE IF EXISTS budget_policies")
        connection.execute("UPDATE alembic_version SET version_num = ?", (older,))
        if with_data:
            connection.execute(
                "INSERT INTO experiments (experiment_id, name, lifecycle_stage) VALUES (7, 'kept', 'active')"
            )


# -- read-only commands never create a store --------------------------------------------------------------


def _passing_report(project: Path) -> Path:
    report = project / "reports" / "report.json"
    report.parent.mkdir()
    body = {
        "report_version": "1.1",
        "passed": True,
        "results": [],
        "run": {"registry": {"version": "1", "run_id": "a"}},
    }
    report.write_text(json.dumps(body), encoding="utf-8")
    return report


READ_ONLY = [
    pytest.param(lambda p, c: ["status", "--config", c], id="status"),
    pytest.param(lambda p, c: ["reproduce", "0123456789abcdef", "--config", c], id="reproduce"),
    pytest.param(lambda p, c: ["rollback", "--config", c], id="rollback"),
    pytest.param(lambda p, c: ["release", "--config", c, "--report", str(_passing_report(p))], id="release"),
    pytest.param(lambda p, c: ["deploy", "up", "--config", c], id="deploy-up"),
]


@pytest.mark.parametrize("command", READ_ONLY)
def test_read_only_commands_on_a_missing_store_create_nothing(project_copy: Path, run_cli, command) -> None:
    config = _set_mlflow(project_copy)
    assert_one_line_error(run_cli(*command(project_copy, str(config))), 3, NO_STORE)
    assert not (project_copy / "mlruns").exists(), "a read-only command created the store folder"


def test_gate_on_a_missing_store_judges_without_a_champion_and_creates_nothing(project_copy: Path, run_cli) -> None:
    config = _set_mlflow(project_copy)
    result = run_cli("gate", "-l", "staleness", "--config", str(config), "--out", str(project_copy / "out"))
    assert result.code == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert not (project_copy / "mlruns").exists()


@pytest.mark.parametrize(
    ("with_data", "pattern"),
    [
        pytest.param(
            False,
            r"no usable MLflow store at .*mlflow\.db: a first run was interrupted while creating it \(it holds no "
            r"data\); run `mlgate run` to create it again$",
            id="interrupted-empty",
        ),
        pytest.param(
            True,
            r"the MLflow store at .*mlflow\.db is not fully migrated \(schema revision \w+, MLflow expects \w+; "
            r"tables missing: budget_policies\) and holds data: back it up, then run `mlflow db upgrade "
            r"sqlite:///.*mlflow\.db`$",
            id="unfinished-with-data",
        ),
    ],
)
def test_an_unfinished_store_is_refused_by_readers_with_the_repair(
    project_copy: Path, run_cli, template_store: Path, with_data: bool, pattern: str
) -> None:
    config = _set_mlflow(project_copy)
    _unfinished(template_store, _store(project_copy), with_data=with_data)
    before = _store(project_copy).read_bytes()
    assert_one_line_error(run_cli("status", "--config", str(config)), 3, pattern)
    assert _store(project_copy).read_bytes() == before  # a reader changes nothing


def _leave_a_journal(db: Path) -> None:
    """Put beside ``db`` the rollback journal a writer killed mid-transaction leaves."""
    import sqlite3

    journal, kept = db.with_name(db.name + "-journal"), db.with_name("kept-journal")
    connection = sqlite3.connect(db, isolation_level=None)
    connection.execute("BEGIN IMMEDIATE")
    connection.execute("DELETE FROM workspaces")
    shutil.copy2(journal, kept)
    connection.execute("ROLLBACK")
    connection.close()
    kept.rename(journal)


def test_an_interrupted_empty_store_is_rebuilt_by_the_next_run(project_copy: Path, template_store: Path) -> None:
    from mlgate.ci.registration import store_exists

    config = load_config(_set_mlflow(project_copy))
    db = _store(project_copy)
    _unfinished(template_store, db, with_data=False)
    _leave_a_journal(db)
    assert store_state(f"sqlite:///{db}") is StoreState.INTERRUPTED
    assert not store_exists(config)  # so the run reads no champion and the logging step rebuilds the store
    Registry.from_config(config).open(create=True)
    assert store_state(f"sqlite:///{db}") is StoreState.READY
    assert not db.with_name("mlflow.db-journal").exists()  # never left to be replayed into the new file
    assert store_exists(config)


def test_a_store_with_data_is_never_rebuilt(project_copy: Path, template_store: Path) -> None:
    _unfinished(template_store, _store(project_copy), with_data=True)
    uri = f"sqlite:///{_store(project_copy)}"
    assert store_state(uri) is StoreState.UNFINISHED
    registry = Registry(uri, experiment="x", model_name="m")
    with pytest.raises(Exception, match="not fully migrated .* holds data"):
        registry.open(create=True)
    assert store_state(uri) is StoreState.UNFINISHED


# -- the artifact location ----------------------------------------------------------------------------------


def _file(project: Path, name: str) -> str:
    (project / name).write_text("not a folder", encoding="utf-8")
    return name


@pytest.mark.parametrize(
    ("location", "pattern"),
    [
        pytest.param(
            lambda p: "/sys/mlgate-artifacts",
            r"mlflow\.artifact_location /sys/mlgate-artifacts: cannot create it in /sys \(Operation not permitted\); "
            r"choose a writable folder or fix its permissions$",
            id="unwritable-folder",
            marks=pytest.mark.skipif(not Path("/sys").is_dir(), reason="needs a read-only /sys (Linux)"),
        ),
        pytest.param(
            lambda p: _file(p, "artifacts.txt"),
            r"mlflow\.artifact_location /.*/artifacts\.txt is a file, not a folder; point it at a folder$",
            id="a-file-not-a-folder",
        ),
        pytest.param(
            lambda p: _file(p, "plain") + "/artifacts",
            r"mlflow\.artifact_location /.*/plain/artifacts needs the folder /.*/plain, which is a file, not a folder",
            id="a-file-where-a-parent-folder-should-be",
        ),
        pytest.param(
            lambda p: "s4://bucket/artifacts",
            r"mlflow\.artifact_location 's4://bucket/artifacts': MLflow has no artifact store for scheme 's4'; "
            r"use a local folder or one of .*s3://",
            id="unknown-scheme",
        ),
    ],
)
def test_an_unusable_artifact_location_is_refused_before_any_store_or_run(
    project_copy: Path, run_cli, location, pattern: str
) -> None:
    config = _set_mlflow(project_copy, artifact_location=location(project_copy))
    result = run_cli("run", "--config", str(config), "--out", str(project_copy / "reports"))
    assert_one_line_error(result, 2, pattern)
    assert not _store(project_copy).exists()  # no store, so no experiment pinned and no FAILED run
    assert not (project_copy / "reports" / "report.json").exists()


def test_an_experiment_pinned_elsewhere_is_named_with_both_locations(
    project_copy: Path, run_cli, template_store: Path
) -> None:
    config = _set_mlflow(project_copy)
    _store(project_copy).parent.mkdir()
    shutil.copy2(template_store, _store(project_copy))
    elsewhere = (project_copy / "old-artifacts").as_uri()
    pinned = Registry(f"sqlite:///{_store(project_copy)}", experiment="german-credit", model_name="german-credit")
    pinned.client.create_experiment("german-credit", artifact_location=elsewhere)
    result = run_cli("run", "--config", str(config), "--out", str(project_copy / "reports"))
    assert_one_line_error(
        result,
        2,
        r"mlflow\.artifact_location is file://.*/mlruns/artifacts, but experiment 'german-credit' already keeps its "
        r"artifacts at file://.*/old-artifacts .*: set mlflow\.artifact_location to that location, or name a new "
        r"mlflow\.experiment$",
    )
    assert pinned.client.search_runs([pinned.client.get_experiment_by_name("german-credit").experiment_id]) == []


def test_a_usable_artifact_location_passes(tmp_path: Path) -> None:
    from mlgate.pipeline.registry.store import check_artifact_location

    for location in (str(tmp_path / "new" / "deeper"), tmp_path.as_uri(), "s3://bucket/prefix"):
        check_artifact_location(location)
    assert list(tmp_path.iterdir()) == []  # the probe leaves nothing behind


# -- the store lock -----------------------------------------------------------------------------------------

HOLDER = """
import sys, time
from mlgate.pipeline.config import load_config
from mlgate.pipeline.store_lock import store_lock
with store_lock(load_config(sys.argv[1])):
    print("held", flush=True)
    time.sleep(120)
"""


@pytest.fixture
def holder(project_copy: Path):
    """Another process holding the store lock of the project (killed with SIGKILL at the end)."""
    config = _set_mlflow(project_copy)
    command = [sys.executable, "-c", HOLDER, str(config)]
    with subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None and process.stdout.readline().strip() == "held"
            yield config, process
        finally:
            process.kill()


@pytest.mark.parametrize("timeout", ["0", "0.5"])
def test_a_held_lock_fails_after_the_timeout_naming_its_holder(holder, run_cli, timeout: str) -> None:
    config, process = holder
    result = run_cli("run", "--config", str(config), "--lock-timeout", timeout, "--out", str(config.parent / "r"))
    assert_one_line_error(
        result,
        3,
        rf"another mlgate command is using model 'german-credit' at sqlite:///.*/mlruns/mlflow\.db: the store lock "
        rf".*\.lock is held by pid {process.pid} on \S+ since \d{{4}}-\d\d-\d\dT[\d:]+\+00:00 \(`-c .*mlgate\.toml`\); "
        rf"waited {re.escape(timeout)} s \(--lock-timeout\): let it finish, then run again$",
    )
    assert not _store(config.parent).exists()  # nothing was registered


def test_rollback_waits_for_the_same_lock(holder, run_cli, template_store: Path) -> None:
    config, process = holder
    shutil.copy2(template_store, _store(config.parent))
    result = run_cli("rollback", "--config", str(config), "--lock-timeout", "0")
    assert_one_line_error(result, 3, rf"store lock .* is held by pid {process.pid} ")


def test_a_killed_holder_releases_the_lock_at_once(holder) -> None:
    config, process = holder
    project = load_config(config)
    with pytest.raises(StoreBusyError), store_lock(project, timeout_s=0):
        pass
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    waits: list[str] = []
    with store_lock(project, timeout_s=0, on_wait=waits.append) as path:  # no wait: the kernel released it
        assert path == lock_path(project)
        owner = path.with_name(path.stem + ".owner.json").read_text(encoding="utf-8")
        assert f'"pid": {os.getpid()}' in owner
    assert waits == []
    assert not path.with_name(path.stem + ".owner.json").exists()


def test_the_lock_is_keyed_on_store_and_model_and_lives_beside_the_store(project_copy: Path, monkeypatch) -> None:
    monkeypatch.delenv("MLGATE_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLGATE_REGISTRY_URI", raising=False)
    project = load_config(_set_mlflow(project_copy))
    other_model = project.model_copy(update={"mlflow": project.mlflow.model_copy(update={"model_name": "other"})})
    assert lock_path(project).parent == project_copy / "mlruns" / ".mlgate-locks"
    assert lock_path(project) != lock_path(other_model)
    with store_lock(project, timeout_s=0), store_lock(other_model, timeout_s=0):
        pass  # two models on one store do not block each other
    monkeypatch.setenv("MLGATE_TRACKING_URI", "http://127.0.0.1:5000")
    assert lock_path(project).parent == project_copy / ".mlgate" / "locks"


def test_the_cli_default_lock_timeout_is_the_library_default() -> None:
    from mlgate.ci import cli

    assert cli.DEFAULT_LOCK_TIMEOUT_S == DEFAULT_LOCK_TIMEOUT_S


# -- the retrain child never outlives its parent (the real kills are in tests/integration/test_store_safety.py) --

CHILD = """
import sys, time
from mlgate.pipeline.retrain import exit_with_parent
exit_with_parent(int(sys.argv[1]))
print("watching", flush=True)
time.sleep(60)
"""


def test_the_retrain_child_exits_when_its_parent_end_of_the_pipe_closes() -> None:
    from mlgate.pipeline.retrain import PARENT_GONE_EXIT

    lifeline, keep = os.pipe()
    command = [sys.executable, "-c", CHILD, str(lifeline)]
    with subprocess.Popen(command, cwd=REPO, pass_fds=(lifeline,), stdout=subprocess.PIPE, text=True) as child:
        os.close(lifeline)
        assert child.stdout is not None and child.stdout.readline().strip() == "watching"
        assert child.poll() is None  # alive while the parent's end is open
        os.close(keep)  # what the kernel does when the parent dies, SIGKILL included
        assert child.wait(timeout=10) == PARENT_GONE_EXIT
