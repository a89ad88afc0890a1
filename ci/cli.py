"""The ``mlgate`` command: a thin shell over ci.gated_run and friends.

Exit codes: 0 every blocking gate passed (warnings allowed) · 1 a blocking gate failed (or a release was
refused) · 2 usage, config, schema-file or data error · 3 the tracking store / registry failed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mlgate.checks.result import ALL_LAYERS
from mlgate.ci.cli_dashboard import dashboard
from mlgate.ci.cli_deepchecks import deepchecks_app
from mlgate.ci.cli_deploy import deploy_app
from mlgate.ci.cli_monitor import monitor
from mlgate.ci.cli_options import (
    DEFAULT_CONFIG,
    DEFAULT_LOCK_TIMEOUT_S,
    RUN_EXTRA_MODULES,
    ConfigOption,
    LockTimeoutOption,
    OutOption,
    WorkdirOption,
    err_console,
    out_console,
)
from mlgate.ci.cli_options import load_project as _config
from mlgate.ci.cli_options import workdir_for as _workdir
from mlgate.ci.cli_retrain import retrain, watch
from mlgate.pipeline.errors import MlgateError

if TYPE_CHECKING:  # annotations only: `mlgate --help` imports none of these
    from rich.progress import Progress, TaskID

    from mlgate.checks.result import GateReport
    from mlgate.ci.gated_run import GatedRun
    from mlgate.pipeline.config import ProjectConfig

__all__ = ["app", "main"]

app = typer.Typer(
    name="mlgate",
    help="Gate a model on its data, quality, reproducibility and staleness before it ships.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
schema_app = typer.Typer(help="Propose and check the committed data schema.", no_args_is_help=True)
app.add_typer(schema_app, name="schema")
app.add_typer(deploy_app, name="deploy")
app.add_typer(deepchecks_app, name="deepchecks")
app.command()(monitor)
app.command()(dashboard)
app.command()(retrain)
app.command()(watch)


def _progress() -> Progress:
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    return Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err_console, transient=False
    )


def _run_with_progress(config: ProjectConfig, **kwargs: Any) -> GatedRun:
    from mlgate.ci.gated_run import run_pipeline

    with _progress() as progress:
        current: list[TaskID] = []

        def on_stage(name: str) -> None:
            if current:
                progress.update(current[-1], completed=1, total=1)
            current.append(progress.add_task(name, total=None))

        try:
            return run_pipeline(config, on_stage=on_stage, **kwargs)
        finally:
            if current:
                progress.update(current[-1], completed=1, total=1)


def _finish(report: GateReport, out: Path) -> int:
    from mlgate.checks.report import write_reports

    return _show(report, write_reports(report, out))


def _show(report: GateReport, paths: dict[str, Path]) -> int:
    from mlgate.checks.report import print_summary

    print_summary(report, out_console)
    for kind, path in paths.items():
        out_console.print(f"{kind:>8}: {path}")
    return report.exit_code


@app.command()
def run(
    config: ConfigOption = DEFAULT_CONFIG,
    out: OutOption = Path("reports"),
    register: Annotated[bool, typer.Option(help="Log and register the candidate in MLflow.")] = True,
    promote: Annotated[bool, typer.Option(help="Move 'champion' to the candidate when every gate passes.")] = True,
    lock_timeout: LockTimeoutOption = DEFAULT_LOCK_TIMEOUT_S,
    deepchecks: Annotated[
        bool | None,
        typer.Option(
            "--deepchecks/--no-deepchecks",
            help="Run the deepchecks layer too (or not), whatever [deepchecks] enabled says.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run the whole gated pipeline and write report.json, report.md, report.html and junit.xml to OUT."""
    project = _config(config)
    if deepchecks is not None:
        settings = project.deepchecks.model_copy(update={"enabled": deepchecks})
        project = project.model_copy(update={"deepchecks": settings})
    result = _run_with_progress(project, register=register, promote=promote, out=out, lock_timeout_s=lock_timeout)
    raise typer.Exit(_show(result.report, result.paths))


@app.command()
def gate(
    layer: Annotated[list[str], typer.Option("--layer", "-l", help=f"Layer(s): {', '.join(ALL_LAYERS)}.")],
    config: ConfigOption = DEFAULT_CONFIG,
    out: OutOption = Path("reports"),
    current: Annotated[
        str | None,
        typer.Option(
            "--current",
            help="A new batch (CSV/Parquet file, or an SQLAlchemy URL with [drift.current] query) for the drift "
            "layer to compare with the champion's training data (overrides drift.current).",
        ),
    ] = None,
) -> None:
    """Run one or more gate layers without registering anything (one CI status check per layer)."""
    unknown = [name for name in layer if name not in ALL_LAYERS]
    if unknown:
        raise MlgateError(f"--layer {unknown[0]!r} is not a layer; choose from {', '.join(ALL_LAYERS)}")
    if current is not None and "drift" not in layer:
        raise MlgateError("--current is compared by the drift layer: add --layer drift")
    project = _config(config)
    if current is not None:
        from mlgate.ci.current_batch import override_current

        project = override_current(project, current)
    result = _run_with_progress(project, layers=layer, register=False, promote=False, out=out)
    raise typer.Exit(_show(result.report, result.paths))


