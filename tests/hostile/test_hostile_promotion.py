"""No promotion without a report: everything that can fail before the alias moves is done before it.

An unusable ``--out`` is refused before anything is trained or registered (exit 2, nothing in the store); the
report files exist when the promotion happens; a promotion that fails after the reports were written leaves
``champion`` where it was, rewrites the reports to say so, and exits 3 with one line.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from hostile_helpers import assert_one_line_error

from mlgate.pipeline.errors import RegistryError
from mlgate.pipeline.registry import Registry

REPORTS = ("report.json", "report.md", "report.html", "junit.xml")


def _fast(project: Path) -> Path:
    """The bundled project without the fresh-process retrain (not what these cases are about)."""
    config = project / "mlgate.toml"
    config.write_text(config.read_text() + "\n[reproducibility]\nenabled = false\n")
    return config


def _versions(project: Path) -> int:
    db = project / "mlruns" / "mlflow.db"
    if not db.exists():
        return 0
    with sqlite3.connect(db) as connection:
        return connection.execute("select count(*) from model_versions").fetchone()[0]


def _champion(project: Path) -> str | None:
    db = project / "mlruns" / "mlflow.db"
    with sqlite3.connect(db) as connection:
        row = connection.execute("select version from registered_model_aliases where alias = 'champion'").fetchone()
    return None if row is None else str(row[0])


@pytest.mark.parametrize(
    ("make_out", "pattern"),
    [
        pytest.param(
            lambda p: (p / "taken.txt", (p / "taken.txt").write_text("x"))[0],
            r"exists and is not a folder",
            id="out-is-a-file",
        ),
        pytest.param(
            lambda p: (p / "file", (p / "file").write_text("x"))[0] / "reports",
            r"cannot write report files there",
            id="out-under-a-file",
        ),
        pytest.param(
            lambda p: Path("/proc/mlgate-reports"),
            r"cannot write report files there",
            id="out-on-a-read-only-file-system",
        ),
    ],
)
def test_unusable_out_is_refused_before_anything_is_registered(project_copy, run_cli, make_out, pattern) -> None:
    config = _fast(project_copy)
    out = make_out(project_copy)
    result = run_cli("run", "--config", str(config), "--out", str(out))
    assert_one_line_error(result, 2, r"--out .*" + pattern)
    assert _versions(project_copy) == 0
    assert not (project_copy / "mlruns" / "mlflow.db").exists()


def test_reports_exist_before_the_champion_moves(project_copy, run_cli, monkeypatch) -> None:
    config = _fast(project_copy)
    out = project_copy / "reports"
    seen: list[dict[str, object]] = []
    original = Registry.promote

    def promote(self, version, **kwargs):
        report = json.loads((out / "report.json").read_text())
        seen.append({"files": sorted(p.name for p in out.iterdir()), "registry": report["run"]["registry"]})
        return original(self, version, **kwargs)

    monkeypatch.setattr(Registry, "promote", promote)
    result = run_cli("run", "--config", str(config), "--out", str(out))
    assert result.code == 0, result.stderr
    assert len(seen) == 1
    assert set(REPORTS) <= set(seen[0]["files"])
    assert seen[0]["registry"]["promoted"] is True
    assert _champion(project_copy) == "1"


def test_a_failed_promotion_is_reported_as_such(project_copy, run_cli, monkeypatch) -> None:
    config = _fast(project_copy)
    out = project_copy / "reports"

    def promote(self, version, **kwargs):
        assert (out / "report.json").is_file()  # written before the commit point
        raise RegistryError("promoting version 1 failed: database is locked")

    monkeypatch.setattr(Registry, "promote", promote)
    result = run_cli("run", "--config", str(config), "--out", str(out))
    assert_one_line_error(
        result,
        3,
        r"promoting version 1 of 'german-credit' failed after the gates ran .*"
        r"'champion' is unchanged \(none\), its reports in .* say so",
    )
    report = json.loads((out / "report.json").read_text())
    assert report["run"]["registry"]["promoted"] is False
    assert "database is locked" in report["run"]["registry"]["error"]
    assert "not promoted; promotion failed: promoting version 1 failed" in (out / "report.md").read_text()
    assert _champion(project_copy) is None
