"""The champion's training rows as logged and read back through the registry adapter (a real sqlite store):
``Registry.find_artifact`` finds ``drift/reference.parquet`` when the run logged it and says None when it did not
(an older run, or ``drift.log_reference = false``), so the new-data comparison falls back to the project data and
says why."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pytest
from sklearn.pipeline import Pipeline

from mlgate.ci.current_batch import champion_reference
from mlgate.pipeline.batch import REFERENCE_ARTIFACT, reference_rows, write_reference
from mlgate.pipeline.candidate import DataBundle, load_data
from mlgate.pipeline.config import ModelSettings, load_config
from mlgate.pipeline.registry import Registry
from mlgate.pipeline.train import build_pipeline


@pytest.fixture(scope="module")
def data(german_config_path: Path) -> DataBundle:
    return load_data(load_config(german_config_path))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root}/mlflow.db"
    Registry(uri, experiment="reference", model_name="fixture").open(create=True)
    return uri, (root / "artifacts").as_uri()


def _champion(store: tuple[str, str], data: DataBundle, tmp_path: Path, config: Path, *, with_reference: bool):
    uri, artifacts = store
    registry = Registry(uri, uri, experiment="reference", model_name=f"m-{uuid.uuid4().hex[:8]}",
                        artifact_location=artifacts)  # fmt: skip
    prepared = data.prepared
    settings = ModelSettings(estimator="logistic_regression", params={"max_iter": 1000})
    model = build_pipeline(settings, prepared.numeric, prepared.categorical, random_state=0)
    model.fit(data.split.train[prepared.features], data.split.y_train)
    files = {"config": config}
    if with_reference:
        rows = reference_rows(data, max_rows=100_000, random_state=0)
        files["drift"] = write_reference(rows, tmp_path / "reference.parquet")
    logged = _log(registry, model, data, files, tmp_path)
    registry.promote(logged.version, gate_report_sha256="0" * 64)
    return registry, registry.champion()


def _log(registry: Registry, model: Pipeline, data: DataBundle, files: dict[str, Path], tmp_path: Path):
    prepared = data.prepared
    return registry.log_candidate(
        model=model,
        params={},
        metrics={},
        tags={},
        artifacts=files,
        model_meta={
            "features": prepared.features,
            "numeric": prepared.numeric,
            "categorical": prepared.categorical,
            "threshold": 0.5,
            "positive_label": 1,
        },
        workdir=tmp_path / "work",
    )


def test_the_logged_reference_is_read_back_as_the_champions(
    store, data: DataBundle, tmp_path: Path, german_config_path: Path
) -> None:
    registry, champion = _champion(store, data, tmp_path, german_config_path, with_reference=True)
    assert registry.find_artifact(champion.run_id, REFERENCE_ARTIFACT, tmp_path / "found") is not None
    reference = champion_reference(registry, champion)
    assert reference is not None and reference.champion_version == champion.version == "1"
    assert reference.description == "champion v1's training data"
    assert len(reference.frame) == len(data.split.train) + len(data.split.validation)
    expected = reference_rows(data, max_rows=100_000, random_state=0)
    assert np.array_equal(reference.frame["credit_amount"].to_numpy(), expected["credit_amount"].to_numpy())


def test_a_champion_that_logged_no_reference_gives_none(
    store, data: DataBundle, tmp_path: Path, german_config_path: Path
) -> None:
    registry, champion = _champion(store, data, tmp_path, german_config_path, with_reference=False)
    assert registry.find_artifact(champion.run_id, REFERENCE_ARTIFACT, tmp_path / "absent") is None
    assert registry.find_artifact(champion.run_id, "nothing/here.parquet", tmp_path / "absent") is None
    assert champion_reference(registry, champion) is None
