"""Request and response models generated from the committed pandera schema (``schema.yaml``).

The schema is read with pyyaml, not pandera: the serving image does not install pandera (``import
pandera.pandas`` costs about 0.5 s and tens of MB at start-up, and it would pull the validation backends
into every replica). Only the column checks that bound a single value are translated; each becomes a
pydantic constraint, so a payload the schema would reject is answered with 422 naming the field before
the model sees it:

- ``isin`` -> ``Literal[...]`` of the allowed values;
- ``in_range`` / ``greater_than[_or_equal_to]`` / ``less_than[_or_equal_to]`` -> ``gt``/``ge``/``lt``/``le``;
- ``equal_to`` -> a one-value ``Literal``; ``str_length`` -> ``min_length``/``max_length``;
  ``str_matches`` -> ``pattern``; ``notin`` -> a validator;
- ``nullable: true`` -> ``Optional`` (the field is still required: send ``null`` for a missing value);
- every model has ``extra="forbid"``; numbers refuse NaN and infinities; types are strict (``"44"`` is
  not an integer).

A check that cannot be translated is an error at start-up (:class:`SchemaTranslationError`), never a
silently dropped rule. Only the model's feature columns are part of a request (not the target).

The body of ``POST /predict`` is one JSON object: either one record (the feature columns), or a batch
``{"records": [record, ...]}``. The key ``records`` selects the batch form.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    Tag,
    TypeAdapter,
    create_model,
    model_validator,
)
from pydantic_core import PydanticCustomError

from mlgate.pipeline.errors import SchemaFileError
from mlgate.pipeline.schema_file import ColumnFile, validate_schema

__all__ = [
    "BATCH_TOO_LARGE",
    "ApiModels",
    "ColumnSpec",
    "Detail",
    "ErrorItem",
    "Invalid",
    "SchemaTranslationError",
    "build_models",
    "column_specs",
]

BATCH_TOO_LARGE = "batch_too_large"
_NAMES = {"int": "integer", "float": "number", "str": "string", "bool": "boolean"}

_BOUNDS = {
    "greater_than": "gt",
    "greater_than_or_equal_to": "ge",
    "less_than": "lt",
    "less_than_or_equal_to": "le",
}


class SchemaTranslationError(SchemaFileError):
    """The schema file cannot be turned into request models (unknown dtype or check, missing feature)."""


@dataclass(frozen=True)
class ColumnSpec:
    """One request field: its python type, its constraints and whether null is allowed."""

    name: str
    kind: Literal["int", "float", "str", "bool"]
    nullable: bool
    allowed: tuple[Any, ...] | None = None
    forbidden: tuple[Any, ...] | None = None
    bounds: tuple[tuple[str, float], ...] = ()
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None


def _kind(dtype: object, column: str, source: str) -> Literal["int", "float", "str", "bool"]:
    text = str(dtype).lower()
    if text.startswith(("int", "uint")):
        return "int"
    if text.startswith("float"):
        return "float"
    if text.startswith(("str", "object", "category")):
        return "str"
    if text.startswith("bool"):
        return "bool"
    raise SchemaTranslationError(
        f"{source}: column '{column}' has dtype {dtype!r}; the serving app supports int*, uint*, float*, "
        "str/string/object/category and bool columns"
    )


def _column_spec(column: ColumnFile, source: str) -> ColumnSpec:
    """The request field for one validated schema column (checks already normalised: aliases resolved)."""
    name = column.name
    kind = _kind(column.dtype or "object", name, source)
    fields: dict[str, Any] = {"name": name, "kind": kind, "nullable": column.nullable}
    bounds: list[tuple[str, float]] = []
    for check in column.checks:
        params = check.params
        if check.name in _BOUNDS and kind in {"int", "float"}:
            bounds.append((_BOUNDS[check.name], float(params.get("min_value", params.get("max_value")))))
        elif check.name == "in_range" and kind in {"int", "float"}:
            bounds.append(("ge" if params["include_min"] else "gt", float(params["min_value"])))
            bounds.append(("le" if params["include_max"] else "lt", float(params["max_value"])))
        elif check.name == "isin":
            fields["allowed"] = tuple(params["allowed_values"])
        elif check.name == "equal_to":
            fields["allowed"] = (params["value"],)
        elif check.name == "notin":
            fields["forbidden"] = tuple(params["forbidden_values"])
        elif check.name == "str_length" and kind == "str":
            exact = params.get("exact_value")
            fields["min_length"] = params.get("min_value", exact)
            fields["max_length"] = params.get("max_value", exact)
        elif check.name == "str_matches" and kind == "str":
            fields["pattern"] = params["pattern"]
        else:
            shown = ", ".join(f"{k}={v!r}" for k, v in params.items())
            raise SchemaTranslationError(
                f"{source}: column '{name}' has check {check.name!r} ({shown}) that the serving app cannot "
                "enforce on a request; supported: isin, notin, equal_to, in_range, greater_than[_or_equal_to], "
                "less_than[_or_equal_to], str_length, str_matches"
            )
    fields["bounds"] = tuple(bounds)
    return ColumnSpec(**fields)


def column_specs(schema: dict[str, Any], features: list[str], *, source: str = "schema.yaml") -> list[ColumnSpec]:
    """The request fields for ``features`` (in that order) from a parsed pandera YAML schema.

    The schema is validated strictly first (:func:`pipeline.schema_file.validate_schema`): an unknown key or
    check, a missing option or a bad value refuses the bundle at start-up (:class:`SchemaFileError`, one line
    naming the file and key) instead of serving without the check the file meant.
    """
    columns = schema.get("columns") if isinstance(schema, dict) else None
    if not isinstance(columns, dict):
        raise SchemaTranslationError(f"{source}: not a pandera DataFrameSchema YAML (no 'columns' mapping)")
    validated = validate_schema(schema, source)
    missing = [f for f in features if f not in validated.columns]
    if missing:
        raise SchemaTranslationError(
            f"{source}: model feature '{missing[0]}' is not a column of the schema (schema columns: {sorted(columns)})"
        )
    return [_column_spec(validated.columns[name], source) for name in features]


def _not_in(forbidden: tuple[Any, ...]) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if value in forbidden:
            raise ValueError(f"value {value!r} is not allowed (forbidden values: {list(forbidden)})")
        return value

    return check


def _not_null(value: Any) -> Any:
    if value is None:
        raise PydanticCustomError("not_nullable", "Input should not be null: the schema does not allow missing values")
    return value


def _exact_type(kind: str) -> Callable[[Any], Any]:
    """The JSON type must match the column's: no ``"44"`` for an integer, no ``true`` for a number, no ``2``
    for a category. An integral number (``44.0``) is an integer, as in JSON Schema. (Literal values alone
    would compare loosely: ``True == 1 == 1.0``.)"""
    accepted = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,)}[kind]

    def check(value: Any) -> Any:
        if kind == "int" and isinstance(value, float) and value.is_integer():
            return int(value)
        if value is not None and (isinstance(value, bool) is not (kind == "bool") or not isinstance(value, accepted)):
            raise PydanticCustomError(f"{kind}_type", "Input should be a valid {name}", {"name": _NAMES[kind]})
        return value

    return check


def _annotation(spec: ColumnSpec) -> Any:
    if spec.allowed is not None:
        values: tuple[Any, ...]
        if spec.kind == "int":
            values = tuple(int(v) for v in spec.allowed)
        elif spec.kind == "float":
            values = tuple(float(v) for v in spec.allowed)
        else:
            values = tuple(spec.allowed)
        base: Any = Literal[values]
    else:
        constraints: dict[str, Any] = {}
        if spec.kind in {"int", "float"}:
            for op, bound in spec.bounds:
                constraints[op] = int(bound) if spec.kind == "int" and bound.is_integer() else bound
        if spec.kind == "int":  # the model frame is int64: a larger integer would overflow there
            constraints["ge"] = max(constraints.get("ge", -(2**63)), -(2**63))
            constraints["le"] = min(constraints.get("le", 2**63 - 1), 2**63 - 1)
        if spec.kind == "float":
            constraints["allow_inf_nan"] = False
        if spec.kind == "str":
            constraints.update(min_length=spec.min_length, max_length=spec.max_length, pattern=spec.pattern)
        types = {"int": StrictInt, "float": float, "str": StrictStr, "bool": StrictBool}
        kept = {k: v for k, v in constraints.items() if v is not None}
        base = Annotated[types[spec.kind], Field(strict=True, **kept)]
    base = Annotated[base, BeforeValidator(_exact_type(spec.kind))]
    if spec.forbidden is not None:
        base = Annotated[base, AfterValidator(_not_in(spec.forbidden))]
    return base | None if spec.nullable else Annotated[base, BeforeValidator(_not_null)]


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)


class Prediction(_Closed):
    request_id: str = Field(
        description="The record's id in the prediction log: the X-Request-ID header (batch: <id>-<index>) or a "
        "new uuid4 hex; send it to POST /feedback with the true label."
    )
    prediction: Literal[0, 1] = Field(description="1 when probability >= threshold (the positive label), else 0.")
    probability: float = Field(ge=0.0, le=1.0, description="Probability of the positive label.")


class Detail(BaseModel):
    """A refusal: what was wrong, in one message."""

    detail: str


class ErrorItem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class Invalid(BaseModel):
    """A 422: the first errors (at most 20) and how many there are in all."""

    detail: list[ErrorItem]
    errors_total: int


class _ResponseHead(_Closed):
    model_name: str
    model_version: str
    positive_label: StrictStr | StrictInt | StrictBool
    threshold: float


class PredictResponse(_ResponseHead, Prediction):
    """The answer to one record."""


class BatchPredictResponse(_ResponseHead):
    """The answers to a batch, in the order of ``records``."""

    request_id: str = Field(description="The batch's id (X-Request-ID); record i is logged as <request_id>-<i>.")
    predictions: list[Prediction]


@dataclass(frozen=True)
class ApiModels:
    """The generated models: ``Record`` (one row), ``Batch`` and the ``/predict`` body type, with their
    validators (built once: a TypeAdapter compiles its core schema)."""

    record: type[BaseModel]
    batch: type[BaseModel]
    body: Any
    specs: tuple[ColumnSpec, ...]
    max_batch: int
    body_adapter: TypeAdapter[Any]
    record_adapter: TypeAdapter[Any]


def _batch_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        return "batch" if "records" in value else "record"
    return None


def build_models(specs: list[ColumnSpec], *, max_batch: int = 10_000) -> ApiModels:
    """Generate the pydantic models for ``specs``; a batch larger than ``max_batch`` fails with
    :data:`BATCH_TOO_LARGE` before any record is validated (the app answers it with 413)."""
    if max_batch < 1:
        raise ValueError(f"max_batch must be at least 1, got {max_batch}")
    fields: dict[str, Any] = {s.name: (_annotation(s), ...) for s in specs}
    record = create_model("Record", __base__=_Closed, **fields)

    class Batch(_Closed):
        records: list[record] = Field(
            min_length=1, json_schema_extra={"maxItems": max_batch}, description=f"1 to {max_batch} records."
        )

        @model_validator(mode="before")
        @classmethod
        def _limit(cls, data: Any) -> Any:
            records = data.get("records") if isinstance(data, dict) else None
            if isinstance(records, list) and len(records) > max_batch:
                raise PydanticCustomError(
                    BATCH_TOO_LARGE,
                    "batch of {size} records exceeds the limit of {limit} records per request; "
                    "split it into smaller batches",
                    {"size": len(records), "limit": max_batch},
                )
            return data

    body = Annotated[
        Annotated[record, Tag("record")] | Annotated[Batch, Tag("batch")],
        Discriminator(
            _batch_kind,
            custom_error_type="invalid_body",
            custom_error_message='the body must be a JSON object: one record, or {"records": [...]} for a batch',
        ),
    ]
    return ApiModels(record, Batch, body, tuple(specs), max_batch, TypeAdapter(body), TypeAdapter(record))
