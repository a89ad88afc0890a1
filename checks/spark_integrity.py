"""The schema layer's duplicate and data-integrity checks on the Spark engine: Spark aggregates in, the pandas
engine's judging and wording out (what ``duplicates.run(evidence) + integrity.run(evidence)`` gives on pandas).

Every figure is computed in Spark and handed to the functions the pandas engine ends in
(:func:`checks.duplicates.judge_duplicates`, :func:`checks.integrity.judge_target_leak`, ``judge_identifiers``,
``judge_numeric_stability``, :func:`checks.feature_policy.check_feature_policy`), so ids, statuses, messages and
figures are the pandas engine's for the same rows (``tests/spark/test_spark_integrity.py`` runs both and compares):

* ``schema.target_leak`` (binary, multiclass): the rank (Mann-Whitney) AUC from exact counts per (feature, value or
  category score, class), ranked without a window and without a row on the driver (:func:`rank_u`). Twice U is an
  integer, summed exactly, so each AUC is the pandas engine's double bit for bit while ``2 * positives *
  negatives < 2**53`` (up to ~9e7 rows; beyond, both engines round, differently, in the last bits). A category's
  target rate is the training rows' count joined null-safely (missing is a category) to the test rows' counts per
  category (its text: Spark preparation casts every categorical feature to text), the rate computed with the pandas
  engine's double operations. Every count comes from the layers' one counting pass
  (:class:`pipeline.spark.statistics.SplitCounts`);
* ``schema.identifier``: exact distinct counts (``groupBy`` of (feature, value), not ``approx_count_distinct``) and
  whether a numeric feature holds whole numbers only (a numeric feature is a double on Spark: integers beyond 2**53
  that differ only past a double's precision would count as one value);
* ``schema.numeric_stability``: counts of non-missing, infinite and beyond-float32 values, and ``var_pop``;
* ``schema.duplicate_rows``: the counts Spark preparation took.

Differences from the pandas engine, said in the results themselves:

* ``schema.identifier``: no "strictly increasing/decreasing whole numbers in row order" test, as a distributed frame
  has no row order. No verdict changes (such a column is unique per row, so its distinct share flags it at any
  ``integrity.identifier_share``); only that case's wording does ("N distinct values in N rows"). Every identifier
  result carries :data:`ROW_ORDER` in ``details.row_order``;
* ``schema.duplicate_rows``: no example rows (Spark has no data row numbers): ``details.examples`` is empty and the
  message ends ``equal data rows:`` :data:`checks.duplicates.NO_ROW_NUMBERS`;
* ``schema.feature_policy``: the personal-data test reads at most 1,000 non-missing values of a text feature, on
  pandas its first 1,000. With at most that many the two engines read the same values (collected: as few as the
  pandas engine holds); with more, Spark has no "first": it reads those of the 1,000 rows with the smallest
  hash, the split's cached row key (``xxhash64`` of the features and the target under ``split.random_state``;
  else of the whole row), and the message says so;
* ``schema.target_leak`` for a regression target is SKIPPED (``not_configured``): its concordance (Kendall tau-b)
  has no distributed computation here;
* the variance test uses Spark's ``var_pop`` (a streaming formula) for numpy's ``var``: they could only disagree on
  values beyond float32, which fail the check before their variance is looked at.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlgate.checks.duplicates import judge_duplicates
from mlgate.checks.feature_policy import SAMPLE, check_feature_policy
from mlgate.checks.integrity import (
    CATEGORICAL_METHOD,
    MIN_ROWS,
    LeakScore,
    distinct_reason,
    judge_identifiers,
    judge_numeric_stability,
    judge_target_leak,
    mean_over_classes,
    numeric_leak_score,
    stability_problem,
)
from mlgate.checks.result import CheckResult, Reason, Status
from mlgate.pipeline.config import IntegritySettings, ProjectConfig

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

    from mlgate.pipeline.spark.dataload import SparkBundle
    from mlgate.pipeline.spark.prepare import SparkPrepared
    from mlgate.pipeline.spark.split import SparkSplit
    from mlgate.pipeline.spark.statistics import SplitCounts

__all__ = ["ROW_ORDER", "leak_scores", "rank_u", "run"]

LAYER = "schema"
#: ``details.row_order`` of every Spark identifier result: what Spark does not test, and why no verdict moves.
ROW_ORDER = (
    "not checked on Spark (a distributed frame has no row order); a column numbered in row order is unique per row, "
    "so its distinct share flags it all the same"
)
_FLOAT32_MAX = float(np.finfo(np.float32).max)
Counts = dict[int, tuple[int, int, int]]  # key -> (2U, positives, negatives)


def _col(name: str) -> Column:
    from mlgate.pipeline.spark.profiles import _col as literal

    return literal(name)


# ------------------------------------------------------------------------------------------- the rank statistic
def rank_u(counts: DataFrame, *, partitions: int | None = None) -> Counts:
    """Per key ``c`` of ``counts`` (columns ``c`` int, ``v`` double, ``pos`` and ``neg`` long; one row per (c, v)):
    ``(2U, positives, negatives)``, U the Mann-Whitney statistic of the positives' values against the negatives'
    (each positive counts 1 per negative with a lower value and 1/2 per tied one: 2U is an integer).

    The two passes of :func:`pipeline.spark.profiles.ks_statistics`, sharing its helpers: at most
    ``profiles.LOCAL_ROWS`` counts (one row per distinct value) come to the driver, which runs pass 2 on them in
    one piece; more are cached, range-partitioned on ``(c, v)``, sorted within each range and cached too; pass 1
    collects each range's totals per key (the negatives of its keys in earlier ranges); pass 2 (``mapInPandas``)
    adds up each range's part of 2U from its running count of lower negatives, in int64 (exact below ~3e9 rows).
    """
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    from mlgate.pipeline.spark.profiles import _offsets, first_offsets, small_counts

    if partitions is None:
        partitions = int(counts.sparkSession.conf.get("spark.sql.shuffle.partitions") or 200)
    ours = not counts.is_cached  # a frame the caller cached stays cached
    counts = counts.persist(StorageLevel.MEMORY_AND_DISK)  # the range sampling and pass 1 read the data once
    try:
        local = small_counts(counts)
        if local is not None:  # few distinct values: pass 2 on the driver, over the counts (as ks_statistics)
            segments = local.groupby("c", as_index=False)[["pos", "neg"]].sum()
            parts = next(_twice_u(first_offsets(local), iter([local])))
        else:
            ranged = counts.repartitionByRange(partitions, "c", "v").sortWithinPartitions("c", "v")
            ranged = ranged.persist(StorageLevel.MEMORY_AND_DISK)
            try:
                by_range = ranged.withColumn("p", F.spark_partition_id()).groupBy("p", "c")
                sums = [F.min("v").alias("first"), F.sum("pos").alias("pos"), F.sum("neg").alias("neg")]
                segments = pd.DataFrame(by_range.agg(*sums).toPandas())
                edges = zip(segments["c"], segments["first"], segments["neg"], segments["pos"], strict=True)
                offsets = _offsets([(int(c), f, int(n), int(p)) for c, f, n, p in edges])
                parts = pd.DataFrame(ranged.mapInPandas(partial(_twice_u, offsets), "c int, u long").toPandas())
            finally:
                ranged.unpersist()
    finally:
        if ours:
            counts.unpersist()
    totals: dict[int, list[int]] = {}
    for c, pos, neg in zip(segments["c"], segments["pos"], segments["neg"], strict=True):
        entry = totals.setdefault(int(c), [0, 0, 0])
        entry[1], entry[2] = entry[1] + int(pos), entry[2] + int(neg)
    for c, u in zip(parts["c"], parts["u"], strict=True):
        totals[int(c)][0] += int(u)
    return {c: (u, p, n) for c, (u, p, n) in totals.items()}


def _twice_u(
    offsets: dict[tuple[int, float], tuple[int, int]], batches: Iterator[pd.DataFrame]
) -> Iterator[pd.DataFrame]:
    """Pass 2 of :func:`rank_u`, in one range (rows sorted by key and value): its part of each key's 2U, the
    negatives below a value being the key's negatives in earlier ranges plus those met so far in this one."""
    from mlgate.pipeline.spark.profiles import _runs

    twice: dict[int, int] = {}
    below: dict[int, int] = {}  # a key's negatives so far, carried from one Arrow batch to the next
    for batch in batches:
        pos, neg = batch["pos"].to_numpy(dtype=np.int64), batch["neg"].to_numpy(dtype=np.int64)
        for c, start, end in _runs(batch):
            if c not in below:
                first = float(batch["v"].iat[start])
                if (c, first) not in offsets:
                    raise RuntimeError("the range partitions changed between the two passes of the rank AUC")
                below[c] = offsets[(c, first)][0]
            n = neg[start:end]
            lower = below[c] + np.cumsum(n) - n
            twice[c] = twice.get(c, 0) + int(np.sum(pos[start:end] * (2 * lower + n)))
            below[c] += int(n.sum())
    keys, values = np.array(list(twice), dtype=np.int32), np.array(list(twice.values()), dtype=np.int64)
    yield pd.DataFrame({"c": keys, "u": values})


