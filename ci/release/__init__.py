"""The serving image and its road to production: bundle, build, push, pull, smoke, parity, deploy, roll out.

See ci/release/e2e.py for the whole sequence and /work/shared/notes/container-image.md for the host quirks.
"""

from __future__ import annotations

from mlgate.ci.release.bundle import make_bundle
from mlgate.ci.release.deploy import (
    DeployState,
    abort_canary,
    canary,
    deploy,
    promote_canary,
    reconcile,
    rollback,
    rolling_update,
    teardown,
)
from mlgate.ci.release.errors import ParityError, ReleaseError, ReleaseRefused, RolloutFailed
from mlgate.ci.release.publish import ReleaseResult, check_release_inputs, release

__all__ = [
    "DeployState",
    "ParityError",
    "ReleaseError",
    "ReleaseRefused",
    "ReleaseResult",
    "RolloutFailed",
    "abort_canary",
    "canary",
    "check_release_inputs",
    "deploy",
    "make_bundle",
    "promote_canary",
    "reconcile",
    "release",
    "rollback",
    "rolling_update",
    "teardown",
]
