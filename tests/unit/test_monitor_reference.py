"""The monitoring reference (pipeline.monitor_reference, ci.monitor_profile) and the window options of ci.monitor:
written and read back exactly, sampled above drift.reference_max_rows with exact category counts, and every
corrupted or missing file a one-line MonitorReferenceError (exit 2) naming the file."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlgate.ci.monitor import parse_moment, window_spec
from mlgate.ci.monitor_profile import build_profile
from mlgate.pipeline.config import load_config
from mlgate.pipeline.errors import MlgateError
from mlgate.pipeline.monitor_reference import (
    REFERENCE_FILE,
    ROWS_FILE,
    SCORES_FILE,
    MonitorReferenceError,
    read_monitor_reference,
    write_monitor_reference,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def trained(german_config_path):
    from mlgate.pipeline.candidate import train_candidate
    from mlgate.pipeline.dataload import load_data

    config = load_config(german_config_path)
    data = load_data(config)
    return config, data, train_candidate(config, data, random_state=config.model.random_state)


@pytest.fixture(scope="module")
def written(trained, tmp_path_factory) -> Path:
    config, data, candidate = trained
    return write_monitor_reference(build_profile(config, data, candidate), tmp_path_factory.mktemp("ref") / "monitor")


def _copy(folder: Path, tmp_path: Path) -> Path:
    import shutil

    return Path(shutil.copytree(folder, tmp_path / "monitor"))


def test_the_reference_reads_back_what_was_written(trained, written) -> None:
    _, data, candidate = trained
    reference = read_monitor_reference(written, description="v1")
    assert reference.features == tuple(data.prepared.features)
    assert reference.threshold == candidate.threshold and reference.positive_label == 1
    np.testing.assert_array_equal(reference.test_proba, candidate.proba_test)
    np.testing.assert_array_equal(reference.test_labels, data.split.y_test.to_numpy())
    assert reference.rows_total == 700 and len(reference.rows) == 700 and not reference.sampled
    assert sum(reference.category_counts["housing"].values()) == 700
    assert reference.category_counts["checking_account"]["(missing)"] > 0
    assert set(reference.offline_metrics) == {"roc_auc", "log_loss", "expected_cost"}
    auc = reference.offline_metrics["roc_auc"]
    assert auc["low"] <= auc["estimate"] <= auc["high"] and auc["confidence"] == 0.95
    assert reference.latency_budget_ms == {"p50": None, "p99": None}
    assert reference.meta["threshold_source"] == "validation"


def test_above_reference_max_rows_a_seeded_sample_keeps_exact_category_counts(trained) -> None:
    config, data, candidate = trained
    small = config.model_copy(update={"drift": config.drift.model_copy(update={"reference_max_rows": 100})})
    reference = build_profile(small, data, candidate)
    again = build_profile(small, data, candidate)
    assert len(reference.rows) == 100 and reference.rows_total == 700 and reference.sampled
    pd.testing.assert_frame_equal(reference.rows, again.rows)  # seeded: split.random_state
    assert sum(reference.category_counts["purpose"].values()) == 700


def test_drift_log_reference_false_logs_no_training_values(trained) -> None:
    config, data, candidate = trained
    private = config.model_copy(update={"drift": config.drift.model_copy(update={"log_reference": False})})
    reference = build_profile(private, data, candidate)
    assert len(reference.rows) == 0 and reference.category_counts == {}
    assert len(reference.test_proba) == 300


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda f: (f / ROWS_FILE).write_bytes(b"PAR1 not really"), "rows.parquet: sha256"),
        (lambda f: (f / SCORES_FILE).unlink(), "test_scores.parquet: not found"),
        (lambda f: (f / REFERENCE_FILE).unlink(), "reference.json: not found"),
        (lambda f: (f / REFERENCE_FILE).write_text("{", encoding="utf-8"), "reference.json: not valid JSON"),
        (lambda f: (f / REFERENCE_FILE).write_text("[]", encoding="utf-8"), "not an mlgate monitoring reference"),
        (lambda f: _edit(f, version=7), "monitoring reference version 7"),
        (lambda f: _edit(f, drop="threshold"), r"malformed monitoring reference \(KeyError"),
    ],
    ids=["changed-rows", "missing-scores", "missing-json", "bad-json", "not-a-reference", "version", "missing-key"],
)
def test_a_corrupted_reference_is_one_error_line_naming_the_file(written, tmp_path, damage, message) -> None:
    folder = _copy(written, tmp_path)
    damage(folder)
    with pytest.raises(MonitorReferenceError, match=message) as caught:
        read_monitor_reference(folder, description="v1")
    assert "\n" not in str(caught.value) and caught.value.exit_code == 2
    assert str(folder) in str(caught.value)


def _edit(folder: Path, *, version: int | None = None, drop: str | None = None) -> None:
    path = folder / REFERENCE_FILE
    document = json.loads(path.read_text(encoding="utf-8"))
    if version is not None:
        document["version"] = version
    if drop is not None:
        del document[drop]
    path.write_text(json.dumps(document), encoding="utf-8")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-01T10:00:00Z", datetime(2026, 12, 1, 10, tzinfo=UTC)),
        ("2026-12-01T10:00:00", datetime(2026, 12, 1, 10, tzinfo=UTC)),
        ("2026-12-01T11:00:00+01:00", datetime(2026, 12, 1, 10, tzinfo=UTC)),
        ("2h", NOW - timedelta(hours=2)),
        ("30m", NOW - timedelta(minutes=30)),
        ("1.5d", NOW - timedelta(days=1.5)),
    ],
)
def test_since_takes_iso_times_and_ages(text: str, expected: datetime) -> None:
    assert parse_moment(text, option="--since", now=NOW) == expected


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"since": "yesterday"}, "--since 'yesterday': not a time"),
        ({"since": "2026-13-01"}, "--since '2026-13-01': not a time"),
        ({"until": "soon"}, "--until 'soon': not a time"),
        ({"since": "1h", "last": 10}, "--since and --last name two different windows"),
        ({"last": 0}, "--last 0: give a number of predictions >= 1"),
        ({"since": "1h", "until": "2h"}, "is not before --until"),
    ],
)
def test_a_malformed_window_is_one_usage_error(german_config_path, options, message) -> None:
    config = load_config(german_config_path)
    arguments = {"since": None, "until": None, "last": None, **options}
    with pytest.raises(MlgateError, match=message) as caught:
        window_spec(config, now=NOW, **arguments)
    assert caught.value.exit_code == 2


def test_the_default_window_is_one_runs_share_of_a_day(german_config_path) -> None:
    config = load_config(german_config_path)
    spec = window_spec(config, since=None, until=None, last=None, now=NOW)
    assert spec.since == NOW - timedelta(hours=1) and spec.until is None and spec.last is None
    assert spec.label == "2026-12-01 11:00:00Z to now"
