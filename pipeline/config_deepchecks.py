"""The ``[deepchecks]`` section: deepchecks' suites as one more gate layer, run in deepchecks' own environment.

Off by default (``enabled = false``): the layer costs an isolated environment (``mlgate deepchecks setup``) and
about 4 s of deepchecks' import per run. Light: pydantic only.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from mlgate.pipeline.config_rules import Columns, refuse
from mlgate.pipeline.config_sections import _Strict

__all__ = ["SUITES", "DeepchecksSettings"]

Suite = Literal["data_integrity", "train_test_validation", "model_evaluation"]
SUITES: tuple[str, ...] = ("data_integrity", "train_test_validation", "model_evaluation")


def _every_suite() -> list[Suite]:
    return ["data_integrity", "train_test_validation", "model_evaluation"]


class DeepchecksSettings(_Strict):
    enabled: bool = Field(False, description="Run the deepchecks layer (needs `mlgate deepchecks setup` once).")
    suites: list[Suite] = Field(default_factory=_every_suite, description="The suites to run.")
    checks: dict[Suite, Columns] = Field(
        default_factory=dict, description="Per suite, the deepchecks check class names to keep (default: all)."
    )
    advisory: Columns = Field(
        default_factory=list,
        description='Checks whose unmet condition only warns: "CheckName" or "suite.CheckName".',
    )
    blocking: bool = Field(True, description="Whether a failed deepchecks condition blocks the release.")
    timeout_s: Annotated[float, Field(gt=0, le=86_400)] = Field(900.0, description="Limit for the deepchecks run.")

    @model_validator(mode="after")
    def _known(self) -> DeepchecksSettings:
        if not self.suites:
            raise refuse("suites", "is empty: list some of " + ", ".join(SUITES) + ", or set enabled = false")
        for suite in self.checks:
            if suite not in self.suites:
                raise refuse(f"checks.{suite}", f"'{suite}' is not in deepchecks.suites ({', '.join(self.suites)})")
        return self
