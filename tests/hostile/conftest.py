"""The bad-input corpus: broken and hostile data files, configs, schema files, SQL sources, API payloads and
model files, each with the exit code (or HTTP status) and the one-line message a user must get.

Every case runs the real entry point. ``run_cli`` calls ``ci.cli.main`` in-process (fast; an unexpected
exception escapes ``main`` as a traceback and fails the test), ``run_cli_process`` runs ``python -m ci.cli``
as a user would (for what only a process shows: signals, children, stderr as printed).
The README counts these cases: ``pytest --collect-only -q tests/hostile``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest


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
    import re

    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    assert result.code == code, f"exit {result.code}, expected {code}; stderr:\n{result.stderr}"
    line = result.error_line
    assert re.search(pattern, line), f"{line!r} does not match {pattern!r}"


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    """``run_cli("run", "--config", str(path), ...)`` -> CliResult, in-process through ``ci.cli.main``."""
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("MLGATE_TRACKING_URI", raising=False)

    def invoke(*args: str) -> CliResult:
        from ci.cli import main

        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return invoke


def run_cli_process(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 600) -> CliResult:
    full_env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})}
    full_env.pop("MLGATE_TRACKING_URI", None)
    done = subprocess.run(
        [sys.executable, "-m", "ci.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=full_env
    )
    return CliResult(done.returncode, done.stdout, done.stderr)
