"""render_junit: parses, one suite per layer, counts match the report, statuses map to JUnit elements."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from fixtures.report_samples import failing_report, passing_report
from hypothesis import given
from hypothesis import strategies as st

from mlgate.checks.report import render_junit
from mlgate.checks.result import LAYERS, CheckResult, GateReport, Status


def _case(root: ET.Element, name: str) -> ET.Element:
    [case] = [c for c in root.iter("testcase") if c.get("name") == name]
    return case


@pytest.mark.parametrize("build", [passing_report, failing_report])
def test_junit_counts_match_the_report(build) -> None:
    report = build()
    root = ET.fromstring(render_junit(report))
    counts = report.counts()
    assert root.tag == "testsuites"
    assert int(root.get("tests")) == len(report.results) == len(list(root.iter("testcase")))
    assert int(root.get("failures")) == counts["fail"] == len(list(root.iter("failure")))
    assert int(root.get("errors")) == counts["error"] == len(list(root.iter("error")))
    assert int(root.get("skipped")) == counts["skipped"] == len(list(root.iter("skipped")))
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [f"mlgate.{layer}" for layer in report.by_layer()]
    for suite in suites:
        layer = suite.get("name").removeprefix("mlgate.")
        results = report.by_layer()[layer]
        assert int(suite.get("tests")) == len(results) == len(suite.findall("testcase"))
        assert int(suite.get("failures")) == sum(r.status is Status.FAIL for r in results)
        assert {c.get("classname") for c in suite.findall("testcase")} == {f"mlgate.{layer}"}


def test_junit_maps_each_status() -> None:
    root = ET.fromstring(render_junit(failing_report()))
    failure = _case(root, "schema.column[credit_amount]").find("failure")
    assert failure.get("message").startswith("column 'credit_amount': 12 values below 250")
    assert "observed: 12\nexpected: 0" in failure.text
    assert _case(root, "quality.error").find("error").get("message").startswith("the quality layer raised")
    assert _case(root, "reproducibility.retrain").find("skipped") is not None
    waived = _case(root, "drift.feature[job]")
    assert waived.find("failure") is None and waived.find("error") is None
    assert "waived by alice@example.org until 2025-07-01: re-coded job levels" in waived.find("system-out").text
    warn = _case(root, "balance.sensitive_share[sex=female]")
    assert warn.find("failure") is None
    assert warn.find("system-out").text.startswith("WARN: column 'sex' group 'female'")
    assert "interval: [0.249, 0.317] (95%)" in warn.find("system-out").text
    assert len(_case(root, "schema.columns")) == 0  # a pass has no children
    non_blocking = _case(root, "quality.slice_metric[recall|housing=free]").find("failure")
    assert non_blocking.get("type") == "non-blocking"


def test_junit_is_readable_by_a_junit_consumer() -> None:
    junitparser = pytest.importorskip("junitparser")
    xml = junitparser.JUnitXml.fromstring(render_junit(failing_report()))
    suites = list(xml)
    assert [s.name for s in suites][:2] == ["mlgate.schema", "mlgate.balance"]
    cases = [c for s in suites for c in s]
    assert len(cases) == 18
    failed = [c.name for c in cases if any(isinstance(r, junitparser.Failure) for r in c.result)]
    assert "drift.feature[purpose]" in failed


@given(st.text(max_size=60), st.sampled_from(list(Status)), st.sampled_from(LAYERS))
def test_junit_parses_whatever_the_message(message, status, layer) -> None:
    result = CheckResult(id=f"{layer}.x", layer=layer, status=status, message=message)
    root = ET.fromstring(render_junit(GateReport.collect([result])))
    assert len(list(root.iter("testcase"))) == 1
