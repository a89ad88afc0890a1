"""reproducibility.search (did the served parameters come from the seeded search; can a config require it) and
reproducibility.dependencies (the candidate's uv.lock and packages against the champion's)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mlgate.checks.evidence import Evidence
from mlgate.checks.reproducibility import run as reproducibility_run
from mlgate.checks.reproducibility_env import check_dependencies, check_search, package_versions
from mlgate.checks.result import Reason, Status
from mlgate.ci.gated_run import environment_record
from mlgate.pipeline.candidate import load_data, train_candidate
from mlgate.pipeline.config import ProjectConfig, load_config
from mlgate.pipeline.records import ChampionRecord, EnvironmentMeta, RunMeta
from mlgate.pipeline.tags import Tag

LOCK = "a" * 64
PACKAGES = ("mlgate==0.2.0", "numpy==2.1.0", "pandas==2.2.3", "scikit-learn==1.5.2", "Typing_Extensions==4.12.2")


def evidence_for(config: ProjectConfig, **fields) -> Evidence:
    data = load_data(config)
    candidate = train_candidate(config, data, random_state=config.model.random_state)
    return Evidence(config, data.dataset, data.prepared, data.split, model=candidate, **fields)


def with_model(config: ProjectConfig, **model) -> ProjectConfig:
    return config.model_copy(update={"model": config.model.model_validate({**config.model.model_dump(), **model})})


@pytest.fixture(scope="module")
def german(german_config_path: Path) -> ProjectConfig:
    return load_config(german_config_path)


def test_parameters_fixed_in_the_config_are_recorded_and_not_judged(german: ProjectConfig) -> None:
    result = check_search(evidence_for(german))
    assert result.status is Status.SKIPPED and result.reason is Reason.NOT_CONFIGURED
    assert "no search ran (model.search.enabled = false) and none is required" in result.message
    assert "the configured ones (C=0.1, max_iter=1000)" in result.message
    assert result.observed is False


def test_require_search_fails_a_model_trained_without_one(german: ProjectConfig) -> None:
    result = check_search(evidence_for(with_model(german, require_search=True)))
    assert result.status is Status.FAIL and result.blocks and result.reason is Reason.NO_SEARCH
    assert "model.require_search = true but no seeded search ran (model.search.enabled = false)" in result.message
    enabled_but_empty = with_model(german, require_search=True, search={"enabled": True})
    assert "param_distributions is empty" in check_search(evidence_for(enabled_but_empty)).message


def test_a_searched_model_passes_and_the_report_records_the_result(german: ProjectConfig) -> None:
    search = {"enabled": True, "n_iter": 2, "cv": 2, "param_distributions": {"C": [0.03, 0.3]}}
    result = check_search(evidence_for(with_model(german, require_search=True, search=search)))
    assert result.status is Status.PASS and result.observed is True
    assert result.message.startswith("the served parameters came from the seeded search: best C=")
    assert "cross-validated roc_auc 0." in result.message and "(2 settings sampled, 2 folds, seed" in result.message
    assert set(result.details["search"]) >= {"best_params", "best_score", "scoring", "n_iter"}


def champion(**tags: str) -> ChampionRecord:
    return ChampionRecord(name="m", version="3", run_id="r3", trained_at=datetime(2025, 1, 1, tzinfo=UTC), tags=tags)


def environment_evidence(base: Evidence, packages: tuple[str, ...], lock: str | None, **fields) -> Evidence:
    run = RunMeta("p", None, None, datetime.now(UTC), "0.2.0", None)
    run.environment = EnvironmentMeta("uv.lock", lock, packages)
    return dataclasses.replace(base, run=run, **fields)


@pytest.fixture(scope="module")
def base(german: ProjectConfig) -> Evidence:
    return evidence_for(german)


def test_without_a_champion_dependencies_are_skipped(base: Evidence) -> None:
    result = check_dependencies(environment_evidence(base, PACKAGES, LOCK))
    assert (result.status, result.reason) == (Status.SKIPPED, Reason.NO_CHAMPION)


def test_the_same_environment_passes(base: Evidence) -> None:
    same = environment_evidence(
        base, PACKAGES, LOCK, champion=champion(**{Tag.LOCK_SHA256: LOCK}), champion_packages=PACKAGES
    )
    result = check_dependencies(same)
    assert result.status is Status.PASS
    assert result.message == f"same environment as champion version 3: uv.lock sha256 {LOCK[:12]}, 5 packages"


def test_a_version_bump_is_a_warning_naming_each_package(base: Evidence) -> None:
    bumped = ("mlgate==0.2.0", "numpy==2.2.0", "pandas==2.2.3", "polars==1.0.0", "typing-extensions==4.13.0")
    evidence = environment_evidence(
        base, bumped, "b" * 64, champion=champion(**{Tag.LOCK_SHA256: LOCK}), champion_packages=PACKAGES
    )
    result = check_dependencies(evidence)
    assert result.status is Status.WARN and not result.blocking and result.reason is Reason.DEPENDENCIES_CHANGED
    assert "changed: numpy 2.1.0 -> 2.2.0, typing-extensions 4.12.2 -> 4.13.0" in result.message
    assert "added: polars 1.0.0" in result.message and "removed: scikit-learn 1.5.2" in result.message
    assert f"uv.lock sha256 {LOCK[:12]} -> {'b' * 12}" in result.message
    assert result.details["changed"] == ["numpy 2.1.0 -> 2.2.0", "typing-extensions 4.12.2 -> 4.13.0"]


def test_a_lock_change_alone_warns_and_a_champion_without_records_is_skipped(base: Evidence) -> None:
    lock_only = environment_evidence(base, PACKAGES, "b" * 64, champion=champion(**{Tag.LOCK_SHA256: LOCK}))
    result = check_dependencies(lock_only)
    assert (
        result.status is Status.WARN
        and "uv.lock sha256" in result.message
        and result.details["packages_compared"] is False
    )
    unrecorded = environment_evidence(base, PACKAGES, LOCK, champion=champion(**{Tag.LOCK_SHA256: "unknown"}))
    skipped = check_dependencies(unrecorded)
    assert (skipped.status, skipped.reason) == (Status.SKIPPED, Reason.PROVENANCE_MISSING)


def test_package_versions_normalises_names() -> None:
    assert package_versions(["Typing_Extensions==4.12.2", "zope.interface==7.0", "", "# comment", "a==1\n"]) == {
        "typing-extensions": "4.12.2",
        "zope-interface": "7.0",
        "a": "1",
    }


def test_the_layer_runs_both_checks_and_this_environment_matches_itself(base: Evidence) -> None:
    here = environment_record(base.config)
    evidence = environment_evidence(
        base,
        here.packages,
        here.lock_sha256,
        champion=champion(**{Tag.LOCK_SHA256: here.lock_sha256 or ""}),
        champion_packages=here.packages,
    )
    results = {r.id: r for r in reproducibility_run(evidence)}
    assert results["reproducibility.dependencies"].status is Status.PASS
    assert results["reproducibility.search"].status is Status.SKIPPED


def test_a_registered_rerun_compares_its_environment_with_the_champion_run(project_copy: Path) -> None:
    """Through the gated run and a real store: the champion run's environment/environment.txt is read back."""
    from mlgate.ci.gated_run import run_pipeline

    config = load_config(project_copy / "mlgate.toml")
    first = run_pipeline(config, layers=("reproducibility",), register=True, promote=True)
    assert first.report.passed and first.evidence.champion_packages is None
    second = run_pipeline(config, layers=("reproducibility",), register=True, promote=False)
    packages = second.evidence.champion_packages
    assert packages is not None and packages == environment_record(config).packages
    result = {r.id: r for r in second.report.results}["reproducibility.dependencies"]
    assert result.status is Status.PASS and f"{len(packages)} packages" in result.message
