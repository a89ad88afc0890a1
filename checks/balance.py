"""Balance gate: is the label balanced enough, and is each sensitive group represented as declared?

Judged separately on the training data (train + validation) and on the test split, since a model learns
from one and is judged on the other.

* **Class balance** (``balance.minority_share[<split>]``): the share of the smaller class vs
  ``min_minority_share``, with a Wilson interval at ``confidence``. A multi-class or regression target's label
  is judged by :mod:`checks.balance_tasks` (every class's share; the target's distribution stated).
* **Sensitive groups** (``balance.sensitive_share[<split>][<column>=<group>]``): each group's share among
  the rows that have a group vs its declared ``reference ± tolerance``, with Wilson intervals that hold
  *simultaneously* for the k declared groups of the attribute (Bonferroni, each at 1 − (1 − confidence)/k).

Verdicts use the interval, so a small sample does not fail on noise:

* FAIL — the whole interval lies outside the allowed band (credibly off);
* WARN — the point estimate is outside but the interval overlaps the band (inconclusive: more rows would
  tell);
* PASS — the point estimate is inside the band.

A group present in the data but not declared in ``reference`` FAILS; rows without a group (missing, or
outside every band of a binned attribute) are reported by ``balance.sensitive_missing[<split>][<column>]``
(WARN; FAIL when no row has a group).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from mlgate.checks.balance_tasks import class_share_checks, target_summary
from mlgate.checks.evidence import Evidence
from mlgate.checks.result import CheckResult, Interval, Reason, Status
from mlgate.checks.stats import judge, wilson_interval
from mlgate.pipeline.config import BalanceSettings, SensitiveAttribute
from mlgate.pipeline.slices import band_labels, group_labels

__all__ = ["check_balance", "group_share_checks", "minority_share_check", "run"]

_SPLIT_ROWS = {"train": "training rows (train + validation)", "test": "test rows"}


def _rows(split: str) -> str:
    return _SPLIT_ROWS.get(split, f"{split} rows")


def _pct(value: float) -> str:
    return f"{value:.1%}"


def minority_share_check(y: pd.Series, *, min_share: float, confidence: float, split: str) -> CheckResult:
    """The smaller class's share of ``y`` (binary 0/1 labels) vs ``min_share``, judged with a Wilson interval."""
    target = str(y.name) if y.name is not None else "the label"
    n, positives = int(y.notna().sum()), int((y == 1).sum())
    return minority_share_from_counts(n, positives, target, min_share=min_share, confidence=confidence, split=split)


def minority_share_from_counts(
    n: int, positives: int, target: str, *, min_share: float, confidence: float, split: str
) -> CheckResult:
    """:func:`minority_share_check` from the counts: ``n`` labelled rows, ``positives`` of them labelled 1 (the
    Spark engine counts them in Spark)."""
    check_id = f"balance.minority_share[{split}]"
    if n == 0:
        return CheckResult(
            id=check_id,
            layer="balance",
            status=Status.SKIPPED,
            message=f"no {_rows(split)} with a label '{target}'; class balance not judged",
            details={"split": split, "n": 0},
            reason=Reason.NO_ROWS,
        )
    minority_class, count = (1, positives) if positives <= n - positives else (0, n - positives)
    share = count / n
    low, high = (float(v) for v in wilson_interval(count, n, confidence=confidence))
    interval = Interval(low, high, confidence)
    shown = (
        f"minority class {minority_class} of '{target}' is {_pct(share)} of {n} {_rows(split)} "
        f"({count} rows; {confidence * 100:g}% CI {_pct(low)}–{_pct(high)}); minimum "
        f"balance.min_minority_share = {_pct(min_share)}"
    )
    status = judge(share, low, high, at_least=min_share)
    reason = {Status.FAIL: Reason.BELOW_BOUND, Status.WARN: Reason.BELOW_BOUND_POINT_ONLY}.get(status)
    message = {
        Status.FAIL: (
            f"{shown}: the whole interval is below the minimum. Collect or re-sample rows of class "
            f"{minority_class}, or lower min_minority_share if this imbalance is expected"
        ),
        Status.WARN: f"{shown}: below the minimum, but the interval reaches it (inconclusive with {n} rows)",
    }.get(status, shown)
    return CheckResult(
        id=check_id,
        layer="balance",
        status=status,
        message=message,
        observed=share,
        expected=f">= {min_share:g}",
        interval=interval,
        details={
            "column": str(target),
            "class": minority_class,
            "share": share,
            "n": n,
            "count": count,
            "min_share": min_share,
            "split": split,
        },
        reason=reason,
    )


