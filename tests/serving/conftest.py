"""Serving fixtures: a release bundle built once per session from the bundled German credit project, and the
app running under a real uvicorn server (``python -m mlgate.pipeline.serve``) on 127.0.0.1 with a free port.

The golden set is the test split with the offline probabilities of the same fitted pipeline: the app must
return them bit for bit.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from mlgate.pipeline.artifact import save_model
from mlgate.pipeline.signing import sign_model

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "schemas" / "german_credit.schema.yaml"
SERVER_MAX_BATCH = 1_000  # the session server's limits (defaults: 10,000 records, 8 MiB; see test_app_models)
SERVER_MAX_BODY_BYTES = 2_000_000


@dataclass(frozen=True)
class Golden:
    records: list[dict[str, Any]]
    proba: np.ndarray
    threshold: float
    features: list[str]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_bundle(dest: Path, pipeline: Any, *, features, numeric, categorical, threshold: float) -> Path:
    """Write model.skops, model.meta.json, schema.yaml and release.json (signed) into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    model_path = dest / "model.skops"
    save_model(
        pipeline,
        model_path,
        features=list(features),
        numeric=list(numeric),
        categorical=list(categorical),
        threshold=float(threshold),
        positive_label=1,
    )
    shutil.copy2(SCHEMA, dest / "schema.yaml")
    release = {
        "model_name": "german-credit",
        "model_version": "7",
        "run_id": "0123456789abcdef",
        "data_fingerprint": "sha256:feedface",
        "gate_report_sha256": "ab" * 32,
        "git_commit": "deadbeef",
        "created_at": "2026-01-01T00:00:00Z",
        "model_sha256": _sha256(model_path),
    }
    release["model_signature"] = sign_model(  # with the session's key (tests/conftest.py): the app trusts it
        release["model_sha256"],
        meta_sha256=_sha256(dest / "model.meta.json"),
        model_name=release["model_name"],
        run_id=release["run_id"],
    )
    (dest / "release.json").write_text(json.dumps(release, indent=2))
    return dest


def _native(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else value


@pytest.fixture(scope="session")
def trained():
    from mlgate.pipeline.candidate import load_data, train_candidate
    from mlgate.pipeline.config import load_config

    config = load_config(ROOT / "mlgate.toml")
    data = load_data(config)
    return data, train_candidate(config, data, random_state=42)


@pytest.fixture(scope="session")
def golden(trained) -> Golden:
    data, candidate = trained
    features = data.prepared.features
    rows = data.split.test[features].to_dict("records")
    records = [{k: _native(v) for k, v in row.items()} for row in rows]
    return Golden(records, np.asarray(candidate.proba_test), float(candidate.threshold), list(features))


@pytest.fixture(scope="session")
def new_bundle(trained, tmp_path_factory):
    """A factory: a fresh bundle folder (a copy a test may tamper with)."""
    data, candidate = trained

    def make(name: str = "bundle") -> Path:
        dest = tmp_path_factory.mktemp(name)
        return write_bundle(
            dest,
            candidate.pipeline,
            features=data.prepared.features,
            numeric=data.prepared.numeric,
            categorical=data.prepared.categorical,
            threshold=candidate.threshold,
        )

    return make


@pytest.fixture(scope="session")
def bundle_dir(new_bundle) -> Path:
    return new_bundle("bundle")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve(bundle: Path, *args: str, log_dir: Path, timeout: float = 180.0) -> Iterator[str]:
    """Run ``python -m mlgate.pipeline.serve`` on a free port; yield its base URL once /health answers; stop it."""
    port = free_port()
    log_path = log_dir / f"serve-{port}.log"
    command = [sys.executable, "-m", "mlgate.pipeline.serve", "--bundle", str(bundle), "--port", str(port), *args]
    env = {
        "MLGATE_PREDICTION_LOG_DIR": str(log_dir / f"predictions-{port}"),  # each server its own log by default
        **os.environ,
        "PYTHONWARNINGS": "error::DeprecationWarning",
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited with {process.returncode}:\n{log_path.read_text()}")
            try:
                if httpx.get(f"{url}/health", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not answer /health within {timeout}s:\n{log_path.read_text()}")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        server_log = log_path.read_text(errors="replace")
        if "Traceback" in server_log and "model not loaded" not in server_log:
            print(server_log, file=sys.stderr)


@pytest.fixture(scope="session")
def server_log_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("server-logs")


@pytest.fixture(scope="session")
def start_server(server_log_dir):
    """``with start_server(bundle, *args) as url:`` runs another app server for one test."""
    return functools.partial(serve, log_dir=server_log_dir)


@pytest.fixture(scope="session")
def server_max_batch() -> int:
    return SERVER_MAX_BATCH


@pytest.fixture(scope="session")
def server_max_body_bytes() -> int:
    return SERVER_MAX_BODY_BYTES


@pytest.fixture(scope="session")
def server(bundle_dir, server_log_dir) -> Iterator[str]:
    limits = ("--max-batch", str(SERVER_MAX_BATCH), "--max-body-bytes", str(SERVER_MAX_BODY_BYTES))
    with serve(bundle_dir, *limits, log_dir=server_log_dir) as url:
        yield url


@pytest.fixture
def client(server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=30.0) as http:
        yield http
