"""``[deepchecks]``'s check names and conditions, validated at load against the committed catalogue of deepchecks'
suites (no deepchecks here), and the job file's ``conditions`` the runner applies. The catalogue matching the
environment, and the conditions flipping a check, are tested in tests/integration/test_deepchecks_env.py."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

import mlgate.pipeline
from mlgate.ci.deepchecks.catalogue import _json_value, _parameters
from mlgate.ci.deepchecks.job import JobError, parse_job
from mlgate.pipeline.config import DeepchecksSettings, load_config
from mlgate.pipeline.config_deepchecks import CATALOGUE, SUITES, catalogue
from mlgate.pipeline.errors import ConfigError

MINIMAL = """
[data]
source = "data.csv"
target = "y"
positive_label = 1
"""

STRICTER = """
[deepchecks.conditions.FeatureDrift]
add_condition_drift_score_less_than = { max_allowed_numeric_score = 0.1, max_allowed_categorical_score = 0.1 }
"""


def load(tmp_path: Path, text: str) -> DeepchecksSettings:
    path = tmp_path / "mlgate.toml"
    path.write_text(MINIMAL + text, encoding="utf-8")
    return load_config(path).deepchecks


def test_the_catalogue_ships_inside_the_package_and_covers_every_suite() -> None:
    assert CATALOGUE.parent == Path(mlgate.pipeline.__file__).parent  # packaged with mlgate.pipeline's files
    data = catalogue()
    assert data["deepchecks_version"] == "0.19.1"
    assert list(data["suites"]) == list(SUITES)
    assert data["suites"]["train_test_validation"][9] == "FeatureDrift"
    for checks in data["suites"].values():
        assert all(check in data["checks"] for check in checks)
    methods = [method for check in data["checks"].values() for method in check]
    assert methods and all(method.startswith("add_condition_") for method in methods)
    assert data["checks"]["MixedDataTypes"]["add_condition_rare_type_ratio_not_in_range"] == {
        "ratio_range": {"default": [0.01, 0.1]}
    }
    assert data["checks"]["TrainTestPerformance"]["add_condition_test_performance_greater_than"] == {
        "min_score": {"required": True}
    }


def test_conditions_replace_or_remove_a_checks_defaults(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        STRICTER
        + """
[deepchecks]
checks = { model_evaluation = ["RocReport", "SimpleModelComparison"] }
advisory = ["model_evaluation.SimpleModelComparison", "MixedDataTypes"]

[deepchecks.conditions]
RocReport = {}

