"""Write every report file atomically: render all in memory, write to a temporary directory, rename into place."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from checks.report.html import render_html
from checks.report.jsonfile import render_json
from checks.report.junit import render_junit
from checks.report.markdown import render_markdown
from checks.result import GateReport

__all__ = ["REPORT_FILES", "render_all", "write_reports"]

#: Report kind -> file name inside the output directory.
REPORT_FILES: dict[str, str] = {
    "json": "report.json",
    "markdown": "report.md",
    "html": "report.html",
    "junit": "junit.xml",
}


def render_all(report: GateReport) -> dict[str, str]:
    """Every report kind rendered in memory (kind -> text), the same bytes that are logged and written."""
    return {
        "json": render_json(report),
        "markdown": render_markdown(report),
        "html": render_html(report),
        "junit": render_junit(report),
    }


def write_reports(report: GateReport, out_dir: Path, *, rendered: dict[str, str] | None = None) -> dict[str, Path]:
    """Write report.json, report.md, report.html and junit.xml into ``out_dir``; return kind -> path.

    Everything is rendered before anything is written, so a render error leaves ``out_dir`` untouched. The
    files are written and flushed to disk in a temporary directory inside ``out_dir`` (same file system), then
    each is renamed into place with ``os.replace``: a reader sees either the old or the new file, never a
    half-written one.
    """
    rendered = rendered or render_all(report)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".mlgate-report-", dir=out_dir))
    try:
        for kind, text in rendered.items():
            with open(staging / REPORT_FILES[kind], "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
        paths = {}
        for kind in rendered:
            target = out_dir / REPORT_FILES[kind]
            os.replace(staging / REPORT_FILES[kind], target)
            paths[kind] = target
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return paths
