"""What hostile ``POST /predict`` bodies cost the serving app: status, answer size, time and peak RSS growth.

    .venv/bin/python benchmarks/bench_api_limits.py [--max-batch N] [--max-body-bytes N]

Fits a small German credit model, writes a bundle signed with a throw-away key, starts ``python -m
pipeline.serve`` (one uvicorn worker, the default limits unless given) and sends each payload once, one at a
time, each to a fresh server that has answered one good record. Peak RSS growth is the server process's
high-water mark (``VmHWM``, reset just before the request through ``/proc/<pid>/clear_refs``) minus its RSS
just before the request: the memory one request of that kind needs (Linux only). Stops the servers itself.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mlgate.pipeline.serve.app import DEFAULT_MAX_BATCH, DEFAULT_MAX_BODY_BYTES  # noqa: E402

GOOD = {
    "sex": "female",
    "job": "2",
    "housing": "own",
    "saving_accounts": None,
    "checking_account": "little",
    "credit_amount": 5943,
    "duration": 24,
    "purpose": "radio/TV",
    "age": 44,
}


def j(value: Any) -> bytes:
    return json.dumps(value).encode()


def payloads(max_batch: int, max_body: int) -> list[tuple[str, bytes]]:
    """The corpus' worst cases, sized for the server's limits."""
    wide_keys = {f"unknown_key_{i:08d}_" + "x" * 70: 1 for i in range(100_000)}  # the 9.7 MB request
    just_under = max_body - 400
    return [
        ("good record", j(GOOD)),
        (f"good batch of {max_batch}", j({"records": [GOOD] * max_batch})),
        ("9.7 MB, 100k unknown keys (issue 7)", j({**GOOD, **wide_keys})),
        ("100k unknown keys (1.3 MB)", j({**GOOD, **{f"k{i}": 1 for i in range(100_000)}})),
        ("10k-deep nesting", b"[" * 10_000 + b"]" * 10_000),
        (f"{max_batch} empty records", j({"records": [{}] * max_batch})),
        (f"{max_batch} records, every field wrong", j({"records": [{k: [0] for k in GOOD}] * max_batch})),
        (f"duplicate key in record {max_batch}", j({"records": [GOOD] * max_batch})[:-3] + b', "age": 1}]}'),
        ("string field just under the body limit", j({**GOOD, "sex": "x" * just_under})),
        ("[0,0,...] just under the body limit", b"[" + b"0," * (just_under // 2) + b"0]"),
        ("[{},{},...] 100k objects", b"[" + b"{}," * 100_000 + b"{}]"),
        (
            "1,000 records with 4,000-digit ints",
            j({"records": [{**GOOD, "age": 0}] * 1000}).replace(b'"age": 0', b'"age": ' + b"9" * 4000),
        ),
        ("5,000-digit int", j(GOOD).replace(b'"age": 44', b'"age": ' + b"9" * 5000)),
        ("UTF-16 body", json.dumps(GOOD).encode("utf-16")),
        ("body over the limit", b"{" + b" " * max_body + b"}"),
    ]


def build(work: Path) -> tuple[Path, dict[str, str]]:
    """A signed bundle and the environment that makes the server trust its key."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    from mlgate.pipeline import signing
    from mlgate.pipeline.artifact import file_sha256, save_model
    from mlgate.pipeline.candidate import load_data
    from mlgate.pipeline.config import ModelSettings, load_config
    from mlgate.pipeline.train import build_pipeline

    key = Ed25519PrivateKey.generate()
    key_file = work / "signing-key.pem"
    key_file.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    key_file.chmod(0o600)
    env = {
        signing.ENV_SIGNING_KEY_FILE: str(key_file),
        signing.ENV_TRUSTED_KEYS: signing.public_key_text(key.public_key()),
    }
    os.environ.update(env)
    env["MLGATE_PREDICTION_LOG_DIR"] = str(work / "predictions")  # the server logs (its default) in the scratch folder
    data = load_data(load_config(ROOT / "mlgate.toml"))
    prepared = data.prepared
    settings = ModelSettings(estimator="logistic_regression", params={"C": 0.1, "max_iter": 1000})
    model = build_pipeline(settings, prepared.numeric, prepared.categorical, random_state=0)
    model.fit(data.split.train[prepared.features], data.split.y_train)
    bundle = work / "bundle"
    bundle.mkdir()
    sha = save_model(model, bundle / "model.skops", features=prepared.features, numeric=prepared.numeric,
                     categorical=prepared.categorical, threshold=0.5, positive_label=1)  # fmt: skip
    shutil.copy2(ROOT / "schemas" / "german_credit.schema.yaml", bundle / "schema.yaml")
    meta_sha = file_sha256(bundle / "model.meta.json")
    release = {"model_name": "german-credit", "model_version": "bench", "run_id": "bench", "model_sha256": sha}
    release["model_signature"] = signing.sign_model(
        sha, meta_sha256=meta_sha, model_name="german-credit", run_id="bench"
    )
    (bundle / "release.json").write_text(json.dumps(release))
    return bundle, env


