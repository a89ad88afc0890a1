"""The one layer loop (checks.layers.run_layers): order, per-layer stages, and just-in-time evidence."""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from mlgate.checks import layers
from mlgate.checks.result import CheckResult, Status


@pytest.fixture
def fake_layers(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, object]]:
    seen: list[tuple[str, object]] = []

    def function(name: str):
        def run(evidence: object) -> list[CheckResult]:
            seen.append((name, evidence))
            if name == "drift":
                raise RuntimeError("boom")
            return [CheckResult(f"{name}.ok", name, Status.PASS, "ok")]

        return run

    monkeypatch.setattr(layers, "layer_function", function)
    return seen


def test_layers_run_in_the_given_order_each_in_its_stage(fake_layers) -> None:
    stages: list[str] = []

    @contextmanager
    def stage(name: str):
        stages.append(name)
        yield

    results = layers.run_layers("E", ["schema", "drift", "quality"], stage=stage)  # type: ignore[arg-type]
    assert [r.id for r in results] == ["schema.ok", "drift.error", "quality.ok"]
    assert results[1].status is Status.ERROR and "RuntimeError: boom" in results[1].message
    assert stages == ["schema gate", "drift gate", "quality gate"]


def test_before_hands_each_layer_the_evidence_it_returns(fake_layers) -> None:
    def before(layer: str, evidence: str) -> str:
        return evidence + "+retrain" if layer == "reproducibility" else evidence

    layers.run_layers("E", ["quality", "reproducibility", "staleness"], before=before)  # type: ignore[arg-type]
    assert fake_layers == [("quality", "E"), ("reproducibility", "E+retrain"), ("staleness", "E+retrain")]
