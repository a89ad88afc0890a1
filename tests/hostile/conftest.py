"""The bad-input corpus: broken and hostile data files, configs, schema files, SQL sources, API payloads and
model files, each with the exit code (or HTTP status) and the one-line message a user must get.

Every case runs the real entry point. ``run_cli`` calls ``ci.cli.main`` in-process (fast; an unexpected
exception escapes ``main`` as a traceback and fails the test); ``hostile_helpers.run_cli_process`` runs
``python -m ci.cli`` as a user would (for what only a process shows: signals, children, stderr as printed).
The README counts these cases: ``pytest --collect-only -q tests/hostile``.
"""

from __future__ import annotations

import pytest
from hostile_helpers import CliResult


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    """``run_cli("run", "--config", str(path), ...)`` -> CliResult, in-process through ``ci.cli.main``."""
    from mlgate.ci.cli_options import err_console, out_console

    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("NO_COLOR", "1")
    for console in (out_console, err_console):  # a console made while another width was set keeps that width
        monkeypatch.setattr(console, "_width", 200)
    monkeypatch.delenv("MLGATE_TRACKING_URI", raising=False)

    def invoke(*args: str) -> CliResult:
        from mlgate.ci.cli import main

        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return invoke
