"""The model artifact format: a skops file plus a small JSON record of how to use it. Never pickle.

A saved model is two files side by side, and a third once it is signed::

    model.skops       the fitted scikit-learn Pipeline, written with ``skops.io`` (a zip of JSON + .npy arrays)
    model.meta.json   {"format", "sha256", "trusted_types", "features", "numeric", "categorical", "threshold",
                       "positive_label", "task", "classes", "class_costs", "sklearn_version", "skops_version",
                       "numpy_version"}
    model.sig.json    the signature record (see :mod:`pipeline.signing`), when the model comes from the registry

What a file may make skops build is decided HERE, never by the file: skops builds its own default-trusted
types (scikit-learn estimator classes, numpy/scipy ufuncs, Python primitives and containers) and, beyond them,
only the exact type names in :data:`ALLOWED_TYPES`. That tuple is what the estimators mlgate supports need
(``tests/unit/test_artifact.py`` regenerates it from fitted models of each and fails when it drifts). A model
needing anything else is refused at save time, before anything is logged, and at load time, before anything is
built; the meta's ``trusted_types`` is informational only.

Which bytes may be loaded at all is decided by a record the file's writer cannot change alone: either a
signature made with mlgate's signing key (:func:`pipeline.signing.verify_seal`), or a sha256 the caller holds
from its own memory (``save_model``'s return value in the same process). Both are checked on the very bytes
that are then deserialised.

Note: skops names the arrays inside the zip after object ids and stamps zip times, so saving the same fitted
model twice gives two different files (and hashes). The sha256 identifies a file, not a model: compare
predictions to judge reproducibility.

This module does not import mlflow or any training code: the serving app and the reproducibility gate use it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgate.pipeline.errors import MlgateError
from mlgate.pipeline.signing import SigningError, parse_seal, trusted_keys, verify_seal

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

__all__ = [
    "ALLOWED_TYPES",
    "FORMAT",
    "ArtifactError",
    "file_sha256",
    "load_meta",
    "load_model",
    "meta_path",
    "save_model",
    "seal_path",
]

FORMAT = "mlgate-model/1"
#: The exact type names a model file may need beyond skops' default-trusted types. No function that could be
#: called with arguments from the file. Tree / TreePredictor are not skops defaults because a crafted node array
#: can crash the process; mlgate builds them only from files whose signature (or in-process sha256) verified.
ALLOWED_TYPES: tuple[str, ...] = (
    "numpy.dtype",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.tree._tree.Tree",
)


class ArtifactError(MlgateError):
    """A model artifact cannot be written or loaded: unsigned, untrusted types, hash mismatch, unreadable file."""


def meta_path(path: Path) -> Path:
    """``model.skops`` -> ``model.meta.json``."""
    return Path(path).with_suffix(".meta.json")


def seal_path(path: Path) -> Path:
    """``model.skops`` -> ``model.sig.json`` (the signature record)."""
    return Path(path).with_suffix(".sig.json")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _package_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def _plain(value: Any) -> Any:
    """numpy scalars -> Python scalars, so the meta file is plain JSON."""
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        return value.item()
    return value


def _write_atomically(path: Path, data: bytes) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    os.replace(partial, path)


def _outside(types: Sequence[str]) -> list[str]:
    return sorted(set(types) - set(ALLOWED_TYPES))


def save_model(
    model: Any,
    path: Path,
    *,
    features: Sequence[str] | None = None,
    numeric: Sequence[str] | None = None,
    categorical: Sequence[str] | None = None,
    threshold: float | None = None,
    positive_label: Any = None,
    task: str = "binary",
    classes: Sequence[Any] = (),
    class_costs: Sequence[Sequence[float]] | None = None,
) -> str:
    """Write ``model`` to ``path`` with skops and its meta file next to it; return the file's sha256.

    ``features`` defaults to the model's ``feature_names_in_``. Raises :class:`ArtifactError` (and writes
    nothing) when the model is not fitted, cannot be serialised, or needs a type outside :data:`ALLOWED_TYPES`.
    """
    import skops.io as sio
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    path = Path(path)
    try:
        check_is_fitted(model)
    except (NotFittedError, TypeError) as exc:
        raise ArtifactError(f"{path}: refusing to save {type(model).__name__}: it is not a fitted estimator") from exc
    try:
        data = sio.dumps(model)
        needed = sorted(sio.get_untrusted_types(data=data))
    except Exception as exc:  # skops raises many kinds (and RecursionError on some scorer objects)
        raise ArtifactError(
            f"{path}: cannot serialise {type(model).__name__} with skops ({type(exc).__name__}: {exc})"
        ) from exc
    refused = _outside(needed)
    if refused:
        raise ArtifactError(
            f"{path}: refusing to save a model that needs type {', '.join(refused)}, which is not in mlgate's "
            f"allow-list ({', '.join(ALLOWED_TYPES)}); use the estimators mlgate supports"
        )
    if features is None and hasattr(model, "feature_names_in_"):
        features = [str(f) for f in model.feature_names_in_]
    sha = hashlib.sha256(data).hexdigest()
    meta = {
        "format": FORMAT,
        "sha256": sha,
        "trusted_types": needed,  # informational: loading trusts ALLOWED_TYPES, never this list
        "features": None if features is None else [str(f) for f in features],
        "numeric": None if numeric is None else [str(f) for f in numeric],
        "categorical": None if categorical is None else [str(f) for f in categorical],
        "threshold": None if threshold is None else float(threshold),
        "positive_label": _plain(positive_label),
        "task": task,
        "classes": [_plain(c) for c in classes],
        "class_costs": None if class_costs is None else [[float(v) for v in row] for row in class_costs],
        "sklearn_version": _package_version("scikit-learn"),
        "skops_version": _package_version("skops"),
        "numpy_version": _package_version("numpy"),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # Model first, meta last: a crash in between leaves a meta whose sha256 does not match, so it won't load.
        _write_atomically(path, data)
        _write_atomically(meta_path(path), (json.dumps(meta, indent=2, sort_keys=True) + "\n").encode())
    except OSError as exc:
        raise ArtifactError(f"{path}: cannot write model artifact ({exc.strerror})") from exc
    return sha


def load_meta(path: Path) -> dict[str, Any]:
    """Read the meta file that belongs to model file ``path`` (descriptive: features, threshold, ...)."""
    source = meta_path(Path(path))
    try:
        meta = json.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ArtifactError(f"{source}: meta file not found (save_model writes it next to the model)") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{source}: not readable JSON ({exc})") from exc
    if not isinstance(meta, dict) or "sha256" not in meta:
        raise ArtifactError(f"{source}: expected a JSON object with 'sha256'")
    return meta


def _read_seal(path: Path) -> dict[str, Any]:
    source = seal_path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ArtifactError(
            f"{path}: the model is not signed (no {source.name} beside it, no sha256 from an independent record); "
            "refusing to load it - take models from the registry or a release bundle"
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{source}: cannot read the signature record ({exc})") from exc
    try:
        return parse_seal(text, source=str(source))
    except SigningError as exc:
        raise ArtifactError(str(exc)) from exc


def _deserialise(path: Path | str, data: bytes) -> Any:
    """skops, trusting exactly the allow-listed types this file needs; anything else refused before building."""
    import skops.io as sio
    from skops.io.exceptions import UntrustedTypesFoundException

    try:
        needed = set(sio.get_untrusted_types(data=data))  # audits the schema; constructs nothing
    except Exception as exc:  # skops raises many kinds on a malformed file
        raise ArtifactError(f"{path}: not a readable skops model file ({type(exc).__name__}: {exc})") from exc
    refused = _outside(sorted(needed))
    if refused:
        raise ArtifactError(
            f"{path}: refusing to load a model that needs type {', '.join(refused)}, which is not in mlgate's "
            f"allow-list ({', '.join(ALLOWED_TYPES)})"
        )
    try:
        return sio.loads(data, trusted=sorted(needed & set(ALLOWED_TYPES)))
    except UntrustedTypesFoundException as exc:
        raise ArtifactError(f"{path}: refusing to load a model that needs untrusted types: {exc}") from exc
    except Exception as exc:  # skops raises many kinds on a malformed file
        raise ArtifactError(f"{path}: not a readable skops model file ({type(exc).__name__}: {exc})") from exc


def load_model(
    path: Path,
    *,
    expected_sha256: str | None = None,
    seal: Any = None,
    run_id: str | None = None,
    model_name: str | None = None,
    keys: Mapping[str, Ed25519PublicKey] | None = None,
    name: str | None = None,
) -> Any:
    """Verify ``path``, then deserialise it with skops trusting only the allow-listed types it needs.

    Verification, on the bytes that are then loaded, before any of them is deserialised:

    * ``expected_sha256`` alone: the file's sha256 must equal it. Pass it only from a record the file's writer
      cannot change (this process's memory of ``save_model``'s return value, or a sha256 whose signature you
      verified), never from the meta file or an unsigned tag.
    * otherwise the signature record ``seal`` (default: ``model.sig.json`` beside the file) must verify with
      ``keys`` (default: :func:`pipeline.signing.trusted_keys`) and name this file's sha256 (the meta file's
      too when it exists), and ``run_id`` / ``model_name`` when given. An unsigned file is refused.

    ``name`` names the file in messages (default: its path; a registry download names it by its artifact path).
    """
    path = Path(path)
    label = name or str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise ArtifactError(f"{path}: model file not found") from exc
    except OSError as exc:
        raise ArtifactError(f"{path}: cannot read model file ({exc.strerror})") from exc
    observed = hashlib.sha256(data).hexdigest()
    if expected_sha256 is not None and observed != expected_sha256:
        raise ArtifactError(
            f"{label}: sha256 {observed} does not match the recorded sha256 {expected_sha256}; the model file was "
            "changed or corrupted after it was saved - download it again from the registry"
        )
    if expected_sha256 is None or seal is not None:
        record = seal if seal is not None else _read_seal(path)
        checks: dict[str, Any] = {"run_id": run_id} if run_id is not None else {}
        if model_name is not None:
            checks["model_name"] = model_name
        if meta_path(path).is_file():
            checks["meta_sha256"] = file_sha256(meta_path(path))
        try:
            verify_seal(
                record,
                model_sha256=observed,
                keys=trusted_keys() if keys is None else keys,
                source=label,
                **checks,
            )
        except SigningError as exc:
            raise ArtifactError(str(exc)) from exc
    return _deserialise(label, data)
