"""The balance gate's label checks for a multi-class or a regression target (binary: :mod:`checks.balance`).

* **Multi-class** (``balance.class_share[<split>][<class>]``): every class's share against the floor
  ``balance.min_minority_share`` and, when ``balance.class_reference`` declares it, against that share
  ± ``balance.class_tolerance``. The k intervals are Wilson intervals that hold *simultaneously* (Bonferroni, each
  at 1 − (1 − confidence)/k), so a balanced label does not fail on noise in one of many classes. The rule is the
  gate's: FAIL when the whole interval is outside, WARN when only the estimate is.
* **Regression** (``balance.target_summary[<split>]``): no class to balance; the target's distribution
  (rows, mean, standard deviation, quantiles) is stated so a reviewer sees what the model was trained and judged
  on. Always PASS: a shift of the target between the splits is the drift gate's ``drift.label`` check.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from mlgate.checks.result import CheckResult, Interval, Reason, Status
from mlgate.checks.stats import judge, wilson_interval
from mlgate.pipeline.config import BalanceSettings

__all__ = ["class_share_checks", "target_summary"]

_ROWS = {"train": "training rows (train + validation)", "test": "test rows"}


def _band(label: str, settings: BalanceSettings) -> tuple[float, float | None, str]:
    """(lowest allowed share, highest or None, how the band was set) of one class."""
    floor, key = settings.min_minority_share, "balance.min_minority_share"
    reference = (settings.class_reference or {}).get(label)
    if reference is None:
        return floor, None, f"at least {floor:.1%} ({key})"
    tolerance = settings.class_tolerance
    low, high = max(floor, reference - tolerance), reference + tolerance
    text = f"{reference:.1%} ± {tolerance:.1%} (balance.class_reference, class_tolerance), at least {floor:.1%}"
    return low, high, text


def class_share_checks(
    y: pd.Series, classes: Sequence[Any], settings: BalanceSettings, *, split: str
) -> list[CheckResult]:
    """Each class's share of ``y`` (class codes indexing ``classes``) against its band (module docstring)."""
    target = str(y.name) if y.name is not None else "the label"
    k = len(classes)
    counts = np.bincount(y.to_numpy(dtype=np.int64), minlength=k) if len(y) else np.zeros(k, dtype=np.int64)
    return class_shares_from_counts(counts, target, classes, settings, split=split)


def class_shares_from_counts(
    counts: np.ndarray, target: str, classes: Sequence[Any], settings: BalanceSettings, *, split: str
) -> list[CheckResult]:
    """:func:`class_share_checks` from the row count of each class (in ``classes`` order)."""
    n, k = int(counts.sum()), len(classes)
    lows, highs = wilson_interval(counts, max(n, 1), confidence=settings.confidence, simultaneous=k)
    results = []
    for label, count, low, high in zip(classes, counts, lows, highs, strict=True):
        name, share = str(label), (int(count) / n if n else 0.0)
        at_least, at_most, band = _band(name, settings)
        status = judge(share, float(low), float(high), at_least=at_least, at_most=at_most)
        shown = (
            f"class '{name}' of '{target}' is {share:.1%} of {n} {_ROWS.get(split, split)} ({int(count)} rows; "
            f"{settings.confidence * 100:g}% CI jointly for the {k} classes {float(low):.1%}–{float(high):.1%}); "
            f"allowed: {band}"
        )
        below = share < at_least
        side = "below" if below else "above"
        if status is Status.FAIL:
            shown += f": the whole interval is {side} it. Collect or re-sample rows, or change the band with a reason"
        elif status is Status.WARN:
            shown += f": {side} it on the estimate only, the interval reaches it (inconclusive with {n} rows)"
        reason = None
        if status is not Status.PASS:
            point_only = status is Status.WARN
            reason = {
                (True, False): Reason.BELOW_BOUND,
                (True, True): Reason.BELOW_BOUND_POINT_ONLY,
                (False, False): Reason.ABOVE_BOUND,
                (False, True): Reason.ABOVE_BOUND_POINT_ONLY,
            }[(below, point_only)]
        results.append(
            CheckResult(
                id=f"balance.class_share[{split}][{name}]",
                layer="balance",
                status=status,
                message=shown,
                observed=share,
                expected=band,
                interval=Interval(float(low), float(high), settings.confidence),
                details={"class": name, "count": int(count), "n": n, "split": split, "simultaneous_over": k},
                reason=reason,
            )
        )
    return results


#: The quantiles a regression target's summary states, with their keys.
SUMMARY_QUANTILES = {"min": 0.0, "p05": 0.05, "p25": 0.25, "median": 0.5, "p75": 0.75, "p95": 0.95, "max": 1.0}


def target_summary(y: pd.Series, *, split: str) -> CheckResult:
    """``balance.target_summary[<split>]``: the regression target's distribution, stated (always PASS)."""
    values = y.to_numpy(dtype=np.float64)
    target = str(y.name) if y.name is not None else "the target"
    if values.size == 0:
        return target_summary_from(None, target, split=split)
    q = np.quantile(values, list(SUMMARY_QUANTILES.values()))
    summary = {
        "n": int(values.size),
        "mean": float(values.mean()),
        "std": float(values.std(ddof=1)) if values.size > 1 else 0.0,
        **{key: float(v) for key, v in zip(SUMMARY_QUANTILES, q, strict=True)},
    }
    return target_summary_from(summary, target, split=split)


def target_summary_from(summary: dict[str, Any] | None, target: str, *, split: str) -> CheckResult:
    """:func:`target_summary` from its figures (``n``, ``mean``, ``std`` and :data:`SUMMARY_QUANTILES`); None or
    ``n`` = 0: no rows."""
    if not summary or not summary["n"]:
        return CheckResult(
            f"balance.target_summary[{split}]",
            "balance",
            Status.SKIPPED,
            f"no {_ROWS.get(split, split)}",
            reason=Reason.NO_ROWS,
        )
    message = (
        f"regression target '{target}' on {summary['n']} {_ROWS.get(split, split)}: mean {summary['mean']:.4g}, "
        f"sd {summary['std']:.4g}, median {summary['median']:.4g}, 5%–95% {summary['p05']:.4g}–{summary['p95']:.4g}, "
        f"range {summary['min']:.4g}–{summary['max']:.4g} (no class balance for a regression target; a shift "
        "between the splits is drift.label)"
    )
    return CheckResult(
        f"balance.target_summary[{split}]", "balance", Status.PASS, message, observed=summary, details=summary
    )
