"""Paired comparisons: simpler baselines (must not do as well) and the champion (must not be credibly better).

* Baselines — a majority-class model (class prior) and a default logistic regression — are fitted by the gated
  run (:func:`pipeline.candidate.train_baselines`) on the SAME training split and features, with the same
  ``model.random_state``, and their decision thresholds chosen the same way as the candidate's; this module only
  judges their probabilities, carried in ``Evidence.baselines``. ``quality.baseline[<name>]`` judges the
  paired-bootstrap interval of the candidate's improvement on ``quality.baseline_metric`` against
  ``quality.baseline_margin`` (or ``-quality.baseline_tolerance``): FAIL when the whole interval is below it, WARN
  when only the estimate is; on the test rows, plus the validation rows for a threshold-free metric
  (:func:`baseline_rows`).
* ``quality.champion`` judges the paired interval of (candidate − champion) on ``quality.champion_metric`` against
  ``-quality.champion_margin`` the same way, on every held-out row neither model trained on
  (:func:`quality_common.held_out_rows`: test + validation for a threshold-free metric), and states the smallest
  drop it detects with 80% power (:func:`checks.stats.detectable_effect`). The champion decides with the threshold
  recorded in its ``threshold`` tag, or the candidate's when it has none (threshold-free metrics such as ROC AUC
  are unaffected).

Every difference is oriented so that positive means the candidate is better (for losses: lower).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from mlgate.checks.bootstrap import Bootstrap
from mlgate.checks.evidence import Evidence
from mlgate.checks.quality_common import (
    LAYER,
    RULE,
    HeldOut,
    Scored,
    check_metric_name,
    confirmed,
    fmt,
    held_out_rows,
    judge,
    paired_interval,
    point_value,
    rule_details,
    verdict_note,
)
from mlgate.checks.result import CheckResult, Reason, Status
from mlgate.checks.stats import detectable_effect
from mlgate.pipeline.config import QualitySettings
from mlgate.pipeline.evaluate import greater_is_better, model_scores, positive_proba
from mlgate.pipeline.records import BaselineOutput, ChampionRecord
from mlgate.pipeline.tags import Tag

__all__ = [
    "baseline_requirement",
    "baseline_rows",
    "champion_verdict",
    "check_baselines",
    "check_champion",
    "detectable",
    "score_champion",
    "scored_baselines",
]

#: The power at which the champion comparison states its minimum detectable effect.
POWER = 0.8


def scored_baselines(
    outputs: Mapping[str, BaselineOutput], like: Scored | None = None
) -> tuple[dict[str, Scored], list[CheckResult]]:
    """The baselines the gated run trained (:func:`pipeline.candidate.train_baselines`), as scores to compare
    (judged like the candidate ``like``: its task and costs).

    A baseline that could not be trained becomes an ERROR result naming the reason.
    """
    scored: dict[str, Scored] = {}
    errors: list[CheckResult] = []
    for name, output in outputs.items():
        if output.error is not None or output.proba_test is None or output.threshold is None:
            errors.append(
                CheckResult(
                    f"quality.baseline[{name}]",
                    LAYER,
                    Status.ERROR,
                    f"the {name} baseline could not be trained: {output.error}",
                    reason=Reason.TRAINING_FAILED,
                )
            )
            continue
        source = str(output.threshold_source)
        scored[name] = (
            like.like(name, output.proba_test, output.threshold, source)
            if like is not None
            else Scored(name, output.proba_test, output.threshold, source)
        )
    return scored, errors


def _compare(
    metric: str, y: np.ndarray, candidate: Scored, other: Scored, settings: QualitySettings
) -> tuple[Bootstrap, float, float]:
    """The paired improvement of ``candidate`` over ``other`` on ``metric``, and each one's value on all rows."""
    diff = paired_interval(metric, y, candidate, other, settings)
    return diff, point_value(metric, y, candidate, settings), point_value(metric, y, other, settings)


def baseline_requirement(settings: QualitySettings) -> tuple[float, str]:
    """The improvement over each baseline the candidate must show, and the key that set it: ``baseline_margin``
    (a lead), or ``-baseline_tolerance`` (a lag it may have; the config refuses both)."""
    if settings.baseline_tolerance > 0:
        return -settings.baseline_tolerance, "quality.baseline_tolerance"
    return settings.baseline_margin, "quality.baseline_margin"


def _baseline_message(where: str, name: str, status: Status, required: str, n: int, *, is_confirmed: bool) -> str:
    if status is Status.PASS:
        return f"{where}; at least {required}, {verdict_note(status, is_confirmed=is_confirmed, n=n)}"
    advice = f"the simpler {name} model does as well; ship the simpler model or improve the candidate"
    return f"{where}, less than the {required} {verdict_note(status, is_confirmed=False, n=n)}; {advice}"


