"""The schema gate's column validation on the Spark engine: pandera's verdicts from Spark aggregates.

The committed pandera schema is not run by pandera here (that would collect the data): each column's
nullability, dtype and checks become Spark expressions, counted in ONE aggregate job for every column (values
failing each check, below / above a range with the lowest / highest of them, missing values, values pandas could
not read as the schema's dtype), and a second small job fetches a few failing values per failing check. The figures
are worded by the pandas engine's own functions (:mod:`checks.schema_messages`), so ids, statuses, reasons,
observed and expected values and messages are those :func:`checks.schema.validate` gives on the same rows
(``tests/spark/test_spark_schema.py`` compares them). A check that cannot run on the column (text compared with a
number, a ``str_*`` check on numbers) is run by pandera on one synthetic value of the column's dtype, for its
exact error text.

Each column is judged with the dtype the pandas engine's frame would have (:func:`pandas_dtype`; ``double`` ->
``float64``, an integer column -> ``int64``, or ``float64`` when pandas would read it with a missing value, text ->
pandas' text dtype, ``boolean`` -> ``bool``); ``validate`` takes ``dtypes`` to state it, :func:`validate_prepared`
derives it from the source's types and what preparation does to them.

Differences from the pandas engine, all from Spark having no row order:

- no data row numbers: messages leave out the "; first rows: ..." parts and ``details["rows"]`` is ``[]``;
- examples are the smallest distinct failing values of each check (a missing value first), not the first ones;
- ``failing_values`` counts the rows failing any check exactly; the pandas engine's count is a lower bound when a
  check fails more than 1,000 values beside another failing check (it keeps only the first 1,000 rows of each).

Also: regular expressions (``str_matches``, ``str_contains``) run with Java's regex engine; a column Spark reads as
a date or timestamp is judged as Spark's text of it (pandas reads a CSV's dates as text); a dtype failure for a
date/time dtype is reported for the column as a whole (which values pandas could parse as times is not computed);
a range check with text bounds on text is worded "not comparable" (the pandas engine's wording of it raises); and
a schema using a feature the pandas schema gate words generically (frame-level checks, ``unique``,
``coerce``, ``ordered``, ``regex`` columns, parsers) is refused with a :class:`SchemaFileError`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pandas as pd
import pandera.pandas as pa
from pandera.engines import pandas_engine
from pandera.errors import SchemaErrors

from mlgate.checks.result import CheckResult
from mlgate.checks.schema_messages import (
    BOUNDS,
    CASES_PER_CHECK,
    MAX_EXAMPLES,
    bound_part,
    check_name,
    check_part,
    column_failed,
    column_missing,
    column_passed,
    dtype_part,
    fix_text,
    frame_result,
    isin_part,
    not_comparable_part,
    nulls_part,
    show,
)
from mlgate.checks.spark_schema_figures import (
    INTEGRAL,
    SUPPORTED_CHECKS,
    TEXT_DTYPE,
    CheckPlan,
    ColumnPlan,
    column_aggregates,
    count_where,
    fits,
    pandas_dtype,
    plan_column,
    smallest_examples,
    spark_column,
    unreadable,
)
from mlgate.pipeline.errors import SchemaFileError

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

    from mlgate.pipeline.spark.prepare import SparkPrepared

__all__ = ["TEXT_DTYPE", "pandas_dtype", "validate", "validate_prepared"]


def _refuse_unsupported(schema: pa.DataFrameSchema, schema_file: str | None) -> None:
    """Schema features the Spark engine does not judge: refused naming the feature (never silently skipped)."""
    where = schema_file or "the schema"
    for key in ("checks", "unique", "ordered", "coerce", "add_missing_columns", "drop_invalid_rows", "parsers", "index",
                "dtype"):  # fmt: skip
        if getattr(schema, key, None):
            raise SchemaFileError(f"{where}: '{key}' is not supported by the Spark engine's schema gate")
    for name, column in schema.columns.items():
        for key in ("unique", "coerce", "regex", "parsers", "drop_invalid_rows"):
            if getattr(column, key, None):
                raise SchemaFileError(f"{where}: column '{name}': '{key}' is not supported by the Spark engine")
        for check in column.checks:
            if check.name not in SUPPORTED_CHECKS or getattr(check, "groupby", None) is not None:
                raise SchemaFileError(f"{where}: column '{name}': check '{check.name}' is not supported on Spark")


def _shown(values: Sequence[Any], observed: str, *, missing: bool = False) -> list[str]:
    """Failing values as the pandas engine shows them (an integer column's values as integers), a missing value
    first, at most :data:`MAX_EXAMPLES` distinct."""
    convert = int if observed.startswith(("int", "uint", "Int", "UInt")) else bool if observed == "bool" else None
    out = dict.fromkeys((["missing"] if missing else []) + [show(convert(x) if convert else x) for x in values])
    return list(out)[:MAX_EXAMPLES]


def _dtype_ok(column: pa.Column, observed: str) -> bool:
    try:
        return bool(column.dtype.check(pandas_engine.Engine.dtype(observed)))
    except Exception:  # an observed dtype pandera does not know cannot be the schema's
        return False


def _errors(plan: ColumnPlan, observed: str) -> list[str]:
    """The checks that cannot run on this column, worded by running pandera on one value of its dtype."""
    from mlgate.checks.schema import check_errors

    failing = [c.check for c in plan.checks if c.how == "error"]
    if not failing:
        return []
    sample = pd.Series({"int64": [0], "float64": [0.0], "bool": [True]}.get(observed, ["a"]), dtype=observed)
    schema = pa.DataFrameSchema({plan.name: pa.Column(None, failing, nullable=True)})
    try:
        schema.validate(sample.to_frame(plan.name), lazy=True)
    except SchemaErrors as exc:
        return check_errors(exc).get(plan.name, [])
    except Exception:
        pass
    return [f"check {c} could not run on a {observed} column" for c in failing]


#: One failing check of a column: (check text, message parts, count, examples shown, failure cases pandas keeps).
_Entry = tuple[str, list[str], int, list[str], int]


def _dtype_entry(plan: ColumnPlan, figures: Mapping[str, Any], observed: str, found: Mapping[str, list[Any]],
                 p: str) -> tuple[_Entry, bool]:  # fmt: skip
    """The dtype failure: values pandas cannot read as the schema's dtype (True), or the whole column (False)."""
    column, text = plan.column, f"dtype('{plan.column.dtype}')"
    bad, nulls = figures.get(p + "d") or 0, figures[p + "m"]
    if not bad:
        return (text, [dtype_part(observed, column.dtype, None)], figures["n"], [show(observed)], 1), False
    shown = _shown(found.get(p + "d", []), observed, missing=bad > figures[p + "dn"])
    because = bool(not column.nullable and nulls and not figures[p + "dn"])
    return (text, [dtype_part(observed, column.dtype, bad, shown, because_nulls=because)], bad, shown, bad), True


def _check_entry(c: CheckPlan, plan: ColumnPlan, figures: Mapping[str, Any], observed: str,
                 found: Mapping[str, list[Any]], p: str) -> _Entry | None:  # fmt: skip
    """A failing check's message parts as :func:`checks.schema_messages.describe_check` words them."""
    key, nulls = f"{p}{c.index}", figures[p + "m"] if c.nulls_fail else 0
    if c.how == "scalar":
        present = [x for x in c.data if fits(x, plan.kind)]
        passed = len(present) == len(c.data) and not figures[key + "out"] and figures[key + "in"] == len(set(present))
        return None if passed and not nulls else (c.text, [check_part(c.text, 1, ["False"])], 1, ["False"], 1)
    count = figures[key]
    if not count:
        return None
    shown = _shown(found.get(key, []), observed, missing=bool(nulls))
    name, cases = check_name(c.text), min(count, CASES_PER_CHECK)
    if c.how == "range" and name in BOUNDS:
        low, high, include_min, include_max = c.data
        parts = []
        if plan.kind == "text":  # text against text bounds: no number to compare, as the pandas engine reads them
            return c.text, [not_comparable_part(count, shown)], count, shown, cases
        for bound, side, inclusive in ((low, "lo", include_min), (high, "hi", include_max)):
            if bound is not None and figures[key + side]:
                extreme = figures[key + ("min" if side == "lo" else "max")]
                parts.append(bound_part(figures[key + side], bound, extreme, is_low=side == "lo", inclusive=inclusive))
        if nulls:
            parts.append(not_comparable_part(nulls, ["missing"]))
        return c.text, parts, count, shown, cases
    allowed = list((c.check.statistics or {}).get("allowed_values", []))
    part = isin_part(count, allowed, shown) if name == "isin" else check_part(c.text, count, shown)
    return c.text, [part], count, shown, cases


def _judge(j: int, plan: ColumnPlan, figures: Mapping[str, Any], observed: str, found: Mapping[str, list[Any]], *,
           source: str, fix: str) -> CheckResult:  # fmt: skip
    """One column's result from its figures, its checks in pandera's order: missing values, unreadable values,
    the checks judging values, then the whole-column verdicts (a dtype, ``unique_values_eq``)."""
    p, column = f"c{j}_", plan.column
    rows_first: list[_Entry] = []
    whole: list[_Entry] = []
    if not column.nullable and figures[p + "m"]:
        nulls = figures[p + "m"]
        rows_first.append(("not_nullable", [nulls_part(nulls)], nulls, ["missing"], nulls))
    distinct = figures[p + "a"]
    if column.dtype is not None and not _dtype_ok(column, observed):
        entry, by_value = _dtype_entry(plan, figures, observed, found, p)
        (rows_first if by_value else whole).append(entry)
        distinct = figures[p + "ad"] if by_value else distinct
    for c in plan.checks:
        entry_or_none = _check_entry(c, plan, figures, observed, found, p) if c.how != "error" else None
        if entry_or_none is not None:
            (whole if c.how == "scalar" else rows_first).append(entry_or_none)
    errors = _errors(plan, observed)
    entries = rows_first + whole
    if not entries and not errors:
        return column_passed(plan.name, column, observed, figures["n"], source=source)
    shown: dict[str, None] = {}
    seen = 0
    for entry in entries:  # the pandas engine's examples come from the first 1,000 failure cases
        if seen >= CASES_PER_CHECK or len(shown) >= MAX_EXAMPLES:
            break
        shown.update(dict.fromkeys(entry[3]))
        seen += entry[4]
    described = [(text, parts, count) for text, parts, count, _, _ in entries]
    return column_failed(plan.name, column, observed, described, errors, distinct_rows=distinct,
                         shown=list(shown)[:MAX_EXAMPLES], rows=[], source=source, fix=fix)  # fmt: skip


# ---------------------------------------------------------------- the frame


def _measure(frame: DataFrame, schema: pa.DataFrameSchema, dtype_of: Callable[[str, int], str], *, source: str,
             fix: str) -> dict[str, CheckResult]:  # fmt: skip
    """Every schema column ``frame`` holds, judged: one aggregate job, then one job for examples if any fail."""
    from pyspark.sql import functions as F

    types = dict(frame.dtypes)
    plans = [plan_column(str(name), column, types[str(name)]) for name, column in schema.columns.items()
             if str(name) in frame.columns]  # fmt: skip
    if not plans:
        return {}
    aggregates = [a for j, plan in enumerate(plans) for a in column_aggregates(j, plan)]
    figures = frame.agg(F.count(F.lit(1)).alias("n"), *aggregates).collect()[0].asDict()
    observed = {plan.name: dtype_of(plan.name, figures[f"c{j}_m"]) for j, plan in enumerate(plans)}
    wanted: list[tuple[str, Column, ColumnPlan]] = []
    for j, plan in enumerate(plans):
        p = f"c{j}_"
        if figures.get(p + "dn") and plan.column.dtype is not None and not _dtype_ok(plan.column, observed[plan.name]):
            unread = unreadable(str(plan.column.dtype), plan.kind, plan.value, plan.missing)
            wanted += [(p + "d", unread, plan)] if unread is not None else []
        for c in plan.checks:
            failing = figures.get(f"{p}{c.index}") or 0
            if c.how in ("rows", "range") and failing > (figures[p + "m"] if c.nulls_fail else 0):
                wanted.append((f"{p}{c.index}", c.fail[0] | c.fail[1] if c.how == "range" else c.fail, plan))
    found = smallest_examples(frame, wanted)
    return {plan.name: _judge(j, plan, figures, observed[plan.name], found, source=source, fix=fix)
            for j, plan in enumerate(plans)}  # fmt: skip


def _assemble(schema: pa.DataFrameSchema, columns: list[str], judged: Mapping[str, CheckResult], *, source: str,
              fix: str) -> list[CheckResult]:  # fmt: skip
    """``schema.columns`` (unexpected columns first, as pandera reports them), then one result per schema column."""
    groups: list[tuple[str, list[Any]]] = []
    unexpected = [c for c in columns if c not in schema.columns]
    missing = [str(n) for n, c in schema.columns.items() if str(n) not in columns and c.required]
    if schema.strict is True and unexpected:
        groups.append(("column_in_schema", unexpected))
    if missing:
        groups.append(("column_in_dataframe", missing))
    results = [frame_result(schema, columns, groups, source=source, fix=fix)]
    for name, column in schema.columns.items():
        results.append(judged.get(str(name)) or column_missing(str(name), column, source=source))
    return results


def validate(frame: DataFrame, schema: pa.DataFrameSchema, *, source: str, schema_file: str | None = None,
             dtypes: Mapping[str, str] | None = None) -> list[CheckResult]:  # fmt: skip
    """:func:`checks.schema.validate` on a Spark frame: one result for the column set, then one per schema column.

    ``dtypes`` states the pandas dtype of columns whose Spark type does not tell it (:func:`pandas_dtype` decides
    the others from the Spark type and whether the column holds a missing value)."""
    _refuse_unsupported(schema, schema_file)
    types, stated = dict(frame.dtypes), dict(dtypes or {})

    def dtype_of(name: str, nulls: int) -> str:
        return stated.get(name) or pandas_dtype(types[name], nulls > 0)

    fix = fix_text(schema_file)
    judged = _measure(frame, schema, dtype_of, source=source, fix=fix)
    return _assemble(schema, [str(c) for c in frame.columns], judged, source=source, fix=fix)


# ---------------------------------------------------------------- the prepared data

_NUMERIC_READ = ("int64", "float64", "bool")
_NOTE = " (not a model input: left out by the [features] config; validated as read)"


def _source_nulls(dataset_frame: DataFrame, names: list[str], needed: bool) -> dict[str, int]:
    """Missing values of the integer and boolean source columns over ALL rows (one job, only when ``needed``):
    pandas reads such a column as float64 / object when any row misses a value, even a row dropped later."""
    types = dict(dataset_frame.dtypes)
    chosen = [n for n in names if types.get(n) in (*INTEGRAL, "boolean")]
    if not needed or not chosen:
        return {}
    nulls = [count_where(spark_column(n).isNull()).alias(f"s{i}") for i, n in enumerate(chosen)]
    row = dataset_frame.agg(*nulls).collect()[0]
    return {n: int(row[f"s{i}"]) for i, n in enumerate(chosen)}


def _schema_numeric(column: pa.Column) -> bool:
    """The schema declares a number (not a boolean): ``checks.schema._schema_kind``'s test."""
    dtype = getattr(column.dtype, "type", None)
    try:
        return bool(pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype))
    except TypeError:
        return False


