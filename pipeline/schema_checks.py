"""The checks of a pandera schema file: their names, parameters and options, validated without pandera.

Part of the strict schema-file reader (:mod:`pipeline.schema_file`, which says why). A check may be written
flat under a column (``in_range: {min_value: 18, max_value: 100}``, ``isin: [a, b]``), under ``checks:`` as a
mapping, or as pandera's list form (``checks: [{min_value: 18, options: {check_name: ...}}]``); every form
becomes one :class:`CheckSpec` with its canonical name (``ge`` -> ``greater_than_or_equal_to``), its
parameters (defaults filled in) and its options. A problem raises :class:`KeyProblem` with the key path.

The names are literals taken from pandera 0.35 (the registered builtin checks, ``Check``'s alias methods,
``pandera/io/_flat_checks.py`` ``CHECK_OPTION_KEYS``); ``tests/unit/test_schema_file.py`` compares them with
the installed pandera.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CHECK_ALIASES",
    "CHECK_OPTIONS",
    "KNOWN_CHECKS",
    "NON_PANDAS_CHECKS",
    "UNSUPPORTED_CHECKS",
    "UNSUPPORTED_CHECK_OPTIONS",
    "CheckSpec",
    "KeyProblem",
    "boolean",
    "parse_checks",
    "show",
    "type_name",
    "unknown",
    "value_kind",
    "value_of",
]

CHECK_OPTIONS = frozenset({"ignore_na", "raise_warning", "n_failure_cases", "error", "name"})
#: pandera check options for grouped checks, which the schema gate's reporting does not handle.
UNSUPPORTED_CHECK_OPTIONS = frozenset({"groupby", "groups"})
CHECK_ALIASES = {
    "eq": "equal_to",
    "ne": "not_equal_to",
    "gt": "greater_than",
    "ge": "greater_than_or_equal_to",
    "lt": "less_than",
    "le": "less_than_or_equal_to",
    "between": "in_range",
}
#: Registered in pandera for xarray objects: they do not apply to a pandas column.
NON_PANDAS_CHECKS = frozenset(
    {"cf_has_cell_methods", "cf_has_standard_names", "cf_standard_name", "cf_units", "dim_size", "has_attrs"}
    | {"has_coords", "has_dims", "has_encoding", "is_monotonic", "ndim", "no_duplicates_in_coord"}
)
#: pandas checks of pandera that a schema file for mlgate may not use (hypothesis tests need scipy and groups).
UNSUPPORTED_CHECKS = frozenset({"one_sample_ttest", "two_sample_ttest"})

# check -> (the parameter a bare value stands for, {parameter: kind}, required parameters)
_SPECS: dict[str, tuple[str | None, dict[str, str], frozenset[str]]] = {
    "equal_to": ("value", {"value": "scalar"}, frozenset({"value"})),
    "not_equal_to": ("value", {"value": "scalar"}, frozenset({"value"})),
    "greater_than": ("min_value", {"min_value": "bound"}, frozenset({"min_value"})),
    "greater_than_or_equal_to": ("min_value", {"min_value": "bound"}, frozenset({"min_value"})),
    "less_than": ("max_value", {"max_value": "bound"}, frozenset({"max_value"})),
    "less_than_or_equal_to": ("max_value", {"max_value": "bound"}, frozenset({"max_value"})),
    "in_range": (
        None,
        {"min_value": "bound", "max_value": "bound", "include_min": "bool", "include_max": "bool"},
        frozenset({"min_value", "max_value"}),
    ),
    "isin": ("allowed_values", {"allowed_values": "values"}, frozenset({"allowed_values"})),
    "notin": ("forbidden_values", {"forbidden_values": "values"}, frozenset({"forbidden_values"})),
    "str_matches": ("pattern", {"pattern": "pattern"}, frozenset({"pattern"})),
    "str_contains": ("pattern", {"pattern": "pattern"}, frozenset({"pattern"})),
    "str_startswith": ("string", {"string": "string"}, frozenset({"string"})),
    "str_endswith": ("string", {"string": "string"}, frozenset({"string"})),
    "str_length": (
        "exact_value",
        {"min_value": "length", "max_value": "length", "exact_value": "length"},
        frozenset(),
    ),
    "unique_values_eq": ("values", {"values": "values"}, frozenset({"values"})),
}
KNOWN_CHECKS = frozenset(_SPECS)
_SCALARS = (str, int, float, bool, dt.date)
_LARGEST = int(sys.float_info.max)


@dataclass(frozen=True)
class CheckSpec:
    """One check: its canonical pandera name, its parameters (defaults filled in) and its options."""

    name: str
    params: Mapping[str, Any]
    options: Mapping[str, Any]


class KeyProblem(Exception):
    """A problem at a key path of the schema file (turned into a SchemaFileError naming the file)."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(where, message)
        self.where, self.message = where, message