def baseline_rows(
    evidence: Evidence, candidate: Scored, outputs: Mapping[str, BaselineOutput], trained: Mapping[str, Scored]
) -> tuple[HeldOut, dict[str, Scored]]:
    """The rows the baseline comparisons use (:func:`quality_common.held_out_rows` for ``baseline_metric``) and
    each trained baseline's scores on them."""
    metric = evidence.config.quality.metric_for("baseline", candidate.task)
    extra = [outputs[name].proba_validation for name in trained]
    rows = held_out_rows(evidence, candidate, metric, others=extra)
    return rows, {name: rows.scores(base, outputs[name].proba_validation) for name, base in trained.items()}


def check_baselines(rows: HeldOut, baselines: Mapping[str, Scored], *, settings: QualitySettings) -> list[CheckResult]:
    """``quality.baseline[<name>]``: the candidate's paired improvement over each baseline on ``rows`` against
    :func:`baseline_requirement` (FAIL: the whole interval below it; WARN: only the estimate)."""
    y, candidate = np.asarray(rows.y, dtype=np.float64), rows.candidate
    metric = settings.metric_for("baseline", candidate.task)
    margin, key = baseline_requirement(settings)
    required = f"{margin:+.3f} required ({key})"
    results = []
    for name, base in baselines.items():
        check_id = f"quality.baseline[{name}]"
        problem = check_metric_name(metric, settings, candidate.task)
        if problem is not None:
            results.append(
                CheckResult(
                    check_id, LAYER, Status.ERROR, f"quality.baseline_metric: {problem}", reason=Reason.INVALID_CONFIG
                )
            )
            continue
        diff, cand_value, base_value = _compare(metric, y, candidate, base, settings)
        where = (
            f"{metric}: candidate {fmt(cand_value)} vs {name} baseline {fmt(base_value)} (same training split, "
            f"{rows.described}): improvement {diff.describe(signed=True)}"
        )
        if not np.isfinite(diff.estimate):
            results.append(
                CheckResult(
                    check_id, LAYER, Status.ERROR, f"{where}: undefined, cannot judge", reason=Reason.UNDEFINED_METRIC
                )
            )
            continue
        status = judge(diff.estimate, diff.low, diff.high, at_least=margin)
        is_confirmed = confirmed(diff.low, diff.high, at_least=margin)
        results.append(
            CheckResult(
                check_id,
                LAYER,
                status,
                _baseline_message(where, name, status, required, len(y), is_confirmed=is_confirmed),
                observed=diff.estimate,
                expected=margin,
                interval=diff.interval,
                details={
                    "metric": metric,
                    "candidate": cand_value,
                    "baseline": base_value,
                    "baseline_threshold": base.threshold,
                    "rows": len(y),
                    "rows_used": rows.described,
                    "difference": diff.to_dict(),
                    **rule_details(status, is_confirmed=is_confirmed, confidence=diff.confidence),
                },
                reason=None if status is Status.PASS else Reason.WORSE_THAN_BASELINE,
            )
        )
    return results


def score_champion(
    champion: ChampionRecord, features: pd.DataFrame, *, default_threshold: float, like: Scored | None = None
) -> Scored:
    """The champion's scores on ``features`` (for the task of ``like``, the candidate); threshold from its
    ``mlgate.threshold`` tag, else the default."""
    if champion.model is None:
        raise ValueError("its model was not loaded from the registry")
    if like is not None and like.task != "binary":
        scores = model_scores(champion.model, features, like.task)
        if scores.shape[1:] != like.proba.shape[1:]:
            raise ValueError(
                f"it scores {scores.shape[1:] or 'one value'} per row, the candidate {like.proba.shape[1:]}"
            )
        return like.like("champion", scores, like.threshold, like.threshold_source)
    proba = positive_proba(champion.model, features)
    tag = champion.tags.get(Tag.THRESHOLD)
    try:
        if tag is not None:
            return Scored("champion", proba, float(tag), f"champion tag '{Tag.THRESHOLD}'")
    except (TypeError, ValueError):
        pass
    return Scored("champion", proba, default_threshold, "the candidate's threshold (champion has no tag)")


def detectable(
    diff: Bootstrap, metric: str, settings: QualitySettings, *, margin: float | None = None
) -> tuple[dict[str, Any], str]:
    """The minimum detectable effect of this comparison (details, message clause); ``margin`` defaults to
    ``quality.champion_margin``."""
    margin = settings.champion_margin if margin is None else margin
    worse = "drop" if greater_is_better(metric) else "rise"
    if not np.isfinite(diff.se) or diff.se == 0.0:
        return (
            {"effect": None, "power": POWER, "se": diff.se, "margin": margin},
            "the two models score these rows alike in every resample (no spread to size a detectable effect from)",
        )
    effect = detectable_effect(diff.se, margin=margin, confidence=diff.confidence, power=POWER)
    return (
        {"effect": effect, "power": POWER, "se": diff.se, "margin": margin},
        f"this comparison detects a {worse} of {effect:.3f} {metric} with {POWER:.0%} power "
        f"(margin {margin:.3f} + standard error {diff.se:.3f} x {(effect - margin) / diff.se:.2f})",
    )


