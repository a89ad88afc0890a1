"""Estimated quality without labels: confidence-based performance estimation (CBPE) from the served probabilities.

If the model is calibrated, a row scored ``p`` is positive with probability ``p``, so every confusion count has
an expected value without a label: at the threshold ``t`` (decision ``d = p >= t``), E[TP] = Σ d·p, E[FP] =
Σ d·(1−p), E[FN] = Σ (1−d)·p, E[TN] = Σ (1−d)·(1−p). Accuracy, balanced accuracy, precision, recall, F1 and the
expected cost follow from them; the Brier score is mean p(1−p), the log loss the mean entropy of p; ROC AUC is
the expected share of correctly ordered (positive, negative) pairs, Σ_{i≠j} p_j(1−p_i)[p_j > p_i] (ties ½) over
Σ_{i≠j} p_j(1−p_i). Other metrics have no estimator here (SKIPPED).

The estimate is only as good as the calibration, so ``monitor.calibration`` tests it first on the test split
stored in the reference (Spiegelhalter's z test, at ``monitor.calibration_alpha``; the expected calibration error
over 10 bins is reported): a model that fails it gets no estimates (SKIPPED, naming why). Every result says
"ESTIMATE" in its message, ``details.estimate = true``, and never blocks: ``monitor.estimated_quality[<metric>]``
is judged like ``monitor.live_quality`` (non-inferiority with the family's interval), against the same estimate
on the reference's test split (both sides estimated alike, so a calibration error common to both cancels; the
value measured there with labels is reported beside it), bootstrapping both sides' rows; it WARNs or FAILs
without blocking.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from mlgate.checks.bootstrap import point_metric, seeded_counts
from mlgate.checks.monitor import MonitorEvidence, family_alpha
from mlgate.checks.monitor_quality import live_metrics, margin_of, subsample, versus_offline
from mlgate.checks.quality_common import confirmed, fmt, rule_details
from mlgate.checks.result import CheckResult, Reason, Status
from mlgate.checks.stats import judge
from mlgate.pipeline.config import CostMatrix
from mlgate.pipeline.evaluate import confusion_cost, greater_is_better

__all__ = ["ESTIMABLE", "calibration", "check_calibration", "check_estimates", "expected_metric"]

#: Metrics with a confidence-based estimator.
ESTIMABLE = frozenset(
    {
        "accuracy",
        "balanced_accuracy",
        "precision",
        "recall",
        "f1",
        "expected_cost",
        "brier_score",
        "log_loss",
        "roc_auc",
    }
)
_EPS = 1e-15


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.full(np.shape(num), np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _expected_auc(p: np.ndarray, w: np.ndarray) -> np.ndarray:
    order = np.argsort(-p, kind="stable")
    ps, ws = p[order], w[:, order]
    starts = np.flatnonzero(np.r_[True, ps[1:] != ps[:-1]])
    pos = np.add.reduceat(ws * ps, starts, axis=1)
    neg = np.add.reduceat(ws * (1.0 - ps), starts, axis=1)
    self_pairs = np.add.reduceat(ws * ps * (1.0 - ps), starts, axis=1)
    above = np.cumsum(pos, axis=1) - pos
    correct = (neg * above).sum(axis=1) + 0.5 * (pos * neg - self_pairs).sum(axis=1)
    pairs = pos.sum(axis=1) * neg.sum(axis=1) - self_pairs.sum(axis=1)
    return _ratio(correct, pairs)


def expected_metric(
    name: str, proba: np.ndarray, weights: np.ndarray, *, threshold: float, costs: CostMatrix | None
) -> np.ndarray:
    """The expected ``name`` of a calibrated model for each row of ``weights`` (``(B, n)`` counts; module docstring)."""
    p = np.clip(np.asarray(proba, dtype=np.float64), 0.0, 1.0)
    w = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    total = w.sum(axis=1)
    if name == "roc_auc":
        return _expected_auc(p, w)
    if name == "brier_score":
        return _ratio(w @ (p * (1.0 - p)), total)
    if name == "log_loss":
        q = np.clip(p, _EPS, 1.0 - _EPS)
        return _ratio(w @ -(p * np.log(q) + (1.0 - p) * np.log(1.0 - q)), total)
    d = (p >= threshold).astype(np.float64)
    tp, fp = w @ (d * p), w @ (d * (1.0 - p))
    fn, tn = w @ ((1.0 - d) * p), w @ ((1.0 - d) * (1.0 - p))
    if name == "accuracy":
        return _ratio(tp + tn, total)
    if name == "balanced_accuracy":
        balanced: np.ndarray = (_ratio(tp, tp + fn) + _ratio(tn, tn + fp)) / 2.0
        return balanced
    if name == "precision":
        return _ratio(tp, tp + fp)
    if name == "recall":
        return _ratio(tp, tp + fn)
    if name == "f1":
        return _ratio(2.0 * tp, 2.0 * tp + fp + fn)
    if name == "expected_cost" and costs is not None:
        return _ratio(np.asarray(confusion_cost(tp, fp, tn, fn, costs), dtype=np.float64), total)
    raise KeyError(f"no confidence-based estimator for {name!r}")


def calibration(y: np.ndarray, proba: np.ndarray, *, bins: int = 10) -> dict[str, float]:
    """Spiegelhalter's z test of calibration (two-sided p-value) and the expected calibration error over ``bins``."""
    p = np.clip(np.asarray(proba, dtype=np.float64), 0.0, 1.0)
    y = np.asarray(y, dtype=np.float64)
    variance = float(np.sum((1.0 - 2.0 * p) ** 2 * p * (1.0 - p)))
    z = float(np.sum((y - p) * (1.0 - 2.0 * p)) / math.sqrt(variance)) if variance > 0 else 0.0
    edges = np.minimum((p * bins).astype(np.int64), bins - 1)
    gaps = [abs(float(y[edges == b].mean() - p[edges == b].mean())) * (edges == b).mean() for b in np.unique(edges)]
    return {"z": z, "p_value": float(2.0 * stats.norm.sf(abs(z))), "ece": float(sum(gaps)), "rows": float(len(y))}


