"""The request models generated from the schema, the bundle reader and the app's error paths, in process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
from pathlib import Path

import httpx
import pandas as pd
import pandera.pandas as pa
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

import mlgate.pipeline.serve as serve
import mlgate.pipeline.serve.predict as predict_module
from mlgate.pipeline.serve.__main__ import main
from mlgate.pipeline.serve.models import BATCH_TOO_LARGE

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "schemas" / "german_credit.schema.yaml"
SCHEMA = yaml.safe_load(SCHEMA_FILE.read_text())
FEATURES = [c for c in SCHEMA["columns"] if c != "risk"]
GOOD = {
    "sex": "male",
    "job": "1",
    "housing": "rent",
    "saving_accounts": "little",
    "checking_account": None,
    "credit_amount": 1000,
    "duration": 12,
    "purpose": "car",
    "age": 30,
}


def _body(max_batch: int = serve.DEFAULT_MAX_BATCH) -> TypeAdapter:
    return TypeAdapter(serve.build_models(serve.column_specs(SCHEMA, FEATURES), max_batch=max_batch).body)


def test_public_names():
    assert set(serve.__all__) == {
        "DEFAULT_MAX_BATCH",
        "DEFAULT_MAX_BODY_BYTES",
        "BundleError",
        "BundleInfo",
        "SchemaTranslationError",
        "build_models",
        "column_specs",
        "create_app",
        "load_model",
        "read_bundle",
    }
    assert serve.DEFAULT_MAX_BATCH == 10_000


def test_specs_follow_the_committed_schema():
    specs = {s.name: s for s in serve.column_specs(SCHEMA, FEATURES)}
    assert specs["job"].kind == "str" and specs["job"].allowed == ("0", "1", "2", "3")
    assert specs["saving_accounts"].nullable and not specs["sex"].nullable
    assert specs["age"].kind == "int" and specs["age"].bounds == (("ge", 18.0), ("le", 100.0))
    assert "risk" not in specs


@pytest.mark.parametrize(
    ("column", "message"),
    [
        ({"dtype": "datetime64[ns]"}, "column 'c' has dtype 'datetime64[ns]'"),
        ({"dtype": "int64", "str_startswith": "x"}, "column 'c' has check 'str_startswith'"),
        ({"dtype": "str", "in_range": {"min_value": 0, "max_value": 1}}, "column 'c' has check 'in_range'"),
    ],
)
def test_untranslatable_columns_are_refused(column, message):
    with pytest.raises(serve.SchemaTranslationError, match=message.replace("[", r"\[").replace("]", r"\]")):
        serve.column_specs({"columns": {"c": column}}, ["c"])


def test_a_feature_missing_from_the_schema_is_refused():
    with pytest.raises(serve.SchemaTranslationError, match="model feature 'income' is not a column of the schema"):
        serve.column_specs(SCHEMA, [*FEATURES, "income"])
    with pytest.raises(serve.SchemaTranslationError, match="no 'columns' mapping"):
        serve.column_specs({"schema_type": "dataframe"}, FEATURES)


def test_other_checks_translate():
    schema = {
        "columns": {
            "x": {"dtype": "float64", "greater_than": 0, "less_than": 1, "notin": [0.5]},
            "s": {"dtype": "str", "str_length": {"min_value": 2, "max_value": 3}, "nullable": True},
        }
    }
    body = TypeAdapter(serve.build_models(serve.column_specs(schema, ["x", "s"])).body)
    assert body.validate_python({"x": 0.25, "s": None}).x == 0.25
    for bad, where in [({"x": 0.0, "s": "ab"}, "x"), ({"x": 0.5, "s": "ab"}, "x"), ({"x": 0.2, "s": "abcd"}, "s")]:
        with pytest.raises(ValidationError) as info:
            body.validate_python(bad)
        assert info.value.errors()[0]["loc"] == ("record", where)


def test_integers_without_bounds_still_fit_int64():
    body = TypeAdapter(serve.build_models(serve.column_specs({"columns": {"n": {"dtype": "int64"}}}, ["n"])).body)
    assert body.validate_python({"n": 2**63 - 1}).n == 2**63 - 1
    with pytest.raises(ValidationError, match="less than or equal to 9223372036854775807"):
        body.validate_python({"n": 2**63})


def test_default_batch_limit_is_checked_before_any_record():
    body = _body()
    assert len(body.validate_python({"records": [GOOD] * 10_000}).records) == 10_000
    with pytest.raises(ValidationError) as info:
        body.validate_python({"records": [{"not": "validated"}] * 10_001})
    (error,) = info.value.errors()
    assert error["type"] == BATCH_TOO_LARGE
    assert error["msg"].startswith("batch of 10001 records exceeds the limit of 10000 records")


_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["male", "female", "0", "3", "4", "own", "rich", "quite rich", "car", "vacation/others", ""]),
    st.text(max_size=5),
)


def _pandera_accepts(record: dict) -> bool:
    schema = pa.DataFrameSchema.from_yaml(SCHEMA_FILE.read_text()).remove_columns(["risk"])
    frame = pd.DataFrame({k: pd.Series([v], dtype=object) for k, v in record.items()})
    for column, spec in SCHEMA["columns"].items():
        value = record.get(column)
        # JSON has one number type: an integral number is an integer (as in JSON Schema and the app)
        integral = type(value) is int or (isinstance(value, float) and value.is_integer())
        if column in frame and str(spec["dtype"]).startswith("int") and integral:
            with contextlib.suppress(OverflowError, ValueError):
                frame[column] = pd.Series([int(value)], dtype="int64")
        elif column in frame and all(isinstance(v, str) or v is None for v in frame[column]):
            frame[column] = frame[column].astype("str")
    try:
        schema.validate(frame, lazy=True)
    except (pa.errors.SchemaErrors, pa.errors.SchemaError):
        return False
    return True


@given(column=st.sampled_from(FEATURES), value=_VALUES)
def test_the_request_model_accepts_exactly_what_the_schema_accepts(column, value):
    """One field changed at a time; a well-typed record is judged the same by pydantic and by pandera."""
    record = {**GOOD, column: value}
    try:
        _body().validate_python(record)
        accepted = True
    except ValidationError as exc:
        accepted = False
        assert exc.errors()[0]["loc"] == ("record", column)
    assert accepted == _pandera_accepts(record), record


def _write_bundle(tmp_path: Path, bundle_dir: Path) -> Path:
    target = tmp_path / "bundle"
    shutil.copytree(bundle_dir, target)
    return target


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda b: (b / "release.json").unlink(), "release.json: file not found"),
        (lambda b: (b / "schema.yaml").write_text("columns: [1, 2"), "schema.yaml: not readable YAML"),
        (lambda b: (b / "model.meta.json").write_text("{}"), "model.meta.json: missing key 'sha256'"),
        (lambda b: (b / "model.skops").unlink(), "model.skops: file not found"),
        (
            lambda b: (b / "release.json").write_text(json.dumps({"model_name": "m", "model_version": "1"})),
            "release.json: missing key 'model_sha256'",
        ),
    ],
)
def test_unusable_bundles_fail_at_create_app_with_one_line(tmp_path, bundle_dir, change, message, capsys):
    bundle = _write_bundle(tmp_path, bundle_dir)
    change(bundle)
    with pytest.raises(serve.BundleError, match=message):
        serve.create_app(bundle)
    assert main(["--bundle", str(bundle), "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_threshold_must_be_a_probability(tmp_path, bundle_dir):
    bundle = _write_bundle(tmp_path, bundle_dir)
    meta = json.loads((bundle / "model.meta.json").read_text())
    (bundle / "model.meta.json").write_text(json.dumps({**meta, "threshold": 1.5}))
    with pytest.raises(serve.BundleError, match="'threshold' must be a number in \\[0, 1\\], got 1.5"):
        serve.read_bundle(bundle)


async def _call(app, method: str, path: str, **kwargs) -> httpx.Response:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            return await client.request(method, path, **kwargs)


def test_a_bug_is_a_logged_500_with_a_detail(bundle_dir, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(predict_module, "score", broken)  # on either path (array or scikit-learn)
    response = asyncio.run(_call(serve.create_app(bundle_dir), "POST", "/predict", json=GOOD))
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error (RuntimeError); see the server log"}
    assert any("unhandled error on POST /predict" in r.getMessage() for r in caplog.records)


def test_a_model_the_meta_does_not_describe_is_not_ready(tmp_path, bundle_dir):
    bundle = _write_bundle(tmp_path, bundle_dir)
    meta = json.loads((bundle / "model.meta.json").read_text())
    (bundle / "model.meta.json").write_text(json.dumps({**meta, "sha256": "0" * 64}))
    response = asyncio.run(_call(serve.create_app(bundle), "GET", "/ready"))
    assert response.status_code == 503
    assert "does not match model.meta.json sha256 " + "0" * 64 in response.json()["detail"]


def test_bundle_from_environment_variable(monkeypatch, capsys):
    monkeypatch.setenv("MLGATE_BUNDLE", "/no/such/bundle")
    assert main([]) == 2
    assert capsys.readouterr().err == "error: /no/such/bundle: bundle folder not found\n"
    monkeypatch.delenv("MLGATE_BUNDLE")
    with pytest.raises(SystemExit):
        main([])
    assert "give --bundle DIR or set MLGATE_BUNDLE" in capsys.readouterr().err
