"""Bad-input corpus: the project config. Values that parse but make a gate meaningless, wrong types, names that
point at nothing, and estimator settings scikit-learn refuses.

Every case is one changed line of the bundled ``mlgate.toml`` and must be refused with exit 2 and one line
``mlgate: error: <config file>: key '<key>': <why>`` — before any data is read for config problems
(``mlgate gate --layer schema``), before any fit for estimator settings (``mlgate gate --layer quality``; those
name ``model.*`` keys). Run against the code before issue 7, 47 of these were accepted (exit 0: a NaN cost bound
disabled the cost check, an infinite champion margin meant the champion check could never fail), 6 ended in a
traceback with exit 1 (which CI cannot tell from a gate failure; under ``mlgate run`` so did the unknown and
non-scalar metric names) and 16 gave exit 2 with a message that named no key or the wrong one.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hostile_helpers import assert_one_line_error

ROOT = Path(__file__).resolve().parents[2]
GOOD = (ROOT / "mlgate.toml").read_text(encoding="utf-8")
DATA_LAYERS = ("gate", "--layer", "schema")
MODEL_LAYERS = ("gate", "--layer", "quality")
SEARCH = "random_state = 42\n\n[balance]"
EXCLUDE_AND_JOB = 'exclude = []                        # every column but the target\ncategorical = ["job"]'


def search(table: str) -> tuple[str, str]:
    """The [model] section with ``search = { <table> }`` added."""
    return SEARCH, f"random_state = 42\nsearch = {{ enabled = true, {table} }}\n\n[balance]"


def waiver(check: str, expires: str = "2099-01-01") -> tuple[str, str]:
    return "[mlflow]\n", f'[[waivers]]\ncheck = {check}\nreason = "r"\nowner = "o"\nexpires = {expires}\n\n[mlflow]\n'


FINITE = r"Input should be a finite number \(got (nan|-?inf)\)"
NEVER_FAILS = r"the check could never fail"

# (id, (old line, new line), command, key, regex for what follows "key '<key>': ")
CASES: list[tuple[str, tuple[str, str], tuple[str, ...], str, str]] = [
    # --- NaN and infinity: refused in every number of the file
    (
        "threshold-min-nan",
        ("roc_auc = { min = 0.70 }", "roc_auc = { min = nan }"),
        DATA_LAYERS,
        "quality.thresholds.roc_auc.min",
        FINITE,
    ),
    (
        "threshold-max-inf",
        ("log_loss = { max = 0.60 }", "log_loss = { max = inf }"),
        DATA_LAYERS,
        "quality.thresholds.log_loss.max",
        FINITE,
    ),
    (
        "slice-threshold-minus-inf",
        ('"*" = { roc_auc = { min = 0.60 }', '"*" = { roc_auc = { min = -inf }'),
        DATA_LAYERS,
        "quality.slice_thresholds.*.roc_auc.min",
        FINITE,
    ),
    (
        "group-gap-nan",
        ("max_group_gap = { roc_auc = 0.20 }", "max_group_gap = { roc_auc = nan }"),
        DATA_LAYERS,
        "quality.max_group_gap.roc_auc",
        FINITE,
    ),
    (
        "max-expected-cost-nan",
        ("max_expected_cost = 0.60", "max_expected_cost = nan"),
        DATA_LAYERS,
        "quality.max_expected_cost",
        FINITE,
    ),
    (
        "cost-matrix-inf",
        ("false_positive = 5", "false_positive = inf"),
        DATA_LAYERS,
        "quality.cost_matrix.false_positive",
        FINITE,
    ),
    (
        "champion-margin-inf",
        ("champion_margin = 0.01", "champion_margin = inf"),
        DATA_LAYERS,
        "quality.champion_margin",
        FINITE,
    ),
    (
        "baseline-margin-minus-inf",
        ("baseline_margin = 0.0", "baseline_margin = -inf"),
        DATA_LAYERS,
        "quality.baseline_margin",
        FINITE,
    ),
    (
        "decision-threshold-nan",
        ('decision_threshold = "optimize"', "decision_threshold = nan"),
        DATA_LAYERS,
        "quality.decision_threshold",
        r'strictly between 0 and 1, or "optimize" \(got nan\)',
    ),
    ("tolerance-nan", ("tolerance = 0.05", "tolerance = nan"), DATA_LAYERS, "balance.sensitive[0].tolerance", FINITE),
    (
        "bins-inner-inf",
        ("bins = [18, 25, 35, 50, 120]", "bins = [18, 25, inf, 50, 120]"),
        DATA_LAYERS,
        "balance.sensitive[1].bins[2]",
        r"must be a finite number \(got inf\); only the first edge may be -inf, the last inf",
    ),
    (
        "bins-nan",
        ("bins = [18, 25, 35, 50, 120]", "bins = [18, 25, 35, 50, nan]"),
        DATA_LAYERS,
        "balance.sensitive[1].bins[4]",
        r"must be a finite number \(got nan\)",
    ),
    ("drift-alpha-nan", ("alpha = 0.05", "alpha = nan"), DATA_LAYERS, "drift.alpha", FINITE),
    (
        "staleness-inf",
        ("[mlflow]\n", "[staleness]\nmax_age_days = inf\n\n[mlflow]\n"),
        DATA_LAYERS,
        "staleness.max_age_days",
        FINITE,
    ),
    (
        "estimator-param-nan",
        ("params = { C = 0.1, max_iter = 1000 }", "params = { C = nan }"),
        DATA_LAYERS,
        "model.params.C",
        r"must be a finite number \(got nan\)",
    ),
    # --- values that parse but make a gate meaningless
    (
        "decision-threshold-1.5",
        ('decision_threshold = "optimize"', "decision_threshold = 1.5"),
        DATA_LAYERS,
        "quality.decision_threshold",
        r"strictly between 0 and 1.*\(got 1\.5\)",
    ),
    (
        "decision-threshold-0",
        ('decision_threshold = "optimize"', "decision_threshold = 0"),
        DATA_LAYERS,
        "quality.decision_threshold",
        r"strictly between 0 and 1",
    ),
    (
        "decision-threshold-word",
        ('decision_threshold = "optimize"', 'decision_threshold = "best"'),
        DATA_LAYERS,
        "quality.decision_threshold",
        r"or \"optimize\" \(got 'best'\)",
    ),
    (
        "optimize-without-validation",
        ("validation_size = 0.25", "validation_size = 0"),
        DATA_LAYERS,
        "quality.decision_threshold",
        r'"optimize" needs split\.validation_size > 0',
    ),
    (
        "min-above-max",
        ("roc_auc = { min = 0.70 }", "roc_auc = { min = 0.9, max = 0.8 }"),
        DATA_LAYERS,
        "quality.thresholds.roc_auc",
        r"min = 0\.9 is above max = 0\.8: no value can pass",
    ),
    (
        "bound-outside-metric-range",
        ("roc_auc = { min = 0.70 }", "roc_auc = { min = 1.5 }"),
        DATA_LAYERS,
        "quality.thresholds.roc_auc.min",
        r"outside the range of roc_auc \[0, 1\]",
    ),
    (
        "champion-margin-negative",
        ("champion_margin = 0.01", "champion_margin = -0.5"),
        DATA_LAYERS,
        "quality.champion_margin",
        r"must be at least 0 \(got -0\.5\)",
    ),
    (
        "champion-margin-whole-range",
        ("champion_margin = 0.01", "champion_margin = 5"),
        DATA_LAYERS,
        "quality.champion_margin",
        NEVER_FAILS,
    ),
    (
        "baseline-margin-negative",
        ("baseline_margin = 0.0", "baseline_margin = -0.1"),
        DATA_LAYERS,
        "quality.baseline_margin",
        r"must be at least 0",
    ),
    (
        "group-gap-whole-range",
        ("max_group_gap = { roc_auc = 0.20 }", "max_group_gap = { roc_auc = 1.0 }"),
        DATA_LAYERS,
        "quality.max_group_gap.roc_auc",
        NEVER_FAILS,
    ),
    (
        "cost-matrix-rewards-errors",
        ("false_positive = 5", "false_positive = -5"),
        DATA_LAYERS,
        "quality.cost_matrix.false_positive",
        r"-5 is below true_negative = 0: an error may not cost less than the right decision",
    ),
    (
        "cost-margin-beyond-costs",
        ("baseline_cost_margin = 0.0", "baseline_cost_margin = 10"),
        DATA_LAYERS,
        "quality.baseline_cost_margin",
        r"below 5, the spread of quality\.cost_matrix",
    ),
    (
        "max-cost-without-matrix",
        ("cost_matrix = { false_positive = 5, false_negative = 1 }", ""),
        DATA_LAYERS,
        "quality.max_expected_cost",
        r"needs quality\.cost_matrix",
    ),
    (
        "warn-age-above-max-age",
        ("[mlflow]\n", "[staleness]\nwarn_age_days = 100\nmax_age_days = 50\n\n[mlflow]\n"),
        DATA_LAYERS,
        "staleness.warn_age_days",
        r"100 is above staleness\.max_age_days = 50",
    ),
    ("waiver-matching-everything", waiver('"*"'), DATA_LAYERS, "waivers[0].check", r"matches every check"),
    # --- metric names: unknown, or not a single number
    (
        "metric-typo",
        ("roc_auc = { min = 0.70 }", "rocauc = { min = 0.70 }"),
        DATA_LAYERS,
        "quality.thresholds.rocauc",
        r"unknown metric 'rocauc'; did you mean 'roc_auc'\?",
    ),
    (
        "metric-sklearn-function-name",
        ("roc_auc = { min = 0.70 }", "roc_auc_score = { min = 0.70 }"),
        DATA_LAYERS,
        "quality.thresholds.roc_auc_score",
        r"did you mean 'roc_auc'\?",
    ),
    (
        "metric-confusion-matrix",
        ("roc_auc = { min = 0.70 }", "confusion_matrix = { min = 0 }"),
        DATA_LAYERS,
        "quality.thresholds.confusion_matrix",
        r"'confusion_matrix' is not a single number \(a matrix\)",
    ),
    (
        "metric-classification-report",
        ("roc_auc = { min = 0.70 }", "classification_report = { min = 0 }"),
        DATA_LAYERS,
        "quality.thresholds.classification_report",
        r"not a single number \(a text report\)",
    ),
    (
        "metric-curve",
        ('champion_metric = "roc_auc"', 'champion_metric = "roc_curve"'),
        DATA_LAYERS,
        "quality.champion_metric",
        r"'roc_curve' is not a single number \(a curve\)",
    ),
    (
        "metric-auc-in-slice",
        ('"*" = { roc_auc = { min = 0.60 }', '"*" = { auc = { min = 0.60 }'),
        DATA_LAYERS,
        "quality.slice_thresholds.*.auc",
        r"'auc' is not a single number",
    ),
    (
        "metric-regression",
        ('baseline_metric = "roc_auc"', 'baseline_metric = "r2"'),
        DATA_LAYERS,
        "quality.baseline_metric",
        r"metric 'r2' does not exist for a binary target \(its metrics: roc_auc, ",
    ),
    (
        "metric-unknown-gap",
        ("max_group_gap = { roc_auc = 0.20 }", "max_group_gap = { nope = 0.2 }"),
        DATA_LAYERS,
        "quality.max_group_gap.nope",
        r"unknown metric 'nope'",
    ),
    # --- one role per column
    (
        "target-as-slice",
        ('columns = ["housing", "purpose"]', 'columns = ["housing", "risk"]'),
        DATA_LAYERS,
        "slices.columns[1]",
        r"'risk' is the target \(data\.target\)",
    ),
    (
        "target-as-sensitive",
        ('column = "sex"', 'column = "risk"'),
        DATA_LAYERS,
        "balance.sensitive[0].column",
        r"cannot also be a sensitive attribute",
    ),
    (
        "target-as-feature",
        (EXCLUDE_AND_JOB, 'include = ["age", "risk"]'),
        DATA_LAYERS,
        "features.include[1]",
        r"'risk' is the target",
    ),
    (
        "target-excluded",
        ("exclude = []", 'exclude = ["risk"]'),
        DATA_LAYERS,
        "features.exclude[0]",
        r"'risk' is the target",
    ),
    (
        "target-as-event-time",
        ("[data]\n", '[data]\nevent_time_column = "risk"\n'),
        DATA_LAYERS,
        "data.event_time_column",
        r"'risk' is the target",
    ),
    (
        "feature-listed-twice",
        (EXCLUDE_AND_JOB, 'include = ["age", "sex", "age"]'),
        DATA_LAYERS,
        "features.include",
        r"lists 'age' twice",
    ),
    (
        "features-include-empty",
        ("exclude = []", "include = []"),
        DATA_LAYERS,
        "features.include",
        r"features\.include is empty",
    ),
    (
        "feature-numeric-and-categorical",
        ('categorical = ["job"]', 'categorical = ["job"]\nnumeric = ["job"]'),
        DATA_LAYERS,
        "features.numeric",
        r"'job' is also in features\.categorical",
    ),
    (
        "sensitive-declared-twice",
        (
            'tolerance = 0.05\n\n[[balance.sensitive]]\ncolumn = "age"',
            'tolerance = 0.05\n\n[[balance.sensitive]]\ncolumn = "sex"\nreference = { male = 1.0 }\n\n'
            '[[balance.sensitive]]\ncolumn = "age"',
        ),
        DATA_LAYERS,
        "balance.sensitive[1].column",
        r"'sex' is declared twice",
    ),
    (
        "band-label-not-a-reference",
        ('labels = ["18-24", "25-34", "35-49", "50+"]', 'labels = ["a", "b", "c", "d"]'),
        DATA_LAYERS,
        "balance.sensitive[1].reference.18-24",
        r"'18-24' is not a band of 'age' \(bands: a, b, c, d\)",
    ),
    # --- CSV reading settings
    (
        "delimiter-empty",
        ("[data]\n", '[data]\ndelimiter = ""\n'),
        DATA_LAYERS,
        "data.delimiter",
        r"must be exactly one character .* \(got ''\)",
    ),
    (
        "delimiter-two-characters",
        ("[data]\n", '[data]\ndelimiter = ";;"\n'),
        DATA_LAYERS,
        "data.delimiter",
        r"exactly one character",
    ),
    (
        "delimiter-line-break",
        ("[data]\n", '[data]\ndelimiter = "\\n"\n'),
        DATA_LAYERS,
        "data.delimiter",
        r"other than a line break",
    ),
    (
        "encoding-unknown",
        ("[data]\n", '[data]\nencoding = "utf-99"\n'),
        DATA_LAYERS,
        "data.encoding",
        r"unknown encoding; use a text encoding such as 'utf-8'",
    ),
    (
        "encoding-not-text",
        ("[data]\n", '[data]\nencoding = "hex"\n'),
        DATA_LAYERS,
        "data.encoding",
        r"not a text encoding",
    ),
    # --- wrong types, empty strings, out-of-range sizes
    (
        "positive-label-list",
        ("positive_label = 1 ", "positive_label = [1] "),
        DATA_LAYERS,
        "data.positive_label",
        r"must be a non-empty string, an integer or a boolean",
    ),
    (
        "source-empty",
        ('source = "data/german_credit.csv"', 'source = ""'),
        DATA_LAYERS,
        "data.source",
        r"must not be empty",
    ),
    ("target-blank", ('target = "risk"', 'target = "  "'), DATA_LAYERS, "data.target", r"must not be empty"),
    (
        "seed-negative",
        ("random_state = 0\n", "random_state = -3\n"),
        DATA_LAYERS,
        "quality.random_state",
        r"greater than or equal to 0 \(got -3\)",
    ),
    (
        "seed-beyond-32-bits",
        ("random_state = 42\n\n[model]", "random_state = 99999999999\n\n[model]"),
        DATA_LAYERS,
        "split.random_state",
        r"less than or equal to 4294967295",
    ),
    (
        "bootstrap-resamples-huge",
        ("bootstrap_resamples = 1000", "bootstrap_resamples = 1000000000"),
        DATA_LAYERS,
        "quality.bootstrap_resamples",
        r"less than or equal to 100000",
    ),
    (
        "min-size-negative",
        ("min_size = 30", "min_size = -1"),
        DATA_LAYERS,
        "slices.min_size",
        r"greater than or equal to 1",
    ),
    (
        "drift-columns-empty",
        ('correction = "holm"', 'correction = "holm"\ncolumns = []'),
        DATA_LAYERS,
        "drift.columns",
        r"is empty",
    ),
    (
        "split-by-time-without-event-time",
        ("random_state = 42\n\n[model]", 'random_state = 42\nby = "time"\n\n[model]'),
        DATA_LAYERS,
        "data.event_time_column",
        r'is required by split\.by = "time"',
    ),
    (
        "split-by-unknown",
        ("random_state = 42\n\n[model]", 'random_state = 42\nby = "date"\n\n[model]'),
        DATA_LAYERS,
        "split.by",
        r"Input should be 'random' or 'time'",
    ),
    (
        "drift-current-sql-without-query",
        ('correction = "holm"', 'correction = "holm"\ncurrent = "sqlite:///new.db"'),
        DATA_LAYERS,
        "drift.current",
        r"`query` is required when `source` is an SQLAlchemy URL",
    ),
    (
        "drift-label-floor-above-one",
        ('correction = "holm"', 'correction = "holm"\nlabel_effect_floor = 1.5'),
        DATA_LAYERS,
        "drift.label_effect_floor",
        r"less than or equal to 1",
    ),
    (
        "search-without-candidates",
        search("param_distributions = { C = [] }"),
        DATA_LAYERS,
        "model.search.param_distributions.C",
        r"has no candidate values",
    ),
    (
        "waiver-date-invalid",
        waiver('"quality.champion"', '"2026-02-30"'),
        DATA_LAYERS,
        "waivers[0].expires",
        r"valid date",
    ),
    ("waiver-check-empty", waiver('""'), DATA_LAYERS, "waivers[0].check", r"must not be empty"),
    (
        "experiment-empty",
        ('experiment = "german-credit"', 'experiment = ""'),
        DATA_LAYERS,
        "mlflow.experiment",
        r"must not be empty",
    ),
]

# Estimator settings: only scikit-learn knows an estimator's parameters, so these are found when the model is built,
# still before anything is fitted, and named by key: (id, (old, new), regex for the whole message after the file)
MODEL_CASES = [
    (
        "param-wrong-type",
        ("params = { C = 0.1, max_iter = 1000 }", 'params = { C = "abc" }'),
        r"model\.params\.C: The 'C' parameter of LogisticRegression must be a float .* Got 'abc' instead",
    ),
    (
        "param-negative",
        ("params = { C = 0.1, max_iter = 1000 }", "params = { C = -1.0 }"),
        r"model\.params\.C: .* Got -1\.0 instead",
    ),
    (
        "param-unknown",
        ("params = { C = 0.1, max_iter = 1000 }", "params = { Cc = 1.0 }"),
        r"model\.params\.Cc: LogisticRegression has no parameter 'Cc'; did you mean 'C'\?",
    ),
    (
        "param-table",
        ("params = { C = 0.1, max_iter = 1000 }", "params = { C = { a = 1 } }"),
        r"model\.params\.C: The 'C' parameter",
    ),
    (
        "search-unknown-parameter",
        search("param_distributions = { depth = [1, 2] }"),
        r"model\.search\.param_distributions\.depth: LogisticRegression has no parameter 'depth'",
    ),
    (
        "search-candidate-wrong-type",
        search('param_distributions = { C = [0.1, "x"] }'),
        r"model\.search\.param_distributions\.C\[1\]: The 'C' parameter .* Got 'x' instead",
    ),
    (
        "search-unknown-scoring",
        search('scoring = "rocauc", param_distributions = { C = [0.1, 1.0] }'),
        r"model\.search\.scoring: 'rocauc' is not a scikit-learn scorer name; did you mean 'roc_auc'\?",
    ),
    (
        "estimator-unknown",
        ('estimator = "logistic_regression"', 'estimator = "svm"'),
        r"model\.estimator 'svm' is neither a short name",
    ),
    (
        "estimator-not-a-classifier",
        ('estimator = "logistic_regression"', 'estimator = "os.system"'),
        r"model\.estimator 'os\.system' is not a scikit-learn classifier",
    ),
]


def broken(project: Path, old: str, new: str) -> Path:
    config = project / "mlgate.toml"
    assert old in GOOD, old
    config.write_text(GOOD.replace(old, new, 1), encoding="utf-8")
    return config


@pytest.mark.parametrize(
    ("change", "command", "key", "pattern"),
    [pytest.param(change, command, key, pattern, id=case_id) for case_id, change, command, key, pattern in CASES],
)
def test_config_value_is_refused_naming_the_key(
    run_cli, project_copy: Path, change: tuple[str, str], command: tuple[str, ...], key: str, pattern: str
) -> None:
    config = broken(project_copy, *change)
    out = project_copy / "reports"
    result = run_cli(*command, "--config", str(config), "--out", str(out))
    assert_one_line_error(result, 2, rf"^mlgate: error: {re.escape(str(config))}: key '{re.escape(key)}': .*{pattern}")
    assert not out.exists(), "nothing may be written for a bad config"


@pytest.mark.parametrize(
    ("change", "pattern"), [pytest.param(change, pattern, id=case_id) for case_id, change, pattern in MODEL_CASES]
)
def test_estimator_setting_is_refused_before_fitting(
    run_cli, project_copy: Path, change: tuple[str, str], pattern: str
) -> None:
    config = broken(project_copy, *change)
    out = project_copy / "reports"
    result = run_cli(*MODEL_LAYERS, "--config", str(config), "--out", str(out))
    assert_one_line_error(result, 2, rf"^mlgate: error: {re.escape(str(config))}: {pattern}")
    assert "Traceback" not in result.error_line
    assert not out.exists()


def test_the_unbroken_config_passes_the_same_command(run_cli, project_copy: Path) -> None:
    """The control: every case above is the bundled config with one line changed, and that config is accepted."""
    result = run_cli(*DATA_LAYERS, "--config", str(project_copy / "mlgate.toml"), "--out", str(project_copy / "r"))
    assert result.code == 0, result.stderr


def test_open_outer_bins_are_accepted(run_cli, project_copy: Path) -> None:
    """The control for the bins cases: an open last edge (`inf`) is a band like any other."""
    config = broken(project_copy, "bins = [18, 25, 35, 50, 120]", "bins = [18, 25, 35, 50, inf]")
    result = run_cli("gate", "--layer", "balance", "--config", str(config), "--out", str(project_copy / "r"))
    assert result.code == 0, result.stderr
    report = (project_copy / "r" / "report.json").read_text()
    assert "50+" in report
