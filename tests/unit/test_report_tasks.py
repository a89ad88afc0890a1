"""The reports per task (issue 12): every format states the task and how it was decided; the HTML report draws
the k x k confusion matrix and each class's ROC and calibration for a multi-class model, predicted vs actual and
the residuals for a regression, and a binary model's plots exactly as before.

The per-task run metadata read here: ``run.data.task``, ``run.data.task_decided_by``, ``run.data.classes`` (labels
in class-code order) and ``run.model.predictions`` (``actual`` and ``scores`` of the test rows, the scores as
``pipeline.evaluate.model_scores`` gives them).
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from typing import Any

import numpy as np
import pytest
from fixtures.report_samples import failing_report, passing_report
from rich.console import Console
from sklearn.metrics import roc_auc_score

from mlgate.checks.report import plots_model, plots_scores, print_summary, render_html, render_junit, render_markdown
from mlgate.checks.report._common import run_facts
from mlgate.checks.result import CheckResult, GateReport, Status

CLASSES = ["low", "medium", "high"]
MATRIX = [[8, 2, 0], [1, 6, 3], [0, 0, 10]]


def _multiclass_rows(n: int = 90, k: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    actual = np.arange(n) % k
    logits = rng.normal(0.0, 1.0, (n, k))
    logits[np.arange(n), actual] += 1.5
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return actual, proba


def _regression_rows(n: int = 120, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    actual = rng.gamma(2.0, 50.0, n)
    return actual, 0.8 * actual + rng.normal(0.0, 20.0, n) + 10.0


def _report(task: str | None, *, predictions: bool = True, decided: str = "model.task") -> GateReport:
    data: dict[str, Any] = {"source": "d.csv", "split": {"train": 200, "test": 90, "random_state": 1}}
    model: dict[str, Any] = {"estimator": "logistic_regression", "threshold": 0.0}
    if task is not None:
        data |= {"task": task, "task_decided_by": decided}
    if task in ("multiclass", None):
        actual, scores = _multiclass_rows()
        data["classes"] = CLASSES
        model |= {
            "threshold_source": "most_probable",
            "metrics": {"accuracy": 0.8, "f1_macro": 0.79, "log_loss": 0.5},
            "confusion": {"matrix": MATRIX},
            "slices": {
                "region": {
                    g: {"n": 45, "metrics": {"accuracy": a, "f1_macro": a - 0.02}}
                    for g, a in (("n", 0.82), ("s", 0.76))
                }
            },
        }
    else:
        actual, scores = _regression_rows()
        model |= {
            "threshold_source": "prediction",
            "metrics": {"r2": 0.61, "root_mean_squared_error": 31.5, "mean_absolute_error": 24.0},
            "confusion": {},
            "slices": {
                "region": {
                    g: {"n": 60, "metrics": {"root_mean_squared_error": e, "mean_absolute_error": e * 0.8}}
                    for g, e in (("n", 29.0), ("s", 34.0))
                }
            },
        }
    if predictions:
        model["predictions"] = {
            "split": "test",
            "rows": len(actual),
            "actual": actual.tolist(),
            "scores": scores.tolist(),
        }
    result = CheckResult("quality.metric[x]", "quality", Status.PASS, "fine")
    return GateReport.collect([result], run={"project": "p", "data": data, "model": model})


def _points(svg: str) -> int:
    """The scatter markers of a regression plot (tick marks are ``<use>`` elements too, in black)."""
    return svg.count(f"fill: {plots_scores._POINT_COLOR}; fill-opacity: 0.6")


def _plot_headings(html: str) -> list[str]:
    return re.findall(r"<h3>([^<]*)</h3>", html)


def _plots_section(html: str) -> str:
    return html[html.index("<h2>Plots</h2>") : html.index("<h2>All checks")]


# ------------------------------------------------------------------------------------------------ multi-class
def test_class_confusion_shows_counts_row_shares_recall_precision_and_labels() -> None:
    svg = plots_model.class_confusion({"matrix": MATRIX}, classes=CLASSES, decision="most probable")
    assert svg is not None and 'aria-label="Confusion matrix (multi-class)"' in svg
    assert "Confusion matrix (test split, 3 classes)" in svg
    for label in ("low  (n=10)", "medium  (n=10)", "high  (n=10)", "actual class", "decided class", "(most probable)"):
        assert label in svg
    assert "recall 80%" in svg and "recall 60%" in svg and "recall 100%" in svg  # the diagonal over each row
    assert "precision" in svg and "89%" in svg and "75%" in svg and "77%" in svg  # 8/9, 6/8, 10/13
    texts = re.findall(r">([^<>]*)</text>", svg)
    assert any(t.strip() == "8" for t in texts) and any(t.strip() == "30%" for t in texts)  # count, share of row


def test_class_confusion_without_labels_names_the_codes() -> None:
    svg = plots_model.class_confusion({"matrix": MATRIX}, classes=["only", "two"])  # wrong length: not used
    assert svg is not None and "class 0  (n=10)" in svg and "class 2" in svg and "only" not in svg


@pytest.mark.parametrize(
    "confusion",
    [
        None,
        {},
        {"tp": 1, "fp": 2, "tn": 3, "fn": 4},
        {"matrix": [[1]]},
        {"matrix": [[1, 2], [3]]},
        {"matrix": [[1, -2], [3, 4]]},
        {"matrix": [["a", 2], [3, 4]]},
        {"matrix": "3x3"},
    ],
)
def test_class_confusion_refuses_what_is_not_a_square_count_matrix(confusion: Any) -> None:
    assert plots_model.class_confusion(confusion) is None


@pytest.mark.parametrize("confusion", [{"matrix": MATRIX}, {}])
def test_the_binary_confusion_matrix_draws_nothing_for_other_tasks(confusion: dict[str, Any]) -> None:
    assert plots_model.confusion_matrix(confusion, threshold=0.0) is None


def test_one_vs_rest_draws_each_class_roc_with_its_auc_and_calibration() -> None:
    actual, proba = _multiclass_rows()
    svg = plots_scores.one_vs_rest(actual, proba, classes=CLASSES)
    assert svg is not None and 'aria-label="One-vs-rest ROC and calibration per class"' in svg
    assert "One-vs-rest ROC per class (test split)" in svg and "Calibration per class" in svg
    assert "false positive rate" in svg and "observed share of the class" in svg and "3 classes" in svg
    for code, label in enumerate(CLASSES):
        auc = roc_auc_score(actual == code, proba[:, code])
        assert f"{label} (AUC {auc:.3f})" in svg  # the same area scikit-learn computes, ties included


def test_one_vs_rest_leaves_out_a_class_missing_from_the_test_rows() -> None:
    actual, proba = _multiclass_rows()
    actual = np.where(actual == 2, 0, actual)
    svg = plots_scores.one_vs_rest(actual, proba, classes=CLASSES)
    assert svg is not None and "2 of 3 classes" in svg and "high (AUC" not in svg
    assert plots_scores.one_vs_rest(np.zeros(10), proba[:10]) is None  # one class only: no curve at all
    assert plots_scores.one_vs_rest(actual, proba[:, 0]) is None  # a binary model's (n,) scores


def test_tied_scores_give_sklearn_s_auc() -> None:
    truth = np.array([1, 0, 1, 0, 1, 0, 0, 1])
    score = np.array([0.5, 0.5, 0.9, 0.1, 0.5, 0.5, 0.2, 0.7])
    assert plots_scores._roc(truth.astype(bool), score)[2] == pytest.approx(roc_auc_score(truth, score))


# ------------------------------------------------------------------------------------------------ regression
def test_predicted_vs_actual_has_the_identity_line_labels_and_metrics() -> None:
    actual, predicted = _regression_rows()
    svg = plots_scores.predicted_vs_actual(actual, predicted, metrics={"r2": 0.61, "root_mean_squared_error": 31.5})
    assert svg is not None and 'aria-label="Predicted vs actual"' in svg
    for text in ("Predicted vs actual (test split)", "n = 120", "R² 0.61", "RMSE 31.5", "actual value"):
        assert text in svg
    assert "predicted value" in svg and "identity: predicted = actual" in svg
    assert _points(svg) == 120  # every row is drawn


def test_residuals_plot_residuals_against_the_prediction_and_their_histogram() -> None:
    actual, predicted = _regression_rows()
    svg = plots_scores.residuals(actual, predicted)
    residual = actual - predicted
    assert svg is not None and 'aria-label="Residuals"' in svg
    assert "Residuals vs predicted (n = 120)" in svg and "above 0: under-predicted" in svg
    assert "Residual distribution (n = 120)" in svg and "residual = actual − predicted" in svg
    assert f"mean {residual.mean():.3g}" in svg and f"sd {residual.std(ddof=1):.3g}" in svg


def test_large_test_sets_draw_a_sample_with_the_extremes() -> None:
    actual, predicted = _regression_rows(n=20_000)
    svg = plots_scores.predicted_vs_actual(actual, predicted, max_points=500)
    assert svg is not None and "of 20,000 rows shown" in svg and _points(svg) <= 500
    rows = plots_scores._shown(500, actual, predicted, actual - predicted)
    assert {int(np.argmax(actual)), int(np.argmin(actual - predicted))} <= set(rows.tolist())


def test_a_sampled_payload_says_how_many_test_rows_it_came_from() -> None:
    actual, predicted = _regression_rows()
    assert "120 rows shown, a sample of 5,000" in str(
        plots_scores.predicted_vs_actual(actual, predicted, sampled_from=5000)
    )
    assert "120 rows shown, a sample of 5,000" in str(plots_scores.residuals(actual, predicted, sampled_from=5000))
    report = _report("regression")
    report.run["model"]["predictions"]["rows"] = 5000
    assert plots_scores.payload_rows(report.run["model"]) == 5000
    assert "a sample of 5,000" in render_html(report)
    for rows in (None, "5000", True, 0):
        assert plots_scores.payload_rows({"predictions": {"rows": rows}}) is None


@pytest.mark.parametrize(
    ("actual", "predicted"),
    [([1.0, 2.0], [1.0]), ([1.0, np.nan, 3.0], [1.0, 2.0, 3.0]), ([1.0], [1.0]), ([[1.0, 2.0]], [[1.0, 2.0]])],
)
def test_regression_plots_refuse_malformed_rows(actual: Any, predicted: Any) -> None:
    assert plots_scores.predicted_vs_actual(actual, predicted) is None
    assert plots_scores.residuals(actual, predicted) is None


@pytest.mark.parametrize(
    ("task", "payload", "ok"),
    [
        ("regression", {"actual": [1.0, 2.5, 3.0], "scores": [1.1, 2.0, 3.3]}, True),
        ("multiclass", {"actual": [0, 1, 2], "scores": [[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.1, 0.8]]}, True),
        ("multiclass", {"actual": [0, 1, 3], "scores": [[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.1, 0.8]]}, False),
        ("multiclass", {"actual": [0, 1, 1], "scores": [0.2, 0.7, 0.6]}, False),  # binary scores
        ("regression", {"actual": [1.0, 2.0], "scores": [[1.0, 2.0], [3.0, 4.0]]}, False),
        ("regression", {"actual": ["a", "b"], "scores": [1.0, 2.0]}, False),
        ("regression", {"actual": [1.0, 2.0]}, False),
        ("multiclass", {"actual": [0, 1], "scores": [[0.1, 0.9], [0.5]]}, False),  # ragged
        ("regression", {"actual": "12", "scores": 3}, False),
        ("binary", {"actual": [0, 1], "scores": [0.2, 0.7]}, False),  # a binary model's rows are not plotted here
    ],
)
def test_row_scores_reads_the_predictions_payload_per_task(task: str, payload: dict[str, Any], ok: bool) -> None:
    read = plots_scores.row_scores({"predictions": payload}, task)
    assert (read is not None) is ok
    assert plots_scores.row_scores({}, task) is None and plots_scores.row_scores(None, task) is None


# ------------------------------------------------------------------------------------------------ slices
def test_slice_metrics_per_task() -> None:
    multiclass = _report("multiclass").run["model"]
    svg = plots_model.slice_metrics(multiclass["slices"], overall=multiclass["metrics"], task="multiclass")
    assert svg is not None and "f1_macro" in svg and "accuracy" in svg
    regression = _report("regression").run["model"]
    svg = plots_model.slice_metrics(regression["slices"], overall=regression["metrics"], task="regression")
    assert svg is not None and "root_mean_squared_error" in svg and "error in the target" in svg
    assert plots_model.slice_metrics(regression["slices"]) is None  # read as binary: nothing on a 0-1 scale


def test_binary_slice_metrics_are_unchanged_by_the_task_argument() -> None:
    model = failing_report().run["model"]
    before = plots_model.slice_metrics(model["slices"], overall=model["metrics"])
    assert before == plots_model.slice_metrics(model["slices"], overall=model["metrics"], task="binary")


# ------------------------------------------------------------------------------------------------ the pages
def test_a_multiclass_report_draws_its_plots_and_no_binary_one() -> None:
    html = render_html(_report("multiclass"))
    headings = _plot_headings(html)
    assert headings[-3:] == [
        "Model: metrics per slice",
        "Model: confusion matrix",
        "Model: one-vs-rest ROC and calibration per class",
    ]
    assert 'aria-label="Confusion matrix (multi-class)"' in html and 'aria-label="Confusion matrix"' not in html
    assert "threshold" not in _facts(html)  # 0.0 is no decision threshold
    assert _facts(html)["task"] == "multiclass (model.task)"
    assert _facts(html)["classes"] == "3: low, medium, high"
    assert _facts(html)["decision"] == "each row gets its most probable class"
    assert _plots_section(html).count("<svg") == 3


def test_a_regression_report_draws_predicted_vs_actual_and_residuals() -> None:
    html = render_html(_report("regression", decided='inferred: 214 distinct numbers (model.task = "auto")'))
    headings = _plot_headings(html)
    assert headings[-3:] == ["Model: metrics per slice", "Model: predicted vs actual", "Model: residuals"]
    assert "confusion" not in " ".join(headings)
    assert _plots_section(html).count("<svg") == 3
    assert _facts(html)["task"] == 'regression (inferred: 214 distinct numbers (model.task = "auto"))'
    assert "threshold" not in _facts(html) and "classes" not in _facts(html)


@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_without_row_scores_the_page_says_what_is_missing(task: str) -> None:
    html = render_html(_report(task, predictions=False))
    assert "No per-row test scores recorded (run.model.predictions is missing or malformed)." in html
    assert _plots_section(html).count("<svg") == 2 if task == "multiclass" else 1


@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_malformed_task_data_costs_only_its_plots(task: str) -> None:
    report = _report(task)
    report.run["model"] |= {"predictions": {"actual": 3, "scores": None}, "confusion": {"matrix": 5}, "slices": 7}
    report.run["data"]["classes"] = "abc"
    html = render_html(report)
    assert "run.model.predictions is missing or malformed" in html
    assert _plots_section(html).count("<svg") == 0 and "<h2>All checks (1)</h2>" in html


def test_a_report_without_the_task_key_reads_it_off_the_model_section() -> None:
    html = render_html(_report(None))  # a multi-class confusion table: the k x k plot, not a binary note
    assert 'aria-label="Confusion matrix (multi-class)"' in html and "task" not in _facts(html)
    run = _report("regression").run
    del run["data"]["task"]
    html = render_html(GateReport.collect([], run=run))
    assert "Model: predicted vs actual" in _plot_headings(html)


def test_a_binary_report_with_its_task_recorded_draws_the_same_plots() -> None:
    report = failing_report()
    recorded = GateReport.collect(
        list(report.results), run={**report.run, "data": {**report.run["data"], "task": "binary"}}
    )
    html = render_html(recorded)
    assert _plots_section(html) == _plots_section(render_html(report))
    assert _facts(html)["task"] == "binary" and _facts(html)["threshold"].startswith("0.4127")


def test_hostile_class_labels_are_text() -> None:
    report = _report("multiclass")
    report.run["data"]["classes"] = ["<script>x</script>", "$a$ & b", "c"]
    html = render_html(report)
    assert "<script>x" not in html and "&lt;script&gt;x&lt;/script&gt;" in html
    assert "$a$ &amp; b" in html  # drawn as written, not as mathtext


# ------------------------------------------------------------------------------------------------ every format
def _facts(html: str) -> dict[str, str]:
    return dict(re.findall(r"<dt>([^<]*)</dt><dd[^>]*>([^<]*)</dd>", html.replace("&#34;", '"')))


def _terminal(report: GateReport) -> str:
    out = io.StringIO()
    print_summary(report, Console(file=out, width=200, color_system=None))
    return out.getvalue()


@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_every_format_states_the_task_and_how_it_was_decided(task: str) -> None:
    report = _report(task, decided="model.task")
    line = f"{task} (model.task)"
    assert f"**task** {line}" in render_markdown(report)
    assert f"task: {line}" in _terminal(report)
    root = ET.fromstring(render_junit(report).split("\n", 1)[1])
    assert {p.get("value") for p in root.iter("property") if p.get("name") == "task"} == {line}


def test_reports_without_a_task_say_nothing_about_it() -> None:
    report = passing_report()
    assert all(label not in ("task", "classes", "decision") for label, _ in run_facts(report))
    assert "task:" not in _terminal(report) and 'name="task"' not in render_junit(report)
