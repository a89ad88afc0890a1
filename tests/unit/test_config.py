from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.errors import ConfigError

MINIMAL = """
[data]
source = "data.csv"
target = "y"
positive_label = 1
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mlgate.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_bundled_config_loads_with_paths_resolved(german_config_path: Path) -> None:
    config = load_config(german_config_path)
    assert config.data.target == "risk"
    assert Path(config.data_source).is_file()
    assert config.schema_path.is_absolute()
    assert config.tracking_uri.startswith("sqlite:////")
    assert len(config.sha256) == 64


def test_minimal_config_gets_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL))
    assert config.split.random_state == 42
    assert config.drift.correction == "holm"
    assert config.data_source == str(tmp_path / "data.csv")


def test_tracking_uri_can_be_overridden_by_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLGATE_TRACKING_URI", "postgresql://mlflow@db/mlflow")
    config = load_config(write(tmp_path, MINIMAL))
    assert config.tracking_uri == "postgresql://mlflow@db/mlflow"
    assert config.registry_uri == "postgresql://mlflow@db/mlflow"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (MINIMAL + "\n[drift]\nalpah = 0.1\n", r"unknown key 'drift\.alpah'"),
        (MINIMAL + "\n[drift]\nalpha = 'high'\n", r"key 'drift\.alpha': Input should be a valid number"),
        (MINIMAL + "\n[drift]\nalpha = 1.5\n", r"key 'drift\.alpha': Input should be less than 1"),
        ("[data]\nsource = 'x.csv'\npositive_label = 1\n", r"missing required key 'data\.target'"),
        (
            MINIMAL + "\n[[balance.sensitive]]\ncolumn = 'sex'\nreference = {a = 0.5, b = 0.6}\n",
            r"reference shares of 'sex' sum to 1\.100",
        ),
        (MINIMAL + "\n[features]\ninclude = ['a']\nexclude = ['b']\n", "either `include` or `exclude`"),
        ("[data]\nsource = 'sqlite:///x.db'\ntarget = 'y'\npositive_label = 1\n", "`query` is required"),
        ("[data\nsource=", "not valid TOML"),
        ("path = 'x'\n" + MINIMAL, "unknown key 'path'"),
    ],
)
def test_bad_config_is_one_line_error_naming_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as info:
        load_config(path)
    assert "\n" not in str(info.value)
    assert str(path) in str(info.value)
    assert info.value.exit_code == 2


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")


def test_config_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "mlgate.toml"
    path.write_bytes(b"name = '\xff\xfe'\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(path)
