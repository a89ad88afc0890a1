"""``mlgate release``: from a passed gate report to a verified image, then (only then) the champion alias.

1. Refuse unless the gate report passed and names a registered model version (ci.release.publish checks
   the report and the bundle again before anything is built).
2. Build the release bundle from the REGISTRY's exact model file (sha256 as recorded), the committed schema,
   and a golden set: the test split of the data the report was computed on (same fingerprint), with the scores
   the registered model gives offline for its task (positive-class probabilities, class probabilities, predicted
   values) and the gate's decisions (the threshold; the least expected cost under ``quality.class_costs`` or the
   most probable class).
3. ci.release.publish.release: build the image, push, pull back, run, wait for /ready, send the golden set,
   require bitwise-equal scores and the same decisions.
4. Add the serving-parity check to the report (layer reproducibility), write the release report, log it to
   the run, tag the version with the image, and move ``champion`` to the version.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

from mlgate.checks.result import GateReport
from mlgate.ci.registration import make_registry
from mlgate.ci.release.errors import ReleaseRefused
from mlgate.pipeline.config import ProjectConfig
from mlgate.pipeline.tags import Tag

__all__ = ["build_release_bundle", "golden_answers", "release_from_report"]


def _read_report(report_path: Path) -> tuple[GateReport, bytes]:
    """The gate report, parsed into a :class:`GateReport`, and its bytes (their sha256 is what the bundle names).

    A missing, unreadable or failing report is refused by the release tooling's own message
    (:func:`ci.release.publish.check_release_inputs`); a report whose ``passed`` flag contradicts its own results
    (an edited file) or that names no registered version is refused here.
    """
    from mlgate.ci.release.publish import check_release_inputs

    data: dict[str, Any] = {}
    gate: GateReport | None = None
    try:
        raw = report_path.read_bytes()
        data = json.loads(raw)
        gate = GateReport.from_dict(data)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):  # unreadable or not a report's shape
        raw = b""
    if not isinstance(data, dict) or data.get("passed") is not True:  # missing, not JSON, or failing
        check_release_inputs(report_path=report_path, bundle_dir=report_path.parent / "no-bundle")
    if gate is None:
        raise ReleaseRefused(
            f"release refused: {report_path} is not a gate report this mlgate can read (report_version, results "
            "and run are required): release the report.json a gated run wrote"
        )
    if not gate.passed:
        failing = [r.id for r in gate.results if r.blocks]
        raise ReleaseRefused(
            f"release refused: gate report {report_path} says it passed, but its results hold {len(failing)} "
            f"blocking failure(s) ({', '.join(failing[:3])}): the file was edited; re-run the gates"
        )
    registry = gate.run.get("registry") or {}
    if not registry.get("version"):
        raise ReleaseRefused(
            f"release refused: gate report {report_path} names no registered model version; "
            "it comes from `mlgate gate` or `mlgate run --no-register`: run `mlgate run` to register the candidate"
        )
    return gate, raw


def golden_answers(config: ProjectConfig, meta: dict[str, Any], model: Any, rows: Any) -> tuple[Any, list[Any]]:
    """The registered model's offline scores on ``rows`` for its task (``pipeline.evaluate.model_scores``) and the
    decisions the gate's rule makes from them: 0/1 at the recorded threshold (binary), the class labels of
    ``pipeline.task_metrics.decide_classes`` under the project's ``quality.class_costs`` (multi-class), none for a
    regression (its decision is the value)."""
    from mlgate.pipeline.evaluate import model_scores
    from mlgate.pipeline.task_metrics import costs_for, decide_classes

    task = str(meta.get("task") or "binary")
    scores = model_scores(model, rows, task)
    if task == "binary":
        return scores, (scores >= float(meta["threshold"])).astype(int).tolist()
    if task == "multiclass":
        classes = list(meta.get("classes") or [])
        codes = decide_classes(scores, costs_for(config.quality, task, classes))
        return scores, [classes[c] for c in codes.tolist()]
    return scores, []


def build_release_bundle(config: ProjectConfig, report: GateReport, report_sha256: str, dest: Path) -> Path:
    """The bundle for the report's registered version, with a golden set from the same data."""
    from mlgate.ci.release.bundle import make_bundle
    from mlgate.pipeline.artifact import load_meta, load_model
    from mlgate.pipeline.candidate import load_data

    section = report.run["registry"]
    version = str(section["version"])
    data = load_data(config)
    expected = (report.run.get("data") or {}).get("fingerprint")
    if data.dataset.fingerprint != expected:
        raise ReleaseRefused(
            f"release refused: the data at {data.dataset.source} has fingerprint {data.dataset.fingerprint[:12]}…, "
            f"but the gate report was computed on {str(expected)[:12]}…: re-run the gates on the current data"
        )
    registry = make_registry(config)
    with tempfile.TemporaryDirectory(prefix="mlgate-release-") as scratch:
        model_file = registry.download_bundle(version, Path(scratch))
        meta = load_meta(model_file)
        if section.get("model_sha256") and meta.get("sha256") != section["model_sha256"]:
            raise ReleaseRefused(
                f"release refused: version {version} in the registry has model sha256 {str(meta.get('sha256'))[:12]}…, "
                f"but the gate report recorded {section['model_sha256'][:12]}…"
            )
        model = load_model(model_file)
        features = list(meta["features"])
        golden_x = data.split.test[features]
        scores, decisions = golden_answers(config, meta, model, golden_x)
        found = registry.find_artifact(section["run_id"], "monitor/reference.json", Path(scratch) / "probe")
        monitor = None if found is None else registry.download_artifact(section["run_id"], "monitor", Path(scratch))
        return make_bundle(
            dest,
            model=model_file,
            schema_path=config.schema_path,
            release_info={
                "model_name": section.get("model_name") or config.mlflow.model_name,
                "model_version": version,
                "run_id": section["run_id"],
                "data_fingerprint": expected,
                "gate_report_sha256": report_sha256,
                "git_commit": report.run.get("git_commit"),
                "target": config.data.target,  # the serving app's label set for /feedback (pipeline.serve.labels)
                "prediction_log": config.monitor.log.bundle_fields(),  # queue and batch sizes, never the location
            },
            meta={},
            golden_X=golden_x,
            golden_proba=scores,
            golden_decisions=decisions or None,
            monitor_dir=monitor,
        )


