"""Builders for the quality-gate tests: synthetic models, champions, evidence and fast settings."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from mlgate.checks.evidence import Evidence
from mlgate.pipeline.candidate import Candidate, DataBundle, train_baselines
from mlgate.pipeline.config import ProjectConfig, QualitySettings
from mlgate.pipeline.records import BaselineOutput, ChampionRecord


class FixedModel:
    """A stand-in for a fitted pipeline: returns given positive-class probabilities, whatever the rows."""

    classes_ = np.array([0, 1])

    def __init__(self, proba: np.ndarray) -> None:
        self.proba = np.asarray(proba, dtype=np.float64)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        assert len(X) == len(self.proba), "a FixedModel scores exactly the rows it was built for"
        return np.column_stack([1 - self.proba, self.proba])


def champion_with(model: object | None, **tags: str) -> ChampionRecord:
    return ChampionRecord(
        name="german-credit",
        version="7",
        run_id="r7",
        trained_at=datetime(2026, 1, 1, tzinfo=UTC),
        model=model,
        tags=dict(tags),
    )


def settings(**overrides: object) -> QualitySettings:
    """Fast bootstrap settings for function-level tests (200 resamples is the floor the config allows: 100)."""
    base = {"bootstrap_resamples": 200, "random_state": 0}
    return QualitySettings.model_validate({**base, **overrides})


def make_evidence(
    config: ProjectConfig,
    data: DataBundle,
    candidate: Candidate | None,
    *,
    champion: ChampionRecord | None = None,
) -> Evidence:
    """The evidence the gated run would assemble, baselines trained the way it trains them (once per data)."""
    return Evidence(
        config=config,
        dataset=data.dataset,
        prepared=data.prepared,
        split=data.split,
        model=candidate,
        champion=champion,
        baselines=baselines_for(config, data),
    )


_BASELINES: dict[int, tuple[DataBundle, dict[str, BaselineOutput]]] = {}


def baselines_for(config: ProjectConfig, data: DataBundle) -> dict[str, BaselineOutput]:
    """:func:`pipeline.candidate.train_baselines` on ``data``, cached per bundle (the tests reuse a few)."""
    cached = _BASELINES.get(id(data))
    if cached is None or cached[0] is not data:
        cached = (data, train_baselines(config, data))
        _BASELINES[id(data)] = cached
    return cached[1]


def with_proba(candidate: Candidate, proba: np.ndarray, validation: np.ndarray | None = None) -> Candidate:
    """The same candidate, pretending it scored the test rows as ``proba`` (and the validation rows as
    ``validation``, when given)."""
    changed = {"proba_test": np.asarray(proba, dtype=np.float64)}
    if validation is not None:
        changed["proba_validation"] = np.asarray(validation, dtype=np.float64)
    return dataclasses.replace(candidate, **changed)


def held_out(candidate: Candidate) -> np.ndarray:
    """The candidate's scores on every held-out row, in the order the champion comparison stacks them (test,
    then validation)."""
    assert candidate.proba_validation is not None
    return np.concatenate([candidate.proba_test, candidate.proba_validation])


def noisy(proba: np.ndarray, *, scale: float, random_state: int) -> np.ndarray:
    """``proba`` blurred with seeded noise in logit space: the same model, ranking worse."""
    rng = np.random.default_rng(random_state)
    logit = np.log(proba / (1 - proba)) + rng.normal(scale=scale, size=len(proba))
    return 1 / (1 + np.exp(-logit))
