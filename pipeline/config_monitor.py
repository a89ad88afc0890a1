"""The ``[monitor]`` section: the serving app's prediction log and the ``mlgate monitor`` gates on served traffic.

``[monitor.log]`` (:class:`PredictionLogSettings`) is read by the serving app (where and how predictions are
recorded); the other keys of ``[monitor]`` (:class:`MonitorSettings`) by ``mlgate monitor``. Both are optional:
a project without the section logs to SQLite files beside the config and monitors with the defaults.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from mlgate.pipeline.config_rules import Columns, OpenUnit, Probability, Seed
from mlgate.pipeline.config_sections import _Strict

__all__ = ["MonitorSettings", "PredictionLogSettings"]


class PredictionLogSettings(_Strict):
    """``[monitor.log]``: where the serving app records predictions and feedback."""


class MonitorSettings(_Strict):
    """``[monitor]``: the gates ``mlgate monitor`` runs on a window of the prediction log.

    False alarms across windows (docs/CONFIG.md ``[monitor]``): a monitor that runs ``runs_per_day`` times a day
    judges each window at ``alarm_budget_per_day / runs_per_day``, split equally (Bonferroni) over the window's
    statistical families (input drift, prediction drift, each sensitive attribute, live quality, estimated
    quality); within a family the tests are corrected as the gated run corrects them (Holm over the features by
    default, simultaneous intervals over groups and metrics). By the union bound, a model whose traffic does not
    change raises a false alarm on at most ``alarm_budget_per_day`` of days.
    """

    log: PredictionLogSettings = PredictionLogSettings()
    alarm_budget_per_day: OpenUnit = Field(0.05, description="P(any false statistical alarm in one day).")
    runs_per_day: Annotated[int, Field(ge=1, le=1440)] = Field(24, description="How often the monitor runs a day.")
    min_predictions: Annotated[int, Field(ge=1)] = Field(30, description="Fewer predictions: drift not judged.")
    min_feedback: Annotated[int, Field(ge=1)] = Field(100, description="Fewer labelled ones: live quality not judged.")
    metrics: Columns | None = Field(None, description="Live metrics; default: quality.thresholds + expected_cost.")
    live_margin: Annotated[float, Field(ge=0.0)] = Field(0.02, description="Non-inferiority margin of a metric.")
    live_cost_margin: Annotated[float, Field(ge=0.0)] = Field(0.05, description="... of the expected cost per row.")
    max_rejected_share: Probability = Field(0.05, description="Share of rejected requests that fails.")
    latency_p50_ms: Annotated[float, Field(gt=0.0)] | None = None
    latency_p99_ms: Annotated[float, Field(gt=0.0)] | None = None
    calibration_alpha: OpenUnit = Field(0.05, description="Calibration test level before estimating quality.")
    bootstrap_max_rows: Annotated[int, Field(ge=100, le=1_000_000)] = 5000
    random_state: Seed = 0

    @property
    def alpha_window(self) -> float:
        """The false-alarm budget of one window: ``alarm_budget_per_day / runs_per_day``."""
        return self.alarm_budget_per_day / self.runs_per_day
