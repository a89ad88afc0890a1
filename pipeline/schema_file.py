"""Strict reading of the committed pandera schema file (YAML), with pyyaml only.

pandera's YAML reader drops what it does not know: a misspelled check (``in_rnage:``) or column key is
ignored, and the check it meant never runs. This module is the one strict gate in front of every reader of
the file - the schema gate (``checks.schema.load_schema``), the pre-commit hooks and the serving app
(``pipeline.serve.models.column_specs``) - and needs no pandera, which the serving image does not install.

* :func:`read_schema_text` / :func:`parse_schema_yaml` read the file bounded: at most
  :data:`MAX_SCHEMA_BYTES`, strict UTF-8, no YAML aliases (a "billion laughs" file expands nothing), nesting
  at most :data:`MAX_DEPTH`, no duplicate keys. Syntax errors stay ``yaml.YAMLError`` and I/O errors stay
  ``OSError``/``UnicodeDecodeError`` so each caller words them for its context; a refused file is a
  :class:`~pipeline.errors.SchemaFileError`.
* :func:`validate_schema` checks the structure: known keys, known checks with known and complete options,
  value types (booleans, finite bounds, min <= max, lists of values fitting the column's dtype), known dtypes;
  it returns the normalised :class:`SchemaFile` (aliases such as ``ge`` resolved, flat and ``checks:`` forms
  merged). Every problem is one :class:`SchemaFileError` naming the file and the key path.

The key and check sets are literals taken from pandera 0.35's reader (``pandera/io/pandas_io.py``:
``deserialize_schema``, ``_deserialize_component_stats``; ``pandera/io/_flat_checks.py``) and its registered
builtin checks. ``tests/unit/test_schema_file.py`` compares them with the installed pandera, so an upgrade
that adds a check or key fails a test instead of being refused (or ignored) in silence.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mlgate.pipeline.errors import SchemaFileError
from mlgate.pipeline.schema_checks import (
    CHECK_ALIASES,
    CHECK_OPTIONS,
    KNOWN_CHECKS,
    NON_PANDAS_CHECKS,
    UNSUPPORTED_CHECK_OPTIONS,
    UNSUPPORTED_CHECKS,
    CheckSpec,
    KeyProblem,
    boolean,
    parse_checks,
    show,
    type_name,
    unknown,
    value_kind,
    value_of,
)

__all__ = [
    "CHECK_ALIASES",
    "CHECK_OPTIONS",
    "COLUMN_KEYS",
    "DTYPES",
    "KNOWN_CHECKS",
    "MAX_DEPTH",
    "MAX_SCHEMA_BYTES",
    "NON_PANDAS_CHECKS",
    "TOP_LEVEL_KEYS",
    "UNSUPPORTED_CHECKS",
    "UNSUPPORTED_CHECK_OPTIONS",
    "CheckSpec",
    "ColumnFile",
    "SchemaFile",
    "load_schema_file",
    "parse_schema_yaml",
    "read_schema_file",
    "read_schema_text",
    "validate_schema",
]

MAX_SCHEMA_BYTES = 1 << 20  # a schema of 3,000 columns with 20 categories each is 0.95 MB
MAX_DEPTH = 12  # the deepest legitimate path: columns.<name>.checks[i].options.<key> (5 levels)

TOP_LEVEL_KEYS = frozenset(
    {"schema_type", "version", "api", "dataframe_library", "columns", "checks", "dtype", "coerce", "strict"}
    | {"name", "ordered", "unique", "report_duplicates", "unique_column_names", "add_missing_columns", "title"}
    | {"description", "drop_invalid_rows", "metadata", "index", "multiindex"}
)
#: pandera reads these top-level keys, but mlgate's prepared frames have a plain row index.
_UNSUPPORTED_TOP = {"index": "index checks", "multiindex": "multi-index options"}
COLUMN_KEYS = frozenset(
    {"title", "description", "dtype", "nullable", "checks", "name", "unique", "coerce", "required", "regex"}
    | {"default", "report_duplicates", "drop_invalid_rows"}
)
_INTS = {f"{prefix}{bits}" for prefix in ("int", "uint", "Int", "UInt") for bits in (8, 16, 32, 64)}
_UNITS = ("s", "ms", "us", "ns")
DTYPES = frozenset(
    {"int", "float", "float16", "float32", "float64", "Float32", "Float64", "bool", "boolean", "str", "string"}
    | {"string[python]", "string[pyarrow]", "object", "category", "datetime64", "timedelta64", "date"}
    | _INTS
    | {f"datetime64[{u}]" for u in _UNITS}
    | {f"timedelta64[{u}]" for u in _UNITS}
)
_TZ_DTYPE = re.compile(r"datetime64\[(s|ms|us|ns), ([A-Za-z0-9_+\-]+(?:/[A-Za-z0-9_+\-]+)*)\]")
_REPORT_DUPLICATES = ("exclude_first", "exclude_last", "all")


@dataclass(frozen=True)
class ColumnFile:
    """One column of the schema file, validated."""

    name: str
    dtype: str | None
    nullable: bool
    checks: tuple[CheckSpec, ...]


@dataclass(frozen=True)
class SchemaFile:
    """The validated schema file: its columns (in file order) and frame-level checks."""

    columns: Mapping[str, ColumnFile]
    checks: tuple[CheckSpec, ...]


# ---------------------------------------------------------------- reading


def read_schema_text(path: str | Path) -> str:
    """The file's text: a regular file of at most :data:`MAX_SCHEMA_BYTES`, strict UTF-8 (a BOM is dropped).

    Raises ``FileNotFoundError``/``OSError``/``UnicodeDecodeError`` as is, :class:`SchemaFileError` when too large.
    """
    path = Path(path)
    with path.open("rb") as handle:
        data = handle.read(MAX_SCHEMA_BYTES + 1)
    if len(data) > MAX_SCHEMA_BYTES:
        raise SchemaFileError(
            f"{path}: schema file is larger than the limit of {MAX_SCHEMA_BYTES} bytes; a schema file lists "
            "columns and checks, not data"
        )
    return data.decode("utf-8-sig")


class _StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]  # pyyaml is untyped: Any base
    """pyyaml's safe loader (libyaml when present) that refuses duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:  # an unhashable key: let pyyaml say so
                break
            if duplicate:
                raise SchemaFileError(
                    f"line {key_node.start_mark.line + 1}: duplicate key {show(key)} (YAML would keep only the last)"
                )
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping


