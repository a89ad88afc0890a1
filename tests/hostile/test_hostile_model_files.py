"""The bad-input corpus: tampered and hostile model files, through every path that loads a model.

The hostile files are real: a legitimately saved skops file whose schema.json gets one more node, a skops
constructor node naming a function that runs code (``numpy.testing._private.utils.runstring`` calls ``exec``
and passed the old ``numpy.`` prefix check; ``builtins.exec``, ``os.system``), writing a marker file.
``test_the_payloads_are_live`` shows skops runs each one when asked to trust what the file needs; every other
case shows it refused with one line, before deserialising, and the marker never written.

Paths: ``pipeline.artifact.load_model`` (a local file and its signature), the serving app (``/ready`` of an
in-process app on a tampered bundle), the registry (a real sqlite MLflow store changed through the MLflow API)
and the CLI (``mlgate run`` comparing against a tampered champion, ``mlgate reproduce``, a model whose type is
outside the allow-list at save time).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import re
import shutil
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import skops.io as sio
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hostile_helpers import assert_one_line_error

from mlgate.pipeline.artifact import ArtifactError, file_sha256, load_model, meta_path, save_model, seal_path
from mlgate.pipeline.candidate import load_data
from mlgate.pipeline.config import ModelSettings, load_config
from mlgate.pipeline.errors import RegistryError
from mlgate.pipeline.registry import Registry
from mlgate.pipeline.signing import ENV_TRUSTED_KEYS, seal_text, sign_model
from mlgate.pipeline.tags import Tag
from mlgate.pipeline.train import build_pipeline

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "schemas" / "german_credit.schema.yaml"


# -- hostile files ------------------------------------------------------------------------------------------


def _state(value: Any) -> dict[str, Any]:
    """skops' JSON state of a plain value, without ids (they could collide with the host file's)."""

    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k not in ("__id__", "protocol", "_skops_version")}
        return [strip(v) for v in node] if isinstance(node, list) else node

    return strip(json.loads(zipfile.ZipFile(io.BytesIO(sio.dumps(value))).read("schema.json")))


def payload(kind: str, marker: Path) -> dict[str, Any]:
    """A skops node that, when built, writes ``marker``; ``kind`` picks the function and the node type."""
    code = f"__import__('pathlib').Path({str(marker)!r}).write_text('pwned')"
    if kind == "numpy-runstring":  # exec(code, {}); a numpy. name: it passed the old prefix check
        return {"__class__": "runstring", "__module__": "numpy.testing._private.utils",
                "__loader__": "ConstructorFromReduceNode", "content": _state((code, {}))}  # fmt: skip
    if kind == "numpy-runstring-reduce":  # the same function as a ReduceNode constructor (skops' LossNode)
        return {"__class__": "runstring", "__module__": "numpy.testing._private.utils", "__loader__": "LossNode",
                "__reduce__": {"args": _state((code, {}))}, "content": _state({})}  # fmt: skip
    if kind == "builtins-exec":
        return {"__class__": "exec", "__module__": "builtins",
                "__loader__": "ConstructorFromReduceNode", "content": _state((code,))}  # fmt: skip
    if kind == "os-system":
        return {"__class__": "system", "__module__": "os",
                "__loader__": "ConstructorFromReduceNode", "content": _state((f"touch {marker}",))}  # fmt: skip
    raise ValueError(kind)


KINDS = ("numpy-runstring", "numpy-runstring-reduce", "builtins-exec", "os-system")
NEEDS = {
    "numpy-runstring": "numpy.testing._private.utils.runstring",
    "numpy-runstring-reduce": "numpy.testing._private.utils.runstring",
    "builtins-exec": "builtins.exec",
    "os-system": "os.system",
}


def hostile(legit: bytes, marker: Path, kind: str = "numpy-runstring") -> bytes:
    """``legit`` (a saved Pipeline) with the payload as its ``memory`` attribute: it still predicts."""
    source = zipfile.ZipFile(io.BytesIO(legit))
    schema = json.loads(source.read("schema.json"))
    schema["content"]["content"]["memory"] = payload(kind, marker)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            target.writestr(name, json.dumps(schema) if name == "schema.json" else source.read(name))
    return out.getvalue()


@dataclass(frozen=True)
class Legit:
    model: Any
    X: Any
    meta: dict[str, Any]


@pytest.fixture(scope="module")
def legit(german_config_path: Path) -> Legit:
    data = load_data(load_config(german_config_path))
    prepared = data.prepared
    settings = ModelSettings(estimator="logistic_regression", params={"C": 0.1, "max_iter": 1000})
    model = build_pipeline(settings, prepared.numeric, prepared.categorical, random_state=0)
    model.fit(data.split.train[prepared.features], data.split.y_train)
    meta = {"features": prepared.features, "numeric": prepared.numeric, "categorical": prepared.categorical,
            "threshold": 0.5, "positive_label": 1}  # fmt: skip
    return Legit(model, data.split.test[prepared.features].head(20), meta)


def _save_signed(folder: Path, legit: Legit, *, run_id: str = "run-1", name: str = "german-credit") -> Path:
    path = folder / "model.skops"
    sha = save_model(legit.model, path, **legit.meta)
    seal = sign_model(sha, meta_sha256=file_sha256(meta_path(path)), model_name=name, run_id=run_id)
    seal_path(path).write_text(seal_text(seal))
    return path


def _replace(path: Path, blob: bytes, *, meta: bool) -> None:
    """Overwrite the model file (and rewrite the meta's sha256 to match, as a careful attacker would)."""
    path.write_bytes(blob)
    if meta:
        record = json.loads(meta_path(path).read_text())
        meta_path(path).write_text(json.dumps({**record, "sha256": hashlib.sha256(blob).hexdigest()}))


def _sign_with(path: Path, key: Ed25519PrivateKey | None, *, run_id: str = "run-1") -> None:
    seal = sign_model(
        file_sha256(path), meta_sha256=file_sha256(meta_path(path)), model_name="german-credit", run_id=run_id, key=key
    )
    seal_path(path).write_text(seal_text(seal))


def test_the_payloads_are_live(tmp_path: Path, legit: Legit) -> None:
    """Control: trusted as the file asks (what the old loader did with the meta's list), each payload runs."""
    for kind in KINDS:
        marker = tmp_path / f"marker-{kind}"
        blob = hostile(sio.dumps(legit.model), marker, kind)
        assert NEEDS[kind] in sio.get_untrusted_types(data=blob)
        model = sio.loads(blob, trusted=sio.get_untrusted_types(data=blob))
        assert marker.exists(), kind
        assert np.array_equal(model.predict_proba(legit.X), legit.model.predict_proba(legit.X))  # and it works


# -- a local file: pipeline.artifact.load_model -------------------------------------------------------------


def _file_replaced(path: Path, marker: Path) -> None:  # (a) hostile file, original meta and signature
    _replace(path, hostile(path.read_bytes(), marker), meta=False)


def _file_and_meta_replaced(path: Path, marker: Path) -> None:
    _replace(path, hostile(path.read_bytes(), marker), meta=True)


def _signed_by_another_key(path: Path, marker: Path) -> None:  # (d)
    _replace(path, hostile(path.read_bytes(), marker), meta=True)
    _sign_with(path, Ed25519PrivateKey.generate())


def _unsigned(path: Path, marker: Path) -> None:  # (e)
    _replace(path, hostile(path.read_bytes(), marker), meta=True)
    seal_path(path).unlink()


def _statement_edited(path: Path, marker: Path) -> None:
    _replace(path, hostile(path.read_bytes(), marker), meta=True)
    seal = json.loads(seal_path(path).read_text())
    seal["statement"].update(model_sha256=file_sha256(path), meta_sha256=file_sha256(meta_path(path)))
    seal_path(path).write_text(json.dumps(seal))


def _truncated(path: Path, marker: Path) -> None:  # (f)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _not_a_zip(path: Path, marker: Path) -> None:  # (f)
    path.write_bytes(b"PK\x03\x04 this is not a zip archive")


SIGNED_FOR_OTHER_BYTES = r"model file has sha256 [0-9a-f]{64}, the signature \(key [0-9a-f]{16}\) is for [0-9a-f]{64}"


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        pytest.param(_file_replaced, SIGNED_FOR_OTHER_BYTES, id="file-replaced-meta-kept"),
        pytest.param(_file_and_meta_replaced, SIGNED_FOR_OTHER_BYTES, id="file-and-meta-hash-replaced"),
        pytest.param(_signed_by_another_key, r"signed by key [0-9a-f]{16}, which is not trusted", id="other-key"),
        pytest.param(_unsigned, r"the model is not signed \(no model\.sig\.json", id="unsigned"),
        pytest.param(_statement_edited, r"does not verify with key [0-9a-f]{16}", id="signed-statement-edited"),
        pytest.param(_truncated, SIGNED_FOR_OTHER_BYTES, id="truncated-file"),
        pytest.param(_not_a_zip, SIGNED_FOR_OTHER_BYTES, id="not-a-zip"),
    ],
)
def test_a_tampered_model_file_is_refused_before_it_is_read(tmp_path: Path, legit: Legit, tamper, message) -> None:
    path, marker = _save_signed(tmp_path, legit), tmp_path / "marker"
    tamper(path, marker)
    with pytest.raises(ArtifactError, match=message) as info:
        load_model(path)
    assert "\n" not in str(info.value) and not marker.exists()