@schema_app.command("infer")
def schema_infer(
    config: ConfigOption = DEFAULT_CONFIG,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write here (default: stdout).")] = None,
    margin: Annotated[float, typer.Option(min=0.0, max=10.0, help="Widen numeric ranges by this share.")] = 0.1,
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Propose a pandera schema from the configured data, for a human to review and commit."""
    from mlgate.checks.schema_infer import infer_with_notes

    text, notes = infer_with_notes(_config(config), margin=margin)
    for note in notes:  # columns that look like row ids: named in the proposal's header too
        err_console.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)
    if out is None:
        sys.stdout.write(text)
        return
    if out.exists() and not force:
        raise MlgateError(f"{out}: already exists; review the proposal on stdout or pass --force")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    err_console.print(f"wrote {out}: review it, then commit it")


@app.command()
def status(config: ConfigOption = DEFAULT_CONFIG) -> None:
    """Show the champion, its age and data fingerprint, and which staleness rules it passes."""
    from mlgate.ci.status import collect_status, print_status

    found = collect_status(_config(config))
    print_status(found, out_console)
    raise typer.Exit(found["exit_code"])


@app.command()
def rollback(
    config: ConfigOption = DEFAULT_CONFIG,
    workdir: WorkdirOption = None,
    registry_only: Annotated[bool, typer.Option(help="Leave a running deployment as it is.")] = False,
    lock_timeout: LockTimeoutOption = DEFAULT_LOCK_TIMEOUT_S,
) -> None:
    """Move 'champion' back to the previous champion, and serving back to the previous image when deployed."""
    from mlgate.ci.registration import rollback_release

    project = _config(config)
    out_console.print(rollback_release(project, lock_timeout_s=lock_timeout))
    state_dir = _workdir(project, workdir, "deploy")
    if not registry_only and (state_dir / "deploy" / "state.json").exists():
        from mlgate.ci.release.deploy import rollback as rollback_serving

        state = rollback_serving(project, workdir=state_dir)
        out_console.print(f"serving rolled back to {state.image} on 127.0.0.1:{state.port}")


@app.command()
def release(
    config: ConfigOption = DEFAULT_CONFIG,
    report: Annotated[Path, typer.Option("--report", help="The gate report.json of `mlgate run`.")] = Path(
        "reports/report.json"
    ),
    workdir: WorkdirOption = None,
    promote: Annotated[bool, typer.Option(help="Move 'champion' to the version once parity holds.")] = True,
    lock_timeout: LockTimeoutOption = DEFAULT_LOCK_TIMEOUT_S,
) -> None:
    """Build, push, pull and parity-test the serving image of a gated model; refuses a report that did not pass."""
    from mlgate.checks.report import print_summary
    from mlgate.ci.release_flow import release_from_report

    project = _config(config)
    result, final, paths = release_from_report(
        project,
        report_path=report,
        workdir=_workdir(project, workdir, "release"),
        promote=promote,
        lock_timeout_s=lock_timeout,
    )
    print_summary(final, out_console)
    out_console.print(f"image: {result.image}@{result.digest}")
    for kind, path in paths.items():
        out_console.print(f"{kind:>8}: {path}")
    raise typer.Exit(final.exit_code)


@app.command()
def reproduce(
    run_id: Annotated[str, typer.Argument(help="The MLflow run id of a past gated run.")],
    config: ConfigOption = DEFAULT_CONFIG,
    out: OutOption = Path("reports/reproduce"),
) -> None:
    """Re-run a past run from its logged config and data and report whether it matches."""
    from mlgate.checks.result import GateReport
    from mlgate.ci.reproduce import reproduce as do_reproduce

    project = _config(config)
    results = do_reproduce(project.path, run_id, tracking_uri=project.tracking_uri)
    report = GateReport.collect(results, run={"project": project.name, "reproduce_run_id": run_id})
    raise typer.Exit(_finish(report, out))


def main(argv: list[str] | None = None) -> int:
    """Entry point: map known errors to one line and their exit code; never a traceback for user mistakes.

    Typer's standalone mode handles usage errors itself (message + exit code 2); everything that is an
    MlgateError becomes ``mlgate: error: <one line>`` and the error's exit code.
    """
    # MLflow configures its own INFO logging on import (e.g. "Creating initial MLflow database tables"): the
    # command's output is the progress and the summary; MLflow's warnings and errors still reach stderr.
    os.environ.setdefault("MLFLOW_CONFIGURE_LOGGING", "false")
    try:
        app(args=argv, prog_name="mlgate", standalone_mode=True)
    except MlgateError as exc:
        err_console.print(f"mlgate: error: {exc}", markup=False, highlight=False, soft_wrap=True)
        return exc.exit_code
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except KeyboardInterrupt:
        err_console.print("mlgate: interrupted")
        return 130
    except ModuleNotFoundError as exc:  # installed without the `run` extra (e.g. as a pre-commit hook's repo)
        top = (exc.name or "").partition(".")[0]
        if top not in RUN_EXTRA_MODULES:
            raise
        err_console.print(
            f"mlgate: error: this command needs the 'run' extra (module {top!r} is not installed): "
            "pip install 'mlgate[run]'",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
