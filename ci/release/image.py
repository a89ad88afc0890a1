"""Build, label, push, pull and inspect the serving image.

The build context is assembled from five inputs: the pinned serving wheels (``uv export`` of uv.lock used as
constraints for the ``serve`` extra, downloaded once into the cache), the mlgate wheel (``uv build``), the
release bundle, the trusted public keys and the Containerfile. The image installs everything offline
(``pip --no-index``).

The trusted public keys (``pipeline.signing.trusted_keys``: the public half of the release machine's signing
key, plus ``MLGATE_TRUSTED_KEYS``) are baked into ``/etc/mlgate/trusted-keys``, OUTSIDE the bundle folder, and
named by ``MLGATE_TRUSTED_KEYS_FILE``: the app loads the bundle's model only if its signature verifies with one
of them. The bundle's signature is checked here too, so an image that could never become ready is not built.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlgate.ci.release.errors import ReleaseError
from mlgate.ci.release.podman import Podman, cache_root
from mlgate.pipeline.signing import SigningError, trusted_keys, trusted_keys_text, verify_seal

__all__ = [
    "CONTAINERFILE",
    "LABEL_PREFIX",
    "build_context",
    "build_image",
    "derive_image",
    "download_wheels",
    "find_uv",
    "image_digest",
    "image_labels",
    "inspect_image",
    "pull_image",
    "push_image",
    "remove_image",
    "serve_requirements",
]

CONTAINERFILE = Path(__file__).with_name("Containerfile")
LABEL_PREFIX = "io.mlgate"
TRUSTED_KEYS_FILE = "trusted-keys"  # build context trust/<this> -> /etc/mlgate/<this> in the image


def _run(command: list[str], *, what: str, cwd: Path | None = None, timeout: float = 900) -> str:
    try:
        done = subprocess.run(command, cwd=cwd, text=True, capture_output=True, timeout=timeout, check=False)
    except FileNotFoundError as exc:
        raise ReleaseError(f"{what}: {command[0]} is not installed") from exc
    except subprocess.TimeoutExpired as exc:
        raise ReleaseError(f"{what}: did not finish within {timeout:.0f} s") from exc
    if done.returncode != 0:
        tail = " | ".join(done.stderr.strip().splitlines()[-3:])
        raise ReleaseError(f"{what} failed (exit {done.returncode}): {tail}")
    return done.stdout


def find_uv(project_root: Path) -> str:
    """uv on PATH, else the pinned copy the Makefile bootstraps in .tools/."""
    found = shutil.which("uv") or next((str(p) for p in (project_root / ".tools" / "bin" / "uv",) if p.exists()), None)
    if found is None:
        raise ReleaseError("uv is not installed (neither on PATH nor .tools/bin/uv); run `make setup`")
    return found


def serve_requirements(project_root: Path) -> list[str]:
    """The ``serve`` extra of pyproject.toml: what the image installs (no mlflow, no training-only packages)."""
    data = tomllib.loads((project_root / "pyproject.toml").read_text())
    try:
        return list(data["project"]["optional-dependencies"]["serve"])
    except KeyError as exc:
        raise ReleaseError(f"{project_root / 'pyproject.toml'}: no [project.optional-dependencies] serve") from exc


def download_wheels(project_root: Path, *, cache: Path | None = None) -> Path:
    """Download the serving wheels pinned by uv.lock into a cache folder keyed by the pins; return the folder.

    The folder holds the wheels plus ``constraints.txt`` (``uv export --frozen --no-dev --extra serve
    --no-emit-project --no-hashes``) and ``requirements-serve.txt`` (the extra's requirements).
    """
    uv = find_uv(project_root)
    constraints = _run(
        [uv, "export", "--frozen", "--no-dev", "--extra", "serve", "--no-emit-project", "--no-hashes", "--quiet"],
        what="uv export (serving pins from uv.lock)",
        cwd=project_root,
    )
    requirements = "\n".join(serve_requirements(project_root)) + "\n"
    key = hashlib.sha256((constraints + "\0" + requirements).encode()).hexdigest()[:16]
    folder = (cache or cache_root() / "wheels") / key
    if (folder / ".complete").exists():
        return folder
    partial = folder.with_name(key + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    (partial / "constraints.txt").write_text(constraints)
    (partial / "requirements-serve.txt").write_text(requirements)
    _run(
        [uv, "tool", "run", "--from", "pip", "pip", "download", "--quiet", "--disable-pip-version-check",
         "--only-binary=:all:", "-d", str(partial), "-r", str(partial / "requirements-serve.txt"),
         "-c", str(partial / "constraints.txt")],
        what="pip download (serving wheels)",
    )  # fmt: skip
    (partial / ".complete").write_text(key)
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    return folder


def _link_tree(source: Path, dest: Path) -> None:
    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(source, dest, copy_function=link)


def _trust(bundle_dir: Path) -> str:
    """The trusted public keys as text, after checking that the bundle's model signature verifies with them."""
    from mlgate.ci.release.bundle import read_release, sha256_file

    info = read_release(bundle_dir)
    try:
        keys = trusted_keys()
        verify_seal(
            info.get("model_signature"),
            keys=keys,
            source=str(bundle_dir / "model.skops"),
            model_sha256=sha256_file(bundle_dir / "model.skops"),
            meta_sha256=sha256_file(bundle_dir / "model.meta.json"),
            run_id=info.get("run_id"),
            model_name=info.get("model_name"),
        )
    except (OSError, SigningError) as exc:
        raise ReleaseError(f"release refused: {exc}; rebuild the bundle from the registry") from exc
    return trusted_keys_text(keys)


def build_context(project_root: Path, *, bundle_dir: Path, dest: Path) -> Path:
    """Assemble the build context: Containerfile, wheels/, app/ (the mlgate wheel), bundle/, trust/."""
    trust = _trust(bundle_dir)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    _link_tree(download_wheels(project_root), dest / "wheels")
    (dest / "app").mkdir()
    _run(
        [find_uv(project_root), "build", "--wheel", "--quiet", "--out-dir", str(dest / "app")],
        what="uv build --wheel (mlgate)",
        cwd=project_root,
    )
    shutil.copytree(bundle_dir, dest / "bundle")
    (dest / "trust").mkdir()
    (dest / "trust" / TRUSTED_KEYS_FILE).write_text(trust, encoding="ascii")
    shutil.copy2(CONTAINERFILE, dest / "Containerfile")
    return dest


def image_labels(release_info: Mapping[str, Any]) -> dict[str, str]:
    """OCI and mlgate labels naming what is inside: model, run, commit, gate report, data fingerprint."""

    def text(key: str) -> str:
        value = release_info.get(key)
        return "" if value is None else str(value)

    return {
        "org.opencontainers.image.title": f"mlgate serving: {text('model_name')}",
        "org.opencontainers.image.revision": text("git_commit"),
        "org.opencontainers.image.created": text("created_at"),
        "org.opencontainers.image.version": text("model_version"),
        f"{LABEL_PREFIX}.model.name": text("model_name"),
        f"{LABEL_PREFIX}.model.version": text("model_version"),
        f"{LABEL_PREFIX}.model.sha256": text("model_sha256"),
        f"{LABEL_PREFIX}.run_id": text("run_id"),
        f"{LABEL_PREFIX}.git_commit": text("git_commit"),
        f"{LABEL_PREFIX}.gate_report_sha256": text("gate_report_sha256"),
        f"{LABEL_PREFIX}.data_fingerprint": text("data_fingerprint"),
    }


def build_image(podman: Podman, *, context: Path, base: str, tag: str, labels: Mapping[str, str]) -> str:
    label_args = [arg for key, value in labels.items() for arg in ("--label", f"{key}={value}")]
    podman.run(
        "build", "--quiet", "--layers", "--pull=never", "--network", "host", "--build-arg", f"BASE={base}",
        "--build-arg", f"WHEELS_KEY={(context / 'wheels' / '.complete').read_text()}",
        *label_args, "--tag", tag, "--file", context / "Containerfile", context, timeout=1200,
    )  # fmt: skip
    return tag


def push_image(podman: Podman, image: str, *, tls_verify: bool) -> str:
    """Push and return the pushed manifest digest (``sha256:...``)."""
    digest_file = podman.root / "tmp" / f"digest-{os.getpid()}-{hashlib.sha1(image.encode()).hexdigest()[:8]}"
    podman.run("push", "--quiet", f"--tls-verify={str(tls_verify).lower()}", "--digestfile", digest_file, image)
    try:
        return digest_file.read_text().strip()
    finally:
        digest_file.unlink(missing_ok=True)


def pull_image(podman: Podman, image: str, *, tls_verify: bool) -> str:
    podman.run("pull", "--quiet", f"--tls-verify={str(tls_verify).lower()}", image)
    return image


def remove_image(podman: Podman, image: str) -> None:
    podman.run("rmi", "--force", "--ignore", image, check=False)


def inspect_image(podman: Podman, image: str) -> dict[str, Any]:
    """``podman image inspect`` as a dict (Labels, User, Digest, RepoDigests, ...)."""
    raw = json.loads(podman.run("image", "inspect", image).stdout)
    info: dict[str, Any] = raw[0]
    return info


def image_digest(podman: Podman, image: str) -> str:
    return str(inspect_image(podman, image).get("Digest", ""))


def derive_image(
    podman: Podman,
    image: str,
    *,
    tag: str,
    workdir: Path,
    files: Mapping[str, bytes] | None = None,
    labels: Mapping[str, str] | None = None,
) -> str:
    """A new image on top of ``image`` with some files replaced (absolute paths) and labels added.

    Cheap (no reinstall): used for a second release in rollout tests and for a deliberately broken bundle.
    """
    context = workdir / f"derive-{hashlib.sha1(tag.encode()).hexdigest()[:8]}"
    shutil.rmtree(context, ignore_errors=True)
    context.mkdir(parents=True)
    lines = [f"FROM {image}"]
    for index, (target, data) in enumerate((files or {}).items()):
        (context / f"file{index}").write_bytes(data)
        lines.append(f"COPY file{index} {target}")
    lines += [f'LABEL "{key}"="{value}"' for key, value in (labels or {}).items()]
    (context / "Containerfile").write_text("\n".join(lines) + "\n")
    podman.run("build", "--quiet", "--pull=never", "--tag", tag, "--file", context / "Containerfile", context)
    shutil.rmtree(context, ignore_errors=True)
    return tag
