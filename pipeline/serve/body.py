"""The ``POST /predict`` body: read bounded, refused cheaply, and answered with a bounded list of errors.

FastAPI's own body handling parsed any JSON up to the byte limit, accepted duplicate keys (the last won),
answered 10,000-deep nesting with "is it UTF-8?", and listed every error: one 9.7 MB request with 100,000
unknown keys made a 64 MB answer and took 1.3 GB. Here, in this order, each step cheap before the next:

1. the content type must be JSON (415);
2. the bytes must be UTF-8 (400; UTF-16/32 is named as such);
3. a pre-scan of the text at C speed (strings blanked with ``str.replace`` and one regex): at most
   :attr:`BodyLimits.max_containers` objects/arrays (413), :attr:`BodyLimits.max_values` values (413), nesting
   at most :attr:`BodyLimits.max_depth` (422) - so the parse below allocates a bounded number of objects;
4. ``json.loads`` with an ``object_pairs_hook`` that notes duplicate keys (422 naming the key and where);
5. unknown keys are counted with set operations; more than :attr:`BodyLimits.max_errors` of them is a 422
   listing the first ones, without running pydantic at all;
6. pydantic validates (:func:`validate_body`): a batch record by record, keeping the first ``max_errors``
   errors and the total count, so no more than one record's errors exist at a time.

Every refusal is a :class:`BodyRejected` carrying the HTTP status and the ``detail`` (a string, or the list of
``{"loc", "msg", "type"}`` errors FastAPI uses); keys and messages shown are cut to a few dozen characters, so
an answer stays under a few kilobytes whatever the request.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from email.message import Message
from typing import Any

from pydantic import ValidationError

from mlgate.pipeline.serve.models import BATCH_TOO_LARGE, ApiModels

__all__ = ["BodyLimits", "BodyRejected", "clean_errors", "read_body", "screen_keys", "validate_body"]

NOT_UTF8 = "the request body could not be read as JSON text (is it UTF-8?)"
_SHOWN = 60  # characters of a key or value shown in an answer
_STRINGS = re.compile(r'"[^"]*"')  # after escapes are removed; a single-character repeat: linear, no recursion
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_INNERMOST = re.compile(r"\[\]|\{\}")
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.S)


@dataclass(frozen=True)
class BodyLimits:
    """What one request may hold. ``max_values`` and ``max_containers`` bound the parse (the objects json
    builds); they follow from the batch limit and the number of features, with room for a few unknown keys."""

    features: frozenset[str]
    max_batch: int
    max_depth: int = 32
    max_errors: int = 20

    @property
    def max_containers(self) -> int:  # a record whose every field is (wrongly) a list or an object still fits
        return self.max_batch * (len(self.features) + 1) + 64

    @property
    def max_values(self) -> int:
        return self.max_batch * (len(self.features) + 2) + 100_000


class BodyRejected(Exception):
    """A refused body: ``status`` and ``detail`` as answered; ``total`` errors when ``detail`` is a list."""

    def __init__(self, status: int, detail: str | list[dict[str, Any]], total: int | None = None) -> None:
        super().__init__(status, detail)
        self.status, self.detail = status, detail
        self.total = total if total is not None else (len(detail) if isinstance(detail, list) else None)


def _cut(value: Any, limit: int = _SHOWN) -> Any:
    """A key or message as shown in an answer: at most ``limit`` characters, and encodable as UTF-8 (JSON's
    ``"\\ud800"`` is a lone surrogate, which would make the answer itself fail to encode)."""
    if not isinstance(value, str):
        return value
    if len(value) > limit:
        value = value[: limit - 3] + "..."
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def _error(loc: list[Any], msg: str, kind: str) -> dict[str, Any]:
    return {"loc": ["body", *(_cut(part) for part in loc)], "msg": msg, "type": kind}


# ---------------------------------------------------------------- bytes -> JSON


def _is_json(content_type: str | None) -> bool:
    message = Message()
    message["content-type"] = content_type or ""
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))


def _text(raw: bytes) -> str:
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff") or (len(raw) >= 2 and b"\x00" in raw[:4]):
        width = (
            "UTF-32" if raw[:4] in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff") or raw[2:4] == b"\x00\x00" else "UTF-16"
        )
        raise BodyRejected(400, f"the request body is {width} text; send JSON as UTF-8 (RFC 8259)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BodyRejected(400, NOT_UTF8) from exc


def _too_deep_at(text: str, limit: int) -> int:
    """The character offset where nesting first exceeds ``limit`` (only called once the pre-scan found it)."""
    depth = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > limit:
                return match.start()
        elif token in "]}":
            depth -= 1
    return 0


def _prescan(text: str, limits: BodyLimits) -> None:
    """Refuse a body whose parse would build too many objects or recurse too deep, before parsing it."""
    bare = _STRINGS.sub("", text.replace("\\\\", "").replace('\\"', ""))
    values = bare.count(",") + 1
    if values > limits.max_values:
        raise BodyRejected(
            413,
            f"request body holds {values} JSON values, more than the {limits.max_values} a batch of "
            f"{limits.max_batch} records can need; split it into smaller batches",
        )
    brackets = _NOT_BRACKETS.sub("", bare)
    del bare
    containers = len(brackets) // 2
    for _ in range(limits.max_depth):  # each pass removes the innermost level
        inner = _INNERMOST.sub("", brackets)
        if not inner or inner == brackets:  # done, or unbalanced (json.loads says where)
            break
        brackets = inner
    else:
        offset = _too_deep_at(text, limits.max_depth)
        message = f"JSON nested deeper than {limits.max_depth} levels (at character {offset})"
        raise BodyRejected(422, [_error([offset], message, "json_too_deep")])
    if containers > limits.max_containers:
        raise BodyRejected(
            413,
            f"request body holds {containers} JSON objects or arrays, more than a batch of "
            f"{limits.max_batch} records needs; split it into smaller batches",
        )


def _parse(text: str) -> tuple[Any, list[tuple[dict[str, Any], str]]]:
    """``json.loads`` noting each object that repeats a key (json keeps the last value silently)."""
    duplicates: list[tuple[dict[str, Any], str]] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(items)
        if len(obj) != len(items) and not duplicates:
            seen: set[str] = set()
            for key, _ in items:
                if key in seen:
                    duplicates.append((obj, key))
                    break
                seen.add(key)
        return obj

    try:
        return json.loads(text, object_pairs_hook=pairs), duplicates
    except json.JSONDecodeError as exc:
        raise BodyRejected(422, [_error([exc.pos], f"JSON decode error: {exc.msg}", "json_invalid")]) from exc
    except RecursionError as exc:  # not reached after the pre-scan; kept so no input can make a 500
        raise BodyRejected(422, [_error([], "JSON nested too deeply", "json_too_deep")]) from exc
    except ValueError as exc:  # an integer of more than sys.get_int_max_str_digits() digits
        raise BodyRejected(
            422, [_error([], f"JSON number too long: {str(exc).split(';')[0]}", "json_invalid")]
        ) from exc


def _walk(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, tuple[Any, ...]]]:
    """Every container in ``value`` with its path (iterative; depth and count are bounded by the pre-scan)."""
    stack = [(value, path)]
    while stack:
        item, where = stack.pop()
        yield item, where
        if isinstance(item, dict):
            stack.extend((v, (*where, k)) for k, v in item.items() if isinstance(v, dict | list))
        elif isinstance(item, list):
            stack.extend((v, (*where, i)) for i, v in enumerate(item) if isinstance(v, dict | list))


def read_body(raw: bytes, content_type: str | None, limits: BodyLimits) -> Any:
    """The parsed JSON body, or :class:`BodyRejected`. An empty body is FastAPI's "Field required" 422."""
    if not raw:
        raise BodyRejected(422, [{"loc": ["body"], "msg": "Field required", "type": "missing"}])
    if not _is_json(content_type):
        shown = _cut(content_type) if content_type else "missing"
        raise BodyRejected(415, f"Content-Type {shown!r} is not JSON; send the body as application/json")
    text = _text(raw)
    _prescan(text, limits)
    body, duplicates = _parse(text)
    if duplicates:
        target, key = duplicates[0]
        where = next(path for item, path in _walk(body) if item is target)
        message = f"duplicate key {_cut(key)!r}: a key may appear only once in a JSON object"
        raise BodyRejected(422, [_error([*where, key], message, "duplicate_key")])
    return body


