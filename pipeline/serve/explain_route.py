"""``POST /explain``: one record's score, and how much each input column contributed to it; ``GET
/explain/{request_id}``: the same for a prediction the prediction log holds.

The body is one record, read exactly as ``/predict`` reads it (:mod:`pipeline.serve.body`: the same byte,
nesting and error limits, the same 422 ``{"detail": [{"loc", "msg", "type"}], "errors_total"}`` naming the
field). The answer carries the request id (the ``X-Request-ID`` header when sent, else a new one, as
:mod:`pipeline.serve.request_ids` makes them; echoed in the response header), the probability and decision
``/predict`` would give, the raw score, the base value and one contribution per input column, largest first;
``base_value + sum(contributions) == raw_score``. How they are computed, exactly, is
:mod:`pipeline.serve.explain` (``method``: ``linear_exact`` or ``tree_path_shap``). A model no exact method
applies to is a 501 naming its estimator, and so is a multi-class or a regression model (binary models only, for
now); the explainer is prepared once, at the first request after the model loaded.

``GET /explain/{request_id}`` reads the validated record the prediction log stored under that id (this
replica's log, then the other replicas' files in a shared log folder: :mod:`pipeline.serve.explain_logged`) and
explains it as above: 404 for an id no log holds, 409 when the logged prediction was scored by another model
than this replica serves (its explanation would be of the wrong model), 503 when the log is disabled or down.

:func:`explain_router` builds both routes from the app's serving state (``create_app`` includes it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from mlgate.pipeline.serve.body import BodyLimits, BodyRejected, clean_errors, read_body, screen_keys
from mlgate.pipeline.serve.explain import Explainer, Unsupported, build_explainer
from mlgate.pipeline.serve.explain_logged import find_logged
from mlgate.pipeline.serve.models import ApiModels, ColumnSpec
from mlgate.pipeline.serve.request_ids import HEADER, MAX_LENGTH, request_id
from mlgate.pipeline.serve.state import MAX_ERRORS, Served, not_binary

__all__ = ["Contribution", "ExplainResponse", "explain_router"]

ONE_RECORD = 'POST /explain takes one record (a JSON object of the feature columns), not {"records": [...]}'
_OPTIONS: dict[str, Any] = {"include_url": False, "include_input": False, "include_context": False}


class Contribution(BaseModel):
    feature: str = Field(description="An input column of the model.")
    value: str | int | float | bool | None = Field(description="The record's value for it, as sent.")
    contribution: float = Field(description="Its share of raw_score - base_value (in the raw score's units).")


class ExplainResponse(BaseModel):
    """One record explained: ``base_value + sum(c.contribution for c in contributions) == raw_score``."""

    model_config = ConfigDict(protected_namespaces=())

    request_id: str = Field(description="The X-Request-ID header when sent, else a new id (also a response header).")
    model_name: str
    model_version: str
    positive_label: str | int | bool
    threshold: float
    prediction: int = Field(description="1 when probability >= threshold (as /predict answers).")
    probability: float = Field(description="The positive label's probability (as /predict answers).")
    method: str = Field(description="linear_exact (coefficient x transformed value) or tree_path_shap (TreeSHAP).")
    score_space: str = Field(description="logit, probability (forests, single trees) or decision_function.")
    raw_score: float = Field(description="The model's score for the positive label, in score_space.")
    base_value: float = Field(description="The score before any column: the intercept, or the trees' expected score.")
    contributions: list[Contribution] = Field(description="Every input column, largest |contribution| first.")


Frame = Callable[[list[BaseModel], tuple[ColumnSpec, ...]], pd.DataFrame]


def _record(raw: bytes, content_type: str | None, api: ApiModels, limits: BodyLimits) -> BaseModel:
    body = read_body(raw, content_type, limits)
    if isinstance(body, dict) and "records" in body:
        raise BodyRejected(422, [{"loc": ["body", "records"], "msg": ONE_RECORD, "type": "one_record"}])
    screen_keys(body, limits)
    try:
        record: BaseModel = api.record_adapter.validate_python(body)
    except ValidationError as exc:
        errors = exc.errors(**_OPTIONS)
        raise BodyRejected(422, clean_errors(errors[: limits.max_errors]), exc.error_count()) from None
    return record


def _contributions(pairs: Sequence[tuple[str, float]], record: BaseModel) -> list[dict[str, Any]]:
    return [{"feature": name, "value": getattr(record, name, None), "contribution": value} for name, value in pairs]


def _refused(exc: BodyRejected) -> JSONResponse:
    content: dict[str, Any] = {"detail": exc.detail}
    if isinstance(exc.detail, list):
        content["errors_total"] = exc.total
    return JSONResponse(content, status_code=exc.status)


def _answered(result: dict[str, Any] | JSONResponse) -> JSONResponse:
    if isinstance(result, JSONResponse):
        return result
    body = ExplainResponse(**result).model_dump(mode="json")
    return JSONResponse(body, headers={HEADER: str(result["request_id"])})


_RESPONSES: dict[int | str, dict[str, Any]] = {
    501: {
        "description": "No exact explanation exists for this model's estimator (named in detail), or the model is "
        "not binary (multi-class and regression models are not explained yet)."
    },
    503: {"description": "The model is not loaded or failed verification (or, for a logged id, the log is not up)."},
}


class _Explaining:
    """What both routes share: the serving state, the frame builder and the explainer of the loaded model."""

    def __init__(self, served: Served, frame: Frame) -> None:
        self.served, self.frame = served, frame
        self.limits = BodyLimits(frozenset(s.name for s in served.info.specs), 1, max_errors=MAX_ERRORS)
        self.prepared: dict[int, Explainer | Unsupported] = {}  # id(model) -> explainer, built at the first request

    def explained(self, record: BaseModel, rid: str) -> dict[str, Any] | JSONResponse:
        """The answer for one validated record (in a worker thread: scoring and explaining are CPU work)."""
        info, loaded = self.served.info, self.served.loaded
        model = loaded.model
        explainer = self.prepared.get(id(model))
        if explainer is None:
            explainer = self.prepared[id(model)] = build_explainer(model, positive_index=loaded.positive_index)
        if isinstance(explainer, Unsupported):
            return JSONResponse({"detail": f"cannot explain this model: {explainer.reason}"}, status_code=501)
        rows = self.frame([record], info.specs)
        probability = float(model.predict_proba(rows)[0, loaded.positive_index])
        explanation = explainer.explain(rows)
        return {
            **self.served.head,
            "request_id": rid,
            "prediction": int(probability >= info.threshold),
            "probability": probability,
            "method": explanation.method,
            "score_space": explanation.score_space,
            "raw_score": explanation.raw_score,
            "base_value": explanation.base_value,
            "contributions": _contributions(explanation.contributions, record),
        }

    def posted(self, raw: bytes, content_type: str | None, rid: str) -> dict[str, Any] | JSONResponse:
        return self.explained(_record(raw, content_type, self.served.api, self.limits), rid)

    def logged(self, rid: str) -> dict[str, Any] | JSONResponse:
        """The answer for the record the prediction log holds under ``rid``: 404 unknown, 409 another model."""
        recorder, serving = self.served.recorder, self.served.loaded.sha256
        found = find_logged(recorder.writer, recorder.feedback.directory, rid)
        if found is None:
            return JSONResponse({"detail": f"request id {rid!r} is not in the prediction log"}, status_code=404)
        if found.model_sha256 != serving:
            detail = (
                f"request id {rid!r} was scored by the model with sha256 {found.model_sha256}; this replica serves "
                f"{serving}: ask a replica that serves that model"
            )
            return JSONResponse({"detail": detail}, status_code=409)
        try:
            record: BaseModel = self.served.api.record_adapter.validate_python(found.inputs)
        except ValidationError as exc:
            count = exc.error_count()
            detail = f"the logged record of {rid!r} does not validate against this app's schema ({count} errors)"
            return JSONResponse({"detail": detail}, status_code=409)
        return self.explained(record, rid)


def explain_router(served: Served, *, frame: Frame) -> APIRouter:
    """``POST /explain`` and ``GET /explain/{request_id}`` for one app; ``frame`` turns validated records into the
    model's input frame (the app's own, so an explained record is scored exactly as ``/predict`` scores it)."""
    router = APIRouter()
    loaded, metrics, work = served.loaded, served.metrics, _Explaining(served, frame)
    invalid = f"Invalid JSON, record or {HEADER}: the first {MAX_ERRORS} errors, naming each field."

    @router.post(
        "/explain",
        response_model=ExplainResponse,
        responses={
            400: {"description": "The body is not UTF-8 text."},
            413: {"description": "The body is over the app's byte limit."},
            415: {"description": "The Content-Type is not application/json."},
            422: {"description": invalid},
            **_RESPONSES,
        },
        openapi_extra={"requestBody": _document_body(served.api)},
        summary="Explain one record's score: each input column's contribution (exact; see method).",
    )
    async def explain(request: Request) -> Any:
        if served.task != "binary":
            return JSONResponse({"detail": not_binary("POST /explain", served.task)}, status_code=501)
        try:
            rid = request_id(request.headers.get(HEADER))
            if loaded.model is None:
                return JSONResponse({"detail": f"model not ready: {loaded.error}"}, status_code=503)
            raw = await request.body()
            result = await run_in_threadpool(work.posted, raw, request.headers.get("content-type"), rid)
        except BodyRejected as exc:
            kind = "too_large" if exc.status == 413 else "invalid"
            metrics.validation_failures.labels(route="/explain", kind=kind).inc()
            return _refused(exc)
        return _answered(result)

    @router.get(
        "/explain/{request_id}",
        response_model=ExplainResponse,
        responses={
            404: {"description": "No prediction with this request id is in the prediction log."},
            409: {"description": "The logged prediction was scored by another model than this replica serves."},
            422: {"description": f"The request id is longer than {MAX_LENGTH} characters."},
            **_RESPONSES,
        },
        summary="Explain a logged prediction by its request id (the record the prediction log holds).",
    )
    async def explain_logged(request_id: str) -> Any:
        if served.task != "binary":
            return JSONResponse({"detail": not_binary("GET /explain/{request_id}", served.task)}, status_code=501)
        if len(request_id) > MAX_LENGTH:
            message = f"a request id has at most {MAX_LENGTH} characters (got {len(request_id)})"
            metrics.validation_failures.labels(route="/explain/{request_id}", kind="invalid").inc()
            return _refused(BodyRejected(422, [{"loc": ["path", "request_id"], "msg": message, "type": "request_id"}]))
        if loaded.model is None:
            return JSONResponse({"detail": f"model not ready: {loaded.error}"}, status_code=503)
        recorder = served.recorder
        if recorder.writer is None or recorder.feedback is None or recorder.state != "ok":
            detail = f"explaining a logged prediction needs the prediction log, which is {recorder.state}"
            return JSONResponse({"detail": detail}, status_code=503)
        from mlgate.pipeline.predlog import PredictionLogError

        try:
            return _answered(await run_in_threadpool(work.logged, request_id))
        except PredictionLogError as exc:
            return JSONResponse({"detail": f"prediction log not readable: {exc}"}, status_code=503)

    return router


def _document_body(api: ApiModels) -> dict[str, Any]:
    """The OpenAPI ``requestBody`` of ``/explain``: one record (the body is read by pipeline.serve.body)."""
    schema = api.record_adapter.json_schema()
    return {"content": {"application/json": {"schema": {**schema, "title": "ExplainBody"}}}, "required": True}
