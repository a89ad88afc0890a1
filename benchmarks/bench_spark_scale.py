"""The data gates (schema, balance, drift) at scale: the pandas engine vs Spark ``local[*]``, one process each.

    .venv/bin/python benchmarks/bench_spark_scale.py [--rows 1e6 10e6 100e6] [--engines pandas spark]
        [--data-dir DIR] [--timeout-s S] [--pandas-limit-gb GB] [--spark-memory 8g] [--json PATH] [--quick]

**Data** (not timed): for each ``--rows`` size (default 1M; ``--quick``: 100k; 10M and 100M on request) a folder
of Parquet files of German-credit-shaped rows (``_spark_data.py``: the bundled CSV's columns and distributions,
seeded, 1M rows a file), generated once and cached under ``--data-dir``. **Projects**: per size and engine a folder
under ``<data-dir>/runs`` with a copy of ``mlgate.toml`` (``data.source`` the Parquet folder, ``format = "parquet"``,
``split.method = "row_key"`` on both engines so both judge the same rows; for Spark ``data.engine = "spark"``,
``[spark] master = "local[*]"``, ``spark.driver.memory`` = ``--spark-memory``, 16 shuffle partitions) and the schema.

**Runs**: ``mlgate gate --layer schema --layer balance --layer drift`` as a subprocess, sizes in order, pandas
first, one at a time, with a timeout. Per run:

* ``ingest`` .. ``drift s``: the report's ``run.timings_s`` ("ingest + prepare + split" and the three "<layer>
  gate" stages), measured inside the process;
* ``session s`` (Spark): starting the Spark session (the JVM, the driver, a first task), "spark: start session";
* ``rest s``: wall time not in those stages (interpreter start, imports, config, the report files, exit);
* ``wall s``: the process's wall time, start to exit; ``peak GB``: the highest sum of the resident set sizes of
  the process and all its descendants (the Spark JVM is a child of the Python process), sampled from /proc every
  0.2 s (a page two processes share counts twice, so the sum can overstate the tree a little);
* ``status``: ``ok`` when the run finished and wrote its report (exit 0, or 1: a blocking gate failed), else why
  not: timeout, killed by a signal (the kernel's OOM killer sends SIGKILL), MemoryError, the last stderr line.
  ``--pandas-limit-gb`` caps the pandas process's address space (RLIMIT_AS), to find the size at which the pandas
  engine fails without pushing the machine into the OOM killer; once it has failed, larger sizes skip it;
* on the Spark row: ``time`` and ``memory`` ``xpandas``, Spark's figure over the pandas engine's at the same
  size (below 1: Spark is faster or smaller), and ``same verdicts``: whether every check (id, status) of the
  two reports is the same (``no`` names the checks that differ; they are listed below the table).

Linux only (/proc). Two cores: Spark ``local[*]`` has two task slots, the pandas engine mostly one core. The
pandas run reads the files after generation, so both engines read them from the page cache. Each run prints the
load average as it starts (in the JSON too): another process on the machine shows there. Exit 1 when a run did not
finish or the verdicts differ.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _proc import process_tree
from _spark_data import SCHEMA, dataset, load_source

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "mlgate.toml"
MLGATE = Path(sys.executable).with_name("mlgate")
LAYERS = ("schema", "balance", "drift")
ENGINES = ("pandas", "spark")
#: (report stage, column)
STAGES = (
    ("ingest + prepare + split", "ingest+prep+split s"),
    ("schema gate", "schema s"),
    ("balance gate", "balance s"),
    ("drift gate", "drift s"),
)
SESSION_STAGE = "spark: start session"
SHUFFLE_PARTITIONS = 16
SAMPLE_S = 0.2
PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Run:
    """One ``mlgate gate`` process: what it measured and what it judged."""

    rows: int
    engine: str
    status: str = "not run"
    exit_code: int | None = None
    wall_s: float | None = None
    peak_rss_gb: float | None = None
    timings_s: dict[str, float] = field(default_factory=dict)
    stages_s: dict[str, float | None] = field(default_factory=dict)
    passed: bool | None = None
    counts: dict[str, int] = field(default_factory=dict)
    checks: dict[str, str] = field(default_factory=dict)  # id -> status
    spark_version: str | None = None
    load_before: float | None = None  # the 1-minute load average as the run started (a shared machine shows)
    out: str = ""


# ---------------------------------------------------------------- the project folders


def project(folder: Path, engine: str, source: Path, spark_memory: str) -> Path:
    """A copy of mlgate.toml reading ``source`` on ``engine`` (see the module docstring), with the schema; checked
    by mlgate's own config loader, so a key this benchmark gets wrong fails here and not in the timed run."""
    from mlgate.pipeline.config import load_config

    lines, section, out = CONFIG.read_text(encoding="utf-8").splitlines(), "", []
    for line in lines:
        stripped = line.strip()
        section = stripped if stripped.startswith("[") else section
        if section == "[data]" and stripped.startswith("source ="):
            out += [f"source = {json.dumps(str(source))}", 'format = "parquet"', f'engine = "{engine}"']
            continue
        out.append(line)
        if stripped == "[split]":
            out.append('method = "row_key"')
    if engine == "spark":
        conf = f'{{ "spark.driver.memory" = "{spark_memory}", "spark.sql.shuffle.partitions" = {SHUFFLE_PARTITIONS} }}'
        out += ["", "[spark]", 'master = "local[*]"', f"conf = {conf}"]
    (folder / "schemas").mkdir(parents=True, exist_ok=True)
    (folder / "schemas" / SCHEMA.name).write_bytes(SCHEMA.read_bytes())
    path = folder / "mlgate.toml"
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    config = load_config(path)
    wanted = (config.data_source, config.data.format, config.data.engine, config.split.method)
    if wanted != (str(source), "parquet", engine, "row_key"):
        raise SystemExit(f"{path}: the config copy did not take ({wanted})")
    return path


