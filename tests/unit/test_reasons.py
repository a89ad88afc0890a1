"""Reason codes (house style rule 16): stable values, carried by every non-pass result, in every report format."""

from __future__ import annotations

import ast
import importlib.util
import json
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import pytest
from fixtures.reason_audit import PACKAGE_ROOTS, reasonless_results

from mlgate.checks.report import render_html, render_json, render_junit, render_markdown
from mlgate.checks.result import REPORT_VERSION, CheckResult, GateReport, Reason, Status
from mlgate.checks.waivers import apply_waivers
from mlgate.pipeline.config import Waiver

#: The report's contract: these strings are read by CI systems and dashboards. Add new reasons, never
#: rename or remove one (a rename is a new major report version).
STABLE = {
    "BELOW_BOUND": "below_bound",
    "BELOW_BOUND_POINT_ONLY": "below_bound_point_only",
    "ABOVE_BOUND": "above_bound",
    "ABOVE_BOUND_POINT_ONLY": "above_bound_point_only",
    "OUTSIDE_REFERENCE": "outside_reference",
    "OUTSIDE_REFERENCE_POINT_ONLY": "outside_reference_point_only",
    "UNDECLARED_GROUP": "undeclared_group",
    "MISSING_GROUP": "missing_group",
    "SIGNIFICANT_ABOVE_FLOOR": "significant_above_floor",
    "MISSING_COLUMN": "missing_column",
    "UNEXPECTED_COLUMN": "unexpected_column",
    "WRONG_DTYPE": "wrong_dtype",
    "NULL_VALUES": "null_values",
    "OUT_OF_RANGE": "out_of_range",
    "NOT_IN_SET": "not_in_set",
    "CHECK_FAILED": "check_failed",
    "TARGET_LEAK": "target_leak",
    "IDENTIFIER": "identifier",
    "DENIED_FEATURE": "denied_feature",
    "PERSONAL_DATA": "personal_data",
    "NON_FINITE": "non_finite",
    "DUPLICATE_ROWS": "duplicate_rows",
    "WORSE_THAN_BASELINE": "worse_than_baseline",
    "WORSE_THAN_CHAMPION": "worse_than_champion",
    "WORSE_THAN_OFFLINE": "worse_than_offline",
    "UNCALIBRATED": "uncalibrated",
    "GROUP_GAP": "group_gap",
    "NOT_REPRODUCIBLE": "not_reproducible",
    "DATA_CHANGED": "data_changed",
    "ARTIFACT_MISMATCH": "artifact_mismatch",
    "ARTIFACT_UNLOADABLE": "artifact_unloadable",
    "SERVING_MISMATCH": "serving_mismatch",
    "PROVENANCE_MISSING": "provenance_missing",
    "PROVENANCE_INVALID": "provenance_invalid",
    "UNCOMMITTED_CHANGES": "uncommitted_changes",
    "NO_SEARCH": "no_search",
    "DEPENDENCIES_CHANGED": "dependencies_changed",
    "NO_CONTRIBUTION": "no_contribution",
    "NO_IMPROVEMENT": "no_improvement",
    "STALE": "stale",
    "EVENT_LAG": "event_lag",
    "NO_EVENT_TIME": "no_event_time",
    "CLOCK_SKEW": "clock_skew",
    "WAIVER_EXPIRED": "waiver_expired",
    "WAIVER_UNMATCHED": "waiver_unmatched",
    "WAIVER_UNNEEDED": "waiver_unneeded",
    "INVALID_CONFIG": "invalid_config",
    "UNDEFINED_METRIC": "undefined_metric",
    "TRAINING_FAILED": "training_failed",
    "RETRAIN_FAILED": "retrain_failed",
    "CHAMPION_UNUSABLE": "champion_unusable",
    "CHECK_ERROR": "check_error",
    "NO_ROWS": "no_rows",
    "TOO_SMALL": "too_small",
    "NO_CANDIDATE": "no_candidate",
    "NO_CHAMPION": "no_champion",
    "NO_CONFIG_FILE": "no_config_file",
    "NOT_CONFIGURED": "not_configured",
    "DISABLED": "disabled",
    "NOT_REFITTED": "not_refitted",
    "NOT_ON_ENGINE": "not_on_engine",
}
DOCS = Path(__file__).resolve().parents[2] / "docs" / "REPORT.md"


def test_reason_values_are_stable_strings() -> None:
    assert {reason.name: reason.value for reason in Reason} == STABLE
    assert all(isinstance(reason, str) and reason == reason.value for reason in Reason)
    assert json.dumps(Reason.BELOW_BOUND) == '"below_bound"'


def test_every_reason_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    missing = [reason.value for reason in Reason if f"`{reason.value}`" not in text]
    assert not missing, f"reasons not described in {DOCS.name}: {missing}"


