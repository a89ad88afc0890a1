"""One champion-moving command at a time per MLflow store and model: an OS file lock that names its holder.

A gated run reads the champion, judges the candidate against it and promotes; ``mlgate release`` and
``mlgate rollback`` move the champion too. Two of them at once on one store and model could each judge against
a champion the other is about to replace (both promote, and a report names the wrong previous champion). So
each holds :func:`store_lock` from reading the champion until the alias has moved.

* The key is the tracking URI, the registry URI and the model name (sha256, 16 hex digits). The lock file lives
  beside a sqlite store (``<store folder>/.mlgate-locks/<key>.lock``: every project using that store shares
  it), else beside the config (``.mlgate/locks/<key>.lock``: one machine; a shared server needs its users to
  run one at a time, e.g. one CI concurrency group).
* It is an OS lock (``flock`` through the ``filelock`` package, no fallback to a marker file): the kernel
  releases it when its holder dies, even on SIGKILL, so a dead run never blocks the next one.
* The holder writes ``<key>.owner.json`` (pid, host, start time, command) beside the lock. A command that
  finds the lock taken waits up to ``timeout_s`` (``--lock-timeout``; 0 = fail at once), then fails with
  :class:`~pipeline.errors.StoreBusyError` (exit 3) naming the holder.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlgate.pipeline.config import ProjectConfig
from mlgate.pipeline.errors import RegistryError, StoreBusyError
from mlgate.pipeline.redact import redact_url
from mlgate.pipeline.registry.store import LOCK_DIR, sqlite_file

__all__ = [
    "DEFAULT_LOCK_TIMEOUT_S",
    "lock_path",
    "owner_path",
    "owner_record",
    "read_owner",
    "store_lock",
    "write_owner",
]

#: How long a command waits for another one holding the lock, unless told otherwise (seconds).
DEFAULT_LOCK_TIMEOUT_S = 300.0


def lock_path(config: ProjectConfig) -> Path:
    """The lock file for ``config``'s store and model (see the module docstring)."""
    text = f"{config.tracking_uri}\n{config.registry_uri}\n{config.mlflow.model_name}"
    key = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    store = sqlite_file(config.tracking_uri)
    folder = store.parent / LOCK_DIR if store is not None else config.root / ".mlgate" / "locks"
    return folder / f"{key}.lock"


def owner_path(lock: Path) -> Path:
    """The holder's sidecar file of ``lock`` (``<name>.owner.json``), removed when the holder lets go."""
    return lock.with_name(lock.stem + ".owner.json")


def _command() -> str:
    args = [Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python", *sys.argv[1:]]
    if args[0] in {"cli.py", "__main__.py"}:
        args[0] = "mlgate"
    text = " ".join(args)
    return text if len(text) <= 200 else text[:197] + "..."


def owner_record(lock: Path) -> dict[str, Any] | None:
    """The sidecar's record (None: no sidecar; an unreadable one comes back as a record saying so)."""
    try:
        found = json.loads(owner_path(lock).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {"pid": "?", "host": "?", "started_at": "?", "command": "an unreadable owner file"}
    return found if isinstance(found, dict) else {"command": "an unreadable owner file"}


def read_owner(lock: Path) -> str:
    """Who holds (or last held) ``lock``, in words, from its sidecar file."""
    try:
        owner = owner_record(lock) or {}
        return (
            f"pid {int(owner['pid'])} on {owner['host']} since {owner['started_at']} (`{str(owner['command'])[:200]}`)"
        )
    except (ValueError, KeyError, TypeError):
        return "a process that has not recorded itself yet"


def write_owner(lock: Path, **extra: str) -> None:
    """Record this process as the holder of ``lock`` (pid, host, start, command, and ``extra``), atomically."""
    record = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": _command(),
        **extra,
    }
    path = owner_path(lock)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(json.dumps(record, sort_keys=True) + "\n", encoding="utf-8")
    partial.replace(path)


@contextmanager
def store_lock(
    config: ProjectConfig,
    *,
    timeout_s: float = DEFAULT_LOCK_TIMEOUT_S,
    on_wait: Callable[[str], object] | None = None,
    enabled: bool = True,
) -> Iterator[Path | None]:
    """Hold the store lock of ``config`` for the ``with`` block (nothing at all when not ``enabled``).

    ``on_wait`` is called once, with a line naming the holder, when the lock is taken and this command waits.
    Raises :class:`StoreBusyError` after ``timeout_s`` seconds, :class:`RegistryError` when the lock file
    cannot be made.
    """
    if not enabled:
        yield None
        return
    from filelock import FileLock, Timeout

    path = lock_path(config)
    target = f"model '{config.mlflow.model_name}' at {redact_url(config.tracking_uri)}"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(path, thread_local=False, fallback_to_soft=False)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            holder = read_owner(path)
            if timeout_s > 0:
                if on_wait is not None:
                    on_wait(f"waiting up to {timeout_s:g} s for the store lock held by {holder}")
                try:
                    lock.acquire(timeout=timeout_s)
                except Timeout:
                    holder = read_owner(path)
                else:
                    holder = ""
            if holder:
                raise StoreBusyError(
                    f"another mlgate command is using {target}: the store lock {path} is held by {holder}; "
                    f"waited {timeout_s:g} s (--lock-timeout): let it finish, then run again"
                ) from None
    except OSError as exc:
        raise RegistryError(f"cannot take the store lock {path} for {target}: {exc.strerror or exc}") from exc
    try:
        write_owner(path)
        yield path
    finally:
        owner_path(path).unlink(missing_ok=True)
        lock.release()
