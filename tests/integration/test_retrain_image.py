"""``mlgate retrain`` with the real serving image: release (podman build, local registry, pull, parity) and the
rollout to a running ``mlgate deploy`` (2 replicas behind nginx), under load, on a copy of the bundled project.

Champion v1 is gated, released and deployed through the CLI once per module; then each test appends new rows and
runs one real retrain with the default steps:

* rolling update under load: outcome ``rolled-out``, the new champion serves on every replica, zero failed requests;
* canary under load: the canary serves ``retrain.canary_min_predictions`` predictions, its own monitor window
  passes, it is promoted (zero failed requests);
* known-bad canaries: one on drifted traffic fails its own monitor window, one that gets no traffic times out;
  each is aborted, serving stays on the previous image and the champion alias moves back, so registry and
  serving agree.

Two more tests, with the deploy functions replaced by stand-ins, pin the guards around the canary: one whose
judgement raises (an unreadable log) and one whose promotion was rolled back are aborted, never left serving.

Needs podman, mmdebstrap, docker-registry and nginx (scripts/install-system-deps.sh). Skipped with a reason when
podman is absent outside CI; on CI (``CI`` set) a missing podman is a failure. Every container and nginx is torn
down by the module fixture.
"""

from __future__ import annotations

import importlib
import json
import os
import random
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fixtures.project import copy_project
from fixtures.retrain import append_rows, champion_version

from mlgate.ci import retrain_canary
from mlgate.ci.cli import main
from mlgate.ci.journal import read_lines
from mlgate.ci.release.deploy import DeployState, load_state, teardown
from mlgate.ci.release.e2e_log import clean_traffic
from mlgate.ci.release.errors import RolloutFailed
from mlgate.ci.release.load import LoadGenerator, LoadResult
from mlgate.ci.release.podman import Podman
from mlgate.ci.release.registry import port_free
from mlgate.ci.retrain_loop import RetrainOutcome, retrain
from mlgate.pipeline.config import load_config
from mlgate.pipeline.predlog import PredictionLogError

pytestmark = pytest.mark.image

if shutil.which("podman") is None:
    if os.environ.get("CI"):
        pytest.fail("podman is not installed on CI; run scripts/install-system-deps.sh", pytrace=False)
    pytest.skip("podman is not installed (scripts/install-system-deps.sh installs it)", allow_module_level=True)

RETRAIN = '\n[retrain]\nrollout = "{rollout}"\ncanary_min_predictions = 30\ncanary_timeout_s = {timeout}\n'


@dataclass(frozen=True)
class Project:
    root: Path
    config: Path
    base_config: str  # mlgate.toml without its [retrain] section (the tests append one)
    repository: str
    rows: list[dict[str, Any]]  # records drawn from the data file, for the load generator

    @property
    def deploy_dir(self) -> Path:
        return self.root / ".mlgate" / "deploy"

    def set_retrain(self, *, rollout: str, timeout: float = 120) -> None:
        self.config.write_text(self.base_config + RETRAIN.format(rollout=rollout, timeout=timeout))


