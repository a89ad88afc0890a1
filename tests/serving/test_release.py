"""Release tooling without podman: refusals, the bundle contract, exact parity, nginx config, canary weights."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression

import mlgate.ci.release
from mlgate.checks.result import CheckResult, GateReport, Status
from mlgate.ci.release import ReleaseRefused, check_release_inputs, make_bundle, release
from mlgate.ci.release.bundle import read_golden, sha256_file
from mlgate.ci.release.deploy import DeployState, Replica, _weights
from mlgate.ci.release.errors import ReleaseError
from mlgate.ci.release.nginx import Upstream, render_config
from mlgate.ci.release.smoke import compare_probabilities
from mlgate.pipeline.config import load_config

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "schemas" / "german_credit.schema.yaml"


def _report(path: Path, *, status: Status) -> Path:
    result = CheckResult(id="quality.metric[roc_auc]", layer="quality", status=status, message="roc_auc 0.61 < 0.70")
    path.write_text(json.dumps(GateReport.collect([result]).to_dict()))
    return path


def _bundle(tmp_path: Path, report: Path, **release_overrides) -> Path:
    X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1, 0, 1, 0]})
    model = LogisticRegression().fit(X, [0, 0, 1, 1])
    info = {
        "model_name": "m",
        "model_version": "3",
        "run_id": "r",
        "data_fingerprint": "fp",
        "gate_report_sha256": sha256_file(report),
        "git_commit": "c0ffee",
        **release_overrides,
    }
    return make_bundle(
        tmp_path / "bundle",
        model=model,
        schema_path=SCHEMA,
        release_info=info,
        meta={"features": ["a", "b"], "numeric": ["a", "b"], "categorical": [], "threshold": 0.5, "positive_label": 1},
        golden_X=X,
        golden_proba=model.predict_proba(X)[:, 1],
    )


def test_public_surface():
    assert sorted(mlgate.ci.release.__all__) == mlgate.ci.release.__all__
    assert all(hasattr(mlgate.ci.release, name) for name in mlgate.ci.release.__all__)


def test_release_refuses_a_failing_report_without_podman(tmp_path):
    report = _report(tmp_path / "report.json", status=Status.FAIL)
    bundle = _bundle(tmp_path, report)
    config = load_config(ROOT / "mlgate.toml")
    with pytest.raises(
        ReleaseRefused, match=r"did not pass \(1 blocking check\(s\) failed: quality.metric\[roc_auc\]\)"
    ):
        release(config, report_path=report, bundle_dir=bundle, workdir=tmp_path / "work")
    assert ReleaseRefused("x").exit_code == 1
    assert not (tmp_path / "work").exists()


def test_release_refuses_a_report_the_bundle_does_not_name(tmp_path):
    report = _report(tmp_path / "report.json", status=Status.PASS)
    bundle = _bundle(tmp_path, report, gate_report_sha256="0" * 64)
    with pytest.raises(ReleaseRefused, match="the bundle was not made from this report"):
        check_release_inputs(report_path=report, bundle_dir=bundle)


def test_release_refuses_a_changed_model(tmp_path):
    report = _report(tmp_path / "report.json", status=Status.PASS)
    bundle = _bundle(tmp_path, report, model_sha256="1" * 64)
    with pytest.raises(ReleaseRefused, match="model.skops has sha256 .* release.json records 111111111111"):
        check_release_inputs(report_path=report, bundle_dir=bundle)


def test_release_refuses_a_missing_report(tmp_path):
    with pytest.raises(ReleaseRefused, match="not found; run `mlgate run` first"):
        check_release_inputs(report_path=tmp_path / "nope.json", bundle_dir=tmp_path)


def test_a_passing_report_matching_the_bundle_is_accepted(tmp_path):
    report = _report(tmp_path / "report.json", status=Status.PASS)
    bundle = _bundle(tmp_path, report)
    info = check_release_inputs(report_path=report, bundle_dir=bundle)
    assert info["model_sha256"] == sha256_file(bundle / "model.skops")
    assert sorted(p.name for p in bundle.iterdir()) == [
        "golden.json", "model.meta.json", "model.skops", "release.json", "schema.yaml",
    ]  # fmt: skip


def test_make_bundle_rejects_incomplete_release_info(tmp_path):
    with pytest.raises(ReleaseError, match="release_info lacks run_id, git_commit"):
        make_bundle(
            tmp_path / "b", model=None, schema_path=SCHEMA, meta={},
            release_info={"model_name": "m", "model_version": "1", "data_fingerprint": "f", "gate_report_sha256": "s"},
            golden_X=pd.DataFrame({"a": [1]}), golden_proba=np.array([0.5]),
        )  # fmt: skip


_MODEL = LogisticRegression().fit(pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0]}), [0, 0, 1, 1])


@settings(max_examples=15)
@given(st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=30))
def test_golden_probabilities_round_trip_bit_for_bit(tmp_path_factory, proba):
    """make_bundle writes the offline probabilities so that reading them back gives the very same doubles."""
    bundle = make_bundle(
        tmp_path_factory.mktemp("golden") / "bundle", model=_MODEL, schema_path=SCHEMA,
        release_info={"model_name": "m", "model_version": "1", "run_id": "r", "data_fingerprint": "f",
                      "gate_report_sha256": "s", "git_commit": "c"},
        meta={"features": ["a"]}, golden_X=pd.DataFrame({"a": np.linspace(0, 1, len(proba))}),
        golden_proba=np.array(proba),
    )  # fmt: skip
    assert compare_probabilities(proba, read_golden(bundle)["proba"]).passed


def test_parity_detects_a_one_ulp_difference():
    expected = np.array([0.25, 0.5, 0.75])
    observed = expected.copy()
    observed[1] = np.nextafter(0.5, 1.0)
    result = compare_probabilities(expected, observed)
    assert (result.passed, result.mismatches, result.first_mismatch) == (False, 1, 1)
    assert 0 < result.max_abs_diff < 1e-15
    assert compare_probabilities(expected, expected.copy()).passed


def test_nginx_config_retries_and_refuses_an_empty_upstream(tmp_path):
    text = render_config(tmp_path, listen_port=8080, upstreams=[Upstream(8081), Upstream(8082, 3)], generation=4)
    assert "listen 127.0.0.1:8080;" in text
    assert "server 127.0.0.1:8082 weight=3 max_fails=1" in text
    assert "proxy_next_upstream error timeout http_502 http_503 http_504 non_idempotent;" in text
    assert "X-Mlgate-Generation 4" in text
    with pytest.raises(ReleaseError, match="no upstream replica"):
        render_config(tmp_path, listen_port=8080, upstreams=[], generation=1)


@pytest.mark.parametrize(("share", "stable", "expected"), [(0.1, 2, (45, 10)), (0.5, 1, (50, 50)), (0.25, 3, (25, 25))])
def test_canary_weights_give_the_canary_its_share(tmp_path, share, stable, expected):
    replicas = [Replica(f"s{i}", 9000 + i, "old") for i in range(stable)] + [Replica("c", 9100, "new", role="canary")]
    state = DeployState(workdir=tmp_path, port=8999, image="old", replicas=replicas, canary_share=share)
    weights = {u.port: u.weight for u in _weights(state)}
    assert (weights[9000], weights[9100]) == expected
    total = sum(weights.values())
    assert abs(weights[9100] / total - share) < 0.02


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.update(passed=True), r"says it passed, but its results hold 1 blocking failure\(s\) \(quality"),
        (lambda d: d.update(passed=True, results="x"), r"is not a gate report this mlgate can read"),
        (lambda d: None, r"did not pass \(1 blocking check\(s\) failed"),
    ],
    ids=["passed-flag-edited", "results-not-a-list", "failing"],
)
def test_the_release_flow_reads_the_report_through_gate_report(tmp_path, edit, message):
    from mlgate.ci.release_flow import _read_report

    path = _report(tmp_path / "report.json", status=Status.FAIL)
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))
    with pytest.raises(ReleaseRefused, match=message):
        _read_report(path)


def test_the_release_flow_accepts_a_passing_registered_report(tmp_path):
    from mlgate.ci.release_flow import _read_report

    result = CheckResult(id="quality.metric[roc_auc]", layer="quality", status=Status.PASS, message="ok")
    report = GateReport.collect([result], run={"registry": {"version": "3", "run_id": "r"}})
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report.to_dict()))
    gate, raw = _read_report(path)
    assert gate.passed and gate.run["registry"]["version"] == "3" and raw == path.read_bytes()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("golden.json", "{not json", r"not valid JSON \(.* at line 1\)"),
        ("golden.json", "[1, 2]", r"expected a JSON object with rows and proba"),
        ("release.json", "{not json", r"not valid JSON \(.* at line 1\)"),
    ],
    ids=["golden-not-json", "golden-not-an-object", "release-not-json"],
)
def test_a_corrupt_bundle_file_is_one_release_error_line(tmp_path, name, content, message):
    from mlgate.ci.release.bundle import read_release

    bundle = _bundle(tmp_path, _report(tmp_path / "report.json", status=Status.PASS))
    (bundle / name).write_text(content)
    reader = read_golden if name == "golden.json" else read_release
    with pytest.raises(ReleaseError, match=message) as caught:
        reader(bundle)
    assert str(bundle / name) in str(caught.value) and "\n" not in str(caught.value)