# ---------------------------------------------------------------- unknown keys and pydantic errors


def _extra(keys: Any, allowed: frozenset[str]) -> list[str]:
    return [key for key in keys if key not in allowed]


def screen_keys(body: Any, limits: BodyLimits) -> None:
    """Refuse more than ``max_errors`` unknown keys before pydantic lists each of them (cheap set work)."""
    if not isinstance(body, dict):
        return
    found: list[tuple[tuple[Any, ...], str]] = []
    total = 0
    if "records" in body:  # a batch: its own keys, then each record's (a list over the limit is a 413 anyway)
        top = _extra(body, frozenset({"records"}))
        total += len(top)
        found += [((), key) for key in top[: limits.max_errors]]
        records = body["records"]
        rows = records if isinstance(records, list) and len(records) <= limits.max_batch else []
        for index, record in enumerate(rows):
            if isinstance(record, dict) and not record.keys() <= limits.features:
                extra = _extra(record, limits.features)
                total += len(extra)
                if len(found) < limits.max_errors:
                    found += [(("records", index), key) for key in extra[: limits.max_errors - len(found)]]
    else:
        extra = _extra(body, limits.features) if not body.keys() <= limits.features else []
        total = len(extra)
        found = [((), key) for key in extra[: limits.max_errors]]
    if total > limits.max_errors:
        detail = [_error([*where, key], "Extra inputs are not permitted", "extra_forbidden") for where, key in found]
        raise BodyRejected(422, detail[: limits.max_errors], total)