def _champion_message(where: str, status: Status, margin: float, n: int, *, is_confirmed: bool, mde: str) -> str:
    required = f"{0.0 - margin:+.3f} required (quality.champion_margin)"
    if status is Status.PASS:
        return f"{where}; at least {required}, {verdict_note(status, is_confirmed=is_confirmed, n=n)}; {mde}"
    if status is Status.WARN:
        return (
            f"{where}: worse than the champion by more than the margin ({required}) on the estimate only, the "
            f"interval reaches it: inconclusive with {n} rows, not blocking ({RULE}); {mde}"
        )
    return (
        f"{where}: the candidate is credibly worse than the champion by more than the margin (whole interval below "
        f"{0.0 - margin:+.3f}, quality.champion_margin); keep the champion and find what changed; {mde}"
    )


def check_champion(rows: HeldOut, champion: ChampionRecord | None, *, settings: QualitySettings) -> CheckResult:
    """``quality.champion``: non-inferiority of the candidate against the champion (paired bootstrap) on ``rows``
    (:func:`quality_common.held_out_rows`): FAIL when the whole interval of (candidate − champion) is below
    ``-champion_margin``, WARN when only the estimate is; the message states the minimum detectable effect."""
    metric = settings.metric_for("champion", rows.candidate.task)
    check_id, margin = "quality.champion", settings.champion_margin
    if champion is None:
        return CheckResult(check_id, LAYER, Status.PASS, "no champion yet: nothing to compare")
    label = f"champion {champion.name} v{champion.version}"
    problem = check_metric_name(metric, settings, rows.candidate.task)
    if problem is not None:
        return CheckResult(
            check_id, LAYER, Status.ERROR, f"quality.champion_metric: {problem}", reason=Reason.INVALID_CONFIG
        )
    candidate, n = rows.candidate, len(rows.y)
    try:
        champ = score_champion(champion, rows.features, default_threshold=candidate.threshold, like=candidate)
    except Exception as exc:  # a champion that cannot score the rows cannot vouch for or against
        return CheckResult(
            check_id,
            LAYER,
            Status.ERROR,
            f"{label} could not score the {len(rows.features)} held-out rows ({type(exc).__name__}: {exc}): cannot "
            "compare; check that the champion was trained on the same features",
            reason=Reason.CHAMPION_UNUSABLE,
        )
    y = np.asarray(rows.y, dtype=np.float64)
    diff, cand_value, champ_value = _compare(metric, y, candidate, champ, settings)
    where = (
        f"{metric} on {rows.described}: candidate {fmt(cand_value)} vs {label} {fmt(champ_value)}, difference "
        f"{diff.describe(signed=True)} ({diff.resamples} paired resamples, seed {settings.random_state})"
    )
    details = {
        "metric": metric,
        "candidate": cand_value,
        "champion": champ_value,
        "champion_version": champion.version,
        "champion_threshold": champ.threshold,
        "champion_threshold_source": champ.threshold_source,
        "rows": n,
        "rows_used": rows.described,
    }

    def message(status: Status, is_confirmed: bool, mde: str) -> str:
        return _champion_message(where, status, margin, n, is_confirmed=is_confirmed, mde=mde)

    return champion_verdict(
        check_id, where, diff, metric=metric, margin=margin, settings=settings, message=message, details=details
    )


def champion_verdict(
    check_id: str,
    where: str,
    diff: Bootstrap,
    *,
    metric: str,
    margin: float,
    settings: QualitySettings,
    message: Callable[[Status, bool, str], str],
    details: dict[str, Any],
) -> CheckResult:
    """The non-inferiority verdict on a paired ``diff`` (candidate − champion) against ``-margin``: ERROR when it is
    undefined, else :func:`judge`'s rule; ``message(status, confirmed, detectable-effect clause)`` words it."""
    if not np.isfinite(diff.high):
        return CheckResult(
            check_id, LAYER, Status.ERROR, f"{where}: undefined, cannot judge", reason=Reason.UNDEFINED_METRIC
        )
    status = judge(diff.estimate, diff.low, diff.high, at_least=-margin)
    is_confirmed = confirmed(diff.low, diff.high, at_least=-margin)
    mde, mde_text = detectable(diff, metric, settings, margin=margin)
    return CheckResult(
        check_id,
        LAYER,
        status,
        message(status, is_confirmed, mde_text),
        observed=diff.estimate,
        expected=-margin,
        interval=diff.interval,
        details={
            **details,
            "difference": diff.to_dict(),
            "minimum_detectable_effect": mde,
            **rule_details(status, is_confirmed=is_confirmed, confidence=diff.confidence),
        },
        reason=None if status is Status.PASS else Reason.WORSE_THAN_CHAMPION,
    )
