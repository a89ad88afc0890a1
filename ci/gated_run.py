"""The gated run: data -> data gates -> model -> registry -> model gates -> report -> promotion -> exit code.

Every gate result is collected before anything is decided. Bad input (config, schema file, data) raises
before anything is written, so it leaves no report and no registry entry. The report files are rendered in
memory and written atomically at the end; promotion is the last registry write and a single alias move.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgate.checks.evidence import Evidence
from mlgate.checks.layers import DATA_LAYERS, MODEL_LAYERS, configured_layers, run_layers
from mlgate.checks.result import ALL_LAYERS, CheckResult, GateReport
from mlgate.ci.run_record import environment_record, git_commit, run_metadata
from mlgate.pipeline.config import ProjectConfig
from mlgate.pipeline.dataload import load_data
from mlgate.pipeline.records import Candidate, ChampionRecord, DataBundle, LoggedModel
from mlgate.pipeline.retrain import PendingRetrain, child_thread_count, snapshot_file, start_retrain, thread_counts

if TYPE_CHECKING:
    from mlgate.ci.deepchecks_layer import PendingDeepchecks

__all__ = [
    "GatedRun",
    "build_data_evidence",
    "environment_record",
    "git_commit",
    "run_gates",
    "run_pipeline",
]

#: Called with the name of each stage as it starts; the CLI shows it as progress.
StageHook = Callable[[str], Any]


@dataclass
class GatedRun:
    """What one gated run produced (the report is also written to disk by the caller)."""

    report: GateReport
    evidence: Evidence | None  # None on the Spark engine (its data stays in Spark: ci.spark_run)
    timings: dict[str, float] = field(default_factory=dict)
    rendered: dict[str, str] | None = None  # the report files as logged to MLflow, when registered
    paths: dict[str, Path] = field(default_factory=dict)  # kind -> written file, when ``out`` was given


class _Clock:
    def __init__(self, hook: StageHook | None) -> None:
        self.hook = hook
        self.timings: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        if self.hook:
            self.hook(name)
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - start


def build_data_evidence(config: ProjectConfig, data: DataBundle | None = None) -> Evidence:
    data = data or load_data(config)
    return Evidence(config=config, dataset=data.dataset, prepared=data.prepared, split=data.split)


def run_gates(
    evidence: Evidence,
    layers: Sequence[str],
    clock: _Clock | None = None,
    retrain: PendingRetrain | None = None,
    deepchecks: PendingDeepchecks | None = None,
) -> list[CheckResult]:
    """Run ``layers`` (in ALL_LAYERS order) on ``evidence``; the one implementation the CLI and pytest share.

    A ``retrain`` started earlier (:func:`start_retrain_for`) is waited for only when the reproducibility layer
    is about to run, and its outcome handed to it in ``Evidence.retrain``; a ``deepchecks`` runner likewise
    when the deepchecks layer is next (``Evidence.deepchecks``).
    """
    clock = clock or _Clock(None)

    def before(layer: str, evidence: Evidence) -> Evidence:
        if layer == "deepchecks" and deepchecks is not None and evidence.deepchecks is None:
            with clock.stage("deepchecks: wait for the runner"):
                return dataclasses.replace(evidence, deepchecks=deepchecks.outcome().result)
        if layer != "reproducibility" or retrain is None or evidence.retrain is not None:
            return evidence
        with clock.stage("reproducibility: wait for retrain"):
            outcome = retrain.outcome(parent_threads=max(thread_counts().values(), default=1))
        return dataclasses.replace(evidence, retrain=outcome)

    ordered = [name for name in ALL_LAYERS if name in layers]
    return run_layers(evidence, ordered, stage=clock.stage, before=before)


def start_retrain_for(config: ProjectConfig, layers: Sequence[str]) -> PendingRetrain | None:
    """Start the reproducibility gate's fresh-process retrain now, when this run will judge it; else None.

    Started as soon as the data is split, it runs concurrently with training, the registry and the other gates
    (the child runs at another native thread count than this process: see :mod:`checks.reproducibility`).
    """
    if "reproducibility" not in layers or not config.reproducibility.enabled or config.path is None:
        return None
    threads = child_thread_count(thread_counts())
    timeout, data_file = config.reproducibility.retrain_timeout_s, snapshot_file(config)
    return start_retrain(config.path, threads=threads, timeout_s=timeout, data_file=data_file)


def _local_artifact(candidate: Candidate, data: DataBundle, folder: Path) -> LoggedModel:
    """Save the candidate the way the registry does, for runs that do not register (``mlgate gate``)."""
    from mlgate.pipeline.artifact import save_model

    path = folder / "model.skops"
    sha = save_model(candidate.pipeline, path)
    return LoggedModel(run_id="local", model_uri=path.as_uri(), sha256=sha, local_path=path)


def run_pipeline(
    config: ProjectConfig,
    *,
    layers: Sequence[str] | None = None,
    register: bool = True,
    promote: bool = True,
    on_stage: StageHook | None = None,
    registry_factory: Callable[[ProjectConfig], Any] | None = None,
    out: Path | None = None,
    lock_timeout_s: float | None = None,
) -> GatedRun:
    """Run the gated pipeline for ``layers`` (default: the config's, :func:`checks.layers.configured_layers`);
    register (and maybe promote) the candidate when ``register``.

    With ``out``, the report files are written there, and always BEFORE the champion alias moves: the folder
    is checked first (before any work), the reports are written, then logged, then the promotion happens.
    Raises MlgateError subclasses for bad input before anything is written.
    A registering run holds the store lock (:mod:`pipeline.store_lock`) from before it reads the champion until
    after the promotion, waiting up to ``lock_timeout_s`` (default 300 s) for another run holding it.
    """
    from mlgate.checks.report import check_out_dir
    from mlgate.checks.schema import load_schema

    if out is not None:
        check_out_dir(out)  # an unusable --out is a usage error, found before any work is done
    started = datetime.now(UTC)
    clock = _Clock(on_stage)
    commit = git_commit(config.root)
    layers = configured_layers(config) if layers is None else layers
    if "schema" in layers:
        load_schema(config.schema_path)  # a missing or broken schema file is a usage error: fail first
    if "deepchecks" in layers:
        from mlgate.ci.deepchecks_env import find_env

        find_env()  # not built, or broken: one line saying how to build it (exit 2), before any work
    if config.data.engine == "spark":  # the data side in Spark, up to the report (ci.spark_run)
        from mlgate.ci.spark_run import run_spark_pipeline

        return run_spark_pipeline(config, layers, clock, started, commit, register=register, promote=promote,
                                  on_stage=on_stage, registry_factory=registry_factory, out=out,
                                  lock_timeout_s=lock_timeout_s)  # fmt: skip
    with clock.stage("ingest + prepare + split"):
        data = load_data(config)
    model_layers = [name for name in layers if name in MODEL_LAYERS]
    with ExitStack() as cleanup:  # kills an early-started retrain whatever happens below (Ctrl-C included)
        retrain = start_retrain_for(config, model_layers)
        if retrain is not None:
            cleanup.enter_context(retrain)
        return judge_and_report(config, data, layers, model_layers, retrain, clock, started, commit,
                      register=register, promote=promote, on_stage=on_stage, registry_factory=registry_factory,
                      out=out, lock_timeout_s=lock_timeout_s)  # fmt: skip


@dataclass
class _Stages:
    """What one gated run carries from stage to stage (see :func:`judge_and_report`)."""

    config: ProjectConfig
    data: DataBundle
    clock: _Clock
    started: datetime
    commit: str | None
    scratch: Path
    registry: Any = None
    champion: ChampionRecord | None = None
    logged: LoggedModel | None = None
    identical: bool = False  # the candidate is the champion again: judged and reported, not registered
    attachments: dict[str, Path] = field(default_factory=dict)  # files written and logged beside the reports
    data_record: dict[str, Any] | None = None  # run.data as the Spark engine recorded it (ci.spark_run)


def _start_deepchecks(run: _Stages, evidence: Evidence, cleanup: ExitStack) -> PendingDeepchecks:
    """Export the splits (and the candidate's predictions) and start deepchecks' runner on them: it works on the
    other core while this process runs the model gates; killed if the run stops before it is waited for."""
    from mlgate.ci.deepchecks_layer import start

    with run.clock.stage("deepchecks: export + start"):
        return cleanup.enter_context(start(run.config, run.data, evidence.model, run.scratch))


def _deepchecks_section(run: _Stages, runner: PendingDeepchecks | None) -> dict[str, Any]:
    """The report's ``run.deepchecks`` (and the HTML reports to attach), when the layer ran."""
    if runner is None:
        return {}
    from mlgate.ci.deepchecks_layer import run_section

    outcome = runner.outcome()
    run.attachments = dict(outcome.attachments)
    return {"deepchecks": run_section(outcome)}


def judge_and_report(
    config: ProjectConfig,
    data: DataBundle,
    layers: Sequence[str],
    model_layers: list[str],
    pending: PendingRetrain | None,
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
    data_results: list[CheckResult] | None = None,
    data_record: dict[str, Any] | None = None,
) -> GatedRun:
    """:func:`run_pipeline` once the data is loaded (and the retrain, when judged, started): data gates, then
    (under the store lock) the model stage, waivers, and the report with registration and promotion.

    ``data_results`` and ``data_record``: the data layers' results and ``run.data`` when another engine judged the
    data (:mod:`ci.spark_run`); ``data`` is then the model side's rows."""
    from mlgate.checks.waivers import apply_waivers
    from mlgate.pipeline.store_lock import DEFAULT_LOCK_TIMEOUT_S, store_lock

    evidence = build_data_evidence(config, data)
    current = None
    if data_results is not None:
        results = list(data_results)
    else:
        if "drift" in layers and config.drift.current is not None:  # a new batch vs the champion's training data
            from mlgate.ci.current_batch import batch_section, with_current_batch

            with clock.stage("drift: current batch + reference"):
                evidence = with_current_batch(evidence, data)
        current = batch_section(evidence) if evidence.current is not None else None
        results = run_gates(evidence, [name for name in layers if name in DATA_LAYERS], clock)
    timeout = DEFAULT_LOCK_TIMEOUT_S if lock_timeout_s is None else lock_timeout_s
    lock = store_lock(config, enabled=register, timeout_s=timeout, on_wait=on_stage)
    with lock, tempfile.TemporaryDirectory(prefix="mlgate-") as scratch, ExitStack() as cleanup:
        run = _Stages(config, data, clock, started, commit, Path(scratch), data_record=data_record)
        deepchecks = "deepchecks" in layers
        if model_layers or register or (deepchecks and "model_evaluation" in config.deepchecks.suites):
            evidence = _model_stage(run, model_layers, pending, register=register, registry_factory=registry_factory)
        runner = _start_deepchecks(run, evidence, cleanup) if deepchecks else None
        judged = [*model_layers, *(["deepchecks"] if deepchecks else [])]
        results += run_gates(evidence, judged, clock, retrain=pending, deepchecks=runner)
        run_meta = evidence.run or run_metadata(config, data, None, started, commit)
        if data_record is not None:
            run_meta.data = data_record
        if current is not None:
            run_meta.data["current"] = current
        results = apply_waivers(results, list(config.waivers), today=started.date())
        run_meta.finish(
            layers_run=[name for name in ALL_LAYERS if name in layers],
            timings_s={k: round(v, 3) for k, v in clock.timings.items()},
            now=datetime.now(UTC),
        )
        report = GateReport.collect(results, run={**run_meta.to_json(), **_deepchecks_section(run, runner)})
        report, rendered, paths = _report_stage(run, report, promote=promote, out=out)
    return GatedRun(report=report, evidence=evidence, timings=clock.timings, rendered=rendered, paths=paths)


def _model_stage(
    run: _Stages,
    model_layers: list[str],
    pending: PendingRetrain | None,
    *,
    register: bool,
    registry_factory: Callable[[ProjectConfig], Any] | None,
) -> Evidence:
    """Train the candidate (and the baselines the quality gate compares with), read the champion, log the
    candidate (or save it locally); return the evidence the model gates judge."""
    from mlgate.ci.registration import champion_evidence, champion_packages, log_candidate, make_registry, store_exists
    from mlgate.pipeline.candidate import train_baselines, train_candidate  # scikit-learn: model layers only
    from mlgate.pipeline.diagnostics import diagnose

    config, data, clock = run.config, run.data, run.clock
    with clock.stage("train"):
        candidate = train_candidate(config, data, random_state=config.model.random_state)
    baselines = diagnostics = None
    if "quality" in model_layers:
        with clock.stage("train baselines"):
            baselines = train_baselines(config, data)
        with clock.stage("diagnostics"):  # permutation importance on validation, training-row probabilities
            features, seed, task = data.prepared.features, config.quality.random_state, data.prepared.task
            diagnostics = diagnose(candidate.pipeline, data.split, features=features, random_state=seed, task=task)
    run_meta = run_metadata(config, data, candidate, run.started, run.commit)
    if run.data_record is not None:
        run_meta.data = run.data_record
    if register or store_exists(config):
        run.registry = (registry_factory or make_registry)(config)
        with clock.stage("registry: champion"):
            run.champion = champion_evidence(run.registry, config)
    if register:
        from mlgate.ci.identical import identical_champion

        run.identical = identical_champion(config, data, candidate, run_meta, run.champion) is not None
    if register and not run.identical:
        with clock.stage("registry: log candidate"):
            run.logged = log_candidate(run.registry, config, data, candidate, run_meta, run.scratch)
    artifact = run.logged or _local_artifact(candidate, data, run.scratch)
    packages = None
    if run.champion is not None and "reproducibility" in model_layers:  # reproducibility.dependencies
        packages = champion_packages(run.registry, run.champion, run.scratch)
    recipes = None
    if run.champion is not None and run.champion.model is not None and "quality" in model_layers:
        from mlgate.pipeline.cross_fit import cross_fit_recipes

        with clock.stage("cross-fit recipes"):  # quality.champion_recipe: both recipes on folds of every row
            recipes = cross_fit_recipes(config, data, candidate.pipeline, run.champion.model)
    reference = None
    if run.champion is not None and "staleness" in model_layers:  # staleness.data_distribution compares with it
        from mlgate.ci.current_batch import champion_reference

        reference = champion_reference(run.registry, run.champion)
    return Evidence(
        config=config,
        dataset=data.dataset,
        prepared=data.prepared,
        split=data.split,
        model=candidate,
        champion=run.champion,
        artifact=artifact,
        run=run_meta,
        baselines=baselines,
        diagnostics=diagnostics,
        champion_packages=packages,
        drift_reference=reference,
        recipes=recipes,
    )


def _report_stage(
    run: _Stages, report: GateReport, *, promote: bool, out: Path | None
) -> tuple[GateReport, dict[str, str] | None, dict[str, Path]]:
    """Registered: write and log the reports, then promote (:func:`ci.registration.finish_registration`).
    Not registered: write the reports to ``out`` when given; an identical re-run's say so and name the champion."""
    if run.identical and run.champion is not None:
        from mlgate.ci.identical import unregistered_section

        section = unregistered_section(run.registry, run.champion, promote=promote)
        report = dataclasses.replace(report, run={**report.run, "registry": section})
    if run.registry is not None and run.logged is not None:
        from mlgate.ci.registration import finish_registration

        with run.clock.stage("registry: report + promotion"):
            return finish_registration(
                run.registry,
                run.config,
                run.logged,
                report,
                promote=promote,
                scratch=run.scratch,
                champion_before=run.champion.version if run.champion else None,
                out=out,
                attachments=run.attachments,
            )
    if out is not None:
        from mlgate.checks.report import write_reports

        return report, None, write_reports(report, out, attachments=run.attachments)
    return report, None, {}
