"""A logged prediction by its request id, for ``GET /explain/{request_id}``: the validated input record the
prediction log holds (:mod:`pipeline.predlog`), the sha256 of the model that scored it and its probability.

The id is looked up in this replica's log (after flushing the writer's queue when records are pending, so a
prediction answered a moment ago is found), then, when the log is a folder of per-replica SQLite files, in the
other replicas' files: a load balancer may send the question to another replica than the prediction. Imports
SQLAlchemy, through :mod:`pipeline.predlog`, only when called.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Logged", "find_logged"]


@dataclass(frozen=True)
class Logged:
    """One logged prediction: the record as validated (column -> JSON value), its model and probability."""

    request_id: str
    inputs: dict[str, Any]
    model_sha256: str
    proba: float | None


def _lookup(url: str, request_id: str, *, own: Any = None) -> Logged | None:
    import sqlalchemy as sa

    from mlgate.pipeline.predlog.location import make_engine
    from mlgate.pipeline.predlog.tables import predictions

    engine = own if own is not None else make_engine(url)
    query = sa.select(predictions.c.inputs, predictions.c.model_sha256, predictions.c.proba).where(
        predictions.c.request_id == request_id
    )
    try:
        with engine.connect() as connection:
            row = connection.execute(query).one_or_none()
    finally:
        if own is None:
            engine.dispose()
    if row is None:
        return None
    inputs = json.loads(row.inputs)
    proba = None if row.proba is None else float(row.proba)
    return Logged(request_id, inputs if isinstance(inputs, dict) else {}, str(row.model_sha256), proba)


def find_logged(writer: Any, folder: Path | None, request_id: str) -> Logged | None:
    """The logged prediction ``request_id`` (None when no log holds it).

    ``writer`` is the app's :class:`pipeline.predlog.LogWriter`; ``folder`` the folder of per-replica files (None
    for one database). Raises :class:`pipeline.predlog.PredictionLogError` when this replica's log cannot be read.
    """
    import sqlalchemy as sa

    from mlgate.pipeline.predlog import PredictionLogError, log_files, sqlite_url
    from mlgate.pipeline.predlog.location import short_reason

    engine = writer.engine
    if engine is None:
        raise PredictionLogError(f"prediction log {writer.url_redacted} is {writer.state}")
    try:
        if writer.pending():
            writer.flush(timeout=max(2.0, 4 * writer.flush_interval_s))
        found = _lookup(writer.url, request_id, own=engine)
    except sa.exc.SQLAlchemyError as exc:
        raise PredictionLogError(f"prediction log {writer.url_redacted}: {short_reason(exc, writer.url)}") from exc
    if found is not None or folder is None:
        return found
    for path in log_files(folder):
        url = sqlite_url(path)
        if url == writer.url:
            continue
        try:
            found = _lookup(url, request_id)
        except sa.exc.SQLAlchemyError:
            continue  # a file that is not (yet) a log, or locked too long: its ids are not found
        if found is not None:
            return found
    return None
