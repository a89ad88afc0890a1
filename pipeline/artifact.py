"""The model artifact format: a skops file plus a small JSON record of how to load it. Never pickle.

A saved model is two files side by side::

    model.skops       the fitted scikit-learn Pipeline, written with ``skops.io`` (a zip of JSON + .npy arrays)
    model.meta.json   {"format", "sha256", "trusted_types", "features", "numeric", "categorical", "threshold",
                       "positive_label", "sklearn_version", "skops_version", "numpy_version"}

skops refuses to instantiate a type it does not trust. The list of types the file needs beyond skops' own
defaults is computed at save time (``skops.io.get_untrusted_types``), checked against an allow-list of module
prefixes (:data:`ALLOWED_PREFIXES`: scikit-learn, numpy, scipy) and recorded in the meta file; a type outside
the allow-list (a custom function, a third-party estimator) is refused at save time, so an artifact that could
run foreign code on load is never written. Loading checks the file's sha256 *before* deserialising and then
passes that explicit list to ``skops.io.load``; the bytes that were hashed are the bytes that are loaded.

Note: skops names the arrays inside the zip after object ids and stamps zip times, so saving the same fitted
model twice gives two different files (and hashes). The sha256 identifies a file, not a model: compare
predictions to judge reproducibility.

This module does not import mlflow or any training code: the serving app and the reproducibility gate use it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from pipeline.errors import MlgateError

__all__ = [
    "ALLOWED_PREFIXES",
    "FORMAT",
    "ArtifactError",
    "file_sha256",
    "load_meta",
    "load_model",
    "meta_path",
    "save_model",
]

FORMAT = "mlgate-model/1"
#: Module prefixes a saved model may need beyond skops' built-in trusted types.
ALLOWED_PREFIXES: tuple[str, ...] = ("sklearn.", "numpy.", "scipy.")


class ArtifactError(MlgateError):
    """A model artifact cannot be written or loaded: untrusted types, hash mismatch, unreadable file."""


def meta_path(path: Path) -> Path:
    """``model.skops`` -> ``model.meta.json``."""
    return path.with_suffix(".meta.json")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _refused(types: Iterable[str], allowed: Sequence[str]) -> list[str]:
    return sorted(t for t in types if not any(t.startswith(prefix) for prefix in allowed))


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


def save_model(
    model: Any,
    path: Path,
    *,
    features: Sequence[str] | None = None,
    numeric: Sequence[str] | None = None,
    categorical: Sequence[str] | None = None,
    threshold: float | None = None,
    positive_label: Any = None,
    allowed_prefixes: Sequence[str] = ALLOWED_PREFIXES,
) -> str:
    """Write ``model`` to ``path`` with skops and its meta file next to it; return the file's sha256.

    ``features`` defaults to the model's ``feature_names_in_``. Raises :class:`ArtifactError` (and writes
    nothing) when the model is not fitted or needs a type outside ``allowed_prefixes``.
    """
    import skops.io as sio
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    path = Path(path)
    try:
        check_is_fitted(model)
    except (NotFittedError, TypeError) as exc:
        raise ArtifactError(f"{path}: refusing to save {type(model).__name__}: it is not a fitted estimator") from exc
    data = sio.dumps(model)
    trusted = sorted(sio.get_untrusted_types(data=data))
    refused = _refused(trusted, allowed_prefixes)
    if refused:
        raise ArtifactError(
            f"{path}: refusing to save a model that needs untrusted types {', '.join(refused)} "
            f"(allowed module prefixes: {', '.join(allowed_prefixes)}); use scikit-learn/numpy/scipy objects only"
        )
    if features is None and hasattr(model, "feature_names_in_"):
        features = [str(f) for f in model.feature_names_in_]
    sha = hashlib.sha256(data).hexdigest()
    meta = {
        "format": FORMAT,
        "sha256": sha,
        "trusted_types": trusted,
        "features": None if features is None else [str(f) for f in features],
        "numeric": None if numeric is None else [str(f) for f in numeric],
        "categorical": None if categorical is None else [str(f) for f in categorical],
        "threshold": None if threshold is None else float(threshold),
        "positive_label": _plain(positive_label),
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
    """Read the meta file that belongs to model file ``path``."""
    source = meta_path(Path(path))
    try:
        meta = json.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ArtifactError(f"{source}: meta file not found (save_model writes it next to the model)") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{source}: not readable JSON ({exc})") from exc
    if not isinstance(meta, dict) or "sha256" not in meta or "trusted_types" not in meta:
        raise ArtifactError(f"{source}: expected a JSON object with 'sha256' and 'trusted_types'")
    return meta


def load_model(
    path: Path,
    *,
    expected_sha256: str | None = None,
    trusted: list[str] | None = None,
    allowed_prefixes: Sequence[str] = ALLOWED_PREFIXES,
) -> Any:
    """Verify the sha256 of ``path``, then deserialise it with skops trusting exactly ``trusted``.

    ``expected_sha256`` and ``trusted`` default to the values in the meta file next to the model (then the
    meta file must exist and describe this very file). Pass ``expected_sha256`` from an independent record
    (the registry, release.json) so that a file swapped together with its meta is still refused.
    """
    import skops.io as sio
    from skops.io.exceptions import UntrustedTypesFoundException

    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise ArtifactError(f"{path}: model file not found") from exc
    except OSError as exc:
        raise ArtifactError(f"{path}: cannot read model file ({exc.strerror})") from exc
    observed = hashlib.sha256(data).hexdigest()
    meta = load_meta(path) if expected_sha256 is None or trusted is None else {}
    expected = expected_sha256 if expected_sha256 is not None else meta["sha256"]
    if observed != expected:
        raise ArtifactError(
            f"{path}: sha256 {observed} does not match the recorded sha256 {expected}; the model file was "
            "changed or corrupted after it was saved - download it again from the registry"
        )
    if meta and meta["sha256"] != observed:
        raise ArtifactError(
            f"{meta_path(path)}: describes a file with sha256 {meta['sha256']}, not {path.name} ({observed}); "
            "the meta file belongs to another model"
        )
    trusted_types = list(trusted if trusted is not None else meta["trusted_types"])
    refused = _refused(trusted_types, allowed_prefixes)
    if refused:
        raise ArtifactError(
            f"{path}: refusing to trust types {', '.join(refused)} "
            f"(allowed module prefixes: {', '.join(allowed_prefixes)})"
        )
    try:
        return sio.loads(data, trusted=trusted_types)
    except UntrustedTypesFoundException as exc:
        raise ArtifactError(f"{path}: the model needs types that are not in its trusted list: {exc}") from exc
    except Exception as exc:  # skops raises many kinds on a malformed file
        raise ArtifactError(f"{path}: not a readable skops model file ({type(exc).__name__}: {exc})") from exc
