"""Plots for the HTML report, drawn with matplotlib's SVG backend and returned as inline ``<svg>`` text.

matplotlib is imported lazily (only rendering HTML needs it), never through pyplot: each plot builds its own
:class:`matplotlib.figure.Figure`, so there is no global figure state and no GUI backend. Every function
returns ``None`` when its data is missing, and the page shows a note instead.

This module holds the drawing plumbing and the data-layer plots (drift, balance);
:mod:`checks.report.plots_model` holds the model plots (slices, confusion matrix).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlgate.checks.report._common import SEVERITY, STATUS_COLORS, number
from mlgate.checks.result import CheckResult, Status

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure
    from matplotlib.typing import RcKeyType

__all__ = ["balance_shares", "drift_distributions", "drift_effects", "figure", "margins", "style", "to_svg"]

REFERENCE_COLOR = "#57606a"
BAND_COLOR = "#d0d7de"

_RC: dict[RcKeyType, Any] = {  # the type checker holds every key to matplotlib's rcParams names
    "svg.fonttype": "none",  # keep text as <text>: smaller, selectable, searchable
    "svg.hashsalt": "mlgate",  # deterministic element ids: the same report renders the same bytes
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#8c959f",
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.grid": True,
    "grid.color": "#eaeef2",
    "axes.axisbelow": True,
}


@contextmanager
def style() -> Iterator[None]:
    import matplotlib

    with matplotlib.rc_context(_RC):
        yield


_CHAR_WIDTH = 0.075  # inches per character of a 9 pt DejaVu Sans tick label (generous average)


def figure(width: float, height: float) -> Figure:
    """A pyplot-free figure (``width`` x ``height`` inches), laid out with :func:`margins`.

    No constrained layout: it draws every figure twice and doubled the time to render a report.
    """
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height))


def margins(
    fig: Figure,
    *,
    label_chars: int = 0,
    left: float = 0.3,
    right: float = 0.25,
    top: float = 0.2,
    bottom: float = 0.55,
    wspace: float | None = None,
    hspace: float | None = None,
) -> None:
    """Fixed margins in inches; the left one grows with the longest y tick label (``label_chars``)."""
    width, height = fig.get_size_inches()
    left += label_chars * _CHAR_WIDTH
    fig.subplots_adjust(
        left=left / width,
        right=1 - right / width,
        top=1 - top / height,
        bottom=bottom / height,
        wspace=wspace,
        hspace=hspace,
    )


def to_svg(fig: Figure, *, title: str) -> str:
    """``fig`` as inline SVG for an HTML5 page: no XML prolog, DOCTYPE, metadata or namespace URLs."""
    buffer = io.StringIO()
    with style():
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    text = re.sub(r"<\?xml[^>]*\?>\s*", "", text)
    text = re.sub(r"<!DOCTYPE[^>]*>\s*", "", text, flags=re.DOTALL)
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.DOTALL)
    text = re.sub(r'\s+xmlns(:xlink)?="[^"]*"', "", text)  # HTML parsers put inline <svg> in the SVG namespace
    label = title.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    text = re.sub(r"<svg\b", f'<svg role="img" aria-label="{label}"', text, count=1)
    return text.strip()


@dataclass(frozen=True)
class _Drift:
    result: CheckResult
    column: str
    effect: float
    floor: float
    name: str

    @property
    def ratio(self) -> float:
        return self.effect / self.floor if self.floor > 0 else self.effect


_EFFECT_LABELS = {"ks_d": "KS D", "tvd": "TVD"}


def _drift_rows(results: Sequence[CheckResult]) -> list[_Drift]:
    rows = []
    for result in results:
        if result.layer != "drift":
            continue
        effect, floor = number(result.details.get("effect")), number(result.details.get("effect_floor"))
        if effect is None or floor is None:
            continue
        column = str(result.details.get("column") or result.id)
        name = str(result.details.get("effect_name") or "effect")
        rows.append(_Drift(result, column, effect, floor, _EFFECT_LABELS.get(name, name)))
    rank = {status: i for i, status in enumerate(SEVERITY)}
    return sorted(rows, key=lambda r: (rank[r.result.status], -r.ratio))


def drift_effects(results: Sequence[CheckResult], *, max_features: int = 30) -> str | None:
    """Each feature's drift effect size (bar, coloured by status) against its floor (black tick)."""
    rows = _drift_rows(results)[:max_features]
    if not rows:
        return None
    rows = rows[::-1]  # barh draws bottom-up: the most severe goes on top
    with style():
        fig = figure(11, 0.8 + 0.26 * len(rows))
        labels = [f"{r.column} ({r.name})" for r in rows]
        margins(fig, label_chars=max(map(len, labels)), bottom=0.5)
        ax = fig.add_subplot()
        ys = range(len(rows))
        ax.barh(ys, [r.effect for r in rows], color=[STATUS_COLORS[r.result.status] for r in rows], height=0.62)
        ax.vlines([r.floor for r in rows], [y - 0.42 for y in ys], [y + 0.42 for y in ys], color="#1f2328", lw=2)
        ax.set_yticks(list(ys), labels)
        for y, r in zip(ys, rows, strict=True):
            p = number(r.result.details.get("p_adjusted"))
            label = f"{r.effect:.3f}" + (f"  p_adj={p:.2g}" if p is not None else "")
            ax.annotate(
                label,
                (max(r.effect, r.floor), y),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
                fontsize=8,
                color="#424a53",
            )
        top = max(max(r.effect for r in rows), max(r.floor for r in rows))
        ax.set_xlim(0, top * 1.35)
        ax.set_xlabel("effect size (bar) vs effect floor (black tick)")
        ax.grid(axis="y", visible=False)
        _status_legend(ax, {r.result.status for r in rows}, loc="lower right")
    return to_svg(fig, title="Drift effect size per feature")


