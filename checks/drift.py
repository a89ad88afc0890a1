"""Drift gate: does each feature (and the label) have the same distribution in two samples?

Two comparisons, each one family of tests:

* **train vs test** (always): the training rows (train + validation) vs the test split, ids
  ``drift.feature[<column>]`` and ``drift.label[<target>]``. With ``split.by = "time"`` the test split is the
  most recent rows, so this sees change over time; with a random split both halves come from one population.
* **reference vs current** (``mlgate gate --layer drift --current PATH`` or ``[drift] current``): the champion's
  training rows (logged with it, see :mod:`pipeline.batch`; the project data's when there is no champion) vs a
  new batch, ids ``drift.current[<column>]`` and ``drift.current_label[<target>]`` (the label only when the batch
  has one). Messages name the batch and whose training data it was compared with.

The label (``drift.label``) is tested as a categorical column (a regression target: a numeric one, KS) in the
same family as the features, with its own floor (``label_effect_floor``, default the categorical one, the numeric
one for a regression target); rows without a label are left out of its test.

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

from collections.abc import Mapping

import pandas as pd

from mlgate.checks.categories import category_text
from mlgate.checks.drift_judge import Tested, judge_family, result
from mlgate.checks.evidence import Evidence
from mlgate.checks.result import CheckResult, Reason, Status
from mlgate.checks.stats import category_counts, chi2_homogeneity, ks_two_sample, numeric_values
from mlgate.pipeline.config import DriftSettings

__all__ = ["Tested", "category_text", "compare", "compare_current", "judge_family", "run"]


def _as_categories(frame: pd.DataFrame, categorical: list[str]) -> pd.DataFrame:
    return frame.assign(**{column: category_text(frame[column]) for column in categorical if column in frame.columns})


def compare(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    numeric: list[str],
    categorical: list[str],
    settings: DriftSettings,
    id_prefix: str = "drift.feature",
    label: str = "train vs test",
    target: str | None = None,
    target_prefix: str = "drift.label",
    canonical: bool = False,
    reference_counts: Mapping[str, Mapping[str, int]] | None = None,
    numeric_target: bool = False,
) -> list[CheckResult]:
    """One result per feature (id ``f"{id_prefix}[{column}]"``) and, with ``target``, one for the label (id
    ``f"{target_prefix}[{target}]"``, categorical, rows without a label left out); p-values adjusted across all.
    ``canonical``: the frames come from two sources; compare categories as :func:`category_text`.
    ``reference_counts``: exact category counts of the reference (a sampled ``reference`` keeps them exact).
    """
    if canonical:
        reference, current = _as_categories(reference, categorical), _as_categories(current, categorical)
    problems: list[CheckResult] = []
    tested: list[Tested] = []
    for column in [*numeric, *categorical]:
        absent = [
            name for name, frame in (("reference", reference), ("current", current)) if column not in frame.columns
        ]
        if absent:
            problems.append(
                result(
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
                result(
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
            counts = (reference_counts or {}).get(column)
            outcome = chi2_homogeneity(
                *category_counts(reference[column] if counts is None else counts, current[column])
            )
        tested.append(Tested(column, outcome, id_prefix, "feature"))
    label_test = _label_test(reference, current, target, target_prefix, numeric_target) if target is not None else None
    columns = [*numeric, *categorical]
    return judge_family(tested, label_test, problems, settings, id_prefix=id_prefix, columns=columns, label=label)


def _label_test(
    reference: pd.DataFrame, current: pd.DataFrame, target: str, prefix: str, numeric: bool
) -> Tested | None:
    """The label as a categorical column (:func:`category_text`; labelled rows only; None when a side has none), or
    a regression target as a numeric one (KS)."""
    if target not in reference.columns or target not in current.columns:
        return None
    if numeric:
        return Tested(
            target, ks_two_sample(numeric_values(reference[target]), numeric_values(current[target])), prefix, "label"
        )
    ref, cur = category_text(reference[target]).dropna(), category_text(current[target]).dropna()
    if ref.empty or cur.empty:
        return None
    return Tested(target, chi2_homogeneity(*category_counts(ref, cur)), prefix, "label")


def _features(evidence: Evidence, settings: DriftSettings) -> tuple[list[str], list[str], list[str]]:
    prepared = evidence.prepared
    if settings.columns is None:
        return list(prepared.numeric), list(prepared.categorical), []
    unknown = [c for c in settings.columns if c not in prepared.features]
    numeric = [c for c in prepared.numeric if c in settings.columns]
    categorical = [c for c in prepared.categorical if c in settings.columns]
    return numeric, categorical, unknown


def compare_current(evidence: Evidence, *, numeric: list[str], categorical: list[str]) -> list[CheckResult]:
    """The champion's training rows (``evidence.drift_reference``) vs the new batch (``evidence.current``)."""
    settings, batch, reference = evidence.config.drift, evidence.current, evidence.drift_reference
    if batch is None:
        return []
    if reference is None:  # the gated run always supplies one with a batch: a caller that did not is a bug
        return [
            result(
                "drift.current",
                "(reference)",
                settings,
                Status.ERROR,
                f"a current batch ({batch.source}) but no reference to compare it with",
                {},
                reason=Reason.CHECK_ERROR,
            )
        ]
    target = evidence.prepared.target if settings.label and batch.has_labels else None
    return compare(
        reference.frame,
        batch.frame,
        numeric=numeric,
        categorical=categorical,
        settings=settings,
        id_prefix="drift.current",
        label=f"{batch.source} vs {reference.description}",
        target=target,
        target_prefix="drift.current_label",
        canonical=True,
        numeric_target=evidence.prepared.task == "regression",
    )


def run(evidence: Evidence) -> list[CheckResult]:
    """The drift layer: the training data (train + validation) vs the test split, feature by feature and the
    label; then, with a current batch, the champion's training data vs the batch (module docstring)."""
    settings = evidence.config.drift
    numeric, categorical, unknown = _features(evidence, settings)
    target = evidence.prepared.target if settings.label else None
    columns = [*numeric, *categorical, *([target] if target else [])]
    results = compare(
        evidence.train_frame[columns],
        evidence.test_frame,
        numeric=numeric,
        categorical=categorical,
        settings=settings,
        target=target,
        numeric_target=evidence.prepared.task == "regression",
    )
    for column in unknown:
        results.append(
            result(
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
    return results + compare_current(evidence, numeric=numeric, categorical=categorical)
