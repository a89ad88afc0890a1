"""What the parts of one serving app share: the bundle, the generated models, the limits, the metrics, the
model the lifespan loads, the prediction log (:class:`pipeline.serve.recording.Recorder`), the model's task rule
(:mod:`pipeline.serve.tasks`) and the release fields every answer starts with. Built from the bundle's small
files; the model itself is loaded later.

Only a binary model's predictions are logged: for a multi-class or a regression model the prediction log is
off (one warning at start-up; ``/ready`` reports it ``disabled``), so ``/feedback`` and ``GET /explain/{id}``
have nothing to read (monitoring non-binary models is not supported yet).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlgate.pipeline.serve.array_path import ArrayModel, ServingPath, compile_model, frame_of, probe_rows, verify
from mlgate.pipeline.serve.body import BodyLimits
from mlgate.pipeline.serve.labels import LabelSet, label_set
from mlgate.pipeline.serve.loader import RELEASE_FILE, BundleInfo, read_bundle
from mlgate.pipeline.serve.metrics import ServingMetrics
from mlgate.pipeline.serve.models import ApiModels, build_models
from mlgate.pipeline.serve.recording import LogOptions, Recorder
from mlgate.pipeline.serve.tasks import TaskRule, task_rule

__all__ = ["GOLDEN_FILE", "MAX_ERRORS", "Loaded", "Served", "not_binary", "select_path", "serving_state"]

MAX_ERRORS = 20
GOLDEN_FILE = "golden.json"  # the bundle's golden set (ci.release.bundle): rows the array path is verified on
_SINGLE_ROWS = 16  # verified one at a time too (besides all rows at once): a one-record request's path
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
    array: ArrayModel | None = None  # the verified array path of ``model``; None: the scikit-learn path
    path: ServingPath = field(default_factory=lambda: ServingPath("sklearn", "model not loaded yet"))


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


def _golden_rows(root: Path) -> list[dict[str, Any]]:
    """The golden set's feature rows, when the bundle has one (ValueError when it is not readable)."""
    path = root / GOLDEN_FILE
    if not path.is_file():
        return []
    try:
        golden = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not readable JSON ({exc})") from exc
    rows = golden.get("rows") if isinstance(golden, dict) else None
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise ValueError(f"{path}: expected a JSON object with a list of rows")
    return rows


def _check_array_path(served: Served, array: ArrayModel, model: Any) -> str | None:
    """Why the array path does not score the golden and probe rows like ``model`` (None when it does)."""
    specs = served.info.specs
    try:
        golden = _golden_rows(served.info.root)
        rows = golden + probe_rows(array, specs)
        batches = [rows] + [[row] for row in (golden[:_SINGLE_ROWS] + rows[len(golden) :])]
        for batch in batches:
            reason = verify(array, model, frame_of(batch, specs))
            if reason is not None:
                return f"not verified: {reason}"
    except Exception as exc:  # a row the frame or the model refuses: not verified, so not served
        return f"not verified ({type(exc).__name__}: {exc})"
    return None


def select_path(served: Served, model: Any, *, prefer: str = "array") -> ServingPath:
    """How ``/predict`` scores the loaded ``model`` (call it once the model is loaded; it sets ``served.loaded``'s
    ``array`` and ``path``): the array path (:mod:`pipeline.serve.array_path`) when the model compiles to it and it
    scores the golden rows (golden.json, when the bundle has one) and probe rows bitwise like the scikit-learn
    path, all at once and one at a time; else the scikit-learn path, with the reason. ``prefer="sklearn"`` asks
    for the scikit-learn path."""
    loaded = served.loaded
    compiled = compile_model(model, served.info.specs) if prefer == "array" else "the scikit-learn path was asked for"
    reason = compiled if isinstance(compiled, str) else _check_array_path(served, compiled, model)
    if isinstance(compiled, ArrayModel) and reason is None:
        loaded.array, loaded.path = compiled, ServingPath("array")
    else:
        loaded.array, loaded.path = None, ServingPath("sklearn", reason)
    return loaded.path
