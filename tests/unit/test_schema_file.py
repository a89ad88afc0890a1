"""The strict schema-file reader: its literal key and check sets agree with the installed pandera, the bundled
schemas and `mlgate schema infer` output pass, and each kind of mistake is refused naming the key.

pipeline/schema_file.py carries the names as literals (serving does not install pandera); these tests are what
makes a pandera upgrade that adds a check, a check option or a column key fail loudly here.
"""

from __future__ import annotations

import inspect
from datetime import date
from pathlib import Path

import pandas as pd
import pandera.pandas as pa
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from pandera.api.checks import Check
from pandera.engines import pandas_engine
from pandera.io import _flat_checks, pandas_io

from mlgate.checks.schema import infer_schema, schema_yaml
from mlgate.pipeline.errors import SchemaFileError
from mlgate.pipeline.schema_file import (
    CHECK_ALIASES,
    CHECK_OPTIONS,
    COLUMN_KEYS,
    DTYPES,
    KNOWN_CHECKS,
    NON_PANDAS_CHECKS,
    TOP_LEVEL_KEYS,
    UNSUPPORTED_CHECK_OPTIONS,
    UNSUPPORTED_CHECKS,
    load_schema_file,
    parse_schema_yaml,
    validate_schema,
)

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = [ROOT / "schemas" / "german_credit.schema.yaml", ROOT / "examples" / "churn" / "schema.yaml"]


# ------------------------------------------------------------ the literal sets against pandera


def test_checks_are_exactly_pandera_registered_builtin_checks() -> None:
    registered = set(Check.CHECK_FUNCTION_REGISTRY)
    assert registered == KNOWN_CHECKS | NON_PANDAS_CHECKS | UNSUPPORTED_CHECKS
    assert not KNOWN_CHECKS & (NON_PANDAS_CHECKS | UNSUPPORTED_CHECKS)


def test_aliases_are_pandera_check_methods_of_the_named_check() -> None:
    for alias, name in CHECK_ALIASES.items():
        assert callable(getattr(Check, alias, None)), alias
        assert name in KNOWN_CHECKS
        assert name in inspect.getsource(getattr(Check, alias)), alias  # `ge` calls greater_than_or_equal_to


def test_check_options_are_pandera_check_option_keys() -> None:
    assert CHECK_OPTIONS | UNSUPPORTED_CHECK_OPTIONS | {"check_name"} == set(_flat_checks.CHECK_OPTION_KEYS)


def test_column_keys_are_what_pandera_reads_for_a_pandas_column() -> None:
    # _deserialize_component_stats keeps these keys (plus the checks); the rest of COMPONENT_RESERVED_KEYS is
    # for xarray components and the container.
    source = inspect.getsource(pandas_io._deserialize_component_stats)
    for key in COLUMN_KEYS - {"checks", "dtype", "title", "description"}:
        assert f'"{key}"' in source, key
    xarray_and_container = {"dims", "alias", "ordered_dims", "sizes", "shape", "coords", "schema_type", "version"}
    assert set(_flat_checks.COMPONENT_RESERVED_KEYS) == COLUMN_KEYS | xarray_and_container


def test_top_level_keys_cover_everything_pandera_writes_and_reads() -> None:
    schema = pa.DataFrameSchema({"a": pa.Column(int, pa.Check.ge(0))}, strict=True, unique=["a"])
    written = pandas_io.serialize_schema(schema, minimal=False)
    assert set(written) <= TOP_LEVEL_KEYS
    source = inspect.getsource(pandas_io.deserialize_schema)
    read = {key for key in TOP_LEVEL_KEYS if f'"{key}"' in source}
    assert TOP_LEVEL_KEYS - read == {"schema_type", "version"}  # written by pandera, not read back
    validate_schema(yaml.safe_load(yaml.safe_dump(written)), "written.yaml")


def test_every_known_dtype_is_a_pandera_dtype() -> None:
    for name in sorted(DTYPES):
        pandas_engine.Engine.dtype(name)  # raises TypeError for a name pandera does not know


# ------------------------------------------------------------ good files


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.parent.name)
def test_the_committed_schemas_pass(path: Path) -> None:
    schema = load_schema_file(path)
    assert schema.columns
    age = schema.columns.get("age")
    if age is not None:
        (check,) = age.checks
        assert check.name == "in_range" and check.params["min_value"] == 18 and check.params["max_value"] == 100


