"""The deepchecks layer's mapping of the runner's result.json to check results (checks.deepchecks), on results the
runner wrote for the bundled project (tests/fixtures/deepchecks: values trimmed; made by running the runner in
deepchecks' own environment on the clean project, on a mixed-type column with random probabilities, and on
credit_amount x1.5)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlgate.checks.deepchecks import results_from
from mlgate.checks.result import Reason, Status
from mlgate.pipeline.config import DeepchecksSettings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "deepchecks"


def load(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def by_id(name: str, **settings: object) -> dict:
    return {r.id: r for r in results_from(load(name), DeepchecksSettings(**settings))}


def test_every_check_with_a_condition_becomes_a_result_with_a_stable_id() -> None:
    found = by_id("clean")
    assert found["deepchecks.data_integrity.MixedDataTypes[test]"].status is Status.PASS
    assert found["deepchecks.train_test_validation.FeatureDrift"].status is Status.PASS
    assert found["deepchecks.model_evaluation.RocReport[test]"].status is Status.PASS
    drift = found["deepchecks.train_test_validation.FeatureDrift"]
    assert drift.expected.startswith("categorical drift score < 0.2") and drift.layer == "deepchecks"
    assert "deepchecks.data_integrity.OutlierSampleDetection[train]" not in found  # no condition: no verdict


def test_checks_deepchecks_refuses_here_are_skipped_with_the_reason() -> None:
    skipped = by_id("clean")["deepchecks.train_test_validation.IndexTrainTestLeakage"]
    assert skipped.status is Status.SKIPPED and skipped.reason is Reason.NOT_CONFIGURED
    assert "not applicable here" in skipped.message and "index" in skipped.message


def test_the_known_bad_inputs_fail_or_warn_with_the_condition_text() -> None:
    bad = by_id("bad")
    mixed = bad["deepchecks.data_integrity.MixedDataTypes[test]"]
    assert mixed.status is Status.WARN and mixed.reason is Reason.CHECK_FAILED and "credit_amount" in mixed.message
    roc = bad["deepchecks.model_evaluation.RocReport[test]"]
    assert roc.status is Status.FAIL and roc.blocks and "AUC" in roc.expected
    drift = by_id("shifted")["deepchecks.train_test_validation.FeatureDrift"]
    assert drift.status is Status.FAIL and "credit_amount" in drift.message


def test_an_advisory_check_only_warns_and_does_not_block() -> None:
    clean = by_id("clean", advisory=["MixedDataTypes", "model_evaluation.SimpleModelComparison"])
    comparison = clean["deepchecks.model_evaluation.SimpleModelComparison"]
    assert comparison.status is Status.WARN and not comparison.blocks and "advisory" in comparison.message
    assert by_id("clean", advisory=[])["deepchecks.model_evaluation.SimpleModelComparison"].status is Status.FAIL
    default = by_id("clean")["deepchecks.model_evaluation.SimpleModelComparison"]  # advisory unless told otherwise
    assert default.status is Status.WARN and not default.blocks


@pytest.mark.parametrize(
    ("change", "status", "text"),
    [
        ({"error": "DeepchecksValueError: boom"}, Status.ERROR, "could not run the data_integrity suite: Deepchecks"),
        ({"skipped": "no predictions"}, Status.SKIPPED, "data_integrity: no predictions"),
    ],
)
def test_a_suite_that_did_not_run_is_one_result(change: dict, status: Status, text: str) -> None:
    result = load("clean")
    result["suites"]["data_integrity"].update(change)
    found = by_id("clean") | {r.id: r for r in results_from(result, DeepchecksSettings())}
    assert found["deepchecks.data_integrity"].status is status and text in found["deepchecks.data_integrity"].message


def test_a_check_that_raised_is_an_error_naming_the_cause_and_too_few_rows_a_skip() -> None:
    result = load("clean")
    entry = result["suites"]["model_evaluation"]["checks"][0]
    check_id = f"deepchecks.model_evaluation.{entry['check']}" + (f"[{entry['dataset']}]" if entry["dataset"] else "")
    entry.update(conditions=[], error="DeepchecksProcessError: no error model", not_applicable=False)
    failed = {r.id: r for r in results_from(result, DeepchecksSettings(advisory=[]))}[check_id]
    assert failed.status is Status.ERROR and failed.blocks and "no error model" in failed.message
    advisory = {r.id: r for r in results_from(result, DeepchecksSettings(advisory=[entry["check"]]))}[check_id]
    assert advisory.status is Status.ERROR and not advisory.blocks and "advisory" in advisory.message
    entry.update(error="NotEnoughSamplesError: found only 45 samples", not_applicable=True)
    skipped = {r.id: r for r in results_from(result, DeepchecksSettings())}[check_id]
    assert skipped.status is Status.SKIPPED and skipped.reason is Reason.TOO_SMALL and "too few rows" in skipped.message


def test_the_suites_are_configurable_and_checked() -> None:
    only = results_from(load("clean"), DeepchecksSettings(suites=["data_integrity"]))
    assert {r.id.split(".")[1] for r in only} == {"data_integrity"}
    with pytest.raises(ValueError, match="'model_evaluation' is not in deepchecks.suites"):
        DeepchecksSettings(suites=["data_integrity"], checks={"model_evaluation": ["RocReport"]})
