"""Failed requests during a rolling update, a rollback and a killed replica, under a steady bounded load.

    .venv/bin/python benchmarks/bench_rollout.py [--quick] [--replicas N] [--pause S]

Trains the bundled German credit candidate, releases its image (base, build, push to a loopback registry, pull,
smoke, parity: layers are cached, so a second run is quick), deploys N replicas behind nginx on 127.0.0.1, then
runs each scenario while a client loop in a separate process POSTs /predict (5 records) to the load balancer
every PAUSE seconds. Target: zero failed requests in every row. Tears everything down itself. Needs podman
(scripts/install-system-deps.sh); prints a skip line and exits 0 without it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two replicas, no killed-replica scenario")
    parser.add_argument("--replicas", type=int, default=None)
    parser.add_argument("--pause", type=float, default=0.02, help="seconds between requests of the client loop")
    args = parser.parse_args(argv)
    if shutil.which("podman") is None:
        print("bench_rollout: skipped (podman is not installed)")
        return 0

    from mlgate.checks.result import CheckResult, GateReport, Status
    from mlgate.ci.release import deploy, reconcile, release, rollback, rolling_update, teardown
    from mlgate.ci.release.bundle import make_bundle, sha256_file
    from mlgate.ci.release.deploy import load_state
    from mlgate.ci.release.image import derive_image
    from mlgate.ci.release.load import LoadGenerator
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
    rows_table: list[tuple[str, int, int, float, float]] = []
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
        rows = json.loads((bundle / "golden.json").read_text())["rows"][:5]
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
            load = LoadGenerator(state.url, rows, folder=work / name.replace(" ", "-"), pause=args.pause)
            time.sleep(1.0)
            begin = time.monotonic()
            try:
                action()
            finally:
                took = time.monotonic() - begin
                counts = load.stop()
            rate = counts.requests / counts.seconds if counts.seconds else 0.0
            rows_table.append((name, counts.requests, counts.failed, round(took, 1), round(rate, 1)))
    finally:
        teardown(work / "deploy")
        for tag in tags:  # cached layers and the base image stay; this run's tags go
            Podman.default().run("rmi", "--force", "--ignore", tag, check=False)
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nreplicas={replicas}, client pause {args.pause} s, 5 records per request")
    print(f"{'scenario':<16} {'requests':>9} {'failed':>7} {'action s':>9} {'req/s':>7}")
    for name, requests, failed, took, rate in rows_table:
        print(f"{name:<16} {requests:>9} {failed:>7} {took:>9} {rate:>7}")
    return 1 if any(row[2] for row in rows_table) else 0


if __name__ == "__main__":
    raise SystemExit(main())
