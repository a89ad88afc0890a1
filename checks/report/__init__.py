"""Report renderers for a :class:`checks.result.GateReport`.

- :func:`render_json` -> report.json (versioned, round-trips through ``GateReport.from_dict``)
- :func:`render_markdown` -> report.md, a GitHub pull-request comment under the 65,536-character limit
- :func:`render_html` -> report.html, one self-contained page with inline SVG plots
- :func:`render_junit` -> junit.xml, one test case per check
- :func:`print_summary` -> a rich table per layer and the verdict line
- :func:`write_reports` -> all four files, written atomically
"""

from mlgate.checks.report.html import render_html
from mlgate.checks.report.jsonfile import render_json
from mlgate.checks.report.junit import render_junit
from mlgate.checks.report.markdown import GITHUB_COMMENT_LIMIT, render_markdown
from mlgate.checks.report.terminal import print_summary
from mlgate.checks.report.write import REPORT_FILES, check_out_dir, render_all, write_reports

__all__ = [
    "GITHUB_COMMENT_LIMIT",
    "REPORT_FILES",
    "check_out_dir",
    "print_summary",
    "render_all",
    "render_html",
    "render_json",
    "render_junit",
    "render_markdown",
    "write_reports",
]
