"""The ``[quality]`` section: metric bounds, the business cost, baselines and the champion comparison.

Split out of :mod:`pipeline.config_sections` (re-exported by :mod:`pipeline.config` like every section).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from mlgate.pipeline.config_rules import OpenUnit, Seed, Threshold, check_quality, refuse
from mlgate.pipeline.config_sections import _Strict

__all__ = ["CostMatrix", "MetricBound", "QualitySettings"]


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


class QualitySettings(_Strict):
    thresholds: dict[str, MetricBound] = Field(default_factory=dict)
    slice_thresholds: dict[str, dict[str, MetricBound]] = Field(default_factory=dict)
    max_group_gap: dict[str, float] = Field(default_factory=dict)
    cost_matrix: CostMatrix | None = None
    max_expected_cost: float | None = None
    decision_threshold: Threshold = 0.5
    baseline_margin: float = 0.0
    baseline_tolerance: float = Field(
        0.0, description="How much worse than a baseline on baseline_metric the candidate may be (not with a margin)."
    )
    baseline_cost_margin: float = Field(
        0.0, description="How much more expected cost per row than a baseline's the candidate may have."
    )
    baseline_metric: str = "roc_auc"
    champion_metric: str = "roc_auc"
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
