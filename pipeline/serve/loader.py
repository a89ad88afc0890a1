"""Read a release bundle: the descriptive files eagerly, the model only after its hash is verified.

A bundle is a folder::

    model.skops       the fitted scikit-learn Pipeline (skops format, never pickle)
    model.meta.json   {"sha256", "features", "numeric", "categorical", "threshold", "positive_label", "task",
                       "classes", "sklearn_version", ...} (written by ``pipeline.artifact.save_model``), and
                       optionally "class_costs" (a multi-class model's cost matrix: pipeline.serve.tasks)
    schema.yaml       the committed pandera schema: the request models are generated from it
    release.json      {"model_name", "model_version", "run_id", "data_fingerprint", "gate_report_sha256",
                       "git_commit", "created_at", "model_sha256", "model_signature"}, and optionally "target"
                       (the label column: pipeline.serve.labels) and "prediction_log" (queue and batch sizes)

:func:`read_bundle` reads the three small files (cheap, used by ``create_app`` to build typed routes);
:func:`load_model` hashes ``model.skops`` and refuses it, before deserialising anything, unless release.json's
``model_signature`` was made by a key the server trusts (``MLGATE_TRUSTED_KEYS`` or ``MLGATE_TRUSTED_KEYS_FILE``,
from outside the bundle; see :mod:`pipeline.signing`) and names this file's sha256, the meta file's sha256 as
read by :func:`read_bundle`, release.json's run id and model name. Everything in the bundle can be rewritten
by whoever can write the bundle; the signature cannot. Then ``pipeline.artifact.load_model`` builds it with
skops and mlgate's fixed type allow-list.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mlgate.pipeline.artifact import file_sha256
from mlgate.pipeline.artifact import load_model as load_artifact
from mlgate.pipeline.errors import MlgateError
from mlgate.pipeline.schema_file import parse_schema_yaml, read_schema_text
from mlgate.pipeline.serve.models import ColumnSpec, column_specs
from mlgate.pipeline.signing import SigningError, trusted_keys, verify_seal

__all__ = ["TASKS", "BundleError", "BundleInfo", "file_sha256", "load_model", "read_bundle"]

#: The tasks a bundle's model may have (``model.meta.json`` ``task``; a meta file without it is binary).
TASKS = ("binary", "multiclass", "regression")

MODEL_FILE, META_FILE, SCHEMA_FILE, RELEASE_FILE = "model.skops", "model.meta.json", "schema.yaml", "release.json"
_META_KEYS = ("sha256", "features", "threshold", "positive_label")  # trusted_types: informational, ignored
_RELEASE_KEYS = ("model_name", "model_version", "model_sha256")


class BundleError(MlgateError):
    """The release bundle is incomplete, unreadable, or its model does not match its recorded hash."""


@dataclass(frozen=True)
class BundleInfo:
    """What the app knows before the model is loaded."""

    root: Path
    meta: dict[str, Any]
    release: dict[str, Any]
    specs: tuple[ColumnSpec, ...]
    meta_sha256: str = ""  # of the model.meta.json bytes ``meta`` was parsed from

    @property
    def features(self) -> list[str]:
        return list(self.meta["features"])

    @property
    def threshold(self) -> float:
        return float(self.meta["threshold"])

    @property
    def model_path(self) -> Path:
        return self.root / MODEL_FILE

    @property
    def task(self) -> str:
        return str(self.meta.get("task") or "binary")

    @property
    def classes(self) -> tuple[Any, ...]:
        """A multi-class model's class labels in class-code order (its probability columns); else empty."""
        return tuple(self.meta.get("classes") or ()) if self.task == "multiclass" else ()

    @property
    def class_costs(self) -> list[list[float]] | None:
        """A multi-class model's cost matrix [true class][decided class] in class-code order, when it has one."""
        costs = self.meta.get("class_costs") if self.task == "multiclass" else None
        return None if costs is None else [[float(c) for c in row] for row in costs]