@pytest.mark.parametrize("kind", KINDS)
def test_a_hostile_file_signed_by_the_trusted_key_is_refused_by_the_allow_list(
    tmp_path: Path, legit: Legit, kind: str
) -> None:
    """Defence in depth: even a file the key holder signed builds only allow-listed types."""
    path, marker = _save_signed(tmp_path, legit), tmp_path / "marker"
    _replace(path, hostile(path.read_bytes(), marker, kind), meta=True)
    _sign_with(path, None)  # the session's trusted key
    with pytest.raises(ArtifactError, match=rf"needs type {NEEDS[kind]}, which is not in mlgate's allow-list"):
        load_model(path)
    assert not marker.exists()


@pytest.mark.parametrize("tamper", [_truncated, _not_a_zip], ids=["truncated", "not-a-zip"])
def test_a_broken_file_with_a_trusted_hash_is_one_line(tmp_path: Path, legit: Legit, tamper) -> None:
    path = _save_signed(tmp_path, legit)
    tamper(path, tmp_path / "marker")
    with pytest.raises(ArtifactError, match=r"model\.skops: not a readable skops model file") as info:
        load_model(path, expected_sha256=file_sha256(path))  # as if the hash came from this process
    assert "\n" not in str(info.value)


def test_an_untampered_signed_file_loads(tmp_path: Path, legit: Legit) -> None:
    model = load_model(_save_signed(tmp_path, legit), run_id="run-1", model_name="german-credit")
    assert np.array_equal(model.predict_proba(legit.X), legit.model.predict_proba(legit.X))