def _quiet_ports() -> tuple[int, int]:
    """Two free loopback ports below the kernel's ephemeral range, 1,000 apart (the replicas take the ports above
    the load balancer's): the load balancer's and the local registry's. The registry is started again by every
    release of the module, and a port from the ephemeral range (``free_port``) was taken meanwhile by one of the
    load generator's own connections in TIME_WAIT ("local registry: 127.0.0.1:41249 is already in use")."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    candidates = list(range(max(1024, low - 12_000), low - 1_000))
    random.Random(os.getpid()).shuffle(candidates)
    port = next(p for p in candidates if port_free("127.0.0.1", p) and port_free("127.0.0.1", p + 1_000))
    return port, port + 1_000


def _finished(project: Path) -> dict[str, Any]:
    lines = read_lines(project / ".mlgate" / "retrain" / "journal.jsonl").records
    return [r for r in lines if r["event"] == "finished"][-1]


def _containers(state: DeployState) -> set[str]:
    mine = f"label=io.mlgate.deploy={state.deploy_id}"
    listed = Podman.default().run("ps", "--all", "--filter", mine, "--format", "{{.Names}}").stdout
    return set(listed.split())


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    """Champion v1 gated (`mlgate run`), released (`mlgate release`, real image) and deployed (`mlgate deploy up`,
    2 replicas behind nginx on a free port); everything torn down after the module."""
    root = copy_project(tmp_path_factory.mktemp("retrain-image"))
    port, registry_port = _quiet_ports()
    repository = f"127.0.0.1:{registry_port}/mlgate-retrain-test"
    base = (root / "mlgate.toml").read_text() + (
        f'\n[reproducibility]\nenabled = false\n\n[release]\nport = {port}\nimage_repository = "{repository}"\n'
        "replicas = 2\n"
    )
    config = root / "mlgate.toml"
    config.write_text(base + RETRAIN.format(rollout="update", timeout=120))
    deploy_dir = root / ".mlgate" / "deploy"
    try:
        assert main(["run", "--config", str(config), "--out", str(root / "reports")]) == 0
        assert champion_version(root) == "1"
        report = root / "reports" / "report.json"
        assert main(["release", "--config", str(config), "--report", str(report)]) == 0
        assert main(["deploy", "up", "--config", str(config)]) == 0
        rows = clean_traffic(load_config(config), root / ".mlgate" / "release" / "bundle", rows=200, seed=0).rows
        yield Project(root, config, base, repository, rows)
    finally:
        state = load_state(deploy_dir) if (deploy_dir / "deploy" / "state.json").exists() else None
        teardown(deploy_dir)
        podman = Podman.default()
        tags = podman.run("images", "--format", "{{.Repository}}:{{.Tag}}", check=False).stdout.split()
        for tag in [t for t in tags if t.startswith(repository + ":")]:  # this module's images; the base stays
            podman.run("rmi", "--force", "--ignore", tag, check=False)
    assert state is not None and _containers(state) == set()
    assert not (deploy_dir / "deploy" / "state.json").exists()


def _retrain_under_load(project: Project, folder: Path) -> tuple[RetrainOutcome, LoadResult, float]:
    """One real retrain (gate, release, rollout) while records are posted to the load balancer, 5 per request."""
    url = load_state(project.deploy_dir).url
    load = LoadGenerator(url, project.rows, folder=folder, max_seconds=1500, pause=0.05, batch=5)
    clock = time.monotonic()
    try:
        outcome = retrain(load_config(project.config), when=["new-data"])
    finally:
        counts = load.stop()
    return outcome, counts, time.monotonic() - clock


def test_rolling_update_of_the_real_image_under_load_loses_no_request(project: Project, tmp_path: Path) -> None:
    before = load_state(project.deploy_dir)
    champion = champion_version(project.root)
    append_rows(project.root, seed=1)
    outcome, counts, seconds = _retrain_under_load(project, tmp_path / "load")
    print(f"retrain with rolling update: {seconds:.0f} s, {counts.requests} requests, {counts.failed} failed")
    assert (outcome.outcome, outcome.exit_code) == ("rolled-out", 0), outcome.message
    new = str(int(str(champion)) + 1)
    assert champion_version(project.root) == new
    state = load_state(project.deploy_dir)
    image = outcome.entry["release"]["image"]
    assert image.startswith(f"{project.repository}:v{new}-") and image != before.image
    assert (state.image, state.previous_image) == (image, before.image)
    assert [r.image for r in state.replicas] == [image, image]
    assert _containers(state) == {r.name for r in state.replicas}
    assert counts.requests > 20 and counts.failed == 0, counts
    assert len(counts.upstreams) >= 3, counts.upstreams  # old and new replicas both answered
    entry = _finished(project.root)
    assert entry["id"] == outcome.id and entry["outcome"] == "rolled-out" and entry["stage"] == "done"
    assert entry["rollout"]["mode"] == "update" and entry["rollout"]["image"] == image
    assert entry["rollout"]["replicas"] == 2 and entry["rollout"]["previous"] == before.image


def test_a_canary_on_clean_traffic_passes_its_monitor_window_and_is_promoted(project: Project, tmp_path: Path) -> None:
    project.set_retrain(rollout="canary", timeout=120)
    before = load_state(project.deploy_dir)
    champion = champion_version(project.root)
    append_rows(project.root, seed=2)
    outcome, counts, seconds = _retrain_under_load(project, tmp_path / "load")
    print(f"retrain with canary: {seconds:.0f} s, {counts.requests} requests, {counts.failed} failed")
    verdict_path = project.root / "reports" / "retrain" / outcome.id / "canary-monitor" / "report.json"
    verdict = json.loads(verdict_path.read_text()) if verdict_path.exists() else {"results": []}
    for result in verdict["results"]:  # what the canary's own monitor window said, for the log
        print(f"canary monitor: {result['id']}: {result['status']}: {result['message'][:160]}")
    assert (outcome.outcome, outcome.exit_code) == ("rolled-out", 0), outcome.message
    new = str(int(str(champion)) + 1)
    assert champion_version(project.root) == new
    image = outcome.entry["release"]["image"]
    state = load_state(project.deploy_dir)
    assert (state.image, state.previous_image) == (image, before.image)
    assert [(r.image, r.role) for r in state.replicas] == [(image, "stable")] * 2 and state.canary_share is None
    assert _containers(state) == {r.name for r in state.replicas}
    assert counts.requests > 20 and counts.failed == 0, counts
    rollout = _finished(project.root)["rollout"]
    assert rollout["mode"] == "canary" and rollout["image"] == image and rollout["replicas"] == 2
    assert rollout["canary_predictions"] >= 30
    assert verdict["passed"] is True and verdict["run"]["registry"]["version"] == new  # the canary's version judged


def test_a_canary_whose_monitor_window_fails_on_drifted_traffic_is_aborted(project: Project, tmp_path: Path) -> None:
    """Known-bad: the traffic drifts (every applicant asks for 20,000 over 72 months with a rich checking account,
    all within the schema); the canary's own monitor window fails on input drift, the canary is aborted under load
    without a failed request, and the champion alias moves back."""
    project.set_retrain(rollout="canary", timeout=120)
    before = load_state(project.deploy_dir)
    champion = champion_version(project.root)
    append_rows(project.root, seed=4)
    drifted = [{**row, "credit_amount": 20_000, "duration": 72, "checking_account": "rich"} for row in project.rows]
    drifting = Project(project.root, project.config, project.base_config, project.repository, drifted)
    outcome, counts, seconds = _retrain_under_load(drifting, tmp_path / "load")
    print(
        f"retrain with a canary on drifted traffic: {seconds:.0f} s, {counts.requests} requests, {counts.failed} failed"
    )
    assert (outcome.outcome, outcome.exit_code) == ("rollout-failed", 1), outcome.message
    candidate = str(outcome.entry["model_version"])
    assert "the canary's monitor window failed monitor.input_drift[" in outcome.message
    assert f"moved back from version {candidate} to version {champion}" in outcome.message
    assert champion_version(project.root) == champion
    state = load_state(project.deploy_dir)
    assert state.image == before.image and state.canary_share is None
    assert [(r.image, r.role) for r in state.replicas] == [(before.image, "stable")] * 2
    assert _containers(state) == {r.name for r in state.replicas}
    assert counts.requests > 20 and counts.failed == 0, counts
    verdict = json.loads(
        (project.root / "reports" / "retrain" / outcome.id / "canary-monitor" / "report.json").read_text()
    )
    assert verdict["passed"] is False and verdict["run"]["registry"]["version"] == candidate


class _Recorder:
    """Stand-ins for ci.release.deploy's canary functions (the guards around them are what these tests judge)."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def canary(self, *_: Any, **__: Any) -> Any:
        self.calls.append("canary")
        return SimpleNamespace(image="registry/old:v1", log_dir="unused", replicas=[])

    def abort_canary(self, *_: Any, **__: Any) -> Any:
        self.calls.append("abort")
        return SimpleNamespace(image="registry/old:v1", replicas=[])

    def promote_canary(self, *_: Any, **__: Any) -> Any:
        self.calls.append("promote")
        raise RolloutFailed("rolling update to registry/new:v2 failed and was rolled back to registry/old:v1")


