"""Fixtures of the quality-gate suite: the bundled German credit run, trained once per session."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from quality_helpers import baselines_for, make_evidence

from mlgate.checks.quality import run
from mlgate.checks.quality_common import Scored
from mlgate.checks.quality_compare import scored_baselines
from mlgate.pipeline.candidate import Candidate, DataBundle, load_data, train_candidate
from mlgate.pipeline.config import ProjectConfig, load_config


@pytest.fixture(scope="session")
def german_config() -> ProjectConfig:
    return load_config(Path(__file__).resolve().parents[3] / "mlgate.toml")


@pytest.fixture(scope="session")
def german_data(german_config: ProjectConfig) -> DataBundle:
    return load_data(german_config)


@pytest.fixture(scope="session")
def german_candidate(german_config: ProjectConfig, german_data: DataBundle) -> Candidate:
    return train_candidate(german_config, german_data, random_state=german_config.model.random_state)


@pytest.fixture(scope="session")
def german_baselines(german_config: ProjectConfig, german_data: DataBundle) -> dict[str, Scored]:
    baselines, errors = scored_baselines(baselines_for(german_config, german_data))
    assert errors == []
    return baselines


@pytest.fixture(scope="session")
def y_test(german_data: DataBundle) -> np.ndarray:
    return german_data.split.y_test.to_numpy()


@pytest.fixture(scope="session")
def scored_candidate(german_candidate: Candidate) -> Scored:
    c = german_candidate
    return Scored("candidate", np.asarray(c.proba_test), c.threshold, c.threshold_source)


@pytest.fixture(scope="session")
def bundled_results(german_config: ProjectConfig, german_data: DataBundle, german_candidate: Candidate):
    """The quality layer's verdict on the bundled project, computed once."""
    return run(make_evidence(german_config, german_data, german_candidate))