# -- the serving app: a tampered bundle never gets ready ----------------------------------------------------


def _bundle(folder: Path, legit: Legit) -> Path:
    folder.mkdir()
    path = _save_signed(folder, legit, run_id="run-7")
    seal = json.loads(seal_path(path).read_text())
    seal_path(path).unlink()
    shutil.copy2(SCHEMA, folder / "schema.yaml")
    release = {"model_name": "german-credit", "model_version": "7", "run_id": "run-7",
               "model_sha256": file_sha256(path), "model_signature": seal}  # fmt: skip
    (folder / "release.json").write_text(json.dumps(release))
    return folder


def _release(bundle: Path, **changes: Any) -> None:
    data = json.loads((bundle / "release.json").read_text())
    (bundle / "release.json").write_text(json.dumps({**data, **changes}))


def _everything_replaced(bundle: Path, marker: Path, monkeypatch) -> None:  # (b)
    _replace(bundle / "model.skops", hostile((bundle / "model.skops").read_bytes(), marker), meta=True)
    _release(bundle, model_sha256=file_sha256(bundle / "model.skops"))


def _signature_removed(bundle: Path, marker: Path, monkeypatch) -> None:
    _everything_replaced(bundle, marker, monkeypatch)
    data = json.loads((bundle / "release.json").read_text())
    data.pop("model_signature")
    (bundle / "release.json").write_text(json.dumps(data))


def _bundle_signed_by_another_key(bundle: Path, marker: Path, monkeypatch) -> None:  # (d)
    _everything_replaced(bundle, marker, monkeypatch)
    path = bundle / "model.skops"
    seal = sign_model(file_sha256(path), meta_sha256=file_sha256(meta_path(path)), model_name="german-credit",
                      run_id="run-7", key=Ed25519PrivateKey.generate())  # fmt: skip
    _release(bundle, model_signature=seal)


def _threshold_changed(bundle: Path, marker: Path, monkeypatch) -> None:
    meta = json.loads(meta_path(bundle / "model.skops").read_text())
    meta_path(bundle / "model.skops").write_text(json.dumps({**meta, "threshold": 0.0}))  # approve everyone


