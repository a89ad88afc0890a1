"""The ``[monitor]`` section: the serving app's prediction log and the ``mlgate monitor`` gates on served traffic.

``[monitor.log]`` (:class:`PredictionLogSettings`) is read by the serving app (where and how predictions are
recorded); the other keys of ``[monitor]`` (:class:`MonitorSettings`) by ``mlgate monitor``. Both are optional:
a project without the section logs to SQLite files beside the config and monitors with the defaults.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, Field, model_validator

from mlgate.pipeline.config_rules import Columns, OpenUnit, Probability, Seed, Text
from mlgate.pipeline.config_sections import _Strict

__all__ = ["LOG_DIR_ENV", "LOG_URL_ENV", "MonitorSettings", "PredictionLogSettings"]


#: The environment overrides of ``[monitor.log]`` ``url`` and ``dir`` (the serving image has no config file).
LOG_URL_ENV, LOG_DIR_ENV = "MLGATE_PREDICTION_LOG_URL", "MLGATE_PREDICTION_LOG_DIR"


def _log_url(value: str | None) -> str | None:
    if value is not None and "://" not in value:
        raise ValueError("must be an SQLAlchemy URL such as postgresql+psycopg://host/db; a folder is 'dir'")
    return value


class PredictionLogSettings(_Strict):
    """``[monitor.log]``: where the serving app records predictions and feedback (``pipeline.predlog``).

    ``url`` (an SQLAlchemy URL: one database for every replica, PostgreSQL for a team) wins over ``dir`` (a
    folder where each replica writes its own SQLite file). ``MLGATE_PREDICTION_LOG_URL`` and
    ``MLGATE_PREDICTION_LOG_DIR`` override both, in that order. The tuning keys travel to the serving image in
    the release bundle (``release.json`` ``prediction_log``); the location never does (a URL may hold a password).
    """

    enabled: bool = Field(True, description="Record every prediction, rejection and feedback label.")
    url: Annotated[Text | None, AfterValidator(_log_url)] = Field(None, description="One database for all replicas.")
    dir: Text = Field("predictions", description="Folder of per-replica SQLite files (relative: to the config).")
    queue_size: Annotated[int, Field(ge=1, le=10_000_000)] = 10_000
    batch_size: Annotated[int, Field(ge=1, le=100_000)] = 256
    flush_interval_s: Annotated[float, Field(gt=0.0, le=60.0)] = 0.5

    @model_validator(mode="after")
    def _batch_fits(self) -> PredictionLogSettings:
        if self.batch_size > self.queue_size:
            raise ValueError(f"batch_size {self.batch_size} is larger than queue_size {self.queue_size}")
        return self

    def location(self, root: Path) -> str:
        """The log's location: a URL, or an absolute folder (relative ones resolved against ``root``, the config
        folder; a relative ``sqlite:///`` URL too), after the environment overrides."""
        url = os.environ.get(LOG_URL_ENV) or None
        folder = os.environ.get(LOG_DIR_ENV) or None
        if url is None and folder is None:
            url, folder = self.url, self.dir
        if url is not None:
            prefix = "sqlite:///"
            if url.startswith(prefix) and not url.startswith(prefix + "/"):
                return prefix + str(root / Path(url[len(prefix) :]).expanduser())
            return url
        path = Path(folder or self.dir).expanduser()
        return str(path if path.is_absolute() else root / path)

    def bundle_fields(self) -> dict[str, Any]:
        """What the release bundle carries to the serving app (``release.json`` ``prediction_log``)."""
        return self.model_dump(include={"enabled", "queue_size", "batch_size", "flush_interval_s"})


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
    history: Text = Field(
        ".mlgate/monitor/history.jsonl", description="Every run's verdict is appended here (relative: config)."
    )

    def history_path(self, root: Path) -> Path:
        path = Path(self.history).expanduser()
        return path if path.is_absolute() else root / path

    @property
    def alpha_window(self) -> float:
        """The false-alarm budget of one window: ``alarm_budget_per_day / runs_per_day``."""
        return self.alarm_budget_per_day / self.runs_per_day
