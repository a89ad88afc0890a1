"""Prometheus metrics of the serving app, in a registry owned by the app (never the global one).

Exposed at ``GET /metrics``:

- ``mlgate_requests_total{method, route, status}``: every HTTP request, by route template (not raw path, so
  the label set stays bounded; unknown paths count as ``route="unmatched"``);
- ``mlgate_request_duration_seconds{method, route}``: latency histogram;
- ``mlgate_predict_stage_seconds{stage}``: where a ``/predict`` request's time goes, stage by stage: ``validate``
  (read, screen and validate the body), ``score`` (the model, on the path ``/model`` names), ``serialise`` (the
  answer's JSON), ``log`` (handing the records to the prediction log's queue);
- ``mlgate_validation_failures_total{route, kind}``: rejected payloads (``invalid`` = 422,
  ``too_large`` = 413);
- ``mlgate_predictions_total{predicted_class}`` and ``mlgate_prediction_probability``: what the model answers
  (``predicted_class``: ``1``/``0`` for a binary model, the decided class's label for a multi-class one, ``value``
  for a regression model; the probability histogram is a binary model's positive-class probability only);
- ``mlgate_rejected_requests_total{reason}``: refused ``/predict`` requests (``validation``, ``body_too_large``,
  ``unsupported_media_type``, ``bad_encoding``, ``not_ready``), also logged in the prediction log;
- ``mlgate_prediction_log_written_total``, ``mlgate_prediction_log_dropped_total{reason}`` (``queue_full``,
  ``duplicate_id``, ``write_error``, ``shutdown``, ``unavailable``), ``mlgate_prediction_log_queue_depth`` and
  ``mlgate_prediction_log_up`` (1 when the log database is connected): the prediction log's writer;
- ``mlgate_feedback_total{status}``: ``POST /feedback`` items by outcome (``stored``, ``duplicate``,
  ``conflict``, ``unknown``).
"""

from __future__ import annotations

import time
from collections import Counter as Tally
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["CONTENT_TYPE_LATEST", "STAGES", "MetricsMiddleware", "ServingMetrics"]

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_PROBABILITY_BUCKETS = tuple(round(0.1 * i, 1) for i in range(1, 11))
#: Stages take microseconds to milliseconds: finer buckets than a request's.
_STAGE_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1.0)
#: The stages of a ``/predict`` request, in order (``mlgate_predict_stage_seconds{stage}``).
STAGES = ("validate", "score", "serialise", "log")


class ServingMetrics:
    """The app's metric families, registered in a private :class:`CollectorRegistry`."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "mlgate_requests",
            "HTTP requests by route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "mlgate_request_duration_seconds",
            "HTTP request latency by route",
            ["method", "route"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.stage = Histogram(
            "mlgate_predict_stage_seconds",
            "Time of each stage of a /predict request",
            ["stage"],
            buckets=_STAGE_BUCKETS,
            registry=self.registry,
        )
        self._stages = {name: self.stage.labels(stage=name) for name in STAGES}  # children made once, not per call
        self.validation_failures = Counter(
            "mlgate_validation_failures", "Rejected request payloads", ["route", "kind"], registry=self.registry
        )
        self.predictions = Counter(
            "mlgate_predictions",
            "Predictions by predicted class (1 = positive label)",
            ["predicted_class"],
            registry=self.registry,
        )
        self.probability = Histogram(
            "mlgate_prediction_probability",
            "Predicted probability of the positive label",
            buckets=_PROBABILITY_BUCKETS,
            registry=self.registry,
        )

        self.rejected = Counter(
            "mlgate_rejected_requests", "Refused /predict requests by reason", ["reason"], registry=self.registry
        )
        self.log_written = Counter(
            "mlgate_prediction_log_written", "Records written to the prediction log", registry=self.registry
        )
        self.log_dropped = Counter(
            "mlgate_prediction_log_dropped",
            "Records the prediction log did not keep, by reason",
            ["reason"],
            registry=self.registry,
        )
        self.log_queue_depth = Gauge(
            "mlgate_prediction_log_queue_depth", "Records waiting for the log writer", registry=self.registry
        )
        self.log_up = Gauge(
            "mlgate_prediction_log_up", "1 when the prediction log database is connected", registry=self.registry
        )
        self.feedback = Counter("mlgate_feedback", "Feedback items by outcome", ["status"], registry=self.registry)

    def observe_stages(self, seconds: dict[str, float]) -> None:
        """One ``/predict`` request's stage times (``STAGES`` names)."""
        for name, value in seconds.items():
            self._stages[name].observe(value)

    def observe_predictions(self, proba: np.ndarray, decision: np.ndarray) -> None:
        positives = int(decision.sum())
        if positives:
            self.predictions.labels(predicted_class="1").inc(positives)
        if len(decision) - positives:
            self.predictions.labels(predicted_class="0").inc(len(decision) - positives)
        observe = self.probability.observe
        for value in proba.tolist():
            observe(value)

    def observe_classes(self, decided: list[str]) -> None:
        """Count a multi-class model's decided labels (or ``value`` for each regression prediction)."""
        for label, count in Tally(decided).items():
            self.predictions.labels(predicted_class=label).inc(count)

    def render(self) -> bytes:
        return generate_latest(self.registry)


Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class MetricsMiddleware:
    """Pure ASGI middleware: counts and times every HTTP request (no BaseHTTPMiddleware overhead)."""

    def __init__(self, app: ASGIApp, metrics: ServingMetrics, routes: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes  # paths labelled as themselves when a request is answered before routing (a 413)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = {"code": 500}
        start = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            path = scope.get("path")
            template = getattr(route, "path", path if path in self.routes else "unmatched")
            method = scope.get("method", "")
            self.metrics.requests.labels(method=method, route=template, status=str(status["code"])).inc()
            self.metrics.latency.labels(method=method, route=template).observe(time.perf_counter() - start)
