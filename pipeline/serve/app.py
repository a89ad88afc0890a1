"""The serving app: typed prediction over HTTP for one release bundle.

``create_app(bundle_dir)`` reads the bundle's small files (schema, meta, release) to generate the request
and response models; the lifespan hashes and loads ``model.skops``. If the model cannot be loaded (hash
mismatch, unreadable file, untrusted type) the process keeps serving: ``/health`` is 200, ``/ready`` and
``/predict`` answer 503 with the reason, so an orchestrator never routes traffic to it.

Routes: ``POST /predict`` (one record, or ``{"records": [...]}``), ``GET /health``, ``GET /ready``,
``GET /model``, ``GET /metrics`` (Prometheus). Every rejected input gets a 4xx with a ``detail``; only a bug
gives a 500, and that is logged with its traceback.

The ``/predict`` body is read by :mod:`pipeline.serve.body`, not by FastAPI: bounded (byte limit, a pre-scan
that bounds what the parse allocates, nesting depth), strict (duplicate keys, non-UTF-8, wrong content type are
refused) and answered with at most ``max_errors`` (20) errors plus ``errors_total``. The request schema in the
OpenAPI document is still the generated one (``openapi_extra``).
"""

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mlgate.pipeline.errors import MlgateError
from mlgate.pipeline.serve.body import BodyLimits, BodyRejected, clean_errors, read_body, screen_keys, validate_body
from mlgate.pipeline.serve.explain_route import explain_router
from mlgate.pipeline.serve.loader import BundleInfo, file_sha256, load_model, read_bundle
from mlgate.pipeline.serve.metrics import CONTENT_TYPE_LATEST, MetricsMiddleware, ServingMetrics
from mlgate.pipeline.serve.models import ApiModels, BatchPredictResponse, ColumnSpec, PredictResponse, build_models

__all__ = ["DEFAULT_MAX_BATCH", "DEFAULT_MAX_BODY_BYTES", "create_app"]

DEFAULT_MAX_BATCH = 10_000
#: 10,000 German credit records are 1.7 MB of JSON; the pre-scan in pipeline.serve.body bounds what a body of
#: this size can allocate (see benchmarks/bench_api_limits.py for the measured peak per request).
DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024
MAX_ERRORS = 20

_ROUTES = frozenset({"/predict", "/health", "/ready", "/model", "/metrics"})
log = logging.getLogger("mlgate.pipeline.serve")


class Detail(BaseModel):
    detail: str


class ErrorItem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class Invalid(BaseModel):
    """A 422: the first errors (at most 20) and how many there are in all."""

    detail: list[ErrorItem]
    errors_total: int


