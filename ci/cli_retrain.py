"""``mlgate retrain`` (one evaluation, for cron or a scheduled CI job) and ``mlgate watch`` (a loop of them).

Registered on the ``mlgate`` app by ci.cli. Light at import (``mlgate --help`` imports this): the retrain's
modules load when a command runs.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from mlgate.ci.cli_options import DEFAULT_CONFIG, ConfigOption, err_console, load_project, out_console

__all__ = ["retrain", "watch"]

WhenOption = Annotated[
    str | None,
    typer.Option(
        "--when",
        help="Comma-separated triggers to evaluate: new-data, drift, quality, stale, schedule "
        "(default: [retrain] triggers).",
    ),
]
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="Evaluate and record the triggers; retrain nothing.")]


def _triggers(when: str | None) -> list[str] | None:
    from mlgate.pipeline.config_retrain import TRIGGERS

    if when is None:
        return None
    names = [part.strip() for part in when.split(",") if part.strip()]
    unknown = [n for n in names if n not in TRIGGERS]
    if unknown or not names:
        raise typer.BadParameter(
            f"{', '.join(unknown) or 'nothing'}: not a trigger; choose from {', '.join(TRIGGERS)}", param_hint="--when"
        )
    return names


def _say(message: str) -> None:
    out_console.print(message, markup=False, highlight=False, soft_wrap=True)


def _record_config_failure(path: Path, exc: Exception) -> None:
    """A config that does not load still leaves a journal line, in the default journal beside the file."""
    from mlgate.ci.journal import append_line, new_id
    from mlgate.pipeline.config_retrain import RetrainSettings

    now = datetime.now(UTC)
    journal = RetrainSettings().journal_path(path.expanduser().absolute().parent)
    line = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
    with contextlib.suppress(Exception):  # the config error is what the user must see, not a journal problem
        append_line(journal, {
            "kind": "retrain", "event": "finished", "id": new_id(now), "at": now.isoformat(timespec="seconds"),
            "outcome": "error", "stage": "config", "error": line, "exit_code": 2, "triggers": [], "fired": [],
            "message": f"the config {path} did not load: {line}",
        })  # fmt: skip


def _one(config: Path, names: list[str] | None, dry_run: bool) -> Any:
    from mlgate.ci.retrain_loop import retrain as run_retrain
    from mlgate.pipeline.errors import ConfigError

    try:
        project = load_project(config)
    except ConfigError as exc:
        _record_config_failure(config, exc)
        raise
    outcome = run_retrain(project, when=names, dry_run=dry_run, say=_say)
    _say(f"journal: {project.retrain.journal_path(project.root)} ({outcome.id})")
    return outcome


def retrain(config: ConfigOption = DEFAULT_CONFIG, when: WhenOption = None, dry_run: DryRunOption = False) -> None:
    """Evaluate the retrain triggers; when one fires, run the gated pipeline, release and roll out what passes.

    Exit 0 (nothing fired, a dry run, or a candidate released / rolled out), 1 (the candidate failed a blocking
    gate, or its release or rollout failed: champion and serving unchanged), 2 (config or data error), 3 (store
    error, or another retrain holds the lock). Every evaluation is a line of the journal ([retrain] journal).
    """
    raise typer.Exit(_one(config, _triggers(when), dry_run).exit_code)


def watch(
    config: ConfigOption = DEFAULT_CONFIG,
    interval: Annotated[str, typer.Option(help="Time between evaluations: 90s, 15m, 1h, 1d.")] = "15m",
    when: WhenOption = None,
    dry_run: DryRunOption = False,
    max_cycles: Annotated[int | None, typer.Option(min=1, help="Stop after this many evaluations.")] = None,
) -> None:
    """Run `mlgate retrain` every INTERVAL until stopped (SIGTERM or Ctrl-C ends it after the current cycle).

    A cycle that fails (a broken config, unreadable data, a busy lock) is reported and recorded, and the loop goes
    on: the config is read again every cycle. A retrain a killed watch left half done is reported by the next
    cycle (the lock's owner file) and, when it had not finished, run again; one that finished is never repeated.
    """
    from mlgate.ci.monitor import parse_moment
    from mlgate.pipeline.errors import MlgateError

    names = _triggers(when)
    now = datetime.now(UTC)
    try:
        seconds = (now - parse_moment(interval, option="--interval", now=now)).total_seconds()
    except MlgateError as exc:
        raise typer.BadParameter(str(exc).removeprefix("--interval "), param_hint="--interval") from None
    if seconds <= 0:
        raise typer.BadParameter(f"{interval!r}: give an age such as 90s, 15m or 1h", param_hint="--interval")
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    cycle = 0
    try:
        while not stop.is_set():
            cycle += 1
            _say(f"watch: cycle {cycle} at {datetime.now(UTC):%Y-%m-%d %H:%M:%S}Z")
            try:
                _one(config, names, dry_run)
            except MlgateError as exc:
                err_console.print(f"watch: cycle {cycle}: error: {exc}", markup=False, highlight=False, soft_wrap=True)
            if max_cycles is not None and cycle >= max_cycles:
                break
            stop.wait(seconds)
    finally:
        signal.signal(signal.SIGTERM, previous)
    _say(f"watch: stopped after {cycle} cycle(s)")
