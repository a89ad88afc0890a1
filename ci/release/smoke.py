"""Run the serving image, wait for /ready (bounded), send the golden set, require bitwise-equal answers.

Parity per task (the golden set's, from the model's meta file: :mod:`ci.release.bundle`): every golden row's
scores must be bitwise equal to the offline ones (binary: the positive-class ``probability``; multiclass: every
class's probability, ``probabilities[label]`` in class order, the whole (n, k) array; regression: the predicted
value), and when the golden set carries decisions, every served ``prediction`` must equal the offline decision
in value and JSON type (binary 0/1, the decided class label). A row whose scores differ in any bit counts once.

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

from mlgate.ci.release.bundle import golden_scores
from mlgate.ci.release.errors import ParityError, ReleaseError
from mlgate.ci.release.podman import Podman

__all__ = [
    "ParityResult",
    "compare_golden",
    "compare_probabilities",
    "http_json",
    "predict_payload",
    "predicted_probabilities",
    "run_container",
    "served_answers",
    "smoke_test",
    "wait_ready",
]


@dataclass(frozen=True)
class ParityResult:
    """How the served scores (and decisions) compare with the offline ones on the golden set: ``mismatches`` rows
    whose scores differ in any bit, ``decision_mismatches`` rows whose decision differs."""

    rows: int
    mismatches: int
    max_abs_diff: float
    first_mismatch: int | None
    user_id: int | None = None
    ready_seconds: float | None = None
    task: str = "binary"
    decision_mismatches: int = 0
    first_decision_mismatch: int | None = None
    scoring_path: str | None = None  # how the container scores (GET /model): array or sklearn
    scoring_path_reason: str | None = None  # why the scikit-learn path, when it is

    @property
    def passed(self) -> bool:
        return self.mismatches == 0 and self.decision_mismatches == 0

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
    """Exact (bitwise) comparison of two score arrays: vectors, or (rows, k) class probabilities (a row whose
    scores differ in any bit is one mismatch)."""
    want = np.asarray(expected, dtype=np.float64)
    got = np.asarray(observed, dtype=np.float64)
    if want.shape != got.shape:
        raise ParityError(f"served scores of shape {got.shape} for golden scores of shape {want.shape}")
    differ = want.view(np.uint64) != got.view(np.uint64)
    if differ.ndim == 2:
        differ = differ.any(axis=1)
    diff = float(np.max(np.abs(want - got))) if want.size else 0.0
    first = int(np.argmax(differ)) if differ.any() else None
    return ParityResult(rows=len(want), mismatches=int(differ.sum()), max_abs_diff=diff, first_mismatch=first)


def served_answers(body: Any, golden: Mapping[str, Any]) -> tuple[np.ndarray, list[Any]]:
    """The scores (as :func:`ci.release.bundle.golden_scores` holds them) and the decisions in a ``POST
    /predict`` batch answer, for the golden set's task."""
    task = golden.get("task", "binary")
    try:
        items = body["predictions"]
        decisions = [item["prediction"] for item in items]
        if task == "multiclass":
            keys = [c if isinstance(c, str) else json.dumps(c) for c in golden["classes"]]
            return np.array([[item["probabilities"][k] for k in keys] for item in items], dtype=np.float64), decisions
        if task == "regression":
            return np.array(decisions, dtype=np.float64), decisions
        return np.array(predicted_probabilities(body), dtype=np.float64), decisions
    except (KeyError, TypeError, ValueError) as exc:
        raise ReleaseError(f"/predict answered an unexpected body for a {task} model: {str(body)[:200]}") from exc


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def compare_golden(golden: Mapping[str, Any], body: Any) -> ParityResult:
    """Exact parity of a ``POST /predict`` answer to the golden rows with the golden set (module docstring)."""
    scores, decisions = served_answers(body, golden)
    fields = {**asdict(compare_probabilities(golden_scores(golden), scores)), "task": golden.get("task", "binary")}
    expected = golden.get("decisions")
    if expected is not None and golden.get("task") != "regression":  # a regression's decision is its value
        differ = [i for i, (want, got) in enumerate(zip(expected, decisions, strict=True)) if not _same(want, got)]
        fields.update(decision_mismatches=len(differ), first_decision_mismatch=differ[0] if differ else None)
    return ParityResult(**fields)


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
        served: Any = None
        for path in ("/health", "/model"):
            status, served, _ = http_json("GET", base + path)
            if status != 200:
                raise ReleaseError(f"{base}{path}: expected HTTP 200, got {status}: {str(served)[:200]}")
        status, body, _ = http_json("POST", f"{base}/predict", predict_payload(golden["rows"]), timeout=60)
        if status != 200:
            raise ReleaseError(f"{base}/predict with {len(golden['rows'])} golden rows: HTTP {status}: {body}")
        result = compare_golden(golden, body)
        user = podman.run("exec", name, "id", "-u").stdout.strip()
        scoring = {key: served.get(key) for key in ("scoring_path", "scoring_path_reason")}
        return ParityResult(**{**asdict(result), "user_id": int(user), "ready_seconds": round(took, 2), **scoring})
    finally:
        podman.remove_container(name)
