"""How the schema gate words a failing check and builds its results: counts, bounds, examples and rows.

Split from :mod:`checks.schema`, which validates and builds the results: given the failure cases of one check
of one column, :func:`describe_check` returns the message parts ("3 values below 18 (min allowed 18, lowest
2); first rows: 3, 17, 40") and the number of failing values, recounting vectorised when pandera kept only the
first :data:`CASES_PER_CHECK` cases. The wording itself is in functions that take figures, not failure cases
(:func:`nulls_part`, :func:`dtype_part`, :func:`bound_part`, :func:`not_comparable_part`, :func:`isin_part`,
:func:`check_part`): the Spark engine (:mod:`checks.spark_schema`) computes the same figures in Spark and words
them with these, so both engines say the same thing. The results themselves (:func:`column_passed`,
:func:`column_failed`, :func:`column_missing`, :func:`frame_result`) are built here for both engines too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from mlgate.checks.result import CheckResult, Reason, Status

__all__ = [
    "BOUNDS",
    "CASES_PER_CHECK",
    "LAYER",
    "MAX_EXAMPLES",
    "bound_part",
    "check_name",
    "check_part",
    "check_text",
    "column_failed",
    "column_missing",
    "column_passed",
    "describe_check",
    "dtype_part",
    "examples",
    "failing_rows",
    "fix_text",
    "frame_result",
    "isin_part",
    "not_comparable_part",
    "nulls_part",
    "show",
]

LAYER = "schema"
MAX_EXAMPLES = 5
_FRAME_CHECKS = {"column_in_dataframe": "missing", "column_in_schema": "unexpected"}
#: pandera keeps at most this many failure cases per check; larger counts are recomputed vectorised.
CASES_PER_CHECK = 1000


def check_name(check: str) -> str:
    """The check's name without its arguments: ``in_range(0, 1)`` -> ``in_range``."""
    return check.split("(", 1)[0]


def show(value: Any) -> str:
    """A value as a message shows it: strings quoted and cut at 40 characters, a missing value as "missing"."""
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    return "missing" if pd.isna(value) else str(value)


def failing_rows(cases: pd.DataFrame) -> np.ndarray:
    """The sorted distinct row labels of failure cases (sort-based: fast on a million failures)."""
    index = np.sort(pd.to_numeric(cases["index"], errors="coerce").dropna().to_numpy(dtype="int64"))
    return index[np.concatenate(([True], index[1:] != index[:-1]))] if index.size else index


def _rows_text(rows: Sequence[int] | np.ndarray) -> str:
    if not len(rows):
        return ""
    return "; first rows: " + ", ".join(str(r) for r in list(rows[:MAX_EXAMPLES]))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def examples(values: pd.Series) -> list[Any]:
    """Up to :data:`MAX_EXAMPLES` distinct failing values, shown as :func:`show` shows them."""
    seen: dict[str, Any] = {}
    for value in values.iloc[:1000]:  # a handful of distinct examples, even among a million failures
        seen.setdefault(show(value), value)
        if len(seen) >= MAX_EXAMPLES:
            break
    return list(seen)


def nulls_part(count: int, rows: Sequence[int] | np.ndarray = ()) -> str:
    """``count`` missing values in a column that is not nullable."""
    return f"{_plural(count, 'missing value')} (the column is not nullable)" + _rows_text(rows)


def dtype_part(
    observed: Any,
    expected: Any,
    count: int | None,
    shown: Sequence[str] = (),
    rows: Sequence[int] | np.ndarray = (),
    *,
    because_nulls: bool = False,
) -> str:
    """The column's dtype is not the schema's: as a whole (``count`` None), because of its missing values, or
    ``count`` values that cannot be read as the schema's dtype."""
    head = f"dtype {observed}, expected {expected}"
    if count is None:
        return head
    if because_nulls:
        return head + " (because of the missing values)"
    return f"{head}: {_plural(count, 'value')} cannot be read as {expected}, e.g. {', '.join(shown)}" + _rows_text(rows)


def bound_part(
    count: int, bound: Any, extreme: Any, *, is_low: bool, inclusive: bool, rows: Sequence[int] | np.ndarray = ()
) -> str:
    """``count`` values beyond one bound of a range check; ``extreme`` is the lowest (highest) of them."""
    word = ("below" if is_low else "above") if inclusive else ("at or below" if is_low else "at or above")
    shown = f"lowest {extreme:g}" if is_low else f"highest {extreme:g}"
    limit = "min" if is_low else "max"
    return f"{_plural(count, 'value')} {word} {bound} ({limit} allowed {bound}, {shown})" + _rows_text(rows)


def not_comparable_part(count: int, shown: Sequence[str]) -> str:
    """``count`` failing values of a range check that are not numbers (a missing value when ``ignore_na`` is off)."""
    return f"{_plural(count, 'value')} not comparable, e.g. {', '.join(shown)}"


