"""The serving app at a few hundred requests/s: every status, answer, metric and prediction-log row accounted for.

Runs ``benchmarks/bench_serving_integrity.py``'s measurement (a real server process, the open-loop load generator
in its own process) at 300 requests/s for 2 s with its cycle of bodies: single records, a batch, a 422, a batch
over the limit and a body over the byte limit. Nothing here is timed; the benchmark prints the latencies.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.fixtures.benchmarks import benchmark_module

pytestmark = pytest.mark.serving


@pytest.fixture(scope="module")
def integrity():
    return benchmark_module("bench_serving_integrity")


@pytest.fixture(scope="module")
def run(integrity, bundle_dir, golden, tmp_path_factory):
    return integrity.measure(bundle_dir, golden.records, 300.0, 2.0, tmp_path_factory.mktemp("at-rate"))


def test_every_request_and_record_is_accounted_for_at_300_per_second(run):
    result, verdict, records, _, window = run
    assert verdict == {"status": "ok", "answers": "ok", "metrics": "ok", "prediction log": "ok"}
    assert result["requests"] == 600 and result["unfinished"] == 0
    assert len(window.predictions) == records == 780  # 30 cycles: 16 records and a batch of 10 each


def test_the_checks_catch_a_lost_row_a_wrong_count_and_a_silent_422(integrity, run):
    result, _, _, samples, window = run
    _, kinds = integrity.bodies([{}] * 60)
    lost = replace(window, predictions=window.predictions.iloc[:-1])
    assert integrity.check_run(result, kinds, samples, lost)["prediction log"] == f"{len(lost.predictions)} rows of 780"
    fewer = {k: (v - 1 if k[0] == "mlgate_predictions_total" and v else v) for k, v in samples.items()}
    assert "mlgate_predictions_total" in integrity.check_run(result, kinds, fewer, window)["metrics"]
    silent = {**result, "answers": {**result["answers"], "17": {"422": '{"detail":"invalid"}'}}}
    assert "does not name age" in integrity.check_run(silent, kinds, samples, window)["answers"]
    lost_request = {**result, "ok": result["ok"] - 1, "unfinished": 1}
    assert "unfinished 1" in integrity.check_run(lost_request, kinds, samples, window)["status"]