# ---------------------------------------------------------------- the process tree (/proc)


def tree_rss(pids: list[int]) -> int:
    """The summed resident set size of ``pids``, in bytes (processes gone meanwhile count 0)."""
    total = 0
    for pid in pids:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            continue
    return total


# ---------------------------------------------------------------- one run


def _address_limit(gb: float) -> Callable[[], None]:
    """What the child runs before exec: cap its address space (RLIMIT_AS) at ``gb``."""
    limit = int(gb * 2**30)
    return lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _kill(pid: int) -> None:
    """SIGKILL the run's process group (its own session), then any descendant that left it."""
    stray = process_tree(pid)
    with suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    for p in stray:
        with suppress(ProcessLookupError):
            os.kill(p, signal.SIGKILL)


def measure(command: list[str], out: Path, timeout_s: float, limit_gb: float | None) -> tuple[int, float, int, bool]:
    """Run ``command`` (stdout and stderr to files in ``out``): (exit code, wall s, peak tree RSS bytes, timed out)."""
    with open(out / "stdout.log", "wb") as stdout, open(out / "stderr.log", "wb") as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(
            command,
            stdout=stdout,
            stderr=stderr,
            cwd=out.parent,
            start_new_session=True,  # one process group to kill on a timeout
            preexec_fn=_address_limit(limit_gb) if limit_gb else None,
        )
        peak, timed_out = 0, False
        while process.poll() is None:
            peak = max(peak, tree_rss(process_tree(process.pid)))
            if time.perf_counter() - started > timeout_s:
                timed_out = True
                _kill(process.pid)
                process.wait()
                break
            time.sleep(SAMPLE_S)
        wall = time.perf_counter() - started
    return process.returncode, wall, peak, timed_out


def _failure(code: int, timed_out: bool, stderr: Path, timeout_s: float) -> str:
    if timed_out:
        return f"timeout after {timeout_s:g} s"
    if code < 0:
        name = signal.Signals(-code).name
        return f"killed by {name}" + (" (out of memory?)" if name == "SIGKILL" else "")
    text = stderr.read_text(encoding="utf-8", errors="replace")
    if "MemoryError" in text:
        return "MemoryError"
    last = next((line.strip() for line in reversed(text.splitlines()) if line.strip()), "")
    return f"exit {code}: {last[:120]}"


