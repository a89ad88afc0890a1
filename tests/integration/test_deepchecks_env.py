"""deepchecks in its own environment (issue 13, first part): the locked environment is built by mlgate itself, the
runner judges exported frames and predictions there, and a known-bad input per suite is caught.

The environment is built into this machine's cache by the fixture (``mlgate deepchecks setup``, offline once the
uv cache holds the wheels); nothing of deepchecks is imported into mlgate's own environment (the test process).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fixtures.project import ROOT, mlgate

from mlgate.checks.deepchecks import results_from
from mlgate.ci.deepchecks_env import DeepchecksEnvError, build, find_env, run_job
from mlgate.pipeline.config import DeepchecksSettings
from mlgate.pipeline.config_deepchecks import CATALOGUE

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def german(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The bundled project's train/test frames and the candidate's predictions, and the environment built."""
    from mlgate.pipeline.candidate import load_data, train_candidate
    from mlgate.pipeline.config import load_config

    build()
    config = load_config(ROOT / "mlgate.toml")
    data = load_data(config)
    candidate = train_candidate(config, data, random_state=config.model.random_state)
    columns = [*data.prepared.features, "risk"]
    train = pd.concat([data.split.train, data.split.validation])[columns].reset_index(drop=True)
    test = data.split.test[columns].reset_index(drop=True)
    proba_train = candidate.pipeline.predict_proba(train[data.prepared.features])[:, 1]
    return {
        "train": train,
        "test": test,
        "categorical": list(data.prepared.categorical),
        "proba": (proba_train, np.asarray(candidate.proba_test)),
        "threshold": candidate.threshold,
    }


