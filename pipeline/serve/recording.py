"""The serving app's side of the prediction log (:mod:`pipeline.predlog`): records, rejections and feedback.

:class:`Recorder` starts the log writer in the app's lifespan and stops it (flushing) at shutdown. ``/predict``
hands it each scored record (request id, UTC time the request arrived, model name/version/sha256, the validated
input record, probability, decided label, latency from arrival to scoring done) and each refused request (a
reason and a short detail naming fields and error kinds, never a payload value). Recording never blocks or
fails a request: see :class:`pipeline.predlog.LogWriter`.

:attr:`Recorder.state` is what ``/ready`` reports as ``prediction_log``: ``ok``, ``connecting``, ``disabled``, or
``unavailable: <reason>`` (credentials hidden). The app stays ready while its log is unavailable: predictions
are served, and records are counted as dropped once the queue is full (``mlgate_prediction_log_dropped_total``).
Without SQLAlchemy installed the log is ``unavailable`` and every record is counted as dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from mlgate.pipeline.serve.labels import LabelSet
from mlgate.pipeline.serve.loader import BundleError
from mlgate.pipeline.serve.metrics import ServingMetrics

__all__ = ["REJECTION_REASONS", "LogOptions", "Recorder", "rejection_detail"]

log = logging.getLogger("mlgate.pipeline.serve")

#: The ``rejections.reason`` of a refused ``/predict`` request, by HTTP status.
REJECTION_REASONS = {
    400: "bad_encoding",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "validation",
    503: "not_ready",
}
_SHOWN_ERRORS = 3


@dataclass(frozen=True)
class LogOptions:
    """Where and how the app logs: ``location`` is an SQLAlchemy URL or a folder of per-replica SQLite files."""

    location: str = "predictions"
    enabled: bool = True
    queue_size: int = 10_000
    batch_size: int = 256
    flush_interval_s: float = 0.5

    def with_bundle(self, release: dict[str, Any], source: str) -> LogOptions:
        """These options with the tuning the bundle carries (``release.json`` ``prediction_log``: ``enabled``,
        ``queue_size``, ``batch_size``, ``flush_interval_s``, from the project's ``[monitor.log]``); a bad value
        is a :class:`BundleError` naming the key."""
        fields = release.get("prediction_log")
        if fields is None:
            return self
        from pydantic import ValidationError

        from mlgate.pipeline.config_monitor import PredictionLogSettings

        allowed = {"enabled", "queue_size", "batch_size", "flush_interval_s"}
        try:
            if not isinstance(fields, dict) or not fields.keys() <= allowed:
                raise ValueError(f"must be an object with keys among {sorted(allowed)}")
            tuned = PredictionLogSettings.model_validate(fields)
        except (ValueError, ValidationError) as exc:
            first = str(exc).splitlines()[1 if isinstance(exc, ValidationError) else 0][:200]
            raise BundleError(f"{source}: 'prediction_log': {first}") from None
        return replace(
            self,
            enabled=self.enabled and tuned.enabled,
            queue_size=tuned.queue_size,
            batch_size=tuned.batch_size,
            flush_interval_s=tuned.flush_interval_s,
        )


def rejection_detail(status: int, detail: Any, features: frozenset[str]) -> str:
    """A short, value-free description of a refusal: ``HTTP 422: 2 errors: body.age greater_than_equal, ...``.

    Only structure is kept: known feature names, record indexes and error kinds; any other key is ``?``.
    """
    if not isinstance(detail, list):
        return f"HTTP {status}"
    known = features | {"body", "records", "header", "X-Request-ID"}
    shown = []
    for error in detail[:_SHOWN_ERRORS]:
        loc = error.get("loc", []) if isinstance(error, dict) else []
        where = ".".join(str(p) if isinstance(p, int) or p in known else "?" for p in loc)
        kind = str(error.get("type", "")) if isinstance(error, dict) else ""
        shown.append(f"{where} {kind[:40]}".strip())
    more = f", +{len(detail) - _SHOWN_ERRORS} more" if len(detail) > _SHOWN_ERRORS else ""
    return f"HTTP {status}: {len(detail)} error{'s' if len(detail) != 1 else ''}: {', '.join(shown)}{more}"


class Recorder:
    """The app's prediction log: a :class:`pipeline.predlog.LogWriter` and a feedback store, or nothing
    (``options`` None or not enabled)."""

    def __init__(self, options: LogOptions | None, metrics: ServingMetrics, *, head: dict[str, Any], labels: LabelSet):
        self.options, self.metrics, self.head, self.labels = options, metrics, head, labels
        self.enabled = options is not None and options.enabled
        self.writer: Any = None  # pipeline.predlog.LogWriter once started
        self.feedback: Any = None  # pipeline.predlog.FeedbackStore once started
        self.folder: Path | None = None  # the folder of per-replica files; None for one database (a URL)
        self._problem = "connecting" if self.enabled else "disabled"
        self._record: Any = None
        self._rejection: Any = None
        self._negative, self._positive = labels.decision_texts()

    @property
    def state(self) -> str:
        return str(self.writer.state) if self.writer is not None else self._problem

    def start(self) -> None:
        """Start the writer (its thread connects, creating the tables on first use)."""
        if not self.enabled or self.writer is not None:
            return
        assert self.options is not None
        try:
            from mlgate.pipeline import predlog
        except ImportError as exc:
            self._problem = f"unavailable: the prediction log needs SQLAlchemy ({exc.name} is not installed)"
            log.error("prediction log %s", self._problem)
            return
        location, replica = self.options.location, predlog.replica_id()
        folder = self.folder = None if predlog.is_url(location) else Path(location)
        url = location if folder is None else predlog.sqlite_url(predlog.log_file(folder, replica))
        metrics = self.metrics
        self.writer = predlog.LogWriter(
            url,
            replica=replica,
            queue_size=self.options.queue_size,
            batch_size=self.options.batch_size,
            flush_interval_s=self.options.flush_interval_s,
            on_dropped=lambda count, reason: metrics.log_dropped.labels(reason=reason).inc(count),
            on_written=metrics.log_written.inc,
        )
        self._record, self._rejection = predlog.PredictionRecord, predlog.RejectionRecord
        self.feedback = predlog.FeedbackStore(self.writer, folder)
        metrics.log_queue_depth.set_function(self.writer.queue_depth)
        metrics.log_up.set_function(lambda: 1.0 if self.writer.state == "ok" else 0.0)
        self.writer.start()

    def stop(self, timeout: float = 5.0) -> None:
        if self.writer is not None:
            self.writer.close(timeout)

    def record(
        self,
        ids: Sequence[str],
        received_at: datetime,
        inputs: Sequence[dict[str, Any]],
        proba: Sequence[float],
        decision: Sequence[int],
        *,
        latency_ms: float,
        model_sha256: str,
    ) -> None:
        """Queue one record per scored row (never blocks; a full queue drops and counts)."""
        if self.writer is None:
            if self.enabled:
                self.metrics.log_dropped.labels(reason="unavailable").inc(len(ids))
            return
        make, name, version = self._record, self.head["model_name"], self.head["model_version"]
        texts = (self._negative, self._positive)
        self.writer.submit_many(
            make(rid, received_at, name, version, model_sha256, row, p, texts[d], latency_ms)
            for rid, row, p, d in zip(ids, inputs, proba, decision, strict=True)
        )

    def reject(self, status: int, detail: Any, received_at: datetime, features: frozenset[str]) -> None:
        """Count one refused ``/predict`` request by reason, and log it (reason and a value-free detail)."""
        reason = REJECTION_REASONS.get(status, f"http_{status}")
        self.metrics.rejected.labels(reason=reason).inc()
        if self.writer is not None:
            self.writer.submit(self._rejection(received_at, reason, rejection_detail(status, detail, features)))
        elif self.enabled:
            self.metrics.log_dropped.labels(reason="unavailable").inc()
