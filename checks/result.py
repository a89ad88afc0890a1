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
    "ALL_LAYERS",
    "LAYERS",
    "OPTIONAL_LAYERS",
    "REPORT_VERSION",
    "CheckResult",
    "GateReport",
    "Interval",
    "Reason",
    "Status",
]

#: 1.1: every result carries ``reason`` (a :class:`Reason` value, ``null`` for a pass).
REPORT_VERSION = "1.1"

#: The gate layers in the order they run and are reported.
LAYERS: tuple[str, ...] = ("schema", "balance", "drift", "quality", "reproducibility", "staleness")
#: Layers a run includes only when configured or asked for by name: ``deepchecks`` (``[deepchecks] enabled``,
#: ``mlgate run --deepchecks``, ``mlgate gate --layer deepchecks``). Reported after the others, and listed in a
#: report's ``layers`` only when it ran, so a run without it reports exactly as before.
OPTIONAL_LAYERS: tuple[str, ...] = ("deepchecks",)
ALL_LAYERS: tuple[str, ...] = (*LAYERS, *OPTIONAL_LAYERS)


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


class Reason(enum.StrEnum):
    """Why a result did not pass: a machine-readable code next to the English message (pandera's
    ``SchemaErrorReason`` is the model), so reports, JUnit and dashboards can group and count without parsing
    messages. The values are a contract of the JSON report and the JUnit ``type`` attribute: add new ones,
    never rename or reuse one. ``docs/REPORT.md`` lists them with the checks that produce them.

    A PASS carries no reason. A WAIVED result keeps the reason of the failure it excuses (the status says it
    was waived).
    """

    # a value against a configured bound or reference
    BELOW_BOUND = "below_bound"
    BELOW_BOUND_POINT_ONLY = "below_bound_point_only"
    ABOVE_BOUND = "above_bound"
    ABOVE_BOUND_POINT_ONLY = "above_bound_point_only"
    OUTSIDE_REFERENCE = "outside_reference"
    OUTSIDE_REFERENCE_POINT_ONLY = "outside_reference_point_only"
    UNDECLARED_GROUP = "undeclared_group"
    MISSING_GROUP = "missing_group"
    SIGNIFICANT_ABOVE_FLOOR = "significant_above_floor"
    # the committed data schema
    MISSING_COLUMN = "missing_column"
    UNEXPECTED_COLUMN = "unexpected_column"
    WRONG_DTYPE = "wrong_dtype"
    NULL_VALUES = "null_values"
    OUT_OF_RANGE = "out_of_range"
    NOT_IN_SET = "not_in_set"
    CHECK_FAILED = "check_failed"
    # data integrity (checks.integrity, run by the schema layer)
    TARGET_LEAK = "target_leak"
    IDENTIFIER = "identifier"
    DENIED_FEATURE = "denied_feature"
    PERSONAL_DATA = "personal_data"
    NON_FINITE = "non_finite"
    # data integrity (schema layer)
    DUPLICATE_ROWS = "duplicate_rows"
    # comparisons with other models
    WORSE_THAN_BASELINE = "worse_than_baseline"
    WORSE_THAN_CHAMPION = "worse_than_champion"
    WORSE_THAN_OFFLINE = "worse_than_offline"  # monitor: the served model vs its own offline (test-split) value
    UNCALIBRATED = "uncalibrated"  # monitor.calibration: probabilities cannot stand in for labels
    GROUP_GAP = "group_gap"
    # reproducibility and provenance
    NOT_REPRODUCIBLE = "not_reproducible"
    DATA_CHANGED = "data_changed"
    ARTIFACT_MISMATCH = "artifact_mismatch"
    ARTIFACT_UNLOADABLE = "artifact_unloadable"
    SERVING_MISMATCH = "serving_mismatch"
    PROVENANCE_MISSING = "provenance_missing"
    PROVENANCE_INVALID = "provenance_invalid"
    UNCOMMITTED_CHANGES = "uncommitted_changes"
    NO_SEARCH = "no_search"
    DEPENDENCIES_CHANGED = "dependencies_changed"
    # model health (checks.quality_health)
    NO_CONTRIBUTION = "no_contribution"
    NO_IMPROVEMENT = "no_improvement"
    # staleness
    STALE = "stale"
    EVENT_LAG = "event_lag"
    NO_EVENT_TIME = "no_event_time"
    CLOCK_SKEW = "clock_skew"
    # waivers
    WAIVER_EXPIRED = "waiver_expired"
    WAIVER_UNMATCHED = "waiver_unmatched"
    WAIVER_UNNEEDED = "waiver_unneeded"
    # a check that could not judge (ERROR)
    INVALID_CONFIG = "invalid_config"
    UNDEFINED_METRIC = "undefined_metric"
    TRAINING_FAILED = "training_failed"
    RETRAIN_FAILED = "retrain_failed"
    CHAMPION_UNUSABLE = "champion_unusable"
    CHECK_ERROR = "check_error"
    # nothing to judge (SKIPPED)
    NO_ROWS = "no_rows"
    TOO_SMALL = "too_small"
    NO_CANDIDATE = "no_candidate"
    NO_CHAMPION = "no_champion"
    NO_CONFIG_FILE = "no_config_file"
    NOT_CONFIGURED = "not_configured"
    DISABLED = "disabled"
    NOT_REFITTED = "not_refitted"  # quality.champion_recipe: the recipes could not or should not be refitted
    NOT_ON_ENGINE = "not_on_engine"  # the check is not computed on this data.engine (Spark: no row order ...)


