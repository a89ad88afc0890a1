"""False-alarm and detection rates of the drift gate (``checks.drift.compare``, default settings).

    .venv/bin/python benchmarks/bench_drift_rates.py [--quick] [--only train-test|new-data]

Two sections. **train vs test** (9 features, synthetic rows at n = 1,000 and 100,000):

Each resample draws two independent samples of n rows from the same distribution (the bundled German
credit schema, see ``_synthetic.py``; categoricals held as pandas Categoricals so drawing stays cheap).
"clean" compares them as they are: any FAIL is a false alarm. Each shift scenario modifies the second
sample of the same pair (``credit_amount`` scaled, or a share of all rows moved from housing='own' to
'rent') and counts runs with any FAIL as detections. Rates are shares of runs, with 95% Wilson intervals; the
"p_adj < alpha" columns count runs where some feature was significant whatever its effect size (what the
gate would do without the effect floor).
For contrast, the last row runs the clean pairs with no correction and no effect floor.

**new data vs the champion's training rows** (``mlgate gate --current``: features and the label in one family,
categories compared as text from two sources, ids ``drift.current[...]``), on real rows: the bundled German credit
data as prepared by the pipeline, and scikit-learn's breast_cancer and wine data sets. Each seed shuffles the rows
and cuts them into a reference (70%, what the champion trained on) and a batch (the other 30%): a fresh sample of
the same population, where any FAIL is a false alarm. The shift rows change the batch of the same cut (a feature
scaled or moved, a share of rows moved to another category, a share of positive labels flipped) and count seeds
with a FAIL on the shifted column as detections.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _synthetic import CATEGORICAL, NUMERIC, ROOT, Profile, profile

from mlgate.checks.drift import compare
from mlgate.checks.result import Status
from mlgate.checks.stats import wilson_interval
from mlgate.pipeline.config import DriftSettings, load_config
from mlgate.pipeline.dataload import load_prepared

SETTINGS = DriftSettings()
NAIVE = DriftSettings(correction="none", numeric_effect_floor=0.0, categorical_effect_floor=0.0)


def draw(prof: Profile, n: int, rng: np.random.Generator) -> pd.DataFrame:
    columns: dict[str, object] = {}
    for column in CATEGORICAL:
        values, shares = prof.categories[column]
        codes = rng.choice(len(values), size=n, p=shares)
        columns[column] = pd.Categorical.from_codes(codes, categories=[str(v) for v in values])
    mean, sd, low, high = prof.log_amount
    columns["credit_amount"] = np.clip(np.round(np.exp(rng.normal(mean, sd, n))), low, high)
    for column in ("duration", "age"):
        pool = prof.pools[column]
        columns[column] = pool[rng.integers(0, len(pool), n)].astype(np.float64)
    return pd.DataFrame(columns)


def scale(factor: float) -> Callable[[pd.DataFrame, np.random.Generator], pd.DataFrame]:
    def apply(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        out = frame.copy()
        out["credit_amount"] = out["credit_amount"] * factor
        return out

    return apply


def move_share(delta: float) -> Callable[[pd.DataFrame, np.random.Generator], pd.DataFrame]:
    def apply(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        out = frame.copy()
        housing = out["housing"]
        own = (housing == "own").to_numpy()
        switch = own & (rng.random(len(out)) < delta / own.mean())
        out["housing"] = housing.where(~switch, "rent")
        return out

    return apply


SCENARIOS: dict[str, Callable | None] = {
    "clean (false alarm)": None,
    "credit_amount ×1.05": scale(1.05),
    "credit_amount ×1.10": scale(1.10),
    "credit_amount ×1.25": scale(1.25),
    "housing own→rent 0.05": move_share(0.05),
    "housing own→rent 0.10": move_share(0.10),
    "housing own→rent 0.20": move_share(0.20),
}


def alarmed(reference: pd.DataFrame, current: pd.DataFrame, settings: DriftSettings) -> tuple[bool, bool]:
    """(any FAIL, any adjusted p < alpha whatever the effect)."""
    results = compare(reference, current, numeric=NUMERIC, categorical=CATEGORICAL, settings=settings)
    return (
        any(r.status is Status.FAIL for r in results),
        any(r.details["p_adjusted"] < settings.alpha for r in results),
    )


def rates(n: int, resamples: int, *, random_state: int) -> dict[str, np.ndarray]:
    prof = profile()
    rng = np.random.default_rng(random_state)
    hits = {name: np.zeros(2, dtype=int) for name in [*SCENARIOS, "clean, no correction, no floor"]}
    for _ in range(resamples):
        reference, current = draw(prof, n, rng), draw(prof, n, rng)
        for name, shift in SCENARIOS.items():
            hits[name] += alarmed(reference, current if shift is None else shift(current, rng), SETTINGS)
        hits["clean, no correction, no floor"] += alarmed(reference, current, NAIVE)
    return hits


# ------------------------------------------------------------------------------- new data vs the reference
Shift = Callable[[pd.DataFrame, np.random.Generator], pd.DataFrame]


@dataclass(frozen=True)
class Rows:
    """A real data set as the drift gate sees it: its rows (features + target) and the feature kinds."""

    name: str
    frame: pd.DataFrame
    numeric: list[str]
    categorical: list[str]
    target: str
    scenarios: dict[str, tuple[str, Shift] | None]  # name -> (the column it shifts, how), None = clean


def times(column: str, factor: float) -> Shift:
    return lambda frame, rng: frame.assign(**{column: frame[column] * factor})


def plus(column: str, amount: float) -> Shift:
    return lambda frame, rng: frame.assign(**{column: frame[column] + amount})


def move(column: str, source: str, to: str, share: float) -> Shift:
    """``share`` of all rows moved from category (or label) ``source`` to ``to`` (as text: '1' matches 1)."""

    def apply(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        values = frame[column]
        hit = (values.astype(str) == source).to_numpy()
        switch = hit & (rng.random(len(frame)) < share / max(hit.mean(), 1e-9))
        replacement = type(values.iloc[int(np.flatnonzero(hit)[0])])(to) if hit.any() else to
        return frame.assign(**{column: values.where(~switch, replacement)})

    return apply


def german_rows() -> Rows:
    prepared = load_prepared(load_config(ROOT / "mlgate.toml"))
    frame = prepared.frame[[*prepared.features, prepared.target]]
    scenarios: dict[str, tuple[str, Shift] | None] = {
        "fresh sample (false alarm)": None,
        "credit_amount ×1.10": ("credit_amount", times("credit_amount", 1.10)),
        "credit_amount ×1.25": ("credit_amount", times("credit_amount", 1.25)),
        "housing own→rent 0.10": ("housing", move("housing", "own", "rent", 0.10)),
        "housing own→rent 0.20": ("housing", move("housing", "own", "rent", 0.20)),
        "label: 0.10 of rows good→bad": ("risk", move("risk", "1", "0", 0.10)),
        "label: 0.20 of rows good→bad": ("risk", move("risk", "1", "0", 0.20)),
    }
    return Rows("german credit (bundled)", frame, prepared.numeric, prepared.categorical, prepared.target, scenarios)


def sklearn_rows(name: str) -> Rows:
    from sklearn import datasets

    frame = getattr(datasets, f"load_{name}")(as_frame=True).frame
    numeric = [c for c in frame.columns if c != "target"]
    first = {"breast_cancer": "mean radius", "wine": "alcohol"}[name]
    scale = {"breast_cancer": 1.0, "wine": 0.0}[name]  # wine: alcohol in % (mean 13): shift by points
    shifts: dict[str, tuple[str, Shift] | None] = {"fresh sample (false alarm)": None}
    if scale:
        shifts |= {f"{first} ×{f:.2f}": (first, times(first, f)) for f in (1.05, 1.10, 1.20)}
    else:
        shifts |= {f"{first} +{a:g}": (first, plus(first, a)) for a in (0.3, 0.6, 1.0)}
    shifts |= {f"label: {k:.2f} of rows 1→0": ("target", move("target", "1", "0", k)) for k in (0.1, 0.2)}
    return Rows(f"{name} (scikit-learn)", frame, numeric, [], "target", shifts)


def new_data_rates(rows: Rows, seeds: range, *, reference_share: float = 0.7) -> dict[str, int]:
    """Seeds with an alarm per scenario: any FAIL for the clean batch, a FAIL on the shifted column otherwise."""
    hits = dict.fromkeys(rows.scenarios, 0)
    n_reference = int(reference_share * len(rows.frame))
    for seed in seeds:
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(rows.frame))
        reference, batch = rows.frame.iloc[order[:n_reference]], rows.frame.iloc[order[n_reference:]]
        for name, scenario in rows.scenarios.items():
            current = batch if scenario is None else scenario[1](batch, rng)
            results = compare(
                reference,
                current,
                numeric=rows.numeric,
                categorical=rows.categorical,
                settings=SETTINGS,
                id_prefix="drift.current",
                label="benchmark",
                target=rows.target,
                target_prefix="drift.current_label",
                canonical=True,
            )
            failed = {r.details["column"] for r in results if r.status is Status.FAIL}
            hits[name] += bool(failed) if scenario is None else scenario[0] in failed
    return hits


def new_data_table(seeds: int) -> tuple[Any, float]:
    from rich.table import Table

    started = time.perf_counter()
    table = Table(
        title=(
            f"new data vs the champion's training rows (drift.current: features + label, alpha {SETTINGS.alpha}, "
            f"{SETTINGS.correction}, floors D {SETTINGS.numeric_effect_floor} / TVD "
            f"{SETTINGS.categorical_effect_floor}); reference 70% / batch 30% of the rows, {seeds} seeds"
        )
    )
    for column in ("data set", "rows (ref / batch)", "tests", "scenario", "alarm rate [95% Wilson]"):
        table.add_column(column, justify="right" if column.startswith("alarm") else "left")
    for rows in (german_rows(), sklearn_rows("breast_cancer"), sklearn_rows("wine")):
        hits = new_data_rates(rows, range(seeds))
        n_reference = int(0.7 * len(rows.frame))
        size = f"{n_reference} / {len(rows.frame) - n_reference}"
        tests = f"{len(rows.numeric) + len(rows.categorical)} + label"
        for index, (name, count) in enumerate(hits.items()):
            low, high = wilson_interval(count, seeds, confidence=0.95)
            cells = (rows.name, size, tests) if index == 0 else ("", "", "")
            table.add_row(*cells, name, f"{count / seeds:6.1%}  [{float(low):.1%}, {float(high):.1%}]")
        table.add_section()
    return table, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer resamples (40 and 10) and seeds (40, not 100)")
    parser.add_argument("--only", choices=["train-test", "new-data"], help="run one section")
    args = parser.parse_args(argv)
    plan = {1_000: 40, 100_000: 10} if args.quick else {1_000: 200, 100_000: 40}

    from rich.console import Console
    from rich.table import Table

    console = Console(width=200)
    if args.only != "train-test":
        table, elapsed = new_data_table(40 if args.quick else 100)
        console.print(table)
        console.print(f"({elapsed:.0f} s; a detection counts only a FAIL on the shifted column)")
        if args.only == "new-data":
            return 0
    started = time.perf_counter()
    measured = {n: rates(n, k, random_state=n) for n, k in plan.items()}
    elapsed = time.perf_counter() - started
    table = Table(
        title=(
            f"drift gate: share of runs with any alarm (9 features; alpha {SETTINGS.alpha}, "
            f"{SETTINGS.correction}, effect floors D {SETTINGS.numeric_effect_floor} / "
            f"TVD {SETTINGS.categorical_effect_floor})"
        )
    )
    table.add_column("scenario")
    for n, k in plan.items():
        table.add_column(f"alarm (FAIL), n = {n:,} ({k} resamples)", justify="right")
        table.add_column(f"p_adj < alpha, n = {n:,}", justify="right")
    for name in measured[next(iter(plan))]:
        cells = []
        for n, k in plan.items():
            for hits in measured[n][name]:
                low, high = wilson_interval(hits, k, confidence=0.95)
                cells.append(f"{hits / k:6.1%}  [{float(low):.1%}, {float(high):.1%}]")
        table.add_row(name, *cells)
    console.print(table)
    console.print(
        f"rates with 95% Wilson intervals; resamples chosen to keep the run under ~2 minutes "
        f"({elapsed:.0f} s here); the shift rows reuse the clean pairs with the second sample shifted"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
