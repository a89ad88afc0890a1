"""One retrain at a time per project: an OS lock that names its holder and reports a predecessor that died.

``mlgate retrain`` (and each cycle of ``mlgate watch``) holds this lock from evaluating the triggers to writing the
journal's ``finished`` line. It is a separate lock from the store lock (:mod:`pipeline.store_lock`), which the
gated run and the release inside a retrain take in turn, and it sits beside it (same key: tracking URI, registry
URI, model name), so every project retraining one model on one store shares it.

* ``flock`` (the ``filelock`` package): the kernel releases it when the holder dies, even on SIGKILL, so a dead
  retrain never blocks the next one; nobody waits on a stale lock.
* A second retrain does not queue behind a running one: it fails at once (:class:`RetrainBusyError`, exit 3),
  naming the holder and for how long it has held the lock (a cron job retries at its next tick).
* The holder writes ``retrain-<key>.owner.json`` (:func:`pipeline.store_lock.write_owner`: pid, host, start,
  command, and here the journal id) and removes it when it ends. Finding that file while taking a free lock means
  the previous holder died mid-retrain: that is reported (:attr:`Held.stale`) and its journal entry is marked
  ``interrupted`` by the caller.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlgate.pipeline.config import ProjectConfig
from mlgate.pipeline.errors import RegistryError, StoreBusyError
from mlgate.pipeline.store_lock import lock_path, owner_path, owner_record, write_owner

__all__ = ["Held", "RetrainBusyError", "retrain_lock", "retrain_lock_path"]


class RetrainBusyError(StoreBusyError):
    """Another ``mlgate retrain`` holds this project's retrain lock (exit 3)."""


@dataclass(frozen=True)
class Held:
    path: Path
    stale: dict[str, Any] | None  # the owner record a dead predecessor left, when there was one

    @property
    def stale_note(self) -> str | None:
        if self.stale is None:
            return None
        return (
            f"a previous retrain ({_describe(self.stale)}) ended without releasing the retrain lock (killed or "
            f"crashed); its journal entry {self.stale.get('journal_id')} is marked interrupted"
        )


def retrain_lock_path(config: ProjectConfig) -> Path:
    store = lock_path(config)
    return store.with_name(f"retrain-{store.name}")


def _describe(owner: dict[str, Any] | None, now: datetime | None = None) -> str:
    if owner is None:
        return "a process that has not recorded itself yet"
    held = ""
    try:
        since = datetime.fromisoformat(str(owner["started_at"]))
        hours = ((now or datetime.now(UTC)) - since).total_seconds() / 3600
        held = f", for {hours:.1f} h"
    except (KeyError, ValueError, TypeError):
        pass
    return (
        f"pid {owner.get('pid')} on {owner.get('host')} since {owner.get('started_at')}{held}, "
        f"`{str(owner.get('command'))[:200]}`"
    )


@contextmanager
def retrain_lock(config: ProjectConfig, *, journal_id: str) -> Iterator[Held]:
    """Hold ``config``'s retrain lock for the block; :class:`RetrainBusyError` at once when it is held."""
    from filelock import FileLock, Timeout

    path = retrain_lock_path(config)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(path, thread_local=False, fallback_to_soft=False)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            raise RetrainBusyError(
                f"another retrain of model '{config.mlflow.model_name}' is running: the retrain lock {path} is held "
                f"by {_describe(owner_record(path))}; it was not waited for: run again when it has finished (if that "
                "process is stuck, stop it: the lock is released when it exits)"
            ) from None
    except OSError as exc:
        raise RegistryError(f"cannot take the retrain lock {path}: {exc.strerror or exc}") from exc
    try:
        stale = owner_record(path)
        write_owner(path, journal_id=journal_id)
        yield Held(path, stale)
    finally:
        owner_path(path).unlink(missing_ok=True)
        lock.release()
