"""``mlgate retrain``: evaluate the triggers; when one fires, run the gated pipeline, release, roll out, record.

One evaluation (:func:`retrain`), under the project's retrain lock (:mod:`ci.retrain_lock`):

1. gather the situation (champion from the registry, the training data's fingerprint, the monitor history and
   the journal) and evaluate the requested triggers (:mod:`ci.triggers`);
2. nothing fired, or ``--dry-run``: record and stop (exit 0). A fired trigger is **skipped** when the champion
   was trained on exactly the current inputs (a retrain would reproduce it) or a completed retrain already tried
   them under the same config (no retrain loop on data that cannot give a better model);
3. ``started`` line; with ``[retrain] include_feedback`` the served rows with ground truth are joined to the
   training data in a fingerprinted snapshot (:mod:`pipeline.feedback_data`); the whole gated pipeline runs
   (``mlgate run`` without promotion; reports in ``[retrain] out``/<id>/), its run is tagged with the retrain id
   and the fired triggers. A candidate that fails a blocking gate is **rejected** (exit 1): champion and serving
   untouched;
4. ``mlgate release`` (image, parity, then the champion alias); a failing release leaves both untouched;
5. a running deployment (``mlgate deploy``) gets a rolling update, or a canary whose own monitor window must pass
   before it is promoted; a failed rollout returns serving to the old image and the champion alias to the old
   version, so the two never disagree.

Every evaluation appends one ``finished`` line to the journal (:mod:`ci.journal`), whatever happened:

``id``, ``at``, ``started_at``, ``duration_s``, ``when`` (the triggers asked for), ``dry_run``, ``triggers``
(each: name, fired, fires, evidence, key, handled_by), ``fired`` (names), ``inputs`` (data source and
fingerprint, config sha256, the feedback source when joined), ``outcome`` (``not-fired``, ``skipped``,
``dry-run``, ``rejected``, ``identical``, ``registered``, ``released``, ``rolled-out``, ``release-failed``,
``rollout-failed``, ``error``), ``stage`` where it stopped (``triggers``, ``gate``, ``release``, ``rollout``,
``done``), ``run_id``, ``model_version``, ``champion_before``, ``champion_after``, ``gate`` (passed, exit code,
failing and waived check ids, report folder), ``release`` (image, digest, promoted), ``rollout`` (mode, image,
replicas), ``error`` (one line), ``exit_code``, ``message``, ``stale_lock``.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlgate.ci.journal import append_line, new_id, read_lines
from mlgate.ci.retrain_lock import retrain_lock
from mlgate.ci.triggers import COMPLETED, Situation, TriggerResult, evaluate
from mlgate.pipeline.config import ProjectConfig
from mlgate.pipeline.errors import MlgateError

__all__ = ["RetrainOutcome", "Steps", "retrain"]

Say = Callable[[str], object]


@dataclass
class Steps:
    """The heavy steps, replaceable in tests: the gated run, the release and the rollout."""

    gate: Callable[[ProjectConfig, Path], Any] = field(default_factory=lambda: _gate)
    release: Callable[[ProjectConfig, Path, Path], tuple[Any, Any, dict[str, Path]]] = field(
        default_factory=lambda: _release
    )
    rollout: Callable[[ProjectConfig, str, str, Path, Say], dict[str, Any] | None] = field(
        default_factory=lambda: _rollout
    )


@dataclass(frozen=True)
class RetrainOutcome:
    id: str
    exit_code: int
    outcome: str
    message: str
    triggers: list[TriggerResult]
    entry: dict[str, Any]


def _gate(config: ProjectConfig, out: Path) -> Any:
    from mlgate.ci.gated_run import run_pipeline

    return run_pipeline(config, promote=not config.retrain.release, out=out)


def _release(config: ProjectConfig, report: Path, workdir: Path) -> tuple[Any, Any, dict[str, Path]]:
    from mlgate.ci.release_flow import release_from_report

    return release_from_report(config, report_path=report, workdir=workdir, promote=True)


def _rollout(config: ProjectConfig, image: str, version: str, out: Path, say: Say) -> dict[str, Any] | None:
    """Roll ``image`` out to the deployment ``mlgate deploy up`` started, if one runs; None when none does."""
    from mlgate.ci.retrain_canary import rollout

    return rollout(config, image, version, out, say)


def _champion(config: ProjectConfig) -> Any:
    from mlgate.pipeline.registry import Registry
    from mlgate.pipeline.registry.store import store_exists

    return Registry.from_config(config).champion() if store_exists(config) else None


def gather(config: ProjectConfig, now: datetime) -> Situation:
    """What the triggers look at (reads only; a data or store error is one MlgateError line)."""
    from mlgate.pipeline.dataload import load_dataset
    from mlgate.pipeline.redact import redact_url

    dataset = load_dataset(config)
    return Situation(
        config=config,
        now=now,
        champion=_champion(config),
        data_fingerprint=dataset.fingerprint,
        data_source=redact_url(dataset.source),
        data_rows=dataset.n_rows,
        history=read_lines(config.monitor.history_path(config.root)).records,
        journal=read_lines(config.retrain.journal_path(config.root)).records,
    )


def _skip_reason(situation: Situation, inputs_key: str) -> str | None:
    from mlgate.pipeline.tags import Tag

    champion, config = situation.champion, situation.config
    same_data = situation.data_fingerprint in situation.champion_fingerprints()
    same = champion is not None and same_data and champion.tags.get(Tag.CONFIG_SHA256) == config.sha256
    if champion is not None and same and not config.retrain.include_feedback:
        return (
            f"champion v{champion.version} was trained on exactly this data ({situation.data_fingerprint[:12]}…) "
            "under this config: a retrain would reproduce it; add data, or set retrain.include_feedback"
        )
    for entry in reversed(situation.finished()):
        if entry.get("outcome") in COMPLETED and (entry.get("inputs") or {}).get("key") == inputs_key:
            return (
                f"retrain {entry.get('id')} already trained on these inputs under this config "
                f"({entry.get('outcome')}); waiting for new data or a config change"
            )
    return None


def _inputs(situation: Situation, feedback: dict[str, Any] | None) -> dict[str, Any]:
    import hashlib

    parts = [situation.data_fingerprint, situation.config.sha256, str((feedback or {}).get("fingerprint") or "")]
    return {
        "data_source": situation.data_source,
        "data_fingerprint": situation.data_fingerprint,
        "data_rows": situation.data_rows,
        "config_sha256": situation.config.sha256,
        "feedback": feedback,
        "key": hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16],
    }


def _with_feedback(config: ProjectConfig, dest: Path) -> tuple[ProjectConfig, dict[str, Any] | None]:
    """The config to train on: as is, or (``include_feedback``) pointed at training + served-feedback rows."""
    if not config.retrain.include_feedback:
        return config, None
    from mlgate.pipeline.dataload import load_dataset
    from mlgate.pipeline.feedback_data import combined_snapshot, feedback_rows

    dataset = load_dataset(config)
    feedback = feedback_rows(config, config.monitor.log.location(config.root), dataset=dataset)
    return combined_snapshot(config, dataset, feedback, dest)


@dataclass
class _Run:
    config: ProjectConfig
    entry: dict[str, Any]
    say: Say
    steps: Steps
    out: Path

    def finish(self, outcome: str, stage: str, exit_code: int, message: str) -> None:
        self.entry.update(outcome=outcome, stage=stage, exit_code=exit_code, message=message)
        self.say(f"retrain: {outcome}: {message}")


def _tag_run(config: ProjectConfig, run_id: str, entry: dict[str, Any], out: Path) -> None:
    """The retrain's tags on the run and the version, and its inputs (each data source with its fingerprint, the
    served-feedback source apart) as the run's ``retrain/inputs.json``."""
    import json

    from mlgate.ci.registration import make_registry
    from mlgate.pipeline.tags import Tag

    tags: dict[str, str] = {Tag.RETRAIN_ID: str(entry["id"]), Tag.RETRAIN_TRIGGERS: ",".join(entry["fired"]) or "none"}
    registry = make_registry(config)
    registry.set_run_tags(run_id, tags)
    if entry.get("model_version"):  # on the version too: the dashboard's release table shows what produced it
        registry.set_version_tags(str(entry["model_version"]), tags)
    inputs = out / "inputs.json"
    inputs.write_text(json.dumps({"retrain_id": entry["id"], "fired": entry["fired"], **entry["inputs"]},
                                 indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")  # fmt: skip
    registry.log_artifacts(run_id, {"inputs.json": inputs}, folder="retrain")


def _gate_step(run: _Run, train_config: ProjectConfig) -> Any:
    """The gated run; records its verdict; returns the report, or None when the retrain stops here."""
    run.entry["stage"] = "gate"
    run.say(f"retrain: gated run on {train_config.data.source} (reports in {run.out})")
    gated = run.steps.gate(train_config, run.out)
    report = gated.report
    section = report.run.get("registry") or {}
    run.entry.update(run_id=section.get("run_id"), model_version=section.get("version"))
    run.entry["champion_before"] = section.get("champion_before")
    run.entry["gate"] = {
        "passed": report.passed,
        "exit_code": report.exit_code,
        "failing": sorted(r.id for r in report.results if r.blocks),
        "waived": sorted(r.id for r in report.results if (r.details or {}).get("waiver")),
        "report": str(run.out),
    }
    if section.get("run_id") and section.get("registered", True):
        _tag_run(train_config, str(section["run_id"]), run.entry, run.out)
    if not report.passed:
        failing = run.entry["gate"]["failing"]
        run.finish("rejected", "gate", 1, f"the candidate failed {len(failing)} blocking check(s): "
                   f"{', '.join(failing[:5])}; champion and serving unchanged")  # fmt: skip
        return None
    if section.get("identical_to_champion"):
        run.finish("identical", "gate", 0, f"the candidate is champion v{section['version']} again: nothing to release")
        return None
    if not run.config.retrain.release:
        run.entry["champion_after"] = section.get("champion_after")
        run.finish("registered", "gate", 0, f"v{section.get('version')} passed and is champion (retrain.release off)")
        return None
    return report


def _release_step(run: _Run, train_config: ProjectConfig) -> str | None:
    """Release; returns the image to roll out, or None when the retrain stops here."""
    run.entry["stage"] = "release"
    workdir = run.out / "release"
    try:
        result, final, _paths = run.steps.release(train_config, run.out / "report.json", workdir)
    except MlgateError as exc:
        run.entry["error"] = str(exc).splitlines()[0][:300]
        run.finish("release-failed", "release", 1, f"{run.entry['error']}; champion and serving unchanged")
        return None
    promoted = bool((final.run.get("release") or {}).get("promoted"))
    run.entry["release"] = {"image": result.image, "digest": result.digest, "promoted": promoted}
    if not final.passed:
        run.finish("release-failed", "release", 1, "serving parity failed: champion and serving unchanged")
        return None
    run.entry["champion_after"] = run.entry.get("model_version")
    return str(result.image)


def _rollout_step(run: _Run, image: str) -> None:
    from mlgate.ci.release.errors import ReleaseError

    run.entry["stage"] = "rollout"
    version = run.entry.get("model_version")
    if run.config.retrain.rollout == "none":
        run.finish("released", "done", 0, f"v{version} released as {image} (retrain.rollout = none)")
        return
    try:
        rolled = run.steps.rollout(run.config, image, str(version), run.out, run.say)
    except ReleaseError as exc:
        from mlgate.ci.registration import rollback_release

        run.entry["error"] = str(exc).splitlines()[0][:300]
        back = rollback_release(run.config)
        run.entry["champion_after"] = run.entry.get("champion_before")
        run.finish("rollout-failed", "rollout", 1, f"{run.entry['error']}; serving kept the old image; {back}")
        return
    if rolled is None:
        run.finish("released", "done", 0, f"v{version} released as {image}; no deployment is running to roll out")
        return
    run.entry["rollout"] = rolled
    run.finish("rolled-out", "done", 0, f"v{version} ({image}) serves on {rolled.get('replicas')} replica(s)")


def _retrain_fired(run: _Run, situation: Situation) -> None:
    from mlgate.ci.journal import append_line as append

    append(run.config.retrain.journal_path(run.config.root), {**_started(run.entry), "event": "started"})
    train_config, feedback = _with_feedback(run.config, run.out / "data")
    if feedback is not None:
        run.entry["inputs"] = _inputs(situation, feedback)
    report = _gate_step(run, train_config)
    if report is None:
        return
    image = _release_step(run, train_config)
    if image is not None:
        _rollout_step(run, image)


def _started(entry: dict[str, Any]) -> dict[str, Any]:
    keys = ("kind", "id", "at", "started_at", "when", "fired", "triggers", "inputs", "pid", "host")
    return {k: entry[k] for k in keys if k in entry}


def _evaluate(run: _Run, situation: Situation, names: Sequence[str], dry_run: bool) -> None:
    triggers = evaluate(situation, names)
    fired = [t for t in triggers if t.fires]
    run.entry.update(triggers=[t.to_dict() for t in triggers], fired=[t.name for t in fired])
    for t in triggers:
        state = "FIRED" if t.fires else ("handled" if t.fired else "quiet")
        run.say(f"retrain: {t.name:<9} {state:<7} {t.evidence}" + (f" (by {t.handled_by})" if t.handled_by else ""))
    run.entry["inputs"] = _inputs(situation, None)
    champion = situation.champion
    run.entry["champion_before"] = champion.version if champion is not None else None
    if not fired:
        run.finish("not-fired", "triggers", 0, "no trigger fired: nothing to do")
        return
    skip = _skip_reason(situation, run.entry["inputs"]["key"])
    if skip is not None:
        run.finish("skipped", "triggers", 0, skip)
        return
    if dry_run:
        run.finish("dry-run", "triggers", 0, f"would retrain for {', '.join(run.entry['fired'])} (--dry-run)")
        return
    _retrain_fired(run, situation)


def retrain(
    config: ProjectConfig,
    *,
    when: Sequence[str] | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
    steps: Steps | None = None,
    say: Say = print,
) -> RetrainOutcome:
    """One evaluation (module docstring). An MlgateError is recorded in the journal, then raised again."""
    start = datetime.now(UTC)
    rid = new_id(start)
    names = list(when) if when is not None else list(config.retrain.triggers)
    journal = config.retrain.journal_path(config.root)
    entry: dict[str, Any] = {
        "kind": "retrain", "id": rid, "started_at": start.isoformat(timespec="seconds"), "when": names,
        "dry_run": dry_run, "pid": os.getpid(), "host": socket.gethostname(), "triggers": [], "fired": [],
        "outcome": "error", "stage": "triggers", "exit_code": 2,
    }  # fmt: skip
    clock = time.monotonic()
    run = _Run(config, entry, say, steps or Steps(), config.retrain.out_path(config.root) / rid)
    with retrain_lock(config, journal_id=rid) as held:
        if held.stale is not None:
            entry["stale_lock"] = held.stale_note
            say(f"retrain: warning: {held.stale_note}")
            append_line(journal, {"kind": "retrain", "event": "interrupted", "id": held.stale.get("journal_id"),
                                  "at": start.isoformat(timespec="seconds"), "detected_by": rid})  # fmt: skip
        try:
            _evaluate(run, gather(config, now or start), names, dry_run)
        except MlgateError as exc:
            entry.update(error=str(exc).splitlines()[0][:300], exit_code=exc.exit_code, outcome="error")
            entry["message"] = f"stopped at {entry['stage']}: {entry['error']}"
            raise
        except BaseException as exc:  # Ctrl-C, SIGTERM, a bug: recorded, never swallowed
            entry.update(error=f"{type(exc).__name__}: {str(exc)[:200]}", exit_code=130, outcome="interrupted")
            entry["message"] = f"stopped at {entry['stage']}: {entry['error']}"
            raise
        finally:
            entry.update(event="finished", at=datetime.now(UTC).isoformat(timespec="seconds"))
            entry["duration_s"] = round(time.monotonic() - clock, 2)
            append_line(journal, entry)
    triggers = [TriggerResult(**{k: t[k] for k in ("name", "fired", "evidence", "key", "handled_by")})
                for t in entry["triggers"]]  # fmt: skip
    return RetrainOutcome(rid, int(entry["exit_code"]), str(entry["outcome"]), str(entry["message"]), triggers, entry)