def group_share_checks(
    groups: pd.Series, attribute: SensitiveAttribute, *, confidence: float, split: str
) -> list[CheckResult]:
    """Each group's share in ``groups`` (one label per row, NA = no group) vs ``attribute.reference``."""
    counts = groups.value_counts(dropna=True, sort=False)
    counts = counts[counts.to_numpy() > 0]  # a categorical lists unobserved categories too
    counts = pd.Series(counts.to_numpy(), index=pd.Index([str(v) for v in counts.index], dtype=object))
    by_group = {str(k): int(v) for k, v in counts.groupby(level=0).sum().items()}
    return group_shares_from_counts(by_group, len(groups), attribute, confidence=confidence, split=split)


def group_shares_from_counts(
    counts: Mapping[str, int], n_rows: int, attribute: SensitiveAttribute, *, confidence: float, split: str
) -> list[CheckResult]:
    """:func:`group_share_checks` from each group's row count (groups as text, no zero counts) and ``n_rows``, the
    rows with and without a group (the Spark engine counts them in Spark)."""
    column = attribute.column
    n = int(sum(counts.values()))
    n_missing = n_rows - n
    results: list[CheckResult] = []
    if n_missing:
        results.append(_missing_result(column, n_missing, n_rows, attribute, split))
    if n == 0:
        return results

    declared = list(attribute.reference)
    k = len(declared)
    observed = np.array([counts.get(group, 0) for group in declared], dtype=np.int64)
    lows, highs = wilson_interval(observed, n, confidence=confidence, simultaneous=k)
    for group, count, low, high in zip(declared, observed, lows, highs, strict=True):
        results.append(
            _group_result(
                attribute, str(group), int(count), n, float(low), float(high), confidence=confidence, k=k, split=split
            )
        )
    for group in sorted(set(counts) - set(declared)):
        count = int(counts[group])
        results.append(
            CheckResult(
                id=f"balance.sensitive_share[{split}][{column}={group}]",
                layer="balance",
                status=Status.FAIL,
                message=(
                    f"group '{group}' of '{column}' is not declared in balance.sensitive.reference "
                    f"({count} of {n} {_rows(split)}, {_pct(count / n)}; declared groups: "
                    f"{', '.join(declared)}). Add it to the reference or fix the data"
                ),
                observed=count / n,
                expected="a declared group",
                slice=f"{column}={group}",
                details={
                    "column": column,
                    "group": group,
                    "share": count / n,
                    "reference": None,
                    "tolerance": attribute.tolerance,
                    "n": n,
                    "count": count,
                    "split": split,
                },
                reason=Reason.UNDECLARED_GROUP,
            )
        )
    return results


def _missing_result(column: str, n_missing: int, n_rows: int, attribute: SensitiveAttribute, split: str) -> CheckResult:
    where = (
        "missing"
        if attribute.bins is None
        else (f"missing or outside the bands [{attribute.bins[0]:g}, {attribute.bins[-1]:g})")
    )
    status = Status.FAIL if n_missing == n_rows else Status.WARN
    tail = (
        "no row has a group, so the shares cannot be judged"
        if status is Status.FAIL
        else f"shares are computed over the {n_rows - n_missing} rows with a group"
    )
    return CheckResult(
        id=f"balance.sensitive_missing[{split}][{column}]",
        layer="balance",
        status=status,
        message=(
            f"'{column}': {n_missing} of {n_rows} {_rows(split)} ({_pct(n_missing / n_rows)}) have no "
            f"group ({where}); {tail}"
        ),
        observed=n_missing / n_rows,
        expected=0.0,
        details={"column": column, "missing": n_missing, "n": n_rows, "split": split},
        reason=Reason.MISSING_GROUP,
    )