def check_calibration(evidence: MonitorEvidence) -> CheckResult:
    """``monitor.calibration``: may the probabilities stand in for labels? (on the reference's test split)."""
    reference, alpha = evidence.reference, evidence.config.monitor.calibration_alpha
    found = calibration(reference.test_labels, reference.test_proba)
    shown = (
        f"calibration of {reference.description} on its {len(reference.test_labels)} test rows: Spiegelhalter "
        f"z = {found['z']:.2f}, p = {found['p_value']:.3g}, expected calibration error {found['ece']:.3f}"
    )
    ok = found["p_value"] >= alpha
    return CheckResult(
        "monitor.calibration",
        "quality",
        Status.PASS if ok else Status.WARN,
        f"{shown}: calibrated at monitor.calibration_alpha = {alpha:g}, quality can be estimated without labels"
        if ok
        else f"{shown} < monitor.calibration_alpha = {alpha:g}: the probabilities are not calibrated, so no quality "
        "is estimated without labels (calibrate the model, e.g. CalibratedClassifierCV, or rely on feedback)",
        observed=found["p_value"],
        expected=f"p >= {alpha:g}",
        blocking=False,
        details=found,
        reason=None if ok else Reason.UNCALIBRATED,
    )


def _estimate(evidence: MonitorEvidence, metric: str, proba: np.ndarray, confidence: float) -> CheckResult:
    config, reference = evidence.config, evidence.reference
    costs, threshold, monitor = config.quality.cost_matrix, reference.threshold, config.monitor
    check_id = f"monitor.estimated_quality[{metric}]"
    if metric not in ESTIMABLE or (metric == "expected_cost" and costs is None):
        return CheckResult(
            check_id,
            "quality",
            Status.SKIPPED,
            f"ESTIMATE of {metric}: no confidence-based estimator for this metric (estimable: "
            f"{', '.join(sorted(ESTIMABLE))}); judged only with feedback (monitor.live_quality)",
            blocking=False,
            details={"estimate": True},
            reason=Reason.UNDEFINED_METRIC,
        )
    resamples, seed = config.quality.bootstrap_resamples, monitor.random_state
    rows = subsample(len(proba), monitor.bootstrap_max_rows, seed)
    estimate = float(expected_metric(metric, proba, np.ones((1, len(proba))), threshold=threshold, costs=costs)[0])
    counts = seeded_counts(len(rows), resamples, seed)
    draws = expected_metric(metric, proba[rows], counts, threshold=threshold, costs=costs)
    test = reference.test_proba
    offline = float(expected_metric(metric, test, np.ones((1, len(test))), threshold=threshold, costs=costs)[0])
    test_counts = seeded_counts(len(test), resamples, seed + 1)
    offline_draws = expected_metric(metric, test, test_counts, threshold=threshold, costs=costs)
    measured = point_metric(metric, reference.test_labels, test, threshold=threshold, costs=costs)
    diff = versus_offline(
        estimate, draws, offline, offline_draws, sign=1.0 if greater_is_better(metric) else -1.0, confidence=confidence
    )
    margin, key = margin_of(config, metric)
    status = Status.PASS
    if math.isfinite(diff.high):
        status = judge(diff.estimate, diff.low, diff.high, at_least=-margin)
    where = (
        f"ESTIMATE (no labels; confidence-based performance estimation from {len(proba)} served probabilities): "
        f"expected {metric} {fmt(estimate)} vs {fmt(offline)} expected the same way on the test split of "
        f"{reference.description} (measured there with labels: {fmt(measured)}): difference "
        f"{diff.describe(signed=True)}"
    )
    verdict = {
        Status.FAIL: f"the estimate is credibly worse than offline by more than {margin:g} ({key}); collect "
        "feedback to confirm (monitor.live_quality), not blocking",
        Status.WARN: f"worse than the margin {margin:g} ({key}) on the estimate only, not blocking",
    }.get(status, f"within the margin {margin:g} ({key})")
    return CheckResult(
        check_id,
        "quality",
        status,
        f"{where}: {verdict}",
        observed=estimate,
        expected=f"estimate - offline >= {-margin:g}",
        interval=diff.interval,
        blocking=False,
        details={
            "estimate": True,
            "method": "confidence-based performance estimation",
            "metric": metric,
            "expected": estimate,
            "offline": offline,
            "offline_measured": measured,
            "difference": diff.to_dict(),
            **rule_details(
                status, is_confirmed=confirmed(diff.low, diff.high, at_least=-margin), confidence=confidence
            ),
        },
        reason=None if status is Status.PASS else Reason.WORSE_THAN_OFFLINE,
    )


