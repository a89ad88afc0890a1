"""``POST /feedback``: the true label of a served prediction, by its request id; one item or a batch.

The body is ``{"request_id": "...", "label": 1}`` or ``{"feedback": [{"request_id": ..., "label": ...}, ...]}``
(at most the app's batch size), read with the same limits as ``/predict`` (:mod:`pipeline.serve.body`). A
label must be one of the target's labels in the same JSON type (:mod:`pipeline.serve.labels`): anything else
is a 422 naming the item, the request id and the field, and nothing of the body is stored.

Labels are written synchronously (committed before the answer) to the prediction log's database
(:class:`pipeline.predlog.FeedbackStore`). One item answers:

- 201 ``{"request_id", "status": "stored", "label"}``: the label is new;
- 200 ``status: "duplicate"``: the same label was given before (idempotent: no second row);
- 409 ``detail``: another label was given before; the first one stands;
- 404 ``detail``: no prediction with this id is in the log (reported, never stored).

A batch answers 200 with one ``{"request_id", "status", "label"}`` per item, in order, and the count of each
status. 503 when the prediction log is disabled or unavailable, or the bundle names no label set.

Only a binary model's feedback is taken: a multi-class or a regression model's predictions are not logged (see
:mod:`pipeline.serve.state`), so ``/feedback`` answers it 501 naming the task, whatever the body (no label, of
any type, is stored for such a model).
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Annotated, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool

from mlgate.pipeline.errors import MlgateError
from mlgate.pipeline.serve.body import BodyLimits, BodyRejected, clean_errors, read_body
from mlgate.pipeline.serve.models import Detail, Invalid
from mlgate.pipeline.serve.state import MAX_ERRORS, Served, not_binary

__all__ = ["FeedbackAnswer", "FeedbackBatchAnswer", "FeedbackItem", "add_feedback_route"]

_OPTIONS: dict[str, Any] = {"include_url": False, "include_input": False, "include_context": False}
_SHOWN = 40
Label = StrictStr | StrictInt | StrictBool


class FeedbackItem(BaseModel):
    """One true label: the ``request_id`` a ``/predict`` answer gave, and the label."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    request_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]
    label: Label = Field(description="One of the target's labels, in its JSON type.")


class FeedbackAnswer(BaseModel):
    request_id: str
    status: str = Field(description="stored, duplicate, conflict or unknown.")
    label: str | int | bool | None = Field(description="The label the log holds for the id (None: unknown id).")


class FeedbackBatchAnswer(BaseModel):
    results: list[FeedbackAnswer]
    stored: int
    duplicate: int
    conflict: int
    unknown: int


