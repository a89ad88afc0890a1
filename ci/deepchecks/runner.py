"""Run deepchecks suites on exported frames and predictions; write a JSON result and one HTML report per suite.

Runs with the python of the isolated environment built from this folder's uv.lock, never mlgate's:

    <env>/bin/python ci/deepchecks/runner.py JOB.json

It imports only the standard library, numpy, pandas, pyarrow (through pandas) and deepchecks; job.py describes
the job file. Output: ``out/<suite>.html`` (deepchecks' own report) and ``out/result.json``::

    {"deepchecks_version", "import_seconds", "compat_patches",
     "suites": {suite: {"seconds", "html", "html_seconds", "peak_rss_mb", "skipped", "error", "warnings",
                        "checks": [{"check", "header", "dataset", "conditions": [{"name", "category", "details",
                                    "is_pass"}], "value", "reduced", "error", "not_applicable"}]}}}

``category`` is deepchecks' ConditionCategory (PASS, WARN, FAIL, ERROR). A check that raised has ``error`` and no
conditions; ``not_applicable`` marks the refusals that say the job lacks what the check needs (see
not_applicable). ``dataset`` is "train" or "test" for the single-dataset checks deepchecks runs on each frame,
else null. ``value`` is the check's value made JSON-safe (NaN and infinities as null), replaced by
``{"truncated": ..., "type": ..., "chars": ...}`` when it is larger than MAX_VALUE_CHARS; ``reduced`` is
deepchecks' own flat summary of it (``reduce_output``) where the check has one. model_evaluation runs only on
predictions (``skipped`` says why not). A suite that deepchecks could not start has ``error``. ``warnings``
counts what deepchecks and its stack warned or logged during the suite (kept off stdout and stderr).

Exit codes: 0 the result was written; 2 a bad job file (one line on stderr); 1 a crash of this script.
"""

from __future__ import annotations

import json
import logging
import math
import os
import resource
import sys
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING or __package__:  # imported as mlgate.ci.deepchecks.runner (type checks, mlgate's tests)
    from .job import Job, JobError, load_frames, load_predictions, parse_job  # noqa: TID251 (relative: mlgate.ci)
else:  # run as a script by the deepchecks environment's python: this folder is first on sys.path
    from job import Job, JobError, load_frames, load_predictions, parse_job

MAX_VALUE_CHARS = 20_000
MAX_WARNINGS = 20
# Set before deepchecks is imported: its import otherwise calls home for the latest version (3 s timeout) and
# writes a .user_id file into the environment.
QUIET_ENV = {"DISABLE_DEEPCHECKS_ANONYMOUS_TELEMETRY": "true", "DISABLE_LATEST_VERSION_CHECK": "true"}


