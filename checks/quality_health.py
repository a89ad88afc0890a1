"""Model-health checks of the quality layer (the ML Test Score rubric): every feature earns its place, the
outputs are numbers, and the fit learned something.

Checks (ids):

- ``quality.feature_importance[<column>]`` (WARN, non-blocking): shuffling the feature on the validation split
  credibly does not make the model worse: the upper end of its permutation-importance interval (the rise of
  the log loss, :mod:`pipeline.diagnostics`) is at most 0. An unused feature (every rise exactly 0) and one
  that hurts (shuffling it helps) are both named; a feature whose interval straddles 0 is not (too few rows to
  tell). One PASS ``quality.feature_importance`` otherwise, listing the strongest; SKIPPED without a
  validation split.
- ``quality.finite_outputs`` (FAIL): a probability that is NaN, ±inf or outside [0, 1] on the test, validation
  or training rows, with the stage and the first rows named.
- ``quality.loss_vs_prior[train]``, ``quality.loss_vs_prior[test]`` (FAIL): the model's log loss is not below
  the prior's, the majority-class baseline that predicts the training rows' positive share for every row: on
  its own training rows the fit learned nothing; on the test rows its probabilities are worse than no model.

The gated run computes (``Evidence.diagnostics``); these functions only judge. :func:`run` is called at the end
of :func:`checks.quality.run`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from mlgate.checks.result import CheckResult, Interval, Reason, Status

if TYPE_CHECKING:
    from mlgate.checks.evidence import Evidence
    from mlgate.pipeline.diagnostics import Diagnostics

__all__ = ["check_feature_importance", "check_finite_outputs", "check_loss_vs_prior", "prior_log_loss", "run"]

LAYER = "quality"
_EPS = 1e-15


def check_feature_importance(diagnostics: Diagnostics | None, loss: str = "log loss") -> list[CheckResult]:
    """``quality.feature_importance[<column>]`` for each feature whose contribution is credibly <= 0."""
    check_id = f"{LAYER}.feature_importance"
    if diagnostics is None or not diagnostics.importance:
        why = diagnostics.note if diagnostics is not None and diagnostics.note else "no importance in the evidence"
        return [CheckResult(check_id, LAYER, Status.SKIPPED, why, reason=Reason.NOT_CONFIGURED)]
    how = (
        f"rise of the validation {loss} when the feature is shuffled ({diagnostics.repeats} shuffles, "
        f"{diagnostics.importance_rows} rows; {diagnostics.confidence:.0%} intervals, simultaneous over "
        f"{len(diagnostics.importance)} features)"
    )
    results = []
    for item in diagnostics.importance:
        if item.high > 0:
            continue
        kind = "the model does not use it" if item.low == item.high == 0 else "shuffling it does not hurt the model"
        results.append(
            CheckResult(
                f"{check_id}[{item.column}]",
                LAYER,
                Status.WARN,
                f"feature '{item.column}' does not earn its place: {kind} (importance {item.estimate:+.4f}, "
                f"interval {item.low:+.4f} to {item.high:+.4f}; {how}). Drop it (features.exclude) to make the "
                "model simpler, or find out why it carries no signal on new rows",
                observed=item.estimate,
                expected={"min": 0.0},
                interval=Interval(item.low, item.high, diagnostics.confidence),
                blocking=False,
                details={"column": item.column},
                reason=Reason.NO_CONTRIBUTION,
            )
        )
    if results:
        return results
    ranked = sorted(diagnostics.importance, key=lambda i: -i.estimate)
    top = ", ".join(f"{i.column} {i.estimate:+.4f}" for i in ranked[:3])
    return [
        CheckResult(
            check_id,
            LAYER,
            Status.PASS,
            f"no feature's contribution is credibly <= 0 ({how}); strongest: {top}",
            observed={i.column: round(i.estimate, 6) for i in diagnostics.importance},
            details={"intervals": {i.column: [i.low, i.high] for i in diagnostics.importance}},
        )
    ]


def _bad_rows(proba: np.ndarray, task: str = "binary") -> np.ndarray:
    """Rows whose output is no usable number: not finite, or (classifiers) a probability outside [0, 1]."""
    values = np.asarray(proba, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        bad: np.ndarray = ~np.isfinite(values)
        if task != "regression":
            bad |= (values < 0.0) | (values > 1.0)
    return np.asarray(bad.any(axis=1) if bad.ndim == 2 else bad, dtype=bool)


def check_finite_outputs(stages: dict[str, np.ndarray | None], task: str = "binary") -> CheckResult:
    """``quality.finite_outputs``: every probability of every stage (``test``, ``validation``, ``train``) is a
    number in [0, 1]; the stages with bad values are named with their count and first rows."""
    check_id = f"{LAYER}.finite_outputs"
    problems: dict[str, dict[str, int | list[int]]] = {}
    shown = []
    for stage, proba in stages.items():
        bad = None if proba is None else _bad_rows(proba, task)
        if bad is None or not bad.any():
            continue
        first = np.flatnonzero(bad)[:5].tolist()
        problems[stage] = {"rows": int(bad.sum()), "of": int(bad.size), "first_rows": first}
        shown.append(f"{stage} rows: {int(bad.sum())} of {bad.size} (first rows {', '.join(map(str, first))})")
    judged = [stage for stage, proba in stages.items() if proba is not None]
    if not problems and task == "regression":
        message = f"every prediction is a finite number ({', '.join(judged)} rows)"
        return CheckResult(check_id, LAYER, Status.PASS, message, observed=judged)
    if not problems:
        message = f"every predicted probability is a number in [0, 1] ({', '.join(judged)} rows)"
        return CheckResult(check_id, LAYER, Status.PASS, message, observed=judged)
    return CheckResult(
        check_id,
        LAYER,
        Status.FAIL,
        f"the model's probabilities are NaN, infinite or outside [0, 1] on {'; '.join(shown)}: no decision or "
        "metric can use them; check the estimator (a custom model.estimator) and the features for values it "
        "cannot handle",
        observed=problems,
        details={"stages": problems},
        reason=Reason.NON_FINITE,
    )


def prior_log_loss(y: np.ndarray, share: float) -> float:
    """The log loss of predicting ``share`` (the majority-class baseline's probability) for every row of ``y``."""
    p = min(max(share, _EPS), 1.0 - _EPS)
    y = np.asarray(y, dtype=np.float64)
    return float(-np.mean(y * np.log(p) + (1.0 - y) * np.log1p(-p)))


def _log_loss(y: np.ndarray, proba: np.ndarray) -> float:
    p = np.clip(np.asarray(proba, dtype=np.float64), _EPS, 1.0 - _EPS)
    y = np.asarray(y, dtype=np.float64)
    return float(-np.mean(y * np.log(p) + (1.0 - y) * np.log1p(-p)))


def check_loss_vs_prior(stages: dict[str, tuple[np.ndarray, np.ndarray | None]], *, share: float) -> list[CheckResult]:
    """``quality.loss_vs_prior[<stage>]`` for each stage name -> (labels, probabilities): the model's log loss must
    be below that of predicting ``share`` (the training rows' positive share) everywhere."""
    results = []
    for stage, (y, proba) in stages.items():
        check_id = f"{LAYER}.loss_vs_prior[{stage}]"
        if proba is None or _bad_rows(proba).any() or len(y) == 0:
            why = (
                "no probabilities"
                if proba is None or len(y) == 0
                else "non-finite probabilities (quality.finite_outputs)"
            )
            results.append(CheckResult(check_id, LAYER, Status.SKIPPED, f"{stage} rows: {why}", reason=Reason.NO_ROWS))
            continue
        model, prior = _log_loss(y, proba), prior_log_loss(y, share)
        observed, expected = round(model, 6), {"below": round(prior, 6)}
        if model < prior:
            text = f"{stage} rows: log loss {model:.4f}, below the prior's {prior:.4f} (predicting {share:.3f} for all)"
            results.append(CheckResult(check_id, LAYER, Status.PASS, text, observed=observed, expected=expected))
            continue
        meaning = (
            "the fit learned nothing from its own training rows (check the features and model.params)"
            if stage == "train"
            else "its probabilities are worse than no model on new rows (overconfident or overfitted: check "
            "model.params, or calibrate)"
        )
        results.append(
            CheckResult(
                check_id,
                LAYER,
                Status.FAIL,
                f"{stage} rows: the model's log loss {model:.4f} is not below the majority-class baseline's "
                f"{prior:.4f} (predicting the training share {share:.3f} for every row): {meaning}",
                observed=observed,
                expected=expected,
                details={"stage": stage, "rows": len(y)},
                reason=Reason.NO_IMPROVEMENT,
            )
        )
    return results


def _task_losses(
    stages: dict[str, tuple[np.ndarray, np.ndarray | None]], y_train: np.ndarray, task: str
) -> list[CheckResult]:
    """``quality.loss_vs_prior[<stage>]`` of a multi-class model (log loss vs predicting the training rows' class
    shares) or a regression model (mean squared error vs predicting the training rows' mean)."""
    from mlgate.pipeline.diagnostics import row_loss

    if task == "multiclass":
        k = max(int(y_train.max()) + 1, *(s.shape[1] for _, s in stages.values() if s is not None))
        prior = np.bincount(y_train.astype(np.int64), minlength=k) / max(len(y_train), 1)
        what, prior_text = "log loss", "the training class shares"
    else:
        what, prior_text = "mean squared error", f"the training mean {float(np.mean(y_train)):.4g}"
    results = []
    for stage, (y, scores) in stages.items():
        check_id = f"{LAYER}.loss_vs_prior[{stage}]"
        if scores is None or len(y) == 0 or _bad_rows(scores, task).any():
            why = "no scores" if scores is None or len(y) == 0 else "non-finite outputs (quality.finite_outputs)"
            results.append(CheckResult(check_id, LAYER, Status.SKIPPED, f"{stage} rows: {why}", reason=Reason.NO_ROWS))
            continue
        constant = np.tile(prior, (len(y), 1)) if task == "multiclass" else np.full(len(y), float(np.mean(y_train)))
        model = float(np.mean(row_loss(y, scores, task)))
        base = float(np.mean(row_loss(y, constant, task)))
        observed, expected = round(model, 6), {"below": round(base, 6)}
        if model < base:
            text = f"{stage} rows: {what} {model:.4g}, below the prior's {base:.4g} (predicting {prior_text} for all)"
            results.append(CheckResult(check_id, LAYER, Status.PASS, text, observed=observed, expected=expected))
            continue
        results.append(
            CheckResult(
                check_id,
                LAYER,
                Status.FAIL,
                f"{stage} rows: the model's {what} {model:.4g} is not below the prior's {base:.4g} (predicting "
                f"{prior_text} for every row): the model is no better than no model on these rows",
                observed=observed,
                expected=expected,
                details={"stage": stage, "rows": len(y)},
                reason=Reason.NO_IMPROVEMENT,
            )
        )
    return results


def run(evidence: Evidence) -> list[CheckResult]:
    """The model-health checks of the candidate in ``evidence`` (the quality layer has checked it is there)."""
    model, parts, diagnostics = evidence.model, evidence.split, evidence.diagnostics
    if model is None:
        return []
    task = evidence.prepared.task
    proba_train = None if diagnostics is None else diagnostics.proba_train
    y_train = parts.y_train.to_numpy()
    outputs = {"test": model.proba_test, "validation": model.proba_validation, "train": proba_train}
    losses = {"train": (y_train, proba_train), "test": (parts.y_test.to_numpy(), model.proba_test)}
    if proba_train is None:
        del losses["train"]
    if task != "binary":
        return [
            *check_feature_importance(diagnostics, "squared error" if task == "regression" else "log loss"),
            check_finite_outputs(outputs, task),
            *_task_losses(losses, y_train, task),
        ]
    share = float(np.mean(y_train)) if y_train.size else 0.5
    return [
        *check_feature_importance(diagnostics),
        check_finite_outputs(outputs),
        *check_loss_vs_prior(losses, share=share),
    ]
