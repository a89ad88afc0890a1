"""The reproducibility gate layer: the candidate can be rebuilt, reloaded and traced back to its inputs.

Checks (ids):

- ``reproducibility.retrain_data``: a retrain in a FRESH PROCESS (``python -m pipeline.retrain``, started by
  the gated run and carried in ``Evidence.retrain``; this module only judges it) read data with the same
  fingerprint as the gated run;
- ``reproducibility.retrain_predictions``: its test-set probabilities equal the candidate's: exactly
  (``np.array_equal``) when ``reproducibility.tolerance`` is 0, else every row within the tolerance
  (inclusive); the result says which rule was applied;
- ``reproducibility.retrain_metrics``: its test metrics and decision threshold equal the candidate's under the
  same rule;
- ``reproducibility.artifact_roundtrip``: the saved model file, loaded back the way serving loads it
  (:func:`pipeline.artifact.load_model` with its sha256 and explicit trusted types), predicts exactly the
  candidate's test probabilities (always exact: the same fitted model in the same process);
- ``reproducibility.provenance``: the run recorded the data fingerprint, config sha256, uv.lock sha256 (FAIL
  when missing) and git commit (WARN when missing or dirty);
- ``reproducibility.search`` (the served parameters came from the seeded search; required by
  ``model.require_search``) and ``reproducibility.dependencies`` (uv.lock and packages against the
  champion's): :mod:`checks.reproducibility_env`.

The child runs with a different native thread count than this process (1 if this one runs more, else 2;
``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS``), so a result that depends on the thread
count is caught as well as an estimator that ignores its seed.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from mlgate.checks.evidence import Evidence
from mlgate.checks.reproducibility_env import check_dependencies, check_search
from mlgate.checks.result import CheckResult, Reason, Status
from mlgate.pipeline.records import LoggedModel, RetrainOutput, RunMeta

__all__ = [
    "LAYER",
    "check_artifact_roundtrip",
    "check_provenance",
    "compare_metrics",
    "compare_predictions",
    "compare_retrain",
    "run",
]

LAYER = "reproducibility"
_FIX_SEED = (
    "make training deterministic: give every random component a fixed seed (model.random_state) and avoid "
    "estimators whose result depends on the thread count, or set reproducibility.tolerance"
)


def _rule(tolerance: float) -> str:
    return "exact (np.array_equal)" if tolerance == 0 else f"within tolerance {tolerance:g} (|difference| <= tol)"


def _rows(indices: np.ndarray, limit: int = 5) -> str:
    shown = ", ".join(str(int(i)) for i in indices[:limit])
    return shown + (", ..." if len(indices) > limit else "")


def compare_predictions(
    expected: np.ndarray,
    observed: np.ndarray,
    *,
    tolerance: float,
    check_id: str = f"{LAYER}.retrain_predictions",
    what: str = "the fresh-process retrain",
    fix: str = _FIX_SEED,
    details: Mapping[str, Any] | None = None,
    reason: Reason = Reason.NOT_REPRODUCIBLE,
) -> CheckResult:
    """Compare two probability vectors row by row: exact when ``tolerance`` is 0, else ``|a - b| <= tolerance``.

    ``reason`` is what differing rows mean (``not_reproducible``; ``artifact_mismatch`` for a saved model); a
    different number of rows means the test split changed (``data_changed``).
    """
    expected = np.asarray(expected, dtype=np.float64)
    observed = np.asarray(observed, dtype=np.float64)
    info = {"rule": _rule(tolerance), "tolerance": tolerance, "n": len(expected), **(details or {})}
    if expected.shape != observed.shape:
        return CheckResult(
            id=check_id,
            layer=LAYER,
            status=Status.FAIL,
            message=(
                f"{what} predicted {len(observed)} test rows, the candidate {len(expected)}: "
                "the test split differs (data or split settings changed)"
            ),
            observed=len(observed),
            expected=len(expected),
            details=info,
            reason=Reason.DATA_CHANGED,
        )
    difference = np.abs(expected - observed)
    both_nan = np.isnan(expected) & np.isnan(observed)
    close = (expected == observed) if tolerance == 0 else (difference <= tolerance)
    differs = ~(close | both_nan)
    if differs.ndim == 2:  # a multi-class model: a row differs when any class's probability does
        differs = differs.any(axis=1)
    finite = difference[np.isfinite(difference)]
    max_diff = float(finite.max()) if finite.size else 0.0
    n_diff = int(differs.sum())
    info = {**info, "rows_differing": n_diff, "max_abs_difference": max_diff}
    if n_diff == 0:
        return CheckResult(
            id=check_id,
            layer=LAYER,
            status=Status.PASS,
            message=f"{what} gives the same {len(expected)} test predictions ({_rule(tolerance)}; max |diff| "
            f"{max_diff:.3g})",
            observed=max_diff,
            expected=tolerance,
            details=info,
        )
    return CheckResult(
        id=check_id,
        layer=LAYER,
        status=Status.FAIL,
        message=(
            f"{what} is not reproducible: {n_diff} of {len(expected)} test predictions differ "
            f"(max |diff| {max_diff:.3g}; expected {_rule(tolerance)}); first rows: "
            f"{_rows(np.flatnonzero(differs))}. Fix: {fix}"
        ),
        observed=max_diff,
        expected=tolerance,
        details={**info, "first_rows": np.flatnonzero(differs)[:20].tolist()},
        reason=reason,
    )


_MISSING = "(missing)"


def _show(value: float | str | None) -> str:
    return value if value == _MISSING else repr(value)


def _metric_differs(a: float | None, b: float | None, tolerance: float) -> bool:
    if a is None or b is None:
        return (a is None) != (b is None)
    return abs(a - b) > tolerance if tolerance > 0 else a != b


def compare_metrics(
    expected: Mapping[str, float | None],
    observed: Mapping[str, float | None],
    *,
    tolerance: float,
    check_id: str = f"{LAYER}.retrain_metrics",
    what: str = "the fresh-process retrain",
    fix: str = _FIX_SEED,
    details: Mapping[str, Any] | None = None,
) -> CheckResult:
    """Compare metric dicts (the decision threshold may be one of them): same names, same values."""
    differing: dict[str, dict[str, float | str | None]] = {}
    for name in sorted(set(expected) | set(observed)):
        if name not in expected or name not in observed or _metric_differs(expected[name], observed[name], tolerance):
            differing[name] = {"expected": expected.get(name, _MISSING), "observed": observed.get(name, _MISSING)}
    info = {"rule": _rule(tolerance), "tolerance": tolerance, "differing": differing, **(details or {})}
    if differing:
        shown = "; ".join(
            f"{name}: expected {_show(v['expected'])}, got {_show(v['observed'])}" for name, v in differing.items()
        )
        status, reason = Status.FAIL, Reason.NOT_REPRODUCIBLE
        message = f"{what} gives different metrics ({_rule(tolerance)}): {shown}. Fix: {fix}"
    else:
        status, reason = Status.PASS, None
        message = f"{what} gives the same metrics ({', '.join(sorted(expected))}; {_rule(tolerance)})"
    return CheckResult(
        id=check_id,
        layer=LAYER,
        status=status,
        message=message,
        observed=dict(observed),
        expected=dict(expected),
        details=info,
        reason=reason,
    )


def _candidate_metrics(evidence: Evidence) -> dict[str, float | None]:
    assert evidence.model is not None
    metrics: dict[str, float | None] = {}
    for name, value in evidence.model.evaluation.overall.items():
        metrics[name] = None if value is None or not np.isfinite(float(value)) else float(value)
    metrics["threshold"] = float(evidence.model.threshold)
    return metrics


def compare_retrain(evidence: Evidence, retrained: RetrainOutput, *, parent_threads: int) -> list[CheckResult]:
    """The three retrain checks, given what the fresh process produced."""
    assert evidence.model is not None
    tolerance = evidence.config.reproducibility.tolerance
    what = f"the fresh-process retrain ({max(retrained.threads.values(), default=0)} vs {parent_threads} threads)"
    details = {"child_threads": retrained.threads, "parent_threads": parent_threads}
    expected_fp, observed_fp = evidence.dataset.fingerprint, retrained.data_fingerprint
    if expected_fp == observed_fp:
        data = CheckResult(
            id=f"{LAYER}.retrain_data",
            layer=LAYER,
            status=Status.PASS,
            message=f"the retrain read the same data (fingerprint {observed_fp[:12]})",
            observed=observed_fp,
            expected=expected_fp,
        )
    else:
        data = CheckResult(
            id=f"{LAYER}.retrain_data",
            layer=LAYER,
            status=Status.FAIL,
            message=(
                f"the retrain read different data: fingerprint {observed_fp[:12]}, the gated run's {expected_fp[:12]}; "
                f"the data source {evidence.dataset.source} changed during the run or is not a fixed snapshot"
            ),
            observed=observed_fp,
            expected=expected_fp,
            reason=Reason.DATA_CHANGED,
        )
    metrics = {**retrained.metrics, "threshold": retrained.threshold}
    return [
        data,
        compare_predictions(
            evidence.model.proba_test, retrained.proba_test, tolerance=tolerance, what=what, details=details
        ),
        compare_metrics(_candidate_metrics(evidence), metrics, tolerance=tolerance, what=what, details=details),
    ]


def _skipped(check_id: str, message: str, reason: Reason) -> CheckResult:
    return CheckResult(id=check_id, layer=LAYER, status=Status.SKIPPED, message=message, reason=reason)


def _retrain_checks(evidence: Evidence) -> list[CheckResult]:
    ids = [f"{LAYER}.retrain_data", f"{LAYER}.retrain_predictions", f"{LAYER}.retrain_metrics"]
    config = evidence.config
    if evidence.model is None:
        why = "no candidate model in this run (data gates only): nothing to retrain"
        return [_skipped(i, why, Reason.NO_CANDIDATE) for i in ids]
    if config.path is None:
        why = "the config was not loaded from a file, so a fresh process cannot read it"
        return [_skipped(i, why, Reason.NO_CONFIG_FILE) for i in ids]
    outcome = evidence.retrain
    error: str | None
    if outcome is None:  # the gated run launches it (pipeline.retrain.start_retrain) whenever this layer runs
        error = "no fresh-process retrain in the evidence (the gated run starts one when this layer runs)"
    else:
        error = outcome.error
    if outcome is None or outcome.output is None:
        return [
            CheckResult(
                id=i,
                layer=LAYER,
                status=Status.ERROR,
                message=f"cannot check reproducibility: {error}",
                reason=Reason.RETRAIN_FAILED,
            )
            for i in ids
        ]
    return compare_retrain(evidence, outcome.output, parent_threads=outcome.parent_threads)


def check_artifact_roundtrip(evidence: Evidence, artifact: LoggedModel | None = None) -> CheckResult:
    """Load the saved model the way serving does and compare its test predictions with the candidate's, exactly."""
    check_id = f"{LAYER}.artifact_roundtrip"
    artifact = artifact or evidence.artifact
    if evidence.model is None or artifact is None:
        return CheckResult(
            id=check_id,
            layer=LAYER,
            status=Status.SKIPPED,
            message="no saved model in this run (data gates only): nothing to load back",
            reason=Reason.NO_CANDIDATE,
        )
    from mlgate.pipeline.artifact import load_model
    from mlgate.pipeline.evaluate import model_scores

    path = Path(artifact.local_path)
    try:
        # the sha256 comes from the registry record (verified against its signature when it was downloaded);
        # the types skops may build come from mlgate's own allow-list, never from the file
        model = load_model(path, expected_sha256=artifact.sha256)
    except Exception as exc:  # a tampered file, an untrusted type, a missing file: all mean "cannot serve it"
        return CheckResult(
            id=check_id,
            layer=LAYER,
            status=Status.FAIL,
            message=f"the saved model {path} cannot be loaded the way serving loads it: {type(exc).__name__}: {exc}",
            expected=artifact.sha256,
            details={"model_uri": artifact.model_uri},
            reason=Reason.ARTIFACT_UNLOADABLE,
        )
    proba = model_scores(model, evidence.test_frame[evidence.prepared.features], evidence.prepared.task)
    return compare_predictions(
        evidence.model.proba_test,
        proba,
        tolerance=0.0,
        check_id=check_id,
        what=f"the saved model {path.name} loaded back ({artifact.model_uri})",
        fix="the saved file does not hold the fitted model the gates judged; check pipeline.artifact.save_model",
        details={"model_uri": artifact.model_uri, "sha256": artifact.sha256},
        reason=Reason.ARTIFACT_MISMATCH,
    )


