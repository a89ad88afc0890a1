"""New data against the champion's data: read the current batch and the reference it is compared with.

``mlgate gate --layer drift --current PATH`` (or ``[drift] current``) compares a new batch with the training rows
of the model in production. The reference is found in this order:

1. the champion's ``drift/reference.parquet`` (logged by every registered candidate, see :mod:`pipeline.batch`),
   read through the registry adapter; the store is only read, never created;
2. otherwise the project data's training rows (train + validation): with no store or no champion yet there is
   no production model to compare with, and the data the next candidate would learn from is the closest
   stand-in. Every message names which one was used ("champion v3's training data" / "the project data's
   training rows (no champion yet)"), so a pass against the fallback is never mistaken for one against the
   champion.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from typing import Any

from mlgate.checks.evidence import Evidence
from mlgate.pipeline.batch import REFERENCE_ARTIFACT, DriftReference, load_batch, project_reference, read_reference
from mlgate.pipeline.config import ProjectConfig
from mlgate.pipeline.config_sections import CurrentSource
from mlgate.pipeline.errors import MlgateError
from mlgate.pipeline.records import ChampionRecord, DataBundle

__all__ = ["batch_section", "champion_reference", "drift_reference", "override_current", "with_current_batch"]


def override_current(config: ProjectConfig, current: str | None) -> ProjectConfig:
    """``config`` with ``drift.current.source`` replaced by ``--current`` (a path relative to the working folder, or
    an SQLAlchemy URL that uses the configured ``drift.current.query``)."""
    if current is None:
        return config
    configured = config.drift.current
    if "://" in current:
        query = configured.query if configured is not None else None
        if not query:
            raise MlgateError(
                f"--current {current.split('://', 1)[0]}://...: an SQLAlchemy URL needs the read query in the config "
                '([drift.current] query = "SELECT ...")'
            )
        source = CurrentSource(source=current, query=query, format="sql")
    else:
        source = CurrentSource(source=str(Path(current).expanduser().resolve()))
    return config.model_copy(update={"drift": config.drift.model_copy(update={"current": source})})


def champion_reference(registry: Any, champion: ChampionRecord) -> DriftReference | None:
    """The champion's logged training rows, or None when its run logged none (a run older than the reference,
    or ``drift.log_reference = false``)."""
    with tempfile.TemporaryDirectory(prefix="mlgate-reference-") as scratch:
        path = registry.find_artifact(champion.run_id, REFERENCE_ARTIFACT, Path(scratch))
        if path is None:
            return None
        what = f"champion v{champion.version} (run {champion.run_id}): {REFERENCE_ARTIFACT}"
        frame = read_reference(path, what=what)
    return DriftReference(frame, f"champion v{champion.version}'s training data", champion.version)


def drift_reference(config: ProjectConfig, data: DataBundle) -> DriftReference:
    """The champion's training rows when the store has a champion that logged them; else the project data's."""
    from mlgate.ci.registration import make_registry, store_exists

    why = "no champion yet"
    if store_exists(config):
        registry = make_registry(config)
        champion = registry.champion()
        if champion is not None:
            found = champion_reference(registry, champion)
            if found is not None:
                return found
            why = f"champion v{champion.version} logged no training-data reference"
    return project_reference(data, why=why)


def with_current_batch(evidence: Evidence, data: DataBundle) -> Evidence:
    """``evidence`` with the configured batch (``drift.current``) and its reference; unchanged when none is set.

    The batch is read first: a missing file or a missing feature is a one-line DataError (exit 2) before the
    registry is read.
    """
    config = evidence.config
    current = config.drift.current
    if current is None:
        return evidence
    prepared = evidence.prepared
    tested = set(config.drift.columns or prepared.features)
    numeric = [c for c in prepared.numeric if c in tested]
    categorical = [c for c in prepared.categorical if c in tested]
    batch = load_batch(config, current, numeric=numeric, categorical=categorical)
    return dataclasses.replace(evidence, current=batch, drift_reference=drift_reference(config, data))


def batch_section(evidence: Evidence) -> dict[str, Any]:
    """The report's ``run.data.current``: what was compared with what (the batch, its cleaning, the reference)."""
    batch, reference = evidence.current, evidence.drift_reference
    assert batch is not None and reference is not None  # with_current_batch sets both
    return {
        "source": batch.source,
        **batch.changes,
        "labelled": batch.has_labels,
        "reference": reference.description,
        "reference_rows": len(reference.frame),
        "champion_version": reference.champion_version,
    }