def json_safe(value: Any) -> Any:
    """Builtin JSON types only: NaN and infinities become null, numpy scalars Python numbers, frames dicts."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, pd.DataFrame):
        return json_safe(value.to_dict(orient="split"))
    if isinstance(value, pd.Series):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_safe(v) for v in value]
    if hasattr(value, "data") and isinstance(value.data, pd.DataFrame):  # a pandas Styler
        return json_safe(value.data)
    return str(value)


def _value(value: Any) -> Any:
    safe = json_safe(value)
    chars = len(json.dumps(safe))
    if chars > MAX_VALUE_CHARS:
        return {"truncated": True, "type": type(value).__name__, "chars": chars}
    return safe


def _dataset(header: str) -> str | None:
    for kind in ("train", "test"):
        if header.endswith(f" - {kind.title()} Dataset"):
            return kind
    return None


def check_entry(result: Any) -> dict[str, Any]:
    """One deepchecks CheckResult or CheckFailure as a JSON-safe record."""
    from deepchecks.core import CheckFailure  # type: ignore[import-not-found]
    from deepchecks.core.reduce_classes import ReduceMixin  # type: ignore[import-not-found]

    header = str(result.get_header() if hasattr(result, "get_header") else result.header)
    entry: dict[str, Any] = {"check": type(result.check).__name__, "header": header, "dataset": _dataset(header)}
    if isinstance(result, CheckFailure):
        exc = result.exception
        return {
            **entry,
            "conditions": [],
            "value": None,
            "reduced": None,
            "error": f"{type(exc).__name__}: {exc}",
            "not_applicable": not_applicable(exc),
        }
    reduced = None
    if isinstance(result.check, ReduceMixin):
        try:
            reduced = json_safe(result.reduce_output())
        except Exception as exc:  # a reduce that fails on this value is no reason to lose the check
            reduced = {"error": f"{type(exc).__name__}: {exc}"}
    conditions = [
        {"name": str(c.name), "category": c.category.value, "details": str(c.details), "is_pass": bool(c.is_pass())}
        for c in result.conditions_results
    ]
    return {
        **entry,
        "conditions": conditions,
        "value": _value(result.value),
        "reduced": reduced,
        "error": None,
        "not_applicable": False,
    }


def not_applicable(exc: BaseException) -> bool:
    """Whether deepchecks refused the check for what the job cannot give it rather than for a fault: no index or
    datetime column (DatasetValidationError), a model object or another task (ModelValidationError), the model's
    feature importance (UnusedFeatures without a model), fewer rows than the check's own minimum
    (NotEnoughSamplesError: OutlierSampleDetection on a 45-row test split)."""
    from deepchecks.core.errors import (  # type: ignore[import-not-found]
        DatasetValidationError,
        DeepchecksValueError,
        ModelValidationError,
        NotEnoughSamplesError,
    )

    if isinstance(exc, (DatasetValidationError, ModelValidationError, NotEnoughSamplesError)):
        return True
    return isinstance(exc, DeepchecksValueError) and "Feature Importance is not available" in str(exc)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"deepchecks log {record.levelname}: {record.getMessage()}")


def _warnings(caught: list[warnings.WarningMessage], logged: list[str]) -> list[str]:
    counts: dict[str, int] = {}
    for w in caught:
        key = f"{w.category.__name__}: {str(w.message).splitlines()[0][:300]}"
        counts[key] = counts.get(key, 0) + 1
    for message in logged:
        counts[message] = counts.get(message, 0) + 1
    return [f"{text} (x{n})" if n > 1 else text for text, n in list(counts.items())[:MAX_WARNINGS]]


def apply_conditions(check: Any, methods: dict[str, dict[str, Any]]) -> None:
    """Replace the check's conditions by exactly ``methods`` (add_condition_* name -> keyword arguments)."""
    from deepchecks.core.errors import DeepchecksValueError

    name = type(check).__name__
    check.clean_conditions()
    for method, kwargs in methods.items():
        key = f"conditions.{name}.{method}"
        add = getattr(check, method, None) if method.startswith("add_condition_") else None
        if not callable(add):
            has = sorted(m for m in dir(check) if m.startswith("add_condition_"))
            raise JobError(f"'{key}': not a condition of {name}; it has {has}")
        try:
            add(**kwargs)
        except (TypeError, ValueError, DeepchecksValueError) as exc:
            raise JobError(f"'{key}': deepchecks refuses {kwargs}: {type(exc).__name__}: {exc}") from exc


def build_suite(name: str, keep: tuple[str, ...] | None, conditions: dict[str, dict[str, dict[str, Any]]]) -> Any:
    """The suite with only the ``keep`` checks (default all), each check named in ``conditions`` holding exactly
    those conditions."""
    from deepchecks.tabular import Suite, suites  # type: ignore[import-not-found]

    suite = getattr(suites, name)()
    checks = list(suite.checks.values())
    available = [type(check).__name__ for check in checks]
    if keep is not None:
        if unknown := [c for c in keep if c not in available]:
            raise JobError(f"'checks.{name}': {unknown} not in the suite; it has {available}")
        checks = [check for check in checks if type(check).__name__ in keep]
    for check in checks:
        if type(check).__name__ in conditions:
            apply_conditions(check, conditions[type(check).__name__])
    return suite if keep is None else Suite(suite.name, *checks)


def datasets(job: Job, train: pd.DataFrame, test: pd.DataFrame) -> tuple[Any, Any]:
    """Fresh deepchecks Datasets of the two frames; JobError when deepchecks refuses them."""
    from deepchecks.tabular import Dataset

    kwargs: dict[str, Any] = {"label": job.label, "cat_features": list(job.cat_features), "label_type": job.task}
    if job.features is not None:
        kwargs["features"] = list(job.features)
    try:
        train_ds = Dataset(train.copy(), dataset_name="train", **kwargs)
        return train_ds, Dataset(test.copy(), dataset_name="test", **kwargs)
    except Exception as exc:
        raise JobError(f"deepchecks refuses the frames: {type(exc).__name__}: {exc}") from exc