@pytest.fixture
def canary_stand_ins(project_copy: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, _Recorder]:
    deploy = importlib.import_module("mlgate.ci.release.deploy")  # the package re-exports a function `deploy`
    (project_copy / "mlgate.toml").write_text(
        (project_copy / "mlgate.toml").read_text() + RETRAIN.format(rollout="canary", timeout=30)
    )
    state = project_copy / ".mlgate" / "deploy" / "deploy" / "state.json"
    state.parent.mkdir(parents=True)
    state.write_text("{}")  # a deployment runs (rollout() only looks for the file; the functions are stand-ins)
    recorder = _Recorder()
    for name in ("canary", "abort_canary", "promote_canary"):
        monkeypatch.setattr(deploy, name, getattr(recorder, name))
    monkeypatch.setattr(retrain_canary, "_canary_predictions", lambda *_: 30)
    return load_config(project_copy / "mlgate.toml"), recorder


def test_a_canary_that_cannot_be_judged_is_aborted(
    canary_stand_ins: tuple[Any, _Recorder], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before the fix, an error while judging left the canary serving its share (and the retrain ended "error"
    with the champion alias on the candidate): now the canary is aborted and the rollout fails."""
    config, recorder = canary_stand_ins

    def unreadable(*_: Any) -> Any:
        raise PredictionLogError("/srv/predictions: cannot read the prediction log (database disk image is malformed)")

    monkeypatch.setattr(retrain_canary, "_judge_canary", unreadable)
    with pytest.raises(RolloutFailed, match=r"the canary could not be judged \(/srv/predictions: cannot read"):
        retrain_canary.rollout(config, "registry/new:v2", "2", tmp_path, print)
    assert recorder.calls == ["canary", "abort"]


def test_a_canary_whose_promotion_is_rolled_back_is_aborted(
    canary_stand_ins: tuple[Any, _Recorder], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, recorder = canary_stand_ins
    monkeypatch.setattr(retrain_canary, "_judge_canary", lambda *_: (True, ""))
    with pytest.raises(RolloutFailed, match="failed and was rolled back to registry/old:v1"):
        retrain_canary.rollout(config, "registry/new:v2", "2", tmp_path, print)
    assert recorder.calls == ["canary", "promote", "abort"]


def test_a_canary_that_gets_no_traffic_is_aborted(
    canary_stand_ins: tuple[Any, _Recorder], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The timeout path (the champion moving back after a failed canary is shown with the real image above)."""
    config, recorder = canary_stand_ins
    config = config.model_copy(update={"retrain": config.retrain.model_copy(update={"canary_timeout_s": 0.2})})
    monkeypatch.setattr(retrain_canary, "_canary_predictions", lambda *_: 0)
    monkeypatch.setattr(retrain_canary.time, "sleep", lambda _: None)
    with pytest.raises(
        RolloutFailed, match=r"the canary served 0 of retrain.canary_min_predictions = \d+ predictions in"
    ):
        retrain_canary.rollout(config, "registry/new:v2", "2", tmp_path, print)
    assert recorder.calls == ["canary", "abort"]