def _auc(counts: Counts, key: int) -> tuple[float | None, int]:
    """The AUC of one key (None with one class only; ``rank_auc``'s double operations) and its rows."""
    twice, positives, negatives = counts.get(key, (0, 0, 0))
    if positives == 0 or negatives == 0:
        return None, positives + negatives
    return (twice / 2) / (float(positives) * float(negatives)), positives + negatives


# ------------------------------------------------------------------------------------------------- target leaks
def _per_class(grouped: DataFrame, score: Callable[[int], Column], classes: int, offset: int) -> DataFrame:
    """``(c, v, pos, neg)`` rows from per-(feature ``f``, value) counts ``t`` and ``n<i>`` (class i): one row per
    class, keyed ``(f + offset) * classes + i``, valued ``score(i)``."""
    from pyspark.sql import functions as F

    rows = [
        F.struct(
            ((F.col("f") + offset) * classes + i).cast("int").alias("c"),
            score(i).cast("double").alias("v"),
            F.col(f"n{i}").cast("long").alias("pos"),
            (F.col("t") - F.col(f"n{i}")).cast("long").alias("neg"),
        )
        for i in range(classes)
    ]
    return grouped.select(F.inline(F.array(*rows)))


def _rate_counts(counts: SplitCounts, prepared: SparkPrepared, codes: list[int], priors: list[float]) -> DataFrame:
    """Per categorical feature and class: the test rows' counts per training target rate of their category."""
    from pyspark.sql import functions as F

    text = prepared.categorical
    learned = counts.by_class(text, codes, 0, prefix="r_").withColumnsRenamed({"f": "r_f", "v": "r_v"})
    scored = counts.by_class(text, codes, 1)
    joined = scored.join(learned, (F.col("f") == F.col("r_f")) & F.col("v").eqNullSafe(F.col("r_v")), "left")

    def rate(i: int) -> Column:  # integrity._categorical_leak: (positives + prior) / (count + 1.0), unseen: the prior
        shrunk = (F.col(f"r_n{i}").cast("double") + F.lit(priors[i])) / (F.col("r_t").cast("double") + F.lit(1.0))
        return F.when(F.col("r_t").isNull(), F.lit(priors[i])).otherwise(shrunk)

    return _per_class(joined, rate, len(codes), 0)


