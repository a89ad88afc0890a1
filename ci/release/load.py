"""A bounded client loop in a separate process: POST /predict against the load balancer, count failures.

Used by the rollout tests, the e2e run and benchmarks/bench_rollout.py. A request fails when it does not get
HTTP 200 with as many probabilities as rows sent (connection errors and timeouts count too). Every request sends
all the rows, or with ``batch`` the next ``batch`` rows, cycling; the request id of every record answered is kept
with the index of its row (``served``), so a caller can find the records in the prediction log.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["LoadGenerator", "LoadResult", "main", "run_load"]


@dataclass(frozen=True)
class LoadResult:
    requests: int
    failed: int
    seconds: float
    upstreams: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    served: dict[str, int] = field(default_factory=dict)  # request id of each record answered -> its row index

    @classmethod
    def read(cls, path: Path) -> LoadResult:
        return cls(**json.loads(path.read_text()))


def _batches(count: int, batch: int) -> Iterator[list[int]]:
    """Row indexes of each request: all rows every time, or the next ``batch`` rows, cycling."""
    size = batch if 0 < batch < count else count
    start = 0
    while True:
        yield [(start + i) % count for i in range(size)]
        start = (start + size) % count


def run_load(
    url: str,
    rows: list[dict[str, Any]],
    *,
    stop_file: Path,
    max_seconds: float,
    max_requests: int,
    pause: float,
    batch: int = 0,
) -> LoadResult:
    from mlgate.ci.release.smoke import http_json, predict_payload

    upstreams: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    served: dict[str, int] = {}
    requests = failed = 0
    start = time.monotonic()
    batches = _batches(len(rows), batch)
    while requests < max_requests and time.monotonic() - start < max_seconds and not stop_file.exists():
        requests += 1
        indexes = next(batches)
        try:
            payload = predict_payload([rows[i] for i in indexes])
            status, body, headers = http_json("POST", f"{url}/predict", payload, timeout=10)
            upstreams[headers.get("X-Mlgate-Upstream", "?")] += 1
            answers = body.get("predictions", []) if status == 200 else []
            if status != 200 or len(answers) != len(indexes):
                failed += 1
                errors[f"HTTP {status}"] += 1
            else:
                served.update((answer["request_id"], i) for answer, i in zip(answers, indexes, strict=True))
        except (OSError, ValueError, AttributeError, KeyError, TypeError) as exc:
            failed += 1
            errors[type(exc).__name__] += 1
        time.sleep(pause)
    return LoadResult(requests, failed, round(time.monotonic() - start, 2), dict(upstreams), dict(errors), served)


class LoadGenerator:
    """Start ``python -m ci.release.load`` in the background; ``stop()`` ends it and returns its counts."""

    def __init__(
        self,
        url: str,
        rows: list[dict[str, Any]],
        *,
        folder: Path,
        max_seconds: float = 300,
        pause: float = 0.01,
        batch: int = 0,
    ) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.stop_file = folder / "load.stop"
        self.out = folder / "load.json"
        self.stop_file.unlink(missing_ok=True)
        self.out.unlink(missing_ok=True)
        (folder / "rows.json").write_text(json.dumps(rows))
        command = [sys.executable, "-m", "mlgate.ci.release.load", "--url", url, "--rows", str(folder / "rows.json"),
                   "--stop-file", str(self.stop_file), "--out", str(self.out), "--max-seconds", str(max_seconds),
                   "--pause", str(pause), "--batch", str(batch)]  # fmt: skip
        self.process = subprocess.Popen(command)

    def stop(self, *, timeout: float = 30) -> LoadResult:
        self.stop_file.touch()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return LoadResult.read(self.out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ci.release.load", description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--rows", type=Path, required=True)
    parser.add_argument("--stop-file", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--max-seconds", type=float, default=300)
    parser.add_argument("--max-requests", type=int, default=1_000_000)
    parser.add_argument("--pause", type=float, default=0.01)
    parser.add_argument("--batch", type=int, default=0, help="rows per request, cycling (0: every row each time)")
    args = parser.parse_args(argv)
    result = run_load(
        args.url, json.loads(args.rows.read_text()), stop_file=args.stop_file, max_seconds=args.max_seconds,
        max_requests=args.max_requests, pause=args.pause, batch=args.batch,
    )  # fmt: skip
    args.out.write_text(json.dumps(result.__dict__))
    return 0


if __name__ == "__main__":
    sys.exit(main())
