"""The whole image path end to end on a project, for CI: ``python -m ci.release.e2e --workdir DIR``.

gates (no registration) -> report.json -> bundle (with the monitoring reference) -> release (base, build, push,
pull, smoke, parity) -> deploy N replicas behind nginx, logging to ``WORKDIR/predictions`` -> rolling update under
load -> feedback through nginx for every record served so far -> rollback under load -> feedback for every other
record of it -> teardown -> the log read back (``read_window``: every record answered, each with its label) ->
``mlgate monitor --log WORKDIR/predictions`` on that clean traffic (exit 0).
The load sends records drawn from the data file (seeded), 5 per request. Prints each step with its timing; exits 1
on any failure (a failed request under load included).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgate.ci.release.e2e_log import clean_traffic, monitor_log, post_feedback, read_back
from mlgate.pipeline.config import ProjectConfig, load_config
from mlgate.pipeline.errors import MlgateError

if TYPE_CHECKING:
    from mlgate.ci.gated_run import GatedRun
    from mlgate.ci.release.deploy import DeployState

__all__ = ["bundle_from_gated_run", "main", "run_e2e"]

TRAFFIC_ROWS, TRAFFIC_SEED, PER_REQUEST = 2000, 0, 5  # records drawn from the data file, and sent per request


def bundle_from_gated_run(config: ProjectConfig, run: GatedRun, *, report_path: Path, dest: Path, version: str) -> Path:
    """Write the report of a gated run to ``report_path`` and a release bundle for its candidate to ``dest``."""
    import tempfile

    from mlgate.ci.monitor_profile import write_profile
    from mlgate.ci.release.bundle import make_bundle, sha256_file
    from mlgate.pipeline.candidate import DataBundle

    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(json.dumps(run.report.to_dict(), indent=2, sort_keys=True) + "\n")
    evidence, meta = run.evidence, run.report.run
    model = evidence.model if evidence is not None else None
    if evidence is None or model is None:
        raise MlgateError("the gated run trained no candidate model: there is nothing to bundle")
    features = list(evidence.prepared.features)
    data = DataBundle(evidence.dataset, evidence.prepared, evidence.split)
    with tempfile.TemporaryDirectory(prefix="mlgate-e2e-") as staging:
        monitor = write_profile(config, data, model, Path(staging))  # the reference `mlgate monitor --bundle` reads
        return make_bundle(
            dest,
            model=model.pipeline,
            schema_path=config.schema_path,
            release_info={
                "model_name": config.mlflow.model_name,
                "model_version": version,
                "run_id": str(getattr(evidence.artifact, "run_id", None) or "local"),
                "data_fingerprint": meta.get("data", {}).get("fingerprint"),
                "gate_report_sha256": sha256_file(report_path),
                "git_commit": meta.get("git_commit"),
                "target": config.data.target,  # the label set /feedback accepts
                "prediction_log": config.monitor.log.bundle_fields(),
            },
            meta={
                "features": features,
                "numeric": list(evidence.prepared.numeric),
                "categorical": list(evidence.prepared.categorical),
                "threshold": model.threshold,
                "positive_label": config.data.positive_label,
            },
            golden_X=evidence.split.test[features],
            golden_proba=model.proba_test,
            monitor_dir=monitor,
        )


def _free_ports(config: ProjectConfig) -> ProjectConfig:
    """Keep the configured ports when free; otherwise pick free ones (CI machines run other things)."""
    from mlgate.ci.release.registry import free_port, port_free

    release = config.release
    updates: dict[str, Any] = {}
    if not port_free("127.0.0.1", release.port):
        updates["port"] = free_port()
    if release.registry == "local":
        host, _, rest = release.image_repository.partition("/")
        name, _, port = host.partition(":")
        if port.isdigit() and not port_free(name, int(port)):
            updates["image_repository"] = f"{name}:{free_port()}/{rest}"
    return config.model_copy(update={"release": release.model_copy(update=updates)}) if updates else config


def run_e2e(
    config: ProjectConfig, *, workdir: Path, replicas: int, say: Callable[[str], object] = print
) -> dict[str, Any]:
    from mlgate.ci.gated_run import run_pipeline
    from mlgate.ci.release.deploy import deploy, rollback, rolling_update, teardown
    from mlgate.ci.release.image import derive_image
    from mlgate.ci.release.load import LoadGenerator
    from mlgate.ci.release.podman import Podman
    from mlgate.ci.release.publish import release

    summary: dict[str, Any] = {"steps": {}}
    clock = time.monotonic()

    def step(name: str, detail: str) -> None:
        nonlocal clock
        took = round(time.monotonic() - clock, 1)
        summary["steps"][name] = took
        say(f"e2e: {name:<16} {took:>6.1f} s  {detail}")
        clock = time.monotonic()

    config = _free_ports(config)
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    run = run_pipeline(config, register=False, promote=False)
    step("gates", f"passed={run.report.passed} counts={run.report.counts()}")
    bundle = bundle_from_gated_run(
        config, run, report_path=workdir / "report.json", dest=workdir / "bundle", version="1"
    )
    step("bundle", str(bundle))
    result = release(config, report_path=workdir / "report.json", bundle_dir=bundle, workdir=workdir)
    parity = result.parity
    summary["release"] = result.to_dict()
    step("release", f"{result.image}@{result.digest[:19]} user={result.user} timings={result.timings}")
    step("parity", f"{parity.rows} rows, {parity.mismatches} mismatches, max abs diff {parity.max_abs_diff}")
    update = derive_image(
        Podman.default(),
        result.image,
        tag=result.image + "-update",
        workdir=workdir,
        labels={"io.mlgate.e2e": "update"},
    )
    traffic = clean_traffic(config, bundle, rows=TRAFFIC_ROWS, seed=TRAFFIC_SEED)
    since = datetime.now(UTC)
    served: dict[str, int] = {}
    labelled: dict[str, Any] = {}
    state: DeployState | None = None
    try:
        state = deploy(config, image=result.image, workdir=workdir, replicas=replicas)
        step("deploy", f"{len(state.replicas)} replicas behind nginx at {state.url}, prediction log {state.log_dir}")
        actions: tuple[tuple[str, Callable[[], DeployState], int], ...] = (
            ("rolling update", lambda: rolling_update(config, image=update, workdir=workdir), 1),
            ("rollback", lambda: rollback(config, workdir=workdir), 2),
        )
        for name, action, every in actions:
            folder = workdir / name.replace(" ", "-")
            load = LoadGenerator(state.url, traffic.rows, folder=folder, pause=0.05, batch=PER_REQUEST)
            try:
                state = action()
            finally:
                counts = load.stop()
            summary[name] = {"requests": counts.requests, "failed": counts.failed, "records": len(counts.served)}
            step(name, f"now {state.image}; {counts.requests} requests under load, {counts.failed} failed")
            if counts.failed:
                raise MlgateError(f"{name}: {counts.failed} of {counts.requests} requests failed ({counts.errors})")
            served.update(counts.served)
            chosen = dict(list(counts.served.items())[::every])
            posted = post_feedback(state.url, chosen, traffic)
            labelled.update({rid: traffic.labels[row] for rid, row in chosen.items()})
            summary[f"feedback after {name}"] = posted
            answered = ", ".join(f"{k}: {v}" for k, v in sorted(posted["answered_by"].items()))
            step(
                f"{name.split()[-1]} feedback",
                f"{posted['labels']} of {len(counts.served)} records labelled through nginx ({answered})",
            )
    finally:
        teardown(workdir)
        step("teardown", "nginx and replicas stopped; the prediction log stays")
    summary["log"] = _check_log(config, state, bundle=bundle, since=since, served=served, labelled=labelled, step=step)
    return summary


def _check_log(
    config: ProjectConfig,
    state: DeployState | None,
    *,
    bundle: Path,
    since: datetime,
    served: dict[str, int],
    labelled: dict[str, Any],
    step: Callable[[str, str], None],
) -> dict[str, Any]:
    """After the rollouts and the teardown: every served record is in the log with its label, one file per
    replica ever started, and ``mlgate monitor`` passes the window."""
    if state is None or state.log_dir is None:
        raise MlgateError("the deployment recorded no prediction log folder")
    folder, workdir = Path(state.log_dir), state.workdir
    found = read_back(folder, served, labelled)
    started = len(state.replicas) * 3  # deploy, rolling update and rollback each started one per replica
    if len(found["files"]) != started:
        raise MlgateError(f"{folder}: {len(found['files'])} replica files for {started} replicas started")
    step("log read back", f"{found['predictions']} records ({found['labelled']} labelled) from {started} files")
    out = workdir / "monitor"
    code, output = monitor_log(
        config.path or Path("mlgate.toml"), folder=folder, bundle=bundle, since=since, until=datetime.now(UTC), out=out
    )
    step("monitor", f"mlgate monitor --log {folder}: exit {code} (reports in {out})")
    if code != 0:
        raise MlgateError(
            f"mlgate monitor on the deployment's clean traffic exited {code}, expected 0:\n{output[-3000:]}"
        )
    return {**found, "monitor_exit": code}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ci.release.e2e", description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=Path("mlgate.toml"))
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--replicas", type=int, default=None)
    args = parser.parse_args(argv)
    start = time.monotonic()
    try:
        config = load_config(args.config)
        summary = run_e2e(config, workdir=args.workdir.resolve(), replicas=args.replicas or config.release.replicas)
    except MlgateError as exc:
        print(f"e2e: FAILED after {time.monotonic() - start:.0f} s: {exc}", file=sys.stderr)
        return exc.exit_code or 1
    (args.workdir / "e2e.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    print(f"e2e: passed in {time.monotonic() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
