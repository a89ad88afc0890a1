"""The balance and drift gates on the Spark engine: Spark aggregates in, the pandas engine's judging code out.

Every figure a check judges is computed in Spark (:mod:`pipeline.spark.profiles`) and handed to the functions the
pandas engine ends in (``minority_share_from_counts`` and ``group_shares_from_counts`` of :mod:`checks.balance`,
``class_shares_from_counts`` of :mod:`checks.balance_tasks`, and for drift the two-sample tests judged by
:func:`checks.drift_judge.judge_family`). So the ids, messages, intervals and verdicts are the pandas engine's for the
same rows (``tests/spark/test_spark_gates.py`` runs both engines on one split and compares every result).

Exact, not approximated: class and group counts; the chi-square test on category counts; the KS statistic D (a
distributed computation, see :func:`pipeline.spark.profiles.ks_statistics`) and its p-value: scipy's exact one when
neither sample has more than 10,000 rows (the column's values are then collected, as few as the pandas engine
holds), Smirnov's asymptotic one above, the formula ``ks_two_sample`` uses at that size. Approximate, for display
only: the quantiles a KS result shows (``percentile_approx``, relative rank error 1/10,000, no interpolation) and a
regression target's summary quantiles.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np

from mlgate.checks.balance import group_shares_from_counts, minority_share_from_counts, missing_column
from mlgate.checks.balance_tasks import SUMMARY_QUANTILES, class_shares_from_counts, target_summary_from
from mlgate.checks.drift_judge import Tested, judge_family, result
from mlgate.checks.result import CheckResult, Reason, Status
from mlgate.checks.stats import (
    EXACT_KS_MAX_N,
    KS_QUANTILES,
    MISSING,
    TwoSampleTest,
    aligned_counts,
    chi2_homogeneity,
    ks_asymptotic_p,
    ks_extra,
    ks_two_sample,
)
from mlgate.pipeline.config import BalanceSettings, DriftSettings, SensitiveAttribute

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

    from mlgate.pipeline.spark.prepare import SparkPrepared
    from mlgate.pipeline.spark.split import SparkSplit
    from mlgate.pipeline.spark.statistics import SplitCounts

__all__ = ["balance", "counted", "drift", "group_name", "split_counts_for"]


def _col(name: str) -> Column:
    from pyspark.sql import functions as F

    return F.col(f"`{name}`")


def _groups(attribute: SensitiveAttribute) -> Column:
    """Each row's group as text (``pipeline.slices.group_labels``): the value, or its band ``[lo, hi)``."""
    from pyspark.sql import functions as F

    from mlgate.pipeline.slices import band_labels

    if attribute.bins is None:
        return _col(attribute.column)
    value, band = F.expr(f"try_cast(`{attribute.column}` AS DOUBLE)"), F.lit(None).cast("string")
    edges, labels = attribute.bins, band_labels(attribute)
    for low, high, label in zip(edges[:-1], edges[1:], labels, strict=True):
        band = F.when((value >= F.lit(low)) & (value < F.lit(high)), F.lit(label)).otherwise(band)
    return band


def _label_checks(counts: dict[int | None, int], prepared: SparkPrepared, settings: BalanceSettings, split: str,
                  frame: DataFrame) -> list[CheckResult]:  # fmt: skip
    from mlgate.pipeline.spark.prepare import Y

    if prepared.task == "regression":
        return [target_summary_from(_summary(frame, Y), prepared.target, split=split)]
    if prepared.task == "multiclass":
        codes = np.array([counts.get(code, 0) for code in range(len(prepared.classes))], dtype=np.int64)
        return class_shares_from_counts(codes, prepared.target, prepared.classes, settings, split=split)
    n = sum(v for k, v in counts.items() if k is not None)
    return [minority_share_from_counts(n, counts.get(1, 0), prepared.target,
                                       min_share=settings.min_minority_share, confidence=settings.confidence,
                                       split=split)]  # fmt: skip


