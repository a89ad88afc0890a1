"""Release parity per task, without podman: the golden set a bundle carries for a multi-class and a regression
model, the bitwise comparison of 2-D class probabilities and predicted values, and the decisions."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression, Ridge

from mlgate.ci.release import make_bundle
from mlgate.ci.release.bundle import golden_scores, read_golden
from mlgate.ci.release.errors import ParityError, ReleaseError
from mlgate.ci.release.publish import ReleaseResult
from mlgate.ci.release.smoke import compare_golden, compare_probabilities
from mlgate.ci.release_flow import golden_answers

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "schemas" / "german_credit.schema.yaml"
INFO = {"model_name": "m", "model_version": "1", "run_id": "r", "data_fingerprint": "f", "gate_report_sha256": "s",
        "git_commit": "c"}  # fmt: skip
X = pd.DataFrame({"a": np.linspace(0.0, 3.0, 12), "b": np.tile([0.0, 1.0, 2.0], 4)})
CLASSES = ["low", "mid", "high"]
CLASSIFIER = LogisticRegression().fit(X, np.repeat([0, 1, 2], 4))
REGRESSOR = Ridge().fit(X, np.linspace(1.0, 5.0, 12) ** 2)
META = {"features": ["a", "b"], "numeric": ["a", "b"], "categorical": [], "threshold": 0.0, "positive_label": None}


def _bundle(dest: Path, task: str, scores, decisions=None) -> Path:
    model = CLASSIFIER if task == "multiclass" else REGRESSOR
    meta = {**META, "task": task, "classes": CLASSES if task == "multiclass" else []}
    return make_bundle(dest, model=model, schema_path=SCHEMA, release_info=INFO, meta=meta, golden_X=X,
                       golden_proba=scores, golden_decisions=decisions)  # fmt: skip


def _served(golden: dict) -> dict:
    """What the app answers for the golden rows, built from the golden set itself (a perfect server)."""
    if golden["task"] == "multiclass":
        items = [
            {"request_id": f"b-{i}", "prediction": d, "probabilities": dict(zip(golden["classes"], p, strict=True))}
            for i, (p, d) in enumerate(zip(golden["proba"], golden["decisions"], strict=True))
        ]
    else:
        items = [{"request_id": f"b-{i}", "prediction": v} for i, v in enumerate(golden["values"])]
    return {"model_name": "m", "request_id": "b", "predictions": items}


def test_a_multiclass_golden_set_round_trips_bitwise_with_its_decisions(tmp_path):
    proba = CLASSIFIER.predict_proba(X)
    decisions = [CLASSES[c] for c in np.argmax(proba, axis=1)]
    golden = read_golden(_bundle(tmp_path / "b", "multiclass", proba, decisions))
    assert (golden["task"], golden["classes"], golden["decisions"]) == ("multiclass", CLASSES, decisions)
    assert np.array_equal(golden_scores(golden).view(np.uint64), proba.view(np.uint64))
    assert compare_golden(golden, _served(golden)).passed


def test_a_regression_golden_set_holds_the_predicted_values(tmp_path):
    values = REGRESSOR.predict(X)
    golden = read_golden(_bundle(tmp_path / "b", "regression", values))
    assert "proba" not in golden and "decisions" not in golden
    assert np.array_equal(golden_scores(golden).view(np.uint64), values.view(np.uint64))
    assert compare_golden(golden, _served(golden)).passed


@pytest.mark.parametrize(
    ("task", "scores", "decisions", "message"),
    [
        ("multiclass", np.full(12, 0.5), None, r"shape \(12,\), expected \(12, 3\): one probability per golden row"),
        ("multiclass", np.full((12, 2), 0.5), None, r"expected \(12, 3\).*\(3 classes in model.meta.json\)"),
        ("regression", np.full((12, 3), 0.5), None, r"expected \(12,\): one predicted value per golden row"),
        ("regression", np.full(11, 0.5), None, r"expected \(12,\) or \(12, k\)"),
        ("multiclass", np.full((12, 3), 0.5), ["low"] * 11, "11 golden decisions for 12 golden rows"),
    ],
    ids=["multiclass-1d", "multiclass-wrong-k", "regression-2d", "too-few-rows", "too-few-decisions"],
)
def test_make_bundle_refuses_scores_that_do_not_fit_the_task(tmp_path, task, scores, decisions, message):
    with pytest.raises(ReleaseError, match=message):
        _bundle(tmp_path / "b", task, scores, decisions)
    assert not (tmp_path / "b").exists() and not (tmp_path / "b.partial").exists()


def test_parity_detects_one_ulp_in_one_class_probability():
    expected = CLASSIFIER.predict_proba(X)
    observed = expected.copy()
    observed[5, 2] = np.nextafter(observed[5, 2], 1.0)
    result = compare_probabilities(expected, observed)
    assert (result.passed, result.mismatches, result.first_mismatch, result.rows) == (False, 1, 5, 12)
    with pytest.raises(ParityError, match=r"served scores of shape \(12, 2\) for golden scores of shape \(12, 3\)"):
        compare_probabilities(expected, observed[:, :2])


def test_parity_detects_a_changed_value_or_decision(tmp_path):
    values = REGRESSOR.predict(X)
    golden = read_golden(_bundle(tmp_path / "r", "regression", values))
    served = _served(golden)
    served["predictions"][3]["prediction"] = float(np.nextafter(values[3], np.inf))
    result = compare_golden(golden, served)
    assert (result.task, result.mismatches, result.first_mismatch) == ("regression", 1, 3)

    proba = CLASSIFIER.predict_proba(X)
    decisions = [CLASSES[c] for c in np.argmax(proba, axis=1)]
    golden = read_golden(_bundle(tmp_path / "m", "multiclass", proba, decisions))
    served = _served(golden)
    served["predictions"][7]["prediction"] = "low" if decisions[7] != "low" else "high"
    result = compare_golden(golden, served)
    assert (result.mismatches, result.decision_mismatches, result.first_decision_mismatch) == (0, 1, 7)
    check = ReleaseResult(
        image="img", digest="sha256:" + "0" * 64, parity=result, labels={}, user="1000"
    ).parity_check()
    assert check.status.value == "fail" and check.observed["decision_mismatches"] == 1
    assert "decision of 1 of 12 golden rows differs from the gate's (first row 7)" in check.message
    assert "does not carry the gate's decision rule" in check.message


def test_binary_decisions_must_match_in_json_type_too(tmp_path):
    """A served ``true`` is not the decision ``1``: JSON types are compared, not only values."""
    proba = CLASSIFIER.predict_proba(X)[:, 1]
    meta = {**META, "threshold": 0.5, "positive_label": 1}
    golden = read_golden(make_bundle(tmp_path / "b", model=LogisticRegression().fit(X, np.repeat([0, 1], 6)),
                                     schema_path=SCHEMA, release_info=INFO, meta=meta, golden_X=X, golden_proba=proba,
                                     golden_decisions=[int(p >= 0.5) for p in proba]))  # fmt: skip
    items = [{"prediction": bool(d), "probability": p} for d, p in zip(golden["decisions"], proba, strict=True)]
    result = compare_golden(golden, {"predictions": items})
    assert result.mismatches == 0 and result.decision_mismatches == 12


def test_a_golden_set_without_task_is_a_binary_one(tmp_path):
    bundle = _bundle(tmp_path / "b", "regression", REGRESSOR.predict(X))
    (bundle / "golden.json").write_text(json.dumps({"features": ["a"], "rows": [{"a": 1}], "proba": [0.25]}))
    assert read_golden(bundle)["task"] == "binary"


def test_the_release_golden_decisions_follow_the_projects_class_costs():
    """``mlgate release`` decides the golden rows as the gate does: least expected cost under quality.class_costs."""
    proba = CLASSIFIER.predict_proba(X)
    meta = {"task": "multiclass", "classes": CLASSES, "threshold": 0.0}
    plain = SimpleNamespace(quality=SimpleNamespace(class_costs=None))
    scores, decisions = golden_answers(plain, meta, CLASSIFIER, X)  # type: ignore[arg-type]
    assert np.array_equal(scores.view(np.uint64), proba.view(np.uint64))
    assert decisions == [CLASSES[c] for c in np.argmax(proba, axis=1)]
    never_low = {"low": {"low": 0, "mid": 0, "high": 0}, "mid": {"low": 50, "mid": 0, "high": 1},
                 "high": {"low": 50, "mid": 1, "high": 0}}  # fmt: skip
    costly = SimpleNamespace(quality=SimpleNamespace(class_costs=never_low))
    _, decided = golden_answers(costly, meta, CLASSIFIER, X)  # type: ignore[arg-type]
    assert "low" in decisions and "low" not in decided
    _, values = golden_answers(plain, {"task": "regression"}, REGRESSOR, X)  # type: ignore[arg-type]
    assert values == []
