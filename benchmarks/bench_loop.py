"""The continuous-training loop's timeline over seeds: records until the monitor detects the shift, false alarms
before it, time from the trigger to the retrained model serving, and the retrained model against the old one on
the same shifted records (paired bootstrap), all through the real app (ci/loop_demo.py).

.venv/bin/python benchmarks/bench_loop.py [--quick] [--seeds N] [--shift-column C --shift-factor F]

Each seed draws another held-out set, other traffic and another shifted sample; one run takes about 30-45 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from mlgate.ci.loop_demo import Settings, run_loop
from mlgate.pipeline.errors import MlgateError


def _row(seed: int, result: dict[str, Any]) -> dict[str, Any]:
    events, q = result["events"], result["quality"]
    clean = [v for v in result["verdicts"] if v["phase"] == "clean"]
    paired = q["new - shadow (paired)"]
    return {
        "seed": seed,
        "detected_after": events["detected_after"],
        "false_alarms": sum(not v["passed"] for v in clean),
        "clean_verdicts": len(clean),
        "trigger_to_serving_s": events["trigger_to_serving_s"],
        "training_rows": events["training_rows"],
        "auc_diff": paired["roc_auc"],
        "cost_diff": paired["cost"],
        "failed": result["failed_requests"],
        "seconds": events["seconds"],
    }


def _ci(value: tuple[float, float, float]) -> str:
    return f"{value[0]:+.3f} ({value[1]:+.3f} to {value[2]:+.3f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 seeds")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--shift-column", default=Settings.shift_column)
    parser.add_argument("--shift-factor", type=float, default=Settings.shift_factor)
    parser.add_argument("--serving", default="in-process", help="in-process (default), image or auto")
    args = parser.parse_args(argv)
    seeds = 2 if args.quick else args.seeds
    rows, failures = [], []
    for seed in range(seeds):
        with tempfile.TemporaryDirectory(prefix="mlgate-bench-loop-") as folder:
            settings = Settings(workdir=Path(folder), seed=seed, shift_column=args.shift_column,
                                shift_factor=args.shift_factor, serving=args.serving)  # fmt: skip
            try:
                rows.append(_row(seed, run_loop(settings, say=lambda _: None)))
            except MlgateError as exc:
                failures.append(f"seed {seed}: {exc}")
        print(f"seed {seed} done", file=sys.stderr, flush=True)
    print(f"\n{args.shift_column} x {args.shift_factor:g} and female share 31% -> 45% after 300 clean records; "
          "a verdict every 100 records on the last 300\n")  # fmt: skip
    print("| seed | records to detection | false alarms (clean) | trigger -> serving s | training rows | "
          "ROC AUC new - old, same records | cost new - old | failed requests |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        diffs = f"{_ci(r['auc_diff'])} | {_ci(r['cost_diff'])}"
        print(f"| {r['seed']} | {r['detected_after']} | {r['false_alarms']} of {r['clean_verdicts']} | "
              f"{r['trigger_to_serving_s']:.1f} | {r['training_rows']} | {diffs} | {r['failed']} |")  # fmt: skip
    if rows:
        detect = [r["detected_after"] for r in rows]
        better = sum(r["auc_diff"][1] > 0 for r in rows)
        worse = sum(r["auc_diff"][2] < 0 for r in rows)
        print(f"\ndetected in {len(rows)} of {seeds} seeds; records to detection median {statistics.median(detect):g}, "
              f"max {max(detect)}; trigger -> serving median "
              f"{statistics.median(r['trigger_to_serving_s'] for r in rows):.1f} s; retrained model credibly better "
              f"(ROC AUC interval above 0) in {better}, credibly worse in {worse} of {len(rows)}")  # fmt: skip
    for failure in failures:
        print(f"loop did not close: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
