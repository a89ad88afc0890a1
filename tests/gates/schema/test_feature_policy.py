"""The feature policy (checks.feature_policy): denied or not-allowed inputs fail, personal-looking ones warn."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sklearn.datasets import load_wine

from mlgate.checks.evidence import Evidence
from mlgate.checks.feature_policy import check_feature_policy, personal_data_reason
from mlgate.checks.integrity import run as integrity_run
from mlgate.checks.result import Reason, Status
from mlgate.pipeline.candidate import load_data
from mlgate.pipeline.config import FeatureSettings, load_config
from mlgate.pipeline.errors import ConfigError


def policy(project: Path, extra: str, *, exclude: str = "[]") -> dict:
    """The policy results of the bundled project with ``extra`` lines added to its [features] section."""
    path = project / "mlgate.toml"
    text = path.read_text().replace("[features]\n", f"[features]\n{extra}\n")
    path.write_text(text.replace("exclude = []", f"exclude = {exclude}"))
    config = load_config(path)
    data = load_data(config)
    evidence = Evidence(config=config, dataset=data.dataset, prepared=data.prepared, split=data.split)
    return {r.id: r for r in integrity_run(evidence) if r.id.startswith("schema.feature_policy")}


def test_a_denied_sensitive_attribute_used_as_a_feature_fails(project_copy: Path) -> None:
    results = policy(project_copy, 'deny = ["sex"]')
    assert list(results) == ["schema.feature_policy[sex]"]
    result = results["schema.feature_policy[sex]"]
    assert result.status is Status.FAIL and result.blocks and result.reason is Reason.DENIED_FEATURE
    assert "feature 'sex' is a model input but features.deny lists it" in result.message
    assert "features.exclude" in result.message


def test_a_denied_column_left_out_of_the_model_passes(project_copy: Path) -> None:
    """The audited attribute stays in the data (the balance gate still judges it) but is no input."""
    results = policy(project_copy, 'deny = ["sex"]', exclude='["sex"]')
    assert [(k, r.status) for k, r in results.items()] == [("schema.feature_policy", Status.PASS)]
    assert "features.deny kept out: sex" in results["schema.feature_policy"].message


def test_a_feature_outside_the_allow_list_fails(project_copy: Path) -> None:
    allowed = ["sex", "job", "housing", "saving_accounts", "checking_account", "credit_amount", "duration", "age"]
    results = policy(project_copy, f"allow = {allowed!r}".replace("'", '"'))
    assert list(results) == ["schema.feature_policy[purpose]"]
    assert results["schema.feature_policy[purpose]"].status is Status.FAIL
    assert "not in features.allow (sex, job," in results["schema.feature_policy[purpose]"].message


def test_a_misspelt_deny_list_warns(project_copy: Path) -> None:
    results = policy(project_copy, 'deny = ["gender"]')
    result = results["schema.feature_policy[gender]"]
    assert result.status is Status.WARN and not result.blocking and result.reason is Reason.INVALID_CONFIG
    assert "features.deny names 'gender', which is not a column of the data (columns: risk, sex," in result.message


def test_a_column_both_allowed_and_denied_is_refused_at_load(project_copy: Path) -> None:
    path = project_copy / "mlgate.toml"
    path.write_text(path.read_text().replace("[features]\n", '[features]\ndeny = ["age"]\nallow = ["age"]\n'))
    with pytest.raises(ConfigError, match=r"features.deny.*'age' is also in features.allow"):
        load_config(path)


def frame_with(**columns: list) -> pd.DataFrame:
    return pd.DataFrame(columns)


@pytest.mark.parametrize(
    ("name", "values", "expected"),
    [
        ("customer_email", ["a"] * 30, "its name contains 'email'"),
        ("PhoneNumber", list(range(30)), "its name contains 'phone'"),
        ("first_name", ["Ann"] * 30, "its name contains 'firstname'"),
        ("client_ip", ["x"] * 30, "its name contains 'ip'"),
        ("contact", [f"user{i}@example.org" for i in range(30)], "100% of its first 30 values look like e-mail"),
        ("contact", [f"+49 30 {1000000 + i}" for i in range(30)], "look like phone numbers"),
        ("origin", [f"10.0.0.{i}" for i in range(30)], "look like IPv4 addresses"),
        ("zip_code_region", ["north", "south"] * 15, None),  # 'zip' is not on the list; 'code'/'region' neither
        ("description", ["a long text"] * 30, None),  # 'ip' inside a word is no token
        ("applied_on", [f"2024-05-{1 + i % 28:02d}" for i in range(30)], None),  # ISO dates are no phone numbers
        ("amount", list(range(30)), None),
    ],
)
def test_personal_data_reason(name: str, values: list, expected: str | None) -> None:
    why = personal_data_reason(name, pd.Series(values, dtype="string" if isinstance(values[0], str) else None))
    assert (why is None) if expected is None else (expected in str(why)), why


def test_personal_looking_features_warn_unless_allowed() -> None:
    frame = frame_with(email=[f"u{i}@x.com" for i in range(30)], income=list(range(30)))
    warned = check_feature_policy(frame, ["email", "income"], list(frame.columns), FeatureSettings())
    assert [(r.id, r.status, r.reason) for r in warned] == [
        ("schema.feature_policy[email]", Status.WARN, Reason.PERSONAL_DATA)
    ]
    assert not warned[0].blocking and "list it in features.allow" in warned[0].message
    allowed = check_feature_policy(
        frame, ["email", "income"], list(frame.columns), FeatureSettings(allow=["email", "income"])
    )
    assert [(r.id, r.status) for r in allowed] == [("schema.feature_policy", Status.PASS)]


def test_data_we_did_not_write_wine_passes_and_a_denied_column_fails() -> None:
    frame = load_wine(as_frame=True).frame.drop(columns="target")
    features = list(frame.columns)
    clean = check_feature_policy(frame, features, features, FeatureSettings())
    assert [(r.id, r.status) for r in clean] == [("schema.feature_policy", Status.PASS)]
    denied = check_feature_policy(frame, features, features, FeatureSettings(deny=["alcohol"]))
    assert [(r.id, r.status) for r in denied] == [("schema.feature_policy[alcohol]", Status.FAIL)]
