"""Retrain the candidate from a config file, for the reproducibility gate's fresh-process check.

    python -m pipeline.retrain --config mlgate.toml --out DIR [--root PROJECT_DIR]

runs exactly the gated run's training sequence (:func:`pipeline.candidate.load_data` then
:func:`pipeline.candidate.train_candidate` with ``model.random_state``) and writes to ``DIR``:

- ``proba_test.npy``   the model's scores of every test row (float64, in split order: the positive-class probability,
                       every class's probability, or the prediction, per task);
- ``retrain.json``     the test metrics, decision threshold, data fingerprint, config sha256 and the
                       thread counts the process ran with (:data:`RETRAIN_JSON`).

``--root`` resolves the config's relative paths (data source, schema) against another folder than the
config file's own: ``mlgate reproduce`` retrains from a run's logged config, downloaded to a temporary
folder, on the project's data. Exit codes: 0 written, 2 a known error (config, data, training), printed
as one line on stderr.

The child never outlives the gated run that started it, even when that run is killed with SIGKILL: the
parent passes the read end of a pipe (``--parent-pipe FD``) whose write end only it holds; a thread in the
child blocks reading it, and when the parent dies, for any reason, the kernel closes the write end, the read
returns end-of-file and the child exits at once (exit 125). An interrupted parent (Ctrl-C) kills the child
before it re-raises, and a timed-out child is killed. No ``preexec_fn`` (unsafe in a threaded parent) and no
polling are needed, and it works wherever pipes do.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from mlgate.pipeline.config import ProjectConfig, load_config
from mlgate.pipeline.errors import MlgateError
from mlgate.pipeline.records import RetrainOutcome, RetrainOutput

__all__ = [
    "PARENT_GONE_EXIT",
    "PROBA_FILE",
    "RETRAIN_JSON",
    "THREAD_VARIABLES",
    "PendingRetrain",
    "RetrainOutcome",
    "RetrainOutput",
    "child_thread_count",
    "exit_with_parent",
    "main",
    "read_output",
    "retrain",
    "retrain_in_fresh_process",
    "snapshot_file",
    "start_retrain",
    "thread_counts",
    "write_output",
]

PROBA_FILE = "proba_test.npy"
RETRAIN_JSON = "retrain.json"
#: Environment variables that set the native thread pools' size in a child process.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
#: Exit code of a child whose parent died (nobody reads it: the parent is gone).
PARENT_GONE_EXIT = 125


def thread_counts() -> dict[str, int]:
    """The largest thread count of each native thread pool (openmp, blas) loaded in this process."""
    from threadpoolctl import threadpool_info

    counts: dict[str, int] = {}
    for pool in threadpool_info():
        api = str(pool.get("user_api"))
        counts[api] = max(counts.get(api, 0), int(pool.get("num_threads") or 0))
    return counts


def _clean_metric(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if np.isfinite(number) else None


def retrain(config: ProjectConfig) -> RetrainOutput:
    """Load the data and train the candidate exactly as the gated run does."""
    from mlgate.pipeline.candidate import load_data, train_candidate

    if config.data.engine == "spark":  # the same sampled rows, read by a local Spark of this process
        from mlgate.pipeline.spark.model_data import load_model_data

        data = load_model_data(config)
    else:
        data = load_data(config)
    candidate = train_candidate(config, data, random_state=config.model.random_state)
    return RetrainOutput(
        proba_test=np.asarray(candidate.proba_test, dtype=np.float64),
        metrics={name: _clean_metric(value) for name, value in candidate.evaluation.overall.items()},
        threshold=float(candidate.threshold),
        threshold_source=candidate.threshold_source,
        data_fingerprint=data.dataset.fingerprint,
        config_sha256=config.sha256,
        n_test=len(candidate.proba_test),
        threads=thread_counts(),
    )


def write_output(output: RetrainOutput, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / PROBA_FILE, output.proba_test, allow_pickle=False)
    (folder / RETRAIN_JSON).write_text(json.dumps(output.to_json(), indent=2, sort_keys=True), encoding="utf-8")


def read_output(folder: Path) -> RetrainOutput:
    """Read what :func:`write_output` wrote; a missing or broken file raises :class:`MlgateError`."""
    try:
        proba = np.load(folder / PROBA_FILE, allow_pickle=False)
        raw = json.loads((folder / RETRAIN_JSON).read_text(encoding="utf-8"))
        return RetrainOutput(
            proba_test=np.asarray(proba, dtype=np.float64),
            metrics={str(k): _clean_metric(v) for k, v in raw["metrics"].items()},
            threshold=float(raw["threshold"]),
            threshold_source=str(raw["threshold_source"]),
            data_fingerprint=str(raw["data_fingerprint"]),
            config_sha256=str(raw["config_sha256"]),
            n_test=int(raw["n_test"]),
            threads={str(k): int(v) for k, v in raw.get("threads", {}).items()},
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise MlgateError(f"{folder}: retrain output missing or unreadable ({type(exc).__name__}: {exc})") from exc


def child_thread_count(parent: dict[str, int]) -> int:
    """A thread count different from the parent's: 1 when the parent runs more, else 2."""
    return 1 if max(parent.values(), default=1) > 1 else 2


