"""The terminal summary: a rich table per layer, then the verdict line."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from checks.report._common import (
    RICH_STYLES,
    by_severity,
    fmt_interval,
    fmt_value,
    headline_model,
    summary_counts,
    verdict,
    waiver_note,
)
from checks.result import GateReport, Status

__all__ = ["print_summary"]


def _status(status: Status) -> Text:
    return Text(status.value.upper(), style=RICH_STYLES[status])


def print_summary(report: GateReport, console: Console, *, max_rows_per_layer: int = 40) -> None:
    """Print one table per layer (most severe checks first) and the verdict line to ``console``.

    A layer with more than ``max_rows_per_layer`` checks shows the most severe ones and a count of the rest;
    everything is in report.html / report.json.
    """
    for layer, results in report.by_layer().items():
        layer_status = report.layer_status(layer)
        table = Table(
            title=Text.assemble((f"{layer} ", "bold"), _status(layer_status), f"  ({len(results)} checks)"),
            title_justify="left",
            show_lines=False,
            expand=True,
        )
        table.add_column("status", no_wrap=True)
        table.add_column("check", overflow="fold", ratio=3)
        table.add_column("message", overflow="fold", ratio=5)
        table.add_column("observed", overflow="fold", ratio=1)
        table.add_column("expected", overflow="fold", ratio=1)
        ordered = by_severity(results)
        for result in ordered[:max_rows_per_layer]:
            message = result.message
            if result.status is Status.WAIVED and (note := waiver_note(result)):
                message += f" [{note}]"
            if not result.blocking and result.status.blocks:
                message += " (non-blocking)"
            observed = fmt_value(result.observed, limit=60)
            if result.interval is not None:
                observed += f" {fmt_interval(result.interval)}"
            table.add_row(
                _status(result.status),
                Text(result.id),
                Text(message),
                Text(observed),
                Text(fmt_value(result.expected, limit=60)),
            )
        if len(ordered) > max_rows_per_layer:
            hidden = ordered[max_rows_per_layer:]
            kinds = ", ".join(
                f"{sum(r.status is s for r in hidden)} {s.value}" for s in Status if any(r.status is s for r in hidden)
            )
            table.add_row("", Text(f"… {len(hidden)} more ({kinds})", style="dim"), "", "", "")
        console.print(table)

    word = verdict(report)
    style = "bold white on red" if word == "FAILED" else "bold white on green"
    line = Text.assemble(("mlgate: ", "bold"), (f" {word} ", style), f"  {summary_counts(report)}")
    if headline := headline_model(report):
        line.append(f"  ({headline})", style="dim")
    console.print(line)