def _shown(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def _decoded(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _items(body: Any, limit: int) -> tuple[bool, list[FeedbackItem]]:
    """``(single, items)`` or :class:`BodyRejected` 422 with the first errors (a batch item by item)."""
    adapter = TypeAdapter(FeedbackItem)
    if not (isinstance(body, dict) and "feedback" in body):
        try:
            return True, [adapter.validate_python(body)]
        except ValidationError as exc:
            raise BodyRejected(422, clean_errors(exc.errors(**_OPTIONS)[:MAX_ERRORS]), exc.error_count()) from None
    entries = body["feedback"]
    extra = [key for key in body if key != "feedback"]
    errors: list[dict[str, Any]] = [
        {"loc": [key], "msg": "Extra inputs are not permitted", "type": "extra_forbidden"} for key in extra
    ]
    if not isinstance(entries, list) or not entries:
        errors.append({"loc": ["feedback"], "msg": "must be a non-empty list of items", "type": "list_type"})
    elif len(entries) > limit:
        raise BodyRejected(413, f"batch of {len(entries)} feedback items exceeds the limit of {limit}; split it")
    total, items = len(errors), []
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        try:
            items.append(adapter.validate_python(entry))
        except ValidationError as exc:
            total += exc.error_count()
            errors += [{**dict(e), "loc": ("feedback", index, *e["loc"])} for e in exc.errors(**_OPTIONS)]
    if total:
        raise BodyRejected(422, clean_errors(errors[:MAX_ERRORS]), total)
    return False, items


def _check_labels(served: Served, single: bool, items: list[FeedbackItem]) -> None:
    labels = served.labels
    allowed = ", ".join(json.dumps(v) for v in labels.values)
    errors = [
        {
            "loc": ["body", "label"] if single else ["body", "feedback", index, "label"],
            "msg": f"request '{item.request_id}': label {_shown(item.label)} is not a label of target "
            f"'{labels.target}' (one of {allowed}, in that JSON type)",
            "type": "label_unknown",
        }
        for index, item in enumerate(items)
        if not labels.accepts(item.label)
    ]
    if errors:
        raise BodyRejected(422, errors[:MAX_ERRORS], len(errors))


def _store(served: Served, raw: bytes, content_type: str | None, limits: BodyLimits) -> JSONResponse:
    single, items = _items(read_body(raw, content_type, limits), served.max_batch)
    _check_labels(served, single, items)
    outcomes = served.recorder.feedback.submit([(item.request_id, json.dumps(item.label)) for item in items])
    answers = [
        {
            "request_id": o.request_id,
            "status": str(o.status),
            "label": None if o.stored_label is None else json.loads(o.stored_label),
        }
        for o in outcomes
    ]
    counts = Counter(answer["status"] for answer in answers)
    for status, count in counts.items():
        served.metrics.feedback.labels(status=status).inc(count)
    if not single:
        totals = {status: counts.get(status, 0) for status in ("stored", "duplicate", "conflict", "unknown")}
        return JSONResponse({"results": answers, **totals})
    answer, item = answers[0], items[0]
    if answer["status"] == "unknown":
        detail = (
            f"request '{item.request_id}' is not in the prediction log: not served by this deployment, dropped "
            "(mlgate_prediction_log_dropped_total), or not written yet by the replica that served it"
        )
        return JSONResponse({"detail": detail}, status_code=404)
    if answer["status"] == "conflict":
        detail = (
            f"request '{item.request_id}' already has label {_shown(answer['label'])}; a different label "
            f"({_shown(item.label)}) is refused: the first label stands"
        )
        return JSONResponse({"detail": detail}, status_code=409)
    return JSONResponse(answer, status_code=201 if answer["status"] == "stored" else 200)


def add_feedback_route(app: FastAPI, served: Served) -> None:
    """``POST /feedback`` on ``app`` (see the module docstring)."""
    limits = BodyLimits(frozenset({"request_id", "label"}), served.max_batch, max_errors=MAX_ERRORS)
    item_schema = TypeAdapter(FeedbackItem).json_schema()
    if served.labels.values:  # the document names the labels the server accepts (in their JSON type)
        label = item_schema["properties"]["label"]
        item_schema["properties"]["label"] = {
            "description": label.get("description", ""),
            "enum": list(served.labels.values),
        }
    body_schema = {
        "title": "FeedbackBody",
        "anyOf": [
            item_schema,
            {
                "type": "object",
                "properties": {
                    "feedback": {"type": "array", "items": item_schema, "minItems": 1, "maxItems": served.max_batch}
                },
                "required": ["feedback"],
                "additionalProperties": False,
            },
        ],
    }

    @app.post(
        "/feedback",
        response_model=FeedbackAnswer | FeedbackBatchAnswer,
        status_code=201,
        responses={
            200: {"model": FeedbackAnswer | FeedbackBatchAnswer, "description": "A duplicate label, or a batch."},
            404: {"model": Detail, "description": "The request id is not in the prediction log (not stored)."},
            409: {"model": Detail, "description": "The request id already has another label (the first stands)."},
            413: {"model": Detail, "description": f"More than {served.max_batch} items or the byte limit."},
            415: {"model": Detail, "description": "The Content-Type is not application/json."},
            422: {"model": Invalid, "description": "An item, request id or label is invalid (named)."},
            501: {"model": Detail, "description": "The model is not binary: its feedback is not taken yet."},
            503: {"model": Detail, "description": "The prediction log is disabled or unavailable, or no label set."},
        },
        openapi_extra={"requestBody": {"content": {"application/json": {"schema": body_schema}}, "required": True}},
        summary='The true label of served predictions, by request id (one item, or {"feedback": [...]}).',
    )
    async def feedback(request: Request) -> Any:
        recorder = served.recorder
        if served.task != "binary":
            return JSONResponse({"detail": not_binary("feedback", served.task)}, status_code=501)
        if recorder.feedback is None or recorder.state != "ok":
            return JSONResponse({"detail": f"feedback needs the prediction log, which is {recorder.state}"}, 503)
        if not served.labels.known:
            return JSONResponse({"detail": f"feedback needs the target's label set: {served.labels.problem}"}, 503)
        raw = await request.body()
        try:
            return await run_in_threadpool(_store, served, raw, request.headers.get("content-type"), limits)
        except BodyRejected:
            raise
        except MlgateError as exc:  # PredictionLogError: the database went away
            return JSONResponse({"detail": f"feedback not stored: {exc}"}, status_code=503)
