"""The drift gate: clean splits pass, an injected shift fails on exactly the shifted feature."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mlgate.checks import drift
from mlgate.checks.evidence import Evidence
from mlgate.checks.result import Status
from mlgate.pipeline.candidate import load_data
from mlgate.pipeline.config import DriftSettings, ProjectConfig, load_config

SETTINGS = DriftSettings()
NUMERIC = ["credit_amount", "duration", "age"]
CATEGORICAL = ["sex", "job", "housing", "saving_accounts", "checking_account", "purpose"]


def _evidence(config: ProjectConfig) -> Evidence:
    bundle = load_data(config)
    return Evidence(config, bundle.dataset, bundle.prepared, bundle.split)


@pytest.fixture(scope="module")
def german(german_config_path: Path) -> Evidence:
    return _evidence(load_config(german_config_path))


def _train_test(evidence: Evidence) -> tuple[pd.DataFrame, pd.DataFrame]:
    return evidence.train_frame, evidence.test_frame.copy()


def _compare(reference: pd.DataFrame, current: pd.DataFrame, settings: DriftSettings = SETTINGS):
    return drift.compare(reference, current, numeric=NUMERIC, categorical=CATEGORICAL, settings=settings)


def _by_status(results) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for r in results:
        out.setdefault(r.status.value, []).append(r.details["column"])
    return out


# ------------------------------------------------------------------------------------------- good input
@pytest.mark.parametrize("seed", [42, 0, 1, 2, 3])
def test_a_clean_seeded_split_of_the_bundled_data_is_not_flagged(german_config_path: Path, seed: int) -> None:
    config = load_config(german_config_path)
    config = config.model_copy(update={"split": config.split.model_copy(update={"random_state": seed})})
    results = drift.run(_evidence(config))
    assert [r.id for r in results] == [f"drift.feature[{c}]" for c in NUMERIC + CATEGORICAL] + ["drift.label[risk]"]
    assert {r.status for r in results} == {Status.PASS}, [r.message for r in results]
    assert all(r.layer == "drift" and r.blocking for r in results)
    assert "no drift" in results[0].message and "holm over 9 features and the label" in results[0].message
    assert results[-1].message.startswith("label 'risk' (train vs test): no drift: chi-square homogeneity")


def test_details_carry_what_the_report_plots(german: Evidence) -> None:
    results = {r.details["column"]: r for r in drift.run(german)}
    numeric, categorical = results["age"].details, results["purpose"].details
    common = {
        "test",
        "statistic",
        "p_value",
        "p_adjusted",
        "correction",
        "effect",
        "effect_name",
        "effect_floor",
        "alpha",
        "n_reference",
        "n_current",
    }
    assert common <= set(numeric) and common <= set(categorical)
    assert (numeric["test"], numeric["effect_name"], categorical["test"], categorical["effect_name"]) == (
        "ks",
        "ks_d",
        "chi2",
        "tvd",
    )
    assert numeric["n_reference"] == 700 and numeric["n_current"] == 300
    assert len(numeric["quantiles"]["q"]) == len(numeric["quantiles"]["reference"]) == 21
    assert numeric["quantiles"]["reference"][0] == german.train_frame["age"].min()
    shares = categorical["shares"]
    assert len(shares["categories"]) == len(shares["reference"]) == len(shares["current"])
    assert sum(shares["reference"]) == pytest.approx(1.0) and "car" in shares["categories"]
    json.dumps([r.to_dict() for r in results.values()])  # the report can serialise it


# ----------------------------------------------------------------------------------------- bad inputs
@pytest.mark.parametrize(
    ("column", "mutate"),
    [
        ("credit_amount", lambda s: s * 1.6),  # scale shift
        ("age", lambda s: s + 8),  # mean shift
        ("duration", lambda s: s.mask(np.arange(len(s)) % 3 == 0)),  # a third now missing
    ],
)
def test_an_injected_numeric_shift_is_flagged_on_exactly_that_feature(german: Evidence, column, mutate) -> None:
    reference, current = _train_test(german)
    current[column] = mutate(current[column])
    results = _compare(reference, current)
    assert _by_status(results) == {"fail": [column], "pass": [c for c in NUMERIC + CATEGORICAL if c != column]}
    failed = next(r for r in results if r.status is Status.FAIL)
    assert failed.id == f"drift.feature[{column}]"
    assert failed.message.startswith(f"feature '{column}' drifted (train vs test): Kolmogorov–Smirnov D = ")
    assert "(floor 0.1)" in failed.message and "Expected D < 0.1 or adjusted p >= 0.05" in failed.message
    assert failed.details["p_adjusted"] < 0.05 <= 0.1 <= failed.details["effect"]


def test_a_missing_share_shift_is_named_in_the_message(german: Evidence) -> None:
    reference, current = _train_test(german)
    current["duration"] = current["duration"].mask(np.arange(len(current)) % 3 == 0)
    failed = next(r for r in _compare(reference, current) if r.status is Status.FAIL)
    assert "missing 0.0% vs 33.3%" in failed.message
    assert failed.details["missing_share"] == {"reference": 0.0, "current": pytest.approx(1 / 3)}


def test_an_injected_categorical_share_shift_is_flagged_on_exactly_that_feature(german: Evidence) -> None:
    reference, current = _train_test(german)
    rng = np.random.default_rng(7)
    owners = current.index[current["housing"] == "own"]
    moved = rng.choice(owners, size=int(0.4 * len(owners)), replace=False)
    current.loc[moved, "housing"] = "rent"
    results = _compare(reference, current)
    assert _by_status(results)["fail"] == ["housing"]
    failed = next(r for r in results if r.status is Status.FAIL)
    assert failed.message.startswith("feature 'housing' drifted (train vs test): chi-square homogeneity = ")
    assert "TVD = " in failed.message and "Expected TVD < 0.1" in failed.message
    shares = dict(zip(failed.details["shares"]["categories"], failed.details["shares"]["current"], strict=True))
    assert shares["rent"] > 0.3


def test_a_new_category_in_the_current_data_is_flagged() -> None:
    rng = np.random.default_rng(0)
    reference = pd.DataFrame({"colour": rng.choice(["red", "blue"], 2000)})
    current = pd.DataFrame({"colour": rng.choice(["red", "blue", "green"], 2000)})
    [result] = drift.compare(reference, current, numeric=[], categorical=["colour"], settings=SETTINGS)
    assert result.status is Status.FAIL and "feature 'colour' drifted" in result.message


# ------------------------------------------------------------------------ effect floor and correction
def _normal_frames(n: int, shift: float, *, columns: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Deterministic normal samples (quantiles, no noise); the first column of `current` shifted."""
    base = stats.norm.ppf((np.arange(n) + 0.5) / n)
    reference = pd.DataFrame({f"x{i}": base for i in range(columns)})
    current = reference.copy()
    current["x0"] = base + shift
    return reference, current


