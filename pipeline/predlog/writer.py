"""The background writer: a bounded in-memory queue drained by one thread, in batches, one transaction each.

A request never waits for the log and never fails because of it: :meth:`LogWriter.submit` puts a record on a
``queue.Queue(maxsize=queue_size)`` without blocking; when the queue is full the record is dropped and counted.
One daemon thread takes up to ``batch_size`` records, or what arrived within ``flush_interval_s`` of the first,
and writes them in one transaction together with the replica's ``writer_stats`` row (written and dropped
counts), so a process killed mid-write leaves the batch wholly written or not at all, never a partial row.

The thread connects on its own: creating the tables on first use and checking the schema version. While the
database is unreachable (at start or later) it retries with exponential backoff (0.5 s doubling to 30 s) and
:attr:`LogWriter.state` says why (``unavailable: <reason>``, credentials hidden); records wait in the queue
meanwhile, and once it is full new ones are dropped and counted. Dropped counts reach ``writer_stats`` with the
next transaction that succeeds, so the monitor can report them.

Counted as dropped, by reason: ``queue_full``; ``duplicate_id`` (a request id already in the log: the first
record is kept); ``write_error`` (a batch the database refused three times for a reason other than
connectivity); ``shutdown`` (records still queued when the process stops and the database is unreachable).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from mlgate.pipeline.predlog.location import make_engine, short_reason
from mlgate.pipeline.predlog.tables import PredictionLogError, ensure_schema, predictions, rejections, writer_stats
from mlgate.pipeline.redact import redact_url

__all__ = ["LogWriter", "PredictionRecord", "RejectionRecord"]

log = logging.getLogger("mlgate.pipeline.predlog")
_WRITE_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class PredictionRecord:
    """One scored record. ``inputs`` is the validated record (column -> JSON value), serialised by the writer;
    ``decision`` is the decided label as JSON scalar text."""

    request_id: str
    received_at: datetime
    model_name: str
    model_version: str
    model_sha256: str
    inputs: dict[str, Any]
    proba: float
    decision: str
    latency_ms: float


@dataclass(frozen=True, slots=True)
class RejectionRecord:
    """One refused request: why (``validation``, ``body_too_large``, ``not_ready``, ...) and a short detail."""

    received_at: datetime
    reason: str
    detail: str


Record = PredictionRecord | RejectionRecord


@dataclass
class _Prepared:
    """A batch as rows, built once however often its transaction is retried."""

    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    refused: list[dict[str, Any]] = field(default_factory=list)
    repeated: int = 0


def _transient(exc: BaseException) -> bool:
    """A connectivity problem (retry until it passes) rather than a refusal of this batch."""
    return isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError) or bool(
        getattr(exc, "connection_invalidated", False)
    )


class LogWriter:
    """Writes prediction and rejection records to the log at ``url`` from one background thread."""

    def __init__(
        self,
        url: str,
        *,
        replica: str,
        queue_size: int = 10_000,
        batch_size: int = 256,
        flush_interval_s: float = 0.5,
        on_dropped: Callable[[int, str], None] | None = None,
        on_written: Callable[[int], None] | None = None,
        backoff_s: tuple[float, float] = (0.5, 30.0),
    ) -> None:
        if queue_size < 1 or batch_size < 1 or not flush_interval_s > 0:
            raise ValueError("queue_size and batch_size must be at least 1 and flush_interval_s positive")
        self.url, self.url_redacted, self.replica = url, redact_url(url), replica
        self.batch_size, self.flush_interval_s = batch_size, flush_interval_s
        self._queue: queue.Queue[Record] = queue.Queue(maxsize=queue_size)
        self._on_dropped, self._on_written = on_dropped, on_written
        self._backoff_min, self._backoff_max = backoff_s
        self._delay = self._backoff_min
        self._stop = threading.Event()
        self._wake = threading.Event()  # set by flush() and close(): write now, do not wait for more records
        self._lock = threading.Lock()
        self._progress = threading.Condition(self._lock)
        self._submitted = self._done = 0
        self._dropped = self._dropped_recorded = self.written = 0
        self._engine: Engine | None = None
        self._connected = threading.Event()
        self._thread: threading.Thread | None = None
        self.state = "connecting"

    # ------------------------------------------------------------------ the request side

    def submit(self, record: Record) -> bool:
        """Queue ``record`` without blocking; False (and counted as dropped) when the queue is full."""
        try:
            self._queue.put_nowait(record)
        except queue.Full:
            self._drop(1, "queue_full")
            return False
        with self._lock:
            self._submitted += 1
        return True

    def submit_many(self, records: Iterable[Record]) -> int:
        """Queue each record (dropping and counting those that do not fit); how many were queued."""
        queued = full = 0
        for record in records:
            try:
                self._queue.put_nowait(record)
                queued += 1
            except queue.Full:
                full += 1
        if full:
            self._drop(full, "queue_full")
        with self._lock:
            self._submitted += queued
        return queued

    @property
    def dropped(self) -> int:
        return self._dropped

    @property
    def engine(self) -> Engine | None:
        """The connected engine (None while connecting or unavailable); feedback is written through it."""
        return self._engine

    def wait_connected(self, timeout: float) -> bool:
        """Wait until the database is connected (tables made); False on timeout."""
        return self._connected.wait(timeout)

    def queue_depth(self) -> int:
        return self._queue.qsize()

    def pending(self) -> int:
        """Records queued or being written, not yet committed (or dropped)."""
        with self._lock:
            return self._submitted - self._done

    def flush(self, timeout: float) -> bool:
        """Wait until every record queued before this call is committed or dropped; False on timeout."""
        with self._progress:
            target = self._submitted
            self._wake.set()  # the writer stops waiting for more records to batch
            return self._progress.wait_for(lambda: self._done >= target, timeout)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"predlog-writer-{self.replica}", daemon=True)
        self._thread.start()

    def close(self, timeout: float = 5.0) -> int:
        """Stop the thread after writing what is queued (up to ``timeout`` seconds); the records left unwritten."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        left = self.pending()
        if left:
            log.warning("prediction log: %d records not written at shutdown (%s)", left, self.state)
        if self._engine is not None and (self._thread is None or not self._thread.is_alive()):
            self._engine.dispose()
        return left

    # ------------------------------------------------------------------ the writer thread

    def _drop(self, count: int, reason: str) -> None:
        with self._lock:
            self._dropped += count
        if self._on_dropped is not None:
            self._on_dropped(count, reason)

    def _finished(self, count: int) -> None:
        with self._progress:
            self._done += count
            self._progress.notify_all()

    def _unavailable(self, exc: BaseException) -> None:
        reason = str(exc) if isinstance(exc, PredictionLogError) else short_reason(exc, self.url)
        state = f"unavailable: {reason}"
        if state != self.state:
            log.warning("prediction log %s %s; retrying with backoff", self.url_redacted, state)
        self.state = state

    def _connect(self) -> bool:
        engine = None
        try:
            engine = make_engine(self.url)
            if engine.dialect.name == "sqlite" and engine.url.database:
                Path(engine.url.database).parent.mkdir(parents=True, exist_ok=True)
            with engine.begin() as connection:
                ensure_schema(connection, where=self.url_redacted)
        except Exception as exc:  # a bad URL, a missing driver, no permission, no server: retried, never fatal
            if engine is not None:
                engine.dispose()
            self._unavailable(exc)
            return False
        self._engine, self._delay = engine, self._backoff_min
        self._connected.set()
        if self.state != "ok":
            log.info("prediction log: writing to %s", self.url_redacted)
        self.state = "ok"
        return True

    def _sleep(self) -> None:
        self._stop.wait(self._delay)
        self._delay = min(self._delay * 2, self._backoff_max)

    def _collect(self) -> list[Record]:
        """Up to ``batch_size`` records: wait for the first (up to ``flush_interval_s``), then sleep out the interval
        without being woken by each new record (a wake-up per record would take the GIL from the request threads
        hundreds of times a second), unless a full batch is already waiting or a flush is asked for; then take
        what is queued. When stopping: whatever is queued."""
        batch: list[Record] = []
        if not self._stop.is_set():
            try:
                batch.append(self._queue.get(timeout=self.flush_interval_s))
            except queue.Empty:
                return []
            if self._queue.qsize() < self.batch_size - 1 and self._wake.wait(self.flush_interval_s):
                self._wake.clear()
        while len(batch) < self.batch_size:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._engine is None and not self._connect():
                self._sleep()
                continue
            batch = self._collect()
            if batch or self._dropped > self._dropped_recorded:
                self._process(batch)
        while batch := self._collect():  # stopping: write what is queued, then leave
            self._process(batch)

    def _process(self, batch: list[Record]) -> None:
        """Commit ``batch``; retry while the database is unreachable; drop it when refused or when stopping."""
        prepared = self._prepare(batch)
        refusals = 0
        while True:
            if self._engine is None and not self._connect():
                if self._stop.is_set():
                    return self._give_up(batch, prepared, "shutdown")
                self._sleep()
                continue
            try:
                self._commit(prepared)
            except sa.exc.SQLAlchemyError as exc:
                if _transient(exc):
                    self._unavailable(exc)
                    self._reset()
                    if self._stop.is_set():
                        return self._give_up(batch, prepared, "shutdown")
                    self._sleep()
                    continue
                refusals += 1
                if refusals >= _WRITE_ATTEMPTS:
                    log.error("prediction log: dropping a batch of %d records: %s", len(batch), short_reason(exc))
                    return self._give_up(batch, prepared, "write_error")
                continue
            self._finished(len(batch))
            return None

    def _give_up(self, batch: list[Record], prepared: _Prepared, reason: str) -> None:
        self._drop(len(prepared.rows) + len(prepared.refused) + prepared.repeated, reason)
        self._finished(len(batch))

    def _reset(self) -> None:
        self._connected.clear()
        engine, self._engine = self._engine, None
        if engine is not None:
            engine.dispose()

    def _prepare(self, batch: list[Record]) -> _Prepared:
        """The batch as rows: predictions by request id (a repeated id keeps its first record, the others are
        dropped as ``duplicate_id``; a record whose inputs are not JSON is dropped as ``write_error``) and
        rejections."""
        prepared = _Prepared()
        for record in batch:
            if isinstance(record, RejectionRecord):
                prepared.refused.append(
                    {"received_at": record.received_at, "reason": record.reason, "detail": record.detail}
                )
                continue
            if record.request_id in prepared.rows:
                prepared.repeated += 1
                continue
            try:
                inputs = json.dumps(record.inputs, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
            except (TypeError, ValueError):
                self._drop(1, "write_error")
                continue
            prepared.rows[record.request_id] = {
                "request_id": record.request_id,
                "received_at": record.received_at,
                "model_name": record.model_name,
                "model_version": record.model_version,
                "model_sha256": record.model_sha256,
                "replica": self.replica,
                "inputs": inputs,
                "proba": record.proba,
                "decision": record.decision,
                "latency_ms": record.latency_ms,
            }
        return prepared

    def _commit(self, prepared: _Prepared) -> None:
        """One transaction: the new predictions (ids already in the log are dropped), the rejections, and the
        replica's counts."""
        assert self._engine is not None
        now = datetime.now(UTC)
        with self._lock:
            unrecorded = self._dropped - self._dropped_recorded
        rows, refused = prepared.rows, prepared.refused
        with self._engine.begin() as connection:
            known = _existing_ids(connection, list(rows)) if rows else set()
            fresh = [row for request_id, row in rows.items() if request_id not in known]
            if fresh:
                connection.execute(sa.insert(predictions), fresh)
            if refused:
                connection.execute(sa.insert(rejections), refused)
            duplicates, written = prepared.repeated + len(known), len(fresh) + len(refused)
            _add_stats(connection, self.replica, dropped=unrecorded + duplicates, written=written, now=now)
        if duplicates:
            self._drop(duplicates, "duplicate_id")
        with self._lock:
            self._dropped_recorded += unrecorded + duplicates
            self.written += written
        if written and self._on_written is not None:
            self._on_written(written)


def _existing_ids(connection: Connection, ids: list[str]) -> set[str]:
    query = sa.select(predictions.c.request_id).where(predictions.c.request_id.in_(ids))
    return set(connection.execute(query).scalars())


def _add_stats(connection: Connection, replica: str, *, dropped: int, written: int, now: datetime) -> None:
    """Add to the replica's counts (a replica name reused by a restarted process keeps counting)."""
    table = writer_stats
    update = (
        sa.update(table)
        .where(table.c.replica == replica)
        .values(dropped=table.c.dropped + dropped, written=table.c.written + written, updated_at=now)
    )
    if connection.execute(update).rowcount == 0:
        connection.execute(sa.insert(table).values(replica=replica, dropped=dropped, written=written, updated_at=now))