[deepchecks.conditions.MixedDataTypes]
add_condition_rare_type_ratio_not_in_range = { ratio_range = [0.0, 0.2] }
""",
    )
    assert settings.conditions == {
        "FeatureDrift": {
            "add_condition_drift_score_less_than": {
                "max_allowed_numeric_score": 0.1,
                "max_allowed_categorical_score": 0.1,
            }
        },
        "RocReport": {},
        "MixedDataTypes": {"add_condition_rare_type_ratio_not_in_range": {"ratio_range": [0.0, 0.2]}},
    }


def test_no_conditions_by_default(tmp_path: Path) -> None:
    assert load(tmp_path, "").conditions == {}


COND = "\n[deepchecks.conditions.{check}]\n{method} = {{ {kwargs} }}\n"
DRIFT = "add_condition_drift_score_less_than"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            COND.format(check="FeatureDrift", method="add_condition_foo", kwargs=""),
            "key 'deepchecks.conditions.FeatureDrift.add_condition_foo': not a condition of FeatureDrift; "
            f"it has {DRIFT}",
        ),
        (
            COND.format(check="FeatureDrift", method="add_condition", kwargs=""),
            "key 'deepchecks.conditions.FeatureDrift.add_condition': not a condition of FeatureDrift "
            "(conditions start with add_condition_)",
        ),
        (
            COND.format(check="FeatureDrift", method=DRIFT, kwargs="max_score = 0.1"),
            f"key 'deepchecks.conditions.FeatureDrift.{DRIFT}.max_score': not a parameter of FeatureDrift.{DRIFT}; "
            "it takes max_allowed_categorical_score, max_allowed_numeric_score, allowed_num_features_exceeding_thres",
        ),
        (
            COND.format(check="FeatureDrift", method=DRIFT, kwargs="max_allowed_numeric_score = '0.1'"),
            f"key 'deepchecks.conditions.FeatureDrift.{DRIFT}.max_allowed_numeric_score': must be a number like its "
            'default 0.2 (got "0.1")',
        ),
        (
            COND.format(check="FeatureDrift", method=DRIFT, kwargs="max_allowed_numeric_score = nan"),
            f"key 'deepchecks.conditions.FeatureDrift.{DRIFT}.max_allowed_numeric_score': must be a finite number",
        ),
        (
            COND.format(check="FeatureDrift", method=DRIFT, kwargs="max_allowed_numeric_score = 2026-01-01"),
            f"key 'deepchecks.conditions.FeatureDrift.{DRIFT}.max_allowed_numeric_score': must be a number, string, "
            "boolean, list or table, not a date",
        ),
        (
            COND.format(check="IsSingleValue", method="add_condition_not_single_value", kwargs="strict = true"),
            "key 'deepchecks.conditions.IsSingleValue.add_condition_not_single_value.strict': not a parameter of "
            "IsSingleValue.add_condition_not_single_value; it takes no arguments",
        ),
        (
            COND.format(check="TrainTestPerformance", method="add_condition_test_performance_greater_than", kwargs=""),
            "key 'deepchecks.conditions.TrainTestPerformance.add_condition_test_performance_greater_than': needs "
            "min_score (no default)",
        ),
        (
            COND.format(check="CalibrationScore", method="add_condition_calibrated", kwargs=""),
            "key 'deepchecks.conditions.CalibrationScore.add_condition_calibrated': not a condition of "
            "CalibrationScore; it has no add_condition_* method",
        ),
        (
            "\n[deepchecks.conditions]\nFeatureDrfit = {}\n",
            "key 'deepchecks.conditions.FeatureDrfit': FeatureDrfit is not a check of deepchecks' tabular suites",
        ),
        (
            "\n[deepchecks]\nsuites = ['data_integrity']\n[deepchecks.conditions]\nFeatureDrift = {}\n",
            "key 'deepchecks.conditions.FeatureDrift': FeatureDrift is in train_test_validation, which is not in "
            "deepchecks.suites",
        ),
        (
            "\n[deepchecks]\nchecks = { train_test_validation = ['LabelDrift'] }\n"
            "[deepchecks.conditions]\nFeatureDrift = {}\n",
            "key 'deepchecks.conditions.FeatureDrift': FeatureDrift is not run: "
            "deepchecks.checks.train_test_validation does not keep it",
        ),
        (
            "\n[deepchecks.conditions]\nFeatureDrift = { add_condition_drift_score_less_than = 0.1 }\n",
            f"key 'deepchecks.conditions.FeatureDrift.{DRIFT}': Input should be a valid dictionary",
        ),
        (
            "\n[deepchecks]\nchecks = { train_test_validation = ['FeatureDrfit'] }\n",
            "key 'deepchecks.checks.train_test_validation': 'FeatureDrfit' is not a check of train_test_validation; "
            "it has DatasetsSizeComparison, ",
        ),
        (
            "\n[deepchecks]\nchecks = { data_integrity = ['FeatureDrift'] }\n",
            "key 'deepchecks.checks.data_integrity': 'FeatureDrift' is not a check of data_integrity",
        ),
        (
            "\n[deepchecks]\nadvisory = ['SimpleModelComparsion']\n",
            "key 'deepchecks.advisory': 'SimpleModelComparsion': SimpleModelComparsion is not a check of deepchecks'",
        ),
        (
            "\n[deepchecks]\nadvisory = ['data_integrity.FeatureDrift']\n",
            "key 'deepchecks.advisory': 'data_integrity.FeatureDrift': FeatureDrift is not in data_integrity; it is "
            "in train_test_validation",
        ),
        (
            "\n[deepchecks]\nadvisory = ['evaluation.RocReport']\n",
            "key 'deepchecks.advisory': 'evaluation.RocReport': 'evaluation' is not a suite",
        ),
    ],
)
def test_a_bad_check_name_or_condition_is_one_line_naming_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    line = str(caught.value)
    assert "\n" not in line
    assert message in line


def job_file(tmp_path: Path, **extra: object) -> dict:
    for name in ("train.parquet", "test.parquet"):
        (tmp_path / name).write_bytes(b"")
    spec = {"train": "train.parquet", "test": "test.parquet", "label": "risk", "task": "binary"}
    return {**spec, "suites": ["train_test_validation"], "out": "out", **extra}


def test_the_job_file_carries_the_conditions(tmp_path: Path) -> None:
    conditions = {"FeatureDrift": {DRIFT: {"max_allowed_numeric_score": 0.05}}, "LabelDrift": {}}
    assert parse_job(job_file(tmp_path, conditions=conditions), tmp_path).conditions == conditions
    assert parse_job(job_file(tmp_path), tmp_path).conditions == {}


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        (["FeatureDrift"], "'conditions' must map check class names to their conditions"),
        ({"FeatureDrift": [DRIFT]}, "'conditions.FeatureDrift' must map add_condition_* methods"),
        ({"FeatureDrift": {"reduce_output": {}}}, "'conditions.FeatureDrift.reduce_output': not a condition method"),
        ({"FeatureDrift": {DRIFT: 0.1}}, f"'conditions.FeatureDrift.{DRIFT}' must map argument names to values"),
    ],
)
def test_a_malformed_conditions_key_is_a_job_error_naming_it(tmp_path: Path, conditions: object, message: str) -> None:
    with pytest.raises(JobError, match=re.escape(message)):
        parse_job(job_file(tmp_path, conditions=conditions), tmp_path)


class _Check:
    def add_condition_example(self, ratio=(0.1, 0.2), limit=math.inf, name="x", *, strict=False, score) -> None:
        pass

    def add_condition_variadic(self, **params: object) -> None:
        pass


def test_the_catalogue_generator_describes_defaults_as_json_or_their_repr() -> None:
    assert _parameters("Example", _Check.add_condition_example) == {
        "ratio": {"default": [0.1, 0.2]},
        "limit": {"default_repr": "inf"},
        "name": {"default": "x"},
        "strict": {"default": False},
        "score": {"required": True},
    }
    assert _json_value(object()) == (False, None)
    with pytest.raises(SystemExit, match="cannot describe parameter"):
        _parameters("Example", _Check.add_condition_variadic)
