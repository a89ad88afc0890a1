"""Failed requests during a rolling update, a rollback and a killed replica, under a steady bounded load.

    .venv/bin/python benchmarks/bench_rollout.py [--quick] [--replicas N] [--rate R]

Trains the bundled German credit candidate, releases its image (base, build, push to a loopback registry, pull,
smoke, parity: layers are cached, so a second run is quick), deploys N replicas behind nginx on 127.0.0.1, then
runs each scenario under an open-loop load at a fixed rate (``--rate``, default 500 requests/s, the serving
target of issue 14): ``benchmarks/_load.py`` in its own process sends single-record POST /predict requests to the
load balancer on schedule whatever the answers do, from a second before the action until it returns. A request
fails when it is not answered 200 (a connection error, an HTTP error, or no answer within 5 s of the schedule's
end). Like a browser, the client sends a request once more on a new connection when its reused keep-alive
connection was closed or reset before any byte of answer (nginx closes idle client connections when it reloads,
so that request never reached it); such requests are counted in ``retried``, and are not failures.
Target: zero failed requests in every row. Tears everything down itself. Needs podman
(scripts/install-system-deps.sh); prints a skip line and exits 0 without it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOAD = Path(__file__).resolve().parent / "_load.py"
sys.path.insert(0, str(ROOT))


class OpenLoad:
    """``_load.py`` at ``rate`` requests/s in the background until :meth:`stop` (at most ``max_seconds``)."""

    def __init__(self, url: str, rows: list[dict], *, rate: float, folder: Path, max_seconds: float = 600) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.stop_file = folder / "load.stop"
        self.stop_file.unlink(missing_ok=True)
        spec = {"mode": "open", "url": f"{url}/predict", "bodies": [json.dumps(row) for row in rows],
                "rate": rate, "duration": max_seconds, "grace": 5.0, "connections": 64, "warmup": 1,
                "stop_file": str(self.stop_file), "retry_reused": True}  # fmt: skip
        (folder / "spec.json").write_text(json.dumps(spec))
        self.out = (folder / "load.json").open("w")
        self.process = subprocess.Popen([sys.executable, str(LOAD), str(folder / "spec.json")], stdout=self.out)

    def stop(self) -> dict:
        self.stop_file.touch()
        try:
            self.process.wait(timeout=60)
        finally:
            self.process.kill()
            self.out.close()
        return json.loads(Path(self.out.name).read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two replicas, no killed-replica scenario")
    parser.add_argument("--replicas", type=int, default=None)
    parser.add_argument("--rate", type=float, default=500.0, help="requests/s offered during each scenario")
    args = parser.parse_args(argv)
    if shutil.which("podman") is None:
        print("bench_rollout: skipped (podman is not installed)")
        return 0

    from mlgate.checks.result import CheckResult, GateReport, Status
    from mlgate.ci.release import deploy, reconcile, release, rollback, rolling_update, teardown
    from mlgate.ci.release.bundle import make_bundle, sha256_file
    from mlgate.ci.release.deploy import load_state
    from mlgate.ci.release.image import derive_image
    from mlgate.ci.release.podman import Podman
    from mlgate.ci.release.registry import free_port
    from mlgate.pipeline.candidate import load_data, train_candidate
    from mlgate.pipeline.config import load_config

    base = load_config(ROOT / "mlgate.toml")
    replicas = args.replicas or (2 if args.quick else 3)
    settings = base.release.model_copy(
        update={"port": free_port(), "image_repository": f"127.0.0.1:{free_port()}/mlgate-bench", "replicas": replicas}
    )
    config = base.model_copy(update={"release": settings})
    work = Path(tempfile.mkdtemp(prefix="mlgate-bench-rollout-"))
    rows_table: list[tuple[str, int, int, int, float, float, float | None]] = []
    tags: list[str] = []
    try:
        data = load_data(config)
        candidate = train_candidate(config, data, random_state=42)
        report = work / "report.json"
        ok = CheckResult(id="bench", layer="quality", status=Status.PASS, message="benchmark")
        report.write_text(json.dumps(GateReport.collect([ok]).to_dict()))
        features = list(data.prepared.features)
        bundle = make_bundle(
            work / "bundle", model=candidate.pipeline, schema_path=config.schema_path,
            release_info={"model_name": "german-credit", "model_version": "1", "run_id": "bench",
                          "data_fingerprint": "bench", "gate_report_sha256": sha256_file(report),
                          "git_commit": "bench"},
            meta={"features": features, "numeric": list(data.prepared.numeric),
                  "categorical": list(data.prepared.categorical), "threshold": candidate.threshold,
                  "positive_label": 1},
            golden_X=data.split.test[features], golden_proba=candidate.proba_test,
        )  # fmt: skip
        started = time.monotonic()
        result = release(config, report_path=report, bundle_dir=bundle, workdir=work)
        print(f"release: {result.image} in {time.monotonic() - started:.0f} s; parity {result.parity.to_dict()}")
        tags.append(result.image)
        update = derive_image(Podman.default(), result.image, tag=result.image + "-next", workdir=work)
        tags.append(update)
        rows = json.loads((bundle / "golden.json").read_text())["rows"][:20]
        folder = work / "deploy"
        state = deploy(config, image=result.image, workdir=folder)

        def kill_and_heal():
            Podman.default().run("kill", load_state(folder).replicas[0].name)
            time.sleep(2.0)  # traffic meets the dead replica; nginx retries on the others
            return reconcile(config, workdir=folder)

        scenarios = [
            ("rolling update", lambda: rolling_update(config, image=update, workdir=folder)),
            ("rollback", lambda: rollback(config, workdir=folder)),
        ]
        if not args.quick:
            scenarios.append(("killed replica", kill_and_heal))
        for name, action in scenarios:
            load = OpenLoad(state.url, rows, rate=args.rate, folder=work / name.replace(" ", "-"))
            time.sleep(1.0)
            begin = time.monotonic()
            try:
                action()
            finally:
                took = time.monotonic() - begin
                counts = load.stop()
            failed = counts["errors"] + counts["unfinished"]
            if failed:
                print(f"{name}: {counts['error_kinds']}, {counts['unfinished']} unanswered")
            row = (name, counts["requests"], failed, counts["retried"], round(took, 1))
            rows_table.append((*row, round(counts["achieved_rps"], 1), counts["p99_ms"]))
    finally:
        teardown(work / "deploy")
        for tag in tags:  # cached layers and the base image stay; this run's tags go
            Podman.default().run("rmi", "--force", "--ignore", tag, check=False)
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nreplicas={replicas}, {args.rate:g} requests/s offered (open loop), one record per request")
    print(f"{'scenario':<16} {'requests':>9} {'failed':>7} {'retried':>8} {'action s':>9} {'req/s':>7} {'p99 ms':>8}")
    for name, requests, failed, retried, took, rate, p99 in rows_table:
        shown = "-" if p99 is None else round(p99, 1)
        print(f"{name:<16} {requests:>9} {failed:>7} {retried:>8} {took:>9} {rate:>7} {shown:>8}")
    return 1 if any(row[2] for row in rows_table) else 0


if __name__ == "__main__":
    raise SystemExit(main())
