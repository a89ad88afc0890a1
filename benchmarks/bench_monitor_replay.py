"""Detection and false alarms of ``mlgate monitor`` through the REAL serving app (issue 10, "Benchmarks").

``python benchmarks/bench_monitor_replay.py [--quick] [--windows N] [--window-size N] [--seeds N]``

1. Build once, in a temporary folder (nothing is written into the repository): a gated run of the bundled project
   (``mlgate run``), its release bundle (``ci.release_flow.build_release_bundle``), served by a real uvicorn server
   (``python -m mlgate.pipeline.serve``, as ``ci/monitor_walkthrough.py`` does, trusting the signing key's public
   half) with its prediction log in per-replica SQLite files in the temporary folder.
2. Traffic: the gated run's HELD-OUT rows (test + validation split: rows the model and its monitoring reference
   never saw, so clean traffic is the same population as the reference but not the reference itself), drawn with
   replacement (seeded) and sent to ``/predict`` in batches of 100; true labels to ``/feedback`` where a scenario
   needs them.
3. No shift: ``--windows`` windows of ``--window-size`` records (default 200: hourly runs, the default
   ``monitor.runs_per_day = 24``, at 200 requests an hour), each with feedback; every window is judged by
   ``ci.monitor.run_monitor`` (the library entry point; a reader hands it the window's rows by request id, read
   once from the log the app wrote). A window with any blocking failure is a false alarm.
4. Shifts (credit_amount x 1.25; share of ``sex = female`` 31% -> 20% by resampling; 30% of good applicants
   reported bad through feedback): per seed, shifted traffic is sent and the cumulative window since the shift
   began is judged after every 100 records; the records until the first alarm are reported (median, range) with
   the checks that fired.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
STEP = 100


def _wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def build(folder: Path) -> tuple[Any, Path, pd.DataFrame, pd.Series]:
    """Gated run + release bundle in ``folder``; the config, bundle, held-out records and their 0/1 labels."""
    from mlgate.checks.result import GateReport
    from mlgate.ci.release_flow import build_release_bundle
    from mlgate.pipeline.config import load_config
    from mlgate.pipeline.dataload import load_data

    for name in ("mlgate.toml", "data", "schemas"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, folder / name)
    env = {k: v for k, v in os.environ.items() if k != "MLGATE_TRACKING_URI"}
    run = subprocess.run(
        [sys.executable, "-m", "mlgate.ci.cli", "run", "--out", "reports"],
        cwd=folder, capture_output=True, text=True, env=env,
    )  # fmt: skip
    if run.returncode != 0:
        raise SystemExit(f"the gated run failed ({run.returncode}):\n{(run.stdout + run.stderr)[-2000:]}")
    config = load_config(folder / "mlgate.toml")
    raw = (folder / "reports" / "report.json").read_text(encoding="utf-8")
    report = GateReport.from_dict(json.loads(raw))
    bundle = build_release_bundle(config, report, hashlib.sha256(raw.encode()).hexdigest(), folder / "bundle")
    meta = json.loads((bundle / "model.meta.json").read_text(encoding="utf-8"))
    split = load_data(config).split
    parts = [split.test] + ([split.validation] if split.validation is not None else [])
    ys = [split.y_test] + ([split.y_validation] if split.y_validation is not None else [])
    rows = pd.concat(parts, ignore_index=True)[list(meta["features"])]
    for column in meta["categorical"]:
        rows[column] = rows[column].astype("string")
    labels = (pd.concat(ys, ignore_index=True) == config.data.positive_label).astype(int)
    return config, bundle, rows, labels


def send(url: str, records: pd.DataFrame, labels: pd.Series | None) -> list[str]:
    """``records`` to /predict in batches of 100 (their ``labels`` to /feedback); the request ids, in order."""
    from mlgate.ci.monitor_walkthrough import post_json

    ids: list[str] = []
    for start in range(0, len(records), 100):
        part = records.iloc[start : start + 100]
        status, answer = post_json(url + "/predict", {"records": json.loads(part.to_json(orient="records"))})
        if status != 200:
            raise SystemExit(f"/predict answered {status}: {str(answer)[:300]}")
        got = [p["request_id"] for p in answer["predictions"]]
        ids += got
        if labels is not None:
            truth = labels.iloc[start : start + 100]
            items = [{"request_id": i, "label": int(v)} for i, v in zip(got, truth, strict=True)]
            status, answer = post_json(url + "/feedback", {"feedback": items})
            if status not in (200, 201):
                raise SystemExit(f"/feedback answered {status}: {str(answer)[:300]}")
    return ids


def scenario(name: str, rows: pd.DataFrame, labels: pd.Series, n: int, seed: int) -> tuple[pd.DataFrame, Any]:
    """``n`` held-out records for scenario ``name`` (seeded) and the labels to feed back (None: no feedback)."""
    rng = np.random.default_rng(seed)
    if name == "female 31%->20%":
        female = np.flatnonzero((rows["sex"] == "female").to_numpy())
        male = np.flatnonzero((rows["sex"] != "female").to_numpy())
        pick = np.where(rng.random(n) < 0.20, rng.choice(female, n), rng.choice(male, n))
    else:
        pick = rng.integers(0, len(rows), n)
    drawn = rows.iloc[pick].reset_index(drop=True)
    y = labels.iloc[pick].reset_index(drop=True)
    if name == "credit_amount x1.25":
        drawn["credit_amount"] = (drawn["credit_amount"] * 1.25).round().astype(rows["credit_amount"].dtype)
        return drawn, None
    if name == "labels: 30% good->bad":
        good = np.flatnonzero(y.to_numpy() == 1)
        flipped = y.to_numpy().copy()
        flipped[rng.choice(good, size=int(0.3 * len(good)), replace=False)] = 0
        return drawn, pd.Series(flipped)
    return drawn, None if name != "clean" else y


class Judge:
    """``run_monitor`` on a list of request ids, over the log the app wrote (read once)."""

    def __init__(self, config: Any, bundle: Path, log: Path) -> None:
        from mlgate.pipeline.predlog import read_window

        self.config, self.bundle = config, bundle
        self.full = read_window(str(log))
        self.frame = self.full.predictions.set_index("request_id", drop=False)

    def __call__(self, ids: list[str]) -> list[str]:
        """The blocking failures of the window made of ``ids``."""
        from mlgate.ci.monitor import run_monitor

        part = self.frame.loc[ids].reset_index(drop=True)
        window = dataclasses.replace(
            self.full, predictions=part, labelled=int(part["label"].notna().sum()),
            since=part["received_at"].min(), until=part["received_at"].max(),
        )  # fmt: skip
        done = run_monitor(self.config, last=len(ids), bundle=self.bundle, reader=lambda *a, **k: window)
        return sorted(r.id for r in done.report.results if r.blocks)


def _first_alarm(judge: Judge, ids: list[str]) -> tuple[int | None, list[str]]:
    for end in range(STEP, len(ids) + 1, STEP):
        fired = judge(ids[:end])
        if fired:
            return end, fired
    return None, []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="20 windows, 3 seeds, shifts up to 1000 records")
    parser.add_argument("--windows", type=int, default=200)
    parser.add_argument("--window-size", type=int, default=200)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--max-shift", type=int, default=1500, help="records of shifted traffic per seed")
    args = parser.parse_args(argv)
    if args.quick:
        args.windows, args.seeds, args.max_shift = 20, 3, 1000
    from mlgate.ci.monitor_walkthrough import serve_bundle
    from mlgate.pipeline.config_monitor import LOG_DIR_ENV, LOG_URL_ENV
    from mlgate.pipeline.signing import ENV_TRUSTED_KEYS, load_signing_key, public_key_text

    shifts = ["credit_amount x1.25", "female 31%->20%", "labels: 30% good->bad"]
    with tempfile.TemporaryDirectory(prefix="mlgate-replay-") as scratch:
        folder = Path(scratch)
        clock = time.monotonic()
        config, bundle, rows, labels = build(folder)
        print(f"built: gated run + bundle in {time.monotonic() - clock:.0f} s; {len(rows)} held-out rows")
        env = {k: v for k, v in os.environ.items() if k not in (LOG_URL_ENV, LOG_DIR_ENV)}
        env[LOG_DIR_ENV] = str(folder / "predictions")
        env.setdefault(ENV_TRUSTED_KEYS, public_key_text(load_signing_key(create=False).public_key()))
        clock = time.monotonic()
        clean_ids: list[list[str]] = []
        shift_ids: dict[tuple[str, int], list[str]] = {}
        with serve_bundle(bundle, env, folder / "server.log") as url:
            for w in range(args.windows):
                clean_ids.append(send(url, *scenario("clean", rows, labels, args.window_size, 1000 + w)))
            for name in shifts:
                for seed in range(args.seeds):
                    shift_ids[name, seed] = send(url, *scenario(name, rows, labels, args.max_shift, seed))
        served = sum(map(len, clean_ids)) + sum(map(len, shift_ids.values()))
        print(f"served: {served} records through /predict in {time.monotonic() - clock:.0f} s")
        clock = time.monotonic()
        judge = Judge(config, bundle, folder / "predictions")
        fired: Counter[str] = Counter()
        alarms = 0
        for ids in clean_ids:
            failing = judge(ids)
            alarms += bool(failing)
            fired.update(failing)
        low, high = _wilson(alarms, len(clean_ids))
        alpha, took = config.monitor.alpha_window, time.monotonic() - clock
        print(f"\nNo shift: {len(clean_ids)} windows of {args.window_size} records with feedback")
        print(f"(alpha per window {alpha:.4f}; judged in {took:.0f} s)")
        print("| windows | false alarms | rate | 95% Wilson |\n|---|---|---|---|")
        print(f"| {len(clean_ids)} | {alarms} | {alarms / len(clean_ids):.3f} | [{low:.3f}, {high:.3f}] |")
        for check, count in fired.most_common():
            print(f"  fired: {check} x{count}")
        clock = time.monotonic()
        print(f"\nShifts: records until the first alarm (cumulative window, judged every {STEP} records)")
        print("| shift | seeds | detected | median | range | checks that fired |\n|---|---|---|---|---|---|")
        for name in shifts:
            found: list[int] = []
            checks: Counter[str] = Counter()
            for seed in range(args.seeds):
                at, why = _first_alarm(judge, shift_ids[name, seed])
                if at is not None:
                    found.append(at)
                checks.update(why)
            median = f"{int(np.median(found))}" if found else f">{args.max_shift}"
            span = f"{min(found)}-{max(found)}" if found else "-"
            names = ", ".join(f"{c} ({k})" for c, k in checks.most_common(3)) or "none"
            print(f"| {name} | {args.seeds} | {len(found)}/{args.seeds} | {median} | {span} | {names} |")
        print(f"(judged in {time.monotonic() - clock:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