def release_from_report(
    config: ProjectConfig,
    *,
    report_path: Path,
    workdir: Path,
    promote: bool = True,
    out: Path | None = None,
    lock_timeout_s: float | None = None,
) -> tuple[Any, GateReport, dict[str, Path]]:
    """Run the whole release; return (ReleaseResult, the report with the parity check, written paths).

    From reading the champion to promoting, the release holds the store lock (:mod:`pipeline.store_lock`), as a
    gated run does, waiting up to ``lock_timeout_s`` (default 300 s). A missing store is refused first.
    """
    from mlgate.checks.report import write_reports
    from mlgate.ci.release.publish import release
    from mlgate.pipeline.store_lock import DEFAULT_LOCK_TIMEOUT_S, store_lock

    gate, raw = _read_report(report_path)
    report_sha = hashlib.sha256(raw).hexdigest()
    registry = make_registry(config)
    registry.open()  # no store: one line before anything is built or written (a release never creates one)
    workdir.mkdir(parents=True, exist_ok=True)
    bundle = build_release_bundle(config, gate, report_sha, workdir / "bundle")
    result = release(config, report_path=report_path, bundle_dir=bundle, workdir=workdir)

    section = gate.run["registry"]
    version = str(section["version"])
    timeout = DEFAULT_LOCK_TIMEOUT_S if lock_timeout_s is None else lock_timeout_s
    with store_lock(config, timeout_s=timeout):
        champion = registry.champion()
        already = champion is not None and champion.version == version
        promoted = bool(promote and not already)
        parity = result.parity_check()
        will_promote = promoted and not parity.blocks
        registry_section = {**section, "promoted": will_promote or already}
        if will_promote:
            registry_section.update(promoted_by="mlgate release", champion_after=version)
        run = {
            **gate.run,
            "registry": registry_section,
            "release": {**result.to_dict(), "gate_report_sha256": report_sha, "promoted": will_promote},
        }
        final = GateReport.collect([*gate.results, parity], run=run, artifacts=gate.artifacts)
        paths = write_reports(final, out or report_path.parent / "release")
        registry.log_artifacts(section["run_id"], {path.name: path for path in paths.values()}, folder="release")
        registry.set_version_tags(version, {Tag.IMAGE: result.image, Tag.IMAGE_DIGEST: result.digest})
        if will_promote and final.passed:
            registry.promote(version, gate_report_sha256=report_sha)
    return result, final, paths
