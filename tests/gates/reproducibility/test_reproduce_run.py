"""``mlgate reproduce RUN_ID`` logic against a real sqlite MLflow store.

The retrain runs in-process here (``retrain_in_fresh_process`` is replaced by the very function the child
runs, :func:`pipeline.retrain.retrain`): the fresh-process mechanics are covered by the gate tests, and each
child costs seconds.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mlgate.checks.result import Status
from mlgate.ci import reproduce as rp
from mlgate.pipeline.candidate import load_data, train_candidate
from mlgate.pipeline.config import ModelSettings, load_config
from mlgate.pipeline.errors import RegistryError
from mlgate.pipeline.registry import Registry
from mlgate.pipeline.retrain import RetrainOutput, retrain
from mlgate.pipeline.tags import Tag

# mlflow.sklearn.log_model warns about its own inferred signature (pipeline.registry owns the call).
pytestmark = pytest.mark.filterwarnings("ignore:.*Any type hint is inferred as AnyType:UserWarning")

CONFIG = """
name = "reproduce-test"
[data]
source = "data.csv"
target = "risk"
positive_label = 1
missing_values = ["not_known"]
[features]
categorical = ["job"]
[split]
test_size = 0.3
validation_size = 0.25
[model]
estimator = "logistic_regression"
params = { C = 0.5, max_iter = 1000 }
[quality]
cost_matrix = { false_positive = 5, false_negative = 1 }
decision_threshold = "optimize"
"""


def _project(folder: Path, repo_root: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy2(repo_root / "data" / "german_credit.csv", folder / "data.csv")
    (folder / "mlgate.toml").write_text(CONFIG, encoding="utf-8")
    return folder / "mlgate.toml"


def _log(registry: Registry, config_path: Path, *, params: dict | None = None, metrics: dict | None = None) -> str:
    """Train as the gated run does (optionally with other model params) and log it as the gated run would."""
    config = load_config(config_path)
    data = load_data(config)
    settings = ModelSettings(**{**config.model.model_dump(), "params": params}) if params else None
    candidate = train_candidate(config, data, random_state=config.model.random_state, model_settings=settings)
    logged = registry.log_candidate(
        model=candidate.pipeline,
        params={},
        metrics=metrics or {**candidate.evaluation.overall, "threshold": candidate.threshold},
        tags={Tag.DATA_FINGERPRINT: data.dataset.fingerprint, Tag.CONFIG_SHA256: config.sha256},
        artifacts={"config": config_path},
        model_meta={"threshold": candidate.threshold, "positive_label": 1},
    )
    return logged.run_id


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, repo_root: Path) -> dict:
    base = tmp_path_factory.mktemp("reproduce")
    config_path = _project(base / "project", repo_root)
    uri = f"sqlite:///{base / 'mlflow.db'}"
    registry = Registry(
        uri, experiment="reproduce", model_name="reproduce-test", artifact_location=(base / "artifacts").as_uri()
    )
    return {
        "uri": uri,
        "config": config_path,
        "good": _log(registry, config_path),
        "other_model": _log(registry, config_path, params={"C": 0.01, "max_iter": 1000}),
        "no_metrics": _log(registry, config_path, metrics={"unrelated": 1.0}),
    }


@pytest.fixture(autouse=True)
def in_process_retrain(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    calls: list[dict] = []

    def fake(config_path: Path, *, threads: int, root: Path | None = None, **_) -> RetrainOutput:
        calls.append({"config": config_path, "threads": threads, "root": root})
        config = load_config(config_path)
        if root is not None:
            config = config.model_copy(update={"path": root.resolve() / config_path.name})
        return retrain(config)

    monkeypatch.setattr(rp, "retrain_in_fresh_process", fake)
    return calls


def _by_id(results) -> dict:
    return {r.id.removeprefix("reproducibility.reproduce_"): r for r in results}


def test_a_logged_run_reproduces(store: dict, in_process_retrain: list[dict]) -> None:
    by_id = _by_id(rp.reproduce(store["config"], store["good"], tracking_uri=store["uri"]))
    assert list(by_id) == ["config", "data", "predictions", "metrics"]
    assert {name: r.status for name, r in by_id.items()} == dict.fromkeys(by_id, Status.PASS), [
        r.message for r in by_id.values()
    ]
    assert f"run {store['good']}: logged config mlgate.toml matches the recorded sha256" in by_id["config"].message
    assert "gives the same 300 test predictions (exact (np.array_equal)" in by_id["predictions"].message
    assert "roc_auc" in by_id["metrics"].message and "threshold" in by_id["metrics"].message
    # the logged config was retrained against the project folder, not the download folder
    assert in_process_retrain[-1]["root"] == store["config"].parent


def test_a_logged_model_that_the_config_does_not_produce_fails(store: dict) -> None:
    by_id = _by_id(rp.reproduce(store["config"], store["other_model"], tracking_uri=store["uri"]))
    assert by_id["data"].status is Status.PASS
    predictions = by_id["predictions"]
    assert predictions.status is Status.FAIL
    assert f"a fresh retrain of run {store['other_model']} (vs its logged model) is not reproducible: " in (
        predictions.message
    )
    assert "of 300 test predictions differ" in predictions.message
    metrics = by_id["metrics"]
    assert metrics.status is Status.FAIL and "roc_auc: expected " in metrics.message


def test_a_run_without_comparable_metrics_fails(store: dict) -> None:
    by_id = _by_id(rp.reproduce(store["config"], store["no_metrics"], tracking_uri=store["uri"]))
    assert by_id["metrics"].status is Status.FAIL
    assert "logged none of the metrics" in by_id["metrics"].message


def test_changed_data_fails_clearly_and_does_not_retrain(
    store: dict, tmp_path: Path, repo_root: Path, in_process_retrain: list[dict]
) -> None:
    config_path = _project(tmp_path / "changed", repo_root)
    data = config_path.parent / "data.csv"
    lines = data.read_text(encoding="utf-8").splitlines(keepends=True)
    data.write_text("".join(lines[:-10]), encoding="utf-8")  # ten rows fewer
    by_id = _by_id(rp.reproduce(config_path, store["good"], tracking_uri=store["uri"]))
    assert by_id["data"].status is Status.FAIL
    assert f"the data changed since run {store['good']}: fingerprint now " in by_id["data"].message
    assert "reproduce needs the data the run was trained on" in by_id["data"].message
    assert by_id["predictions"].status is Status.SKIPPED and "not attempted" in by_id["predictions"].message
    assert in_process_retrain == []


def test_an_unknown_run_is_a_registry_error(store: dict) -> None:
    with pytest.raises(RegistryError, match=r"reading run 0123456789abcdef at sqlite:///.* failed: "):
        rp.reproduce(store["config"], "0123456789abcdef", tracking_uri=store["uri"])


def test_logged_metric_names() -> None:
    logged = {"roc_auc": 0.7, "test_log_loss": 0.5, "test.f1": 0.6}
    assert rp.logged_metric(logged, "roc_auc") == 0.7
    assert rp.logged_metric(logged, "log_loss") == 0.5
    assert rp.logged_metric(logged, "f1") == 0.6
    assert rp.logged_metric(logged, "accuracy") is None
