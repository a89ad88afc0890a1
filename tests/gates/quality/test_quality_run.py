"""The quality layer end to end on the bundled project: it passes on merit, and known-bad candidates fail."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
from quality_helpers import FixedModel, champion_with, held_out, make_evidence, noisy, settings, with_proba

from mlgate.checks.quality import run
from mlgate.checks.quality_common import Scored, held_out_rows
from mlgate.checks.result import GateReport, Reason, Status
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
    assert cost.details["threshold_choice_resampled"] is True  # its interval carries the threshold choice's noise
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
    assert by_id(results)["quality.slice_metric[sex=male][roc_auc]"].status is Status.PASS
    # the gap is above 0.20 on the estimate, but the simultaneous intervals of the two groups overlap enough
    gap = by_id(results)["quality.group_gap[sex][roc_auc]"]
    assert gap.status is Status.WARN and "worst group sex=female (0.500)" in gap.message
    assert gap.observed > 0.2 >= gap.interval.low


def test_model_that_ranks_one_group_backwards_fails_its_slice_and_the_gap(
    german_config, german_data, german_candidate
) -> None:
    female = (german_data.split.test["sex"] == "female").to_numpy()
    proba = np.where(female, 1 - german_candidate.proba_test, german_candidate.proba_test)
    results = by_id(run(make_evidence(german_config, german_data, with_proba(german_candidate, proba))))
    gap = results["quality.group_gap[sex][roc_auc]"]
    assert gap.status is Status.FAIL and gap.reason is Reason.GROUP_GAP
    assert "more than the 0.200 allowed (quality.max_group_gap.roc_auc) credibly" in gap.message
    assert gap.interval.low > 0.2
    assert results["quality.slice_metric[sex=female][roc_auc]"].status is Status.FAIL


def test_candidate_worse_than_champion_fails_on_every_held_out_row(
    german_config, german_data, german_candidate
) -> None:
    champion = champion_with(FixedModel(held_out(german_candidate)))  # today's good model holds the alias
    worse = noisy(held_out(german_candidate), scale=2.5, random_state=1)
    n_test = len(german_candidate.proba_test)
    candidate = with_proba(german_candidate, worse[:n_test], worse[n_test:])
    results = by_id(run(make_evidence(german_config, german_data, candidate, champion=champion)))
    verdict = results["quality.champion"]
    assert verdict.status is Status.FAIL and verdict.reason is Reason.WORSE_THAN_CHAMPION
    assert "credibly worse than the champion" in verdict.message
    assert "champion german-credit v7" in verdict.message
    assert (
        "roc_auc on the same 475 held-out rows (300 test + 175 validation: no compared model trained on"
        in verdict.message
    )
    assert verdict.details["rows"] == 475
    assert verdict.interval is not None and verdict.interval.high < 0


def test_the_same_model_as_champion_passes_and_says_what_it_could_detect(
    german_config, german_data, german_candidate
) -> None:
    champion = champion_with(FixedModel(held_out(german_candidate)))
    verdict = by_id(run(make_evidence(german_config, german_data, german_candidate, champion=champion)))[
        "quality.champion"
    ]
    assert verdict.status is Status.PASS and verdict.observed == 0.0
    assert "the two models score these rows alike in every resample" in verdict.message
    slightly = noisy(held_out(german_candidate), scale=0.2, random_state=4)
    n_test = len(german_candidate.proba_test)
    candidate = with_proba(german_candidate, slightly[:n_test], slightly[n_test:])
    verdict = by_id(run(make_evidence(german_config, german_data, candidate, champion=champion)))["quality.champion"]
    effect = verdict.details["minimum_detectable_effect"]["effect"]
    assert 0.0 < effect < 0.1
    assert f"this comparison detects a drop of {effect:.3f} roc_auc with 80% power" in verdict.message


def test_baselines_are_compared_on_every_held_out_row_they_scored(german_config, german_data, german_candidate) -> None:
    evidence = make_evidence(german_config, german_data, german_candidate)
    result = by_id(run(evidence))["quality.baseline[logistic_regression]"]
    assert result.details["rows"] == 475 and "same training split, the same 475 held-out rows" in result.message
    # a baseline without validation scores (an older pipeline): every comparison falls back to the test rows
    bare = {name: dataclasses.replace(out, proba_validation=None) for name, out in evidence.baselines.items()}
    result = by_id(run(dataclasses.replace(evidence, baselines=bare)))["quality.baseline[logistic_regression]"]
    assert result.details["rows"] == 300 and "(no validation scores to add)" in result.message


def test_a_threshold_metric_compares_on_the_test_rows_only(german_config, german_data, german_candidate) -> None:
    c = german_candidate
    candidate = Scored("candidate", c.proba_test, c.threshold, c.threshold_source)
    evidence = make_evidence(german_config, german_data, c)
    assert len(held_out_rows(evidence, candidate, "roc_auc").y) == 475
    rows = held_out_rows(evidence, candidate, "accuracy")
    assert len(rows.y) == 300 and len(rows.features) == 300
    assert rows.described == (
        "the same 300 test rows (accuracy depends on the decision threshold, which the validation rows chose)"
    )
    assert settings(champion_metric="accuracy").champion_metric == "accuracy"


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
