"""Modules stay small and functions read in one screen (house style 3; issue 8).

Every ``.py`` file of the package source (``pipeline/``, ``checks/``, ``ci/`` at the repository root) is parsed
with :mod:`ast`: a module over :data:`MAX_MODULE_LINES` lines, or a function or method whose ``def`` spans over
:data:`MAX_FUNCTION_LINES` lines (``end_lineno - lineno + 1``, decorators excluded, nested functions counted on
their own as well as inside their parent), fails the test with its size. A module over the limit is two modules;
a function over it is split into named stages.

:data:`PENDING` lists offenders that someone is still splitting. It may only shrink: an entry that no longer
offends fails the test too, so it is taken out as soon as its split lands and the list ends empty.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80
PACKAGE_FOLDERS = ("pipeline", "checks", "ci")

# Exact keys as the scanner reports them: "path" for a module, "path:Qualified.name" for a function or method.
PENDING: set[str] = set()


def _functions(tree: ast.AST, prefix: str = "") -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Yield ``(qualified name, def node)`` for every function and method, nested ones included."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            name = prefix + node.name
            yield name, node
            yield from _functions(node, name + ".")
        elif isinstance(node, ast.ClassDef):
            yield from _functions(node, prefix + node.name + ".")
        else:
            yield from _functions(node, prefix)


def oversized(root: Path, folders: tuple[str, ...] = PACKAGE_FOLDERS) -> dict[str, int]:
    """Every module over the module limit and every function over the function limit under ``root/<folder>``,
    keyed ``path`` or ``path:qualname`` (paths relative to ``root``, with forward slashes), valued its length."""
    found: dict[str, int] = {}
    for folder in folders:
        for path in sorted((root / folder).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            relative = path.relative_to(root).as_posix()
            lines = len(text.splitlines())
            if lines > MAX_MODULE_LINES:
                found[relative] = lines
            for name, node in _functions(ast.parse(text, filename=str(path))):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    found[f"{relative}:{name}"] = length
    return found


def _describe(found: dict[str, int]) -> str:
    return "\n".join(f"  {key}: {lines} lines" for key, lines in sorted(found.items()))


def test_no_module_or_function_over_the_limits(repo_root: Path) -> None:
    found = oversized(repo_root)
    new = {key: lines for key, lines in found.items() if key not in PENDING}
    assert not new, (
        f"over the limits (modules {MAX_MODULE_LINES} lines, functions {MAX_FUNCTION_LINES} lines); split "
        f"the module in two or the function into named stages:\n{_describe(new)}"
    )


def test_pending_entries_still_offend(repo_root: Path) -> None:
    done = sorted(PENDING - oversized(repo_root).keys())
    assert not done, f"no longer over the limits, take them out of PENDING in {__file__}: {done}"


def _function(name: str, lines: int) -> str:
    """A function whose ``def`` spans exactly ``lines`` lines."""
    body = "".join(f"    x{index} = {index}\n" for index in range(lines - 2))
    return f"@staticmethod\ndef {name}():\n{body}    return 0\n"


def test_scanner_reports_a_long_function_and_module_and_passes_the_limits(tmp_path: Path) -> None:
    package = tmp_path / "pipeline"
    (package / "sub").mkdir(parents=True)
    (package / "sub" / "funcs.py").write_text(
        _function("at_limit", MAX_FUNCTION_LINES)
        + "class Holder:\n"
        + "".join("    " + line + "\n" for line in _function("too_long", MAX_FUNCTION_LINES + 1).splitlines())
    )
    (package / "big.py").write_text("x = 0\n" * (MAX_MODULE_LINES + 1))
    (package / "at_limit.py").write_text("x = 0\n" * MAX_MODULE_LINES)
    assert oversized(tmp_path, ("pipeline",)) == {
        "pipeline/sub/funcs.py:Holder.too_long": MAX_FUNCTION_LINES + 1,
        "pipeline/big.py": MAX_MODULE_LINES + 1,
    }


@pytest.mark.parametrize("folder", PACKAGE_FOLDERS)
def test_scanner_sees_the_package_source(repo_root: Path, folder: str) -> None:
    # a wrong root would scan nothing and pass: every folder must hold Python modules to scan
    assert any((repo_root / folder).rglob("*.py"))
