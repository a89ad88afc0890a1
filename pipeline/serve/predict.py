"""``POST /predict``: one record or a batch, read by :mod:`pipeline.serve.body`, scored, answered and logged.

Every record gets a request id (:mod:`pipeline.serve.request_ids`), returned in the body and the
``X-Request-ID`` header, and is scored and answered as the model's task says (:mod:`pipeline.serve.tasks`: the
probability and 0/1 decision of a binary model, the class probabilities and decided class of a multi-class one,
the predicted value of a regression). A binary model's records are handed to the prediction log
(:class:`pipeline.serve.recording.Recorder`) after scoring: the log never delays or fails the answer. 503 until
the model loads (counted as a ``not_ready`` rejection).

Records are scored by the array path (:mod:`pipeline.serve.array_path`: the validated fields straight into numpy)
when it verified at load (:func:`pipeline.serve.state.select_path`), else as a DataFrame by the scikit-learn
pipeline: the same scores either way, bit for bit.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from mlgate.pipeline.serve.array_path import frame_of
from mlgate.pipeline.serve.body import read_body, screen_keys, validate_body
from mlgate.pipeline.serve.models import ApiModels, ColumnSpec, Detail, Invalid
from mlgate.pipeline.serve.request_ids import HEADER, batch_ids, request_id
from mlgate.pipeline.serve.state import MAX_ERRORS, Served
from mlgate.pipeline.serve.tasks import response_models, score

__all__ = ["add_predict_route", "predict_frame"]


def predict_frame(records: list[BaseModel], specs: tuple[ColumnSpec, ...]) -> pd.DataFrame:
    """The model's input frame for validated records (the columns in the model's order and dtypes; a missing value
    NaN: :func:`pipeline.serve.array_path.frame_of`)."""
    return frame_of([record.__dict__ for record in records], specs)


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


#: A body up to this size is answered on the event loop (a record takes ~0.2 ms: less than a thread hand-off costs);
#: a larger batch in a worker thread, so /health and /metrics stay answered meanwhile.
INLINE_BODY_BYTES = 16_384


def _ordered(answer: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """``answer`` with its keys in the response model's field order (what FastAPI's serialisation gave)."""
    return {name: answer[name] for name in fields}


Fields = tuple[tuple[str, ...], tuple[str, ...]]  # the single-record and the batch response's field names


def _answer(
    served: Served,
    fields: Fields,
    raw: bytes,
    content_type: str | None,
    base_id: str,
    received_at: datetime,
    started: float,
) -> bytes:
    """Read, validate, score, log and serialise one body: the answer's JSON (stage times go to the metrics)."""
    limits, loaded, head = served.limits, served.loaded, served.head
    body = read_body(raw, content_type, limits)
    screen_keys(body, limits)
    single, records = validate_body(body, served.api, limits)
    del body  # the record models hold copies of the values
    validated = time.perf_counter()
    ids = [base_id] if single else batch_ids(base_id, len(records))
    inputs = [record.__dict__ for record in records]  # the validated fields (pydantic keeps them there)
    array = loaded.array  # the array path, when it verified at load (pipeline.serve.state.select_path)
    model, features = (
        (array, inputs) if array is not None else (loaded.model, predict_frame(records, served.info.specs))
    )
    scored = score(model, features, served.rule, positive_index=loaded.positive_index, metrics=served.metrics)
    answers = [{"request_id": rid, **answer} for rid, answer in zip(ids, scored.answers, strict=True)]
    if single:
        answer = _ordered({**head, **answers[0]}, fields[0])
    else:
        answer = _ordered({**head, "request_id": base_id, "predictions": answers}, fields[1])
    scored_at = time.perf_counter()
    # Starlette's JSONResponse settings: Python's shortest round-trip repr of every double, as before
    text = json.dumps(answer, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":"))
    serialised = time.perf_counter()
    if scored.proba is not None and scored.decisions is not None:  # binary: logged
        latency_ms = (serialised - started) * 1000.0
        served.recorder.record(
            ids, received_at, inputs, scored.proba, scored.decisions, latency_ms=latency_ms, model_sha256=loaded.sha256
        )
    served.metrics.observe_stages(
        {
            "validate": validated - started,
            "score": scored_at - validated,
            "serialise": serialised - scored_at,
            "log": time.perf_counter() - serialised,
        }
    )
    return text.encode("utf-8")


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
    fields: Fields = (tuple(single.model_fields), tuple(batch.model_fields))
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
    async def predict(request: Request) -> Any:
        received_at, started = datetime.now(UTC), time.perf_counter()
        base_id = request_id(request.headers.get("x-request-id"))
        request.state.request_id = base_id
        if loaded.model is None:
            recorder.reject(503, None, received_at, served.limits.features)
            detail = {"detail": f"model not ready: {loaded.error}"}
            return JSONResponse(detail, status_code=503, headers={HEADER: base_id})
        raw = await request.body()
        arguments = (served, fields, raw, request.headers.get("content-type"), base_id, received_at, started)
        if len(raw) <= INLINE_BODY_BYTES:
            content = _answer(*arguments)
        else:
            content = await run_in_threadpool(_answer, *arguments)
        # the answer is built in the response model's field order and checked by the tests against it; returned
        # as bytes, FastAPI does not validate and encode it a second time (response_model documents it)
        return Response(content, media_type="application/json", headers={HEADER: base_id})