class PendingRetrain:
    """A retrain running in a fresh process, started by :func:`start_retrain`; :meth:`wait` reads its output.

    The caller MUST end it: :meth:`wait` (or :meth:`outcome`) once, or :meth:`cancel`; use it as a context
    manager so that an exception (Ctrl-C included) kills the child. The child exits by itself as soon as this
    process dies (the pipe lifeline, see the module docstring).
    """

    def __init__(
        self,
        config_path: Path,
        *,
        threads: int,
        root: Path | None,
        timeout_s: float,
        env: dict[str, str],
        data_file: Path | None = None,
    ):
        self.config_path = config_path
        self.timeout_s = timeout_s
        self._scratch = tempfile.TemporaryDirectory(prefix="mlgate-retrain-")
        self._out = Path(self._scratch.name) / "out"
        self._stderr = (Path(self._scratch.name) / "stderr.txt").open("w+b")
        command = [
            sys.executable,
            "-m",
            "mlgate.pipeline.retrain",
            "--config",
            str(config_path),
            "--out",
            str(self._out),
        ]
        if root is not None:
            command += ["--root", str(root)]
        if data_file is not None:
            command += ["--data-file", str(data_file)]
        lifeline, self._keep = os.pipe()  # the child reads `lifeline`; `_keep` closes when this process dies
        passed: tuple[int, ...] = ()
        if os.name == "posix":  # (pass_fds is POSIX only)
            command += ["--parent-pipe", str(lifeline)]
            passed = (lifeline,)
        self._started = time.monotonic()
        try:
            self._process: subprocess.Popen[bytes] | None = subprocess.Popen(
                command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._stderr,
                pass_fds=passed,
            )  # fmt: skip
        except OSError as exc:
            self._process = None
            self._error: str | None = f"retrain of {config_path} could not start: {exc}"
        else:
            self._error = None
        finally:
            os.close(lifeline)

    def wait(self) -> RetrainOutput:
        """Wait for the child (up to ``timeout_s`` from its start) and read its output; failures raise MlgateError."""
        try:
            if self._process is None:
                raise MlgateError(self._error or f"retrain of {self.config_path} did not start")
            remaining = max(0.0, self.timeout_s - (time.monotonic() - self._started))
            try:
                code = self._process.wait(timeout=remaining)
            except subprocess.TimeoutExpired as exc:
                raise MlgateError(f"retrain of {self.config_path} did not finish within {self.timeout_s:g} s") from exc
            if code != 0:
                self._stderr.seek(0)
                text = self._stderr.read().decode("utf-8", errors="replace")
                lines = [line for line in text.splitlines() if line.strip()]
                last = lines[-1] if lines else "(no output)"
                raise MlgateError(f"retrain of {self.config_path} failed in a fresh process (exit {code}): {last}")
            return read_output(self._out)
        finally:
            self.cancel()

    def outcome(self, parent_threads: int) -> RetrainOutcome:
        """:meth:`wait` as a record: the output, or the one-line reason it failed."""
        try:
            return RetrainOutcome(self.wait(), None, parent_threads)
        except MlgateError as exc:
            return RetrainOutcome(None, str(exc), parent_threads)

    def cancel(self) -> None:
        """Kill the child if it still runs and free everything; safe to call more than once."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        if self._keep >= 0:
            os.close(self._keep)
            self._keep = -1
        if not self._stderr.closed:
            self._stderr.close()
        self._scratch.cleanup()

    def __enter__(self) -> PendingRetrain:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cancel()


def snapshot_file(config: ProjectConfig) -> Path | None:
    """The Parquet file a config derived in memory trains on when its config file names another source (mlgate
    retrain's training + served-feedback snapshot, :mod:`pipeline.feedback_data`): the child must be told, or it
    would retrain on the file's source. None for a config as loaded."""
    if config.path is None or config.data.resolved_format != "parquet":
        return None
    return Path(config.data_source) if load_config(config.path).data_source != config.data_source else None


def start_retrain(
    config_path: Path,
    *,
    threads: int,
    root: Path | None = None,
    timeout_s: float = 600.0,
    env: dict[str, str] | None = None,
    data_file: Path | None = None,
) -> PendingRetrain:
    """Start ``python -m pipeline.retrain`` in a new interpreter with ``threads`` native threads; do not wait.

    The child inherits ``env`` (default: this process's environment) with the thread variables replaced. It runs
    concurrently with whatever the caller does next; :meth:`PendingRetrain.wait` collects it.
    """
    child_env = dict(os.environ if env is None else env)
    child_env.update(dict.fromkeys(THREAD_VARIABLES, str(threads)))
    return PendingRetrain(
        config_path, threads=threads, root=root, timeout_s=timeout_s, env=child_env, data_file=data_file
    )


def retrain_in_fresh_process(
    config_path: Path,
    *,
    threads: int,
    root: Path | None = None,
    timeout_s: float = 600.0,
    env: dict[str, str] | None = None,
) -> RetrainOutput:
    """:func:`start_retrain` and wait: a failed or timed-out child raises :class:`MlgateError` quoting its stderr."""
    with start_retrain(config_path, threads=threads, root=root, timeout_s=timeout_s, env=env) as pending:
        return pending.wait()


def exit_with_parent(fd: int) -> threading.Thread:
    """Watch the pipe ``fd`` from the parent in a daemon thread; exit this process the moment it closes.

    The parent never writes to it, so a read returns only at end-of-file: when every write end is closed, which
    happens when the parent exits or is killed (SIGKILL included).
    """

    def watch() -> None:
        try:
            while os.read(fd, 1):
                pass
        except OSError:
            pass
        try:  # (stderr is a pipe to the dead parent: writing may fail)
            print("mlgate.pipeline.retrain: error: the parent process is gone; stopping", file=sys.stderr, flush=True)
        finally:
            os._exit(PARENT_GONE_EXIT)

    thread = threading.Thread(target=watch, name="mlgate-parent-watch", daemon=True)
    thread.start()
    return thread


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.retrain", description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, type=Path, help="Project config file.")
    parser.add_argument("--out", required=True, type=Path, help="Folder for proba_test.npy and retrain.json.")
    parser.add_argument("--root", type=Path, default=None, help="Resolve relative config paths against this.")
    parser.add_argument(
        "--data-file", type=Path, default=None, help="Train on this Parquet file instead of the config's data source."
    )
    parser.add_argument("--parent-pipe", type=int, default=None, help="Exit when this pipe closes (the parent died).")
    args = parser.parse_args(argv)
    if args.parent_pipe is not None:
        exit_with_parent(args.parent_pipe)
    try:
        config = load_config(args.config)
        if args.root is not None:
            config = config.model_copy(update={"path": args.root.resolve() / args.config.name})
        if args.data_file is not None:  # a retrain's snapshot of training + served-feedback rows
            data = config.data.model_copy(update={"source": str(args.data_file), "format": "parquet", "query": None})
            config = config.model_copy(update={"data": data})
        write_output(retrain(config), args.out)
    except MlgateError as exc:
        print(f"mlgate.pipeline.retrain: error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
