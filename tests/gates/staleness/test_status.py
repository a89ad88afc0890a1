"""``mlgate status`` logic: champion, age, fingerprint, staleness verdicts and alias history.

The registry is a small stand-in with the same surface as pipeline.registry.Registry (champion(), history(),
client.download_artifacts); the real adapter is covered by tests/integration/test_registry.py.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from mlgate.ci.status import ROW_HASHES_ARTIFACT, collect_status, print_status
from mlgate.pipeline.config import ProjectConfig, load_config
from mlgate.pipeline.ingest import fingerprint, load, row_hashes
from mlgate.pipeline.registry import ChampionRecord, VersionRecord

NOW = datetime(2025, 6, 1, tzinfo=UTC)


@dataclass
class FakeClient:
    artifacts: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)

    def download_artifacts(self, run_id: str, path: str, dst_path: str) -> str:
        if (run_id, path) not in self.artifacts:
            raise OSError(f"no artifact {path} in run {run_id}")
        local = Path(dst_path) / Path(path).name
        np.save(local, self.artifacts[(run_id, path)])
        return str(local)


@dataclass
class FakeRegistry:
    record: ChampionRecord | None
    versions: list[VersionRecord]
    client: FakeClient = field(default_factory=FakeClient)

    def champion(self) -> ChampionRecord | None:
        return self.record

    def history(self) -> list[VersionRecord]:
        return self.versions

    def download_artifact(self, run_id: str, path: str, dest: Path) -> Path:
        return Path(self.client.download_artifacts(run_id, path, str(dest)))


@pytest.fixture(scope="module")
def config(german_config_path: Path) -> ProjectConfig:
    return load_config(german_config_path)


def _registry(config: ProjectConfig, *, age_days: float, data_fingerprint: str | None, hashes=None) -> FakeRegistry:
    trained = NOW - timedelta(days=age_days)
    record = ChampionRecord(
        name="german-credit",
        version="2",
        run_id="run2",
        registered_at=trained,
        trained_at=trained,
        model_uri="models:/german-credit/2",
        sha256="a" * 64,
        tags={"mlgate.promoted_from": "1"}
        | ({} if data_fingerprint is None else {"mlgate.data_fingerprint": data_fingerprint}),
    )
    versions = [
        VersionRecord("3", "run3", NOW, ("challenger",), {"mlgate.model_sha256": "b" * 64}),
        VersionRecord("2", "run2", trained, ("champion",), {"mlgate.promoted_from": "1"}),
        VersionRecord("1", "run1", trained - timedelta(days=3), (), {"mlgate.rolled_back_at": "2025-05-01"}),
    ]
    client = FakeClient({("run2", ROW_HASHES_ARTIFACT): hashes} if hashes is not None else {})
    return FakeRegistry(record, versions, client)


def _current(config: ProjectConfig):
    return load(config.data, source=config.data_source).frame


def test_a_fresh_champion_on_the_same_data_is_not_stale(config: ProjectConfig) -> None:
    frame = _current(config)
    registry = _registry(config, age_days=3, data_fingerprint=fingerprint(frame), hashes=row_hashes(frame))
    status = collect_status(config, registry=registry, now=NOW)
    assert status["champion"]["version"] == "2" and status["champion"]["age_days"] == 3.0
    assert status["champion"]["row_hashes_recorded"] is True
    assert [r["status"] for r in status["staleness"]] == ["pass", "pass", "skipped"]
    assert status["stale"] is False and status["exit_code"] == 0
    assert [h["version"] for h in status["history"]] == ["3", "2", "1"]
    assert status["history"][1]["aliases"] == ["champion"]


def test_an_old_champion_on_changed_data_is_stale(config: ProjectConfig) -> None:
    frame = _current(config)
    old_hashes = row_hashes(frame.iloc[:800])  # the champion saw 800 of today's 1000 rows
    registry = _registry(config, age_days=100, data_fingerprint="0" * 64, hashes=old_hashes)
    status = collect_status(config, registry=registry, now=NOW)
    verdicts = {r["id"]: r for r in status["staleness"]}
    assert verdicts["staleness.champion_age"]["status"] == "fail"
    assert "trained 100.0 days ago" in verdicts["staleness.champion_age"]["message"]
    assert verdicts["staleness.data_changed"]["status"] == "fail"
    assert "200 rows added, 0 removed (800 -> 1000 rows)" in verdicts["staleness.data_changed"]["message"]
    assert status["stale"] is True and status["exit_code"] == 1


def test_missing_row_hashes_and_fingerprint_are_reported_not_guessed(config: ProjectConfig) -> None:
    status = collect_status(config, registry=_registry(config, age_days=1, data_fingerprint=None), now=NOW)
    assert status["champion"]["row_hashes_recorded"] is False
    data_changed = status["staleness"][1]
    assert data_changed["status"] == "warn" and "no recorded data fingerprint" in data_changed["message"]


def test_no_champion_yet(config: ProjectConfig) -> None:
    status = collect_status(config, registry=FakeRegistry(None, []), now=NOW)
    assert status["champion"] is None and status["staleness"] == [] and status["exit_code"] == 0
    out = io.StringIO()
    print_status(status, Console(file=out, width=160, color_system=None))
    text = out.getvalue()
    assert "champion: none yet" in text and "versions: none registered" in text


def test_print_status_shows_champion_verdicts_and_history(config: ProjectConfig) -> None:
    frame = _current(config)
    registry = _registry(config, age_days=100, data_fingerprint=fingerprint(frame), hashes=row_hashes(frame))
    out = io.StringIO()
    print_status(collect_status(config, registry=registry, now=NOW), Console(file=out, width=200, color_system=None))
    text = out.getvalue()
    assert "champion: v2 (run run2), trained 2025-02-21T00:00:00+00:00, 100.0 days ago" in text
    assert "staleness.champion_age" in text and "FAIL" in text
    assert "verdict: STALE: retrain due" in text
    assert "(rolled back 2025-05-01)" in text and "challenger" in text