def _run_id_changed(bundle: Path, marker: Path, monkeypatch) -> None:
    _release(bundle, run_id="run-8")


def _no_trusted_keys(bundle: Path, marker: Path, monkeypatch) -> None:
    monkeypatch.delenv(ENV_TRUSTED_KEYS)


def _hostile_but_signed(bundle: Path, marker: Path, monkeypatch) -> None:
    _everything_replaced(bundle, marker, monkeypatch)
    path = bundle / "model.skops"
    seal = sign_model(file_sha256(path), meta_sha256=file_sha256(meta_path(path)), model_name="german-credit",
                      run_id="run-7")  # fmt: skip
    _release(bundle, model_signature=seal)


async def _get(app, path: str) -> httpx.Response:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            return await client.get(path)


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        pytest.param(_everything_replaced, SIGNED_FOR_OTHER_BYTES, id="file-meta-and-release-hash-replaced"),
        pytest.param(_signature_removed, r"release\.json: no 'model_signature': the bundle is unsigned", id="unsigned"),
        pytest.param(_bundle_signed_by_another_key, r"signed by key [0-9a-f]{16}, which is not trust", id="other-key"),
        pytest.param(_threshold_changed, r"model\.meta\.json has sha256 .* \(threshold, features\)", id="threshold"),
        pytest.param(_run_id_changed, r"the signature is for run_id 'run-7', not 'run-8'", id="run-id-changed"),
        pytest.param(_no_trusted_keys, r"no trusted public key is configured", id="server-trusts-no-key"),
        pytest.param(_hostile_but_signed, r"needs type numpy\.testing\._private\.utils\.runstring, which is not in",
                     id="signed-hostile-file"),
    ],
)  # fmt: skip
def test_a_tampered_bundle_is_never_ready(tmp_path: Path, legit: Legit, monkeypatch, tamper, message) -> None:
    from mlgate.pipeline.serve import create_app

    bundle, marker = _bundle(tmp_path / "bundle", legit), tmp_path / "marker"
    tamper(bundle, marker, monkeypatch)
    response = asyncio.run(_get(create_app(bundle), "/ready"))
    assert response.status_code == 503
    detail = response.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail
    assert re.search(message, detail), detail
    assert not marker.exists()


def test_an_untampered_bundle_is_ready(tmp_path: Path, legit: Legit) -> None:
    from mlgate.pipeline.serve import create_app

    bundle = _bundle(tmp_path / "bundle", legit)
    response = asyncio.run(_get(create_app(bundle), "/ready"))
    assert response.status_code == 200 and response.json()["model_sha256"] == file_sha256(bundle / "model.skops")


