"""An identical re-run is judged and reported but does not register or promote a new version (issue 9).

Identical: the champion's run recorded the same data fingerprint, config sha256 and uv.lock sha256, and the
candidate's model content (:func:`ci.identical.model_identity`) equals the champion's. Known-bad: a changed
config (one comment) or changed data is not identical and registers a new version as before.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from mlgate.ci.identical import model_identity
from mlgate.pipeline.artifact import load_model, save_model
from mlgate.pipeline.candidate import load_data, train_candidate
from mlgate.pipeline.config import load_config

LINE = "identical to champion v1: not registered"


def _fast(project: Path) -> Path:
    config = project / "mlgate.toml"
    config.write_text(config.read_text() + "\n[reproducibility]\nenabled = false\n")
    return config


def _run(capsys: pytest.CaptureFixture[str], config: Path, out: Path) -> tuple[int, str, dict]:
    from mlgate.ci.cli import main

    capsys.readouterr()
    code = main(["run", "--config", str(config), "--out", str(out)])
    printed = capsys.readouterr()
    report = json.loads((out / "report.json").read_text()) if (out / "report.json").exists() else {}
    return code, printed.out + printed.err, report


def _store(project: Path) -> tuple[int, str | None]:
    with sqlite3.connect(project / "mlruns" / "mlflow.db") as connection:
        versions = connection.execute("select count(*) from model_versions").fetchone()[0]
        row = connection.execute("select version from registered_model_aliases where alias = 'champion'").fetchone()
    return versions, None if row is None else str(row[0])


@pytest.fixture
def quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("MLGATE_TRACKING_URI", raising=False)


def test_model_identity_is_stable_across_saves_processes_and_loads(tmp_path: Path, german_config_path: Path) -> None:
    config = load_config(german_config_path)
    data = load_data(config)
    model = train_candidate(config, data, random_state=config.model.random_state).pipeline
    first = model_identity(model)
    sha = save_model(model, tmp_path / "model.skops")
    assert model_identity(load_model(tmp_path / "model.skops", expected_sha256=sha)) == first
    code = (
        "from mlgate.pipeline.config import load_config; from mlgate.pipeline.candidate import load_data, "
        "train_candidate; from mlgate.ci.identical import model_identity; "
        f"c = load_config({str(german_config_path)!r}); "
        "print(model_identity(train_candidate(c, load_data(c), random_state=c.model.random_state).pipeline))"
    )
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert other == first
    tuned = config.model_copy(update={"model": config.model.model_copy(update={"params": {"C": 0.3}})})
    assert model_identity(train_candidate(tuned, data, random_state=config.model.random_state).pipeline) != first


def test_an_identical_rerun_is_reported_and_leaves_the_registry_unchanged(
    project_copy: Path, capsys: pytest.CaptureFixture[str], quiet: None
) -> None:
    config = _fast(project_copy)
    code, _, first = _run(capsys, config, project_copy / "first")
    assert code == 0 and first["run"]["registry"]["promoted"] is True
    assert _store(project_copy) == (1, "1")

    code, printed, again = _run(capsys, config, project_copy / "again")
    assert code == 0, printed
    assert _store(project_copy) == (1, "1")  # no version registered, champion not moved
    registry = again["run"]["registry"]
    assert registry["identical_to_champion"] == "1" and registry["registered"] is False
    assert registry["version"] == "1" and registry["promoted"] is False and registry["champion_after"] == "1"
    assert registry["run_id"] == first["run"]["registry"]["run_id"]  # the champion's run, for `mlgate release`
    assert f"registry: {LINE}" in printed
    for name in ("report.md", "report.html", "junit.xml"):
        assert LINE in (project_copy / "again" / name).read_text(), name


def test_a_changed_config_or_data_is_not_identical(
    project_copy: Path, capsys: pytest.CaptureFixture[str], quiet: None
) -> None:
    config = _fast(project_copy)
    assert _run(capsys, config, project_copy / "first")[0] == 0
    config.write_text(config.read_text() + "# a comment changes the config's sha256\n")
    code, printed, second = _run(capsys, config, project_copy / "second")
    assert code == 0, printed
    assert "identical_to_champion" not in second["run"]["registry"] and LINE not in printed
    assert _store(project_copy) == (2, "2")
    recipe = next(r for r in second["results"] if r["id"] == "quality.champion_recipe")  # the gated run refits
    assert recipe["status"] == "pass" and "the candidate's recipe is champion" in recipe["message"]
    data = project_copy / "data" / "german_credit.csv"
    lines = data.read_text().splitlines()
    data.write_text("\n".join(lines[:-1]) + "\n")  # one applicant fewer
    code, printed, third = _run(capsys, config, project_copy / "third")
    assert code == 0, printed
    assert third["run"]["registry"]["version"] == "3" and _store(project_copy) == (3, "3")
