"""The continuous-training loop end to end, for the README, CI and the benchmark:
``python -m mlgate.ci.loop_demo --workdir DIR [--seed N] [--serving auto|image|in-process]``.

1. A copy of the bundled project in ``WORKDIR/project`` whose data file holds all but ``--holdout`` rows (a seeded,
   stratified draw); the held-out rows are the traffic, each sent once per phase (replayed copies would be
   duplicate rows once the served rows are trained on, which ``schema.duplicate_rows`` rightly fails).
   ``[retrain] include_feedback = true``: a retrain trains on the data file plus the served rows with ground truth.
2. The gated pipeline makes champion v1, served (:mod:`ci.loop_serving`) by the real image as replicas behind
   nginx where podman is available (released and deployed as ``mlgate release`` and ``mlgate deploy up`` do), by
   the app in-process otherwise; every prediction is logged.
3. Traffic in requests of ``--batch`` records; each record's true label is posted to ``/feedback`` once it is
   ``--feedback-delay`` seconds old. After ``--clean`` records the traffic shifts: ``--shift-column`` (default
   ``duration``) × ``--shift-factor`` (2.0; rows it would push past the schema's maximum are not drawn, the API
   would refuse them), the share of ``sex = female`` moved from the data's 31% to 45% (rows redrawn by weight), and
   a label shift: ``--label-shift`` (0.5) of the good risks with no known checking account default in the new
   period (their true label, the one fed back, is bad): the kind of change that makes a served model costly.
4. Every ``--every`` records ``mlgate monitor`` judges the last ``--window`` predictions (and appends its verdict
   to the monitor history the dashboard draws). The first verdict failing on drift is the detection; then
   ``mlgate retrain --when drift`` trains on the data file plus the labelled served rows (the new period
   included), gates the candidate and, with the image, releases it and rolls the deployment to it while a client
   process keeps sending requests through nginx and counts failures (in-process: the new server starts and the
   traffic moves to it between two requests).
5. ``--after`` more shifted records go to the new champion, and the same records to the old model as a shadow, so
   the two are compared on the same rows (paired bootstrap).

Prints a table (records until detection, live ROC AUC and cost per decision with 95% intervals per phase, the new
model minus the shadow, failed requests) and writes ``timeline.json`` and ``timeline.png``. Exit 1 when the loop
does not close: no detection within the shifted records, a false alarm on clean traffic, a candidate that is not
rolled out, or a failed request.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlgate.ci.loop_report import plot, quality, table
from mlgate.ci.loop_serving import ImageServing, InProcess, Server, podman_available
from mlgate.ci.monitor_walkthrough import post_json
from mlgate.pipeline.config import ProjectConfig, load_config
from mlgate.pipeline.config_monitor import LOG_DIR_ENV, LOG_URL_ENV
from mlgate.pipeline.errors import MlgateError

__all__ = ["main", "run_loop"]

ROOT = Path(__file__).resolve().parents[1]
GROUP_COLUMN, GROUP, GROUP_SHARE = "sex", "female", 0.45
SEGMENT_COLUMN, SEGMENT = "checking_account", "not_known"  # the label shift's segment (no known checking account)


@dataclass
class Settings:
    workdir: Path
    seed: int = 0
    holdout: int = 500
    batch: int = 10
    clean: int = 300
    every: int = 100
    window: int = 300
    max_shifted: int = 450
    after: int = 300
    shift_column: str = "duration"
    shift_factor: float = 2.0
    label_shift: float = 0.5  # after the shift, this share of the segment's good risks default (labels 1 -> 0)
    serving: str = "auto"  # "image" (podman), "in-process", or "auto": the image where podman is available
    feedback_delay: float = 1.0


@dataclass
class Timeline:
    """What happened, record by record: one row per record served, one per monitor verdict, the events."""

    records: list[dict[str, Any]] = field(default_factory=list)
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    events: dict[str, Any] = field(default_factory=dict)
    failed_requests: int = 0
    shadow: list[dict[str, Any]] = field(default_factory=list)  # v1's answers to the records v2 served


def _project(settings: Settings, log_folder: str, image: bool) -> tuple[Path, pd.DataFrame]:
    """The project copy with the held-out rows removed from its data file; returns (config path, held-out rows)."""
    from sklearn.model_selection import train_test_split

    folder = settings.workdir / "project"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    shutil.copytree(ROOT / "schemas", folder / "schemas")
    (folder / "data").mkdir()
    frame = pd.read_csv(ROOT / "data" / "german_credit.csv")
    kept, held = train_test_split(frame, test_size=settings.holdout, stratify=frame["risk"], random_state=settings.seed)
    kept.to_csv(folder / "data" / "german_credit.csv", index=False)
    config = (ROOT / "mlgate.toml").read_text(encoding="utf-8")
    rollout = 'release = true\nrollout = "update"' if image else 'release = false\nrollout = "none"'
    config += f"\n[retrain]\ninclude_feedback = true\n{rollout}\n"
    config += f'\n[monitor.log]\ndir = "{log_folder}"\n'
    from mlgate.ci.release.registry import free_port

    config = config.replace("\n[retrain]\n", f'\n[release]\nport = {free_port()}\nimage_repository = '
                            f'"127.0.0.1:{free_port()}/mlgate-loop"\n\n[retrain]\n', 1)  # fmt: skip
    (folder / "mlgate.toml").write_text(config, encoding="utf-8")
    (folder / log_folder).mkdir(parents=True)
    return folder / "mlgate.toml", held.reset_index(drop=True)


def _schema_max(config: ProjectConfig, column: str) -> float:
    import yaml

    schema = yaml.safe_load(config.schema_path.read_text(encoding="utf-8"))
    bounds = ((schema.get("columns") or {}).get(column) or {}).get("in_range") or {}
    return float(bounds.get("max_value", float("inf")))


def _shift(settings: Settings) -> dict[str, Any]:
    return {"column": settings.shift_column, "factor": settings.shift_factor, "flip": settings.label_shift}


def _traffic(
    held: pd.DataFrame,
    config: ProjectConfig,
    count: int,
    *,
    shifted: bool,
    seed: int,
    replace: bool = False,
    column: str = "",
    factor: float = 1.0,
    flip: float = 0.0,
) -> pd.DataFrame:
    """``count`` held-out rows (each at most once unless ``replace``: replayed copies would be duplicate rows when
    the served rows are trained on); shifted: the numeric feature scaled, the group share moved."""
    rng = np.random.default_rng(seed)
    if shifted:  # applicants the shift would put above the schema's maximum are not drawn (the API refuses them)
        held = held[held[column] * factor <= _schema_max(config, column)]
    weights = np.ones(len(held))
    if shifted:
        in_group = (held[GROUP_COLUMN] == GROUP).to_numpy()
        share = in_group.mean()
        weights = np.where(in_group, GROUP_SHARE / share, (1 - GROUP_SHARE) / (1 - share))
    count = count if replace else min(count, len(held))
    drawn = held.iloc[rng.choice(len(held), size=count, replace=replace, p=weights / weights.sum())].copy()
    if shifted:
        drawn[column] = (drawn[column] * factor).round().astype(held[column].dtype)
        segment = (drawn[SEGMENT_COLUMN] == SEGMENT).to_numpy() & (drawn[config.data.target] == 1).to_numpy()
        defaults = segment & (rng.random(len(drawn)) < flip)  # the new period's truth: they default now
        drawn.loc[defaults, config.data.target] = 0
    return drawn.replace(list(config.data.missing_values), None).reset_index(drop=True)


class _Sender:
    """Sends records in requests, keeps each answer, posts labels once they are ``delay`` seconds old."""

    def __init__(self, timeline: Timeline, features: list[str], categorical: list[str], delay: float) -> None:
        self.timeline, self.features, self.categorical, self.delay = timeline, features, categorical, delay
        self.pending: list[tuple[float, str, list[dict[str, Any]]]] = []

    def send(self, server: Server, frame: pd.DataFrame, *, phase: str, labels: pd.Series, shadow: bool = False) -> None:
        rows = frame[self.features].copy()
        for column in self.categorical:
            rows[column] = rows[column].astype("string")
        status, answer = post_json(server.url + "/predict", {"records": json.loads(rows.to_json(orient="records"))})
        if status != 200:
            self.timeline.failed_requests += 1
            raise MlgateError(f"/predict answered {status}: {str(answer)[:300]}")
        items = []
        for prediction, label in zip(answer["predictions"], labels, strict=True):
            into = self.timeline.shadow if shadow else self.timeline.records
            proba, decision = float(prediction["probability"]), int(prediction["prediction"])
            into.append({"phase": phase, "version": server.version, "label": int(label), "proba": proba,
                         "decision": decision})  # fmt: skip
            items.append({"request_id": prediction["request_id"], "label": int(label)})
        if not shadow:  # a shadow's answers get no feedback: its log lines stay unlabelled
            self.pending.append((time.monotonic(), server.url, items))
        self.flush(force=False)

    def flush(self, *, force: bool) -> None:
        if force and self.pending:
            time.sleep(max(0.0, self.delay - (time.monotonic() - self.pending[-1][0])))
        while self.pending and (force or time.monotonic() - self.pending[0][0] >= self.delay):
            _, url, items = self.pending.pop(0)
            status, answer = post_json(url + "/feedback", {"feedback": items})
            if status not in (200, 201):
                raise MlgateError(f"/feedback answered {status}: {str(answer)[:300]}")


def _monitor(config: ProjectConfig, settings: Settings, timeline: Timeline, version: str | None = None) -> bool:
    """One ``mlgate monitor`` verdict on the last ``window`` predictions; True when it failed on drift."""
    from mlgate.ci.monitor import run_monitor

    served = len(timeline.records)
    out = settings.workdir / "monitor" / f"at-{served:05d}"
    run = run_monitor(config, last=settings.window, out=out, version=version)
    failing = sorted(r.id for r in run.report.results if r.blocks)
    drift = [i for i in failing if i.startswith(("monitor.input_drift[", "monitor.prediction_drift"))]
    timeline.verdicts.append({"records": served, "passed": run.report.passed, "failing": failing,
                              "phase": timeline.records[-1]["phase"]})  # fmt: skip
    return bool(drift)


def _serve_until_detection(
    config: ProjectConfig, settings: Settings, held: pd.DataFrame, sender: _Sender, server: Server
) -> int | None:
    """Clean then shifted traffic with a monitor verdict every ``every`` records; the shifted records served when
    the monitor first failed on drift (None: never). A failing verdict on clean traffic is a false alarm."""
    timeline = sender.timeline
    clean = _traffic(held, config, settings.clean, shifted=False, seed=settings.seed)
    shifted = _traffic(held, config, settings.max_shifted, shifted=True, seed=settings.seed + 1,
                       **_shift(settings))  # fmt: skip
    for phase, frame in (("clean", clean), ("shifted, v1", shifted)):
        if phase != "clean":
            timeline.events["shift_at"] = len(timeline.records)
        for start in range(0, len(frame), settings.batch):
            part = frame.iloc[start : start + settings.batch]
            sender.send(server, part, phase=phase, labels=part[config.data.target])
            if len(timeline.records) % settings.every == 0 and len(timeline.records) >= settings.window:
                sender.flush(force=True)
                if _monitor(config, settings, timeline):
                    if phase == "clean":
                        timeline.events["false_alarm_at"] = len(timeline.records)
                        return None
                    return len(timeline.records) - int(timeline.events["shift_at"])
    return None


def _after_rollout(
    config: ProjectConfig, settings: Settings, held: pd.DataFrame, sender: _Sender, new: Server, old: Server
) -> None:
    """Shifted traffic to the new champion; the old model answers the same records as a shadow, so the two are
    compared on the same rows."""
    after = _traffic(held, config, settings.after, shifted=True, seed=settings.seed + 2, replace=True,
                     **_shift(settings))  # fmt: skip
    for start in range(0, len(after), settings.batch):
        part = after.iloc[start : start + settings.batch]
        sender.send(new, part, phase=f"shifted, v{new.version}", labels=part[config.data.target])
        sender.send(old, part, phase=f"shifted, v{old.version} shadow", labels=part[config.data.target], shadow=True)
    sender.flush(force=True)


def _setup(settings: Settings) -> tuple[Path, pd.DataFrame, Any]:
    from mlgate.pipeline.signing import ENV_TRUSTED_KEYS, load_signing_key, public_key_text

    image = settings.serving == "image" or (settings.serving == "auto" and podman_available())
    kind = ImageServing if image else InProcess
    config_path, held = _project(settings, kind.log_folder, image)
    env = {k: v for k, v in os.environ.items() if k not in (LOG_URL_ENV, LOG_DIR_ENV)}
    env[LOG_DIR_ENV] = str(config_path.parent / kind.log_folder)
    os.environ[LOG_DIR_ENV] = env[LOG_DIR_ENV]  # mlgate monitor and the retrain read the log the replicas write
    os.environ.pop(LOG_URL_ENV, None)
    if not env.get(ENV_TRUSTED_KEYS):
        env[ENV_TRUSTED_KEYS] = public_key_text(load_signing_key(create=False).public_key())
    return config_path, held, kind(settings.workdir, env)


def run_loop(settings: Settings, say: Callable[[str], object] = print) -> dict[str, Any]:
    """Steps 1-5 of the module docstring; raises MlgateError when the loop does not close."""
    clock = time.monotonic()
    saved = {name: os.environ.get(name) for name in (LOG_DIR_ENV, LOG_URL_ENV)}
    try:
        return _run_loop(settings, say, clock)
    finally:  # _setup points this process's log variables at the loop's log: put them back
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _run_loop(settings: Settings, say: Callable[[str], object], clock: float) -> dict[str, Any]:
    config_path, held, serving = _setup(settings)
    config = load_config(config_path)
    timeline = Timeline()
    servers: list[Server] = []
    try:
        first, run = serving.start(config, say)
        servers.append(first)
        meta = run.evidence.prepared
        sender = _Sender(timeline, list(meta.features), list(meta.categorical), settings.feedback_delay)
        say(f"loop: champion v1 ({len(pd.read_csv(config.data_source))} training rows) served by the {serving.name}")
        detected = _serve_until_detection(config, settings, held, sender, first)
        timeline.events["detected_after"] = detected
        if detected is None:
            raise MlgateError(f"no detection: {timeline.events}; verdicts {timeline.verdicts[-3:]}")
        say(f"loop: monitor failed on drift {detected} records after the shift ({timeline.verdicts[-1]['failing']})")
        started = time.monotonic()
        swap = serving.retrain(config_path, first, say)
        servers += [swap.new, swap.shadow]
        timeline.failed_requests += swap.failed_requests
        entry = swap.outcome.entry
        timeline.events.update(retrain_outcome=swap.outcome.outcome, retrain_id=swap.outcome.id,
                               rollout_at=len(timeline.records), trigger_to_serving_s=time.monotonic() - started,
                               training_rows=entry["inputs"]["feedback"]["combined"]["rows"], serving=serving.name,
                               requests_during_rollout=swap.requests_during_rollout,
                               failed_during_rollout=swap.failed_requests)  # fmt: skip
        _after_rollout(config, settings, held, sender, swap.new, swap.shadow)
        _monitor(config, settings, timeline, version=swap.new.version)
    finally:
        for server in servers:
            server.stop()
        serving.close()
    timeline.events["seconds"] = round(time.monotonic() - clock, 1)
    return {"events": timeline.events, "verdicts": timeline.verdicts, "failed_requests": timeline.failed_requests,
            "quality": quality(timeline, config, settings.seed), "timeline": timeline}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlgate.ci.loop_demo", description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True)
    for name, default in Settings.__dataclass_fields__.items():
        if name != "workdir":
            parser.add_argument(f"--{name.replace('_', '-')}", type=type(default.default), default=default.default)
    args = parser.parse_args(argv)
    settings = Settings(**{k.replace("-", "_"): v for k, v in vars(args).items()})
    settings.workdir = settings.workdir.resolve()
    try:
        result = run_loop(settings)
    except MlgateError as exc:
        print(f"loop: FAILED: {exc}", file=sys.stderr)
        return 1
    result["settings"] = {k: v for k, v in vars(settings).items() if k != "workdir"}
    plot(result, settings.workdir / "timeline.png", load_config(settings.workdir / "project" / "mlgate.toml"))
    saved = {k: v for k, v in result.items() if k != "timeline"}
    saved["records"] = result["timeline"].records
    (settings.workdir / "timeline.json").write_text(json.dumps(saved, indent=1, default=str) + "\n", encoding="utf-8")
    print(table(result))
    print(f"loop: timeline in {settings.workdir / 'timeline.json'} and {settings.workdir / 'timeline.png'}")
    return 0 if result["failed_requests"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
