"""The terminal summary: a rich table per layer, the checks needing attention, the run's task, row counts (file
to split) and registry outcome, then the verdict line."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from mlgate.checks.report._common import (
    RICH_STYLES,
    by_severity,
    fmt_interval,
    fmt_value,
    headline_model,
    registry_note,
    row_flow,
    split_sizes,
    summary_counts,
    task_note,
    verdict,
    waiver_note,
)
from mlgate.checks.result import GateReport, Status

__all__ = ["print_summary"]


def _status(status: Status) -> Text:
    return Text(status.value.upper(), style=RICH_STYLES[status])


def print_summary(report: GateReport, console: Console, *, max_rows_per_layer: int = 40) -> None:
    """Print a per-layer overview, the checks that need attention (most severe first), and the verdict.

    Passing and skipped checks are only counted here (they are all in report.html / report.json), so the
    summary stays readable in an 80-column CI log. A layer with more than ``max_rows_per_layer`` checks needing
    attention shows the most severe ones and a count of the rest.
    """
    overview = Table(title=Text("gate layers", style="bold"), title_justify="left", expand=False)
    overview.add_column("layer", no_wrap=True)
    overview.add_column("status", no_wrap=True)
    for status in Status:
        overview.add_column(status.value, justify="right", no_wrap=True)
    grouped = report.by_layer()
    for layer, results in grouped.items():
        counts = [sum(r.status is status for r in results) for status in Status]
        overview.add_row(layer, _status(report.layer_status(layer)), *(str(c) if c else "·" for c in counts))
    console.print(overview)

    attention = Table(title=Text("needs attention", style="bold"), title_justify="left", expand=True)
    attention.add_column("status", no_wrap=True)
    attention.add_column("check", overflow="fold", ratio=2)
    attention.add_column("message", overflow="fold", ratio=5)
    shown = 0
    for results in grouped.values():
        ordered = [r for r in by_severity(results) if r.status not in (Status.PASS, Status.SKIPPED)]
        for result in ordered[:max_rows_per_layer]:
            message = result.message
            if result.status is Status.WAIVED and (note := waiver_note(result)):
                message += f" [{note}]"
            if not result.blocking and result.status.blocks:
                message += " (non-blocking)"
            if result.interval is not None:
                message += f" {fmt_value(result.observed, limit=40)} {fmt_interval(result.interval)}"
            attention.add_row(_status(result.status), Text(result.id), Text(message))
            shown += 1
        if len(ordered) > max_rows_per_layer:
            hidden = ordered[max_rows_per_layer:]
            kinds = ", ".join(
                f"{sum(r.status is s for r in hidden)} {s.value}" for s in Status if any(r.status is s for r in hidden)
            )
            attention.add_row("", Text(f"… {len(hidden)} more ({kinds})", style="dim"), "")
    if shown:
        console.print(attention)
    facts = (
        ("task", task_note(report)),
        ("rows", row_flow(report)),
        ("split", split_sizes(report)),
        ("registry", registry_note(report)),
    )
    for label, value in facts:
        if value:
            console.print(Text.assemble((f"{label}: ", "bold"), value))

    word = verdict(report)
    style = "bold white on red" if word == "FAILED" else "bold white on green"
    line = Text.assemble(("mlgate: ", "bold"), (f" {word} ", style), f"  {summary_counts(report)}")
    if headline := headline_model(report):
        line.append(f"  ({headline})", style="dim")
    console.print(line)
