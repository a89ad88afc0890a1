"""The project config: one TOML file (``mlgate.toml``) describing the gated project.

Loaded once with :func:`load_config`, validated with pydantic, and then passed around as an immutable
:class:`ProjectConfig`. Relative paths in the file are resolved against the file's own folder, so a
config works from any working directory. Nothing happens at import time. The section models live in
:mod:`pipeline.config_sections` and are re-exported here, so every section is imported from this module.
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from pathlib import Path

from pydantic import ConfigDict, Field, ValidationError, field_validator, model_validator

from mlgate.pipeline.config_deepchecks import DeepchecksSettings
from mlgate.pipeline.config_monitor import MonitorSettings, PredictionLogSettings
from mlgate.pipeline.config_quality import CostMatrix, MetricBound, QualitySettings
from mlgate.pipeline.config_retrain import RetrainSettings
from mlgate.pipeline.config_rules import Text, check_project, error_lines
from mlgate.pipeline.config_sections import (
    BalanceSettings,
    DataSettings,
    DriftSettings,
    FeatureSettings,
    IntegritySettings,
    MlflowSettings,
    ModelSettings,
    ReleaseSettings,
    ReproducibilitySettings,
    SearchSettings,
    SensitiveAttribute,
    SliceSettings,
    SplitSettings,
    StalenessSettings,
    Waiver,
    _Strict,
)
from mlgate.pipeline.config_spark import SparkSettings
from mlgate.pipeline.errors import ConfigError

__all__ = [
    "BalanceSettings",
    "CostMatrix",
    "DataSettings",
    "DeepchecksSettings",
    "DriftSettings",
    "FeatureSettings",
    "IntegritySettings",
    "MetricBound",
    "MlflowSettings",
    "ModelSettings",
    "MonitorSettings",
    "PredictionLogSettings",
    "ProjectConfig",
    "QualitySettings",
    "ReleaseSettings",
    "ReproducibilitySettings",
    "RetrainSettings",
    "SearchSettings",
    "SensitiveAttribute",
    "SliceSettings",
    "SparkSettings",
    "SplitSettings",
    "StalenessSettings",
    "Waiver",
    "load_config",
]


class ProjectConfig(_Strict):
    """The whole project config; `path` is where it was loaded from (set by :func:`load_config`)."""

    name: str = "mlgate-project"
    data: DataSettings
    schema_file: Text = Field("schema.yaml", alias="schema", description="The committed pandera schema.")
    features: FeatureSettings = FeatureSettings()
    split: SplitSettings = SplitSettings()
    model: ModelSettings = ModelSettings()
    balance: BalanceSettings = BalanceSettings()
    drift: DriftSettings = DriftSettings()
    slices: SliceSettings = SliceSettings()
    quality: QualitySettings = QualitySettings()
    integrity: IntegritySettings = IntegritySettings()
    reproducibility: ReproducibilitySettings = ReproducibilitySettings()
    staleness: StalenessSettings = StalenessSettings()
    waivers: list[Waiver] = Field(default_factory=list)
    mlflow: MlflowSettings = MlflowSettings()
    release: ReleaseSettings = ReleaseSettings()
    monitor: MonitorSettings = MonitorSettings()
    retrain: RetrainSettings = RetrainSettings()
    deepchecks: DeepchecksSettings = DeepchecksSettings()
    spark: SparkSettings = SparkSettings()

    # Set by load_config, not by the file.
    path: Path | None = Field(None, exclude=True)
    sha256: str = Field("", exclude=True)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ProjectConfig:
        check_project(self)
        return self

    @property
    def root(self) -> Path:
        """The folder relative paths are resolved against."""
        return self.path.parent if self.path is not None else Path.cwd()

    def resolve(self, relative: str | Path) -> Path:
        candidate = Path(relative).expanduser()
        return candidate if candidate.is_absolute() else (self.root / candidate)

    @property
    def schema_path(self) -> Path:
        return self.resolve(self.schema_file)

    def resolve_uri(self, uri: str) -> str:
        """Make a relative ``sqlite:///relative/path`` absolute against the config folder."""
        prefix = "sqlite:///"
        if uri.startswith(prefix) and not uri.startswith(prefix + "/"):
            return prefix + str(self.resolve(uri[len(prefix) :]))
        return uri

    @property
    def tracking_uri(self) -> str:
        """`mlflow.tracking_uri`, unless the environment variable MLGATE_TRACKING_URI overrides it (CI, teams)."""
        return self.resolve_uri(os.environ.get("MLGATE_TRACKING_URI") or self.mlflow.tracking_uri)

    @property
    def registry_uri(self) -> str:
        override = os.environ.get("MLGATE_REGISTRY_URI") or os.environ.get("MLGATE_TRACKING_URI")
        return self.resolve_uri(override or self.mlflow.registry_uri or self.mlflow.tracking_uri)

    @property
    def data_source(self) -> str:
        """The data source with relative file paths and sqlite URLs resolved."""
        if self.data.resolved_format == "sql":
            return self.resolve_uri(self.data.source)
        return str(self.resolve(self.data.source))


def _first_error(path: Path, exc: ValidationError) -> ConfigError:
    lines = error_lines(exc)
    more = f" (+{len(lines) - 1} more)" if len(lines) > 1 else ""
    return ConfigError(f"{path}: {lines[0]}{more}")


def load_config(path: str | Path) -> ProjectConfig:
    """Read and validate a project config; every problem becomes a one-line :class:`ConfigError`."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: config file not found") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc.strerror})") from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: config file is not UTF-8 text") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    for forbidden in ("path", "sha256"):
        if forbidden in data:
            raise ConfigError(f"{path}: unknown key '{forbidden}'")
    try:
        config = ProjectConfig.model_validate(data)
    except ValidationError as exc:
        raise _first_error(path, exc) from exc
    return config.model_copy(update={"path": path.resolve(), "sha256": hashlib.sha256(raw).hexdigest()})
