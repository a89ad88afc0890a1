"""Bad-input corpus: the committed schema file. Typos, wrong values, hostile YAML.

pandera's own reader ignores unknown keys, so a misspelled check (``in_rnage``) once let 40 out-of-range ages
pass. Every case here is one broken copy of ``schemas/german_credit.schema.yaml`` and must be refused with one
line naming the file and the key (exit 2, nothing written) by every reader of the file:

- ``mlgate gate --layer schema`` (in-process, ``run_cli``);
- the strict reader itself (:func:`pipeline.schema_file.load_schema_file`);
- both pre-commit hooks (``mlgate-check-config``, ``mlgate-check-data``);
- the serving app's start-up (``python -m mlgate.pipeline.serve --bundle``), which does not install pandera.
"""

from __future__ import annotations

import re
import shutil
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
from hostile_helpers import assert_one_line_error

from mlgate.ci.hooks import check_config_main, check_data_main
from mlgate.pipeline.errors import SchemaFileError
from mlgate.pipeline.schema_file import MAX_SCHEMA_BYTES, load_schema_file
from mlgate.pipeline.serve.__main__ import main as serve_main

ROOT = Path(__file__).resolve().parents[2]
GOOD = (ROOT / "schemas" / "german_credit.schema.yaml").read_text(encoding="utf-8")
SCHEMA = Path("schemas") / "german_credit.schema.yaml"
FEATURES = ["sex", "job", "housing", "saving_accounts", "checking_account", "credit_amount", "duration"]
FEATURES += ["purpose", "age"]


def edit(old: str, new: str) -> Callable[[], bytes]:
    def make() -> bytes:
        assert old in GOOD, old
        return GOOD.replace(old, new, 1).encode()

    return make


def text(value: str) -> Callable[[], bytes]:
    return lambda: value.encode()


AGE = "  age:\n    dtype: int64\n    in_range:\n      min_value: 18\n      max_value: 100\n"
LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)
)
BOMB = LAUGHS + "columns:\n  age:\n    isin: *i\n"
BIG = "schema_type: dataframe\ncolumns:\n" + "".join(
    f"  c{i}:\n    dtype: string[pyarrow]\n    isin:\n" + "".join(f"    - value{j}\n" for j in range(30))
    for i in range(4000)
)  # 2 MB

# the serving app words a body that is not a mapping with 'columns' its own way (tests/serving holds it)
NOT_A_SCHEMA = r"not a pandera (schema: expected a mapping with a non-empty 'columns' key|DataFrameSchema YAML)"

