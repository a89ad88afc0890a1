"""Errors of the release tooling.

Hierarchy::

    MlgateError (pipeline.errors)
    └── ReleaseError        building, pushing, running or deploying the serving image failed   (exit 1)
        ├── ReleaseRefused  the gate report did not pass or does not match the bundle          (exit 1)
        ├── ParityError     the served probabilities differ from the offline ones              (exit 1)
        └── RolloutFailed   a new replica never became ready; serving was rolled back          (exit 1)
"""

from __future__ import annotations

from mlgate.pipeline.errors import MlgateError

__all__ = ["ParityError", "ReleaseError", "ReleaseRefused", "RolloutFailed"]


class ReleaseError(MlgateError):
    """The image could not be built, pushed, pulled, run or deployed."""

    exit_code = 1


class ReleaseRefused(ReleaseError):
    """The release was refused before anything was built: the gates did not pass or the report is not this one."""


class ParityError(ReleaseError):
    """The image's probabilities on the golden set differ from the offline probabilities."""


class RolloutFailed(ReleaseError):
    """A rolling update or canary could not bring a new replica to ready; serving was returned to the old set."""
