"""Whether a path is, or could be made, a writable folder — found out without creating anything.

One probe for every "is this a usable output folder?" question (the report folder ``--out``, the MLflow
artifact location): walk up to the nearest existing folder, then create and remove a temporary folder there.
Permission bits are not enough (root ignores them; a read-only file system does not show in them), so the probe
writes. Callers word the refusal themselves, naming their own option or key.
"""

from __future__ import annotations

import enum
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["FolderProblem", "Problem", "folder_problem"]


class Problem(enum.Enum):
    NOT_A_FOLDER = "not_a_folder"  # the path itself is a file
    PARENT_NOT_A_FOLDER = "parent_not_a_folder"  # the nearest existing ancestor is a file
    BROKEN_LINK = "broken_link"  # a dangling symbolic link on the way
    NOT_WRITABLE = "not_writable"  # the nearest existing folder refuses a new entry


@dataclass(frozen=True)
class FolderProblem:
    kind: Problem
    path: Path  # the path asked about (absolute)
    at: Path  # where the problem is: the path, the ancestor that is a file, the link, the unwritable folder
    reason: str = ""  # the OS's reason, for NOT_WRITABLE

    @property
    def exists(self) -> bool:
        """Whether the problem is at the path itself (it exists), not at an ancestor it would be created in."""
        return self.at == self.path


def folder_problem(path: Path) -> FolderProblem | None:
    """None when ``path`` is a writable folder or could be created as one; otherwise what stands in the way."""
    path = Path(path).expanduser().absolute()
    existing = path
    while not existing.exists() and existing != existing.parent:
        if existing.is_symlink():
            return FolderProblem(Problem.BROKEN_LINK, path, existing)
        existing = existing.parent
    if not existing.is_dir():
        kind = Problem.NOT_A_FOLDER if existing == path else Problem.PARENT_NOT_A_FOLDER
        return FolderProblem(kind, path, existing)
    try:
        probe = tempfile.mkdtemp(prefix=".mlgate-probe-", dir=existing)
    except OSError as exc:
        return FolderProblem(Problem.NOT_WRITABLE, path, existing, exc.strerror or str(exc) or type(exc).__name__)
    os.rmdir(probe)
    return None