def _read_as(column: pa.Column, read: str) -> str:
    """The dtype of a column left out of the model once given the schema's kind (``_schema_kind``)."""
    if isinstance(column.dtype, pandas_engine.STRING) and read in _NUMERIC_READ:
        return "object"
    return "float64" if _schema_numeric(column) and read not in _NUMERIC_READ else read


def _unused_frame(dataset_frame: DataFrame, target: str, names: list[str], schema: pa.DataFrameSchema,
                  markers: Sequence[str], reads: Mapping[str, str]) -> DataFrame:  # fmt: skip
    """The columns left out of the model, for the labelled rows, cleaned as ``Prepared.unused`` cleans them
    (text stripped, sentinels missing) and given the schema's kind as ``checks.schema._schema_kind`` gives it."""
    from pyspark.sql import functions as F

    types = dict(dataset_frame.dtypes)

    def cleaned(name: str) -> Column:
        if types[name] != "string":
            return spark_column(name)
        text = F.trim(spark_column(name))
        return F.when(text.isin(*markers), F.lit(None).cast("string")).otherwise(text) if markers else text

    columns = []
    for name in names:
        value, read, kind = cleaned(name), reads[name], _read_as(schema.columns[name], reads[name])
        if kind == "object" and read == "bool":
            value = F.when(value, F.lit("True")).when(~value, F.lit("False"))
        elif kind == "object":  # a float64 column's numbers as pandas writes them: 5.0
            value = (value.cast("double") if read == "float64" else value).cast("string")
        elif kind == "float64" and read not in _NUMERIC_READ:
            value = value.try_cast("double")
        columns.append(value.alias(name))
    return dataset_frame.where(cleaned(target).isNotNull()).select(*columns)


