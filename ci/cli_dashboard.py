"""``mlgate dashboard``: start the Streamlit app of :mod:`ci.dashboard_app` on 127.0.0.1 (registered by ci.cli).

Light at import (``mlgate --help`` imports this): Streamlit is looked for, not imported; the config is loaded
here first, so a broken config is one line and exit 2 before any server starts. The app reads the config path
from :data:`CONFIG_ENV`; the server is headless, bound to 127.0.0.1, with usage statistics off, and the process
is replaced by Streamlit's (``exec``), so signals reach the server directly.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import typer

from mlgate.ci.cli_options import DEFAULT_CONFIG, RUN_EXTRA_MODULES, ConfigOption, load_project, out_console
from mlgate.pipeline.errors import MlgateError

__all__ = ["APP", "CONFIG_ENV", "DASHBOARD_EXTRA_MODULES", "dashboard", "streamlit_command", "streamlit_env"]

#: The Streamlit script.
APP = Path(__file__).resolve().with_name("dashboard_app.py")
#: The environment variable that names the config file to the app (absolute; default ``mlgate.toml``).
CONFIG_ENV = "MLGATE_DASHBOARD_CONFIG"
#: Top-level modules of the `dashboard` extra (pyproject.toml) beside the `run` extra it includes.
DASHBOARD_EXTRA_MODULES = frozenset({"streamlit"})


def missing_modules() -> list[str]:
    """The modules of the `dashboard` extra (and the `run` extra it includes) that are not installed."""
    return [
        name for name in sorted(DASHBOARD_EXTRA_MODULES | RUN_EXTRA_MODULES) if importlib.util.find_spec(name) is None
    ]


def streamlit_command(port: int, *, app: Path = APP) -> list[str]:
    """``python -m streamlit run APP`` headless on 127.0.0.1:``port``, no usage statistics, no file watcher."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--server.fileWatcherType",
        "none",
        "--runner.magicEnabled",
        "false",
        "--global.developmentMode",
        "false",
        "--client.toolbarMode",
        "minimal",
    ]


def streamlit_env(environ: Mapping[str, str], config: Path) -> dict[str, str]:
    """``environ`` with the config path for the app and Streamlit's settings that keep it local and quiet."""
    return {
        **environ,
        CONFIG_ENV: str(config),
        "STREAMLIT_SERVER_HEADLESS": "true",
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        "STREAMLIT_SERVER_ADDRESS": "127.0.0.1",
        "MLFLOW_CONFIGURE_LOGGING": "false",
    }


def _exec(command: list[str], env: dict[str, str]) -> None:  # pragma: no cover - replaces the process
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(command[0], command, env)


def dashboard(
    config: ConfigOption = DEFAULT_CONFIG,
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port on 127.0.0.1 to serve the dashboard on.")] = 8501,
) -> None:
    """Serve the dashboard on http://127.0.0.1:PORT (Streamlit): champion and releases with their gate reports,
    drift, live and estimated quality, traffic and latency from mlgate monitor's history, the retrain journal.

    Reads only (no MLflow store is created). Exit 2: the config is broken or the dashboard extra is not installed.
    """
    missing = missing_modules()
    if missing:
        raise MlgateError(
            f"mlgate dashboard needs the 'dashboard' extra (module {missing[0]!r} is not installed): "
            "pip install 'mlgate[dashboard]'"
        )
    project = load_project(config)
    path = (project.path or config).resolve()
    out_console.print(f"mlgate dashboard: {path} on http://127.0.0.1:{port} (Ctrl-C stops it)", markup=False)
    _exec(streamlit_command(port), streamlit_env(os.environ, path))
