"""What the parts of one serving app share: the bundle, the generated models, the limits, the metrics, the
model the lifespan loads, the prediction log (:class:`pipeline.serve.recording.Recorder`) and the release
fields every answer starts with. Built from the bundle's small files; the model itself is loaded later."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlgate.pipeline.serve.body import BodyLimits
from mlgate.pipeline.serve.labels import LabelSet, label_set
from mlgate.pipeline.serve.loader import RELEASE_FILE, BundleInfo, read_bundle
from mlgate.pipeline.serve.metrics import ServingMetrics
from mlgate.pipeline.serve.models import ApiModels, build_models
from mlgate.pipeline.serve.recording import LogOptions, Recorder

__all__ = ["MAX_ERRORS", "Loaded", "Served", "serving_state"]

MAX_ERRORS = 20


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


def serving_state(
    bundle_dir: str | Path, *, max_batch: int, max_body_bytes: int, prediction_log: LogOptions | None = None
) -> Served:
    """Read the bundle's small files and build what the routes need; the model itself is not loaded yet."""
    info: BundleInfo = read_bundle(bundle_dir)
    head = {
        "model_name": str(info.release["model_name"]),
        "model_version": str(info.release["model_version"]),
        "positive_label": info.meta["positive_label"],
        "threshold": info.threshold,
    }
    metrics = ServingMetrics()
    labels = label_set(info)
    if prediction_log is not None:
        prediction_log = prediction_log.with_bundle(info.release, str(info.root / RELEASE_FILE))
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
    )
