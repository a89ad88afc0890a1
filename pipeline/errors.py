"""Errors raised by the pipeline.

Hierarchy::

    MlgateError                 every error mlgate raises on purpose; carries an exit code
    ├── ConfigError             the project config is missing, unreadable or invalid       (exit 2)
    ├── DataError               a data source is missing, unreadable or unusable           (exit 2)
    │   └── SchemaFileError     the committed schema file is missing or invalid            (exit 2)
    ├── OutputError             an output folder or file (--out, a report) cannot be written (exit 2)
    ├── RegistryError           the MLflow tracking store or registry refused an operation (exit 3)
    │   └── StoreBusyError      another mlgate command holds the store lock (--lock-timeout) (exit 3)
    └── TrainingError           the configured estimator could not be built or fitted      (exit 2)

A user never sees a traceback for these: the command line prints ``str(error)`` on one line and exits
with ``error.exit_code``. Third-party errors are wrapped with ``raise XError(...) from exc``.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DataError",
    "MlgateError",
    "OutputError",
    "RegistryError",
    "SchemaFileError",
    "StoreBusyError",
    "TrainingError",
]


class MlgateError(Exception):
    """Base class: a known failure with a one-line message and an exit code."""

    exit_code: int = 2

    def __init__(self, message: str) -> None:
        # One line, always: the CLI prints it as is.
        super().__init__(" ".join(str(message).split()))


class ConfigError(MlgateError):
    """The project config is missing, unreadable, or fails validation."""


class DataError(MlgateError):
    """A data source is missing, unreadable, empty, or lacks a required column."""


class SchemaFileError(DataError):
    """The committed schema file is missing or cannot be parsed."""


class OutputError(MlgateError):
    """An output folder or file (the report folder given by --out) cannot be created or written."""


class TrainingError(MlgateError):
    """The configured estimator could not be built or fitted."""


class RegistryError(MlgateError):
    """The MLflow tracking store or model registry refused an operation."""

    exit_code = 3


class StoreBusyError(RegistryError):
    """Another mlgate command holds the lock of this store and model (see :mod:`pipeline.store_lock`)."""
