"""The options and small helpers every ``mlgate`` command shares (ci.cli and ci.cli_deploy import them).

Nothing heavy is imported here: ``mlgate --help`` stays light (tests/unit/test_light_imports.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from mlgate.pipeline.config import ProjectConfig

__all__ = [
    "DEFAULT_CONFIG",
    "DEFAULT_LOCK_TIMEOUT_S",
    "RUN_EXTRA_MODULES",
    "ConfigOption",
    "LockTimeoutOption",
    "OutOption",
    "WorkdirOption",
    "err_console",
    "load_project",
    "out_console",
    "workdir_for",
]

out_console = Console()
err_console = Console(stderr=True)

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="Project config file.")]
OutOption = Annotated[Path, typer.Option("--out", "-o", help="Folder for the report files.")]
DEFAULT_CONFIG = Path("mlgate.toml")
LockTimeoutOption = Annotated[
    float,
    typer.Option(
        "--lock-timeout",
        min=0.0,
        help="Seconds to wait while another mlgate command holds the store lock (0: fail at once).",
    ),
]
#: Top-level modules of the `run` extra (pyproject.toml): missing, they mean "install mlgate[run]", not a bug.
RUN_EXTRA_MODULES = frozenset(
    {
        "adbc_driver_sqlite",
        "scipy",
        "sklearn",
        "mlflow",
        "skops",
        "sqlalchemy",
        "matplotlib",
        "jinja2",
        "cryptography",
        "filelock",
        "sqlparse",
        "xxhash",
    }
)
DEFAULT_LOCK_TIMEOUT_S = 300.0  # pipeline.store_lock.DEFAULT_LOCK_TIMEOUT_S (not imported: keep --help light)

WorkdirOption = Annotated[
    Path | None,
    typer.Option("--workdir", help="Release/deployment state folder (default: .mlgate/ beside the config)."),
]


def load_project(path: Path) -> ProjectConfig:
    from mlgate.pipeline.config import load_config

    return load_config(path)


def workdir_for(project: ProjectConfig, workdir: Path | None, name: str) -> Path:
    return workdir if workdir is not None else project.root / ".mlgate" / name
