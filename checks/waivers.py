"""Waivers: a named, owned, expiring exception that turns a known FAIL into WAIVED, visibly.

A waiver in the config (``[[waivers]]``) names:

* ``check`` — a check id, exact (``quality.slice_metric[purpose=car][roc_auc]``) or a pattern where ``*``
  matches any run of characters (``quality.slice_metric[purpose=*][roc_auc]``). Only ``*`` is special:
  brackets and dots are literal, so ids can be copied from a report as they are.
* ``slice`` (optional) — the result's ``slice`` must equal it (``*`` allowed too), e.g. ``sex=female``.
* ``reason``, ``owner``, ``expires`` (a date; the waiver holds through that day).

What :func:`apply_waivers` does with each waiver:

* active, matching FAIL results — each becomes WAIVED; its message is kept (prefixed "waived: ...") and
  ``details["waiver"] = {"owner", "reason", "expires"}``. ERROR results are never waived: a check that could
  not run has not shown what is being excused.
* expired (``expires`` < today) — the failures it matches stay FAIL, and a FAIL result ``waiver[<check>]``
  names the waiver, its owner and expiry; an expired waiver that matches no failure adds a WARN (remove it).
* matching no result at all — a WARN result ``waiver[<check>]`` (a typo or a check that no longer exists).
* matching only results that did not fail — a WARN: the waiver is no longer needed.

Waiver results go to the layer of the checks the waiver matched; when it matched nothing, to the layer its
``check`` starts with (``quality.`` -> quality), else the first layer of the run.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import date

from mlgate.checks.result import ALL_LAYERS, LAYERS, CheckResult, Reason, Status
from mlgate.pipeline.config import Waiver

__all__ = ["apply_waivers", "matches", "waiver_id"]


def _pattern(text: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if part == "*" else re.escape(part) for part in re.split(r"(\*)", text)) + r"\Z")


def matches(waiver: Waiver, result: CheckResult) -> bool:
    """Whether ``waiver`` names ``result``: id (``*`` wildcard) and, when the waiver has one, slice."""
    if not _pattern(waiver.check).match(result.id):
        return False
    return waiver.slice is None or (result.slice is not None and bool(_pattern(waiver.slice).match(result.slice)))


def waiver_id(waiver: Waiver) -> str:
    """``waiver[<check>]``, or ``waiver[<check>][<slice>]`` for a slice-specific waiver."""
    return f"waiver[{waiver.check}]" + (f"[{waiver.slice}]" if waiver.slice else "")


def _describe(waiver: Waiver) -> str:
    where = f"waiver for '{waiver.check}'" + (f" (slice {waiver.slice})" if waiver.slice else "")
    return f"{where}, owner {waiver.owner}, reason: {waiver.reason}"


def _layer(waiver: Waiver, matched: Sequence[CheckResult], results: Sequence[CheckResult]) -> str:
    if matched:
        return matched[0].layer
    prefix = waiver.check.split(".", 1)[0]
    if prefix in ALL_LAYERS:
        return prefix
    return results[0].layer if results else LAYERS[0]


def _info(waiver: Waiver) -> dict[str, str]:
    return {"owner": waiver.owner, "reason": waiver.reason, "expires": waiver.expires.isoformat()}


def apply_waivers(results: list[CheckResult], waivers: list[Waiver], *, today: date) -> list[CheckResult]:
    """``results`` with waived failures marked WAIVED, plus one result per expired, unneeded or unmatched waiver.

    The input list is not changed; the order of ``results`` is kept and waiver results are appended.
    """
    out = list(results)
    extra: list[CheckResult] = []
    for waiver in waivers:
        matched = [r for r in results if matches(waiver, r)]
        failing = [i for i, r in enumerate(out) if r.status is Status.FAIL and matches(waiver, r)]
        expired = waiver.expires < today
        layer, wid, info = _layer(waiver, matched, results), waiver_id(waiver), _info(waiver)
        if not matched:
            extra.append(
                CheckResult(
                    wid,
                    layer,
                    Status.WARN,
                    f"{_describe(waiver)}: matches no check of this run; fix the check id or remove the waiver",
                    details={"waiver": info},
                    reason=Reason.WAIVER_UNMATCHED,
                )
            )
        elif expired and failing:
            names = ", ".join(out[i].id for i in failing)
            extra.append(
                CheckResult(
                    wid,
                    layer,
                    Status.FAIL,
                    f"{_describe(waiver)}: expired on {waiver.expires.isoformat()} (today {today.isoformat()}), so "
                    f"{len(failing)} failure(s) stand: {names}; fix them or renew the waiver with a new date",
                    observed=today.isoformat(),
                    expected=f"expires >= {today.isoformat()}",
                    details={"waiver": info, "failures": [out[i].id for i in failing]},
                    reason=Reason.WAIVER_EXPIRED,
                )
            )
        elif expired or not failing:
            why = f"expired on {waiver.expires.isoformat()}" if expired else "is no longer needed"
            extra.append(
                CheckResult(
                    wid,
                    layer,
                    Status.WARN,
                    f"{_describe(waiver)}: {why}; the {len(matched)} check(s) it names did not fail; remove it",
                    details={"waiver": info, "matched": [r.id for r in matched]},
                    reason=Reason.WAIVER_EXPIRED if expired else Reason.WAIVER_UNNEEDED,
                )
            )
        else:
            for i in failing:
                original = out[i]
                message = (
                    f"waived until {waiver.expires.isoformat()} by {waiver.owner} ({waiver.reason}): {original.message}"
                )
                out[i] = replace(
                    original,
                    status=Status.WAIVED,
                    message=message,
                    details={**original.details, "waiver": info, "original_status": original.status.value},
                )
    return out + extra
