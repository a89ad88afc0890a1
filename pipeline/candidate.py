"""The training sequence as one function, shared by the gated run and the fresh-process retrain.

``load_data`` (ingest -> prepare -> split) and ``train_candidate`` (fit -> threshold -> score) are the
only way mlgate produces a model, so the reproducibility gate's retrain (``python -m pipeline.retrain``)
runs exactly the code the gated run ran.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline import evaluate as ev
from pipeline.config import ProjectConfig
from pipeline.errors import TrainingError
from pipeline.ingest import Dataset, load
from pipeline.prepare import Prepared, group_columns, prepare
from pipeline.slices import group_labels
from pipeline.split import Split, split
from pipeline.train import TrainedModel, fit

__all__ = ["Candidate", "DataBundle", "evaluation_groups", "load_data", "train_candidate"]


@dataclass(frozen=True)
class DataBundle:
    dataset: Dataset
    prepared: Prepared
    split: Split


@dataclass(frozen=True)
class Candidate:
    """A fitted model with its decision threshold and its scores on the test split."""

    trained: TrainedModel
    threshold: float
    threshold_source: str  # "fixed" or "validation"
    proba_test: np.ndarray
    evaluation: ev.Evaluation
    proba_validation: np.ndarray | None = None

    @property
    def pipeline(self):
        return self.trained.pipeline


def load_data(config: ProjectConfig) -> DataBundle:
    dataset = load(config.data, source=config.data_source)
    prepared = prepare(dataset.frame, config.data, config.features, source=dataset.source, groups=group_columns(config))
    parts = split(prepared, config.split, random_state=config.split.random_state, source=dataset.source)
    return DataBundle(dataset, prepared, parts)


def evaluation_groups(config: ProjectConfig, frame: pd.DataFrame) -> dict[str, pd.Series]:
    """Slice columns and sensitive attributes (banded) as named groupings of ``frame``'s rows."""
    groups: dict[str, pd.Series] = {c: frame[c].astype("string") for c in config.slices.columns}
    for attribute in config.balance.sensitive:
        groups[attribute.column] = group_labels(frame, attribute)
    return groups


def train_candidate(
    config: ProjectConfig, data: DataBundle, *, random_state: int | None, model_settings=None
) -> Candidate:
    """Fit on the training split, choose the threshold (never on test), score the test split."""
    settings = model_settings or config.model
    prepared, parts = data.prepared, data.split
    try:
        trained = fit(
            settings,
            parts.train[prepared.features],
            parts.y_train,
            numeric=prepared.numeric,
            categorical=prepared.categorical,
            random_state=random_state,
        )
    except TrainingError as exc:
        if model_settings is not None or config.path is None:
            raise
        raise TrainingError(f"{config.path}: {exc}") from exc  # the config file whose model.* key is named
    proba_validation = None
    quality = config.quality
    if parts.validation is not None:
        proba_validation = ev.positive_proba(trained.pipeline, parts.validation[prepared.features])
    if quality.decision_threshold == "optimize":
        if proba_validation is None or quality.cost_matrix is None:
            from pipeline.errors import ConfigError

            raise ConfigError(
                "quality.decision_threshold = 'optimize' needs split.validation_size > 0 and quality.cost_matrix"
            )
        threshold = ev.choose_threshold(parts.y_validation.to_numpy(), proba_validation, quality.cost_matrix)
        source = "validation"
    else:
        threshold, source = float(quality.decision_threshold), "fixed"
    proba_test = ev.positive_proba(trained.pipeline, parts.test[prepared.features])
    metrics = tuple(dict.fromkeys((*ev.DEFAULT_METRICS, *quality.thresholds)))
    metrics = tuple(m for m in metrics if m != "expected_cost")
    evaluation = ev.evaluate(
        parts.y_test,
        proba_test,
        threshold=threshold,
        metrics=metrics,
        costs=quality.cost_matrix,
        groups=evaluation_groups(config, parts.test),
    )
    return Candidate(trained, threshold, source, proba_test, evaluation, proba_validation)
