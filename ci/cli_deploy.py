"""``mlgate deploy ...``: run the released image as replicas behind nginx (rolling update, canary, rollback)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mlgate.ci.cli_options import DEFAULT_CONFIG, ConfigOption, WorkdirOption, out_console
from mlgate.ci.cli_options import load_project as _config
from mlgate.ci.cli_options import workdir_for as _workdir
from mlgate.pipeline.errors import MlgateError
from mlgate.pipeline.tags import Tag

if TYPE_CHECKING:
    from mlgate.ci.release.deploy import DeployState
    from mlgate.pipeline.config import ProjectConfig

__all__ = ["deploy_app"]

deploy_app = typer.Typer(
    help="Run the released image as replicas behind an nginx load balancer on 127.0.0.1 (rolling update, canary).",
    no_args_is_help=True,
)


ImageOption = Annotated[str | None, typer.Option("--image", help="Image reference (default: the champion's image).")]


def _champion_image(project: ProjectConfig) -> str:
    from mlgate.ci.registration import make_registry

    champion = make_registry(project).champion()
    image = champion.tags.get(Tag.IMAGE) if champion else None
    if not image:
        raise MlgateError("no --image given and the champion has no released image; run `mlgate release` first")
    return image


def _print_log(state: DeployState) -> None:
    if state.log_dir is not None:
        shown = f"{state.log_dir} (one SQLite file per replica; `mlgate monitor --log {state.log_dir}`)"
    else:
        shown = state.log_database or "not recorded (a deployment made before the prediction log)"
    out_console.print(f"prediction log: {shown}", markup=False, highlight=False, soft_wrap=True)


def _rollout(config: Path, image: str | None, workdir: Path | None) -> tuple[ProjectConfig, str, Path]:
    """What a deploy command rolls out: the project, the image (default: the champion's released one) and the
    deployment state folder."""
    project = _config(config)
    return project, image or _champion_image(project), _workdir(project, workdir, "deploy")


@deploy_app.command("up")
def deploy_up(
    config: ConfigOption = DEFAULT_CONFIG,
    image: ImageOption = None,
    replicas: Annotated[int | None, typer.Option(min=1, max=8)] = None,
    workdir: WorkdirOption = None,
    log_dir: Annotated[
        Path | None,
        typer.Option(
            "--log-dir",
            help="Host folder every replica writes its prediction-log file to (default: WORKDIR/predictions; "
            "not with MLGATE_PREDICTION_LOG_URL, which logs every replica to one database).",
        ),
    ] = None,
) -> None:
    """Start N replicas of the image and the load balancer; every replica logs its predictions to one folder
    (or the database MLGATE_PREDICTION_LOG_URL names), which rollouts and `down` keep."""
    from mlgate.ci.release.deploy import deploy

    project, target, state_dir = _rollout(config, image, workdir)
    state = deploy(project, image=target, workdir=state_dir, replicas=replicas, log_dir=log_dir)
    out_console.print(f"serving {state.image}: {len(state.replicas)} replicas behind 127.0.0.1:{state.port}")
    _print_log(state)


@deploy_app.command("update")
def deploy_update(
    config: ConfigOption = DEFAULT_CONFIG, image: ImageOption = None, workdir: WorkdirOption = None
) -> None:
    """Rolling update: replace replicas one at a time; roll back if a new one never becomes ready."""
    from mlgate.ci.release.deploy import rolling_update

    project, target, state_dir = _rollout(config, image, workdir)
    state = rolling_update(project, image=target, workdir=state_dir)
    out_console.print(f"serving {state.image} (previous: {state.previous_image}) on 127.0.0.1:{state.port}")
    _print_log(state)


@deploy_app.command("canary")
def deploy_canary(
    config: ConfigOption = DEFAULT_CONFIG,
    image: ImageOption = None,
    share: Annotated[
        float | None, typer.Option(min=0.0, max=1.0, help="Traffic share (default: release.canary_share).")
    ] = None,
    workdir: WorkdirOption = None,
) -> None:
    """Send a share of traffic to a canary replica of the new image."""
    from mlgate.ci.release.deploy import canary

    project, target, state_dir = _rollout(config, image, workdir)
    state = canary(
        project,
        image=target,
        workdir=state_dir,
        share=share if share is not None else project.release.canary_share,
    )
    out_console.print(f"canary receives {state.canary_share:.0%} of traffic on 127.0.0.1:{state.port}")


@deploy_app.command("promote-canary")
def deploy_promote_canary(config: ConfigOption = DEFAULT_CONFIG, workdir: WorkdirOption = None) -> None:
    """Roll the canary's image out to every replica."""
    from mlgate.ci.release.deploy import promote_canary

    project = _config(config)
    state = promote_canary(project, workdir=_workdir(project, workdir, "deploy"))
    out_console.print(f"serving {state.image} on every replica")


@deploy_app.command("abort-canary")
def deploy_abort_canary(config: ConfigOption = DEFAULT_CONFIG, workdir: WorkdirOption = None) -> None:
    """Remove the canary; all traffic goes back to the stable replicas."""
    from mlgate.ci.release.deploy import abort_canary

    project = _config(config)
    state = abort_canary(project, workdir=_workdir(project, workdir, "deploy"))
    out_console.print(f"canary removed; serving {state.image}")


@deploy_app.command("down")
def deploy_down(config: ConfigOption = DEFAULT_CONFIG, workdir: WorkdirOption = None) -> None:
    """Stop every replica and the load balancer."""
    from mlgate.ci.release.deploy import teardown

    project = _config(config)
    teardown(_workdir(project, workdir, "deploy"))
    out_console.print("deployment stopped")
