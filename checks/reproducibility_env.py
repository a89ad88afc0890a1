"""Reproducibility checks of where the model's settings and environment came from (the ML Test Score rubric).

Checks (ids):

- ``reproducibility.search``: whether the served hyperparameters came from the seeded search
  (``[model.search]``) and what it found (best parameters, cross-validated score, scoring, settings sampled,
  folds, seed). PASS when a search ran; FAIL when ``model.require_search`` is true and none ran (the parameters
  were fixed in ``model.params``); SKIPPED (``not_configured``) when none ran and none is required, the
  message still saying the parameters are the configured ones.
- ``reproducibility.dependencies``: the candidate's environment against the champion's: the uv.lock sha256
  (run tag ``mlgate.lock_sha256``) and the installed packages (the champion run's ``environment/environment.txt``,
  carried in ``Evidence.champion_packages``). PASS when identical; WARN (non-blocking, ``dependencies_changed``)
  naming every changed package (``numpy 2.1.0 -> 2.2.0``), added and removed one and the lock hashes, so a
  version bump is never silent; SKIPPED without a champion or when the champion recorded neither.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from mlgate.checks.evidence import Evidence
from mlgate.checks.result import CheckResult, Reason, Status
from mlgate.pipeline.tags import Tag

__all__ = ["check_dependencies", "check_search", "package_versions"]

LAYER = "reproducibility"
#: Changed packages named in a message at most (all are in the result's details).
SHOWN = 12


def check_search(evidence: Evidence) -> CheckResult:
    """``reproducibility.search``: did the served parameters come from the seeded search, and is one required?"""
    check_id = f"{LAYER}.search"
    settings = evidence.config.model
    if evidence.model is None:
        why = "no candidate model in this run (data gates only): no parameters to trace"
        return CheckResult(check_id, LAYER, Status.SKIPPED, why, reason=Reason.NO_CANDIDATE)
    search: Mapping[str, Any] = evidence.model.trained.search
    if search:
        best = ", ".join(f"{k}={v!r}" for k, v in search.get("best_params", {}).items())
        message = (
            f"the served parameters came from the seeded search: best {best} with cross-validated "
            f"{search.get('scoring')} {float(search.get('best_score', float('nan'))):.4f} ({search.get('n_iter')} "
            f"settings sampled, {settings.search.cv} folds, seed model.random_state = {settings.random_state})"
        )
        details = {"search": dict(search), "cv": settings.search.cv, "random_state": settings.random_state}
        return CheckResult(check_id, LAYER, Status.PASS, message, observed=True, details=details)
    why = "model.search.enabled = false" if not settings.search.enabled else "model.search.param_distributions is empty"
    fixed = ", ".join(f"{k}={v!r}" for k, v in settings.params.items()) or "the estimator's defaults"
    details = {"params": dict(settings.params), "why": why}
    if settings.require_search:
        return CheckResult(
            check_id,
            LAYER,
            Status.FAIL,
            f"model.require_search = true but no seeded search ran ({why}): the served parameters ({fixed}) "
            "were fixed by hand; enable [model.search] with param_distributions, or drop the requirement",
            observed=False,
            expected=True,
            details=details,
            reason=Reason.NO_SEARCH,
        )
    return CheckResult(
        check_id,
        LAYER,
        Status.SKIPPED,
        f"no search ran ({why}) and none is required (model.require_search = false): the served parameters are "
        f"the configured ones ({fixed})",
        observed=False,
        details=details,
        reason=Reason.NOT_CONFIGURED,
    )


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()  # PEP 503: Foo_Bar and foo-bar are one distribution


def package_versions(lines: Iterable[str]) -> dict[str, str]:
    """``name==version`` lines (``environment.txt``, :class:`pipeline.records.EnvironmentMeta`) as name -> version."""
    found = {}
    for line in lines:
        name, sep, version = line.strip().partition("==")
        if sep and name:
            found[_normal(name)] = version.strip()
    return found


def _changes(old: Mapping[str, str], new: Mapping[str, str]) -> tuple[list[str], list[str], list[str]]:
    changed = [f"{n} {old[n]} -> {new[n]}" for n in sorted(set(old) & set(new)) if old[n] != new[n]]
    added = [f"{n} {new[n]}" for n in sorted(set(new) - set(old))]
    removed = [f"{n} {old[n]}" for n in sorted(set(old) - set(new))]
    return changed, added, removed


def _listed(items: list[str]) -> str:
    return ", ".join(items[:SHOWN]) + (f" (+{len(items) - SHOWN} more)" if len(items) > SHOWN else "")


def check_dependencies(evidence: Evidence) -> CheckResult:
    """``reproducibility.dependencies``: the candidate's uv.lock sha256 and packages against the champion's."""
    check_id = f"{LAYER}.dependencies"
    champion = evidence.champion
    if champion is None:
        why = "no champion yet: nothing to compare the environment with"
        return CheckResult(check_id, LAYER, Status.SKIPPED, why, reason=Reason.NO_CHAMPION)
    environment = None if evidence.run is None else evidence.run.environment
    new_lock = None if environment is None else environment.lock_sha256
    old_lock = champion.tags.get(Tag.LOCK_SHA256)
    old_lock = None if old_lock in (None, "", "unknown") else old_lock
    old_packages = evidence.champion_packages
    if old_lock is None and old_packages is None:
        why = f"champion version {champion.version} recorded neither a uv.lock sha256 nor its packages"
        return CheckResult(check_id, LAYER, Status.SKIPPED, why, reason=Reason.PROVENANCE_MISSING)
    new = package_versions(environment.packages if environment is not None else ())
    changed, added, removed = _changes(package_versions(old_packages or ()), new) if old_packages else ([], [], [])
    lock_changed = old_lock is not None and new_lock != old_lock
    details = {
        "champion_version": champion.version,
        "lock_sha256": {"champion": old_lock, "candidate": new_lock},
        "changed": changed,
        "added": added,
        "removed": removed,
        "packages_compared": old_packages is not None,
    }
    observed = {"lock_sha256": new_lock, "changed": len(changed), "added": len(added), "removed": len(removed)}
    if not (lock_changed or changed or added or removed):
        scope = f"{len(new)} packages" if old_packages is not None else "packages not recorded by the champion"
        lock = f"uv.lock sha256 {new_lock[:12]}" if new_lock and old_lock else "uv.lock not recorded by the champion"
        message = f"same environment as champion version {champion.version}: {lock}, {scope}"
        return CheckResult(check_id, LAYER, Status.PASS, message, observed=observed, details=details)
    parts = [f"changed: {_listed(changed)}"] if changed else []
    parts += [f"added: {_listed(added)}"] if added else []
    parts += [f"removed: {_listed(removed)}"] if removed else []
    if lock_changed:
        parts.append(f"uv.lock sha256 {str(old_lock)[:12]} -> {str(new_lock)[:12] if new_lock else 'none'}")
    return CheckResult(
        check_id,
        LAYER,
        Status.WARN,
        f"the environment changed since champion version {champion.version}: {'; '.join(parts)}. Review the "
        "changes (a version bump can move predictions; the retrain and quality checks judge the effect)",
        observed=observed,
        expected={"lock_sha256": old_lock},
        blocking=False,
        details=details,
        reason=Reason.DEPENDENCIES_CHANGED,
    )
