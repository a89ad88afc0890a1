"""The data layers on the Spark engine: schema, balance and drift judged from a :class:`SparkBundle`.

The Spark counterpart of :func:`checks.layers.run_layers` for the data layers: the same layer order, the same
``"<layer> gate"`` stages, the same guard (a layer that raises is one blocking ERROR result and the others still run).
Each layer computes its figures in Spark and words them with the pandas engine's code
(:mod:`checks.spark_schema`, :mod:`checks.spark_integrity`, :mod:`checks.spark_gates`), so a report says the same
whichever engine produced it. Nothing here imports PySpark: the bundle's frames carry it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

from mlgate.checks.layers import DATA_LAYERS, guarded
from mlgate.checks.result import CheckResult
from mlgate.pipeline.config import ProjectConfig

if TYPE_CHECKING:
    from mlgate.pipeline.spark.dataload import SparkBundle
    from mlgate.pipeline.spark.statistics import SplitCounts

__all__ = ["run_spark_layers"]


def _schema(bundle: SparkBundle, config: ProjectConfig, counts: SplitCounts) -> list[CheckResult]:
    from mlgate.checks import spark_integrity, spark_schema
    from mlgate.checks.schema import load_schema

    schema = load_schema(config.schema_path)
    results: list[CheckResult] = spark_schema.validate_prepared(
        bundle.prepared,
        bundle.dataset.frame,
        schema,
        source=bundle.dataset.source,
        schema_file=config.schema_file,
        missing_values=config.data.missing_values,
    )
    integrity: list[CheckResult] = spark_integrity.run(bundle, config, counts)
    return [*results, *integrity]


def _balance(bundle: SparkBundle, config: ProjectConfig, counts: SplitCounts) -> list[CheckResult]:
    from mlgate.checks.spark_gates import balance

    return balance(bundle.split, bundle.prepared, config.balance, counts)


def _drift(bundle: SparkBundle, config: ProjectConfig, counts: SplitCounts) -> list[CheckResult]:
    from mlgate.checks.spark_gates import drift

    return drift(bundle.split, bundle.prepared, config.drift, counts)


_LAYERS: dict[str, Callable[[SparkBundle, ProjectConfig, SplitCounts], list[CheckResult]]] = {
    "schema": _schema,
    "balance": _balance,
    "drift": _drift,
}


def run_spark_layers(
    bundle: SparkBundle,
    config: ProjectConfig,
    layers: Iterable[str],
    *,
    stage: Callable[[str], AbstractContextManager[Any]] | None = None,
) -> list[CheckResult]:
    """Judge the data ``layers`` (in :data:`checks.layers.DATA_LAYERS` order; others are ignored) on ``bundle``."""
    wanted = set(layers)
    chosen = [name for name in DATA_LAYERS if name in wanted]
    if not chosen:
        return []
    from mlgate.checks.spark_gates import split_counts_for

    # one counting pass for the three layers, computed by the first job that reads it, dropped after the last
    counts = split_counts_for(bundle.split, bundle.prepared, config.balance.sensitive)
    results: list[CheckResult] = []
    try:
        for layer in chosen:
            with stage(f"{layer} gate") if stage is not None else nullcontext():
                judge = _LAYERS[layer]
                results.extend(guarded(layer, lambda: judge(bundle, config, counts)))  # noqa: B023 (called at once)
    finally:
        counts.close()
    return results
