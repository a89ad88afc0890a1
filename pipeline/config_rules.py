"""Range and consistency rules of the project config, used by the models in :mod:`pipeline.config`.

A value that parses but makes a gate meaningless (a NaN bound that nothing fails, a margin no candidate can
exceed, a minimum above its maximum, a metric that is not a number) is refused when the config is loaded,
with the key named, rather than discovered (or not) halfway through a run. Rules that span several values
raise :func:`refuse`, which carries the offending key so ``load_config`` reports ``key 'quality.champion_margin'``
and not the section it was checked in. Light on purpose: no scikit-learn, no pandas.
"""

from __future__ import annotations

import codecs
import math
from collections.abc import Mapping
from itertools import pairwise
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError

from mlgate.pipeline.metric_names import metric_problem, metric_range

__all__ = [
    "Columns",
    "Delimiter",
    "Encoding",
    "Label",
    "OpenUnit",
    "Probability",
    "Seed",
    "Text",
    "Threshold",
    "WaiverPattern",
    "band_labels",
    "check_bands",
    "check_features",
    "check_finite",
    "check_project",
    "check_quality",
    "error_lines",
    "refuse",
]

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
OpenUnit = Annotated[float, Field(gt=0.0, lt=1.0)]
#: Seeds as scikit-learn and NumPy accept them.
Seed = Annotated[int, Field(ge=0, le=2**32 - 1)]


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _no_duplicates(values: list[str]) -> list[str]:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"lists '{value}' twice")
        seen.add(value)
    return values


def _one_character(value: str) -> str:
    # pandas' C parser takes exactly one character; a line break or the quote character cannot separate fields
    if len(value) != 1 or value in '\r\n"':
        raise ValueError("must be exactly one character other than a line break or '\"', e.g. ',', ';' or '\\t'")
    return value


def _text_encoding(value: str) -> str:
    examples = "use a text encoding such as 'utf-8', 'latin-1' or 'cp1252'"
    try:
        codecs.lookup(value)
    except LookupError as exc:
        raise ValueError(f"unknown encoding; {examples}") from exc
    try:  # bytes-to-bytes codecs ('hex', 'zlib') and 'undefined' cannot read a CSV
        "\n".encode(value).decode(value)
    except (LookupError, UnicodeError) as exc:
        raise ValueError(f"not a text encoding; {examples}") from exc
    return value


def _scalar_label(value: Any) -> Any:
    # one message instead of one per member of the union
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if not isinstance(value, str | int | bool) or value == "":
        raise ValueError("must be a non-empty string, an integer or a boolean: the positive class's label")
    return value


def _threshold(value: Any) -> Any:
    if value == "optimize":
        return value
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
        raise ValueError('must be a probability strictly between 0 and 1, or "optimize"')
    return value


def _not_everything(value: str) -> str:
    if not value.replace("*", "").strip():
        raise ValueError("matches every check; name one, or a narrower pattern such as 'quality.slice_metric[*]'")
    return value


#: A non-empty string (a column, a name, a path).
Text = Annotated[str, AfterValidator(_not_blank)]
#: A list of column names, each non-empty and none twice.
Columns = Annotated[list[Text], AfterValidator(_no_duplicates)]
#: One character, as pandas' C parser needs.
Delimiter = Annotated[str, AfterValidator(_one_character)]
#: A text encoding Python knows (``codecs.lookup``).
Encoding = Annotated[str, AfterValidator(_text_encoding)]
#: A label value: a non-empty string, an integer or a boolean.
Label = Annotated[str | int | bool, BeforeValidator(_scalar_label)]
#: A decision threshold: a probability strictly inside (0, 1), or "optimize".
Threshold = Annotated[OpenUnit | Literal["optimize"], BeforeValidator(_threshold)]
#: A waiver's check id or pattern, which must not match everything.
WaiverPattern = Annotated[str, AfterValidator(_not_blank), AfterValidator(_not_everything)]


def refuse(key: str, message: str) -> PydanticCustomError:
    """A validation error at ``key`` (dotted, relative to the model being validated) with ``message`` as is."""
    return PydanticCustomError("mlgate_rule", "{message}", {"key": key, "message": message})


