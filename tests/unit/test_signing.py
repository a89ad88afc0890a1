"""Model signatures: the key files, the trusted public keys, and what a seal must hold to verify."""

from __future__ import annotations

import base64
import copy
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from mlgate.pipeline.signing import (
    ENV_SIGNING_KEY_FILE,
    ENV_TRUSTED_KEYS,
    ENV_TRUSTED_KEYS_FILE,
    SigningError,
    default_key_path,
    key_id,
    load_signing_key,
    main,
    parse_public_keys,
    public_key_text,
    seal_text,
    sign_model,
    trusted_keys,
    verify_seal,
)

SHA, META = "a" * 64, "b" * 64


@pytest.fixture
def fresh_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No key configured: the default key file lives under $XDG_CONFIG_HOME (here a temporary folder)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for name in (ENV_SIGNING_KEY_FILE, ENV_TRUSTED_KEYS, ENV_TRUSTED_KEYS_FILE):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "config" / "mlgate" / "signing-key.pem"


def _seal(key: Ed25519PrivateKey | None = None, **fields) -> dict:
    return sign_model(SHA, meta_sha256=META, model_name="m", run_id="r1", key=key, **fields)


def _keys(*private: Ed25519PrivateKey) -> dict:
    return {key_id(k.public_key()): k.public_key() for k in private}


def test_a_fresh_machine_gets_a_default_key_with_mode_0600_once(fresh_machine: Path) -> None:
    assert default_key_path() == fresh_machine
    assert trusted_keys() == {}  # verifying never creates a key
    assert not fresh_machine.exists()
    first = load_signing_key()
    assert stat.S_IMODE(fresh_machine.stat().st_mode) == 0o600
    assert stat.S_IMODE(fresh_machine.parent.stat().st_mode) == 0o700
    second = load_signing_key()
    assert key_id(first.public_key()) == key_id(second.public_key())
    assert list(trusted_keys()) == [key_id(first.public_key())]
    assert list(fresh_machine.parent.iterdir()) == [fresh_machine]  # no partial file left


def test_a_named_key_file_that_does_not_exist_is_an_error_not_a_new_key(
    fresh_machine: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_SIGNING_KEY_FILE, str(tmp_path / "typo.pem"))
    with pytest.raises(SigningError, match=r"MLGATE_SIGNING_KEY_FILE=.*typo\.pem: signing key file not found"):
        load_signing_key()
    with pytest.raises(SigningError, match="signing key file not found"):
        trusted_keys()
    assert not (tmp_path / "typo.pem").exists() and not fresh_machine.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not a key", r"not an unencrypted PEM private key"),
        (b"", r"not an unencrypted PEM private key"),
    ],
)
def test_an_unusable_key_file_is_one_line(tmp_path: Path, monkeypatch, content: bytes, message: str) -> None:
    path = tmp_path / "key.pem"
    path.write_bytes(content)
    monkeypatch.setenv(ENV_SIGNING_KEY_FILE, str(path))
    with pytest.raises(SigningError, match=message) as info:
        load_signing_key()
    assert "\n" not in str(info.value)


def test_public_keys_parse_from_base64_pem_and_comments() -> None:
    a, b = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    pem = b.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
    text = f"# old key, rotated 2026-11\n{public_key_text(a.public_key())},\n{pem}"
    parsed = parse_public_keys(text, source="keys")
    assert sorted(key_id(k) for k in parsed) == sorted(key_id(k.public_key()) for k in (a, b))


@pytest.mark.parametrize("text", ["abc", base64.b64encode(b"x" * 31).decode(), "!!!!"])
def test_a_public_key_that_is_not_one_is_refused(text: str) -> None:
    with pytest.raises(SigningError, match=r"keys: entry 1 .* is not an Ed25519 public key"):
        parse_public_keys(text, source="keys")


