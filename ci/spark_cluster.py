"""A Spark standalone cluster on this machine: one master and N workers on 127.0.0.1, from PySpark's own jars.

The tests (and anyone trying ``data.engine = "spark"`` without a cluster) start one with::

    python -m mlgate.ci.spark_cluster --workers 2 --cores 1 --memory 1g     # prints the master URL, Ctrl-C stops

or in code :func:`standalone` (a context manager yielding a :class:`Cluster`). Each daemon is Spark's own class run
by PySpark's ``bin/spark-class`` (the ``sbin`` start scripts are not shipped in the PySpark wheel): the master
``org.apache.spark.deploy.master.Master`` and the workers ``org.apache.spark.deploy.worker.Worker``, each in its own
JVM process, bound to 127.0.0.1 on free ports, their logs in the cluster's folder. Ready means the master's JSON
status page lists every worker ALIVE; a daemon that exits or a cluster not ready within ``timeout_s`` stops
everything and raises :class:`ClusterError` naming the daemon and the end of its log. Stopping terminates the
process groups (the workers' executors with them) and waits for them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from mlgate.pipeline.spark.session import EngineError

__all__ = ["Cluster", "ClusterError", "free_port", "spark_home", "standalone"]

_MASTER = "org.apache.spark.deploy.master.Master"
_WORKER = "org.apache.spark.deploy.worker.Worker"


class ClusterError(EngineError):
    """The cluster could not start: names the daemon and quotes the end of its log."""


def spark_home() -> Path:
    """The installed PySpark's folder, which holds ``bin/spark-class`` and ``jars/``."""
    try:
        import pyspark
    except ImportError as exc:
        raise ClusterError("PySpark is not installed: install mlgate with the spark extra (mlgate[spark])") from exc
    return Path(pyspark.__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Cluster:
    """A running standalone cluster: its master URL, its web UI and the daemons' processes and logs."""

    url: str
    ui: str
    folder: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def workers(self) -> list[dict[str, object]]:
        """The master's view of its workers (``/json/``: id, state, cores, memory)."""
        with urllib.request.urlopen(f"{self.ui}/json/", timeout=5) as answer:
            status = json.load(answer)
        found: list[dict[str, object]] = status.get("workers", [])
        return found

    def stop(self) -> None:
        for process in reversed(list(self.processes.values())):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def _daemon(home: Path, folder: Path, name: str, args: list[str], memory: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "SPARK_HOME": str(home),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_LOG_DIR": str(folder),
        "SPARK_WORKER_DIR": str(folder / f"{name}-work"),
        "SPARK_DAEMON_MEMORY": memory,
        "PYSPARK_PYTHON": sys.executable,
    }
    with (folder / f"{name}.log").open("wb") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [str(home / "bin" / "spark-class"), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # its own process group: stop() ends the JVM and whatever it started
        )


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(line.strip() for line in text[-lines:]) or "(empty log)"


def _wait_ready(cluster: Cluster, workers: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for name, process in cluster.processes.items():
            if process.poll() is not None:
                raise ClusterError(
                    f"Spark {name} exited with code {process.returncode}: {_tail(cluster.folder / f'{name}.log')}"
                )
        try:
            alive = [w for w in cluster.workers() if w.get("state") == "ALIVE"]
        except OSError:
            alive = []
        if len(alive) >= workers:
            return
        time.sleep(0.5)
    raise ClusterError(
        f"the Spark cluster at {cluster.url} was not ready within {timeout_s:g} s "
        f"(master log: {_tail(cluster.folder / 'master.log')})"
    )


@contextmanager
def standalone(
    workers: int = 2, *, cores: int = 1, memory: str = "1g", timeout_s: float = 120.0, folder: Path | None = None
) -> Iterator[Cluster]:
    """Start a master and ``workers`` workers (``cores`` and ``memory`` each) on 127.0.0.1; stop them on exit."""
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise ClusterError(
            "no Java runtime: install one (Debian: openjdk-17-jre-headless; scripts/install-system-deps.sh)"
        )
    home = spark_home()
    owned = folder is None
    where = Path(tempfile.mkdtemp(prefix="mlgate-spark-cluster-")) if folder is None else folder
    where.mkdir(parents=True, exist_ok=True)
    port, ui_port = free_port(), free_port()
    cluster = Cluster(url=f"spark://127.0.0.1:{port}", ui=f"http://127.0.0.1:{ui_port}", folder=where)
    try:
        master_args = [_MASTER, "--host", "127.0.0.1", "--port", str(port), "--webui-port", str(ui_port)]
        cluster.processes["master"] = _daemon(home, where, "master", master_args, "512m")
        for i in range(workers):
            args = [_WORKER, "--host", "127.0.0.1", "--webui-port", str(free_port()), "--cores", str(cores)]
            args += ["--memory", memory, "--work-dir", str(where / f"worker{i + 1}-work"), cluster.url]
            cluster.processes[f"worker{i + 1}"] = _daemon(home, where, f"worker{i + 1}", args, "256m")
        _wait_ready(cluster, workers, timeout_s)
        yield cluster
    finally:
        cluster.stop()
        if owned:
            shutil.rmtree(where, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlgate.ci.spark_cluster", description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cores", type=int, default=1, help="cores per worker")
    parser.add_argument("--memory", default="1g", help="memory per worker (Spark notation: 512m, 2g)")
    parser.add_argument("--folder", type=Path, default=None, help="where the daemons' logs go (kept)")
    args = parser.parse_args(argv)
    try:
        with standalone(args.workers, cores=args.cores, memory=args.memory, folder=args.folder) as cluster:
            print(f"master {cluster.url} (web UI {cluster.ui}); {args.workers} workers alive; Ctrl-C stops", flush=True)
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
            while all(p.poll() is None for p in cluster.processes.values()):
                time.sleep(1)
            print("a Spark daemon exited; stopping the cluster", file=sys.stderr)
            return 1
    except ClusterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
