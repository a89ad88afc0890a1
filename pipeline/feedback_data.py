"""Served rows with ground truth as training rows (``[retrain] include_feedback``).

:func:`feedback_rows` reads every prediction of the prediction log (:func:`pipeline.predlog.read_window`, any
model version) that has a ``POST /feedback`` label and turns it into a row shaped like the training data (the
``[data]`` source as ingested); :func:`combined_snapshot` writes the training rows and those rows to one Parquet
file and returns the config that trains on it, plus the provenance of both sources for the report.

How a served row becomes a training row:

- **Features.** The log holds the validated request, i.e. the prepared form the schema describes (``job`` as
  the text ``"2"``, a missing value as ``null``). Each value is put back in the training column's raw form, as
  the ingest would read it: numbers for a numeric column (``"2"`` -> 2), text for a text column, and a missing
  value as the sentinel of ``data.missing_values`` that column uses in the training data (``"not_known"``), else
  missing. An integer column that receives a missing value becomes float64, as a CSV with an empty cell reads.
  A model feature the log does not hold at all is refused (the served model did not take it: the config changed
  since that release); a logged input that is not a training column is ignored.
- **Columns that are not model inputs** (``features.exclude``, ids) are not in a request, so they are missing
  in served rows (NaN / None; an integer column becomes float64). ``data.event_time_column`` is the exception:
  it takes the time the prediction was served. The schema gate validates excluded columns as read, so a column
  the schema declares non-nullable fails ``schema.column[<name>]`` on served rows: declare it ``nullable: true``
  (it is not known for served rows), or leave ``include_feedback`` off.
- **Target.** A label is stored as given to ``/feedback``: the JSON value of one of the target's allowed values
  in the schema's type (``0``/``1`` for the German credit ``risk``). It becomes the training target's value it
  names: the one equal to ``data.positive_label`` (compared as value or as text, like preparation does) or the
  other class. A label that is neither is refused, naming it.

Duplicates (both counted in :class:`FeedbackRows`, compared over the served columns (features + target) with
:func:`pipeline.ingest.row_hashes`, strings stripped and sentinels as missing, numbers as numbers):

- a served row equal to a training row is dropped: it is that row served again (traffic replayed from the
  training file, an applicant already in it). Kept, it would weigh twice, and after the split one copy could
  sit in the test rows and the other in the training rows, scoring the model on a row it learnt;
- a served row equal to another served row *with the same request id* is dropped: it is one request delivered
  twice (a client retrying its ``X-Request-ID`` on another replica logs it in both files; the label joins
  both), the first served copy is kept;
- equal inputs from two *different* requests are kept: two applicants who share every recorded attribute are
  two observations of the served population (the bundled config keeps duplicate rows for the same reason), and
  ``schema.duplicate_rows`` still reports their share. Rows with one request id but different inputs (a client
  reusing an id) are kept too: nothing shows which of them the label was meant for, and the rule drops only
  exact copies.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlgate.pipeline.config import ProjectConfig
from mlgate.pipeline.dataload import load_dataset
from mlgate.pipeline.errors import DataError, OutputError
from mlgate.pipeline.ingest import Dataset, fingerprint, row_hashes
from mlgate.pipeline.prepare import resolve_features
from mlgate.pipeline.redact import redact_url

if TYPE_CHECKING:
    from mlgate.pipeline.predlog import Window

__all__ = ["FeedbackRows", "combined_snapshot", "feedback_rows"]


@dataclass(frozen=True)
class FeedbackRows:
    """The kept served rows with their labels, and what became of the rest.

    ``frame`` has the training data's columns (dtypes as the training frame's, an integer or bool column that
    holds a missing value widened); ``rows_read`` is the labelled predictions read, ``unlabelled`` those without
    a label (not used); ``rows_read - duplicates_dropped == rows_kept``. ``first``/``last`` are when the first and
    last labelled prediction read was served (None without any). ``location`` is the log, credentials hidden;
    ``training_fingerprint`` the training data the rows were deduplicated against; ``not_logged`` the training
    columns that are no model input and so missing in every served row."""

    frame: pd.DataFrame
    fingerprint: str
    location: str
    rows_read: int
    rows_kept: int
    duplicates_of_training: int
    redelivered: int
    unlabelled: int
    first: datetime | None
    last: datetime | None
    training_fingerprint: str
    not_logged: tuple[str, ...] = ()

    @property
    def duplicates_dropped(self) -> int:
        return self.duplicates_of_training + self.redelivered


def _read(location: str, since: datetime | None, until: datetime | None) -> Window:
    """The log's window; its reader needs the run extra (SQLAlchemy, the ADBC driver) and is imported here."""
    try:
        from mlgate.pipeline.predlog import read_window
    except ImportError as exc:
        raise DataError(
            f"{redact_url(location)}: cannot read the prediction log: {exc.name or exc} is not installed "
            "(pip install 'mlgate[run]')"
        ) from exc
    return read_window(location, since=since, until=until)


