"""Quality per class of a multi-class candidate: ``quality.class_metric[<class>][<metric>]``.

``quality.class_thresholds`` bounds each class's ``recall`` (the share of its rows decided as it), ``precision``
(the share of the rows decided as it that are it) or ``f1``, keyed by class label or ``"*"`` (every class; a
label's own entry wins metric by metric). A model that never decides a class has recall 0 there, with a tight
interval: it fails. The k classes are judged with simultaneous intervals (Bonferroni, as the slices), each value
with its seeded bootstrap interval and the gate's rule (:data:`checks.quality_common.RULE`). A class with no test
row (recall), or no decision for it (precision), cannot be judged: SKIPPED.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from mlgate.checks.bootstrap import Bootstrap, seeded_counts, summarise_draws
from mlgate.checks.quality_common import LAYER, Scored, bound_result
from mlgate.checks.result import CheckResult, Reason, Status
from mlgate.checks.stats import simultaneous_confidence, tail_resamples
from mlgate.pipeline.config import MetricBound, QualitySettings
from mlgate.pipeline.task_metrics import decide_classes, per_class

__all__ = ["check_classes", "class_bounds"]


def class_bounds(settings: QualitySettings, label: str) -> dict[str, MetricBound]:
    """The bounds of one class: the ``"*"`` entry, then the class's own, metric by metric."""
    bounds = dict(settings.class_thresholds.get("*", {}))
    bounds.update(settings.class_thresholds.get(label, {}))
    return bounds


def check_classes(
    y: np.ndarray, candidate: Scored, classes: Sequence[Any], *, settings: QualitySettings
) -> list[CheckResult]:
    """Every bound of ``quality.class_thresholds`` on every class, on the test rows ``y`` (class codes)."""
    if candidate.task != "multiclass" or not settings.class_thresholds:
        return []
    y = np.asarray(y, dtype=np.int64)
    k = len(classes)
    decided = decide_classes(candidate.proba, candidate.costs)
    confidence = simultaneous_confidence(settings.bootstrap_confidence, k)
    resamples = max(settings.bootstrap_resamples, tail_resamples(confidence))
    counts = np.vstack([np.ones((1, len(y))), seeded_counts(len(y), resamples, settings.random_state)])
    results = []
    for name in ("recall", "precision", "f1"):
        bounds = {str(label): class_bounds(settings, str(label)).get(name) for label in classes}
        if not any(bounds.values()):
            continue
        values = per_class(name, y, decided, counts, k)  # (1 + B, k)
        for code, label in enumerate(classes):
            bound = bounds[str(label)]
            if bound is None:
                continue
            check_id = f"quality.class_metric[{label}][{name}]"
            if not np.isfinite(values[0, code]):
                why = "no test row of this class" if name == "recall" else "the model decides no test row as it"
                results.append(
                    CheckResult(
                        check_id,
                        LAYER,
                        Status.SKIPPED,
                        f"class '{label}': {name} undefined ({why})",
                        reason=Reason.TOO_SMALL,
                    )
                )
                continue
            boot: Bootstrap = summarise_draws(float(values[0, code]), values[1:, code], confidence)
            rows = int((y == code).sum())
            results.append(
                bound_result(
                    check_id,
                    boot,
                    bound,
                    where=f"class '{label}': {name} of the candidate is {boot.describe()} ({rows} of {len(y)} test "
                    f"rows are this class; the interval holds jointly for the {k} classes)",
                    key=f"quality.class_thresholds.{label if label in settings.class_thresholds else '*'}.{name}",
                    advice="the model serves this class worse than required; look at its rows and the class costs",
                    n=len(y),
                    slice=f"class={label}",
                    family=k,
                    details={"metric": name, "class": str(label), "rows": rows, "bootstrap": boot.to_dict()},
                )
            )
    return results
