"""The monitor's quality checks: live quality where feedback exists, numerics and latency of the served scores.

``monitor.live_quality[<metric>]`` — the configured metrics (:func:`live_metrics`: ``monitor.metrics``, by default
every metric of ``quality.thresholds`` plus ``expected_cost`` when there is a cost matrix) on the predictions that
received feedback, at the served threshold, against the same metric of the model on its test split (the offline
value, recomputed from the reference's test scores and labels). Non-inferiority like ``quality.champion``: the
difference (live − offline, oriented so that positive is better) with an interval; FAIL when the whole interval
is below ``-monitor.live_margin`` (``live_cost_margin`` for the cost), WARN when only the estimate is. The two
samples are independent: each is bootstrapped with its own seed (``monitor.random_state``, +1 for the test
rows; at most ``monitor.bootstrap_max_rows`` rows of the window, a seeded subsample, which can only widen the
interval), and the interval is ``difference ± z·se`` at the family's confidence, simultaneous over the metrics
(:func:`checks.monitor.family_alpha`). Fewer than ``monitor.min_feedback`` labelled predictions (or one class for
a metric that needs two) is SKIPPED "too small to judge", never a pass.

``monitor.numerics`` — any served score that is NaN, ±inf or outside [0, 1] fails, naming the request ids.
``monitor.latency[p50|p99]`` — the logged latency quantiles against ``monitor.latency_p50_ms`` /
``latency_p99_ms`` (or the budget recorded in the reference); without a budget they are reported, SKIPPED.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats

from mlgate.checks.bootstrap import TWO_CLASS_METRICS, Bootstrap, metric_draws, point_metric
from mlgate.checks.drift import category_text
from mlgate.checks.monitor import MonitorEvidence, family_alpha
from mlgate.checks.quality_common import check_metric_name, confirmed, fmt, rule_details
from mlgate.checks.result import CheckResult, Reason, Status
from mlgate.checks.stats import judge
from mlgate.pipeline.config import ProjectConfig
from mlgate.pipeline.evaluate import greater_is_better

__all__ = [
    "check_latency",
    "check_live_quality",
    "check_numerics",
    "labelled",
    "live_metrics",
    "margin_of",
    "subsample",
    "versus_offline",
]


def live_metrics(config: ProjectConfig) -> list[str]:
    """``monitor.metrics``, or every metric of ``quality.thresholds`` and ``expected_cost`` with a cost matrix."""
    if config.monitor.metrics is not None:
        return list(config.monitor.metrics)
    names = list(config.quality.thresholds)
    if config.quality.cost_matrix is not None and "expected_cost" not in names:
        names.append("expected_cost")
    return names


def margin_of(config: ProjectConfig, metric: str) -> tuple[float, str]:
    """The non-inferiority margin of ``metric`` and its config key."""
    if metric == "expected_cost":
        return config.monitor.live_cost_margin, "monitor.live_cost_margin"
    return config.monitor.live_margin, "monitor.live_margin"


#: Value kinds (pandas ``infer_dtype``) in which equal-hashing values have one category text: no bool beside a
#: number (``True == 1`` hashes alike but reads ``"True"`` and ``"1"``).
_FACTORIZABLE = ("string", "empty", "integer", "floating", "mixed-integer-float", "boolean")


def label_text(values: pd.Series) -> pd.Series:
    """:func:`checks.drift.category_text` of ``values``, each distinct value converted once (1M labels hold a
    few): the same texts, as long as no bool sits beside numbers (then value by value, as the drift gate does)."""
    if pd.api.types.infer_dtype(values, skipna=True) not in _FACTORIZABLE:
        return category_text(values)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    texts = np.array([*category_text(pd.Series(uniques, dtype=object)).tolist(), np.nan], dtype=object)
    return pd.Series(texts[codes], index=values.index, dtype=object)  # code -1 (missing) takes the trailing NaN


def labelled(rows: pd.DataFrame, positive_label: object) -> tuple[np.ndarray, np.ndarray]:
    """The 0/1 labels (1 = ``positive_label``, compared as category text) and served scores of the rows with
    feedback."""
    if "label" not in rows.columns or rows.empty:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    text = label_text(rows["label"])
    has = text.notna().to_numpy()
    positive = category_text(pd.Series([positive_label], dtype=object)).iloc[0]
    y = (text[has] == positive).to_numpy(dtype=np.int64)
    proba = pd.to_numeric(rows["proba"], errors="coerce").to_numpy(dtype=np.float64)[has]
    keep = np.isfinite(proba)
    return y[keep], proba[keep]


def subsample(n: int, max_rows: int, random_state: int) -> np.ndarray:
    """Row positions for the bootstrap: all ``n``, or a seeded sample of ``max_rows`` (sorted)."""
    if n <= max_rows:
        return np.arange(n)
    return np.sort(np.random.default_rng(random_state).choice(n, size=max_rows, replace=False))


def versus_offline(
    estimate: float, draws: np.ndarray, offline: float, offline_draws: np.ndarray, *, sign: float, confidence: float
) -> Bootstrap:
    """``sign * (estimate - offline)`` with the normal interval ``± z·se`` of two independent bootstraps."""
    diff = sign * (np.asarray(draws) - np.asarray(offline_draws))
    finite = diff[np.isfinite(diff)]
    se = float(np.std(finite, ddof=1)) if finite.size > 1 else float("nan")
    centre = sign * (estimate - offline)
    z = float(stats.norm.isf((1.0 - confidence) / 2.0))
    return Bootstrap(centre, centre - z * se, centre + z * se, confidence, len(diff), len(diff) - finite.size, se)


def _skipped(metric: str, message: str, reason: Reason) -> CheckResult:
    return CheckResult(f"monitor.live_quality[{metric}]", "quality", Status.SKIPPED, message, reason=reason)


def _live_message(where: str, status: Status, margin: float, key: str) -> str:
    if status is Status.FAIL:
        return (
            f"{where}: the served model is credibly worse than offline by more than the margin {margin:g} ({key}): "
            "find what changed in the traffic or the labels, and retrain on recent data"
        )
    if status is Status.WARN:
        return f"{where}: worse than the margin {margin:g} ({key}) on the estimate only, inconclusive, not blocking"
    return f"{where}; at least {-margin:+g} required ({key})"


def _one_metric(
    evidence: MonitorEvidence, metric: str, y: np.ndarray, proba: np.ndarray, confidence: float
) -> CheckResult:
    config, reference = evidence.config, evidence.reference
    settings, monitor = config.quality, config.monitor
    costs, threshold = settings.cost_matrix, reference.threshold
    problem = check_metric_name(metric, settings)
    if problem is not None:
        return CheckResult(
            f"monitor.live_quality[{metric}]",
            "quality",
            Status.ERROR,
            f"monitor.metrics: {problem}",
            reason=Reason.INVALID_CONFIG,
        )
    if metric in TWO_CLASS_METRICS and len(np.unique(y)) < 2:
        return _skipped(
            metric,
            f"live {metric}: the {len(y)} labelled predictions hold one class only: too small to judge, never a pass",
            Reason.TOO_SMALL,
        )
    resamples, seed = settings.bootstrap_resamples, monitor.random_state
    rows = subsample(len(y), monitor.bootstrap_max_rows, seed)
    live = point_metric(metric, y.astype(np.float64), proba, threshold=threshold, costs=costs)
    _, draws = metric_draws(
        metric, y[rows], proba[rows], threshold=threshold, costs=costs, resamples=resamples, random_state=seed
    )
    offline, offline_draws = metric_draws(
        metric,
        reference.test_labels,
        reference.test_proba,
        threshold=threshold,
        costs=costs,
        resamples=resamples,
        random_state=seed + 1,
    )
    sign = 1.0 if greater_is_better(metric) else -1.0
    diff = versus_offline(live, draws, offline, offline_draws, sign=sign, confidence=confidence)
    margin, key = margin_of(config, metric)
    where = (
        f"live {metric} {fmt(live)} on {len(y)} predictions with feedback vs {fmt(offline)} offline "
        f"({reference.description}, {len(reference.test_labels)} test rows): difference "
        f"{diff.describe(signed=True)} (positive = live better; independent bootstraps of {resamples}, seed {seed})"
    )
    if not math.isfinite(diff.high):
        return CheckResult(
            f"monitor.live_quality[{metric}]",
            "quality",
            Status.ERROR,
            f"{where}: undefined, cannot judge",
            reason=Reason.UNDEFINED_METRIC,
        )
    status = judge(diff.estimate, diff.low, diff.high, at_least=-margin)
    is_confirmed = confirmed(diff.low, diff.high, at_least=-margin)
    return CheckResult(
        f"monitor.live_quality[{metric}]",
        "quality",
        status,
        _live_message(where, status, margin, key),
        observed=live,
        expected=f"live - offline >= {-margin:g}",
        interval=diff.interval,
        details={
            "metric": metric,
            "live": live,
            "offline": offline,
            "labelled": len(y),
            "difference": diff.to_dict(),
            "margin": margin,
            **rule_details(status, is_confirmed=is_confirmed, confidence=confidence),
        },
        reason=None if status is Status.PASS else Reason.WORSE_THAN_OFFLINE,
    )


def check_live_quality(evidence: MonitorEvidence, rows: pd.DataFrame) -> list[CheckResult]:
    """``monitor.live_quality[<metric>]`` for every live metric (module docstring)."""
    metrics = live_metrics(evidence.config)
    y, proba = labelled(rows, evidence.reference.positive_label)
    needed = evidence.config.monitor.min_feedback
    if len(y) < needed:
        return [
            _skipped(
                metric,
                f"live {metric}: {len(y)} predictions with feedback in the window, monitor.min_feedback = {needed}: "
                "too small to judge, never a pass",
                Reason.NO_ROWS if len(y) == 0 else Reason.TOO_SMALL,
            )
            for metric in metrics
        ]
    confidence = 1.0 - family_alpha(evidence.config) / max(1, len(metrics))
    return [_one_metric(evidence, metric, y, proba, confidence) for metric in metrics]


def check_numerics(evidence: MonitorEvidence, rows: pd.DataFrame) -> CheckResult:
    """``monitor.numerics``: every served score is a finite probability in [0, 1]."""
    if rows.empty:
        return CheckResult(
            "monitor.numerics",
            "quality",
            Status.SKIPPED,
            "no served scores in the window",
            reason=Reason.NO_ROWS,
        )
    scores = pd.to_numeric(rows["proba"], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(scores) | (scores < 0.0) | (scores > 1.0)
    count = int(bad.sum())
    if count == 0:
        return CheckResult(
            "monitor.numerics",
            "quality",
            Status.PASS,
            f"all {len(scores)} served scores are finite probabilities in [0, 1]",
            observed=0,
        )
    ids = rows["request_id"].astype(str).to_numpy()[bad][:5].tolist() if "request_id" in rows.columns else []
    nan, inf = int(np.isnan(scores).sum()), int(np.isinf(scores).sum())
    return CheckResult(
        "monitor.numerics",
        "quality",
        Status.FAIL,
        f"{count} of {len(scores)} served scores are not finite probabilities ({nan} NaN, {inf} ±inf, "
        f"{count - nan - inf} outside [0, 1]); first request ids: {', '.join(ids) or '(none logged)'}: the model "
        "returned numbers no decision should rest on; check the inputs of these requests and the model",
        observed=count,
        expected=0,
        details={"nan": nan, "inf": inf, "request_ids": ids},
        reason=Reason.NON_FINITE,
    )


def _budgets(evidence: MonitorEvidence) -> Mapping[str, tuple[float | None, str]]:
    monitor, recorded = evidence.config.monitor, evidence.reference.latency_budget_ms
    found: dict[str, tuple[float | None, str]] = {}
    for name, configured in (("p50", monitor.latency_p50_ms), ("p99", monitor.latency_p99_ms)):
        key = f"monitor.latency_{name}_ms"
        logged = recorded.get(name)
        found[name] = (configured, key) if configured is not None else (logged, f"{key} (recorded at registration)")
    return found


def check_latency(evidence: MonitorEvidence, rows: pd.DataFrame) -> list[CheckResult]:
    """``monitor.latency[p50]`` and ``[p99]``: the logged latency quantiles against their budgets."""
    latency = pd.to_numeric(rows.get("latency_ms", pd.Series(dtype=float)), errors="coerce").to_numpy(np.float64)
    latency = latency[np.isfinite(latency)]
    results = []
    for name, (budget, key) in _budgets(evidence).items():
        check_id = f"monitor.latency[{name}]"
        if latency.size == 0:
            results.append(
                CheckResult(
                    check_id, "quality", Status.SKIPPED, f"latency {name}: no logged latencies", reason=Reason.NO_ROWS
                )
            )
            continue
        value = float(np.quantile(latency, 0.5 if name == "p50" else 0.99))
        shown = f"latency {name} {value:.1f} ms over {latency.size} predictions"
        if budget is None:
            results.append(
                CheckResult(
                    check_id,
                    "quality",
                    Status.SKIPPED,
                    f"{shown}; no budget ({key.split(' ')[0]} is not set): reported, not judged",
                    observed=value,
                    reason=Reason.NOT_CONFIGURED,
                )
            )
            continue
        over = value > budget
        results.append(
            CheckResult(
                check_id,
                "quality",
                Status.FAIL if over else Status.PASS,
                f"{shown}, above the budget {budget:g} ms ({key}): find the slow requests (their latency is in the "
                "log) or scale out"
                if over
                else f"{shown}, within the budget {budget:g} ms ({key})",
                observed=value,
                expected=f"<= {budget:g} ms",
                details={"quantile": name, "budget_ms": budget, "predictions": int(latency.size)},
                reason=Reason.ABOVE_BOUND if over else None,
            )
        )
    return results
