"""The array path: the fitted preprocessing compiled to numpy, scoring bit for bit like the scikit-learn path.

A served model is ``Pipeline([("features", ColumnTransformer), ("model", estimator)])``; on a one-record
DataFrame nearly all of its time goes to scikit-learn's per-call validation inside the ColumnTransformer.
:func:`compile_model` reads the fitted transformers' arrays (imputer statistics, scaler mean and scale, each
category's one-hot column) when the structure is exactly the one ``pipeline.features`` builds; else it returns
the reason, and the app scores with the scikit-learn path.

:meth:`ArrayModel.transform` builds the (n, width) float64 C-contiguous matrix from the validated records'
values with scikit-learn's own operations, so it is bitwise the ColumnTransformer's output:

* numeric: the values as float64 (a Python int converts exactly as the frame's int64 column does), a missing
  value (None or NaN) set to the imputer's statistic cast through its fit dtype, then ``X -= mean_`` and
  ``X /= scale_`` in float64 (``StandardScaler.transform``);
* categorical: a missing value (None or NaN, the imputer's ``X != X``) becomes the fill value, then the column
  of the value in a dict built as ``OneHotEncoder`` builds its own (``_map_to_integer``): the same hashing and
  equality, so ``"1"`` is not ``1``; an unknown value is all zeros (``handle_unknown="ignore"``).

The estimator then scores that matrix with its own ``predict_proba`` / ``predict`` inside
``sklearn.config_context(assume_finite=True, skip_parameter_validation=True)``: it sees the bytes the pipeline
would hand it. (A matrix that is not finite, e.g. a scaled value that overflowed, is scored without the
context, so the estimator refuses or handles it exactly as the pipeline's call would; so is one beyond float32's
range, which a tree's float32 copy of the matrix would make infinite.)

:func:`verify` scores a frame both ways and compares the bytes; the app serves the array path only once it
verified (:func:`pipeline.serve.state.select_path`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, Literal

import numpy as np
import pandas as pd

from mlgate.pipeline.serve.models import ColumnSpec

__all__ = ["ArrayModel", "Row", "ServingPath", "compile_model", "frame_of", "probe_rows", "verify"]

_FLOAT32_MAX = float(np.finfo(np.float32).max)  # trees score float32: a larger value is infinite to them

#: One validated record: its feature values by column name (None for a missing value).
Row = Mapping[str, Any]


@dataclass(frozen=True)
class ServingPath:
    """How ``/predict`` scores: ``array`` (compiled and verified) or ``sklearn``, with the reason when not array."""

    path: Literal["array", "sklearn"]
    reason: str | None = None


@dataclass(frozen=True)
class _Numeric:
    columns: tuple[str, ...]
    start: int
    stop: int
    statistics: np.ndarray  # float64, as the imputer assigns them into the float64 matrix
    mean: np.ndarray | None
    scale: np.ndarray | None


@dataclass(frozen=True)
class _Categorical:
    columns: tuple[str, ...]
    fills: tuple[Any, ...]
    tables: tuple[dict[Any, int], ...]  # category -> output column (absolute), per column
    kinds: tuple[str, ...]


class ArrayModel:
    """The compiled pipeline: :meth:`transform` and the estimator's own scoring on its matrix."""

    def __init__(
        self, estimator: Any, width: int, numeric: tuple[_Numeric, ...], categorical: tuple[_Categorical, ...]
    ) -> None:
        self.estimator, self.width = estimator, width
        self.numeric, self.categorical = numeric, categorical
        self._numeric = [(itemgetter(*b.columns), len(b.columns), b) for b in numeric]
        self._cells = [(c, f, t) for b in categorical for c, f, t in zip(b.columns, b.fills, b.tables, strict=True)]

    def transform(self, rows: Sequence[Row]) -> np.ndarray:
        """The ColumnTransformer's output for ``rows``, bit for bit: (n, width) float64, C-contiguous."""
        n, width = len(rows), self.width
        out = np.zeros((n, width), dtype=np.float64)
        for get, k, block in self._numeric:
            values = np.array([get(row) for row in rows], dtype=np.float64).reshape(n, k)
            missing = np.isnan(values)
            if missing.any():
                np.copyto(values, block.statistics, where=missing)
            if block.mean is not None:
                values -= block.mean
            if block.scale is not None:
                values /= block.scale
            out[:, block.start : block.stop] = values
        if self._cells:
            hits = []
            for i, row in enumerate(rows):
                base = i * width
                for column, fill, table in self._cells:
                    value = row[column]
                    if value is None or value != value:  # the imputer's missing test on objects: X != X
                        value = fill
                    hit = table.get(value)
                    if hit is not None:
                        hits.append(base + hit)
            out.reshape(-1)[hits] = 1.0
        return out

    def _call(self, method: str, rows: Sequence[Row]) -> np.ndarray:
        X = self.transform(rows)
        score = getattr(self.estimator, method)
        if X.size and not np.abs(X).max() <= _FLOAT32_MAX:  # the estimator's own checks decide (see the docstring)
            return np.asarray(score(X))
        from sklearn import config_context  # the model is loaded: scikit-learn is imported already

        with config_context(assume_finite=True, skip_parameter_validation=True):
            return np.asarray(score(X))

    def predict_proba(self, rows: Sequence[Row]) -> np.ndarray:
        return self._call("predict_proba", rows)

    def predict(self, rows: Sequence[Row]) -> np.ndarray:
        return self._call("predict", rows)