def _group_result(
    attribute: SensitiveAttribute,
    group: str,
    count: int,
    n: int,
    low: float,
    high: float,
    *,
    confidence: float,
    k: int,
    split: str,
) -> CheckResult:
    column, tolerance = attribute.column, attribute.tolerance
    reference = attribute.reference[group]
    band_low, band_high = max(0.0, reference - tolerance), min(1.0, reference + tolerance)
    share = count / n
    joint = "simultaneous " if k > 1 else ""
    shown = (
        f"group '{group}' of '{column}' is {_pct(share)} of {n} {_rows(split)} ({count} rows; {joint}"
        f"{confidence * 100:g}% CI {_pct(low)}–{_pct(high)}); declared {_pct(reference)} ± {_pct(tolerance)} "
        f"(allowed {_pct(band_low)}–{_pct(band_high)})"
    )
    side = "under" if share < band_low else "over"
    status = judge(share, low, high, at_least=band_low, at_most=band_high)
    reason = {Status.FAIL: Reason.OUTSIDE_REFERENCE, Status.WARN: Reason.OUTSIDE_REFERENCE_POINT_ONLY}.get(status)
    message = {
        Status.FAIL: (
            f"{shown}: the whole interval is outside the allowed band, the data {side}-represents "
            f"this group. Fix the sampling, or update balance.sensitive.reference if the population "
            "changed"
        ),
        Status.WARN: f"{shown}: outside the band, but the interval overlaps it (inconclusive with {n} rows)",
    }.get(status, shown)
    return CheckResult(
        id=f"balance.sensitive_share[{split}][{column}={group}]",
        layer="balance",
        status=status,
        message=message,
        observed=share,
        expected=f"{band_low:g}..{band_high:g}",
        interval=Interval(low, high, confidence),
        slice=f"{column}={group}",
        details={
            "column": column,
            "group": group,
            "share": share,
            "reference": reference,
            "tolerance": tolerance,
            "n": n,
            "count": count,
            "split": split,
            "per_interval_confidence": 1.0 - (1.0 - confidence) / k,
        },
        reason=reason,
    )


def _groups(frame: pd.DataFrame, attribute: SensitiveAttribute) -> pd.Series:
    """``pipeline.slices.group_labels``, except that bands stay categorical: turning a million band labels
    into strings costs more than the whole check. Same bands, same labels, same NA (tested)."""
    if attribute.bins is None:
        return group_labels(frame, attribute)
    values = pd.to_numeric(frame[attribute.column], errors="coerce")
    return pd.cut(values, bins=attribute.bins, labels=band_labels(attribute), right=False)


def _label_checks(
    y: pd.Series, settings: BalanceSettings, *, split: str, task: str, classes: tuple[object, ...]
) -> list[CheckResult]:
    """The label's balance for the task: the minority share (binary), every class's share (multi-class), or the
    target's distribution stated (regression; :mod:`checks.balance_tasks`)."""
    if task == "multiclass":
        return class_share_checks(y, classes, settings, split=split)
    if task == "regression":
        return [target_summary(y, split=split)]
    return [minority_share_check(y, min_share=settings.min_minority_share, confidence=settings.confidence, split=split)]


def check_balance(
    frame: pd.DataFrame,
    y: pd.Series,
    settings: BalanceSettings,
    *,
    split: str,
    task: str = "binary",
    classes: tuple[object, ...] = (),
) -> list[CheckResult]:
    """Label balance of ``y`` and every sensitive attribute of ``frame`` (same rows), for one split."""
    results = _label_checks(y, settings, split=split, task=task, classes=classes)
    for attribute in settings.sensitive:
        if attribute.column not in frame.columns:
            results.append(missing_column(attribute, split))
            continue
        results.extend(
            group_share_checks(_groups(frame, attribute), attribute, confidence=settings.confidence, split=split)
        )
    return results


def missing_column(attribute: SensitiveAttribute, split: str) -> CheckResult:
    """The ERROR of a sensitive attribute whose column the split does not hold."""
    return CheckResult(
        id=f"balance.sensitive_share[{split}][{attribute.column}]",
        layer="balance",
        status=Status.ERROR,
        message=(
            f"balance.sensitive names column '{attribute.column}', which is not in the {split} data; fix "
            "balance.sensitive in the config"
        ),
        details={"column": attribute.column, "split": split},
        reason=Reason.INVALID_CONFIG,
    )


def run(evidence: Evidence) -> list[CheckResult]:
    """The balance layer: the training data (train + validation) and the test split, separately."""
    settings = evidence.config.balance
    parts = evidence.split
    columns = [a.column for a in settings.sensitive if a.column in parts.train.columns]
    columns = list(dict.fromkeys(columns))
    if parts.validation is None:
        train, y_train = parts.train[columns], parts.y_train
    else:
        train = pd.concat([parts.train[columns], parts.validation[columns]])
        y_train = pd.concat([parts.y_train, parts.y_validation])
    task, classes = evidence.prepared.task, evidence.prepared.classes
    return [
        *check_balance(train, y_train, settings, split="train", task=task, classes=classes),
        *check_balance(parts.test[columns], parts.y_test, settings, split="test", task=task, classes=classes),
    ]
