"""Evidence: everything the gates judge, produced by the pipeline and assembled by the gated run.

Data layers (schema, balance, drift) need only the data fields; model layers also need ``model`` and,
for comparisons, ``champion``, ``baselines`` (the simpler models, trained by the gated run) and ``retrain``
(how the fresh-process retrain ended). A field a layer needs but lacks makes that layer report SKIPPED (or
ERROR, when the run should have produced it). Checks only judge: every model here was produced by the pipeline
(:mod:`pipeline.records` types), none by a check.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from mlgate.pipeline.batch import Batch, DriftReference
from mlgate.pipeline.config import ProjectConfig
from mlgate.pipeline.ingest import Dataset
from mlgate.pipeline.prepare import Prepared
from mlgate.pipeline.records import (
    BaselineOutput,
    Candidate,
    ChampionRecord,
    CrossFitted,
    LoggedModel,
    RetrainOutcome,
    RunMeta,
)

if TYPE_CHECKING:  # pipeline.split imports scikit-learn: the data gates must not pay for it (light imports)
    from mlgate.pipeline.diagnostics import Diagnostics
    from mlgate.pipeline.split import Split

__all__ = ["Evidence", "ModelEvidence"]


ModelEvidence = Candidate  # the candidate model as the pipeline produced it


@dataclass(frozen=True)
class Evidence:
    config: ProjectConfig
    dataset: Dataset
    prepared: Prepared
    split: Split
    model: ModelEvidence | None = None
    champion: ChampionRecord | None = None  # with its model loaded when a comparison needs it
    artifact: LoggedModel | None = None  # the candidate as saved (registered, or locally by `mlgate gate`)
    run: RunMeta | None = None  # what the run records (provenance); None for a data-only evidence
    baselines: dict[str, BaselineOutput] | None = None  # name -> test-split output, from train_baselines
    retrain: RetrainOutcome | None = None  # the fresh-process retrain, when the run launched one
    diagnostics: Diagnostics | None = None  # permutation importance, training-row probabilities
    champion_packages: tuple[str, ...] | None = None  # the champion run's environment.txt, when logged
    drift_reference: DriftReference | None = None  # the champion's training rows (new-data drift, staleness)
    current: Batch | None = None  # a new batch the drift gate compares with drift_reference (--current)
    recipes: CrossFitted | None = None  # the candidate's and the champion's recipes refitted on folds of all rows
    deepchecks: Mapping[str, Any] | None = None  # the deepchecks runner's result.json (ci.deepchecks_env)

    @property
    def train_frame(self) -> pd.DataFrame:
        return (
            self.split.train if self.split.validation is None else pd.concat([self.split.train, self.split.validation])
        )

    @property
    def test_frame(self) -> pd.DataFrame:
        return self.split.test