def check_finite(values: Any, key: str) -> None:
    """Refuse NaN and ±inf anywhere in free-form values (estimator parameters, search candidates)."""
    if isinstance(values, float) and not math.isfinite(values):
        raise refuse(key, f"must be a finite number (got {values})")
    if isinstance(values, Mapping):
        for name, value in values.items():
            check_finite(value, f"{key}.{name}")
    elif isinstance(values, list | tuple):
        for index, value in enumerate(values):
            check_finite(value, f"{key}[{index}]")


def check_metric(name: str, key: str, *, has_costs: bool) -> None:
    """Refuse a metric mlgate cannot compute as one number for any task, and ``expected_cost`` without costs."""
    problem = metric_problem(name)
    if problem is not None:
        raise refuse(key, problem)
    if name == "expected_cost" and not has_costs:
        raise refuse(key, "expected_cost needs quality.cost_matrix (or class_costs, prediction_cost)")


def _shown(value: float) -> str:
    return f"{value:g}"


def check_bound(name: str, low: float | None, high: float | None, key: str) -> None:
    """A bound ``min``/``max`` on metric ``name``: inside the metric's range, and ``min`` not above ``max``."""
    lowest, highest = metric_range(name)
    for side, value in (("min", low), ("max", high)):
        if value is not None and not lowest <= value <= highest:
            raise refuse(
                f"{key}.{side}",
                f"{side} = {_shown(value)} is outside the range of {name} [{_shown(lowest)}, {_shown(highest)}]: "
                "the bound would never or always pass",
            )
    if low is not None and high is not None and low > high:
        raise refuse(key, f"min = {_shown(low)} is above max = {_shown(high)}: no value can pass")


def check_margin(value: float, name: str, key: str) -> None:
    """A margin or gap on metric ``name``: at least 0, and below the width of the metric's range.

    A negative margin turns a "must not be worse by more than" check into "must be better by", and a margin as
    wide as the metric's range (1 for ROC AUC) is one no difference can exceed: the check could never fail.
    """
    lowest, highest = metric_range(name)
    width = highest - lowest
    if value < 0:
        raise refuse(key, f"must be at least 0 (got {_shown(value)})")
    if value >= width:
        raise refuse(
            key,
            f"must be below {_shown(width)}, the width of {name}'s range [{_shown(lowest)}, {_shown(highest)}] "
            f"(got {_shown(value)}): the check could never fail",
        )


def band_labels(bins: list[float], labels: list[str] | None) -> list[str]:
    """Names of the bands of a binned attribute: ``labels``, or ``[lo, hi)`` from the edges."""
    if labels is not None:
        return list(labels)
    edges = [int(b) if float(b).is_integer() else b for b in bins]
    return [f"[{lo}, {hi})" for lo, hi in pairwise(edges)]


def check_bands(column: str, bins: list[float], labels: list[str] | None, reference: Mapping[str, float]) -> None:
    """Bins strictly increasing (finite but for an open first or last edge), one label per band, and every
    ``reference`` key the name of a band."""
    for index, edge in enumerate(bins):
        open_end = (index == 0 and edge == -math.inf) or (index == len(bins) - 1 and edge == math.inf)
        if not math.isfinite(edge) and not open_end:
            raise refuse(
                f"bins[{index}]", f"must be a finite number (got {edge}); only the first edge may be -inf, the last inf"
            )
    if len(bins) < 2 or any(lo >= hi for lo, hi in pairwise(bins)):
        raise refuse("bins", f"`bins` of '{column}' must be at least two strictly increasing edges")
    if labels is not None and len(labels) != len(bins) - 1:
        raise ValueError(f"'{column}' has {len(bins) - 1} bins but {len(labels)} labels")
    bands = band_labels(bins, labels)
    stray = [key for key in reference if key not in bands]
    if stray:
        raise refuse(f"reference.{stray[0]}", f"'{stray[0]}' is not a band of '{column}' (bands: {', '.join(bands)})")


