"""What a gated run records about itself (:class:`pipeline.records.RunMeta`): the code's commit, the locked
environment, the data and its target, the candidate's parameters, metrics and (multi-class, regression) a sample
of its test scores for the report's plots. Split from :mod:`ci.gated_run`, which re-exports these names.
"""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Mapping
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from mlgate.pipeline.config import ProjectConfig
from mlgate.pipeline.records import Candidate, DataBundle, EnvironmentMeta, RunMeta

__all__ = ["PREDICTION_SAMPLE", "data_section", "environment_record", "git_commit", "run_meta", "run_metadata"]

#: At most this many test rows' scores are recorded for the report's per-row plots (a seeded sample beyond).
PREDICTION_SAMPLE = 2000


def git_commit(folder: Path) -> str | None:
    """The commit checked out at ``folder`` (with ``-dirty`` when there are uncommitted changes), or None."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}-dirty" if dirty else head


def _find_lock(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        if (folder / "uv.lock").is_file():
            return folder / "uv.lock"
    return None


def environment_record(config: ProjectConfig) -> EnvironmentMeta:
    """The locked environment: uv.lock's sha256 (when found) and every installed distribution's version."""
    lock = _find_lock(config.root) or _find_lock(Path(__file__).resolve().parent)
    packages = sorted(f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions() if d.metadata["Name"])
    return EnvironmentMeta(
        lock_file=str(lock) if lock else None,
        lock_sha256=hashlib.sha256(lock.read_bytes()).hexdigest() if lock else None,
        packages=tuple(packages),
    )


def data_section(dataset: Any, prepared: Any, sizes: Mapping[str, int], random_state: int, by: str) -> dict[str, Any]:
    """The report's ``run.data``: the source, its fingerprint, what preparation did, the target and the split.
    ``dataset`` and ``prepared`` are either engine's (``Dataset``/``Prepared`` or their Spark counterparts)."""
    split = {name: int(sizes.get(name, 0)) for name in ("train", "validation", "test")}
    return {
        "source": dataset.source,
        "fingerprint": dataset.fingerprint,
        **dataset.meta,
        "prepare": prepared.report.to_dict(),
        "target": prepared.target_record(),
        "split": {**split, "random_state": random_state, "by": by},
    }


def run_meta(config: ProjectConfig, started: datetime, commit: str | None, data: dict[str, Any]) -> RunMeta:
    """A run's record before the model: who ran what, on which data."""
    return RunMeta(
        project=config.name,
        config=str(config.path) if config.path else None,
        config_sha256=config.sha256,
        started_at=started,
        mlgate_version=metadata.version("mlgate"),
        git_commit=commit,
        data=data,
    )


def run_metadata(
    config: ProjectConfig, data: DataBundle, candidate: Candidate | None, started: datetime, commit: str | None
) -> RunMeta:
    parts = data.split
    sizes = {"train": len(parts.train), "validation": 0 if parts.validation is None else len(parts.validation),
             "test": len(parts.test)}  # fmt: skip
    meta = run_meta(config, started, commit, data_section(data.dataset, data.prepared, sizes, parts.random_state,
                                                          parts.by))  # fmt: skip
    if candidate is not None:
        meta.model = {
            "estimator": candidate.trained.estimator_name,
            "params": {
                k: repr(v) if not isinstance(v, int | float | str | bool | None) else v
                for k, v in candidate.trained.params.items()
            },
            "search": candidate.trained.search,
            "threshold": candidate.threshold,
            "threshold_source": candidate.threshold_source,
            "metrics": candidate.evaluation.overall,
            "confusion": candidate.evaluation.confusion,
            "slices": candidate.evaluation.slices,
        }
        if data.prepared.task != "binary":  # the report's per-row plots (binary reports are unchanged)
            meta.model["predictions"] = _predictions(data, candidate)
        meta.environment = environment_record(config)
    return meta


def _predictions(data: DataBundle, candidate: Candidate) -> dict[str, object]:
    """``{"split": "test", "rows", "actual", "scores"}``: the test rows' labels (class codes or values) and the
    candidate's scores (probabilities per class, or predictions), a seeded sample of :data:`PREDICTION_SAMPLE`
    rows when there are more, the scores rounded to 6 decimals (the plots need no more)."""
    actual = data.split.y_test.to_numpy()
    scores = np.asarray(candidate.proba_test, dtype=np.float64)
    rows = len(actual)
    if rows > PREDICTION_SAMPLE:
        keep = np.sort(np.random.default_rng(data.split.random_state).choice(rows, PREDICTION_SAMPLE, replace=False))
        actual, scores = actual[keep], scores[keep]
    return {"split": "test", "rows": rows, "actual": actual.tolist(), "scores": np.round(scores, 6).tolist()}
