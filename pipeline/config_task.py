"""Which config keys fit which task: ``model.task`` against the rest of the project config.

A config whose ``model.task`` is given is checked when it is loaded (:func:`pipeline.config_rules.check_project`);
one whose task is ``auto`` is checked by :func:`pipeline.dataload.load_prepared` once the data has told the task,
so the same one-line error (exit 2, nothing registered) names the key either way. Light: no pandas, no
scikit-learn.
"""

from __future__ import annotations

from typing import Any

from mlgate.pipeline.metric_names import metric_problem

__all__ = ["TASKS", "task_problems"]

TASKS = ("binary", "multiclass", "regression")

#: The cost key each task prices decisions with.
_COST_KEY = {"binary": "cost_matrix", "multiclass": "class_costs", "regression": "prediction_cost"}


def _metric_keys(quality: Any, task: str) -> list[tuple[str, str]]:
    """(key, metric name) of every metric the quality section names."""
    keys = [(f"quality.thresholds.{name}", name) for name in quality.thresholds]
    for group, bounds in quality.slice_thresholds.items():
        keys += [(f"quality.slice_thresholds.{group}.{name}", name) for name in bounds]
    keys += [(f"quality.max_group_gap.{name}", name) for name in quality.max_group_gap]
    for which in ("baseline", "champion"):
        if getattr(quality, f"{which}_metric") is not None:
            keys.append((f"quality.{which}_metric", quality.metric_for(which, task)))
    return keys


def task_problems(config: Any, task: str) -> list[tuple[str, str]]:
    """Every (key, reason) where ``config`` contradicts ``task``; empty when the config fits it."""
    problems: list[tuple[str, str]] = []
    quality = config.quality
    if task == "binary" and config.data.positive_label is None:
        problems.append(("data.positive_label", "is required for a binary target (the label of the positive class)"))
    if task != "binary" and config.data.positive_label is not None:
        problems.append(("data.positive_label", f"applies to a binary target only; this target is {task}"))
    for other, key in _COST_KEY.items():
        if other != task and getattr(quality, key) is not None:
            problems.append(
                (f"quality.{key}", f"prices {other} decisions; a {task} target uses quality.{_COST_KEY[task]}")
            )
    if task != "binary" and quality.decision_threshold != 0.5:  # (a default dumped and read back is not a choice)
        rule = "the class with the least expected cost (or the most probable)" if task == "multiclass" else "none"
        problems.append(("quality.decision_threshold", f"applies to a binary target only; a {task} decision: {rule}"))
    if task != "multiclass" and quality.class_thresholds:
        problems.append(("quality.class_thresholds", f"applies to a multi-class target only; this target is {task}"))
    if task != "binary" and config.retrain.include_feedback:
        problems.append(
            ("retrain.include_feedback", f"joins served feedback for binary models only; not built yet for {task}")
        )
    for key, name in _metric_keys(quality, task):
        problem = metric_problem(name, task)
        if problem is not None:
            problems.append((key, problem))
        elif name == "expected_cost" and getattr(quality, _COST_KEY[task]) is None:
            problems.append((key, f"expected_cost of a {task} target needs quality.{_COST_KEY[task]}"))
    return problems