def test_a_significant_shift_below_the_floor_passes_with_a_note() -> None:
    reference, current = _normal_frames(200_000, 0.05)  # D ~ 0.02: p tiny, effect below 0.1
    [result] = drift.compare(reference, current, numeric=["x0"], categorical=[], settings=SETTINGS)
    assert result.status is Status.PASS and result.details["note"] == "significant_below_floor"
    assert result.details["p_adjusted"] < 1e-10 and result.details["effect"] < 0.1
    assert "statistically detectable but small shift, below the effect floor" in result.message


def test_a_large_effect_on_few_rows_passes_with_a_note() -> None:
    reference, current = _normal_frames(12, 0.5)
    [result] = drift.compare(reference, current, numeric=["x0"], categorical=[], settings=SETTINGS)
    assert result.status is Status.PASS and result.details["note"] == "large_but_not_significant"
    assert "not significant (too few rows" in result.message


def test_holm_correction_spares_a_borderline_feature_that_no_correction_flags() -> None:
    reference, current = _normal_frames(300, 0.33, columns=10)
    columns = [f"x{i}" for i in range(10)]
    corrected = drift.compare(reference, current, numeric=columns, categorical=[], settings=SETTINGS)
    uncorrected = drift.compare(
        reference, current, numeric=columns, categorical=[], settings=DriftSettings(correction="none")
    )
    first = corrected[0].details
    assert first["p_value"] < 0.05 <= first["p_adjusted"] and first["effect"] >= 0.1
    assert corrected[0].status is Status.PASS and "holm over 10 features" in corrected[0].message
    assert uncorrected[0].status is Status.FAIL and "no correction" in uncorrected[0].message
    assert all(r.status is Status.PASS for r in corrected[1:] + uncorrected[1:])


