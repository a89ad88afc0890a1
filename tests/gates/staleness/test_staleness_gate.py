"""The staleness gate: a fresh champion on unchanged data passes; old champions, changed data and event lag fail.

Boundaries are inclusive (a limit is the largest value still allowed): exactly max_age_days old or exactly
max_data_change changed warns; a second or a row more fails.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mlgate.checks import staleness
from mlgate.checks.evidence import Evidence
from mlgate.checks.result import Status
from mlgate.pipeline.candidate import load_data
from mlgate.pipeline.config import ProjectConfig, load_config
from mlgate.pipeline.ingest import Dataset, fingerprint, row_hashes
from mlgate.pipeline.records import ChampionRecord
from mlgate.pipeline.tags import Tag

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def german(german_config_path: Path) -> Evidence:
    config = load_config(german_config_path)
    bundle = load_data(config)
    return Evidence(config, bundle.dataset, bundle.prepared, bundle.split)


def _champion(
    frame: pd.DataFrame, *, age_days: float = 1.0, data_fingerprint: str | None = "", **changes
) -> ChampionRecord:
    """The champion record; ``data_fingerprint`` defaults to the frame's, None leaves the tag out."""
    recorded = fingerprint(frame) if data_fingerprint == "" else data_fingerprint
    fields = {
        "name": "german-credit",
        "version": "3",
        "run_id": "abc123",
        "trained_at": NOW - timedelta(days=age_days),
        "row_hashes": row_hashes(frame),
        "tags": {} if recorded is None else {Tag.DATA_FINGERPRINT: recorded},
    }
    return ChampionRecord(**{**fields, **changes})


def _with_data(evidence: Evidence, frame: pd.DataFrame, config: ProjectConfig | None = None) -> Evidence:
    dataset = Dataset(frame=frame, source="edited.csv", fingerprint=fingerprint(frame))
    return Evidence(config or evidence.config, dataset, evidence.prepared, evidence.split)


def _with_champion(evidence: Evidence, champion: ChampionRecord | None) -> Evidence:
    return Evidence(evidence.config, evidence.dataset, evidence.prepared, evidence.split, champion=champion)


def _by_id(results) -> dict[str, object]:
    return {r.id.removeprefix("staleness."): r for r in results}


def _modify_rows(frame: pd.DataFrame, n: int) -> pd.DataFrame:
    """Change the credit amount of the first n distinct rows (each becomes a new, unseen row)."""
    edited = frame.copy()
    edited.loc[edited.index[:n], "credit_amount"] = edited["credit_amount"].iloc[:n] + 1_000_000
    return edited


# ------------------------------------------------------------------------------------------- good input
def test_a_fresh_champion_on_unchanged_data_passes(german: Evidence) -> None:
    results = staleness.run(_with_champion(german, _champion(german.dataset.frame)), now=NOW)
    by_id = _by_id(results)
    assert list(by_id) == ["champion_age", "data_changed", "data_distribution", "event_lag"]
    assert by_id["champion_age"].status is Status.PASS
    assert by_id["data_distribution"].status is Status.PASS  # same fingerprint: same rows, nothing to test
    assert "trained 1.0 days ago (warn after 30, fail after 90)" in by_id["champion_age"].message
    assert by_id["data_changed"].status is Status.PASS
    assert "the data is unchanged since champion german-credit v3" in by_id["data_changed"].message
    assert by_id["event_lag"].status is Status.SKIPPED
    assert "data.event_time_column is not set" in by_id["event_lag"].message
    assert all(r.layer == "staleness" and r.blocking for r in results)


def test_reordered_rows_and_columns_are_not_a_change(german: Evidence) -> None:
    frame = german.dataset.frame
    shuffled = frame.sample(frac=1.0, random_state=7)[list(reversed(frame.columns))].reset_index(drop=True)
    results = staleness.run(_with_champion(_with_data(german, shuffled), _champion(frame)), now=NOW)
    assert _by_id(results)["data_changed"].status is Status.PASS


def test_no_champion_yet_is_skipped_not_failed(german: Evidence) -> None:
    results = staleness.run(_with_champion(german, None), now=NOW)
    assert [r.status for r in results] == [Status.SKIPPED] * 4
    assert all("no champion yet" in r.message for r in results)


def test_with_a_candidate_in_the_run_staleness_does_not_block_its_replacement(german: Evidence) -> None:
    old = _champion(german.dataset.frame, age_days=400)
    evidence = Evidence(
        german.config, german.dataset, german.prepared, german.split, model=object(), champion=old
    )  # any candidate: staleness never looks at it
    age = _by_id(staleness.run(evidence, now=NOW))["champion_age"]
    assert age.status is Status.FAIL and not age.blocking and not age.blocks


