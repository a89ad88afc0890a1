"""The serving app: typed prediction over HTTP for one release bundle, every prediction logged.

``create_app(bundle_dir)`` reads the bundle's small files (schema, meta, release) to generate the request
and response models; the lifespan hashes and loads ``model.skops`` and starts the prediction log's writer. If
the model cannot be loaded (hash mismatch, unreadable file, untrusted type) the process keeps serving:
``/health`` is 200, ``/ready`` and ``/predict`` answer 503 with the reason, so an orchestrator never routes
traffic to it.

Routes: ``POST /predict`` (one record, or ``{"records": [...]}``; :mod:`pipeline.serve.predict`), ``POST
/feedback`` (true labels by request id; :mod:`pipeline.serve.feedback`), ``POST /explain``, ``GET /health``,
``GET /ready``, ``GET /model`` (the release, the task and its classes and decision rule), ``GET /metrics``
(Prometheus). What ``/predict`` answers depends on the model's task (:mod:`pipeline.serve.tasks`); ``/feedback``
and ``/explain`` answer 501 for a multi-class or a regression model (binary models only, for now). Every
rejected input gets a 4xx with a ``detail``; only a bug gives a 500, and that is logged with its traceback.

The prediction log (:mod:`pipeline.serve.recording`, :mod:`pipeline.predlog`) is optional: ``create_app``
without ``prediction_log`` logs nothing (``python -m mlgate.pipeline.serve`` enables it by default). A log
database that is unreachable does not make the app unready: ``/ready`` stays 200 while the model is loaded and
its ``prediction_log`` field says ``unavailable: <reason>``; records wait in the bounded queue and are counted
as dropped once it is full.

The ``/predict`` body is read by :mod:`pipeline.serve.body`, not by FastAPI: bounded (byte limit, a pre-scan
that bounds what the parse allocates, nesting depth), strict (duplicate keys, non-UTF-8, wrong content type are
refused) and answered with at most ``max_errors`` (20) errors plus ``errors_total``. The request schema in the
OpenAPI document is still the generated one (``openapi_extra``).
"""

import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mlgate.pipeline.errors import MlgateError
from mlgate.pipeline.serve.body import BodyRejected, clean_errors
from mlgate.pipeline.serve.explain_route import explain_router
from mlgate.pipeline.serve.feedback import add_feedback_route
from mlgate.pipeline.serve.loader import file_sha256, load_model
from mlgate.pipeline.serve.metrics import CONTENT_TYPE_LATEST, MetricsMiddleware, ServingMetrics
from mlgate.pipeline.serve.models import Detail
from mlgate.pipeline.serve.predict import add_predict_route, predict_frame
from mlgate.pipeline.serve.recording import LogOptions, Recorder
from mlgate.pipeline.serve.request_ids import HEADER
from mlgate.pipeline.serve.state import MAX_ERRORS, Served, select_path, serving_state
from mlgate.pipeline.serve.tasks import check_model

__all__ = ["DEFAULT_MAX_BATCH", "DEFAULT_MAX_BODY_BYTES", "create_app"]

DEFAULT_MAX_BATCH = 10_000
#: 10,000 German credit records are 1.7 MB of JSON; the pre-scan in pipeline.serve.body bounds what a body of
#: this size can allocate (see benchmarks/bench_api_limits.py for the measured peak per request).
DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024

_ROUTES = frozenset({"/predict", "/feedback", "/explain", "/health", "/ready", "/model", "/metrics"})
log = logging.getLogger("mlgate.pipeline.serve")


