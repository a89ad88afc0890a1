"""The gated run starts the fresh-process retrain before it trains, and waits for it only at the reproducibility
layer; a run that fails before then kills the child (no retrain outlives its run)."""

from __future__ import annotations

from pathlib import Path

import pytest

import mlgate.ci.gated_run as gated
import mlgate.pipeline.candidate as candidate_module
from mlgate.pipeline.config import load_config
from mlgate.pipeline.errors import TrainingError
from mlgate.pipeline.records import RetrainOutcome


class FakePending:
    """Stands in for pipeline.retrain.PendingRetrain, recording what the gated run does with it."""

    def __init__(self, events: list[str]) -> None:
        self.events = events

    def outcome(self, parent_threads: int) -> RetrainOutcome:
        self.events.append("wait")
        return RetrainOutcome(None, "fake retrain: not run", parent_threads)

    def cancel(self) -> None:
        self.events.append("cancel")

    def __enter__(self) -> FakePending:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cancel()


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    monkeypatch.setattr(gated, "start_retrain", lambda *a, **k: seen.append("start") or FakePending(seen))
    train = candidate_module.train_candidate
    monkeypatch.setattr(candidate_module, "train_candidate", lambda *a, **k: seen.append("train") or train(*a, **k))
    monkeypatch.setattr(gated, "run_layers", _recording(gated.run_layers, seen))
    return seen


def _recording(run_layers, seen: list[str]):
    def run(evidence, layers, **kwargs):
        return run_layers(evidence, layers, stage=_noting(kwargs["stage"], seen), before=kwargs.get("before"))

    return run


def _noting(stage, seen: list[str]):
    def note(name: str):
        seen.append(name)
        return stage(name)

    return note


def test_the_retrain_starts_before_training_and_is_awaited_only_at_its_layer(events, german_config_path: Path) -> None:
    config = load_config(german_config_path)
    run = gated.run_pipeline(config, layers=["schema", "quality", "reproducibility"], register=False)
    assert events[:3] == ["start", "schema gate", "train"]
    assert events.index("quality gate") < events.index("wait") < events.index("reproducibility gate")
    assert events[-1] == "cancel"  # ended (and its folder freed) when the run ended
    [predictions] = [r for r in run.report.results if r.id == "reproducibility.retrain_predictions"]
    assert predictions.message == "cannot check reproducibility: fake retrain: not run"


def test_no_retrain_is_started_when_the_layer_is_not_run(events, german_config_path: Path) -> None:
    gated.run_pipeline(load_config(german_config_path), layers=["schema", "quality"], register=False)
    assert "start" not in events and "wait" not in events


def test_a_run_that_fails_after_the_start_kills_the_retrain(
    events, german_config_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args, **kwargs):
        raise TrainingError("model.params: deliberately broken")

    monkeypatch.setattr(candidate_module, "train_candidate", broken)  # imported by the model stage
    with pytest.raises(TrainingError):
        gated.run_pipeline(load_config(german_config_path), layers=["reproducibility"], register=False)
    assert events == ["start", "cancel"]