def isin_part(count: int, allowed: Sequence[Any], shown: Sequence[str], rows: Sequence[int] | np.ndarray = ()) -> str:
    """``count`` values outside the allowed categories (the first ten of them listed)."""
    listed = ", ".join(show(v) for v in allowed[:10]) + (", ..." if len(allowed) > 10 else "")
    return (
        f"{_plural(count, 'value')} not among the allowed categories [{listed}] (observed {', '.join(shown)})"
        + _rows_text(rows)
    )


def check_part(check: str, count: int, shown: Sequence[str], rows: Sequence[int] | np.ndarray = ()) -> str:
    """``count`` values failing any other check, named as pandera names it."""
    return f"{_plural(count, 'value')} fail {check}, e.g. {', '.join(shown)}" + _rows_text(rows)


def _range_parts(
    cases: pd.DataFrame, series: pd.Series | None, low: Any, high: Any, *, include_min: bool, include_max: bool
) -> tuple[list[str], int]:
    """Values below / above the bounds; counts and extremes from ``series`` when the cases were capped."""
    values = pd.to_numeric(cases["failure_case"], errors="coerce")
    whole = values if series is None else pd.to_numeric(series, errors="coerce")
    parts, total = [], 0
    for bound, is_low, inclusive in ((low, True, include_min), (high, False, include_max)):
        if bound is None:
            continue
        if is_low:
            hit, hit_all = (values < bound, whole < bound) if inclusive else (values <= bound, whole <= bound)
        else:
            hit, hit_all = (values > bound, whole > bound) if inclusive else (values >= bound, whole >= bound)
        count = int(hit_all.sum())
        if not count:
            continue
        total += count
        extreme = whole[hit_all].min() if is_low else whole[hit_all].max()
        parts.append(
            bound_part(count, bound, extreme, is_low=is_low, inclusive=inclusive, rows=failing_rows(cases[hit]))
        )
    other = cases[values.isna()]
    if len(other):
        total += len(other)
        parts.append(not_comparable_part(len(other), examples(other["failure_case"])))
    return parts, total


#: The range checks and the statistics holding their lower and upper bound.
BOUNDS = {
    "in_range": ("min_value", "max_value"),
    "greater_than_or_equal_to": ("min_value", None),
    "greater_than": ("min_value", None),
    "less_than_or_equal_to": (None, "max_value"),
    "less_than": (None, "max_value"),
}


def _check_index(check_number: Any) -> int | None:
    try:
        return int(check_number)
    except (TypeError, ValueError):
        return None


def describe_check(
    check: str, cases: pd.DataFrame, column: pa.Column, series: pd.Series, nulls: bool
) -> tuple[list[str], int]:
    """The message parts and the number of failing values for one failing check of one column."""
    name = check_name(check)
    rows = failing_rows(cases)
    count = len(cases)
    values = cases["failure_case"]
    if name == "not_nullable":
        return [nulls_part(count, rows)], count
    if name == "dtype":
        if not len(rows):
            return [dtype_part(series.dtype, column.dtype, None)], len(series)
        if nulls and values.isna().all():
            return [dtype_part(series.dtype, column.dtype, count, because_nulls=True)], count
        return [dtype_part(series.dtype, column.dtype, count, examples(values), rows)], count
    if name == "coerce_dtype":
        shown = ", ".join(examples(values))
        text = f"{_plural(count, 'value')} cannot be converted to {column.dtype}, e.g. {shown}"
        return [text + _rows_text(rows)], count
    number = _check_index(cases["check_number"].iloc[0])
    the_check = column.checks[number] if number is not None and number < len(column.checks) else None
    stats = dict(the_check.statistics or {}) if the_check is not None else {}
    capped = False
    if the_check is not None and count >= CASES_PER_CHECK:  # pandera kept only the first cases: count them all
        capped = True
        count = int((~the_check(series).check_output.astype(bool)).sum())
    if name in BOUNDS and stats:
        low_key, high_key = BOUNDS[name]
        return _range_parts(
            cases,
            series if capped else None,
            stats.get(low_key) if low_key else None,
            stats.get(high_key) if high_key else None,
            include_min=bool(stats.get("include_min", name != "greater_than")),
            include_max=bool(stats.get("include_max", name != "less_than")),
        )
    if name == "isin":
        return [isin_part(count, list(stats.get("allowed_values", [])), examples(values), rows)], count
    return [check_part(check, count, examples(values), rows)], count


# ---------------------------------------------------------------- results (both engines)


def check_text(check: pa.Check) -> str:
    """A check as pandera names it in its failure cases: its ``error`` text (``in_range(18, 100)``), else its name."""
    return str(getattr(check, "error", None) or check.name)


def _expected(column: pa.Column) -> dict[str, Any]:
    return {
        "dtype": str(column.dtype) if column.dtype is not None else None,
        "nullable": bool(column.nullable),
        "checks": [check_text(check) for check in column.checks],
    }


def column_missing(name: str, column: pa.Column, *, source: str) -> CheckResult:
    """A schema column the data lacks: SKIPPED here, the failure is ``schema.columns``'s."""
    text = f"column '{name}': missing from {source} (see schema.columns)"
    return CheckResult(
        f"{LAYER}.column[{name}]", LAYER, Status.SKIPPED, text, None, _expected(column), reason=Reason.MISSING_COLUMN
    )