class Status(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    model_sha256: str
    prediction_log: str = Field(
        description="ok, connecting, disabled, or 'unavailable: <reason>' (predictions are still served; "
        "records are counted as dropped once the log's queue is full)."
    )


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
    task: str = Field(description="binary, multiclass or regression (model.meta.json; answers per task).")
    classes: list[str | int | float | bool] = Field(
        description="A multi-class model's class labels in probability order; empty for other tasks."
    )
    decision: str = Field(
        description="How /predict decides: threshold (binary), least_expected_cost or most_probable (multi-class: "
        "the gate's rule), prediction (regression: the predicted value)."
    )
    class_costs: list[list[float]] | None = Field(
        description="A multi-class model's cost matrix [true class][decided class], in the order of classes."
    )
    threshold: float | None = Field(description="A binary model's decision threshold; null for other tasks.")
    positive_label: str | int | bool | None = Field(description="A binary model's positive label; null otherwise.")
    sklearn_version: str | None
    scoring_path: str | None = Field(
        None,
        description="How /predict scores: array (the compiled path, checked bitwise against scikit-learn at load) "
        "or sklearn (the fitted pipeline on a DataFrame); null until the model is loaded.",
    )
    scoring_path_reason: str | None = Field(None, description="Why the scikit-learn path is served, when it is.")


def _too_large(size: int | None, limit: int) -> str:
    shown = f"{size} bytes" if size is not None else "more bytes"
    return f"request body of {shown} exceeds the limit of {limit} bytes; send smaller batches"


class BodyLimitMiddleware:
    """413 for a body over ``limit`` bytes: by Content-Length up front, or while a chunked body streams in."""

    def __init__(self, app: ASGIApp, limit: int, metrics: ServingMetrics, recorder: Recorder) -> None:
        self.app, self.limit, self.metrics, self.recorder = app, limit, metrics, recorder

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, size: int | None) -> None:
        route = scope.get("path") if scope.get("path") in _ROUTES else "unmatched"  # bounded label values
        self.metrics.validation_failures.labels(route=route, kind="too_large").inc()
        if route == "/predict":
            self.recorder.reject(413, None, datetime.now(UTC), frozenset())
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


def _add_error_handlers(app: FastAPI, served: Served) -> None:
    """Every refusal answers ``{"detail": ...}`` (422s add ``errors_total``); a bug is a logged 500. A refused
    ``/predict`` is counted by reason and logged (:meth:`Recorder.reject`) and keeps its ``X-Request-ID``."""
    metrics, recorder, features = served.metrics, served.recorder, served.limits.features

    @app.exception_handler(BodyRejected)
    async def _rejected(request: Request, exc: BodyRejected) -> JSONResponse:
        route = request.url.path if request.url.path in _ROUTES else "unmatched"
        metrics.validation_failures.labels(route=route, kind="too_large" if exc.status == 413 else "invalid").inc()
        if route == "/predict":
            recorder.reject(exc.status, exc.detail, datetime.now(UTC), features)
        content: dict[str, Any] = {"detail": exc.detail}
        if isinstance(exc.detail, list):
            content["errors_total"] = exc.total
        rid = getattr(request.state, "request_id", None)
        return JSONResponse(content, status_code=exc.status, headers={HEADER: rid} if rid else None)

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


def _lifespan(served: Served, scoring_path: str) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """The app's lifespan: start the prediction log, hash-check and load the model, choose how it scores
    (:func:`pipeline.serve.state.select_path`: the array path, else scikit-learn with the reason); a model that
    cannot be loaded leaves the app serving ``/health`` and reporting the reason on ``/ready`` and ``/predict``.
    At shutdown the log's writer is stopped after writing what is queued (up to 5 s)."""
    info, loaded, head = served.info, served.loaded, served.head

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        served.recorder.start()
        try:
            model = load_model(info)
            loaded.positive_index = check_model(model, served.rule, info.model_path)
            loaded.sha256 = file_sha256(info.model_path)
            chosen = select_path(served, model, prefer=scoring_path)
            loaded.model, loaded.error = model, ""
            log.info("loaded %s version %s from %s", head["model_name"], head["model_version"], info.root)
            why = f" ({chosen.reason})" if chosen.reason else ""
            log.info("scoring path: %s%s", chosen.path, why)
            # the loaded model and the app are long-lived: moved out of the collector's reach, a full collection
            # no longer walks them (measured: 90-100 ms pauses every 30-60 s at 500 requests/s without this)
            gc.collect()
            gc.freeze()
        except MlgateError as exc:  # BundleError (hash mismatch), ArtifactError (skops refused the file)
            loaded.error = str(exc)
            log.error("model not loaded: %s", exc)
        except Exception as exc:  # skops refusing a type, a broken file: keep serving /health, report on /ready
            loaded.error = f"{info.model_path}: cannot load model ({type(exc).__name__}: {exc})"
            log.exception("model not loaded")
        try:
            yield
        finally:
            await run_in_threadpool(served.recorder.stop)

    return lifespan


