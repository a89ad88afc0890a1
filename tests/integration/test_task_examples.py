"""Multi-class and regression projects gated by config alone: examples/wine and examples/diabetes.

Real ``mlgate`` subprocesses on private copies of the bundled examples (scikit-learn's own data sets): each
passes ``mlgate run`` end to end twice (the second run judges the first as its champion), every gate has a
known-bad case per task that fails it with the right check, and bad input is one line, exit 2, nothing
registered.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from fixtures.project import ROOT, mlgate

pytestmark = pytest.mark.integration


def copy_example(name: str, destination: Path) -> Path:
    project = destination / name
    shutil.copytree(ROOT / "examples" / name, project, ignore=shutil.ignore_patterns("mlruns", "__pycache__"))
    return project


def edit(project: Path, old: str, new: str) -> None:
    path = project / "mlgate.toml"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def results(report_dir: Path) -> dict[str, dict]:
    report = json.loads((report_dir / "report.json").read_text())
    return {r["id"]: r for r in report["results"]}


def versions(project: Path) -> int:
    db = project / "mlruns" / "mlflow.db"
    if not db.exists():
        return 0
    with sqlite3.connect(db) as connection:
        return int(connection.execute("select count(*) from model_versions").fetchone()[0])


@pytest.fixture(scope="module", params=["wine", "diabetes"])
def twice(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """The example run twice from another folder: (project, first report dir, second report dir, results)."""
    base = tmp_path_factory.mktemp(request.param)
    project = copy_example(request.param, base)
    runs = [mlgate("run", "--config", str(project / "mlgate.toml"), "--out", str(base / "first"), cwd=base)]
    # a retune, so the second run is a new candidate (an identical rerun is recognised and not registered again)
    edit(project, *{"wine": ("C = 1.0", "C = 0.8"), "diabetes": ("alpha = 1.0", "alpha = 2.0")}[request.param])
    runs.append(mlgate("run", "--config", str(project / "mlgate.toml"), "--out", str(base / "second"), cwd=base))
    return request.param, project, base / "first", base / "second", runs


def test_each_example_passes_every_gate_twice_and_the_second_run_judges_the_first(twice) -> None:
    name, project, first, second, runs = twice
    for run in runs:
        assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads((first / "report.json").read_text())
    assert report["counts"]["fail"] == 0 and report["counts"]["error"] == 0
    task = {"wine": "multiclass", "diabetes": "regression"}[name]
    assert report["run"]["data"]["target"]["task"] == task
    assert report["run"]["data"]["target"]["decided_by"] == "model.task"
    assert versions(project) == 2
    judged = results(second)
    assert judged["quality.champion"]["status"] == "pass" and "v1" in judged["quality.champion"]["message"]
    assert judged["quality.champion_recipe"]["status"] == "pass", judged["quality.champion_recipe"]["message"]
    assert judged["reproducibility.retrain_predictions"]["status"] == "pass"
    assert judged["reproducibility.artifact_roundtrip"]["status"] == "pass"
    assert judged["staleness.champion_age"]["status"] == "pass"


def test_the_multiclass_example_judges_every_class(twice) -> None:
    name, _, first, _, _ = twice
    if name != "wine":
        pytest.skip("multi-class only")
    found = results(first)
    for label in ("class_0", "class_1", "class_2"):
        assert found[f"balance.class_share[train][{label}]"]["status"] == "pass"
        assert found[f"quality.class_metric[{label}][recall]"]["status"] == "pass"
    assert "least expected cost" in found["quality.business_cost"]["message"]
    assert found["drift.label[cultivar]"]["status"] == "pass"
    assert set(found["quality.baseline[majority_class]"]["details"]) >= {"metric"}


def test_the_regression_example_judges_errors_and_costs(twice) -> None:
    name, _, first, _, _ = twice
    if name != "diabetes":
        pytest.skip("regression only")
    found = results(first)
    assert found["balance.target_summary[train]"]["details"]["n"] > 0
    assert "minority_share" not in " ".join(found)
    assert "Kolmogorov" in found["drift.label[progression]"]["message"]
    for baseline in ("mean", "median", "ridge"):
        assert found[f"quality.baseline[{baseline}]"]["status"] == "pass"
    assert "under-predicted 2" in found["quality.business_cost"]["message"]
    assert found["quality.metric[r2]"]["status"] == "pass"


# --- known-bad cases: each fails its gate with the right check ---------------------------------------------


def test_a_regressor_that_predicts_the_mean_fails_its_baselines(tmp_path: Path) -> None:
    project = copy_example("diabetes", tmp_path)
    edit(project, 'estimator = "ridge"\nparams = { alpha = 1.0 }', 'estimator = "mean"')
    run = mlgate("gate", "--config", "mlgate.toml", "--layer", "quality", "--out", "out", cwd=project)
    assert run.returncode == 1, run.stdout + run.stderr
    found = results(project / "out")
    assert found["quality.baseline[ridge]"]["status"] == "fail"
    assert found["quality.metric[r2]"]["status"] == "fail"
    assert found["quality.loss_vs_prior[train]"]["status"] == "fail"  # no better than the training mean


def test_a_multiclass_model_that_never_decides_one_class_fails_its_recall(tmp_path: Path) -> None:
    project = copy_example("wine", tmp_path)
    # deciding class_2 wrongly costs a million: the least-cost rule all but never picks it
    edit(project, "class_1 = { class_0 = 1, class_2 = 1 }", "class_1 = { class_0 = 1, class_2 = 1e6 }")
    edit(project, "class_0 = { class_1 = 5, class_2 = 5 }", "class_0 = { class_1 = 5, class_2 = 1e6 }")
    run = mlgate("gate", "--config", "mlgate.toml", "--layer", "quality", "--out", "out", cwd=project)
    assert run.returncode == 1, run.stdout + run.stderr
    found = results(project / "out")
    recall = found["quality.class_metric[class_2][recall]"]
    assert recall["status"] == "fail" and recall["observed"] < 0.5, recall["message"]
    assert found["quality.class_metric[class_0][recall]"]["status"] == "pass"


@pytest.mark.parametrize(
    ("name", "column", "shift"), [("diabetes", "progression", "plus"), ("wine", "cultivar", "one")]
)
def test_a_shifted_target_fails_the_label_drift_check(tmp_path: Path, name: str, column: str, shift: str) -> None:
    project = copy_example(name, tmp_path)
    frame = pd.read_csv(project / f"{name}.csv")
    batch = frame.sample(n=120, random_state=3)
    if shift == "plus":
        batch[column] = batch[column] + 80  # progression a year later reads 80 points worse
    else:
        batch[column] = "class_0"  # a batch of one cultivar only
    batch.to_csv(tmp_path / "batch.csv", index=False)
    run = mlgate(
        "gate",
        "--config",
        "mlgate.toml",
        "--layer",
        "drift",
        "--current",
        str(tmp_path / "batch.csv"),
        "--out",
        "out",
        cwd=project,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    found = results(project / "out")
    label = found[f"drift.current_label[{column}]"]
    assert label["status"] == "fail", label["message"]
    assert ("Kolmogorov" in label["message"]) == (name == "diabetes")


def test_a_class_far_below_its_share_fails_the_balance_gate(tmp_path: Path) -> None:
    project = copy_example("wine", tmp_path)
    frame = pd.read_csv(project / "wine.csv")
    rare = frame[frame["cultivar"] == "class_2"].head(8)
    pd.concat([frame[frame["cultivar"] != "class_2"], rare]).to_csv(project / "wine.csv", index=False)
    run = mlgate("gate", "--config", "mlgate.toml", "--layer", "balance", "--out", "out", cwd=project)
    assert run.returncode == 1, run.stdout + run.stderr
    share = results(project / "out")["balance.class_share[train][class_2]"]
    assert share["status"] == "fail" and "class 'class_2'" in share["message"]


@pytest.mark.parametrize(("name", "column", "bad"), [("diabetes", "progression", 500), ("wine", "cultivar", "class_3")])
def test_a_target_outside_the_schema_fails_the_schema_gate(tmp_path: Path, name: str, column: str, bad: object) -> None:
    project = copy_example(name, tmp_path)
    frame = pd.read_csv(project / f"{name}.csv")
    frame = pd.concat([frame, frame.head(4).assign(**{column: bad})])  # 4 rows: enough to split a new class
    frame.to_csv(project / f"{name}.csv", index=False)
    if name == "wine":  # the class costs and reference would name the new class missing first
        edit(project, "class_costs = {", "# class_costs = {")
        edit(project, "max_expected_cost = 0.25", "")
        edit(project, "class_reference = {", "# class_reference = {")
    run = mlgate("gate", "--config", "mlgate.toml", "--layer", "schema", "--out", "out", cwd=project)
    assert run.returncode == 1, run.stdout + run.stderr
    found = results(project / "out")[f"schema.column[{column}]"]
    assert found["status"] == "fail" and str(bad) in found["message"], found["message"]


def test_an_inferred_task_is_stated_in_the_report(tmp_path: Path) -> None:
    project = copy_example("diabetes", tmp_path)
    edit(project, 'task = "regression" ', "# (task inferred) ")
    run = mlgate("gate", "--config", "mlgate.toml", "--layer", "balance", "--out", "out", cwd=project)
    assert run.returncode == 0, run.stdout + run.stderr
    target = json.loads((project / "out" / "report.json").read_text())["run"]["data"]["target"]
    assert target["task"] == "regression"
    assert target["decided_by"] == 'inferred: 214 distinct whole numbers (at least 30) (model.task = "auto")'


# --- bad input: one line naming the key or column, exit 2, nothing registered ------------------------------


COSTS = (
    "class_0 = { class_1 = 5, class_2 = 5 }, class_1 = { class_0 = 1, class_2 = 1 }, "
    "class_2 = { class_0 = 1, class_1 = 1 }"
)
RENAMED = "red = { white = 5, rose = 5 }, white = { red = 1, rose = 1 }, rose = { red = 1, white = 1 }"
BAD = [
    ("diabetes", "csv", "progression", "has 1 value that is not a number (first: 'unknown')"),
    ("wine", "one-row class", "cultivar", "only 1 rows of class 'class_3'"),
    ("wine", 'task = "multiclass" ', 'task = "regression" ', "key 'quality.class_costs'"),
    ("diabetes", 'task = "regression" ', 'task = "binary" ', "key 'data.positive_label'"),
    ("wine", COSTS, RENAMED, "quality.class_costs: 'red' is not a class"),
    (
        "wine",
        'estimator = "logistic_regression"',
        'estimator = "sklearn.linear_model.Ridge"',
        "is not a scikit-learn classifier, as a multiclass target needs",
    ),
    ("diabetes", 'estimator = "ridge"', 'estimator = "logistic_regression"', "is not a short name for a regression"),
    (
        "diabetes",
        "thresholds = { r2",
        "thresholds = { roc_auc = { min = 0.7 }, r2",
        "metric 'roc_auc' does not exist for a regression target",
    ),
]


@pytest.mark.parametrize(("name", "old", "new", "message"), BAD, ids=[b[3][:40] for b in BAD])
def test_bad_input_is_one_line_exit_2_and_nothing_registered(
    tmp_path: Path, name: str, old: str, new: str, message: str
) -> None:
    project = copy_example(name, tmp_path)
    data = project / f"{name}.csv"
    if old == "csv":
        frame = pd.read_csv(data).astype({new: object})
        frame.loc[5, new] = "unknown"
        frame.to_csv(data, index=False)
    elif old == "one-row class":
        edit(project, "class_costs = {", "# class_costs = {")  # the class costs would name the new class missing first
        edit(project, "max_expected_cost = 0.25", "")
        frame = pd.read_csv(data)
        pd.concat([frame, frame.head(1).assign(cultivar="class_3")]).to_csv(data, index=False)
    else:
        edit(project, old, new)
    run = mlgate("run", "--config", "mlgate.toml", "--out", "out", cwd=project)
    assert run.returncode == 2, run.stdout + run.stderr
    lines = [line for line in run.stderr.splitlines() if line.startswith("mlgate: error")]
    assert len(lines) == 1 and message in lines[0], run.stderr
    assert "Traceback" not in run.stderr
    assert versions(project) == 0 and not (project / "out" / "report.json").exists()
    if (project / "mlruns" / "mlflow.db").exists():  # (the store lock may have created the store: no run in it)
        with sqlite3.connect(project / "mlruns" / "mlflow.db") as connection:
            assert connection.execute("select count(*) from runs").fetchone()[0] == 0
    assert re.search(r"\S", lines[0])
