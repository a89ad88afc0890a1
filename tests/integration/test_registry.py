"""The registry adapter against a real sqlite MLflow store: logging, promotion, rollback, failure paths.

One store per module (MLflow migrates a new sqlite file on first use); each test gets its own model name.
"""

from __future__ import annotations

import socket
import uuid
from pathlib import Path

import numpy as np
import pytest
from sklearn.pipeline import Pipeline

from mlgate.pipeline.artifact import ArtifactError, file_sha256, load_meta, meta_path
from mlgate.pipeline.candidate import DataBundle, load_data
from mlgate.pipeline.config import ModelSettings, load_config
from mlgate.pipeline.errors import RegistryError
from mlgate.pipeline.registry import Registry
from mlgate.pipeline.train import build_pipeline

EXPERIMENT = "registry-tests"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root}/mlflow.db"
    Registry(uri, experiment=EXPERIMENT, model_name="fixture").open(create=True)  # reading never creates a store
    return uri, (root / "artifacts").as_uri()


@pytest.fixture(scope="module")
def data(german_config_path: Path) -> DataBundle:
    return load_data(load_config(german_config_path))


@pytest.fixture(scope="module")
def model(data: DataBundle) -> Pipeline:
    prepared = data.prepared
    settings = ModelSettings(estimator="logistic_regression", params={"C": 0.5, "max_iter": 1000})
    pipeline = build_pipeline(settings, prepared.numeric, prepared.categorical, random_state=0)
    return pipeline.fit(data.split.train[prepared.features], data.split.y_train)


@pytest.fixture
def registry(store: tuple[str, str]) -> Registry:
    uri, artifacts = store
    name = f"m-{uuid.uuid4().hex[:8]}"
    return Registry(uri, uri, experiment=EXPERIMENT, model_name=name, artifact_location=artifacts)


@pytest.fixture
def files(tmp_path: Path, repo_root: Path) -> dict[str, Path]:
    report = tmp_path / "gate-report.json"
    report.write_text('{"passed": true}\n')
    return {"config": repo_root / "mlgate.toml", "environment": repo_root / "uv.lock", "reports": report}


def log(
    registry: Registry,
    model: Pipeline,
    data: DataBundle,
    tmp_path: Path,
    files: dict[str, Path],
    *,
    example: bool = False,
    **tags: str,
):
    prepared = data.prepared
    return registry.log_candidate(
        model=model,
        params={"C": 0.5, "estimator": "logistic_regression"},
        metrics={"roc_auc": 0.77, "log_loss": 0.52, "undefined": None},
        tags={"mlgate.data_fingerprint": "abc123", "mlgate.git_commit": "deadbeef", **tags},
        artifacts=files,
        model_meta={
            "features": prepared.features,
            "numeric": prepared.numeric,
            "categorical": prepared.categorical,
            "threshold": 0.42,
            "positive_label": 1,
        },
        input_example=data.split.test[prepared.features].head(3) if example else None,
        workdir=tmp_path / f"work-{uuid.uuid4().hex[:6]}",
    )


def runs_tagged(registry: Registry, key: str, value: str):
    experiment = registry.client.get_experiment_by_name(EXPERIMENT)
    return registry.client.search_runs([experiment.experiment_id], filter_string=f"tags.`{key}` = '{value}'")


def test_champion_is_none_on_an_empty_registry(registry: Registry) -> None:
    assert registry.champion() is None
    assert registry.history() == []


