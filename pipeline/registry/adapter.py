"""The registry adapter for one model name, :class:`Registry`: log a candidate, promote, roll back, read.

The design (one run per candidate, signed models, aliases as state, crash safety) is described in
:mod:`pipeline.registry`.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgate.pipeline.artifact import ArtifactError, file_sha256, load_meta, meta_path, save_model, seal_path
from mlgate.pipeline.artifact import load_model as load_artifact
from mlgate.pipeline.errors import RegistryError
from mlgate.pipeline.records import ChampionRecord, LoggedModel
from mlgate.pipeline.redact import redact_url
from mlgate.pipeline.registry.base import MODEL_DIR, MODEL_FILE, MlflowStore
from mlgate.pipeline.registry.logging_steps import abandon, ensure_registered_model, log_run, log_sklearn
from mlgate.pipeline.registry.records import (
    CHALLENGER,
    CHAMPION,
    PromotionRecord,
    VersionRecord,
    is_not_found,
    use_tracking_uri,
    utc_from_ms,
)
from mlgate.pipeline.registry.store import check_artifact_location, check_pinned_location
from mlgate.pipeline.tags import Tag

if TYPE_CHECKING:
    import pandas as pd
    from mlflow.entities.model_registry import ModelVersion

    from mlgate.pipeline.config import ProjectConfig

__all__ = ["Registry"]


def _run_of(found: ModelVersion) -> str:
    """The run that logged a version; a version without one was not registered by mlgate (a gated run always logs
    one), and nothing of it is loaded."""
    if not found.run_id:
        raise RegistryError(
            f"version {found.version} of '{found.name}' has no source run: it was not registered by mlgate; "
            "delete the alias that points to it in MLflow and re-run `mlgate run`"
        )
    return found.run_id


class Registry(MlflowStore):
    """Tracking + registry for one model name. Cheap to build: nothing is opened until a method needs it."""

    def __init__(
        self,
        tracking_uri: str,
        registry_uri: str | None = None,
        *,
        experiment: str,
        model_name: str,
        artifact_location: str | None = None,
    ) -> None:
        if not model_name or "'" in model_name:
            raise RegistryError(f"model name {model_name!r} is not usable: give a non-empty name without quotes")
        super().__init__(tracking_uri, registry_uri, artifact_location=artifact_location)
        self.experiment, self.model_name = experiment, model_name

    @classmethod
    def from_config(cls, config: ProjectConfig) -> Registry:
        location = config.mlflow.artifact_location
        if location is not None and "://" not in location:
            location = config.resolve(location).resolve().as_uri()
        return cls(
            config.tracking_uri,
            config.registry_uri,
            experiment=config.mlflow.experiment,
            model_name=config.mlflow.model_name,
            artifact_location=location,
        )

    def _failure(self, action: str) -> str:
        return f"{action} failed for model '{self.model_name}' at {redact_url(self.tracking_uri)}"

    def _experiment_id(self) -> str:
        """The experiment's id, created (pinned to ``artifact_location``) when missing; an existing experiment
        pinned to another location than the configured one is refused (ConfigError) rather than logged to."""
        from mlflow.exceptions import MlflowException

        found = self.client.get_experiment_by_name(self.experiment)
        if found is None:
            try:
                return self.client.create_experiment(self.experiment, artifact_location=self.artifact_location)
            except MlflowException as exc:  # created by another process in between
                if getattr(exc, "error_code", None) != "RESOURCE_ALREADY_EXISTS":
                    raise
                found = self.client.get_experiment_by_name(self.experiment)
                if found is None:
                    raise
        check_pinned_location(self.experiment, found.artifact_location, self.artifact_location)
        return found.experiment_id

    def _alias(self, alias: str) -> ModelVersion | None:
        """The version ``alias`` points to; None when the alias or the registered model does not exist."""
        from mlflow.exceptions import MlflowException

        try:  # (get_model_version_by_alias reports a missing alias as INVALID_PARAMETER_VALUE: ambiguous)
            target = (self.client.get_registered_model(self.model_name).aliases or {}).get(alias)
        except MlflowException as exc:
            if is_not_found(exc):
                return None
            raise
        return None if target is None else self.client.get_model_version(self.model_name, str(target))

    def _version(self, version_or_alias: str) -> ModelVersion:
        from mlflow.exceptions import MlflowException

        key = str(version_or_alias)
        if not key.isdigit():
            found = self._alias(key)
            if found is None:
                raise RegistryError(f"model '{self.model_name}' has no version with alias '{key}'")
            return found
        try:
            return self.client.get_model_version(self.model_name, key)
        except MlflowException as exc:
            if is_not_found(exc):
                raise RegistryError(f"model '{self.model_name}' has no version {key}") from exc
            raise

    def _download(self, found: ModelVersion, dest: Path) -> tuple[Path, str, str]:
        """Download the version's mlgate_model folder into ``dest`` and verify its signature before any use.

        Returns (model path, its verified sha256, the seal's JSON text). The seal must be made by a trusted key
        and name this run, this model name and the downloaded model and meta files' sha256.
        """
        from mlgate.pipeline.signing import SigningError, trusted_keys, verify_seal

        where = f"version {found.version} of '{self.model_name}'"
        seal = found.tags.get(Tag.MODEL_SIGNATURE)
        if not seal:
            raise RegistryError(
                f"{where} is not signed (no {Tag.MODEL_SIGNATURE} tag): it was registered by an mlgate older than "
                "model signing or outside mlgate, and an unsigned model is never loaded; delete the alias that points "
                "to it in MLflow (or use a new store) and re-run `mlgate run` to register a signed model"
            )
        keys = trusted_keys()  # a missing or unusable key file: SigningError, exit 2
        try:  # key, signature, run and model name first; then the downloaded bytes against the signed statement
            statement = verify_seal(seal, keys=keys, source=where, run_id=found.run_id, model_name=self.model_name)
        except SigningError as exc:
            raise RegistryError(f"{exc}; refusing to load the model") from exc
        folder = Path(self.client.download_artifacts(_run_of(found), MODEL_DIR, dst_path=str(dest)))
        path = folder / MODEL_FILE
        for file, field in ((path, "model_sha256"), (meta_path(path), "meta_sha256")):
            observed = file_sha256(file) if file.is_file() else "(missing)"
            if observed != statement.get(field):
                raise RegistryError(
                    f"{where}: downloaded {file.name} has sha256 {observed}, the registry recorded "
                    f"{statement.get(field)} (signed); the artifact store was changed, refusing to load the model"
                )
        return path, statement["model_sha256"], seal

    # -- logging a candidate --------------------------------------------------------------------------------

    def log_candidate(
        self,
        *,
        model: Any,
        params: Mapping[str, Any],
        metrics: Mapping[str, float | None],
        tags: Mapping[str, str],
        artifacts: Mapping[str, Path],
        model_meta: Mapping[str, Any],
        input_example: pd.DataFrame | None = None,
        workdir: Path | None = None,
    ) -> LoggedModel:
        """Log one run, register its model as a new version with alias ``challenger``; all or nothing.

        ``artifacts`` maps a run folder to a file (``{"config": mlgate.toml, "environment": uv.lock}``) or to a
        folder whose files it holds (``{"monitor": staged monitor/}``).
        ``model_meta`` goes to :func:`pipeline.artifact.save_model` (features, numeric, categorical, threshold,
        positive_label). The model is downloaded back into ``workdir`` (default: a new temporary folder).
        """
        missing = [f"{key}: {path}" for key, path in artifacts.items() if not Path(path).exists()]
        if missing:
            raise RegistryError(f"cannot log the candidate: artifact file {missing[0]} not found")
        if self.artifact_location is not None:  # a config problem: refused before any store, experiment or run
            check_artifact_location(self.artifact_location)
        workdir = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="mlgate-candidate-"))
        from mlgate.pipeline.signing import load_signing_key, seal_text, sign_model

        staged = workdir / "staged" / MODEL_FILE
        sha = save_model(model, staged, **dict(model_meta))  # refuses untrusted types before anything is logged
        trusted = list(load_meta(staged)["trusted_types"])  # for MLflow's own sklearn flavour
        key = load_signing_key(create=True)  # an unusable key is a one-line error before anything is logged
        with self._errors("creating the candidate run"):
            self.open(create=True)  # the first run creates the store (atomically)
            run_id = self.client.create_run(self._experiment_id(), tags={**tags, Tag.MODEL_SHA256: sha}).info.run_id
        seal = seal_text(
            sign_model(
                sha, meta_sha256=file_sha256(meta_path(staged)), model_name=self.model_name, run_id=run_id, key=key
            )
        )
        registered: str | None = None
        try:
            with self._errors(f"logging the candidate (run {run_id})"):
                self.client.set_tag(run_id, Tag.MODEL_SIGNATURE, seal)
                log_run(self.client, run_id, params, metrics, artifacts, staged.parent)
                # MLflow resolves models:/m-... through the GLOBAL tracking URI (a TODO in its sqlalchemy store).
                with use_tracking_uri(self.tracking_uri):
                    mlflow_uri, model_id = log_sklearn(run_id, model, trusted, input_example)
                    ensure_registered_model(self.client, self.model_name)
                    created = self.client.create_model_version(
                        self.model_name,
                        mlflow_uri,
                        run_id=run_id,
                        tags={**tags, Tag.MODEL_SHA256: sha, Tag.MODEL_SIGNATURE: seal},
                        model_id=model_id,
                    )
                registered = str(created.version)
                self.client.set_registered_model_alias(self.model_name, CHALLENGER, registered)
                local, _, _ = self._download(created, workdir / "downloaded")  # verifies the signed round trip
                self.client.set_terminated(run_id, "FINISHED")
        except BaseException as exc:
            cleanup = abandon(self.client, self.model_name, run_id, registered)
            if not isinstance(exc, RegistryError):
                raise  # KeyboardInterrupt, SystemExit: cleaned up, then let it through
            raise RegistryError(f"{exc} ({cleanup})") from exc.__cause__ or exc
        return LoggedModel(
            run_id=run_id,
            version=registered,
            model_uri=f"models:/{self.model_name}/{registered}",
            sha256=sha,
            local_path=local,
            mlflow_model_uri=mlflow_uri,
        )

    def log_artifacts(self, run_id: str, files: Mapping[str, Path], *, folder: str = "reports") -> None:
        """Add files to a run after the gates ran (``{"report.json": path}``: the key is the file's name under
        ``folder``, maybe with subfolders: ``deepchecks/data_integrity.html``)."""
        with self._errors(f"logging {len(files)} files to run {run_id}"), tempfile.TemporaryDirectory() as scratch:
            for name, path in files.items():  # staged in one folder, uploaded in one call
                target = Path(scratch) / name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
            self.client.log_artifacts(run_id, scratch, artifact_path=folder)

    def download_artifact(self, run_id: str, path: str, dest: Path) -> Path:
        """One run artifact (a file or a folder, e.g. ``data/row_hashes.npy``) downloaded into ``dest``."""
        with self._errors(f"downloading artifact {path} of run {run_id}"):
            Path(dest).mkdir(parents=True, exist_ok=True)
            return Path(self.client.download_artifacts(run_id, path, dst_path=str(dest)))

    def find_artifact(self, run_id: str, path: str, dest: Path) -> Path | None:
        """Like :meth:`download_artifact` for one file, but None when the run did not log it (an older run)."""
        folder, _, _name = path.rpartition("/")
        with self._errors(f"listing artifacts {folder or '/'} of run {run_id}"):
            logged = {item.path for item in self.client.list_artifacts(run_id, folder or None)}
        return self.download_artifact(run_id, path, dest) if path in logged else None

    def set_run_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        from mlflow.entities import RunTag

        with self._errors(f"tagging run {run_id}"):
            self.client.log_batch(run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()], synchronous=True)

    def set_version_tags(self, version: str, tags: Mapping[str, str]) -> None:
        with self._errors(f"tagging version {version}"):
            for key, value in tags.items():
                self.client.set_model_version_tag(self.model_name, str(version), key, str(value))

    # -- reading --------------------------------------------------------------------------------------------

    def champion(self) -> ChampionRecord | None:
        """The version holding ``champion``, or None when there is none (or no registered model yet)."""
        with self._errors("reading the champion"):
            found = self._alias(CHAMPION)
            if found is None:
                return None
            run = self.client.get_run(_run_of(found))
        return ChampionRecord(
            name=self.model_name,
            version=str(found.version),
            run_id=_run_of(found),
            trained_at=utc_from_ms(run.info.start_time),
            registered_at=utc_from_ms(found.creation_timestamp),
            model_uri=f"models:/{self.model_name}/{found.version}",
            sha256=found.tags.get(Tag.MODEL_SHA256),
            tags={**run.data.tags, **found.tags},  # the version's tags win over the run's
        )

    def history(self) -> list[VersionRecord]:
        """Every version, newest first, with its aliases and tags (for ``mlgate status``)."""
        from mlflow.exceptions import MlflowException

        with self._errors("listing versions"):
            try:
                aliases = dict(self.client.get_registered_model(self.model_name).aliases or {})
            except MlflowException as exc:
                if is_not_found(exc):
                    return []
                raise
            found = self.client.search_model_versions(f"name = '{self.model_name}'")
            records = [
                VersionRecord(
                    version=str(v.version),
                    run_id=v.run_id or "",
                    registered_at=utc_from_ms(v.creation_timestamp),
                    aliases=tuple(sorted(a for a, target in aliases.items() if str(target) == str(v.version))),
                    tags=dict(v.tags),
                )
                for v in found
            ]
        return sorted(records, key=lambda r: int(r.version), reverse=True)

    def load_model(self, version_or_alias: str) -> Any:
        """The pipeline loaded back the way serving loads it: signature verified, then skops with the allow-list."""
        with self._errors(f"loading version {version_or_alias}"), tempfile.TemporaryDirectory() as scratch:
            found = self._version(version_or_alias)
            path, sha, _ = self._download(found, Path(scratch))
            try:
                return load_artifact(path, expected_sha256=sha, name=f"{MODEL_DIR}/{MODEL_FILE}")  # sha: signed
            except ArtifactError as exc:
                raise RegistryError(f"version {found.version} of '{self.model_name}': {exc}") from exc

    def download_bundle(self, version_or_alias: str, dest: Path) -> Path:
        """Copy model.skops, model.meta.json and the verified signature (model.sig.json) of a version into
        ``dest``; return the model file's path."""
        dest = Path(dest)
        with self._errors(f"downloading version {version_or_alias}"), tempfile.TemporaryDirectory() as scratch:
            path, _, seal = self._download(self._version(version_or_alias), Path(scratch))
            dest.mkdir(parents=True, exist_ok=True)
            for source in (path, meta_path(path)):
                shutil.copy2(source, dest / source.name)
            seal_path(dest / MODEL_FILE).write_text(seal + "\n", encoding="utf-8")
        return dest / MODEL_FILE

    # -- promotion ------------------------------------------------------------------------------------------

    def promote(self, version: str, *, gate_report_sha256: str) -> PromotionRecord:
        """Move ``champion`` to ``version``; the alias move is the single commit point (see module docstring)."""
        version = str(version)
        with self._errors(f"promoting version {version}"):
            found = self._version(version)
            version = str(found.version)  # "challenger" -> its number
            current = self._alias(CHAMPION)
            previous = None if current is None else str(current.version)
            if previous == version:
                raise RegistryError(f"version {version} of '{self.model_name}' is already the champion")
            now = datetime.now(UTC)
            for key, value in (
                (Tag.PROMOTED_FROM, previous or "none"),
                (Tag.PROMOTED_AT, now.isoformat(timespec="seconds")),
                (Tag.GATE_REPORT_SHA256, gate_report_sha256),
            ):
                self.client.set_model_version_tag(self.model_name, version, key, value)
            if Tag.ROLLED_BACK_AT in found.tags:  # promoted again after a rollback: the old mark is stale
                self.client.delete_model_version_tag(self.model_name, version, Tag.ROLLED_BACK_AT)
            self.client.set_registered_model_alias(self.model_name, CHAMPION, version)  # the commit point
        return PromotionRecord(self.model_name, version, previous, now, gate_report_sha256)

    def rollback(self) -> tuple[str, str]:
        """Move ``champion`` back to the version it was promoted from; return (from_version, to_version)."""
        with self._errors("rolling back the champion"):
            current = self._alias(CHAMPION)
            if current is None:
                raise RegistryError(f"no previous champion to roll back to: '{self.model_name}' has no champion")
            demoted = str(current.version)
            target = current.tags.get(Tag.PROMOTED_FROM, "none")
            if target == "none":
                raise RegistryError(
                    f"no previous champion to roll back to: version {demoted} of '{self.model_name}' "
                    "was the first champion"
                )
            try:
                self._version(target)
            except RegistryError as exc:
                raise RegistryError(
                    f"no previous champion to roll back to: version {target} (champion before {demoted}) "
                    f"of '{self.model_name}' was deleted"
                ) from exc
            stamp = datetime.now(UTC).isoformat(timespec="seconds")
            self.client.set_model_version_tag(self.model_name, demoted, Tag.ROLLED_BACK_AT, stamp)
            self.client.set_registered_model_alias(self.model_name, CHAMPION, target)  # the commit point
        return demoted, target
