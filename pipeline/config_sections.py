"""The sections of the project config (``[data]``, ``[model]``, ``[quality]``, ...), one pydantic model each.

Split from :mod:`pipeline.config`, which assembles them into :class:`~pipeline.config.ProjectConfig`, loads the
file and re-exports every name here, so callers keep importing from ``mlgate.pipeline.config``. The range and
consistency rules the models apply live in :mod:`pipeline.config_rules`. Light on purpose: pydantic only, no
pandas, no scikit-learn; nothing happens at import time.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mlgate.pipeline.config_rules import (
    Columns,
    Delimiter,
    Encoding,
    Label,
    OpenUnit,
    Probability,
    Seed,
    Text,
    WaiverPattern,
    check_bands,
    check_features,
    check_finite,
    refuse,
)

__all__ = [
    "BalanceSettings",
    "CurrentSource",
    "DataSettings",
    "DriftSettings",
    "FeatureSettings",
    "IntegritySettings",
    "MlflowSettings",
    "ModelSettings",
    "ReleaseSettings",
    "ReproducibilitySettings",
    "SearchSettings",
    "SensitiveAttribute",
    "SliceSettings",
    "SplitSettings",
    "StalenessSettings",
    "Waiver",
]


class _Strict(BaseModel):
    """Every section forbids unknown keys, so a typo is an error, not a silently ignored setting; and no number
    anywhere may be NaN or ±inf (``allow_inf_nan``, inherited by every section and nested field): a NaN bound
    compares false with everything, so it would silently disable the check it configures."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class _Source(_Strict):
    """Where rows are read from: a CSV or Parquet file, or an SQLAlchemy URL with its query.

    The fields and rules ``[data]`` and ``[drift.current]`` share, so both resolve a source the same way.
    """

    source: Text = Field(description="Path to a CSV or Parquet file, or an SQLAlchemy URL (with `query`).")
    format: Literal["auto", "csv", "parquet", "sql"] = "auto"
    query: str | None = Field(None, description="SQL query; required when `source` is an SQLAlchemy URL.")
    query_timeout_s: Annotated[float, Field(gt=0, le=86_400)] = Field(
        300.0, description="Limit for the SQL query (PostgreSQL statement_timeout, SQLite progress handler)."
    )

    @model_validator(mode="after")
    def _sql_needs_query(self) -> Self:
        if self.resolved_format == "sql" and not self.query:
            raise ValueError("`query` is required when `source` is an SQLAlchemy URL")
        return self

    @property
    def resolved_format(self) -> str:
        """``format``, or when ``auto``: ``sql`` for a URL, ``parquet`` for ``.parquet``/``.pq``, else ``csv``."""
        if self.format != "auto":
            return self.format
        if "://" in self.source:
            return "sql"
        suffix = Path(self.source).suffix.lower()
        return "parquet" if suffix in {".parquet", ".pq"} else "csv"


class DataSettings(_Source):
    """Where the data comes from and what the label is."""

    delimiter: Delimiter = ","
    encoding: Encoding = "utf-8"
    target: Text
    positive_label: Label | None = Field(
        None, description="The label value of the positive class: required for a binary target, refused otherwise."
    )
    missing_values: list[str] = Field(default_factory=list, description="Sentinel strings meaning missing.")
    drop_duplicates: bool = Field(False, description="Drop duplicate rows (default: keep them and report them).")
    duplicates_warn_share: Probability = Field(0.01, description="schema.duplicate_rows warns above this share.")
    duplicates_fail_share: Probability | None = Field(None, description="... and fails above this one (None: never).")
    event_time_column: Text | None = None
    weight_column: Text | None = Field(None, description="Sample weights: not supported; any value is refused.")
    engine: Literal["pandas", "spark"] = Field(
        "pandas", description="Where the data side runs: this process (pandas) or Spark ([spark] section)."
    )

    @model_validator(mode="after")
    def _duplicate_bounds(self) -> DataSettings:
        fail = self.duplicates_fail_share
        if fail is not None and fail < self.duplicates_warn_share:
            raise refuse(
                "duplicates_fail_share",
                f"{fail} is below data.duplicates_warn_share ({self.duplicates_warn_share}): the fail bound must "
                "be at least the warn bound",
            )
        return self

    @model_validator(mode="after")
    def _no_weights(self) -> DataSettings:
        """Sample weights would have to reach balance shares, metrics, the bootstrap and training alike; a
        weight honoured by some and ignored by others gives a verdict about neither population, so it is refused."""
        if self.weight_column is not None:
            raise refuse(
                "weight_column",
                f"sample weights are not supported by mlgate: balance shares, metrics and training would all "
                f"ignore '{self.weight_column}'; remove the key, and list '{self.weight_column}' in "
                "features.exclude so the weight never becomes a feature",
            )
        return self


