"""Where a deployment's replicas log predictions (ci/release/deploy_log.py), without podman: the folder or the
database a deploy chooses, the URL never on a command line, a hostname per container, the state it keeps.

The real thing (replicas in podman behind nginx, rolled out and back, the log read back) is in
test_release_image.py.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from mlgate.ci.release.deploy import DeployState, Replica, load_state
from mlgate.ci.release.deploy_log import IMAGE_LOG_DIR, choose_log, container_hostname, log_env, prepare_log_folder
from mlgate.ci.release.load import _batches
from mlgate.ci.release.podman import Podman
from mlgate.ci.release.smoke import run_container
from mlgate.pipeline.config import load_config
from mlgate.pipeline.config_monitor import LOG_DIR_ENV, LOG_URL_ENV
from mlgate.pipeline.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
SECRET_URL = "postgresql+psycopg://mlgate:s3cret-pw@127.0.0.1:5432/mlgate"


@pytest.fixture
def config(monkeypatch):
    monkeypatch.delenv(LOG_URL_ENV, raising=False)
    return load_config(ROOT / "mlgate.toml")


def _with_log_url(config, url):
    log = config.monitor.log.model_copy(update={"url": url})
    return config.model_copy(update={"monitor": config.monitor.model_copy(update={"log": log})})


def test_a_deployment_logs_to_a_folder_beside_its_state_by_default(config, tmp_path):
    assert choose_log(config, workdir=tmp_path, log_dir=None) == (str(tmp_path / "predictions"), None)
    mine = tmp_path / "elsewhere" / "log"
    assert choose_log(config, workdir=tmp_path, log_dir=mine) == (str(mine), None)
    assert log_env(config, None) == {}


def test_a_database_url_from_the_environment_is_recorded_without_its_password(config, tmp_path, monkeypatch):
    monkeypatch.setenv(LOG_URL_ENV, SECRET_URL)
    folder, database = choose_log(config, workdir=tmp_path, log_dir=None)
    assert folder is None and database == "postgresql+psycopg://mlgate:***@127.0.0.1:5432/mlgate"
    assert log_env(config, database) == {LOG_URL_ENV: SECRET_URL}
    with pytest.raises(ConfigError, match=rf"--log-dir .* and {LOG_URL_ENV} both name the prediction log") as info:
        choose_log(config, workdir=tmp_path, log_dir=tmp_path / "log")
    assert "s3cret" not in str(info.value)


def test_a_configured_database_url_is_used_too(config, tmp_path):
    configured = _with_log_url(config, "postgresql+psycopg://team@db.internal/mlgate")
    assert choose_log(configured, workdir=tmp_path, log_dir=None) == (
        None,
        "postgresql+psycopg://team@db.internal/mlgate",
    )


@pytest.mark.parametrize("source", ["env", "config"])
def test_a_sqlite_url_is_refused_replicas_never_share_one_file(config, tmp_path, monkeypatch, source):
    url = f"sqlite:///{tmp_path}/one.sqlite"
    if source == "env":
        monkeypatch.setenv(LOG_URL_ENV, url)
    else:
        config = _with_log_url(config, url)
    name = LOG_URL_ENV if source == "env" else r"\[monitor.log\] url"
    with pytest.raises(ConfigError, match=rf"^{name} is a SQLite URL .*must not share one SQLite file"):
        choose_log(config, workdir=tmp_path, log_dir=None)


def test_later_commands_must_name_the_deployments_database(config, monkeypatch):
    recorded = "postgresql+psycopg://mlgate:***@127.0.0.1:5432/mlgate"
    with pytest.raises(ConfigError, match=rf"logs predictions to {re.escape(recorded)}: set {LOG_URL_ENV}"):
        log_env(config, recorded)
    monkeypatch.setenv(LOG_URL_ENV, "postgresql+psycopg://mlgate:pw-two@127.0.0.1:5432/another")
    with pytest.raises(
        ConfigError, match=r"names .*/another, but this deployment logs predictions to .*/mlgate"
    ) as info:
        log_env(config, recorded)
    assert "pw-two" not in str(info.value)


class _Recorder(Podman):
    """A podman that records its command lines and environment instead of running them."""

    calls: list[tuple[tuple[str, ...], dict[str, str] | None]]

    def run(self, *args, check=True, timeout=600, capture=True, env=None):
        self.calls.append((tuple(map(str, args)), dict(env) if env else None))
        return subprocess.CompletedProcess(["podman", *map(str, args)], 0, "10001:10001\n", "")


def test_a_replica_gets_the_url_through_podmans_environment_never_its_command_line(tmp_path):
    podman = _Recorder(tmp_path)
    podman.calls = []
    run_container(
        podman, "img", name="r1", port=9001, env={LOG_DIR_ENV: IMAGE_LOG_DIR}, secret_env={LOG_URL_ENV: SECRET_URL},
        hostname="r1-19a2b", volumes={tmp_path / "log": IMAGE_LOG_DIR},
    )  # fmt: skip
    args, env = podman.calls[-1]
    assert not any("s3cret" in arg for arg in args) and env == {LOG_URL_ENV: SECRET_URL}
    text = " ".join(args)
    assert f"--env {LOG_URL_ENV} " in text and f"--env {LOG_DIR_ENV}={IMAGE_LOG_DIR}" in text
    assert "--hostname r1-19a2b" in text and f"--volume {tmp_path / 'log'}:{IMAGE_LOG_DIR}:rw" in text


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a folder to uid 10001 needs root (rootless: podman unshare)")
def test_the_log_folder_is_made_for_the_images_user_and_never_emptied(tmp_path):
    podman = _Recorder(tmp_path)
    podman.calls = []
    folder = tmp_path / "deploy" / "predictions"
    folder.mkdir(parents=True)
    (folder / "predictions-old-1.sqlite").write_bytes(b"kept")
    volumes, env = prepare_log_folder(podman, "img", folder)
    assert volumes == {folder: IMAGE_LOG_DIR} and env == {LOG_DIR_ENV: IMAGE_LOG_DIR}
    info = folder.stat()
    assert (info.st_uid, info.st_gid, info.st_mode & 0o777) == (10001, 10001, 0o750)
    assert (folder / "predictions-old-1.sqlite").read_bytes() == b"kept"


def test_every_container_gets_its_own_hostname():
    names = set()
    for _ in range(3):
        names.add(container_hostname("mlgate-0123abcd-18081"))
        time.sleep(0.002)
    assert len(names) == 3 and all(len(n) <= 63 and n.startswith("mlgate-0123abcd-18081-") for n in names)


def test_the_state_keeps_the_log_and_reads_a_state_from_before_it(tmp_path):
    replica = Replica("mlgate-x-9001", 9001, "img", hostname="mlgate-x-9001-19a2b")
    state = DeployState(workdir=tmp_path, port=9000, image="img", replicas=[replica], log_dir=str(tmp_path / "p"))
    state.save()
    loaded = load_state(tmp_path)
    assert loaded.log_dir == str(tmp_path / "p") and loaded.log_database is None
    assert loaded.replicas[0].hostname == "mlgate-x-9001-19a2b"
    before = state.to_dict()  # a deployment made before the prediction log: no log keys, no hostnames
    del before["log_dir"], before["log_database"]
    before["replicas"] = [{k: v for k, v in r.items() if k != "hostname"} for r in before["replicas"]]
    (tmp_path / "deploy" / "state.json").write_text(json.dumps(before))
    loaded = load_state(tmp_path)
    assert (loaded.log_dir, loaded.log_database, loaded.replicas[0].hostname) == (None, None, "")


CYCLES = [(7, 3, [[0, 1, 2], [3, 4, 5], [6, 0, 1], [2, 3, 4]]), (2, 0, [[0, 1], [0, 1]]), (2, 5, [[0, 1], [0, 1]])]


@pytest.mark.parametrize(("count", "batch", "expected"), CYCLES)
def test_the_load_cycles_through_the_rows_in_batches(count, batch, expected):
    batches = _batches(count, batch)
    assert [next(batches) for _ in expected] == expected


@pytest.mark.parametrize(
    ("url", "extra", "pattern"),
    [
        (
            "sqlite:///{tmp}/one.sqlite",
            [],
            rf"^mlgate: error: {LOG_URL_ENV} is a SQLite URL \(sqlite:///.*one.sqlite\)",
        ),
        (SECRET_URL, ["--log-dir", "{tmp}/log"], r"^mlgate: error: --log-dir .* and .* both name the prediction log"),
    ],
    ids=["sqlite-url", "folder-and-url"],
)
def test_mlgate_deploy_up_refuses_a_log_it_cannot_keep_in_one_line(tmp_path, monkeypatch, capsys, url, extra, pattern):
    from mlgate.ci.cli import main

    monkeypatch.setenv(LOG_URL_ENV, url.format(tmp=tmp_path))
    monkeypatch.setenv("COLUMNS", "200")
    args = ["deploy", "up", "--config", str(ROOT / "mlgate.toml"), "--image", "img", "--workdir", str(tmp_path / "d")]
    code = main([*args, *(a.format(tmp=tmp_path) for a in extra)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and "s3cret" not in err
    assert [line for line in err.splitlines() if re.search(pattern, line)], err
    assert not (tmp_path / "d" / "deploy" / "state.json").exists()
