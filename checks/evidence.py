"""Evidence: everything the gates judge, produced by the pipeline and assembled by the gated run.

Data layers (schema, balance, drift) need only the data fields; model layers also need ``model`` and,
for comparisons, ``champion``, ``baselines`` (the simpler models, trained by the gated run) and ``retrain``
(how the fresh-process retrain ended). A field a layer needs but lacks makes that layer report SKIPPED (or
ERROR, when the run should have produced it). Checks only judge: every model here was produced by the pipeline
(:mod:`pipeline.records` types), none by a check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlgate.pipeline.config import ProjectConfig
from mlgate.pipeline.ingest import Dataset
from mlgate.pipeline.prepare import Prepared
from mlgate.pipeline.records import BaselineOutput, Candidate, RetrainOutcome

if TYPE_CHECKING:  # pipeline.split imports scikit-learn: the data gates must not pay for it (light imports)
    from mlgate.pipeline.split import Split

__all__ = ["ChampionEvidence", "Evidence", "LoggedArtifact", "ModelEvidence"]


ModelEvidence = Candidate  # the candidate model as the pipeline produced it


@dataclass(frozen=True)
class LoggedArtifact:
    """The candidate as saved in the registry: where, its sha256, and the version it became."""

    model_uri: str
    local_path: str  # the saved model file (model.skops) as downloaded back from the artifact store
    sha256: str
    run_id: str
    version: str | None = None


@dataclass(frozen=True)
class ChampionEvidence:
    """The model currently holding the ``champion`` alias, as the registry describes it."""

    name: str
    version: str
    run_id: str
    trained_at: datetime
    data_fingerprint: str | None
    model: Any | None = None  # the loaded pipeline, when a comparison needs it
    tags: dict[str, str] = field(default_factory=dict)
    row_hashes: np.ndarray | None = None  # of the data it was trained on, when recorded


@dataclass(frozen=True)
class Evidence:
    config: ProjectConfig
    dataset: Dataset
    prepared: Prepared
    split: Split
    model: ModelEvidence | None = None
    champion: ChampionEvidence | None = None
    artifact: LoggedArtifact | None = None
    run: dict[str, Any] = field(default_factory=dict)
    baselines: dict[str, BaselineOutput] | None = None  # name -> test-split output, from train_baselines
    retrain: RetrainOutcome | None = None  # the fresh-process retrain, when the run launched one

    @property
    def train_frame(self) -> pd.DataFrame:
        return (
            self.split.train if self.split.validation is None else pd.concat([self.split.train, self.split.validation])
        )

    @property
    def test_frame(self) -> pd.DataFrame:
        return self.split.test
