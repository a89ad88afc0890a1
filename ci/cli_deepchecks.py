"""``mlgate deepchecks ...``: deepchecks' isolated environment (issue 13): build it, say where it is."""

from __future__ import annotations

from typing import Annotated

import typer

from mlgate.ci.cli_options import out_console

__all__ = ["deepchecks_app"]

deepchecks_app = typer.Typer(
    help="deepchecks in its own environment (numpy<2, pandas<3: never mlgate's), run as a gate layer.",
    no_args_is_help=True,
)


@deepchecks_app.command("setup")
def deepchecks_setup(
    offline: Annotated[bool, typer.Option("--offline", help="Use the uv cache only, no network.")] = False,
) -> None:
    """Build (or check) the locked deepchecks environment in the cache folder; a no-op when it is up to date."""
    from mlgate.ci.deepchecks_env import build

    env, seconds = build(offline=offline)
    out_console.print(
        f"deepchecks environment: {env.folder} (lock {env.lock_sha256[:12]}, {seconds:.1f} s)",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


@deepchecks_app.command("where")
def deepchecks_where() -> None:
    """Print the environment's folder; exit 2 with how to build it when it is missing or broken."""
    from mlgate.ci.deepchecks_env import find_env

    env = find_env()
    out_console.print(str(env.folder), markup=False, highlight=False, soft_wrap=True)
