"""The self-contained HTML report (``report.html``): one file, inline CSS and SVG plots, no scripts, no URLs.

Sections: verdict banner with the run facts (the task and how it was decided among them), one card per gate
layer, the checks that need attention, plots (drift, group shares, slice metrics, then per task: the 2x2
confusion matrix of a binary model; the k x k one and each class's ROC and calibration for a multi-class model;
predicted vs actual and the residuals for a regression; each replaced by a note when its data is missing), and a
table of every check. All text goes through jinja2 autoescaping.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jinja2
from markupsafe import Markup

from mlgate.checks.report import plots, plots_model, plots_scores
from mlgate.checks.report._common import (
    SEVERITY,
    STATUS_COLORS,
    attached_reports,
    by_severity,
    class_labels,
    decision_note,
    fmt_interval,
    fmt_value,
    headline_model,
    layer_counts,
    number,
    run_facts,
    section,
    summary_counts,
    task_of,
    verdict,
    waiver_note,
)
from mlgate.checks.result import CheckResult, GateReport, Status

__all__ = ["render_html"]


@dataclass(frozen=True)
class _Plot:
    title: str
    svg: Markup | None
    note: str = ""
    rows: list[CheckResult] = field(default_factory=list)


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("mlgate.checks.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["value"] = fmt_value
    env.filters["interval"] = fmt_interval
    env.filters["waiver"] = waiver_note
    return env


def _draw(title: str, draw: Callable[[], str | None], missing: str, **kwargs: Any) -> _Plot:
    """Run one plot; a missing input gives a note, and so does a plot that fails on malformed details."""
    try:
        svg = draw()
    except Exception as exc:  # one malformed detail must not cost the release manager the whole report
        return _Plot(title, None, f"This plot could not be drawn ({type(exc).__name__}: {exc}).", **kwargs)
    return _Plot(title, Markup(svg) if svg else None, "" if svg else missing, **kwargs)


def _slice_key(result: CheckResult) -> tuple[str, str] | None:
    """``("housing", "rent")`` from a result's slice ``"housing=rent"``."""
    if not result.slice or "=" not in result.slice:
        return None
    column, group = result.slice.split("=", 1)
    return column.strip(), group.strip()


def _flagged(results: list[CheckResult]) -> dict[tuple[str, str], Status]:
    rank = {status: i for i, status in enumerate(SEVERITY)}
    worst: dict[tuple[str, str], Status] = {}
    for result in results:
        if (key := _slice_key(result)) and (key not in worst or rank[result.status] < rank[worst[key]]):
            worst[key] = result.status
    return worst


def _plot_task(report: GateReport) -> str:
    """The task the model plots are for: as recorded, else read off the confusion table and the metrics (a report
    from before tasks were recorded is binary)."""
    model = section(report.run, "model")
    if task := task_of(report):
        return task
    if "matrix" in section(model, "confusion"):
        return "multiclass"
    names = set(section(model, "metrics"))
    regression = names & {"r2", "mean_squared_error", "root_mean_squared_error", "mean_absolute_error"}
    return "regression" if regression and not names & {"roc_auc", "accuracy", "log_loss"} else "binary"


