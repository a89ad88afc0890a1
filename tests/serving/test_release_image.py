"""The image path for real: build, push to a loopback registry, pull, smoke, parity, deploy, roll out, roll back.

Needs podman, mmdebstrap, docker-registry and nginx (scripts/install-system-deps.sh). Skipped with a reason when
podman is absent outside CI; on CI (``CI`` set) a missing podman is a failure. The release runs once per module.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import httpx
import pytest

from mlgate.checks.result import CheckResult, GateReport, Status
from mlgate.ci.release import RolloutFailed, deploy, release, rollback, rolling_update, teardown
from mlgate.ci.release.bundle import make_bundle, sha256_file
from mlgate.ci.release.deploy import load_state
from mlgate.ci.release.e2e_log import Traffic, post_feedback
from mlgate.ci.release.image import derive_image
from mlgate.ci.release.load import LoadGenerator
from mlgate.ci.release.podman import Podman
from mlgate.ci.release.registry import free_port
from mlgate.ci.release.smoke import http_json
from mlgate.pipeline.candidate import load_data, train_candidate
from mlgate.pipeline.config import load_config
from mlgate.pipeline.config_monitor import LOG_URL_ENV
from mlgate.pipeline.errors import ConfigError
from mlgate.pipeline.predlog import read_window
from mlgate.pipeline.redact import redact_url

pytestmark = pytest.mark.image
ROOT = Path(__file__).resolve().parents[2]

if shutil.which("podman") is None:
    if os.environ.get("CI"):
        pytest.fail("podman is not installed on CI; run scripts/install-system-deps.sh", pytrace=False)
    pytest.skip("podman is not installed (scripts/install-system-deps.sh installs it)", allow_module_level=True)


@pytest.fixture(scope="module")
def config():
    base = load_config(ROOT / "mlgate.toml")
    settings = base.release.model_copy(
        update={"port": free_port(), "image_repository": f"127.0.0.1:{free_port()}/mlgate-test", "replicas": 2}
    )
    return base.model_copy(update={"release": settings})


@pytest.fixture(scope="module")
def released(config, tmp_path_factory):
    work = tmp_path_factory.mktemp("release")
    data = load_data(config)
    candidate = train_candidate(config, data, random_state=42)
    report = work / "report.json"
    passed = CheckResult(id="quality.metric[roc_auc]", layer="quality", status=Status.PASS, message="ok")
    report.write_text(json.dumps(GateReport.collect([passed]).to_dict()))
    features = list(data.prepared.features)
    bundle = make_bundle(
        work / "bundle", model=candidate.pipeline, schema_path=config.schema_path,
        release_info={"model_name": "german-credit", "model_version": "5", "run_id": "run-test",
                      "data_fingerprint": "sha256:data", "gate_report_sha256": sha256_file(report),
                      "git_commit": "abc123"},
        meta={"features": features, "numeric": list(data.prepared.numeric),
              "categorical": list(data.prepared.categorical), "threshold": candidate.threshold, "positive_label": 1},
        golden_X=data.split.test[features], golden_proba=candidate.proba_test,
    )  # fmt: skip
    result = release(config, report_path=report, bundle_dir=bundle, workdir=work)
    yield result, bundle, work
    podman = Podman.default()  # the base image and cached layers stay; this run's tags go
    for suffix in ("", "-v6", "-broken"):
        podman.run("rmi", "--force", "--ignore", result.image + suffix, check=False)


def test_image_carries_labels_and_runs_as_non_root(released):
    result, _, _ = released
    assert result.labels["io.mlgate.model.version"] == "5"
    assert result.labels["io.mlgate.run_id"] == "run-test"
    assert result.labels["io.mlgate.git_commit"] == "abc123"
    assert result.labels["io.mlgate.data_fingerprint"] == "sha256:data"
    assert len(result.labels["io.mlgate.gate_report_sha256"]) == 64
    assert result.user == "10001:10001"
    assert result.parity.user_id == 10001  # `id -u` inside the running container
    assert result.digest.startswith("sha256:")


def test_served_probabilities_equal_offline_bit_for_bit(released):
    result, _, _ = released
    assert result.parity.rows == 300
    assert (result.parity.mismatches, result.parity.max_abs_diff) == (0, 0.0)
    check = result.parity_check()
    assert check.status is Status.PASS and "300 golden probabilities bitwise equal" in check.message
    # the container serves the compiled array path, and the report says so
    assert (result.parity.scoring_path, result.parity.scoring_path_reason) == ("array", None)
    assert check.message.endswith("served by the array path")


@pytest.fixture(scope="module")
def deployment(config, released):
    result, bundle, work = released
    folder = work / "deploy-run"
    try:
        state = deploy(config, image=result.image, workdir=folder)
        yield state, folder, json.loads((bundle / "golden.json").read_text())["rows"][:5]
    finally:
        teardown(folder)
    mine = f"label=io.mlgate.deploy={state.deploy_id}"  # other sessions on the machine may deploy too
    assert Podman.default().run("ps", "--all", "--filter", mine, "-q").stdout.strip() == ""
    assert not (folder / "deploy" / "state.json").exists()


def _under_load(state, rows, folder, action):  # every request sends the 5 rows
    load = LoadGenerator(state.url, rows, folder=folder, max_seconds=240, pause=0.05)
    try:
        outcome = action()
    finally:
        counts = load.stop()
    return outcome, counts


def test_rolling_update_then_rollback_lose_no_request_and_keep_the_log(config, released, deployment, tmp_path):
    """Zero failed requests; every record answered is in the deployment's log folder after the update and the
    rollback replaced every container, with the labels posted through nginx; one file per container."""
    result, _, work = released
    state, folder, rows = deployment
    update = derive_image(Podman.default(), result.image, tag=result.image + "-v6", workdir=work, labels={"v": "6"})
    new, up = _under_load(state, rows, tmp_path / "up", lambda: rolling_update(config, image=update, workdir=folder))
    assert (new.image, new.previous_image) == (update, result.image)
    assert up.requests > 10 and up.failed == 0, up
    assert {r.image for r in new.replicas} == {update} and len(new.replicas) == 2
    traffic = Traffic(rows, [i % 2 for i in range(len(rows))])  # any label of the target's set
    assert post_feedback(state.url, up.served, traffic)["labels"] == len(up.served)  # logged by retired replicas too
    first = next(iter(up.served))
    answer = httpx.get(f"{state.url}/explain/{first}", timeout=30)
    assert answer.status_code == 200 and answer.json()["request_id"] == first
    back, down = _under_load(state, rows, tmp_path / "back", lambda: rollback(config, workdir=folder))
    assert back.image == result.image and {r.image for r in back.replicas} == {result.image}
    assert down.requests > 10 and down.failed == 0, down
    log = Path(back.log_dir)
    assert log == folder.resolve() / "predictions"
    hostnames = {r.hostname for r in (*state.replicas, *new.replicas, *back.replicas)}
    assert len(hostnames) == 6 and all(len(list(log.glob(f"predictions-{h}-*.sqlite"))) == 1 for h in hostnames)
    time.sleep(1.5)  # the running replicas' writers flush every 0.5 s
    frame = read_window(log).predictions.set_index("request_id")
    served = {**up.served, **down.served}
    assert set(served) <= set(frame.index), len(set(served) - set(frame.index))
    labels = frame.loc[list(up.served), "label"]
    assert list(labels) == [traffic.labels[i] for i in up.served.values()]
    assert frame.loc[list(down.served), "label"].isna().all()


def test_rolling_update_to_a_broken_bundle_is_rolled_back(config, released, deployment, tmp_path):
    result, bundle, work = released
    state, folder, rows = deployment
    tampered = json.loads((bundle / "release.json").read_text()) | {"model_sha256": "0" * 64}
    broken = derive_image(
        Podman.default(), result.image, tag=result.image + "-broken", workdir=work,
        files={"/srv/bundle/release.json": json.dumps(tampered).encode()},
    )  # fmt: skip
    before = load_state(folder).image

    def update():
        with pytest.raises(
            RolloutFailed, match=r"failed and was rolled back to .*/ready did not answer 200 within 15 s"
        ):
            rolling_update(config, image=broken, workdir=folder, ready_timeout=15)

    _, counts = _under_load(state, rows, tmp_path / "broken", update)
    after = load_state(folder)
    assert after.image == before and {r.image for r in after.replicas} == {before} and len(after.replicas) == 2
    assert counts.failed == 0, counts


def test_canary_receives_its_share_then_is_removed(config, released, deployment):
    """Live: nginx names the replica that answered (X-Mlgate-Upstream); the canary gets about its share."""
    import httpx

    from mlgate.ci.release.deploy import abort_canary, canary

    result, _, work = released
    state, folder, rows = deployment
    candidate = derive_image(
        Podman.default(), result.image, tag=result.image + "-canary", workdir=work, labels={"v": "canary"}
    )
    state = canary(config, image=candidate, workdir=folder, share=0.25)
    try:
        canary_port = next(r.port for r in state.replicas if r.role == "canary")
        hits = total = 0
        with httpx.Client(base_url=state.url, timeout=10) as client:
            for _ in range(400):
                response = client.post("/predict", json=rows[0])
                assert response.status_code == 200
                total += 1
                hits += response.headers["X-Mlgate-Upstream"].endswith(f":{canary_port}")
        assert 0.15 <= hits / total <= 0.35, (hits, total)  # 25% +- 10 points (binomial sd at n=400: 2.2 points)
    finally:
        state = abort_canary(config, workdir=folder)
    assert all(r.role == "stable" for r in state.replicas) and state.canary_share is None
    Podman.default().run("rmi", "-f", candidate)


@pytest.mark.postgres
def test_replicas_log_to_one_postgresql_database_through_a_rollout(config, released, postgres_server, monkeypatch):
    """MLGATE_PREDICTION_LOG_URL at deploy: every replica logs to that database (its password in no state file),
    a rolling update keeps it, feedback goes through nginx, and an update without the URL is refused untouched."""
    result, bundle, work = released
    url = postgres_server.create_database("deploylog")
    monkeypatch.setenv(LOG_URL_ENV, url)
    config = config.model_copy(update={"release": config.release.model_copy(update={"port": free_port()})})
    folder = work / "deploy-postgres"
    rows = json.loads((bundle / "golden.json").read_text())["rows"][:5]
    try:
        state = deploy(config, image=result.image, workdir=folder)
        assert state.log_dir is None and state.log_database == redact_url(url) and "***" in state.log_database
        assert postgres_server.owner_password not in (folder / "deploy" / "state.json").read_text()
        new, up = _under_load(
            state, rows, work / "pg-up", lambda: rolling_update(config, image=result.image, workdir=folder)
        )
        assert up.failed == 0 and up.requests > 10, up
        for _ in range(10):  # nginx alternates: both new replicas serve some
            status, body, _ = http_json("POST", f"{new.url}/predict", {"records": rows})
            assert status == 200
            up.served.update({p["request_id"]: i for i, p in enumerate(body["predictions"])})
        traffic = Traffic(rows, [1] * len(rows))
        assert post_feedback(new.url, up.served, traffic)["labels"] == len(up.served)
        monkeypatch.delenv(LOG_URL_ENV)
        with pytest.raises(ConfigError, match=rf"logs predictions to .*\*\*\*.*: set {LOG_URL_ENV}"):
            rolling_update(config, image=result.image, workdir=folder)
        assert load_state(folder).replicas == new.replicas
    finally:
        teardown(folder)
    frame = read_window(url).predictions.set_index("request_id")
    assert set(up.served) <= set(frame.index) and (frame.loc[list(up.served), "label"] == 1).all()
    replicas = postgres_server.admin("SELECT count(DISTINCT replica) FROM predictions", database="deploylog")
    assert replicas == [(4,)]  # two replicas replaced by two new ones: four writers, one database
