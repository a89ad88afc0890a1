"""``schema.duplicate_rows``: how many labelled rows repeat an earlier row, and whether they were dropped.

A duplicate is a labelled row equal to an earlier one over every column preparation keeps (target, features,
slice and sensitive columns, event time; missing equals missing): the rows ``data.drop_duplicates = true``
would drop. Distinct people can share every recorded attribute, so dropping is a choice the config makes
(default: keep), never a silent side effect; either way this check reports the share, against
``data.duplicates_warn_share`` (WARN above it) and ``data.duplicates_fail_share`` (FAIL above it; none: never).
The bounds apply to the share *found*, kept or dropped: a source that is one third copies is worth a look
either way. ``details.examples`` shows a few groups of equal rows by data row (1-based, header not counted)
with their values as read.

:func:`judge_duplicates` judges and words the counts alone, so the Spark engine (:mod:`checks.spark_integrity`)
gives the same verdict and message from its own counts; it has no data row numbers (a distributed file has no
row order), so it passes ``examples=None`` and the message says the rows are not listed instead of naming them.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import pandas as pd

from mlgate.checks.result import CheckResult, Reason, Status
from mlgate.pipeline.config import DataSettings
from mlgate.pipeline.prepare import Prepared, PrepareReport

if TYPE_CHECKING:
    from mlgate.checks.evidence import Evidence

__all__ = ["CHECK_ID", "NO_ROW_NUMBERS", "check_duplicates", "judge_duplicates", "run"]

CHECK_ID = "schema.duplicate_rows"
_LAYER = "schema"
_SHOWN_VALUES = 12  # columns of an example row shown in details (all of them are compared)
#: What the message says instead of the equal rows when the engine has no data row numbers (Spark).
NO_ROW_NUMBERS = "not listed (the Spark engine has no data row numbers)"


def _plain(value: Any) -> Any:
    """A JSON-friendly cell: numpy scalars as Python numbers, missing as None."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA or value is pd.NaT:
        return None
    item = getattr(value, "item", None)
    value = item() if callable(item) else value
    return value if isinstance(value, int | float | str | bool) else str(value)


def _examples(prepared: Prepared) -> list[dict[str, Any]]:
    """The report's example groups, each with the values of its first row as read (kept columns only)."""
    source = prepared.source
    columns = [c for c in prepared.frame.columns if source is not None and c in source.columns][:_SHOWN_VALUES]
    examples: list[dict[str, Any]] = []
    for rows in prepared.report.duplicate_examples:
        example: dict[str, Any] = {"rows": list(rows)}
        if source is not None and columns and 0 < rows[0] <= len(source):
            first = source.iloc[rows[0] - 1]
            example["values"] = {str(c): _plain(first[c]) for c in columns}
        examples.append(example)
    return examples


def _pct(share: float) -> str:
    return f"{share:.1%}" if share >= 0.001 or share == 0 else f"{share:.2%}"


def _rows_text(examples: list[dict[str, Any]]) -> str:
    groups = [" = ".join(str(r) for r in example["rows"]) for example in examples[:3]]
    return ", ".join(groups)


def check_duplicates(prepared: Prepared, data: DataSettings, *, source: str) -> CheckResult:
    """Judge the duplicate rows preparation counted (see the module docstring)."""
    return judge_duplicates(prepared.report, data, source=source, examples=_examples(prepared))


def judge_duplicates(
    report: PrepareReport, data: DataSettings, *, source: str, examples: list[dict[str, Any]] | None
) -> CheckResult:
    """Judge the duplicate counts of ``report``; ``examples`` are the groups of equal rows to show, None when the
    engine cannot number rows (then ``details.examples`` is empty and the message says why)."""
    found, labelled, dropped = report.duplicate_rows, report.rows_labelled, report.duplicates_dropped
    share = found / labelled if labelled else 0.0
    warn_at, fail_at = data.duplicates_warn_share, data.duplicates_fail_share
    observed = {"duplicate_rows": found, "rows": labelled, "share": share, "dropped": dropped}
    expected = {"warn_above": warn_at, "fail_above": fail_at}
    shown = NO_ROW_NUMBERS if examples is None else _rows_text(examples)
    examples = [] if examples is None else examples
    details: dict[str, Any] = {"source": source, "drop_duplicates": data.drop_duplicates, "examples": examples}
    if found == 0:
        text = f"{source}: no duplicate rows among {labelled:,} labelled rows"
        return CheckResult(CHECK_ID, _LAYER, Status.PASS, text, observed, expected, details=details)
    if fail_at is not None and share > fail_at:
        status, key, bound = Status.FAIL, "data.duplicates_fail_share", fail_at
    elif share > warn_at:
        status, key, bound = Status.WARN, "data.duplicates_warn_share", warn_at
    else:
        status, key, bound = Status.PASS, "data.duplicates_warn_share", warn_at
    relation = "at most" if status is Status.PASS else "more than"
    fate = (
        f"{dropped:,} dropped (data.drop_duplicates = true), so the gates and the model saw {report.rows_out:,} rows"
        if dropped
        else "kept (data.drop_duplicates = false)"
    )
    message = (
        f"{source}: {found:,} of {labelled:,} labelled rows ({_pct(share)}) repeat an earlier row in every kept "
        f"column, {relation} {key} = {_pct(bound)}; {fate}; equal data rows: {shown}"
    )
    if status is not Status.PASS:
        message += (
            f"; check why the source repeats rows, or raise {key} if that is expected"
            if dropped
            else "; find out whether they are distinct records that share every recorded attribute (then raise "
            f"{key}) or copies (fix the source, or set data.drop_duplicates = true)"
        )
    reason = None if status is Status.PASS else Reason.DUPLICATE_ROWS
    return CheckResult(CHECK_ID, _LAYER, status, message, observed, expected, details=details, reason=reason)


def run(evidence: Evidence) -> list[CheckResult]:
    """The schema layer's duplicate check on the evidence's prepared data."""
    return [check_duplicates(evidence.prepared, evidence.config.data, source=evidence.dataset.source)]