def leak_scores(split: SparkSplit, prepared: SparkPrepared, counts: SplitCounts) -> list[LeakScore]:
    """The single-feature score of every feature (numeric first, then categorical) of a binary or multiclass
    target, as :func:`checks.integrity.leak_scores` gives it for the same rows (see the module docstring), from
    ``counts`` (:func:`checks.spark_gates.split_counts_for`: features numeric first, in ``prepared``'s order)."""
    from pyspark.sql import functions as F

    classes = {c: n for c, n in counts.class_counts()[0].items() if c is not None}
    # binary: class 1 against the rest; multiclass: each class of the training rows, ascending (np.unique on pandas)
    codes = [1] if prepared.task == "binary" else sorted(classes)
    n_train = sum(classes.values())
    priors = [classes.get(code, 0) / n_train if n_train else 0.5 for code in codes]  # np.mean of the 0/1 labels
    parts = []
    if prepared.numeric:
        parts.append(_per_class(counts.by_class(prepared.numeric, codes, 0), lambda _: F.col("v"), len(codes), 0))
    if prepared.categorical:
        parts.append(_rate_counts(counts, prepared, codes, priors))
    found: Counts = {}
    if parts:
        union = parts[0] if len(parts) == 1 else parts[0].unionByName(parts[1])
        found = rank_u(union.groupBy("c", "v").agg(F.sum("pos").alias("pos"), F.sum("neg").alias("neg")))
    test_rows, k = split.sizes.get("test", 0), len(codes)
    per_class = []
    for i in range(k):
        scores = [numeric_leak_score(name, *_auc(found, f * k + i)) for f, name in enumerate(prepared.numeric)]
        for j, name in enumerate(prepared.categorical):
            auc = _auc(found, (len(prepared.numeric) + j) * k + i)[0]
            scores.append(LeakScore(name, auc, CATEGORICAL_METHOD, test_rows))
        per_class.append(scores)
    return per_class[0] if prepared.task == "binary" else mean_over_classes(per_class)