def test_non_blocking_settings_and_custom_ids() -> None:
    reference, current = _normal_frames(1000, 3.0)
    [result] = drift.compare(
        reference,
        current,
        numeric=["x0"],
        categorical=[],
        settings=DriftSettings(blocking=False),
        id_prefix="monitor.drift",
        label="training vs serving",
    )
    assert result.id == "monitor.drift[x0]" and result.status is Status.FAIL and not result.blocks
    assert "drifted (training vs serving)" in result.message


# ------------------------------------------------------------------------------------- error paths
def test_a_column_missing_from_the_current_data_is_an_error() -> None:
    reference, current = _normal_frames(100, 0.0)
    [result] = drift.compare(reference, current.drop(columns="x0"), numeric=["x0"], categorical=[], settings=SETTINGS)
    assert result.status is Status.ERROR
    assert result.message == (
        "feature 'x0' (train vs test): column missing from the current data; cannot test it for drift"
    )


def test_no_rows_skips_the_feature() -> None:
    reference, current = _normal_frames(100, 0.0)
    [result] = drift.compare(reference, current.iloc[:0], numeric=["x0"], categorical=[], settings=SETTINGS)
    assert result.status is Status.SKIPPED and "no rows to compare (reference 100, current 0)" in result.message


def test_configured_columns_restrict_the_layer_and_unknown_ones_are_errors(german: Evidence) -> None:
    config = german.config.model_copy(update={"drift": DriftSettings(columns=["age", "sex", "colour"])})
    results = drift.run(dataclasses.replace(german, config=config))
    assert [r.id for r in results] == [
        "drift.feature[age]",
        "drift.feature[sex]",
        "drift.label[risk]",
        "drift.feature[colour]",
    ]
    assert [r.status for r in results] == [Status.PASS, Status.PASS, Status.PASS, Status.ERROR]
    assert results[-1].message.startswith("drift.columns names 'colour', which is not a feature")


def test_the_label_is_tested_with_its_own_floor_and_can_be_left_out(german: Evidence) -> None:
    """A test split whose positive share dropped by ~0.2 fails drift.label; label_effect_floor above the shift passes
    it; drift.label = false leaves the label out."""
    test = german.split.test.copy()
    good = test.index[test["risk"] == 1]
    test.loc[good[: len(good) * 2 // 7], "risk"] = 0
    shifted = dataclasses.replace(german, split=dataclasses.replace(german.split, test=test))
    label = next(r for r in drift.run(shifted) if r.id == "drift.label[risk]")
    assert label.status is Status.FAIL and label.message.startswith("label 'risk' drifted (train vs test): chi-square")
    assert label.details["effect_floor"] == 0.1 and label.details["effect"] >= 0.15

    def with_drift(**settings) -> Evidence:
        return dataclasses.replace(
            shifted, config=german.config.model_copy(update={"drift": DriftSettings(**settings)})
        )

    relaxed = next(r for r in drift.run(with_drift(label_effect_floor=0.5)) if r.id == "drift.label[risk]")
    assert relaxed.status is Status.PASS and relaxed.details["effect_floor"] == 0.5
    assert not [r for r in drift.run(with_drift(label=False)) if r.id.startswith("drift.label")]