def check_features(features: Any) -> None:
    """``features.*`` of one :class:`pipeline.config.FeatureSettings`: not empty, each feature of one kind."""
    if features.include == []:
        raise refuse("include", "features.include is empty: list the feature columns, or leave it out")
    both = [name for name in features.numeric or [] if name in (features.categorical or [])]
    if both:
        raise refuse("numeric", f"'{both[0]}' is also in features.categorical: a feature is one or the other")
    for key in ("categorical", "numeric"):
        for name in getattr(features, key) or []:
            if features.include is not None and name not in features.include:
                raise refuse(key, f"'{name}' is not in features.include")
            if name in features.exclude:
                raise refuse(key, f"'{name}' is excluded by features.exclude")


def check_quality(quality: Any) -> None:
    """Metric names, bounds, gaps and margins of one :class:`pipeline.config.QualitySettings`."""
    costs = quality.has_costs
    bounds = [(f"thresholds.{name}", name, bound) for name, bound in quality.thresholds.items()]
    for group, group_bounds in quality.slice_thresholds.items():
        bounds += [(f"slice_thresholds.{group}.{name}", name, bound) for name, bound in group_bounds.items()]
    for key, name, bound in bounds:
        check_metric(name, key, has_costs=costs)
        check_bound(name, bound.min, bound.max, key)
    for name, gap in quality.max_group_gap.items():
        check_metric(name, f"max_group_gap.{name}", has_costs=costs)
        check_margin(gap, name, f"max_group_gap.{name}")
    for key in ("baseline", "champion"):
        metric = getattr(quality, f"{key}_metric") or "roc_auc"  # unset: the task's default, in range [0, 1] or wider
        check_metric(metric, f"{key}_metric", has_costs=costs)
        check_margin(getattr(quality, f"{key}_margin"), metric, f"{key}_margin")
    check_margin(quality.baseline_tolerance, quality.baseline_metric or "roc_auc", "baseline_tolerance")
    if quality.champion_recipe_margin is not None:
        check_margin(quality.champion_recipe_margin, quality.champion_metric or "roc_auc", "champion_recipe_margin")
    if quality.baseline_tolerance > 0 and quality.baseline_margin > 0:
        raise refuse(
            "baseline_tolerance",
            f"give quality.baseline_margin (the candidate must beat each baseline by "
            f"{_shown(quality.baseline_margin)}) or baseline_tolerance (it may trail each by "
            f"{_shown(quality.baseline_tolerance)}), not both",
        )
    if quality.max_expected_cost is not None and not costs:
        raise refuse("max_expected_cost", "needs quality.cost_matrix (or class_costs, prediction_cost)")
    margin = quality.baseline_cost_margin
    if margin < 0:
        raise refuse("baseline_cost_margin", f"must be at least 0 (got {margin:g})")
    for group, group_bounds in quality.class_thresholds.items():
        for name, bound in group_bounds.items():
            if name not in ("recall", "precision", "f1"):
                raise refuse(
                    f"class_thresholds.{group}.{name}", f"'{name}' is not a per-class metric (recall, precision, f1)"
                )
            check_bound(name, bound.min, bound.max, f"class_thresholds.{group}.{name}")
    if quality.class_costs is not None:
        check_class_costs(quality.class_costs)
    if quality.cost_matrix is not None:
        prices = quality.cost_matrix.model_dump().values()
        spread = max(prices) - min(prices)
        if margin > 0 and margin >= spread:
            raise refuse(
                "baseline_cost_margin",
                f"must be below {spread:g}, the spread of quality.cost_matrix (got {margin:g}): no two policies "
                "differ by that much per row, so the check could never fail",
            )


def check_class_costs(costs: Mapping[str, Mapping[str, float]]) -> None:
    """``quality.class_costs``: a square table over the same labels, every number finite, and no error on a row
    cheaper than the right decision on it (the gate would reward mistakes)."""
    labels = list(costs)
    if len(labels) < 3:
        raise refuse("class_costs", f"names {len(labels)} classes; a multi-class target has at least 3")
    for truth, row in costs.items():
        stray = [label for label in row if label not in labels]
        if stray:
            raise refuse(f"class_costs.{truth}.{stray[0]}", f"'{stray[0]}' is not a row of quality.class_costs")
        missing = [label for label in labels if label != truth and label not in row]
        if missing:
            raise refuse(f"class_costs.{truth}", f"has no cost for deciding '{missing[0]}' (give every other class)")
        right = row.get(truth, 0.0)
        for decided, cost in row.items():
            if not math.isfinite(cost):
                raise refuse(f"class_costs.{truth}.{decided}", f"must be a finite number (got {cost})")
            if decided != truth and cost < right:
                raise refuse(
                    f"class_costs.{truth}.{decided}",
                    f"{cost:g} is below the right decision's cost {right:g}: an error may not cost less",
                )


