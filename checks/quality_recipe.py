"""``quality.champion_recipe``: the candidate's recipe against the champion's, cross-fitted on every labelled row.

``quality.champion`` judges the two fitted models on the held-out rows. This check judges the recipes (estimator,
parameters, features) on all labelled rows: the gated run refits both on the same stratified folds
(:func:`pipeline.cross_fit.cross_fit_recipes`) and hands the out-of-fold scores over in ``Evidence.recipes``. The
verdict is the champion comparison's: the paired-bootstrap interval of (candidate − champion) on
``quality.champion_metric`` against ``-quality.champion_margin`` — FAIL when the whole interval is below it, WARN
when only the estimate is — and the message states the smallest drop it detects with 80% power. With about
twice the rows of the held-out comparison it detects what that one cannot (a 0.05 ROC AUC drop on the bundled
data under ≥ 80% of split seeds; ``benchmarks/bench_seed_stability.py``), while a candidate that only *retrains*
the champion's recipe on changed data is judged by ``quality.champion`` alone (the same recipe scores every row
alike, so this check passes and says so).

Each of the two checks fails a candidate that is truly as good as the champion under about 2.5% of splits (one
side of a 95% interval).
"""

from __future__ import annotations

import numpy as np

from mlgate.checks.quality_common import (
    LAYER,
    Scored,
    fmt,
    paired_interval,
    point_value,
    verdict_note,
)
from mlgate.checks.quality_compare import champion_verdict
from mlgate.checks.result import CheckResult, Reason, Status
from mlgate.pipeline.config import QualitySettings
from mlgate.pipeline.records import ChampionRecord, CrossFitted
from mlgate.pipeline.tags import Tag

__all__ = ["CHECK_ID", "check_champion_recipe", "recipe_margin"]

CHECK_ID = "quality.champion_recipe"


def recipe_margin(settings: QualitySettings) -> tuple[float, str]:
    """How much worse the candidate's recipe may be, and the key that set it."""
    if settings.champion_recipe_margin is not None:
        return settings.champion_recipe_margin, "quality.champion_recipe_margin"
    return settings.champion_margin, "quality.champion_margin"


def _champion_threshold(champion: ChampionRecord, default: float) -> float:
    try:
        return float(champion.tags.get(Tag.THRESHOLD, default))
    except (TypeError, ValueError):
        return default


def _not_judged(champion: ChampionRecord | None, recipes: CrossFitted | None) -> CheckResult | None:
    """The result when there is nothing to judge: no champion, or no cross-fitted scores (and why)."""
    if champion is None:
        return CheckResult(CHECK_ID, LAYER, Status.PASS, "no champion yet: nothing to compare")
    label = f"champion {champion.name} v{champion.version}"
    if recipes is None:
        return CheckResult(
            CHECK_ID,
            LAYER,
            Status.SKIPPED,
            f"the recipes were not cross-fitted (this evidence has no refits); quality.champion judges {label}",
            reason=Reason.NOT_REFITTED,
        )
    if recipes.same_recipe:
        return CheckResult(
            CHECK_ID,
            LAYER,
            Status.PASS,
            f"the candidate's recipe is {label}'s (same estimator, parameters and features): refitted on the same "
            "folds they would score every row alike; quality.champion judges the two fitted models",
            details={"same_recipe": True, "rows": len(recipes.y), "folds": recipes.folds},
        )
    if recipes.skipped is not None or recipes.candidate is None or recipes.champion is None:
        return CheckResult(
            CHECK_ID,
            LAYER,
            Status.SKIPPED,
            f"recipes not cross-fitted: {recipes.skipped}; quality.champion judges {label} on the held-out rows",
            reason=Reason.NOT_REFITTED,
            details={"skipped": recipes.skipped},
        )
    return None


def check_champion_recipe(
    recipes: CrossFitted | None,
    champion: ChampionRecord | None,
    *,
    threshold: float,
    settings: QualitySettings,
    like: Scored | None = None,
) -> CheckResult:
    """Non-inferiority of the candidate's recipe against the champion's on the out-of-fold scores of every
    labelled row (``threshold``: the candidate's decision threshold; the champion's comes from its tag)."""
    early = _not_judged(champion, recipes)
    if early is not None:
        return early
    assert champion is not None and recipes is not None
    assert recipes.candidate is not None and recipes.champion is not None
    task, costs = ("binary", None) if like is None else (like.task, like.costs)
    metric, (margin, key) = settings.metric_for("champion", task), recipe_margin(settings)
    y, n = recipes.y.astype(np.float64), len(recipes.y)
    candidate = Scored("candidate", recipes.candidate, threshold, "the candidate's threshold", task, costs)
    champ_threshold = _champion_threshold(champion, threshold) if task == "binary" else threshold
    champ = Scored("champion", recipes.champion, champ_threshold, "champion tag", task, costs)
    diff = paired_interval(metric, y, candidate, champ, settings)
    cand_value, champ_value = point_value(metric, y, candidate, settings), point_value(metric, y, champ, settings)
    label = f"champion {champion.name} v{champion.version}"
    where = (
        f"{metric}, each recipe refitted on {recipes.folds} stratified folds of all {n} labelled rows (seed "
        f"{recipes.seed}) and scored on the fold it did not see: candidate {fmt(cand_value)} vs {label}'s recipe "
        f"{fmt(champ_value)}, difference {diff.describe(signed=True)}"
    )
    required = f"{-margin:+.3f} required ({key})"

    def message(status: Status, is_confirmed: bool, mde: str) -> str:
        if status is Status.FAIL:
            return (
                f"{where}: the candidate's recipe is credibly worse than the champion's by more than the margin "
                f"(whole interval below {-margin:+.3f}, {key}); keep the champion and find what changed in the "
                f"recipe; {mde}"
            )
        if status is Status.WARN:
            return (
                f"{where}: worse than the champion's recipe by more than the margin ({required}) on the estimate "
                f"only, the interval reaches it: inconclusive with {n} rows, not blocking; {mde}"
            )
        return f"{where}; at least {required}, {verdict_note(status, is_confirmed=is_confirmed, n=n)}; {mde}"

    details = {
        "metric": metric,
        "candidate": cand_value,
        "champion": champ_value,
        "champion_version": champion.version,
        "rows": n,
        "folds": recipes.folds,
        "seed": recipes.seed,
        "seconds": recipes.seconds,
    }
    return champion_verdict(
        CHECK_ID, where, diff, metric=metric, margin=margin, settings=settings, message=message, details=details
    )
