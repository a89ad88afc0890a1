"""deepchecks beside mlgate's own data gates on the same frames: what each costs, and what each catches.

    .venv/bin/python benchmarks/bench_deepchecks.py [--quick] [--only cost|agreement]

Needs the deepchecks environment (``mlgate deepchecks setup``; ``mlgate deepchecks where`` shows it). mlgate
never imports deepchecks: its runner (``ci/deepchecks/runner.py``) runs as a child process on Parquet files
(``ci.deepchecks_env.run_job``), with deepchecks' default conditions.

**Cost.** The bundled German credit data and a synthetic frame of ``--rows`` rows (100,000; ``--quick``: 20,000)
with the same schema (``_synthetic.synthetic_frame``, seed = rows), each prepared and split as ``mlgate.toml``
says (``bench_data_gates._evidence``: 30% test, a quarter of the rest held out for validation). deepchecks gets
what the deepchecks layer exports: the training split and the test split (features and the encoded label) as
Parquet, and the probabilities and decisions (threshold 0.5) of a seeded logistic regression (one-hot categories,
scaled numbers) fitted on the training split; it runs its three default suites in full (data_integrity,
train_test_validation, model_evaluation). mlgate runs its schema, balance and drift layers
(``checks.layers.run_layers``) on the same Evidence, in a child process of its own (its balance and drift gates
take the validation rows as training rows too; the layer's export, like this one, leaves them out). Each side
runs once:

* ``checks s``: deepchecks' suite time (its Datasets built and the checks run; not the import, the Parquet
  reading nor the HTML reports), mlgate's layers' time (not the imports nor building the Evidence);
* ``process s``: the child process's wall time, start to exit (python, imports, the data -- deepchecks reads the
  Parquet, mlgate generates or ingests, prepares and splits it --, the checks, deepchecks' HTML reports);
* ``peak RSS MB``: ``ru_maxrss`` of the child process (the runner's own ``peak_rss_mb``; the worker's own).

**Agreement.** Train = ``synthetic_frame(N, random_state=1)``, test = ``synthetic_frame(N, random_state=2)`` (N =
100,000 each; ``--quick``: 20,000; columns independent, labels independent of the features), prepared together
and split at row N (no shuffle), then one seeded change to the test frame per scenario (SCENARIOS). deepchecks
runs train_test_validation and data_integrity restricted to AGREEMENT_CHECKS (the three slowest checks left out:
TrainTestSamplesMix, ConflictingLabels, OutlierSampleDetection, whose verdicts the cost run shows), mlgate its
schema, balance and drift layers with ``mlgate.toml``'s settings. The tables list every check that did not pass,
on either side, and the values behind the verdicts; ``dc s`` is the deepchecks child process's wall time, ``mlgate
s`` the layers' time (run once, untimed, before the first scenario). About 4 minutes at full size on 2 cores,
1.5 with ``--quick``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _synthetic import CONFIG, synthetic_frame
from bench_data_gates import _evidence

LAYERS = ("schema", "balance", "drift")
SUITES = ("data_integrity", "train_test_validation", "model_evaluation")
MODEL_SEED = 0
TRAIN_SEED, TEST_SEED, CHANGE_SEED = 1, 2, 3
AGREEMENT_CHECKS = {
    "train_test_validation": [
        "DatasetsSizeComparison",
        "NewLabelTrainTest",
        "NewCategoryTrainTest",
        "StringMismatchComparison",
        "FeatureLabelCorrelationChange",
        "FeatureDrift",
        "LabelDrift",
        "MultivariateDrift",
    ],
    "data_integrity": [
        "IsSingleValue",
        "SpecialCharacters",
        "MixedNulls",
        "MixedDataTypes",
        "StringMismatch",
        "DataDuplicates",
        "StringLengthOutOfBounds",
        "FeatureLabelCorrelation",
        "FeatureFeatureCorrelation",
    ],
}


# --- deepchecks' side: the job the layer would write -----------------------------------------------------------


def _model_outputs(train: pd.DataFrame, test: pd.DataFrame, y_train: pd.Series, prepared: Any) -> dict[str, Any]:
    """Positive-class probabilities and 0/1 decisions of a seeded logistic regression fitted on ``train``."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric, categorical = list(prepared.numeric), list(prepared.categorical)

    def design(frame: pd.DataFrame) -> pd.DataFrame:
        out = frame[numeric + categorical].copy()
        for column in categorical:
            out[column] = out[column].astype(object).where(out[column].notna(), "missing").astype(str)
        return out

    model = make_pipeline(
        ColumnTransformer(
            [("num", StandardScaler(), numeric), ("cat", OneHotEncoder(handle_unknown="ignore"), categorical)]
        ),
        LogisticRegression(max_iter=1000, random_state=MODEL_SEED),
    )
    model.fit(design(train), np.asarray(y_train))
    out: dict[str, Any] = {}
    for part, frame in (("train", train), ("test", test)):
        proba = model.predict_proba(design(frame))[:, 1]
        out[f"y_proba_{part}"] = proba
        out[f"y_pred_{part}"] = (proba >= 0.5).astype(np.int64)
    return out


