"""A pandera column as Spark expressions: how each check judges a value, counted for every column in one job.

Part of the Spark engine's schema gate (:mod:`checks.spark_schema`, which judges and words the figures with the
pandas engine's functions). Each builtin check is the expression of what pandera's own function does to a pandas
column of that kind of value (``pandera/backends/pandas/builtin_checks.py``): a missing value is dropped first unless
``ignore_na`` is off (then it fails every check but ``not_equal_to`` and ``notin``); a value compared with a value of
another kind (text with a number) is unequal, is in no list, and makes an order comparison (a range) an error;
``str_*`` checks on numbers are errors. The values pandera cannot read as the schema's dtype follow its
``coerce_value`` (:func:`unreadable`).

:func:`column_aggregates` names every figure of column ``j`` ``c<j>_...`` so all columns share one aggregate job;
:func:`smallest_examples` fetches a few failing values of every failing check in one more job of one stage.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import pandas as pd
import pandera.pandas as pa

from mlgate.checks.schema_messages import BOUNDS, MAX_EXAMPLES, check_text

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

__all__ = [
    "INTEGRAL",
    "SUPPORTED_CHECKS",
    "TEXT_DTYPE",
    "CheckPlan",
    "ColumnPlan",
    "column_aggregates",
    "count_where",
    "fits",
    "pandas_dtype",
    "plan_column",
    "smallest_examples",
    "spark_column",
    "unreadable",
]

INTEGRAL = ("tinyint", "smallint", "int", "bigint")
#: The dtype pandas reads a text column with ("str" from pandas 3, "object" before).
TEXT_DTYPE = str(pd.Series(["a"]).dtype)
#: Text Python's ``int()`` / ``float()`` reads (so numpy, and pandera's ``coerce_value``, can).
_INT_TEXT = r"^\s*[+-]?[0-9]+(_[0-9]+)*\s*$"
_FLOAT_TEXT = r"(?i)^\s*[+-]?(((\d(_?\d)*)?\.\d(_?\d)*|\d(_?\d)*\.?)(e[+-]?\d(_?\d)*)?|inf|infinity|nan)\s*$"
_NULLS_PASS = {"not_equal_to", "notin"}  # a missing value is unequal to anything and in no list
SUPPORTED_CHECKS = frozenset({*BOUNDS, "equal_to", "not_equal_to", "isin", "notin", "unique_values_eq", "str_matches",
                              "str_contains", "str_startswith", "str_endswith", "str_length"})  # fmt: skip


def pandas_dtype(spark_type: str, has_nulls: bool) -> str:
    """The dtype pandas gives the same column: integers with a missing value are float64, booleans object."""
    if spark_type in INTEGRAL:
        return "float64" if has_nulls else "int64"
    if spark_type in ("float", "double") or spark_type.startswith("decimal"):
        return "float64"
    if spark_type == "boolean":
        return "object" if has_nulls else "bool"
    return TEXT_DTYPE


def _kind(spark_type: str) -> str:
    """number, bool or text: what a check compares. Anything else (a date, a timestamp) is judged as its text, the
    way pandas reads it from a CSV file."""
    if spark_type == "boolean":
        return "bool"
    numeric = spark_type in INTEGRAL or spark_type in ("float", "double") or spark_type.startswith("decimal")
    return "number" if numeric else "text"


def spark_column(name: str) -> Column:
    """The column ``name``, quoted: a schema may name columns with dots or spaces."""
    from pyspark.sql import functions as F

    return F.col(f"`{name}`")


@dataclass
class CheckPlan:
    """One check of a column as Spark evaluates it: ``fail`` (rows), a range, a whole-column verdict or an error."""

    index: int
    check: pa.Check
    text: str
    how: str  # "rows", "range", "scalar" or "error"
    fail: Any = None  # the failing-row condition (rows and range)
    data: Any = None  # range: (low, high, include_min, include_max); scalar: the values
    nulls_fail: bool = False


@dataclass
class ColumnPlan:
    """One schema column present in the frame: its value expression, kind and checks."""

    name: str
    column: pa.Column
    kind: str
    value: Any
    missing: Any
    checks: list[CheckPlan] = field(default_factory=list)


def fits(value: Any, kind: str) -> bool:
    """Whether pandas compares ``value`` with the column's values as values (not a text with a number)."""
    return isinstance(value, str) if kind == "text" else isinstance(value, int | float) and not isinstance(value, str)


def _lit(value: Any, kind: str) -> Column:
    """A check's value as the column's kind compares it (numbers as doubles, as the value column is)."""
    from pyspark.sql import functions as F

    return F.lit(value if kind == "text" else float(value))