def stage_seconds(timings: dict[str, float]) -> tuple[dict[str, float | None], float]:
    """The table's stage columns from ``run.timings_s``, and the seconds the outermost stages cover (the rest of
    the wall time is outside every stage; the stages do not nest)."""
    columns: dict[str, float | None] = {column: timings.get(stage) for stage, column in STAGES}
    columns["session s"] = timings.get(SESSION_STAGE)
    return columns, sum(timings.values())


def run_gate(run: Run, config: Path, timeout_s: float, limit_gb: float | None) -> Run:
    out = config.parent / "out"
    out.mkdir(exist_ok=True)
    (out / "report.json").unlink(missing_ok=True)
    command = [str(MLGATE), "gate", "--config", str(config), "--out", str(out)]
    command += [arg for layer in LAYERS for arg in ("--layer", layer)]
    run.load_before = os.getloadavg()[0]
    code, wall, peak, timed_out = measure(command, out, timeout_s, limit_gb)
    run.exit_code, run.wall_s, run.peak_rss_gb, run.out = code, wall, peak / 2**30, str(out)
    report_path = out / "report.json"
    if timed_out or code not in (0, 1) or not report_path.is_file():
        run.status = _failure(code, timed_out, out / "stderr.log", timeout_s)
        return run
    report = json.loads(report_path.read_text(encoding="utf-8"))
    run.status, run.passed, run.counts = "ok", bool(report["passed"]), dict(report["counts"])
    run.timings_s = dict(report["run"].get("timings_s", {}))
    run.stages_s, staged = stage_seconds(run.timings_s)
    run.stages_s["rest s"] = wall - staged
    run.checks = {r["id"]: r["status"] for r in report["results"]}
    run.spark_version = (report["run"].get("data") or {}).get("engine", {}).get("spark_version")
    return run


# ---------------------------------------------------------------- the table


def differing(pandas_run: Run, spark_run: Run) -> dict[str, tuple[str, str]]:
    """Checks whose status differs between the two reports (absent on one side: "-"), id -> (pandas, spark)."""
    ids = sorted(pandas_run.checks.keys() | spark_run.checks.keys())
    pairs = {i: (pandas_run.checks.get(i, "-"), spark_run.checks.get(i, "-")) for i in ids}
    return {i: pair for i, pair in pairs.items() if pair[0] != pair[1]}


def _verdict(run: Run) -> str:
    if run.status != "ok":
        return "-"
    shown = ", ".join(f"{n} {status}" for status, n in run.counts.items() if n)
    return f"{'pass' if run.passed else 'FAIL'} ({shown})"


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _ratio(spark: float | None, pandas: float | None) -> str:
    return "-" if spark is None or not pandas else f"{spark / pandas:.2f}"


def table_rows(runs: list[Run]) -> tuple[list[list[str]], dict[int, dict[str, tuple[str, str]]]]:
    """The table's cells, and per size where both engines finished the checks that differ."""
    by_key = {(r.rows, r.engine): r for r in runs}
    cells, diffs = [], {}
    for run in runs:
        other = by_key.get((run.rows, "pandas")) if run.engine == "spark" else None
        both = other is not None and other.status == run.status == "ok"
        same = "-"
        if both and other is not None:
            diffs[run.rows] = differing(other, run)
            same = "yes" if not diffs[run.rows] else "no: " + ", ".join(diffs[run.rows])
        ok = run.status == "ok"
        cells.append(
            [
                f"{run.rows:,}",
                run.engine,
                run.status,
                *[_num(run.stages_s.get(column)) for _, column in STAGES],
                _num(run.stages_s.get("session s")),
                _num(run.stages_s.get("rest s")),
                _num(run.wall_s),
                _num(run.peak_rss_gb, 2),
                _ratio(run.wall_s, other.wall_s) if both and other else "-",
                _ratio(run.peak_rss_gb, other.peak_rss_gb) if both and other else "-",
                _verdict(run) if ok else "-",
                same,
            ]
        )
    return cells, diffs


