"""The training sequence as one function, shared by the gated run and the fresh-process retrain.

``load_data`` (ingest -> prepare -> split) and ``train_candidate`` (fit -> threshold -> score) are the
only way mlgate produces a model, so the reproducibility gate's retrain (``python -m pipeline.retrain``)
runs exactly the code the gated run ran.
"""

from __future__ import annotations

import numpy as np

from mlgate.pipeline import evaluate as ev
from mlgate.pipeline.config import ModelSettings, ProjectConfig, QualitySettings
from mlgate.pipeline.dataload import load_data
from mlgate.pipeline.errors import MlgateError, TrainingError
from mlgate.pipeline.records import BaselineOutput, Candidate, DataBundle, evaluation_groups
from mlgate.pipeline.task_metrics import costs_for
from mlgate.pipeline.train import TrainedModel, fit

__all__ = [
    "BASELINES",
    "Candidate",
    "DataBundle",
    "evaluation_groups",
    "load_data",
    "train_baselines",
    "train_candidate",
]

#: The simpler models a candidate must beat: estimator short name -> its parameters (binary, multi-class).
BASELINES: dict[str, dict[str, object]] = {
    "majority_class": {"strategy": "prior"},  # predicts the majority class, probability = the class share
    "logistic_regression": {"max_iter": 1000},  # scikit-learn defaults (C=1.0), enough iterations to converge
}
#: ... and for a regression target: the mean, the median, and a ridge regression with scikit-learn's defaults.
REGRESSION_BASELINES: dict[str, dict[str, object]] = {"mean": {}, "median": {}, "ridge": {}}


def baselines_for(task: str) -> dict[str, dict[str, object]]:
    return REGRESSION_BASELINES if task == "regression" else BASELINES


def _decision(quality: QualitySettings, task: str) -> str:
    """How a multi-class or regression model decides (its ``threshold_source``)."""
    if task == "regression":
        return "prediction"
    return "least_expected_cost" if quality.class_costs is not None else "most_probable"


def train_candidate(
    config: ProjectConfig, data: DataBundle, *, random_state: int | None, model_settings: ModelSettings | None = None
) -> Candidate:
    """Fit on the training split, choose the threshold (never on test), score and evaluate the test split."""
    trained, threshold, source, proba_test, proba_validation = _fit_and_score(
        config, data, random_state=random_state, model_settings=model_settings
    )
    quality, parts, prepared = config.quality, data.split, data.prepared
    defaults = ev.DEFAULT_METRICS if prepared.task == "binary" else ev.TASK_DEFAULT_METRICS[prepared.task]
    metrics = tuple(dict.fromkeys((*defaults, *quality.thresholds)))
    metrics = tuple(m for m in metrics if m != "expected_cost")
    evaluation = ev.evaluate(
        parts.y_test,
        proba_test,
        threshold=threshold,
        metrics=metrics,
        costs=quality.cost_matrix,
        groups=evaluation_groups(config, parts.test),
        task=prepared.task,
        task_costs=costs_for(quality, prepared.task, prepared.classes),
    )
    return Candidate(trained, threshold, source, proba_test, evaluation, proba_validation)


def _fit_and_score(
    config: ProjectConfig, data: DataBundle, *, random_state: int | None, model_settings: ModelSettings | None
) -> tuple[TrainedModel, float, str, np.ndarray, np.ndarray | None]:
    """Fit, choose the threshold (never on test), score the test split: (model, threshold, its source, test
    probabilities, validation probabilities). The candidate and the baselines share it."""
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
            task=prepared.task,
        )
    except TrainingError as exc:
        if model_settings is not None or config.path is None:
            raise
        raise TrainingError(f"{config.path}: {exc}") from exc  # the config file whose model.* key is named
    proba_validation = None
    quality, task = config.quality, prepared.task
    if parts.validation is not None:
        proba_validation = ev.model_scores(trained.pipeline, parts.validation[prepared.features], task)
    if task != "binary":  # no threshold: the most probable class or the least expected cost, or the value itself
        proba_test = ev.model_scores(trained.pipeline, parts.test[prepared.features], task)
        return trained, 0.0, _decision(quality, task), proba_test, proba_validation
    if quality.decision_threshold == "optimize":
        if proba_validation is None or parts.y_validation is None or quality.cost_matrix is None:
            from mlgate.pipeline.errors import ConfigError

            raise ConfigError(
                "quality.decision_threshold = 'optimize' needs split.validation_size > 0 and quality.cost_matrix"
            )
        threshold = ev.choose_threshold(parts.y_validation.to_numpy(), proba_validation, quality.cost_matrix)
        source = "validation"
    else:
        threshold, source = float(quality.decision_threshold), "fixed"
    proba_test = ev.positive_proba(trained.pipeline, parts.test[prepared.features])
    return trained, threshold, source, proba_test, proba_validation


def train_baselines(config: ProjectConfig, data: DataBundle) -> dict[str, BaselineOutput]:
    """Fit every baseline like the candidate; one that cannot be fitted carries the reason in ``error``.

    Same training rows, features and ``model.random_state`` as the candidate; the threshold is chosen the same
    way (on the validation split when ``quality.decision_threshold = "optimize"``, else the fixed value).
    """
    outputs: dict[str, BaselineOutput] = {}
    for name, params in baselines_for(data.prepared.task).items():
        settings = ModelSettings(estimator=name, params=params, random_state=config.model.random_state)
        try:  # the candidate's own sequence: fit, threshold (never on test), score the test split
            _, threshold, source, proba_test, proba_validation = _fit_and_score(
                config, data, random_state=config.model.random_state, model_settings=settings
            )  # (no evaluation: the quality gate computes what it compares from the probabilities)
        except MlgateError as exc:
            outputs[name] = BaselineOutput(name, None, None, None, error=str(exc))
            continue
        outputs[name] = BaselineOutput(name, proba_test, threshold, source, proba_validation=proba_validation)
    return outputs
