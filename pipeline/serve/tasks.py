"""What the serving app answers for each task a model can have (``model.meta.json`` ``task``).

* **binary** (as before tasks existed): ``prediction`` is 1 when ``probability`` (the positive label's) is at
  least the threshold, else 0; every answer also names ``positive_label`` and ``threshold``.
* **multiclass**: ``prediction`` is the decided class's label, as the meta file's ``classes`` spell it (e.g.
  ``"class_0"``, or ``3``), and ``probabilities`` maps every class's label (a number's JSON text, e.g. ``"3"``)
  to its probability, in class order. The decision is the gate's (:func:`pipeline.task_metrics.decide_classes`):
  the class of least expected cost under the meta file's ``class_costs`` (the project's ``quality.class_costs``
  as a k x k array [true class][decided class] in class order), else the most probable class; every answer
  names the rule in ``decision`` (``least_expected_cost`` or ``most_probable``) and ``task``.
* **regression**: ``prediction`` is the predicted value; every answer names ``task``.

The scores are the model's own ``predict_proba`` (one column for binary, all for multi-class) or ``predict`` on
the request's frame, as float64, and JSON carries them with Python's shortest round-trip repr: a client reads
back the very doubles the gated model gives offline (``mlgate release`` requires it bit for bit:
:mod:`ci.release.smoke`).

The response models are generated here per task (binary: the fixed ones of :mod:`pipeline.serve.models`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, create_model

from mlgate.pipeline.serve.loader import BundleError, BundleInfo
from mlgate.pipeline.serve.metrics import ServingMetrics
from mlgate.pipeline.serve.models import BatchPredictResponse, PredictResponse
from mlgate.pipeline.task_metrics import decide_classes

__all__ = ["Scored", "TaskRule", "check_model", "label_key", "response_models", "score", "task_rule"]

_REQUEST_ID = (
    "The record's id: the X-Request-ID header (batch: <id>-<index>) or a new uuid4 hex "
    "(binary models: its id in the prediction log, for POST /feedback)."
)


def label_key(label: Any) -> str:
    """A class label as a JSON object key: the label itself when it is text, else its JSON text (``3`` -> "3")."""
    return label if isinstance(label, str) else json.dumps(label)


@dataclass(frozen=True)
class TaskRule:
    """How a bundle's model is scored and decided: its task, the threshold (binary), the class labels, their
    response keys and the cost array (multi-class)."""

    task: str
    threshold: float = 0.5
    classes: tuple[Any, ...] = ()
    costs: np.ndarray | None = None

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(label_key(c) for c in self.classes)

    @property
    def decision(self) -> str:
        """``threshold`` (binary), ``least_expected_cost`` / ``most_probable`` (multi-class), ``prediction``."""
        if self.task == "binary":
            return "threshold"
        if self.task == "multiclass":
            return "most_probable" if self.costs is None else "least_expected_cost"
        return "prediction"

    def head(self, info: BundleInfo) -> dict[str, Any]:
        """The fields every ``/predict`` answer starts with."""
        names = {"model_name": str(info.release["model_name"]), "model_version": str(info.release["model_version"])}
        if self.task == "binary":
            return {**names, "positive_label": info.meta["positive_label"], "threshold": self.threshold}
        if self.task == "multiclass":
            return {**names, "task": self.task, "decision": self.decision}
        return {**names, "task": self.task}


def task_rule(info: BundleInfo) -> TaskRule:
    """The rule of ``info``'s model (its meta file is checked by :func:`pipeline.serve.loader.read_bundle`)."""
    costs = info.class_costs
    return TaskRule(
        task=info.task,
        threshold=info.threshold,
        classes=info.classes,
        costs=None if costs is None else np.asarray(costs, dtype=np.float64),
    )


def check_model(model: Any, rule: TaskRule, path: Path) -> int:
    """The positive class's column in ``predict_proba`` (binary; -1 otherwise), once the loaded model is checked to
    be of the meta file's task: raises :class:`BundleError` when it is not."""
    if rule.task == "binary":
        return list(model.classes_).index(1)
    if rule.task == "regression":
        if hasattr(model, "classes_"):
            raise BundleError(
                f"{path}: model.meta.json says task 'regression', but the model is a classifier (classes "
                f"{list(model.classes_)[:5]}); rebuild the bundle from the registry"
            )
        return -1
    observed = [c.item() if hasattr(c, "item") else c for c in getattr(model, "classes_", [])]
    expected = list(range(len(rule.classes)))
    if observed != expected:
        raise BundleError(
            f"{path}: model.meta.json names {len(expected)} classes, so the model's classes must be the codes "
            f"{expected}; it has {observed[:10]}: rebuild the bundle from the registry"
        )
    return -1