# -- compile ---------------------------------------------------------------------------------------------------------


class UnsupportedPipeline(Exception):
    """The reason a pipeline cannot be compiled (shown by the app, which then scores with scikit-learn)."""


def _sklearn_class(name: str) -> type:
    """A scikit-learn class, imported on first use: importing the serving app imports no scikit-learn (it comes
    with the model, when the lifespan loads it)."""
    import sklearn.compose
    import sklearn.impute
    import sklearn.pipeline
    import sklearn.preprocessing

    for module in (sklearn.compose, sklearn.impute, sklearn.pipeline, sklearn.preprocessing):
        if hasattr(module, name):
            found: type = getattr(module, name)
            return found
    raise KeyError(name)


def _fail(where: str, what: str) -> UnsupportedPipeline:
    return UnsupportedPipeline(f"{where}: {what} is not supported by the array path")


def _exactly(obj: Any, cls: type, where: str) -> None:
    if type(obj) is not cls:
        raise _fail(where, f"{type(obj).__name__} (expected {cls.__name__})")
    config = getattr(obj, "_sklearn_output_config", {}).get("transform", "default")
    if config != "default":
        raise _fail(where, f"set_output(transform={config!r})")


def _param(obj: Any, name: str, allowed: tuple[Any, ...], where: str) -> Any:
    value = getattr(obj, name)
    if not any(value is a or (type(value) is type(a) and value == a) for a in allowed):
        raise _fail(where, f"{name}={value!r}")
    return value


