"""The balance gate: class balance and sensitive-group shares, judged with (simultaneous) intervals."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlgate.checks import balance
from mlgate.checks.evidence import Evidence
from mlgate.checks.result import Status
from mlgate.pipeline.candidate import load_data
from mlgate.pipeline.config import BalanceSettings, SensitiveAttribute, load_config
from mlgate.pipeline.slices import group_labels

SEX = SensitiveAttribute(column="sex", reference={"male": 0.69, "female": 0.31}, tolerance=0.05)
AGE = SensitiveAttribute(
    column="age",
    bins=[18, 25, 35, 50, 120],
    labels=["18-24", "25-34", "35-49", "50+"],
    reference={"18-24": 0.15, "25-34": 0.40, "35-49": 0.33, "50+": 0.12},
)


@pytest.fixture(scope="module")
def german(german_config_path: Path) -> Evidence:
    config = load_config(german_config_path)
    bundle = load_data(config)
    return Evidence(config, bundle.dataset, bundle.prepared, bundle.split)


def _sex(female: int, male: int, *, other: int = 0, missing: int = 0) -> pd.Series:
    return pd.Series(["female"] * female + ["male"] * male + ["other"] * other + [None] * missing, dtype="string")


def _one(results, status: Status):
    matches = [r for r in results if r.status is status]
    assert len(matches) == 1, [(r.id, r.status, r.message) for r in results]
    return matches[0]


# ------------------------------------------------------------------------------------------- good input
def test_the_bundled_data_is_balanced(german: Evidence) -> None:
    results = balance.run(german)
    assert {r.status for r in results} == {Status.PASS}, [r.message for r in results if r.status != "pass"]
    ids = [r.id for r in results]
    assert len(ids) == len(set(ids)) == 14
    assert ids[:3] == [
        "balance.minority_share[train]",
        "balance.sensitive_share[train][sex=male]",
        "balance.sensitive_share[train][sex=female]",
    ]
    assert "balance.sensitive_share[test][age=50+]" in ids
    female = next(r for r in results if r.id == "balance.sensitive_share[train][sex=female]")
    assert female.slice == "sex=female" and female.interval is not None
    assert female.interval.low <= female.observed <= female.interval.high
    assert {"column", "group", "share", "reference", "tolerance", "n", "count", "split"} <= set(female.details)
    assert female.details["n"] == 700 and female.details["split"] == "train"


def test_shares_at_the_reference_pass() -> None:
    results = balance.group_share_checks(_sex(310, 690), SEX, confidence=0.95, split="train")
    assert [r.status for r in results] == [Status.PASS, Status.PASS]
    assert results[1].message.startswith("group 'female' of 'sex' is 31.0% of 1000 training rows")


# ----------------------------------------------------------------------------------------- bad inputs
def test_a_group_credibly_outside_its_reference_fails() -> None:
    results = balance.group_share_checks(_sex(500, 500), SEX, confidence=0.95, split="test")
    female = next(r for r in results if r.slice == "sex=female")
    assert female.status is Status.FAIL and female.id == "balance.sensitive_share[test][sex=female]"
    assert female.message.startswith(
        "group 'female' of 'sex' is 50.0% of 1000 test rows (500 rows; simultaneous 95% CI "
    )
    assert "declared 31.0% ± 5.0% (allowed 26.0%–36.0%)" in female.message
    assert "the whole interval is outside the allowed band, the data over-represents this group" in (female.message)
    male = next(r for r in results if r.slice == "sex=male")
    assert male.status is Status.FAIL and "under-represents" in male.message


def test_a_group_just_outside_on_few_rows_is_inconclusive() -> None:
    results = balance.group_share_checks(_sex(40, 60), SEX, confidence=0.95, split="train")
    assert [r.status for r in results] == [Status.WARN, Status.WARN]
    assert "outside the band, but the interval overlaps it (inconclusive with 100 rows)" in results[1].message


def test_a_declared_group_absent_from_the_data_fails() -> None:
    results = balance.group_share_checks(_sex(0, 500), SEX, confidence=0.95, split="train")
    female = next(r for r in results if r.slice == "sex=female")
    assert female.status is Status.FAIL and female.observed == 0.0
    assert "is 0.0% of 500 training rows" in female.message and "under-represents" in female.message


def test_an_undeclared_group_fails() -> None:
    results = balance.group_share_checks(_sex(310, 680, other=10), SEX, confidence=0.95, split="train")
    other = _one(results, Status.FAIL)
    assert other.id == "balance.sensitive_share[train][sex=other]" and other.slice == "sex=other"
    assert other.message.startswith(
        "group 'other' of 'sex' is not declared in balance.sensitive.reference "
        "(10 of 1000 training rows (train + validation), 1.0%"
    )


def test_missing_values_are_reported() -> None:
    results = balance.group_share_checks(_sex(31, 69, missing=10), SEX, confidence=0.95, split="test")
    missing = _one(results, Status.WARN)
    assert missing.id == "balance.sensitive_missing[test][sex]"
    assert missing.message == (
        "'sex': 10 of 110 test rows (9.1%) have no group (missing); shares are computed over the 100 rows with a group"
    )
    assert [r.details["n"] for r in results[1:]] == [100, 100]


def test_an_attribute_with_no_value_at_all_fails() -> None:
    [result] = balance.group_share_checks(_sex(0, 0, missing=5), SEX, confidence=0.95, split="test")
    assert result.status is Status.FAIL and "no row has a group, so the shares cannot be judged" in result.message


def test_a_binned_attribute_reports_values_outside_the_bands() -> None:
    frame = pd.DataFrame({"age": [16, 17] + [20] * 150 + [30] * 400 + [40] * 330 + [60] * 120})
    results = balance.check_balance(
        frame, pd.Series([0, 1] * 501, name="risk"), BalanceSettings(sensitive=[AGE]), split="train"
    )
    missing = _one(results, Status.WARN)
    assert "'age': 2 of 1002 training rows" in missing.message
    assert "(missing or outside the bands [18, 120))" in missing.message
    assert [r.slice for r in results if r.id.startswith("balance.sensitive_share")] == [
        "age=18-24",
        "age=25-34",
        "age=35-49",
        "age=50+",
    ]


def test_a_minority_share_too_low_fails() -> None:
    y = pd.Series([1] * 950 + [0] * 50, name="risk")
    result = balance.minority_share_check(y, min_share=0.2, confidence=0.95, split="train")
    assert result.status is Status.FAIL and result.id == "balance.minority_share[train]"
    assert result.message.startswith("minority class 0 of 'risk' is 5.0% of 1000 training rows")
    assert "minimum balance.min_minority_share = 20.0%: the whole interval is below the minimum" in (result.message)
    assert result.interval.high < 0.2 and result.details["count"] == 50


def test_a_minority_share_just_below_on_few_rows_warns() -> None:
    y = pd.Series([0] * 18 + [1] * 82, name="risk")
    result = balance.minority_share_check(y, min_share=0.2, confidence=0.95, split="test")
    assert result.status is Status.WARN and "inconclusive with 100 rows" in result.message


def test_a_single_class_fails() -> None:
    result = balance.minority_share_check(
        pd.Series([1] * 30, name="risk"), min_share=0.2, confidence=0.95, split="test"
    )
    assert result.status is Status.FAIL and "is 0.0% of 30 test rows" in result.message


def test_a_test_split_without_women_fails_only_on_the_test_split(german: Evidence) -> None:
    test = german.split.test.copy()
    test["sex"] = "male"
    evidence = dataclasses.replace(german, split=dataclasses.replace(german.split, test=test))
    failed = [r.id for r in balance.run(evidence) if r.status is Status.FAIL]
    assert failed == ["balance.sensitive_share[test][sex=male]", "balance.sensitive_share[test][sex=female]"]


def test_a_configured_column_absent_from_the_data_is_an_error() -> None:
    settings = BalanceSettings(sensitive=[SensitiveAttribute(column="race", reference={"a": 1.0})])
    results = balance.check_balance(pd.DataFrame({"x": [1, 2]}), pd.Series([0, 1]), settings, split="train")
    error = _one(results, Status.ERROR)
    assert error.message == (
        "balance.sensitive names column 'race', which is not in the train data; fix balance.sensitive in the config"
    )


# ------------------------------------------------------------------------------------------ properties
@given(female=st.integers(0, 3000), male=st.integers(0, 3000), confidence=st.floats(0.8, 0.99))
def test_verdicts_agree_with_interval_and_band(female: int, male: int, confidence: float) -> None:
    results = balance.group_share_checks(_sex(female, male), SEX, confidence=confidence, split="train")
    for result in results:
        if female + male == 0:
            continue
        low, high, share = result.interval.low, result.interval.high, result.observed
        band = (result.details["reference"] - 0.05, result.details["reference"] + 0.05)
        assert 0.0 <= low <= share <= high <= 1.0
        if result.status is Status.FAIL:
            assert high < band[0] or low > band[1]
        elif result.status is Status.WARN:
            assert not band[0] <= share <= band[1] and high >= band[0] and low <= band[1]
        else:
            assert band[0] <= share <= band[1]


@given(n=st.integers(200, 20_000))
def test_data_at_the_reference_shares_always_passes(n: int) -> None:
    female = int(np.round(0.31 * n))
    results = balance.group_share_checks(_sex(female, n - female), SEX, confidence=0.95, split="train")
    assert {r.status for r in results} == {Status.PASS}


@given(ages=st.lists(st.one_of(st.none(), st.floats(0, 150, allow_nan=False)), min_size=1, max_size=200))
def test_fast_bands_count_like_pipeline_group_labels(ages: list[float | None]) -> None:
    frame = pd.DataFrame({"age": pd.array(ages, dtype="Float64")})
    fast = balance._groups(frame, AGE).value_counts(dropna=False)
    slow = group_labels(frame, AGE).value_counts(dropna=False)
    as_dict = {(None if pd.isna(k) else str(k)): int(v) for k, v in fast.items() if v}
    assert as_dict == {(None if pd.isna(k) else str(k)): int(v) for k, v in slow.items()}
