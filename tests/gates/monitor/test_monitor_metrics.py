"""The monitor's Prometheus textfile (ci.monitor_metrics) and the example alert rules (ci/monitoring/alerts.yml),
checked with promtool from Debian's ``prometheus`` package (scripts/install-system-deps.sh installs it)."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fixtures.monitor_traffic import shifted
from prometheus_client.parser import text_string_to_metric_families

from mlgate.checks.result import GateReport
from mlgate.ci.monitor_metrics import write_metrics

ROOT = Path(__file__).resolve().parents[3]
RULES = ROOT / "ci" / "monitoring" / "alerts.yml"


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("promtool is not installed; CI must run this test (scripts/install-system-deps.sh: prometheus)")
        pytest.skip("promtool not installed (Debian package 'prometheus', scripts/install-system-deps.sh); CI runs it")
    return found


def _promtool_run(*args: str, stdin: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_promtool(), *args], input=stdin, capture_output=True, text=True, timeout=60, cwd=cwd, check=False
    )


@pytest.fixture
def metrics_file(served, judge, tmp_path: Path) -> Path:
    rows = shifted(served.X, column="credit_amount", factor=1.25)
    results = judge(served.traffic(rows, labels=list(served.y), latency_ms=[12.0] * len(rows)))
    report = GateReport.collect(results.values(), run={"monitor": {"predictions": len(rows), "dropped": 4}})
    path = tmp_path / "textfile" / "mlgate_monitor.prom"
    return write_metrics(report, path, now=datetime(2026, 12, 1, 12, tzinfo=UTC))


def _samples(path: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(path.read_text(encoding="utf-8")):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_the_textfile_holds_every_verdict_and_the_key_observations(metrics_file: Path) -> None:
    samples = _samples(metrics_file)
    status = "mlgate_monitor_check_status"
    drifted = (("blocking", "true"), ("check", "monitor.input_drift[credit_amount]"), ("layer", "drift"))
    assert samples[(status, drifted)] == 2.0
    assert samples[(status, (("blocking", "true"), ("check", "monitor.numerics"), ("layer", "quality")))] == 0.0
    skipped = (("blocking", "true"), ("check", "monitor.champion_age"), ("layer", "staleness"))
    assert samples[(status, skipped)] == -1.0
    effect = samples[("mlgate_monitor_drift_effect", (("effect", "ks_d"), ("feature", "credit_amount")))]
    assert effect > 0.1
    assert samples[("mlgate_monitor_quality", (("kind", "live"), ("metric", "roc_auc")))] > 0.5
    assert ("mlgate_monitor_quality", (("kind", "estimate"), ("metric", "roc_auc"))) in samples
    assert samples[("mlgate_monitor_latency_seconds", (("percentile", "99"),))] == pytest.approx(0.012)
    assert samples[("mlgate_monitor_dropped_records", ())] == 4.0
    assert samples[("mlgate_monitor_passed", ())] == 0.0


def test_promtool_accepts_the_textfile(metrics_file: Path) -> None:
    checked = _promtool_run("check", "metrics", stdin=metrics_file.read_text(encoding="utf-8"))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_promtool_accepts_the_alert_rules_and_they_fire_on_the_monitors_series() -> None:
    checked = _promtool_run("check", "rules", str(RULES))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 5 rules found" in checked.stdout
    tested = _promtool_run("test", "rules", "alerts_test.yml", cwd=RULES.parent)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_an_unwritable_metrics_file_is_one_output_error(tmp_path: Path) -> None:
    from mlgate.pipeline.errors import OutputError

    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(OutputError, match="--metrics-file"):
        write_metrics(GateReport.collect([]), blocker / "m.prom", now=datetime(2026, 12, 1, tzinfo=UTC))