def show(value: Any, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters (a key in a message may come from a hostile file)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def unknown(key: Any, known: frozenset[str] | set[str], what: str, *, of: str = "") -> str:
    """``unknown <what> 'key'<of>``, with the closest known name when there is one."""
    close = difflib.get_close_matches(str(key), sorted(known), n=1) if isinstance(key, str) and len(key) < 80 else []
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown {what} {show(key)}{of}{hint}"


def type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def value_kind(dtype: str | None) -> str:
    """The value family of a dtype: int, float, bool, str, time or any."""
    if dtype is None:
        return "any"
    low = dtype.lower()
    if low.startswith(("int", "uint")):
        return "int"
    if low.startswith("float"):
        return "float"
    if low.startswith("bool"):
        return "bool"
    if low.startswith(("str", "category")):
        return "str"
    return "time" if low.startswith(("datetime", "timedelta", "date")) else "any"


def _number(value: Any, where: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise KeyProblem(where, f"must be a number, got {type_name(value)} {show(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise KeyProblem(where, f"must be a finite number, got {value}")
    if isinstance(value, int) and abs(value) > _LARGEST:  # float() of it would overflow
        raise KeyProblem(where, f"the number ({len(str(abs(value)))} digits) is too large for a bound or value")
    return value


def value_of(value: Any, where: str, kind: str) -> Any:
    """A value compared with the column's values: its type must fit the column's dtype."""
    if isinstance(value, float | int) and not isinstance(value, bool):
        _number(value, where)
    elif not isinstance(value, _SCALARS):
        raise KeyProblem(where, f"must be a single value (text, number or boolean), got {type_name(value)}")
    fits = {
        "int": lambda v: not isinstance(v, bool) and (isinstance(v, int) or (isinstance(v, float) and v.is_integer())),
        "float": lambda v: not isinstance(v, bool) and isinstance(v, int | float),
        "bool": lambda v: isinstance(v, bool),
        "str": lambda v: isinstance(v, str),
    }.get(kind)
    if fits is not None and not fits(value):
        hint = f"; quote it ('{value}')" if kind == "str" and not isinstance(value, str) else ""
        raise KeyProblem(where, f"{show(value)} ({type_name(value)}) does not fit the column's {kind} dtype{hint}")
    return value


def _bound(value: Any, where: str, kind: str) -> Any:
    if kind in {"time", "str"} and isinstance(value, str | dt.date) and not isinstance(value, bool):
        return value
    return _number(value, where)


def boolean(value: Any, where: str) -> bool:
    """``true`` or ``false``; a string such as ``"yes"`` is refused (pyyaml reads an unquoted yes as true)."""
    if not isinstance(value, bool):
        raise KeyProblem(where, f"must be true or false, got {type_name(value)} {show(value)}")
    return value


def _param(kind: str, value: Any, where: str, dtype_kind: str) -> Any:
    if kind == "bool":
        return boolean(value, where)
    if kind == "bound":
        return _bound(value, where, dtype_kind)
    if kind == "scalar":
        return value_of(value, where, dtype_kind)
    if kind == "values":
        if not isinstance(value, list):  # may be empty: `isin: []` is what infer writes for an all-missing column
            raise KeyProblem(where, f"must be a list of values, got {type_name(value)} {show(value)}")
        return [value_of(v, f"{where}[{i}]", dtype_kind) for i, v in enumerate(value)]
    if kind == "length":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise KeyProblem(where, f"must be a whole number >= 0, got {show(value)}")
        return value
    if not isinstance(value, str):
        raise KeyProblem(where, f"must be text, got {type_name(value)} {show(value)}")
    if kind == "pattern":
        try:
            re.compile(value)
        except re.error as exc:
            raise KeyProblem(where, f"is not a valid regular expression ({exc})") from exc
    return value


def _option(key: str, value: Any, where: str) -> Any:
    if key in {"ignore_na", "raise_warning"}:
        return boolean(value, where)
    if key == "n_failure_cases" and value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise KeyProblem(where, f"must be a whole number or null, got {show(value)}")
    if key in {"error", "name"} and not isinstance(value, str):
        raise KeyProblem(where, f"must be text, got {type_name(value)} {show(value)}")
    return value


# ---------------------------------------------------------------- checks


def _check_name(name: Any, where: str, others: frozenset[str] = frozenset()) -> str:
    """The canonical name of a check key, or a KeyProblem naming the known checks (and close matches)."""
    if isinstance(name, str) and name in CHECK_ALIASES:
        return CHECK_ALIASES[name]
    if isinstance(name, str) and name in _SPECS:
        return name
    if isinstance(name, str) and name in NON_PANDAS_CHECKS:
        raise KeyProblem(where, f"check {name!r} is a pandera check for xarray data, not for a pandas column")
    if isinstance(name, str) and name in UNSUPPORTED_CHECKS:
        raise KeyProblem(where, f"check {name!r} (a hypothesis test) is not supported in an mlgate schema file")
    names = KNOWN_CHECKS | set(CHECK_ALIASES)
    listed = f" (known checks: {', '.join(sorted(KNOWN_CHECKS))}"
    listed += f"; column keys: {', '.join(sorted(others))})" if others else ")"
    raise KeyProblem(where, unknown(name, names | others, "key" if others else "check") + listed)


def _check(name: str, value: Any, where: str, dtype_kind: str, *, nested: bool) -> CheckSpec:
    """One check from its YAML value: a bare value, or a mapping of parameters and options."""
    unary, kinds, required = _SPECS[name]
    options: dict[str, Any] = {}
    if isinstance(value, dict):
        given = dict(value)
        extra = given.pop("options", None) if nested else None
        if extra is not None:
            if not isinstance(extra, dict):
                raise KeyProblem(f"{where}.options", f"must be a mapping of check options, got {type_name(extra)}")
            extra = {k: v for k, v in extra.items() if k != "check_name"}
            given.update({k: v for k, v in extra.items() if k not in given})
        if set(given) == {"value"} and unary is not None:
            given = {unary: given["value"]}
    elif value is None:
        given = {}
    elif unary is None:
        raise KeyProblem(where, f"needs a mapping with {' and '.join(sorted(required))}, got {show(value)}")
    else:
        given = {unary: value}
    bare = not isinstance(value, dict)  # `isin: [a, b]`: the path is the check's, not `.allowed_values`
    params: dict[str, Any] = {}
    for key, item in given.items():
        if key in kinds and kinds[key] == "length" and item is None:
            continue  # pandera writes the unused str_length bounds as null
        if key in kinds:
            params[key] = _param(kinds[key], item, where if bare else f"{where}.{key}", dtype_kind)
        elif key in CHECK_OPTIONS:
            options[key] = _option(key, item, f"{where}.{key}")
        elif key in UNSUPPORTED_CHECK_OPTIONS:
            raise KeyProblem(f"{where}.{key}", "grouped checks are not supported in an mlgate schema file")
        else:
            raise KeyProblem(
                where,
                unknown(key, set(kinds) | CHECK_OPTIONS, "option", of=f" for check {name!r}")
                + f" (options: {', '.join(kinds)}; check options: {', '.join(sorted(CHECK_OPTIONS))})",
            )
    missing = sorted(required - set(params))
    if missing or not params:
        needs = " and ".join(sorted(required)) or "one of " + ", ".join(kinds)
        raise KeyProblem(where, f"missing {show(missing[0]) if missing else 'a value'} ({name} needs {needs})")
    return CheckSpec(name, _defaults(name, params, where), options)


def _defaults(name: str, params: dict[str, Any], where: str) -> dict[str, Any]:
    """Fill in the include_* defaults and refuse an empty interval (min above max)."""
    low_key, high_key = ("min_value", "max_value")
    if name == "in_range":
        params = {"include_min": True, "include_max": True, **params}
    low, high = params.get(low_key), params.get(high_key)
    if low is None or high is None or (type(low) is not type(high) and not _both_numbers(low, high)):
        return params
    if low > high:
        raise KeyProblem(where, f"min_value {low} is above max_value {high}: no value can pass")
    if low == high and name == "in_range" and not (params["include_min"] and params["include_max"]):
        raise KeyProblem(where, f"min_value and max_value are both {low} with an excluded end: no value can pass")
    return params


def _both_numbers(a: Any, b: Any) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in (a, b))


def parse_checks(
    spec: dict[Any, Any], where: str, dtype_kind: str, *, flat_keys: frozenset[str]
) -> tuple[CheckSpec, ...]:
    """The checks of a column (flat keys and/or ``checks:``) or of the frame (``checks:`` only)."""
    flat = [k for k in spec if k not in flat_keys]
    nested = spec.get("checks")
    if nested is not None and flat:
        raise KeyProblem(
            f"{where}.{flat[0]}",
            "pandera ignores checks written as column keys when the column also has 'checks:'; keep one form",
        )
    found = [
        _check(_check_name(k, f"{where}", flat_keys), spec[k], f"{where}.{k}", dtype_kind, nested=False) for k in flat
    ]
    if isinstance(nested, dict):
        for key, value in nested.items():
            name = _check_name(key, f"{where}.checks")
            found.append(_check(name, value, f"{where}.checks.{key}", dtype_kind, nested=True))
    elif isinstance(nested, list):
        for i, entry in enumerate(nested):
            here = f"{where}.checks[{i}]"
            options = entry.get("options") if isinstance(entry, dict) else None
            if not isinstance(options, dict) or "check_name" not in options:
                raise KeyProblem(here, "a list entry needs 'options: {check_name: ...}' (or write checks as a mapping)")
            name = _check_name(options["check_name"], f"{here}.options.check_name")
            found.append(_check(name, entry, here, dtype_kind, nested=True))
    elif nested is not None:
        raise KeyProblem(f"{where}.checks", f"must be a mapping of checks, got {type_name(nested)}")
    return tuple(found)