def _status_legend(ax: Any, statuses: set[Status], **kwargs: Any) -> None:
    from matplotlib.patches import Patch

    handles = [Patch(color=STATUS_COLORS[s], label=s.value) for s in SEVERITY if s in statuses]
    if handles:
        ax.legend(handles=handles, frameon=False, fontsize=8, **kwargs)


def _numbers(values: Any) -> list[float] | None:
    if not isinstance(values, Sequence) or isinstance(values, str):
        return None
    out = [number(v) for v in values]
    finite = [v for v in out if v is not None]
    return finite if len(finite) == len(out) else None


def _distribution_panel(ax: Any, row: _Drift, *, max_categories: int) -> bool:
    color = STATUS_COLORS[row.result.status]
    quantiles, shares = row.result.details.get("quantiles"), row.result.details.get("shares")
    if isinstance(quantiles, Mapping):
        q, ref, cur = (_numbers(quantiles.get(k)) for k in ("q", "reference", "current"))
        if q and ref and cur and len(q) == len(ref) == len(cur):
            ax.plot(ref, q, color=REFERENCE_COLOR, lw=1.6, ls="--", label="reference")
            ax.plot(cur, q, color=color, lw=2, label="current")
            ax.set_ylabel("cumulative share", fontsize=8)
            return True
    if isinstance(shares, Mapping):
        names = shares.get("categories")
        ref, cur = _numbers(shares.get("reference")), _numbers(shares.get("current"))
        if isinstance(names, Sequence) and ref and cur and len(names) == len(ref) == len(cur):
            order = sorted(range(len(names)), key=lambda i: -max(ref[i], cur[i]))[:max_categories][::-1]
            ys = list(range(len(order)))
            ax.barh([y + 0.2 for y in ys], [ref[i] for i in order], height=0.4, color=BAND_COLOR, label="reference")
            ax.barh([y - 0.2 for y in ys], [cur[i] for i in order], height=0.4, color=color, label="current")
            ax.set_yticks(ys, [str(names[i])[:14] for i in order], fontsize=8)
            ax.grid(axis="y", visible=False)
            ax.set_xlabel("share", fontsize=8)
            return True
    return False