def _export(frame: pd.DataFrame, y: pd.Series, prepared: Any) -> pd.DataFrame:
    out = frame[prepared.features].reset_index(drop=True)
    out[prepared.target] = np.asarray(y)
    return out


def write_job(
    folder: Path,
    train: pd.DataFrame,
    test: pd.DataFrame,
    prepared: Any,
    *,
    suites: tuple[str, ...],
    checks: dict[str, list[str]] | None = None,
    predictions: dict[str, np.ndarray] | None = None,
) -> Path:
    """Parquet frames (features + label), optional .npy predictions and the job file in ``folder``: the layer's
    own writer (ci.deepchecks_layer), so the benchmark runs the job the gated run would."""
    from mlgate.ci.deepchecks_layer import write_job_files

    return write_job_files(folder, train, test, prepared, suites=suites, checks=checks, predictions=predictions)


def run_deepchecks(job_file: Path) -> tuple[dict[str, Any], float]:
    from mlgate.ci.deepchecks_env import run_job

    started = time.perf_counter()
    result = run_job(job_file, timeout_s=1800)
    return result, time.perf_counter() - started


def _dc_name(entry: dict[str, Any]) -> str:
    return entry["check"] + (f"[{entry['dataset']}]" if entry.get("dataset") else "")


def dc_not_passed(result: dict[str, Any]) -> list[str]:
    """``Check[dataset] CATEGORY`` for every check whose worst condition is not PASS, or that raised (not the
    refusals deepchecks marks not applicable: no index or datetime column, no model object)."""
    order = ("PASS", "WARN", "FAIL", "ERROR")
    out = []
    for suite in result["suites"].values():
        for entry in suite["checks"]:
            if entry.get("error"):
                if not entry.get("not_applicable"):
                    out.append(f"{_dc_name(entry)} ERROR")
                continue
            categories = [c["category"] for c in entry["conditions"]]
            worst = max(categories, key=order.index, default="PASS")
            if worst != "PASS":
                out.append(f"{_dc_name(entry)} {worst}")
        if suite.get("error"):
            out.append(f"suite ERROR: {suite['error'][:80]}")
    return out


def dc_value(result: dict[str, Any], check: str, dataset: str | None = None) -> Any:
    for suite in result["suites"].values():
        for entry in suite["checks"]:
            if entry["check"] == check and entry.get("dataset") == dataset:
                return entry["value"]
    return None


# --- cost ------------------------------------------------------------------------------------------------------


def worker(rows: int) -> dict[str, Any]:
    """mlgate's side of the cost run, in its own process: build the Evidence, run the data layers once."""
    from mlgate.checks.layers import run_layers

    started = time.perf_counter()
    for layer in LAYERS:
        importlib.import_module(f"mlgate.checks.{layer}")
    import_seconds = time.perf_counter() - started
    started = time.perf_counter()
    evidence = _evidence(rows)
    build_seconds = time.perf_counter() - started
    started = time.perf_counter()
    results = run_layers(evidence, LAYERS)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "import_seconds": import_seconds,
        "build_seconds": build_seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "not_passed": [f"{r.id} {r.status.value.upper()}" for r in results if r.status.value != "pass"],
        "n_results": len(results),
    }