def _summary(frame: DataFrame, column: str) -> dict[str, Any]:
    from pyspark.sql import functions as F

    levels = [q for q in SUMMARY_QUANTILES.values() if 0.0 < q < 1.0]
    row = frame.agg(F.count(_col(column)).alias("n"), F.mean(_col(column)).alias("mean"),
                    F.stddev_samp(_col(column)).alias("std"), F.min(_col(column)).alias("min"),
                    F.max(_col(column)).alias("max"), F.percentile_approx(_col(column), levels, 10_000).alias("q"),
                    ).collect()[0]  # fmt: skip
    inner = dict(zip([k for k, q in SUMMARY_QUANTILES.items() if 0.0 < q < 1.0], row["q"] or [], strict=False))
    return {"n": int(row["n"]), "mean": row["mean"], "std": row["std"] or 0.0, "min": row["min"], **inner,
            "max": row["max"]}  # fmt: skip


def group_name(index: int) -> str:
    """The :class:`SplitCounts` entry of the ``index``-th present sensitive attribute's groups."""
    return f"__mlgate_group_{index}"


def split_counts_for(
    split: SparkSplit, prepared: SparkPrepared, sensitive: Sequence[SensitiveAttribute]
) -> SplitCounts:
    """The one counting pass the three data layers read (:func:`pipeline.spark.statistics.split_counts`): every
    feature, the target (a class target as a text entry, a numeric one as a number) and each present sensitive
    attribute's groups (:func:`_groups`)."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    from mlgate.pipeline.spark.prepare import Y
    from mlgate.pipeline.spark.statistics import split_counts

    schema = split.test.schema
    present = [a for a in sensitive if a.column in schema.fieldNames()]
    groups = [(group_name(i), _groups(a), T.StringType() if a.bins is not None else schema[a.column].dataType)
              for i, a in enumerate(present)]  # fmt: skip
    regression = prepared.task == "regression"
    numeric = [*prepared.numeric, *([prepared.target] if regression else [])]
    text = [*prepared.categorical, *([] if regression else [prepared.target])]
    return split_counts(split, numeric, text, classes=None if regression else F.col(Y), extra=groups)


@contextmanager
def counted(counts: SplitCounts | None, build: Callable[[], SplitCounts]) -> Iterator[SplitCounts]:
    """``counts``, or when None one built by ``build`` for this caller alone and unpersisted when it is done (no
    Spark job runs until a count is read)."""
    if counts is not None:
        yield counts
        return
    own = build()
    try:
        yield own
    finally:
        own.close()


def balance(
    split: SparkSplit, prepared: SparkPrepared, settings: BalanceSettings, counts: SplitCounts | None = None
) -> list[CheckResult]:
    """The balance layer on Spark: the training rows (train + validation), then the test split, from ``counts``
    (built here when None)."""
    present = [a for a in settings.sensitive if a.column in split.test.columns]
    with counted(counts, lambda: split_counts_for(split, prepared, settings.sensitive)) as found_counts:
        classes = found_counts.class_counts()
        groups = found_counts.text_counts([group_name(i) for i in range(len(present))])
    results = []
    for side, (name, frame) in enumerate((("train", split.train_all), ("test", split.test))):
        results += _label_checks(classes[side], prepared, settings, name, frame)
        n_rows = sum(classes[side].values())
        for attribute in settings.sensitive:
            if attribute not in present:
                results.append(missing_column(attribute, name))
                continue
            found = groups[side].get(group_name(present.index(attribute)), {})
            shares = {k: v for k, v in found.items() if k is not None}
            results += group_shares_from_counts(shares, n_rows, attribute, confidence=settings.confidence, split=name)
    return results


def _ks(split: SparkSplit, counts: SplitCounts, columns: list[str], sizes: tuple[int, int]) -> dict[str, Any]:
    """Each numeric column's KS test: exact (values collected) up to 10,000 rows a side, else from Spark's D."""
    from mlgate.pipeline.spark.profiles import ks_from_counts
    from mlgate.pipeline.spark.quantiles import quantiles

    if not columns:
        return {}
    reference, current = split.train_all, split.test
    if max(sizes) <= EXACT_KS_MAX_N:  # the pandas engine's exact path, on the same few values
        left: Any = reference.select(*columns).toPandas()
        right: Any = current.select(*columns).toPandas()
        return {c: ks_two_sample(left[c].to_numpy(np.float64, na_value=np.nan),
                                 right[c].to_numpy(np.float64, na_value=np.nan)) for c in columns}  # fmt: skip
    out = {}
    q = KS_QUANTILES.tolist()
    for column, profile in ks_from_counts(counts.ks_counts(columns), columns, levels=q).items():
        n1, n2 = profile.n_reference, profile.n_current
        ref_q, cur_q = profile.quantiles or (quantiles(reference, column, q), quantiles(current, column, q))
        extra = ks_extra(q, ref_q, cur_q, (profile.missing_reference / n1, profile.missing_current / n2))
        d = profile.statistic
        out[column] = TwoSampleTest("ks", d, ks_asymptotic_p(d, n1, n2), d, "ks_d", n1, n2, extra)
    return out


def _chi2(counts: SplitCounts, columns: list[str], *, canonical: bool = False) -> dict[str, TwoSampleTest]:
    if not columns:
        return {}
    ref, cur = counts.text_counts(columns, canonical=canonical)

    def labelled(found: dict[str | None, int]) -> dict[str, int]:
        return {MISSING if k is None else k: v for k, v in found.items() if v}

    return {c: chi2_homogeneity(*aligned_counts(labelled(ref[c]), labelled(cur[c]))) for c in columns}


def _label(split: SparkSplit, prepared: SparkPrepared, sizes: tuple[int, int], counts: SplitCounts) -> Tested | None:
    """``drift.label``: the target's categories (labelled rows; every prepared row has a label), or a regression
    target's KS test."""
    target, prefix = prepared.target, "drift.label"
    if prepared.task == "regression":
        return Tested(target, _ks(split, counts, [target], sizes)[target], prefix, "label")
    outcome = _chi2(counts, [target], canonical=True)[target]  # as checks.drift's category_text
    return Tested(target, outcome, prefix, "label")