@dataclass(frozen=True, slots=True)
class Interval:
    """A confidence interval around an estimate."""

    low: float
    high: float
    confidence: float

    def to_dict(self) -> dict[str, float | None]:
        return {"low": _clean(self.low), "high": _clean(self.high), "confidence": self.confidence}


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One judgement.

    ``id`` is stable across runs (``drift.feature[credit_amount]``,
    ``balance.sensitive_share[sex=female]``) so that waivers, reports and CI history can refer to it.
    ``message`` says what failed, expected vs observed, and how to fix it, naming the column or slice.
    ``reason`` says why it did not pass, as a stable code (:class:`Reason`); None for a pass.
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
    reason: Reason | None = None

    def __post_init__(self) -> None:
        if self.layer not in ALL_LAYERS:
            raise ValueError(f"unknown layer {self.layer!r}; expected one of {', '.join(ALL_LAYERS)}")
        if self.status is Status.PASS and self.reason is not None:
            raise ValueError(f"{self.id}: a pass carries no reason (got {self.reason.value!r})")

    @property
    def blocks(self) -> bool:
        return self.blocking and self.status.blocks

    def with_status(
        self, status: Status, message: str | None = None, *, reason: Reason | None = None, **details: Any
    ) -> CheckResult:
        """A copy with another status; the reason is kept unless given (and dropped for a pass)."""
        merged = {**self.details, **details}
        why = None if status is Status.PASS else (reason or self.reason)
        return replace(self, status=status, message=message or self.message, details=merged, reason=why)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "layer": self.layer,
            "status": self.status.value,
            "reason": self.reason.value if self.reason is not None else None,
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
        reason = data.get("reason")  # absent in reports before 1.1
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
            reason=_known_reason(reason),
        )


def _known_reason(value: Any) -> Reason | None:
    """A reason code read from a report: None when absent (reports before 1.1) or unknown to this mlgate (a newer
    one wrote it); the message still says what failed, and the verdict does not depend on the reason."""
    try:
        return None if value is None else Reason(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class GateReport:
    """Every check of one gated run plus what the run was about (config, data, model, registry)."""

    results: tuple[CheckResult, ...]
    run: Mapping[str, Any] = field(default_factory=dict)
    artifacts: Mapping[str, Any] = field(default_factory=dict)
    version: str = REPORT_VERSION

    @classmethod
    def collect(cls, results: Iterable[CheckResult], **kwargs: Any) -> GateReport:
        order = {name: i for i, name in enumerate(ALL_LAYERS)}
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

    def reported_layers(self) -> list[str]:
        """The standard layers (each with its status, SKIPPED when it did not run), then the optional layers
        that have results."""
        present = {r.layer for r in self.results}
        return [*LAYERS, *(layer for layer in OPTIONAL_LAYERS if layer in present)]

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
            "layers": {layer: self.layer_status(layer).value for layer in self.reported_layers()},
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