def _text_check(name: str, stats: dict[str, Any], v: Column) -> Column:
    """Where a ``str_*`` check passes (``str_matches`` matches at the start, as ``re.match``)."""
    from pyspark.sql import functions as F

    if name in ("str_matches", "str_contains"):
        pattern = str(stats.get("pattern"))
        return v.rlike(f"^(?:{pattern})" if name == "str_matches" else pattern)
    if name in ("str_startswith", "str_endswith"):
        string = str(stats.get("string"))
        return v.startswith(string) if name == "str_startswith" else v.endswith(string)
    length, exact = F.char_length(v), stats.get("exact_value")
    if exact is not None:
        return length.eqNullSafe(F.lit(exact))
    low, high = stats.get("min_value"), stats.get("max_value")
    return (F.lit(True) if low is None else length >= low) & (F.lit(True) if high is None else length <= high)


def _plan_check(index: int, check: pa.Check, kind: str, v: Column) -> CheckPlan:
    """How pandera's builtin check judges a value of this kind (the module docstring)."""
    from pyspark.sql import functions as F

    name, stats, text = str(check.name), dict(check.statistics or {}), check_text(check)
    nulls_fail = not check.ignore_na and name not in _NULLS_PASS
    if name.startswith("str_"):
        if kind != "text":
            return CheckPlan(index, check, text, "error")
        return CheckPlan(index, check, text, "rows", ~_text_check(name, stats, v), nulls_fail=nulls_fail)
    if name in BOUNDS:
        low_key, high_key = BOUNDS[name]
        low, high = stats.get(low_key) if low_key else None, stats.get(high_key) if high_key else None
        if any(b is not None and not fits(b, kind) for b in (low, high)):
            return CheckPlan(index, check, text, "error")
        bounds = (low, high, bool(stats.get("include_min", name != "greater_than")),
                  bool(stats.get("include_max", name != "less_than")))  # fmt: skip
        return CheckPlan(index, check, text, "range", _beyond(v, kind, bounds), bounds, nulls_fail)
    if name == "unique_values_eq":
        values = list(stats.get("values", []))
        return CheckPlan(index, check, text, "scalar", data=values, nulls_fail=not check.ignore_na)
    values = stats.get("allowed_values", stats.get("forbidden_values", [stats.get("value")]))
    kept = [_lit(x, kind) for x in values if fits(x, kind)]
    hit = v.isin(*kept) if kept else F.lit(False)
    ok = {"isin": hit, "equal_to": hit, "notin": ~hit, "not_equal_to": ~hit}[name]
    return CheckPlan(index, check, text, "rows", ~ok, nulls_fail=nulls_fail)


def _beyond(v: Column, kind: str, bounds: tuple[Any, Any, bool, bool]) -> tuple[Column, Column]:
    """Values below and above a range."""
    from pyspark.sql import functions as F

    low, high, include_min, include_max = bounds
    below = F.lit(False) if low is None else (v < _lit(low, kind)) if include_min else (v <= _lit(low, kind))
    above = F.lit(False) if high is None else (v > _lit(high, kind)) if include_max else (v >= _lit(high, kind))
    return below, above


def unreadable(expected: str, kind: str, v: Column, missing: Column) -> Column | None:
    """Rows holding a value pandera cannot coerce to ``expected`` (``coerce_value``; a value not text for a text
    dtype); None when no value can fail that way, so a dtype mismatch is the whole column's."""
    from pyspark.sql import functions as F

    if expected == "category":
        return F.lit(True)
    if expected in ("str", "string", "string[python]", "string[pyarrow]"):
        return None if kind == "text" else ~missing
    if expected.startswith(("int", "uint", "Int", "UInt")):
        nulls_fail = expected.startswith(("int", "uint"))  # numpy integers have no missing value; Int64 has
        if kind == "text":
            return F.when(missing, F.lit(nulls_fail)).otherwise(~v.rlike(_INT_TEXT))
        infinite = F.abs(v) == F.lit(float("inf"))
        return None if kind == "bool" else (missing | infinite) if nulls_fail else F.coalesce(infinite, F.lit(False))
    if expected.startswith(("float", "Float")):
        return F.when(missing, F.lit(False)).otherwise(~v.rlike(_FLOAT_TEXT)) if kind == "text" else None
    if expected == "boolean":
        if kind == "number":
            return F.when(missing, F.lit(False)).otherwise(~v.isin(0.0, 1.0))
        return ~missing if kind == "text" else None
    return None  # bool, object: any value coerces; date/time dtypes: not computed (the module docstring)


def plan_column(name: str, column: pa.Column, spark_type: str) -> ColumnPlan:
    """A schema column's value expression (numbers as doubles, anything else as text), its missing values (null,
    or NaN as pandas counts it) and its checks; a ``raise_warning`` check only warns in pandera: not judged."""
    from pyspark.sql import functions as F

    kind = _kind(spark_type)
    value = spark_column(name).cast("string" if kind == "text" else "double")
    missing = value.isNull() if kind == "text" else (value.isNull() | F.isnan(value))
    plan = ColumnPlan(name, column, kind, value, missing)
    plan.checks = [_plan_check(i, c, kind, value) for i, c in enumerate(column.checks) if not c.raise_warning]
    return plan


