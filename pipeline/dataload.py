"""Load the configured data: the ONE way mlgate reads ``[data]`` and ``[features]`` (ingest -> prepare -> split).

Three depths, each built on the one before, for the callers that need less: :func:`load_dataset` (the rows as
ingested, with their fingerprint: ``mlgate status``), :func:`load_prepared` (cleaned and typed: the schema gate
and ``mlgate schema infer``, without importing scikit-learn) and :func:`load_data` (split as well: the gated run,
the retrain, the release flow).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlgate.pipeline.config import ProjectConfig
from mlgate.pipeline.errors import ConfigError
from mlgate.pipeline.ingest import Dataset, load
from mlgate.pipeline.prepare import Prepared, group_columns, prepare

if TYPE_CHECKING:
    from mlgate.pipeline.records import DataBundle
    from mlgate.pipeline.spark.prepare import SparkPrepared

__all__ = ["check_task", "load_data", "load_dataset", "load_prepared"]


def load_dataset(config: ProjectConfig) -> Dataset:
    """The configured source's rows as ingested (raises DataError naming the source)."""
    return load(config.data, source=config.data_source)


def load_prepared(config: ProjectConfig, dataset: Dataset | None = None) -> Prepared:
    """The configured data, ingested (unless ``dataset`` is given) and prepared; no split, no sklearn import."""
    dataset = dataset or load_dataset(config)
    prepared = prepare(
        dataset.frame,
        config.data,
        config.features,
        source=dataset.source,
        groups=group_columns(config),
        task=config.model.task,
    )
    check_task(config, prepared)
    return prepared


def check_task(config: ProjectConfig, prepared: Prepared | SparkPrepared) -> None:
    """The task the data told (``model.task = "auto"``) fits the config, and the class names it uses exist."""
    if config.model.task == "auto":  # the data told the task: the config must fit it like a stated one
        from mlgate.pipeline.config_task import task_problems

        for key, reason in task_problems(config, prepared.task)[:1]:
            where = config.path or "config"
            raise ConfigError(f"{where}: key '{key}': {reason} ({prepared.task}: {prepared.task_decided_by})")
    _check_classes(config, prepared)


def _check_classes(config: ProjectConfig, prepared: Prepared | SparkPrepared) -> None:
    """The class labels ``quality.class_costs`` and ``quality.class_thresholds`` name are the target's classes."""
    if prepared.task != "multiclass":
        return
    where = config.path or "config"
    names = [str(c) for c in prepared.classes]
    quality = config.quality
    if quality.class_costs is not None:
        from mlgate.pipeline.task_metrics import class_cost_array

        try:
            class_cost_array(quality.class_costs, prepared.classes)
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from exc
    for label in quality.class_thresholds:
        if label != "*" and label not in names:
            raise ConfigError(
                f"{where}: quality.class_thresholds.{label}: '{label}' is not a class of '{prepared.target}' "
                f'(classes: {", ".join(names)}; "*" for every class)'
            )


def load_data(config: ProjectConfig) -> DataBundle:
    """Ingest, prepare and split the configured data with ``split.random_state``."""
    from mlgate.pipeline.records import DataBundle
    from mlgate.pipeline.split import split

    dataset = load_dataset(config)
    prepared = load_prepared(config, dataset)
    settings = config.split
    if config.data.engine == "spark" and settings.method == "auto":  # the rows the Spark engine would split off
        settings = settings.model_copy(update={"method": "row_key"})
    parts = split(
        prepared,
        settings,
        random_state=config.split.random_state,
        source=dataset.source,
        time_column=config.data.event_time_column,
    )
    return DataBundle(dataset, prepared, parts)
