from __future__ import annotations

import json

import numpy as np
import pytest

from mlgate.checks.result import LAYERS, CheckResult, GateReport, Interval, Status


def result(status: Status, layer: str = "drift", blocking: bool = True, id_: str = "x") -> CheckResult:
    return CheckResult(id=id_, layer=layer, status=status, message="m", blocking=blocking)


@pytest.mark.parametrize(
    ("statuses", "exit_code"),
    [
        ([Status.PASS, Status.WARN, Status.WAIVED, Status.SKIPPED], 0),
        ([Status.PASS, Status.FAIL], 1),
        ([Status.ERROR], 1),
        ([], 0),
    ],
)
def test_exit_code_follows_blocking_failures(statuses: list[Status], exit_code: int) -> None:
    report = GateReport.collect([result(s) for s in statuses])
    assert report.exit_code == exit_code
    assert report.passed is (exit_code == 0)


def test_non_blocking_failure_does_not_block() -> None:
    assert GateReport.collect([result(Status.FAIL, blocking=False)]).exit_code == 0


def test_results_are_ordered_by_layer_and_round_trip_through_json() -> None:
    results = [
        CheckResult(
            id="q",
            layer="quality",
            status=Status.PASS,
            message="ok",
            observed=np.float64(0.75),
            interval=Interval(0.7, 0.8, 0.95),
            details={"n": np.int64(3)},
        ),
        CheckResult(id="s", layer="schema", status=Status.FAIL, message="bad", observed=float("nan")),
    ]
    report = GateReport.collect(results, run={"project": "p"})
    assert [r.layer for r in report.results] == ["schema", "quality"]
    data = json.loads(json.dumps(report.to_dict()))
    assert data["results"][0]["observed"] is None  # NaN is not JSON
    again = GateReport.from_dict(data)
    assert again.results[1].interval == Interval(0.7, 0.8, 0.95)
    assert again.layer_status("schema") is Status.FAIL
    assert data["layers"]["balance"] == "skipped"


def test_unknown_layer_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown layer 'speed'"):
        result(Status.PASS, layer="speed")
    assert LAYERS[0] == "schema"
