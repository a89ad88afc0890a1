"""Ground-truth labels by request id: stored synchronously, once, and only for a request the log holds.

:meth:`FeedbackStore.submit` answers each ``(request_id, label)`` with a status:

- ``stored``: the label is new and now in the ``feedback`` table (committed before the answer);
- ``duplicate``: the same label was stored before (nothing new is written: feedback is idempotent);
- ``conflict``: another label was stored before; the first one stands (the API answers 409);
- ``unknown``: no prediction with this id is in the log (never stored; the API answers 404).

Labels arrive as JSON scalar text (the caller validated them against the target's label set). In a folder of
per-replica SQLite files, a request id and an earlier label are looked up in every replica's file (a load
balancer may send the feedback to another replica than the prediction) and the label is stored in this
replica's file; with one database (PostgreSQL) the primary key settles concurrent labels for one id. A request
id whose prediction is still in this replica's queue is found: the writer is flushed before answering
``unknown``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mlgate.pipeline.predlog.location import log_files, make_engine, short_reason, sqlite_url
from mlgate.pipeline.predlog.tables import PredictionLogError, feedback, predictions
from mlgate.pipeline.predlog.writer import LogWriter

__all__ = ["FeedbackOutcome", "FeedbackStatus", "FeedbackStore"]

_ATTEMPTS = 3


class FeedbackStatus(StrEnum):
    STORED = "stored"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class FeedbackOutcome:
    """The answer for one item: its status and the label the log holds for the id (None when unknown)."""

    request_id: str
    status: FeedbackStatus
    stored_label: str | None


def _chunks(values: Sequence[str], size: int = 500) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _known(connection: Connection, ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(ids):
        query = sa.select(predictions.c.request_id).where(predictions.c.request_id.in_(chunk))
        found.update(connection.execute(query).scalars())
    return found


def _labels(connection: Connection, ids: Sequence[str]) -> dict[str, tuple[datetime, str]]:
    found: dict[str, tuple[datetime, str]] = {}
    for chunk in _chunks(ids):
        query = sa.select(feedback.c.request_id, feedback.c.received_at, feedback.c.label).where(
            feedback.c.request_id.in_(chunk)
        )
        found.update({rid: (at, label) for rid, at, label in connection.execute(query)})
    return found


class FeedbackStore:
    """Feedback written through ``writer``'s database; ``directory`` is the folder of replica files when the
    log is per-replica SQLite (the other replicas' files are searched too), None for one database."""

    def __init__(self, writer: LogWriter, directory: Path | None = None) -> None:
        self.writer, self.directory = writer, directory

    def _peers(self) -> list[str]:
        if self.directory is None:
            return []
        own = self.writer.url
        return [url for url in (sqlite_url(p) for p in log_files(self.directory)) if url != own]

    def _from_peers(self, ids: Sequence[str]) -> tuple[set[str], dict[str, tuple[datetime, str]]]:
        known: set[str] = set()
        labels: dict[str, tuple[datetime, str]] = {}
        for url in self._peers():
            engine = make_engine(url)
            try:
                with engine.connect() as connection:
                    known |= _known(connection, ids)
                    for rid, (at, label) in _labels(connection, ids).items():
                        if rid not in labels or at < labels[rid][0]:
                            labels[rid] = (at, label)
            except sa.exc.SQLAlchemyError:
                continue  # a file that is not (yet) a log, or is locked too long: its ids are not found
            finally:
                engine.dispose()
        return known, labels

    def submit(self, items: Sequence[tuple[str, str]], *, now: datetime | None = None) -> list[FeedbackOutcome]:
        """Store each new ``(request_id, label_text)``; one outcome per item, in order (see the module docstring).

        Raises :class:`PredictionLogError` when the log is not available (the API answers 503).
        """
        now = now or datetime.now(UTC)
        ids = list(dict.fromkeys(rid for rid, _ in items))
        for attempt in range(_ATTEMPTS):
            engine = self.writer.engine
            if engine is None:
                raise PredictionLogError(f"prediction log {self.writer.url_redacted} is {self.writer.state}")
            try:
                with engine.connect() as connection:
                    known = _known(connection, ids)
                if len(known) < len(ids) and self.writer.pending():
                    self.writer.flush(timeout=max(2.0, 4 * self.writer.flush_interval_s))
                    with engine.connect() as connection:
                        known = _known(connection, ids)
                peer_known, peer_labels = self._from_peers(ids)
                with engine.begin() as connection:
                    return self._decide(connection, items, known | peer_known, peer_labels, now)
            except sa.exc.IntegrityError:
                if attempt + 1 == _ATTEMPTS:
                    raise
                continue  # another request stored a label for one of these ids meanwhile: decide again
            except sa.exc.SQLAlchemyError as exc:
                reason = short_reason(exc, self.writer.url)
                raise PredictionLogError(f"prediction log {self.writer.url_redacted}: {reason}") from exc
        raise AssertionError("unreachable")

    @staticmethod
    def _decide(
        connection: Connection,
        items: Sequence[tuple[str, str]],
        known: set[str],
        peer_labels: dict[str, tuple[datetime, str]],
        now: datetime,
    ) -> list[FeedbackOutcome]:
        own = _labels(connection, list(dict.fromkeys(rid for rid, _ in items)))
        stored = {rid: label for rid, (_, label) in {**peer_labels, **own}.items()}
        outcomes: list[FeedbackOutcome] = []
        new: list[dict[str, object]] = []
        for rid, label in items:
            if rid not in known:
                outcomes.append(FeedbackOutcome(rid, FeedbackStatus.UNKNOWN, None))
            elif rid in stored:
                status = FeedbackStatus.DUPLICATE if stored[rid] == label else FeedbackStatus.CONFLICT
                outcomes.append(FeedbackOutcome(rid, status, stored[rid]))
            else:
                stored[rid] = label
                new.append({"request_id": rid, "label": label, "received_at": now})
                outcomes.append(FeedbackOutcome(rid, FeedbackStatus.STORED, label))
        if new:
            connection.execute(sa.insert(feedback), new)
        return outcomes
