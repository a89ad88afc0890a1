"""The metric names a config may use, with the range of values each can take.

A literal table rather than a look-up in ``sklearn.metrics``: loading a config must stay light (no
scikit-learn import), and a name that merely exists in ``sklearn.metrics`` is not necessarily a single number
mlgate can compute from labels and probabilities (``confusion_matrix`` is a matrix, ``auc`` integrates a curve,
``roc_auc_score`` would be computed on 0/1 decisions). ``pipeline.evaluate`` resolves every name here to its
scikit-learn function (a unit test holds that), so the config and the evaluator cannot disagree.
"""

from __future__ import annotations

import difflib
import math

__all__ = [
    "METRIC_RANGES",
    "MULTICLASS_METRIC_RANGES",
    "NOT_SCALAR",
    "REGRESSION_METRIC_RANGES",
    "TASK_METRICS",
    "default_metric",
    "metric_problem",
    "metric_range",
]

#: Every metric mlgate computes -> (lowest, highest) value it can take.
METRIC_RANGES: dict[str, tuple[float, float]] = {
    "roc_auc": (0.0, 1.0),
    "average_precision": (0.0, 1.0),
    "log_loss": (0.0, math.inf),
    "brier_score": (0.0, 1.0),
    "accuracy": (0.0, 1.0),
    "balanced_accuracy": (0.0, 1.0),
    "precision": (0.0, 1.0),
    "recall": (0.0, 1.0),
    "f1": (0.0, 1.0),
    "jaccard": (0.0, 1.0),
    "matthews_corrcoef": (-1.0, 1.0),
    "cohen_kappa": (-1.0, 1.0),
    "hamming_loss": (0.0, 1.0),
    "zero_one_loss": (0.0, 1.0),
    "expected_cost": (-math.inf, math.inf),  # per row, in the units of quality.cost_matrix
}

#: Multi-class metrics (``pipeline.task_metrics``): probabilities of every class, the decided class.
MULTICLASS_METRIC_RANGES: dict[str, tuple[float, float]] = {
    "log_loss": (0.0, math.inf),
    "brier_score": (0.0, 2.0),  # the multi-class Brier score: squared distance to the one-hot label, summed
    "accuracy": (0.0, 1.0),
    "balanced_accuracy": (0.0, 1.0),  # the mean of the per-class recalls
    "f1_macro": (0.0, 1.0),
    "f1_weighted": (0.0, 1.0),
    "precision_macro": (0.0, 1.0),
    "precision_weighted": (0.0, 1.0),
    "recall_macro": (0.0, 1.0),
    "recall_weighted": (0.0, 1.0),
    "roc_auc_ovr": (0.0, 1.0),
    "cohen_kappa": (-1.0, 1.0),
    "matthews_corrcoef": (-1.0, 1.0),
    "zero_one_loss": (0.0, 1.0),
    "expected_cost": (-math.inf, math.inf),  # per row, in the units of quality.class_costs
}

#: Regression metrics: the scikit-learn regression metrics that take sample weights and give one number.
REGRESSION_METRIC_RANGES: dict[str, tuple[float, float]] = {
    "mean_squared_error": (0.0, math.inf),
    "root_mean_squared_error": (0.0, math.inf),
    "mean_absolute_error": (0.0, math.inf),
    "median_absolute_error": (0.0, math.inf),
    "mean_absolute_percentage_error": (0.0, math.inf),
    "mean_squared_log_error": (0.0, math.inf),
    "mean_poisson_deviance": (0.0, math.inf),
    "mean_gamma_deviance": (0.0, math.inf),
    "r2": (-math.inf, 1.0),
    "explained_variance": (-math.inf, 1.0),
    "d2_absolute_error": (-math.inf, 1.0),
    "expected_cost": (-math.inf, math.inf),  # per row, in the units of quality.prediction_cost
}

#: The metrics each task computes.
TASK_METRICS: dict[str, dict[str, tuple[float, float]]] = {
    "binary": METRIC_RANGES,
    "multiclass": MULTICLASS_METRIC_RANGES,
    "regression": REGRESSION_METRIC_RANGES,
}

#: The metric a comparison (baselines, the champion) and a search use when the config names none.
_DEFAULT_METRIC = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "mean_squared_error"}


def default_metric(task: str) -> str:
    return _DEFAULT_METRIC[task]


def metric_range(name: str) -> tuple[float, float]:
    """The widest range ``name`` takes in any task (a bound outside it can never or always pass)."""
    ranges = [table[name] for table in TASK_METRICS.values() if name in table]
    return min(r[0] for r in ranges), max(r[1] for r in ranges)


#: scikit-learn names that exist but are not one number per set of labels and scores.
NOT_SCALAR: dict[str, str] = {
    "confusion_matrix": "a matrix",
    "multilabel_confusion_matrix": "a matrix",
    "classification_report": "a text report",
    "precision_recall_fscore_support": "four arrays",
    "class_likelihood_ratios": "a pair of ratios",
    "roc_curve": "a curve",
    "precision_recall_curve": "a curve",
    "det_curve": "a curve",
    "auc": "the area under a given curve; roc_auc is the area under the ROC curve of the predictions",
    "fbeta": "a score that needs a beta parameter; f1 is the one with beta = 1",
}


def metric_problem(name: str, task: str | None = None) -> str | None:
    """Why ``name`` is not a metric mlgate can compute for ``task`` (one sentence), or None when it is.

    ``task`` None: any task's metric is accepted (a config whose task is inferred from the data).
    """
    tables = [TASK_METRICS[task]] if task is not None else list(TASK_METRICS.values())
    if any(name in table for table in tables):
        return None
    names = list(dict.fromkeys(n for table in tables for n in table))
    known = ", ".join(names)
    if task is not None and any(name in table for table in TASK_METRICS.values()):
        return f"metric '{name}' does not exist for a {task} target (its metrics: {known})"
    stem = name.removesuffix("_score").removesuffix("_loss") if name != "log_loss" else name
    if name in NOT_SCALAR or stem in NOT_SCALAR:
        what = NOT_SCALAR.get(name) or NOT_SCALAR[stem]
        return f"metric '{name}' is not a single number ({what}); use one of: {known}"
    # scikit-learn's function names (roc_auc_score, brier_score_loss) -> mlgate's metric names
    guesses = [stem] if stem in names else difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    hint = f"; did you mean '{guesses[0]}'?" if guesses else ""
    return f"unknown metric '{name}'{hint} (known: {known})"
