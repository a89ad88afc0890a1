"""The reproducibility gate: a seeded candidate retrains identically in a fresh process; an unseeded one fails.

Only two tests start a fresh process (the bundled project, and a deliberately unseeded estimator); every
other case feeds the comparison functions directly.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from mlgate.checks import reproducibility as repro
from mlgate.checks.evidence import Evidence
from mlgate.checks.result import Status
from mlgate.ci.gated_run import start_retrain_for
from mlgate.pipeline.artifact import save_model
from mlgate.pipeline.candidate import load_data, train_candidate
from mlgate.pipeline.config import ProjectConfig, load_config
from mlgate.pipeline.records import EnvironmentMeta, LoggedModel, RunMeta
from mlgate.pipeline.retrain import RetrainOutcome, RetrainOutput, child_thread_count, thread_counts

HERE = Path(__file__).resolve().parent

PROVENANCE = {
    "config_sha256": "c" * 64,
    "git_commit": "0123456789abcdef0123456789abcdef01234567",
    "data": {"fingerprint": "d" * 64},
    "environment": {"lock_sha256": "e" * 64, "lock_file": "uv.lock"},
}


def _retrain(config: ProjectConfig) -> RetrainOutcome:
    """The fresh-process retrain as the gated run starts it (:func:`ci.gated_run.start_retrain_for`) and waits."""
    pending = start_retrain_for(config, ["reproducibility"])
    assert pending is not None
    with pending:
        return pending.outcome(parent_threads=max(thread_counts().values(), default=1))


def _evidence(config: ProjectConfig, *, run: dict | None = None) -> Evidence:
    """The evidence the gated run assembles: the candidate trained here, the retrain from a fresh process."""
    bundle = load_data(config)
    candidate = train_candidate(config, bundle, random_state=config.model.random_state)
    return Evidence(
        config,
        bundle.dataset,
        bundle.prepared,
        bundle.split,
        model=candidate,
        run=None if run is None else _meta(run),
        retrain=_retrain(config),
    )


@pytest.fixture(scope="module")
def german(german_config_path: Path) -> Evidence:
    return _evidence(load_config(german_config_path), run=PROVENANCE)


def _as_retrained(evidence: Evidence, **changes) -> RetrainOutput:
    """What a perfect fresh-process retrain of ``evidence.model`` would write."""
    model = evidence.model
    assert model is not None
    fields = {
        "proba_test": model.proba_test.copy(),
        "metrics": {k: (None if v is None else float(v)) for k, v in model.evaluation.overall.items()},
        "threshold": model.threshold,
        "threshold_source": model.threshold_source,
        "data_fingerprint": evidence.dataset.fingerprint,
        "config_sha256": evidence.config.sha256,
        "n_test": len(model.proba_test),
        "threads": {"openmp": 1, "blas": 1},
    }
    return RetrainOutput(**{**fields, **changes})


def _by_id(results) -> dict:
    return {r.id.removeprefix("reproducibility."): r for r in results}


# ------------------------------------------------------------------------------------------- fresh process
def test_the_bundled_project_retrains_identically_in_a_fresh_process(german: Evidence, tmp_path: Path) -> None:
    by_id = _by_id(repro.run(dataclasses.replace(german, artifact=_saved(german.model.pipeline, tmp_path))))
    assert list(by_id) == [
        "retrain_data",
        "retrain_predictions",
        "retrain_metrics",
        "artifact_roundtrip",
        "provenance",
        "search",
        "dependencies",
    ]
    for name in ("retrain_data", "retrain_predictions", "retrain_metrics"):
        assert by_id[name].status is Status.PASS, by_id[name].message
    predictions = by_id["retrain_predictions"]
    assert "gives the same 300 test predictions (exact (np.array_equal); max |diff| 0)" in predictions.message
    assert max(predictions.details["child_threads"].values()) != predictions.details["parent_threads"]
    assert "roc_auc" in by_id["retrain_metrics"].message and "threshold" in by_id["retrain_metrics"].message
    assert by_id["artifact_roundtrip"].status is Status.PASS
    assert by_id["provenance"].status is Status.PASS


def test_an_estimator_that_ignores_its_seed_is_caught(tmp_path: Path, repo_root: Path, monkeypatch) -> None:
    # The child process imports the estimator by dotted path, so it must see this folder too.
    monkeypatch.setenv("PYTHONPATH", str(HERE))
    monkeypatch.syspath_prepend(str(HERE))
    config_path = tmp_path / "mlgate.toml"
    config_path.write_text(
        f"""
