"""Serving latency and throughput: the mlgate app vs ``mlflow models serve`` on the same fitted model (issue 14).

    .venv/bin/python benchmarks/bench_serving.py [--quick] [--rates 50,200,500,1000] [--duration S]
        [--mlgate-variant NAME=ARGS ...]

Trains the bundled German credit candidate once, writes an mlgate release bundle (``make_bundle``: signed, with
its golden set) and logs the same pipeline to a temporary sqlite MLflow store (``mlflow.sklearn.log_model`` with
``pyfunc_predict_fn="predict_proba"``, so both answer probabilities). Starts the servers side by side on
127.0.0.1 on free ports, one uvicorn worker each: ``python -m mlgate.pipeline.serve`` once per scoring path it
offers (``--scoring-path``; ``--scoring-paths`` to choose), prediction log on as deployed, and ``mlflow models
serve --env-manager local -w 1``, all from this virtualenv (the same uvicorn, event loop and HTTP parser),
waits until each is ready, and always stops them (Ctrl-C and SIGTERM too). Every measurement is driven from a
separate load-generator process (``benchmarks/_load.py``: asyncio, a minimal keep-alive HTTP/1.1 client),
one server and one run at a time, after the servers have gone idle:

- **sequential**: one request in flight (per-request service time), single records and batches;
- **open loop**: a fixed offered rate (``--rates``, ``--duration`` s each) sent on schedule whatever the
  answers do, over a pool of keep-alive connections; latency from the scheduled send time, so queueing shows
  (no coordinated omission); the generator's own CPU and schedule lag are measured and shown;
- **saturation**: the highest offered rate still sustained -- achieved >= 95% of offered, p99 <= 20 ms, no
  errors -- bracketed by the open-loop rates (a failed rate below a sustained one is run again), then bisected
  (shorter runs);
- **batches**: ``--batch-clients`` closed-loop clients sending batches of ``--batch-size`` records;
- **memory**: peak RSS (VmHWM) of every process of each server at the end.

Prints the issue's targets with what was measured. ``--mlgate-variant NAME=ARGS`` adds an mlgate server
started with extra arguments (another option or setting), measured like the others. A generator self-check against
a null server (answers at once) gives the measurement floor. Exit 1 when a server died.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LOAD = Path(__file__).resolve().parent / "_load.py"
sys.path.insert(0, str(ROOT))

from _load import pids_cpu  # noqa: E402  (the generator's own /proc reader; the script's folder is on sys.path)
from _proc import process_tree  # noqa: E402

DEFAULT_RATES = (50, 200, 500, 1000)
SUSTAIN_P99_MS = 20.0  # the saturation criterion (issue 14)
SUSTAIN_FRACTION = 0.95
TARGET_P99_AT_200_MS = 5.0
TARGET_SUSTAINED_RPS = 500.0
TARGET_BATCH_RECORDS_PER_S = 20_000.0
TARGET_RATIO = 3.0
LAG_FLAG_MS = 2.0  # generator dispatch lag (p99) worth a note
SAMPLE = 50  # records whose answers are compared with the fitted model's


def build_bundle(work: Path) -> tuple[Path, Any, Any, list[dict]]:
    """Train the bundled German credit candidate once and write its release bundle as ``mlgate release`` does
    (signed with this machine's key, which the servers are given; golden.json, on which the server verifies a
    compiled scoring path before serving it). Returns (bundle, candidate, test features, their JSON records)."""
    from mlgate.ci.release.bundle import make_bundle
    from mlgate.pipeline.candidate import load_data, train_candidate
    from mlgate.pipeline.config import load_config

    config = load_config(ROOT / "mlgate.toml")
    data = load_data(config)
    candidate = train_candidate(config, data, random_state=42)
    features = list(data.prepared.features)
    bundle = make_bundle(
        work / "bundle", model=candidate.pipeline, schema_path=config.schema_path,
        release_info={"model_name": "german-credit", "model_version": "bench", "run_id": "bench",
                      "data_fingerprint": "bench", "gate_report_sha256": "bench", "git_commit": "bench"},
        meta={"features": features, "numeric": list(data.prepared.numeric),
              "categorical": list(data.prepared.categorical), "threshold": candidate.threshold,
              "positive_label": 1},
        golden_X=data.split.test[features], golden_proba=candidate.proba_test,
    )  # fmt: skip
    test = data.split.test[features]
    rows = [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
        for row in test.to_dict("records")
    ]
    return bundle, candidate, test, rows


def build(work: Path) -> tuple[Path, str, list[dict], list[float]]:
    """Train once; write the mlgate bundle and log the same pipeline to MLflow.

    Returns (bundle, model URI, the test rows as JSON records, the fitted model's probabilities of the first 50).
    """
    import mlflow
    import mlflow.sklearn

    logging.getLogger("mlflow").setLevel(logging.ERROR)  # its environment inference chatter
    bundle, candidate, test, rows = build_bundle(work)
    mlflow.set_tracking_uri(f"sqlite:///{work / 'mlflow.db'}")
    experiment = mlflow.create_experiment("bench-serving", artifact_location=(work / "artifacts").as_uri())
    trusted = json.loads((bundle / "model.meta.json").read_text())["trusted_types"]
    with mlflow.start_run(experiment_id=experiment) as run:
        mlflow.sklearn.log_model(
            candidate.pipeline, name="model", pyfunc_predict_fn="predict_proba", skops_trusted_types=trusted
        )
    expected = candidate.pipeline.predict_proba(test.iloc[:SAMPLE])[:, 1].tolist()
    return bundle, f"runs:/{run.info.run_id}/model", rows, expected


# ---------------------------------------------------------------- processes (/proc: this benchmark is Linux-only)


def status_field(pid: int, name: str) -> str:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(name + ":"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def command_line(pid: int) -> str:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    words = [Path(a.decode()).name if i == 0 else a.decode() for i, a in enumerate(argv) if a]
    return " ".join(words)[:60]


@dataclass
class Server:
    name: str
    command: list[str]
    health_url: str
    predict_url: str
    log: Path
    process: subprocess.Popen | None = None
    died: str | None = None
    peak_rss: list[tuple[int, str, int]] = field(default_factory=list)  # (pid, command, VmHWM kB)

    def start(self, env: dict[str, str]) -> None:
        with self.log.open("wb") as out:  # its own session: Ctrl-C reaches us, and we stop the whole group
            self.process = subprocess.Popen(
                self.command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT, start_new_session=True
            )

    def wait_ready(self, timeout: float = 180.0) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while self.check():
            try:
                if httpx.get(self.health_url, timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.died = f"not ready after {timeout:.0f} s"
                break
            time.sleep(0.2)
        raise RuntimeError(f"{self.name}: {self.died}:\n{self.log_tail()}")

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def check(self) -> bool:
        """Still running? Records why not."""
        if self.died:
            return False
        assert self.process is not None
        if self.process.poll() is not None:
            self.died = f"exited with {self.process.returncode}"
            return False
        return True

    def pids(self) -> list[int]:
        assert self.process is not None
        return process_tree(self.process.pid)

    def read_peak_rss(self) -> None:
        self.peak_rss = []
        for pid in self.pids():
            hwm = status_field(pid, "VmHWM")
            if hwm:
                self.peak_rss.append((pid, command_line(pid), int(hwm.split()[0])))

    def settle(self, timeout: float = 15.0, window: float = 0.3, idle_share: float = 0.05) -> None:
        """Wait until the server's processes use < 5% of a core (the last run's backlog and log writes done)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.check():
            pids = self.pids()
            before = pids_cpu(pids)
            time.sleep(window)
            if pids_cpu(pids) - before < idle_share * window:
                return

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