def drift_distributions(results: Sequence[CheckResult], *, max_panels: int = 6, max_categories: int = 8) -> str | None:
    """Small multiples: reference vs current distribution of the most drifted features.

    Numeric features show their quantile curves (an empirical CDF); categorical ones their category shares.
    """
    rows = [r for r in _drift_rows(results) if "quantiles" in r.result.details or "shares" in r.result.details]
    rows = rows[:max_panels]
    if not rows:
        return None
    columns = min(3, len(rows))
    lines = -(-len(rows) // columns)
    drawn = 0
    with style():
        fig = figure(3.6 * columns + 0.2, 2.3 * lines + 0.4)
        margins(fig, label_chars=12, top=0.45, bottom=0.45, wspace=0.6, hspace=0.55)
        axes = fig.subplots(lines, columns, squeeze=False)
        for ax, row in zip(axes.flat, rows, strict=False):
            if _distribution_panel(ax, row, max_categories=max_categories):
                drawn += 1
                ax.set_title(
                    f"{row.column}  {row.name} {row.effect:.2f}",
                    loc="left",
                    fontsize=9,
                    color=STATUS_COLORS[row.result.status],
                )
                ax.tick_params(labelsize=7)
            else:
                ax.set_axis_off()
        for ax in axes.flat[len(rows) :]:
            ax.set_axis_off()
        if drawn:
            handles, labels = axes.flat[0].get_legend_handles_labels()
            fig.legend(handles, labels, loc="upper right", frameon=False, fontsize=8, ncols=2)
    return to_svg(fig, title="Reference vs current distributions") if drawn else None


def balance_shares(results: Sequence[CheckResult], *, max_rows: int = 40) -> str | None:
    """Each group's observed share with its interval (point + bar) against the reference ± tolerance band."""
    rows = []
    for result in results:
        if result.layer != "balance":
            continue
        share, reference = number(result.details.get("share")), number(result.details.get("reference"))
        if share is None:
            continue
        column, group = result.details.get("column"), result.details.get("group")
        label = f"{column}={group}" if column is not None and group is not None else result.id
        if split := result.details.get("split"):
            label += f" ({split})"
        rows.append((label, share, reference, number(result.details.get("tolerance")), result))
    if not rows:
        return None
    rows = rows[:max_rows][::-1]
    with style():
        fig = figure(11, 0.8 + 0.3 * len(rows))
        margins(fig, label_chars=max(len(r[0]) for r in rows), bottom=0.5)
        ax = fig.add_subplot()
        for y, (_, share, reference, tolerance, result) in enumerate(rows):
            color = STATUS_COLORS[result.status]
            if reference is not None:
                if tolerance is not None:
                    ax.fill_betweenx(
                        [y - 0.38, y + 0.38], reference - tolerance, reference + tolerance, color=BAND_COLOR, lw=0
                    )
                ax.vlines(reference, y - 0.38, y + 0.38, color=REFERENCE_COLOR, lw=1.5)
            if result.interval is not None:
                low, high = number(result.interval.low), number(result.interval.high)
                if low is not None and high is not None:
                    ax.hlines(y, low, high, color=color, lw=2.2)
            ax.plot([share], [y], "o", color=color, ms=6)
        ax.set_yticks(range(len(rows)), [r[0] for r in rows])
        ax.set_xlim(0, 1)
        ax.grid(axis="y", visible=False)
        ax.set_xlabel("share of rows: observed (dot) with interval (line); reference ± tolerance (grey band)")
        _status_legend(ax, {r[4].status for r in rows}, loc="lower right")
    return to_svg(fig, title="Group shares vs reference")
