"""What the prediction log costs a request: serving with and without it at fixed request rates.

    .venv/bin/python benchmarks/bench_prediction_log.py [--quick] [--seconds S] [--rates 50,200] [--rounds N]

Fits a small German credit model and signs a bundle with a throw-away key (as ``bench_api_limits.py``), then for
each rate and each mode starts ``python -m pipeline.serve`` (one uvicorn worker) and drives it open-loop: four
client threads send single-record ``POST /predict`` requests on a fixed schedule (rate / 4 each, so a slow answer
does not slow the offered load), for ``--seconds`` after a 2-second warm-up. Modes: ``off``
(``--no-prediction-log``), ``sqlite`` (the default: this replica's SQLite file, batches of up to 256 every
0.5 s), and ``unavailable, queue 64`` (a log folder that cannot be made and a 64-record queue: every record past
the queue is dropped and counted, and the request is served anyway). Reports client-side p50/p99/max latency,
requests answered (warm-up excluded), and the records the writer wrote and dropped (its Prometheus counters,
warm-up included) and the rows read back with ``read_window``. Modes alternate for ``--rounds`` rounds; the
figures are the median over rounds. The target (issue 10): p99 at 200 requests/s at most 1 ms above ``off``.
A second table measures the log's own costs in-process, free of HTTP noise: what ``LogWriter.submit`` costs a
request (µs per record) and the CPU the writer spends per record (20,000 records in batches of 256, fsync
included); and how long ``read_window`` takes on a generated log of ``--read-rows`` predictions (default 1M,
100k with ``--quick``; German-credit-like inputs, a third of them with feedback).
One uvicorn worker answers about 57 single-record requests/s on this 2-core machine (``bench_serving.py``), so
at 200 requests/s it is saturated and its latency is mostly queueing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_api_limits import GOOD, build, server  # noqa: E402

THREADS = 4
WARMUP_S = 2.0


def _drive(url: str, rate: float, seconds: float) -> list[float]:
    """Open-loop load: each thread sends on its own fixed schedule; latencies (ms) of the answered requests."""
    import httpx

    latencies: list[float] = []
    lock = threading.Lock()
    start = time.perf_counter() + 0.2

    def worker(offset: int) -> None:
        interval = THREADS / rate
        mine: list[float] = []
        with httpx.Client(base_url=url, timeout=30) as http:
            n = 0
            while True:
                due = start + (n + offset / THREADS) * interval
                if due - start > seconds:
                    break
                pause = due - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                sent = time.perf_counter()
                if http.post("/predict", json=GOOD).status_code == 200:
                    mine.append((time.perf_counter() - sent) * 1000)
                n += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


def _counter(url: str, name: str) -> float:
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    families = text_string_to_metric_families(httpx.get(f"{url}/metrics", timeout=10).text)
    return sum(s.value for f in families for s in f.samples if s.name == name)


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def run_mode(bundle: Path, env: dict[str, str], work: Path, mode: str, rate: float, seconds: float) -> dict[str, Any]:
    from mlgate.pipeline.predlog import read_window

    folder = work / f"log-{mode.replace(' ', '').replace(',', '-')}-{rate:g}-{time.monotonic_ns()}"
    target = bundle
    if mode == "off":
        args = ["--no-prediction-log"]
    elif mode == "sqlite":
        args = ["--prediction-log-dir", str(folder)]
    else:  # a folder under a file: the log can never be opened
        (work / "a-file").write_text("not a folder")
        args, target = ["--prediction-log-dir", str(work / "a-file" / "log")], work / "bundle-small-queue"
    with server(target, env, [*args, "--log-level", "warning"], work / "server.log") as (url, _pid):
        _drive(url, rate, WARMUP_S)
        latencies = _drive(url, rate, seconds)
        time.sleep(1.0)  # the last batch reaches the database
        written = _counter(url, "mlgate_prediction_log_written_total")
        dropped = _counter(url, "mlgate_prediction_log_dropped_total")
    rows = len(read_window(folder).predictions) if mode == "sqlite" else 0
    return {
        "mode": mode,
        "rate": rate,
        "answered": len(latencies),
        "p50": _quantile(latencies, 0.50),
        "p99": _quantile(latencies, 0.99),
        "max": max(latencies, default=float("nan")),
        "written": written,
        "dropped": dropped,
        "rows": rows,
    }


def _small_queue_bundle(bundle: Path, work: Path) -> None:
    import shutil

    small = work / "bundle-small-queue"
    shutil.copytree(bundle, small)
    release = json.loads((small / "release.json").read_text())
    tuning = {"enabled": True, "queue_size": 64, "batch_size": 64, "flush_interval_s": 0.5}
    (small / "release.json").write_text(json.dumps({**release, "prediction_log": tuning}))


def hot_path(work: Path, count: int = 20_000) -> tuple[float, float]:
    """(µs per submit on the request path, CPU µs per record written by the writer thread)."""
    from datetime import UTC, datetime

    from mlgate.pipeline.predlog import LogWriter, PredictionRecord, log_file, sqlite_url

    writer = LogWriter(sqlite_url(log_file(work / "hot", "bench")), replica="bench", queue_size=count)
    writer.start()
    writer.wait_connected(30)
    now = datetime.now(UTC)
    records = [PredictionRecord(f"r{i}", now, "m", "1", "ab" * 32, dict(GOOD), 0.5, "1", 10.0) for i in range(count)]
    started = time.perf_counter()
    for record in records:
        writer.submit(record)
    submit = (time.perf_counter() - started) / count * 1e6
    cpu = time.process_time()
    writer.flush(120)
    written = (time.process_time() - cpu) / count * 1e6
    writer.close()
    return submit, written


def read_speed(work: Path, count: int) -> float:
    """Seconds for ``read_window`` on a generated one-file log of ``count`` predictions (best of 2)."""
    import random
    import sqlite3
    from datetime import UTC, datetime, timedelta

    import sqlalchemy as sa

    from mlgate.pipeline.predlog import log_file, read_window, sqlite_url
    from mlgate.pipeline.predlog.tables import ensure_schema

    folder = work / "read"
    path = log_file(folder, "bench")
    folder.mkdir()
    engine = sa.create_engine(sqlite_url(path))
    with engine.begin() as connection:
        ensure_schema(connection, where=str(path))
    engine.dispose()
    rng, start = random.Random(0), datetime(2026, 12, 1, tzinfo=UTC)

    def stamp(i: int) -> str:
        return (start + timedelta(milliseconds=5 * i)).strftime("%Y-%m-%d %H:%M:%S.%f")

    def rows() -> Iterator[tuple[Any, ...]]:
        for i in range(count):
            record = {**GOOD, "credit_amount": rng.randint(250, 18000), "age": rng.randint(19, 75)}
            record["housing"] = rng.choice(["own", "rent", "free"])
            p = rng.random()
            inputs = json.dumps(record, separators=(",", ":"))
            yield (f"id{i}", stamp(i), "m", "1", "ab" * 32, "bench", inputs, p, "1" if p >= 0.5 else "0", 3.0)

    with sqlite3.connect(path) as db:
        db.executemany("INSERT INTO predictions VALUES (?,?,?,?,?,?,?,?,?,?)", rows())
        db.executemany(
            "INSERT INTO feedback VALUES (?,?,?)", ((f"id{i}", "1", stamp(count)) for i in range(0, count, 3))
        )
    times = []
    for _ in range(2):
        started = time.perf_counter()
        assert len(read_window(folder).predictions) == count
        times.append(time.perf_counter() - started)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 s per mode, one round")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rates", default="50,200")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--read-rows", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    seconds, rounds = (5.0, 1) if args.quick else (args.seconds, args.rounds)
    rates = [float(r) for r in args.rates.split(",")]
    modes = ["off", "sqlite", "unavailable, queue 64"]
    with tempfile.TemporaryDirectory(prefix="mlgate-bench-predlog-") as tmp:
        work = Path(tmp)
        bundle, env = build(work)
        _small_queue_bundle(bundle, work)
        submit_us, writer_us = hot_path(work)
        read_rows = 100_000 if args.quick else args.read_rows
        read_s = read_speed(work, read_rows)
        results: dict[tuple[str, float], list[dict[str, Any]]] = {}
        for _ in range(rounds):
            for rate in rates:
                for mode in modes:
                    results.setdefault((mode, rate), []).append(run_mode(bundle, env, work, mode, rate, seconds))
    print(f"\n{seconds:g} s per mode and rate, {rounds} round(s), median over rounds; single-record requests")
    print("| mode | requests/s | answered | p50 ms | p99 ms | max ms | p99 − off ms | written | dropped | rows read |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for rate in rates:
        base = statistics.median(r["p99"] for r in results[("off", rate)])
        for mode in modes:
            runs = results[(mode, rate)]
            med = {k: statistics.median(r[k] for r in runs) for k in ("answered", "p50", "p99", "max", "written")}
            extra = {k: statistics.median(r[k] for r in runs) for k in ("dropped", "rows")}
            delta = "–" if mode == "off" else f"{med['p99'] - base:+.2f}"
            print(
                f"| {mode} | {rate:g} | {med['answered']:.0f} | {med['p50']:.2f} | {med['p99']:.2f} | "
                f"{med['max']:.1f} | {delta} | {med['written']:.0f} | {extra['dropped']:.0f} | {extra['rows']:.0f} |"
            )
    print("\n| log cost, in-process | µs per record |\n|---|---|")
    print(f"| LogWriter.submit (the request path) | {submit_us:.1f} |")
    print(f"| the writer thread's CPU (batches of 256, SQLite, fsync) | {writer_us:.1f} |")
    print(f"\nread_window on {read_rows:,} logged predictions (one SQLite file): {read_s:.2f} s (best of 2)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
