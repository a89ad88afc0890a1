"""Write every report file atomically: render all in memory, write to a temporary directory, rename into place."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from mlgate.checks.report.html import render_html
from mlgate.checks.report.jsonfile import render_json
from mlgate.checks.report.junit import render_junit
from mlgate.checks.report.markdown import render_markdown
from mlgate.checks.result import GateReport
from mlgate.pipeline.errors import OutputError
from mlgate.pipeline.folders import Problem, folder_problem
from mlgate.pipeline.redact import redact_text

__all__ = ["REPORT_FILES", "check_out_dir", "render_all", "write_reports"]

#: Report kind -> file name inside the output directory.
REPORT_FILES: dict[str, str] = {
    "json": "report.json",
    "markdown": "report.md",
    "html": "report.html",
    "junit": "junit.xml",
}


def render_all(report: GateReport) -> dict[str, str]:
    """Every report kind rendered in memory (kind -> text), the same bytes that are logged and written.

    Each text goes through :func:`pipeline.redact.redact_text` last: the data source and tracking URI are redacted
    where they are recorded, and this makes sure no URL password or secret parameter quoted in any message
    (a driver's error, a check's detail) reaches a report file either.
    """
    rendered = {
        "json": render_json(report),
        "markdown": render_markdown(report),
        "html": render_html(report),
        "junit": render_junit(report),
    }
    return {kind: redact_text(text) for kind, text in rendered.items()}


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def check_out_dir(out_dir: Path) -> None:
    """Refuse (OutputError, exit 2) a report folder that is not, and cannot become, a writable folder.

    Creates nothing (:func:`pipeline.folders.folder_problem`): a gated run checks ``--out`` this way before any
    work, so bad input later in the run still leaves nothing behind, and it never registers or promotes a model
    whose report it then cannot write.
    """
    problem = folder_problem(out_dir)
    if problem is None:
        return
    if problem.kind is Problem.NOT_A_FOLDER:
        raise OutputError(f"--out {out_dir}: exists and is not a folder; give a folder for the report files")
    reason = problem.reason or (
        f"{problem.at} is a broken symbolic link" if problem.kind is Problem.BROKEN_LINK else f"{problem.at} is a file"
    )
    raise OutputError(f"--out {out_dir}: cannot write report files there ({reason})")


def write_reports(
    report: GateReport,
    out_dir: Path,
    *,
    rendered: dict[str, str] | None = None,
    attachments: Mapping[str, Path] | None = None,
) -> dict[str, Path]:
    """Write report.json, report.md, report.html and junit.xml into ``out_dir``; return kind -> path.

    ``attachments`` (a name relative to ``out_dir`` -> a file) are copied beside them the same way: deepchecks'
    own HTML reports (``deepchecks/<suite>.html``), which the report links to; their names are the kinds returned.

    Everything is rendered before anything is written, so a render error leaves ``out_dir`` untouched. The
    files are written and flushed to disk in a temporary directory inside ``out_dir`` (same file system), then
    each is renamed into place with ``os.replace``: a reader sees either the old or the new file, never a
    half-written one.
    """
    rendered = rendered or render_all(report)
    out_dir = Path(out_dir)
    check_out_dir(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".mlgate-report-", dir=out_dir))
    except OSError as exc:
        raise OutputError(f"--out {out_dir}: cannot write report files there ({_reason(exc)})") from exc
    try:
        for kind, text in rendered.items():
            with open(staging / REPORT_FILES[kind], "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
        names = {kind: REPORT_FILES[kind] for kind in rendered}
        for name, source in (attachments or {}).items():
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, staging / name)
            names[name] = name
        paths = {}
        for kind, name in names.items():
            target = out_dir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / name, target)
            paths[kind] = target
    except OSError as exc:
        raise OutputError(f"--out {out_dir}: writing the report files failed ({_reason(exc)})") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return paths
