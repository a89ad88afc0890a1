"""The ``[monitor]`` section: the serving app's prediction log and the ``mlgate monitor`` gates on served traffic.

``[monitor.log]`` (:class:`PredictionLogSettings`) is read by the serving app (where and how predictions are
recorded); the other keys of ``[monitor]`` (:class:`MonitorSettings`) by ``mlgate monitor``. Both are optional:
a project without the section logs to SQLite files beside the config and monitors with the defaults.
"""

from __future__ import annotations

from mlgate.pipeline.config_sections import _Strict

__all__ = ["MonitorSettings", "PredictionLogSettings"]


class PredictionLogSettings(_Strict):
    """``[monitor.log]``: where the serving app records predictions and feedback."""


class MonitorSettings(_Strict):
    """``[monitor]``: the gates ``mlgate monitor`` runs on a window of the prediction log."""

    log: PredictionLogSettings = PredictionLogSettings()
