"""The latest monitor verdicts as a Prometheus textfile (``mlgate monitor --metrics-file PATH``).

Written with prometheus-client's ``write_to_textfile`` (a temporary file renamed into place, so a scraper never
reads half a file) from a private ``CollectorRegistry``: node_exporter's textfile collector, or any Prometheus
that scrapes a file server, exposes it; ``ci/monitoring/alerts.yml`` holds example alert rules on these series.

- ``mlgate_monitor_check_status{check, layer, blocking}``: 0 pass, 1 warn, 2 fail, 3 error, -1 skipped (not
  judged: an empty window, too little feedback). Alert on ``>= 2`` with ``blocking="true"``.
- ``mlgate_monitor_drift_effect{feature, effect}``: the drift effect (KS D or TVD) of each input feature and of
  the served scores (``feature="(score)"``), ``mlgate_monitor_drift_effect_floor{feature}`` its floor.
- ``mlgate_monitor_quality{metric, kind}``: ``kind="live"`` (with feedback), ``"offline"`` (measured on the test
  split), ``"estimate"`` (the window without labels, confidence-based: an estimate, never a measurement) and
  ``"estimate_offline"`` (the same estimator on the test split, what the estimate is compared with).
- ``mlgate_monitor_latency_seconds{percentile="50"|"99"}``: the logged p50 and p99.
- ``mlgate_monitor_window_predictions``, ``mlgate_monitor_dropped_records``, ``mlgate_monitor_passed`` (1 when no
  blocking check failed) and ``mlgate_monitor_last_run_timestamp_seconds`` (alert when the monitor stops running).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from mlgate.checks.result import GateReport, Status
from mlgate.pipeline.errors import OutputError

__all__ = ["STATUS_VALUES", "write_metrics"]

STATUS_VALUES: dict[Status, float] = {
    Status.PASS: 0.0,
    Status.WARN: 1.0,
    Status.WAIVED: 1.0,
    Status.FAIL: 2.0,
    Status.ERROR: 3.0,
    Status.SKIPPED: -1.0,
}


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def write_metrics(report: GateReport, path: Path, *, now: datetime) -> Path:
    """Write ``report``'s verdicts and key observations to ``path`` in the Prometheus text format."""
    from prometheus_client import CollectorRegistry, Gauge, write_to_textfile

    registry = CollectorRegistry()
    status = Gauge(
        "mlgate_monitor_check_status",
        "Latest mlgate monitor verdict per check: 0 pass, 1 warn, 2 fail, 3 error, -1 skipped",
        ["check", "layer", "blocking"],
        registry=registry,
    )
    effect = Gauge(
        "mlgate_monitor_drift_effect",
        "Drift effect (KS D or TVD) of the window",
        ["feature", "effect"],
        registry=registry,
    )
    floor = Gauge(
        "mlgate_monitor_drift_effect_floor", "The effect floor of the drift test", ["feature"], registry=registry
    )
    quality = Gauge(
        "mlgate_monitor_quality",
        "Quality of the served model: live, offline, or estimated",
        ["metric", "kind"],
        registry=registry,
    )
    latency = Gauge(
        "mlgate_monitor_latency_seconds", "Logged prediction latency percentile", ["percentile"], registry=registry
    )
    for result in report.results:
        status.labels(result.id, result.layer, str(result.blocking).lower()).set(STATUS_VALUES[result.status])
        details = result.details
        if result.id.startswith(("monitor.input_drift[", "monitor.prediction_drift")) and "effect" in details:
            feature = "(score)" if result.id == "monitor.prediction_drift" else str(details.get("column"))
            value, bound = _number(details.get("effect")), _number(details.get("effect_floor"))
            if value is not None:
                effect.labels(feature, str(details.get("effect_name"))).set(value)
            if bound is not None:
                floor.labels(feature).set(bound)
        metric = str(details.get("metric", ""))
        if result.id.startswith("monitor.live_quality[") and _number(details.get("live")) is not None:
            quality.labels(metric, "live").set(float(details["live"]))
            quality.labels(metric, "offline").set(float(details["offline"]))
        if result.id.startswith("monitor.estimated_quality[") and _number(details.get("expected")) is not None:
            quality.labels(metric, "estimate").set(float(details["expected"]))
            quality.labels(metric, "estimate_offline").set(float(details["offline"]))
            if _number(details.get("offline_measured")) is not None:
                quality.labels(metric, "offline").set(float(details["offline_measured"]))
        if result.id.startswith("monitor.latency[") and _number(result.observed) is not None:
            latency.labels(result.id.split("[p", 1)[1].rstrip("]")).set(float(result.observed) / 1000.0)
    monitor = report.run.get("monitor") or {}
    Gauge("mlgate_monitor_window_predictions", "Predictions in the judged window", registry=registry).set(
        float(monitor.get("predictions") or 0)
    )
    Gauge("mlgate_monitor_dropped_records", "Records the log writers dropped", registry=registry).set(
        float(monitor.get("dropped") or 0)
    )
    Gauge("mlgate_monitor_passed", "1 when no blocking monitor check failed", registry=registry).set(
        1.0 if report.passed else 0.0
    )
    Gauge("mlgate_monitor_last_run_timestamp_seconds", "When the monitor last ran", registry=registry).set(
        now.timestamp()
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_to_textfile(str(path), registry)
    except OSError as exc:
        raise OutputError(f"--metrics-file {path}: cannot write it ({exc.strerror or exc})") from exc
    return path
