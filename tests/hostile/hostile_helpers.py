"""Helpers of the bad-input corpus, importable by name from the corpus files (``from hostile_helpers import``).

They live here and not in conftest.py: ``from conftest import`` finds whichever folder's conftest module was
imported first when several test folders run in one session.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CliResult", "assert_one_line_error", "run_cli_process"]


@dataclass(frozen=True)
class CliResult:
    code: int
    stdout: str
    stderr: str

    @property
    def error_line(self) -> str:
        """The ``mlgate: error: ...`` line (the test fails when there is none)."""
        lines = [line for line in self.stderr.splitlines() if line.startswith("mlgate: error: ")]
        assert len(lines) == 1, f"expected one 'mlgate: error:' line, got stderr:\n{self.stderr}"
        return lines[0]


def assert_one_line_error(result: CliResult, code: int, pattern: str) -> None:
    """Exit ``code``, exactly one error line matching ``pattern`` (a regex), and no traceback anywhere."""
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    assert result.code == code, f"exit {result.code}, expected {code}; stderr:\n{result.stderr}"
    line = result.error_line
    assert re.search(pattern, line), f"{line!r} does not match {pattern!r}"


def run_cli_process(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 600) -> CliResult:
    full_env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})}
    full_env.pop("MLGATE_TRACKING_URI", None)
    done = subprocess.run(
        [sys.executable, "-m", "mlgate.ci.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
    )
    return CliResult(done.returncode, done.stdout, done.stderr)