# -- the registry: a champion changed through the MLflow API -------------------------------------------------


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled project (retrain off) with its own sqlite store, migrated once for the module."""
    folder = tmp_path_factory.mktemp("project")
    for name in ("data", "schemas"):
        shutil.copytree(ROOT / name, folder / name)
    text = (ROOT / "mlgate.toml").read_text()
    (folder / "mlgate.toml").write_text(text + "\n[reproducibility]\nenabled = false\n")
    return folder


def _registry(project: Path, name: str | None = None) -> Registry:
    config = load_config(project / "mlgate.toml")
    registry = Registry.from_config(config)
    if name is not None:
        registry.model_name = name
    return registry


def _log(registry: Registry, legit: Legit, workdir: Path, config: Path | None = None) -> str:
    logged = registry.log_candidate(
        model=legit.model, params={}, metrics={}, tags={"mlgate.data_fingerprint": "x"},
        artifacts={"config": config} if config is not None else {},
        model_meta=legit.meta, workdir=workdir / uuid.uuid4().hex[:8],
    )  # fmt: skip
    return logged.version


def _replace_in_store(registry: Registry, version: str, marker: Path, scratch: Path) -> str:
    """(c) Through the MLflow API: the version's model.skops and meta replaced, and mlgate.model_sha256 set to
    match on the version and its run. Returns the run id."""
    found = registry.client.get_model_version(registry.model_name, version)
    folder = Path(registry.client.download_artifacts(found.run_id, "mlgate_model", dst_path=str(scratch)))
    _replace(folder / "model.skops", hostile((folder / "model.skops").read_bytes(), marker), meta=True)
    for name in ("model.skops", "model.meta.json"):
        registry.client.log_artifact(found.run_id, str(folder / name), artifact_path="mlgate_model")
    sha = file_sha256(folder / "model.skops")
    registry.client.set_model_version_tag(registry.model_name, version, Tag.MODEL_SHA256, sha)
    registry.client.set_tag(found.run_id, Tag.MODEL_SHA256, sha)
    return found.run_id


def _also_resigned(registry: Registry, version: str, marker: Path, scratch: Path) -> str:
    run_id = _replace_in_store(registry, version, marker, scratch)
    folder = scratch / "mlgate_model"
    seal = sign_model(file_sha256(folder / "model.skops"), meta_sha256=file_sha256(folder / "model.meta.json"),
                      model_name=registry.model_name, run_id=run_id, key=Ed25519PrivateKey.generate())  # fmt: skip
    registry.client.set_model_version_tag(registry.model_name, version, Tag.MODEL_SIGNATURE, seal_text(seal))
    return run_id


def _signature_deleted(registry: Registry, version: str, marker: Path, scratch: Path) -> str:
    run_id = _replace_in_store(registry, version, marker, scratch)
    registry.client.delete_model_version_tag(registry.model_name, version, Tag.MODEL_SIGNATURE)
    return run_id


def _signature_replayed(registry: Registry, version: str, marker: Path, scratch: Path) -> str:
    """Another (legitimately signed) version's signature copied onto this one."""
    other = registry.client.get_model_version(registry.model_name, "1")
    seal = other.tags[Tag.MODEL_SIGNATURE]
    registry.client.set_model_version_tag(registry.model_name, version, Tag.MODEL_SIGNATURE, seal)
    return registry.client.get_model_version(registry.model_name, version).run_id


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        pytest.param(_replace_in_store, r"downloaded model\.skops has sha256 [0-9a-f]{64}, the registry recorded "
                     r"[0-9a-f]{64} \(signed\); the artifact store was changed", id="champion-and-sha-tag-replaced"),
        pytest.param(_also_resigned, r"signed by key [0-9a-f]{16}, which is not trusted", id="champion-resigned"),
        pytest.param(_signature_deleted, r"is not signed \(no mlgate\.model_signature tag\).* re-run `mlgate run`",
                     id="champion-unsigned"),
        pytest.param(_signature_replayed, r"the signature is for run_id '\w+', not '\w+'", id="signature-replayed"),
    ],
)  # fmt: skip
def test_a_champion_changed_in_the_store_is_refused(project: Path, legit: Legit, tmp_path: Path, tamper, message):
    registry = _registry(project, f"m-{uuid.uuid4().hex[:8]}")
    _log(registry, legit, tmp_path)
    version = _log(registry, legit, tmp_path)
    registry.promote(version, gate_report_sha256="r")
    marker = tmp_path / "marker"
    tamper(registry, version, marker, tmp_path / "scratch")
    for load in (lambda: registry.load_model("champion"), lambda: registry.download_bundle("champion", tmp_path / "b")):
        with pytest.raises(RegistryError, match=message) as info:
            load()
        assert "\n" not in str(info.value)
    assert not marker.exists() and not (tmp_path / "b" / "model.skops").exists()


def test_an_untampered_champion_loads_and_downloads_with_its_signature(project: Path, legit: Legit, tmp_path: Path):
    registry = _registry(project, f"m-{uuid.uuid4().hex[:8]}")
    registry.promote(_log(registry, legit, tmp_path), gate_report_sha256="r")
    model = registry.load_model("champion")
    assert np.array_equal(model.predict_proba(legit.X), legit.model.predict_proba(legit.X))
    path = registry.download_bundle("champion", tmp_path / "bundle")
    assert load_model(path, model_name=registry.model_name) is not None  # model.sig.json verifies beside it


# -- the command line ---------------------------------------------------------------------------------------


def test_mlgate_run_against_a_tampered_champion_fails_with_one_line(
    project: Path, legit: Legit, tmp_path: Path, run_cli
) -> None:
    registry = _registry(project)  # the project's own model name: the one `mlgate run` compares against
    version = _log(registry, legit, tmp_path, config=project / "mlgate.toml")  # reproduce reads the config
    registry.promote(version, gate_report_sha256="r")
    marker = tmp_path / "marker"
    run_id = _replace_in_store(registry, version, marker, tmp_path / "scratch")

    result = run_cli("run", "--config", str(project / "mlgate.toml"), "--out", str(tmp_path / "reports"))
    assert_one_line_error(result, 3, rf"version {version} of 'german-credit': downloaded model\.skops has sha256")
    assert not marker.exists()
    assert registry.champion().version == version and len(registry.history()) == 1  # nothing logged or moved

    result = run_cli("reproduce", run_id, "--config", str(project / "mlgate.toml"), "--out", str(tmp_path / "re"))
    assert_one_line_error(result, 3, rf"run {run_id}: .*model file has sha256 [0-9a-f]{{64}}, the signature")
    assert not marker.exists()


