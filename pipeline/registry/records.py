"""The registry's own records (versions, promotions) and its small MLflow helpers (mlflow imported inside functions).

The records other layers read, :class:`pipeline.records.LoggedModel` and :class:`pipeline.records.ChampionRecord`,
live in :mod:`pipeline.records`. See :mod:`pipeline.registry` for the adapter and its crash-safety design.
"""

from __future__ import annotations

import logging
import os
import socket
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from urllib.parse import urlparse

from mlgate.pipeline.errors import RegistryError
from mlgate.pipeline.redact import redact_text, redact_url

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "PromotionRecord",
    "VersionRecord",
    "check_reachable",
    "first_line",
    "is_not_found",
    "pip_requirements",
    "quiet_mlflow",
    "use_tracking_uri",
    "utc_from_ms",
]

CHAMPION, CHALLENGER = "champion", "challenger"
_PIP_PACKAGES = ("scikit-learn", "skops", "numpy", "scipy", "pandas")


@dataclass(frozen=True)
class VersionRecord:
    version: str
    run_id: str
    registered_at: datetime
    aliases: tuple[str, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def is_champion(self) -> bool:
        return CHAMPION in self.aliases


@dataclass(frozen=True)
class PromotionRecord:
    name: str
    version: str
    previous: str | None
    promoted_at: datetime
    gate_report_sha256: str


def utc_from_ms(ms: int | None) -> datetime:
    return datetime.fromtimestamp((ms or 0) / 1000, tz=UTC)


def first_line(exc: BaseException, limit: int = 300) -> str:
    text = str(getattr(exc, "message", None) or exc).strip().splitlines()
    line = redact_text(text[0]) if text else type(exc).__name__  # a driver's message may quote a URL
    return line if len(line) <= limit else line[: limit - 3] + "..."


def pip_requirements() -> list[str]:
    pins = []
    for name in _PIP_PACKAGES:
        try:
            pins.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            pins.append(name)
    return pins


@contextmanager
def quiet_mlflow() -> Iterator[None]:
    """MLflow at WARNING (its environment probe at ERROR) and its known SQLAlchemy deprecation hidden."""
    loggers = {"mlflow": logging.WARNING, "mlflow.utils.environment": logging.ERROR, "alembic": logging.WARNING}
    saved = {name: logging.getLogger(name).level for name in loggers}
    for name, level in loggers.items():
        logging.getLogger(name).setLevel(level)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The ``noload`` loader strategy", category=DeprecationWarning)
            warnings.filterwarnings("ignore", message=r".*Any type hint is inferred as AnyType", category=UserWarning)
            warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer", category=UserWarning)
            # mlflow's input-example code compares a pandas 3 str index with a range:
            warnings.filterwarnings("ignore", message="Operation with range is deprecated", category=DeprecationWarning)
            yield
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


@contextmanager
def use_tracking_uri(uri: str) -> Iterator[None]:
    """Some MLflow calls only speak to the global tracking URI: set it for the call, then restore it exactly."""
    import mlflow
    from mlflow.tracking._tracking_service import utils as tracking_utils

    saved, saved_env = tracking_utils._tracking_uri, os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(saved)  # type: ignore[arg-type]  # None restores MLflow's default; its hint omits it
        if saved_env is not None:
            os.environ["MLFLOW_TRACKING_URI"] = saved_env


def is_not_found(exc: BaseException) -> bool:
    return getattr(exc, "error_code", None) == "RESOURCE_DOES_NOT_EXIST"


def check_reachable(uri: str) -> None:
    """Fail fast with a clear message when an http tracking server refuses connections.

    (A sqlite store is checked, and created only by a run, in :func:`pipeline.registry.store.prepare_sqlite_store`.)
    """
    parsed = urlparse(uri)
    if parsed.scheme in {"http", "https"}:
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        try:
            socket.create_connection((parsed.hostname or "localhost", port), timeout=3).close()
        except OSError as exc:
            raise RegistryError(
                f"the MLflow tracking server {redact_url(uri)} is unreachable ({exc.strerror or exc}); "
                "start it or set MLGATE_TRACKING_URI / mlflow.tracking_uri"
            ) from exc
