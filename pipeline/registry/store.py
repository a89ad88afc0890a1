"""The MLflow store on disk: a sqlite file created atomically and checked before MLflow opens it, and an
artifact location checked before anything is logged to it.

Why: MLflow creates a new sqlite store in place (``create_all``, then some 60 alembic migrations, each committed
on its own) over several seconds. A process killed in between leaves a file that MLflow refuses for ever
("out-of-date database schema"), and a reader that opens a missing store creates an empty one. So:

* :func:`prepare_sqlite_store` runs before MLflow opens a ``sqlite:///`` store. A complete store (every table,
  schema at MLflow's head revision) opens as usual. A missing store is created only when ``create`` is true
  (a gated run logging its candidate); readers get "no MLflow store at <path>; run `mlgate run` first".
* Creation builds the store in a hidden file beside the target (``.<name>.init-<pid>.tmp``), lets MLflow create
  and migrate it there, checks that it is complete, fsyncs it and moves it into place with ``os.replace``: the
  one commit point. A kill before it leaves no store (the next creator removes the leftover temporary file),
  a kill after it a complete one. Creators take an OS file lock (``.mlgate-locks/<name>.init.lock`` beside the
  store; released when its holder dies), so two first runs at once create it once.
* A store left unfinished by an older version (a migration interrupted in place) is rebuilt the same way when
  it provably holds no data (no rows but MLflow's own bookkeeping); otherwise the message says how to repair it.
* :func:`check_artifact_location` refuses a location MLflow could not write to (a local folder that cannot be
  created or written, an unknown URI scheme) before a store, experiment or run exists, so a pure config
  problem leaves no FAILED run and no experiment pinned to a bad location.

mlflow is imported inside functions only.
"""

from __future__ import annotations

import enum
import os
import sqlite3
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse
from urllib.request import url2pathname

from mlgate.pipeline.errors import ConfigError, RegistryError
from mlgate.pipeline.folders import Problem, folder_problem

if TYPE_CHECKING:
    from mlgate.pipeline.config import ProjectConfig

__all__ = [
    "LOCK_DIR",
    "SchemaState",
    "StoreState",
    "check_artifact_location",
    "check_pinned_location",
    "inspect_sqlite",
    "local_artifact_path",
    "prepare_sqlite_store",
    "sqlite_file",
    "store_exists",
    "store_state",
]

#: Folder beside a sqlite store that holds mlgate's lock files (creation lock, run locks).
LOCK_DIR = ".mlgate-locks"
#: How long a creator waits for another process that is creating the same store (seconds).
CREATION_WAIT_S = 300.0
#: Tables MLflow fills by itself (schema bookkeeping, the default workspace); rows there are not user data.
_BOOKKEEPING = frozenset({"alembic_version", "workspaces"})
#: Artifact URI schemes in MLflow's registry that name something to download, not a place to store.
_NOT_A_ROOT = frozenset({"", "models", "runs"})


class StoreState(enum.Enum):
    """What a tracking URI points at, as far as mlgate can tell without opening MLflow on it."""

    ABSENT = "absent"  # a sqlite URI whose file does not exist
    INTERRUPTED = "interrupted"  # a sqlite file left unfinished by an interrupted creation, holding no data
    UNFINISHED = "unfinished"  # a sqlite file not at MLflow's schema, holding data: needs a repair by hand
    READY = "ready"  # a complete sqlite store
    OTHER = "other"  # not a sqlite file (a server, another database) or not readable as sqlite: MLflow judges


@dataclass(frozen=True)
class SchemaState:
    """The schema of a sqlite file as MLflow would judge it."""

    revision: str | None  # alembic_version, None when there is none
    head: str  # MLflow's latest revision
    missing_tables: tuple[str, ...]
    user_rows: int  # rows outside MLflow's bookkeeping (and its 'Default' experiment)

    @property
    def complete(self) -> bool:
        return self.revision == self.head and not self.missing_tables

    @property
    def empty(self) -> bool:
        return self.user_rows == 0


def sqlite_file(uri: str) -> Path | None:
    """The file of a ``sqlite:///path`` URI (None for other URIs and in-memory databases)."""
    if not uri.startswith("sqlite:///"):
        return None
    path = uri[len("sqlite:///") :].split("?", 1)[0]
    return None if not path or path == ":memory:" else Path(path)


@lru_cache(maxsize=1)
def _mlflow_schema() -> tuple[str, frozenset[str]]:
    """MLflow's head schema revision and the tables its models define."""
    from mlflow.store.db.base_sql_model import Base
    from mlflow.store.db.utils import _get_latest_schema_revision

    return _get_latest_schema_revision(), frozenset(Base.metadata.tables)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def inspect_sqlite(path: Path) -> SchemaState:
    """Read ``path``'s tables, alembic revision and row counts, read-only (raises sqlite3.DatabaseError)."""
    head, expected = _mlflow_schema()
    connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        tables = {
            name
            for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not name.startswith("sqlite_")
        }
        revision = None
        if "alembic_version" in tables:
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
            revision = None if row is None else str(row[0])
        rows = 0
        for table in sorted(tables - _BOOKKEEPING):
            query = f"SELECT COUNT(*) FROM {_quoted(table)}"  # (table names from sqlite_master, quoted)
            if table == "experiments":
                query += " WHERE NOT (experiment_id = 0 AND name = 'Default')"
            rows += int(connection.execute(query).fetchone()[0])
    finally:
        connection.close()
    return SchemaState(revision, head, tuple(sorted(expected - tables)), rows)