def _same(value: Any, label: Any) -> bool:
    """``value`` is ``label`` as preparation compares labels: equal, or equal as text."""
    return bool(value == label) or str(value) == str(label)


def _targets(labels: pd.Series, training: pd.Series, positive: Any, shown: str) -> pd.Series:
    """Each label as the training target's value it names (see the module docstring)."""
    classes = training.dropna().unique().tolist()
    positives = [value for value in classes if _same(value, positive)]
    if len(classes) != 2 or len(positives) != 1:
        raise DataError(
            f"target '{training.name}': the training data holds {sorted(map(str, classes))}, not two classes one "
            f"of which is data.positive_label {positive!r}; served labels cannot be mapped onto it"
        )
    negative = classes[1 - classes.index(positives[0])]

    def mapped(label: Any) -> Any:
        if _same(label, positive):
            return positives[0]
        if _same(label, negative):
            return negative
        raise DataError(
            f"{shown}: feedback label {label!r} is neither data.positive_label {positive!r} nor the other class "
            f"{negative!r} of target '{training.name}'; was the log written by another project's model?"
        )

    values = [mapped(label) for label in labels]
    return pd.Series(values, index=labels.index, name=training.name).astype(training.dtype)


def _sentinel(like: pd.Series, markers: Sequence[str]) -> str | None:
    """The missing-value marker the training column uses most (None when it uses none)."""
    if not markers or (like.dtype.kind not in "OSU" and not pd.api.types.is_string_dtype(like.dtype)):
        return None
    counts = like[like.isin(list(markers))].value_counts()
    return str(counts.index[0]) if len(counts) else None


def _numbers(values: pd.Series, like: pd.Series, shown: str) -> pd.Series:
    """Served values of a numeric training column as numbers: int64 stays when every value is a whole number."""
    numbers = pd.to_numeric(values, errors="coerce")
    bad = numbers.isna() & values.notna()
    if bad.any():
        raise DataError(
            f"{shown}: column '{like.name}' is numeric in the training data, but served rows hold "
            f"{values[bad].iloc[0]!r} ({int(bad.sum())} such value(s))"
        )
    if like.dtype.kind in "iu" and (numbers.isna().any() or (numbers % 1 != 0).any()):
        return numbers.astype("float64")
    return numbers.astype(like.dtype)


def _as_column(values: pd.Series, like: pd.Series, markers: Sequence[str], shown: str) -> pd.Series:
    """Served values (decoded JSON, as the schema types them) in the raw form of the training column ``like``."""
    values = values.reset_index(drop=True).rename(like.name)
    dtype = like.dtype
    if pd.api.types.is_bool_dtype(dtype):
        is_bool = values.map(lambda v: isinstance(v, bool | np.bool_))
        return values.astype(bool) if is_bool.all() else values.astype(object).where(values.notna(), None)
    if pd.api.types.is_numeric_dtype(dtype):
        return _numbers(values, like, shown)
    if pd.api.types.is_datetime64_any_dtype(dtype):
        stamps = pd.to_datetime(values, utc=True)
        zone = getattr(dtype, "tz", None)
        return stamps.dt.tz_convert(zone) if zone is not None else stamps.dt.tz_localize(None).astype(dtype)
    text = values.map(lambda v: v if isinstance(v, str) else str(v), na_action="ignore")
    text = text.astype(object).where(values.notna(), _sentinel(like, markers))
    return text if pd.api.types.is_object_dtype(dtype) else text.astype(dtype)


