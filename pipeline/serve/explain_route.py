"""``POST /explain``: one record's score, and how much each input column contributed to it.

The body is one record, read exactly as ``/predict`` reads it (:mod:`pipeline.serve.body`: the same byte,
nesting and error limits, the same 422 ``{"detail": [{"loc", "msg", "type"}], "errors_total"}`` naming the
field). The answer carries the request id (the ``X-Request-ID`` header when sent, else a new one; echoed in the
response header), the probability and decision ``/predict`` would give, the raw score, the base value and one
contribution per input column, largest first; ``base_value + sum(contributions) == raw_score``. How they are
computed, exactly, is :mod:`pipeline.serve.explain` (``method``: ``linear_exact`` or ``tree_path_shap``). A
model no exact method applies to is a 501 naming its estimator; the explainer is prepared once, at the first
request after the model loaded.

:func:`explain_router` builds the route from the app's serving state (``create_app`` includes it).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import pandas as pd
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from mlgate.pipeline.serve.body import BodyLimits, BodyRejected, clean_errors, read_body, screen_keys
from mlgate.pipeline.serve.explain import Explainer, Unsupported, build_explainer
from mlgate.pipeline.serve.loader import BundleInfo
from mlgate.pipeline.serve.metrics import ServingMetrics
from mlgate.pipeline.serve.models import ApiModels, ColumnSpec

__all__ = ["REQUEST_ID", "Contribution", "ExplainResponse", "explain_router", "request_id"]

REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
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


class LoadedModel(Protocol):
    model: Any
    positive_index: int
    error: str


class ServingState(Protocol):
    """What the route reads from the app's serving state (``pipeline.serve.app._Served``)."""

    @property
    def info(self) -> BundleInfo: ...
    @property
    def api(self) -> ApiModels: ...
    @property
    def loaded(self) -> LoadedModel: ...
    @property
    def head(self) -> dict[str, Any]: ...
    @property
    def metrics(self) -> ServingMetrics: ...


Frame = Callable[[list[BaseModel], tuple[ColumnSpec, ...]], pd.DataFrame]


def request_id(header: str | None) -> str:
    """The request id: the ``X-Request-ID`` header when it is 1-64 characters of ``A-Za-z0-9._:-`` (starting with
    a letter or digit), else :class:`BodyRejected` 422 naming the header; a new uuid4 hex when there is none."""
    if header is None:
        return uuid.uuid4().hex
    if not REQUEST_ID.fullmatch(header):
        message = "X-Request-ID must be 1 to 64 characters of A-Z a-z 0-9 . _ : - starting with a letter or digit"
        raise BodyRejected(422, [{"loc": ["header", "x-request-id"], "msg": message, "type": "request_id"}])
    return header


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


def explain_router(served: ServingState, *, frame: Frame) -> APIRouter:
    """The ``POST /explain`` route for one app; ``frame`` turns validated records into the model's input frame
    (the app's own, so an explained record is scored exactly as ``/predict`` scores it)."""
    router = APIRouter()
    info, api, loaded, head, metrics = served.info, served.api, served.loaded, served.head, served.metrics
    limits = BodyLimits(frozenset(s.name for s in info.specs), 1, max_errors=20)
    prepared: dict[int, Explainer | Unsupported] = {}  # id(model) -> its explainer, built at the first request

    def answer(raw: bytes, content_type: str | None, rid: str) -> dict[str, Any] | JSONResponse:
        record = _record(raw, content_type, api, limits)
        model = loaded.model
        explainer = prepared.get(id(model))
        if explainer is None:
            explainer = prepared[id(model)] = build_explainer(model, positive_index=loaded.positive_index)
        if isinstance(explainer, Unsupported):
            return JSONResponse({"detail": f"cannot explain this model: {explainer.reason}"}, status_code=501)
        rows = frame([record], info.specs)
        probability = float(model.predict_proba(rows)[0, loaded.positive_index])
        explanation = explainer.explain(rows)
        return {
            **head,
            "request_id": rid,
            "prediction": int(probability >= info.threshold),
            "probability": probability,
            "method": explanation.method,
            "score_space": explanation.score_space,
            "raw_score": explanation.raw_score,
            "base_value": explanation.base_value,
            "contributions": _contributions(explanation.contributions, record),
        }

    @router.post(
        "/explain",
        response_model=ExplainResponse,
        responses={
            400: {"description": "The body is not UTF-8 text."},
            413: {"description": "The body is over the app's byte limit."},
            415: {"description": "The Content-Type is not application/json."},
            422: {"description": "Invalid JSON, record or X-Request-ID: the first 20 errors, naming each field."},
            501: {"description": "No exact explanation exists for this model's estimator (named in detail)."},
            503: {"description": "The model is not loaded or failed verification."},
        },
        openapi_extra={"requestBody": _document_body(api)},
        summary="Explain one record's score: each input column's contribution (exact; see method).",
    )
    async def explain(request: Request) -> Any:
        try:
            rid = request_id(request.headers.get("x-request-id"))
            if loaded.model is None:
                return JSONResponse({"detail": f"model not ready: {loaded.error}"}, status_code=503)
            raw = await request.body()
            result = await run_in_threadpool(answer, raw, request.headers.get("content-type"), rid)
        except BodyRejected as exc:
            kind = "too_large" if exc.status == 413 else "invalid"
            metrics.validation_failures.labels(route="/explain", kind=kind).inc()
            content: dict[str, Any] = {"detail": exc.detail}
            if isinstance(exc.detail, list):
                content["errors_total"] = exc.total
            return JSONResponse(content, status_code=exc.status)
        if isinstance(result, JSONResponse):
            return result
        return JSONResponse(ExplainResponse(**result).model_dump(mode="json"), headers={"X-Request-ID": rid})

    return router


def _document_body(api: ApiModels) -> dict[str, Any]:
    """The OpenAPI ``requestBody`` of ``/explain``: one record (the body is read by pipeline.serve.body)."""
    schema = api.record_adapter.json_schema()
    return {"content": {"application/json": {"schema": {**schema, "title": "ExplainBody"}}}, "required": True}