@dataclass(frozen=True)
class Scored:
    """One frame scored: an answer per record (without its request id) and, for a binary model, the
    probabilities and decisions the prediction log records (None for other tasks: they are not logged)."""

    answers: list[dict[str, Any]]
    proba: list[float] | None = None
    decisions: list[int] | None = None


def score(
    model: Any,
    frame: pd.DataFrame | Sequence[Mapping[str, Any]],
    rule: TaskRule,
    *,
    positive_index: int,
    metrics: ServingMetrics,
) -> Scored:
    """Score ``frame`` with ``model`` by ``rule`` (see the module docstring) and count the predictions.

    ``model`` is the fitted pipeline and ``frame`` the records' frame (the scikit-learn path), or the compiled
    :class:`pipeline.serve.array_path.ArrayModel` and the records' validated fields, one mapping per record (the
    array path: the same scores, bit for bit)."""
    if rule.task == "binary":
        proba = np.asarray(model.predict_proba(frame)[:, positive_index], dtype=np.float64)
        decision = (proba >= rule.threshold).astype(np.int64)
        metrics.observe_predictions(proba, decision)
        probabilities, decisions = proba.tolist(), decision.tolist()
        answers = [{"prediction": d, "probability": p} for d, p in zip(decisions, probabilities, strict=True)]
        return Scored(answers, probabilities, decisions)
    if rule.task == "multiclass":
        class_proba = np.asarray(model.predict_proba(frame), dtype=np.float64)
        codes = decide_classes(class_proba, rule.costs).tolist()
        keys, classes = rule.keys, rule.classes
        metrics.observe_classes([keys[c] for c in codes])
        rows = class_proba.tolist()
        return Scored(
            [
                {"prediction": classes[c], "probabilities": dict(zip(keys, row, strict=True))}
                for c, row in zip(codes, rows, strict=True)
            ]
        )
    values = np.asarray(model.predict(frame), dtype=np.float64).reshape(len(frame))
    metrics.observe_classes(["value"] * len(values))
    return Scored([{"prediction": v} for v in values.tolist()])


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)


def _label_type(classes: tuple[Any, ...]) -> Any:
    """``Literal`` of the labels when they are all text or all integers; else any JSON scalar."""
    if all(isinstance(c, str) for c in classes) or all(type(c) is int for c in classes):
        return Literal[classes]
    return StrictStr | StrictInt | StrictBool | float


def response_models(rule: TaskRule) -> tuple[type[BaseModel], type[BaseModel]]:
    """The ``/predict`` response models for one record and for a batch, for ``rule``'s task."""
    if rule.task == "binary":
        return PredictResponse, BatchPredictResponse
    prefix = rule.task.capitalize()
    head: dict[str, Any] = {
        "model_name": (str, ...),
        "model_version": (str, ...),
        "task": (Literal[rule.task], ...),
    }
    fields: dict[str, Any]
    if rule.task == "multiclass":
        head["decision"] = (
            Literal[rule.decision],
            Field(description="least_expected_cost (the model's class_costs) or most_probable."),
        )
        proba_fields: dict[str, Any] = {
            f"p{code}": (float, Field(ge=0.0, le=1.0, alias=key)) for code, key in enumerate(rule.keys)
        }
        probabilities = create_model("ClassProbabilities", __base__=_Closed, **proba_fields)
        fields = {
            "prediction": (_label_type(rule.classes), Field(description=f"The decided class ({rule.decision}).")),
            "probabilities": (probabilities, Field(description="Every class's probability, by class label.")),
        }
    else:
        fields = {"prediction": (float, Field(description="The predicted value."))}
    record = create_model(
        f"{prefix}Prediction", __base__=_Closed, request_id=(str, Field(description=_REQUEST_ID)), **fields
    )
    single = create_model(f"{prefix}PredictResponse", __base__=record, **head)
    batch = create_model(
        f"{prefix}BatchPredictResponse",
        __base__=_Closed,
        **head,
        request_id=(str, Field(description="The batch's id (X-Request-ID); record i is <request_id>-<i>.")),
        predictions=(list[record], ...),
    )
    return single, batch
