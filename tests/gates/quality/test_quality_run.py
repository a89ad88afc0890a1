"""The quality layer end to end on the bundled project: it passes on merit, and known-bad candidates fail."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
from quality_helpers import FixedModel, champion_with, make_evidence, noisy, with_proba

from mlgate.checks.quality import run
from mlgate.checks.result import GateReport, Status
from mlgate.pipeline.records import BaselineOutput


def by_id(results):
    return {r.id: r for r in results}


def test_bundled_project_passes_every_quality_check(bundled_results) -> None:
    results = bundled_results
    ids = by_id(results)
    blocking = [f"{r.id}: {r.message}" for r in results if r.status not in (Status.PASS, Status.SKIPPED)]
    assert blocking == []
    for expected in (
        "quality.metric[roc_auc]",
        "quality.metric[log_loss]",
        "quality.business_cost",
        "quality.slice_metric[sex=female][roc_auc]",
        "quality.group_gap[sex][roc_auc]",
        "quality.group_gap[age][roc_auc]",
        "quality.baseline[majority_class]",
        "quality.baseline[logistic_regression]",
        "quality.champion",
    ):
        assert ids[expected].status is Status.PASS, ids[expected].message
    assert ids["quality.champion"].message == "no champion yet: nothing to compare"
    cost = ids["quality.business_cost"]
    assert cost.details["threshold_source"] == "validation"
    assert "chosen on the validation split" in cost.message and "majority_class baseline 0.700" in cost.message
    assert ids["quality.slice_metric[sex=female][roc_auc]"].slice == "sex=female"
    # every judged value carries its interval, and the interval contains it
    for r in results:
        if r.status is Status.PASS and r.interval is not None and isinstance(r.observed, float):
            assert r.interval.low <= r.observed <= r.interval.high, r.id


def test_too_small_slice_is_skipped_never_passed_or_failed(bundled_results) -> None:
    ids = by_id(bundled_results)
    small = ids["quality.slice_metric[purpose=repairs][roc_auc]"]
    assert small.status is Status.SKIPPED
    assert "too small to judge (n=5 < 30" in small.message


def test_report_json_carries_values_and_intervals(bundled_results) -> None:
    payload = json.loads(json.dumps(GateReport.collect(bundled_results).to_dict()))
    metric = next(r for r in payload["results"] if r["id"] == "quality.metric[roc_auc]")
    assert metric["interval"]["confidence"] == 0.95
    assert metric["interval"]["low"] < metric["observed"] < metric["interval"]["high"]


def test_no_model_is_one_skipped_result_saying_why(german_config, german_data) -> None:
    results = run(make_evidence(german_config, german_data, None))
    assert [(r.id, r.status) for r in results] == [("quality.skipped", Status.SKIPPED)]
    assert "no candidate model" in results[0].message


def test_model_that_ignores_one_group_fails_that_slice_only(german_config, german_data, german_candidate) -> None:
    female = (german_data.split.test["sex"] == "female").to_numpy()
    proba = np.where(female, 0.7, german_candidate.proba_test)  # one score for every woman: no ranking at all
    results = run(make_evidence(german_config, german_data, with_proba(german_candidate, proba)))
    failed = {r.id: r for r in results if r.status is Status.FAIL}
    assert "quality.slice_metric[sex=female][roc_auc]" in failed
    assert "slice sex=female: roc_auc is 0.500" in failed["quality.slice_metric[sex=female][roc_auc]"].message
    assert "quality.group_gap[sex][roc_auc]" in failed
    assert "worst group sex=female (0.500)" in failed["quality.group_gap[sex][roc_auc]"].message
    assert by_id(results)["quality.slice_metric[sex=male][roc_auc]"].status is Status.PASS


def test_candidate_worse_than_champion_by_more_than_margin_fails(german_config, german_data, german_candidate) -> None:
    champion = champion_with(FixedModel(german_candidate.proba_test))  # today's good model holds the alias
    worse = noisy(german_candidate.proba_test, scale=2.5, random_state=1)
    results = by_id(
        run(make_evidence(german_config, german_data, with_proba(german_candidate, worse), champion=champion))
    )
    verdict = results["quality.champion"]
    assert verdict.status is Status.FAIL
    assert "credibly worse than the champion" in verdict.message
    assert "champion german-credit v7" in verdict.message
    assert verdict.interval is not None and verdict.interval.high < -0.02


def test_candidate_that_loses_to_logistic_regression_fails(german_config, german_data, german_candidate) -> None:
    worse = noisy(german_candidate.proba_test, scale=1.5, random_state=3)
    results = by_id(run(make_evidence(german_config, german_data, with_proba(german_candidate, worse))))
    verdict = results["quality.baseline[logistic_regression]"]
    assert verdict.status is Status.FAIL
    assert "the simpler logistic_regression model does as well" in verdict.message
    assert verdict.observed < 0


def test_a_baseline_that_could_not_be_trained_is_an_error_naming_why(
    german_config, german_data, german_candidate
) -> None:
    evidence = make_evidence(german_config, german_data, german_candidate)
    broken = BaselineOutput("logistic_regression", None, None, None, error="model.params: solver 'x' is unknown")
    results = by_id(run(dataclasses.replace(evidence, baselines={**evidence.baselines, broken.name: broken})))
    result = results["quality.baseline[logistic_regression]"]
    assert result.status is Status.ERROR
    assert result.message == "the logistic_regression baseline could not be trained: " + broken.error
    assert results["quality.baseline[majority_class]"].status is Status.PASS


def test_evidence_without_baselines_is_an_error_not_a_pass(german_config, german_data, german_candidate) -> None:
    evidence = dataclasses.replace(make_evidence(german_config, german_data, german_candidate), baselines=None)
    result = by_id(run(evidence))["quality.baseline"]
    assert result.status is Status.ERROR and "the gated run trains them" in result.message
