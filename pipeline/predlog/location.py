"""Where a prediction log lives: one SQLAlchemy URL, or a folder of SQLite files, one per serving replica.

Several replicas must never share one SQLite file (on a network or container volume SQLite's locks are not to
be trusted), so each writes ``predictions-<replica>.sqlite`` in the folder, where ``<replica>`` is the host
name and process id (a container's host name is its id, except on the host network, where it is the host's:
``mlgate deploy`` gives each container a hostname of its own; a restarted process gets a new file, and the files
of earlier processes stay readable). A reader given the folder reads every such file; a reader given a URL
(``postgresql+psycopg://...`` for a team, or ``sqlite:///one/file.sqlite``) reads that database.
"""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mlgate.pipeline.redact import redact_text, url_secrets

__all__ = ["FILE_GLOB", "is_url", "log_file", "log_files", "make_engine", "replica_id", "short_reason", "sqlite_url"]

FILE_GLOB = "predictions-*.sqlite"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
SQLITE_BUSY_TIMEOUT_S = 10.0
CONNECT_TIMEOUT_S = 5


def replica_id() -> str:
    """This process's replica name: ``<host>-<pid>``, made safe for a file name (at most 100 characters)."""
    host = _UNSAFE.sub("_", socket.gethostname()) or "host"
    return f"{host[:80]}-{os.getpid()}"


def is_url(location: str | Path) -> bool:
    """A location with a scheme (``://``) is an SQLAlchemy URL; anything else is a folder (or one file)."""
    return "://" in str(location)


def log_file(directory: Path, replica: str) -> Path:
    return directory / f"predictions-{replica}.sqlite"


def log_files(directory: Path) -> list[Path]:
    """The replica files in ``directory``, oldest name first (SQLite's own journal files are not matched)."""
    return sorted(path for path in directory.glob(FILE_GLOB) if path.is_file())


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path.resolve()}"


def make_engine(url: str) -> Engine:
    """An engine for the log at ``url``: SQLite waits up to 10 s for another connection's lock, a server
    connection gives up after 5 s and is checked before reuse (a restarted server is reconnected)."""
    connect_args: dict[str, Any] = {}
    options: dict[str, Any] = {}
    name = sa.engine.make_url(url).get_backend_name()
    if name == "sqlite":
        connect_args = {"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False}
    else:
        options["pool_pre_ping"] = True
        if name == "postgresql":
            connect_args = {"connect_timeout": CONNECT_TIMEOUT_S}
    return sa.create_engine(url, connect_args=connect_args, **options)


def short_reason(exc: BaseException, url: str = "") -> str:
    """One line for a database error, credentials hidden: the driver's first line, at most 200 characters."""
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    line = redact_text(line, url_secrets(url) if url else ())
    return line if len(line) <= 200 else line[:197] + "..."