def _missing(like: pd.Series, rows: int) -> pd.Series:
    """A column of ``rows`` missing values in the training column's dtype (widened when it cannot hold one)."""
    dtype = like.dtype
    if dtype.kind in "iu":
        dtype = np.dtype("float64")
    elif pd.api.types.is_bool_dtype(dtype):
        dtype = np.dtype(object)
    return pd.Series([None] * rows, dtype=dtype, name=like.name)


def _served(
    config: ProjectConfig, training: pd.DataFrame, labelled: pd.DataFrame, shown: str
) -> tuple[pd.DataFrame, list[str]]:
    """The labelled predictions as rows of the training data's columns (module docstring), and the model's
    features."""
    data = config.data
    ignore = (data.event_time_column,) if data.event_time_column else ()
    columns = [str(c) for c in training.columns]
    features = resolve_features(columns, config.features, target=data.target, source=shown, ignore=ignore)
    absent = [name for name in features if name not in labelled.columns]
    if absent:
        raise DataError(
            f"{shown}: model feature '{absent[0]}' is not in the logged requests (the served model did not take "
            f"it: [features] changed since its release); retrain without include_feedback first"
        )
    out: dict[str, pd.Series] = {}
    for name in columns:
        like = training[name]
        if name == data.target:
            out[name] = _targets(labelled["label"], like, data.positive_label, shown).reset_index(drop=True)
        elif name in features:
            out[name] = _as_column(labelled[name], like, data.missing_values, shown)
        elif name == data.event_time_column:
            out[name] = _as_column(labelled["received_at"], like, data.missing_values, shown)
        else:
            out[name] = _missing(like, len(labelled))
    return pd.DataFrame(out, columns=training.columns, index=pd.RangeIndex(len(labelled))), features


def _comparable(frame: pd.DataFrame, markers: Sequence[str]) -> pd.DataFrame:
    """``frame`` for comparing rows: numbers as float64, everything else as stripped text or None (sentinels as
    None), so a served row and a training row that prepare the same hash the same."""
    out: dict[str, pd.Series] = {}
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
            out[name] = column.astype("float64")
            continue
        text = column.map(lambda v: v.strip() if isinstance(v, str) else str(v), na_action="ignore").astype(object)
        out[name] = text.where(column.notna() & ~text.isin(list(markers)), None)
    return pd.DataFrame(out, index=frame.index)


