"""The whole image path end to end on a project, for CI: ``python -m ci.release.e2e --workdir DIR``.

gates (no registration) -> report.json -> bundle -> release (base, build, push, pull, smoke, parity) ->
deploy N replicas behind nginx -> rolling update under load -> rollback under load -> teardown.
Prints each step with its timing; exits 1 on any failure (a failed request under load included).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgate.pipeline.config import ProjectConfig, load_config
from mlgate.pipeline.errors import MlgateError

if TYPE_CHECKING:
    from mlgate.ci.gated_run import GatedRun

__all__ = ["bundle_from_gated_run", "main", "run_e2e"]


def bundle_from_gated_run(config: ProjectConfig, run: GatedRun, *, report_path: Path, dest: Path, version: str) -> Path:
    """Write the report of a gated run to ``report_path`` and a release bundle for its candidate to ``dest``."""
    from mlgate.ci.release.bundle import make_bundle, sha256_file

    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(json.dumps(run.report.to_dict(), indent=2, sort_keys=True) + "\n")
    evidence, meta = run.evidence, run.report.run
    model = evidence.model
    if model is None:
        raise MlgateError("the gated run trained no candidate model: there is nothing to bundle")
    features = list(evidence.prepared.features)
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
    from mlgate.ci.release.deploy import DeployState, deploy, rollback, rolling_update, teardown
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
    rows = json.loads((bundle / "golden.json").read_text())["rows"][:5]
    try:
        state = deploy(config, image=result.image, workdir=workdir, replicas=replicas)
        step("deploy", f"{len(state.replicas)} replicas behind nginx at {state.url}")
        actions: tuple[tuple[str, Callable[[], DeployState]], ...] = (
            ("rolling update", lambda: rolling_update(config, image=update, workdir=workdir)),
            ("rollback", lambda: rollback(config, workdir=workdir)),
        )
        for name, action in actions:
            load = LoadGenerator(state.url, rows, folder=workdir / name.replace(" ", "-"), pause=0.05)
            try:
                state = action()
            finally:
                counts = load.stop()
            summary[name] = {"requests": counts.requests, "failed": counts.failed}
            step(name, f"now {state.image}; {counts.requests} requests under load, {counts.failed} failed")
            if counts.failed:
                raise MlgateError(f"{name}: {counts.failed} of {counts.requests} requests failed ({counts.errors})")
    finally:
        teardown(workdir)
        step("teardown", "nginx and replicas stopped")
    return summary


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
