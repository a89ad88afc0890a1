"""How the loop demonstration (:mod:`ci.loop_demo`) serves its champions: the real image, or the app in-process.

* :class:`ImageServing` (where podman is available): champion v1 is released as the serving image (``mlgate
  release``: build, push to a local registry, pull, bitwise parity, then the champion alias) and deployed as
  ``release.replicas`` replicas behind nginx (``mlgate deploy up``), logging to the deployment's folder. The retrain
  runs with its real steps: gated run, ``mlgate release`` of the candidate, and the rolling update of the running
  deployment, while a separate client process keeps sending requests through nginx and counts every one that
  fails. The old model's bundle is served in-process beside it as the shadow.
* :class:`InProcess` (no podman): each champion's bundle is served by ``python -m mlgate.pipeline.serve`` under
  uvicorn; the rollout is starting the new server and moving the traffic to it between two requests; the old
  server stays as the shadow.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlgate.ci.monitor_walkthrough import serve_bundle
from mlgate.pipeline.config import ProjectConfig, load_config
from mlgate.pipeline.config_monitor import LOG_DIR_ENV
from mlgate.pipeline.errors import MlgateError

__all__ = ["ImageServing", "InProcess", "Server", "Swap", "podman_available"]

Say = Callable[[str], object]


def podman_available() -> bool:
    return shutil.which("podman") is not None


@dataclass
class Server:
    url: str
    version: str
    stop: Callable[[], None]


@dataclass
class Swap:
    """What a retrain left serving: the new champion, the old model as a shadow, the retrain's outcome."""

    outcome: Any
    new: Server
    shadow: Server
    failed_requests: int = 0
    requests_during_rollout: int = 0


def start_bundle(bundle: Path, env: dict[str, str], log: Path, version: str) -> Server:
    stack = ExitStack()  # serve_bundle's exit stops the server: kept open until Server.stop
    url = stack.enter_context(serve_bundle(bundle, env, log))
    return Server(url, version, stack.close)


def _bundle_of(run: Any, config: ProjectConfig, dest: Path) -> Path:
    from mlgate.ci.release.e2e import bundle_from_gated_run

    version = str(run.report.run["registry"]["version"])
    return bundle_from_gated_run(config, run, report_path=dest / "report.json", dest=dest / "bundle", version=version)


class InProcess:
    name = "in-process app"
    log_folder = "predictions"

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir, self.env = workdir, env
        self.captured: dict[str, Any] = {}

    def _gate(self, config: ProjectConfig, out: Path) -> Any:
        from mlgate.ci.gated_run import run_pipeline

        run = run_pipeline(config, promote=True, out=out)
        self.captured.update(run=run, config=config)
        return run

    def _serve_captured(self, name: str) -> Server:
        run, config = self.captured["run"], self.captured["config"]
        version = str(run.report.run["registry"]["version"])
        bundle = _bundle_of(run, config, self.workdir / name)
        return start_bundle(bundle, self.env, self.workdir / f"server-{name}.log", version)

    def start(self, config: ProjectConfig, say: Say) -> tuple[Server, Any]:
        run = self._gate(config, self.workdir / "v1")
        return self._serve_captured("v1"), run

    def retrain(self, config_path: Path, old: Server, say: Say) -> Swap:
        from mlgate.ci.retrain_loop import Steps, retrain

        outcome = retrain(load_config(config_path), when=["drift"], steps=Steps(gate=self._gate), say=say)
        if outcome.outcome != "registered":
            raise MlgateError(f"the retrain did not give a new champion: {outcome.outcome}: {outcome.message}")
        return Swap(outcome, self._serve_captured(f"v{outcome.entry['model_version']}"), old)

    def close(self) -> None:
        return None


class ImageServing:
    name = "serving image, replicas behind nginx"
    log_folder = ".mlgate/deploy/predictions"

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir, self.env = workdir, env
        self.deploy_dir: Path | None = None

    def start(self, config: ProjectConfig, say: Say) -> tuple[Server, Any]:
        from mlgate.ci.gated_run import run_pipeline
        from mlgate.ci.release.deploy import deploy
        from mlgate.ci.release_flow import release_from_report
        from mlgate.ci.retrain_canary import deploy_workdir

        run = run_pipeline(config, promote=False, out=self.workdir / "v1")
        result, final, _ = release_from_report(
            config, report_path=self.workdir / "v1" / "report.json", workdir=self.workdir / "release-v1", promote=True
        )
        if not final.passed:
            raise MlgateError(f"the release of v1 failed: {[r.id for r in final.results if r.blocks]}")
        self.v1_bundle = self.workdir / "release-v1" / "bundle"
        self.deploy_dir = deploy_workdir(config)
        state = deploy(config, image=result.image, workdir=self.deploy_dir)
        say(f"loop: v1 released as {result.image}, {len(state.replicas)} replicas behind nginx at {state.url}")
        return Server(state.url, str(run.report.run["registry"]["version"]), lambda: None), run

    def retrain(self, config_path: Path, old: Server, say: Say) -> Swap:
        from mlgate.ci.release.load import LoadGenerator
        from mlgate.ci.retrain_loop import retrain

        rows = self._sample_rows(load_config(config_path))
        load = LoadGenerator(old.url, rows, folder=self.workdir / "rollout-load", pause=0.05, batch=5, max_seconds=900)
        try:
            outcome = retrain(load_config(config_path), when=["drift"], say=say)
        finally:
            counts = load.stop()
        if outcome.outcome != "rolled-out":
            raise MlgateError(f"the retrain did not roll a new champion out: {outcome.outcome}: {outcome.message}")
        shadow_env = {**self.env, LOG_DIR_ENV: str(self.workdir / "shadow-log")}
        shadow = start_bundle(self.v1_bundle, shadow_env, self.workdir / "server-shadow.log", old.version)
        new = Server(old.url, str(outcome.entry["model_version"]), lambda: None)
        return Swap(outcome, new, shadow, counts.failed, counts.requests)

    def _sample_rows(self, config: ProjectConfig) -> list[dict[str, Any]]:
        from mlgate.ci.release.e2e_log import clean_traffic

        return clean_traffic(config, self.v1_bundle, rows=200, seed=0).rows

    def close(self) -> None:
        if self.deploy_dir is not None and (self.deploy_dir / "deploy" / "state.json").exists():
            from mlgate.ci.release.deploy import teardown

            teardown(self.deploy_dir)