def store_exists(config: ProjectConfig) -> bool:
    """Whether ``config`` has a store to read: False for a sqlite store whose file does not exist yet, or that an
    interrupted first run left unfinished and empty (the next run rebuilds it). Reading never creates one; no
    MLflow import (``mlgate monitor``, ``retrain`` and the dashboard ask before they open a registry)."""
    nothing = {StoreState.ABSENT, StoreState.INTERRUPTED}
    return not any(store_state(uri) in nothing for uri in {config.tracking_uri, config.registry_uri})


def store_state(uri: str) -> StoreState:
    """Classify ``uri`` without creating or changing anything."""
    path = sqlite_file(uri)
    if path is None:
        return StoreState.OTHER
    if not path.exists():
        return StoreState.ABSENT
    try:
        state = inspect_sqlite(path)
    except (sqlite3.Error, OSError):
        return StoreState.OTHER  # corrupt or unreadable: opening it gives MLflow's own one-line error
    if state.complete:
        return StoreState.READY
    return StoreState.INTERRUPTED if state.empty else StoreState.UNFINISHED


def _unfinished_message(path: Path, state: SchemaState) -> str:
    from mlflow.store.db.utils import _get_alembic_config

    missing = f"; tables missing: {', '.join(state.missing_tables[:5])}" if state.missing_tables else ""
    if state.revision is not None and state.revision != state.head:
        from alembic.script import ScriptDirectory

        try:
            ScriptDirectory.from_config(_get_alembic_config("")).get_revision(state.revision)
        except Exception:  # an unknown revision: a newer MLflow wrote this store
            return (
                f"the MLflow store at {path} has schema revision {state.revision}, unknown to the installed MLflow "
                f"(head {state.head}): it was written by a newer MLflow; install that version"
            )
    return (
        f"the MLflow store at {path} is not fully migrated (schema revision {state.revision or 'none'}, MLflow "
        f"expects {state.head}{missing}) and holds data: back it up, then run `mlflow db upgrade sqlite:///{path}`"
    )


def _refusal(path: Path, state: SchemaState | None) -> RegistryError:
    """Why a reader cannot open ``path`` (which is missing or unfinished)."""
    if state is None:
        return RegistryError(f"no MLflow store at {path}; run `mlgate run` first")
    if state.empty:
        return RegistryError(
            f"no usable MLflow store at {path}: a first run was interrupted while creating it (it holds no data); "
            "run `mlgate run` to create it again"
        )
    return RegistryError(_unfinished_message(path, state))


def _state(path: Path) -> SchemaState | None:
    if not path.exists():
        return None
    if not path.is_file():
        raise RegistryError(f"the MLflow store {path} is not a file")
    return inspect_sqlite(path)


def prepare_sqlite_store(uri: str, *, create: bool, artifact_root: str | None = None) -> None:
    """Make sure the sqlite store behind ``uri`` is complete before MLflow opens it (no-op for other URIs).

    ``create``: build a missing store (or rebuild one an interrupted creation left empty), atomically.
    Without it a missing or unfinished store raises :class:`RegistryError` and nothing is written.
    """
    path = sqlite_file(uri)
    if path is None:
        return
    state = _state(path)
    if state is not None and state.complete:
        return
    if not create or (state is not None and not state.empty):
        raise _refusal(path, state)
    from filelock import FileLock, Timeout

    folder = path.parent
    try:
        (folder / LOCK_DIR).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RegistryError(
            f"the MLflow store {uri} is unusable: cannot create folder {folder} ({exc.strerror})"
        ) from exc
    lock = FileLock(folder / LOCK_DIR / f"{path.name}.init.lock", thread_local=False, fallback_to_soft=False)
    try:
        lock.acquire(timeout=CREATION_WAIT_S)
    except Timeout as exc:
        raise RegistryError(
            f"another process has been creating the MLflow store {path} for {CREATION_WAIT_S:g} s; is it stuck?"
        ) from exc
    try:
        state = _state(path)  # another process may have created it while this one waited
        if state is not None and state.complete:
            return
        if state is not None and not state.empty:
            raise _refusal(path, state)
        _build(path, artifact_root)
    finally:
        lock.release()


