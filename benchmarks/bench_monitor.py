"""``mlgate monitor``: false alarms and detection across windows, and judging speed on 1M logged predictions.

    .venv/bin/python benchmarks/bench_monitor.py [--quick] [--windows 200]
    .venv/bin/python benchmarks/bench_monitor.py --speed [--rows 1000000] [--repeats 3] [--log DIR] [--baseline REF]

**Alarms.** The population is the bundled German credit data as prepared (1,000 rows) and the model the gated run
trains on it. Every window draws its rows with replacement from that population, and so does a fresh reference
each time (700 training rows, 300 test rows scored by the model): under "clean" nothing changed by construction,
so any blocking statistical FAIL (input or prediction drift, balance, live quality) is a false alarm. The monitor
runs with its defaults: ``alarm_budget_per_day = 0.05`` over ``runs_per_day = 24`` windows (0.0021 per window),
and, for contrast, at alpha = 0.05 per family and window with no budget (what "run the drift gate every hour"
would do). Shifts change the window only: ``credit_amount`` x1.25; the share of ``sex = female`` cut from about
31% to 20% (rows resampled); 20% of the good applicants reported bad through feedback (every prediction labelled).
"windows alarmed" is the share of windows with an alarm on the shifted check (Wilson 95% interval);
"requests to first alarm" is window size / that share (windows are independent, so the first alarm comes after
1 / share windows on average). A day's false-alarm rate is 1 - (1 - per-window rate)^24.

**Speed.** A window of 1,000,000 predictions (held-out rows resampled, all labelled) judged by ``checks.monitor.run``
(every check, bootstraps on at most ``monitor.bootstrap_max_rows`` rows); reading a window of the log is
``pipeline.predlog.read_window``'s (``--speed`` measures both on a real log).

**Read + judge** (``--speed``): what ``mlgate monitor`` spends on a real log. ``--rows`` clean predictions (held-out
rows resampled, every one labelled through feedback) are written into one replica's SQLite file with the log's
own tables (in ``--log DIR`` when given and empty, to be reused; else a scratch folder); then, ``--repeats``
times, ``read_window`` of the folder and ``checks.monitor.run`` on the window it returned. The table gives the
median of each phase and of their sum, against the issue's target (1M records read and judged in <= 5 s).
``--baseline REF`` first runs the same measurement on the same log with the code of git revision ``REF`` (a
temporary worktree, its own copy of this script, one after the other, never at once) and prints both rows and
their ratios.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from fixtures.monitor_traffic import Traffic, as_window, with_monitor  # noqa: E402

from mlgate.checks.monitor import MonitorEvidence, run  # noqa: E402
from mlgate.checks.schema import load_schema  # noqa: E402
from mlgate.checks.stats import wilson_interval  # noqa: E402
from mlgate.ci.monitor_profile import build_profile, category_table  # noqa: E402
from mlgate.pipeline.candidate import train_candidate  # noqa: E402
from mlgate.pipeline.config import load_config  # noqa: E402
from mlgate.pipeline.dataload import load_data  # noqa: E402
from mlgate.pipeline.evaluate import positive_proba  # noqa: E402

STATISTICAL = ("monitor.input_drift[", "monitor.prediction_drift", "monitor.balance", "monitor.live_quality[")
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
TARGET_S = 5.0  # issue 10: read and judge 1M logged predictions in <= 5 s on 2 cores


@dataclasses.dataclass
class Setup:
    config: Any
    reference: Any
    schema: Any
    model: Any
    rows: pd.DataFrame
    labels: np.ndarray


def setup() -> Setup:
    config = load_config(ROOT / "mlgate.toml")
    data = load_data(config)
    candidate = train_candidate(config, data, random_state=config.model.random_state)
    reference = build_profile(config, data, candidate).with_description("model v1's reference")
    features = list(data.prepared.features)
    rows = data.prepared.frame[features].reset_index(drop=True)
    labels = data.prepared.y.to_numpy()
    return Setup(config, reference, load_schema(config.schema_path), candidate.pipeline, rows, np.asarray(labels))


def fresh_reference(s: Setup, rng: np.random.Generator) -> Any:
    train, test = rng.integers(0, len(s.rows), 700), rng.integers(0, len(s.rows), 300)
    training = s.rows.iloc[train].reset_index(drop=True).assign(**{s.reference.target: s.labels[train]})
    return dataclasses.replace(
        s.reference,
        rows=training,
        rows_total=700,
        category_counts={c: category_table(training[c]) for c in s.reference.categorical},
        test_proba=positive_proba(s.model, s.rows.iloc[test]),
        test_labels=s.labels[test],
    )


def judge(s: Setup, config: Any, reference: Any, traffic: Traffic) -> list[str]:
    evidence = MonitorEvidence(config, reference, as_window(traffic), "bench", NOW, "1", None, s.schema)
    return [r.id for r in run(evidence) if r.blocks and r.id.startswith(STATISTICAL)]


def clean(s: Setup, rng: np.random.Generator, n: int) -> Traffic:
    picks = rng.integers(0, len(s.rows), n)
    rows = s.rows.iloc[picks].reset_index(drop=True)
    return Traffic(rows, positive_proba(s.model, rows), list(s.labels[picks]))


def scaled(s: Setup, rng: np.random.Generator, n: int) -> Traffic:
    base = clean(s, rng, n)
    rows = base.inputs.assign(credit_amount=(base.inputs["credit_amount"] * 1.25).round().astype("int64"))
    return Traffic(rows, positive_proba(s.model, rows), base.labels)


def fewer_women(s: Setup, rng: np.random.Generator, n: int) -> Traffic:
    female = np.flatnonzero(s.rows["sex"].to_numpy() == "female")
    male = np.flatnonzero(s.rows["sex"].to_numpy() != "female")
    k = round(0.20 * n)
    picks = np.concatenate([rng.choice(female, k), rng.choice(male, n - k)])
    rows = s.rows.iloc[picks].reset_index(drop=True)
    return Traffic(rows, positive_proba(s.model, rows), list(s.labels[picks]))


def relabelled(s: Setup, rng: np.random.Generator, n: int) -> Traffic:
    base = clean(s, rng, n)
    labels = np.asarray(base.labels).copy()
    good = np.flatnonzero(labels == 1)
    labels[rng.choice(good, size=round(0.2 * len(good)), replace=False)] = 0
    return Traffic(base.inputs, base.proba, list(labels))


SCENARIOS: dict[str, tuple[Callable[..., Traffic], str | None]] = {
    "clean (false alarm)": (clean, None),
    "credit_amount x1.25": (scaled, "monitor.input_drift[credit_amount]"),
    "sex=female 31% -> 20%": (fewer_women, "monitor.balance[sex="),
    "20% of good labels -> bad (feedback)": (relabelled, "monitor.live_quality["),
}


def rates(s: Setup, windows: int, sizes: list[int]) -> None:
    budgeted = s.config  # the defaults: 0.05 a day over 24 runs
    per_window = with_monitor(s.config, alarm_budget_per_day=0.3, runs_per_day=1)  # 0.05 per family, no budget
    print("| scenario | window | monitor | windows alarmed (95% CI) | requests to first alarm | day false-alarm |")
    print("|---|---|---|---|---|---|")
    for name, (make, target) in SCENARIOS.items():
        for n in sizes:
            for label, config in (("budget 0.05/day, 24 runs", budgeted), ("alpha 0.05 per window", per_window)):
                if target is not None and config is per_window:
                    continue
                rng = np.random.default_rng(7)
                count = windows if target is None else max(20, windows // 4)
                hits = 0
                for _ in range(count):
                    failed = judge(s, config, fresh_reference(s, rng), make(s, rng, n))
                    hits += bool([f for f in failed if target is None or f.startswith(target)])
                low, high = (float(v) for v in wilson_interval(hits, count))
                share = hits / count
                first = f"{n / share:,.0f}" if share else f"> {n * count:,}"
                day = f"{1 - (1 - share) ** 24:.1%}" if target is None else ""
                shown = f"{share:.1%} [{low:.1%}, {high:.1%}] ({hits}/{count})"
                print(f"| {name} | {n} | {label} | {shown} | {first} | {day} |")


def speed(s: Setup, rows: int) -> None:
    rng = np.random.default_rng(3)
    traffic = clean(s, rng, rows)
    window = as_window(traffic)
    best = float("inf")
    for _ in range(2):
        start = time.perf_counter()
        results = run(MonitorEvidence(s.config, s.reference, window, "bench", NOW, "1", None, s.schema))
        best = min(best, time.perf_counter() - start)
    failed = sum(r.blocks for r in results)
    print("\n| predictions judged | checks | blocking failures | judge s (best of 2) |\n|---|---|---|---|")
    print(f"| {rows:,} | {len(results)} | {failed} | {best:.2f} |")


def write_sqlite_log(s: Setup, folder: Path, rows: int) -> None:
    """``rows`` clean predictions (all labelled) in one replica's SQLite file, as the writer stores them (its
    tables, compact JSON inputs, one transaction per 100,000 rows; feedback an hour after the predictions)."""
    import json

    import sqlalchemy as sa
    from fixtures.monitor_traffic import START, json_value

    from mlgate.pipeline.predlog.location import log_file, make_engine, sqlite_url
    from mlgate.pipeline.predlog.tables import ensure_schema, feedback, predictions, writer_stats

    traffic = clean(s, np.random.default_rng(3), rows)
    records = traffic.inputs.astype(object).to_dict(orient="records")
    folder.mkdir(parents=True, exist_ok=True)
    engine = make_engine(sqlite_url(log_file(folder, "bench")))
    with engine.begin() as connection:
        ensure_schema(connection, where=str(folder))
        for low in range(0, rows, 100_000):
            chunk = range(low, min(rows, low + 100_000))
            connection.execute(sa.insert(predictions), [_logged(i, records[i], traffic) for i in chunk])
            answered = START + timedelta(hours=30)
            labels = [json.dumps(json_value(traffic.labels[i])) for i in chunk]
            connection.execute(
                sa.insert(feedback),
                [
                    {"request_id": f"bench-{i:07d}", "label": t, "received_at": answered}
                    for i, t in zip(chunk, labels, strict=True)
                ],
            )
        connection.execute(sa.insert(writer_stats).values(replica="bench", dropped=0, written=rows, updated_at=NOW))
    engine.dispose()


def _logged(i: int, record: dict[str, Any], traffic: Traffic) -> dict[str, Any]:
    import json

    from fixtures.monitor_traffic import START, json_value

    inputs = json.dumps({k: json_value(v) for k, v in record.items()}, separators=(",", ":"), ensure_ascii=False)
    proba = float(traffic.proba[i])
    return {
        "request_id": f"bench-{i:07d}",
        "received_at": START + timedelta(milliseconds=10 * i),
        "model_name": "german-credit",
        "model_version": "1",
        "model_sha256": "0" * 64,
        "replica": "bench",
        "inputs": inputs,
        "proba": proba,
        "decision": json.dumps(int(proba >= 0.5)),
        "latency_ms": 5.0,
    }


def baseline_phases(ref: str, log: Path, rows: int, repeats: int) -> tuple[float, float, float]:
    """Read, judge and total seconds of ``--speed`` with the code of git revision ``ref`` on the log in ``log``."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory(prefix="bench-monitor-baseline-") as scratch:
        tree = Path(scratch) / "tree"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(tree), ref], cwd=ROOT, check=True, capture_output=True
        )
        try:
            script = tree / "benchmarks" / "bench_monitor.py"
            command = [sys.executable, str(script), "--speed", "--log", str(log), "--rows", str(rows)]
            done = subprocess.run([*command, "--repeats", str(repeats)], check=True, capture_output=True, text=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)
    row = [line for line in done.stdout.splitlines() if line.startswith("| ") and line[2].isdigit()][-1]
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    return float(cells[3]), float(cells[4]), float(cells[5])