def column_passed(name: str, column: pa.Column, observed_dtype: str, n_values: int, *, source: str) -> CheckResult:
    """A column whose ``n_values`` values pass its dtype, nullability and checks."""
    expected = _expected(column)
    return CheckResult(
        f"{LAYER}.column[{name}]",
        LAYER,
        Status.PASS,
        f"column '{name}': {n_values} values match dtype {expected['dtype']}"
        + ("" if expected["nullable"] else ", no missing values")
        + (f" and {', '.join(expected['checks'])}" if expected["checks"] else ""),
        {"dtype": observed_dtype, "failing_values": 0},
        expected,
        details={"source": source},
    )


def column_failed(
    name: str,
    column: pa.Column,
    observed_dtype: str,
    described: list[tuple[str, list[str], int]],
    errors: list[str],
    *,
    distinct_rows: int,
    shown: list[str],
    rows: list[int],
    source: str,
    fix: str,
) -> CheckResult:
    """A failing column from its failing checks, in pandera's order, each as ``(check, message parts, count)``
    (:func:`checks.schema_messages.describe_check`), and the checks that could not run (``errors``).

    ``distinct_rows`` is the number of distinct failing rows known; a check whose count is larger (pandera kept
    only its first cases, or it fails the column as a whole) sets the number of failing values instead."""
    counts = {check: count for check, _, count in described}
    dtype_failed = any(check_name(c) == "dtype" for c in counts)
    parts = [part for _, described_parts, _ in described for part in described_parts]
    if not dtype_failed:  # a check that cannot run on the wrong dtype only repeats the dtype problem
        parts.extend(errors)
    failing = max(distinct_rows, *counts.values()) if counts else distinct_rows
    names = [check_name(c) for c in counts] + (["check_error"] if errors and not dtype_failed else [])
    return CheckResult(
        f"{LAYER}.column[{name}]",
        LAYER,
        Status.FAIL,
        f"column '{name}': " + "; ".join(parts) + f"; {fix}",
        {"dtype": observed_dtype, "failing_values": failing},
        _expected(column),
        details={
            "source": source,
            "failing_checks": names,
            "failing_values": failing,
            "examples": shown,
            "rows": rows,
            "counts": counts,
        },
        reason=_column_reason(names),
    )


def _column_reason(failing: list[str]) -> Reason:
    """The most basic failing check of a column decides its reason (a wrong dtype explains the rest)."""
    order = {"dtype": Reason.WRONG_DTYPE, "coerce_dtype": Reason.WRONG_DTYPE, "not_nullable": Reason.NULL_VALUES}
    order |= {**dict.fromkeys(BOUNDS, Reason.OUT_OF_RANGE), "isin": Reason.NOT_IN_SET}
    found = [reason for name, reason in order.items() if name in failing]
    return found[0] if found else Reason.CHECK_FAILED if set(failing) - {"check_error"} else Reason.CHECK_ERROR


def frame_result(
    schema: pa.DataFrameSchema,
    observed_columns: list[str],
    groups: list[tuple[str, list[Any]]],
    *,
    source: str,
    fix: str,
) -> CheckResult:
    """``schema.columns`` from the frame-level failures, each group ``(check, failure cases)`` in pandera's order
    (``column_in_schema``: unexpected columns, ``column_in_dataframe``: missing ones); no groups is a PASS."""
    rid = f"{LAYER}.columns"
    expected = {"columns": list(schema.columns), "strict": schema.strict, "ordered": schema.ordered}
    observed = {"columns": observed_columns}
    if not groups:
        return CheckResult(
            rid,
            LAYER,
            Status.PASS,
            f"{source}: all {len(schema.columns)} schema columns present"
            + (", no unexpected columns" if schema.strict else ""),
            observed,
            expected,
            details={"source": source},
        )
    parts = []
    found: dict[str, list[str]] = {}
    for check, values in groups:
        kind = _FRAME_CHECKS.get(check_name(check))
        shown = ", ".join(show(v) for v in values[:10])
        if kind == "missing":
            found["missing"] = [str(v) for v in values]
            parts.append(f"missing column(s) {shown} required by the schema")
        elif kind == "unexpected":
            found["unexpected"] = [str(v) for v in values]
            parts.append(f"unexpected column(s) {shown} (the schema is strict: add them to it or drop them)")
        else:
            parts.append(f"{check} failed ({shown})")
    kinds = {"missing": Reason.MISSING_COLUMN, "unexpected": Reason.UNEXPECTED_COLUMN}
    reason = next((kinds[kind] for kind in kinds if kind in found), Reason.CHECK_FAILED)
    return CheckResult(
        rid,
        LAYER,
        Status.FAIL,
        f"{source}: " + "; ".join(parts) + f"; {fix}",
        observed,
        expected,
        details={"source": source, **found},
        reason=reason,
    )


def fix_text(schema_file: str | None) -> str:
    """What a failing result tells the reader to do."""
    return f"fix the data, or if the change is intended update {schema_file}" if schema_file else "fix the data"
