"""The MLflow store behind the registry adapter: its client, opened once, and MLflow's errors as one line.

:class:`MlflowStore` is what :class:`pipeline.registry.Registry` (one model name: log, promote, read) and
:class:`pipeline.registry.RunReader` (one run by id, for ``mlgate reproduce``) share: nothing is opened until a
method needs it, a missing or unfinished sqlite store is never created by a reader
(:mod:`pipeline.registry.store`), and any exception from MLflow, SQLAlchemy or the OS becomes one
:class:`RegistryError` line with every URL credential redacted.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from mlgate.pipeline.errors import MlgateError, RegistryError
from mlgate.pipeline.redact import redact_text, redact_url, url_secrets
from mlgate.pipeline.registry.records import check_reachable, first_line, quiet_mlflow
from mlgate.pipeline.registry.store import prepare_sqlite_store

if TYPE_CHECKING:
    from mlflow import MlflowClient

__all__ = ["MODEL_DIR", "MODEL_FILE", "MlflowStore"]

#: Where a run keeps the model in mlgate's artifact format (:mod:`pipeline.artifact`).
MODEL_DIR, MODEL_FILE = "mlgate_model", "model.skops"


class MlflowStore:
    """A tracking store and its model registry. Cheap to build: nothing is opened until a method needs it."""

    def __init__(self, tracking_uri: str, registry_uri: str | None = None, *, artifact_location: str | None = None):
        self.tracking_uri, self.registry_uri = tracking_uri, registry_uri or tracking_uri
        self.artifact_location = artifact_location
        self._cached_client: MlflowClient | None = None

    def _failure(self, action: str) -> str:
        """The start of the one-line error for a failed ``action`` (subclasses name what they act on)."""
        return f"{action} at {redact_url(self.tracking_uri)} failed"

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Quieten MLflow and turn its (and SQLAlchemy's, and the OS's) errors into one-line RegistryErrors."""
        with quiet_mlflow():
            try:
                yield
            except MlgateError:
                raise
            except Exception as exc:
                secrets = url_secrets(self.tracking_uri) + url_secrets(self.registry_uri)
                raise RegistryError(
                    redact_text(f"{self._failure(action)}: {type(exc).__name__}: {first_line(exc)}", secrets)
                ) from exc

    @property
    def client(self) -> MlflowClient:
        """The MLflow client on an existing, complete store: reading never creates a store (see :meth:`open`)."""
        return self.open()

    def open(self, *, create: bool = False) -> MlflowClient:
        """Check the store(s), then open the MLflow client (once).

        A missing or unfinished sqlite store raises RegistryError ("no MLflow store at <path>; run `mlgate run`
        first") unless ``create``: only logging a candidate creates one, atomically (:mod:`pipeline.registry.store`).
        """
        if self._cached_client is None:
            for uri in dict.fromkeys((self.tracking_uri, self.registry_uri)):
                check_reachable(uri)
            with self._errors("opening the MLflow store"):
                for uri in dict.fromkeys((self.tracking_uri, self.registry_uri)):
                    prepare_sqlite_store(uri, create=create, artifact_root=self.artifact_location)
                from mlflow import MlflowClient

                self._cached_client = MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.registry_uri)
        return self._cached_client
