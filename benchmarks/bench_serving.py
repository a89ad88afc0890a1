"""Serving latency and throughput: the mlgate app vs ``mlflow models serve`` on the same fitted model.

    .venv/bin/python benchmarks/bench_serving.py [--quick] [--single N] [--batch N] [--batch-size K]

Trains the bundled German credit candidate once, writes an mlgate release bundle and logs the same pipeline to
a temporary sqlite MLflow store (``mlflow.sklearn.log_model`` with ``pyfunc_predict_fn="predict_proba"``, so
both servers answer probabilities). Starts both servers side by side on 127.0.0.1, one uvicorn worker each
(``python -m pipeline.serve``; ``mlflow models serve --env-manager local -w 1``), then drives each in turn
from a separate load-generator process (a sequential httpx keep-alive client: one request in flight, so the
figures are per-request service time, not saturation throughput). Reports p50/p99 latency, requests/s and
records/s for single records and batches, with mlgate/mlflow ratios. Stops both servers itself.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WARMUP = 30


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def build(work: Path) -> tuple[Path, str, list[dict]]:
    """Train once; write the mlgate bundle and log the same pipeline to MLflow. Returns (bundle, model URI, rows)."""
    import mlflow
    import mlflow.sklearn

    from mlgate.pipeline.artifact import file_sha256, save_model
    from mlgate.pipeline.candidate import load_data, train_candidate
    from mlgate.pipeline.config import load_config
    from mlgate.pipeline.signing import sign_model

    config = load_config(ROOT / "mlgate.toml")
    data = load_data(config)
    candidate = train_candidate(config, data, random_state=42)
    features = list(data.prepared.features)
    bundle = work / "bundle"
    bundle.mkdir()
    sha = save_model(
        candidate.pipeline,
        bundle / "model.skops",
        features=features,
        numeric=list(data.prepared.numeric),
        categorical=list(data.prepared.categorical),
        threshold=candidate.threshold,
        positive_label=1,
    )
    shutil.copy2(config.schema_path, bundle / "schema.yaml")
    release = {"model_name": "german-credit", "model_version": "bench", "run_id": None, "model_sha256": sha}
    meta_sha = file_sha256(bundle / "model.meta.json")  # signed with this machine's key; the server trusts it (below)
    release["model_signature"] = sign_model(sha, meta_sha256=meta_sha, model_name="german-credit", run_id=None)
    (bundle / "release.json").write_text(json.dumps(release))
    assert file_sha256(bundle / "model.skops") == sha

    mlflow.set_tracking_uri(f"sqlite:///{work / 'mlflow.db'}")
    experiment = mlflow.create_experiment("bench-serving", artifact_location=(work / "artifacts").as_uri())
    trusted = json.loads((bundle / "model.meta.json").read_text())["trusted_types"]
    with mlflow.start_run(experiment_id=experiment) as run:
        mlflow.sklearn.log_model(
            candidate.pipeline, name="model", pyfunc_predict_fn="predict_proba", skops_trusted_types=trusted
        )
    rows = [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
        for row in data.split.test[features].to_dict("records")
    ]
    return bundle, f"runs:/{run.info.run_id}/model", rows


@contextmanager
def server(command: list[str], health_url: str, log: Path, env: dict[str, str], timeout: float = 150.0):
    import httpx

    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{command[:4]} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(health_url, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{health_url} not healthy after {timeout}s:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def load_generator(url: str, payloads_file: Path, n: int) -> dict:
    """Run in a child process: POST the payloads round-robin ``n`` times (after a warm-up), one at a time."""
    import httpx

    payloads = [json.dumps(p).encode() for p in json.loads(payloads_file.read_text())]
    latencies = []
    headers = {"content-type": "application/json"}
    with httpx.Client(timeout=60) as client:
        for i in range(WARMUP):
            client.post(url, content=payloads[i % len(payloads)], headers=headers).raise_for_status()
        start = time.perf_counter()
        for i in range(n):
            t0 = time.perf_counter()
            response = client.post(url, content=payloads[i % len(payloads)], headers=headers)
            latencies.append(time.perf_counter() - t0)
            response.raise_for_status()
        elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "n": n,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, math.ceil(0.99 * len(latencies)) - 1)],
        "rps": n / elapsed,
    }


def drive(url: str, payloads: list, n: int, work: Path) -> dict:
    path = work / f"payloads-{_free_port()}.json"
    path.write_text(json.dumps(payloads))
    out = subprocess.run(
        [sys.executable, __file__, "--load", url, str(path), str(n)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="500 single requests, 50 batches")
    parser.add_argument("--single", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--load", nargs=3, help=argparse.SUPPRESS)  # child process: URL PAYLOADS N
    args = parser.parse_args(argv)
    if args.load:
        print(json.dumps(load_generator(args.load[0], Path(args.load[1]), int(args.load[2]))))
        return 0
    if args.quick:
        args.single, args.batch = 500, 50

    import httpx
    from rich.console import Console
    from rich.table import Table

    from mlgate.pipeline.signing import ENV_TRUSTED_KEYS, trusted_keys, trusted_keys_text

    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mlgate-bench-serving-") as tmp, ExitStack() as stack:
        work = Path(tmp)
        bundle, model_uri, rows = build(work)
        env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}"}
        env[ENV_TRUSTED_KEYS] = trusted_keys_text(trusted_keys())  # the signing key's public half
        # mlflow starts `uvicorn` from PATH: make it the virtualenv's
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        mlgate_port, mlflow_port = _free_port(), _free_port()
        mlgate_cmd = [
            sys.executable,
            "-m",
            "mlgate.pipeline.serve",
            "--bundle",
            str(bundle),
            "--port",
            str(mlgate_port),
        ]
        mlgate_cmd += ["--log-level", "warning", "--prediction-log-dir", str(work / "predictions")]  # logged (default)
        mlflow_cmd = [sys.executable, "-m", "mlflow", "models", "serve", "-m", model_uri, "--env-manager", "local"]
        mlflow_cmd += ["-h", "127.0.0.1", "-p", str(mlflow_port), "-w", "1"]
        mlgate_url, mlflow_url = f"http://127.0.0.1:{mlgate_port}", f"http://127.0.0.1:{mlflow_port}"
        stack.enter_context(server(mlgate_cmd, f"{mlgate_url}/ready", work / "mlgate.log", env))
        stack.enter_context(server(mlflow_cmd, f"{mlflow_url}/ping", work / "mlflow.log", env))

        # Same answers from both (mlflow returns both class columns; the positive class is column 1).
        sample = rows[:50]
        ours = httpx.post(f"{mlgate_url}/predict", json={"records": sample}, timeout=60).json()["predictions"]
        theirs = httpx.post(f"{mlflow_url}/invocations", json={"dataframe_records": sample}, timeout=60).json()
        theirs = [p[1] for p in theirs["predictions"]]
        max_diff = max(abs(a["probability"] - b) for a, b in zip(ours, theirs, strict=True))

        k = args.batch_size
        batches = [rows[i : i + k] if i + k <= len(rows) else (rows * 2)[i : i + k] for i in range(0, len(rows), k)]
        plans = {
            "single": (args.single, 1, [r for r in rows], [{"dataframe_records": [r]} for r in rows]),
            f"batch of {k}": (
                args.batch,
                k,
                [{"records": b} for b in batches],
                [{"dataframe_records": b} for b in batches],
            ),
        }
        results: dict[tuple[str, str], dict] = {}
        for mode, (n, size, ours_payloads, theirs_payloads) in plans.items():
            for name, url, payloads in (
                ("mlgate", f"{mlgate_url}/predict", ours_payloads),
                ("mlflow", f"{mlflow_url}/invocations", theirs_payloads),
            ):
                result = drive(url, payloads, n, work)
                result["records_per_s"] = result["rps"] * size
                results[(mode, name)] = result

    table = Table(title="Serving: mlgate app vs mlflow models serve (1 uvicorn worker each, sequential client)")
    for column in ("mode", "server", "requests", "p50 ms", "p99 ms", "requests/s", "records/s"):
        table.add_column(column, justify="left" if column in {"mode", "server"} else "right")
    for mode in plans:
        a, b = results[(mode, "mlgate")], results[(mode, "mlflow")]
        for name, r in (("mlgate", a), ("mlflow", b)):
            table.add_row(
                mode,
                name,
                str(r["n"]),
                f"{r['p50_ms']:.2f}",
                f"{r['p99_ms']:.2f}",
                f"{r['rps']:.0f}",
                f"{r['records_per_s']:.0f}",
            )
        table.add_row(
            mode,
            "[b]mlgate/mlflow[/b]",
            "",
            f"{a['p50_ms'] / b['p50_ms']:.2f}x",
            f"{a['p99_ms'] / b['p99_ms']:.2f}x",
            f"{a['rps'] / b['rps']:.2f}x",
            f"{a['records_per_s'] / b['records_per_s']:.2f}x",
            end_section=True,
        )
    console = Console(width=120)
    console.print(table)
    console.print(
        f"max |probability difference| mlgate vs mlflow on 50 records: {max_diff:.3g}; "
        f"total {time.perf_counter() - began:.0f}s on {os.cpu_count()} cores"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
