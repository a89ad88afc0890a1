"""The pre-commit hooks: mlgate-check-config and mlgate-check-data (exit codes, one-line messages, no heavy imports)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from mlgate.ci.hooks import check_config_main, check_data_main


@pytest.fixture
def project(project_copy: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(project_copy)
    return project_copy


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


# ------------------------------------------------------------ check-config


def test_check_config_passes_the_bundled_config(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert check_config_main([]) == 0
    assert check_config_main(["mlgate.toml"]) == 0
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('target = "risk"', 'target = "risk"\nsauce = 1', r"mlgate: .*mlgate\.toml: unknown key 'data\.sauce'"),
        ("[split]", "[split", r"mlgate: .*mlgate\.toml: not valid TOML"),
        ("test_size = 0.3", "test_size = 3", r"mlgate: .*mlgate\.toml: key 'split\.test_size': .*\(got 3\)"),
        (
            'schema = "schemas/german_credit.schema.yaml"',
            'schema = "schemas/nope.yaml"',
            r"mlgate: mlgate\.toml: schema file 'schemas/nope\.yaml' \(key 'schema'\) not found at .*nope\.yaml",
        ),
        (
            'source = "data/german_credit.csv"',
            'source = "data/gone.csv"',
            r"mlgate: mlgate\.toml: data file 'data/gone\.csv' \(key 'data\.source'\) not found",
        ),
    ],
)
def test_check_config_reports_a_broken_config_on_one_line(
    project: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, message: str
) -> None:
    replace_in(project / "mlgate.toml", old, new)
    assert check_config_main(["mlgate.toml"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert re.match(message, err), err


def test_check_config_checks_every_file_given(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "mlgate-other.toml").write_text("[data]\nsource = 'x.csv'\n", encoding="utf-8")
    assert check_config_main(["mlgate.toml", "mlgate-other.toml", "missing.toml"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "mlgate: mlgate-other.toml: missing required key 'data.target'",
        "mlgate: missing.toml: config file not found",
    ]


# ------------------------------------------------------------ check-data


def test_check_data_passes_clean_data(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert check_data_main(["data/german_credit.csv"]) == 0
    assert check_data_main([]) == 0  # no file names: every config's own data source
    assert capsys.readouterr() == ("", "")


def test_check_data_fails_an_out_of_range_value(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the first data row is a 67-year-old; make them 7
    replace_in(project / "data" / "german_credit.csv", "radio/TV,67\n", "radio/TV,7\n")
    assert check_data_main(["data/german_credit.csv"]) == 1
    out, err = capsys.readouterr()
    assert err == ""
    assert out.splitlines() == [
        "data/german_credit.csv: column 'age': 1 value below 18 (min allowed 18, lowest 7); first rows: 0; "
        "fix the data, or if the change is intended update schemas/german_credit.schema.yaml"
    ]


def test_check_data_reports_every_failing_column(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    replace_in(
        project / "data" / "german_credit.csv",
        "1,male,2,own,not_known,little,1169,6,radio/TV,67",
        "1,robot,2,own,not_known,little,1169,600,radio/TV,67",
    )
    assert check_data_main(["data/german_credit.csv"]) == 1
    out = capsys.readouterr().out
    assert "column 'sex': 1 value not among the allowed categories ['female', 'male'] (observed 'robot')" in out
    assert "column 'duration': 1 value above 84 (max allowed 84, highest 600)" in out


def test_check_data_ignores_files_no_config_uses(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "other.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    assert check_data_main(["other.csv"]) == 0
    assert capsys.readouterr() == ("", "")


def test_check_data_finds_the_config_given_with_option(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "conf").mkdir()
    text = (project / "mlgate.toml").read_text(encoding="utf-8")
    text = text.replace('"schemas/', '"../schemas/').replace('"data/german_credit.csv"', '"../data/bad.csv"')
    (project / "conf" / "mlgate.toml").write_text(text, encoding="utf-8")
    csv = (project / "data" / "german_credit.csv").read_text(encoding="utf-8")
    (project / "data" / "bad.csv").write_text(csv.replace(",own,", ",igloo,", 1), encoding="utf-8")
    assert check_data_main(["data/bad.csv"]) == 0  # the default config does not use bad.csv
    assert check_data_main(["--config", "mlgate.toml", "--config", "conf/mlgate.toml", "data/bad.csv"]) == 1
    assert "data/bad.csv: column 'housing': 1 value not among the allowed categories" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (
            lambda p: (p / "schemas" / "german_credit.schema.yaml").unlink(),
            r"mlgate: .*german_credit\.schema\.yaml: schema file not found",
        ),
        (
            lambda p: (p / "schemas" / "german_credit.schema.yaml").write_text("columns: [", encoding="utf-8"),
            r"mlgate: .*german_credit\.schema\.yaml: schema file is not valid YAML",
        ),
        (
            lambda p: replace_in(p / "data" / "german_credit.csv", "risk,", "label,"),
            r"mlgate: .*german_credit\.csv: target column 'risk' not found",
        ),
        (lambda p: replace_in(p / "mlgate.toml", "[split]", "[split"), r"mlgate: mlgate\.toml: not valid TOML"),
    ],
)
def test_check_data_user_errors_exit_2_with_one_line(
    project: Path, capsys: pytest.CaptureFixture[str], setup, message: str
) -> None:
    setup(project)
    assert check_data_main(["data/german_credit.csv"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert re.match(message, err), err


def test_hooks_do_not_import_sklearn_or_mlflow(project: Path) -> None:
    code = (
        "import sys\n"
        "import mlgate.ci.hooks as hooks\n"
        "light = sorted(m for m in sys.modules if m.split('.')[0] in {'pandas', 'pandera', 'pydantic'})\n"
        "rc = hooks.check_config_main([]) + hooks.check_data_main(['data/german_credit.csv'])\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'sklearn', 'mlflow', 'scipy', 'matplotlib'})\n"
        "print(rc, len(light), heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=project, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "0 0 []", done.stderr
