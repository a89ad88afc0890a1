"""The release bundle: the contract between training, the image and the serving app.

::

    bundle/
      model.skops       the fitted scikit-learn Pipeline, skops format (written by pipeline.artifact.save_model)
      model.meta.json   sha256, features, numeric, categorical, threshold, positive_label, ...
      schema.yaml       the committed pandera schema
      release.json      model_name, model_version, run_id, data_fingerprint, gate_report_sha256, git_commit,
                        created_at, model_sha256, model_signature (the seal of pipeline.signing: model and
                        meta sha256, model name and run id signed with mlgate's key; the serving app refuses the
                        model unless it verifies with a public key given to the server from outside the bundle)
      golden.json       the golden set: feature rows and what the gated model answers offline for them, per the
                        task of model.meta.json: "proba", the positive-class probabilities (binary) or the (n, k)
                        class probabilities in class order with "classes" (multiclass); "values", the predicted
                        values (regression); and optionally "decisions" (binary 0/1, the decided class labels).
                        The image smoke test requires the served model's to be bitwise equal (ci.release.smoke)
      monitor/          the model's monitoring reference as its run logged it (pipeline.monitor_reference), when
                        it did: ``mlgate monitor --bundle DIR`` reads it where the registry is out of reach

Floats in golden.json are written with Python's shortest round-trip repr, so reading them back gives the
exact same doubles.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlgate.ci.release.errors import ReleaseError

__all__ = [
    "GOLDEN_FILE",
    "RELEASE_FILE",
    "RELEASE_KEYS",
    "golden_scores",
    "make_bundle",
    "read_golden",
    "read_release",
    "sha256_file",
]

RELEASE_FILE = "release.json"
GOLDEN_FILE = "golden.json"
RELEASE_KEYS: tuple[str, ...] = (
    "model_name",
    "model_version",
    "run_id",
    "data_fingerprint",
    "gate_report_sha256",
    "git_commit",
    "created_at",
    "model_sha256",
)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def _save_model(model: Any, path: Path, meta: Mapping[str, Any], info: Mapping[str, Any]) -> dict[str, Any]:
    """Write model.skops + model.meta.json through pipeline.artifact (the one place that defines the format) and
    return the model's seal (pipeline.signing).

    ``model`` may also be the path of an already saved model.skops with its meta file and signature
    (model.sig.json) beside it, as ``Registry.download_bundle`` writes them: both files are copied byte for
    byte and the signature must verify with the trusted keys for exactly these bytes and ``info``'s run id and
    model name. A fitted model object is saved and signed here with the signing key.
    """
    from mlgate.pipeline import artifact
    from mlgate.pipeline.signing import SigningError, parse_seal, sign_model, trusted_keys, verify_seal

    if isinstance(model, Path):
        shutil.copy2(model, path)
        shutil.copy2(artifact.meta_path(model), artifact.meta_path(path))
        source = artifact.seal_path(model)
        try:
            seal = parse_seal(source.read_text(encoding="utf-8"), source=str(source))
            verify_seal(
                seal,
                keys=trusted_keys(),
                source=str(model),
                model_sha256=sha256_file(path),
                meta_sha256=sha256_file(artifact.meta_path(path)),
                run_id=info.get("run_id"),
                model_name=info.get("model_name"),
            )
        except (OSError, SigningError) as exc:
            raise ReleaseError(f"make_bundle: {exc}; take the model from the registry (download_bundle)") from exc
        return seal
    model_sha = artifact.save_model(model, path, **dict(meta))
    return sign_model(
        model_sha,
        meta_sha256=sha256_file(artifact.meta_path(path)),
        model_name=info.get("model_name"),
        run_id=info.get("run_id"),
    )


def _golden(
    written_meta: Mapping[str, Any], golden_X: pd.DataFrame, proba: np.ndarray, decisions: Sequence[Any] | None
) -> dict[str, Any]:
    """golden.json's content for the task of the written model.meta.json (see the module docstring)."""
    task, n = str(written_meta.get("task") or "binary"), len(golden_X)
    classes = list(written_meta.get("classes") or []) if task == "multiclass" else []
    shape = (n, len(classes)) if task == "multiclass" else (n,)
    if proba.shape != shape:
        what = {
            "binary": "one positive-class probability per golden row",
            "multiclass": f"one probability per golden row and class ({len(classes)} classes in model.meta.json)",
            "regression": "one predicted value per golden row",
        }[task]
        raise ReleaseError(f"make_bundle: golden_proba has shape {proba.shape}, expected {shape}: {what}")
    if decisions is not None and len(decisions) != n:
        raise ReleaseError(f"make_bundle: {len(decisions)} golden decisions for {n} golden rows")
    rows = [{str(k): _plain(v) for k, v in row.items()} for row in golden_X.to_dict(orient="records")]
    golden: dict[str, Any] = {"task": task, "features": [str(c) for c in golden_X.columns], "rows": rows}
    if task == "regression":
        golden["values"] = proba.tolist()
    else:
        golden["proba"] = proba.tolist()
    if classes:
        golden["classes"] = classes
    if decisions is not None:
        golden["decisions"] = [_plain(d) for d in decisions]
    return golden


