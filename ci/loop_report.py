"""The loop demonstration's figures (:mod:`ci.loop_demo`): live quality per phase with seeded bootstrap intervals,
the new model minus its shadow on the same records (paired), the printed table and the timeline plot."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlgate.pipeline.config import ProjectConfig

if TYPE_CHECKING:
    from mlgate.ci.loop_demo import Timeline

__all__ = ["plot", "quality", "table"]


def _interval(values: np.ndarray, stat: Callable[[np.ndarray], float], seed: int) -> tuple[float, float, float]:
    rng = np.random.default_rng(seed)
    draws = [stat(values[rng.integers(0, len(values), len(values))]) for _ in range(1000)]
    low, high = np.nanpercentile(draws, [2.5, 97.5])
    return stat(values), float(low), float(high)


def _metrics(fp: float, fn: float) -> dict[str, Callable[[np.ndarray], float]]:
    """ROC AUC and cost per decision of a table [label, proba, decision]."""
    from sklearn.metrics import roc_auc_score

    def auc(t: np.ndarray) -> float:
        return float(roc_auc_score(t[:, 0], t[:, 1])) if len(set(t[:, 0])) == 2 else float("nan")

    def cost(t: np.ndarray) -> float:
        return float((fp * ((t[:, 2] == 1) & (t[:, 0] == 0)) + fn * ((t[:, 2] == 0) & (t[:, 0] == 1))).mean())

    return {"roc_auc": auc, "cost": cost}


def _difference(metric: Callable[[np.ndarray], float]) -> Callable[[np.ndarray], float]:
    """The metric of the first three columns minus that of the last three (a paired table)."""

    def difference(t: np.ndarray) -> float:
        return metric(t[:, :3]) - metric(t[:, 3:])

    return difference


def quality(timeline: Timeline, config: ProjectConfig, seed: int) -> dict[str, dict[str, Any]]:
    """Live ROC AUC and cost per decision (the config's cost matrix) per phase, with seeded 95% bootstrap
    intervals; and the new champion minus its shadow (the old one on the same records), paired."""
    costs = config.quality.cost_matrix
    metrics = _metrics(*((costs.false_positive, costs.false_negative) if costs is not None else (1.0, 1.0)))
    found: dict[str, dict[str, Any]] = {}
    columns = ["label", "proba", "decision"]
    for phase, rows in pd.DataFrame(timeline.records + timeline.shadow).groupby("phase", sort=False):
        table = rows[columns].to_numpy(dtype=float)
        found[str(phase)] = {"records": len(rows), "version": str(rows["version"].iloc[0]),
                             **{name: _interval(table, f, seed) for name, f in metrics.items()}}  # fmt: skip
    if timeline.shadow:
        old = pd.DataFrame(timeline.shadow)[columns].to_numpy(dtype=float)
        new = pd.DataFrame(timeline.records[-len(old) :])[columns].to_numpy(dtype=float)
        paired = np.hstack([new, old])
        found["new - shadow (paired)"] = {
            "records": len(old),
            "version": f"{timeline.records[-1]['version']}-{timeline.shadow[0]['version']}",
            **{name: _interval(paired, _difference(f), seed) for name, f in metrics.items()},
        }
    return found


def plot(result: dict[str, Any], path: Path, config: ProjectConfig) -> None:
    """Cost per decision over the served records (rolling 100, the config's cost matrix), the shift, the rollout,
    and every monitor verdict (a marker at the top: green passed, red failed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    costs = config.quality.cost_matrix
    fp, fn = (costs.false_positive, costs.false_negative) if costs is not None else (1.0, 1.0)
    frame = pd.DataFrame(result["timeline"].records)
    cost = fp * (frame["decision"].eq(1) & frame["label"].eq(0)) + fn * (frame["decision"].eq(0) & frame["label"].eq(1))
    events = result["events"]
    fig, ax = plt.subplots(figsize=(9, 3.6))
    ax.plot(cost.rolling(100, min_periods=50).mean(), color="#333", lw=1.2, label="cost per decision (rolling 100)")
    top = float(np.nanmax(cost.rolling(100, min_periods=50).mean())) * 1.15
    for verdict in result["verdicts"]:
        colour = "#27ae60" if verdict["passed"] else "#c0392b"
        ax.plot([verdict["records"]], [top], marker="v", ms=9, color=colour, ls="none")
    for key, text in (("shift_at", "shift"), ("rollout_at", "retrained model serves")):
        if key in events:
            ax.axvline(events[key], color="#777", ls="--", lw=1)
            ax.annotate(text, (events[key], top * 0.9), xytext=(4, 0), textcoords="offset points", fontsize=8)
    ax.set_ylim(0, top * 1.08)
    ax.set_xlabel("records served (triangles: monitor verdicts, green passed, red failed)")
    ax.set_ylabel("cost per decision")
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def table(result: dict[str, Any]) -> str:
    events, rows = result["events"], []
    rows.append("| phase | model | records | live ROC AUC (95% CI) | cost per decision (95% CI) |")
    rows.append("|---|---|---|---|---|")
    for phase, q in result["quality"].items():
        auc, cost = q["roc_auc"], q["cost"]
        shown = [f"{m[0]:+.3f} ({m[1]:+.3f} to {m[2]:+.3f})" for m in (auc, cost)]
        rows.append(f"| {phase} | v{q['version']} | {q['records']} | {shown[0]} | {shown[1]} |")
    rows.append("")
    rows.append(
        f"records after the shift until the monitor failed: {events.get('detected_after')} "
        f"(verdict every {result['settings']['every']} records on the last {result['settings']['window']})"
    )
    clean = [v for v in result["verdicts"] if v["phase"] == "clean"]
    rows.append(f"false alarms on clean traffic: {sum(not v['passed'] for v in clean)} of {len(clean)} verdicts")
    rows.append(
        f"trigger to new champion serving: {events.get('trigger_to_serving_s', float('nan')):.1f} s "
        f"(retrain {events.get('retrain_id')}: {events.get('retrain_outcome')}, "
        f"{events.get('training_rows')} training rows incl. labelled served ones)"
    )
    during = events.get("requests_during_rollout") or 0
    rollout = f" ({during} sent through nginx during the release and rolling update)" if during else ""
    rows.append(f"served by: {events.get('serving')}; failed requests: {result['failed_requests']}{rollout}; "
                f"the whole loop: {events.get('seconds')} s")  # fmt: skip
    return "\n".join(rows)
