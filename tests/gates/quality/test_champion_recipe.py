"""quality.champion_recipe: both recipes refitted on folds of every labelled row (pipeline.cross_fit) and judged.

Known bad: a depth-1 tree's recipe against the bundled logistic regression's fails, naming the margin. Known good:
the same recipe passes without refitting; a slightly different regularisation passes. Each reason the recipes
are not refitted is a SKIPPED result that says why.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from quality_helpers import champion_with, make_evidence, settings
from sklearn.base import clone

from mlgate.checks.quality import run
from mlgate.checks.quality_recipe import CHECK_ID, check_champion_recipe
from mlgate.checks.result import Reason, Status
from mlgate.pipeline.candidate import Candidate, DataBundle, train_candidate
from mlgate.pipeline.config import ProjectConfig
from mlgate.pipeline.cross_fit import cross_fit_recipes, recipe_key
from mlgate.pipeline.errors import ConfigError


def variant(config: ProjectConfig, **sections: dict[str, object]) -> ProjectConfig:
    raw = config.model_dump(by_alias=True)
    for section, keys in sections.items():
        raw[section].update(keys)
    return ProjectConfig.model_validate(raw).model_copy(update={"path": config.path})


def candidate_of(config: ProjectConfig, data: DataBundle, **model: object) -> Candidate:
    changed = variant(config, model=model)
    return train_candidate(changed, data, random_state=changed.model.random_state)


def test_a_credibly_worse_recipe_fails(german_config, german_data, german_candidate) -> None:
    stump = candidate_of(
        german_config, german_data, estimator="sklearn.tree.DecisionTreeClassifier", params={"max_depth": 1}
    )
    recipes = cross_fit_recipes(german_config, german_data, stump.pipeline, german_candidate.pipeline)
    assert recipes.skipped is None and not recipes.same_recipe
    assert recipes.candidate is not None and np.isfinite(recipes.candidate).all()
    assert len(recipes.y) == 1000 and recipes.folds == 5
    champion = champion_with(german_candidate.pipeline, **{"mlgate.threshold": repr(german_candidate.threshold)})
    result = check_champion_recipe(recipes, champion, threshold=stump.threshold, settings=german_config.quality)
    assert result.status is Status.FAIL and result.reason is Reason.WORSE_THAN_CHAMPION
    assert "each recipe refitted on 5 stratified folds of all 1000 labelled rows" in result.message
    assert "credibly worse than the champion's by more than the margin" in result.message
    assert result.interval is not None and result.interval.high < 0
    effect = result.details["minimum_detectable_effect"]["effect"]
    assert 0.02 < effect < 0.06  # the spread of two unlike models; near-alike recipes detect less (benchmark)


def test_the_same_recipe_passes_without_refitting(german_config, german_data, german_candidate) -> None:
    again = clone(german_candidate.pipeline)
    assert recipe_key(again) == recipe_key(german_candidate.pipeline)
    recipes = cross_fit_recipes(german_config, german_data, german_candidate.pipeline, again)
    assert recipes.same_recipe and recipes.candidate is None
    result = check_champion_recipe(recipes, champion_with(again), threshold=0.5, settings=german_config.quality)
    assert result.status is Status.PASS and "the candidate's recipe is champion german-credit v7's" in result.message


def test_a_slightly_different_recipe_passes(german_config, german_data, german_candidate) -> None:
    other = candidate_of(german_config, german_data, params={"C": 0.3, "max_iter": 1000})
    assert recipe_key(other.pipeline) != recipe_key(german_candidate.pipeline)
    recipes = cross_fit_recipes(german_config, german_data, other.pipeline, german_candidate.pipeline)
    champion = champion_with(german_candidate.pipeline)
    result = check_champion_recipe(recipes, champion, threshold=other.threshold, settings=german_config.quality)
    assert result.status is Status.PASS, result.message  # a 0.002 lag, within the bundled 0.01 recipe margin
    assert "-0.010 required (quality.champion_recipe_margin)" in result.message
    strict = settings(champion_margin=0.0)  # no margin: the same 0.002 lag is worse on the estimate only
    warned = check_champion_recipe(recipes, champion, threshold=other.threshold, settings=strict)
    assert warned.status is Status.WARN and "(quality.champion_margin)" in warned.message


def test_the_quality_layer_reports_the_recipe_check(german_config, german_data, german_candidate) -> None:
    stump = candidate_of(
        german_config, german_data, estimator="sklearn.tree.DecisionTreeClassifier", params={"max_depth": 1}
    )
    champion = champion_with(german_candidate.pipeline)
    evidence = make_evidence(german_config, german_data, stump, champion=champion)
    recipes = cross_fit_recipes(german_config, german_data, stump.pipeline, german_candidate.pipeline)
    results = {r.id: r for r in run(dataclasses.replace(evidence, recipes=recipes))}
    assert results[CHECK_ID].status is Status.FAIL
    without = {r.id: r for r in run(evidence)}  # an evidence without refits says so
    assert without[CHECK_ID].status is Status.SKIPPED and without[CHECK_ID].reason is Reason.NOT_REFITTED


def test_no_champion_passes() -> None:
    result = check_champion_recipe(None, None, threshold=0.5, settings=settings())
    assert result.status is Status.PASS and result.message == "no champion yet: nothing to compare"


@pytest.mark.parametrize(
    ("quality", "expected"),
    [
        ({"champion_recipe": "off"}, "quality.champion_recipe = 'off'"),
        ({"champion_recipe_max_rows": 500}, "1,000 labelled rows, more than quality.champion_recipe_max_rows = 500"),
    ],
)
def test_recipes_not_refitted_say_why(german_config, german_data, german_candidate, quality, expected) -> None:
    config = variant(german_config, quality=quality)
    stump = candidate_of(config, german_data, estimator="sklearn.tree.DecisionTreeClassifier", params={})
    recipes = cross_fit_recipes(config, german_data, stump.pipeline, german_candidate.pipeline)
    assert recipes.skipped is not None and expected in recipes.skipped
    result = check_champion_recipe(
        recipes, champion_with(german_candidate.pipeline), threshold=0.5, settings=settings()
    )
    assert result.status is Status.SKIPPED and result.reason is Reason.NOT_REFITTED
    assert expected in result.message and "quality.champion judges champion german-credit v7" in result.message


def test_a_champion_fitted_on_columns_the_data_lacks_is_not_refitted(german_config, german_data) -> None:
    narrow = variant(german_config, features={"exclude": ["checking_account"]})
    from mlgate.pipeline.candidate import load_data

    data = load_data(narrow)
    mine = train_candidate(narrow, data, random_state=0)
    full = train_candidate(german_config, german_data, random_state=0)
    recipes = cross_fit_recipes(narrow, data, mine.pipeline, full.pipeline)
    assert recipes.skipped == "the champion was fitted on columns the prepared data does not hold (checking_account)"


def test_a_recipe_that_cannot_be_refitted_is_skipped_not_raised(german_config, german_data, german_candidate) -> None:
    class Frozen:
        """A champion model with no scikit-learn parameters (clone refuses it)."""

        feature_names_in_ = german_candidate.pipeline.feature_names_in_

    recipes = cross_fit_recipes(german_config, german_data, german_candidate.pipeline, Frozen())
    assert recipes.skipped is not None and recipes.skipped.startswith("the champion's recipe could not be refitted")


def test_time_ordered_split_is_not_cross_fitted_and_cross_fitted_is_refused(german_config, tmp_path) -> None:
    from mlgate.pipeline.candidate import load_data
    from mlgate.pipeline.config import load_config

    timed = variant(german_config, data={"event_time_column": "duration"}, split={"by": "time"})
    data = load_data(timed)
    stump = candidate_of(timed, data, estimator="sklearn.tree.DecisionTreeClassifier", params={})
    mine = train_candidate(timed, data, random_state=0)
    recipes = cross_fit_recipes(timed, data, stump.pipeline, mine.pipeline)
    assert recipes.skipped is not None and "time-ordered" in recipes.skipped
    assert german_config.path is not None
    source = german_config.path
    text = source.read_text(encoding="utf-8").replace("[split]", '[split]\nby = "time"', 1)
    text = text.replace("[quality]", '[quality]\nchampion_recipe = "cross_fitted"', 1)
    text = text.replace("[data]", '[data]\nevent_time_column = "duration"', 1)
    (tmp_path / "mlgate.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"quality\.champion_recipe.*training on the future"):
        load_config(tmp_path / "mlgate.toml")