class FeatureSettings(_Strict):
    """Which columns feed the model. `include` lists them; or `exclude` means "all but"."""

    include: Columns | None = None
    exclude: Columns = Field(default_factory=list)
    categorical: Columns | None = Field(None, description="Override the dtype-based guess.")
    numeric: Columns | None = Field(None, description="Override the dtype-based guess.")
    deny: Columns = Field(default_factory=list, description="Columns that must never be model inputs.")
    allow: Columns | None = Field(None, description="When given, the only columns that may be model inputs.")

    @model_validator(mode="after")
    def _one_way(self) -> FeatureSettings:
        if self.include is not None and self.exclude:
            raise ValueError("give either `include` or `exclude`, not both")
        check_features(self)
        if clash := [name for name in self.deny if name in (self.allow or [])]:
            raise refuse("deny", f"'{clash[0]}' is also in features.allow: a column is denied or allowed, not both")
        return self


class SplitSettings(_Strict):
    test_size: OpenUnit = 0.25
    validation_size: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.2
    stratify: bool = True
    random_state: Seed = 42
    by: Literal["random", "time"] = Field(
        "random", description='"time": the most recent rows (data.event_time_column) are the test split.'
    )
    method: Literal["auto", "shuffle", "row_key"] = Field(
        "auto",
        description='How a random split picks rows: "shuffle" (scikit-learn\'s train_test_split), "row_key" (a '
        "seeded key per row: the same rows on the pandas and the Spark engine); auto: shuffle on pandas, row_key "
        "on Spark.",
    )