def _model_plots(report: GateReport, task: str, flagged: list[CheckResult]) -> list[_Plot]:
    """Metrics per slice for every task, then the task's own plots: the 2x2 confusion matrix (binary), the k x k
    one with each class's ROC and calibration (multi-class), predicted vs actual and residuals (regression)."""
    model = section(report.run, "model")
    slices = model.get("slices")
    no_slices = (
        "No slices configured (slices.columns is empty), so there are no metrics per slice."
        if isinstance(slices, Mapping) and not slices
        else "No slice metrics recorded (run.model.slices is missing: the model was not evaluated)."
    )
    plots = [
        _draw(
            "Model: metrics per slice",
            lambda: plots_model.slice_metrics(
                slices, overall=section(model, "metrics"), flagged=_flagged(flagged), task=task
            ),
            no_slices,
            rows=by_severity(flagged),
        )
    ]
    if task == "binary":
        return [
            *plots,
            _draw(
                "Model: confusion matrix",
                lambda: plots_model.confusion_matrix(model.get("confusion"), threshold=number(model.get("threshold"))),
                "No confusion matrix recorded (run.model.confusion is missing: the model was not evaluated).",
            ),
        ]
    rows, total = plots_scores.row_scores(model, task), plots_scores.payload_rows(model)
    no_rows = "No per-row test scores recorded (run.model.predictions is missing or malformed)."
    if task == "multiclass":
        matrix = section(model, "confusion").get("matrix")
        k = rows[1].shape[1] if rows else len(matrix) if isinstance(matrix, list) else None
        classes = class_labels(report, k)
        source = model.get("threshold_source")
        return [
            *plots,
            _draw(
                "Model: confusion matrix",
                lambda: plots_model.class_confusion(
                    model.get("confusion"), classes=classes, decision=decision_note(str(source)) if source else None
                ),
                "No confusion matrix recorded (run.model.confusion is missing: the model was not evaluated).",
            ),
            _draw(
                "Model: one-vs-rest ROC and calibration per class",
                lambda: plots_scores.one_vs_rest(*rows, classes=classes) if rows else None,
                no_rows,
            ),
        ]
    return [
        *plots,
        _draw(
            "Model: predicted vs actual",
            lambda: (
                plots_scores.predicted_vs_actual(*rows, metrics=section(model, "metrics"), sampled_from=total)
                if rows
                else None
            ),
            no_rows,
        ),
        _draw("Model: residuals", lambda: plots_scores.residuals(*rows, sampled_from=total) if rows else None, no_rows),
    ]


def _plots(report: GateReport) -> list[_Plot]:
    results = list(report.results)
    sliced = [r for r in results if r.layer == "quality" and r.slice]
    drift_note = "No drift results with effect sizes in this run (the drift layer did not run or was skipped)."
    return [
        _draw("Drift: effect size per feature", lambda: plots.drift_effects(results), drift_note),
        _draw(
            "Drift: reference vs current distributions",
            lambda: plots.drift_distributions(results),
            "No distribution summaries (quantiles or category shares) in the drift results.",
        ),
        _draw(
            "Balance: group shares vs reference",
            lambda: plots.balance_shares(results),
            "No balance results with group shares in this run (the balance layer did not run or was skipped).",
        ),
        *_model_plots(report, _plot_task(report), sliced),
    ]


def _layer_cards(report: GateReport) -> list[dict[str, Any]]:
    counts = layer_counts(report)
    cards = []
    for layer in report.reported_layers():
        ran = layer in counts
        parts = [f"{n} {s.value}" for s, n in counts.get(layer, {}).items() if n]
        cards.append(
            {
                "name": layer,
                "status": report.layer_status(layer).value if ran else "skipped",
                "summary": ", ".join(parts) if ran else "did not run",
                "links": attached_reports(report) if layer == "deepchecks" else [],
            }
        )
    return cards


def _metrics(report: GateReport) -> list[tuple[str, str]]:
    metrics = section(section(report.run, "model"), "metrics")
    return [(str(k), fmt_value(v)) for k, v in metrics.items() if v is not None and not isinstance(v, Mapping)]


def render_html(report: GateReport) -> str:
    """The report as one self-contained HTML page."""
    ordered = by_severity(list(report.results))
    attention = [r for r in ordered if r.status in (Status.ERROR, Status.FAIL, Status.WAIVED, Status.WARN)]
    blocking = sum(1 for r in report.results if r.blocks)
    project = report.run.get("project")
    template = _environment().get_template("report.html.j2")
    return template.render(
        title=f"mlgate {verdict(report)}" + (f": {project}" if project else ""),
        verdict=verdict(report),
        passed=report.passed,
        blocking=blocking,
        summary=summary_counts(report),
        headline=headline_model(report),
        facts=run_facts(report),
        metrics=_metrics(report),
        layers=_layer_cards(report),
        attention=attention,
        plots=_plots(report),
        results=ordered,
        colors={s.value: c for s, c in STATUS_COLORS.items()},
        report_version=report.version,
    )
