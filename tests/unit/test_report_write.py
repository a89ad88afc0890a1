"""write_reports: writes the four files atomically and nothing at all when a renderer fails."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from fixtures.report_samples import passing_report

from mlgate.checks.report import write as write_module
from mlgate.checks.report import write_reports
from mlgate.checks.result import CheckResult, GateReport, Status
from mlgate.pipeline.errors import OutputError


@pytest.fixture
def small_report() -> GateReport:
    """No plot data: renders in milliseconds, for the tests about files rather than content."""
    return GateReport.collect([CheckResult(id="schema.columns", layer="schema", status=Status.PASS, message="ok")])


def test_write_reports_writes_all_four_files(tmp_path: Path) -> None:
    report = passing_report()
    out = tmp_path / "reports" / "run-1"
    paths = write_reports(report, out)
    assert paths == {
        "json": out / "report.json",
        "markdown": out / "report.md",
        "html": out / "report.html",
        "junit": out / "junit.xml",
    }
    assert sorted(p.name for p in out.iterdir()) == ["junit.xml", "report.html", "report.json", "report.md"]
    assert GateReport.from_dict(json.loads(paths["json"].read_text())).to_dict() == report.to_dict()
    assert paths["markdown"].read_text().startswith("## mlgate release gate: **PASSED**")
    assert "<svg" in paths["html"].read_text()
    assert ET.parse(paths["junit"]).getroot().tag == "testsuites"


def test_write_reports_replaces_old_files(tmp_path: Path, small_report: GateReport) -> None:
    (tmp_path / "report.md").write_text("stale")
    write_reports(small_report, tmp_path)
    assert (tmp_path / "report.md").read_text() != "stale"
    assert len(list(tmp_path.iterdir())) == 4  # no temporary directory left behind


@pytest.mark.parametrize("renderer", ["render_json", "render_markdown", "render_html", "render_junit"])
def test_write_reports_writes_nothing_when_a_renderer_raises(
    tmp_path: Path, monkeypatch, renderer: str, small_report: GateReport
) -> None:
    def boom(report: GateReport) -> str:
        raise RuntimeError(f"{renderer} broke")

    monkeypatch.setattr(write_module, renderer, boom)
    (tmp_path / "report.json").write_text("{}")
    with pytest.raises(RuntimeError, match=f"{renderer} broke"):
        write_reports(small_report, tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]
    assert (tmp_path / "report.json").read_text() == "{}"


def test_write_reports_cleans_up_when_writing_fails(tmp_path: Path, monkeypatch, small_report: GateReport) -> None:
    def no_rename(src, dst) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(write_module.os, "replace", no_rename)
    with pytest.raises(OutputError, match=r"--out .*: writing the report files failed \(disk full\)"):
        write_reports(small_report, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_check_out_dir_leaves_nothing_behind(tmp_path: Path) -> None:
    from mlgate.checks.report import check_out_dir

    check_out_dir(tmp_path / "a" / "b" / "reports")
    assert list(tmp_path.iterdir()) == []


def test_check_out_dir_refuses_a_file(tmp_path: Path) -> None:
    from mlgate.checks.report import check_out_dir

    taken = tmp_path / "taken"
    taken.write_text("x")
    with pytest.raises(OutputError, match=r"--out .*taken: exists and is not a folder"):
        check_out_dir(taken)
    pattern = r"--out .*taken/reports: cannot write report files there \(.*taken is a file\)"
    with pytest.raises(OutputError, match=pattern):
        check_out_dir(taken / "reports")
