"""The monitor's checks on what was served: logged inputs against the committed schema, input and prediction drift
against the model's reference, sensitive-group shares against the declared reference.

Each reuses the gated run's function, so a served window is judged by the rule that gated the model:
:func:`checks.schema.validate` (the committed pandera schema, limited to the model's features: the target is never
logged), :func:`checks.drift.compare` (same tests, correction and effect floors; only alpha is the window's
family share, :func:`checks.monitor.family_alpha`; the categorical features against the exact category counts of
every training row) and :func:`checks.balance.group_share_checks` (simultaneous Wilson intervals, at the family's
confidence). Fewer than ``monitor.min_predictions`` predictions: SKIPPED, "too small to judge", never a pass.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from mlgate.checks.balance import group_share_checks
from mlgate.checks.drift import category_text, compare
from mlgate.checks.monitor import MonitorEvidence, family_alpha
from mlgate.checks.result import CheckResult, Reason, Status
from mlgate.pipeline.config import DriftSettings
from mlgate.pipeline.slices import group_labels

__all__ = [
    "as_categories",
    "check_balance",
    "check_input_drift",
    "check_input_schema",
    "check_prediction_drift",
    "too_few",
]


def too_few(evidence: MonitorEvidence, rows: pd.DataFrame, check_id: str, layer: str, what: str) -> CheckResult | None:
    """A SKIPPED result when ``rows`` holds fewer than ``monitor.min_predictions`` predictions, else None."""
    needed = evidence.config.monitor.min_predictions
    if len(rows) >= needed:
        return None
    empty = rows.empty
    return CheckResult(
        check_id,
        layer,
        Status.SKIPPED,
        f"{what}: {'no predictions in the window' if empty else f'too small to judge ({len(rows)} predictions'}"
        f"{'' if empty else f', monitor.min_predictions = {needed})'}; not judged, never a pass",
        observed=len(rows),
        expected=f">= {needed} predictions",
        reason=Reason.NO_ROWS if empty else Reason.TOO_SMALL,
    )


def check_input_schema(evidence: MonitorEvidence, rows: pd.DataFrame) -> list[CheckResult]:
    """``monitor.input_schema[<column>]``: the logged inputs against the committed schema (model features only)."""
    from mlgate.checks.schema import validate

    if rows.empty:
        return [
            CheckResult(
                "monitor.input_schema",
                "schema",
                Status.SKIPPED,
                "input schema: no predictions in the window; not judged, never a pass",
                reason=Reason.NO_ROWS,
            )
        ]
    schema = evidence.schema
    if schema is None:
        return [
            CheckResult(
                "monitor.input_schema",
                "schema",
                Status.SKIPPED,
                "no committed schema was given: the logged inputs are not validated",
                reason=Reason.NOT_CONFIGURED,
            )
        ]
    features = list(evidence.reference.features)
    schema = schema.remove_columns([str(c) for c in schema.columns if str(c) not in features])
    frame = rows[[c for c in features if c in rows.columns]]
    source = f"the logged inputs ({evidence.window.url_redacted}, {evidence.window_label})"
    results = validate(frame.reset_index(drop=True), schema, source=source, schema_file=evidence.config.schema_file)
    renamed = []
    for result in results:
        suffix = result.id.split("[", 1)[1] if "[" in result.id else None
        renamed.append(replace(result, id="monitor.input_schema" + (f"[{suffix}" if suffix else "")))
    return renamed


def as_categories(frame: pd.DataFrame, categorical: list[str]) -> pd.DataFrame:
    """``frame`` with each categorical column as :func:`checks.drift.category_text` gives it: a text column's
    distinct values are converted once each (a million logged rows hold a few dozen categories), any other column
    value by value, as the drift gate does."""
    out = {}
    for column in categorical:
        if column not in frame.columns:
            continue
        values = frame[column]
        if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
            codes, uniques = pd.factorize(values)
            texts = np.array([*category_text(pd.Series(uniques, dtype=object)).tolist(), np.nan], dtype=object)
            out[column] = pd.Series(texts[codes], index=values.index, dtype=object)
        else:
            out[column] = category_text(values)
    return frame.assign(**out)


def _settings(evidence: MonitorEvidence) -> DriftSettings:
    return evidence.config.drift.model_copy(update={"alpha": family_alpha(evidence.config)})


def check_input_drift(evidence: MonitorEvidence, rows: pd.DataFrame) -> list[CheckResult]:
    """``monitor.input_drift[<feature>]`` (the reference's training rows vs the window), then the prediction drift."""
    reference, config = evidence.reference, evidence.config
    tested = set(config.drift.columns or reference.features)
    numeric = [c for c in reference.numeric if c in tested]
    categorical = [c for c in reference.categorical if c in tested]
    results: list[CheckResult] = []
    for column in [*numeric, *categorical]:
        skipped = too_few(evidence, rows, f"monitor.input_drift[{column}]", "drift", f"feature '{column}'")
        if skipped is not None:
            results.append(skipped)
    if not results and len(reference.rows) == 0:
        results = [
            CheckResult(
                f"monitor.input_drift[{column}]",
                "drift",
                Status.SKIPPED,
                f"feature '{column}': {reference.description} holds no training rows (drift.log_reference = false "
                "when it was registered): input drift not judged",
                reason=Reason.NOT_CONFIGURED,
            )
            for column in [*numeric, *categorical]
        ]
    if not results:
        sample = (
            f" (a seeded sample of {len(reference.rows):,} of {reference.rows_total:,} rows; categories: exact counts)"
            if reference.sampled
            else ""
        )
        results = compare(
            as_categories(reference.rows, categorical),
            as_categories(rows, categorical),
            numeric=numeric,
            categorical=categorical,
            settings=_settings(evidence),
            id_prefix="monitor.input_drift",
            label=f"served traffic vs {reference.description}{sample}",
            reference_counts=reference.category_counts,
        )
    return [*results, check_prediction_drift(evidence, rows)]


def check_prediction_drift(evidence: MonitorEvidence, rows: pd.DataFrame) -> CheckResult:
    """``monitor.prediction_drift``: the served positive-class probabilities vs the test split's (KS, floor, alpha)."""
    skipped = too_few(evidence, rows, "monitor.prediction_drift", "drift", "served scores")
    if skipped is not None:
        return skipped
    reference = evidence.reference
    served = pd.to_numeric(rows["proba"], errors="coerce")
    served = served.where(served.between(0.0, 1.0))  # NaN/inf scores are the numerics check's failure
    (result,) = compare(
        pd.DataFrame({"score": reference.test_proba}),
        pd.DataFrame({"score": served.to_numpy()}),
        numeric=["score"],
        categorical=[],
        settings=_settings(evidence),
        id_prefix="monitor.prediction_drift",
        label=f"served scores vs the test-split scores of {reference.description}",
    )
    return replace(result, id="monitor.prediction_drift")


def check_balance(evidence: MonitorEvidence, rows: pd.DataFrame) -> list[CheckResult]:
    """``monitor.balance[<column>=<group>]``: each declared sensitive group's share of the served traffic."""
    settings = evidence.config.balance
    confidence = 1.0 - family_alpha(evidence.config)
    results: list[CheckResult] = []
    for attribute in settings.sensitive:
        column = attribute.column
        skipped = too_few(evidence, rows, f"monitor.balance[{column}]", "balance", f"group shares of '{column}'")
        if skipped is not None:
            results.append(skipped)
            continue
        if column not in rows.columns:
            results.append(
                CheckResult(
                    f"monitor.balance[{column}]",
                    "balance",
                    Status.SKIPPED,
                    f"balance.sensitive names '{column}', which is not a logged input (not a model feature): the "
                    "served traffic cannot be judged on it",
                    reason=Reason.NOT_CONFIGURED,
                )
            )
            continue
        judged = group_share_checks(
            group_labels(rows, attribute), attribute, confidence=confidence, split="served traffic"
        )
        for result in judged:
            kind = "balance_missing" if result.id.startswith("balance.sensitive_missing") else "balance"
            key = result.id.rsplit("[", 1)[1]
            results.append(replace(result, id=f"monitor.{kind}[{key}"))
    return results
