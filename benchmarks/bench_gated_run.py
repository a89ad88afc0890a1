"""Time the WHOLE gated-run process on the bundled data, against the issue's targets.

    .venv/bin/python benchmarks/bench_gated_run.py [--repeats N] [--quick]

Each measurement is the wall time of one ``mlgate`` process started as a subprocess (imports, the run, the
report rendering and the exit included), on a private copy of the bundled project (``mlgate.toml``, ``data``,
``schemas``) with its own sqlite MLflow store:

- ``mlgate run``, fresh store (no champion yet);
- ``mlgate run`` again on the same store with a one-comment config change (a new candidate, logged and compared
  against the first run's champion: an identical re-run would register nothing);
- ``mlgate gate --layer schema --layer balance --layer drift`` (the data gates, nothing registered).

Prints one row per command: the median over the repeats, the target, and the ratio to the target (≤ 1 meets
it), plus each run's in-process stage timings (``run.timings_s`` of report.json) so a slow row can be placed.
Run it on a quiet machine: two cores shared with a test suite double every number. The environment is passed
through unchanged (e.g. ``PYTHONDONTWRITEBYTECODE=1`` with a venv installed without byte-code makes every
process compile what it imports; the table says whether byte-code was being written or cached).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
MLGATE = Path(sys.executable).with_name("mlgate")

#: (label, mlgate arguments after the config and out folder, target in seconds or None)
COMMANDS: tuple[tuple[str, tuple[str, ...], float | None], ...] = (
    ("mlgate run (fresh store)", ("run",), None),
    ("mlgate run (with a champion)", ("run",), 10.0),
    ("mlgate gate --layer schema,balance,drift", ("gate", "-l", "schema", "-l", "balance", "-l", "drift"), 3.0),
)


def _copy_project(folder: Path) -> Path:
    for name in ("mlgate.toml", "data", "schemas"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, folder / name)
    return folder / "mlgate.toml"


def _one(config: Path, args: tuple[str, ...], out: Path) -> tuple[float, dict[str, float]]:
    command = [str(MLGATE), args[0], "--config", str(config), "--out", str(out), *args[1:]]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=config.parent, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):  # 1: a gate failed, still a complete run
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr[-2000:]}")
    report = out / "report.json"
    timings = json.loads(report.read_text(encoding="utf-8"))["run"].get("timings_s", {}) if report.is_file() else {}
    return elapsed, timings


def one_round(folder: Path) -> list[tuple[float, dict[str, float]]]:
    """The three commands in order on a fresh copy of the project (the second run finds the first's champion)."""
    config = _copy_project(folder)
    timed = []
    for i, (_, args, _) in enumerate(COMMANDS):
        if i == 1:  # a new candidate (config sha256 differs): an identical re-run would register nothing
            config.write_text(config.read_text(encoding="utf-8") + "# second candidate\n", encoding="utf-8")
        timed.append(_one(config, args, folder / f"out-{i}"))
    return timed


def _bytecode_note() -> str:
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        cached = any((Path(sys.prefix) / "lib").glob("python3*/site-packages/sklearn/__pycache__/*.pyc"))
        return "PYTHONDONTWRITEBYTECODE is set; site-packages byte-code " + ("present" if cached else "ABSENT")
    prefix = os.environ.get("PYTHONPYCACHEPREFIX")
    return "byte-code written and reused" + (f" (PYTHONPYCACHEPREFIX={prefix})" if prefix else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one repeat")
    args = parser.parse_args(argv)
    repeats = 1 if args.quick else args.repeats
    rounds = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="mlgate-bench-") as scratch:
            rounds.append(one_round(Path(scratch)))
    table = Table(title=f"whole mlgate process on the bundled data (median of {repeats}; seconds)")
    for column in ("command", "wall time", "target", "ratio to target", "in-run stages (last repeat)"):
        table.add_column(column, justify="left" if column in ("command", "in-run stages (last repeat)") else "right")
    for i, (label, _, target) in enumerate(COMMANDS):
        wall = statistics.median(r[i][0] for r in rounds)
        stages = sorted(rounds[-1][i][1].items(), key=lambda kv: -kv[1])[:4]
        table.add_row(
            label,
            f"{wall:.2f}",
            f"≤ {target:g}" if target else "-",
            f"{wall / target:.2f}" if target else "-",
            ", ".join(f"{k} {v:.2f}" for k, v in stages),
        )
    console = Console(width=160)
    console.print(table)
    console.print(f"{os.cpu_count()} cpus; {_bytecode_note()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