# (id, file bytes, regex for the message after "<file>: ")
CASES = [
    (
        "misspelled-check",
        edit("    in_range:\n      min_value: 18", "    in_rnage:\n      min_value: 18"),
        r"columns\.age: unknown key 'in_rnage'; did you mean 'in_range'\? \(known checks: .*; column keys: ",
    ),
    (
        "unknown-column-key",
        edit("  age:\n    dtype: int64\n", "  age:\n    dtype: int64\n    nulable: true\n"),
        r"columns\.age: unknown key 'nulable'; did you mean 'nullable'\?",
    ),
    (
        "unknown-top-level-key",
        text(GOOD + "strcit: true\n"),
        r"unknown top-level key 'strcit'; did you mean 'strict'\? \(known keys: ",
    ),
    (
        "unknown-check-option",
        edit("      max_value: 100\n", "      max_value: 100\n      inclusive: true\n"),
        r"columns\.age\.in_range: unknown option 'inclusive' for check 'in_range'",
    ),
    (
        "isin-not-a-list",
        edit("    isin:\n    - female\n    - male\n", "    isin: female\n"),
        r"columns\.sex\.isin: must be a list of values, got str 'female'",
    ),
    (
        "in-range-missing-max",
        edit("      max_value: 100\n", ""),
        r"columns\.age\.in_range: missing 'max_value' \(in_range needs max_value and min_value\)",
    ),
    (
        "min-above-max",
        edit("      max_value: 100\n", "      max_value: 10\n"),
        r"columns\.age\.in_range: min_value 18 is above max_value 10: no value can pass",
    ),
    (
        "nan-bound",
        edit("      max_value: 100\n", "      max_value: .nan\n"),
        r"columns\.age\.in_range\.max_value: must be a finite number, got nan",
    ),
    (
        "infinite-bound",
        edit("      min_value: 18\n", "      min_value: -.inf\n"),
        r"columns\.age\.in_range\.min_value: must be a finite number, got -inf",
    ),
    (
        "bound-as-text",
        edit("      min_value: 18\n", "      min_value: eighteen\n"),
        r"columns\.age\.in_range\.min_value: must be a number, got str 'eighteen'",
    ),
    (
        "nullable-yes-string",
        edit("    nullable: true\n", "    nullable: 'yes'\n"),
        r"columns\.saving_accounts\.nullable: must be true or false, got str 'yes'",
    ),
    (
        "unknown-dtype",
        edit("  age:\n    dtype: int64\n", "  age:\n    dtype: in64\n"),
        r"columns\.age\.dtype: unknown dtype 'in64' \(known: ",
    ),
    (
        "unquoted-category-is-a-number",
        edit("    - '0'\n", "    - 0\n"),
        r"columns\.job\.isin\[0\]: 0 \(int\) does not fit the column's str dtype; quote it \('0'\)",
    ),
    (
        "flat-and-nested-checks",
        edit("  age:\n    dtype: int64\n", "  age:\n    dtype: int64\n    checks:\n      ge: 0\n"),
        r"columns\.age\.in_range: pandera ignores checks written as column keys when the column also has 'checks:'",
    ),
    (
        "terminal-escape-in-column-name",
        edit("  age:\n", '  "bad\\e[31mname":\n    in_rnage: 1\n  age:\n'),
        r"columns\.'bad\\x1b\[31mname': unknown key 'in_rnage'",
    ),
    (
        "duplicate-column",
        edit("  age:\n", "  age:\n    dtype: float64\n  age:\n"),
        r"line \d+: duplicate key 'age' \(YAML would keep only the last\)",
    ),
    (
        "empty-columns",
        text("schema_type: dataframe\ncolumns: {}\n"),
        NOT_A_SCHEMA,
    ),
    ("yaml-list", text("- age\n- sex\n"), NOT_A_SCHEMA),
    ("billion-laughs", text(BOMB), r"line 2: YAML alias \*a is not allowed in a schema file"),
    (
        "nesting-10k-deep",
        text("columns: " + "[" * 10_000 + "]" * 10_000 + "\n"),
        # libyaml's own limit (1,000 levels) comes before mlgate's (12): see nesting-20-deep
        r"(schema file is not valid YAML at line 1 \(|not readable YAML \(while increasing flow level )"
        r"exceeded maximum nesting depth",
    ),
    (
        "nesting-20-deep",
        text("columns: " + "[" * 20 + "]" * 20 + "\n"),
        r"line 1: nested deeper than 12 levels; not a schema file",
    ),
    ("very-large-file", text(BIG), rf"schema file is larger than the limit of {MAX_SCHEMA_BYTES} bytes"),
    (
        "binary-garbage",
        lambda: bytes(range(256)) * 64,
        r"(schema file is not UTF-8 text \(byte 128\)|not readable YAML \('utf-8' codec can't decode byte 0x80)",
    ),
    (
        "python-object-tag",
        text("columns: !!python/object/apply:os.system ['touch pwned']\n"),
        r"(schema file is not valid YAML at line 1|not readable YAML) \(could not determine a constructor for the "
        r"tag 'tag:yaml\.org,2002:python/object/apply:os\.system'",
    ),
]
PARAMS = [pytest.param(make, pattern, id=case_id) for case_id, make, pattern in CASES]


