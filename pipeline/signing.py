"""Model signatures: which model files mlgate may deserialise, decided by a key, not by the files themselves.

A gated run that registers a model signs, with an Ed25519 private key, the canonical JSON statement::

    {"format": "mlgate-model-signature/1", "model_name": ..., "model_sha256": ..., "meta_sha256": ...,
     "run_id": ...}

The signed record (the *seal*: ``{"statement", "key_id", "signature"}``) is stored as the tag
``mlgate.model_signature`` on the MLflow run and model version, and as ``model_signature`` in a release
bundle's release.json. Whoever can write the artifact store or a bundle can change the file, its meta file and
every recorded sha256, but cannot make a seal for their file without the private key. Every loader checks the
seal *before* deserialising: made by a trusted key, unaltered, naming the sha256 of the very bytes it is about
to load (and the run / model it expects). ``meta_sha256`` covers model.meta.json, which carries the decision
threshold and the features the serving app uses.

Keys (all paths and variables are read when a function is called, never at import time):

* the private signing key: the PEM file named by ``MLGATE_SIGNING_KEY_FILE``, else
  ``$XDG_CONFIG_HOME/mlgate/signing-key.pem`` (``~/.config/mlgate/...``), created with mode 0600 the first time
  a model is signed. A named file that does not exist is an error (a typo must not mint a new key).
* the trusted public keys: ``MLGATE_TRUSTED_KEYS`` (one or more base64 raw Ed25519 public keys or PEM blocks,
  separated by whitespace or commas), else the file named by ``MLGATE_TRUSTED_KEYS_FILE``; the gated run and the
  release tooling also trust the public half of their signing key. The serving app trusts only public keys.

``python -m pipeline.signing public-key`` prints the public key to hand to a server; ``generate PATH`` makes a
new key file (for rotation).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import hashlib
import json
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgate.pipeline.errors import MlgateError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "ENV_SIGNING_KEY_FILE",
    "ENV_TRUSTED_KEYS",
    "ENV_TRUSTED_KEYS_FILE",
    "FORMAT",
    "SigningError",
    "default_key_path",
    "key_id",
    "load_signing_key",
    "parse_public_keys",
    "parse_seal",
    "public_key_text",
    "seal_text",
    "sign_model",
    "signing_key_path",
    "trusted_keys",
    "trusted_keys_text",
    "verify_seal",
]

FORMAT = "mlgate-model-signature/1"
ENV_SIGNING_KEY_FILE = "MLGATE_SIGNING_KEY_FILE"
ENV_TRUSTED_KEYS = "MLGATE_TRUSTED_KEYS"
ENV_TRUSTED_KEYS_FILE = "MLGATE_TRUSTED_KEYS_FILE"
_PEM_BLOCK = re.compile(r"-----BEGIN PUBLIC KEY-----.*?-----END PUBLIC KEY-----", re.DOTALL)
_ANY = object()


class SigningError(MlgateError):
    """A signing key is missing or unusable, or a model's signature is missing, untrusted or does not match."""


# -- keys ---------------------------------------------------------------------------------------------------


def default_key_path() -> Path:
    """``$XDG_CONFIG_HOME/mlgate/signing-key.pem`` (``~/.config`` when the variable is unset)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "mlgate" / "signing-key.pem"


def signing_key_path() -> tuple[Path, bool]:
    """The signing key's path, and whether it was named explicitly (``MLGATE_SIGNING_KEY_FILE``)."""
    named = os.environ.get(ENV_SIGNING_KEY_FILE)
    return (Path(named).expanduser(), True) if named else (default_key_path(), False)


def _raw(key: Ed25519PublicKey) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    """A short fingerprint of a public key (16 hex digits of the sha256 of its 32 raw bytes)."""
    return hashlib.sha256(_raw(key)).hexdigest()[:16]


def public_key_text(key: Ed25519PublicKey) -> str:
    """The public key as one base64 token (the form ``MLGATE_TRUSTED_KEYS`` takes)."""
    return base64.b64encode(_raw(key)).decode("ascii")