def check_estimates(evidence: MonitorEvidence, rows: pd.DataFrame) -> list[CheckResult]:
    """``monitor.calibration`` and ``monitor.estimated_quality[<metric>]`` (module docstring)."""
    calibrated = check_calibration(evidence)
    metrics = live_metrics(evidence.config)
    needed = evidence.config.monitor.min_predictions
    proba = pd.to_numeric(rows["proba"], errors="coerce").to_numpy(np.float64) if "proba" in rows.columns else []
    proba = np.asarray(proba, dtype=np.float64)
    proba = proba[np.isfinite(proba) & (proba >= 0.0) & (proba <= 1.0)]
    why = None
    if calibrated.status is not Status.PASS:
        why = ("the model is not calibrated (monitor.calibration)", Reason.UNCALIBRATED)
    elif len(proba) < needed:
        few = f"too small to judge: {len(proba)} served scores, monitor.min_predictions = {needed}"
        why = (
            "no served scores in the window" if len(proba) == 0 else few,
            Reason.NO_ROWS if len(proba) == 0 else Reason.TOO_SMALL,
        )
    if why is not None:
        skipped = [
            CheckResult(
                f"monitor.estimated_quality[{metric}]",
                "quality",
                Status.SKIPPED,
                f"ESTIMATE of {metric} without labels not made: {why[0]}; never a pass",
                blocking=False,
                details={"estimate": True},
                reason=why[1],
            )
            for metric in metrics
        ]
        return [calibrated, *skipped]
    confidence = 1.0 - family_alpha(evidence.config) / max(1, len(metrics))
    return [calibrated, *(_estimate(evidence, metric, proba, confidence) for metric in metrics)]