def clean_errors(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """pydantic's errors as ``{"loc", "msg", "type"}``: no echoed input, no union tag in ``loc``, keys cut."""
    cleaned = []
    for error in errors:
        loc = list(error.get("loc", ()))
        if loc and loc[0] in {"record", "batch"}:
            del loc[0]
        message = _cut(str(error.get("msg", "invalid value")), 300)
        cleaned.append(_error(loc, message, str(error.get("type", "value_error"))))
    return cleaned


_OPTIONS: dict[str, Any] = {"include_url": False, "include_input": False, "include_context": False}


def _refused(exc: ValidationError, limit: int) -> BodyRejected:
    """A ValidationError of a body that is not a batch of records (its errors are few: see validate_body)."""
    errors = exc.errors(**_OPTIONS)
    if len(errors) == 1 and errors[0]["type"] == BATCH_TOO_LARGE:
        return BodyRejected(413, errors[0]["msg"])
    return BodyRejected(422, clean_errors(errors[:limit]), exc.error_count())


def validate_body(body: Any, api: ApiModels, limits: BodyLimits) -> tuple[bool, list[Any]]:
    """``(single, records)``: the validated record models, or :class:`BodyRejected` with the first errors.

    A batch is validated record by record, so a batch of 10,000 broken records holds the errors of one record
    at a time (their count is kept, the first ``max_errors`` are kept): pydantic validating the whole list at
    once builds every error (90,000 for 10,000 empty records, about 30 MB). Anything else - one record, a body
    that is not an object, ``records`` empty, too long or not a list - is validated whole: its errors are few
    (at most two per field plus the unknown keys :func:`screen_keys` let through).
    """
    records = body.get("records") if isinstance(body, dict) else None
    if not (isinstance(records, list) and 0 < len(records) <= limits.max_batch):
        try:
            parsed = api.body_adapter.validate_python(body)
        except ValidationError as exc:
            raise _refused(exc, limits.max_errors) from None
        single = isinstance(parsed, api.record)
        return single, [parsed] if single else list(parsed.records)
    errors = [_error([key], "Extra inputs are not permitted", "extra_forbidden") for key in body if key != "records"]
    total = len(errors)
    models = []
    for index, record in enumerate(records):
        try:
            models.append(api.record_adapter.validate_python(record))
        except ValidationError as exc:
            total += exc.error_count()
            if len(errors) < limits.max_errors:
                errors += clean_errors([{**e, "loc": ("records", index, *e["loc"])} for e in exc.errors(**_OPTIONS)])
    if total:
        raise BodyRejected(422, errors[: limits.max_errors], total)
    return False, models