# ---------------------------------------------------------------- load runs


class ServerDied(Exception):
    pass


def run_load(spec: dict, work: Path, server: Server | None = None) -> dict:
    """One run of the load generator in its own process; with the server's CPU share over the run."""
    if server is not None:
        server.settle()
        if not server.check():
            raise ServerDied(server.died)
    if server is not None:
        spec = {**spec, "watch_pids": server.pids()}  # the generator reads their CPU over its measured window
    path = work / "spec.json"
    path.write_text(json.dumps(spec))
    limit = float(spec.get("duration") or 0) + float(spec.get("grace", 2)) + 120
    out = subprocess.run(
        [sys.executable, str(LOAD), str(path)], capture_output=True, text=True, timeout=limit, check=False
    )
    if server is not None and not server.check():
        raise ServerDied(server.died)
    if out.returncode != 0:
        raise RuntimeError(f"load generator failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return json.loads(out.stdout)


def sustains(r: dict) -> bool:
    return (
        r["achieved_rps"] >= SUSTAIN_FRACTION * r["offered_rps"]
        and r["p99_ms"] is not None
        and r["p99_ms"] <= SUSTAIN_P99_MS
        and r["errors"] == 0
        and r["unfinished"] == 0
    )


def generator_behind(r: dict) -> bool:
    return r["sent_rps"] < 0.98 * r["offered_rps"]


@dataclass
class Saturation:
    sustained: float  # highest rate sustained (0: none)
    failed: float | None  # lowest rate not sustained (None: none failed)
    at_sustained: dict | None
    probes: list[dict]
    generator_bound: bool = False


def find_saturation(stepped: dict[float, dict], probe, max_probes: int, ceiling: float) -> Saturation:
    """Bracket with the stepped rates, then bisect (geometrically) until within 5% (or 5 requests/s).

    A rate that failed below one that was sustained (a stall in one run, not saturation) is run once more
    (marked ↻ among the probes); the later run decides.
    """
    runs = dict(stepped)
    probes: list[dict] = []

    def measure(rate: float, *, retry: bool = False) -> dict:
        r = probe(rate)
        r["retry"] = retry
        probes.append(r)
        runs[rate] = r
        return r

    retried: set[float] = set()
    while True:
        bad = sorted(rate for rate, r in runs.items() if not sustains(r))
        hi = bad[0] if bad else None
        above = hi is not None and any(sustains(r) for rate, r in runs.items() if rate > hi)
        if not above or hi in retried or len(probes) >= max_probes:
            break
        retried.add(hi)
        measure(hi, retry=True)
    lo = max((rate for rate, r in runs.items() if sustains(r) and (hi is None or rate < hi)), default=0.0)
    generator_bound = False
    while hi is None and len(probes) < max_probes:  # every rate so far sustained: go up
        rate = min(lo * 2, ceiling)
        if rate <= lo:
            break
        r = measure(rate)
        if generator_behind(r):
            generator_bound = True
            break
        if sustains(r):
            lo = rate
        else:
            hi = rate
    while hi is not None and len(probes) < max_probes and hi - lo > max(5.0, 0.05 * hi):
        rate = float(round(math.sqrt(lo * hi) if lo > 0 else hi / 2))
        if rate in runs or rate <= lo or rate >= hi:
            break
        if sustains(measure(rate)):
            lo = rate
        else:
            hi = rate
    return Saturation(lo, hi, runs.get(lo), probes, generator_bound)


# ---------------------------------------------------------------- formatting


def ms(value: float | None) -> str:
    return "∞" if value is None else f"{value:.2f}"


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a and b else "n/a"


def notes(r: dict) -> str:
    out = []
    if generator_behind(r):
        out.append(f"GENERATOR BEHIND (sent {r['sent_rps']:.0f}/s)")
    elif r["dispatch_lag_p99_ms"] > LAG_FLAG_MS and not math.isinf(r["dispatch_lag_p99_ms"]):
        out.append(f"gen lag p99 {r['dispatch_lag_p99_ms']:.1f} ms")
    if r["unfinished"]:
        out.append(f"{r['unfinished']} unanswered")
    if r["pool_waits"]:
        out.append("pool full")
    if r["error_kinds"]:
        out.append(", ".join(f"{k}: {v}" for k, v in r["error_kinds"].items()))
    return "; ".join(out)


def scoring_paths() -> list[str]:
    """The choices of the server's ``--scoring-path`` ([] when it has no such option)."""
    out = subprocess.run(
        [sys.executable, "-m", "mlgate.pipeline.serve", "--help"], capture_output=True, text=True, cwd=ROOT, check=False
    )
    found = re.search(r"--scoring-path \{([^}]*)\}", out.stdout)
    return [p.strip() for p in found.group(1).split(",")] if found else []


def parse_variant(text: str) -> tuple[str, list[str]]:
    name, sep, rest = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=ARGS, got {text!r}")
    return f"mlgate:{name.strip()}", shlex.split(rest)


def parse_rates(text: str) -> list[float]:
    try:
        rates = sorted({float(r) for r in text.split(",") if r.strip()})
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"rates: comma-separated numbers, got {text!r}") from exc
    if not rates or rates[0] <= 0:
        raise argparse.ArgumentTypeError("rates must be positive")
    return rates


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 s per rate, 2 s probes, 500 sequential singles")
    parser.add_argument("--rates", type=parse_rates, default=list(map(float, DEFAULT_RATES)), help="offered req/s")
    parser.add_argument("--duration", type=float, default=None, help="seconds per offered rate (10; quick 3)")
    parser.add_argument("--probe-duration", type=float, default=None, help="seconds per saturation probe (5; 2)")
    parser.add_argument("--max-probes", type=int, default=None, help="saturation probes per server (6; 4)")
    parser.add_argument("--ceiling", type=float, default=8000.0, help="highest rate the saturation search tries")
    parser.add_argument("--connections", type=int, default=64, help="keep-alive connections of the open loop")
    parser.add_argument("--grace", type=float, default=2.0, help="seconds to wait for answers after the last send")
    parser.add_argument("--single", type=int, default=None, help="sequential single requests (2000; 500)")
    parser.add_argument("--batch", type=int, default=None, help="sequential batch requests (200; 50)")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--batch-clients", type=int, default=4, help="concurrent closed-loop batch clients")
    parser.add_argument("--batch-duration", type=float, default=None, help="seconds of the batch run (10; 3)")
    parser.add_argument(
        "--scoring-paths",
        type=lambda text: [p.strip() for p in text.split(",") if p.strip()],
        default=None,
        help="mlgate scoring paths to measure, one server each (default: every --scoring-path choice the server has)",
    )
    parser.add_argument(
        "--mlgate-variant",
        type=parse_variant,
        action="append",
        default=[],
        metavar="NAME=ARGS",
        help="also measure an mlgate server started with these extra arguments (repeatable)",
    )
    args = parser.parse_args(argv)
    quick = args.quick
    duration = args.duration or (3.0 if quick else 10.0)
    probe_duration = args.probe_duration or (2.0 if quick else 5.0)
    max_probes = args.max_probes if args.max_probes is not None else (4 if quick else 6)
    n_single = args.single or (500 if quick else 2000)
    n_batch = args.batch or (50 if quick else 200)
    batch_duration = args.batch_duration or (3.0 if quick else 10.0)

    import httpx
    from rich.console import Console
    from rich.table import Table

    from mlgate.ci.release.registry import free_port
    from mlgate.pipeline.signing import ENV_TRUSTED_KEYS, trusted_keys, trusted_keys_text

    signal.signal(signal.SIGTERM, _raise_interrupt)
    console = Console(width=160)
    began = time.perf_counter()
    load_before = os.getloadavg()
    servers: list[Server] = []
    with tempfile.TemporaryDirectory(prefix="mlgate-bench-serving-") as tmp, ExitStack() as stack:
        work = Path(tmp)

        # -- the generator alone, against a server that answers at once: the floor of every latency below
        null_port = free_port()
        null = subprocess.Popen([sys.executable, str(LOAD), "--null-server", str(null_port)], start_new_session=True)

        def stop_null() -> None:
            if null.poll() is None:
                os.killpg(null.pid, signal.SIGTERM)
                null.wait()

        stack.callback(stop_null)
        null_url = f"http://127.0.0.1:{null_port}/predict"
        deadline = time.monotonic() + 10
        while True:
            try:
                httpx.post(null_url, content=b"{}", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or null.poll() is not None:
                    raise RuntimeError("the null server did not start") from None
                time.sleep(0.05)
        calibration = []
        for rate in sorted({max(args.rates), 2 * max(args.rates)}):
            spec = {"mode": "open", "url": null_url, "bodies": ["{}"], "rate": rate, "duration": 3.0}
            calibration.append(run_load({**spec, "connections": args.connections, "grace": args.grace}, work))
        stop_null()

        bundle, model_uri, rows, expected = build(work)
        env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}"}
        env[ENV_TRUSTED_KEYS] = trusted_keys_text(trusted_keys())  # the signing key's public half
        # mlflow starts `uvicorn` from PATH: make it the virtualenv's
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"

        paths = scoring_paths() if args.scoring_paths is None else args.scoring_paths
        ours = [(f"mlgate:{path}", ["--scoring-path", path]) for path in paths] or [("mlgate", [])]
        for name, extra in [*ours, *args.mlgate_variant]:
            port = free_port()
            command = [sys.executable, "-m", "mlgate.pipeline.serve", "--bundle", str(bundle), "--port", str(port)]
            command += ["--log-level", "warning", "--prediction-log-dir", str(work / f"predictions-{port}")]
            url = f"http://127.0.0.1:{port}"
            servers.append(Server(name, command + extra, f"{url}/ready", f"{url}/predict", work / f"{name}.log"))
        port = free_port()
        command = [sys.executable, "-m", "mlflow", "models", "serve", "-m", model_uri, "--env-manager", "local"]
        command += ["-h", "127.0.0.1", "-p", str(port), "-w", "1"]
        url = f"http://127.0.0.1:{port}"
        servers.append(Server("mlflow", command, f"{url}/ping", f"{url}/invocations", work / "mlflow.log"))
        mlflow_server = servers[-1]
        for server in servers:
            stack.callback(server.stop)
            server.start(env)
        for server in servers:
            try:
                server.wait_ready()
            except RuntimeError as exc:  # reported; the others are still measured
                console.print(f"[red]{exc}[/red]")
        if all(server.died for server in servers):
            return 1

        served_path: dict[str, str] = {}  # what each mlgate server says it serves (/model), and why
        for server in servers:
            if server is not mlflow_server and not server.died:
                info = httpx.get(server.health_url.rsplit("/", 1)[0] + "/model", timeout=10).json()
                if info.get("scoring_path"):
                    reason = info.get("scoring_path_reason")
                    served_path[server.name] = f"the {info['scoring_path']} scoring path" + (
                        f" ({reason})" if reason else ""
                    )

        # Same answers as the fitted model (mlflow returns both class columns; the positive class is column 1).
        sample, max_diff = rows[:SAMPLE], {}
        for server in servers:
            if server.died:
                continue
            if server is mlflow_server:
                answer = httpx.post(server.predict_url, json={"dataframe_records": sample}, timeout=60).json()
                got = [p[1] for p in answer["predictions"]]
            else:
                answer = httpx.post(server.predict_url, json={"records": sample}, timeout=60).json()
                got = [p["probability"] for p in answer["predictions"]]
            max_diff[server.name] = max(abs(a - b) for a, b in zip(got, expected, strict=True))

        k = args.batch_size
        batches = [rows[i : i + k] if i + k <= len(rows) else (rows * 2)[i : i + k] for i in range(0, len(rows), k)]
        bodies: dict[tuple[str, str], list[str]] = {}
        for server in servers:
            theirs_format = server is mlflow_server
            bodies[(server.name, "single")] = [
                json.dumps({"dataframe_records": [r]} if theirs_format else r) for r in rows
            ]
            bodies[(server.name, "batch")] = [
                json.dumps({"dataframe_records": b} if theirs_format else {"records": b}) for b in batches
            ]

        def run(server: Server, kind: str, **spec: object) -> dict | None:
            """One measurement; None (and the server marked) if it died."""
            if server.died:
                return None
            full = {"url": server.predict_url, "bodies": bodies[(server.name, kind)], "grace": args.grace, **spec}
            try:
                result = run_load(full, work, server)
            except ServerDied:
                console.print(f"[red]{server.name} died: {server.died}[/red]\n{server.log_tail(1500)}")
                return None
            result["grace"] = args.grace
            return result

        sequential: dict[tuple[str, str], dict | None] = {}
        for kind, n in (("single", n_single), ("batch", n_batch)):
            for server in servers:
                r = run(server, kind, mode="closed", connections=1, count=n, warmup=30)
                sequential[(kind, server.name)] = r
                if r is not None:
                    console.log(f"sequential {kind} {server.name}: p50 {ms(r['p50_ms'])} ms, {r['rps']:.0f}/s")

        open_runs: dict[str, dict[float, dict]] = {s.name: {} for s in servers}
        for rate in args.rates:
            for server in servers:
                r = run(server, "single", mode="open", rate=rate, duration=duration, connections=args.connections)
                if r is not None:
                    open_runs[server.name][rate] = r
                    console.log(
                        f"open loop {server.name} {rate:.0f}/s: achieved {r['achieved_rps']:.0f}/s, "
                        f"p99 {ms(r['p99_ms'])} ms"
                    )

        saturation: dict[str, Saturation] = {}
        for server in servers:
            if server.died:
                continue

            def probe(rate: float, server: Server = server) -> dict:
                r = run(server, "single", mode="open", rate=rate, duration=probe_duration, connections=args.connections)
                if r is None:
                    raise ServerDied(server.died)
                console.log(f"saturation probe {server.name} {rate:.0f}/s: sustained {sustains(r)}")
                return r

            with suppress(ServerDied):
                saturation[server.name] = find_saturation(open_runs[server.name], probe, max_probes, args.ceiling)

        batch_runs: dict[str, dict | None] = {}
        for server in servers:
            r = run(server, "batch", mode="closed", connections=args.batch_clients, duration=batch_duration, warmup=3)
            batch_runs[server.name] = r
            if r is not None:
                console.log(f"batches {server.name}: {r['rps'] * args.batch_size:,.0f} records/s")

        for server in servers:
            if server.check():
                server.read_peak_rss()
        load_after = os.getloadavg()
    # (the servers are stopped here)

    names = [s.name for s in servers]
    ours_names = names[:-1]
    sizes = {"single": 1, "batch": args.batch_size}

    # -- sequential (per-request service time)
    table = Table(title="Sequential: one request in flight (per-request service time), 1 uvicorn worker each")
    for column in ("mode", "server", "requests", "p50 ms", "p99 ms", "requests/s", "records/s"):
        table.add_column(column, justify="left" if column in {"mode", "server"} else "right")
    for kind in ("single", "batch"):
        label = "single" if kind == "single" else f"batch of {args.batch_size}"
        for name in names:
            r = sequential.get((kind, name))
            if r is None:
                table.add_row(label, name, "died", *[""] * 4)
                continue
            table.add_row(
                label,
                name,
                str(r["requests"]),
                ms(r["p50_ms"]),
                ms(r["p99_ms"]),
                f"{r['rps']:.0f}",
                f"{r['rps'] * sizes[kind]:.0f}",
            )
        theirs = sequential.get((kind, "mlflow"))
        for name in ours_names:
            ours = sequential.get((kind, name))
            if ours and theirs:
                table.add_row(
                    label,
                    f"[b]{name}/mlflow[/b]",
                    "",
                    ratio(ours["p50_ms"], theirs["p50_ms"]),
                    ratio(ours["p99_ms"], theirs["p99_ms"]),
                    ratio(ours["rps"], theirs["rps"]),
                    ratio(ours["rps"], theirs["rps"]),
                )
        table.rows[-1].end_section = True
    console.print(table)

    # -- open loop
    table = Table(
        title=f"Open loop: fixed offered rate, single records, latency from the scheduled send time "
        f"({args.connections} keep-alive connections, {duration:.0f} s per rate)"
    )
    columns = ["server", "offered/s", "sent/s", "achieved/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors"]
    columns += [f"p99≤{SUSTAIN_P99_MS:.0f}ms", "server CPU", "gen CPU", "notes"]
    table.caption = (
        f"∞: not answered within {args.grace:.0f} s of the last send (abandoned, counted as unanswered); "
        "pool full: every connection was busy, requests also waited in the client (counted in their latency); "
        f"gen lag: the generator started requests > {LAG_FLAG_MS:.0f} ms late (p99)"
    )
    for column in columns:
        table.add_column(
            column, justify="left" if column in {"server", "notes"} else "right", no_wrap=column == "server"
        )
    for name in names:
        for rate in args.rates:
            r = open_runs[name].get(rate)
            if r is None:
                table.add_row(name, f"{rate:.0f}", "died", *[""] * (len(columns) - 3))
                continue
            table.add_row(
                name,
                f"{rate:.0f}",
                f"{r['sent_rps']:.0f}",
                f"{r['achieved_rps']:.0f}",
                ms(r["p50_ms"]),
                ms(r["p90_ms"]),
                ms(r["p99_ms"]),
                ms(r["max_ms"]),
                str(r["errors"]),
                "yes" if r["p99_ms"] is not None and r["p99_ms"] <= SUSTAIN_P99_MS else "[red]no[/red]",
                f"{r['server_cpu_percent']:.0f}%",
                f"{r['cpu_percent']:.0f}%",
                notes(r),
            )
        if table.rows:
            table.rows[-1].end_section = True
    console.print(table)

    # -- saturation
    table = Table(
        title=f"Saturation: highest offered rate with achieved ≥ {SUSTAIN_FRACTION:.0%} of offered, "
        f"p99 ≤ {SUSTAIN_P99_MS:.0f} ms, no errors (stepped, then bisected with {probe_duration:.0f} s runs)"
    )
    columns = ["server", "sustained/s", "not sustained/s", "achieved/s", "p99 ms", "server CPU", "probes"]
    columns.append("peak achieved/s, any latency")
    for column in columns:
        table.add_column(column, justify="left" if column == "server" else "right")

    def peak(name: str) -> float | None:
        runs = [*open_runs.get(name, {}).values(), *(saturation[name].probes if name in saturation else [])]
        return max((r["achieved_rps"] for r in runs), default=None)

    for name in names:
        s = saturation.get(name)
        if s is None:
            table.add_row(name, "died", *[""] * 6)
            continue
        at = s.at_sustained
        probed = ", ".join(
            f"{p['offered_rps']:.0f}{'✓' if sustains(p) else '✗'}{'↻' if p.get('retry') else ''}" for p in s.probes
        )
        table.add_row(
            name,
            (f"≥ {s.sustained:.0f} (generator-bound)" if s.generator_bound else f"{s.sustained:.0f}")
            if s.sustained
            else f"< {s.failed:.0f}",
            "—" if s.failed is None else f"{s.failed:.0f}",
            f"{at['achieved_rps']:.0f}" if at else "",
            ms(at["p99_ms"]) if at else "",
            f"{at['server_cpu_percent']:.0f}%" if at else "",
            probed,
            f"{peak(name):.0f}" if peak(name) else "",
        )
    theirs_sat = saturation.get("mlflow")
    for name in ours_names:
        ours_sat = saturation.get(name)
        if ours_sat and theirs_sat:
            a = ours_sat.at_sustained["achieved_rps"] if ours_sat.at_sustained else None
            b = theirs_sat.at_sustained["achieved_rps"] if theirs_sat.at_sustained else None
            table.add_row(
                f"[b]{name}/mlflow[/b]",
                ratio(ours_sat.sustained, theirs_sat.sustained),
                "",
                ratio(a, b),
                "",
                "",
                "",
                ratio(peak(name), peak("mlflow")),
            )
    console.print(table)

    # -- batches, closed loop
    table = Table(
        title=f"Batches of {args.batch_size} records: {args.batch_clients} closed-loop clients, {batch_duration:.0f} s"
    )
    for column in ("server", "requests", "records/s", "requests/s", "p50 ms", "p99 ms", "errors", "server CPU"):
        table.add_column(column, justify="left" if column == "server" else "right")
    for name in names:
        r = batch_runs.get(name)
        if r is None:
            table.add_row(name, "died", *[""] * 6)
            continue
        table.add_row(
            name,
            str(r["requests"]),
            f"{r['rps'] * args.batch_size:,.0f}",
            f"{r['rps']:.1f}",
            ms(r["p50_ms"]),
            ms(r["p99_ms"]),
            str(r["errors"]),
            f"{r['server_cpu_percent']:.0f}%",
        )
    theirs_batch = batch_runs.get("mlflow")
    for name in ours_names:
        ours_batch = batch_runs.get(name)
        if ours_batch and theirs_batch:
            table.add_row(
                f"[b]{name}/mlflow[/b]",
                "",
                ratio(ours_batch["rps"], theirs_batch["rps"]),
                ratio(ours_batch["rps"], theirs_batch["rps"]),
                ratio(ours_batch["p50_ms"], theirs_batch["p50_ms"]),
                ratio(ours_batch["p99_ms"], theirs_batch["p99_ms"]),
                "",
                "",
            )
    console.print(table)

    # -- memory
    table = Table(title="Peak RSS (VmHWM) of each server process, read at the end of the run")
    for column in ("server", "pid", "process", "peak RSS MB"):
        table.add_column(column, justify="right" if column in {"pid", "peak RSS MB"} else "left")
    for server in servers:
        if not server.peak_rss:
            table.add_row(server.name, "", server.died or "not read", "")
        for pid, cmd, kb in server.peak_rss:
            table.add_row(server.name, str(pid), cmd, f"{kb / 1024:.0f}")
    console.print(table)

    # -- targets: marked for each mlgate server; mlflow's column is for comparison
    table = Table(title="Issue 14 targets (2 cores, loopback client in its own process)")
    for column in ("target", *names):
        table.add_column(column, justify="left" if column == "target" else "right")

    def mark(text: str, ok: bool | None, name: str) -> str:
        if name == "mlflow" or ok is None:
            return text
        return f"{text} [green]✓[/green]" if ok else f"{text} [red]✗[/red]"

    def at_200(name: str) -> str:
        r = open_runs.get(name, {}).get(200.0)
        if r is None:
            return "died" if saturation.get(name) is None and name in dead_names else "not measured"
        return mark(f"p99 {ms(r['p99_ms'])} ms", r["p99_ms"] is not None and r["p99_ms"] <= TARGET_P99_AT_200_MS, name)

    def sustained(name: str) -> str:
        s = saturation.get(name)
        if s is None:
            return "died"
        text = f"{s.sustained:.0f}/s" if s.sustained else f"< {s.failed:.0f}/s"
        return mark(text, s.sustained >= TARGET_SUSTAINED_RPS, name)

    def batched(name: str) -> str:
        r = batch_runs.get(name)
        if r is None:
            return "died"
        records = r["rps"] * args.batch_size
        return mark(f"{records:,.0f} rec/s", records >= TARGET_BATCH_RECORDS_PER_S, name)

    def versus(name: str) -> str:
        if name == "mlflow":
            return ""
        a, b = saturation.get(name), saturation.get("mlflow")
        if a is None or b is None or not b.sustained:
            return "n/a"
        return mark(f"{a.sustained / b.sustained:.2f}×", a.sustained / b.sustained >= TARGET_RATIO, name)

    dead_names = {s.name for s in servers if s.died}
    for label, cell in (
        (f"single-record p99 ≤ {TARGET_P99_AT_200_MS:.0f} ms at 200 req/s offered", at_200),
        (f"≥ {TARGET_SUSTAINED_RPS:.0f} req/s sustained with p99 ≤ {SUSTAIN_P99_MS:.0f} ms", sustained),
        (f"batches of {args.batch_size} ≥ {TARGET_BATCH_RECORDS_PER_S:,.0f} records/s", batched),
        (f"≥ {TARGET_RATIO:.0f}× mlflow's sustained rate", versus),
    ):
        table.add_row(label, *[cell(n) for n in names])
    console.print(table)

    # -- the generator itself
    table = Table(title="Load generator alone, against a null server (answers at once): the measurement floor")
    for column in ("offered/s", "sent/s", "achieved/s", "p50 ms", "p99 ms", "max ms", "dispatch lag p99", "gen CPU"):
        table.add_column(column, justify="right")
    for r in calibration:
        table.add_row(
            f"{r['offered_rps']:.0f}",
            f"{r['sent_rps']:.0f}",
            f"{r['achieved_rps']:.0f}",
            ms(r["p50_ms"]),
            ms(r["p99_ms"]),
            ms(r["max_ms"]),
            f"{r['dispatch_lag_p99_ms']:.2f} ms",
            f"{r['cpu_percent']:.0f}%",
        )
    console.print(table)

    gen_cpu = {name: {rate: r["cpu_percent"] for rate, r in runs.items()} for name, runs in open_runs.items()}
    top = max(args.rates)
    loop_kind = calibration[0].get("event_loop", "?") if calibration else "?"
    console.print(
        f"max |probability difference| vs the fitted model on {SAMPLE} records: "
        + ", ".join(f"{n} {d:.3g}" for n, d in max_diff.items())
        + f"; generator: {loop_kind} event loop, CPU at {top:.0f}/s "
        + ", ".join(f"{n} {v[top]:.0f}%" for n, v in gen_cpu.items() if top in v)
        + f" of one core; load average {load_before[0]:.2f} before, {load_after[0]:.2f} after; "
        f"total {time.perf_counter() - began:.0f} s on {os.cpu_count()} cores"
    )
    for name, path in served_path.items():
        console.print(f"{name} serves {path}, says its /model")
    if load_before[0] > 0.5:
        console.print(f"[yellow]note: the machine was busy at the start (load {load_before[0]:.2f})[/yellow]")
    dead = [s for s in servers if s.died]
    for server in dead:
        console.print(f"[red]{server.name} died: {server.died}[/red]")
    return 1 if dead else 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM: the servers are stopped by then
        print(f"bench_serving: interrupted ({str(exc) or 'Ctrl-C'}); servers stopped", file=sys.stderr)
        raise SystemExit(130) from None
