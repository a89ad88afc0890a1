"""Errors mlgate raises on purpose, and where each one ends up.

Hierarchy (module in brackets when the class lives elsewhere for layering reasons: serving imports no training
code, ``pipeline`` never imports ``ci``)::

    MlgateError                   every error mlgate raises on purpose; carries an exit code            (exit 2)
    ├── ConfigError               the project config is missing, unreadable or invalid                  (exit 2)
    ├── DataError                 a data source is missing, unreadable or unusable                      (exit 2)
    │   ├── SchemaFileError       the committed schema file is missing or invalid                       (exit 2)
    │   │   └── SchemaTranslationError  [mlgate.pipeline.serve.models] the schema cannot become request
    │   │                         models (unknown dtype or check, missing feature)                      (exit 2)
    │   └── MonitorReferenceError [mlgate.pipeline.monitor_reference] a model's monitoring reference
    │                             (monitor/) is missing, unreadable or does not match its sha256        (exit 2)
    ├── OutputError               an output folder or file (--out, a report) cannot be written          (exit 2)
    ├── TrainingError             the configured estimator could not be built or fitted                 (exit 2)
    ├── ArtifactError             [mlgate.pipeline.artifact] a model file cannot be written or loaded: unsigned,
    │                             untrusted type, hash mismatch, unreadable                             (exit 2)
    ├── SigningError              [mlgate.pipeline.signing] a signing key is missing or unusable, or a signature
    │                             is missing, untrusted or wrong                                        (exit 2)
    ├── BundleError               [mlgate.pipeline.serve.loader] a release bundle is incomplete, unreadable or
    │                             does not match its recorded hash                                      (exit 2)
    ├── PredictionLogError        [mlgate.pipeline.predlog.tables] the prediction log cannot be opened or read:
    │                             no such folder or file, an unreachable database, not a log, another
    │                             schema version                                                        (exit 2)
    ├── DeepchecksEnvError        [mlgate.ci.deepchecks_env] deepchecks' isolated environment is missing or
    │                             broken, or its runner failed                                          (exit 2)
    ├── EngineError               [mlgate.pipeline.spark.session] the Spark engine cannot start: no PySpark,
    │   │                         no Java runtime, an unreachable master, no executor                   (exit 2)
    │   └── ClusterError          [mlgate.ci.spark_cluster] a standalone Spark master or worker on this
    │                             machine did not start                                                 (exit 2)
    ├── RegistryError             the MLflow tracking store or registry refused an operation            (exit 3)
    │   └── StoreBusyError        another mlgate command holds the store lock (--lock-timeout)          (exit 3)
    │       └── RetrainBusyError  [mlgate.ci.retrain_lock] another mlgate retrain holds the project's
    │                             retrain lock (never waited for)                                       (exit 3)
    └── ReleaseError              [mlgate.ci.release.errors] building, pushing, running or deploying the
        │                         serving image failed                                                  (exit 1)
        ├── ReleaseRefused        [mlgate.ci.release.errors] the gate report did not pass or does not match    (exit 1)
        ├── ParityError           [mlgate.ci.release.errors] served probabilities differ from offline ones     (exit 1)
        └── RolloutFailed         [mlgate.ci.release.errors] a new replica never became ready; rolled back     (exit 1)

An ``ArtifactError`` or ``SigningError`` about a model read from the MLflow store is re-raised as a
``RegistryError`` (exit 3): the store holds something mlgate refuses to load. The same errors about a release
bundle become a ``BundleError`` (exit 2).

Exceptions that never reach a user as themselves (not MlgateError)::

    KeyProblem                    [mlgate.pipeline.schema_checks] one bad key of a schema file; re-raised as a
                                  SchemaFileError naming the file                                       (exit 2)
    SplitError                    [mlgate.pipeline.shuffle_split] sizes or classes that cannot be split;
                                  re-raised as a DataError naming the data and the split keys        (exit 2)
    BodyRejected                  [mlgate.pipeline.serve.body] a refused request body; the serving app answers
                                  it with its status and detail                      (HTTP 400/413/415/422)
    UnsupportedPipeline           [mlgate.pipeline.serve.array_path] a pipeline the array path cannot
                                  compile; the app serves the scikit-learn path and names it on /model (HTTP 200)
    GateCheckFailed               [mlgate.ci.pytest_plugin] a blocking check, as a failed pytest item          (exit 1)
    JobError                      [mlgate.ci.deepchecks.job] an unusable deepchecks job file; the runner (in
                                  deepchecks' own environment) prints it on one line                   (exit 2)

A user never sees a traceback for these: the command line prints ``str(error)`` on one line and exits
with ``error.exit_code``. Third-party errors are wrapped with ``raise XError(...) from exc``.
``tests/unit/test_error_tree.py`` fails when a class the package defines is missing here or its exit code
differs.
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