@contextmanager
def server(bundle: Path, env: dict[str, str], args: list[str], log: Path):
    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "mlgate.pipeline.serve", "--bundle", str(bundle), "--port", str(port), *args]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **env}, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server not ready after 120 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield url, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


def measure(url: str, pid: int, body: bytes) -> dict[str, Any]:
    import httpx

    Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset the high-water mark to the current RSS
    before = _status_kib(pid, "VmRSS")
    started = time.perf_counter()
    response = httpx.post(f"{url}/predict", content=body, headers={"content-type": "application/json"}, timeout=120)
    elapsed = time.perf_counter() - started
    peak = _status_kib(pid, "VmHWM")
    detail = response.json().get("detail")
    shown = detail if isinstance(detail, str) else (detail[0]["msg"] if detail else "")
    return {
        "status": response.status_code,
        "answer": len(response.content),
        "ms": elapsed * 1000,
        "growth_mib": max(peak - before, 0) / 1024,
        "rss_mib": before / 1024,
        "detail": str(shown)[:60],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-batch", type=int, default=DEFAULT_MAX_BATCH)
    parser.add_argument("--max-body-bytes", type=int, default=DEFAULT_MAX_BODY_BYTES)
    args = parser.parse_args(argv)
    limits = ["--max-batch", str(args.max_batch), "--max-body-bytes", str(args.max_body_bytes)]
    with tempfile.TemporaryDirectory(prefix="mlgate-bench-api-") as tmp:
        work = Path(tmp)
        bundle, env = build(work)
        cases = payloads(args.max_batch, args.max_body_bytes)
        rows = []
        for name, body in cases:  # a fresh server each: memory freed by one request would hide the next one's
            with server(bundle, env, limits, work / "server.log") as (url, pid):
                measure(url, pid, cases[0][1])  # warm up with one good record
                rows.append((name, len(body), measure(url, pid, body)))
    print(f"limits: {args.max_batch} records, {args.max_body_bytes} bytes per request; one uvicorn worker")
    header = f"{'payload':42} {'bytes':>10} {'status':>6} {'answer B':>9} {'ms':>8} {'peak RSS +MiB':>13}  detail"
    print(header)
    print("-" * len(header))
    for name, size, row in rows:
        print(f"{name:42} {size:>10} {row['status']:>6} {row['answer']:>9} {row['ms']:>8.0f} "
              f"{row['growth_mib']:>13.1f}  {row['detail']}")  # fmt: skip
    worst = max(rows, key=lambda r: r[2]["growth_mib"])
    refused = [r for r in rows if r[2]["status"] >= 400]
    print(f"worst peak RSS growth: {worst[2]['growth_mib']:.1f} MiB ({worst[0]}); "
          f"largest error answer: {max(r[2]['answer'] for r in refused)} bytes")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