@dataclass
class CostRow:
    data: str
    n_train: int
    n_test: int
    dc: dict[str, Any]
    dc_wall: float
    ml: dict[str, Any]
    ml_wall: float


def cost(rows: int, scratch: Path) -> CostRow:
    evidence = _evidence(rows)
    prepared, parts = evidence.prepared, evidence.split
    train, test = _export(parts.train, parts.y_train, prepared), _export(parts.test, parts.y_test, prepared)
    predictions = _model_outputs(parts.train, parts.test, parts.y_train, prepared)
    job = write_job(scratch / f"cost-{rows}", train, test, prepared, suites=SUITES, predictions=predictions)
    dc, dc_wall = run_deepchecks(job)
    started = time.perf_counter()
    out = subprocess.run([sys.executable, __file__, "--worker", str(rows)], check=True, capture_output=True, text=True)
    ml_wall = time.perf_counter() - started
    ml = json.loads(out.stdout.strip().splitlines()[-1])
    data = "German credit (bundled)" if rows == 0 else f"synthetic {rows:,}"
    return CostRow(data, len(train), len(test), dc, dc_wall, ml, ml_wall)


def cost_tables(rows: list[CostRow], console: Any) -> None:
    from rich.table import Table

    table = Table(title="cost: deepchecks (3 default suites) vs mlgate data layers (schema, balance, drift), one run")
    for name in ("data", "train/test rows", "side", "checks s", "import s", "process s", "peak RSS MB"):
        table.add_column(name, justify="left" if name in ("data", "side") else "right")
    for row in rows:
        suites = row.dc["suites"].values()
        dc_checks = sum(s["seconds"] or 0 for s in suites)
        dc_rss = max(s["peak_rss_mb"] or 0 for s in suites)
        ml_checks, ml_rss = row.ml["seconds"], row.ml["peak_rss_mb"]
        sizes = f"{row.n_train:,} / {row.n_test:,}"
        table.add_row(
            row.data,
            sizes,
            "deepchecks",
            f"{dc_checks:.2f}",
            f"{row.dc['import_seconds']:.2f}",
            f"{row.dc_wall:.2f}",
            f"{dc_rss:.0f}",
        )
        table.add_row(
            "",
            "",
            "mlgate",
            f"{ml_checks:.2f}",
            f"{row.ml['import_seconds']:.2f}",
            f"{row.ml_wall:.2f}",
            f"{ml_rss:.0f}",
        )
        table.add_row(
            "",
            "",
            "deepchecks / mlgate",
            f"{dc_checks / ml_checks:.0f}x",
            "",
            f"{row.dc_wall / row.ml_wall:.1f}x",
            f"{dc_rss / ml_rss:.1f}x",
            end_section=True,
        )
    console.print(table)
    detail = Table(title="cost per deepchecks suite (checks s excludes the HTML report; RSS is the process's so far)")
    for name in ("data", "suite", "checks s", "HTML s", "peak RSS MB", "checks with a verdict", "not PASS"):
        detail.add_column(name, justify="left" if name in ("data", "suite", "not PASS") else "right")
    for row in rows:
        for suite, part in row.dc["suites"].items():
            judged = [c for c in part["checks"] if c["conditions"]]
            failing = dc_not_passed({"suites": {suite: part}})
            detail.add_row(
                row.data,
                suite,
                f"{part['seconds']:.2f}" if part["seconds"] is not None else "-",
                f"{part['html_seconds']:.2f}" if part["html_seconds"] is not None else "-",
                f"{part['peak_rss_mb']:.0f}",
                str(len(judged)),
                ", ".join(failing) or "-",
            )
        detail.add_row(
            row.data,
            "mlgate schema+balance+drift",
            f"{row.ml['seconds']:.2f}",
            "",
            f"{row.ml['peak_rss_mb']:.0f}",
            str(row.ml["n_results"]),
            ", ".join(row.ml["not_passed"]) or "-",
            end_section=True,
        )
    console.print(detail)
    console.print("deepchecks' conditions not met (the first 150 characters of its details):")
    for row in rows:
        for suite, part in row.dc["suites"].items():
            for entry in part["checks"]:
                where = f"  {row.data}: {suite}.{_dc_name(entry)}"
                if entry.get("error") and not entry.get("not_applicable"):
                    console.print(f"{where} ERROR: {entry['error'][:150]}")
                for condition in entry["conditions"]:
                    if condition["category"] != "PASS":
                        details = " ".join(str(condition["details"]).split())[:150]
                        console.print(f"{where} {condition['category']} ({condition['name']}): {details}")


