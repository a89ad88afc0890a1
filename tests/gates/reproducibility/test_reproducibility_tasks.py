"""The reproducibility gate on multi-class and regression candidates: the bundled examples retrain identically in
a fresh process (every class's probability, every prediction, bitwise); a forest that ignores its seed fails."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_reproducibility_gate import HERE, PROVENANCE, _by_id, _evidence

from mlgate.checks import reproducibility as repro
from mlgate.checks.result import Status
from mlgate.pipeline.config import load_config

UNSEEDED = {
    "wine": ('estimator = "logistic_regression"', 'estimator = "unseeded_estimators.SeedIgnoringForest"'),
    "diabetes": ('estimator = "ridge"', 'estimator = "unseeded_estimators.SeedIgnoringForestRegressor"'),
}
PARAMS = {
    "wine": ("params = { C = 1.0, max_iter = 2000 }", "params = { n_estimators = 15, max_depth = 4 }"),
    "diabetes": ("params = { alpha = 1.0 }", "params = { n_estimators = 15, max_depth = 4 }"),
}


def _example(name: str, tmp_path: Path, repo_root: Path, *, unseeded: bool) -> Path:
    project = tmp_path / name
    shutil.copytree(repo_root / "examples" / name, project, ignore=shutil.ignore_patterns("mlruns"))
    path = project / "mlgate.toml"
    if unseeded:
        text = path.read_text()
        for old, new in (UNSEEDED[name], PARAMS[name]):
            assert old in text
            text = text.replace(old, new, 1)
        path.write_text(text)
    return path


@pytest.mark.parametrize("name", ["wine", "diabetes"])
def test_each_example_retrains_bitwise_in_a_fresh_process(name: str, tmp_path: Path, repo_root: Path) -> None:
    by_id = _by_id(
        repro.run(_evidence(load_config(_example(name, tmp_path, repo_root, unseeded=False)), run=PROVENANCE))
    )
    assert by_id["retrain_predictions"].status is Status.PASS, by_id["retrain_predictions"].message
    assert by_id["retrain_metrics"].status is Status.PASS, by_id["retrain_metrics"].message


@pytest.mark.parametrize("name", ["wine", "diabetes"])
def test_a_forest_that_ignores_its_seed_is_caught_for_every_task(
    name: str, tmp_path: Path, repo_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(HERE))  # the child imports the estimator by dotted path
    monkeypatch.syspath_prepend(str(HERE))
    by_id = _by_id(
        repro.run(_evidence(load_config(_example(name, tmp_path, repo_root, unseeded=True)), run=PROVENANCE))
    )
    predictions = by_id["retrain_predictions"]
    assert predictions.status is Status.FAIL, predictions.message
    assert "is not reproducible: " in predictions.message and predictions.details["rows_differing"] > 0
    assert by_id["retrain_metrics"].status is Status.FAIL
