"""The deepchecks runner's job file: parsed, checked and its inputs loaded.

No deepchecks here: runner.py imports it in the isolated environment (numpy 1.26, pandas 2.2), and mlgate's own
environment can import and test it as mlgate.ci.deepchecks.job. The job file (relative paths are taken from its
folder)::

    {"train": "train.parquet", "test": "test.parquet", "label": "risk", "cat_features": ["job"],
     "task": "binary",                                  # binary | multiclass | regression
     "suites": ["data_integrity", "train_test_validation", "model_evaluation"],
     "checks": {"data_integrity": ["MixedDataTypes"]},  # optional: class names to keep; default all of a suite
     "conditions": {"FeatureDrift": {"add_condition_drift_score_less_than": {"max_allowed_numeric_score": 0.1}}},
     "y_pred_train": "y_pred_train.npy", "y_pred_test": "y_pred_test.npy",      # optional predictions
     "y_proba_train": "p_train.npy", "y_proba_test": "p_test.npy",  # (n,) positive-class probability or (n, k)
     "positive_label": 1,      # optional, binary: the class a (n,) probability is for (default: the last class)
     "model_classes": [0, 1],  # optional: the model's classes in probability-column order (default: labels seen)
     "features": [...],        # optional: default every column but the label
     "out": "deepchecks-out"}

``conditions`` (optional) maps a check class name to the ``add_condition_*`` methods, with their keyword arguments,
that replace the check's default conditions in every suite that runs it; ``{}`` leaves the check without any.

Anything missing or malformed is a JobError naming the key: the runner's exit 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["PREDICTIONS", "SUITES", "TASKS", "Job", "JobError", "load_frames", "load_predictions", "parse_job"]

SUITES = ("data_integrity", "train_test_validation", "model_evaluation")
TASKS = ("binary", "multiclass", "regression")
PREDICTIONS = ("y_pred_train", "y_pred_test", "y_proba_train", "y_proba_test")
REQUIRED = ("train", "test", "label", "task", "suites", "out")
OPTIONAL = ("cat_features", "checks", "conditions", "positive_label", "model_classes", "features", *PREDICTIONS)
CONDITION_PREFIX = "add_condition_"


class JobError(ValueError):
    """The job file is unusable: exit 2 with the message."""


@dataclass(frozen=True)
class Job:
    train: Path
    test: Path
    label: str
    cat_features: tuple[str, ...]
    task: str
    suites: tuple[str, ...]
    checks: dict[str, tuple[str, ...]]
    conditions: dict[str, dict[str, dict[str, Any]]]
    predictions: dict[str, Path]
    positive_label: Any
    model_classes: tuple[Any, ...] | None
    features: tuple[str, ...] | None
    out: Path


def _strings(raw: object, key: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise JobError(f"'{key}' must be a list of strings; got {raw!r}")
    return tuple(raw)


def _path(raw: object, key: str, base: Path, *, must_exist: bool = True) -> Path:
    if not isinstance(raw, str) or not raw:
        raise JobError(f"'{key}' must be a path; got {raw!r}")
    path = base / raw
    if must_exist and not path.is_file():
        raise JobError(f"'{key}': no file {path}")
    return path


def _conditions(raw: object) -> dict[str, dict[str, dict[str, Any]]]:
    """check class name -> add_condition_* method -> keyword arguments, each level checked for its shape."""
    if not isinstance(raw, dict):
        raise JobError(f"'conditions' must map check class names to their conditions; got {raw!r}")
    parsed: dict[str, dict[str, dict[str, Any]]] = {}
    for check, methods in raw.items():
        if not isinstance(methods, dict):
            raise JobError(f"'conditions.{check}' must map add_condition_* methods to their arguments; got {methods!r}")
        parsed[check] = {}
        for method, kwargs in methods.items():
            key = f"conditions.{check}.{method}"
            if not method.startswith(CONDITION_PREFIX):
                raise JobError(f"'{key}': not a condition method (they start with {CONDITION_PREFIX})")
            if not isinstance(kwargs, dict):
                raise JobError(f"'{key}' must map argument names to values; got {kwargs!r}")
            parsed[check][method] = dict(kwargs)
    return parsed


def parse_job(raw: object, base: Path) -> Job:
    """The job file's object as a Job; JobError naming the key for anything missing or malformed."""
    if not isinstance(raw, dict):
        raise JobError("the job file must hold a JSON object")
    if unknown := sorted(set(raw) - {*REQUIRED, *OPTIONAL}):
        raise JobError(f"unknown keys {unknown}; known: {sorted({*REQUIRED, *OPTIONAL})}")
    for key in REQUIRED:
        if key not in raw:
            raise JobError(f"missing key '{key}'")
    if not isinstance(raw["label"], str) or not raw["label"]:
        raise JobError(f"'label' must be a column name; got {raw['label']!r}")
    if raw["task"] not in TASKS:
        raise JobError(f"'task' must be one of {list(TASKS)}; got {raw['task']!r}")
    suites = _strings(raw["suites"], "suites")
    if not suites or any(suite not in SUITES for suite in suites):
        raise JobError(f"'suites' must list some of {list(SUITES)}; got {list(suites)}")
    checks_raw = raw.get("checks", {})
    if not isinstance(checks_raw, dict) or any(suite not in suites for suite in checks_raw):
        raise JobError(f"'checks' must map suites of 'suites' to check class names; got {checks_raw!r}")
    predictions = {key: _path(raw[key], key, base) for key in PREDICTIONS if raw.get(key) is not None}
    if raw["task"] == "regression" and any(key.startswith("y_proba") for key in predictions):
        raise JobError("a regression job takes y_pred_* only, no y_proba_*")
    classes = raw.get("model_classes")
    if classes is not None and (not isinstance(classes, list) or len(classes) < 2):
        raise JobError(f"'model_classes' must list at least two classes; got {classes!r}")
    features = raw.get("features")
    return Job(
        train=_path(raw["train"], "train", base),
        test=_path(raw["test"], "test", base),
        label=raw["label"],
        cat_features=_strings(raw.get("cat_features", []), "cat_features"),
        task=raw["task"],
        suites=suites,
        checks={suite: _strings(names, f"checks.{suite}") for suite, names in checks_raw.items()},
        conditions=_conditions(raw.get("conditions", {})),
        predictions=predictions,
        positive_label=raw.get("positive_label"),
        model_classes=tuple(classes) if classes is not None else None,
        features=_strings(features, "features") if features is not None else None,
        out=_path(raw["out"], "out", base, must_exist=False),
    )