#: What a run must record to be reproducible: (RunMeta field, the report key it is written as, what it is).
REQUIRED_PROVENANCE = (
    ("data_fingerprint", "data.fingerprint", "data fingerprint"),
    ("config_sha256", "config_sha256", "config sha256"),
    ("lock_sha256", "environment.lock_sha256", "locked environment (uv.lock sha256)"),
)


def check_provenance(run: RunMeta | None) -> CheckResult:
    """The run records its data fingerprint, config sha256, uv.lock sha256 (FAIL) and git commit (WARN)."""
    check_id = f"{LAYER}.provenance"
    fields = (*REQUIRED_PROVENANCE, ("git_commit", "git_commit", "git commit"))
    recorded = {key: None if run is None else getattr(run, name) for name, key, _ in fields}
    missing = [f"{label} ('{key}')" for _, key, label in REQUIRED_PROVENANCE if not recorded[key]]
    if missing:
        return CheckResult(
            id=check_id,
            layer=LAYER,
            status=Status.FAIL,
            message=(
                f"the run does not record what is needed to reproduce it: missing {', '.join(missing)}; "
                "run through the gated run (ci.gated_run), from a project with a uv.lock"
            ),
            observed=recorded,
            expected=[key for _, key, _ in REQUIRED_PROVENANCE],
            reason=Reason.PROVENANCE_MISSING,
        )
    commit = recorded["git_commit"]
    if not commit:
        return CheckResult(
            id=check_id,
            layer=LAYER,
            status=Status.WARN,
            message="no git commit recorded (not a git checkout?): the code that trained the model is not traceable",
            observed=recorded,
            reason=Reason.PROVENANCE_MISSING,
        )
    if str(commit).endswith("-dirty"):
        return CheckResult(
            id=check_id,
            layer=LAYER,
            status=Status.WARN,
            message=f"git commit {commit}: uncommitted changes were present, so the code is not exactly traceable; "
            "commit before a release run",
            observed=recorded,
            reason=Reason.UNCOMMITTED_CHANGES,
        )
    return CheckResult(
        id=check_id,
        layer=LAYER,
        status=Status.PASS,
        message=f"the run records data fingerprint, config sha256, uv.lock sha256 and git commit {commit}",
        observed=recorded,
    )


def run(evidence: Evidence) -> list[CheckResult]:
    if not evidence.config.reproducibility.enabled:
        return [
            CheckResult(
                id=f"{LAYER}.disabled",
                layer=LAYER,
                status=Status.SKIPPED,
                message="reproducibility.enabled = false in the config: the layer was not run",
                reason=Reason.DISABLED,
            )
        ]
    return [
        *_retrain_checks(evidence),
        check_artifact_roundtrip(evidence),
        check_provenance(evidence.run),
        check_search(evidence),
        check_dependencies(evidence),
    ]
