"""The serving app's prediction log: every prediction, rejection and ground-truth label, through SQLAlchemy.

- :mod:`~pipeline.predlog.tables`: the tables (``predictions``, ``feedback``, ``rejections``, ``writer_stats``,
  ``log_info``) and :class:`PredictionLogError`;
- :mod:`~pipeline.predlog.location`: a folder of per-replica SQLite files or one URL; the replica name;
- :mod:`~pipeline.predlog.writer`: :class:`LogWriter`, the bounded queue and its one background thread;
- :mod:`~pipeline.predlog.feedback`: :class:`FeedbackStore`, labels by request id (idempotent);
- :mod:`~pipeline.predlog.reader`: :func:`read_window` and :class:`Window`, what ``mlgate monitor`` judges;
- :mod:`~pipeline.predlog.arrow_fetch`: the reader's fetch into Arrow (ADBC for SQLite files, else the rows).

Imports SQLAlchemy (and pandas through the reader); the serving app imports this package only when the log is
enabled, so a serving install without SQLAlchemy still serves (and says the log is unavailable).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlgate.pipeline.predlog.feedback import FeedbackOutcome, FeedbackStatus, FeedbackStore
from mlgate.pipeline.predlog.location import is_url, log_file, log_files, replica_id, sqlite_url
from mlgate.pipeline.predlog.tables import (
    MAX_ID_LENGTH,
    SCHEMA_VERSION,
    PredictionLogError,
    feedback,
    log_info,
    metadata,
    predictions,
    rejections,
    writer_stats,
)
from mlgate.pipeline.predlog.writer import LogWriter, PredictionRecord, RejectionRecord

if TYPE_CHECKING:
    from mlgate.pipeline.predlog.reader import COLUMNS, Window, read_window

#: Loaded on first use: the reader needs pyarrow, which the serving image does not install (it only writes).
_READER = frozenset({"COLUMNS", "Window", "read_window"})


def __getattr__(name: str) -> Any:
    if name in _READER:
        from mlgate.pipeline.predlog import reader

        return getattr(reader, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "COLUMNS",
    "MAX_ID_LENGTH",
    "SCHEMA_VERSION",
    "FeedbackOutcome",
    "FeedbackStatus",
    "FeedbackStore",
    "LogWriter",
    "PredictionLogError",
    "PredictionRecord",
    "RejectionRecord",
    "Window",
    "feedback",
    "is_url",
    "log_file",
    "log_files",
    "log_info",
    "metadata",
    "predictions",
    "read_window",
    "rejections",
    "replica_id",
    "sqlite_url",
    "writer_stats",
]
