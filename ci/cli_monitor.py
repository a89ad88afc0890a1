"""``mlgate monitor``: the command line of :mod:`ci.monitor` (registered on the ``mlgate`` app by ci.cli).

Light at import (``mlgate --help`` imports this): the monitor's modules load when the command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlgate.ci.cli_options import DEFAULT_CONFIG, ConfigOption, OutOption, err_console, load_project, out_console

__all__ = ["monitor"]


def monitor(
    config: ConfigOption = DEFAULT_CONFIG,
    since: Annotated[
        str | None,
        typer.Option(help="Window start: an ISO 8601 time (UTC unless it says) or an age such as 30m, 2h, 1d."),
    ] = None,
    last: Annotated[int | None, typer.Option(help="The last N predictions instead of a time window.")] = None,
    until: Annotated[str | None, typer.Option(help="Window end (default: now), as --since.")] = None,
    log: Annotated[
        str | None,
        typer.Option(help="The prediction log: a SQLite file, a folder of per-replica files, or a database URL."),
    ] = None,
    out: OutOption = Path("reports/monitor"),
    bundle: Annotated[
        Path | None,
        typer.Option(help="Read the model's reference from this release bundle's monitor/ (default: the registry)."),
    ] = None,
    metrics_file: Annotated[
        Path | None, typer.Option("--metrics-file", help="Also write the verdicts as a Prometheus textfile here.")
    ] = None,
    history: Annotated[
        bool, typer.Option(help="Append the verdict to [monitor] history (read by mlgate retrain and the dashboard).")
    ] = True,
) -> None:
    """Judge the served model on a window of its prediction log (and feedback) with the gates that released it.

    Writes report.json, report.md, report.html and junit.xml to OUT; exit 0 (warnings allowed; an empty window is
    a warning), 1 (a blocking check failed), 2 (usage, config, schema or reference error), 3 (store error).
    """
    from mlgate.checks.report import print_summary
    from mlgate.ci.monitor import run_monitor

    project = load_project(config)
    result = run_monitor(
        project,
        since=since,
        until=until,
        last=last,
        log=log,
        out=out,
        bundle=bundle,
        metrics_file=metrics_file,
        history=history,
    )
    print_summary(result.report, out_console)
    for kind, path in result.paths.items():
        out_console.print(f"{kind:>8}: {path}")
    if metrics_file is not None:
        out_console.print(f" metrics: {metrics_file}")
    if result.history_error is not None:
        err_console.print(
            f"mlgate: warning: the verdict was not added to the monitor history: {result.history_error}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    if result.empty:
        err_console.print(
            "mlgate: warning: no predictions in the window: nothing was judged (drift, balance and quality skipped)",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    raise typer.Exit(result.report.exit_code)