def show(runs: list[Run]) -> dict[int, dict[str, tuple[str, str]]]:
    from rich.console import Console
    from rich.table import Table

    columns = ["rows", "engine", "status", *[c for _, c in STAGES], "session s", "rest s", "wall s", "peak GB"]
    columns += ["time xpandas", "memory xpandas", "gate verdict", "same verdicts"]
    table = Table(title="data gates (schema, balance, drift): pandas engine vs Spark local[*], one process per run")
    for name in columns:
        table.add_column(
            name, justify="left" if name in {"engine", "status", "gate verdict", "same verdicts"} else "right"
        )
    cells, diffs = table_rows(runs)
    for row in cells:
        table.add_row(*row)
    console = Console(width=240)
    console.print(table)
    for rows, diff in diffs.items():
        for check, (on_pandas, on_spark) in diff.items():
            console.print(f"  {rows:,} rows, {check}: pandas {on_pandas}, spark {on_spark}")
    failed = [r for r in runs if r.engine == "pandas" and r.status != "ok" and not r.status.startswith("not run")]
    if failed:
        console.print(f"the pandas engine fails at {failed[0].rows:,} rows: {failed[0].status}")
    elif any(r.engine == "pandas" for r in runs):
        console.print("the pandas engine finished at every size run")
    return diffs


# ---------------------------------------------------------------- main


def _rows(text: str) -> int:
    rows = int(float(text))
    if rows < 1000:
        raise argparse.ArgumentTypeError(f"{text}: at least 1000 rows")
    return rows


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=_rows, nargs="+", default=[1_000_000], help="sizes (1e6 style)")
    parser.add_argument("--quick", action="store_true", help="100,000 rows only (run_all.py --quick)")
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES))
    parser.add_argument("--data-dir", type=Path, default=Path("~/.cache/mlgate/bench-spark").expanduser())
    parser.add_argument("--timeout-s", type=float, default=3600.0, help="per run")
    parser.add_argument("--pandas-limit-gb", type=float, default=None, help="address-space cap of the pandas run")
    parser.add_argument("--spark-memory", default="8g", help="spark.driver.memory (local[*]: the whole of Spark)")
    parser.add_argument("--json", type=Path, default=None, help="write the raw figures here")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    sizes = [100_000] if args.quick else args.rows
    data_dir = args.data_dir.expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    source = load_source()
    runs: list[Run] = []
    pandas_failed: Run | None = None  # a larger size would fail too: not run again
    for rows in sizes:
        folder, generated = dataset(data_dir, rows, source)
        print(f"{rows:,} rows: {folder} ({'cached' if generated is None else f'generated in {generated:.1f} s'})")
        for engine in [e for e in ENGINES if e in args.engines]:
            if engine == "pandas" and pandas_failed is not None:
                runs.append(Run(rows, engine, status=f"not run (failed at {pandas_failed.rows:,})"))
                continue
            config = project(data_dir / "runs" / f"{rows}-{engine}", engine, folder, args.spark_memory)
            print(f"  {engine}: mlgate gate --layer schema --layer balance --layer drift ...", flush=True)
            cap = args.pandas_limit_gb if engine == "pandas" else None
            runs.append(run_gate(Run(rows, engine), config, args.timeout_s, cap))
            done = runs[-1]
            print(f"  {engine}: {done.status}, {done.wall_s:.1f} s (load average before: {done.load_before:.2f})")
            if engine == "pandas" and runs[-1].status != "ok":
                pandas_failed = runs[-1]
    diffs = show(runs)
    if args.json is not None:
        record = {
            "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()} | {"sizes": sizes},
            "machine": {"cpus": os.cpu_count(), "memory_gb": os.sysconf("SC_PHYS_PAGES") * PAGE / 2**30},
            "runs": [asdict(r) for r in runs],
            "differing_checks": {str(rows): {k: list(v) for k, v in d.items()} for rows, d in diffs.items()},
        }
        args.json.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return 0 if all(r.status == "ok" for r in runs) and not any(diffs.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
