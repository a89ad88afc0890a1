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

__all__ = ["METRIC_RANGES", "NOT_SCALAR", "metric_problem"]

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


def metric_problem(name: str) -> str | None:
    """Why ``name`` is not a metric mlgate can compute (one sentence), or None when it is."""
    if name in METRIC_RANGES:
        return None
    known = ", ".join(METRIC_RANGES)
    stem = name.removesuffix("_score").removesuffix("_loss") if name != "log_loss" else name
    if name in NOT_SCALAR or stem in NOT_SCALAR:
        what = NOT_SCALAR.get(name) or NOT_SCALAR[stem]
        return f"metric '{name}' is not a single number ({what}); use one of: {known}"
    # scikit-learn's function names (roc_auc_score, brier_score_loss) -> mlgate's metric names
    guesses = [stem] if stem in METRIC_RANGES else difflib.get_close_matches(name, METRIC_RANGES, n=1, cutoff=0.6)
    hint = f"; did you mean '{guesses[0]}'?" if guesses else ""
    return f"unknown metric '{name}'{hint} (known: {known})"
