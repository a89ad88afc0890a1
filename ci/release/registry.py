"""A local OCI registry on loopback: Debian's ``docker-registry`` (the CNCF distribution registry).

Started with filesystem storage in a temp folder and stopped (with the folder) when the release is done.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mlgate.ci.release.errors import ReleaseError

__all__ = ["LocalRegistry", "free_port", "local_registry", "port_free", "start_registry", "stop_registry"]

_CONFIG = """\
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: true
http:
  addr: {host}:{port}
"""


@dataclass
class LocalRegistry:
    host: str
    port: int
    folder: Path
    process: subprocess.Popen[bytes]

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def port_free(host: str, port: int) -> bool:
    """Whether a server could listen on ``host:port`` now. With SO_REUSEADDR, as the registry, nginx and uvicorn
    bind: a port whose last connections are in TIME_WAIT is free to them (for 60 s after a release, a plain bind
    would call the registry's port "in use"); a port another socket listens on is not."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


#: Where :func:`free_port` looks: below Linux's default ephemeral range (32768-60999), so a port handed to a server
#: (and the replica ports after it, ``port + 1, ...``) is not also the local port of some outgoing connection. The
#: kernel's own choice (``bind(0)``) is an ephemeral port: under heavy client traffic a replica started a moment
#: later found it taken ("address already in use").
FREE_PORTS = range(20_000, 32_000)
_HANDED_OUT: set[int] = set()


def free_port(host: str = "127.0.0.1") -> int:
    """A port free right now below the ephemeral range (for tests and temporary services): scanned from an offset
    of this process's id, so parallel test workers start far apart, with room above it for a few replicas."""
    span = len(FREE_PORTS)
    start = (os.getpid() * 997) % span
    for step in range(0, span, 7):
        port = FREE_PORTS[(start + step) % span]
        if port not in _HANDED_OUT and port_free(host, port):
            _HANDED_OUT.add(port)  # not bound yet by whoever asked: never hand it out twice
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:  # nothing free there: the kernel's choice
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def start_registry(*, host: str = "127.0.0.1", port: int = 5000, timeout: float = 20.0) -> LocalRegistry:
    """Start a registry on ``host:port`` with temp storage; wait (bounded) until ``/v2/`` answers."""
    if host not in {"127.0.0.1", "localhost"}:
        raise ReleaseError(f"local registry must bind to loopback, got host {host!r}")
    binary = shutil.which("docker-registry")
    if binary is None:
        raise ReleaseError("docker-registry is not installed; run scripts/install-system-deps.sh")
    if not port_free(host, port):
        raise ReleaseError(
            f"local registry: {host}:{port} is already in use; free it or change release.image_repository"
        )
    folder = Path(tempfile.mkdtemp(prefix="mlgate-registry-"))
    (folder / "storage").mkdir()
    config = folder / "config.yml"
    config.write_text(_CONFIG.format(storage=folder / "storage", host=host, port=port))
    with (folder / "registry.log").open("wb") as log:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT)
    registry = LocalRegistry(host, port, folder, process)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = (folder / "registry.log").read_text(errors="replace").strip().splitlines()[-2:]
            stop_registry(registry)
            raise ReleaseError(f"local registry on {host}:{port} exited at start: {' | '.join(tail)}")
        try:
            with urllib.request.urlopen(f"http://{host}:{port}/v2/", timeout=1) as response:
                if response.status == 200:
                    return registry
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    stop_registry(registry)
    raise ReleaseError(f"local registry on {host}:{port} did not answer /v2/ within {timeout:.0f} s")


def stop_registry(registry: LocalRegistry) -> None:
    if registry.process.poll() is None:
        registry.process.terminate()
        try:
            registry.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            registry.process.kill()
            registry.process.wait(timeout=10)
    shutil.rmtree(registry.folder, ignore_errors=True)


@contextmanager
def local_registry(*, host: str = "127.0.0.1", port: int = 5000) -> Iterator[LocalRegistry]:
    registry = start_registry(host=host, port=port)
    try:
        yield registry
    finally:
        stop_registry(registry)