def validate_prepared(
    prepared: SparkPrepared,
    dataset_frame: DataFrame,
    schema: pa.DataFrameSchema,
    *,
    source: str,
    schema_file: str | None = None,
    missing_values: Sequence[str] = (),
) -> list[CheckResult]:
    """:func:`checks.schema.validate_prepared` on Spark: the prepared frame (without its ``__mlgate_*`` columns),
    plus the schema columns the config leaves out of the model but ``dataset_frame`` (the source as read) holds,
    for the labelled rows, cleaned with ``missing_values`` (``data.missing_values``), each result saying it is
    not a model input.

    Columns are judged with the dtypes the pandas engine's frame has: the source's, through what preparation does
    (a numeric feature read as text becomes float64, a categorical one read as numbers object). A column left out
    of the model is read for the labelled rows before any de-duplication (the pandas engine reads it for the
    rows it kept, the first of each duplicate group: Spark has no row order), so with ``data.drop_duplicates``
    and duplicates present its counts are over more rows than the prepared frame's.

    Jobs: one aggregate and (when something fails) one for examples per frame judged (the prepared frame; the
    columns left out of the model, if any), and one counting the source's missing values in its integer and
    boolean columns when rows were dropped for lacking a label or columns are left out."""
    _refuse_unsupported(schema, schema_file)
    frame = prepared.frame.drop(*[c for c in prepared.frame.columns if c.startswith("__mlgate_")])
    types = dict(dataset_frame.dtypes)
    unused = [str(n) for n in schema.columns if str(n) not in frame.columns and str(n) in types]
    needed = prepared.report.missing_target_dropped > 0 or bool(unused)
    whole = _source_nulls(dataset_frame, [*frame.columns, *unused], needed)

    def prepared_dtype(name: str, nulls: int) -> str:
        read = pandas_dtype(types[name], whole.get(name, nulls) > 0)
        if name in prepared.numeric and read not in _NUMERIC_READ:
            return "float64"
        return "object" if name in prepared.categorical and read in _NUMERIC_READ else read

    fix = fix_text(schema_file)
    judged = _measure(frame, schema, prepared_dtype, source=source, fix=fix)
    if unused:
        reads = {n: pandas_dtype(types[n], whole.get(n, 0) > 0) for n in unused}
        extra = _unused_frame(dataset_frame, prepared.target, unused, schema, missing_values, reads)
        as_read = _measure(extra, schema, lambda n, _: _read_as(schema.columns[n], reads[n]), source=source, fix=fix)
        judged = {**judged, **{n: replace(r, message=r.message + _NOTE, details={**r.details, "model_input": False})
                               for n, r in as_read.items()}}  # fmt: skip
    return _assemble(schema, [*frame.columns, *unused], judged, source=source, fix=fix)
