"""Data-integrity checks of the features the model would use, run by the schema layer.

Checks (ids):

- ``schema.target_leak[<column>]``: the feature ALONE predicts the target almost perfectly (single-feature ROC AUC
  at or above ``integrity.leak_auc``): usually a column derived from the label or recorded after it. Numeric
  features: the rank (Mann-Whitney) AUC of the raw values on the training rows (train + validation), taken as
  ``max(AUC, 1 - AUC)`` since the direction is unknown (no fit, so no overfitting to judge). Categorical
  features: the target rate of each category learned on the training rows (shrunk towards the overall rate by
  one pseudo-row), scored on the TEST rows, so a column with a category per row cannot look perfect by
  memorising itself;
- ``schema.identifier[<column>]``: a feature unique per row (a non-float column, or a float column holding whole
  numbers, whose distinct values are at least ``integrity.identifier_share`` of its non-missing values) or a
  strictly increasing/decreasing integer sequence in row order, like a row id: a model can only memorise it;
- ``schema.numeric_stability[<column>]``: numeric values in the training rows that would break or silently
  distort training after preparation (see :func:`check_numeric_stability`);
- ``schema.feature_policy[<column>]``: the declared deny/allow lists and personal-looking columns
  (:mod:`checks.feature_policy`).

Leaks and identifiers WARN (``blocking=False``) unless ``integrity.blocking`` is true (then they FAIL and block);
a numeric-stability problem always fails. When nothing is flagged each check is one PASS result naming what was
looked at. Light on purpose (a data layer): numpy and pandas only, no scikit-learn.

The judging and wording take figures, not frames (:func:`judge_target_leak` a :class:`LeakScore` per feature,
:func:`distinct_reason` a distinct count, :func:`stability_problem` value counts, :func:`judge_identifiers` and
:func:`judge_numeric_stability` each feature's finding), so the Spark engine (:mod:`checks.spark_integrity`)
computes the figures in Spark and words and judges them here: one set of messages and verdicts for both engines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlgate.checks.feature_policy import check_feature_policy
from mlgate.checks.result import CheckResult, Reason, Status
from mlgate.pipeline.config import IntegritySettings

if TYPE_CHECKING:
    from mlgate.checks.evidence import Evidence

__all__ = ["CATEGORICAL_METHOD", "MIN_ROWS", "NUMERIC_METHOD", "LeakScore", "check_identifiers",
           "check_numeric_stability", "check_target_leak", "distinct_reason", "identifier_reason", "judge_identifiers",
           "judge_numeric_stability", "judge_target_leak", "leak_scores", "mean_over_classes", "numeric_leak_score",
           "rank_auc", "run", "stability_problem"]  # fmt: skip

LAYER = "schema"
#: Fewer non-missing values than this and a column is not judged an identifier (20 random draws are often distinct).
MIN_ROWS = 20
_FLOAT32_MAX = float(np.finfo(np.float32).max)
NUMERIC_METHOD = "rank AUC on the training rows"
CATEGORICAL_METHOD = "target rate per category learned on the training rows, scored on the test rows"


def rank_auc(scores: np.ndarray, y: np.ndarray) -> float | None:
    """ROC AUC of ``scores`` for the 0/1 labels ``y`` (the Mann-Whitney U statistic; tied scores count one half);
    rows with a missing score are left out. None when the remaining rows hold one class only.

    Computed per distinct score (``pd.factorize`` sorts only the distinct values, ``np.bincount`` counts each
    class): a positive beats every negative with a lower score and half of those with the same one.
    """
    scores = np.asarray(scores, dtype=np.float64)
    y = np.asarray(y)
    keep = ~np.isnan(scores)
    codes, uniques = pd.factorize(scores[keep], sort=True)
    positive = y[keep] == 1
    pos = np.bincount(codes[positive], minlength=len(uniques)).astype(np.float64)
    neg = np.bincount(codes[~positive], minlength=len(uniques)).astype(np.float64)
    total_pos, total_neg = float(pos.sum()), float(neg.sum())
    if total_pos == 0 or total_neg == 0:
        return None
    below = np.cumsum(neg) - neg
    return float(np.sum(pos * (below + 0.5 * neg)) / (total_pos * total_neg))


@dataclass(frozen=True)
class LeakScore:
    """How well one feature alone separates the classes, and how that was measured."""

    column: str
    auc: float | None
    method: str
    rows: int


def numeric_leak_score(column: str, auc: float | None, rows: int) -> LeakScore:
    """A numeric feature's score from its raw-value AUC over ``rows`` non-missing training rows: ``max(AUC, 1 -
    AUC)``, as a feature that sorts the classes backwards predicts them as well."""
    return LeakScore(column, None if auc is None else max(auc, 1.0 - auc), NUMERIC_METHOD, rows)


def _numeric_leak(column: str, values: pd.Series, y: np.ndarray, score: Any = rank_auc) -> LeakScore:
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    return numeric_leak_score(column, score(numbers, y), int(np.sum(~np.isnan(numbers))))


def _categorical_leak(
    column: str, train: pd.Series, y_train: np.ndarray, test: pd.Series, y_test: np.ndarray, score: Any = rank_auc
) -> LeakScore:
    """Target rate per category (missing is a category) learned on ``train``, shrunk towards the overall rate by
    one pseudo-row, so a category seen once is not a certainty and one never seen scores the overall rate."""
    codes, _ = pd.factorize(pd.concat([train, test], ignore_index=True), use_na_sentinel=False)
    seen, new = codes[: len(train)], codes[len(train) :]
    size = int(codes.max()) + 1 if codes.size else 0
    prior = float(np.mean(y_train)) if y_train.size else 0.5
    positives = np.bincount(seen, weights=y_train.astype(np.float64), minlength=size)
    rates = (positives + prior) / (np.bincount(seen, minlength=size) + 1.0)
    return LeakScore(column, score(rates[new], y_test), CATEGORICAL_METHOD, len(test))


def leak_scores(
    train: pd.DataFrame,
    y_train: np.ndarray,
    test: pd.DataFrame,
    y_test: np.ndarray,
    *,
    numeric: Sequence[str],
    categorical: Sequence[str],
    task: str = "binary",
) -> list[LeakScore]:
    """The single-feature score of every feature (numeric first, then categorical, in the given order).

    ``task`` multiclass: the mean over the classes of each class-vs-rest score; regression: the concordance of the
    feature (or its category's training mean) with the target, ``(Kendall tau-b + 1) / 2``, the continuous
    target's ROC AUC (0.5 = no order in common, 1 = the same order), read on the same bound.
    """
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    if task == "multiclass":
        return _one_vs_rest(train, y_train, test, y_test, numeric=numeric, categorical=categorical)
    auc = _concordance if task == "regression" else rank_auc
    scores = [_numeric_leak(c, train[c], y_train, auc) for c in numeric]
    return scores + [_categorical_leak(c, train[c], y_train, test[c], y_test, auc) for c in categorical]


def _concordance(scores: np.ndarray, y: np.ndarray) -> float | None:
    """(Kendall tau-b + 1) / 2 of ``scores`` with a numeric ``y``, rows with a missing score left out; None when
    fewer than two rows or one target value remain."""
    from scipy.stats import kendalltau

    scores, y = np.asarray(scores, dtype=np.float64), np.asarray(y, dtype=np.float64)
    keep = ~np.isnan(scores)
    if keep.sum() < 2 or np.unique(y[keep]).size < 2:
        return None
    tau = float(kendalltau(scores[keep], y[keep]).statistic)
    return 0.5 if not np.isfinite(tau) else (tau + 1.0) / 2.0


def _one_vs_rest(
    train: pd.DataFrame,
    y_train: np.ndarray,
    test: pd.DataFrame,
    y_test: np.ndarray,
    *,
    numeric: Sequence[str],
    categorical: Sequence[str],
) -> list[LeakScore]:
    """Each feature's mean class-vs-rest score over the classes of a multi-class target."""
    per_class = [leak_scores(train, (y_train == c).astype(np.int64), test, (y_test == c).astype(np.int64),
                             numeric=numeric, categorical=categorical) for c in np.unique(y_train)]  # fmt: skip
    return mean_over_classes(per_class)


def mean_over_classes(per_class: Sequence[Sequence[LeakScore]]) -> list[LeakScore]:
    """Each feature's mean class-vs-rest score (classes missing a score left out), from one list per class (the
    training rows' classes in ascending order, the features in the same order in each)."""
    out = []
    for scores in zip(*per_class, strict=True):
        values = [s.auc for s in scores if s.auc is not None]
        auc = float(np.mean(values)) if values else None
        first = scores[0]
        method = f"mean over {len(per_class)} classes of class-vs-rest {first.method}"
        out.append(LeakScore(first.column, auc, method, first.rows))
    return out


def _flagged(settings: IntegritySettings) -> tuple[Status, bool]:
    return (Status.FAIL, True) if settings.blocking else (Status.WARN, False)


def check_target_leak(
    train: pd.DataFrame,
    y_train: np.ndarray,
    test: pd.DataFrame,
    y_test: np.ndarray,
    *,
    numeric: Sequence[str],
    categorical: Sequence[str],
    target: str,
    settings: IntegritySettings,
    task: str = "binary",
) -> list[CheckResult]:
    """``schema.target_leak[<column>]`` for each feature at or above ``settings.leak_auc``; else one PASS."""
    scores = leak_scores(train, y_train, test, y_test, numeric=numeric, categorical=categorical, task=task)
    return judge_target_leak(scores, target=target, settings=settings)


def judge_target_leak(scores: Sequence[LeakScore], *, target: str, settings: IntegritySettings) -> list[CheckResult]:
    """Judge and word the features' single-feature scores (:func:`check_target_leak`, any engine)."""
    bound = settings.leak_auc
    every = {s.column: None if s.auc is None else round(s.auc, 4) for s in scores}
    status, blocking = _flagged(settings)
    results = [
        CheckResult(
            f"{LAYER}.target_leak[{s.column}]",
            LAYER,
            status,
            f"feature '{s.column}' alone predicts the target '{target}' with ROC AUC {s.auc:.3f} ({s.method}; "
            f"{s.rows} rows; bound integrity.leak_auc = {bound:g}): a column this close to the label is usually "
            "derived from it or recorded after the outcome. Drop it (features.exclude) or, if it is known "
            "before the decision, raise integrity.leak_auc",
            observed=s.auc,
            expected={"max": bound},
            blocking=blocking,
            details={"column": s.column, "method": s.method, "rows": s.rows},
            reason=Reason.TARGET_LEAK,
        )
        for s in scores
        if s.auc is not None and s.auc >= bound
    ]
    if results:
        return results
    judged = [s for s in scores if s.auc is not None]
    top = max(judged, key=lambda s: s.auc or 0.0, default=None)
    strongest = f"strongest: '{top.column}' with ROC AUC {top.auc:.3f}" if top is not None else "none could be scored"
    return [
        CheckResult(
            f"{LAYER}.target_leak",
            LAYER,
            Status.PASS,
            f"no feature alone predicts the target '{target}' with ROC AUC >= {bound:g} ({len(judged)} scored; "
            f"{strongest})",
            observed=None if top is None else top.auc,
            expected={"max": bound},
            details={"auc": every},
        )
    ]


def _whole_numbers(values: pd.Series) -> bool:
    if pd.api.types.is_integer_dtype(values.dtype):
        return True
    if not pd.api.types.is_float_dtype(values.dtype):
        return False
    numbers = values.to_numpy(dtype=np.float64)
    return bool(np.all(np.isfinite(numbers)) and np.all(numbers == np.floor(numbers)))


def identifier_reason(column: pd.Series, *, share: float) -> str | None:
    """Why ``column`` looks like a row identifier, or None: a strictly monotonic sequence of whole numbers in row
    order, or (a non-float column, or floats holding whole numbers) distinct values for at least ``share`` of its
    non-missing values. Booleans and columns with fewer than :data:`MIN_ROWS` values are never identifiers."""
    values = column.dropna()
    n = len(values)
    if n < MIN_ROWS or pd.api.types.is_bool_dtype(column.dtype):
        return None
    numeric = pd.api.types.is_numeric_dtype(column.dtype)
    whole = numeric and _whole_numbers(values)
    if whole and values.is_unique and (values.is_monotonic_increasing or values.is_monotonic_decreasing):
        direction = "increasing" if values.is_monotonic_increasing else "decreasing"
        first, last = int(values.iloc[0]), int(values.iloc[-1])
        return f"strictly {direction} whole numbers in row order ({first} .. {last}), like a row id"
    if numeric and not whole:
        return None  # measurements on a continuous scale are distinct by nature
    return distinct_reason(_distinct(values, share), n, share=share)


def distinct_reason(distinct: int | None, n: int, *, share: float) -> str | None:
    """Why ``distinct`` values in ``n`` non-missing rows look like an identifier (at least ``share`` of them
    distinct), or None (also for ``distinct`` None: known to be below the share)."""
    if distinct is not None and distinct / n >= share:
        return f"{distinct} distinct values in {n} rows ({distinct / n:.1%}): unique per row, like an id"
    return None


def _distinct(values: pd.Series, share: float) -> int | None:
    """The number of distinct ``values``, or None when a prefix already proves it is below ``share`` of them: the
    rest can add at most one new value per row (exact, and a tenth of the work on a low-cardinality column)."""
    n = len(values)
    head = min(n, int(2 * (1.0 - share) * n) + 1000)
    if head < n and values.iloc[:head].nunique() + (n - head) < share * n:
        return None
    return int(values.nunique())


def check_identifiers(
    frame: pd.DataFrame, features: Sequence[str], *, settings: IntegritySettings
) -> list[CheckResult]:
    """``schema.identifier[<column>]`` for each feature that looks like a row id (see :func:`identifier_reason`)."""
    share = settings.identifier_share
    return judge_identifiers([(name, identifier_reason(frame[name], share=share)) for name in features], settings)


def judge_identifiers(found: Sequence[tuple[str, str | None]], settings: IntegritySettings) -> list[CheckResult]:
    """Word each checked feature's identifier finding ``(name, why or None)`` (:func:`check_identifiers`)."""
    status, blocking = _flagged(settings)
    results = []
    for name, why in [(name, why) for name, why in found if why is not None]:
        results.append(
            CheckResult(
                f"{LAYER}.identifier[{name}]",
                LAYER,
                status,
                f"feature '{name}' looks like an identifier: {why}. A model can only memorise it (it says nothing "
                "about new rows); leave it out (features.exclude), or if it is a real measurement raise "
                "integrity.identifier_share",
                observed=why,
                expected={"max_distinct_share": settings.identifier_share},
                blocking=blocking,
                details={"column": name},
                reason=Reason.IDENTIFIER,
            )
        )
    if results:
        return results
    message = f"no feature looks like a row identifier ({len(found)} checked: unique per row, or numbered in order)"
    return [CheckResult(f"{LAYER}.identifier", LAYER, Status.PASS, message, observed=[], expected=None)]


def _stability_problem(values: np.ndarray) -> str | None:
    """What would break or distort training in one numeric feature's training values (NaN = missing)."""
    observed = values[~np.isnan(values)]
    with np.errstate(over="ignore", invalid="ignore"):
        spread = float(np.var(observed)) if observed.size else 0.0
    infinite, huge = int(np.sum(np.isinf(observed))), int(np.sum(np.abs(observed) > _FLOAT32_MAX))
    return stability_problem(int(observed.size), infinite, huge, variance_finite=bool(np.isfinite(spread)))


def stability_problem(observed: int, infinite: int, huge: int, *, variance_finite: bool) -> str | None:
    """The first problem of a numeric feature's training values, from its counts: ``observed`` non-missing values,
    ``infinite`` of them ±inf, ``huge`` beyond float32 (infinities included), and whether their variance is finite."""
    if observed == 0:
        return "no value in any training row: the median imputer has nothing to fill with and drops the column"
    if infinite:
        return f"{infinite} infinite value(s): no estimator accepts them"
    if huge:
        return f"{huge} value(s) beyond float32 (|x| > {_FLOAT32_MAX:.3g}): tree estimators cast to float32 and get inf"
    if not variance_finite:
        return "its variance overflows float64 (values near 1e154 or beyond): standardising it gives NaN"
    return None


def check_numeric_stability(train: pd.DataFrame, numeric: Sequence[str]) -> list[CheckResult]:
    """``schema.numeric_stability[<column>]`` (FAIL) for a numeric feature whose training values would break or
    silently distort training: no observed value at all (the median imputer drops the column with only a
    warning), ±inf, magnitudes beyond float32 (trees cast to float32) or a variance that overflows (scaling
    gives NaN). Missing values alone are fine: the pipeline imputes them."""
    found = []
    for name in numeric:
        values = pd.to_numeric(train[name], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        found.append((name, _stability_problem(values)))
    return judge_numeric_stability(found, len(train))


def judge_numeric_stability(found: Sequence[tuple[str, str | None]], rows: int) -> list[CheckResult]:
    """Word each numeric feature's finding ``(name, problem or None)`` over ``rows`` training rows."""
    results = []
    for name, problem in [(name, problem) for name, problem in found if problem is not None]:
        results.append(
            CheckResult(
                f"{LAYER}.numeric_stability[{name}]",
                LAYER,
                Status.FAIL,
                f"numeric feature '{name}' in the {rows} training rows: {problem}; fix the data, or leave the "
                "column out (features.exclude)",
                observed=problem,
                details={"column": name, "rows": rows},
                reason=Reason.NON_FINITE,
            )
        )
    if results:
        return results
    message = f"{len(found)} numeric features are finite and usable in the {rows} training rows"
    return [CheckResult(f"{LAYER}.numeric_stability", LAYER, Status.PASS, message, observed=len(found))]


def _training_rows(evidence: Evidence) -> tuple[pd.DataFrame, np.ndarray]:
    parts = evidence.split
    labels: list[Any] = [parts.y_train] if parts.y_validation is None else [parts.y_train, parts.y_validation]
    return evidence.train_frame, pd.concat(labels).to_numpy()


def run(evidence: Evidence) -> list[CheckResult]:
    """Every integrity check of the evidence's prepared features (the schema layer calls this after validation)."""
    config, prepared = evidence.config, evidence.prepared
    train, y_train = _training_rows(evidence)
    test, y_test = evidence.test_frame, evidence.split.y_test.to_numpy()
    leaks = check_target_leak(train, y_train, test, y_test, numeric=prepared.numeric, categorical=prepared.categorical,
                              target=prepared.target, settings=config.integrity, task=prepared.task)  # fmt: skip
    return [
        *leaks,
        *check_identifiers(prepared.frame, prepared.features, settings=config.integrity),
        *check_feature_policy(prepared.frame, prepared.features, list(evidence.dataset.frame.columns), config.features),
        *check_numeric_stability(train, prepared.numeric),
    ]