# ------------------------------------------------------------------------------------------- champion age
@pytest.mark.parametrize(
    ("age", "status", "text"),
    [
        (29.9, Status.PASS, "trained 29.9 days ago (warn after 30, fail after 90)"),
        (45, Status.WARN, "trained 45.0 days ago (2025-04-17), more than staleness.warn_age_days = 30"),
        (90, Status.WARN, "more than staleness.warn_age_days = 30 (fails after 90)"),  # boundary: inclusive
        (90 + 1 / 86_400, Status.FAIL, "is stale: trained 90.0 days ago"),  # one second more fails
        (
            120,
            Status.FAIL,
            "champion german-credit v3 is stale: trained 120.0 days ago (2025-02-01), more than "
            "staleness.max_age_days = 90; retrain due",
        ),
    ],
)
def test_champion_age_against_warn_and_max(german: Evidence, age: float, status: Status, text: str) -> None:
    result = staleness.check_age(_champion(german.dataset.frame, age_days=age), german.config, now=NOW)
    assert result.status is status
    assert text in result.message
    assert result.observed == pytest.approx(age, abs=1e-3)


def test_a_naive_training_time_is_read_as_utc(german: Evidence) -> None:
    naive = (NOW - timedelta(days=100)).replace(tzinfo=None)
    result = staleness.check_age(_champion(german.dataset.frame, trained_at=naive), german.config, now=NOW)
    assert result.status is Status.FAIL and "trained 100.0 days ago" in result.message


def test_a_training_time_in_the_future_warns(german: Evidence) -> None:
    result = staleness.check_age(_champion(german.dataset.frame, age_days=-2), german.config, now=NOW)
    assert result.status is Status.WARN and "training time in the future" in result.message


# ------------------------------------------------------------------------------------------- data changed
def test_data_changed_beyond_the_bound_fails_with_counts(german: Evidence) -> None:
    frame = german.dataset.frame
    current = pd.concat([_modify_rows(frame, 80), frame.iloc[100:120]], ignore_index=True)  # 80 edited, 20 re-added
    result = _by_id(staleness.run(_with_champion(_with_data(german, current), _champion(frame)), now=NOW))[
        "data_changed"
    ]
    assert result.status is Status.FAIL
    assert "champion is stale: the data changed since champion german-credit v3 was trained" in result.message
    assert "100 rows added, 80 removed (1000 -> 1020 rows)" in result.message
    assert "a change of 9.8% > staleness.max_data_change 5.0%; retrain due" in result.message
    assert result.details["added_rows"] == 100 and result.details["removed_rows"] == 80


@pytest.mark.parametrize(
    ("edited", "status", "text"),
    [
        (10, Status.WARN, "10 rows added, 10 removed (1000 -> 1000 rows), a change of 1.0% <= "),
        (50, Status.WARN, "a change of 5.0% <= staleness.max_data_change 5.0%"),  # boundary: inclusive
        (51, Status.FAIL, "a change of 5.1% > staleness.max_data_change 5.0%; retrain due"),
    ],
)
def test_data_change_against_the_bound(german: Evidence, edited: int, status: Status, text: str) -> None:
    frame = german.dataset.frame
    assert len(frame) == 1000 and not frame.duplicated().any()
    champion = _champion(frame)
    current = _modify_rows(frame, edited)
    result = staleness.check_data_changed(
        champion, german.config, fingerprint=fingerprint(current), current_hashes=row_hashes(current)
    )
    assert result.status is status
    assert text in result.message
    assert result.observed == pytest.approx(edited / 1000)


def test_data_changed_without_recorded_row_hashes_warns(german: Evidence) -> None:
    frame = german.dataset.frame
    current = _modify_rows(frame, 500)
    result = staleness.check_data_changed(
        _champion(frame, row_hashes=None),
        german.config,
        fingerprint=fingerprint(current),
        current_hashes=row_hashes(current),
    )
    assert result.status is Status.WARN
    assert "row hashes (data/row_hashes.npy) were not recorded" in result.message


def test_a_champion_without_a_fingerprint_warns(german: Evidence) -> None:
    frame = german.dataset.frame
    result = staleness.check_data_changed(
        _champion(frame, data_fingerprint=None),
        german.config,
        fingerprint=fingerprint(frame),
        current_hashes=row_hashes(frame),
    )
    assert result.status is Status.WARN and "has no recorded data fingerprint" in result.message


def test_a_dtype_change_with_the_same_rows_warns(german: Evidence) -> None:
    frame = german.dataset.frame
    champion = _champion(frame, data_fingerprint="0" * 64)  # fingerprint differs, rows identical
    result = staleness.check_data_changed(
        champion, german.config, fingerprint=fingerprint(frame), current_hashes=row_hashes(frame)
    )
    assert result.status is Status.WARN and "same rows; column names or dtypes changed" in result.message