class SearchSettings(_Strict):
    """Optional seeded randomised hyperparameter search on the training split."""

    enabled: bool = False
    n_iter: Annotated[int, Field(ge=1)] = 10
    cv: Annotated[int, Field(ge=2)] = 3
    scoring: Text | None = Field(
        None,
        description="A scikit-learn scorer name; default per task (roc_auc, neg_log_loss, neg_mean_squared_error).",
    )
    param_distributions: dict[str, list[Any]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _candidates(self) -> SearchSettings:
        for name, values in self.param_distributions.items():
            if not values:
                raise refuse(f"param_distributions.{name}", "has no candidate values")
        check_finite(self.param_distributions, "param_distributions")
        return self


class ModelSettings(_Strict):
    """The task and the estimator: a short name (see ``pipeline.train.ESTIMATORS``) or a dotted class path."""

    task: Literal["auto", "binary", "multiclass", "regression"] = Field(
        "auto", description="What the target is; auto: inferred from its values (pipeline.target.infer_task)."
    )
    estimator: Text = "hist_gradient_boosting"
    params: dict[str, Any] = Field(default_factory=dict)
    random_state: Seed = 42
    search: SearchSettings = SearchSettings()
    require_search: bool = Field(False, description="Fail reproducibility.search when no seeded search ran.")

    @model_validator(mode="after")
    def _finite_params(self) -> ModelSettings:
        check_finite(self.params, "params")
        return self


class SensitiveAttribute(_Strict):
    """A sensitive attribute and the share of each group expected in the data.

    A numeric column (e.g. age) is judged in bands: give `bins` (edges) and optionally `labels`. The outer edges
    may be open (`-inf` first, `inf` last); every other edge is finite.
    """

    column: Text
    reference: dict[str, Probability]
    tolerance: Probability = 0.05
    bins: list[Annotated[float, Field(allow_inf_nan=True)]] | None = None
    labels: Columns | None = None

    @model_validator(mode="after")
    def _check(self) -> SensitiveAttribute:
        total = sum(self.reference.values())
        if abs(total - 1.0) > 0.01:
            raise ValueError(f"reference shares of '{self.column}' sum to {total:.3f}, expected 1.0")
        if self.bins is not None:
            check_bands(self.column, self.bins, self.labels, self.reference)
        return self


class BalanceSettings(_Strict):
    min_minority_share: Probability = 0.2
    confidence: OpenUnit = 0.95
    class_reference: dict[str, Probability] | None = Field(
        None, description="Multi-class: each class's expected share (the label, as text -> share)."
    )
    class_tolerance: Probability = 0.05
    sensitive: list[SensitiveAttribute] = Field(default_factory=list)

    @model_validator(mode="after")
    def _once_each(self) -> BalanceSettings:
        columns = [attribute.column for attribute in self.sensitive]
        for index, column in enumerate(columns):
            if column in columns[:index]:
                raise refuse(f"sensitive[{index}].column", f"'{column}' is declared twice in balance.sensitive")
        return self


class CurrentSource(_Source):
    """A new batch the drift gate compares with the champion's training data (``[drift.current]``).

    Read like ``[data]`` (same delimiter, encoding, sentinels); a bare string is the ``source``.
    """

    @model_validator(mode="before")
    @classmethod
    def _bare_source(cls, value: Any) -> Any:
        return {"source": value} if isinstance(value, str) else value


class DriftSettings(_Strict):
    """Per-feature two-sample tests with an effect-size floor and a multiple-testing correction."""

    alpha: OpenUnit = 0.05
    correction: Literal["holm", "bh", "none"] = "holm"
    numeric_effect_floor: Probability = 0.1
    categorical_effect_floor: Probability = 0.1
    columns: Columns | None = Field(None, description="Default: every feature.")
    blocking: bool = True
    label: bool = Field(True, description="Test the target column too (label drift), as a categorical column.")
    label_effect_floor: Probability | None = Field(None, description="TVD floor of the label; default: categorical.")
    current: CurrentSource | None = Field(None, description="A new batch to compare with the champion's data.")
    log_reference: bool = Field(True, description="Log the training rows (features + target) with each candidate.")
    reference_max_rows: Annotated[int, Field(ge=100, le=10_000_000)] = 100_000

    @field_validator("columns")
    @classmethod
    def _not_empty(cls, value: list[str] | None) -> list[str] | None:
        if value == []:
            raise ValueError("is empty: list the features to test, or leave it out to test every feature")
        return value


class SliceSettings(_Strict):
    columns: Columns = Field(default_factory=list)
    min_size: Annotated[int, Field(ge=1)] = 30


class IntegritySettings(_Strict):
    """Bounds of the schema layer's leak and identifier checks (checks/integrity.py): WARN unless `blocking`."""

    leak_auc: Annotated[float, Field(ge=0.5, le=1.0)] = 0.95
    identifier_share: Annotated[float, Field(gt=0.0, le=1.0)] = 0.95
    blocking: bool = False


class ReproducibilitySettings(_Strict):
    enabled: bool = True
    tolerance: Annotated[float, Field(ge=0.0)] = 0.0
    retrain_timeout_s: Annotated[float, Field(gt=0, le=86_400)] = Field(
        600.0, description="Limit for the fresh-process retrain."
    )


class StalenessSettings(_Strict):
    warn_age_days: Annotated[float, Field(gt=0)] = 30
    max_age_days: Annotated[float, Field(gt=0)] = 90
    max_data_change: Probability = 0.05
    max_event_lag_days: Annotated[float, Field(gt=0)] | None = None

    @model_validator(mode="after")
    def _warn_before_fail(self) -> StalenessSettings:
        if self.warn_age_days > self.max_age_days:
            raise refuse(
                "warn_age_days",
                f"{self.warn_age_days:g} is above staleness.max_age_days = {self.max_age_days:g}: "
                "the warning would come after the failure",
            )
        return self


class Waiver(_Strict):
    check: WaiverPattern
    slice: Text | None = None
    reason: Text
    owner: Text
    expires: date


class MlflowSettings(_Strict):
    tracking_uri: Text = "sqlite:///mlruns/mlflow.db"
    registry_uri: str | None = None
    experiment: Text = "mlgate"
    model_name: str = "mlgate-model"
    artifact_location: str | None = "mlruns/artifacts"


class ReleaseSettings(_Strict):
    image_repository: str = "127.0.0.1:5000/mlgate-serve"
    registry: Literal["local", "external"] = "local"
    replicas: Annotated[int, Field(ge=1, le=8)] = 2
    canary_share: Probability = 0.1
    port: Annotated[int, Field(ge=1024, le=65535)] = 8080