def _nan_like(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _imputer(imputer: Any, where: str, strategies: tuple[str, ...]) -> None:
    _exactly(imputer, _sklearn_class("SimpleImputer"), where)
    _param(imputer, "strategy", strategies, where)
    _param(imputer, "add_indicator", (False,), where)
    if not (isinstance(imputer.missing_values, float) and math.isnan(imputer.missing_values)):
        raise _fail(where, f"missing_values={imputer.missing_values!r}")
    if any(_nan_like(v) for v in imputer.statistics_.tolist()):
        raise _fail(where, "a column without any value at fit (no statistic)")


def _numeric(steps: list[tuple[str, Any]], where: str, columns: tuple[str, ...], start: int) -> _Numeric:
    imputer = steps[0][1]
    _imputer(imputer, f"{where}.{steps[0][0]}", ("median", "mean"))
    fit_dtype = np.dtype(getattr(imputer, "_fill_dtype", imputer.statistics_.dtype))
    if fit_dtype.kind != "f":
        raise _fail(f"{where}.{steps[0][0]}", f"numeric data fitted as {fit_dtype}")
    statistics = imputer.statistics_.astype(fit_dtype).astype(np.float64)
    mean = scale = None
    if len(steps) == 2:
        name, scaler = steps[1]
        _exactly(scaler, _sklearn_class("StandardScaler"), f"{where}.{name}")
        if scaler.with_mean:
            mean = np.asarray(scaler.mean_).astype(np.float64)
        if scaler.with_std and scaler.scale_ is not None:
            scale = np.asarray(scaler.scale_).astype(np.float64)
    elif len(steps) > 2:
        raise _fail(where, f"a step after {steps[1][0]!r} ({steps[2][0]!r})")
    return _Numeric(columns, start, start + len(columns), statistics, mean, scale)


def _categorical(steps: list[tuple[str, Any]], where: str, columns: tuple[str, ...], start: int) -> _Categorical:
    if len(steps) != 2:
        raise _fail(where, f"{len(steps)} steps (expected an imputer and a one-hot encoder)")
    (iname, imputer), (ename, encoder) = steps
    _imputer(imputer, f"{where}.{iname}", ("constant",))
    if np.dtype(getattr(imputer, "_fit_dtype", object)).kind != "O":
        raise _fail(f"{where}.{iname}", "categories fitted as numbers")
    where = f"{where}.{ename}"
    _exactly(encoder, _sklearn_class("OneHotEncoder"), where)
    _param(encoder, "handle_unknown", ("ignore",), where)
    for name in ("drop", "min_frequency", "max_categories"):
        _param(encoder, name, (None,), where)
    _param(encoder, "sparse_output", (False,), where)
    if np.dtype(encoder.dtype) != np.float64:
        raise _fail(where, f"dtype={encoder.dtype!r}")
    if getattr(encoder, "_infrequent_enabled", False) or getattr(encoder, "_drop_idx_after_grouping", None) is not None:
        raise _fail(where, "an infrequent or dropped category")
    tables, offset = [], start
    for column, categories in zip(columns, encoder.categories_, strict=True):
        values = categories.tolist()
        if categories.dtype.kind != "O" or any(_nan_like(v) for v in values):
            raise _fail(where, f"column {column!r}'s categories {values[:5]!r} (text categories only)")
        table = {value: i for i, value in enumerate(values)}  # as sklearn.utils._encode._map_to_integer
        tables.append({value: offset + i for value, i in table.items()})
        offset += len(values)
    fills = tuple(imputer.statistics_.tolist())
    return _Categorical(columns, fills, tuple(tables), ())


def _block(name: str, transformer: Any, columns: Any, start: int, stop: int) -> _Numeric | _Categorical:
    where = f"features.{name}"
    if not isinstance(columns, list | tuple) or not all(isinstance(c, str) for c in columns):
        raise _fail(where, f"selecting columns by {columns!r} (column names only)")
    _exactly(transformer, _sklearn_class("Pipeline"), where)
    steps, names = list(transformer.steps), tuple(columns)
    block: _Numeric | _Categorical
    if isinstance(steps[-1][1], _sklearn_class("OneHotEncoder")):
        block = _categorical(steps, where, names, start)
        width = sum(len(table) for table in block.tables)
    else:
        block = _numeric(steps, where, names, start)
        width = len(names)
    if width != stop - start:
        raise _fail(where, f"an output of {stop - start} columns for {width} expected")
    return block


def _check_kinds(blocks: list[_Numeric | _Categorical], specs: tuple[ColumnSpec, ...]) -> tuple[_Categorical, ...]:
    kinds = {spec.name: spec.kind for spec in specs}
    done = []
    for block in blocks:
        allowed = ("str", "bool") if isinstance(block, _Categorical) else ("int", "float", "bool")
        for column in block.columns:
            if column not in kinds:
                raise UnsupportedPipeline(f"features: column {column!r} is not a request field")
            if kinds[column] not in allowed:
                what = "categorical" if isinstance(block, _Categorical) else "numeric"
                raise _fail("features", f"{what} column {column!r} served as {kinds[column]}")
        if isinstance(block, _Categorical):
            done.append(_Categorical(block.columns, block.fills, block.tables, tuple(kinds[c] for c in block.columns)))
    return tuple(done)


def _compile(model: Any, specs: tuple[ColumnSpec, ...]) -> ArrayModel:
    _exactly(model, _sklearn_class("Pipeline"), "model")
    if len(model.steps) != 2:
        raise _fail("model", f"a pipeline of {len(model.steps)} steps (expected features and model)")
    (fname, features), (_, estimator) = model.steps
    _exactly(features, _sklearn_class("ColumnTransformer"), fname)
    _param(features, "remainder", ("drop",), fname)
    _param(features, "transformer_weights", (None,), fname)
    if bool(features.sparse_output_):
        raise _fail(fname, "a sparse output")
    if estimator is None or estimator == "passthrough":
        raise _fail("model", "no estimator")
    blocks: list[_Numeric | _Categorical] = []
    width = 0
    for name, transformer, columns in features.transformers_:
        part = features.output_indices_[name]
        if name == "remainder" or transformer == "drop" or part.stop == part.start:
            continue  # dropped, or no columns: not in the output (ColumnTransformer._iter skips them)
        if part.start != width:
            raise _fail(f"{fname}.{name}", f"an output at column {part.start} (expected {width})")
        blocks.append(_block(name, transformer, columns, part.start, part.stop))
        width = part.stop
    categorical = _check_kinds(blocks, specs)
    numeric = tuple(b for b in blocks if isinstance(b, _Numeric))
    return ArrayModel(estimator, width, numeric, categorical)


def compile_model(model: Any, specs: Sequence[ColumnSpec]) -> ArrayModel | str:
    """The array path of ``model`` for requests of ``specs``, or why it has none (see the module docstring)."""
    try:
        return _compile(model, tuple(specs))
    except UnsupportedPipeline as exc:
        return str(exc)
    except (AttributeError, KeyError, TypeError, ValueError) as exc:  # not fitted, or not shaped as expected
        return f"the fitted pipeline cannot be read ({type(exc).__name__}: {exc})"


# -- verify ----------------------------------------------------------------------------------------------------------


def frame_of(rows: Sequence[Row], specs: Sequence[ColumnSpec]) -> pd.DataFrame:
    """The scikit-learn path's frame for ``rows``: the columns in the model's order and dtypes, a missing value NaN.

    (scikit-learn's imputers only recognise NaN in an object column: a ``None`` would reach the encoder as an
    unknown category, and a single all-null record would be scored differently from the same record in a batch.)
    """
    columns: dict[str, pd.Series] = {}
    for spec in specs:
        values = [row[spec.name] for row in rows]
        if spec.kind == "str" or spec.kind == "bool":
            columns[spec.name] = pd.Series([np.nan if v is None else v for v in values], dtype=object)
        elif spec.kind == "int" and not spec.nullable:
            columns[spec.name] = pd.Series(values, dtype=np.int64)
        else:
            columns[spec.name] = pd.Series([np.nan if v is None else v for v in values], dtype=np.float64)
    return pd.DataFrame(columns, columns=[spec.name for spec in specs])


def _differs(name: str, expected: np.ndarray, observed: np.ndarray) -> str | None:
    """Why ``observed`` is not bitwise ``expected`` (None when it is)."""
    expected, observed = np.asarray(expected), np.asarray(observed)
    if expected.shape != observed.shape or expected.dtype != observed.dtype:
        return f"{name}: {observed.dtype}{observed.shape} where scikit-learn gives {expected.dtype}{expected.shape}"
    if expected.dtype.kind == "f":
        if expected.tobytes() == observed.tobytes():
            return None
        size, width = expected.size, expected.dtype.itemsize
        unequal = np.frombuffer(expected.tobytes(), np.uint8) != np.frombuffer(observed.tobytes(), np.uint8)
        count = int(unequal.reshape(size, width).any(axis=1).sum())
        gap = float(np.nanmax(np.abs(expected.astype(np.float64) - observed.astype(np.float64)), initial=0.0))
        return (
            f"{name}: {count} of {expected.size} values differ from scikit-learn's (max absolute difference {gap:.3g})"
        )
    if np.array_equal(expected, observed):
        return None
    count = int((expected != observed).sum())
    return f"{name}: {count} of {expected.size} values differ from scikit-learn's"


def verify(array_model: ArrayModel, model: Any, frame: pd.DataFrame) -> str | None:
    """Score ``frame`` both ways: None when the matrix, the scores and the decisions are bitwise the same, else why."""
    rows = [{k: (None if _nan_like(v) else v) for k, v in row.items()} for row in frame.to_dict("records")]
    checks = [("features", model.steps[0][1].transform, array_model.transform)]
    if hasattr(array_model.estimator, "predict_proba"):
        checks.append(("predict_proba", model.predict_proba, array_model.predict_proba))
    checks.append(("predict", model.predict, array_model.predict))
    for name, expected, observed in checks:
        reason = _differs(name, expected(frame), observed(rows))
        if reason is not None:
            return f"{reason} on {len(frame)} rows"
    return None


def _numeric_probes(spec: ColumnSpec, statistic: float) -> list[Any]:
    if spec.kind == "bool":
        return [True, False, None] if spec.nullable else [True, False]
    centre = round(statistic) if spec.kind == "int" else statistic
    values: list[Any] = [centre, 0, 1, -1, centre * 2 + 1, 10**6]
    if spec.kind == "float":
        values = [float(v) for v in values] + [0.5, -0.0]
    return [*values, None] if spec.nullable else values


def probe_rows(array_model: ArrayModel, specs: Sequence[ColumnSpec]) -> list[dict[str, Any]]:
    """Rows that reach every one-hot column, a missing value in every nullable field, an unknown category in every
    categorical one and a few numbers per numeric one: what :func:`verify` checks besides the golden rows."""
    cycles: dict[str, list[Any]] = {}
    for block in array_model.categorical:
        for column, table, kind in zip(block.columns, block.tables, block.kinds, strict=True):
            cycles[column] = [*table, None, "\x00unknown"] if kind == "str" else [*table, None, True, False]
    for num in array_model.numeric:
        for column, statistic in zip(num.columns, num.statistics.tolist(), strict=True):
            cycles[column] = _numeric_probes(next(s for s in specs if s.name == column), statistic)
    defaults = {"int": 0, "float": 0.0, "str": "", "bool": False}
    count = max((len(c) for c in cycles.values()), default=1)
    return [
        {s.name: cycles[s.name][i % len(cycles[s.name])] if s.name in cycles else defaults[s.kind] for s in specs}
        for i in range(count)
    ]