def golden_scores(golden: Mapping[str, Any]) -> np.ndarray:
    """The offline scores in a read golden set: ``values`` (regression) or ``proba`` (1-D binary, 2-D multiclass)."""
    key = "values" if golden.get("task") == "regression" else "proba"
    return np.asarray(golden[key], dtype=np.float64)


def make_bundle(
    dest: Path,
    *,
    model: Any,
    schema_path: Path,
    release_info: Mapping[str, Any],
    meta: Mapping[str, Any],
    golden_X: pd.DataFrame,
    golden_proba: np.ndarray,
    golden_decisions: Sequence[Any] | None = None,
    monitor_dir: Path | None = None,
) -> Path:
    """Write a release bundle to ``dest`` (replaced if it exists) and return ``dest``.

    ``meta`` is passed to ``pipeline.artifact.save_model`` (features, numeric, categorical, threshold,
    positive_label, task, classes). ``release_info`` must name every key of :data:`RELEASE_KEYS` except
    ``created_at`` (default: now, UTC) and ``model_sha256`` (default: the hash of the written model.skops).
    ``golden_proba`` is the model's offline scores on ``golden_X`` for the task of the written meta file
    (``pipeline.evaluate.model_scores``: ``(n,)`` positive-class probabilities, ``(n, k)`` class probabilities,
    ``(n,)`` predicted values), ``golden_decisions`` optionally its decisions (0/1, class labels). ``monitor_dir``:
    the run's ``monitor/`` folder, copied as is (its files are checked against their recorded sha256 when read).
    """
    missing = [k for k in RELEASE_KEYS if k not in release_info and k not in {"created_at", "model_sha256"}]
    if missing:
        raise ReleaseError(f"make_bundle: release_info lacks {', '.join(missing)} (expected {', '.join(RELEASE_KEYS)})")
    proba = np.asarray(golden_proba, dtype=np.float64)
    if proba.ndim not in (1, 2) or len(proba) != len(golden_X):
        raise ReleaseError(
            f"make_bundle: golden_proba has shape {proba.shape}, expected ({len(golden_X)},) or "
            f"({len(golden_X)}, k): the model's scores on each golden row"
        )
    if not schema_path.is_file():
        raise ReleaseError(f"make_bundle: schema file {schema_path} not found")
    partial = dest.with_name(dest.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    seal = _save_model(model, partial / "model.skops", meta, {k: _plain(v) for k, v in release_info.items()})
    written_meta = json.loads((partial / "model.meta.json").read_text())
    model_sha = sha256_file(partial / "model.skops")
    if written_meta.get("sha256") not in (None, model_sha):
        raise ReleaseError(f"make_bundle: model.meta.json sha256 {written_meta.get('sha256')} != {model_sha}")
    try:
        golden = _golden(written_meta, golden_X, proba, golden_decisions)
    except ReleaseError:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    shutil.copy2(schema_path, partial / "schema.yaml")
    info = {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "model_sha256": model_sha,
        **{k: _plain(v) for k, v in release_info.items()},
        "model_signature": seal,
    }
    (partial / RELEASE_FILE).write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    (partial / GOLDEN_FILE).write_text(json.dumps(golden) + "\n")
    if monitor_dir is not None:
        shutil.copytree(monitor_dir, partial / "monitor")
    if dest.exists():
        shutil.rmtree(dest)
    partial.rename(dest)
    return dest


def _read_json(path: Path) -> Any:
    """The JSON document in the bundle file ``path``; a missing or unreadable file is one :class:`ReleaseError`
    line naming the file and the fix."""
    try:
        text = path.read_text()
    except FileNotFoundError as exc:
        raise ReleaseError(f"{path}: not found; build the bundle with make_bundle") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReleaseError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc


def read_release(bundle_dir: Path) -> dict[str, Any]:
    path = bundle_dir / RELEASE_FILE
    release: dict[str, Any] = _read_json(path)
    return release


def read_golden(bundle_dir: Path) -> dict[str, Any]:
    """The golden set (see the module docstring; a file without ``task`` is a binary model's)."""
    path = bundle_dir / GOLDEN_FILE
    golden = _read_json(path)
    if not isinstance(golden, dict):
        raise ReleaseError(f"{path}: expected a JSON object with rows and proba")
    task = golden.setdefault("task", "binary")
    key = "values" if task == "regression" else "proba"
    rows, scores = golden.get("rows", []), golden.get(key, [])
    if not isinstance(rows, list) or not isinstance(scores, list) or len(rows) != len(scores) or not rows:
        raise ReleaseError(f"{path}: expected as many {key} as rows (and at least one row)")
    decisions = golden.get("decisions")
    if decisions is not None and (not isinstance(decisions, list) or len(decisions) != len(rows)):
        raise ReleaseError(f"{path}: expected as many decisions as rows")
    if task == "multiclass":
        classes = golden.get("classes")
        k = len(classes) if isinstance(classes, list) else 0
        if k < 2 or not all(isinstance(row, list) and len(row) == k for row in scores):
            raise ReleaseError(f"{path}: a multiclass golden set needs its classes and one probability per class")
    return golden
