"""An identical re-run: a candidate that IS the champion again is judged, reported, and not registered.

Re-running ``mlgate run`` on the same data, config, locked environment and code trains the same model; before
issue 9 each such run registered and promoted a new version, so the registry's history filled with copies and
"champion moved from v3 to v4" meant nothing. A candidate is identical to the champion when the champion's run
recorded the same data fingerprint, config sha256 and uv.lock sha256 AND the two models have the same content.

The model file's sha256 cannot say "same content": skops writes zip timestamps and names arrays and objects by
their memory address, so two saves of one model differ. :func:`model_identity` hashes what the model *is*: the
skops schema with those ids renumbered in order of appearance, and every array file's bytes. It is equal across
processes and for a model loaded back from the registry (tests/integration/test_identical_rerun.py).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from typing import Any

from mlgate.pipeline.candidate import Candidate, DataBundle
from mlgate.pipeline.config import ProjectConfig
from mlgate.pipeline.records import ChampionRecord, RunMeta
from mlgate.pipeline.redact import redact_url
from mlgate.pipeline.tags import Tag

__all__ = ["identical_champion", "model_identity", "unregistered_section"]

_SCHEMA = "schema.json"


def _canonical(node: Any, ids: dict[Any, int], files: dict[str, int]) -> Any:
    """``node`` with skops' memory-address ids (``__id__``) and array file names (``file``) numbered in order of
    first appearance, so the same object graph gives the same document."""
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "__id__":
                out[key] = ids.setdefault(value, len(ids))
            elif key == "file" and isinstance(value, str):
                out[key] = files.setdefault(value, len(files))
            else:
                out[key] = _canonical(value, ids, files)
        return out
    if isinstance(node, list):
        return [_canonical(value, ids, files) for value in node]
    return node


def model_identity(model: Any) -> str | None:
    """sha256 of the model's content (see the module docstring), or None when skops cannot serialise it."""
    import skops.io as sio

    try:
        archive = zipfile.ZipFile(io.BytesIO(sio.dumps(model)))
    except Exception:  # skops raises many kinds for a model it cannot write: then nothing is "identical"
        return None
    with archive:
        ids: dict[Any, int] = {}
        files: dict[str, int] = {}
        schema = _canonical(json.loads(archive.read(_SCHEMA)), ids, files)
        digest = hashlib.sha256(json.dumps(schema, sort_keys=True).encode())
        for name in files:
            digest.update(hashlib.sha256(archive.read(name)).digest())
        for name in sorted(set(archive.namelist()) - set(files) - {_SCHEMA}):
            digest.update(name.encode() + b"\0" + hashlib.sha256(archive.read(name)).digest())
    return digest.hexdigest()


def identical_champion(
    config: ProjectConfig, data: DataBundle, candidate: Candidate, run_meta: RunMeta, champion: ChampionRecord | None
) -> str | None:
    """The champion's version when ``candidate`` is the champion again (same data fingerprint, config sha256,
    uv.lock sha256 and model content), else None. Needs the champion's model loaded (``champion.model``)."""
    if champion is None or champion.model is None:
        return None
    recorded = champion.tags
    same_inputs = (
        recorded.get(Tag.DATA_FINGERPRINT) == data.dataset.fingerprint
        and recorded.get(Tag.CONFIG_SHA256) == config.sha256
        and recorded.get(Tag.LOCK_SHA256) == (run_meta.lock_sha256 or "unknown")
    )
    if not same_inputs:
        return None
    mine = model_identity(candidate.pipeline)
    return champion.version if mine is not None and mine == model_identity(champion.model) else None


def unregistered_section(registry: Any, champion: ChampionRecord, *, promote: bool) -> dict[str, Any]:
    """The report's ``run.registry`` for an identical re-run: it names the champion (so ``mlgate release`` can
    release the report's version), registers nothing and moves nothing."""
    return {
        "tracking_uri": redact_url(registry.tracking_uri),
        "model_name": registry.model_name,
        "version": champion.version,
        "run_id": champion.run_id,
        "model_uri": champion.model_uri,
        "model_sha256": champion.sha256,
        "identical_to_champion": champion.version,
        "registered": False,
        "champion_before": champion.version,
        "promotion_requested": promote,
        "promoted": False,
        "champion_after": champion.version,
    }
