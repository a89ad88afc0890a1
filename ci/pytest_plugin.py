"""pytest plugin: a project config becomes one test item per gate check.

    pytest mlgate.toml                      # every layer, one item per check
    pytest mlgate.toml -m drift             # only the drift layer (only it is computed)
    pytest mlgate.toml --mlgate-layers schema,balance --junitxml=gates.xml

Items come from :func:`ci.gated_run.run_pipeline` — the same code path as ``mlgate gate`` — run once per
session with registration off. A FAIL or ERROR on a blocking check fails its item with the check's message;
SKIPPED skips; WARN and WAIVED pass with the message attached as a JUnit property.
Only files named ``mlgate*.toml`` given on the command line are collected; the plugin is inert otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from mlgate.checks.result import ALL_LAYERS, OPTIONAL_LAYERS, CheckResult, Status

if TYPE_CHECKING:
    from _pytest._code.code import TerminalRepr

    from mlgate.pipeline.config import ProjectConfig

_RESULTS = pytest.StashKey[dict[str, Sequence[CheckResult]]]()


class GateCheckFailed(Exception):
    """A blocking gate check failed; its message is the check's message."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mlgate", "mlgate gate layers as test items")
    group.addoption(
        "--mlgate-layers",
        default=None,
        help=f"Comma-separated layers to run from mlgate*.toml files ({', '.join(ALL_LAYERS)}).",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "mlgate: a gate check collected from an mlgate*.toml project config")
    for layer in ALL_LAYERS:  # harmless if the project registered them already
        config.addinivalue_line("markers", f"{layer}: mlgate {layer} gate layer")


def _selected_layers(config: pytest.Config, project: ProjectConfig) -> list[str]:
    """The layers to run: ``--mlgate-layers``, else the project's (deepchecks when enabled) that ``-m`` selects;
    ``-m deepchecks`` runs the deepchecks layer even when the config does not enable it."""
    explicit = config.getoption("--mlgate-layers")
    if explicit:
        chosen = [name.strip() for name in explicit.split(",") if name.strip()]
        unknown = [name for name in chosen if name not in ALL_LAYERS]
        if unknown:
            raise pytest.UsageError(f"--mlgate-layers: unknown layer {unknown[0]!r}; choose from {ALL_LAYERS}")
        return chosen
    from mlgate.checks.layers import configured_layers

    markexpr = config.getoption("markexpr", default="")
    candidates = list(configured_layers(project))
    if not markexpr:
        return candidates
    candidates += [layer for layer in OPTIONAL_LAYERS if layer in markexpr and layer not in candidates]
    try:  # evaluate -m against each layer's markers so deselected layers are never computed
        from _pytest.mark.expression import Expression

        expression = Expression.compile(markexpr)
        return [layer for layer in candidates if expression.evaluate(_marker_matcher(layer))]
    except Exception:
        return candidates


def _marker_matcher(layer: str) -> Callable[..., bool]:
    """Whether a marker name in ``-m`` selects ``layer``'s checks (its layer marker or ``mlgate``)."""

    def matches(name: str, /, **_: str | int | bool | None) -> bool:
        return name in {layer, "mlgate"}

    return matches


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix == ".toml" and file_path.name.startswith("mlgate") and parent.session.isinitpath(file_path):
        return ProjectConfigFile.from_parent(parent, path=file_path)
    return None


class ProjectConfigFile(pytest.File):
    def collect(self) -> Any:
        from mlgate.ci.gated_run import run_pipeline
        from mlgate.pipeline.config import load_config
        from mlgate.pipeline.errors import MlgateError

        cache = self.config.stash.setdefault(_RESULTS, {})
        key = str(self.path)
        if key not in cache:
            try:
                project = load_config(self.path)
                layers = _selected_layers(self.config, project)
                cache[key] = run_pipeline(project, layers=layers, register=False, promote=False).report.results
            except MlgateError as exc:
                raise self.CollectError(f"mlgate: error: {exc}") from exc
        for result in cache[key]:
            item = GateCheckItem.from_parent(self, name=result.id, result=result)
            item.add_marker(getattr(pytest.mark, result.layer))
            item.add_marker(pytest.mark.mlgate)
            yield item


class GateCheckItem(pytest.Item):
    def __init__(self, *, result: CheckResult, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.result = result
        self.user_properties.append(("status", result.status.value))
        self.user_properties.append(("message", result.message))

    def runtest(self) -> None:
        result = self.result
        if result.status is Status.SKIPPED:
            pytest.skip(result.message)
        if result.blocks:
            raise GateCheckFailed(result.message)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str | TerminalRepr:
        if isinstance(excinfo.value, GateCheckFailed):
            lines = [f"{self.result.id} [{self.result.layer}] {self.result.status.value.upper()}", str(excinfo.value)]
            if self.result.expected is not None or self.result.observed is not None:
                lines.append(f"expected: {self.result.expected!r}  observed: {self.result.observed!r}")
            return "\n".join(lines)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"mlgate {self.result.layer}: {self.result.id}"