def test_every_check_form_gives_the_same_check() -> None:
    forms = [
        "columns:\n  a:\n    dtype: int64\n    ge: 1\n",
        "columns:\n  a:\n    dtype: int64\n    greater_than_or_equal_to: {min_value: 1}\n",
        "columns:\n  a:\n    dtype: int64\n    checks:\n      greater_than_or_equal_to: 1\n",
        "columns:\n  a:\n    dtype: int64\n    checks:\n    - value: 1\n      options: {check_name: ge}\n",
    ]
    for text in forms:
        (check,) = validate_schema(yaml.safe_load(text), "x.yaml").columns["a"].checks
        assert (check.name, dict(check.params)) == ("greater_than_or_equal_to", {"min_value": 1}), text


def test_a_pandera_written_schema_with_every_supported_check_passes() -> None:
    checks = [
        pa.Check.in_range(0, 10, include_max=False),
        pa.Check.isin([1, 2]),
        pa.Check.notin([3]),
        pa.Check.ne(4),
        pa.Check.gt(-1),
        pa.Check.lt(99, ignore_na=False, error="too big"),
    ]
    text = pa.DataFrameSchema(
        {
            "n": pa.Column(int, checks, nullable=True),
            "s": pa.Column(str, [pa.Check.str_matches("^[a-z]+$"), pa.Check.str_length(1, 5)]),
            "t": pa.Column("datetime64[ns, UTC]"),
        }
    ).to_yaml()
    schema = validate_schema(parse_schema_yaml(text, "x.yaml"), "x.yaml")
    assert [c.name for c in schema.columns["n"].checks][:2] == ["in_range", "isin"]
    assert schema.columns["n"].checks[0].params["include_max"] is False


def test_infer_output_passes_for_the_bundled_and_the_churn_project() -> None:
    from mlgate.checks.schema import infer_for_config
    from mlgate.pipeline.config import load_config

    for config_path in (ROOT / "mlgate.toml", ROOT / "examples" / "churn" / "mlgate.toml"):
        text = infer_for_config(load_config(config_path), on=date(2025, 1, 1))
        schema = validate_schema(parse_schema_yaml(text, "inferred.yaml"), "inferred.yaml")
        assert schema.columns, config_path


@given(
    floats=st.lists(st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.just(float("nan"))), min_size=1),
    ints=st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), min_size=1),
    texts=st.lists(st.one_of(st.text(max_size=12), st.none()), min_size=1),
    margin=st.floats(min_value=0.0, max_value=1.0),
)
def test_any_inferred_schema_passes_the_strict_reader(floats: list, ints: list, texts: list, margin: float) -> None:
    """Whatever the data, `mlgate schema infer` writes a file the strict reader accepts (quoting, bounds)."""
    size = max(len(floats), len(ints), len(texts), 2)
    frame = pd.DataFrame(
        {
            "y": [0, 1] * size,
            "x": pd.Series((floats * 2 * size)[: 2 * size], dtype="float64"),
            "n": pd.Series((ints * 2 * size)[: 2 * size], dtype="int64"),
            "s": pd.Series((texts * 2 * size)[: 2 * size], dtype="str"),
        }
    )
    schema = infer_schema(frame, target="y", categorical=["s"], numeric=["x", "n"], margin=margin)
    text = schema_yaml(schema, source="generated", on=date(2025, 1, 1))
    validated = validate_schema(parse_schema_yaml(text, "inferred.yaml"), "inferred.yaml")
    assert list(validated.columns) == ["y", "x", "n", "s"]


# ------------------------------------------------------------ refusals (the hostile corpus has the rest)

