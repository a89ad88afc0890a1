"""The champion's monitoring reference: what ``mlgate monitor`` compares served traffic with, without the training file.

Every registered candidate logs it as the run artifact folder ``monitor/`` (and ``mlgate release`` copies it into
the release bundle, ``bundle/monitor/``)::

    monitor/
      reference.json       format and version, features (numeric / categorical), target, positive label, decision
                           threshold, latency budget, the training rows' count and how they were sampled, an exact
                           category-count table of every categorical feature over ALL training rows, the offline
                           metrics with their bootstrap intervals, and the sha256 of the two files below
      rows.parquet         the training rows (train + validation; features and target) as the drift gate's
                           reference: all of them, or above ``drift.reference_max_rows`` a seeded sample (its size
                           and seed recorded). Empty when ``drift.log_reference = false``
      test_scores.parquet  the test split's positive-class probabilities and 0/1 labels (prediction drift, live
                           quality against the offline values, the calibration check before estimating quality)

Why both rows and counts: the numeric drift test (Kolmogorov–Smirnov) needs values, and a seeded sample of
them is a sample of the same population; the categorical test (chi-square homogeneity) needs only counts, and
the exact table costs a few bytes whatever the size. :func:`read_monitor_reference` verifies every file against
the recorded sha256 and the JSON against its format: a missing, changed or corrupted artifact is one
:class:`MonitorReferenceError` line naming the file (exit 2). Light: pandas, pyarrow and json only.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlgate.pipeline.batch import write_reference
from mlgate.pipeline.errors import DataError

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MONITOR_DIR",
    "REFERENCE_FILE",
    "ROWS_FILE",
    "SCORES_FILE",
    "MonitorReference",
    "MonitorReferenceError",
    "read_monitor_reference",
    "write_monitor_reference",
]

#: The run artifact folder (and the release bundle's sub-folder) holding the reference.
MONITOR_DIR = "monitor"
REFERENCE_FILE = "reference.json"
ROWS_FILE = "rows.parquet"
SCORES_FILE = "test_scores.parquet"
FORMAT = "mlgate-monitor-reference"
FORMAT_VERSION = 1


class MonitorReferenceError(DataError):
    """The monitoring reference is missing, unreadable, or does not match its recorded sha256."""


@dataclass(frozen=True)
class MonitorReference:
    """The reference of one registered model (see the module docstring); ``description`` names it in messages."""

    features: tuple[str, ...]
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    target: str
    positive_label: Any
    threshold: float
    rows: pd.DataFrame
    rows_total: int
    random_state: int
    category_counts: Mapping[str, Mapping[str, int]]
    test_proba: np.ndarray
    test_labels: np.ndarray
    offline_metrics: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    latency_budget_ms: Mapping[str, float | None] = field(default_factory=dict)
    meta: Mapping[str, Any] = field(default_factory=dict)
    description: str = "the model's training-time reference"

    @property
    def sampled(self) -> bool:
        """Whether ``rows`` is a seeded sample of the training rows (not all of them)."""
        return len(self.rows) < self.rows_total

    def with_description(self, description: str) -> MonitorReference:
        return replace(self, description=description)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _finite(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def write_monitor_reference(reference: MonitorReference, folder: Path) -> Path:
    """Write the three files of ``reference`` into ``folder`` (created) and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    rows_path = write_reference(reference.rows, folder / ROWS_FILE)
    scores = pd.DataFrame(
        {
            "proba": np.asarray(reference.test_proba, dtype=np.float64),
            "label": np.asarray(reference.test_labels, dtype=np.int8),
        }
    )
    scores_path = folder / SCORES_FILE
    scores.to_parquet(scores_path, index=False)
    document = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        **{key: _finite(value) for key, value in reference.meta.items()},
        "features": list(reference.features),
        "numeric": list(reference.numeric),
        "categorical": list(reference.categorical),
        "target": reference.target,
        "positive_label": _finite(reference.positive_label),
        "threshold": float(reference.threshold),
        "latency_budget_ms": {k: _finite(v) for k, v in reference.latency_budget_ms.items()},
        "training_rows": {
            "rows": int(reference.rows_total),
            "stored": len(reference.rows),
            "sampled": reference.sampled,
            "random_state": int(reference.random_state),
        },
        "category_counts": {c: {str(k): int(v) for k, v in t.items()} for c, t in reference.category_counts.items()},
        "test": {"rows": len(scores), "positives": int(scores["label"].sum())},
        "offline_metrics": {
            name: {k: _finite(v) for k, v in values.items()} for name, values in reference.offline_metrics.items()
        },
        "files": {ROWS_FILE: _sha256(rows_path), SCORES_FILE: _sha256(scores_path)},
    }
    (folder / REFERENCE_FILE).write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return folder


