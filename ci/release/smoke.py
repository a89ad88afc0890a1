"""Run the serving image, wait for /ready (bounded), send the golden set, require bitwise-equal probabilities.

HTTP is plain ``urllib`` so the smoke test needs nothing beyond the standard library on the CI machine.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mlgate.ci.release.errors import ParityError, ReleaseError
from mlgate.ci.release.podman import Podman

__all__ = [
    "ParityResult",
    "compare_probabilities",
    "http_json",
    "predict_payload",
    "predicted_probabilities",
    "run_container",
    "smoke_test",
    "wait_ready",
]


@dataclass(frozen=True)
class ParityResult:
    """How the served probabilities compare with the offline ones on the golden set."""

    rows: int
    mismatches: int
    max_abs_diff: float
    first_mismatch: int | None
    user_id: int | None = None
    ready_seconds: float | None = None

    @property
    def passed(self) -> bool:
        return self.mismatches == 0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}


def http_json(
    method: str, url: str, payload: Any = None, *, timeout: float = 10.0
) -> tuple[int, Any, Mapping[str, str]]:
    """One request; returns (status, decoded JSON body or text, headers). Connection errors raise OSError."""
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, body, headers = response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        status, body, headers = exc.code, exc.read(), dict(exc.headers or {})
    try:
        return status, json.loads(body), headers
    except ValueError:
        return status, body.decode(errors="replace"), headers


def run_container(
    podman: Podman,
    image: str,
    *,
    name: str,
    port: int,
    host: str = "127.0.0.1",
    labels: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    secret_env: Mapping[str, str] | None = None,
    hostname: str | None = None,
    volumes: Mapping[Path, str] | None = None,
) -> str:
    """Start the image detached on the host network, the app bound to ``host:port``; return the container name.

    ``env`` sets variables in the container (``MLGATE_TRUSTED_KEYS`` replaces the image's baked trusted keys);
    ``secret_env`` too, but its values reach podman through its environment, never its command line.
    ``hostname``: on the host network a container otherwise gets the host's name. ``volumes``: host folder ->
    path in the container, read-write.
    """
    podman.remove_container(name)
    label_args = [arg for key, value in (labels or {}).items() for arg in ("--label", f"{key}={value}")]
    options = [arg for key, value in (env or {}).items() for arg in ("--env", f"{key}={value}")]
    options += [arg for key in secret_env or {} for arg in ("--env", key)]
    options += ["--hostname", hostname] if hostname else []
    options += [arg for source, target in (volumes or {}).items() for arg in ("--volume", f"{source}:{target}:rw")]
    podman.run(
        "run", "--detach", "--name", name, "--network", "host", "--read-only", "--tmpfs", "/tmp",
        "--label", "io.mlgate.role=serving", *label_args, *options, image, "--host", host, "--port", str(port),
        env=secret_env,
    )  # fmt: skip
    return name


def wait_ready(
    base_url: str, *, timeout: float = 60.0, interval: float = 0.2, alive: Callable[[], bool] | None = None
) -> float:
    """Poll GET /ready until it answers 200; return the seconds it took. Raise ReleaseError after ``timeout``."""
    start = time.monotonic()
    last = "no answer"
    while time.monotonic() - start < timeout:
        if alive is not None and not alive():
            raise ReleaseError(f"{base_url}: the container exited before /ready answered 200 (last: {last})")
        try:
            status, body, _ = http_json("GET", f"{base_url}/ready", timeout=2.0)
            if status == 200:
                return time.monotonic() - start
            last = f"HTTP {status} {str(body)[:200]}"
        except OSError as exc:
            last = type(exc).__name__
        time.sleep(interval)
    raise ReleaseError(f"{base_url}: /ready did not answer 200 within {timeout:.0f} s (last: {last})")


def predict_payload(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The POST /predict request body for feature rows."""
    return {"records": rows}


def predicted_probabilities(body: Any) -> list[float]:
    """The positive-class probabilities in a POST /predict response body."""
    try:
        return [float(item["probability"]) for item in body["predictions"]]
    except (KeyError, TypeError) as exc:
        raise ReleaseError(f"/predict answered an unexpected body: {str(body)[:200]}") from exc


def compare_probabilities(expected: Any, observed: Any) -> ParityResult:
    """Exact (bitwise) comparison of two probability vectors."""
    want = np.asarray(expected, dtype=np.float64)
    got = np.asarray(observed, dtype=np.float64)
    if want.shape != got.shape:
        raise ParityError(f"served {got.shape[0]} probabilities for {want.shape[0]} golden rows")
    differ = want.view(np.uint64) != got.view(np.uint64)
    diff = float(np.max(np.abs(want - got))) if len(want) else 0.0
    first = int(np.argmax(differ)) if differ.any() else None
    return ParityResult(rows=len(want), mismatches=int(differ.sum()), max_abs_diff=diff, first_mismatch=first)


def smoke_test(
    podman: Podman, image: str, *, golden: Mapping[str, Any], port: int, name: str, ready_timeout: float = 90.0
) -> ParityResult:
    """Run ``image``, wait for /ready, check /health and /model, POST the golden set; always remove the container."""
    base = f"http://127.0.0.1:{port}"
    run_container(podman, image, name=name, port=port)
    try:
        try:
            took = wait_ready(base, timeout=ready_timeout, alive=lambda: podman.container_running(name))
        except ReleaseError as exc:
            raise ReleaseError(f"{exc}; container log: {podman.log_tail(name)}") from exc
        for path in ("/health", "/model"):
            status, body, _ = http_json("GET", base + path)
            if status != 200:
                raise ReleaseError(f"{base}{path}: expected HTTP 200, got {status}: {str(body)[:200]}")
        status, body, _ = http_json("POST", f"{base}/predict", predict_payload(golden["rows"]), timeout=60)
        if status != 200:
            raise ReleaseError(f"{base}/predict with {len(golden['rows'])} golden rows: HTTP {status}: {body}")
        result = compare_probabilities(golden["proba"], predicted_probabilities(body))
        user = podman.run("exec", name, "id", "-u").stdout.strip()
        return ParityResult(**{**asdict(result), "user_id": int(user), "ready_seconds": round(took, 2)})
    finally:
        podman.remove_container(name)
