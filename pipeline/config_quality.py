"""The ``[quality]`` section: metric bounds, the business cost, baselines and the champion comparison.

Split out of :mod:`pipeline.config_sections` (re-exported by :mod:`pipeline.config` like every section).
"""

from __future__ import annotations

from itertools import pairwise
from typing import Annotated, Literal

from pydantic import Field, model_validator

from mlgate.pipeline.config_rules import OpenUnit, Seed, Threshold, check_quality, refuse
from mlgate.pipeline.config_sections import _Strict

__all__ = ["CLASS_METRICS", "CostMatrix", "MetricBound", "PredictionCost", "QualitySettings"]

#: The per-class metrics of ``quality.class_thresholds`` (multi-class).
CLASS_METRICS = ("recall", "precision", "f1")


class MetricBound(_Strict):
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _one(self) -> MetricBound:
        if self.min is None and self.max is None:
            raise ValueError("a metric bound needs `min` or `max`")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min = {self.min:g} is above max = {self.max:g}: no value can pass")
        return self


class CostMatrix(_Strict):
    """Cost of each kind of error; positive = the positive label was predicted."""

    false_positive: float = 1.0
    false_negative: float = 1.0
    true_positive: float = 0.0
    true_negative: float = 0.0

    @model_validator(mode="after")
    def _errors_cost_more(self) -> CostMatrix:
        # an error cheaper than the right decision on the same row would make the cost gate reward mistakes
        for error, right in (("false_positive", "true_negative"), ("false_negative", "true_positive")):
            if getattr(self, error) < getattr(self, right):
                raise refuse(
                    error,
                    f"{getattr(self, error):g} is below {right} = {getattr(self, right):g}: "
                    "an error may not cost less than the right decision on the same row",
                )
        return self


class PredictionCost(_Strict):
    """Regression: what a prediction error costs, per row. Either linear on each side (``under`` per unit the
    prediction falls short of the truth, ``over`` per unit it exceeds it), or piecewise linear through ``points``
    ``[error, cost]`` (error = prediction - truth, increasing), extended beyond the outer points along the outer
    segments."""

    under: Annotated[float, Field(ge=0)] | None = None
    over: Annotated[float, Field(ge=0)] | None = None
    points: list[tuple[float, Annotated[float, Field(ge=0)]]] | None = None

    @model_validator(mode="after")
    def _one_form(self) -> PredictionCost:
        linear = self.under is not None or self.over is not None
        if linear and self.points is not None:
            raise refuse("points", "give `under` and `over`, or `points`, not both")
        if not linear and self.points is None:
            raise refuse("under", "give `under` and `over` (cost per unit of error on each side), or `points`")
        if linear and (self.under is None or self.over is None):
            missing = "over" if self.over is None else "under"
            raise refuse(missing, "is required with the other side: give both `under` and `over`")
        if self.points is not None:
            errors = [error for error, _ in self.points]
            if len(errors) < 2:
                raise refuse("points", "needs at least two [error, cost] points")
            if any(b <= a for a, b in pairwise(errors)):
                raise refuse("points", "the errors (first of each pair) must increase strictly")
        return self


class QualitySettings(_Strict):
    thresholds: dict[str, MetricBound] = Field(default_factory=dict)
    slice_thresholds: dict[str, dict[str, MetricBound]] = Field(default_factory=dict)
    max_group_gap: dict[str, float] = Field(default_factory=dict)
    class_thresholds: dict[str, dict[str, MetricBound]] = Field(
        default_factory=dict,
        description='Multi-class: per-class recall/precision/f1 bounds, by class label or "*" for every class.',
    )
    cost_matrix: CostMatrix | None = None
    class_costs: dict[str, dict[str, float]] | None = Field(
        None, description="Multi-class: cost of deciding class <column> when the truth is class <row>."
    )
    prediction_cost: PredictionCost | None = Field(None, description="Regression: the cost of a prediction error.")
    max_expected_cost: float | None = None
    decision_threshold: Threshold = 0.5
    baseline_margin: float = 0.0
    baseline_tolerance: float = Field(
        0.0, description="How much worse than a baseline on baseline_metric the candidate may be (not with a margin)."
    )
    baseline_cost_margin: float = Field(
        0.0, description="How much more expected cost per row than a baseline's the candidate may have."
    )
    baseline_metric: str | None = Field(None, description="Default per task: roc_auc, log_loss, mean_squared_error.")
    champion_metric: str | None = Field(None, description="Default per task, as baseline_metric.")
    champion_margin: float = 0.02
    champion_recipe: Literal["auto", "cross_fitted", "off"] = Field(
        "auto",
        description="quality.champion_recipe: refit both models' recipes on folds of every labelled row and compare "
        "them (auto: when the split is random and the rows are at most champion_recipe_max_rows).",
    )
    champion_recipe_margin: float | None = Field(
        None, description="How much worse the candidate's recipe may be (default: champion_margin)."
    )
    champion_recipe_folds: Annotated[int, Field(ge=2, le=20)] = 5
    champion_recipe_max_rows: Annotated[int, Field(ge=100)] = 50_000
    bootstrap_resamples: Annotated[int, Field(ge=100, le=100_000)] = 1000
    bootstrap_confidence: OpenUnit = 0.95
    random_state: Seed = 0

    @model_validator(mode="after")
    def _meaningful(self) -> QualitySettings:
        check_quality(self)
        return self

    @property
    def has_costs(self) -> bool:
        """Whether a cost of decisions is configured (whichever task's form)."""
        return self.cost_matrix is not None or self.class_costs is not None or self.prediction_cost is not None

    def metric_for(self, which: Literal["baseline", "champion"], task: str) -> str:
        """``baseline_metric`` / ``champion_metric``, or the task's default when the config names none."""
        from mlgate.pipeline.metric_names import default_metric

        named: str | None = getattr(self, f"{which}_metric")
        return named if named is not None else default_metric(task)