# ------------------------------------------------------------------------------------------- event lag
def _timed(german: Evidence, *, lag_bound: float | None = 7) -> tuple[ProjectConfig, pd.DataFrame]:
    config = german.config
    config = config.model_copy(
        update={
            "data": config.data.model_copy(update={"event_time_column": "applied_at"}),
            "staleness": config.staleness.model_copy(update={"max_event_lag_days": lag_bound}),
        }
    )
    frame = german.dataset.frame.copy()
    frame["applied_at"] = pd.date_range("2025-01-01", periods=len(frame), freq="h", tz="UTC").astype(str)
    return config, frame  # newest event: 2025-02-11 15:00 UTC


@pytest.mark.parametrize(
    ("window_end", "status", "text"),
    [
        ("2025-02-10T15:00:00+00:00", Status.PASS, "is 1.0 days after champion german-credit v3's training window"),
        ("2025-02-04T15:00:00+00:00", Status.PASS, "(allowed 7)"),  # boundary: exactly 7 days is allowed
        ("2025-02-04T14:59:00", Status.FAIL, "more than staleness.max_event_lag_days = 7; retrain due"),
        (
            "2025-01-01T00:00:00+00:00",
            Status.FAIL,
            "champion is stale: the newest 'applied_at' event (2025-02-11 15:00) is 41.6 days after",
        ),
    ],
)
def test_event_lag_against_the_bound(german: Evidence, window_end: str, status: Status, text: str) -> None:
    config, frame = _timed(german)
    champion = _champion(frame, tags={staleness.EVENT_TIME_MAX_TAG: window_end})
    result = staleness.check_event_lag(champion, config, frame=frame)
    assert result.status is status
    assert text in result.message


@pytest.mark.parametrize(
    ("tags", "bound", "status", "text"),
    [
        ({}, 7, Status.WARN, "has no tag mlgate.event_time_max"),
        ({staleness.EVENT_TIME_MAX_TAG: "last tuesday"}, 7, Status.WARN, "is not an ISO 8601 time"),
        ({staleness.EVENT_TIME_MAX_TAG: "2025-01-01T00:00:00Z"}, None, Status.SKIPPED, "no bound set"),
    ],
)
def test_event_lag_cannot_be_judged(german: Evidence, tags, bound, status: Status, text: str) -> None:
    config, frame = _timed(german, lag_bound=bound)
    result = staleness.check_event_lag(_champion(frame, tags=tags), config, frame=frame)
    assert result.status is status and text in result.message


def test_a_missing_event_time_column_fails(german: Evidence) -> None:
    config, frame = _timed(german)
    result = staleness.check_event_lag(_champion(frame), config, frame=frame.drop(columns="applied_at"))
    assert result.status is Status.FAIL
    assert "data.event_time_column 'applied_at' is not a column of the current data" in result.message


def test_event_lag_through_the_layer(german: Evidence) -> None:
    config, frame = _timed(german)
    champion = _champion(frame, tags={staleness.EVENT_TIME_MAX_TAG: "2025-01-20T00:00:00+00:00"})
    evidence = _with_champion(_with_data(german, frame, config), champion)
    result = _by_id(staleness.run(evidence, now=NOW))["event_lag"]
    assert result.status is Status.FAIL and "retrain due" in result.message


# ------------------------------------------------------------------------------------------- properties
hashes = hnp.arrays(np.uint64, st.integers(0, 60), elements=st.integers(0, 12).map(np.uint64))


@given(hashes, st.randoms(use_true_random=False))
def test_row_change_of_a_permutation_is_zero(values: np.ndarray, rng) -> None:
    permuted = values.copy()
    rng.shuffle(permuted)
    change = staleness.row_change(values, permuted)
    assert change.share == 0.0 and change.added == change.removed == 0


@given(hashes, hashes)
def test_row_change_is_symmetric_and_bounded(reference: np.ndarray, current: np.ndarray) -> None:
    forward, backward = staleness.row_change(reference, current), staleness.row_change(current, reference)
    assert (forward.added, forward.removed) == (backward.removed, backward.added)
    assert forward.share == backward.share
    assert 0.0 <= forward.share <= 1.0
    assert forward.unchanged == reference.size - forward.removed >= 0
    assert (forward.share == 0.0) == (sorted(reference.tolist()) == sorted(current.tolist()))


@given(hashes, st.integers(1, 20))
def test_appending_new_rows_counts_them_as_added(reference: np.ndarray, extra: int) -> None:
    fresh = np.arange(100, 100 + extra, dtype=np.uint64)  # never among the reference values (0..12)
    change = staleness.row_change(reference, np.concatenate([reference, fresh]))
    assert (change.added, change.removed) == (extra, 0)
    assert change.share == extra / (reference.size + extra)