def _create_key_file(path: Path) -> None:
    """A new Ed25519 key at ``path``, mode 0600, written whole or not at all (two racing runs share one key)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    pem = Ed25519PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # atomic, never replaces a key another process made first
            os.link(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def load_signing_key(*, create: bool = True) -> Ed25519PrivateKey:
    """The private signing key; the default key file is created on first use when ``create``."""
    path, named = signing_key_path()
    if not path.is_file():
        if named:
            raise SigningError(
                f"{ENV_SIGNING_KEY_FILE}={path}: signing key file not found; create it with "
                f"`python -m pipeline.signing generate {path}`, or unset {ENV_SIGNING_KEY_FILE} to use "
                f"{default_key_path()}"
            )
        if not create:
            raise SigningError(f"{path}: no signing key yet (it is created when a gated run first registers a model)")
        try:
            _create_key_file(path)
        except OSError as exc:
            raise SigningError(f"{path}: cannot create the signing key ({exc.strerror or exc})") from exc
    return _read_private_key(path)


def _read_private_key(path: Path) -> Ed25519PrivateKey:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise SigningError(f"{path}: cannot read the signing key ({exc.strerror or exc})") from exc
    except (ValueError, TypeError) as exc:
        raise SigningError(f"{path}: not an unencrypted PEM private key ({exc})") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningError(f"{path}: the signing key must be an Ed25519 key, not {type(key).__name__}")
    return key


def parse_public_keys(text: str, *, source: str) -> list[Ed25519PublicKey]:
    """Public keys from text: PEM blocks and base64 tokens of 32 raw bytes; ``#`` starts a comment line."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    keys: list[Ed25519PublicKey] = []
    for block in _PEM_BLOCK.findall(text):
        try:
            key = load_pem_public_key(block.encode("ascii"))
        except (ValueError, UnicodeEncodeError) as exc:
            raise SigningError(f"{source}: a PEM block is not a public key ({exc})") from exc
        if not isinstance(key, Ed25519PublicKey):
            raise SigningError(f"{source}: a PEM block holds a {type(key).__name__}, not an Ed25519 public key")
        keys.append(key)
    rest = "\n".join(line for line in _PEM_BLOCK.sub(" ", text).splitlines() if not line.lstrip().startswith("#"))
    for number, token in enumerate((t for t in re.split(r"[\s,]+", rest) if t), start=1):
        try:
            raw = base64.b64decode(token, validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:
            raise SigningError(
                f"{source}: entry {number} ({token[:12]}...) is not an Ed25519 public key "
                "(expected base64 of 32 bytes, as `python -m pipeline.signing public-key` prints, or a PEM block)"
            )
        keys.append(Ed25519PublicKey.from_public_bytes(raw))
    return keys


def trusted_keys(*, include_signing_key: bool = True) -> dict[str, Ed25519PublicKey]:
    """The public keys whose signatures are accepted, by key id.

    ``MLGATE_TRUSTED_KEYS`` when set, else ``MLGATE_TRUSTED_KEYS_FILE`` when set; plus, when
    ``include_signing_key``, the public half of the signing key if its file exists (never created here).
    """
    keys: list[Ed25519PublicKey] = []
    inline, named_file = os.environ.get(ENV_TRUSTED_KEYS, "").strip(), os.environ.get(ENV_TRUSTED_KEYS_FILE)
    if inline:
        keys += parse_public_keys(inline, source=ENV_TRUSTED_KEYS)
    elif named_file:
        try:
            text = Path(named_file).read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise SigningError(f"{ENV_TRUSTED_KEYS_FILE}={named_file}: cannot read the trusted keys ({exc})") from exc
        keys += parse_public_keys(text, source=named_file)
    if include_signing_key:
        path, named = signing_key_path()
        if path.is_file() or named:
            keys.append(load_signing_key(create=False).public_key())
    return {key_id(key): key for key in keys}


def trusted_keys_text(keys: Mapping[str, Ed25519PublicKey]) -> str:
    """Keys as the text ``MLGATE_TRUSTED_KEYS`` / a trusted-keys file holds (one base64 key a line)."""
    return "".join(f"{public_key_text(key)}\n" for key in keys.values())


# -- seals --------------------------------------------------------------------------------------------------


def _statement(
    model_sha256: str, *, meta_sha256: str | None, model_name: str | None, run_id: str | None
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "meta_sha256": meta_sha256,
        "model_name": model_name,
        "model_sha256": model_sha256,
        "run_id": run_id,
    }


def _canonical(statement: Mapping[str, Any]) -> bytes:
    return json.dumps(statement, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def sign_model(
    model_sha256: str,
    *,
    meta_sha256: str | None,
    model_name: str | None,
    run_id: str | None,
    key: Ed25519PrivateKey | None = None,
) -> dict[str, Any]:
    """The seal for a model file: its statement, the signing key's id and the base64 Ed25519 signature."""
    key = key if key is not None else load_signing_key(create=True)
    statement = _statement(model_sha256, meta_sha256=meta_sha256, model_name=model_name, run_id=run_id)
    signature = base64.b64encode(key.sign(_canonical(statement))).decode("ascii")
    return {"statement": statement, "key_id": key_id(key.public_key()), "signature": signature}


def seal_text(seal: Mapping[str, Any]) -> str:
    """A seal as compact JSON (an MLflow tag value)."""
    return json.dumps(seal, sort_keys=True, separators=(",", ":"))


def parse_seal(value: Any, *, source: str) -> dict[str, Any]:
    """A seal from a tag's JSON text or a release.json object; one-line SigningError when malformed."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise SigningError(f"{source}: the model signature is not JSON ({exc})") from exc
    statement = value.get("statement") if isinstance(value, dict) else None
    if (
        not isinstance(value, dict)
        or not isinstance(statement, dict)
        or not isinstance(value.get("signature"), str)
        or not isinstance(value.get("key_id"), str)
    ):
        raise SigningError(f"{source}: the model signature must be an object with 'statement', 'key_id', 'signature'")
    if statement.get("format") != FORMAT:
        raise SigningError(f"{source}: unknown model signature format {statement.get('format')!r} (expected {FORMAT})")
    return value


def verify_seal(
    seal: Any,
    *,
    keys: Mapping[str, Ed25519PublicKey],
    source: str,
    model_sha256: Any = _ANY,
    run_id: Any = _ANY,
    model_name: Any = _ANY,
    meta_sha256: Any = _ANY,
) -> dict[str, Any]:
    """Check that ``seal`` was made by one of ``keys``, is unaltered, and names this file (and run, and model).

    Returns the verified statement. ``model_sha256`` (the sha256 of the bytes about to be loaded), ``run_id``,
    ``model_name`` and ``meta_sha256`` are checked when given; a caller that omits ``model_sha256`` must compare
    the statement's with the file itself.
    Raises SigningError with one line naming ``source`` and what does not hold.
    """
    from cryptography.exceptions import InvalidSignature

    if seal is None:
        raise SigningError(f"{source}: the model is not signed")
    seal = parse_seal(seal, source=source)
    statement: dict[str, Any] = seal["statement"]  # parse_seal checked it is an object
    kid: str = seal["key_id"]
    if not keys:
        raise SigningError(
            f"{source}: no trusted public key is configured to verify the model signature: set {ENV_TRUSTED_KEYS} "
            f"(or {ENV_TRUSTED_KEYS_FILE}, or {ENV_SIGNING_KEY_FILE} where the signing key lives)"
        )
    key = keys.get(kid)
    if key is None:
        raise SigningError(
            f"{source}: the model was signed by key {kid[:16]}, which is not trusted (trusted: {', '.join(keys)})"
        )
    try:
        key.verify(base64.b64decode(seal["signature"], validate=True), _canonical(statement))
    except (InvalidSignature, binascii.Error, ValueError) as exc:
        raise SigningError(
            f"{source}: the model signature does not verify with key {kid}: the signed record was altered"
        ) from exc
    signed_sha = statement.get("model_sha256")
    if model_sha256 is not _ANY and signed_sha != model_sha256:
        raise SigningError(
            f"{source}: model file has sha256 {model_sha256}, the signature (key {kid}) is for {signed_sha}; "
            "the file is not the one mlgate signed"
        )
    if meta_sha256 is not _ANY and statement.get("meta_sha256") != meta_sha256:
        raise SigningError(
            f"{source}: model.meta.json has sha256 {meta_sha256}, the signature (key {kid}) is for "
            f"{statement.get('meta_sha256')}; the meta file (threshold, features) was changed"
        )
    for field, expected in (("run_id", run_id), ("model_name", model_name)):
        if expected is not _ANY and statement.get(field) != expected:
            raise SigningError(
                f"{source}: the signature is for {field} {statement.get(field)!r}, not {expected!r}; "
                "it belongs to another model"
            )
    return statement


# -- command line -------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """``public-key``: print the signing key's public key; ``generate PATH``: write a new key file (0600)."""
    parser = argparse.ArgumentParser(prog="python -m pipeline.signing", description=main.__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("public-key", help="print the public key of the signing key (base64)")
    generate = commands.add_parser("generate", help="write a new Ed25519 signing key (refuses to overwrite)")
    generate.add_argument("path", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.command == "generate":
            if args.path.exists():
                raise SigningError(f"{args.path}: exists already; move it away first (it may sign live models)")
            _create_key_file(args.path)
            key = _read_private_key(args.path)
        else:
            key = load_signing_key(create=True)
        print(public_key_text(key.public_key()))
    except (MlgateError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