def test_a_model_needing_a_type_outside_the_allow_list_is_refused_before_anything_is_logged(
    project_copy: Path, tmp_path: Path, run_cli
) -> None:
    """(g) A configured estimator mlgate does not support: its optimizer object is not in the allow-list."""
    config = project_copy / "mlgate.toml"
    text = config.read_text().replace(
        'estimator = "logistic_regression"\nparams = { C = 0.1, max_iter = 1000 }',
        'estimator = "sklearn.neural_network.MLPClassifier"\nparams = { hidden_layer_sizes = [4], max_iter = 2000 }',
    )
    config.write_text(text + "\n[reproducibility]\nenabled = false\n")
    result = run_cli("run", "--config", str(config), "--out", str(tmp_path / "reports"))
    assert_one_line_error(
        result, 2, r"refusing to save a model that needs type sklearn\.neural_network\._stochastic_optimizers"
        r"\.AdamOptimizer, which is not in mlgate's allow-list",
    )  # fmt: skip
    assert not (project_copy / "mlruns" / "mlflow.db").exists()


# -- the release: registry -> bundle -> image build context ---------------------------------------------------


def _make_bundle(model_file: Path, dest: Path, legit: Legit, registry: Registry, run_id: str) -> Path:
    from mlgate.ci.release.bundle import make_bundle

    info = {"model_name": registry.model_name, "model_version": "1", "run_id": run_id, "data_fingerprint": "x",
            "gate_report_sha256": "r", "git_commit": "c"}  # fmt: skip
    return make_bundle(dest, model=model_file, schema_path=SCHEMA, release_info=info, meta={}, golden_X=legit.X,
                       golden_proba=legit.model.predict_proba(legit.X)[:, 1])  # fmt: skip


def test_the_release_chain_carries_the_signature_to_the_image(project: Path, legit: Legit, tmp_path: Path) -> None:
    """Known good: download_bundle -> make_bundle -> the build context's trusted keys -> a ready app."""
    from mlgate.ci.release.image import _trust
    from mlgate.pipeline.serve import create_app

    registry = _registry(project, f"m-{uuid.uuid4().hex[:8]}")
    registry.promote(_log(registry, legit, tmp_path), gate_report_sha256="r")
    run_id = registry.champion().run_id
    downloaded = registry.download_bundle("champion", tmp_path / "dl")
    bundle = _make_bundle(downloaded, tmp_path / "b", legit, registry, run_id)
    assert _trust(bundle).split() == [os.environ[ENV_TRUSTED_KEYS]]
    assert asyncio.run(_get(create_app(bundle), "/ready")).status_code == 200


def test_a_release_refuses_a_model_changed_after_download_or_in_the_bundle(
    project: Path, legit: Legit, tmp_path: Path
) -> None:
    from mlgate.ci.release.errors import ReleaseError
    from mlgate.ci.release.image import _trust

    registry = _registry(project, f"m-{uuid.uuid4().hex[:8]}")
    registry.promote(_log(registry, legit, tmp_path), gate_report_sha256="r")
    run_id, marker = registry.champion().run_id, tmp_path / "marker"
    downloaded = registry.download_bundle("champion", tmp_path / "dl")
    good = _make_bundle(downloaded, tmp_path / "good", legit, registry, run_id)
    _replace(downloaded, hostile(downloaded.read_bytes(), marker), meta=True)
    with pytest.raises(ReleaseError, match=r"make_bundle: .*the signature \(key [0-9a-f]{16}\) is for") as info:
        _make_bundle(downloaded, tmp_path / "bad", legit, registry, run_id)
    assert "\n" not in str(info.value) and not (tmp_path / "bad").exists()
    _replace(good / "model.skops", hostile((good / "model.skops").read_bytes(), marker), meta=True)
    with pytest.raises(ReleaseError, match=r"release refused: .*model file has sha256 .* the signature"):
        _trust(good)  # the image is not built
    assert not marker.exists()