def _not_ready() -> dict[int | str, dict[str, Any]]:
    return {503: {"model": Detail, "description": "The model is not loaded or failed verification."}}


def _add_status_routes(app: FastAPI, served: Served) -> None:
    """``GET /health``, ``/ready``, ``/model`` and ``/metrics``: liveness, readiness, what is served, counters."""
    info, loaded, head, metrics, rule = served.info, served.loaded, served.head, served.metrics, served.rule

    @app.get("/health", response_model=Status, summary="Liveness: the process serves requests.")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready", response_model=Ready, responses=_not_ready(), summary="Readiness: model loaded and verified.")
    def ready() -> Any:
        if loaded.model is None:
            return JSONResponse({"detail": loaded.error}, status_code=503)
        return {"status": "ready", "model_sha256": loaded.sha256, "prediction_log": served.recorder.state}

    @app.get("/model", response_model=ModelInfo, summary="What is served: release, hashes, features, task, classes.")
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
            "task": rule.task,
            "classes": list(rule.classes),
            "decision": rule.decision,
            "class_costs": info.class_costs,
            "threshold": info.threshold if rule.task == "binary" else None,
            "positive_label": meta["positive_label"] if rule.task == "binary" else None,
            "sklearn_version": meta.get("sklearn_version"),
            "scoring_path": loaded.path.path if loaded.model is not None else None,
            "scoring_path_reason": loaded.path.reason if loaded.model is not None else None,
        }

    @app.get("/metrics", response_class=Response, summary="Prometheus metrics.")
    def prometheus() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)


def create_app(
    bundle_dir: str | Path,
    *,
    max_batch: int = DEFAULT_MAX_BATCH,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    prediction_log: LogOptions | None = None,
    scoring_path: str = "array",
) -> FastAPI:
    """The FastAPI app for the bundle in ``bundle_dir``; the model loads in the lifespan (app start-up).

    ``prediction_log`` says where every prediction, rejection and feedback label is recorded; None records
    nothing (and ``/feedback`` answers 503). ``scoring_path="sklearn"`` serves the fitted pipeline even when the
    array path would do (for comparisons); the default serves the array path when it is checked equal.

    Raises :class:`BundleError` (or ``SchemaTranslationError``) when the bundle's meta, release or schema
    file is missing or invalid: without them no typed route can be built.

    Built in named stages: the serving state from the bundle, the lifespan that loads the model, the middleware
    (body limit, metrics), the error handlers, the status routes and the prediction and feedback routes.
    """
    served = serving_state(
        bundle_dir, max_batch=max_batch, max_body_bytes=max_body_bytes, prediction_log=prediction_log
    )
    app = FastAPI(
        title=f"mlgate serving: {served.head['model_name']}",
        version=served.head["model_version"],
        description="Predictions of one released model. The request schema is generated from the committed "
        'data schema: one record as a JSON object, or a batch as {"records": [...]}.',
        lifespan=_lifespan(served, scoring_path),
    )
    app.add_middleware(BodyLimitMiddleware, limit=max_body_bytes, metrics=served.metrics, recorder=served.recorder)
    app.add_middleware(MetricsMiddleware, metrics=served.metrics, routes=_ROUTES)
    _add_error_handlers(app, served)
    _add_status_routes(app, served)
    add_predict_route(app, served)
    add_feedback_route(app, served)
    app.include_router(explain_router(served, frame=predict_frame))  # POST /explain
    return app
