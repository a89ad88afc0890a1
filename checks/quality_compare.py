"""Comparisons on the same test rows: simpler baselines (must lose) and the champion (must not credibly win).

* Baselines — a majority-class model (class prior) and a default logistic regression — are fitted by the gated
  run (:func:`pipeline.candidate.train_baselines`) on the SAME training split and features, with the same
  ``model.random_state``, and their decision thresholds chosen the same way as the candidate's; this module only
  judges their test probabilities, carried in ``Evidence.baselines``.
  ``quality.baseline[<name>]`` passes when the candidate's improvement on ``quality.baseline_metric`` (point
  estimate) is at least ``quality.baseline_margin``; the paired-bootstrap interval is reported.
* ``quality.champion`` fails only when the paired-bootstrap interval of (candidate − champion) on
  ``quality.champion_metric`` lies entirely below ``-quality.champion_margin``. The champion decides with the
  threshold recorded in its ``threshold`` tag, or the candidate's when it has none (threshold-free metrics such
  as ROC AUC are unaffected).

Every difference is oriented so that positive means the candidate is better (for losses: lower).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from mlgate.checks.bootstrap import Bootstrap
from mlgate.checks.quality_common import LAYER, Scored, check_metric_name, fmt, paired_interval, point_value
from mlgate.checks.result import CheckResult, Reason, Status
from mlgate.pipeline.config import QualitySettings
from mlgate.pipeline.evaluate import positive_proba
from mlgate.pipeline.records import BaselineOutput, ChampionRecord
from mlgate.pipeline.tags import Tag

__all__ = ["check_baselines", "check_champion", "score_champion", "scored_baselines"]


def scored_baselines(outputs: Mapping[str, BaselineOutput]) -> tuple[dict[str, Scored], list[CheckResult]]:
    """The baselines the gated run trained (:func:`pipeline.candidate.train_baselines`), as scores to compare.

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
        scored[name] = Scored(name, output.proba_test, output.threshold, str(output.threshold_source))
    return scored, errors


def _compare(
    metric: str, y: np.ndarray, candidate: Scored, other: Scored, settings: QualitySettings
) -> tuple[Bootstrap, float, float]:
    """The paired improvement of ``candidate`` over ``other`` on ``metric``, and each one's value on all rows."""
    diff = paired_interval(metric, y, candidate, other, settings)
    return diff, point_value(metric, y, candidate, settings), point_value(metric, y, other, settings)


def check_baselines(
    y: np.ndarray, candidate: Scored, baselines: Mapping[str, Scored], *, settings: QualitySettings
) -> list[CheckResult]:
    """``quality.baseline[<name>]``: the candidate beats each baseline by ``baseline_margin`` (point estimate)."""
    y = np.asarray(y, dtype=np.float64)
    metric, margin = settings.baseline_metric, settings.baseline_margin
    results = []
    for name, base in baselines.items():
        check_id = f"quality.baseline[{name}]"
        problem = check_metric_name(metric, settings)
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
            f"same {len(y)} test rows): improvement {diff.describe(signed=True)}"
        )
        if not np.isfinite(diff.estimate):
            results.append(
                CheckResult(
                    check_id, LAYER, Status.ERROR, f"{where}: undefined, cannot judge", reason=Reason.UNDEFINED_METRIC
                )
            )
            continue
        ok = diff.estimate >= margin
        if ok:
            message = f"{where}; at least {margin:+.3f} required (quality.baseline_margin)"
        else:
            message = (
                f"{where}, less than the {margin:+.3f} required (quality.baseline_margin): the simpler {name} "
                "model does as well; ship the simpler model or improve the candidate"
            )
        results.append(
            CheckResult(
                check_id,
                LAYER,
                Status.PASS if ok else Status.FAIL,
                message,
                observed=diff.estimate,
                expected=margin,
                interval=diff.interval,
                details={
                    "metric": metric,
                    "candidate": cand_value,
                    "baseline": base_value,
                    "baseline_threshold": base.threshold,
                    "difference": diff.to_dict(),
                    "judged_on": "estimate",
                },
                reason=None if ok else Reason.WORSE_THAN_BASELINE,
            )
        )
    return results


def score_champion(champion: ChampionRecord, features: pd.DataFrame, *, default_threshold: float) -> Scored:
    """The champion's probabilities on ``features``; threshold from its ``mlgate.threshold`` tag, else the default."""
    if champion.model is None:
        raise ValueError("its model was not loaded from the registry")
    proba = positive_proba(champion.model, features)
    tag = champion.tags.get(Tag.THRESHOLD)
    try:
        if tag is not None:
            return Scored("champion", proba, float(tag), f"champion tag '{Tag.THRESHOLD}'")
    except (TypeError, ValueError):
        pass
    return Scored("champion", proba, default_threshold, "the candidate's threshold (champion has no tag)")


def check_champion(
    y: np.ndarray,
    candidate: Scored,
    champion: ChampionRecord | None,
    features: pd.DataFrame,
    *,
    settings: QualitySettings,
) -> CheckResult:
    """``quality.champion``: non-inferiority of the candidate against the champion (paired bootstrap)."""
    check_id, metric, margin = "quality.champion", settings.champion_metric, settings.champion_margin
    if champion is None:
        return CheckResult(check_id, LAYER, Status.PASS, "no champion yet: nothing to compare")
    label = f"champion {champion.name} v{champion.version}"
    problem = check_metric_name(metric, settings)
    if problem is not None:
        return CheckResult(
            check_id, LAYER, Status.ERROR, f"quality.champion_metric: {problem}", reason=Reason.INVALID_CONFIG
        )
    try:
        champ = score_champion(champion, features, default_threshold=candidate.threshold)
    except Exception as exc:  # a champion that cannot score the test rows cannot vouch for or against
        return CheckResult(
            check_id,
            LAYER,
            Status.ERROR,
            f"{label} could not score the {len(features)} test rows ({type(exc).__name__}: {exc}): cannot compare; "
            "check that the champion was trained on the same features",
            reason=Reason.CHAMPION_UNUSABLE,
        )
    y = np.asarray(y, dtype=np.float64)
    diff, cand_value, champ_value = _compare(metric, y, candidate, champ, settings)
    where = (
        f"{metric} on the same {len(y)} test rows: candidate {fmt(cand_value)} vs {label} {fmt(champ_value)}, "
        f"difference {diff.describe(signed=True)} ({diff.resamples} paired resamples, seed {settings.random_state})"
    )
    if not np.isfinite(diff.high):
        return CheckResult(
            check_id, LAYER, Status.ERROR, f"{where}: undefined, cannot judge", reason=Reason.UNDEFINED_METRIC
        )
    ok = diff.high >= -margin
    if ok:
        message = f"{where}; fails only when the whole interval is below {-margin:+.3f} (quality.champion_margin)"
    else:
        message = (
            f"{where}: the candidate is credibly worse than the champion by more than the margin "
            f"(whole interval below {-margin:+.3f}, quality.champion_margin); keep the champion and find what changed"
        )
    return CheckResult(
        check_id,
        LAYER,
        Status.PASS if ok else Status.FAIL,
        message,
        observed=diff.estimate,
        expected=-margin,
        interval=diff.interval,
        details={
            "metric": metric,
            "candidate": cand_value,
            "champion": champ_value,
            "champion_version": champion.version,
            "champion_threshold": champ.threshold,
            "champion_threshold_source": champ.threshold_source,
            "difference": diff.to_dict(),
            "judged_on": "upper end of the paired interval",
        },
        reason=None if ok else Reason.WORSE_THAN_CHAMPION,
    )
