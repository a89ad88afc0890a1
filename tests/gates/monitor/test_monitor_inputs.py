"""The monitor's checks on what was served (checks.monitor, checks.monitor_inputs): a known-good window (the
held-out rows replayed) passes each one, and a known-bad window fails it with a message naming the column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fixtures.monitor_traffic import Traffic, shifted, with_monitor

from mlgate.checks.drift import category_text
from mlgate.checks.monitor import families, family_alpha
from mlgate.checks.monitor_inputs import as_categories
from mlgate.checks.result import Reason, Status

DRIFT_IDS = [
    f"monitor.input_drift[{c}]"
    for c in ("credit_amount", "duration", "age", "sex", "job", "housing", "saving_accounts", "checking_account")
]


def test_a_clean_replay_of_held_out_rows_passes_every_input_check(served, judge) -> None:
    results = judge(served.traffic(labels=list(served.y)))
    assert results["monitor.window"].status is Status.PASS
    assert "300 predictions by model v1 (300 with feedback)" in results["monitor.window"].message
    for check_id in [*DRIFT_IDS, "monitor.prediction_drift", "monitor.input_schema", "monitor.rejected_share"]:
        assert results[check_id].status is Status.PASS, results[check_id].message
    assert results["monitor.input_schema[age]"].status is Status.PASS
    assert results["monitor.balance[sex=female]"].status in (Status.PASS, Status.WARN)
    assert not [r for r in results.values() if r.blocks], [r.message for r in results.values() if r.blocks]


def test_a_numeric_feature_times_1_25_fails_input_drift_naming_the_feature(served, judge) -> None:
    rows = shifted(served.X, column="credit_amount", factor=1.25)
    results = judge(served.traffic(rows))
    failed = results["monitor.input_drift[credit_amount]"]
    assert failed.status is Status.FAIL and failed.layer == "drift"
    assert failed.reason is Reason.SIGNIFICANT_ABOVE_FLOOR
    assert "feature 'credit_amount' drifted (served traffic vs model v1's reference)" in failed.message
    assert f"alpha {family_alpha(served.config):g}" in failed.message
    assert "find the upstream change" in failed.message
    others = [results[i] for i in DRIFT_IDS if i != "monitor.input_drift[credit_amount]"]
    assert all(r.status is Status.PASS for r in others)


def test_prediction_drift_fails_when_the_served_scores_move(served, judge) -> None:
    proba = np.clip(served.score(served.X) * 0.6, 0, 1)  # the same rows, scores pulled down
    result = judge(Traffic(served.X, proba))["monitor.prediction_drift"]
    assert result.status is Status.FAIL, result.message
    assert "served scores vs the test-split scores of model v1's reference" in result.message
    assert judge(served.traffic())["monitor.prediction_drift"].status is Status.PASS


def test_a_sensitive_groups_share_cut_fails_balance_naming_the_group(served, judge) -> None:
    male, female = served.X[served.X["sex"] == "male"], served.X[served.X["sex"] == "female"]
    rows = pd.concat([male, male.sample(150, random_state=0), female.head(30)]).reset_index(drop=True)
    results = judge(served.traffic(rows))
    result = results["monitor.balance[sex=female]"]
    assert result.status is Status.FAIL and result.reason is Reason.OUTSIDE_REFERENCE
    assert "group 'female' of 'sex' is" in result.message and "under-represents" in result.message
    assert result.interval is not None and result.interval.confidence == pytest.approx(1 - family_alpha(served.config))


def test_logged_inputs_outside_the_committed_schema_fail_input_schema(served, judge) -> None:
    rows = served.X.copy()
    rows.loc[:3, "age"] = 250
    results = judge(served.traffic(rows))
    result = results["monitor.input_schema[age]"]
    assert result.status is Status.FAIL and result.reason is Reason.OUT_OF_RANGE
    assert "column 'age': 4 values above 100" in result.message
    assert results["monitor.input_schema[credit_amount]"].status is Status.PASS
    assert "monitor.input_schema[risk]" not in results  # the target is never logged: not required


def test_a_high_share_of_rejected_requests_fails(served, judge) -> None:
    bad = judge(served.traffic(), rejected={"validation": 30, "body_too_large": 2})["monitor.rejected_share"]
    assert bad.status is Status.FAIL and bad.reason is Reason.ABOVE_BOUND
    assert "32 rejected requests of 332" in bad.message and "validation: 30" in bad.message
    good = judge(served.traffic(), rejected={"validation": 3})["monitor.rejected_share"]
    assert good.status is Status.PASS


def test_dropped_records_are_reported_without_blocking(served, judge) -> None:
    result = judge(served.traffic(), dropped=12)["monitor.dropped_records"]
    assert result.status is Status.WARN and not result.blocks and result.reason is Reason.ABOVE_BOUND
    assert "dropped 12 prediction records" in result.message
    assert judge(served.traffic())["monitor.dropped_records"].status is Status.PASS


def test_an_empty_window_warns_and_skips_every_drift_check_never_a_pass(served, judge) -> None:
    results = judge(Traffic(served.X.iloc[0:0], np.zeros(0)))
    window = results["monitor.window"]
    assert window.status is Status.WARN and window.reason is Reason.NO_ROWS and not window.blocks
    assert "no predictions by model v1 in the window" in window.message
    for check_id in [*DRIFT_IDS, "monitor.prediction_drift", "monitor.balance[sex]", "monitor.input_schema"]:
        assert results[check_id].status is Status.SKIPPED, check_id
        assert results[check_id].reason is Reason.NO_ROWS
    assert not any(r.status is Status.PASS for r in results.values() if r.layer in ("drift", "balance"))
    assert not any(r.blocks for r in results.values())


def test_a_window_below_min_predictions_is_too_small_to_judge(served, judge) -> None:
    results = judge(served.traffic(served.X.head(10)))
    result = results["monitor.input_drift[age]"]
    assert result.status is Status.SKIPPED and result.reason is Reason.TOO_SMALL
    assert "too small to judge (10 predictions, monitor.min_predictions = 30)" in result.message


def test_predictions_of_other_versions_are_counted_not_judged(served, judge) -> None:
    rows = shifted(served.X, column="credit_amount", factor=1.25)
    results = judge(Traffic(rows, served.score(rows), version="2"))
    assert results["monitor.window"].status is Status.WARN
    assert "predictions by other versions not judged: v2: 300" in results["monitor.window"].message


def test_a_reference_sampled_above_reference_max_rows_uses_its_exact_category_counts(served, judge) -> None:
    import dataclasses

    reference = served.reference
    sample = reference.rows.sample(120, random_state=1).reset_index(drop=True)
    sampled = dataclasses.replace(reference, rows=sample)
    assert sampled.sampled
    results = judge(served.traffic(), reference=sampled)
    result = results["monitor.input_drift[housing]"]
    assert result.details["n_reference"] == reference.rows_total  # the exact table, not the 120-row sample
    assert results["monitor.input_drift[age]"].details["n_reference"] == 120
    assert "a seeded sample of 120 of 700 rows" in result.message


def test_the_false_alarm_budget_is_split_over_the_families(served) -> None:
    config = with_monitor(served.config, alarm_budget_per_day=0.05, runs_per_day=24)
    assert families(config) == [
        "input drift",
        "prediction drift",
        "balance of 'sex'",
        "balance of 'age'",
        "live quality",
        "estimated quality",
    ]
    assert family_alpha(config) == pytest.approx(0.05 / 24 / 6)


@pytest.mark.parametrize("values", [["a", "1", "1.0", None, "b"], [1, 2.0, None, 3], ["x", np.nan, "2.50"]])
def test_fast_categories_match_the_drift_gates_category_text(values) -> None:
    frame = pd.DataFrame({"c": pd.Series(values * 50, dtype=object)})
    fast = as_categories(frame, ["c"])["c"]
    assert fast.tolist() == category_text(frame["c"]).tolist()
