"""mlgate: test-first quality and CI gating for machine-learning projects.

The installed package is ``mlgate`` with three subpackages: ``mlgate.pipeline`` produces artifacts,
``mlgate.checks`` judges them and ``mlgate.ci`` orchestrates. The repository keeps them as the folders
``pipeline/``, ``checks/`` and ``ci/`` at its root (the design fixes that layout). ``mlgate/pipeline``,
``mlgate/checks`` and ``mlgate/ci`` are committed symbolic links to those folders, so every tool (Python's
import system, mypy, import-linter, coverage) sees one package, ``mlgate``, without any import hook. The wheel
maps each folder into this package (``force-include`` in pyproject.toml), so an installed mlgate puts exactly
one name on ``sys.path`` and never collides with a user's own ``pipeline`` or ``ci`` package.
"""

from __future__ import annotations

__all__ = ["__version__"]


def __getattr__(name: str) -> str:
    """``mlgate.__version__``, looked up on first use: importlib.metadata costs every process 30-60 ms
    (email, zipfile, csv ...) and only ``--version``-like callers need it (light imports, house style 21)."""
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("mlgate")
    except PackageNotFoundError:  # pragma: no cover - a checkout used without installing it
        found = "0+unknown"
    globals()["__version__"] = found  # cached: later lookups do not come back here
    return found
