"""What the parts of one serving app share: the bundle, the generated models, the limits, the metrics, the
model the lifespan loads, the prediction log (:class:`pipeline.serve.recording.Recorder`), the model's task rule
(:mod:`pipeline.serve.tasks`) and the release fields every answer starts with. Built from the bundle's small
files; the model itself is loaded later.

Only a binary model's predictions are logged: for a multi-class or a regression model the prediction log is
off (one warning at start-up; ``/ready`` reports it ``disabled``), so ``/feedback`` and ``GET /explain/{id}``
have nothing to read (monitoring non-binary models is not supported yet).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlgate.pipeline.serve.body import BodyLimits
from mlgate.pipeline.serve.labels import LabelSet, label_set
from mlgate.pipeline.serve.loader import RELEASE_FILE, BundleInfo, read_bundle
from mlgate.pipeline.serve.metrics import ServingMetrics
from mlgate.pipeline.serve.models import ApiModels, build_models
from mlgate.pipeline.serve.recording import LogOptions, Recorder
from mlgate.pipeline.serve.tasks import TaskRule, task_rule

__all__ = ["MAX_ERRORS", "Loaded", "Served", "not_binary", "serving_state"]

MAX_ERRORS = 20
log = logging.getLogger("mlgate.pipeline.serve")


def not_binary(what: str, task: str) -> str:
    """The 501 detail of a route that serves binary models only."""
    return (
        f"{what} is available for binary models only; this model's task is {task} (the prediction log, feedback "
        "and explanations of multi-class and regression models are not supported yet)"
    )


@dataclass
class Loaded:
    """The model once the lifespan verified and loaded it; ``error`` says why not while it is None."""

    model: Any = None
    positive_index: int = 1
    sha256: str = ""
    error: str = "model not loaded yet (the app is starting)"


@dataclass(frozen=True)
class Served:
    """The serving state of one app (see the module docstring)."""

    info: BundleInfo
    api: ApiModels
    limits: BodyLimits
    metrics: ServingMetrics
    loaded: Loaded
    head: dict[str, Any]
    max_batch: int
    max_body_bytes: int
    labels: LabelSet
    recorder: Recorder
    rule: TaskRule

    @property
    def task(self) -> str:
        return self.rule.task


def serving_state(
    bundle_dir: str | Path, *, max_batch: int, max_body_bytes: int, prediction_log: LogOptions | None = None
) -> Served:
    """Read the bundle's small files and build what the routes need; the model itself is not loaded yet."""
    info: BundleInfo = read_bundle(bundle_dir)
    rule = task_rule(info)
    head = rule.head(info)
    metrics = ServingMetrics()
    if rule.task == "binary":
        labels = label_set(info)
    else:
        labels = LabelSet(None, (), None, f"feedback is not supported for {rule.task} models yet")
    if prediction_log is not None:
        prediction_log = prediction_log.with_bundle(info.release, str(info.root / RELEASE_FILE))
    if prediction_log is not None and prediction_log.enabled and rule.task != "binary":
        log.warning(
            "prediction log off: %s models' predictions are not logged yet (only binary models are monitored)",
            rule.task,
        )
        prediction_log = None
    return Served(
        info=info,
        api=build_models(list(info.specs), max_batch=max_batch),
        limits=BodyLimits(frozenset(s.name for s in info.specs), max_batch, max_errors=MAX_ERRORS),
        metrics=metrics,
        loaded=Loaded(),
        head=head,
        max_batch=max_batch,
        max_body_bytes=max_body_bytes,
        labels=labels,
        recorder=Recorder(prediction_log, metrics, head=head, labels=labels),
        rule=rule,
    )
