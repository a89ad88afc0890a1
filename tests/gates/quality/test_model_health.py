"""Model-health checks of the quality layer (checks.quality_health, computed by pipeline.diagnostics):
permutation importance with an interval, finite outputs, log loss below the prior's."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from quality_helpers import make_evidence
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

from mlgate.checks.quality import run
from mlgate.checks.quality_health import (
    check_feature_importance,
    check_finite_outputs,
    check_loss_vs_prior,
    prior_log_loss,
)
from mlgate.checks.result import Reason, Status
from mlgate.pipeline.candidate import Candidate, DataBundle, load_data, train_candidate
from mlgate.pipeline.config import ModelSettings, ProjectConfig
from mlgate.pipeline.diagnostics import Diagnostics, diagnose, permutation_importance
from mlgate.pipeline.train import fit


def health(results) -> dict:
    return {
        r.id: r for r in results if r.id.startswith(("quality.feature_importance", "quality.finite", "quality.loss"))
    }


def diagnosed(config: ProjectConfig, data: DataBundle, candidate: Candidate) -> Diagnostics:
    return diagnose(candidate.pipeline, data.split, features=data.prepared.features, random_state=0)


def test_the_bundled_model_is_healthy(german_config, german_data, german_candidate) -> None:
    evidence = make_evidence(german_config, german_data, german_candidate)
    evidence = dataclasses.replace(evidence, diagnostics=diagnosed(german_config, german_data, german_candidate))
    results = health(run(evidence))
    assert {k: r.status for k, r in results.items()} == {
        "quality.feature_importance": Status.PASS,
        "quality.finite_outputs": Status.PASS,
        "quality.loss_vs_prior[train]": Status.PASS,
        "quality.loss_vs_prior[test]": Status.PASS,
    }
    assert "strongest: checking_account +0.0" in results["quality.feature_importance"].message
    assert "(10 shuffles, 175 rows; 95% intervals, simultaneous over 9 features)" in (
        results["quality.feature_importance"].message
    )
    test = results["quality.loss_vs_prior[test]"]
    assert test.observed < test.expected["below"] - 0.05  # 0.52 vs the prior's 0.61


@pytest.mark.parametrize("seed", [1, 7, 13])
def test_no_feature_is_flagged_on_other_split_seeds(german_config: ProjectConfig, seed: int) -> None:
    config = german_config.model_copy(update={"split": german_config.split.model_copy(update={"random_state": seed})})
    data = load_data(config)
    candidate = train_candidate(config, data, random_state=config.model.random_state)
    results = check_feature_importance(diagnosed(config, data, candidate))
    assert [(r.id, r.status) for r in results] == [("quality.feature_importance", Status.PASS)]


def test_a_constant_feature_does_not_earn_its_place(german_config: ProjectConfig, german_data: DataBundle) -> None:
    parts = german_data.split
    with_constant = {name: getattr(parts, name) for name in ("train", "validation", "test")}
    split = dataclasses.replace(parts, **{k: v.assign(branch_code=7) for k, v in with_constant.items()})
    prepared = dataclasses.replace(
        german_data.prepared,
        features=[*german_data.prepared.features, "branch_code"],
        numeric=[*german_data.prepared.numeric, "branch_code"],
    )
    data = dataclasses.replace(german_data, prepared=prepared, split=split)
    candidate = train_candidate(german_config, data, random_state=0)
    results = check_feature_importance(diagnosed(german_config, data, candidate))
    assert [r.id for r in results] == ["quality.feature_importance[branch_code]"]
    result = results[0]
    assert result.status is Status.WARN and not result.blocking and result.reason is Reason.NO_CONTRIBUTION
    assert "feature 'branch_code' does not earn its place: the model does not use it" in result.message
    assert result.interval is not None and result.interval.low == result.interval.high == 0.0


def shifted_importance() -> Diagnostics:
    """A feature that matched the label in training but is reversed on the validation rows (a changed coding)."""
    rng = np.random.default_rng(0)
    n = 400
    y = rng.integers(0, 2, size=2 * n)
    useful = y + rng.normal(0, 0.8, size=2 * n)
    shifted = np.where(np.arange(2 * n) < n, y, 1 - y) + rng.normal(0, 0.8, size=2 * n)
    frame = pd.DataFrame({"useful": useful, "shifted": shifted})
    model = fit(
        ModelSettings(estimator="logistic_regression"),
        frame.iloc[:n],
        pd.Series(y[:n]),
        numeric=["useful", "shifted"],
        categorical=[],
        random_state=0,
    ).pipeline
    found = permutation_importance(model, frame.iloc[n:], y[n:], features=["useful", "shifted"], random_state=0)
    return Diagnostics(found, n, 10, 0.95, np.full(n, 0.5))


def test_a_feature_that_hurts_on_new_rows_is_named() -> None:
    results = check_feature_importance(shifted_importance())
    assert [r.id for r in results] == ["quality.feature_importance[shifted]"]
    assert "shuffling it does not hurt the model (importance -0." in results[0].message
    assert results[0].interval is not None and results[0].interval.high < 0


def test_without_a_validation_split_importance_is_skipped() -> None:
    note = "no validation split (split.validation_size = 0): importance is measured on held-out validation rows"
    results = check_feature_importance(Diagnostics((), 0, 10, 0.95, np.zeros(3), note=note))
    assert [(r.status, r.reason, r.message) for r in results] == [(Status.SKIPPED, Reason.NOT_CONFIGURED, note)]


# ---------------------------------------------------------------- data we did not write: breast cancer


@pytest.fixture(scope="module")
def cancer() -> tuple[pd.DataFrame, pd.Series]:
    frame = load_breast_cancer(as_frame=True).frame
    noise = np.random.default_rng(0).normal(size=len(frame))
    return frame.drop(columns="target").assign(noise=noise), frame["target"]


def cancer_importance(cancer, estimator: str, params: dict, seed: int):
    frame, y = cancer
    train, valid, y_train, y_valid = train_test_split(frame, y, test_size=0.3, stratify=y, random_state=seed)
    model = fit(
        ModelSettings(estimator=estimator, params=params),
        train,
        y_train,
        numeric=list(frame.columns),
        categorical=[],
        random_state=0,
    ).pipeline
    found = permutation_importance(model, valid, y_valid.to_numpy(), features=list(frame.columns), random_state=0)
    return model, check_feature_importance(Diagnostics(found, len(valid), 10, 0.95, np.zeros(1)))


@pytest.mark.parametrize(
    ("estimator", "params", "seed"),
    [("logistic_regression", {"max_iter": 5000}, 0), ("logistic_regression", {"max_iter": 5000}, 1),
     ("random_forest", {"n_estimators": 50}, 0)],
)  # fmt: skip
def test_breast_cancer_no_false_alarm_even_with_a_noise_column(cancer, estimator: str, params: dict, seed: int) -> None:
    """30 correlated measurements and a pure-noise column: no contribution is credibly <= 0 under an L2 logistic
    regression or a forest (the noise column's interval straddles 0: not flagged, not proven useful)."""
    _, results = cancer_importance(cancer, estimator, params, seed)
    assert [(r.id, r.status) for r in results] == [("quality.feature_importance", Status.PASS)]


def test_breast_cancer_under_l1_names_every_feature_the_model_dropped(cancer) -> None:
    model, results = cancer_importance(cancer, "logistic_regression", {"l1_ratio": 1.0, "solver": "liblinear"}, 0)
    dropped = {name for name, weight in zip(cancer[0].columns, model[-1].coef_[0], strict=True) if weight == 0}
    assert "noise" in dropped
    assert {r.details["column"] for r in results} == dropped
    assert all("the model does not use it" in r.message for r in results)


# ---------------------------------------------------------------- finite outputs, loss vs the prior


def test_non_finite_probabilities_fail_naming_the_stage() -> None:
    test = np.array([0.2, np.nan, 0.7, np.inf, 0.4])
    result = check_finite_outputs({"test": test, "validation": np.array([0.1, 1.2]), "train": None})
    assert result.status is Status.FAIL and result.blocks and result.reason is Reason.NON_FINITE
    assert "on test rows: 2 of 5 (first rows 1, 3); validation rows: 1 of 2 (first rows 1)" in result.message
    good = check_finite_outputs({"test": np.array([0.0, 0.5, 1.0]), "train": np.array([0.3])})
    assert good.status is Status.PASS and "(test, train rows)" in good.message


def test_a_loss_no_better_than_the_prior_fails_naming_the_stage() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, size=300)
    share = float(y.mean())
    good = np.clip(np.where(y == 1, 0.8, 0.2) + rng.normal(0, 0.05, 300), 0.01, 0.99)
    overconfident = np.where(rng.random(300) < 0.3, 1 - y, y) * 0.98 + 0.01  # 30% wrong at 99% confidence
    learned_nothing = np.full(300, 0.5 if abs(share - 0.5) > 0.05 else 0.9)
    results = {
        r.id: r for r in check_loss_vs_prior({"train": (y, learned_nothing), "test": (y, overconfident)}, share=share)
    }
    train, test = results["quality.loss_vs_prior[train]"], results["quality.loss_vs_prior[test]"]
    assert train.status is test.status is Status.FAIL and train.reason is Reason.NO_IMPROVEMENT
    assert train.message.startswith("train rows: the model's log loss") and "learned nothing" in train.message
    assert test.message.startswith("test rows: the model's log loss") and "worse than no model" in test.message
    assert test.expected == {"below": round(prior_log_loss(y, share), 6)}
    passed = check_loss_vs_prior({"test": (y, good)}, share=share)
    assert [(r.id, r.status) for r in passed] == [("quality.loss_vs_prior[test]", Status.PASS)]
    skipped = check_loss_vs_prior({"test": (y, np.full(300, np.nan))}, share=share)
    assert skipped[0].status is Status.SKIPPED and "quality.finite_outputs" in skipped[0].message


def test_prior_log_loss_is_the_entropy_of_the_share() -> None:
    y = np.array([1, 1, 1, 0])
    assert prior_log_loss(y, 0.75) == pytest.approx(-(0.75 * np.log(0.75) + 0.25 * np.log(0.25)))


def test_the_gated_run_computes_the_diagnostics_the_layer_judges(german_config: ProjectConfig) -> None:
    from mlgate.ci.gated_run import run_pipeline

    gated = run_pipeline(german_config, layers=("quality",), register=False, promote=False)
    diagnostics = gated.evidence.diagnostics
    assert diagnostics is not None
    assert [i.column for i in diagnostics.importance] == list(gated.evidence.prepared.features)
    assert diagnostics.proba_train.shape == (len(gated.evidence.split.train),)
    assert "diagnostics" in gated.timings
    statuses = {r.id: r.status for r in gated.report.results if r.id in health(gated.report.results)}
    assert statuses["quality.feature_importance"] is Status.PASS and statuses["quality.finite_outputs"] is Status.PASS
