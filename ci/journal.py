"""Two append-only JSON-lines files: the retrain journal and the monitor history (read by the dashboard).

* The **monitor history** (``[monitor] history``, default ``.mlgate/monitor/history.jsonl``): ``mlgate monitor``
  appends one line per run (:func:`monitor_entry`): when, the window, the model version, the volume, the verdict
  and every ``monitor.*`` result as in ``report.json``. The ``drift`` and ``quality`` triggers read its newest line;
  the dashboard draws drift, quality, latency and volume over time from all of them.
* The **retrain journal** (``[retrain] journal``, default ``.mlgate/retrain/journal.jsonl``): ``mlgate retrain``
  appends a ``started`` line when a trigger fired and it begins to retrain, and one ``finished`` line for every
  evaluation, fired or not (:mod:`ci.retrain_loop` documents the fields). A ``started`` line with no ``finished``
  line of the same ``id`` is a retrain that is running or died.

Every line is one ``write`` to a file opened with ``O_APPEND`` and is fsync'ed before the call returns, so
concurrent writers do not interleave inside a line and a crash loses at most the line being written (the next
line starts on a new line of its own). The readers
skip a torn or foreign line (and count it) instead of failing: the files are records, not configuration, and a
dashboard must still draw what is intact.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlgate.checks.result import GateReport
from mlgate.pipeline.errors import MlgateError

__all__ = [
    "JOURNAL_VERSION",
    "Lines",
    "append_line",
    "monitor_entry",
    "new_id",
    "read_lines",
]

JOURNAL_VERSION = 1
#: A line longer than this is refused when written (a report is referenced by path, never embedded).
MAX_LINE_BYTES = 1 << 20


def new_id(now: datetime | None = None) -> str:
    """A sortable, unique id: ``20261202T075129Z-3f2a9c1d``."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{moment:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def append_line(path: Path, record: Mapping[str, Any]) -> None:
    """Append ``record`` as one JSON line (with ``v`` = :data:`JOURNAL_VERSION`), fsync'ed; folders are created.

    Raises :class:`MlgateError` (exit 2) naming the file when it cannot be written.
    """
    line = json.dumps({"v": JOURNAL_VERSION, **record}, sort_keys=True, default=str, allow_nan=False) + "\n"
    data = line.encode("utf-8")
    if len(data) > MAX_LINE_BYTES:
        raise MlgateError(f"{path}: a journal line of {len(data)} bytes is over the {MAX_LINE_BYTES} byte limit")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":  # a line torn by a crash: start a new one
                data = b"\n" + data
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise MlgateError(f"{path}: cannot append to the journal: {exc.strerror or exc}") from exc


@dataclass(frozen=True)
class Lines:
    """What a journal file holds: its intact records in file order, and how many lines were skipped."""

    records: list[dict[str, Any]] = field(default_factory=list)
    skipped: int = 0
    exists: bool = False


def read_lines(path: Path) -> Lines:
    """Every intact record of ``path`` (a missing file is empty, not an error); torn or foreign lines are counted."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Lines()
    except OSError as exc:
        raise MlgateError(f"{path}: cannot read the journal: {exc.strerror or exc}") from exc
    records: list[dict[str, Any]] = []
    skipped = 0
    for text in raw.split(b"\n"):
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except ValueError:
            skipped += 1
            continue
        if isinstance(record, dict) and record.get("v") == JOURNAL_VERSION:
            records.append(record)
        else:
            skipped += 1
    return Lines(records, skipped, True)


def monitor_entry(report: GateReport, *, at: datetime, out: Path | None) -> dict[str, Any]:
    """The monitor history line of one ``mlgate monitor`` run (module docstring)."""
    section = dict(report.run.get("monitor") or {})
    registry = report.run.get("registry") or {}
    return {
        "kind": "monitor",
        "id": new_id(at),
        "at": at.astimezone(UTC).isoformat(timespec="seconds"),
        "model_version": registry.get("version"),
        "window": {key: section.get(key) for key in ("window", "since", "until", "last")},
        "predictions": section.get("predictions"),
        "rejected": section.get("rejected") or {},
        "dropped": section.get("dropped"),
        "passed": report.passed,
        "exit_code": report.exit_code,
        "failing": sorted(r.id for r in report.results if r.blocks),
        "report": str(out) if out is not None else None,
        "results": [r.to_dict() for r in report.results],
    }
