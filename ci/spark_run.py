"""The gated run on the Spark engine (``data.engine = "spark"``): the data side in Spark, the model side as always.

:func:`ci.gated_run.run_pipeline` hands a Spark project here after its usage checks (the ``--out`` folder, the schema
file). A Spark session is started from ``[spark]`` (:mod:`pipeline.spark.session`: one line and exit 2 for no PySpark,
no Java, an unreachable master, no executor within ``spark.connect_timeout_s``), the data is read, prepared and split
in Spark (:mod:`pipeline.spark.dataload`) and the data layers judge it there (:mod:`checks.spark_layers`). When the
run trains (model layers, or registering), the model side's rows come to this process
(:func:`pipeline.spark.model_data.collect_for_model`: a sample of the training split, all test rows) and the session
stops; training, the registry, the model layers, the report and the promotion are then the pandas engine's
(:func:`ci.gated_run.judge_and_report`). The report's ``run.data`` is the Spark engine's (counts over all rows) with
``run.data.engine``: the engine, Spark's version, the master, the executors and the rows the model side used.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgate.checks.layers import MODEL_LAYERS
from mlgate.checks.result import ALL_LAYERS, CheckResult, GateReport
from mlgate.ci.run_record import data_section, run_meta
from mlgate.pipeline.config import ProjectConfig
from mlgate.pipeline.spark.session import EngineError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from mlgate.ci.gated_run import GatedRun, StageHook, _Clock

__all__ = ["engine_record", "run_spark_pipeline"]


def engine_record(spark: SparkSession, master: str) -> dict[str, Any]:
    """``run.data.engine``: what ran the data side (no conf values: they may name hosts or paths)."""
    context = spark.sparkContext
    executors = context._jsc.sc().getExecutorMemoryStatus().size() - 1  # minus the driver
    return {
        "name": "spark",
        "spark_version": spark.version,
        "master": master,
        "default_parallelism": context.defaultParallelism,
        "executors": max(executors, 0) if not master.startswith("local") else 0,
    }


def _refuse_unbuilt(config: ProjectConfig, layers: Sequence[str]) -> None:
    """One line (exit 2, before Spark starts) for what the Spark engine does not do yet."""
    if "deepchecks" in layers:
        raise EngineError("the deepchecks layer does not run on data.engine = 'spark' yet: use --no-deepchecks")
    if "drift" in layers and config.drift.current is not None:
        raise EngineError("key 'drift.current': a current batch is not judged on data.engine = 'spark' yet")


def run_spark_pipeline(
    config: ProjectConfig,
    layers: Sequence[str],
    clock: _Clock,
    started: datetime,
    commit: str | None,
    *,
    register: bool,
    promote: bool,
    on_stage: StageHook | None,
    registry_factory: Callable[[ProjectConfig], Any] | None,
    out: Path | None,
    lock_timeout_s: float | None,
) -> GatedRun:
    """The data layers on Spark, then (when model layers run or the run registers) the model side on the rows
    :func:`pipeline.spark.model_data.collect_for_model` brings back, through the pandas engine's stages."""
    from mlgate.checks.spark_layers import run_spark_layers
    from mlgate.ci.gated_run import judge_and_report, start_retrain_for
    from mlgate.pipeline.spark.dataload import load_spark_data
    from mlgate.pipeline.spark.jdbc import session_conf
    from mlgate.pipeline.spark.model_data import collect_for_model, sample_record
    from mlgate.pipeline.spark.session import session

    _refuse_unbuilt(config, layers)
    model_layers = [name for name in layers if name in MODEL_LAYERS]
    data = None
    extra = session_conf(config.data, config.data_source)  # the JDBC driver's jar, for a SQL source
    with ExitStack() as running:
        with clock.stage("spark: start session"):
            spark = running.enter_context(session(config.spark, extra_conf=extra))
        with clock.stage("ingest + prepare + split"):
            bundle = load_spark_data(spark, config)
        results = run_spark_layers(bundle, config, layers, stage=clock.stage)
        engine = engine_record(spark, config.spark.master)
        if model_layers or register:
            with clock.stage("spark: collect the model side's rows"):
                data = collect_for_model(bundle, config)
            engine["model_rows"] = sample_record(bundle, data, config.spark.train_sample_rows)
    parts = bundle.split
    record = {**data_section(bundle.dataset, bundle.prepared, parts.sizes, parts.random_state, parts.by),
              "engine": engine}  # fmt: skip
    if data is None:
        return _data_only(config, layers, results, record, clock, started, commit, out)
    with ExitStack() as cleanup:  # the retrain reads the same rows on a local Spark of its own
        retrain = start_retrain_for(config, model_layers)
        if retrain is not None:
            cleanup.enter_context(retrain)
        return judge_and_report(config, data, layers, model_layers, retrain, clock, started, commit,
                                register=register, promote=promote, on_stage=on_stage,
                                registry_factory=registry_factory, out=out, lock_timeout_s=lock_timeout_s,
                                data_results=results, data_record=record)  # fmt: skip


def _data_only(
    config: ProjectConfig,
    layers: Sequence[str],
    results: list[CheckResult],
    record: dict[str, Any],
    clock: _Clock,
    started: datetime,
    commit: str | None,
    out: Path | None,
) -> GatedRun:
    """The report of a run that judged the data layers only (``mlgate gate --layer schema ...``)."""
    from mlgate.checks.waivers import apply_waivers
    from mlgate.ci.gated_run import GatedRun

    meta = run_meta(config, started, commit, record)
    results = apply_waivers(results, list(config.waivers), today=started.date())
    meta.finish(
        layers_run=[name for name in ALL_LAYERS if name in layers],
        timings_s={k: round(v, 3) for k, v in clock.timings.items()},
        now=datetime.now(UTC),
    )
    report = GateReport.collect(results, run=meta.to_json())
    paths: dict[str, Path] = {}
    if out is not None:
        from mlgate.checks.report import write_reports

        paths = write_reports(report, out)
    return GatedRun(report=report, evidence=None, timings=clock.timings, paths=paths)