def _forget_engine(uri: str) -> None:
    """Drop MLflow's cached SQLAlchemy engine for ``uri`` (its pooled connections hold the old file open)."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    engine = SqlAlchemyStore._engine_map.pop(uri, None)
    if engine is not None:
        engine.dispose()


def _fsync(path: Path, *, folder: bool = False) -> None:
    """Flush ``path`` (a file, or a folder's entries) to disk; a folder that cannot be opened (Windows) is skipped."""
    try:
        descriptor = os.open(path, os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if folder else 0))
    except OSError:
        if folder:
            return
        raise
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _commit(built: Path, path: Path) -> None:
    """The commit point: the complete store takes the target's name in one step."""
    os.replace(built, path)
    _fsync(path.parent, folder=True)


def _build(path: Path, artifact_root: str | None) -> None:
    """Create and migrate the store in a temporary file beside ``path``, check it, then move it into place."""
    from mlflow.store.tracking import DEFAULT_LOCAL_FILE_AND_ARTIFACT_PATH
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    from mlgate.pipeline.registry.records import quiet_mlflow

    prefix = f".{path.name}.init-"
    for leftover in path.parent.glob(prefix + "*"):  # from a creator killed earlier: we hold the lock
        leftover.unlink(missing_ok=True)
    built = path.parent / f"{prefix}{os.getpid()}.tmp"
    built_uri = f"sqlite:///{built}"
    try:
        with quiet_mlflow():
            SqlAlchemyStore(built_uri, artifact_root or DEFAULT_LOCAL_FILE_AND_ARTIFACT_PATH)
        _forget_engine(built_uri)
        state = inspect_sqlite(built)
        if not state.complete:
            raise RegistryError(
                f"creating the MLflow store {path} left schema revision {state.revision}, not {state.head}"
            )
        _fsync(built)
        for suffix in ("-journal", "-wal", "-shm"):  # an old file's journal must never meet the new file
            path.with_name(path.name + suffix).unlink(missing_ok=True)
        _commit(built, path)
        _forget_engine(f"sqlite:///{path}")
    finally:
        for leftover in path.parent.glob(f"{prefix}{os.getpid()}.tmp*"):
            leftover.unlink(missing_ok=True)


# -- the artifact location --------------------------------------------------------------------------------


def local_artifact_path(location: str) -> Path | None:
    """The folder of a local artifact location (a path or a ``file:`` URI); None for remote schemes."""
    parsed = urlparse(location)
    if parsed.scheme == "file":
        return Path(url2pathname(parsed.path))
    if parsed.scheme == "" or len(parsed.scheme) == 1:  # a plain path (or a Windows drive letter)
        return Path(location)
    return None


def _artifact_schemes() -> list[str]:
    from mlflow.store.artifact.artifact_repository_registry import _artifact_repository_registry

    return sorted(set(getattr(_artifact_repository_registry, "_registry", {})) - _NOT_A_ROOT)


def check_artifact_location(location: str, *, key: str = "mlflow.artifact_location") -> None:
    """Refuse (ConfigError, exit 2) a location MLflow could not store artifacts in; create nothing.

    A local folder must exist as a writable folder or be creatable (its nearest existing parent is a writable
    folder: probed by creating and removing a temporary folder there, which also catches read-only file
    systems and root); a URI must use a scheme MLflow has an artifact repository for.
    """
    path = local_artifact_path(location)
    if path is None:
        scheme = urlparse(location).scheme
        schemes = _artifact_schemes()
        if scheme not in schemes:
            raise ConfigError(
                f"{key} {location!r}: MLflow has no artifact store for scheme '{scheme}'; "
                f"use a local folder or one of {', '.join(s + '://' for s in schemes if s != 'file')}"
            )
        return
    problem = folder_problem(path)
    if problem is None:
        return
    path, at = problem.path, problem.at
    if problem.kind is Problem.BROKEN_LINK:
        raise ConfigError(f"{key} {path}: {at} is a broken symbolic link")
    if problem.kind is not Problem.NOT_WRITABLE:
        what = "is" if problem.exists else f"needs the folder {at}, which is"
        raise ConfigError(f"{key} {path} {what} a file, not a folder; point it at a folder")
    action = "cannot write into it" if problem.exists else f"cannot create it in {at}"
    raise ConfigError(f"{key} {path}: {action} ({problem.reason}); choose a writable folder or fix its permissions")


def _normalised(location: str) -> str:
    path = local_artifact_path(location)
    return str(path.expanduser().absolute()) if path is not None else location.rstrip("/")


def check_pinned_location(experiment: str, pinned: str, configured: str | None) -> None:
    """Refuse an existing experiment whose artifact location is not the configured one (MLflow would keep
    logging to the experiment's, silently); without a configured location, check the experiment's own."""
    if configured is None:
        check_artifact_location(pinned, key=f"the artifact location of experiment '{experiment}'")
    elif _normalised(pinned) != _normalised(configured):
        raise ConfigError(
            f"mlflow.artifact_location is {configured}, but experiment '{experiment}' already keeps its artifacts at "
            f"{pinned} (an experiment's location is fixed when it is created): set mlflow.artifact_location to "
            "that location, or name a new mlflow.experiment"
        )