def test_log_candidate_records_one_run_and_a_challenger_version(
    registry: Registry, model: Pipeline, data: DataBundle, tmp_path: Path, files: dict[str, Path], capfd
) -> None:
    logged = log(registry, model, data, tmp_path, files)
    out, err = capfd.readouterr()
    assert "INFO" not in out + err and "WARNING" not in out + err  # MLflow kept quiet

    assert logged.version == "1" and logged.model_uri == f"models:/{registry.model_name}/1"
    assert file_sha256(logged.local_path) == logged.sha256 == load_meta(logged.local_path)["sha256"]
    assert load_meta(logged.local_path)["threshold"] == 0.42
    [version] = registry.history()
    assert version.aliases == ("challenger",) and not version.is_champion
    assert version.tags["mlgate.model_sha256"] == logged.sha256 and version.tags["mlgate.data_fingerprint"] == "abc123"

    run = registry.client.get_run(logged.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params == {"C": "0.5", "estimator": "logistic_regression"}
    assert run.data.metrics == {"roc_auc": 0.77, "log_loss": 0.52}
    assert run.data.tags["mlgate.git_commit"] == "deadbeef"
    listed = {f.path for folder in ("config", "environment", "reports", "mlgate_model")
              for f in registry.client.list_artifacts(logged.run_id, folder)}  # fmt: skip
    assert listed == {
        "config/mlgate.toml",
        "environment/uv.lock",
        "reports/gate-report.json",
        "mlgate_model/model.skops",
        "mlgate_model/model.meta.json",
    }
    mlmodel = registry.client.get_logged_model(logged.mlflow_model_uri.removeprefix("models:/"))
    assert mlmodel.source_run_id == logged.run_id


def test_load_model_round_trip_is_exact(
    registry: Registry, model: Pipeline, data: DataBundle, tmp_path: Path, files: dict[str, Path]
) -> None:
    logged = log(registry, model, data, tmp_path, files, example=True)
    X = data.split.test[data.prepared.features]
    expected = model.predict_proba(X)
    mlmodel = registry.client.get_logged_model(logged.mlflow_model_uri.removeprefix("models:/"))
    mlmodel_file = Path(mlmodel.artifact_location.removeprefix("file://")) / "MLmodel"
    assert "signature:" in mlmodel_file.read_text()  # inferred from the input example
    assert np.array_equal(registry.load_model(logged.version).predict_proba(X), expected)
    assert np.array_equal(registry.load_model("challenger").predict_proba(X), expected)

    path = registry.download_bundle(logged.version, tmp_path / "bundle")
    assert path == tmp_path / "bundle" / "model.skops" and meta_path(path).is_file()
    assert file_sha256(path) == logged.sha256

    config = registry.download_artifact(logged.run_id, "config/mlgate.toml", tmp_path / "run-files")
    assert config.read_bytes() == files["config"].read_bytes()
    with pytest.raises(
        RegistryError, match=rf"downloading artifact config/nothing\.toml of run {logged.run_id} failed"
    ):
        registry.download_artifact(logged.run_id, "config/nothing.toml", tmp_path / "run-files")


def test_a_changed_artifact_store_is_refused_on_load(
    registry: Registry, model: Pipeline, data: DataBundle, tmp_path: Path, files: dict[str, Path]
) -> None:
    logged = log(registry, model, data, tmp_path, files)
    stored = Path(registry.client.get_run(logged.run_id).info.artifact_uri.removeprefix("file://"))
    (stored / "mlgate_model" / "model.skops").write_bytes(b"swapped")
    with pytest.raises(RegistryError, match=r"downloaded model\.skops has sha256 [0-9a-f]+, the registry recorded"):
        registry.load_model(logged.version)


def test_promote_twice_then_roll_back_along_the_chain(
    registry: Registry, model: Pipeline, data: DataBundle, tmp_path: Path, files: dict[str, Path]
) -> None:
    versions = [log(registry, model, data, tmp_path, files).version for _ in range(3)]
    assert versions == ["1", "2", "3"]
    first = registry.promote("1", gate_report_sha256="r1")
    assert first.previous is None
    assert registry.promote("2", gate_report_sha256="r2").previous == "1"
    assert registry.promote("3", gate_report_sha256="r3").previous == "2"

    champion = registry.champion()
    assert champion is not None and champion.version == "3"
    assert champion.tags["mlgate.promoted_from"] == "2" and champion.tags["mlgate.gate_report_sha256"] == "r3"
    assert champion.tags["mlgate.data_fingerprint"] == "abc123" and champion.sha256
    assert champion.trained_at.tzinfo is not None and champion.registered_at >= champion.trained_at
    assert {r.version: r.aliases for r in registry.history()} == {
        "3": ("challenger", "champion"),
        "2": (),
        "1": (),
    }

    assert registry.rollback() == ("3", "2")
    assert registry.rollback() == ("2", "1")
    with pytest.raises(RegistryError, match=r"no previous champion to roll back to: version 1 of 'm-\w+' was the"):
        registry.rollback()
    assert registry.champion().version == "1"
    tags = {r.version: r.tags for r in registry.history()}
    assert "mlgate.rolled_back_at" in tags["3"] and "mlgate.rolled_back_at" in tags["2"]
    assert tags["1"]["mlgate.promoted_from"] == "none"

    registry.promote("3", gate_report_sha256="r3b")  # promoted again: the stale rollback mark goes
    assert "mlgate.rolled_back_at" not in registry.champion().tags


def test_promotion_is_atomic_when_the_alias_move_fails(
    registry: Registry, model: Pipeline, data: DataBundle, tmp_path: Path, files: dict[str, Path], monkeypatch
) -> None:
    from mlflow.exceptions import MlflowException

    log(registry, model, data, tmp_path, files)
    log(registry, model, data, tmp_path, files)
    registry.promote("1", gate_report_sha256="r1")
    original = registry.client.set_registered_model_alias

    def flaky(name: str, alias: str, version: str) -> None:
        if alias == "champion":
            raise MlflowException("database is locked\nsecond line")
        original(name, alias, version)

    monkeypatch.setattr(registry.client, "set_registered_model_alias", flaky)
    with pytest.raises(RegistryError, match=r"promoting version 2 failed .*MlflowException: database is locked$"):
        registry.promote("2", gate_report_sha256="r2")
    assert registry.champion().version == "1"
    with pytest.raises(RegistryError, match="no previous champion to roll back to: version 1"):
        registry.rollback()
    monkeypatch.undo()
    assert registry.promote("2", gate_report_sha256="r2").previous == "1"


def test_a_failure_during_log_model_leaves_no_version_and_a_failed_run(
    registry: Registry, model: Pipeline, data: DataBundle, tmp_path: Path, files: dict[str, Path], monkeypatch
) -> None:
    import mlflow.sklearn

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(mlflow.sklearn, "log_model", broken)
    marker = uuid.uuid4().hex
    with pytest.raises(RegistryError, match=r"logging the candidate \(run \w+\) failed .*No space left on device"):
        log(registry, model, data, tmp_path, files, **{"test.marker": marker})
    assert registry.history() == []
    [run] = runs_tagged(registry, "test.marker", marker)
    assert run.info.status == "FAILED"


def test_a_failure_after_registering_deletes_the_version(
    registry: Registry, model: Pipeline, data: DataBundle, tmp_path: Path, files: dict[str, Path], monkeypatch
) -> None:
    from mlflow.exceptions import MlflowException

    def refuse(name: str, alias: str, version: str) -> None:
        raise MlflowException(f"cannot set alias {alias}")

    monkeypatch.setattr(registry.client, "set_registered_model_alias", refuse)
    marker = uuid.uuid4().hex
    with pytest.raises(RegistryError, match=r"set alias challenger \(version 1 deleted; run \w+ marked FAILED\)"):
        log(registry, model, data, tmp_path, files, **{"test.marker": marker})
    assert registry.history() == []
    [run] = runs_tagged(registry, "test.marker", marker)
    assert run.info.status == "FAILED"


def test_bad_inputs_are_refused_before_anything_is_written(
    registry: Registry, model: Pipeline, data: DataBundle, tmp_path: Path, files: dict[str, Path]
) -> None:
    with pytest.raises(RegistryError, match=r"artifact file schema: .*missing\.yaml not found"):
        log(registry, model, data, tmp_path, {**files, "schema": tmp_path / "missing.yaml"})
    with pytest.raises(ArtifactError, match="not a fitted estimator"):
        log(registry, Pipeline([("model", type(model[-1])())]), data, tmp_path, files)
    with pytest.raises(RegistryError, match=r"model 'm-\w+' has no version 7"):
        registry.promote("7", gate_report_sha256="x")
    with pytest.raises(RegistryError, match=r"has no version with alias 'champion'"):
        registry.load_model("champion")
    assert registry.history() == []


def test_promoting_the_champion_again_or_rolling_back_to_a_deleted_version_is_refused(
    registry: Registry, model: Pipeline, data: DataBundle, tmp_path: Path, files: dict[str, Path]
) -> None:
    log(registry, model, data, tmp_path, files)
    registry.promote("challenger", gate_report_sha256="r1")  # an alias names a version too
    with pytest.raises(RegistryError, match=r"version 1 of 'm-\w+' is already the champion"):
        registry.promote("1", gate_report_sha256="r1")
    log(registry, model, data, tmp_path, files)
    registry.promote("2", gate_report_sha256="r2")
    registry.client.delete_model_version(registry.model_name, "1")
    with pytest.raises(
        RegistryError, match=r"no previous champion to roll back to: version 1 \(champion before 2\) .*deleted"
    ):
        registry.rollback()
    assert registry.champion().version == "2"
    with pytest.raises(RegistryError, match="no previous champion to roll back to"):
        Registry(registry.tracking_uri, experiment=EXPERIMENT, model_name="never-registered").rollback()


def test_an_unreachable_tracking_server_gives_a_clear_message() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    registry = Registry(f"http://127.0.0.1:{port}", experiment="x", model_name="m")
    with pytest.raises(RegistryError, match=rf"the MLflow tracking server http://127\.0\.0\.1:{port} is unreachable"):
        registry.champion()


def test_an_unusable_sqlite_path_gives_a_clear_message(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    registry = Registry(f"sqlite:///{tmp_path}/file/mlflow.db", experiment="x", model_name="m")
    with pytest.raises(RegistryError, match=r"MLflow store sqlite:///.*/file/mlflow\.db is unusable: cannot create"):
        registry.open(create=True)


def test_reading_a_missing_store_refuses_and_creates_nothing(tmp_path: Path) -> None:
    registry = Registry(f"sqlite:///{tmp_path}/mlruns/mlflow.db", experiment="x", model_name="m")
    for read in (registry.champion, registry.history, registry.rollback, lambda: registry.load_model("1")):
        with pytest.raises(RegistryError, match=r"^no MLflow store at .*/mlruns/mlflow\.db; run `mlgate run` first$"):
            read()
    assert list(tmp_path.iterdir()) == []


def test_from_config_resolves_relative_paths(project_copy: Path, monkeypatch) -> None:
    monkeypatch.delenv("MLGATE_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLGATE_REGISTRY_URI", raising=False)
    registry = Registry.from_config(load_config(project_copy / "mlgate.toml"))
    assert registry.tracking_uri == f"sqlite:///{project_copy / 'mlruns' / 'mlflow.db'}"
    assert registry.registry_uri == registry.tracking_uri
    assert registry.artifact_location == (project_copy / "mlruns" / "artifacts").resolve().as_uri()
    assert (registry.experiment, registry.model_name) == ("german-credit", "german-credit")


def test_importing_the_registry_does_not_import_mlflow(repo_root: Path) -> None:
    import subprocess
    import sys

    code = "import sys, pipeline.registry; print('mlflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=repo_root)
    assert out.stdout.strip() == "False"


def test_a_corrupt_store_gives_a_one_line_registry_error(tmp_path: Path) -> None:
    (tmp_path / "mlflow.db").write_bytes(b"this is not a sqlite database" * 100)
    registry = Registry(f"sqlite:///{tmp_path}/mlflow.db", experiment="x", model_name="m")
    with pytest.raises(
        RegistryError, match=r"failed for model 'm' at sqlite:///.*mlflow\.db: \w+: .*not a database"
    ) as info:
        registry.champion()
    assert "\n" not in str(info.value) and info.value.exit_code == 3