def load_frames(job: Job) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train and test with disjoint row labels (deepchecks renames common ones and warns when given predictions)."""
    frames = []
    for key, path in (("train", job.train), ("test", job.test)):
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:
            raise JobError(f"'{key}': cannot read Parquet {path}: {exc}") from exc
        columns = [job.label, *job.cat_features, *(job.features or ())]
        if missing := [c for c in dict.fromkeys(columns) if c not in frame.columns]:
            raise JobError(f"'{key}' ({path}) has no column(s) {missing}; it has {list(frame.columns)}")
        if frame.empty:
            raise JobError(f"'{key}' ({path}) has no rows")
        frames.append(frame)
    train, test = frames
    train.index = pd.RangeIndex(len(train))
    test.index = pd.RangeIndex(len(train), len(train) + len(test))
    return train, test


def load_predictions(job: Job, train: pd.DataFrame, test: pd.DataFrame) -> tuple[dict[str, np.ndarray], list[Any]]:
    """The predictions as deepchecks takes them, and the model's classes (empty for regression).

    A binary (n,) positive-class probability becomes the (n, 2) matrix deepchecks wants, columns in class order."""
    rows = {"train": len(train), "test": len(test)}
    arrays: dict[str, np.ndarray] = {}
    for key, path in job.predictions.items():
        try:
            array = np.load(path, allow_pickle=False)
        except Exception as exc:
            raise JobError(f"'{key}': cannot read .npy {path}: {exc}") from exc
        if len(array) != rows[key.rsplit("_", 1)[1]]:
            raise JobError(f"'{key}' has {len(array)} rows; its frame has {rows[key.rsplit('_', 1)[1]]}")
        arrays[key] = array
    if job.task == "regression":
        return arrays, []
    seen = pd.concat([train[job.label], test[job.label]]).dropna().unique().tolist()
    seen += [v for key in ("y_pred_train", "y_pred_test") if key in arrays for v in np.unique(arrays[key]).tolist()]
    try:
        classes = list(job.model_classes) if job.model_classes is not None else sorted(set(seen))
    except TypeError as exc:
        kinds = sorted({type(v).__name__ for v in seen})
        raise JobError(
            f"the label and the predictions hold classes of different types ({', '.join(kinds)}): "
            "predictions must use the label's values"
        ) from exc
    if classes != sorted(classes):
        raise JobError(f"'model_classes' must be sorted (deepchecks orders probability columns so); got {classes}")
    if job.task == "binary" and len(classes) != 2:
        raise JobError(f"a binary job needs two classes; the label and predictions hold {classes}")
    for key in ("y_proba_train", "y_proba_test"):
        if key not in arrays:
            continue
        proba = arrays[key].astype(float)
        if proba.ndim == 1 and job.task == "binary":
            positive = classes[-1] if job.positive_label is None else job.positive_label
            if positive not in classes:
                raise JobError(f"'positive_label' {positive!r} is not one of the classes {classes}")
            proba = np.column_stack([1 - proba, proba] if classes.index(positive) == 1 else [proba, 1 - proba])
        if proba.ndim != 2 or proba.shape[1] != len(classes):
            raise JobError(
                f"'{key}' has shape {proba.shape}; expected ({len(proba)}, {len(classes)}) for the "
                f"classes {classes} (set 'model_classes' to the model's classes)"
            )
        arrays[key] = proba
    return arrays, classes