def read_and_judge(
    s: Setup, rows: int, repeats: int, log: Path | None, target_s: float, baseline: str | None = None
) -> None:
    """The monitor's two phases on a real log: ``read_window`` of a SQLite file holding ``rows`` predictions,
    then ``checks.monitor.run`` on the window it returns; median of ``repeats`` runs of each phase."""
    import statistics
    import tempfile

    from mlgate.pipeline.predlog import read_window

    with tempfile.TemporaryDirectory(prefix="bench-monitor-") as scratch:
        folder = log if log is not None else Path(scratch) / "log"
        if not any(folder.glob("predictions-*.sqlite")):
            start = time.perf_counter()
            write_sqlite_log(s, folder, rows)
            print(f"(wrote {rows:,} predictions to {folder} in {time.perf_counter() - start:.0f} s)")
        before = baseline_phases(baseline, folder, rows, repeats) if baseline is not None else None
        reads, judges, totals = [], [], []
        for _ in range(repeats):
            start = time.perf_counter()
            window = read_window(folder)
            read = time.perf_counter() - start
            results = run(MonitorEvidence(s.config, s.reference, window, "bench", NOW, "1", None, s.schema))
            judged = time.perf_counter() - start - read
            reads.append(read)
            judges.append(judged)
            totals.append(read + judged)
    read_s, judge_s, total_s = (statistics.median(v) for v in (reads, judges, totals))
    failed = sum(r.blocks for r in results)
    print(
        f"\n| predictions | checks | blocking failures | read s | judge s | total s (median of {repeats}) "
        "| target | met |\n|---|---|---|---|---|---|---|---|"
    )
    print(
        f"| {len(window.predictions):,} | {len(results)} | {failed} | {read_s:.2f} | {judge_s:.2f} | {total_s:.2f} "
        f"| <= {target_s:g} s | {'yes' if total_s <= target_s else 'no'} |"
    )
    if before is not None:
        now = (read_s, judge_s, total_s)
        print("\n| code | read s | judge s | total s | target | met |\n|---|---|---|---|---|---|")
        for name, (r, j, t) in ((f"baseline {baseline}", before), ("this checkout", now)):
            print(f"| {name} | {r:.2f} | {j:.2f} | {t:.2f} | <= {target_s:g} s | {'yes' if t <= target_s else 'no'} |")
        ratios = " | ".join(f"{b / n:.2f}x" for b, n in zip(before, now, strict=True))
        print(f"| **speed-up (baseline / this)** | {ratios} | | |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 windows, one size, 100k rows for speed")
    parser.add_argument("--windows", type=int, default=200)
    parser.add_argument("--speed", action="store_true", help="only read + judge a SQLite log of --rows predictions")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--log", type=Path, help="a folder holding the log to read (written there when empty)")
    parser.add_argument("--baseline", metavar="REF", help="with --speed: also measure git revision REF, same log")
    args = parser.parse_args(argv)
    s = setup()
    if args.speed:
        read_and_judge(s, args.rows, args.repeats, args.log, TARGET_S, args.baseline)
        return 0
    windows = 20 if args.quick else args.windows
    rates(s, windows, [100] if args.quick else [100, 300, 1000])
    speed(s, 100_000 if args.quick else 1_000_000)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
