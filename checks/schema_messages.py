"""How the schema gate words a failing check: counts, bounds, examples and rows from pandera's failure cases.

Split from :mod:`checks.schema`, which validates and builds the results: given the failure cases of one check
of one column, :func:`describe_check` returns the message parts ("3 values below 18 (min allowed 18, lowest
2); first rows: 3, 17, 40") and the number of failing values, recounting vectorised when pandera kept only the
first :data:`CASES_PER_CHECK` cases.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

__all__ = [
    "BOUNDS",
    "CASES_PER_CHECK",
    "MAX_EXAMPLES",
    "check_name",
    "describe_check",
    "examples",
    "failing_rows",
    "show",
]

MAX_EXAMPLES = 5
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


def _rows_text(rows: np.ndarray) -> str:
    if not len(rows):
        return ""
    return "; first rows: " + ", ".join(str(r) for r in rows[:MAX_EXAMPLES].tolist())


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
        word = ("below" if is_low else "above") if inclusive else ("at or below" if is_low else "at or above")
        extreme = f"lowest {whole[hit_all].min():g}" if is_low else f"highest {whole[hit_all].max():g}"
        limit = "min" if is_low else "max"
        parts.append(
            f"{_plural(count, 'value')} {word} {bound} ({limit} allowed {bound}, {extreme})"
            + _rows_text(failing_rows(cases[hit]))
        )
    other = cases[values.isna()]
    if len(other):
        total += len(other)
        parts.append(
            f"{_plural(len(other), 'value')} not comparable, e.g. {', '.join(examples(other['failure_case']))}"
        )
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
        return [f"{_plural(count, 'missing value')} (the column is not nullable)" + _rows_text(rows)], count
    if name == "dtype":
        head = f"dtype {series.dtype}, expected {column.dtype}"
        if not len(rows):
            return [head], len(series)
        if nulls and values.isna().all():
            return [head + " (because of the missing values)"], count
        return [
            f"{head}: {_plural(count, 'value')} cannot be read as {column.dtype}, "
            f"e.g. {', '.join(examples(values))}" + _rows_text(rows)
        ], count
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
        allowed = list(stats.get("allowed_values", []))
        shown = ", ".join(show(v) for v in allowed[:10]) + (", ..." if len(allowed) > 10 else "")
        return [
            f"{_plural(count, 'value')} not among the allowed categories [{shown}] "
            f"(observed {', '.join(examples(values))})" + _rows_text(rows)
        ], count
    return [f"{_plural(count, 'value')} fail {check}, e.g. {', '.join(examples(values))}" + _rows_text(rows)], count
