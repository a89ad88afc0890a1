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

import sys
from typing import Any

__all__ = ["__version__"]


class _NoPandasOnSparkForPandera:
    """Declines ``import pyspark.pandas`` when pandera asks for it at its own import, and only then.

    With PySpark installed (the ``spark`` extra), ``import pandera.pandas`` imports pandas-on-Spark for type hints
    mlgate does not use (and which fails to import on pandas 3 anyway, after the warning): about a second per
    process, and PySpark 4.3 prints a FutureWarning about pandas 3 on every ``mlgate`` command. pandera catches
    the ImportError and carries on; anyone else's import is untouched.
    """

    @staticmethod
    def find_spec(name: str, path: Any = None, target: Any = None) -> None:
        if name == "pyspark.pandas":
            frame = sys._getframe(1)
            while frame is not None:
                if (
                    frame.f_code.co_name == "_set_pyspark_environment_variables"
                    and "pandera" in frame.f_code.co_filename
                ):
                    raise ModuleNotFoundError("pyspark.pandas is not needed by mlgate's pandera schemas")
                frame = frame.f_back  # type: ignore[assignment]
        return None


if not any(isinstance(finder, _NoPandasOnSparkForPandera) for finder in sys.meta_path):
    sys.meta_path.insert(0, _NoPandasOnSparkForPandera())


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