def check_project(config: Any) -> None:
    """Rules across sections of a :class:`pipeline.config.ProjectConfig` (the target has one role only, ...)."""
    target, features = config.data.target, config.features
    roles = {
        "features.include": features.include or [],
        "features.exclude": features.exclude,
        "features.categorical": features.categorical or [],
        "features.numeric": features.numeric or [],
        "slices.columns": config.slices.columns,
        "drift.columns": config.drift.columns or [],
    }
    for key, columns in roles.items():
        if target in columns:
            raise refuse(f"{key}[{columns.index(target)}]", f"'{target}' is the target (data.target), not one of {key}")
    for index, attribute in enumerate(config.balance.sensitive):
        if attribute.column == target:
            raise refuse(
                f"balance.sensitive[{index}].column",
                f"'{target}' is the target (data.target); it cannot also be a sensitive attribute",
            )
    event = config.data.event_time_column
    if config.split.by == "time" and event is None:
        raise refuse("data.event_time_column", 'is required by split.by = "time" (the column that orders the rows)')
    if event == target:
        raise refuse("data.event_time_column", f"'{target}' is the target (data.target)")
    if config.data.engine == "spark" and config.split.method == "shuffle":
        raise refuse(
            "split.method", '"shuffle" needs every row in one process; data.engine = "spark" splits by "row_key"'
        )
    if config.split.by == "time" and config.quality.champion_recipe == "cross_fitted":
        raise refuse(
            "quality.champion_recipe",
            '"cross_fitted" refits on folds of every row, training on the future under split.by = "time"; use "auto"',
        )
    for key in ("features.include", "features.categorical", "features.numeric"):
        if event is not None and event in roles[key]:
            raise refuse(f"{key}[{roles[key].index(event)}]", f"'{event}' is data.event_time_column, never a feature")
    quality = config.quality
    if quality.decision_threshold == "optimize":
        if quality.cost_matrix is None:
            raise refuse("quality.decision_threshold", '"optimize" needs quality.cost_matrix (the costs to minimise)')
        if config.split.validation_size == 0:
            raise refuse(
                "quality.decision_threshold",
                '"optimize" needs split.validation_size > 0 (the threshold is never chosen on the test split)',
            )
    implied = "binary" if config.data.positive_label is not None else None  # (positive_label may be 0 or false)
    task = config.model.task if config.model.task != "auto" else implied
    if task is not None:  # stated, or implied by data.positive_label: checked now; else once the data tells it
        from mlgate.pipeline.config_task import task_problems

        for key, reason in task_problems(config, task)[:1]:
            raise refuse(key, reason)


def _location(loc: tuple[Any, ...], extra: str = "") -> str:
    key = ""
    for item in loc:
        key += f"[{item}]" if isinstance(item, int) else (f".{item}" if key else str(item))
    if extra:
        key = f"{key}.{extra}" if key and not extra.startswith("[") else f"{key}{extra}"
    return key or "(top level)"


def error_lines(exc: Any) -> list[str]:
    """One line per error of a pydantic ``ValidationError``, each naming the full key."""
    lines = []
    for err in exc.errors():
        key = _location(err["loc"], (err.get("ctx") or {}).get("key", "") if err["type"] == "mlgate_rule" else "")
        if err["type"] == "extra_forbidden":
            lines.append(f"unknown key '{key}'")
        elif err["type"] == "missing":
            lines.append(f"missing required key '{key}'")
        else:
            got = err.get("input")
            shown = "" if err["type"] == "mlgate_rule" or isinstance(got, dict | list) else f" (got {got!r})"
            lines.append(f"key '{key}': {err['msg'].removeprefix('Value error, ')}{shown}")
    return lines
