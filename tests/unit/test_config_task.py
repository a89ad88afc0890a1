"""Config keys against the task (pipeline/config_task.py): a stated task is checked when the config loads, an
inferred one once the data is read; the regression and multi-class costs are validated on load."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlgate.pipeline.config import ProjectConfig, load_config
from mlgate.pipeline.config_task import task_problems
from mlgate.pipeline.dataload import load_prepared
from mlgate.pipeline.errors import ConfigError

DATA = '[data]\nsource = "data.csv"\ntarget = "y"\n'
POSITIVE = "positive_label = 1\n"
BINARY, MULTICLASS, REGRESSION = (f'[model]\ntask = "{task}"\n' for task in ("binary", "multiclass", "regression"))
CLASS_COSTS = "class_costs = { a = { b = 1, c = 2 }, b = { a = 1, c = 1 }, c = { a = 3, b = 1 } }\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mlgate.toml"
    path.write_text(text, encoding="utf-8")
    return path


def refused(path: Path, key: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text = str(info.value)
    assert text.startswith(f"{path}: key '{key}': "), text
    assert re.search(message, text), text
    assert "\n" not in text and info.value.exit_code == 2


CONTRADICTIONS = [
    (POSITIVE + REGRESSION, "data.positive_label", "applies to a binary target only; this target is regression$"),
    (BINARY, "data.positive_label", r"is required for a binary target \(the label of the positive class\)"),
    (
        MULTICLASS + "[quality]\ncost_matrix = { false_positive = 2 }\n",
        "quality.cost_matrix",
        "prices binary decisions; a multiclass target uses quality.class_costs$",
    ),
    (
        MULTICLASS + "[quality]\nprediction_cost = { under = 1, over = 2 }\n",
        "quality.prediction_cost",
        "prices regression decisions; a multiclass target uses quality.class_costs$",
    ),
    (
        REGRESSION + "[quality]\n" + CLASS_COSTS,
        "quality.class_costs",
        "prices multiclass decisions; a regression target uses quality.prediction_cost$",
    ),
    (
        REGRESSION + "[quality]\ndecision_threshold = 0.3\n",
        "quality.decision_threshold",
        "applies to a binary target only; a regression decision: none$",
    ),
    (
        MULTICLASS + "[quality]\ndecision_threshold = 0.3\n",
        "quality.decision_threshold",
        "a multiclass decision: the class with the least expected cost",
    ),
    (
        POSITIVE + BINARY + '[quality]\nclass_thresholds = { "*" = { recall = { min = 0.5 } } }\n',
        "quality.class_thresholds",
        "applies to a multi-class target only; this target is binary$",
    ),
    (
        POSITIVE + BINARY + "[quality]\nthresholds = { r2 = { min = 0.5 } }\n",
        "quality.thresholds.r2",
        r"metric 'r2' does not exist for a binary target \(its metrics: roc_auc, ",
    ),
    (
        MULTICLASS + "[quality]\nthresholds = { roc_auc = { min = 0.5 } }\n",
        "quality.thresholds.roc_auc",
        r"does not exist for a multiclass target \(its metrics: .*roc_auc_ovr",
    ),
    (
        REGRESSION + '[quality]\nslice_thresholds = { "*" = { accuracy = { min = 0.5 } } }\n',
        "quality.slice_thresholds.*.accuracy",
        "metric 'accuracy' does not exist for a regression target",
    ),
    (REGRESSION + "[quality]\nmax_group_gap = { f1 = 0.1 }\n", "quality.max_group_gap.f1", "'f1' does not exist"),
    (REGRESSION + '[quality]\nchampion_metric = "roc_auc"\n', "quality.champion_metric", "'roc_auc' does not exist"),
    (
        REGRESSION + "[quality]\nthresholds = { expected_cost = { max = 5 } }\n",
        "quality.thresholds.expected_cost",
        r"expected_cost needs quality\.cost_matrix \(or class_costs, prediction_cost\)",
    ),
]


@pytest.mark.parametrize(
    ("text", "key", "message"), CONTRADICTIONS, ids=[f"{c[1]}:{c[2][:30]}" for c in CONTRADICTIONS]
)
def test_a_stated_task_refuses_the_keys_that_contradict_it(tmp_path: Path, text: str, key: str, message: str) -> None:
    refused(write(tmp_path, DATA + text), key, message)


@pytest.mark.parametrize(
    "text",
    [
        POSITIVE + BINARY + "[quality]\nthresholds = { roc_auc = { min = 0.6 } }\n",
        MULTICLASS
        + "[quality]\nthresholds = { f1_macro = { min = 0.5 }, expected_cost = { max = 1 } }\n"
        + CLASS_COSTS
        + 'class_thresholds = { "*" = { recall = { min = 0.3 } } }\n',
        REGRESSION + "[quality]\nthresholds = { r2 = { min = 0.2 }, expected_cost = { max = 9 } }\n"
        "prediction_cost = { points = [[-1, 2], [0, 0], [3, 1]] }\n",
        REGRESSION + "[quality]\ndecision_threshold = 0.5\n",  # the default, as a dumped config holds it
    ],
    ids=["binary", "multiclass", "regression", "regression-default-threshold"],
)
def test_a_stated_task_accepts_the_keys_that_fit_it(tmp_path: Path, text: str) -> None:
    config = load_config(write(tmp_path, DATA + text))
    assert task_problems(config, config.model.task) == []


def test_task_problems_lists_every_contradiction_in_order() -> None:
    config = ProjectConfig.model_validate(
        {
            "data": {"source": "d.csv", "target": "y"},
            "quality": {
                "thresholds": {"r2": {"min": 0.1}, "roc_auc": {"min": 0.6}, "expected_cost": {"max": 2}},
                "cost_matrix": {"false_positive": 3},
            },
        }
    )
    assert config.model.task == "auto"  # nothing checked against a task yet (no positive_label implies binary)
    # (a positive_label set at load would imply binary and refuse r2 there: added unvalidated, to list them all)
    config = config.model_copy(update={"data": config.data.model_copy(update={"positive_label": 1})})
    assert [key for key, _ in task_problems(config, "binary")] == ["quality.thresholds.r2"]
    problems = dict(task_problems(config, "regression"))
    assert list(problems) == [
        "data.positive_label",
        "quality.cost_matrix",
        "quality.thresholds.roc_auc",
        "quality.thresholds.expected_cost",
    ]
    assert problems["quality.thresholds.roc_auc"].startswith("metric 'roc_auc' does not exist for a regression target")
    assert problems["quality.thresholds.expected_cost"] == (
        "expected_cost of a regression target needs quality.prediction_cost"
    )


# --- the costs of the other tasks ------------------------------------------------------------------------------

BAD_COSTS = [
    ("prediction_cost = { under = 1 }", "quality.prediction_cost.over", "is required with the other side"),
    ("prediction_cost = { over = 1 }", "quality.prediction_cost.under", "give both `under` and `over`"),
    ("prediction_cost = { }", "quality.prediction_cost.under", "give `under` and `over` .*, or `points`$"),
    (
        "prediction_cost = { under = 1, over = 1, points = [[0, 0], [1, 1]] }",
        "quality.prediction_cost.points",
        "give `under` and `over`, or `points`, not both",
    ),
    (
        "prediction_cost = { points = [[0, 0], [2, 1], [1, 3]] }",
        "quality.prediction_cost.points",
        r"the errors \(first of each pair\) must increase strictly",
    ),
    ("prediction_cost = { points = [[0, 0], [0, 1]] }", "quality.prediction_cost.points", "increase strictly"),
    ("prediction_cost = { points = [[0, 0]] }", "quality.prediction_cost.points", "at least two"),
    ("prediction_cost = { under = -1, over = 1 }", "quality.prediction_cost.under", "greater than or equal to 0"),
    ("prediction_cost = { points = [[0, -1], [1, 1]] }", r"quality.prediction_cost.points[0][1]", "greater than or"),
    (
        "class_costs = { a = { b = 1 }, b = { a = 1 } }",
        "quality.class_costs",
        "names 2 classes; a multi-class target has at least 3$",
    ),
    (
        "class_costs = { a = { b = 1, c = 1 }, b = { a = 1 }, c = { a = 1, b = 1 } }",
        "quality.class_costs.b",
        r"has no cost for deciding 'c' \(give every other class\)$",
    ),
    (
        "class_costs = { a = { a = 2, b = 1, c = 3 }, b = { a = 1, c = 1 }, c = { a = 1, b = 1 } }",
        "quality.class_costs.a.b",
        "1 is below the right decision's cost 2: an error may not cost less$",
    ),
    (
        "class_costs = { a = { b = 1, c = 1, d = 1 }, b = { a = 1, c = 1 }, c = { a = 1, b = 1 } }",
        "quality.class_costs.a.d",
        "'d' is not a row of quality.class_costs$",
    ),
]


@pytest.mark.parametrize(("line", "key", "message"), BAD_COSTS, ids=[f"{c[1]}:{c[2][:30]}" for c in BAD_COSTS])
def test_bad_costs_are_refused_naming_the_key(tmp_path: Path, line: str, key: str, message: str) -> None:
    refused(write(tmp_path, DATA + "[quality]\n" + line + "\n"), key, message)


# --- task "auto": checked once the data is read ----------------------------------------------------------------


def project(tmp_path: Path, y: list[object], quality: str) -> ProjectConfig:
    rows = len(y)
    pd.DataFrame({"x": np.arange(rows) % 7, "y": y}).to_csv(tmp_path / "data.csv", index=False)
    return load_config(write(tmp_path, DATA + "[quality]\n" + quality + "\n"))


AMOUNTS = list(np.round(np.random.default_rng(0).gamma(2.0, 3.0, 60), 2))
CLASSES = ["a", "b", "c"] * 20


def test_an_inferred_task_allows_its_own_metrics(tmp_path: Path) -> None:
    prepared = load_prepared(project(tmp_path, AMOUNTS, "thresholds = { r2 = { min = 0.1 } }"))
    assert prepared.task == "regression"
    assert prepared.task_decided_by == 'inferred: numbers with a fractional part (model.task = "auto")'


def test_an_inferred_task_refuses_a_metric_of_another_task(tmp_path: Path) -> None:
    config = project(tmp_path, AMOUNTS, "thresholds = { roc_auc = { min = 0.6 } }")
    with pytest.raises(ConfigError) as info:
        load_prepared(config)
    text = str(info.value)
    assert text.startswith(f"{config.path}: key 'quality.thresholds.roc_auc': metric 'roc_auc' does not exist for a ")
    assert text.endswith('(regression: inferred: numbers with a fractional part (model.task = "auto"))')
    assert "\n" not in text and info.value.exit_code == 2


def test_an_inferred_task_refuses_another_task_s_cost(tmp_path: Path) -> None:
    config = project(tmp_path, CLASSES, "prediction_cost = { under = 1, over = 1 }")
    with pytest.raises(
        ConfigError, match=r"key 'quality\.prediction_cost': prices regression decisions; .*inferred: 3"
    ):
        load_prepared(config)


@pytest.mark.parametrize(
    ("quality", "message"),
    [
        (
            "class_costs = { a = { b = 1, x = 1 }, b = { a = 1, x = 1 }, x = { a = 1, b = 1 } }",
            r"quality\.class_costs: 'x' is not a class \(the target's classes: a, b, c\)$",
        ),
        (
            "class_thresholds = { d = { recall = { min = 0.5 } } }",
            r"quality\.class_thresholds\.d: 'd' is not a class of 'y' \(classes: a, b, c; \"\*\" for every class\)$",
        ),
    ],
)
def test_class_labels_in_the_config_must_be_the_target_s_classes(tmp_path: Path, quality: str, message: str) -> None:
    config = project(tmp_path, CLASSES, quality)
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(config.path))}: {message}"):
        load_prepared(config)
    assert load_prepared(project(tmp_path, CLASSES, CLASS_COSTS)).classes == ("a", "b", "c")


def test_a_positive_label_implies_binary_and_is_checked_at_load(tmp_path: Path) -> None:
    """``model.task = "auto"`` with ``data.positive_label`` (even 0) is binary: another task's metric is refused when
    the config is loaded, before any data is read."""
    path = write(tmp_path, DATA + "positive_label = 0\n[quality]\nthresholds = { r2 = { min = 0.1 } }\n")
    with pytest.raises(ConfigError, match=r"key 'quality\.thresholds\.r2': metric 'r2' does not exist for a binary"):
        load_config(path)