def run_suite(
    name: str,
    suite: Any,
    job: Job,
    frames: tuple[pd.DataFrame, pd.DataFrame],
    predictions: dict[str, np.ndarray],
    classes: list[Any],
) -> dict[str, Any]:
    """One suite's record for result.json; its HTML report written to ``out/<name>.html``."""
    record: dict[str, Any] = dict.fromkeys(("seconds", "html", "html_seconds", "peak_rss_mb", "skipped", "error"))
    record |= {"warnings": [], "checks": []}
    if name == "model_evaluation" and not predictions:
        record["skipped"] = "no predictions in the job (y_pred_train/test, y_proba_train/test)"
        return record
    extra: dict[str, Any] = {}
    if name == "model_evaluation":
        extra = {**predictions, "model_classes": classes} if classes else dict(predictions)
    handler, logger = _Collect(), logging.getLogger("deepchecks")
    logger.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            started = time.perf_counter()
            train_ds, test_ds = datasets(job, *frames)
            try:
                result = suite.run(train_dataset=train_ds, test_dataset=test_ds, **extra)
            except Exception as exc:  # deepchecks could not start the suite: the record says why
                record["error"], result = f"{type(exc).__name__}: {exc}", None
            record["seconds"] = round(time.perf_counter() - started, 3)
            if result is not None:
                record["checks"] = [check_entry(r) for r in result.results]
                started = time.perf_counter()
                record["html"] = _save_html(result, job.out / f"{name}.html")
                record["html_seconds"] = round(time.perf_counter() - started, 3)
    finally:
        logger.removeHandler(handler)
    record["warnings"] = _warnings(caught, handler.messages)
    record["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return record


def _save_html(result: Any, path: Path) -> str:
    """Write the report to path, replacing it: given a file name, deepchecks never overwrites (it writes
    'name (1).html'), so write an open temporary file in the same folder and move it over."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            # as_widget=False: a plain HTML page (the widget export needs ipywidgets state); connected=False inlines
            # plotly.js so the page opens offline
            result.save_as_html(handle, as_widget=False, connected=False)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return str(path)


def apply_compat_patches() -> list[str]:
    """Work around two bugs of deepchecks 0.19.1 under the locked scikit-learn; returns what was patched.

    Both patch deepchecks' own objects in this process; the runs of the bundled examples verify them (the German
    credit data, the multi-class wine data with text classes, the diabetes regression)."""
    from deepchecks.tabular.context import _DummyModel  # type: ignore[import-not-found]
    from deepchecks.tabular.metric_utils import scorers  # type: ignore[import-not-found]

    # The per-class scorers keep f1_score's default pos_label=1, which scikit-learn checks against a multi-class
    # model's classes: with text classes ('class_0', ...) TrainTestPerformance and SimpleModelComparison fail with
    # "pos_label=1 is not a valid label". deepchecks already passes pos_label=None to its macro/micro scorers.
    for name, func in (
        ("precision_per_class", scorers.precision_score),
        ("recall_per_class", scorers.recall_score),
        ("f1_per_class", scorers.f1_score),
        ("jaccard_per_class", scorers.jaccard_score),
    ):
        fixed = scorers.make_scorer(func, average=None, zero_division=0, pos_label=None)
        scorers.multiclass_scorers_dict[name] = scorers._str_to_scorer_dict[name] = fixed
    # Given predictions instead of a model, deepchecks scores a _DummyModel whose predict is its bound _predict;
    # scikit-learn's scorers pass the method's __name__ on and refuse a regressor whose method is not "predict"
    # ("_DummyModel should either be a classifier ..."): every regression scorer failed.
    _DummyModel._predict.__name__ = "predict"
    return ["per-class scorers: pos_label=None", "_DummyModel._predict named predict"]


def run(job: Job) -> dict[str, Any]:
    train, test = load_frames(job)
    predictions, classes = load_predictions(job, train, test)
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pkg_resources' deprecation warning at import
        import deepchecks.tabular.suites  # type: ignore[import-not-found]  # its import cost counts here
    import_seconds = round(time.perf_counter() - started, 3)
    patches = apply_compat_patches()
    deepchecks.set_verbosity(logging.WARNING)  # progress bars are INFO: off
    logger = logging.getLogger("deepchecks")
    for handler in list(logger.handlers):  # its stderr handler; warnings go to result.json instead
        logger.removeHandler(handler)
    logger.propagate = False
    job.out.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {
        "deepchecks_version": deepchecks.__version__,
        "import_seconds": import_seconds,
        "compat_patches": patches,
        "suites": {},
    }
    # a bad check name, a condition deepchecks refuses or frames it refuses: exit 2 before any suite runs
    suites = {name: build_suite(name, job.checks.get(name), job.conditions) for name in job.suites}
    built = {type(check).__name__ for suite in suites.values() for check in suite.checks.values()}
    if unused := sorted(set(job.conditions) - built):
        raise JobError(f"'conditions': {unused} not among the checks the suites run ({sorted(built)})")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        datasets(job, train, test)
    for name, suite in suites.items():
        result["suites"][name] = run_suite(name, suite, job, (train, test), predictions, classes)
    return result


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: runner.py JOB.json", file=sys.stderr)
        return 2
    job_path = Path(args[0])
    try:
        try:
            raw = json.loads(job_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise JobError(f"cannot read {job_path}: {exc}") from exc
        job = parse_job(raw, job_path.resolve().parent)
        result = run(job)
    except JobError as exc:
        print(f"deepchecks job {job_path}: {exc}", file=sys.stderr)
        return 2
    out = job.out / "result.json"
    tmp = out.with_name(f".result.json.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(result, indent=1, allow_nan=False) + "\n", encoding="utf-8")
    os.replace(tmp, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
