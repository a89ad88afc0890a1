"""What a gated run records about itself (:class:`pipeline.records.RunMeta`): the code's commit, the locked
environment, the data and its target, the candidate's parameters, metrics and (multi-class, regression) a sample
of its test scores for the report's plots. Split from :mod:`ci.gated_run`, which re-exports these names.
"""

from __future__ import annotations

import hashlib
import subprocess
from datetime import datetime
from importlib import metadata
from pathlib import Path

import numpy as np

from mlgate.pipeline.config import ProjectConfig
from mlgate.pipeline.records import Candidate, DataBundle, EnvironmentMeta, RunMeta

__all__ = ["PREDICTION_SAMPLE", "environment_record", "git_commit", "run_metadata"]

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


def run_metadata(
    config: ProjectConfig, data: DataBundle, candidate: Candidate | None, started: datetime, commit: str | None
) -> RunMeta:
    parts = data.split
    meta = RunMeta(
        project=config.name,
        config=str(config.path) if config.path else None,
        config_sha256=config.sha256,
        started_at=started,
        mlgate_version=metadata.version("mlgate"),
        git_commit=commit,
        data={
            "source": data.dataset.source,
            "fingerprint": data.dataset.fingerprint,
            **data.dataset.meta,
            "prepare": data.prepared.report.to_dict(),
            "target": data.prepared.target_record(),
            "split": {
                "train": len(parts.train),
                "validation": 0 if parts.validation is None else len(parts.validation),
                "test": len(parts.test),
                "random_state": parts.random_state,
                "by": parts.by,
            },
        },
    )
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