def test_trusted_keys_come_from_the_variable_else_the_file(fresh_machine: Path, tmp_path: Path, monkeypatch) -> None:
    a, b = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    keys_file = tmp_path / "trusted-keys"
    keys_file.write_text(public_key_text(b.public_key()) + "\n")
    monkeypatch.setenv(ENV_TRUSTED_KEYS_FILE, str(keys_file))
    assert list(trusted_keys(include_signing_key=False)) == [key_id(b.public_key())]
    monkeypatch.setenv(ENV_TRUSTED_KEYS, public_key_text(a.public_key()))  # replaces the file (an override)
    assert list(trusted_keys(include_signing_key=False)) == [key_id(a.public_key())]
    monkeypatch.delenv(ENV_TRUSTED_KEYS)
    monkeypatch.setenv(ENV_TRUSTED_KEYS_FILE, str(tmp_path / "missing"))
    with pytest.raises(SigningError, match=r"MLGATE_TRUSTED_KEYS_FILE=.*missing: cannot read the trusted keys"):
        trusted_keys(include_signing_key=False)


def test_a_good_seal_verifies_and_survives_its_json_text() -> None:
    key = Ed25519PrivateKey.generate()
    statement = verify_seal(
        seal_text(_seal(key)), keys=_keys(key), source="s", model_sha256=SHA, meta_sha256=META, run_id="r1"
    )
    assert statement == {
        "format": "mlgate-model-signature/1",
        "meta_sha256": META,
        "model_name": "m",
        "model_sha256": SHA,
        "run_id": "r1",
    }


def _altered(seal: dict, field: str, value) -> dict:
    changed = copy.deepcopy(seal)
    changed["statement"][field] = value
    return changed


@pytest.mark.parametrize(
    ("make", "checks", "message"),
    [
        (lambda k, o: _seal(o), {}, r"s: the model was signed by key [0-9a-f]{16}, which is not trusted"),
        (lambda k, o: _altered(_seal(k), "model_sha256", "c" * 64), {}, r"does not verify with key .* was altered"),
        (lambda k, o: _altered(_seal(k), "run_id", "r2"), {}, r"does not verify with key"),
        (lambda k, o: {**_seal(k), "signature": "%%%"}, {}, r"does not verify with key"),
        (lambda k, o: _seal(k), {"model_sha256": "c" * 64}, r"model file has sha256 c{64}, the signature .* for a{64}"),
        (lambda k, o: _seal(k), {"meta_sha256": "c" * 64}, r"model\.meta\.json has sha256 c{64}"),
        (lambda k, o: _seal(k), {"run_id": "r2"}, r"the signature is for run_id 'r1', not 'r2'"),
        (lambda k, o: _seal(k), {"model_name": "x"}, r"the signature is for model_name 'm', not 'x'"),
        (lambda k, o: None, {}, r"s: the model is not signed"),
        (lambda k, o: "{", {}, r"s: the model signature is not JSON"),
        (lambda k, o: {"statement": {}}, {}, r"must be an object with 'statement', 'key_id', 'signature'"),
        (lambda k, o: _altered(_seal(k), "format", "v0"), {}, r"unknown model signature format 'v0'"),
    ],
    ids=[
        "another-key",
        "altered-sha",
        "altered-run",
        "garbage-signature",
        "other-file",
        "other-meta",
        "other-run",
        "other-model",
        "unsigned",
        "not-json",
        "incomplete",
        "unknown-format",
    ],
)
def test_a_seal_that_does_not_hold_is_refused_with_one_line(make, checks: dict, message: str) -> None:
    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    with pytest.raises(SigningError, match=message) as info:
        verify_seal(make(key, other), keys=_keys(key), source="s", **checks)
    assert "\n" not in str(info.value)


def test_no_trusted_key_at_all_is_a_clear_refusal() -> None:
    with pytest.raises(SigningError, match=r"no trusted public key is configured .* set MLGATE_TRUSTED_KEYS"):
        verify_seal(_seal(Ed25519PrivateKey.generate()), keys={}, source="s")


def test_the_command_prints_the_public_key_and_generates_new_keys(
    fresh_machine: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["public-key"]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed == public_key_text(load_signing_key(create=False).public_key())
    new = tmp_path / "new.pem"
    assert main(["generate", str(new)]) == 0
    assert stat.S_IMODE(new.stat().st_mode) == 0o600
    assert capsys.readouterr().out.strip() != printed
    assert main(["generate", str(new)]) == 2
    assert "exists already" in capsys.readouterr().err
