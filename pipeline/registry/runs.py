"""One past run read back by id, for ``mlgate reproduce``: its tags, metrics, logged config and signed model.

:class:`RunReader` is the registry adapter's read-only view of a single run when no model name is known (the run
id is all ``reproduce`` gets). It shares :class:`pipeline.registry.base.MlflowStore` with the
:class:`pipeline.registry.Registry`: the same store checks (a reader never creates a store), the same one-line
errors with credentials redacted, and the same rule that a model is deserialised only after its signature
verified for exactly the downloaded bytes and this run.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgate.pipeline.errors import MlgateError, RegistryError
from mlgate.pipeline.registry.base import MODEL_DIR, MODEL_FILE, MlflowStore
from mlgate.pipeline.tags import Tag

if TYPE_CHECKING:
    from mlflow import MlflowClient

__all__ = ["RunReader", "RunRecord"]

#: Run folders that hold no config file (models, reports): not searched for ``*.toml``.
_SKIP_DIRS = {MODEL_DIR, "model", "reports"}


@dataclass(frozen=True)
class RunRecord:
    """A run's tags and its logged metrics (name -> last value)."""

    run_id: str
    tags: dict[str, str]
    metrics: dict[str, float]

    def tag(self, tag: Tag) -> str | None:
        return self.tags.get(tag)


def _artifact_files(client: MlflowClient, run_id: str, folder: str | None = None) -> list[str]:
    files: list[str] = []
    for item in client.list_artifacts(run_id, folder):
        if item.is_dir:
            if item.path.split("/")[-1] not in _SKIP_DIRS:
                files += _artifact_files(client, run_id, item.path)
        else:
            files.append(item.path)
    return files


class RunReader(MlflowStore):
    """Read-only access to runs by id (``reproduce``): nothing is created, logged or moved."""

    def read(self, run_id: str) -> RunRecord:
        with self._errors(f"reading run {run_id}"):
            run = self.client.get_run(run_id)
        return RunRecord(run_id=run_id, tags=dict(run.data.tags), metrics=dict(run.data.metrics))

    def download_config(self, run: RunRecord, dest: Path) -> tuple[Path, str]:
        """The run's logged config file and its sha256: the one matching the run's ``mlgate.config_sha256`` tag
        when several ``*.toml`` files are logged (else the first). MlgateError when the run logged none."""
        expected = run.tag(Tag.CONFIG_SHA256)
        with self._errors(f"reading run {run.run_id}"):
            candidates = [path for path in _artifact_files(self.client, run.run_id) if path.endswith(".toml")]
            if not candidates:
                raise MlgateError(
                    f"run {run.run_id} has no logged config file (*.toml artifact): it cannot be reproduced"
                )
            fallback: tuple[Path, str] | None = None
            for index, artifact in enumerate(candidates):
                local = Path(self.client.download_artifacts(run.run_id, artifact, dst_path=str(dest / str(index))))
                sha = hashlib.sha256(local.read_bytes()).hexdigest()
                if expected is None or sha == expected:
                    return local, sha
                fallback = fallback or (local, sha)
        assert fallback is not None  # candidates is not empty
        return fallback

    def load_model(self, run: RunRecord, dest: Path) -> Any:
        """The run's model (``mlgate_model/model.skops``), loaded only after its signature verified with a trusted
        key for this run and these bytes; RegistryError (exit 3) if it is unsigned, altered or foreign."""
        from mlgate.pipeline.artifact import ArtifactError
        from mlgate.pipeline.artifact import load_model as load_artifact

        seal = run.tag(Tag.MODEL_SIGNATURE)
        if not seal:
            raise RegistryError(
                f"run {run.run_id} has no {Tag.MODEL_SIGNATURE} tag: its model was logged by an mlgate older than "
                "model signing (or not by mlgate) and an unsigned model is never loaded; re-run `mlgate run` to log "
                "a signed one"
            )
        with self._errors(f"reading run {run.run_id}"):
            folder = Path(self.client.download_artifacts(run.run_id, MODEL_DIR, dst_path=str(dest)))
        try:
            return load_artifact(folder / MODEL_FILE, seal=seal, run_id=run.run_id, name=f"{MODEL_DIR}/{MODEL_FILE}")
        except ArtifactError as exc:
            raise RegistryError(f"run {run.run_id}: {exc}; refusing to load it") from exc
