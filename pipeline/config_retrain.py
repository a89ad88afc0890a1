"""The ``[retrain]`` section: when ``mlgate retrain`` / ``mlgate watch`` retrain, and what a passing candidate does.

A trigger (``new-data``, ``drift``, ``quality``, ``stale``, ``schedule``) re-runs the whole gated pipeline; a
candidate that passes every blocking gate is released (``mlgate release``) and rolled out to a running deployment
(``mlgate deploy update``, or a canary first). Every evaluation, fired or not, is one line of the append-only
journal (``journal``), which the dashboard reads; ``mlgate monitor`` appends each verdict to ``[monitor] history``,
which the ``drift`` and ``quality`` triggers read. Light on purpose: pydantic only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator

from mlgate.pipeline.config_rules import Text
from mlgate.pipeline.config_sections import _Strict

__all__ = ["TRIGGERS", "RetrainSettings", "Trigger"]

Trigger = Literal["new-data", "drift", "quality", "stale", "schedule"]
#: Every trigger, in the order they are evaluated and printed.
TRIGGERS: tuple[Trigger, ...] = ("new-data", "drift", "quality", "stale", "schedule")
DEFAULT_TRIGGERS: tuple[Trigger, ...] = ("new-data", "drift", "quality", "stale")


class RetrainSettings(_Strict):
    """``[retrain]``: the triggers ``mlgate retrain`` evaluates by default and what follows a passing candidate."""

    triggers: list[Trigger] = Field(
        default_factory=lambda: list(DEFAULT_TRIGGERS),
        description="The triggers evaluated when --when is not given.",
    )
    min_interval_hours: Annotated[float, Field(gt=0.0, le=24 * 366)] = Field(
        24.0 * 7, description="schedule: retrain when the last retrain is older than this."
    )
    monitor_max_age_hours: Annotated[float, Field(gt=0.0, le=24 * 366)] = Field(
        24.0, description="drift/quality: ignore a monitor verdict older than this."
    )
    journal: Text = Field(".mlgate/retrain/journal.jsonl", description="The append-only journal (relative: config).")
    out: Text = Field("reports/retrain", description="Each retrain's reports go to OUT/<journal id>/.")
    include_feedback: bool = Field(False, description="Train on served rows with ground truth too.")
    release: bool = Field(True, description="Release (image, parity, champion) a candidate that passed.")
    rollout: Literal["none", "update", "canary"] = Field(
        "update", description="What a released champion does to a running deployment (none: nothing)."
    )
    canary_min_predictions: Annotated[int, Field(ge=1)] = Field(
        200, description="canary: predictions the canary must serve before its monitor window is judged."
    )
    canary_timeout_s: Annotated[float, Field(gt=0.0, le=86_400)] = Field(
        600.0, description="canary: give up (abort the canary) when that many were not served by then."
    )

    @field_validator("triggers")
    @classmethod
    def _unique(cls, value: list[Trigger]) -> list[Trigger]:
        if len(set(value)) != len(value):
            raise ValueError("names a trigger twice")
        return value

    def journal_path(self, root: Path) -> Path:
        path = Path(self.journal).expanduser()
        return path if path.is_absolute() else root / path

    def out_path(self, root: Path) -> Path:
        path = Path(self.out).expanduser()
        return path if path.is_absolute() else root / path
