"""A retrain's rollout to the running deployment: a rolling update, or a canary judged by its own monitor window.

Used by :mod:`ci.retrain_loop` after a release moved the champion. The deployment is the one ``mlgate deploy up``
started (state in ``.mlgate/deploy/deploy/state.json`` beside the config); without one there is nothing to roll
out (None). ``[retrain] rollout``:

* ``update``: :func:`ci.release.deploy.rolling_update` (a new replica joins only when ready, an old one leaves
  only after; a replica that never gets ready rolls the update back and raises :class:`RolloutFailed`);
* ``canary``: one replica of the new image takes ``release.canary_share`` of the traffic; once it has served
  ``retrain.canary_min_predictions`` (within ``retrain.canary_timeout_s``), ``mlgate monitor`` judges the
  canary's own predictions (``version`` = the new one) since it started: a pass promotes the canary (a rolling
  update to its image), a failure or a timeout aborts it and raises :class:`RolloutFailed`. So does anything that
  stops the wait or the judgement (an unreadable log or monitor reference: :class:`RolloutFailed`; Ctrl-C: raised
  again) or a promotion whose update was rolled back: the canary never keeps its share of the traffic.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlgate.ci.release.errors import RolloutFailed
from mlgate.pipeline.config import ProjectConfig
from mlgate.pipeline.errors import MlgateError

__all__ = ["deploy_workdir", "rollout"]


def deploy_workdir(config: ProjectConfig) -> Path:
    """Where ``mlgate deploy`` keeps its state by default (``--workdir`` of the deploy commands)."""
    return config.root / ".mlgate" / "deploy"


def _log_location(config: ProjectConfig, state: Any) -> str:
    return str(state.log_dir) if state.log_dir else config.monitor.log.location(config.root)


def _canary_predictions(location: str, since: datetime, version: str) -> int:
    from mlgate.pipeline.predlog import read_window

    window = read_window(location, since=since, until=None, last=None)
    frame = window.predictions
    if frame.empty or "model_version" not in frame.columns:
        return 0
    return int((frame["model_version"].astype(str) == version).sum())


def _judge_canary(config: ProjectConfig, state: Any, version: str, since: datetime, out: Path) -> tuple[bool, str]:
    from mlgate.ci.monitor import run_monitor

    run = run_monitor(
        config, since=since.isoformat(), log=_log_location(config, state), out=out, version=version, history=True
    )
    failing = sorted(r.id for r in run.report.results if r.blocks)
    return run.report.passed, ", ".join(failing[:5])


def rollout(
    config: ProjectConfig, image: str, version: str, out: Path, say: Callable[[str], object]
) -> dict[str, Any] | None:
    """Roll ``image`` (model ``version``) out (module docstring); None when no deployment runs."""
    from mlgate.ci.release.deploy import abort_canary, canary, promote_canary, rolling_update

    workdir = deploy_workdir(config)
    if not (workdir / "deploy" / "state.json").exists():
        return None
    if config.retrain.rollout == "update":
        say(f"retrain: rolling update of {workdir} to {image}")
        state = rolling_update(config, image=image, workdir=workdir)
        return {"mode": "update", "image": image, "replicas": len(state.replicas), "previous": state.previous_image}
    started = datetime.now(UTC)
    say(f"retrain: canary of {image} on {config.release.canary_share:.0%} of the traffic")
    state = canary(config, image=image, workdir=workdir, share=config.release.canary_share)
    try:
        served = _await_canary(config, state, version, started)
        passed, failing = _judge_canary(config, state, version, started, out / "canary-monitor")
    except MlgateError as exc:  # an unreadable log or monitor reference: never leave the canary serving
        abort_canary(config, workdir=workdir)
        if isinstance(exc, RolloutFailed):
            raise
        raise RolloutFailed(
            f"the canary could not be judged ({str(exc).splitlines()[0][:200]}): aborted, serving unchanged on "
            f"{state.image}"
        ) from exc
    except BaseException:  # Ctrl-C or SIGTERM while waiting: take the canary out, then stop
        abort_canary(config, workdir=workdir)
        raise
    if not passed:
        abort_canary(config, workdir=workdir)
        raise RolloutFailed(
            f"the canary's monitor window failed {failing}: aborted, serving unchanged on {state.image}"
        )
    try:
        state = promote_canary(config, workdir=workdir)
    except MlgateError:  # the update to the canary's image was rolled back: the canary must not keep its share
        abort_canary(config, workdir=workdir)
        raise
    say(f"retrain: canary passed its monitor window ({served} predictions) and was promoted")
    return {"mode": "canary", "image": image, "replicas": len(state.replicas), "canary_predictions": served}


def _await_canary(config: ProjectConfig, state: Any, version: str, started: datetime) -> int:
    """Wait until the canary served ``retrain.canary_min_predictions``; :class:`RolloutFailed` on the timeout."""
    settings = config.retrain
    deadline = time.monotonic() + settings.canary_timeout_s
    served = 0
    while served < settings.canary_min_predictions:
        if time.monotonic() > deadline:
            raise RolloutFailed(
                f"the canary served {served} of retrain.canary_min_predictions = {settings.canary_min_predictions} "
                f"predictions in {settings.canary_timeout_s:g} s: aborted, serving unchanged on {state.image}"
            )
        time.sleep(2.0)
        served = _canary_predictions(_log_location(config, state), started, version)
    return served
