"""The schema gate layer: the prepared frame against the committed pandera schema.

Validation is lazy, so every failing column is reported, each as its own result
(``schema.column[<name>]``) naming the failing checks, how many values fail, examples and their rows;
frame-level problems (missing or unexpected columns) are one result, ``schema.columns``. Columns that pass
get a PASS result each, so the report shows what was checked.

A column the schema names but the ``[features]`` config leaves out of the model (``features.exclude``, or not in
``features.include``) is still in the data: :func:`validate_prepared` reads it for the same rows and validates it
as read, instead of calling it missing. The layer also runs the data-integrity checks
(:mod:`checks.duplicates`: ``schema.duplicate_rows``).

A missing or unreadable schema file is a usage error, not a gate failure: :func:`load_schema` raises
:class:`~pipeline.errors.SchemaFileError` (exit code 2) and :func:`run` lets it propagate.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pandera.pandas as pa
from pandera.engines import pandas_engine
from pandera.errors import SchemaErrorReason, SchemaErrors

from mlgate.checks import integrity
from mlgate.checks.result import CheckResult
from mlgate.checks.schema_infer import infer_for_config, infer_schema, load_prepared, schema_yaml
from mlgate.checks.schema_messages import (
    CASES_PER_CHECK,
    LAYER,
    MAX_EXAMPLES,
    check_name,
    column_failed,
    column_missing,
    column_passed,
    describe_check,
    examples,
    failing_rows,
    fix_text,
    frame_result,
)
from mlgate.pipeline.errors import SchemaFileError
from mlgate.pipeline.prepare import Prepared
from mlgate.pipeline.schema_file import read_schema_file, validate_schema

if TYPE_CHECKING:
    from mlgate.checks.evidence import Evidence

__all__ = [
    "check_errors",
    "infer_for_config",
    "infer_schema",
    "load_prepared",
    "load_schema",
    "run",
    "schema_yaml",
    "validate",
    "validate_prepared",
]


def load_schema(path: Path) -> pa.DataFrameSchema:
    """Read a committed pandera YAML schema; every problem is a one-line :class:`SchemaFileError`.

    The file is read bounded and validated strictly first (:mod:`pipeline.schema_file`): pandera's reader
    ignores unknown keys and misspelled checks, so a typo would silently disable the check it meant.
    """
    path = Path(path)
    text, raw = read_schema_file(path)
    validate_schema(raw, path)
    try:
        schema = pa.DataFrameSchema.from_yaml(text)
    except Exception as exc:  # pandera raises TypeError/ValueError/KeyError/SchemaInitError for bad content
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SchemaFileError(f"{path}: not a valid pandera schema: {reason}") from exc
    if not isinstance(schema, pa.DataFrameSchema):
        raise SchemaFileError(f"{path}: not a pandas DataFrameSchema (schema_type/api must be dataframe/pandas)")
    return schema


# ---------------------------------------------------------------- validation


def _normalise_strings(frame: pd.DataFrame, schema: pa.DataFrameSchema) -> pd.DataFrame:
    """Give string columns the schema's string dtype, so pandera compares values, not string storage.

    pandera checks an object column against a string dtype element by element (a Python call per value);
    a vectorised ``infer_dtype`` decides the same thing. Columns holding anything but strings are left alone
    so pandera reports the offending values.
    """
    converted: dict[str, pd.Series] = {}
    for name, column in schema.columns.items():
        if name not in frame.columns or not isinstance(column.dtype, pandas_engine.STRING):
            continue
        series = frame[name]
        target = column.dtype.type
        if series.dtype == target:
            continue
        is_strings = isinstance(series.dtype, pd.StringDtype) or (
            series.dtype == object and pd.api.types.infer_dtype(series, skipna=True) in {"string", "empty"}
        )
        if is_strings:
            converted[name] = series.astype(target)
    return frame.assign(**converted) if converted else frame


def _capped(schema: pa.DataFrameSchema) -> pa.DataFrameSchema:
    """A copy of ``schema`` whose checks keep only the first failure cases: pandera formats every failure
    case into a message string, which takes seconds when a whole column of a million rows fails."""
    capped = copy.deepcopy(schema)
    for column in capped.columns.values():
        for check in column.checks:
            check.n_failure_cases = CASES_PER_CHECK
    return capped


def _column_result(
    name: str,
    column: pa.Column,
    frame: pd.DataFrame,
    cases: pd.DataFrame,
    errors: list[str],
    *,
    source: str,
    fix: str,
) -> CheckResult:
    if name not in frame.columns:
        return column_missing(name, column, source=source)
    series = frame[name]
    if cases.empty and not errors:
        return column_passed(name, column, str(series.dtype), len(frame), source=source)
    checks = list(dict.fromkeys(cases["check"].tolist()))
    nulls = any(check_name(c) == "not_nullable" for c in checks)
    described = []
    for check in checks:
        parts, count = describe_check(check, cases[cases["check"] == check], column, series, nulls)
        described.append((check, parts, count))
    rows = failing_rows(cases)
    return column_failed(
        name,
        column,
        str(series.dtype),
        described,
        errors,
        distinct_rows=len(rows),
        shown=examples(cases["failure_case"]),
        rows=rows[:MAX_EXAMPLES].tolist(),
        source=source,
        fix=fix,
    )


def check_errors(exc: SchemaErrors) -> dict[str, list[str]]:
    """Per column, the checks pandera could not run (a comparison of text with a number...), worded."""
    found: dict[str, list[str]] = {}
    for error in exc.schema_errors:
        if error.reason_code is SchemaErrorReason.CHECK_ERROR:
            column = getattr(error.schema, "name", None)
            reason = str(error).split(": ", 1)[-1].splitlines()[0]
            found.setdefault(str(column), []).append(f"check {error.check} could not run: {reason}")
    return found


def validate(
    frame: pd.DataFrame, schema: pa.DataFrameSchema, *, source: str, schema_file: str | None = None
) -> list[CheckResult]:
    """Validate ``frame`` lazily; one result for the column set, then one per schema column (pass or fail)."""
    data = _normalise_strings(frame, schema)
    failures = pd.DataFrame(columns=["schema_context", "column", "check", "check_number", "failure_case", "index"])
    errors: dict[str, list[str]] = {}
    try:
        _capped(schema).validate(data, lazy=True, inplace=True)
    except SchemaErrors as exc:
        failures = exc.failure_cases
        errors = check_errors(exc)
        errored = failures["failure_case"].astype(str).str.contains("Error(", regex=False) & failures["index"].isna()
        failures = failures.loc[~errored]
    fix = fix_text(schema_file)
    is_column = failures["schema_context"].isin(["Column", "SeriesSchema"])
    frame_cases = failures.loc[~is_column]
    groups = [(str(check), group["failure_case"].tolist()) for check, group in frame_cases.groupby("check", sort=False)]
    results = [frame_result(schema, [str(c) for c in frame.columns], groups, source=source, fix=fix)]
    column_cases = failures.loc[is_column]
    by_column = {str(k): g for k, g in column_cases.groupby("column", sort=False)}
    empty = column_cases.iloc[0:0]
    for name, column in schema.columns.items():
        results.append(
            _column_result(
                str(name),
                column,
                frame,
                by_column.get(str(name), empty),
                errors.get(str(name), []),
                source=source,
                fix=fix,
            )
        )
    return results


def _schema_kind(series: pd.Series, column: pa.Column) -> pd.Series:
    """``series`` given the kind (text or number) the schema declares, the way preparation gives a feature its
    kind (a number read as text, text coerced to a number): the schema was inferred from prepared columns."""
    dtype = getattr(column.dtype, "type", None)
    try:
        numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    except TypeError:
        numeric = False
    if isinstance(column.dtype, pandas_engine.STRING) and pd.api.types.is_numeric_dtype(series.dtype):
        return series.astype("string").astype(object).where(series.notna(), None)
    if numeric and not pd.api.types.is_numeric_dtype(series.dtype):
        return pd.to_numeric(series, errors="coerce")
    return series


def validate_prepared(
    prepared: Prepared, schema: pa.DataFrameSchema, *, source: str, schema_file: str | None = None
) -> list[CheckResult]:
    """:func:`validate` on the prepared frame plus the schema columns the config leaves out of the model but the
    data holds (read for the same rows), each of those results saying it is not a model input."""
    unused = [str(n) for n in schema.columns if n not in prepared.frame.columns]
    unused = [n for n in unused if prepared.source is not None and n in prepared.source.columns]
    frame = prepared.frame
    if unused:
        extra = prepared.unused(unused)
        extra = extra.assign(**{name: _schema_kind(extra[name], schema.columns[name]) for name in unused})
        frame = pd.concat([frame, extra], axis=1)
    results = validate(frame, schema, source=source, schema_file=schema_file)
    note = " (not a model input: left out by the [features] config; validated as read)"
    return [
        replace(r, message=r.message + note, details={**r.details, "model_input": False})
        if r.id in {f"{LAYER}.column[{name}]" for name in unused}
        else r
        for r in results
    ]


def run(evidence: Evidence) -> list[CheckResult]:
    """The layer entry point: load the committed schema (errors propagate), validate the prepared data against
    it, then the data-integrity checks."""
    from mlgate.checks import duplicates

    config = evidence.config
    schema = load_schema(config.schema_path)
    source = evidence.dataset.source
    results = validate_prepared(evidence.prepared, schema, source=source, schema_file=config.schema_file)
    return results + duplicates.run(evidence) + integrity.run(evidence)
