"""``POST /predict``: one record or a batch, read by :mod:`pipeline.serve.body`, scored, answered and logged.

Every record gets a request id (:mod:`pipeline.serve.request_ids`), returned in the body and the
``X-Request-ID`` header, and is scored and answered as the model's task says (:mod:`pipeline.serve.tasks`: the
probability and 0/1 decision of a binary model, the class probabilities and decided class of a multi-class one,
the predicted value of a regression). A binary model's records are handed to the prediction log
(:class:`pipeline.serve.recording.Recorder`) after scoring: the log never delays or fails the answer. 503 until
the model loads (counted as a ``not_ready`` rejection).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from mlgate.pipeline.serve.body import read_body, screen_keys, validate_body
from mlgate.pipeline.serve.models import ApiModels, ColumnSpec, Detail, Invalid
from mlgate.pipeline.serve.request_ids import HEADER, batch_ids, request_id
from mlgate.pipeline.serve.state import MAX_ERRORS, Served
from mlgate.pipeline.serve.tasks import response_models, score

__all__ = ["add_predict_route", "predict_frame"]


def _column(values: list[Any], spec: ColumnSpec) -> pd.Series:
    """One request column with the dtype the model was fitted on; a missing value is NaN, never None.

    (scikit-learn's imputers only recognise NaN in an object column: a ``None`` would reach the encoder as
    an unknown category, and a single all-null record would be scored differently from the same record in
    a batch.)
    """
    if spec.kind == "str" or spec.kind == "bool":
        return pd.Series([np.nan if v is None else v for v in values], dtype=object)
    if spec.kind == "int" and not spec.nullable:
        return pd.Series(values, dtype=np.int64)
    return pd.Series([np.nan if v is None else v for v in values], dtype=np.float64)


def predict_frame(records: list[BaseModel], specs: tuple[ColumnSpec, ...]) -> pd.DataFrame:
    """The model's input frame for validated records (the columns in the model's order and dtypes)."""
    columns = {spec.name: _column([getattr(r, spec.name) for r in records], spec) for spec in specs}
    return pd.DataFrame(columns, columns=[spec.name for spec in specs])


def _document_request_body(app: FastAPI, api: ApiModels) -> dict[str, Any]:
    """The OpenAPI ``requestBody`` of ``/predict`` (the body is read by pipeline.serve.body, not by a FastAPI
    parameter, so FastAPI would not document it): the generated schema, and its models added to the document's
    components."""
    schema = api.body_adapter.json_schema(ref_template="#/components/schemas/{model}")
    models = schema.pop("$defs", {})
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            generate().setdefault("components", {}).setdefault("schemas", {}).update(models)
        assert app.openapi_schema is not None  # generate() has just set it
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return {"content": {"application/json": {"schema": {**schema, "title": "Body"}}}, "required": True}


def _answer(
    served: Served, raw: bytes, content_type: str | None, base_id: str, received_at: datetime, started: float
) -> dict[str, Any]:
    """Read, validate, score and log one body (in a worker thread: parsing and scoring are CPU work)."""
    limits, loaded, head = served.limits, served.loaded, served.head
    body = read_body(raw, content_type, limits)
    screen_keys(body, limits)
    single, records = validate_body(body, served.api, limits)
    del body  # the record models hold copies of the values
    ids = [base_id] if single else batch_ids(base_id, len(records))
    frame = predict_frame(records, served.info.specs)
    scored = score(loaded.model, frame, served.rule, positive_index=loaded.positive_index, metrics=served.metrics)
    latency_ms = (time.perf_counter() - started) * 1000.0
    if scored.proba is not None and scored.decisions is not None:  # binary: logged
        inputs = [record.__dict__ for record in records]  # the validated fields (pydantic keeps them there)
        served.recorder.record(
            ids, received_at, inputs, scored.proba, scored.decisions, latency_ms=latency_ms, model_sha256=loaded.sha256
        )
    answers = [{"request_id": rid, **answer} for rid, answer in zip(ids, scored.answers, strict=True)]
    return {**head, **answers[0]} if single else {**head, "request_id": base_id, "predictions": answers}


def _responses(served: Served) -> dict[int | str, dict[str, Any]]:
    return {
        400: {"model": Detail, "description": "The body is not UTF-8 text."},
        413: {
            "model": Detail,
            "description": f"More than {served.max_batch} records or {served.max_body_bytes} bytes.",
        },
        415: {"model": Detail, "description": "The Content-Type is not application/json."},
        422: {"model": Invalid, "description": f"Invalid JSON, records or {HEADER}: the first {MAX_ERRORS} errors."},
        503: {"model": Detail, "description": "The model is not loaded or failed verification."},
    }


def add_predict_route(app: FastAPI, served: Served) -> None:
    """``POST /predict`` on ``app`` (see the module docstring)."""
    loaded, recorder = served.loaded, served.recorder
    single, batch = response_models(served.rule)
    header = {
        "name": HEADER,
        "in": "header",
        "required": False,
        "description": "Your id for this request (1-64 of A-Z a-z 0-9 . _ : -); default: a new uuid4 hex.",
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"},
    }

    @app.post(
        "/predict",
        response_model=single | batch,
        responses=_responses(served),
        openapi_extra={"requestBody": _document_request_body(app, served.api), "parameters": [header]},
        summary='Predict one record (a JSON object) or a batch ({"records": [...]})'
        + ("; every record is logged." if served.task == "binary" else f" ({served.task} model)."),
    )
    async def predict(request: Request, response: Response) -> Any:
        received_at, started = datetime.now(UTC), time.perf_counter()
        base_id = request_id(request.headers.get("x-request-id"))
        request.state.request_id = base_id
        if loaded.model is None:
            recorder.reject(503, None, received_at, served.limits.features)
            detail = {"detail": f"model not ready: {loaded.error}"}
            return JSONResponse(detail, status_code=503, headers={HEADER: base_id})
        raw = await request.body()
        answer = await run_in_threadpool(
            _answer, served, raw, request.headers.get("content-type"), base_id, received_at, started
        )
        response.headers[HEADER] = base_id
        return answer
