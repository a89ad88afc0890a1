"""What the serving app keeps at rate: status codes, 422/413 answers, metrics and the prediction log (issue 14).

    .venv/bin/python benchmarks/bench_serving_integrity.py [--quick] [--rates 200,500,1000] [--duration S]
        [--scoring-path array|sklearn]

Trains the bundled German credit candidate and writes its release bundle (``bench_serving.build_bundle``), then
for each rate starts a fresh ``python -m mlgate.pipeline.serve`` (one uvicorn worker, its own prediction log
folder, ``--max-batch 50 --max-body-bytes 65536``) and drives it open-loop at that rate for ``--duration``
seconds (``benchmarks/_load.py``, no warm-up requests, so every count is exact) with a cycle of 20 bodies:
16 single records, one batch of 10 records, one record whose ``age`` is text (422), one batch of 51 records
(413 by the batch limit) and one body over 64 KiB (413 by the byte limit, refused from its Content-Length).
Then it checks, per rate:

- **status**: every request answered, with exactly the expected number of 200s, 422s and 413s;
- **answers**: the 422 names the field (``age``), each 413 names its limit;
- **metrics** (``/metrics`` after the run): ``mlgate_requests_total`` per status, every
  ``mlgate_predict_stage_seconds`` stage counted once per answered request, ``mlgate_predictions_total`` and
  ``mlgate_prediction_log_written_total`` equal to the records answered, ``mlgate_rejected_requests_total`` per
  reason, nothing dropped;
- **prediction log** (read back with ``read_window`` after the server stopped, which flushes it): one row per
  record answered, request ids unique, rejections by reason as sent, nothing dropped.

Prints a table with the latency of the mix; exit 1 when any check fails. Needs no service beyond this virtualenv.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_serving import Server, build_bundle, run_load  # noqa: E402

CYCLE = 20
MAX_BATCH = 50
MAX_BODY = 65_536


def bodies(rows: list[dict[str, Any]]) -> tuple[list[str], list[tuple[str, int, int]]]:
    """The cycle's bodies and, per body, (kind, expected status, records it answers)."""
    out: list[str] = []
    kinds: list[tuple[str, int, int]] = []
    for i in range(16):
        out.append(json.dumps(rows[i]))
        kinds.append(("record", 200, 1))
    out.append(json.dumps({"records": rows[16:26]}))
    kinds.append(("batch of 10", 200, 10))
    out.append(json.dumps({**rows[0], "age": "old"}))
    kinds.append(("wrong type", 422, 0))
    out.append(json.dumps({"records": [rows[i % len(rows)] for i in range(MAX_BATCH + 1)]}))
    kinds.append(("batch over the limit", 413, 0))
    out.append(json.dumps(rows[1]) + " " * MAX_BODY)
    kinds.append(("body over the limit", 413, 0))
    return out, kinds


def expected_counts(n: int, kinds: list[tuple[str, int, int]]) -> tuple[Counter[int], int]:
    """(requests per status, records answered) for ``n`` requests cycling through ``kinds``."""
    statuses: Counter[int] = Counter()
    records = 0
    for i in range(n):
        _, status, answered = kinds[i % len(kinds)]
        statuses[status] += 1
        records += answered
    return statuses, records


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"{url}/metrics", timeout=10).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def metric(samples: dict, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= set(ls))


def check_run(result: dict, kinds: list[tuple[str, int, int]], samples: dict, window: Any) -> dict[str, str]:
    """Each check's verdict: "ok" or what differed."""
    n = result["requests"]
    statuses, records = expected_counts(n, kinds)
    seen = Counter({200: result["ok"]})
    seen.update({int(k.split()[1]): v for k, v in result["error_kinds"].items() if k.startswith("HTTP ")})
    other = {k: v for k, v in result["error_kinds"].items() if not k.startswith("HTTP ")}
    verdict: dict[str, str] = {}
    problems = [f"{s}: {seen[s]} of {statuses[s]}" for s in sorted(set(statuses) | set(seen)) if seen[s] != statuses[s]]
    if result["unfinished"] or other:
        problems.append(f"unfinished {result['unfinished']}, errors {other}")
    verdict["status"] = "; ".join(problems) or "ok"

    answers = result["answers"]
    problems = []
    for index, (kind, status, _) in enumerate(kinds):
        text = answers.get(str(index), {}).get(str(status))
        if status == 200 and text is None:
            problems.append(f"{kind}: no 200")
        elif status == 422 and (text is None or '"age"' not in text):
            problems.append(f"{kind}: 422 does not name age: {text!r:.120}")
        elif status == 413 and (text is None or not (str(MAX_BATCH) in text or str(MAX_BODY) in text)):
            problems.append(f"{kind}: 413 does not name its limit: {text!r:.120}")
    verdict["answers"] = "; ".join(problems) or "ok"

    problems = []
    for status, count in statuses.items():
        got = metric(samples, "mlgate_requests_total", route="/predict", status=str(status))
        if got != count:
            problems.append(f"requests{{status={status}}} {got:.0f} != {count}")
    for stage in ("validate", "score", "serialise", "log"):
        got = metric(samples, "mlgate_predict_stage_seconds_count", stage=stage)
        if got != statuses[200]:
            problems.append(f"stage {stage} {got:.0f} != {statuses[200]}")
    rejected = {"validation": statuses[422], "body_too_large": statuses[413]}
    logged = records + sum(rejected.values())  # the log keeps a row per refused request too
    for name, count in (("mlgate_predictions_total", records), ("mlgate_prediction_log_written_total", logged)):
        if metric(samples, name) != count:
            problems.append(f"{name} {metric(samples, name):.0f} != {count}")
    for reason, count in rejected.items():
        if metric(samples, "mlgate_rejected_requests_total", reason=reason) != count:
            problems.append(f"rejected {reason} != {count}")
    if metric(samples, "mlgate_prediction_log_dropped_total"):
        problems.append(f"dropped {metric(samples, 'mlgate_prediction_log_dropped_total'):.0f}")
    verdict["metrics"] = "; ".join(problems) or "ok"

    frame = window.predictions
    problems = []
    if len(frame) != records:
        problems.append(f"{len(frame)} rows of {records}")
    if frame["request_id"].nunique() != len(frame):
        problems.append("request ids repeat")
    if dict(window.rejected) != {k: v for k, v in rejected.items() if v}:
        problems.append(f"rejected {dict(window.rejected)} != {rejected}")
    if window.dropped:
        problems.append(f"dropped {window.dropped}")
    verdict["prediction log"] = "; ".join(problems) or "ok"
    return verdict


