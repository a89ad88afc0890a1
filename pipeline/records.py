"""What the pipeline produces, as plain typed records: the only pipeline outputs ``checks`` may import.

The records hold arrays, numbers and strings, never training code: :mod:`checks` judges them without importing
:mod:`pipeline.train`, :mod:`pipeline.candidate` or :mod:`pipeline.retrain` (an import-linter contract in
pyproject.toml says so). The producers are :func:`pipeline.candidate.train_candidate` (the candidate),
:func:`pipeline.candidate.train_baselines` (the simpler models it must beat) and :mod:`pipeline.retrain` (the
fresh-process retrain), all called by the gated run (:mod:`ci.gated_run`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlgate.pipeline.config import ProjectConfig
from mlgate.pipeline.ingest import Dataset
from mlgate.pipeline.prepare import Prepared
from mlgate.pipeline.slices import group_labels
from mlgate.pipeline.tags import Tag

if TYPE_CHECKING:  # (types only: importing them would import scikit-learn)
    from mlgate.pipeline.evaluate import Evaluation
    from mlgate.pipeline.split import Split
    from mlgate.pipeline.train import TrainedModel

__all__ = [
    "BaselineOutput",
    "Candidate",
    "ChampionRecord",
    "CrossFitted",
    "DataBundle",
    "EnvironmentMeta",
    "LoggedModel",
    "RetrainOutcome",
    "RetrainOutput",
    "RunMeta",
    "evaluation_groups",
]


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
    evaluation: Evaluation
    proba_validation: np.ndarray | None = None

    @property
    def pipeline(self) -> Any:
        return self.trained.pipeline


@dataclass(frozen=True)
class CrossFitted:
    """Out-of-fold scores of the candidate's and the champion's recipes on every labelled row
    (:func:`pipeline.cross_fit.cross_fit_recipes`), or why there are none (``skipped``).

    ``same_recipe``: the two recipes are the same estimator, parameters and features, so refitting them gives the
    same scores and nothing was fitted."""

    y: np.ndarray
    candidate: np.ndarray | None = None
    champion: np.ndarray | None = None
    folds: int = 0
    seed: int = 0
    seconds: float = 0.0
    same_recipe: bool = False
    skipped: str | None = None


@dataclass(frozen=True)
class BaselineOutput:
    """One baseline as trained next to the candidate: its test probabilities and threshold, or why it failed."""

    name: str
    proba_test: np.ndarray | None
    threshold: float | None
    threshold_source: str | None
    error: str | None = None  # set (and the rest None) when the baseline could not be trained
    proba_validation: np.ndarray | None = None  # its validation-split scores (threshold-free comparisons use them)


@dataclass(frozen=True)
class RetrainOutput:
    """What one retrain produced, as written to (and read back from) its output folder."""

    proba_test: np.ndarray
    metrics: dict[str, float | None]
    threshold: float
    threshold_source: str
    data_fingerprint: str
    config_sha256: str
    n_test: int
    threads: dict[str, int]

    def to_json(self) -> dict[str, Any]:
        return {
            "metrics": self.metrics,
            "threshold": self.threshold,
            "threshold_source": self.threshold_source,
            "data_fingerprint": self.data_fingerprint,
            "config_sha256": self.config_sha256,
            "n_test": self.n_test,
            "threads": self.threads,
        }


@dataclass(frozen=True)
class RetrainOutcome:
    """How the fresh-process retrain ended: its output, or the one-line reason it failed; and the parent's threads."""

    output: RetrainOutput | None
    error: str | None
    parent_threads: int


@dataclass(frozen=True)
class LoggedModel:
    """The candidate as saved: in the registry (a run and version ``challenger``), or locally by ``mlgate gate``."""

    run_id: str  # "local" when the gated run registers nothing
    model_uri: str  # models:/<name>/<version>, or the local file's URI
    sha256: str  # of model.skops
    local_path: Path  # model.skops as downloaded back from the artifact store (or as saved locally)
    version: str | None = None  # the registered version; None when not registered
    mlflow_model_uri: str = ""  # the MLflow sklearn model (models:/m-...), when registered


@dataclass(frozen=True)
class ChampionRecord:
    """The model version holding the ``champion`` alias, as the registry describes it.

    ``tags`` are the run's tags overlaid by the version's (both carry mlgate's, see :class:`pipeline.tags.Tag`).
    ``model`` (the loaded pipeline) and ``row_hashes`` (of the data it was trained on) are filled in only when a
    check needs them: loading verifies the model's signature, which costs a download.
    """

    name: str
    version: str
    run_id: str
    trained_at: datetime
    registered_at: datetime | None = None
    model_uri: str = ""
    sha256: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    model: Any | None = None
    row_hashes: np.ndarray | None = None

    @property
    def data_fingerprint(self) -> str | None:
        return self.tags.get(Tag.DATA_FINGERPRINT)


@dataclass(frozen=True)
class EnvironmentMeta:
    """The locked environment a run trained in: the project's uv.lock (when found) and every installed package."""

    lock_file: str | None
    lock_sha256: str | None
    packages: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"lock_file": self.lock_file, "lock_sha256": self.lock_sha256, "packages": list(self.packages)}


@dataclass
class RunMeta:
    """What one gated run was about, as the gated run records it: the typed form of the report's ``run`` section.

    The provenance check reads its fields (no dotted strings); :meth:`to_json` is the report's ``run`` object
    (keys in this order, optional sections only when set). ``data`` and ``model`` are report sections (the
    data set's and the candidate's description) that only renderers read.
    """

    project: str
    config: str | None
    config_sha256: str | None
    started_at: datetime
    mlgate_version: str
    git_commit: str | None
    data: dict[str, Any] = field(default_factory=dict)
    model: dict[str, Any] | None = None
    environment: EnvironmentMeta | None = None
    layers_run: list[str] | None = None
    timings_s: dict[str, float] | None = None
    finished_at: datetime | None = None

    @property
    def data_fingerprint(self) -> str | None:
        value = self.data.get("fingerprint")
        return str(value) if value else None

    @property
    def lock_sha256(self) -> str | None:
        return None if self.environment is None else self.environment.lock_sha256

    def finish(self, *, layers_run: list[str], timings_s: dict[str, float], now: datetime) -> None:
        self.layers_run, self.timings_s, self.finished_at = layers_run, timings_s, now

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "project": self.project,
            "config": self.config,
            "config_sha256": self.config_sha256,
            "started_at": self.started_at.isoformat(),
            "mlgate_version": self.mlgate_version,
            "git_commit": self.git_commit,
            "data": self.data,
        }
        if self.model is not None:
            out["model"] = self.model
        if self.environment is not None:
            out["environment"] = self.environment.to_json()
        if self.layers_run is not None:
            out["layers_run"] = self.layers_run
        if self.timings_s is not None:
            out["timings_s"] = self.timings_s
        if self.finished_at is not None:
            out["finished_at"] = self.finished_at.isoformat()
            out["duration_s"] = round((self.finished_at - self.started_at).total_seconds(), 3)
        return out


def evaluation_groups(config: ProjectConfig, frame: pd.DataFrame) -> dict[str, pd.Series]:
    """Slice columns and sensitive attributes (banded) as named groupings of ``frame``'s rows."""
    groups: dict[str, pd.Series] = {c: frame[c].astype("string") for c in config.slices.columns}
    for attribute in config.balance.sensitive:
        groups[attribute.column] = group_labels(frame, attribute)
    return groups