def count_where(condition: Column) -> Column:
    """The rows where ``condition`` holds (null counts as not)."""
    from pyspark.sql import functions as F

    return F.sum(F.when(condition, 1).otherwise(0))


def column_aggregates(j: int, plan: ColumnPlan) -> list[Column]:
    """Column ``j``'s figures, named ``c<j>_...``: missing values (``m``), values pandas could not read as the
    schema's dtype (``d``, non-missing ``dn``), failures per check (``<i>``; ranges also ``<i>lo``/``<i>hi`` with
    the extremes ``<i>min``/``<i>max``), and rows failing anything (``a``; ``ad`` with the dtype's failures)."""
    from pyspark.sql import functions as F

    v, missing, p = plan.value, plan.missing, f"c{j}_"
    out = [count_where(missing).alias(p + "m")]
    failing = [missing] if not plan.column.nullable else []
    for c in plan.checks:
        if c.how in ("rows", "range"):
            fails = F.when(missing, F.lit(c.nulls_fail)).otherwise(
                c.fail[0] | c.fail[1] if c.how == "range" else c.fail
            )
            failing.append(fails)
            out.append(count_where(fails).alias(f"{p}{c.index}"))
        if c.how == "range":
            below, above = (F.coalesce(x, F.lit(False)) & ~missing for x in c.fail)
            out += [count_where(below).alias(f"{p}{c.index}lo"), count_where(above).alias(f"{p}{c.index}hi"),
                    F.min(F.when(below, v)).alias(f"{p}{c.index}min"),
                    F.max(F.when(above, v)).alias(f"{p}{c.index}max")]  # fmt: skip
        elif c.how == "scalar":
            kept = [_lit(x, plan.kind) for x in c.data if fits(x, plan.kind)]
            hit = v.isin(*kept) if kept else F.lit(False)
            out += [count_where(~missing & ~hit).alias(f"{p}{c.index}out"),
                    F.count_distinct(F.when(hit, v)).alias(f"{p}{c.index}in")]  # fmt: skip
    anything = F.lit(False)
    for condition in failing:
        anything = anything | condition
    out.append(count_where(anything).alias(p + "a"))
    unread = unreadable(str(plan.column.dtype), plan.kind, v, missing) if plan.column.dtype is not None else None
    if unread is not None:
        out += [count_where(unread).alias(p + "d"), count_where(unread & ~missing).alias(p + "dn"),
                count_where(anything | unread).alias(p + "ad")]  # fmt: skip
    return out


def _smallest(keys: list[tuple[int, int]], batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """One partition's :data:`MAX_EXAMPLES` smallest distinct values per key (``keys``: (key, plan) indexes)."""
    best: dict[int, list[Any]] = {k: [] for k, _ in keys}
    for batch in batches:
        for k, j in keys:
            values = batch.loc[batch[f"f{k}"].astype(bool), f"v{j}"].drop_duplicates().tolist()
            best[k] = sorted(set(best[k]) | set(values))[:MAX_EXAMPLES]
    yield pd.DataFrame([(k, str(v)) for k, values in best.items() for v in values], columns=["k", "x"])


def smallest_examples(frame: DataFrame, wanted: list[tuple[str, Column, ColumnPlan]]) -> dict[str, list[Any]]:
    """Up to :data:`MAX_EXAMPLES` smallest distinct non-missing values meeting each condition: one Spark job of
    one stage (each partition keeps its smallest, the driver merges them; no shuffle, no column collected)."""
    from pyspark.sql import functions as F

    if not wanted:
        return {}
    plans = list({id(plan): plan for _, _, plan in wanted}.values())
    index = {id(plan): j for j, plan in enumerate(plans)}
    flags = [(F.coalesce(condition, F.lit(False)) & ~plan.missing).alias(f"f{k}")
             for k, (_, condition, plan) in enumerate(wanted)]  # fmt: skip
    shown = [(plan.value if plan.kind != "bool" else spark_column(plan.name).cast("boolean")).alias(f"v{j}")
             for j, plan in enumerate(plans)]  # fmt: skip
    keys = [(k, index[id(plan)]) for k, (_, _, plan) in enumerate(wanted)]
    picked = frame.select(*flags, *shown).where(" OR ".join(f"f{k}" for k in range(len(wanted))))
    rows = picked.mapInPandas(partial(_smallest, keys), "k int, x string").collect()
    read: dict[str, Callable[[str], Any]] = {"text": str, "number": float, "bool": lambda x: x == "True"}
    found: dict[int, set[Any]] = {k: set() for k in range(len(wanted))}
    for row in rows:
        found[row["k"]].add(read[wanted[row["k"]][2].kind](row["x"]))
    return {wanted[k][0]: sorted(values)[:MAX_EXAMPLES] for k, values in found.items()}
