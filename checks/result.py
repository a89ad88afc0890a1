"""The one result type every gate returns, and the report that collects them.

A check never raises on bad data: it returns :class:`CheckResult` objects. A layer returns a list of them;
the gated run collects every layer's list into a :class:`GateReport` and only then decides the exit code.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = [
    "LAYERS",
    "REPORT_VERSION",
    "CheckResult",
    "GateReport",
    "Interval",
    "Status",
]

REPORT_VERSION = "1.0"

#: The gate layers in the order they run and are reported.
LAYERS: tuple[str, ...] = ("schema", "balance", "drift", "quality", "reproducibility", "staleness")


class Status(enum.StrEnum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    WAIVED = "waived"
    ERROR = "error"
    SKIPPED = "skipped"

    @property
    def blocks(self) -> bool:
        """Whether this status, on a blocking check, stops the release."""
        return self in (Status.FAIL, Status.ERROR)


@dataclass(frozen=True, slots=True)
class Interval:
    """A confidence interval around an estimate."""

    low: float
    high: float
    confidence: float

    def to_dict(self) -> dict[str, float]:
        return {"low": _clean(self.low), "high": _clean(self.high), "confidence": self.confidence}


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One judgement.

    ``id`` is stable across runs (``drift.feature[credit_amount]``,
    ``balance.sensitive_share[sex=female]``) so that waivers, reports and CI history can refer to it.
    ``message`` says what failed, expected vs observed, and how to fix it, naming the column or slice.
    """

    id: str
    layer: str
    status: Status
    message: str
    observed: Any = None
    expected: Any = None
    interval: Interval | None = None
    slice: str | None = None
    blocking: bool = True
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.layer not in LAYERS:
            raise ValueError(f"unknown layer {self.layer!r}; expected one of {', '.join(LAYERS)}")

    @property
    def blocks(self) -> bool:
        return self.blocking and self.status.blocks

    def with_status(self, status: Status, message: str | None = None, **details: Any) -> CheckResult:
        merged = {**self.details, **details}
        return replace(self, status=status, message=message or self.message, details=merged)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "layer": self.layer,
            "status": self.status.value,
            "blocking": self.blocking,
            "message": self.message,
            "observed": _jsonable(self.observed),
            "expected": _jsonable(self.expected),
            "interval": self.interval.to_dict() if self.interval else None,
            "slice": self.slice,
            "details": _jsonable(dict(self.details)),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CheckResult:
        interval = data.get("interval")
        return cls(
            id=data["id"],
            layer=data["layer"],
            status=Status(data["status"]),
            message=data["message"],
            observed=data.get("observed"),
            expected=data.get("expected"),
            interval=Interval(**interval) if interval else None,
            slice=data.get("slice"),
            blocking=data.get("blocking", True),
            details=data.get("details") or {},
        )


@dataclass(frozen=True)
class GateReport:
    """Every check of one gated run plus what the run was about (config, data, model, registry)."""

    results: tuple[CheckResult, ...]
    run: Mapping[str, Any] = field(default_factory=dict)
    artifacts: Mapping[str, Any] = field(default_factory=dict)
    version: str = REPORT_VERSION

    @classmethod
    def collect(cls, results: Iterable[CheckResult], **kwargs: Any) -> GateReport:
        order = {name: i for i, name in enumerate(LAYERS)}
        ordered = sorted(results, key=lambda r: order[r.layer])  # stable: keeps order within a layer
        return cls(results=tuple(ordered), **kwargs)

    @property
    def passed(self) -> bool:
        """True when no blocking check failed or errored (warnings and valid waivers allowed)."""
        return not any(r.blocks for r in self.results)

    @property
    def exit_code(self) -> int:
        return 0 if self.passed else 1

    def by_layer(self) -> dict[str, list[CheckResult]]:
        grouped: dict[str, list[CheckResult]] = {}
        for result in self.results:
            grouped.setdefault(result.layer, []).append(result)
        return grouped

    def layer_status(self, layer: str) -> Status:
        results = [r for r in self.results if r.layer == layer]
        if not results:
            return Status.SKIPPED
        for status in (Status.ERROR, Status.FAIL, Status.WARN, Status.WAIVED, Status.PASS):
            if any(r.status is status for r in results):
                return status
        return Status.SKIPPED

    def counts(self) -> dict[str, int]:
        counts = {status.value: 0 for status in Status}
        for result in self.results:
            counts[result.status.value] += 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "report_version": self.version,
            "passed": self.passed,
            "exit_code": self.exit_code,
            "counts": self.counts(),
            "layers": {layer: self.layer_status(layer).value for layer in LAYERS},
            "run": _jsonable(dict(self.run)),
            "artifacts": _jsonable(dict(self.artifacts)),
            "results": [r.to_dict() for r in self.results],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GateReport:
        if str(data.get("report_version", "")).split(".")[0] != REPORT_VERSION.split(".")[0]:
            raise ValueError(f"report version {data.get('report_version')!r} is not {REPORT_VERSION}")
        return cls(
            results=tuple(CheckResult.from_dict(r) for r in data["results"]),
            run=data.get("run") or {},
            artifacts=data.get("artifacts") or {},
            version=data["report_version"],
        )


def _clean(value: float) -> float | None:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _jsonable(value: Any) -> Any:
    """Convert numpy scalars, tuples and non-finite floats into plain JSON values."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        value = value.item()
    if hasattr(value, "tolist"):
        return _jsonable(value.tolist())
    if isinstance(value, float):
        return _clean(value)
    if isinstance(value, str | int | bool) or value is None:
        return value
    if isinstance(value, enum.Enum):
        return value.value
    return str(value)
