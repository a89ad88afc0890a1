"""The base image, built from Debian packages with mmdebstrap (no base image can be pulled here).

The image is tagged ``localhost/mlgate-base:<hash>`` where the hash covers every input (suite, variant,
packages, the import changes), so it is built once per machine and rebuilt only when an input changes.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import tempfile
from pathlib import Path

from mlgate.ci.release.errors import ReleaseError
from mlgate.ci.release.podman import Podman

__all__ = ["BASE_PACKAGES", "base_image_tag", "debian_mirror", "ensure_base_image"]

BASE_PACKAGES: tuple[str, ...] = ("python3", "python3-venv", "ca-certificates")
_CHANGES: tuple[str, ...] = ('CMD ["python3"]', "ENV LANG=C.UTF-8")
_FORMAT = 1  # bump to force a rebuild when this module changes how the base is made


def debian_mirror(sources: tuple[Path, ...] = (Path("/etc/apt/sources.list.d"), Path("/etc/apt/sources.list"))) -> str:
    """The Debian mirror already configured for apt (deb822 or one-line format), else deb.debian.org."""
    for source in sources:
        files = sorted(source.glob("*")) if source.is_dir() else [source]
        for file in files:
            try:
                text = file.read_text()
            except OSError:
                continue
            for match in re.finditer(r"(?:URIs:|^deb)\s+(\S+/debian)\s*$", text, flags=re.MULTILINE):
                return match.group(1)
    return "http://deb.debian.org/debian"


def base_image_tag(*, suite: str = "bookworm", packages: tuple[str, ...] = BASE_PACKAGES) -> str:
    inputs = {"suite": suite, "variant": "minbase", "packages": sorted(packages), "changes": _CHANGES, "v": _FORMAT}
    digest = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]
    return f"localhost/mlgate-base:{suite}-{digest}"


def ensure_base_image(
    podman: Podman, *, suite: str = "bookworm", packages: tuple[str, ...] = BASE_PACKAGES, mirror: str | None = None
) -> str:
    """Return the base image reference, building it with mmdebstrap and ``podman import`` only if missing."""
    tag = base_image_tag(suite=suite, packages=packages)
    if podman.exists(tag):
        return tag
    mirror = mirror or debian_mirror()
    with tempfile.TemporaryDirectory(prefix="mlgate-base-", dir=podman.root / "tmp") as tmp:
        tarball = Path(tmp) / "base.tar"
        command = [
            "mmdebstrap",
            "--quiet",
            "--variant=minbase",
            f"--include={','.join(packages)}",
            "--format=tar",
            suite,
            str(tarball),
            mirror,
        ]
        try:
            done = subprocess.run(command, text=True, capture_output=True, timeout=900, check=False)
        except FileNotFoundError as exc:
            raise ReleaseError("mmdebstrap is not installed; run scripts/install-system-deps.sh") from exc
        if done.returncode != 0:
            tail = " | ".join(done.stderr.strip().splitlines()[-3:])
            raise ReleaseError(f"mmdebstrap {suite} from {mirror} failed (exit {done.returncode}): {tail}")
        changes = [arg for change in _CHANGES for arg in ("--change", change)]
        podman.run("import", *changes, tarball, tag, timeout=600)
    return tag