BAD = [
    pytest.param(
        {"columns": {"a": {"in_rnage": {}}}}, r"columns\.a: unknown key 'in_rnage'; did you mean 'in_range'", id="typo"
    ),
    pytest.param(
        {"columns": {"a": {"checks": {"nope": 1}}}}, r"columns\.a\.checks: unknown check 'nope'", id="nested-typo"
    ),
    pytest.param(
        {"columns": {"a": {"checks": [{"value": 1}]}}},
        r"columns\.a\.checks\[0\]: a list entry needs",
        id="list-no-name",
    ),
    pytest.param(
        {"columns": {"a": {"checks": 5}}}, r"columns\.a\.checks: must be a mapping of checks", id="checks-int"
    ),
    pytest.param(
        {"columns": {"a": {"ge": 1, "checks": {"le": 5}}}}, r"pandera ignores checks written as column keys", id="mixed"
    ),
    pytest.param({"columns": {"a": {"ndim": 1}}}, r"'ndim' is a pandera check for xarray data", id="xarray-check"),
    pytest.param({"columns": {"a": {"one_sample_ttest": {}}}}, r"hypothesis test\) is not supported", id="hypothesis"),
    pytest.param(
        {"columns": {"a": {"ge": {"min_value": 1, "groupby": "b"}}}}, r"grouped checks are not supported", id="groupby"
    ),
    pytest.param(
        {"columns": {"a": {"ge": {"min_value": 1, "ignore_na": "no"}}}},
        r"ignore_na: must be true or false",
        id="opt-type",
    ),
    pytest.param({"columns": {"a": {"isin": "ab"}}}, r"columns\.a\.isin: must be a list of values", id="isin-text"),
    pytest.param(
        {"columns": {"a": {"dtype": "int64", "isin": [1.5]}}},
        r"1\.5 \(float\) does not fit the column's int",
        id="isin-type",
    ),
    pytest.param({"columns": {"a": {"str_matches": "("}}}, r"not a valid regular expression", id="bad-regex"),
    pytest.param(
        {"columns": {"a": {"str_length": {}}}}, r"missing a value \(str_length needs one of", id="str-length-empty"
    ),
    pytest.param(
        {"columns": {"a": {"in_range": {"min_value": 1, "max_value": 1, "include_max": False}}}},
        r"excluded end",
        id="empty-interval",
    ),
    pytest.param({"columns": {"a": {"ge": 10**400}}}, r"\(401 digits\) is too large for a bound", id="huge-bound"),
    pytest.param({"columns": {"a": {"dtype": "datetime64[ns, Mars/Olympus]"}}}, r"unknown dtype", id="bad-timezone"),
    pytest.param({"columns": {"a": None}}, r"columns\.a: must be a mapping of column keys", id="null-column"),
    pytest.param({"columns": {1: {}}}, r"column name 1 must be text", id="int-column-name"),
    pytest.param(
        {"columns": {"a": {}}, "index": [{"dtype": "int64"}]}, r"index: index checks are not supported", id="index"
    ),
    pytest.param({"columns": {"a": {}}, "api": "polars"}, r"api: must be 'pandas'", id="api"),
    pytest.param({"columns": {"a": {}}, "strict": "yes"}, r"strict: must be true, false or 'filter'", id="strict"),
    pytest.param({"columns": {"a": {}}, "unique": ["b"]}, r"unique: 'b' is not a column", id="unique-unknown"),
    pytest.param({"columns": {"a": {}}, "checks": {"ge": "x"}}, r"checks\.ge: must be a number", id="frame-check"),
]


@pytest.mark.parametrize(("raw", "message"), BAD)
def test_mistakes_are_refused_naming_the_key(raw: dict, message: str) -> None:
    with pytest.raises(SchemaFileError, match=message) as info:
        validate_schema(raw, "x.yaml")
    assert str(info.value).startswith("x.yaml: ")
    assert "\n" not in str(info.value)


def test_duplicate_keys_and_aliases_are_refused_by_the_reader() -> None:
    with pytest.raises(SchemaFileError, match=r"x\.yaml: line 3: duplicate key 'a'"):
        parse_schema_yaml("columns:\n  a: {}\n  a: {dtype: int64}\n", "x.yaml")
    with pytest.raises(SchemaFileError, match=r"x\.yaml: line 2: YAML alias \*x is not allowed"):
        parse_schema_yaml("base: &x {dtype: int64}\ncolumns: {a: *x}\n", "x.yaml")
    assert parse_schema_yaml("columns: {a: {dtype: int64}}\n", "x.yaml") == {"columns": {"a": {"dtype": "int64"}}}


def test_the_serving_app_reads_schema_files_without_pandera() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import mlgate.pipeline.serve.app, mlgate.pipeline.schema_file\n"
        "from mlgate.pipeline.serve.models import column_specs\n"
        "import yaml\n"
        f"schema = yaml.safe_load(open({str(COMMITTED[0])!r}))\n"
        "column_specs(schema, ['age', 'sex'])\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'pandera', 'sklearn', 'mlflow'}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert done.stdout.strip() == "[]", done.stderr