class Status(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    model_sha256: str


class ModelInfo(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    model_name: str
    model_version: str
    run_id: str | None
    data_fingerprint: str | None
    gate_report_sha256: str | None
    git_commit: str | None
    created_at: str | None
    model_sha256: str
    features: list[str]
    numeric: list[str]
    categorical: list[str]
    threshold: float
    positive_label: str | int | bool
    sklearn_version: str | None


@dataclass
class _Loaded:
    model: Any = None
    positive_index: int = 1
    sha256: str = ""
    error: str = "model not loaded yet (the app is starting)"


def _too_large(size: int | None, limit: int) -> str:
    shown = f"{size} bytes" if size is not None else "more bytes"
    return f"request body of {shown} exceeds the limit of {limit} bytes; send smaller batches"


class BodyLimitMiddleware:
    """413 for a body over ``limit`` bytes: by Content-Length up front, or while a chunked body streams in."""

    def __init__(self, app: ASGIApp, limit: int, metrics: ServingMetrics) -> None:
        self.app, self.limit, self.metrics = app, limit, metrics

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, size: int | None) -> None:
        route = scope.get("path") if scope.get("path") in _ROUTES else "unmatched"  # bounded label values
        self.metrics.validation_failures.labels(route=route, kind="too_large").inc()
        await JSONResponse({"detail": _too_large(size, self.limit)}, status_code=413)(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, receive, send, int(declared))
            return
        if declared is not None:
            await self.app(scope, receive, send)
            return
        # A streamed (chunked) body: read it here, up to the limit, then replay it to the app.
        messages: list[Message] = []
        seen = 0
        while True:
            message = await receive()
            messages.append(message)
            seen += len(message.get("body", b""))
            if seen > self.limit:
                await self._refuse(scope, receive, send, None)
                return
            if message["type"] != "http.request" or not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


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


def _predict_frame(records: list[BaseModel], specs: tuple[ColumnSpec, ...]) -> pd.DataFrame:
    columns = {spec.name: _column([getattr(r, spec.name) for r in records], spec) for spec in specs}
    return pd.DataFrame(columns, columns=[spec.name for spec in specs])


def _add_error_handlers(app: FastAPI, metrics: ServingMetrics) -> None:
    """Every refusal answers ``{"detail": ...}`` (422s add ``errors_total``); a bug is a logged 500."""

    @app.exception_handler(BodyRejected)
    async def _rejected(request: Request, exc: BodyRejected) -> JSONResponse:
        metrics.validation_failures.labels(route="/predict", kind="too_large" if exc.status == 413 else "invalid").inc()
        content: dict[str, Any] = {"detail": exc.detail}
        if isinstance(exc.detail, list):
            content["errors_total"] = exc.total
        return JSONResponse(content, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:  # routes other than /predict
        route = getattr(request.scope.get("route"), "path", "unmatched")
        metrics.validation_failures.labels(route=route, kind="invalid").inc()
        errors = list(exc.errors())
        return JSONResponse({"detail": clean_errors(errors[:MAX_ERRORS]), "errors_total": len(errors)}, 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse({"detail": f"internal error ({type(exc).__name__}); see the server log"}, 500)


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


@dataclass(frozen=True)
class _Served:
    """What the stages of one app share: the bundle, the models generated from its schema, the body limits, the
    metrics, the model state the lifespan fills in, and the release fields every answer starts with."""

    info: BundleInfo
    api: ApiModels
    limits: BodyLimits
    metrics: ServingMetrics
    loaded: _Loaded
    head: dict[str, Any]
    max_batch: int
    max_body_bytes: int


def _serving_state(bundle_dir: str | Path, *, max_batch: int, max_body_bytes: int) -> _Served:
    """Read the bundle's small files and build what the routes need; the model itself is not loaded yet."""
    info: BundleInfo = read_bundle(bundle_dir)
    head = {
        "model_name": str(info.release["model_name"]),
        "model_version": str(info.release["model_version"]),
        "positive_label": info.meta["positive_label"],
        "threshold": info.threshold,
    }
    return _Served(
        info=info,
        api=build_models(list(info.specs), max_batch=max_batch),
        limits=BodyLimits(frozenset(s.name for s in info.specs), max_batch, max_errors=MAX_ERRORS),
        metrics=ServingMetrics(),
        loaded=_Loaded(),
        head=head,
        max_batch=max_batch,
        max_body_bytes=max_body_bytes,
    )


def _lifespan(served: _Served) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """The app's lifespan: hash-check and load the model at start-up; a model that cannot be loaded leaves the
    app serving ``/health`` and reporting the reason on ``/ready`` and ``/predict``."""
    info, loaded, head = served.info, served.loaded, served.head

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            model = load_model(info)
            loaded.positive_index = list(model.classes_).index(1)
            loaded.sha256 = file_sha256(info.model_path)
            loaded.model, loaded.error = model, ""
            log.info("loaded %s version %s from %s", head["model_name"], head["model_version"], info.root)
        except MlgateError as exc:  # BundleError (hash mismatch), ArtifactError (skops refused the file)
            loaded.error = str(exc)
            log.error("model not loaded: %s", exc)
        except Exception as exc:  # skops refusing a type, a broken file: keep serving /health, report on /ready
            loaded.error = f"{info.model_path}: cannot load model ({type(exc).__name__}: {exc})"
            log.exception("model not loaded")
        yield

    return lifespan


def _not_ready() -> dict[int | str, dict[str, Any]]:
    return {503: {"model": Detail, "description": "The model is not loaded or failed verification."}}


def _add_status_routes(app: FastAPI, served: _Served) -> None:
    """``GET /health``, ``/ready``, ``/model`` and ``/metrics``: liveness, readiness, what is served, counters."""
    info, loaded, head, metrics = served.info, served.loaded, served.head, served.metrics

    @app.get("/health", response_model=Status, summary="Liveness: the process serves requests.")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready", response_model=Ready, responses=_not_ready(), summary="Readiness: model loaded and verified.")
    def ready() -> Any:
        if loaded.model is None:
            return JSONResponse({"detail": loaded.error}, status_code=503)
        return {"status": "ready", "model_sha256": loaded.sha256}

    @app.get("/model", response_model=ModelInfo, summary="What is served: release, hashes, features.")
    def model_info() -> dict[str, Any]:
        release, meta = info.release, info.meta
        return {
            **{k: release.get(k) for k in ("run_id", "data_fingerprint", "gate_report_sha256", "git_commit")},
            "created_at": release.get("created_at"),
            "model_name": head["model_name"],
            "model_version": head["model_version"],
            "model_sha256": str(release["model_sha256"]),
            "features": info.features,
            "numeric": list(meta.get("numeric", [])),
            "categorical": list(meta.get("categorical", [])),
            "threshold": info.threshold,
            "positive_label": meta["positive_label"],
            "sklearn_version": meta.get("sklearn_version"),
        }

    @app.get("/metrics", response_class=Response, summary="Prometheus metrics.")
    def prometheus() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)


def _answer(served: _Served, raw: bytes, content_type: str | None) -> dict[str, Any]:
    """Read, validate and score one body (in a worker thread: parsing and scoring are CPU work)."""
    limits, loaded, head = served.limits, served.loaded, served.head
    body = read_body(raw, content_type, limits)
    screen_keys(body, limits)
    single, records = validate_body(body, served.api, limits)
    del body  # the record models hold copies of the values
    frame = _predict_frame(records, served.info.specs)
    proba = np.asarray(loaded.model.predict_proba(frame)[:, loaded.positive_index], dtype=np.float64)
    decision = (proba >= served.info.threshold).astype(np.int64)
    served.metrics.observe_predictions(proba, decision)
    answers = [{"prediction": d, "probability": p} for d, p in zip(decision.tolist(), proba.tolist(), strict=True)]
    return {**head, **answers[0]} if single else {**head, "predictions": answers}


def _add_predict_route(app: FastAPI, served: _Served) -> None:
    """``POST /predict``: one record or a batch, read by :mod:`pipeline.serve.body`; 503 until the model loads."""
    loaded = served.loaded

    @app.post(
        "/predict",
        response_model=PredictResponse | BatchPredictResponse,
        responses={
            400: {"model": Detail, "description": "The body is not UTF-8 text."},
            413: {
                "model": Detail,
                "description": f"More than {served.max_batch} records or {served.max_body_bytes} bytes.",
            },
            415: {"model": Detail, "description": "The Content-Type is not application/json."},
            422: {"model": Invalid, "description": f"Invalid JSON or records: the first {MAX_ERRORS} errors."},
            **_not_ready(),
        },
        openapi_extra={"requestBody": _document_request_body(app, served.api)},
        summary='Predict one record (a JSON object) or a batch ({"records": [...]}).',
    )
    async def predict(request: Request) -> Any:
        if loaded.model is None:
            return JSONResponse({"detail": f"model not ready: {loaded.error}"}, status_code=503)
        raw = await request.body()
        return await run_in_threadpool(_answer, served, raw, request.headers.get("content-type"))


def create_app(
    bundle_dir: str | Path,
    *,
    max_batch: int = DEFAULT_MAX_BATCH,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> FastAPI:
    """The FastAPI app for the bundle in ``bundle_dir``; the model loads in the lifespan (app start-up).

    Raises :class:`BundleError` (or ``SchemaTranslationError``) when the bundle's meta, release or schema
    file is missing or invalid: without them no typed route can be built.

    Built in named stages: the serving state from the bundle, the lifespan that loads the model, the middleware
    (body limit, metrics), the error handlers, the status routes and the prediction route.
    """
    served = _serving_state(bundle_dir, max_batch=max_batch, max_body_bytes=max_body_bytes)
    app = FastAPI(
        title=f"mlgate serving: {served.head['model_name']}",
        version=served.head["model_version"],
        description="Predictions of one released model. The request schema is generated from the committed "
        'data schema: one record as a JSON object, or a batch as {"records": [...]}.',
        lifespan=_lifespan(served),
    )
    app.add_middleware(BodyLimitMiddleware, limit=max_body_bytes, metrics=served.metrics)
    app.add_middleware(MetricsMiddleware, metrics=served.metrics)
    _add_error_handlers(app, served.metrics)
    _add_status_routes(app, served)
    _add_predict_route(app, served)
    app.include_router(explain_router(served, frame=_predict_frame))  # POST /explain
    return app
