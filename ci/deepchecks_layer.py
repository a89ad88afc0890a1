"""The gated run's deepchecks step: export what the layer judges, run deepchecks beside the other gates, collect.

deepchecks runs in its own environment (:mod:`ci.deepchecks_env`), so it gets files, never objects: the training
and test splits as Parquet (the configured features and the encoded target), and, when a candidate was trained,
its scores and decisions on both splits as ``.npy`` -- the scores the quality gate judged, the decisions the
served model makes (the binary threshold, the least-expected-cost class). No model crosses the boundary.

* binary: the label is 1 for ``data.positive_label`` and 0 otherwise, the probability the positive class's;
* multi-class: the label is the class's text (deepchecks orders probability columns by sorted label, so the
  columns are reordered to match);
* regression: the target and the predicted values.

:func:`start` writes the job into the run's scratch folder and starts the runner (a child process that uses
the other core while this one runs the model gates); :meth:`PendingDeepchecks.outcome` waits for it. The
runner's HTML reports become the report's attachments ``deepchecks/<suite>.html``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlgate.ci.deepchecks_env import DeepchecksEnvError, RunningJob
from mlgate.pipeline.config import ProjectConfig
from mlgate.pipeline.prepare import Prepared
from mlgate.pipeline.records import Candidate, DataBundle

__all__ = [
    "ATTACHMENT_FOLDER",
    "DeepchecksOutcome",
    "PendingDeepchecks",
    "run_section",
    "start",
    "write_job",
    "write_job_files",
]

#: Where deepchecks' own HTML reports go, relative to mlgate's report folder (and under the run's reports/).
ATTACHMENT_FOLDER = "deepchecks"


@dataclass
class DeepchecksOutcome:
    """The runner's result (or why there is none), its wall time and its HTML reports."""

    result: dict[str, Any]
    seconds: float
    lock_sha256: str
    attachments: dict[str, Path] = field(default_factory=dict)  # "deepchecks/<suite>.html" -> file


def _labels(classes: tuple[Any, ...]) -> tuple[list[str], np.ndarray]:
    """The class labels as text and the permutation that sorts them (deepchecks' probability column order)."""
    labels = [str(c) for c in classes]
    if len(set(labels)) != len(labels):  # 1 and "1": keep the codes rather than merge two classes
        labels = [str(i) for i in range(len(classes))]
    return labels, np.argsort(np.array(labels), kind="stable")


def _predictions(config: ProjectConfig, data: DataBundle, candidate: Candidate) -> dict[str, np.ndarray]:
    """Scores and decisions on the training and the test split, in the layout deepchecks takes."""
    from mlgate.pipeline.evaluate import model_scores
    from mlgate.pipeline.task_metrics import costs_for, decide_classes

    prepared, task = data.prepared, data.prepared.task
    scores = {
        "train": model_scores(candidate.pipeline, data.split.train[prepared.features], task),
        "test": np.asarray(candidate.proba_test, dtype=np.float64),
    }
    out: dict[str, np.ndarray] = {}
    for part, score in scores.items():
        if task == "regression":
            out[f"y_pred_{part}"] = score
        elif task == "binary":
            out[f"y_proba_{part}"] = score
            out[f"y_pred_{part}"] = (score >= candidate.threshold).astype(np.int64)
        else:
            labels, order = _labels(prepared.classes)
            decided = decide_classes(score, costs_for(config.quality, task, prepared.classes))
            out[f"y_proba_{part}"] = score[:, order]
            out[f"y_pred_{part}"] = np.array(labels, dtype=object)[decided].astype(str)
    return out


def _frame(data: DataBundle, part: str) -> pd.DataFrame:
    prepared = data.prepared
    X, y = (data.split.train, data.split.y_train) if part == "train" else (data.split.test, data.split.y_test)
    frame = X[prepared.features].reset_index(drop=True)
    target = np.asarray(y)
    if prepared.task == "multiclass":
        labels, _ = _labels(prepared.classes)
        target = np.array(labels, dtype=object)[target.astype(np.int64)].astype(str)
    frame[prepared.target] = target
    return frame


