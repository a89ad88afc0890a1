"""Shared fixtures and the layered-suite markers.

Folders map to markers, so ``pytest -m drift`` runs the drift layer's suite and CI can give each layer its
own status check: tests/unit -> unit, tests/gates/<layer> -> <layer>, tests/serving -> serving,
tests/integration -> integration, tests/hostile -> hostile (the bad-input corpus).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fixtures.postgres import german_credit_pg, postgres_server  # noqa: F401  (session fixtures, see there)
from fixtures.project import copy_project
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[1]
LAYER_FOLDERS = {"schema", "balance", "drift", "quality", "reproducibility", "staleness", "monitor", "deepchecks"}

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


@pytest.fixture(scope="session", autouse=True)
def signing_key(tmp_path_factory: pytest.TempPathFactory):
    """A model-signing key for the whole session (never the user's own), set in os.environ so that subprocesses
    (retrains, ``python -m mlgate.pipeline.serve``, the CLI) inherit it: MLGATE_SIGNING_KEY_FILE for the gated run and
    the release tooling, MLGATE_TRUSTED_KEYS (its public half) for the serving app."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    from mlgate.pipeline.signing import ENV_SIGNING_KEY_FILE, ENV_TRUSTED_KEYS, ENV_TRUSTED_KEYS_FILE, public_key_text

    key = Ed25519PrivateKey.generate()
    path = tmp_path_factory.mktemp("signing") / "signing-key.pem"
    path.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    path.chmod(0o600)
    names = (ENV_SIGNING_KEY_FILE, ENV_TRUSTED_KEYS, ENV_TRUSTED_KEYS_FILE)
    saved = {name: os.environ.get(name) for name in names}
    os.environ.pop(ENV_TRUSTED_KEYS_FILE, None)
    os.environ[ENV_SIGNING_KEY_FILE] = str(path)
    os.environ[ENV_TRUSTED_KEYS] = public_key_text(key.public_key())
    yield key
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def german_config_path() -> Path:
    return ROOT / "mlgate.toml"


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """A private copy of the bundled project (config, schema, data) so a test may change or break it."""
    return copy_project(tmp_path)
