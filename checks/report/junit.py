"""JUnit XML (``junit.xml``) so CI systems show each check as a test case.

One ``<testsuite>`` per layer that ran, one ``<testcase classname="mlgate.<layer>" name="<check id>">`` per
check. fail -> ``<failure>``, error -> ``<error>``, skipped -> ``<skipped>``; warn and waived pass, with their
message (and for a waiver, who waived it and until when) in ``<system-out>``.

The ``type`` attribute of ``<failure>``, ``<error>`` and ``<skipped>`` is the result's reason code
(:class:`checks.result.Reason`, e.g. ``below_bound``), so a CI system can group failures by cause; warn and
waived name it in ``<system-out>`` (``WARN [outside_reference_point_only]: ...``). A result without a reason
(read from a report older than 1.1) keeps the old types: ``blocking``/``non-blocking`` and ``error``.

Every suite's ``<properties>`` carry the run's task and how it was decided (``task``), its row counts from the
file to the split (``rows``: the sentence, then ``rows_read``, ``rows_without_label_dropped``, ``duplicate_rows``,
``duplicates_dropped``, ``rows_used``, ``rows_train``/``rows_validation``/``rows_test``) and the registry outcome,
as the other formats' headers do.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from mlgate.checks.report._common import (
    fmt_interval,
    fmt_value,
    number,
    registry_note,
    row_counts,
    row_flow,
    split_sizes,
    task_note,
    verdict,
    waiver_note,
)
from mlgate.checks.result import CheckResult, GateReport, Status

__all__ = ["render_junit"]

# Characters XML 1.0 cannot carry at all (a message may quote raw data).
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _text(value: object) -> str:
    return _ILLEGAL_XML.sub("\ufffd", str(value))


def _body(result: CheckResult) -> str:
    lines = [result.message]
    for label, value in (
        ("observed", fmt_value(result.observed, limit=2000)),
        ("expected", fmt_value(result.expected, limit=2000)),
        ("interval", fmt_interval(result.interval)),
        ("slice", result.slice or ""),
    ):
        if value:
            lines.append(f"{label}: {value}")
    if not result.blocking:
        lines.append("non-blocking: this check does not stop the release")
    return _text("\n".join(lines))


def _testcase(suite: ET.Element, result: CheckResult) -> None:
    case = ET.SubElement(suite, "testcase", classname=f"mlgate.{result.layer}", name=_text(result.id), time="0")
    message = _text(result.message)
    reason = result.reason.value if result.reason is not None else None
    if result.status is Status.FAIL:
        kind = reason or ("blocking" if result.blocking else "non-blocking")
        ET.SubElement(case, "failure", message=message, type=kind).text = _body(result)
    elif result.status is Status.ERROR:
        ET.SubElement(case, "error", message=message, type=reason or "error").text = _body(result)
    elif result.status is Status.SKIPPED:
        ET.SubElement(case, "skipped", {"message": message} | ({"type": reason} if reason else {}))
    elif result.status in (Status.WARN, Status.WAIVED):
        text = f"{result.status.value.upper()}{f' [{reason}]' if reason else ''}: {_body(result)}"
        if result.status is Status.WAIVED:
            text += "\n" + _text(waiver_note(result) or "waived (no waiver details recorded)")
        ET.SubElement(case, "system-out").text = text


def _count(results: list[CheckResult], status: Status) -> str:
    return str(sum(1 for r in results if r.status is status))


def render_junit(report: GateReport) -> str:
    """The report as a JUnit XML document (UTF-8, with an XML declaration)."""
    duration = number(report.run.get("duration_s")) or 0.0
    root = ET.Element(
        "testsuites",
        name=f"mlgate {report.run.get('project', '')}".strip(),
        tests=str(len(report.results)),
        failures=_count(list(report.results), Status.FAIL),
        errors=_count(list(report.results), Status.ERROR),
        skipped=_count(list(report.results), Status.SKIPPED),
        time=f"{duration:.3f}",
    )
    timestamp = report.run.get("started_at")
    sentences = (
        ("task", task_note(report)),
        ("rows", row_flow(report)),
        ("split", split_sizes(report)),
        ("registry", registry_note(report)),
    )
    header = [(k, v) for k, v in sentences if v] + [(k, str(v)) for k, v in row_counts(report).items()]
    for layer, results in report.by_layer().items():
        attributes = {
            "name": f"mlgate.{layer}",
            "tests": str(len(results)),
            "failures": _count(results, Status.FAIL),
            "errors": _count(results, Status.ERROR),
            "skipped": _count(results, Status.SKIPPED),
            "time": "0",
        }
        if timestamp:
            attributes["timestamp"] = _text(timestamp)
        suite = ET.SubElement(root, "testsuite", attributes)
        properties = ET.SubElement(suite, "properties")
        ET.SubElement(properties, "property", name="verdict", value=verdict(report))
        ET.SubElement(properties, "property", name="layer_status", value=report.layer_status(layer).value)
        for name, value in header:
            ET.SubElement(properties, "property", name=name, value=_text(value))
        for result in results:
            _testcase(suite, result)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
