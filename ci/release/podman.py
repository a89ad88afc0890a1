"""Run podman with a project-owned configuration (no Docker engine, no systemd, no root-wide settings).

Measured constraints of the hosts mlgate runs on (see the team note on container images): ``crun`` fails on
hybrid cgroups, so ``runc``; default rlimits need CAP_SYS_RESOURCE, so explicit ulimits; storage lives in a
stable cache folder (``$MLGATE_CACHE_DIR`` or ``~/.cache/mlgate``) so the base image is built once per machine.
Nothing here runs at import time.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mlgate.ci.release.errors import ReleaseError

__all__ = ["Podman", "cache_root", "podman_available"]

_CONTAINERS_CONF = Path(__file__).with_name("containers.conf")
_STORAGE_CONF = """\
[storage]
driver = "overlay"
graphroot = "{graphroot}"
runroot = "{runroot}"
"""


def cache_root() -> Path:
    """The stable per-machine cache: podman storage, the base image tarball, downloaded wheels."""
    return Path(os.environ.get("MLGATE_CACHE_DIR") or Path.home() / ".cache" / "mlgate").expanduser()


def podman_available() -> bool:
    return shutil.which("podman") is not None


@dataclass(frozen=True)
class Podman:
    """A podman command line bound to one storage root (``root/storage``, ``root/run``)."""

    root: Path

    @classmethod
    def default(cls) -> Podman:
        return cls.at(cache_root() / "containers")

    @classmethod
    def at(cls, root: Path) -> Podman:
        if not podman_available():
            raise ReleaseError("podman is not installed; run scripts/install-system-deps.sh (needs root)")
        root = root.resolve()
        (root / "storage").mkdir(parents=True, exist_ok=True)
        (root / "run").mkdir(parents=True, exist_ok=True)
        (root / "tmp").mkdir(parents=True, exist_ok=True)
        conf = root / "storage.conf"
        text = _STORAGE_CONF.format(graphroot=root / "storage", runroot=root / "run")
        if not conf.exists() or conf.read_text() != text:
            conf.write_text(text)
        return cls(root)

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["CONTAINERS_CONF"] = str(_CONTAINERS_CONF)
        env["CONTAINERS_STORAGE_CONF"] = str(self.root / "storage.conf")
        env["TMPDIR"] = str(self.root / "tmp")
        return env

    def run(
        self,
        *args: str | Path,
        check: bool = True,
        timeout: float = 600,
        capture: bool = True,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``podman ARGS``; a failure becomes a one-line ReleaseError naming the command and podman's stderr.

        ``env`` adds variables to podman's own environment: ``--env NAME`` (no value) hands one to a container
        without putting its value on a command line (a database URL with a password).
        """
        command = ["podman", *map(str, args)]
        try:
            done = subprocess.run(
                command, env={**self.env(), **(env or {})}, text=True, capture_output=capture, timeout=timeout
            )
        except subprocess.TimeoutExpired as exc:
            raise ReleaseError(f"`podman {args[0]}` did not finish within {timeout:.0f} s") from exc
        if check and done.returncode != 0:
            tail = (done.stderr or "").strip().splitlines()[-3:]
            raise ReleaseError(f"`{' '.join(command[:4])} ...` failed (exit {done.returncode}): {' | '.join(tail)}")
        return done

    def exists(self, image: str) -> bool:
        return self.run("image", "exists", image, check=False).returncode == 0

    def container_running(self, name: str) -> bool:
        done = self.run("container", "inspect", "--format", "{{.State.Running}}", name, check=False)
        return done.returncode == 0 and done.stdout.strip() == "true"

    def log_tail(self, name: str, *, lines: int = 4) -> str:
        """The container's last log lines on one line (for error messages)."""
        done = self.run("logs", "--tail", str(lines), name, check=False)
        text = (done.stdout + done.stderr).strip().splitlines()
        return " | ".join(line.strip() for line in text[-lines:]) or "(no log)"

    def image_user(self, image: str) -> tuple[int, int] | None:
        """The numeric ``uid, gid`` the image runs as (its ``USER``), None when it names no numeric user."""
        user = self.run("image", "inspect", "--format", "{{.Config.User}}", image).stdout.strip()
        uid, _, gid = user.partition(":")
        if not uid.isdigit():
            return None
        return int(uid), int(gid) if gid.isdigit() else int(uid)

    def chown_for_container(self, path: Path, uid: int, gid: int) -> None:
        """Give ``path`` to the container user ``uid:gid`` as the container sees it: the same ids when podman runs
        as root, the ids podman's user namespace maps them to when rootless (``podman unshare chown``)."""
        if os.geteuid() == 0:
            os.chown(path, uid, gid)
        else:
            self.run("unshare", "chown", f"{uid}:{gid}", path)

    def remove_container(self, name: str, *, stop_timeout: int = 5) -> None:
        self.run("rm", "--force", "--time", str(stop_timeout), "--ignore", name, check=False, timeout=120)
