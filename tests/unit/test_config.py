from __future__ import annotations

import re
from pathlib import Path

import pytest

from mlgate.pipeline.config import load_config
from mlgate.pipeline.errors import ConfigError

MINIMAL = """
[data]
source = "data.csv"
target = "y"
positive_label = 1
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mlgate.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_bundled_config_loads_with_paths_resolved(german_config_path: Path) -> None:
    config = load_config(german_config_path)
    assert config.data.target == "risk"
    assert Path(config.data_source).is_file()
    assert config.schema_path.is_absolute()
    assert config.tracking_uri.startswith("sqlite:////")
    assert len(config.sha256) == 64


def test_minimal_config_gets_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL))
    assert config.split.random_state == 42
    assert config.drift.correction == "holm"
    assert config.data_source == str(tmp_path / "data.csv")


def test_tracking_uri_can_be_overridden_by_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLGATE_TRACKING_URI", "postgresql://mlflow@db/mlflow")
    config = load_config(write(tmp_path, MINIMAL))
    assert config.tracking_uri == "postgresql://mlflow@db/mlflow"
    assert config.registry_uri == "postgresql://mlflow@db/mlflow"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (MINIMAL + "\n[drift]\nalpah = 0.1\n", r"unknown key 'drift\.alpah'"),
        (MINIMAL + "\n[drift]\nalpha = 'high'\n", r"key 'drift\.alpha': Input should be a valid number"),
        (MINIMAL + "\n[drift]\nalpha = 1.5\n", r"key 'drift\.alpha': Input should be less than 1"),
        ("[data]\nsource = 'x.csv'\npositive_label = 1\n", r"missing required key 'data\.target'"),
        (
            MINIMAL + "\n[[balance.sensitive]]\ncolumn = 'sex'\nreference = {a = 0.5, b = 0.6}\n",
            r"reference shares of 'sex' sum to 1\.100",
        ),
        (MINIMAL + "\n[features]\ninclude = ['a']\nexclude = ['b']\n", "either `include` or `exclude`"),
        ("[data]\nsource = 'sqlite:///x.db'\ntarget = 'y'\npositive_label = 1\n", "`query` is required"),
        ("[data\nsource=", "not valid TOML"),
        ("path = 'x'\n" + MINIMAL, "unknown key 'path'"),
    ],
)
def test_bad_config_is_one_line_error_naming_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as info:
        load_config(path)
    assert "\n" not in str(info.value)
    assert str(path) in str(info.value)
    assert info.value.exit_code == 2


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")


def test_config_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "mlgate.toml"
    path.write_bytes(b"name = '\xff\xfe'\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(path)


# --- range and consistency rules (pipeline/config_rules.py) -------------------------------------------------------

BUNDLED = (Path(__file__).resolve().parents[2] / "mlgate.toml").read_text(encoding="utf-8")


def bundled(tmp_path: Path, old: str, new: str) -> Path:
    """The bundled config with one line changed (the test fails if the line is not there)."""
    assert old in BUNDLED, old
    return write(tmp_path, BUNDLED.replace(old, new, 1))


def refused(path: Path, key: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text = str(info.value)
    assert text.startswith(f"{path}: key '{key}': "), text
    assert re.search(message, text), text
    assert "\n" not in text and info.value.exit_code == 2


NON_FINITE = [
    ("roc_auc = { min = 0.70 }", "roc_auc = { min = nan }", "quality.thresholds.roc_auc.min"),
    ("log_loss = { max = 0.60 }", "log_loss = { max = inf }", "quality.thresholds.log_loss.max"),
    ('"*" = { roc_auc = { min = 0.60 }', '"*" = { roc_auc = { min = -inf }', "quality.slice_thresholds.*.roc_auc.min"),
    ("max_group_gap = { roc_auc = 0.20 }", "max_group_gap = { roc_auc = nan }", "quality.max_group_gap.roc_auc"),
    ("max_expected_cost = 0.60", "max_expected_cost = nan", "quality.max_expected_cost"),
    ("false_positive = 5", "false_positive = inf", "quality.cost_matrix.false_positive"),
    ("champion_margin = 0.01", "champion_margin = inf", "quality.champion_margin"),
    ("baseline_margin = 0.0", "baseline_margin = -inf", "quality.baseline_margin"),
    ("baseline_cost_margin = 0.0", "baseline_cost_margin = nan", "quality.baseline_cost_margin"),
    ("alpha = 0.05", "alpha = nan", "drift.alpha"),
    ("tolerance = 0.05", "tolerance = nan", "balance.sensitive[0].tolerance"),
    ("bins = [18, 25, 35, 50, 120]", "bins = [18, 25, 35, 50, nan]", "balance.sensitive[1].bins[4]"),
    ("bins = [18, 25, 35, 50, 120]", "bins = [18, inf, 35, 50, 120]", "balance.sensitive[1].bins[1]"),
    ("test_size = 0.3", "test_size = nan", "split.test_size"),
    ("params = { C = 0.1, max_iter = 1000 }", "params = { C = inf }", "model.params.C"),
]


@pytest.mark.parametrize(("old", "new", "key"), NON_FINITE, ids=[case[2] for case in NON_FINITE])
def test_nan_and_infinity_are_refused_everywhere(tmp_path: Path, old: str, new: str, key: str) -> None:
    refused(bundled(tmp_path, old, new), key, r"finite number \(got (nan|-?inf)\)")


MEANINGLESS = [
    ('decision_threshold = "optimize"', "decision_threshold = 1.5", "quality.decision_threshold", "strictly between"),
    ('decision_threshold = "optimize"', "decision_threshold = 0", "quality.decision_threshold", "strictly between"),
    ('decision_threshold = "optimize"', 'decision_threshold = "best"', "quality.decision_threshold", '"optimize"'),
    ("roc_auc = { min = 0.70 }", "roc_auc = { min = 0.9, max = 0.8 }", "quality.thresholds.roc_auc", "above max"),
    (
        "roc_auc = { min = 0.70 }",
        "roc_auc = { min = 1.5 }",
        "quality.thresholds.roc_auc.min",
        r"range of roc_auc \[0, 1\]",
    ),
    ("champion_margin = 0.01", "champion_margin = -0.1", "quality.champion_margin", "at least 0"),
    ("champion_margin = 0.01", "champion_margin = 1", "quality.champion_margin", "could never fail"),
    ("champion_recipe_margin = 0.01", "champion_recipe_margin = -0.1", "quality.champion_recipe_margin", "at least 0"),
    ("champion_recipe_margin = 0.01", "champion_recipe_margin = 1", "quality.champion_recipe_margin", "never fail"),
    ("champion_recipe_margin = 0.01", 'champion_recipe = "sometimes"', "quality.champion_recipe", "auto"),
    ("baseline_margin = 0.0", "baseline_margin = -0.2", "quality.baseline_margin", "at least 0"),
    ("max_group_gap = { roc_auc = 0.20 }", "max_group_gap = { roc_auc = 1 }", "quality.max_group_gap.roc_auc", "never"),
    ("baseline_cost_margin = 0.0", "baseline_cost_margin = 5", "quality.baseline_cost_margin", "spread"),
    (
        "false_positive = 5",
        "false_positive = 5, true_negative = 6",
        "quality.cost_matrix.false_positive",
        "below true_neg",
    ),
    ("roc_auc = { min = 0.70 }", "rocauc = { min = 0.7 }", "quality.thresholds.rocauc", "did you mean 'roc_auc'"),
    (
        "roc_auc = { min = 0.70 }",
        "confusion_matrix = { min = 0 }",
        "quality.thresholds.confusion_matrix",
        "not a single",
    ),
    ('champion_metric = "roc_auc"', 'champion_metric = "roc_curve"', "quality.champion_metric", "not a single number"),
    ('baseline_metric = "roc_auc"', 'baseline_metric = "lift"', "quality.baseline_metric", "unknown metric 'lift'"),
    (
        'estimator = "logistic_regression"',
        'task = "regression"\nestimator = "ridge"',
        "data.positive_label",
        "applies to a binary target only; this target is regression",
    ),
    ("max_group_gap = { roc_auc = 0.20 }", "max_group_gap = { auc = 0.2 }", "quality.max_group_gap.auc", "roc_auc"),
    ('"*" = { roc_auc', '"*" = { f1_score', "quality.slice_thresholds.*.f1_score", "did you mean 'f1'"),
    ('columns = ["housing", "purpose"]', 'columns = ["risk"]', "slices.columns[0]", "'risk' is the target"),
    ('column = "sex"', 'column = "risk"', "balance.sensitive[0].column", "cannot also be a sensitive attribute"),
    ("exclude = []", 'exclude = ["risk"]', "features.exclude[0]", "'risk' is the target"),
    ("exclude = []", "include = []", "features.include", "features.include is empty"),
    ("exclude = []", 'include = ["age", "age"]', "features.include", "lists 'age' twice"),
    ('categorical = ["job"]', 'categorical = ["job"]\nnumeric = ["job"]', "features.numeric", "also in features.categ"),
    ("[data]\n", '[data]\ndelimiter = ""\n', "data.delimiter", "exactly one character"),
    ("[data]\n", '[data]\ndelimiter = ";;"\n', "data.delimiter", "exactly one character"),
    ("[data]\n", '[data]\nencoding = "utf-99"\n', "data.encoding", "unknown encoding"),
    ("[data]\n", '[data]\nencoding = "hex"\n', "data.encoding", "not a text encoding"),
    ("[data]\n", '[data]\nevent_time_column = "risk"\n', "data.event_time_column", "is the target"),
    ("positive_label = 1 ", "positive_label = [1] ", "data.positive_label", "string, an integer or a boolean"),
    ("random_state = 0\n", "random_state = -1\n", "quality.random_state", "greater than or equal to 0"),
    ("bootstrap_resamples = 1000", "bootstrap_resamples = 1000000000", "quality.bootstrap_resamples", "100000"),
    ("labels = [", "labels = ['a', 'b', 'c', 'd']\n#", "balance.sensitive[1].reference.18-24", "not a band of 'age'"),
    (
        "male = 0.69, female = 0.31 }\ntolerance = 0.05",
        "male = 0.69, female = 0.31 }\ntolerance = 0.05\n"
        '\n[[balance.sensitive]]\ncolumn = "sex"\nreference = { male = 1.0 }',
        "balance.sensitive[1].column",
        "twice",
    ),
    (
        'model_name = "german-credit"',
        'model_name = "german-credit"\n\n[staleness]\nwarn_age_days = 100\nmax_age_days = 50',
        "staleness.warn_age_days",
        "warning would come after the failure",
    ),
    ("validation_size = 0.25", "validation_size = 0", "quality.decision_threshold", "needs split.validation_size"),
    (
        'name = "german-credit"',
        'name = "g"\n[[waivers]]\ncheck = "*"\nreason = "r"\nowner = "o"\nexpires = 2099-01-01',
        "waivers[0].check",
        "matches every check",
    ),
]


@pytest.mark.parametrize(("old", "new", "key", "message"), MEANINGLESS, ids=[f"{c[2]}:{c[3]}" for c in MEANINGLESS])
def test_values_that_make_a_gate_meaningless_are_refused(
    tmp_path: Path, old: str, new: str, key: str, message: str
) -> None:
    refused(bundled(tmp_path, old, new), key, message)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("roc_auc = { min = 0.70 }", "roc_auc = { min = 0.7, max = 0.7 }"),  # min = max: one exact value
        ("roc_auc = { min = 0.70 }", "matthews_corrcoef = { min = -0.5 }"),  # a metric whose range goes below 0
        ("champion_margin = 0.01", "champion_margin = 0.999"),  # just below the width of [0, 1]
        ("false_positive = 5", "false_positive = 5, true_positive = -1"),  # a gain for a right decision
        ('champion_metric = "roc_auc"', 'champion_metric = "log_loss"\n#'),  # unbounded: any finite margin
        ('decision_threshold = "optimize"', "decision_threshold = 0.999"),
        ("[data]\n", '[data]\ndelimiter = "\\t"\nencoding = "cp1252"\n'),
        ("labels = [", "#"),  # default band names: the reference keys must then be "[18, 25)" ...
    ],
)
def test_values_at_the_edge_of_the_rules_are_accepted(tmp_path: Path, old: str, new: str) -> None:
    if new == "#":  # drop labels and key the reference by the default band names
        path = bundled(tmp_path, old, new)
        text = path.read_text().replace(
            '"18-24" = 0.15, "25-34" = 0.40, "35-49" = 0.33, "50+" = 0.12',
            '"[18, 25)" = 0.15, "[25, 35)" = 0.40, "[35, 50)" = 0.33, "[50, 120)" = 0.12',
        )
        path.write_text(text)
    else:
        path = bundled(tmp_path, old, new)
    assert load_config(path).name == "german-credit"


def test_loading_a_config_imports_no_scikit_learn() -> None:
    import subprocess
    import sys

    code = "import sys, pipeline.config; print('sklearn' in sys.modules, 'pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_every_metric_name_a_config_may_use_is_computed_as_one_number() -> None:
    import numpy as np

    from mlgate.checks.bootstrap import bootstrap_metric
    from mlgate.pipeline.config import CostMatrix
    from mlgate.pipeline.metric_names import METRIC_RANGES

    y = np.array([0, 0, 1, 1, 0, 1, 1, 0])
    proba = np.array([0.1, 0.6, 0.4, 0.9, 0.2, 0.8, 0.7, 0.3])
    for name, (low, high) in METRIC_RANGES.items():
        boot = bootstrap_metric(
            name, y, proba, threshold=0.5, costs=CostMatrix(), resamples=100, confidence=0.9, random_state=0
        )
        assert low <= boot.estimate <= high, name