def write_job_files(
    folder: Path,
    train: pd.DataFrame,
    test: pd.DataFrame,
    prepared: Prepared,
    *,
    suites: Sequence[str],
    checks: Mapping[Any, Sequence[str]] | None = None,  # suite -> check class names
    conditions: Mapping[str, Any] | None = None,
    predictions: Mapping[str, np.ndarray] | None = None,
) -> Path:
    """The job file in ``folder`` for the two frames (features + encoded label, as :func:`write_job` exports them)
    and optional predictions (``y_pred_*`` / ``y_proba_*`` arrays); its path. The benchmark writes its jobs here."""
    folder.mkdir(parents=True, exist_ok=True)
    train.to_parquet(folder / "train.parquet", index=False)
    test.to_parquet(folder / "test.parquet", index=False)
    job: dict[str, Any] = {
        "train": "train.parquet",
        "test": "test.parquet",
        "label": prepared.target,
        "features": list(prepared.features),
        "cat_features": list(prepared.categorical),
        "task": prepared.task,
        "suites": list(suites),
        "out": "out",
    }
    if checks:
        job["checks"] = {suite: list(names) for suite, names in checks.items()}
    if conditions:
        job["conditions"] = dict(conditions)
    for key, array in (predictions or {}).items():
        np.save(folder / f"{key}.npy", array, allow_pickle=False)
        job[key] = f"{key}.npy"
    if predictions and prepared.task == "binary":
        job["positive_label"], job["model_classes"] = 1, [0, 1]
    elif predictions and prepared.task == "multiclass":
        job["model_classes"] = sorted(_labels(prepared.classes)[0])
    path = folder / "job.json"
    path.write_text(json.dumps(job, indent=1, default=str) + "\n", encoding="utf-8")
    return path


def write_job(config: ProjectConfig, data: DataBundle, candidate: Candidate | None, folder: Path) -> Path:
    """The job file (and its Parquet and .npy inputs) for this run in ``folder``; its path."""
    settings = config.deepchecks
    return write_job_files(
        folder,
        _frame(data, "train"),
        _frame(data, "test"),
        data.prepared,
        suites=settings.suites,
        checks=settings.checks,
        conditions=settings.conditions,
        predictions=None if candidate is None else _predictions(config, data, candidate),
    )


class PendingDeepchecks:
    """The runner, started; :meth:`outcome` waits for it (once) and kills it on :meth:`close`."""

    def __init__(self, job_file: Path, timeout_s: float) -> None:
        self.job = RunningJob(job_file, timeout_s=timeout_s)
        self.lock_sha256 = self.job.env.lock_sha256
        self._outcome: DeepchecksOutcome | None = None

    def outcome(self) -> DeepchecksOutcome:
        if self._outcome is None:
            try:
                result = self.job.wait()
            except DeepchecksEnvError as exc:  # judged: an ERROR result says why, the run still reports
                result = {"error": str(exc)}
            seconds = time.perf_counter() - self.job.started
            files = {
                f"{ATTACHMENT_FOLDER}/{suite}.html": Path(part["html"])
                for suite, part in (result.get("suites") or {}).items()
                if part.get("html") and Path(part["html"]).is_file()
            }
            self._outcome = DeepchecksOutcome(result, seconds, self.lock_sha256, files)
            self.job.close()
        return self._outcome

    def close(self) -> None:
        self.job.close()

    def __enter__(self) -> PendingDeepchecks:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def start(config: ProjectConfig, data: DataBundle, candidate: Candidate | None, scratch: Path) -> PendingDeepchecks:
    """Write the job into ``scratch/deepchecks`` and start the runner on it."""
    job_file = write_job(config, data, candidate, scratch / "deepchecks")
    return PendingDeepchecks(job_file, config.deepchecks.timeout_s)


def run_section(outcome: DeepchecksOutcome) -> dict[str, Any]:
    """The report's ``run.deepchecks``: versions, time, and per suite its time, memory and HTML file."""
    result = outcome.result
    suites = {
        suite: {
            "seconds": part.get("seconds"),
            "peak_rss_mb": part.get("peak_rss_mb"),
            "html": f"{ATTACHMENT_FOLDER}/{suite}.html" if part.get("html") else None,
            "skipped": part.get("skipped"),
            "error": part.get("error"),
            "warnings": part.get("warnings") or [],
        }
        for suite, part in (result.get("suites") or {}).items()
    }
    return {
        "deepchecks_version": result.get("deepchecks_version"),
        "environment_lock_sha256": outcome.lock_sha256,
        "seconds": round(outcome.seconds, 3),
        "import_seconds": result.get("import_seconds"),
        "compat_patches": result.get("compat_patches") or [],
        "error": result.get("error"),
        "suites": suites,
    }