def _status_literals(call: ast.Call) -> list[str]:
    values = [*call.args, *(k.value for k in call.keywords)]
    return [
        v.attr
        for v in values
        if isinstance(v, ast.Attribute) and isinstance(v.value, ast.Name) and v.value.id == "Status"
    ]


def _reasonless_calls(source: str) -> list[int]:
    """Lines of ``CheckResult(...)`` calls, and ``_result...(...)`` helper calls given a non-pass ``Status.X``
    literal, without ``reason=`` (``dataclasses.replace`` keeps the reason it copies, so it is not judged)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or any(k.arg == "reason" for k in node.keywords):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        if name != "CheckResult" and not name.startswith("_result"):
            continue
        statuses = _status_literals(node)
        if (statuses and statuses != ["PASS"]) or (name == "CheckResult" and not statuses):
            lines.append(node.lineno)
    return lines


def test_every_non_pass_constructor_in_the_package_passes_a_reason() -> None:
    offenders = []
    for root in PACKAGE_ROOTS:
        for path in sorted(root.rglob("*.py")):
            if path.name == "result.py" and path.parent.name == "checks":
                continue  # the type itself: from_dict reads reasons, with_status keeps them
            offenders += [f"{path}:{line}" for line in _reasonless_calls(path.read_text(encoding="utf-8"))]
    assert not offenders, f"non-pass results built without reason=: {offenders}"


@pytest.mark.parametrize(
    ("source", "flagged"),
    [
        ("CheckResult('a', 'drift', Status.FAIL, 'm')", [1]),
        ("_result('x', Status.WARN, 'm', blocking=True)", [1]),
        ("CheckResult('a', 'drift', status, 'm')", [1]),
        ("CheckResult('a', 'drift', Status.FAIL, 'm', reason=Reason.STALE)", []),
        ("CheckResult('a', 'drift', Status.PASS, 'm')", []),
        ("CheckResult('a', 'drift', Status.PASS if ok else Status.FAIL, 'm')", [1]),  # may fail: needs reason=
        ("_result('x', status, 'm')", []),  # a helper given a variable: the gate tests' runtime audit covers it
    ],
)
def test_the_constructor_scan_flags_what_it_should(source: str, flagged: list[int]) -> None:
    assert _reasonless_calls(source) == flagged


def test_the_runtime_audit_catches_a_reasonless_failure_from_package_code(tmp_path: Path) -> None:
    module = tmp_path / "gate.py"
    module.write_text(
        "from mlgate.checks.result import CheckResult, Reason, Status\n"
        "def bad():\n    return CheckResult('schema.x', 'schema', Status.FAIL, 'm')\n"
        "def good():\n    return CheckResult('schema.x', 'schema', Status.FAIL, 'm', reason=Reason.CHECK_FAILED)\n",
        encoding="utf-8",
    )
    spec = importlib.util.spec_from_file_location("reason_audit_probe", module)
    probe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(probe)
    with reasonless_results(roots=[tmp_path]) as missing:
        probe.good()
        CheckResult("schema.y", "schema", Status.FAIL, "built by a test: not judged")
    assert missing == []
    with reasonless_results(roots=[tmp_path]) as missing:
        probe.bad()
    assert len(missing) == 1 and missing[0].startswith(f"schema.x (fail) built at {module}:3")


def test_a_pass_carries_no_reason_and_with_status_keeps_or_drops_it() -> None:
    with pytest.raises(ValueError, match="a pass carries no reason"):
        CheckResult("drift.x", "drift", Status.PASS, "m", reason=Reason.STALE)
    failed = CheckResult("drift.x", "drift", Status.FAIL, "m", reason=Reason.SIGNIFICANT_ABOVE_FLOOR)
    assert failed.with_status(Status.WARN).reason is Reason.SIGNIFICANT_ABOVE_FLOOR
    assert failed.with_status(Status.WARN, reason=Reason.STALE).reason is Reason.STALE
    assert failed.with_status(Status.PASS).reason is None


def _report() -> GateReport:
    return GateReport.collect(
        [
            CheckResult("schema.column[age]", "schema", Status.FAIL, "3 values below 18", reason=Reason.OUT_OF_RANGE),
            CheckResult(
                "quality.slice_metric[sex=f][recall]",
                "quality",
                Status.FAIL,
                "recall below",
                blocking=False,
                reason=Reason.BELOW_BOUND,
            ),
            CheckResult("quality.error", "quality", Status.ERROR, "raised", reason=Reason.CHECK_ERROR),
            CheckResult("staleness.event_lag", "staleness", Status.SKIPPED, "unset", reason=Reason.NOT_CONFIGURED),
            CheckResult(
                "balance.sensitive_share[test][sex=f]",
                "balance",
                Status.WARN,
                "outside",
                reason=Reason.OUTSIDE_REFERENCE_POINT_ONLY,
            ),
            CheckResult("schema.columns", "schema", Status.PASS, "all present"),
        ]
    )


def test_the_json_report_carries_the_reason_and_round_trips() -> None:
    report = _report()
    data = json.loads(render_json(report))
    assert data["report_version"] == REPORT_VERSION == "1.1"
    assert {r["id"]: r["reason"] for r in data["results"]} == {
        "schema.column[age]": "out_of_range",
        "schema.columns": None,
        "balance.sensitive_share[test][sex=f]": "outside_reference_point_only",
        "quality.slice_metric[sex=f][recall]": "below_bound",
        "quality.error": "check_error",
        "staleness.event_lag": "not_configured",
    }
    again = GateReport.from_dict(data)
    assert again.results == report.results
    assert again.results[0].reason is Reason.OUT_OF_RANGE


def test_a_report_from_before_reasons_still_reads() -> None:
    data = json.loads(render_json(_report()))
    data["report_version"] = "1.0"
    for result in data["results"]:
        del result["reason"]
    again = GateReport.from_dict(data)
    assert all(r.reason is None for r in again.results)
    data["results"][0]["reason"] = "no_such_reason"  # written by a newer mlgate: read, reason unknown
    again = GateReport.from_dict(data)
    assert again.results[0].reason is None and again.results[0].status is report_status(data, 0)


def report_status(data: dict, index: int) -> Status:
    return Status(data["results"][index]["status"])


def test_junit_type_is_the_reason() -> None:
    xml = render_junit(_report())
    root = ET.fromstring(xml)
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert cases["schema.column[age]"].find("failure").get("type") == "out_of_range"
    non_blocking = cases["quality.slice_metric[sex=f][recall]"].find("failure")
    assert non_blocking.get("type") == "below_bound"
    assert "non-blocking: this check does not stop the release" in non_blocking.text
    assert cases["quality.error"].find("error").get("type") == "check_error"
    assert cases["staleness.event_lag"].find("skipped").get("type") == "not_configured"
    out = cases["balance.sensitive_share[test][sex=f]"].find("system-out").text
    assert out.startswith("WARN [outside_reference_point_only]: outside")
    junitparser = pytest.importorskip("junitparser")
    parsed = {c.name: c for s in junitparser.JUnitXml.fromstring(xml) for c in s}
    assert [r.type for r in parsed["schema.column[age]"].result] == ["out_of_range"]
    assert [r.type for r in parsed["quality.error"].result] == ["check_error"]


def test_junit_without_a_reason_keeps_the_old_types() -> None:
    legacy = GateReport.collect([CheckResult("schema.x", "schema", Status.FAIL, "m", blocking=False)])
    assert ET.fromstring(render_junit(legacy)).find(".//failure").get("type") == "non-blocking"


def test_markdown_and_html_name_the_reason() -> None:
    assert "`schema.column[age]` (schema, out_of_range)" in render_markdown(_report())
    html = render_html(_report())
    assert '<code>schema.column[age]</code>\n      <span class="layer">schema · out_of_range</span>' in html


def test_waivers_keep_the_reason_and_their_own_results_carry_one() -> None:
    failed = CheckResult("drift.feature[job]", "drift", Status.FAIL, "m", reason=Reason.SIGNIFICANT_ABOVE_FLOOR)
    today = date(2025, 6, 1)

    def waiver(check: str, expires: date) -> Waiver:
        return Waiver(check=check, reason="known", owner="a@example.org", expires=expires)

    [waived] = apply_waivers([failed], [waiver("drift.feature[job]", date(2025, 7, 1))], today=today)
    assert waived.status is Status.WAIVED and waived.reason is Reason.SIGNIFICANT_ABOVE_FLOOR
    out = apply_waivers(
        [failed],
        [
            waiver("drift.feature[job]", date(2025, 5, 1)),
            waiver("drift.nothing", date(2025, 7, 1)),
            waiver("drift.feature[*]", date(2025, 5, 1)),
        ],
        today=today,
    )
    assert [(r.status, r.reason) for r in out[1:]] == [
        (Status.FAIL, Reason.WAIVER_EXPIRED),
        (Status.WARN, Reason.WAIVER_UNMATCHED),
        (Status.FAIL, Reason.WAIVER_EXPIRED),
    ]
    passed = CheckResult("drift.feature[age]", "drift", Status.PASS, "m")
    [_, unneeded] = apply_waivers([passed], [waiver("drift.feature[age]", date(2025, 7, 1))], today=today)
    assert (unneeded.status, unneeded.reason) == (Status.WARN, Reason.WAIVER_UNNEEDED)