name = "unseeded"
[data]
source = "{repo_root / "data" / "german_credit.csv"}"
target = "risk"
positive_label = 1
missing_values = ["not_known"]
[features]
categorical = ["job"]
[split]
test_size = 0.3
validation_size = 0.0
[model]
estimator = "unseeded_estimators.SeedIgnoringForest"
params = {{ n_estimators = 15, max_depth = 4 }}
""",
        encoding="utf-8",
    )
    by_id = _by_id(repro.run(_evidence(load_config(config_path), run=PROVENANCE)))
    assert by_id["retrain_data"].status is Status.PASS
    predictions = by_id["retrain_predictions"]
    assert predictions.status is Status.FAIL
    assert "threads) is not reproducible: " in predictions.message
    assert "test predictions differ (max |diff|" in predictions.message
    assert "expected exact (np.array_equal)); first rows: " in predictions.message
    assert "Fix: make training deterministic" in predictions.message
    assert predictions.details["rows_differing"] > 0
    metrics = by_id["retrain_metrics"]
    assert metrics.status is Status.FAIL and "gives different metrics (exact (np.array_equal)): " in metrics.message
    assert "roc_auc: expected " in metrics.message


def test_a_failing_retrain_is_an_error_naming_the_cause(tmp_path: Path, german: Evidence) -> None:
    gone = tmp_path / "moved-away.toml"  # fails at load_config, before the child imports pandas or sklearn
    config = german.config.model_copy(update={"path": gone})
    by_id = _by_id(repro._retrain_checks(dataclasses.replace(german, config=config, retrain=_retrain(config))))
    assert {r.status for r in by_id.values()} == {Status.ERROR}
    message = by_id["retrain_predictions"].message
    assert "cannot check reproducibility: retrain of " in message
    assert "failed in a fresh process (exit 2): mlgate.pipeline.retrain: error: " in message
    assert "moved-away.toml: config file not found" in message


# ------------------------------------------------------------------------------------------- comparisons
def test_the_child_runs_a_different_thread_count() -> None:
    assert child_thread_count({"openmp": 2, "blas": 2}) == 1
    assert child_thread_count({"openmp": 1, "blas": 1}) == 2
    assert child_thread_count({}) == 2


def test_a_perfect_retrain_passes(german: Evidence) -> None:
    results = repro.compare_retrain(german, _as_retrained(german), parent_threads=2)
    assert [r.status for r in results] == [Status.PASS] * 3, [r.message for r in results]


def test_one_prediction_off_by_one_ulp_fails_the_exact_rule(german: Evidence) -> None:
    proba = german.model.proba_test.copy()
    proba[17] = np.nextafter(proba[17], 2.0)
    results = _by_id(repro.compare_retrain(german, _as_retrained(german, proba_test=proba), parent_threads=2))
    result = results["retrain_predictions"]
    assert result.status is Status.FAIL
    assert "the fresh-process retrain (1 vs 2 threads) is not reproducible: 1 of 300 test predictions differ" in (
        result.message
    )
    assert "first rows: 17." in result.message


def test_different_data_is_reported(german: Evidence) -> None:
    results = _by_id(repro.compare_retrain(german, _as_retrained(german, data_fingerprint="f" * 64), parent_threads=2))
    assert results["retrain_data"].status is Status.FAIL
    assert "the retrain read different data: fingerprint ffffffffffff, the gated run's " in (
        results["retrain_data"].message
    )


def test_a_different_threshold_fails_the_metric_check(german: Evidence) -> None:
    retrained = _as_retrained(german, threshold=german.model.threshold + 0.01)
    result = _by_id(repro.compare_retrain(german, retrained, parent_threads=2))["retrain_metrics"]
    assert result.status is Status.FAIL and "threshold: expected " in result.message


@pytest.mark.parametrize(
    ("observed", "tolerance", "status", "text"),
    [
        ([0.5, 0.25], 0.0, Status.PASS, "same 2 test predictions (exact (np.array_equal); max |diff| 0)"),
        ([0.5, 0.25 + 2**-10], 0.0, Status.FAIL, "1 of 2 test predictions differ (max |diff| 0.000977; expected exact"),
        ([0.5, 0.25 + 2**-10], 2**-10, Status.PASS, "within tolerance 0.000976562 (|difference| <= tol)"),  # inclusive
        ([0.5, 0.25 + 2**-9], 2**-10, Status.FAIL, "expected within tolerance 0.000976562 (|difference| <= tol)"),
        ([0.5], 0.0, Status.FAIL, "predicted 1 test rows, the candidate 2: the test split differs"),
    ],
)
def test_compare_predictions(observed, tolerance: float, status: Status, text: str) -> None:
    result = repro.compare_predictions(np.array([0.5, 0.25]), np.array(observed), tolerance=tolerance)
    assert result.status is status
    assert text in result.message


def test_nan_in_the_same_row_is_equal_and_nan_against_a_number_is_not() -> None:
    same = repro.compare_predictions(np.array([np.nan, 0.1]), np.array([np.nan, 0.1]), tolerance=0.0)
    assert same.status is Status.PASS
    differ = repro.compare_predictions(np.array([np.nan, 0.1]), np.array([0.3, 0.1]), tolerance=0.5)
    assert differ.status is Status.FAIL and "1 of 2 test predictions differ" in differ.message


@pytest.mark.parametrize(
    ("observed", "tolerance", "status", "text"),
    [
        ({"roc_auc": 0.75, "log_loss": None}, 0.0, Status.PASS, "gives the same metrics (log_loss, roc_auc; exact"),
        ({"roc_auc": 0.7, "log_loss": None}, 0.0, Status.FAIL, "roc_auc: expected 0.75, got 0.7"),
        ({"roc_auc": 0.625, "log_loss": None}, 0.125, Status.PASS, "within tolerance 0.125"),  # inclusive
        ({"roc_auc": 0.5, "log_loss": None}, 0.125, Status.FAIL, "roc_auc: expected 0.75, got 0.5"),
        ({"roc_auc": 0.75, "log_loss": 0.5}, 0.0, Status.FAIL, "log_loss: expected None, got 0.5"),
        ({"roc_auc": 0.75}, 0.0, Status.FAIL, "log_loss: expected None, got (missing)"),
    ],
)
def test_compare_metrics(observed, tolerance: float, status: Status, text: str) -> None:
    result = repro.compare_metrics({"roc_auc": 0.75, "log_loss": None}, observed, tolerance=tolerance)
    assert result.status is status
    assert text in result.message


# ------------------------------------------------------------------------------------------- provenance
def _meta(run: dict) -> RunMeta:
    """The typed run record the gated run builds, from a report-shaped dict (absent keys: not recorded)."""
    environment = run.get("environment")
    return RunMeta(
        project="p",
        config=None,
        config_sha256=run.get("config_sha256"),
        started_at=datetime(2026, 1, 1, tzinfo=UTC),
        mlgate_version="0",
        git_commit=run.get("git_commit"),
        data=dict(run.get("data") or {}),
        environment=None
        if environment is None
        else EnvironmentMeta(environment.get("lock_file"), environment.get("lock_sha256")),
    )


def _without(key: str) -> dict:
    run = {k: (dict(v) if isinstance(v, dict) else v) for k, v in PROVENANCE.items()}
    head, _, tail = key.partition(".")
    if tail:
        run[head].pop(tail)
    else:
        run.pop(head)
    return run


@pytest.mark.parametrize(
    ("run", "status", "text"),
    [
        (PROVENANCE, Status.PASS, "records data fingerprint, config sha256, uv.lock sha256 and git commit 0123456"),
        (_without("git_commit"), Status.WARN, "no git commit recorded (not a git checkout?)"),
        ({**PROVENANCE, "git_commit": "0123abc-dirty"}, Status.WARN, "git commit 0123abc-dirty: uncommitted changes"),
        (_without("environment.lock_sha256"), Status.FAIL, "missing locked environment (uv.lock sha256)"),
        (_without("config_sha256"), Status.FAIL, "missing config sha256 ('config_sha256')"),
        (_without("data"), Status.FAIL, "missing data fingerprint ('data.fingerprint')"),
        ({}, Status.FAIL, "missing data fingerprint ('data.fingerprint'), config sha256"),
    ],
)
def test_provenance(run: dict, status: Status, text: str) -> None:
    result = repro.check_provenance(_meta(run))
    assert result.status is status
    assert text in result.message


def test_provenance_without_a_run_record_fails() -> None:
    result = repro.check_provenance(None)
    assert result.status is Status.FAIL and "missing data fingerprint" in result.message


# ------------------------------------------------------------------------------------------- skipping
def test_a_data_only_run_is_skipped_with_the_reason(german: Evidence) -> None:
    by_id = _by_id(repro.run(dataclasses.replace(german, model=None)))
    for name in ("retrain_data", "retrain_predictions", "retrain_metrics", "artifact_roundtrip"):
        assert by_id[name].status is Status.SKIPPED
        assert "data gates only" in by_id[name].message


def test_a_config_without_a_file_cannot_be_retrained(german: Evidence) -> None:
    config = german.config.model_copy(update={"path": None})
    by_id = _by_id(repro._retrain_checks(dataclasses.replace(german, config=config)))
    assert by_id["retrain_predictions"].status is Status.SKIPPED
    assert "not loaded from a file" in by_id["retrain_predictions"].message


def test_the_layer_can_be_disabled(german: Evidence) -> None:
    config = german.config.model_copy(
        update={"reproducibility": german.config.reproducibility.model_copy(update={"enabled": False})}
    )
    [result] = repro.run(dataclasses.replace(german, config=config))
    assert result.status is Status.SKIPPED and "reproducibility.enabled = false" in result.message


# ------------------------------------------------------------------------------------------- artifact round trip
def _saved(model, folder: Path) -> LoggedModel:
    path = folder / "model.skops"
    sha = save_model(model, path)
    return LoggedModel(run_id="local", model_uri=path.as_uri(), sha256=sha, local_path=path)


def test_the_saved_model_loads_back_to_the_same_predictions(german: Evidence, tmp_path: Path) -> None:
    result = repro.check_artifact_roundtrip(german, _saved(german.model.pipeline, tmp_path))
    assert result.status is Status.PASS, result.message
    assert "the saved model model.skops loaded back (file://" in result.message
    assert "gives the same 300 test predictions (exact (np.array_equal)" in result.message


def test_a_tampered_model_file_fails_the_round_trip(german: Evidence, tmp_path: Path) -> None:
    artifact = _saved(german.model.pipeline, tmp_path)
    with Path(artifact.local_path).open("ab") as handle:
        handle.write(b"\0")
    result = repro.check_artifact_roundtrip(german, artifact)
    assert result.status is Status.FAIL
    assert "cannot be loaded the way serving loads it: ArtifactError: " in result.message
    assert "does not match the recorded sha256" in result.message


def test_a_saved_file_holding_another_model_fails_the_round_trip(german: Evidence, tmp_path: Path) -> None:
    other = train_candidate(
        german.config,
        load_data(german.config),
        random_state=0,
        model_settings=german.config.model.model_copy(update={"params": {"C": 0.001, "max_iter": 1000}}),
    )
    result = repro.check_artifact_roundtrip(german, _saved(other.pipeline, tmp_path))
    assert result.status is Status.FAIL
    assert "test predictions differ" in result.message
    assert "Fix: the saved file does not hold the fitted model the gates judged" in result.message


def test_a_run_without_a_saved_model_skips_the_round_trip(german: Evidence) -> None:
    result = repro.check_artifact_roundtrip(dataclasses.replace(german, artifact=None))
    assert result.status is Status.SKIPPED and "no saved model in this run" in result.message
