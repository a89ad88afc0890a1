"""Shared fixtures and the layered-suite markers.

Folders map to markers, so ``pytest -m drift`` runs the drift layer's suite and CI can give each layer its
own status check: tests/unit -> unit, tests/gates/<layer> -> <layer>, tests/serving -> serving,
tests/integration -> integration, tests/hostile -> hostile (the bad-input corpus).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from fixtures.postgres import german_credit_pg, postgres_server  # noqa: F401  (session fixtures, see there)
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[1]
LAYER_FOLDERS = {"schema", "balance", "drift", "quality", "reproducibility", "staleness"}

settings.register_profile(
    "ci", max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=25, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        try:
            parts = Path(str(item.path)).relative_to(ROOT / "tests").parts
        except ValueError:  # gate items collected from an mlgate*.toml carry their own markers
            continue
        if parts[0] == "unit":
            item.add_marker(pytest.mark.unit)
        elif parts[0] == "gates" and len(parts) > 1 and parts[1] in LAYER_FOLDERS:
            item.add_marker(getattr(pytest.mark, parts[1]))
        elif parts[0] in {"serving", "integration", "hostile"}:
            item.add_marker(getattr(pytest.mark, parts[0]))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def german_config_path() -> Path:
    return ROOT / "mlgate.toml"


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """A private copy of the bundled project (config, schema, data) so a test may change or break it."""
    for name in ("mlgate.toml", "data", "schemas"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name)
        elif source.exists():
            shutil.copy2(source, tmp_path / name)
    return tmp_path
