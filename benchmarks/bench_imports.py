"""Time the light commands as WHOLE processes against the issue's import-time targets, and show where it goes.

    .venv/bin/python benchmarks/bench_imports.py [--repeats N] [--quick]

Each command is started as a subprocess of the venv's console script (interpreter start, imports, the work
and the exit included) in a private copy of the bundled project (``mlgate.toml``, ``data``, ``schemas``; the
data gates need no MLflow store and none is created): one warm-up run, then ``--repeats`` timed runs (5; one
with ``--quick``). The table shows the median and the fastest run, the target, the ratio median / target
(≤ 1 meets it), whether it is met, and the median CPU time (user + system) of the process, which a busy machine
disturbs less than the wall time.

Where the time goes: each command is run once more under ``python -X importtime``. The ``imports`` column is
the time spent importing (the sum of the outermost imports; importtime's own bookkeeping inflates it);
``heaviest packages`` names the top-level packages with the most cumulative import time (a package is counted
at its outermost import, so one imported by another heavy one, e.g. scipy by sklearn, shows within both).
mlgate's own modules are left out: they are what imports the rest. Run it on a quiet machine: two cores shared
with a test suite double every number. The environment is passed through unchanged (see bench_gated_run.py on
byte-code).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
GATE_LAYERS = ("--layer", "schema", "--layer", "balance", "--layer", "drift")


@dataclass(frozen=True)
class Command:
    label: str
    script: str  # console script in the venv's bin folder
    args: tuple[str, ...]
    target_s: float
    writes_report: bool = False  # an ``mlgate gate``: gets a fresh ``--out`` folder per run; exit 1 allowed


COMMANDS: tuple[Command, ...] = (
    Command("mlgate --help", "mlgate", ("--help",), 0.3),
    Command("mlgate-check-config", "mlgate-check-config", (), 0.5),
    Command("mlgate-check-data data/german_credit.csv", "mlgate-check-data", ("data/german_credit.csv",), 1.0),
    Command("mlgate gate --layer schema", "mlgate", ("gate", "--layer", "schema"), 2.0, True),
    Command("mlgate gate --layer schema,balance,drift", "mlgate", ("gate", *GATE_LAYERS), 3.0, True),
)

_IMPORTTIME = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)\s*$")


def _copy_project(folder: Path) -> Path:
    for name in ("mlgate.toml", "data", "schemas"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, folder / name)
    return folder


def _argv(command: Command, project: Path, run: int, *, python: tuple[str, ...] = ()) -> list[str]:
    script = str(BIN / command.script)
    argv = [*python, script, *command.args] if python else [script, *command.args]
    return [*argv, "--out", str(project / f"out-{run}")] if command.writes_report else argv


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(command: Command, project: Path, run: int, *, python: tuple[str, ...] = ()) -> tuple[float, float, str]:
    """Wall and CPU time of one process, and its stderr; a process that did not complete its work stops the bench.

    CPU time (user + system) is less disturbed by other work on the machine than the wall time the targets name.
    """
    argv = _argv(command, project, run, python=python)
    cpu = _children_cpu()
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, cwd=project, check=False)
    elapsed = time.perf_counter() - start
    cpu = _children_cpu() - cpu
    allowed = (0, 1) if command.writes_report else (0,)  # 1 from a gate: a gate failed, the run is complete
    if done.returncode not in allowed:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}:\n{done.stderr[-2000:]}")
    if command.writes_report:
        shutil.rmtree(project / f"out-{run}", ignore_errors=True)
    return elapsed, cpu, done.stderr


def import_profile(stderr: str) -> tuple[float, Counter[str]]:
    """From ``-X importtime`` output: (total import seconds, cumulative seconds per top-level package).

    The total is the sum of the outermost imports. A package's time is the cumulative time of its modules whose
    enclosing import belongs to another package (its outermost imports), so nothing is counted twice within it.
    """
    total = 0.0
    per_package: Counter[str] = Counter()
    stack: list[tuple[int, str]] = []  # (indent, top-level package) of the imports enclosing the current line
    rows = [m.groups() for m in map(_IMPORTTIME.match, stderr.splitlines()) if m]
    # importtime prints a module after its children: walk backwards so that parents come before children.
    for _self_us, cumulative_us, indent, name in reversed(rows):
        depth, package = len(indent), name.split(".")[0]
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if depth == 1:
            total += int(cumulative_us) / 1e6
        if package not in {p for _, p in stack}:
            per_package[package] += int(cumulative_us) / 1e6
        stack.append((depth, package))
    return total, per_package


def _heaviest(per_package: Counter[str], count: int) -> str:
    shown = [(name, seconds) for name, seconds in per_package.most_common() if name != "mlgate"][:count]
    return ", ".join(f"{name} {seconds:.2f}" for name, seconds in shown)


def _bytecode_note() -> str:
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        cached = any((Path(sys.prefix) / "lib").glob("python3*/site-packages/pandas/__pycache__/*.pyc"))
        return "PYTHONDONTWRITEBYTECODE is set; site-packages byte-code " + ("present" if cached else "ABSENT")
    return "byte-code written and reused"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="one timed run per command")
    parser.add_argument("--top", type=int, default=4, help="heaviest packages shown per command")
    args = parser.parse_args(argv)
    repeats = 1 if args.quick else max(1, args.repeats)
    table = Table(title=f"whole process on the bundled project (median and min of {repeats} after a warm-up; s)")
    columns = ("command", "median", "min", "target", "median/target", "met", "cpu", "imports", "heaviest packages")
    for column in columns:
        table.add_column(column, justify="left" if column in ("command", "met", "heaviest packages") else "right")
    missed = 0
    with tempfile.TemporaryDirectory(prefix="mlgate-bench-imports-") as scratch:
        project = _copy_project(Path(scratch))
        for command in COMMANDS:
            _run(command, project, 0)  # warm-up: file system cache, byte-code
            timed = [_run(command, project, run) for run in range(1, repeats + 1)]
            walls = [wall for wall, _, _ in timed]
            *_, stderr = _run(command, project, repeats + 1, python=(sys.executable, "-X", "importtime"))
            imports, per_package = import_profile(stderr)
            median = statistics.median(walls)
            met = median <= command.target_s
            missed += not met
            table.add_row(
                command.label,
                f"{median:.2f}",
                f"{min(walls):.2f}",
                f"≤ {command.target_s:g}",
                f"{median / command.target_s:.2f}",
                "yes" if met else "NO",
                f"{statistics.median(cpu for _, cpu, _ in timed):.2f}",
                f"{imports:.2f}",
                _heaviest(per_package, args.top),
            )
        created = sorted(p.name for p in project.iterdir() if p.name not in {"mlgate.toml", "data", "schemas"})
    console = Console(width=170)
    console.print(table)
    console.print(f"{os.cpu_count()} cpus; {_bytecode_note()}; {missed} of {len(COMMANDS)} targets missed")
    if created:
        console.print(f"note: the commands left {created} in the project folder")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