def _document(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise MonitorReferenceError(f"{path}: not found; the monitoring reference is incomplete") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise MonitorReferenceError(f"{path}: not readable ({type(exc).__name__})") from exc
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MonitorReferenceError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise MonitorReferenceError(f'{path}: not an mlgate monitoring reference (no "format": "{FORMAT}")')
    if document.get("version") != FORMAT_VERSION:
        raise MonitorReferenceError(
            f"{path}: monitoring reference version {document.get('version')!r}, this mlgate reads {FORMAT_VERSION}"
        )
    return document


def _verified(folder: Path, name: str, files: Mapping[str, Any]) -> Path:
    path = folder / name
    if not path.is_file():
        raise MonitorReferenceError(f"{path}: not found; the monitoring reference is incomplete")
    expected = files.get(name)
    actual = _sha256(path)
    if expected != actual:
        raise MonitorReferenceError(
            f"{path}: sha256 {actual[:12]}… does not match the {expected and str(expected)[:12] + '…'} recorded in "
            f"{REFERENCE_FILE}: the artifact was changed or corrupted; register the model again (mlgate run)"
        )
    return path


def _parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        raise MonitorReferenceError(f"{path}: not a readable Parquet file ({type(exc).__name__})") from exc


def read_monitor_reference(folder: Path, *, description: str) -> MonitorReference:
    """The reference in ``folder`` (the three files), every file checked; ``description`` names it in messages."""
    folder = Path(folder)
    path = folder / REFERENCE_FILE
    document = _document(path)
    try:
        files = dict(document["files"])
        rows = _parquet(_verified(folder, ROWS_FILE, files))
        scores = _parquet(_verified(folder, SCORES_FILE, files))
        training = document["training_rows"]
        known = {"format", "version", "features", "numeric", "categorical", "target", "positive_label", "threshold"}
        known |= {"latency_budget_ms", "training_rows", "category_counts", "test", "offline_metrics", "files"}
        reference = MonitorReference(
            features=tuple(str(c) for c in document["features"]),
            numeric=tuple(str(c) for c in document["numeric"]),
            categorical=tuple(str(c) for c in document["categorical"]),
            target=str(document["target"]),
            positive_label=document["positive_label"],
            threshold=float(document["threshold"]),
            rows=rows,
            rows_total=int(training["rows"]),
            random_state=int(training["random_state"]),
            category_counts={
                str(c): {str(k): int(v) for k, v in t.items()} for c, t in dict(document["category_counts"]).items()
            },
            test_proba=scores["proba"].to_numpy(dtype=np.float64),
            test_labels=scores["label"].to_numpy(dtype=np.int64),
            offline_metrics={str(k): dict(v) for k, v in dict(document["offline_metrics"]).items()},
            latency_budget_ms=dict(document.get("latency_budget_ms") or {}),
            meta={k: v for k, v in document.items() if k not in known},
            description=description,
        )
    except MonitorReferenceError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise MonitorReferenceError(f"{path}: malformed monitoring reference ({type(exc).__name__}: {exc})") from exc
    if len(reference.test_proba) == 0:
        raise MonitorReferenceError(f"{folder / SCORES_FILE}: no test scores")
    return reference
