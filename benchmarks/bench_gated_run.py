"""Time the whole gated run on the bundled data, split per stage and layer.

    .venv/bin/python benchmarks/bench_gated_run.py [--repeats N]

Runs ``ci.gated_run.run_pipeline`` (the code behind ``mlgate run``) on a private copy of the bundled project with
a fresh sqlite MLflow store: run 1 has no champion yet, run 2 is compared against run 1's champion. Prints one
row per stage (median over the repeats) and how much of the total the reproducibility retrain takes.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]


def one_round(folder: Path) -> list[dict[str, float]]:
    from ci.gated_run import run_pipeline
    from pipeline.config import load_config

    for name in ("mlgate.toml", "data", "schemas"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, folder / name)
    config = load_config(folder / "mlgate.toml")
    rounds = []
    for _ in range(2):  # without, then with a champion
        start = time.perf_counter()
        result = run_pipeline(config)
        timings = dict(result.timings)
        timings["total"] = time.perf_counter() - start
        rounds.append(timings)
    return rounds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one repeat")
    args = parser.parse_args(argv)
    repeats = 1 if args.quick else args.repeats
    first: list[dict[str, float]] = []
    second: list[dict[str, float]] = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="mlgate-bench-") as scratch:
            a, b = one_round(Path(scratch))
            first.append(a)
            second.append(b)
    table = Table(title=f"gated run on the bundled data (median of {repeats}; seconds)")
    table.add_column("stage")
    table.add_column("no champion", justify="right")
    table.add_column("with champion", justify="right")
    table.add_column("share of total", justify="right")
    stages = list(dict.fromkeys([*first[0], *second[0]]))
    med = {
        k: (statistics.median(r.get(k, 0.0) for r in first), statistics.median(r.get(k, 0.0) for r in second))
        for k in stages
    }
    total = med["total"][1]
    for stage in stages:
        a, b = med[stage]
        table.add_row(stage, f"{a:.2f}", f"{b:.2f}", f"{b / total:.0%}" if stage != "total" else "")
    Console().print(table)
    retrain = med.get("reproducibility gate", (0.0, 0.0))[1]
    rest = total - retrain
    print(f"reproducibility retrain: {retrain:.2f} s = {retrain / rest:.2f}x the rest of the run ({rest:.2f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