def _target_leak(split: SparkSplit, prepared: SparkPrepared, settings: IntegritySettings, counts: SplitCounts
                 ) -> list[CheckResult]:  # fmt: skip
    if prepared.task != "regression":
        return judge_target_leak(leak_scores(split, prepared, counts), target=prepared.target, settings=settings)
    message = (
        f"not judged on the Spark engine: the target '{prepared.target}' is numeric (regression), and the "
        f"concordance of each feature with it (Kendall tau-b, {len(prepared.features)} features) has no distributed "
        'computation yet; run the schema layer with data.engine = "pandas" to judge it'
    )
    return [CheckResult(f"{LAYER}.target_leak", LAYER, Status.SKIPPED, message, expected={"max": settings.leak_auc},
                        blocking=False, details={"engine": "spark", "task": "regression"},
                        reason=Reason.NOT_ON_ENGINE)]  # fmt: skip


# ------------------------------------------------------------------------------- identifiers and feature policy
def _identifiers(
    bundle: SparkBundle, figures: dict[str, tuple[int, int, bool]], settings: IntegritySettings
) -> list[CheckResult]:
    """``identifier_reason`` from the figures, without the row-order test (:data:`ROW_ORDER`). A boolean column as
    read is never an identifier (pandas' bool dtype); a numeric one holding a fraction is a measurement."""
    from pyspark.sql import types as T

    read = bundle.dataset.frame.schema
    booleans = {f.name for f in read.fields if isinstance(f.dataType, T.BooleanType)}
    found = []
    for name, (n, distinct, fraction) in figures.items():
        skip = n < MIN_ROWS or name in booleans or (name in bundle.prepared.numeric and fraction)
        found.append((name, None if skip else distinct_reason(distinct, n, share=settings.identifier_share)))
    return [replace(r, details={**r.details, "row_order": ROW_ORDER}) for r in judge_identifiers(found, settings)]


def _feature_policy(bundle: SparkBundle, config: ProjectConfig, values: dict[str, int]) -> list[CheckResult]:
    """:func:`check_feature_policy` on up to :data:`SAMPLE` values of each text feature (the module docstring)."""
    from pyspark.sql import functions as F

    from mlgate.pipeline.spark.split import KEY

    prepared = bundle.prepared
    frame, text = prepared.frame, prepared.categorical
    small, large = [n for n in text if values[n] <= SAMPLE], [n for n in text if values[n] > SAMPLE]
    sample: dict[str, list[Any]] = {name: [] for name in text}
    if small:
        entries = [F.struct(F.lit(name).alias("f"), _col(name).cast("string").alias("v")) for name in small]
        for row in frame.select(F.inline(F.array(*entries))).where(F.col("v").isNotNull()).collect():
            sample[row["f"]].append(row["v"])
    keyed = bundle.split.sided
    if keyed is not None and KEY in keyed.columns:  # the split's row key, cached: no hash of every row to compute
        frame, row_hash = keyed, F.col(KEY)
    else:
        row_hash = F.xxhash64(*[_col(c) for c in sorted(frame.columns)])
    sample |= _smallest_hash_values(frame, row_hash, large) if large else {}
    empty = pd.Series([], dtype=np.float64)  # not text: the personal-data test reads no value of it
    columns = {n: pd.Series(sample[n], dtype=object) if n in sample else empty for n in prepared.features}
    results = check_feature_policy(pd.DataFrame(columns), prepared.features, list(bundle.dataset.frame.columns),
                                   config.features)  # fmt: skip
    first = f"of its first {SAMPLE} values"
    for i, result in enumerate(results):
        column = str(result.details.get("column"))
        if column in large and first in result.message:
            chosen_text = (
                f"of {SAMPLE} of its {values[column]} values (Spark: those of the rows with the smallest hash)"
            )
            results[i] = replace(result, message=result.message.replace(first, chosen_text))
    return results


