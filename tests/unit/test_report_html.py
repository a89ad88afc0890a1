"""render_html: one self-contained page with plots, every check, escaped text, graceful when data is missing."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from fixtures.report_samples import failing_report, passing_report

from mlgate.checks.report import render_html
from mlgate.checks.report._common import STATUS_COLORS
from mlgate.checks.result import CheckResult, GateReport, Status

EXTERNAL = re.compile(r"""(?:src|href|xlink:href)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?(?:https?:)?//""", re.I)


@pytest.fixture(scope="module")
def failing_html() -> str:
    return render_html(failing_report())


def test_html_is_one_self_contained_file(failing_html: str) -> None:
    assert failing_html.startswith("<!DOCTYPE html>")
    assert not EXTERNAL.search(failing_html)
    assert "http://" not in failing_html and "https://" not in failing_html
    assert "<script" not in failing_html.lower()
    assert "<link" not in failing_html.lower()


def test_html_has_verdict_cards_plots_and_every_check(failing_html: str) -> None:
    report = failing_report()
    assert '<header class="banner fail" id="verdict">' in failing_html
    assert "6 blocking checks failed: do not release" in failing_html
    assert f"--fail: {STATUS_COLORS[Status.FAIL]};" in failing_html
    for result in report.results:
        assert f"<code>{result.id}</code>" in failing_html
    assert failing_html.count("<svg") == 5  # drift effects + distributions, balance, slices, confusion
    assert 'aria-label="Drift effect size per feature"' in failing_html
    assert 'aria-label="Confusion matrix"' in failing_html
    assert "waived by alice@example.org until 2025-07-01: re-coded job levels" in failing_html
    assert "&lt;missing&gt;" in failing_html  # the slice group label, escaped inside the SVG
    assert "<h2>All checks (18)</h2>" in failing_html


@pytest.fixture(scope="module")
def passing_html() -> str:
    return render_html(passing_report())


def test_html_passing_report_has_a_pass_banner(passing_html: str) -> None:
    html = passing_html
    assert '<header class="banner pass" id="verdict">' in html
    assert "No blocking failures: this candidate may be released" in html


def test_html_escapes_messages_and_ids() -> None:
    result = CheckResult(
        id="schema.col[<b>]",
        layer="schema",
        status=Status.FAIL,
        message='bad value <script>alert("x")</script> & more',
        observed="<img src=x>",
    )
    html = render_html(GateReport.collect([result], run={"project": "<i>p</i>"}))
    assert "<script>" not in html and "<img src=x>" not in html and "<i>p</i>" not in html
    assert "bad value &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; more" in html
    assert "schema.col[&lt;b&gt;]" in html


def test_html_plots_degrade_to_notes_when_data_is_missing() -> None:
    only_schema = GateReport.collect(
        [CheckResult(id="schema.columns", layer="schema", status=Status.PASS, message="all columns present")]
    )
    html = render_html(only_schema)
    assert "<svg" not in html
    assert "No drift results with effect sizes in this run" in html
    assert "No balance results with group shares in this run" in html
    assert "run.model.slices is missing" in html
    assert "run.model.confusion is missing" in html
    assert "did not run" in html  # the layer cards of layers without results


def test_html_degrades_on_malformed_plot_data() -> None:
    report = failing_report()
    drift = [r for r in report.results if r.layer == "drift"]
    malformed = [
        replace(r, details={**r.details, "shares": {"categories": 3}}) if r.id == "drift.feature[purpose]" else r
        for r in drift
    ]
    run = {"model": {"slices": {"housing": {"own": {"metrics": {"log_loss": 1.2}}}}, "confusion": {"tp": "many"}}}
    html = render_html(GateReport.collect(malformed, run=run))
    assert "No slice metrics recorded" in html  # no metric on a 0-1 scale to show
    assert "No confusion matrix recorded" in html
    assert html.count("<svg") == 2  # effects and distributions; the malformed panel is left blank


def test_html_is_deterministic(passing_html: str) -> None:
    assert render_html(passing_report()) == passing_html
