"""Where a deployment's replicas record their predictions (:mod:`pipeline.predlog`): one host folder or one database.

By default every replica mounts one host folder, ``<workdir>/predictions`` (``mlgate deploy up --log-dir`` names
another), at :data:`IMAGE_LOG_DIR` and writes its own SQLite file there, ``predictions-<hostname>-<pid>.sqlite``. On
the host network a container would get the host's name (and the app is pid 1 in every container), so each
container gets a hostname of its own: its name and its start time in milliseconds. A replacement replica therefore
writes a new file, never one another replica holds, and a rolling update, a rollback or a teardown deletes none:
the folder outlives every container. It is given to the image's user (its numeric ``USER``, 10001 for the mlgate
image) as podman maps it: the same id when podman runs as root, the user namespace's id when rootless.

When ``MLGATE_PREDICTION_LOG_URL`` is set for ``mlgate deploy up`` (or ``[monitor.log] url`` names a database),
every replica gets that URL instead and nothing is mounted. The URL reaches the containers through podman's
environment (``--env NAME``), never a command line; the state file keeps it with its password hidden, and every
later command of the deployment (update, canary, rollback, reconcile) must see the same database, so one
deployment never splits its log. A SQLite URL is refused: replicas must not share one SQLite file.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from mlgate.pipeline.config_monitor import LOG_DIR_ENV, LOG_URL_ENV
from mlgate.pipeline.errors import ConfigError
from mlgate.pipeline.redact import redact_url

if TYPE_CHECKING:
    from mlgate.ci.release.podman import Podman
    from mlgate.pipeline.config import ProjectConfig

__all__ = ["IMAGE_LOG_DIR", "LOG_FOLDER", "choose_log", "container_hostname", "log_env", "prepare_log_folder"]

#: The prediction-log folder inside the serving image (its ``MLGATE_PREDICTION_LOG_DIR``).
IMAGE_LOG_DIR = "/var/lib/mlgate/predictions"
#: The default host folder, under the deployment's work dir.
LOG_FOLDER = "predictions"


def _database_url(config: ProjectConfig) -> tuple[str, str] | None:
    """``(url, where it came from)`` of a database every replica logs to, or None for a folder."""
    url = os.environ.get(LOG_URL_ENV) or None
    source = LOG_URL_ENV
    if url is None and config.monitor.log.url is not None:
        url, source = config.monitor.log.url, "[monitor.log] url"
    if url is None:
        return None
    if url.split(":", 1)[0].split("+", 1)[0].lower() == "sqlite":
        raise ConfigError(
            f"{source} is a SQLite URL ({redact_url(url)}): the replicas of a deployment must not share one SQLite "
            f"file; unset it and let every replica write its own file in the deployment's log folder (--log-dir)"
        )
    return url, source


def choose_log(config: ProjectConfig, *, workdir: Path, log_dir: Path | None) -> tuple[str | None, str | None]:
    """Where a new deployment logs: ``(host folder, None)`` or ``(None, the database URL with its password
    hidden)`` (module docstring)."""
    database = _database_url(config)
    if database is not None:
        if log_dir is not None:
            raise ConfigError(
                f"--log-dir {log_dir} and {database[1]} both name the prediction log; give one (the database URL "
                f"logs every replica to one database, the folder gives each replica its own SQLite file)"
            )
        return None, redact_url(database[0])
    return str((log_dir or workdir / LOG_FOLDER).expanduser().resolve()), None


def log_env(config: ProjectConfig, database: str | None) -> dict[str, str]:
    """The variables that hand a deployment's database URL to a new replica (empty when it logs to a folder);
    :class:`ConfigError` when the URL is gone or names another database than the deployment's."""
    if database is None:
        return {}
    found = _database_url(config)
    if found is None:
        raise ConfigError(
            f"this deployment logs predictions to {database}: set {LOG_URL_ENV} (or [monitor.log] url) for this "
            f"command too, so new replicas log there"
        )
    url, source = found
    if redact_url(url) != database:
        raise ConfigError(
            f"{source} names {redact_url(url)}, but this deployment logs predictions to {database}; one deployment "
            f"keeps one log: tear it down and deploy again to move it"
        )
    return {LOG_URL_ENV: url}


def prepare_log_folder(podman: Podman, image: str, folder: Path) -> tuple[dict[Path, str], dict[str, str]]:
    """Create ``folder`` (never emptied) for ``image``'s user; return the volume that mounts it in a replica and
    the variable that points the app at it (set explicitly, whatever the image's default)."""
    folder.mkdir(parents=True, exist_ok=True)
    # As root the folder is private to the container user (root reads it anyway); rootless, the host user must
    # still list it once it belongs to a user-namespace id.
    folder.chmod(0o750 if os.geteuid() == 0 else 0o755)
    user = podman.image_user(image)
    if user is not None and user[0] != 0:
        podman.chown_for_container(folder, *user)
    return {folder: IMAGE_LOG_DIR}, {LOG_DIR_ENV: IMAGE_LOG_DIR}


def container_hostname(name: str) -> str:
    """A hostname for a new container of ``name``: unique per start (the app names its log file after it)."""
    return f"{name}-{time.time_ns() // 1_000_000:x}"