def _smallest_hash_values(frame: DataFrame, row_hash: Column, names: list[str]) -> dict[str, list[Any]]:
    """Per column: the non-missing values (text) of the :data:`SAMPLE` rows with the smallest ``(row_hash, value)``,
    in one job for all from the ``2 * SAMPLE`` smallest hashes (equal hashes: equal rows), a job of its own for a
    column with fewer than ``SAMPLE`` non-missing values among them."""
    texts = [_col(name).cast("string").alias(f"v{i}") for i, name in enumerate(names)]
    rows = frame.select(row_hash.alias("h"), *texts).orderBy("h").limit(2 * SAMPLE).collect()
    found: dict[str, list[Any]] = {}
    for i, name in enumerate(names):
        pairs = sorted((row["h"], row[f"v{i}"]) for row in rows if row[f"v{i}"] is not None)
        if len(pairs) >= SAMPLE:
            found[name] = [value for _, value in pairs[:SAMPLE]]
            continue
        chosen = frame.where(_col(name).isNotNull()).select(row_hash.alias("h"), _col(name).cast("string").alias("v"))
        found[name] = [row["v"] for row in chosen.orderBy("h", "v").limit(SAMPLE).collect()]
    return found


# ------------------------------------------------------------------------------------------- numeric stability
def _numeric_stability(split: SparkSplit, numeric: Sequence[str]) -> list[CheckResult]:
    """``stability_problem`` of each numeric feature's training values, its counts from one Spark job."""
    from pyspark.sql import functions as F

    from mlgate.pipeline.spark.statistics import number as as_number

    rows = split.sizes.get("train", 0) + split.sizes.get("validation", 0)
    if not numeric:
        return judge_numeric_stability([], rows)
    aggregates = []
    for i, name in enumerate(numeric):
        number = as_number(name)
        present, size = number.isNotNull(), F.abs(number)
        aggregates += [F.sum(F.when(present, 1).otherwise(0)).alias(f"o{i}"),
                       F.sum(F.when(size == F.lit(math.inf), 1).otherwise(0)).alias(f"i{i}"),
                       F.sum(F.when(size > F.lit(_FLOAT32_MAX), 1).otherwise(0)).alias(f"h{i}"),
                       F.var_pop(number).alias(f"s{i}")]  # fmt: skip
    got = split.train_all.agg(*aggregates).collect()[0]
    found = []
    for i, name in enumerate(numeric):
        spread = got[f"s{i}"]
        finite = spread is None or math.isfinite(spread)
        found.append((name, stability_problem(int(got[f"o{i}"] or 0), int(got[f"i{i}"] or 0), int(got[f"h{i}"] or 0),
                                              variance_finite=finite)))  # fmt: skip
    return judge_numeric_stability(found, rows)


def run(bundle: SparkBundle, config: ProjectConfig, counts: SplitCounts | None = None) -> list[CheckResult]:
    """The schema layer's duplicate and integrity checks on Spark, in the pandas engine's order: duplicates, target
    leaks, identifiers, feature policy, numeric stability; counted from ``counts`` (built here when None)."""
    from mlgate.checks.spark_gates import counted, split_counts_for

    prepared, settings = bundle.prepared, config.integrity
    duplicates = judge_duplicates(prepared.report, config.data, source=bundle.dataset.source, examples=None)
    with counted(counts, lambda: split_counts_for(bundle.split, prepared, ())) as found_counts:
        figures = found_counts.distinct(prepared.features)
        leaks = _target_leak(bundle.split, prepared, settings, found_counts)
    return [
        duplicates,
        *leaks,
        *_identifiers(bundle, figures, settings),
        *_feature_policy(bundle, config, {name: n for name, (n, _, _) in figures.items()}),
        *_numeric_stability(bundle.split, prepared.numeric),
    ]