def drift(
    split: SparkSplit, prepared: SparkPrepared, settings: DriftSettings, counts: SplitCounts | None = None
) -> list[CheckResult]:
    """The drift layer on Spark, train vs test (a current batch is not built on Spark yet), from ``counts`` (built
    here when None and a test needs it)."""
    chosen = settings.columns
    numeric = [c for c in prepared.numeric if chosen is None or c in chosen]
    categorical = [c for c in prepared.categorical if chosen is None or c in chosen]
    sizes = (split.sizes.get("train", 0) + split.sizes.get("validation", 0), split.sizes.get("test", 0))
    problems = []
    if 0 in sizes:
        for column in [*numeric, *categorical]:
            problems.append(result("drift.feature", column, settings, Status.SKIPPED,
                                   f"feature '{column}' (train vs test): no rows to compare (reference {sizes[0]}, "
                                   f"current {sizes[1]})", {}, reason=Reason.NO_ROWS))  # fmt: skip
        return problems
    with counted(counts, lambda: split_counts_for(split, prepared, ())) as found_counts:
        outcomes = {**_ks(split, found_counts, numeric, sizes), **_chi2(found_counts, categorical)}
        label_test = _label(split, prepared, sizes, found_counts) if settings.label else None
    tested = [Tested(c, outcomes[c], "drift.feature", "feature") for c in [*numeric, *categorical]]
    for column in [c for c in (chosen or []) if c not in prepared.features]:
        problems.append(result("drift.feature", column, settings, Status.ERROR,
                               f"drift.columns names '{column}', which is not a feature (features: "
                               f"{', '.join(prepared.features)}); fix drift.columns in the config", {},
                               reason=Reason.INVALID_CONFIG))  # fmt: skip
    results = judge_family(tested, label_test, [], settings, id_prefix="drift.feature",
                           columns=[*numeric, *categorical], label="train vs test")  # fmt: skip
    return results + problems
