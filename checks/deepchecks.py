"""The deepchecks layer: deepchecks' own suites, judged by their conditions, as mlgate check results.

deepchecks runs in its own environment (:mod:`ci.deepchecks_env`; nothing of it is imported here): the gated run
hands this layer the runner's ``result.json`` (``Evidence.deepchecks``) and :func:`results_from` maps it. Each
check with a condition becomes one result, id ``deepchecks.<suite>.<Check>`` (``[train]`` / ``[test]`` for the
checks deepchecks runs on each frame), the conditions' text as ``expected`` and their details as the message:

* the worst condition category decides: FAIL -> FAIL (WARN when the check is in ``deepchecks.advisory``), WARN ->
  WARN, PASS -> PASS, ERROR -> ERROR; an unmet condition's reason is ``check_failed``;
* a check that raised is an ERROR with deepchecks' message (``check_error``; not blocking when advisory); one
  deepchecks refuses because the job lacks what it needs (no index or datetime column, no model object, another
  task) is SKIPPED (``not_configured``), one with fewer rows than its own minimum SKIPPED (``too_small``); a check
  without a condition is not a verdict and is left to deepchecks' HTML report;
* a suite deepchecks could not start is one ERROR ``deepchecks.<suite>``; a skipped suite one SKIPPED;
* a runner that did not finish (``deepchecks.timeout_s``, a crash) is one ERROR ``deepchecks.run``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mlgate.checks.evidence import Evidence
from mlgate.checks.result import CheckResult, Reason, Status
from mlgate.pipeline.config import DeepchecksSettings

__all__ = ["LAYER", "results_from", "run"]

LAYER = "deepchecks"
_STATUS = {"PASS": Status.PASS, "WARN": Status.WARN, "FAIL": Status.FAIL, "ERROR": Status.ERROR}
_ORDER = (Status.PASS, Status.WARN, Status.FAIL, Status.ERROR)


def _advisory(settings: DeepchecksSettings, suite: str, check: str) -> bool:
    return check in settings.advisory or f"{suite}.{check}" in settings.advisory


def _check_id(suite: str, entry: Mapping[str, Any]) -> str:
    dataset = entry.get("dataset")
    return f"{LAYER}.{suite}.{entry['check']}" + (f"[{dataset}]" if dataset else "")


def _verdict(suite: str, entry: Mapping[str, Any], settings: DeepchecksSettings) -> CheckResult | None:
    check_id, check = _check_id(suite, entry), str(entry["check"])
    header = str(entry.get("header") or check)
    if entry.get("error"):
        if entry.get("not_applicable"):
            too_few = str(entry["error"]).startswith("NotEnoughSamplesError")
            return CheckResult(
                check_id,
                LAYER,
                Status.SKIPPED,
                f"{header}: {'too few rows' if too_few else 'not applicable'} here ({entry['error']})",
                reason=Reason.TOO_SMALL if too_few else Reason.NOT_CONFIGURED,
            )
        advisory = _advisory(settings, suite, check)
        return CheckResult(
            check_id,
            LAYER,
            Status.ERROR,
            f"{header}: deepchecks could not run it ({entry['error']})" + (" (advisory: does not block)" * advisory),
            blocking=settings.blocking and not advisory,
            reason=Reason.CHECK_ERROR,
        )
    conditions: Sequence[Mapping[str, Any]] = entry.get("conditions") or []
    if not conditions:
        return None
    statuses = [_STATUS.get(str(c.get("category")), Status.ERROR) for c in conditions]
    status = max(statuses, key=_ORDER.index)
    advisory = _advisory(settings, suite, check)
    if status is Status.FAIL and advisory:
        status = Status.WARN
    expected = "; ".join(str(c.get("name")) for c in conditions)
    unmet = [c for c, s in zip(conditions, statuses, strict=True) if s is not Status.PASS]
    told = "; ".join(f"{c.get('name')}: {c.get('details')}" for c in (unmet or conditions))
    note = " (advisory: deepchecks.advisory)" if advisory and unmet else ""
    return CheckResult(
        check_id,
        LAYER,
        status,
        f"{header}: {told}{note}",
        observed=[str(c.get("category")) for c in conditions],
        expected=expected,
        blocking=settings.blocking and not advisory,
        details={"suite": suite, "check": check, "dataset": entry.get("dataset"), "conditions": list(conditions)},
        reason=Reason.CHECK_FAILED if unmet else None,
    )


def _suite_result(suite: str, status: Status, message: str, reason: Reason, blocking: bool = True) -> CheckResult:
    """The one result of a suite (or of the whole run: ``run``) that produced no check results."""
    return CheckResult(f"{LAYER}.{suite}", LAYER, status, message, reason=reason, blocking=blocking)


def results_from(result: Mapping[str, Any], settings: DeepchecksSettings) -> list[CheckResult]:
    """The runner's result (``result.json``) as check results, suite by suite in the configured order."""
    if result.get("error"):  # the runner did not finish (timed out, crashed): nothing was judged
        message = f"deepchecks did not run: {result['error']}"
        return [_suite_result("run", Status.ERROR, message, Reason.CHECK_ERROR, settings.blocking)]
    out: list[CheckResult] = []
    suites: Mapping[str, Any] = result.get("suites") or {}
    for suite in settings.suites:
        part = suites.get(suite)
        if part is None or part.get("error"):
            why = f"could not run the {suite} suite: {part['error']}" if part else f"returned no {suite} suite"
            out.append(_suite_result(suite, Status.ERROR, f"deepchecks {why}", Reason.CHECK_ERROR, settings.blocking))
            continue
        if part.get("skipped"):
            out.append(_suite_result(suite, Status.SKIPPED, f"{suite}: {part['skipped']}", Reason.NOT_CONFIGURED))
            continue
        out += [r for entry in part.get("checks") or [] if (r := _verdict(suite, entry, settings)) is not None]
    return out


def run(evidence: Evidence) -> list[CheckResult]:
    """The deepchecks layer on what the gated run handed it (``Evidence.deepchecks``: the runner's result)."""
    settings = evidence.config.deepchecks
    if evidence.deepchecks is None:
        why = "deepchecks.enabled = false" if not settings.enabled else "the run produced no deepchecks result"
        return [
            CheckResult(
                f"{LAYER}.skipped",
                LAYER,
                Status.SKIPPED,
                f"the deepchecks layer did not run ({why})",
                reason=Reason.NOT_CONFIGURED,
            )
        ]
    return results_from(evidence.deepchecks, settings)
