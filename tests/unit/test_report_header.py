"""Every report's header has every row count from the file to the split, and the registry outcome.

Issue 9: report.json recorded the dropped duplicates, but Markdown, HTML, JUnit and the terminal said
"2,207 rows" while the split held 1,483. Also: report.md showed ``&lt;``/``&gt;`` for every < and >; only what
Markdown would interpret may be escaped (checked by rendering it with a CommonMark parser, as GitHub does).
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from html import unescape
from typing import Any

import pytest
from fixtures.report_samples import passing_report
from markdown_it import MarkdownIt
from rich.console import Console

from mlgate.checks.report import print_summary, render_html, render_junit, render_markdown
from mlgate.checks.report._common import row_counts, row_flow, split_sizes
from mlgate.checks.result import CheckResult, GateReport, Status

FLOW = "2,207 read (11 columns) − 12 without a label − 712 duplicates dropped = 1,483 used"
SPLIT = "train 779 · validation 260 · test 444 (random_state 42)"


def _report(prepare: dict[str, Any], *, registry: dict[str, Any] | None = None) -> GateReport:
    run: dict[str, Any] = {
        "project": "crew",
        "data": {
            "source": "crew.csv",
            "rows": 2207,
            "columns": 11,
            "prepare": prepare,
            "split": {"train": 779, "validation": 260, "test": 444, "random_state": 42},
        },
    }
    if registry is not None:
        run["registry"] = registry
    result = CheckResult("schema.columns", "schema", Status.PASS, "all columns present")
    return GateReport.collect([result], run=run)


DROPPED = {
    "rows_in": 2207,
    "missing_target_dropped": 12,
    "duplicate_rows": 712,
    "duplicates_dropped": 712,
    "rows_out": 1483,
}


def _terminal(report: GateReport) -> str:
    out = io.StringIO()
    print_summary(report, Console(file=out, width=200, color_system=None))
    return out.getvalue()


def _junit_properties(report: GateReport) -> list[dict[str, str]]:
    root = ET.fromstring(render_junit(report).split("\n", 1)[1])
    return [{p.get("name", ""): p.get("value", "") for p in suite.iter("property")} for suite in root.iter("testsuite")]


def test_the_row_flow_names_every_change() -> None:
    report = _report(DROPPED)
    assert row_flow(report) == FLOW
    assert split_sizes(report) == SPLIT
    assert row_counts(report) == {
        "rows_read": 2207,
        "rows_without_label_dropped": 12,
        "duplicate_rows": 712,
        "duplicates_dropped": 712,
        "rows_used": 1483,
        "rows_train": 779,
        "rows_validation": 260,
        "rows_test": 444,
    }


def test_kept_duplicates_are_named_too() -> None:
    kept = {"rows_in": 1500, "missing_target_dropped": 0, "duplicate_rows": 500, "duplicates_dropped": 0}
    assert row_flow(_report({**kept, "rows_out": 1500})) == (
        "1,500 read (11 columns) = 1,500 used (500 of them duplicates, kept)"
    )


@pytest.mark.parametrize("render", ["markdown", "html", "terminal", "junit"])
def test_every_format_shows_the_row_flow_and_the_split(render: str) -> None:
    report = _report(DROPPED)
    if render == "junit":
        for properties in _junit_properties(report):
            assert properties["rows"] == FLOW and properties["split"] == SPLIT
            assert properties["rows_read"] == "2207" and properties["rows_used"] == "1483"
            assert properties["duplicates_dropped"] == "712" and properties["rows_test"] == "444"
        return
    text = {"markdown": render_markdown, "html": render_html, "terminal": _terminal}[render](report)
    assert FLOW in text and SPLIT in text
    assert "2,207 rows" not in text and "2207 rows" not in text


def test_a_report_without_prepare_counts_still_renders() -> None:
    report = passing_report()  # an older report: prepare holds other keys
    assert row_flow(report) == "1,000 read (10 columns) = 1,000 used"
    assert "1,000 read (10 columns)" in render_markdown(report)
    bare = GateReport.collect([CheckResult("schema.columns", "schema", Status.PASS, "ok")], run={})
    assert row_flow(bare) is None and split_sizes(bare) is None and row_counts(bare) == {}
    assert "rows" not in _junit_properties(bare)[0]


def test_an_identical_rerun_is_said_in_every_header() -> None:
    registry = {"model_name": "german-credit", "version": None, "identical_to_champion": "3", "promoted": False}
    report = _report(DROPPED, registry=registry)
    line = "identical to champion v3: not registered"
    assert line in render_markdown(report) and line in render_html(report) and line in _terminal(report)
    assert _junit_properties(report)[0]["registry"] == line
    assert "not promoted" not in _terminal(report)


# ------------------------------------------------------------------------------------------- Markdown escaping
def _rendered(message: str, *, slice_: str | None = None) -> tuple[str, str]:
    result = CheckResult("drift.feature[x]", "drift", Status.FAIL, message, slice=slice_)
    text = render_markdown(GateReport.collect([result], run={"project": "p"}))
    return text, MarkdownIt("commonmark").render(text)


def test_comparison_signs_are_shown_as_written() -> None:
    text, html = _rendered("p < 0.05 and effect > 0.1; age >= 18, x<=y, a -> b & c")
    assert "p < 0.05 and effect > 0.1; age >= 18, x<=y, a -> b & c" in text
    assert "&lt;" not in text and "&gt;" not in text and "&amp;" not in text
    assert "p &lt; 0.05 and effect &gt; 0.1; age &gt;= 18, x&lt;=y, a -&gt; b &amp; c" in html  # literal text


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        "<img src=https://evil.example/p.gif>",
        "</details><details open>",
        "<!-- hidden -->",
        "<https://evil.example>",
        "![pixel](https://evil.example/p.gif)",
        "[click](https://evil.example)",
        "&lt;img src=x&gt;",
    ],
)
def test_data_in_a_message_or_slice_cannot_inject_markup(hostile: str) -> None:
    for text, html in (_rendered(f"value {hostile} seen"), _rendered("bad", slice_=f"group={hostile}")):
        assert "<img" not in html and "<script" not in html and "<a " not in html and "<!--" not in html
        assert html.count("<details") == text.count("<details>")  # only mlgate's own collapsed sections
        assert hostile in unescape(re.sub(r"<[^>]+>", "", html))  # shown as written, as text