@pytest.fixture
def project(project_copy: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(project_copy)
    return project_copy


def _break(project: Path, make: Callable[[], bytes]) -> Path:
    path = project / SCHEMA
    path.write_bytes(make())
    return path


@pytest.mark.parametrize(("make", "pattern"), PARAMS)
def test_gate_refuses_the_schema_file(run_cli, project: Path, make, pattern: str) -> None:
    _break(project, make)
    out = project / "reports"
    result = run_cli("gate", "--layer", "schema", "--config", "mlgate.toml", "--out", str(out))
    assert_one_line_error(result, 2, rf"^mlgate: error: \S*{re.escape(str(SCHEMA))}: {pattern}")
    assert not out.exists() or not any(out.iterdir()), "a report was written for a refused schema file"
    assert not (project / "pwned").exists()


@pytest.mark.parametrize(("make", "pattern"), PARAMS)
def test_the_strict_reader_refuses_the_schema_file(tmp_path: Path, make, pattern: str) -> None:
    path = tmp_path / "x.schema.yaml"
    path.write_bytes(make())
    started = time.perf_counter()
    tracemalloc.start()
    try:
        with pytest.raises(SchemaFileError) as info:
            load_schema_file(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = str(info.value)
    assert re.match(rf"{re.escape(str(path))}: {pattern}", message), message
    assert "\n" not in message and info.value.exit_code == 2
    assert time.perf_counter() - started < 5  # bounded, even for the bomb and the 2 MB file
    assert peak < 32 * 2**20, f"peak {peak / 2**20:.1f} MiB"


@pytest.mark.parametrize(("make", "pattern"), PARAMS)
def test_both_hooks_refuse_the_schema_file(project: Path, capsys, make, pattern: str) -> None:
    _break(project, make)
    assert check_config_main(["mlgate.toml"]) == 2
    assert check_data_main(["data/german_credit.csv"]) == 2
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert out == "" and len(lines) == 2, err
    for line in lines:
        assert re.match(rf"^mlgate: .*{re.escape(str(SCHEMA))}: {pattern}", line), line


def _bundle(folder: Path, schema: bytes) -> Path:
    """The files ``read_bundle`` reads before the model: the schema is refused before any model is loaded."""
    import json

    folder.mkdir()
    (folder / "schema.yaml").write_bytes(schema)
    (folder / "model.skops").write_bytes(b"not read: the schema is refused first")
    meta = {"sha256": "0" * 64, "trusted_types": [], "features": FEATURES, "threshold": 0.5, "positive_label": 1}
    (folder / "model.meta.json").write_text(json.dumps(meta))
    release = {"model_name": "german-credit", "model_version": "1", "model_sha256": "0" * 64}
    (folder / "release.json").write_text(json.dumps(release))
    return folder


@pytest.mark.parametrize(("make", "pattern"), PARAMS)
def test_the_serving_app_refuses_the_bundle_at_start(tmp_path: Path, capsys, make, pattern: str) -> None:
    bundle = _bundle(tmp_path / "bundle", make())
    assert serve_main(["--bundle", str(bundle), "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert re.match(rf"^error: {re.escape(str(bundle / 'schema.yaml'))}: {pattern}", err), err


def test_the_committed_schema_passes_every_reader(project: Path, tmp_path: Path, capsys) -> None:
    """The known-good case for every refusal above."""
    assert load_schema_file(project / SCHEMA).columns["age"].checks[0].params["max_value"] == 100
    assert check_config_main(["mlgate.toml"]) == 0
    assert check_data_main(["data/german_credit.csv"]) == 0
    from mlgate.pipeline.serve.loader import read_bundle

    bundle = _bundle(tmp_path / "bundle", GOOD.encode())
    assert [spec.name for spec in read_bundle(bundle).specs] == FEATURES
    assert capsys.readouterr() == ("", "")
    shutil.rmtree(bundle)
