"""Model plots for the HTML report from the run's aggregates: metrics per slice (per task) and the confusion matrix
(2x2 at the threshold for a binary model, k x k for a multi-class one); see :mod:`checks.report.plots`.

The plots drawn from each test row's scores (ROC and calibration per class, predicted vs actual, residuals) are
in :mod:`checks.report.plots_scores`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlgate.checks.report._common import STATUS_COLORS, number
from mlgate.checks.report.plots import figure, margins, style, to_svg
from mlgate.checks.result import Status

__all__ = ["class_confusion", "confusion_matrix", "plain", "slice_metrics"]

# Metrics on a 0-1 scale, in the order they are worth showing; others (log_loss, expected_cost) are not comparable.
_UNIT_METRICS = ("roc_auc", "accuracy", "precision", "recall", "f1", "average_precision", "brier_score")
#: Per task, the slice metrics worth showing on one axis: 0-1 scores for classifiers, errors in the target's
#: units for a regression (r2 and the squared error have other scales).
_SLICE_METRICS = {
    "binary": _UNIT_METRICS,
    "multiclass": (
        "accuracy",
        "balanced_accuracy",
        "f1_macro",
        "f1_weighted",
        "recall_macro",
        "precision_macro",
        "roc_auc_ovr",
    ),
    "regression": ("root_mean_squared_error", "mean_absolute_error", "median_absolute_error"),
}
_METRIC_COLORS = ("#0969da", "#bc4c00", "#8250df", "#1b7c83", "#57606a", "#9a6700", "#bf3989")
_MARKERS = ("o", "s", "D", "^", "v", "P", "X")


def _groups(slices: Mapping[str, Any], column: str) -> dict[str, Mapping[str, Any]]:
    groups = slices.get(column)
    if not isinstance(groups, Mapping):
        return {}
    return {str(g): v for g, v in groups.items() if isinstance(v, Mapping) and isinstance(v.get("metrics"), Mapping)}


def plain(label: object, *, limit: int = 24) -> str:
    """A data value as a plot label: clipped, and with ``$`` escaped so matplotlib never reads it as mathtext."""
    text = str(label)
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return text.replace("$", r"\$")


def _metric_names(slices: Mapping[str, Any], limit: int, task: str) -> list[str]:
    present: set[str] = set()
    for column in slices:
        for entry in _groups(slices, column).values():
            present.update(k for k, v in entry["metrics"].items() if number(v) is not None)
    return [m for m in _SLICE_METRICS.get(task, _UNIT_METRICS) if m in present][:limit]


def slice_metrics(
    slices: Mapping[str, Any] | None,
    *,
    overall: Mapping[str, Any] | None = None,
    flagged: Mapping[tuple[str, str], Status] | None = None,
    max_metrics: int = 4,
    max_groups: int = 20,
    task: str = "binary",
) -> str | None:
    """One panel per slice column: each group's metrics (markers) against the overall value (dashed line).

    ``flagged`` maps (column, group) to the worst status of the quality checks on that slice; those group
    labels are drawn in the status colour. A classifier's metrics share a 0-1 axis; a regression's errors
    (RMSE, MAE, median absolute error) share an axis in the target's units, from 0.
    """
    if not isinstance(slices, Mapping):
        return None
    columns = [c for c in slices if _groups(slices, c)]
    metrics = _metric_names(slices, max_metrics, task)
    if not columns or not metrics:
        return None
    flagged = flagged or {}
    heights = [min(len(_groups(slices, c)), max_groups) for c in columns]
    values = [number(e["metrics"].get(m)) for c in columns for e in _groups(slices, c).values() for m in metrics]
    values += [number((overall or {}).get(m)) for m in metrics]
    present = [v for v in values if v is not None]
    if task == "regression":
        low, high = 0.0, max(max(present) * 1.08, 1e-9)
    else:
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
        what = "error in the target's units" if task == "regression" else "metric value"
        axes[-1].set_xlabel(f"{what} (markers) per group; dashed line = whole test set")
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


def _square(matrix: Any) -> list[list[float]] | None:
    """``matrix`` as a k x k grid of non-negative counts (k >= 2), or None when it is not one."""
    if not isinstance(matrix, list) or len(matrix) < 2:
        return None
    grid = [[number(v) for v in row] if isinstance(row, list) else [] for row in matrix]
    if any(len(row) != len(grid) or any(v is None or v < 0 for v in row) for row in grid):
        return None
    return [[float(v or 0.0) for v in row] for row in grid]


def class_confusion(
    confusion: Mapping[str, Any] | None, *, classes: list[str] | None = None, decision: str | None = None
) -> str | None:
    """A multi-class model's k x k confusion matrix on the test split: rows = actual class, columns = decided class.

    Each cell shows its count and its share of the actual class's rows; the colour is that share
    (row-normalised), so the diagonal reads as each class's recall whatever the class sizes. Each row is labelled
    with its size and recall, each column with its precision.
    """
    grid = _square(confusion.get("matrix")) if isinstance(confusion, Mapping) else None
    if grid is None:
        return None
    k = len(grid)
    names = [plain(c, limit=18) for c in classes] if classes and len(classes) == k else [f"class {i}" for i in range(k)]
    rows = [sum(row) for row in grid]
    columns = [sum(grid[i][j] for i in range(k)) for j in range(k)]
    shares = [[grid[i][j] / rows[i] if rows[i] else 0.0 for j in range(k)] for i in range(k)]
    labels = [f"{name}  (n={rows[i]:.0f})" for i, name in enumerate(names)]
    cell = 0.62 if k <= 6 else max(0.3, 3.6 / k)
    with style():
        fig = figure(max(5.4, k * cell + max(map(len, labels)) * 0.075 + 1.9), k * cell + 2.4)
        margins(fig, label_chars=max(map(len, labels)), top=0.95, bottom=(1.0 if k > 4 else 0.75) + 0.2, right=1.0)
        ax = fig.add_subplot()
        ax.imshow(shares, cmap="Blues", vmin=0, vmax=1, aspect="auto")
        size = 8.5 if k <= 6 else 7 if k <= 12 else 0
        for i in range(k):
            for j in range(k):
                if size:
                    text = f"{grid[i][j]:.0f}\n{shares[i][j]:.0%}" if rows[i] else "0"
                    color = "white" if shares[i][j] > 0.6 else "#1f2328"
                    ax.text(j, i, text, ha="center", va="center", fontsize=size, color=color)
            recall = f"recall {grid[i][i] / rows[i]:.0%}" if rows[i] else "recall –"
            ax.text(k - 0.4, i, recall, ha="left", va="center", fontsize=8, color="#424a53", clip_on=False)
        for j in range(k):
            precision = f"{grid[j][j] / columns[j]:.0%}" if columns[j] else "–"
            ax.text(j, -0.6, precision, ha="center", va="bottom", fontsize=7.5, color="#424a53", clip_on=False)
        ax.text(-0.5, -0.6, "precision ", ha="right", va="bottom", fontsize=7.5, color="#424a53", clip_on=False)
        rotate = k > 4 or max(map(len, names)) > 8
        ax.set_xticks(range(k), names, rotation=30 if rotate else 0, ha="right" if rotate else "center")
        ax.set_yticks(range(k), labels)
        ax.grid(False)
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.set_xlabel("decided class" + (f"\n({decision})" if decision else ""))
        ax.set_ylabel("actual class")
        ax.set_title(
            f"Confusion matrix (test split, {k} classes)\ncount and share of the actual class's rows",
            loc="left",
            pad=16,
        )
    return to_svg(fig, title="Confusion matrix (multi-class)")
