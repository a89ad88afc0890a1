"""render_json, render_markdown and print_summary: round trip, content, ordering, size limit, escaping."""

from __future__ import annotations

import io
import json

import pytest
from fixtures.report_samples import failing_report, many_checks_report, passing_report
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

import mlgate.checks.report
from mlgate.checks.report import GITHUB_COMMENT_LIMIT, print_summary, render_json, render_markdown
from mlgate.checks.result import LAYERS, CheckResult, GateReport, Interval, Status

FAILING_IDS = [
    "quality.error",
    "schema.column[credit_amount]",
    "balance.sensitive_share[age=18-24]",
    "drift.feature[credit_amount]",
    "drift.feature[purpose]",
    "quality.slice_metric[recall|housing=rent]",
]


def test_public_names_are_exported() -> None:
    assert sorted(mlgate.checks.report.__all__) == [
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


@pytest.mark.parametrize("build", [passing_report, failing_report])
def test_json_round_trips_through_from_dict(build) -> None:
    report = build()
    text = render_json(report)
    data = json.loads(text)
    assert data["report_version"] == report.version
    assert list(data) == sorted(data)  # sorted keys
    assert text.startswith('{\n  "')  # indent 2
    again = GateReport.from_dict(data)
    assert again.to_dict() == report.to_dict()
    assert render_json(again) == text


def test_json_writes_null_for_non_finite_numbers() -> None:
    result = CheckResult(
        id="quality.metric[auc]",
        layer="quality",
        status=Status.ERROR,
        message="auc undefined",
        observed=float("nan"),
        interval=Interval(float("-inf"), 1.0, 0.95),
    )
    text = render_json(GateReport.collect([result]))
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text)["results"][0]["observed"] is None


_text = st.text(st.characters(codec="utf-8"), max_size=40)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(LAYERS),
            st.sampled_from(list(Status)),
            _text,
            st.one_of(st.none(), st.floats(allow_nan=True), st.integers(), _text),
        ),
        max_size=12,
    )
)
def test_json_round_trip_property(rows) -> None:
    results = [
        CheckResult(id=f"{layer}.c{i}", layer=layer, status=status, message=message, observed=observed)
        for i, (layer, status, message, observed) in enumerate(rows)
    ]
    report = GateReport.collect(results, run={"project": "p"})
    again = GateReport.from_dict(json.loads(render_json(report)))
    assert again.to_dict() == report.to_dict()
    assert again.passed is report.passed


def test_markdown_failing_report_lists_failures_first_with_messages() -> None:
    report = failing_report()
    text = render_markdown(report)
    assert text.splitlines()[0] == "## mlgate release gate: **FAILED** — 6 blocking checks failed"
    for check_id in FAILING_IDS:
        assert f"`{check_id}`" in text
    assert "column 'credit_amount': 12 values below 250 (min allowed 250)" in text
    # failing, then waived, then warnings, then the collapsed passing checks
    order = [
        text.index(h)
        for h in (
            "### Failing checks (7)",
            "### Waived checks (1)",
            "### Warnings (1)",
            "<details><summary>Passing checks (8)</summary>",
        )
    ]
    assert order == sorted(order)
    assert "waived by alice@example.org until 2025-07-01: re-coded job levels" in text
    assert "non-blocking" in text
    assert "| drift | **FAIL** | 3 | · | 2 | 1 | · | · |" in text  # pass/warn/fail/waived/error/skipped
    assert "**model** german-credit v7" in text and "not promoted" in text
    assert "**fingerprint** 3a7bd3e2360a" in text


def test_markdown_passing_report_says_passed_and_promoted() -> None:
    text = render_markdown(passing_report())
    assert text.startswith("## mlgate release gate: **PASSED** — no blocking failures")
    assert "FAILED" not in text
    assert "promoted to champion (champion 6 → 7)" in text
    assert "### Failing checks" not in text


def test_markdown_escapes_html_and_table_pipes() -> None:
    result = CheckResult(
        id="schema.x", layer="schema", status=Status.FAIL, message="bad <script>alert(1)</script>\nsecond line"
    )
    text = render_markdown(GateReport.collect([result], run={"project": "a|b"}))
    assert "<script>" not in text
    assert "&lt;script>alert(1)&lt;/script> second line" in text  # only a '<' that opens a tag is escaped
    assert "**project** a\\|b" in text


def test_markdown_is_truncated_under_the_github_limit_with_a_count() -> None:
    report = many_checks_report(10_000)
    text = render_markdown(report)
    assert len(text) <= GITHUB_COMMENT_LIMIT
    assert "### Failing checks (3334)" in text
    shown = text.count("- **FAIL** `schema.column[")
    assert 0 < shown < 3334
    assert f"- … and {3334 - shown} more left out to stay under GitHub's comment limit" in text
    assert "more checks left out" in text  # the passing list did not fit at all
    assert text.rstrip().endswith("junit.xml.</sub>")


@given(st.integers(min_value=0, max_value=400), st.integers(min_value=2_000, max_value=20_000))
def test_markdown_never_exceeds_the_limit(n, limit) -> None:
    assert len(render_markdown(many_checks_report(n), limit=limit)) <= limit


def _printed(report: GateReport, **kwargs) -> str:
    buffer = io.StringIO()
    print_summary(report, Console(file=buffer, width=160, color_system=None), **kwargs)
    return buffer.getvalue()


def test_terminal_summary_has_a_table_per_layer_and_the_verdict() -> None:
    text = _printed(failing_report())
    rows = {
        line.split()[1]: line.split()[3]
        for line in text.splitlines()
        if line.startswith("│ ") and len(line.split()) > 3 and line.split()[1] in LAYERS
    }
    assert rows["schema"] == "FAIL" and rows["balance"] == "FAIL" and rows["drift"] == "FAIL"
    assert rows["quality"] == "ERROR" and rows["reproducibility"] == "SKIPPED"
    assert "schema.column[credit_amount]" in text
    assert "waived by alice@example.org" in text
    assert text.rstrip().splitlines()[-1].startswith("mlgate:  FAILED   18 checks: 8 pass, 1 warn, 6 fail")
    assert "PASSED" in _printed(passing_report()).splitlines()[-1]


def test_terminal_summary_limits_rows_and_does_not_read_markup() -> None:
    result = CheckResult(id="schema.m", layer="schema", status=Status.FAIL, message="[red]literal[/red] text")
    text = _printed(GateReport.collect([result, *many_checks_report(90).results]), max_rows_per_layer=10)
    assert "[red]literal[/red] text" in text  # printed as is, not interpreted as rich markup
    assert "… 51 more (30 warn, 21 fail)" in text  # 61 need attention: the 10 most severe are shown