def parse_schema_yaml(text: str, source: str | Path) -> Any:
    """Parse ``text`` with pyyaml's safe loader after refusing aliases and deep nesting (events pass, C speed).

    Raises ``yaml.YAMLError`` for a syntax error and :class:`SchemaFileError` for a refused construct.
    """
    depth = 0
    for event in yaml.parse(text, Loader=_StrictLoader):
        if isinstance(event, yaml.AliasEvent):
            raise SchemaFileError(
                f"{source}: line {event.start_mark.line + 1}: YAML alias *{show(event.anchor, 40)[1:-1]} is not "
                "allowed in a schema file (write the value out)"
            )
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise SchemaFileError(
                    f"{source}: line {event.start_mark.line + 1}: nested deeper than {MAX_DEPTH} levels; "
                    "not a schema file"
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except SchemaFileError as exc:
        raise SchemaFileError(f"{source}: {exc}") from exc


def read_schema_file(path: str | Path) -> tuple[str, Any]:
    """The file's text and its parsed YAML (bounded, as above); every problem is one :class:`SchemaFileError`."""
    path = Path(path)
    try:
        text = read_schema_text(path)
    except FileNotFoundError as exc:
        raise SchemaFileError(
            f"{path}: schema file not found; propose one with `mlgate schema infer --out <file>`, review it and "
            "commit it"
        ) from exc
    except UnicodeDecodeError as exc:
        raise SchemaFileError(f"{path}: schema file is not UTF-8 text (byte {exc.start})") from exc
    except OSError as exc:
        raise SchemaFileError(f"{path}: cannot read schema file ({exc.strerror})") from exc
    try:
        return text, parse_schema_yaml(text, path)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        lines = text.count("\n") + 1  # libyaml puts an error at the end of the text on the line after it
        line = f" at line {min(where.line + 1, lines)}" if where is not None else ""
        problem = getattr(exc, "problem", None)
        raise SchemaFileError(
            f"{path}: schema file is not valid YAML{line}" + (f" ({problem})" if problem else "")
        ) from exc


def load_schema_file(path: str | Path) -> SchemaFile:
    """Read, parse and validate ``path``; every problem is one :class:`SchemaFileError` naming the file."""
    _, raw = read_schema_file(path)
    return validate_schema(raw, path)


# ---------------------------------------------------------------- keys


def _typed(value: Any, where: str, kind: str) -> Any:
    """A column or frame key's value: bool, text (or null), dtype (or null)."""
    if kind == "bool":
        return boolean(value, where)
    if value is None:
        return None
    if kind == "dtype":
        if not isinstance(value, str):
            raise KeyProblem(where, f"must be a dtype name, got {type_name(value)} {show(value)}")
        match = _TZ_DTYPE.fullmatch(value)
        if value in DTYPES or (match and _is_timezone(match.group(2))):
            return value
        raise KeyProblem(
            where, f"unknown dtype {show(value)} (known: {', '.join(sorted(DTYPES))}, datetime64[ns, <tz>])"
        )
    if kind == "text" and not isinstance(value, str):
        raise KeyProblem(where, f"must be text, got {type_name(value)} {show(value)}")
    if kind == "report_duplicates" and value not in _REPORT_DUPLICATES:
        raise KeyProblem(where, f"must be one of {', '.join(_REPORT_DUPLICATES)}, got {show(value)}")
    return value


def _is_timezone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        return False
    return True


_COLUMN_KINDS = {"dtype": "dtype", "title": "text", "description": "text", "name": "text"}
_COLUMN_KINDS |= {k: "bool" for k in ("nullable", "unique", "coerce", "required", "regex", "drop_invalid_rows")}
_COLUMN_KINDS |= {"report_duplicates": "report_duplicates", "default": "any", "checks": "any"}
_TOP_KINDS = {"dtype": "dtype", "name": "text", "title": "text", "description": "text"}
_TOP_KINDS |= {k: "bool" for k in ("coerce", "ordered", "unique_column_names", "add_missing_columns")}
_TOP_KINDS |= {"drop_invalid_rows": "bool", "report_duplicates": "report_duplicates", "version": "any"}


def _column(name: Any, spec: Any, where: str) -> ColumnFile:
    if not isinstance(name, str):
        raise KeyProblem(where, f"column name {show(name)} must be text (quote it in the YAML)")
    if not isinstance(spec, dict):
        raise KeyProblem(
            where, f"must be a mapping of column keys (dtype, nullable, checks, ...), got {type_name(spec)}"
        )
    for key in spec.keys() & COLUMN_KEYS:
        _typed(spec[key], f"{where}.{key}", _COLUMN_KINDS[key])
    if "default" in spec and spec["default"] is not None:
        value_of(spec["default"], f"{where}.default", "any")
    dtype = spec.get("dtype")
    checks = parse_checks(spec, where, value_kind(dtype), flat_keys=COLUMN_KEYS)
    return ColumnFile(name, dtype, bool(spec.get("nullable", False)), checks)


def _top(raw: dict[Any, Any]) -> None:
    """The frame-level keys other than ``columns`` and ``checks``."""
    for key, value in raw.items():
        if key not in TOP_LEVEL_KEYS:
            known = ", ".join(sorted(TOP_LEVEL_KEYS - set(_UNSUPPORTED_TOP)))
            raise KeyProblem("", unknown(key, TOP_LEVEL_KEYS, "top-level key") + f" (known keys: {known})")
        if key in _UNSUPPORTED_TOP and value is not None:
            raise KeyProblem(
                key, f"{_UNSUPPORTED_TOP[key]} are not supported: mlgate's prepared frames have a row index"
            )
        if key in _TOP_KINDS:
            _typed(value, key, _TOP_KINDS[key])
    expected = {"schema_type": ("dataframe",), "api": ("pandas",), "dataframe_library": ("pandas",)}
    for key, allowed in expected.items():
        if key in raw and raw[key] not in allowed:
            raise KeyProblem(key, f"must be {allowed[0]!r}, got {show(raw[key])} (mlgate validates pandas DataFrames)")
    if "strict" in raw and raw["strict"] not in (True, False, "filter"):
        raise KeyProblem("strict", f"must be true, false or 'filter', got {show(raw['strict'])}")
    if raw.get("metadata") is not None and not isinstance(raw["metadata"], dict):
        raise KeyProblem("metadata", f"must be a mapping, got {type_name(raw['metadata'])}")
    unique = raw.get("unique")
    names = [unique] if isinstance(unique, str) else unique
    if names is not None:
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise KeyProblem("unique", f"must be a column name or a list of column names, got {show(unique)}")
        missing = [n for n in names if n not in raw["columns"]]
        if missing:
            raise KeyProblem("unique", f"{show(missing[0])} is not a column of the schema")


def _label(name: Any) -> str:
    """A column name in a key path: as written when short and printable, else quoted (no terminal escapes)."""
    return name if isinstance(name, str) and name.isprintable() and len(name) <= 60 else show(name)


def validate_schema(raw: Any, source: str | Path) -> SchemaFile:
    """Check a parsed schema file strictly; one :class:`SchemaFileError` ``<source>: <key path>: <problem>``."""
    if not isinstance(raw, dict) or not isinstance(raw.get("columns"), dict) or not raw["columns"]:
        raise SchemaFileError(f"{source}: not a pandera schema: expected a mapping with a non-empty 'columns' key")
    try:
        _top(raw)
        columns = {name: _column(name, spec, f"columns.{_label(name)}") for name, spec in raw["columns"].items()}
        frame_checks = parse_checks({"checks": raw.get("checks")}, "", "any", flat_keys=frozenset({"checks"}))
    except KeyProblem as bad:
        where = bad.where.lstrip(".")
        raise SchemaFileError(f"{source}: {where}: {bad.message}" if where else f"{source}: {bad.message}") from None
    return SchemaFile(columns, frame_checks)