def _duplicates(
    served: pd.DataFrame, request_ids: pd.Series, training: pd.DataFrame, columns: list[str], markers: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """``(of_training, redelivered)`` masks over ``served`` (module docstring), compared over ``columns`` (the
    features and the target: the columns a served row holds)."""
    known = row_hashes(_comparable(training[columns], markers))
    hashes = row_hashes(_comparable(served[columns], markers))
    of_training = np.isin(hashes, known)
    keys = pd.DataFrame({"request_id": request_ids.to_numpy(dtype=object), "row": hashes})
    redelivered = keys.duplicated(keep="first").to_numpy(dtype=bool) & ~of_training
    return of_training, redelivered


def feedback_rows(
    config: ProjectConfig,
    location: str,
    *,
    dataset: Dataset | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> FeedbackRows:
    """The labelled predictions of the log at ``location`` (a folder of replica files, one SQLite file or a
    URL; ``since``/``until`` bound when they were served) as training rows, deduplicated against ``dataset``
    (default: the configured data, read here). Raises :class:`~pipeline.predlog.PredictionLogError` when the
    log cannot be read and :class:`~pipeline.errors.DataError` when its rows cannot be training rows, each one
    line naming the log (credentials hidden)."""
    dataset = dataset if dataset is not None else load_dataset(config)
    window = _read(location, since, until)
    shown = redact_url(window.url_redacted)
    predictions = window.predictions
    labelled = predictions[predictions["label"].notna()].reset_index(drop=True)
    served, features = _served(config, dataset.frame, labelled, shown)
    compared = [*features, config.data.target]
    markers = config.data.missing_values
    of_training, redelivered = _duplicates(served, labelled["request_id"], dataset.frame, compared, markers)
    kept = served.loc[~(of_training | redelivered)].reset_index(drop=True)
    stamps = labelled["received_at"]
    not_logged = [str(n) for n in served.columns if n not in compared and n != config.data.event_time_column]
    return FeedbackRows(
        frame=kept,
        fingerprint=fingerprint(kept),
        location=shown,
        rows_read=len(labelled),
        rows_kept=len(kept),
        duplicates_of_training=int(of_training.sum()),
        redelivered=int(redelivered.sum()),
        unlabelled=len(predictions) - len(labelled),
        first=stamps.min().to_pydatetime() if len(stamps) else None,
        last=stamps.max().to_pydatetime() if len(stamps) else None,
        training_fingerprint=dataset.fingerprint,
        not_logged=tuple(not_logged),
    )


def _combined(dataset: Dataset, feedback: FeedbackRows) -> pd.DataFrame:
    """The training rows, then the feedback rows; a training column takes the feedback column's dtype only where
    that one was widened to hold a missing value (int64 -> float64, bool -> object)."""
    training = dataset.frame
    if feedback.frame.empty:
        return training.reset_index(drop=True)
    widened = {
        name: feedback.frame[name].dtype
        for name in training.columns
        if feedback.frame[name].dtype != training[name].dtype
    }
    return pd.concat([training.astype(widened), feedback.frame], ignore_index=True)


def _write(frame: pd.DataFrame, dest: Path, name: str) -> Path:
    """``frame`` as ``dest/name`` (written beside it, then renamed: a reader never sees half a file)."""
    try:
        dest.mkdir(parents=True, exist_ok=True)
        path = dest / name
        partial = dest / f".{name}.{os.getpid()}.partial"
        frame.to_parquet(partial, index=False)
        os.replace(partial, path)
    except OSError as exc:
        raise OutputError(f"{dest}: cannot write the combined training data ({exc.strerror or exc})") from exc
    except (TypeError, ValueError, ImportError) as exc:  # pyarrow refuses a column (mixed Python objects, ...)
        raise DataError(f"{dest / name}: cannot write the combined training data as Parquet ({exc})") from exc
    return path.resolve()


def combined_snapshot(
    config: ProjectConfig, dataset: Dataset, feedback: FeedbackRows, dest_dir: str | Path
) -> tuple[ProjectConfig, dict[str, Any]]:
    """Write ``dataset``'s rows and ``feedback``'s kept rows to one Parquet file in ``dest_dir`` (named by both
    fingerprints: the same inputs give the same file) and return ``(derived config, sources)``: the config reads
    that file (``data.source`` absolute, ``format = "parquet"``; its ``path``, and so every other relative
    path, unchanged), and ``sources`` describes the training, feedback and combined data for the report. The
    combined fingerprint is the one the ingest computes when it reads the file back, as the gated run will."""
    if feedback.training_fingerprint != dataset.fingerprint:
        raise DataError(
            f"{feedback.location}: the feedback rows were deduplicated against training data "
            f"{feedback.training_fingerprint[:12]}, not {dataset.fingerprint[:12]} ({dataset.source}); "
            "read them again with this dataset"
        )
    key = hashlib.sha256(f"{dataset.fingerprint}+{feedback.fingerprint}".encode()).hexdigest()[:16]
    path = _write(_combined(dataset, feedback), Path(dest_dir), f"training+feedback-{key}.parquet")
    data = config.data.model_copy(update={"source": str(path), "format": "parquet", "query": None})
    derived = config.model_copy(update={"data": data})
    combined = load_dataset(derived)
    sources: dict[str, Any] = {
        "training": {"source": dataset.source, "fingerprint": dataset.fingerprint, "rows": dataset.n_rows},
        "feedback": {
            "source": feedback.location,
            "fingerprint": feedback.fingerprint,
            "rows": feedback.rows_kept,
            "duplicates_dropped": feedback.duplicates_dropped,
            "first": feedback.first.isoformat() if feedback.first is not None else None,
            "last": feedback.last.isoformat() if feedback.last is not None else None,
        },
        "combined": {"source": combined.source, "fingerprint": combined.fingerprint, "rows": combined.n_rows},
    }
    return derived, sources
