"""The monitoring reference a registered candidate logs (``monitor/``, :mod:`pipeline.monitor_reference`), built
from what the gated run already holds: the split, the candidate's test scores and threshold, the config.

The offline metrics are the configured live metrics (:func:`checks.monitor_quality.live_metrics`) on the test
split with the quality gate's seeded bootstrap (``quality.bootstrap_resamples``, ``bootstrap_confidence``,
``random_state``), so ``mlgate monitor`` and a dashboard can show what the champion promised next to what it
delivers. ``drift.log_reference = false`` keeps training values out of the store here too: the reference then
holds no training rows and no category counts (input drift is skipped with that reason), only test scores.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlgate.checks.bootstrap import bootstrap_metric
from mlgate.checks.drift import category_text
from mlgate.checks.monitor_quality import live_metrics
from mlgate.checks.quality_common import check_metric_name
from mlgate.checks.stats import MISSING
from mlgate.pipeline.batch import reference_rows
from mlgate.pipeline.config import ProjectConfig
from mlgate.pipeline.monitor_reference import MONITOR_DIR, MonitorReference, write_monitor_reference
from mlgate.pipeline.records import Candidate, DataBundle

__all__ = ["build_profile", "category_table", "offline_metrics", "write_profile"]


def category_table(column: pd.Series) -> dict[str, int]:
    """Exact counts of ``column``'s categories as the drift gate compares them (:func:`checks.drift.category_text`,
    missing as :data:`checks.stats.MISSING`)."""
    counts = category_text(column).fillna(MISSING).value_counts(sort=True)
    return {str(k): int(v) for k, v in counts.items()}


def offline_metrics(
    config: ProjectConfig, y: np.ndarray, proba: np.ndarray, threshold: float
) -> dict[str, dict[str, Any]]:
    """Each configured live metric on the test rows with its seeded bootstrap interval (as the quality gate)."""
    quality = config.quality
    found: dict[str, dict[str, Any]] = {}
    for name in live_metrics(config):
        if check_metric_name(name, quality) is not None:
            continue
        boot = bootstrap_metric(
            name,
            y,
            proba,
            threshold=threshold,
            costs=quality.cost_matrix,
            resamples=quality.bootstrap_resamples,
            confidence=quality.bootstrap_confidence,
            random_state=quality.random_state,
        )
        found[name] = {**boot.to_dict(), "random_state": quality.random_state, "rows": len(y)}
    return found


def build_profile(config: ProjectConfig, data: DataBundle, candidate: Candidate) -> MonitorReference:
    """The candidate's monitoring reference (module docstring)."""
    prepared, split = data.prepared, data.split
    parts = [split.train, *([split.validation] if split.validation is not None else [])]
    rows_total = sum(len(part) for part in parts)
    seed = config.split.random_state
    if config.drift.log_reference:
        rows = reference_rows(data, max_rows=config.drift.reference_max_rows, random_state=seed)
        training = pd.concat([part[prepared.categorical] for part in parts])
        counts = {column: category_table(training[column]) for column in prepared.categorical}
    else:
        rows = pd.DataFrame(columns=[*prepared.features, prepared.target])
        counts = {}
    y_test = split.y_test.to_numpy(dtype=np.int64)
    proba = np.asarray(candidate.proba_test, dtype=np.float64)
    monitor = config.monitor
    return MonitorReference(
        features=tuple(prepared.features),
        numeric=tuple(prepared.numeric),
        categorical=tuple(prepared.categorical),
        target=prepared.target,
        positive_label=config.data.positive_label,
        threshold=float(candidate.threshold),
        rows=rows,
        rows_total=rows_total,
        random_state=seed,
        category_counts=counts,
        test_proba=proba,
        test_labels=y_test,
        offline_metrics=offline_metrics(config, y_test, proba, candidate.threshold),
        latency_budget_ms={"p50": monitor.latency_p50_ms, "p99": monitor.latency_p99_ms},
        meta={
            "project": config.name,
            "model_name": config.mlflow.model_name,
            "threshold_source": candidate.threshold_source,
            "training_rows_logged": config.drift.log_reference,
            "max_rows": config.drift.reference_max_rows,
        },
    )


def write_profile(config: ProjectConfig, data: DataBundle, candidate: Candidate, staging: Path) -> Path:
    """:func:`build_profile` written to ``staging/monitor`` (the folder logged as the run's ``monitor/``)."""
    return write_monitor_reference(build_profile(config, data, candidate), staging / MONITOR_DIR)
