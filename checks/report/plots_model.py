"""Model plots for the HTML report: metrics per slice and the confusion matrix (see :mod:`checks.report.plots`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlgate.checks.report._common import STATUS_COLORS, number
from mlgate.checks.report.plots import figure, margins, style, to_svg
from mlgate.checks.result import Status

__all__ = ["confusion_matrix", "slice_metrics"]

# Metrics on a 0-1 scale, in the order they are worth showing; others (log_loss, expected_cost) are not comparable.
_UNIT_METRICS = ("roc_auc", "accuracy", "precision", "recall", "f1", "average_precision", "brier_score")
_METRIC_COLORS = ("#0969da", "#bc4c00", "#8250df", "#1b7c83", "#57606a", "#9a6700", "#bf3989")
_MARKERS = ("o", "s", "D", "^", "v", "P", "X")


def _groups(slices: Mapping[str, Any], column: str) -> dict[str, Mapping[str, Any]]:
    groups = slices.get(column)
    if not isinstance(groups, Mapping):
        return {}
    return {str(g): v for g, v in groups.items() if isinstance(v, Mapping) and isinstance(v.get("metrics"), Mapping)}


def _metric_names(slices: Mapping[str, Any], limit: int) -> list[str]:
    present: set[str] = set()
    for column in slices:
        for entry in _groups(slices, column).values():
            present.update(k for k, v in entry["metrics"].items() if number(v) is not None)
    return [m for m in _UNIT_METRICS if m in present][:limit]


def slice_metrics(
    slices: Mapping[str, Any] | None,
    *,
    overall: Mapping[str, Any] | None = None,
    flagged: Mapping[tuple[str, str], Status] | None = None,
    max_metrics: int = 4,
    max_groups: int = 20,
) -> str | None:
    """One panel per slice column: each group's metrics (markers) against the overall value (dashed line).

    ``flagged`` maps (column, group) to the worst status of the quality checks on that slice; those group
    labels are drawn in the status colour.
    """
    if not isinstance(slices, Mapping):
        return None
    columns = [c for c in slices if _groups(slices, c)]
    metrics = _metric_names(slices, max_metrics)
    if not columns or not metrics:
        return None
    flagged = flagged or {}
    heights = [min(len(_groups(slices, c)), max_groups) for c in columns]
    values = [number(e["metrics"].get(m)) for c in columns for e in _groups(slices, c).values() for m in metrics]
    values += [number((overall or {}).get(m)) for m in metrics]
    present = [v for v in values if v is not None]
    low, high = max(0.0, min(present) - 0.05), min(1.02, max(present) + 0.05)
    with style():
        fig = figure(11, 0.9 + sum(0.28 * h + 0.6 for h in heights))
        longest = max(len(f"{g}  (n={e.get('n', '?')})") for c in columns for g, e in _groups(slices, c).items())
        margins(fig, label_chars=longest, top=0.4, bottom=0.5, hspace=0.45)
        axes = fig.subplots(len(columns), 1, squeeze=False, height_ratios=[h + 1.5 for h in heights])[:, 0]
        for ax, column in zip(axes, columns, strict=True):
            groups = list(_groups(slices, column).items())[:max_groups][::-1]
            for i, metric in enumerate(metrics):
                color, marker = _METRIC_COLORS[i % len(_METRIC_COLORS)], _MARKERS[i % len(_MARKERS)]
                xs = [number(entry["metrics"].get(metric)) for _, entry in groups]
                points = [(x, y) for y, x in enumerate(xs) if x is not None]
                if points:
                    ax.plot(
                        [p[0] for p in points],
                        [p[1] for p in points],
                        marker,
                        color=color,
                        ms=5,
                        label=metric,
                        alpha=0.9,
                        ls="none",
                    )
                base = number((overall or {}).get(metric))
                if base is not None:
                    ax.axvline(base, color=color, ls="--", lw=1, alpha=0.7)
            labels = [f"{group}  (n={entry.get('n', '?')})" for group, entry in groups]
            ax.set_yticks(range(len(groups)), labels)
            for tick, (group, _) in zip(ax.get_yticklabels(), groups, strict=True):
                status = flagged.get((column, group))
                if status is not None and status is not Status.PASS:
                    tick.set_color(STATUS_COLORS[status])
                    tick.set_fontweight("bold")
            ax.set_xlim(low, high)
            ax.set_ylim(-0.7, len(groups) - 0.3)
            ax.grid(axis="y", visible=False)
            ax.set_title(f"by {column}", loc="left")
        axes[-1].set_xlabel("metric value (markers) per group; dashed line = whole test set")
        handles, labels = axes[0].get_legend_handles_labels()
        if handles:
            fig.legend(handles, labels, loc="upper right", frameon=False, ncols=len(handles), fontsize=8)
    return to_svg(fig, title="Metrics per slice")


def confusion_matrix(confusion: Mapping[str, Any] | None, *, threshold: float | None = None) -> str | None:
    """The 2x2 confusion matrix (counts and share of all rows) at the decision threshold."""
    if not isinstance(confusion, Mapping):
        return None
    read = {k: number(confusion.get(k)) for k in ("tp", "fp", "tn", "fn")}
    cells = {k: v for k, v in read.items() if v is not None}
    if len(cells) < len(read):
        return None
    total = sum(cells.values()) or 1.0
    grid = [[cells["tp"], cells["fn"]], [cells["fp"], cells["tn"]]]
    names = [["true positive", "false negative"], ["false positive", "true negative"]]
    with style():
        fig = figure(4.2, 3.5)
        margins(fig, label_chars=8, top=0.55, bottom=0.45)
        ax = fig.add_subplot()
        ax.imshow(grid, cmap="Blues", vmin=0, vmax=max(max(row) for row in grid) or 1)
        for i in range(2):
            for j in range(2):
                value = grid[i][j] or 0.0
                dark = value > 0.6 * max(max(row) for row in grid)
                ax.text(
                    j,
                    i,
                    f"{value:.0f}\n{value / total:.1%}\n{names[i][j]}",
                    ha="center",
                    va="center",
                    fontsize=8.5,
                    color="white" if dark else "#1f2328",
                )
        ax.set_xticks([0, 1], ["predicted positive", "predicted negative"])
        ax.set_yticks([0, 1], ["actual\npositive", "actual\nnegative"])
        ax.grid(False)
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
        title = "Confusion matrix (test split)"
        if threshold is not None:
            title += f"\nthreshold {threshold:.3g}"
        ax.set_title(title, loc="left")
    return to_svg(fig, title="Confusion matrix")
