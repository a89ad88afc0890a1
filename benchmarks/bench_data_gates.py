"""Time and peak memory of the three data layers (schema, balance, drift) at growing sizes.

    .venv/bin/python benchmarks/bench_data_gates.py [--quick]

Each size runs in a fresh subprocess. The Evidence (ingest -> prepare -> split, no model) is built first and
is NOT timed; then the layers run through ``checks.layers.run_layers`` (the real path), each layer timed
separately, best of ``--repeats`` runs (the layer modules are imported before timing; their import time is
shown apart). Memory: ``peak RSS`` is ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` of the subprocess (the
whole process, data building included); ``layers peak`` is the tracemalloc peak of one extra run of the
layers (Python and numpy allocations; pyarrow buffers are not traced). No assertions: the target
(total <= 1.5 s at 1M rows on 2 cores) is printed as a ratio.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _synthetic import CONFIG, synthetic_frame

TARGET_SECONDS = 1.5
LAYERS = ("schema", "balance", "drift")


def _available_layers() -> tuple[str, ...]:
    return tuple(layer for layer in LAYERS if importlib.util.find_spec(f"mlgate.checks.{layer}") is not None)


def _evidence(rows: int):
    from mlgate.checks.evidence import Evidence
    from mlgate.pipeline.candidate import load_data
    from mlgate.pipeline.config import load_config
    from mlgate.pipeline.ingest import Dataset
    from mlgate.pipeline.prepare import prepare
    from mlgate.pipeline.split import split

    config = load_config(CONFIG)
    if rows == 0:  # the bundled data
        bundle = load_data(config)
        return Evidence(config, bundle.dataset, bundle.prepared, bundle.split)
    frame = synthetic_frame(rows, random_state=rows)
    dataset = Dataset(frame, f"synthetic:{rows}", f"synthetic-{rows}")
    prepared = prepare(frame, config.data, config.features, source=dataset.source)
    parts = split(prepared, config.split, random_state=config.split.random_state)
    return Evidence(config, dataset, prepared, parts)


def worker(rows: int, repeats: int) -> dict:
    from mlgate.checks.layers import run_layers

    layers = _available_layers()
    started = time.perf_counter()
    for layer in layers:
        importlib.import_module(f"mlgate.checks.{layer}")
    import_seconds = time.perf_counter() - started
    started = time.perf_counter()
    evidence = _evidence(rows)
    build_seconds = time.perf_counter() - started
    seconds: dict[str, float] = {}
    statuses: dict[str, list[str]] = {}
    for layer in layers:
        best = float("inf")
        for _ in range(repeats):
            started = time.perf_counter()
            results = run_layers(evidence, (layer,))
            best = min(best, time.perf_counter() - started)
        seconds[layer] = best
        statuses[layer] = sorted({r.status.value for r in results})
    tracemalloc.start()
    run_layers(evidence, layers)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "rows": len(evidence.prepared.frame),
        "layers": list(layers),
        "seconds": seconds,
        "statuses": statuses,
        "import_seconds": import_seconds,
        "build_seconds": build_seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "layers_peak_mb": traced_peak / 2**20,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="bundled data and 100k rows only, 1 repeat")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per layer (best is kept)")
    parser.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 3)
    if args.worker is not None:
        print(json.dumps(worker(args.worker, repeats)))
        return 0

    from rich.console import Console
    from rich.table import Table

    sizes = [0, 100_000] if args.quick else [0, 100_000, 1_000_000]
    rows_out = []
    for size in sizes:
        out = subprocess.run(
            [sys.executable, __file__, "--worker", str(size), "--repeats", str(repeats)],
            check=True,
            capture_output=True,
            text=True,
        )
        rows_out.append(json.loads(out.stdout.strip().splitlines()[-1]))
    layers = rows_out[0]["layers"]
    table = Table(
        title=f"data layers ({', '.join(layers)}), best of {repeats}; target {TARGET_SECONDS} s at 1M rows on 2 cores"
    )
    for name in [
        "data",
        "rows",
        *[f"{layer} s" for layer in layers],
        "total s",
        "total / target",
        "peak RSS MB",
        "layers peak MB",
        "build s (untimed)",
    ]:
        table.add_column(name, justify="left" if name == "data" else "right")
    for size, row in zip(sizes, rows_out, strict=True):
        total = sum(row["seconds"].values())
        table.add_row(
            "bundled" if size == 0 else f"synthetic {size:,}",
            f"{row['rows']:,}",
            *[f"{row['seconds'][layer]:.3f}" for layer in layers],
            f"{total:.3f}",
            f"{total / TARGET_SECONDS:.2f}",
            f"{row['peak_rss_mb']:.0f}",
            f"{row['layers_peak_mb']:.0f}",
            f"{row['build_seconds']:.2f}",
        )
    console = Console(width=200)
    console.print(table)
    for size, row in zip(sizes, rows_out, strict=True):
        shown = "; ".join(f"{k}: {'/'.join(v)}" for k, v in row["statuses"].items())
        console.print(f"statuses at {'bundled' if size == 0 else f'{size:,}'}: {shown}")
    missing = [layer for layer in LAYERS if layer not in layers]
    if missing:
        console.print(f"not measured (module not written yet): {', '.join(f'mlgate.checks.{m}' for m in missing)}")
    console.print(f"layer import time (once per process, not in the totals): {rows_out[0]['import_seconds']:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
