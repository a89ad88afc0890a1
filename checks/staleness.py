"""The staleness gate layer: is the champion too old, or trained on data that has since changed?

Checks (ids), all judged against ``evidence.champion`` (the model holding the ``champion`` alias):

- ``staleness.champion_age``: days since the champion was trained. WARN when older than
  ``staleness.warn_age_days``, FAIL when older than ``staleness.max_age_days``.
- ``staleness.data_changed``: the current data's fingerprint differs from the champion's, and the share of
  rows changed (see :func:`row_change`) is above ``staleness.max_data_change`` -> FAIL ("retrain due");
  changed but within the bound -> WARN.
- ``staleness.data_distribution``: whether the data changed in distribution (the drift gate's tests on the
  champion's logged training rows vs this run's), next to the row count: see :mod:`checks.staleness_distribution`.
- ``staleness.event_lag``: when ``data.event_time_column`` is set, the newest event in the current data is
  later than the champion's training window (tag ``mlgate.event_time_max``) by more than
  ``staleness.max_event_lag_days`` -> FAIL.

Boundaries are inclusive: a limit is the largest value still allowed. A champion exactly ``max_age_days`` old,
a data change of exactly ``max_data_change`` or an event lag of exactly ``max_event_lag_days`` does not fail
(it warns where a warning level applies); one second or one row more does.

Blocking: staleness judges the champion, not a candidate. When the evidence carries a candidate (a gated
run: the candidate IS the retrain that replaces a stale champion), the results are reported with
``blocking=False`` so a stale champion never blocks its own replacement; judged alone (``mlgate status``,
a scheduled check), they block.

No champion -> every check is SKIPPED with "no champion yet".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypedDict, Unpack

import numpy as np
import pandas as pd

from mlgate.checks.evidence import Evidence
from mlgate.checks.result import CheckResult, Reason, Status
from mlgate.checks.staleness_distribution import check_data_distribution
from mlgate.pipeline.config import ProjectConfig
from mlgate.pipeline.ingest import row_hashes
from mlgate.pipeline.records import ChampionRecord
from mlgate.pipeline.tags import Tag

__all__ = [
    "EVENT_TIME_MAX_TAG",
    "LAYER",
    "RowChange",
    "check_age",
    "check_data_changed",
    "check_event_lag",
    "event_time_max",
    "row_change",
    "run",
]

LAYER = "staleness"
#: Champion tag: the newest event time (ISO 8601, UTC) in the data it was trained on.
EVENT_TIME_MAX_TAG = Tag.EVENT_TIME_MAX
_DAY_S = 86_400.0


@dataclass(frozen=True)
class RowChange:
    """How two data snapshots differ, compared as multisets of row hashes (row order never matters).

    ``share = max(added, removed) / max(n_reference, n_current)``: the share of rows an edit would touch.
    A modified row counts once (it is one removed and one added row); an appended or deleted row counts once.
    It is 0 for identical multisets, symmetric (swapping the snapshots swaps added and removed) and in [0, 1].
    """

    n_reference: int
    n_current: int
    added: int
    removed: int

    @property
    def unchanged(self) -> int:
        return self.n_current - self.added

    @property
    def share(self) -> float:
        total = max(self.n_reference, self.n_current)
        return max(self.added, self.removed) / total if total else 0.0


def row_change(reference: np.ndarray, current: np.ndarray) -> RowChange:
    """Compare two arrays of row hashes as multisets (vectorised: unique counts + sorted intersection)."""
    reference = np.asarray(reference, dtype=np.uint64).ravel()
    current = np.asarray(current, dtype=np.uint64).ravel()
    ref_values, ref_counts = np.unique(reference, return_counts=True)
    cur_values, cur_counts = np.unique(current, return_counts=True)
    _, ref_at, cur_at = np.intersect1d(ref_values, cur_values, assume_unique=True, return_indices=True)
    kept = int(np.minimum(ref_counts[ref_at], cur_counts[cur_at]).sum())
    return RowChange(
        n_reference=int(reference.size),
        n_current=int(current.size),
        added=int(current.size) - kept,
        removed=int(reference.size) - kept,
    )


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class _Figures(TypedDict, total=False):
    """What a staleness check measured, as CheckResult fields (one dict shared by a check's outcomes)."""

    observed: Any
    expected: Any
    details: Mapping[str, Any]


def _result(
    check: str,
    status: Status,
    message: str,
    *,
    blocking: bool,
    reason: Reason | None = None,
    **fields: Unpack[_Figures],
) -> CheckResult:
    return CheckResult(
        id=f"{LAYER}.{check}", layer=LAYER, status=status, message=message, blocking=blocking, reason=reason, **fields
    )


def check_age(champion: ChampionRecord, config: ProjectConfig, *, now: datetime, blocking: bool = True) -> CheckResult:
    settings = config.staleness
    trained = _as_utc(champion.trained_at)
    age = (_as_utc(now) - trained).total_seconds() / _DAY_S
    who = f"champion {champion.name} v{champion.version}"
    fields: _Figures = {
        "observed": round(age, 3),
        "expected": {"warn_age_days": settings.warn_age_days, "max_age_days": settings.max_age_days},
        "details": {"trained_at": trained.isoformat(), "now": _as_utc(now).isoformat()},
    }
    if age < 0:
        return _result(
            "champion_age",
            Status.WARN,
            f"{who} has a training time in the future ({trained.isoformat()}); check the registry clock",
            blocking=blocking,
            reason=Reason.CLOCK_SKEW,
            **fields,
        )
    if age > settings.max_age_days:
        return _result(
            "champion_age",
            Status.FAIL,
            f"{who} is stale: trained {age:.1f} days ago ({trained:%Y-%m-%d}), more than "
            f"staleness.max_age_days = {settings.max_age_days:g}; retrain due",
            blocking=blocking,
            reason=Reason.STALE,
            **fields,
        )
    if age > settings.warn_age_days:
        return _result(
            "champion_age",
            Status.WARN,
            f"{who} was trained {age:.1f} days ago ({trained:%Y-%m-%d}), more than staleness.warn_age_days = "
            f"{settings.warn_age_days:g} (fails after {settings.max_age_days:g}); plan a retrain",
            blocking=blocking,
            reason=Reason.STALE,
            **fields,
        )
    return _result(
        "champion_age",
        Status.PASS,
        f"{who} was trained {age:.1f} days ago (warn after {settings.warn_age_days:g}, "
        f"fail after {settings.max_age_days:g})",
        blocking=blocking,
        **fields,
    )


def check_data_changed(
    champion: ChampionRecord,
    config: ProjectConfig,
    *,
    fingerprint: str,
    current_hashes: np.ndarray,
    blocking: bool = True,
) -> CheckResult:
    """``current_hashes``: :func:`pipeline.ingest.row_hashes` of the current data (the ingested frame)."""
    bound = config.staleness.max_data_change
    who = f"champion {champion.name} v{champion.version}"
    if champion.data_fingerprint is None:
        return _result(
            "data_changed",
            Status.WARN,
            f"{who} has no recorded data fingerprint: cannot tell whether the data changed since it was trained",
            blocking=blocking,
            reason=Reason.PROVENANCE_MISSING,
            observed=fingerprint,
        )
    if champion.data_fingerprint == fingerprint:
        return _result(
            "data_changed",
            Status.PASS,
            f"the data is unchanged since {who} was trained (fingerprint {fingerprint[:12]})",
            blocking=blocking,
            observed=fingerprint,
            expected=champion.data_fingerprint,
        )
    changed = f"the data changed since {who} was trained (fingerprint {champion.data_fingerprint[:12]} -> "
    changed += f"{fingerprint[:12]})"
    if champion.row_hashes is None:
        return _result(
            "data_changed",
            Status.WARN,
            f"{changed}, but the champion's row hashes (data/row_hashes.npy) were not recorded, so how much "
            f"changed is unknown (bound {bound:.1%}); retrain to be safe",
            blocking=blocking,
            reason=Reason.PROVENANCE_MISSING,
            observed=fingerprint,
            expected=champion.data_fingerprint,
        )
    change = row_change(champion.row_hashes, current_hashes)
    fields: _Figures = {
        "observed": round(change.share, 6),
        "expected": bound,
        "details": {
            "added_rows": change.added,
            "removed_rows": change.removed,
            "rows_then": change.n_reference,
            "rows_now": change.n_current,
            "champion_fingerprint": champion.data_fingerprint,
            "current_fingerprint": fingerprint,
        },
    }
    counts = f"{change.added} rows added, {change.removed} removed ({change.n_reference} -> {change.n_current} rows)"
    if change.share > bound:
        return _result(
            "data_changed",
            Status.FAIL,
            f"champion is stale: {changed}: {counts}, a change of {change.share:.1%} > staleness.max_data_change "
            f"{bound:.1%}; retrain due",
            blocking=blocking,
            reason=Reason.DATA_CHANGED,
            **fields,
        )
    detail = counts if change.share > 0 else "same rows; column names or dtypes changed"
    return _result(
        "data_changed",
        Status.WARN,
        f"{changed}: {detail}, a change of {change.share:.1%} <= staleness.max_data_change {bound:.1%}",
        blocking=blocking,
        reason=Reason.DATA_CHANGED,
        **fields,
    )


def event_time_max(frame: pd.DataFrame, column: str) -> datetime | None:
    """The newest parseable event time in ``frame[column]`` (UTC), or None when there is none."""
    times = pd.to_datetime(frame[column], utc=True, errors="coerce")
    newest = times.max()
    return None if pd.isna(newest) else newest.to_pydatetime()


def check_event_lag(
    champion: ChampionRecord, config: ProjectConfig, *, frame: pd.DataFrame, blocking: bool = True
) -> CheckResult:
    column = config.data.event_time_column
    bound = config.staleness.max_event_lag_days
    if column is None:
        return _result(
            "event_lag",
            Status.SKIPPED,
            "data.event_time_column is not set: no event lag to judge",
            blocking=blocking,
            reason=Reason.NOT_CONFIGURED,
        )
    if column not in frame.columns:
        return _result(
            "event_lag",
            Status.FAIL,
            f"data.event_time_column '{column}' is not a column of the current data",
            blocking=blocking,
            reason=Reason.MISSING_COLUMN,
        )
    newest = event_time_max(frame, column)
    recorded = champion.tags.get(EVENT_TIME_MAX_TAG)
    who = f"champion {champion.name} v{champion.version}"
    if newest is None:
        return _result(
            "event_lag",
            Status.FAIL,
            f"column '{column}' holds no parseable event time",
            blocking=blocking,
            reason=Reason.NO_EVENT_TIME,
        )
    if not recorded:
        return _result(
            "event_lag",
            Status.WARN,
            f"{who} has no tag {EVENT_TIME_MAX_TAG}: its training window is unknown (newest event now "
            f"{newest.isoformat()})",
            blocking=blocking,
            reason=Reason.PROVENANCE_MISSING,
            observed=newest.isoformat(),
        )
    try:
        window_end = _as_utc(datetime.fromisoformat(recorded))
    except ValueError:
        return _result(
            "event_lag",
            Status.WARN,
            f"{who} tag {EVENT_TIME_MAX_TAG} = {recorded!r} is not an ISO 8601 time",
            blocking=blocking,
            reason=Reason.PROVENANCE_INVALID,
        )
    lag = (newest - window_end).total_seconds() / _DAY_S
    fields: _Figures = {
        "observed": round(lag, 3),
        "expected": bound,
        "details": {"newest_event": newest.isoformat(), "champion_event_time_max": window_end.isoformat()},
    }
    where = f"the newest '{column}' event ({newest:%Y-%m-%d %H:%M}) is {lag:.1f} days after {who}'s training "
    where += f"window ended ({window_end:%Y-%m-%d %H:%M})"
    if bound is None:
        return _result(
            "event_lag",
            Status.SKIPPED,
            f"{where}; no bound set (staleness.max_event_lag_days)",
            blocking=blocking,
            reason=Reason.NOT_CONFIGURED,
            **fields,
        )
    if lag > bound:
        return _result(
            "event_lag",
            Status.FAIL,
            f"champion is stale: {where}, more than staleness.max_event_lag_days = {bound:g}; retrain due",
            blocking=blocking,
            reason=Reason.EVENT_LAG,
            **fields,
        )
    return _result("event_lag", Status.PASS, f"{where} (allowed {bound:g})", blocking=blocking, **fields)


def run(evidence: Evidence, *, now: datetime | None = None) -> list[CheckResult]:
    """The staleness checks; ``now`` defaults to the current UTC time (inject it in tests)."""
    blocking = evidence.model is None  # with a candidate, the candidate is the retrain (module docstring)
    champion = evidence.champion
    if champion is None:
        return [
            _result(
                check,
                Status.SKIPPED,
                "no champion yet: nothing can be stale (the first promoted candidate becomes the champion)",
                blocking=blocking,
                reason=Reason.NO_CHAMPION,
            )
            for check in ("champion_age", "data_changed", "data_distribution", "event_lag")
        ]
    config, prepared = evidence.config, evidence.prepared
    return [
        check_age(champion, config, now=now or datetime.now(UTC), blocking=blocking),
        check_data_changed(
            champion,
            config,
            fingerprint=evidence.dataset.fingerprint,
            current_hashes=row_hashes(evidence.dataset.frame),
            blocking=blocking,
        ),
        check_data_distribution(
            champion,
            config,
            reference=evidence.drift_reference,
            current=evidence.train_frame,
            numeric=prepared.numeric,
            categorical=prepared.categorical,
            target=prepared.target,
            fingerprint=evidence.dataset.fingerprint,
            blocking=blocking,
        ),
        check_event_lag(champion, config, frame=evidence.dataset.frame, blocking=blocking),
    ]
