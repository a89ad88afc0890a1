"""deepchecks' own environment: built from ``ci/deepchecks/uv.lock`` into a cache folder, run as a subprocess.

deepchecks 0.19.1 needs numpy<2, pandas<3 and scikit-learn<1.7 (``ci/deepchecks/pyproject.toml`` says why), so
it never enters mlgate's environment: :func:`build` syncs the locked project into
``$MLGATE_CACHE/deepchecks-<sha256(uv.lock)[:12]>`` (default ``~/.cache/mlgate``; a changed lock is a new
folder, so an old build is never half-updated), with ``uv sync --frozen --compile-bytecode`` (the import is 3 s
instead of 7.6 s with bytecode); after the first build it needs no network. :func:`run_job` runs
``ci/deepchecks/runner.py`` with that environment's python on a job file (:mod:`ci.deepchecks.job`) and returns
the result JSON it wrote. Nothing of deepchecks is imported here.

A missing or broken environment is one :class:`DeepchecksEnvError` line saying how to build it (exit 2).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlgate.ci.deepchecks.runner import QUIET_ENV
from mlgate.pipeline.errors import MlgateError

__all__ = [
    "PROJECT",
    "DeepchecksEnv",
    "DeepchecksEnvError",
    "RunningJob",
    "build",
    "env_dir",
    "find_env",
    "run_job",
]

#: The locked deepchecks project (shipped with the package, beside this module).
PROJECT = Path(__file__).resolve().parent / "deepchecks"
RUNNER = PROJECT / "runner.py"
SETUP_HINT = "build it with `mlgate deepchecks setup` (once; offline afterwards)"


class DeepchecksEnvError(MlgateError):
    """The isolated deepchecks environment is missing, broken, or its runner failed."""


@dataclass(frozen=True)
class DeepchecksEnv:
    folder: Path
    python: Path
    lock_sha256: str


def _cache_root() -> Path:
    root = os.environ.get("MLGATE_CACHE")
    return Path(root).expanduser() if root else Path.home() / ".cache" / "mlgate"


def env_dir(project: Path = PROJECT) -> tuple[Path, str]:
    """Where the environment of ``project``'s lock lives, and the lock's sha256."""
    lock = project / "uv.lock"
    try:
        digest = hashlib.sha256(lock.read_bytes()).hexdigest()
    except OSError as exc:
        raise DeepchecksEnvError(f"{lock}: the deepchecks lock file is not readable ({exc.strerror})") from exc
    return _cache_root() / f"deepchecks-{digest[:12]}", digest


def find_env(project: Path = PROJECT) -> DeepchecksEnv:
    """The built environment; DeepchecksEnvError (how to build it) when it is not there or not usable."""
    folder, digest = env_dir(project)
    python = folder / "bin" / "python"
    if not python.is_file():
        raise DeepchecksEnvError(f"the deepchecks environment is not built ({folder} has no bin/python): {SETUP_HINT}")
    probe = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('deepchecks'))"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": ""},
        check=False,
    )
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["no output"])[-1]
        raise DeepchecksEnvError(
            f"the deepchecks environment at {folder} is broken ({last}): delete it and {SETUP_HINT}"
        )
    return DeepchecksEnv(folder, python, digest)


def _uv() -> str:
    """uv on PATH, else the one ``make setup`` installs into the checkout's .tools/bin."""
    local = Path(__file__).resolve().parents[1] / ".tools" / "bin" / "uv"
    found = shutil.which("uv") or (str(local) if local.is_file() else None)
    if found is None:
        raise DeepchecksEnvError("uv is not installed: `make setup` installs it into .tools/bin (or put uv on PATH)")
    return found


def build(project: Path = PROJECT, *, offline: bool = False, timeout_s: float = 1800) -> tuple[DeepchecksEnv, float]:
    """Sync the locked project into its cache folder (a no-op when up to date); the environment and the seconds."""
    folder, _ = env_dir(project)
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(folder), "VIRTUAL_ENV": ""}
    if offline:
        env["UV_OFFLINE"] = "1"
    started = time.perf_counter()
    command = [_uv(), "sync", "--project", str(project), "--frozen", "--compile-bytecode", "--no-progress", "--quiet"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, env=env, check=False)
    except subprocess.TimeoutExpired as exc:
        raise DeepchecksEnvError(f"building the deepchecks environment took over {timeout_s:g} s; try again") from exc
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise DeepchecksEnvError(f"building the deepchecks environment into {folder} failed: {last}")
    return find_env(project), time.perf_counter() - started


class RunningJob:
    """The runner started on a job file (a child process with the built environment's python); :meth:`wait` for
    its result. A context manager: leaving it kills a runner still running (an interrupt, a failed run)."""

    def __init__(self, job_file: Path, *, timeout_s: float = 900, project: Path = PROJECT) -> None:
        self.env = env = find_env(project)
        job = json.loads(Path(job_file).read_text(encoding="utf-8"))
        self.out = Path(job_file).parent / str(job["out"])
        self.timeout_s = timeout_s
        self.started = time.perf_counter()
        # a file, not a pipe that could fill up and block the runner; closed by close()
        self._stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115
        self.process = subprocess.Popen(
            [str(env.python), str(RUNNER), str(job_file)],
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            text=True,
            env={**os.environ, "PYTHONPATH": "", **QUIET_ENV},
        )

    def wait(self) -> dict[str, Any]:
        """The result JSON the runner wrote; DeepchecksEnvError when it timed out, failed or wrote none."""
        try:
            self.process.wait(timeout=max(0.0, self.timeout_s - (time.perf_counter() - self.started)))
        except subprocess.TimeoutExpired as exc:
            self.close()
            raise DeepchecksEnvError(
                f"deepchecks did not finish within {self.timeout_s:g} s (deepchecks.timeout_s)"
            ) from exc
        if self.process.returncode != 0:
            self._stderr.seek(0)
            last = (self._stderr.read().strip().splitlines() or ["no output"])[-1]
            raise DeepchecksEnvError(f"the deepchecks runner failed (exit {self.process.returncode}): {last}")
        try:
            result: dict[str, Any] = json.loads((self.out / "result.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise DeepchecksEnvError(
                f"{self.out / 'result.json'}: the deepchecks runner wrote no readable result ({exc})"
            ) from exc
        return result

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._stderr.close()

    def __enter__(self) -> RunningJob:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def run_job(job_file: Path, *, timeout_s: float = 900, project: Path = PROJECT) -> dict[str, Any]:
    """Run the runner on ``job_file`` with the built environment's python; the result JSON it wrote."""
    with RunningJob(job_file, timeout_s=timeout_s, project=project) as job:
        return job.wait()
