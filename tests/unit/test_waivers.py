"""Waivers turn a named FAIL into WAIVED (visibly), and never hide an expired, unneeded or mistyped one."""

from __future__ import annotations

from datetime import date

import pytest

from mlgate.checks.result import CheckResult, Status
from mlgate.checks.waivers import apply_waivers, matches
from mlgate.pipeline.config import Waiver

TODAY = date(2026, 3, 1)


def failing(check_id: str, slice_: str | None = None, status: Status = Status.FAIL) -> CheckResult:
    return CheckResult(check_id, "quality", status, f"{check_id} is 0.61, expected at least 0.70", slice=slice_)


def waiver(check: str, *, expires: date = date(2026, 6, 30), slice_: str | None = None) -> Waiver:
    return Waiver(check=check, slice=slice_, reason="known data gap, fix in Q2", owner="risk-team", expires=expires)


SLICE_ID = "quality.slice_metric[purpose=repairs][roc_auc]"


def test_waived_failure_keeps_its_message_and_names_the_waiver() -> None:
    original = failing(SLICE_ID, "purpose=repairs")
    (result,) = apply_waivers([original], [waiver(SLICE_ID)], today=TODAY)
    assert result.status is Status.WAIVED and not result.blocks
    assert result.message.endswith(original.message)
    assert result.message.startswith("waived until 2026-06-30 by risk-team (known data gap, fix in Q2)")
    assert result.details["waiver"] == {
        "owner": "risk-team",
        "reason": "known data gap, fix in Q2",
        "expires": "2026-06-30",
    }


def test_waiver_holds_through_its_expiry_day() -> None:
    (result,) = apply_waivers([failing(SLICE_ID)], [waiver(SLICE_ID, expires=TODAY)], today=TODAY)
    assert result.status is Status.WAIVED


def test_expired_waiver_leaves_the_failure_and_adds_a_failure_naming_it() -> None:
    results = apply_waivers([failing(SLICE_ID)], [waiver(SLICE_ID, expires=date(2026, 2, 28))], today=TODAY)
    assert [(r.id, r.status) for r in results] == [
        (SLICE_ID, Status.FAIL),
        (f"waiver[{SLICE_ID}]", Status.FAIL),
    ]
    assert "expired on 2026-02-28 (today 2026-03-01)" in results[1].message
    assert "owner risk-team" in results[1].message and results[1].layer == "quality"


def test_expired_waiver_on_a_passing_check_only_warns() -> None:
    passing = failing(SLICE_ID, status=Status.PASS)
    results = apply_waivers([passing], [waiver(SLICE_ID, expires=date(2026, 1, 1))], today=TODAY)
    assert results[1].status is Status.WARN and "expired on 2026-01-01" in results[1].message


def test_unmatched_waiver_warns_in_the_layer_its_id_names() -> None:
    results = apply_waivers([failing(SLICE_ID)], [waiver("drift.feature[agee]")], today=TODAY)
    assert results[0].status is Status.FAIL
    assert (results[1].id, results[1].status, results[1].layer) == ("waiver[drift.feature[agee]]", Status.WARN, "drift")
    assert "matches no check of this run" in results[1].message


def test_waiver_of_a_passing_check_is_reported_as_no_longer_needed() -> None:
    results = apply_waivers([failing(SLICE_ID, status=Status.PASS)], [waiver(SLICE_ID)], today=TODAY)
    assert results[1].status is Status.WARN and "is no longer needed" in results[1].message


def test_glob_waives_every_group_and_brackets_are_literal() -> None:
    results = [
        failing("quality.slice_metric[purpose=repairs][roc_auc]"),
        failing("quality.slice_metric[purpose=car][roc_auc]"),
    ]
    results.append(failing("quality.slice_metric[purpose=car][log_loss]"))
    out = apply_waivers(results, [waiver("quality.slice_metric[purpose=*][roc_auc]")], today=TODAY)
    assert [r.status for r in out] == [Status.WAIVED, Status.WAIVED, Status.FAIL]
    assert not matches(waiver("quality.slice_metric[p]"), failing("quality.slice_metricp"))


def test_slice_specific_waiver_waives_only_that_slice() -> None:
    female = failing("quality.slice_metric[sex=female][roc_auc]", "sex=female")
    male = failing("quality.slice_metric[sex=male][roc_auc]", "sex=male")
    out = apply_waivers([female, male], [waiver("quality.slice_metric[*][roc_auc]", slice_="sex=female")], today=TODAY)
    assert [r.status for r in out] == [Status.WAIVED, Status.FAIL]


@pytest.mark.parametrize("status", [Status.ERROR, Status.WARN])
def test_errors_and_warnings_are_never_waived(status: Status) -> None:
    out = apply_waivers([failing(SLICE_ID, status=status)], [waiver(SLICE_ID)], today=TODAY)
    assert out[0].status is status
    assert out[1].status is Status.WARN and "no longer needed" in out[1].message


def test_input_list_is_not_changed() -> None:
    results = [failing(SLICE_ID)]
    apply_waivers(results, [waiver(SLICE_ID)], today=TODAY)
    assert results[0].status is Status.FAIL