def _read_json(path: Path, required: tuple[str, ...]) -> tuple[dict[str, Any], str]:
    """The JSON object in ``path`` and the sha256 of the bytes it was parsed from."""
    try:
        raw = path.read_bytes()
        data = json.loads(raw.decode("utf-8"))
    except FileNotFoundError as exc:
        raise BundleError(f"{path}: file not found (a release bundle needs {path.name})") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{path}: not readable JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise BundleError(f"{path}: expected a JSON object, got {type(data).__name__}")
    missing = [key for key in required if key not in data]
    if missing:
        raise BundleError(f"{path}: missing key '{missing[0]}' (required: {', '.join(required)})")
    return data, hashlib.sha256(raw).hexdigest()


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_task(meta: dict[str, Any], path: Path) -> None:
    """The meta file's ``task``, ``classes`` and ``class_costs`` are usable (see :class:`BundleInfo`)."""
    task = meta.get("task") or "binary"
    if task not in TASKS:
        raise BundleError(f"{path}: 'task' must be one of {', '.join(TASKS)}, got {task!r}")
    if task != "multiclass":
        return
    found = meta.get("classes")
    classes: list[Any] = found if isinstance(found, list) else []
    scalars = all(isinstance(c, str | int | float | bool) for c in classes)
    keys = {c if isinstance(c, str) else json.dumps(c) for c in classes}  # the response's probability keys
    if not scalars or len(classes) < 2 or len(keys) != len(classes):
        raise BundleError(
            f"{path}: a multiclass model's 'classes' must list its distinct class labels in class-code order "
            f"(at least two JSON strings or numbers), got {str(found)[:120]}"
        )
    costs, k = meta.get("class_costs"), len(classes)
    square = isinstance(costs, list) and len(costs) == k and all(isinstance(r, list) and len(r) == k for r in costs)
    if costs is not None and not (square and all(_number(c) for row in costs for c in row)):
        raise BundleError(
            f"{path}: 'class_costs' must be a {k}x{k} list of finite numbers (rows: the true class, columns: the "
            f"decided class, both in the order of 'classes'), got {str(costs)[:120]}"
        )


def read_bundle(root: str | Path) -> BundleInfo:
    """Read and check meta, release and schema; the model file is only checked to exist."""
    root = Path(root)
    if not root.is_dir():
        raise BundleError(f"{root}: bundle folder not found")
    meta, meta_sha256 = _read_json(root / META_FILE, _META_KEYS)
    release, _ = _read_json(root / RELEASE_FILE, _RELEASE_KEYS)
    features = meta["features"]
    if not isinstance(features, list) or not features or not all(isinstance(f, str) for f in features):
        raise BundleError(f"{root / META_FILE}: 'features' must be a non-empty list of column names")
    threshold = meta["threshold"]
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0.0 <= threshold <= 1.0:
        raise BundleError(f"{root / META_FILE}: 'threshold' must be a number in [0, 1], got {threshold!r}")
    _check_task(meta, root / META_FILE)
    schema_path = root / SCHEMA_FILE
    try:
        schema = parse_schema_yaml(read_schema_text(schema_path), schema_path)  # bounded: size, aliases, depth
    except FileNotFoundError as exc:
        raise BundleError(f"{schema_path}: file not found (a release bundle needs {SCHEMA_FILE})") from exc
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise BundleError(f"{schema_path}: not readable YAML ({exc})") from exc
    specs = column_specs(schema, features, source=str(schema_path))
    if not (root / MODEL_FILE).is_file():
        raise BundleError(f"{root / MODEL_FILE}: file not found (a release bundle needs {MODEL_FILE})")
    return BundleInfo(root, meta, release, tuple(specs), meta_sha256)


def load_model(info: BundleInfo) -> Any:
    """Verify ``model.skops``'s signature with the server's trusted keys, then deserialise it (skops, allow-list).

    Raises BundleError (one line) for a file that does not match release.json or the meta, an unsigned bundle,
    a signature by another key or for other bytes; ArtifactError when skops refuses the verified file.
    """
    path = info.model_path
    try:
        observed = file_sha256(path)
    except OSError as exc:
        raise BundleError(f"{path}: cannot read model file ({exc.strerror})") from exc
    recorded = str(info.release["model_sha256"])
    if observed != recorded:
        raise BundleError(
            f"{path}: sha256 {observed} does not match release.json model_sha256 {recorded}; "
            "the model file was changed after release - rebuild the bundle from the registry"
        )
    if observed != str(info.meta["sha256"]):
        raise BundleError(
            f"{path}: sha256 {observed} does not match model.meta.json sha256 {info.meta['sha256']}; "
            "the bundle mixes files from different releases"
        )
    seal = info.release.get("model_signature")
    if seal is None:
        raise BundleError(
            f"{info.root / RELEASE_FILE}: no 'model_signature': the bundle is unsigned (made by an mlgate older "
            f"than model signing, or not by mlgate); refusing to load {MODEL_FILE} - rebuild it with `mlgate release`"
        )
    try:
        verify_seal(
            seal,
            keys=trusted_keys(include_signing_key=False),  # public keys only, from outside the bundle
            source=str(path),
            model_sha256=observed,
            meta_sha256=info.meta_sha256,
            run_id=info.release.get("run_id"),
            model_name=info.release["model_name"],
        )
    except SigningError as exc:
        raise BundleError(f"{exc}; refusing to load it") from exc
    return load_artifact(path, expected_sha256=observed)  # observed = the sha256 the signature names