def measure(
    bundle: Path, rows: list[dict[str, Any]], rate: float, duration: float, work: Path, scoring_path: str = "array"
) -> tuple[dict, dict[str, str], int, dict, Any]:
    """One fresh server at ``rate``: (the load result, each check's verdict, records answered, the metrics
    scraped, the prediction log's window). ``tests/serving/test_at_rate.py`` runs it too."""
    import time

    from mlgate.ci.release.registry import free_port
    from mlgate.pipeline.predlog import read_window
    from mlgate.pipeline.signing import ENV_TRUSTED_KEYS, trusted_keys, trusted_keys_text

    port, log_dir = free_port(), work / f"predictions-{rate:g}"
    command = [sys.executable, "-m", "mlgate.pipeline.serve", "--bundle", str(bundle), "--port", str(port),
               "--log-level", "warning", "--prediction-log-dir", str(log_dir), "--max-batch", str(MAX_BATCH),
               "--max-body-bytes", str(MAX_BODY), "--scoring-path", scoring_path]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    server = Server(f"mlgate:{scoring_path}", command, f"{url}/ready", f"{url}/predict", work / f"{port}.log")
    env = {**os.environ, ENV_TRUSTED_KEYS: trusted_keys_text(trusted_keys())}
    texts, kinds = bodies(rows)
    server.start(env)
    try:
        server.wait_ready()
        spec = {"mode": "open", "url": server.predict_url, "bodies": texts, "rate": rate, "duration": duration,
                "warmup": 0, "connections": 64, "grace": 5.0, "keep_answers": True}  # fmt: skip
        result = run_load(spec, work, server)
        deadline = time.monotonic() + 10  # the writer flushes every 0.5 s: wait for the counter to reach the total
        statuses, records = expected_counts(result["requests"], kinds)
        logged = records + statuses[422] + statuses[413]
        samples = scrape(url)
        while metric(samples, "mlgate_prediction_log_written_total") < logged and time.monotonic() < deadline:
            time.sleep(0.2)
            samples = scrape(url)
    finally:
        server.stop()
    # uvicorn re-raises the SIGTERM it handled once it has shut down (the log flushed): -15 is a clean stop
    if server.process is not None and server.process.returncode not in (0, -15, None):
        raise RuntimeError(f"the server exited with {server.process.returncode}:\n{server.log_tail()}")
    window = read_window(log_dir)
    return result, check_run(result, kinds, samples, window), records, samples, window


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="200,500,1000", help="offered requests/s, comma-separated")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds at each rate")
    parser.add_argument("--scoring-path", default="array", choices=["array", "sklearn"])
    parser.add_argument("--quick", action="store_true", help="500 requests/s for 3 s")
    args = parser.parse_args(argv)
    if args.quick:
        args.rates, args.duration = "500", 3.0
    rates = [float(r) for r in args.rates.split(",")]
    work = Path(tempfile.mkdtemp(prefix="mlgate-bench-integrity-"))
    bundle, _, _, rows = build_bundle(work)
    table = []
    for rate in rates:
        result, verdict, records, _, _ = measure(bundle, rows, rate, args.duration, work, args.scoring_path)
        table.append((rate, result, verdict, records))
    checks = list(table[0][2])
    print(f"\nserving integrity at rate: {args.scoring_path} path, one worker, {args.duration:g} s per rate; "
          f"a cycle of {CYCLE} bodies (16 records, a batch of 10, a 422, two 413s)")  # fmt: skip
    head = f"{'offered/s':>9} {'requests':>8} {'records':>7} {'p50 ms':>7} {'p99 ms':>7} " + " ".join(
        f"{c:>14}" for c in checks
    )
    print(head)
    failed = False
    for rate, result, verdict, records in table:
        p50, p99 = result["p50_ms"], result["p99_ms"]
        cells = " ".join(f"{('ok' if verdict[c] == 'ok' else 'FAIL'):>14}" for c in checks)
        p50, p99 = (float("inf") if v is None else v for v in (p50, p99))
        print(f"{rate:>9g} {result['requests']:>8} {records:>7} {p50:>7.2f} {p99:>7.2f} {cells}")
        for check, text in verdict.items():
            if text != "ok":
                failed = True
                print(f"    {check}: {text}")
    shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
