"""The monitor gates' fixtures: the bundled project's model trained once, its monitoring reference, and a judge
that runs every monitor check on a window built from the held-out rows (tests/fixtures/monitor_traffic.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fixtures.monitor_traffic import Traffic, as_window

from mlgate.checks.monitor import MonitorEvidence, run
from mlgate.checks.result import CheckResult
from mlgate.checks.schema import load_schema
from mlgate.pipeline.config import ProjectConfig, load_config
from mlgate.pipeline.evaluate import positive_proba
from mlgate.pipeline.monitor_reference import MonitorReference

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Served:
    """The bundled project's model as served: config, reference, held-out rows and how the model scores rows."""

    config: ProjectConfig
    reference: MonitorReference
    X: pd.DataFrame
    y: np.ndarray
    model: Any

    def score(self, rows: pd.DataFrame) -> np.ndarray:
        return positive_proba(self.model, rows)

    def traffic(self, rows: pd.DataFrame | None = None, **kwargs: Any) -> Traffic:
        rows = self.X if rows is None else rows
        return Traffic(rows, self.score(rows), **kwargs)


@pytest.fixture(scope="session")
def served(german_config_path) -> Served:
    from mlgate.ci.monitor_profile import build_profile
    from mlgate.pipeline.candidate import train_candidate
    from mlgate.pipeline.dataload import load_data

    config = load_config(german_config_path)
    data = load_data(config)
    candidate = train_candidate(config, data, random_state=config.model.random_state)
    reference = build_profile(config, data, candidate).with_description("model v1's reference")
    X = data.split.test[data.prepared.features].reset_index(drop=True)
    return Served(config, reference, X, data.split.y_test.to_numpy(), candidate.pipeline)


@pytest.fixture(scope="session")
def schema(served: Served):
    return load_schema(served.config.schema_path)


Judge = Callable[..., dict[str, CheckResult]]


@pytest.fixture
def judge(served: Served, schema) -> Judge:
    """Every monitor result for ``traffic`` (by id); ``config`` / ``reference`` / ``champion`` override."""

    def run_checks(
        traffic: Traffic,
        *,
        config: ProjectConfig | None = None,
        reference: MonitorReference | None = None,
        champion: Any = None,
        **window: Any,
    ) -> dict[str, CheckResult]:
        evidence = MonitorEvidence(
            config or served.config,
            reference or served.reference,
            as_window(traffic, **window),
            "2026-12-01 10:00:00Z to 11:00:00Z",
            NOW,
            "1",
            champion,
            schema,
        )
        results = run(evidence)
        ids = [r.id for r in results]
        assert len(ids) == len(set(ids)), f"duplicate ids: {ids}"
        return {r.id: r for r in results}

    return run_checks
