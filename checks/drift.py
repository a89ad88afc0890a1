"""Drift gate: does each feature have the same distribution in two samples (train vs test; later, training
vs serving)?

Method
------
Every feature gets one two-sample test, and the p-values of all features of one comparison are adjusted
together for multiple testing. A feature is flagged only when its adjusted p-value is below ``alpha`` AND its
effect size reaches a declared floor.

* **Numeric features**: two-sample Kolmogorov–Smirnov test (scipy; exact p-value up to 10,000 rows per
  sample, Smirnov's asymptotic distribution above). Effect = the KS statistic D, the largest gap between
  the two empirical CDFs (0 = identical, 1 = disjoint). Missing values sort after every value, so a change
  in the missing share alone also moves D; both missing shares are in the message and the details.
* **Categorical features**: chi-square test of *homogeneity* on the 2×k table of category counts, missing
  values as their own category, sparse categories pooled until every expected count is >= 5. Effect =
  total variation distance (TVD) between the two category distributions (the largest difference in the
  probability of any set of categories; 0 = identical, 1 = disjoint).

Why homogeneity, not goodness-of-fit
------------------------------------
Both samples are random. A goodness-of-fit test that takes the reference shares as exact population
values ignores the reference's own sampling noise, so its statistic is too large and its false-alarm rate
far above ``alpha`` when the reference is not much larger than the current sample (one popular drift tool
alarms on 92% of clean comparisons for this reason). The homogeneity test puts both samples' noise in the
variance, and its p-value is valid whichever sample is larger.

Why an effect floor
-------------------
A test answers "is there any difference?", and with enough rows every real-world difference is
significant: at a million rows a KS D of 0.003 has p < 0.05. Such a difference does not change what a
model learns, and a gate that blocks on it trains people to waive it. The floor (``numeric_effect_floor``
for D, ``categorical_effect_floor`` for TVD) says how big a shift must be to matter; the p-value says that
the shift is not sampling noise. Both are required. A significant shift below the floor PASSES with a
note (details ``significant_below_floor``): a WARN there would fire on almost every large data set and
drown the warnings that matter; a large effect that is not significant (few rows) PASSES with a note too.

Why the false-alarm rate stays at alpha at every sample size
------------------------------------------------------------
Under the global null (no feature drifted) every raw p-value is valid at every n — the KS p-value exactly
(or conservatively, with ties), the chi-square p-value with all expected counts >= 5. Holm's step-down
correction keeps the probability of *any* rejection among the m features at most ``alpha`` under any
dependence between features. Benjamini–Hochberg controls the false discovery rate, and under the global
null every discovery is false, so FDR = P(any rejection): BH also keeps the family-wise false-alarm rate at
``alpha`` there (for independent or positively dependent tests). The effect floor only removes rejections,
so it can lower the false-alarm rate, never raise it. ``benchmarks/bench_drift_rates.py`` measures it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from mlgate.checks.evidence import Evidence
from mlgate.checks.result import CheckResult, Reason, Status
from mlgate.checks.stats import (
    TwoSampleTest,
    adjust_pvalues,
    category_counts,
    chi2_homogeneity,
    ks_two_sample,
    numeric_values,
)
from mlgate.pipeline.config import DriftSettings

__all__ = ["compare", "run"]

_EFFECT_NAMES = {"ks_d": "D", "tvd": "TVD"}


@dataclass(frozen=True)
class _Tested:
    column: str
    outcome: TwoSampleTest


def compare(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    numeric: list[str],
    categorical: list[str],
    settings: DriftSettings,
    id_prefix: str = "drift.feature",
    label: str = "train vs test",
) -> list[CheckResult]:
    """One result per feature (id ``f"{id_prefix}[{column}]"``), p-values adjusted across all of them."""
    problems: list[CheckResult] = []
    tested: list[_Tested] = []
    for column in [*numeric, *categorical]:
        absent = [
            name for name, frame in (("reference", reference), ("current", current)) if column not in frame.columns
        ]
        if absent:
            problems.append(
                _result(
                    id_prefix,
                    column,
                    settings,
                    Status.ERROR,
                    f"feature '{column}' ({label}): column missing from the {absent[0]} data; cannot test it for drift",
                    {},
                    reason=Reason.MISSING_COLUMN,
                )
            )
            continue
        if len(reference) == 0 or len(current) == 0:
            problems.append(
                _result(
                    id_prefix,
                    column,
                    settings,
                    Status.SKIPPED,
                    f"feature '{column}' ({label}): no rows to compare (reference "
                    f"{len(reference)}, current {len(current)})",
                    {},
                    reason=Reason.NO_ROWS,
                )
            )
            continue
        if column in numeric:
            outcome = ks_two_sample(numeric_values(reference[column]), numeric_values(current[column]))
        else:
            outcome = chi2_homogeneity(*category_counts(reference[column], current[column]))
        tested.append(_Tested(column, outcome))

    adjusted = adjust_pvalues([t.outcome.p_value for t in tested], method=settings.correction)
    results = [
        _judge(t, float(p), len(tested), settings, id_prefix=id_prefix, label=label)
        for t, p in zip(tested, adjusted, strict=True)
    ]
    by_column = {r.details["column"]: r for r in [*results, *problems]}
    return [by_column[c] for c in dict.fromkeys([*numeric, *categorical])]


def _result(
    id_prefix: str,
    column: str,
    settings: DriftSettings,
    status: Status,
    message: str,
    details: Mapping[str, Any],
    *,
    reason: Reason | None,
    observed: Any = None,
    expected: Any = None,
) -> CheckResult:
    return CheckResult(
        id=f"{id_prefix}[{column}]",
        layer="drift",
        status=status,
        message=message,
        blocking=settings.blocking,
        details={"column": column, **details},
        reason=reason,
        observed=observed,
        expected=expected,
    )


def _judge(
    tested: _Tested, p_adjusted: float, family: int, settings: DriftSettings, *, id_prefix: str, label: str
) -> CheckResult:
    column, out = tested.column, tested.outcome
    floor = settings.numeric_effect_floor if out.test == "ks" else settings.categorical_effect_floor
    significant = p_adjusted < settings.alpha
    large = out.effect >= floor
    effect_name = _EFFECT_NAMES[out.effect_name]
    correction = (
        "no correction"
        if settings.correction == "none"
        else (f"{settings.correction} over {family} feature{'s' if family != 1 else ''}")
    )
    test = (
        f"Kolmogorov–Smirnov D = {out.effect:.3f}"
        if out.test == "ks"
        else f"chi-square homogeneity = {out.statistic:.4g} (dof {out.extra.get('dof', 0)}), TVD = {out.effect:.3f}"
    )
    figures = (
        f"{test} (floor {floor:g}), adjusted p = {_p(p_adjusted)} (alpha {settings.alpha:g}, "
        f"{correction}); "
        f"n = {out.n_reference} vs {out.n_current}{_missing_note(out)}"
    )
    reason: Reason | None = None
    if significant and large:
        status, reason = Status.FAIL, Reason.SIGNIFICANT_ABOVE_FLOOR
        message = (
            f"feature '{column}' drifted ({label}): {figures}. Expected {effect_name} < {floor:g} or "
            f"adjusted p >= {settings.alpha:g}. Check how the data was collected or split; if the "
            "shift is expected, waive this check with a reason"
        )
        note = "drift"
    elif significant:
        status, note = Status.PASS, "significant_below_floor"
        message = (
            f"feature '{column}' ({label}): a statistically detectable but small shift, below the "
            f"effect floor: {figures}"
        )
    elif large:
        status, note = Status.PASS, "large_but_not_significant"
        message = (
            f"feature '{column}' ({label}): {effect_name} reaches the floor but is not significant "
            f"(too few rows to tell it from sampling noise): {figures}"
        )
    else:
        status, note = Status.PASS, "no_drift"
        message = f"feature '{column}' ({label}): no drift: {figures}"
    details = {
        "test": out.test,
        "statistic": out.statistic,
        "p_value": out.p_value,
        "p_adjusted": p_adjusted,
        "correction": settings.correction,
        "effect": out.effect,
        "effect_name": out.effect_name,
        "effect_floor": floor,
        "alpha": settings.alpha,
        "n_reference": out.n_reference,
        "n_current": out.n_current,
        "note": note,
        "label": label,
        **out.extra,
    }
    return _result(
        id_prefix,
        column,
        settings,
        status,
        message,
        details,
        reason=reason,
        observed=round(out.effect, 6),
        expected=f"{out.effect_name} < {floor:g} or p_adjusted >= {settings.alpha:g}",
    )


def _p(value: float) -> str:
    return "nan" if math.isnan(value) else (f"{value:.3g}" if value >= 1e-3 else f"{value:.1e}")


def _missing_note(out: TwoSampleTest) -> str:
    shares = out.extra.get("missing_share")
    if not shares or (shares["reference"] == 0 and shares["current"] == 0):
        return ""
    return f"; missing {shares['reference']:.1%} vs {shares['current']:.1%}"


def _features(evidence: Evidence, settings: DriftSettings) -> tuple[list[str], list[str], list[str]]:
    prepared = evidence.prepared
    if settings.columns is None:
        return list(prepared.numeric), list(prepared.categorical), []
    unknown = [c for c in settings.columns if c not in prepared.features]
    numeric = [c for c in prepared.numeric if c in settings.columns]
    categorical = [c for c in prepared.categorical if c in settings.columns]
    return numeric, categorical, unknown


def run(evidence: Evidence) -> list[CheckResult]:
    """The drift layer: the training data (train + validation) vs the test split, feature by feature."""
    settings = evidence.config.drift
    numeric, categorical, unknown = _features(evidence, settings)
    columns = [*numeric, *categorical]
    parts = [evidence.split.train, evidence.split.validation]
    reference = pd.concat([p[columns] for p in parts if p is not None]) if columns else evidence.split.train
    results = compare(reference, evidence.test_frame, numeric=numeric, categorical=categorical, settings=settings)
    for column in unknown:
        results.append(
            _result(
                "drift.feature",
                column,
                settings,
                Status.ERROR,
                f"drift.columns names '{column}', which is not a feature (features: "
                f"{', '.join(evidence.prepared.features)}); fix drift.columns in the config",
                {},
                reason=Reason.INVALID_CONFIG,
            )
        )
    return results