def job(
    folder: Path,
    german: dict,
    *,
    train: pd.DataFrame | None = None,
    test: pd.DataFrame | None = None,
    proba: tuple[np.ndarray, np.ndarray] | None = None,
    suites: list[str],
    **extra: object,
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (train if train is not None else german["train"]).to_parquet(folder / "train.parquet")
    (test if test is not None else german["test"]).to_parquet(folder / "test.parquet")
    spec = {
        "train": "train.parquet",
        "test": "test.parquet",
        "label": "risk",
        "cat_features": german["categorical"],
        "task": "binary",
        "suites": suites,
        "out": "out",
        "positive_label": 1,
        **extra,
    }
    p_train, p_test = proba if proba is not None else german["proba"]
    for name, values in (
        ("y_proba_train", p_train),
        ("y_proba_test", p_test),
        ("y_pred_train", (p_train >= german["threshold"]).astype(np.int64)),
        ("y_pred_test", (p_test >= german["threshold"]).astype(np.int64)),
    ):
        np.save(folder / f"{name}.npy", values)
        spec[name] = f"{name}.npy"
    (folder / "job.json").write_text(json.dumps(spec))
    return folder / "job.json"


def conditions(result: dict, suite: str, check: str) -> list[str]:
    """The categories of every condition of ``check`` in ``suite`` (both datasets for single-dataset checks)."""
    found = [c for c in result["suites"][suite]["checks"] if c["check"] == check]
    assert found, f"{check} not in {suite}"
    return [condition["category"] for entry in found for condition in entry["conditions"]]


def test_deepchecks_never_enters_mlgates_environment(german: dict) -> None:  # (german: the environment built)
    assert "deepchecks" not in sys.modules
    env = find_env()
    assert env.python.is_file() and env.folder.name.startswith("deepchecks-")


def test_the_clean_project_runs_every_suite_and_writes_its_reports(tmp_path: Path, german: dict) -> None:
    result = run_job(
        job(tmp_path, german, suites=["data_integrity", "train_test_validation", "model_evaluation"]), timeout_s=600
    )
    assert result["deepchecks_version"] == "0.19.1"
    for suite in ("data_integrity", "train_test_validation", "model_evaluation"):
        part = result["suites"][suite]
        assert part["error"] is None and part["checks"], suite
        assert (tmp_path / "out" / f"{suite}.html").stat().st_size > 100_000
    assert set(conditions(result, "train_test_validation", "FeatureDrift")) == {"PASS"}
    assert set(conditions(result, "model_evaluation", "RocReport")) == {"PASS"}


def test_a_mixed_type_column_is_caught_by_data_integrity(tmp_path: Path, german: dict) -> None:
    # numbers as text with 5% of the rows a word: Parquet holds one type per column, so the mix is in the text
    test = german["test"].astype({"credit_amount": str})
    test.loc[test.index[:15], "credit_amount"] = "unknown"
    result = run_job(job(tmp_path, german, test=test, suites=["data_integrity"]), timeout_s=600)
    assert "WARN" in conditions(result, "data_integrity", "MixedDataTypes")


def test_a_shifted_feature_is_caught_by_train_test_validation(tmp_path: Path, german: dict) -> None:
    # x1.5: FeatureDrift's default condition is a KS score below 0.2; x1.25 scores about 0.19 here and passes (how
    # this compares with mlgate's own drift gate is for the layer's documentation to measure)
    test = german["test"].assign(credit_amount=german["test"]["credit_amount"] * 1.5)
    result = run_job(job(tmp_path, german, test=test, suites=["train_test_validation"]), timeout_s=600)
    assert "FAIL" in conditions(result, "train_test_validation", "FeatureDrift")


def test_a_weak_model_is_caught_by_model_evaluation(tmp_path: Path, german: dict) -> None:
    rng = np.random.default_rng(0)
    weak = (rng.uniform(size=len(german["train"])), rng.uniform(size=len(german["test"])))
    result = run_job(job(tmp_path, german, proba=weak, suites=["model_evaluation"]), timeout_s=600)
    assert "FAIL" in conditions(result, "model_evaluation", "RocReport")


def test_a_missing_environment_is_one_line_with_how_to_build_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MLGATE_CACHE", str(tmp_path / "empty"))
    with pytest.raises(DeepchecksEnvError, match=r"is not built .* build it with `mlgate deepchecks setup`"):
        find_env()
    run = mlgate("deepchecks", "where", cwd=tmp_path)
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and "mlgate deepchecks setup" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_broken_environment_says_so(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MLGATE_CACHE", str(tmp_path))
    from mlgate.ci.deepchecks_env import env_dir

    broken, _ = env_dir()  # under tmp_path: the real environment stays untouched
    (broken / "bin").mkdir(parents=True)
    (broken / "bin" / "python").write_text("#!/bin/sh\necho 'no module named deepchecks' >&2\nexit 1\n")
    (broken / "bin" / "python").chmod(0o755)
    with pytest.raises(DeepchecksEnvError, match=r"is broken \(no module named deepchecks\): delete it and build"):
        find_env()


def test_a_bad_job_file_is_one_line_naming_the_key(tmp_path: Path, german: dict) -> None:
    path = job(tmp_path, german, suites=["data_integrity"])
    spec = json.loads(path.read_text())
    spec["task"] = "ranking"
    path.write_text(json.dumps(spec))
    with pytest.raises(DeepchecksEnvError, match=r"runner failed \(exit 2\): .*'task' must be one of"):
        run_job(path, timeout_s=120)


def test_the_committed_catalogue_is_what_the_environment_holds(german: dict) -> None:
    # german: the environment is built; the catalogue the config is validated against must be this deepchecks'
    done = subprocess.run(
        [str(find_env().python), str(ROOT / "ci" / "deepchecks" / "catalogue.py")],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": ""},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == json.loads(CATALOGUE.read_text(encoding="utf-8")), (
        "regenerate it: <env>/bin/python ci/deepchecks/catalogue.py --write pipeline/deepchecks_catalogue.json"
    )


STRICT = {"FeatureDrift": {"add_condition_drift_score_less_than": {"max_allowed_numeric_score": 0.08}}}


@pytest.mark.parametrize(
    ("factor", "conditions_", "expected"),
    [
        (1.1, None, {"PASS"}),  # credit_amount's KS score about 0.11: under the default condition's 0.2
        (1.1, STRICT, {"FAIL"}),  # ... over a configured 0.08
        (1.0, STRICT, {"PASS"}),  # unshifted it scores about 0.05: the stricter condition alone fails nothing
    ],
)
def test_a_configured_condition_replaces_the_default_one(
    tmp_path: Path, german: dict, factor: float, conditions_: dict | None, expected: set[str]
) -> None:
    test = german["test"].assign(credit_amount=german["test"]["credit_amount"] * factor)
    extra = {"checks": {"train_test_validation": ["FeatureDrift"]}} | (
        {"conditions": conditions_} if conditions_ else {}
    )
    result = run_job(job(tmp_path, german, test=test, suites=["train_test_validation"], **extra), timeout_s=600)
    assert set(conditions(result, "train_test_validation", "FeatureDrift")) == expected
    if conditions_:
        (entry,) = result["suites"]["train_test_validation"]["checks"]
        assert [c["name"] for c in entry["conditions"]] == [
            "categorical drift score < 0.2 and numerical drift score < 0.08"
        ]


def test_an_empty_table_removes_the_checks_verdict(tmp_path: Path, german: dict) -> None:
    # x1.5 fails FeatureDrift's default condition (test_a_shifted_feature_is_caught_...); without conditions the check
    # still runs (its value and HTML) but mlgate draws no verdict from it
    test = german["test"].assign(credit_amount=german["test"]["credit_amount"] * 1.5)
    settings = DeepchecksSettings(suites=["train_test_validation"], conditions={"FeatureDrift": {}})
    path = job(tmp_path, german, test=test, suites=["train_test_validation"], conditions=settings.conditions)
    result = run_job(path, timeout_s=600)
    assert conditions(result, "train_test_validation", "FeatureDrift") == []
    ids = {r.id for r in results_from(result, settings)}
    assert "deepchecks.train_test_validation.FeatureDrift" not in ids
    assert "deepchecks.train_test_validation.LabelDrift" in ids  # the other checks keep their default conditions


@pytest.mark.parametrize(
    ("conditions_", "message"),
    [
        (
            {"FeatureDrift": {"add_condition_foo": {}}},
            r"'conditions\.FeatureDrift\.add_condition_foo': not a condition",
        ),
        (
            {"FeatureDrift": {"add_condition_drift_score_less_than": {"max": 0.1}}},
            r"'conditions\.FeatureDrift\.add_condition_drift_score_less_than': deepchecks refuses .*TypeError",
        ),
        ({"RocReport": {}}, r"'conditions': \['RocReport'\] not among the checks the suites run"),
    ],
)
def test_a_condition_the_runner_cannot_apply_is_a_bad_job(
    tmp_path: Path, german: dict, conditions_: dict, message: str
) -> None:
    path = job(tmp_path, german, suites=["train_test_validation"], conditions=conditions_)
    with pytest.raises(DeepchecksEnvError, match=r"runner failed \(exit 2\): .*" + message):
        run_job(path, timeout_s=120)