# --- agreement -------------------------------------------------------------------------------------------------

Change = Callable[[pd.DataFrame, np.random.Generator], pd.DataFrame]


def _rows(n: int, share: float, rng: np.random.Generator) -> np.ndarray:
    return rng.choice(n, size=round(share * n), replace=False)


def scale_amount(factor: float) -> Change:
    def change(test: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        return test.assign(credit_amount=np.round(test["credit_amount"] * factor).astype(np.int64))

    return change


def female_share(share: float) -> Change:
    def change(test: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        sex = test["sex"].to_numpy(dtype=object).copy()
        female = np.flatnonzero(sex == "female")
        sex[rng.choice(female, size=len(female) - round(share * len(sex)), replace=False)] = "male"
        return test.assign(sex=pd.array(sex, dtype="str"))

    return change


def positive_share(share: float) -> Change:
    def change(test: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        risk = test["risk"].to_numpy().copy()
        positive = np.flatnonzero(risk == 1)
        risk[rng.choice(positive, size=len(positive) - round(share * len(risk)), replace=False)] = 0
        return test.assign(risk=risk)

    return change


def new_category(share: float) -> Change:
    def change(test: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        purpose = test["purpose"].to_numpy(dtype=object).copy()
        purpose[_rows(len(test), share, rng)] = "green energy"
        return test.assign(purpose=pd.array(purpose, dtype="str"))

    return change


def numbers_in_text(share: float) -> Change:
    def change(test: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        savings = test["saving_accounts"].to_numpy(dtype=object).copy()
        rows = _rows(len(test), share, rng)
        savings[rows] = [str(v) for v in rng.integers(1, 100, size=len(rows)) * 100]
        return test.assign(saving_accounts=pd.array(savings, dtype="str"))

    return change


def negative_amount(share: float) -> Change:
    def change(test: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        amount = test["credit_amount"].to_numpy().copy()
        rows = _rows(len(test), share, rng)
        amount[rows] = -amount[rows]
        return test.assign(credit_amount=amount)

    return change


@dataclass(frozen=True)
class Scenario:
    name: str
    column: str | None  # the column the change is in (its values are shown)
    change: Change | None


SCENARIOS = (
    Scenario("clean", None, None),
    Scenario("credit_amount x1.25", "credit_amount", scale_amount(1.25)),
    Scenario("credit_amount x1.5", "credit_amount", scale_amount(1.5)),
    Scenario("sex: female 31% -> 25%", "sex", female_share(0.25)),
    Scenario("risk: positive 70% -> 58%", "risk", positive_share(0.58)),
    Scenario("purpose: new category on 3% of rows", "purpose", new_category(0.03)),
    Scenario("saving_accounts: numbers on 5% of rows", "saving_accounts", numbers_in_text(0.05)),
    Scenario("credit_amount: negative on 1% of rows", "credit_amount", negative_amount(0.01)),
)


def scenario_evidence(config: Any, train_raw: pd.DataFrame, test_raw: pd.DataFrame) -> Any:
    """Train and test prepared together (as one data source) and split at the boundary, no shuffle."""
    from mlgate.checks.evidence import Evidence
    from mlgate.pipeline.dataload import load_prepared
    from mlgate.pipeline.ingest import Dataset
    from mlgate.pipeline.split import Split

    n = len(train_raw)
    raw = pd.concat([train_raw, test_raw], ignore_index=True)
    dataset = Dataset(raw, f"synthetic:{n}+{len(test_raw)}", "synthetic")
    prepared = load_prepared(config, dataset)
    if len(prepared.frame) != len(raw):
        raise RuntimeError(f"prepare dropped rows: {len(raw)} -> {len(prepared.frame)}")
    frame, y = prepared.frame, prepared.y
    parts = Split(frame.iloc[:n], frame.iloc[n:], None, y.iloc[:n], y.iloc[n:], None, random_state=0)
    return Evidence(config, dataset, prepared, parts)


def _p(value: float) -> str:
    if value == 0:
        return "< 1e-300"  # below the smallest double: shown as 0 by the test
    return f"{value:.3g}" if value >= 1e-3 else f"{value:.0e}"


def values(scenario: Scenario, dc: dict[str, Any], results: list[Any]) -> tuple[str, str]:
    """The numbers behind both sides' verdicts on the changed column (or the largest ones on clean data)."""
    drift = dc_value(dc, "FeatureDrift") or {}
    multi = dc_value(dc, "MultivariateDrift") or {}
    label = dc_value(dc, "LabelDrift") or {}
    short = {"Kolmogorov-Smirnov": "KS", "Cramer's V": "Cramér's V", "PSI": "PSI", "Earth Mover's Distance": "EMD"}
    by_id = {r.id: r for r in results}
    column = scenario.column
    if column is None:  # clean: the largest drift score / effect on each side
        column = max(drift, key=lambda c: drift[c]["Drift score"] or 0, default=None)
    dc_parts, ml_parts = [], []
    if column == "risk":
        dc_parts.append(f"LabelDrift {short.get(label.get('Method'), label.get('Method'))} {label['Drift score']:.3f}")
    elif column in drift:
        entry = drift[column]
        dc_parts.append(f"{column} {short.get(entry['Method'], entry['Method'])} {entry['Drift score']:.3f}")
    auc = multi.get("domain_classifier_auc")
    dc_parts.append(f"multivariate {multi.get('domain_classifier_drift_score', 0):.3f} (AUC {auc:.3f})")
    mixed = (dc_value(dc, "MixedDataTypes", "test") or {}).get(column or "")
    if mixed:
        dc_parts.append(f"mixed: {min(mixed['strings'], mixed['numbers']):.1%} rarer type")
    new = dc_value(dc, "NewCategoryTrainTest")  # a frame, as {"index", "columns", "data"}
    if column and isinstance(new, dict) and column in (new.get("index") or []):
        found = dict(zip(new["columns"], new["data"][new["index"].index(column)], strict=False))
        if found.get("# New Categories"):
            dc_parts.append(
                f"{found['# New Categories']} new categories, {found['Ratio of New Categories']:.1%} of rows"
            )
    ml_id = "drift.label[risk]" if column == "risk" else f"drift.feature[{column}]"
    if column is None and results:
        effects = [r for r in results if r.id.startswith("drift.feature[")]
        ml_id = max(effects, key=lambda r: r.details.get("effect", 0)).id
    result = by_id.get(ml_id)
    if result is not None:
        d = result.details
        name = "D" if d.get("test") == "ks" else "TVD"
        ml_parts.append(f"{d['column']} {name} {d['effect']:.3f}, p_adj {_p(d['p_adjusted'])}")
    female = by_id.get("balance.sensitive_share[test][sex=female]")
    if female is not None and column == "sex":
        low, high = female.interval.low, female.interval.high
        ml_parts.append(f"female {female.details['share']:.1%} (CI {low:.1%}-{high:.1%}; allowed {female.expected})")
    schema = by_id.get(f"schema.column[{column}]")
    if schema is not None and schema.status.value != "pass":
        ml_parts.append(f"schema: {schema.details.get('failing_values')} values fail")
    return "; ".join(dc_parts), "; ".join(ml_parts)


@dataclass
class AgreementRow:
    scenario: Scenario
    dc: list[str]
    ml: list[str]
    dc_values: str
    ml_values: str
    dc_wall: float
    ml_seconds: float


def agreement(n: int, scratch: Path) -> list[AgreementRow]:
    from mlgate.checks.layers import run_layers
    from mlgate.pipeline.config import load_config

    config = load_config(CONFIG)
    train_raw = synthetic_frame(n, random_state=TRAIN_SEED)
    base_test = synthetic_frame(n, random_state=TEST_SEED)
    rows = []
    for index, scenario in enumerate(SCENARIOS):
        rng = np.random.default_rng(CHANGE_SEED)
        test_raw = scenario.change(base_test, rng) if scenario.change else base_test
        evidence = scenario_evidence(config, train_raw, test_raw)
        if index == 0:  # once, untimed: the layers' first call imports what they use lazily
            run_layers(evidence, LAYERS)
        started = time.perf_counter()
        results = run_layers(evidence, LAYERS)
        ml_seconds = time.perf_counter() - started
        prepared, parts = evidence.prepared, evidence.split
        job = write_job(
            scratch / f"agreement-{index}",
            _export(parts.train, parts.y_train, prepared),
            _export(parts.test, parts.y_test, prepared),
            prepared,
            suites=tuple(AGREEMENT_CHECKS),
            checks=AGREEMENT_CHECKS,
        )
        dc, dc_wall = run_deepchecks(job)
        ml = [f"{r.id} {r.status.value.upper()}" for r in results if r.status.value != "pass"]
        dc_values, ml_values = values(scenario, dc, results)
        rows.append(AgreementRow(scenario, dc_not_passed(dc), ml, dc_values, ml_values, dc_wall, ml_seconds))
        print(f"  {scenario.name}: deepchecks {dc_wall:.1f} s, mlgate {ml_seconds:.2f} s", file=sys.stderr)
    return rows


def agreement_tables(rows: list[AgreementRow], n: int, console: Any) -> None:
    from rich.table import Table

    table = Table(
        title=f"agreement: train {n:,} rows (seed {TRAIN_SEED}) vs test {n:,} rows (seed {TEST_SEED}) + one change; "
        "checks that did not pass"
    )
    for name in ("scenario", "deepchecks (default conditions)", "mlgate (mlgate.toml)"):
        table.add_column(name)
    for row in rows:
        table.add_row(row.scenario.name, "\n".join(row.dc) or "-", "\n".join(row.ml) or "-", end_section=True)
    console.print(table)
    numbers = Table(title="agreement: the values behind the verdicts (the changed column; on clean data the largest)")
    for name in ("scenario", "deepchecks", "mlgate", "dc s", "mlgate s"):
        numbers.add_column(name, justify="right" if name.endswith(" s") else "left")
    for row in rows:
        numbers.add_row(row.scenario.name, row.dc_values, row.ml_values, f"{row.dc_wall:.1f}", f"{row.ml_seconds:.2f}")
    console.print(numbers)
    console.print(
        "deepchecks' default conditions: FeatureDrift fails a KS or Cramér's V drift score >= 0.2; LabelDrift fails "
        "> 0.15; MultivariateDrift fails a domain-classifier drift score (2 AUC - 1) >= 0.25; NewCategoryTrainTest "
        "fails any new category; MixedDataTypes warns when the rarer type is 1-10% of a column. mlgate: drift fails "
        "adjusted p < 0.05 (Holm) AND KS D / TVD >= 0.1; balance fails a sensitive group's share whose whole "
        "interval is outside reference +- tolerance; schema fails any value outside the committed schema."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 rows instead of 100,000 (cost and agreement)")
    parser.add_argument("--rows", type=int, default=None, help="synthetic rows of the cost run (default 100,000)")
    parser.add_argument("--only", choices=("cost", "agreement"), default=None, help="run one part")
    parser.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is not None:
        print(json.dumps(worker(args.worker)))
        return 0

    from rich.console import Console

    from mlgate.ci.deepchecks_env import DeepchecksEnvError, find_env

    try:
        find_env()
    except DeepchecksEnvError as exc:
        print(f"bench_deepchecks: {exc}", file=sys.stderr)
        return 2
    rows = args.rows or (20_000 if args.quick else 100_000)
    console = Console(width=220, markup=False)  # check ids hold brackets: no rich markup
    with tempfile.TemporaryDirectory(prefix="bench-deepchecks-") as tmp:
        scratch = Path(tmp)
        if args.only in (None, "cost"):
            cost_rows = [cost(size, scratch) for size in (0, rows)]
            cost_tables(cost_rows, console)
        if args.only in (None, "agreement"):
            agreement_tables(agreement(rows, scratch), rows, console)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
