"""The README's Layout section and docs/ARCHITECTURE.md match the code: every module is named, nothing stale."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

LAYERS = ("pipeline", "checks", "ci")


def _layout_block(readme: str) -> dict[str, str]:
    """Folder -> the text of its entry in the README's Layout code block."""
    section = readme.split("## Layout\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```\n", 2)[1]
    entries: dict[str, str] = {}
    current = None
    for line in block.splitlines():
        head = re.match(r"^(\S+)/\s", line)
        if head:
            current = head.group(1)
            entries[current] = ""
        if current:
            entries[current] += line + "\n"
    return entries


def _modules(root: Path, layer: str) -> set[str]:
    """Module names as the layout writes them: ``name`` or ``sub/`` plus ``name`` inside it."""
    names = set()
    for path in (root / layer).rglob("*.py"):
        if path.name == "__init__.py":
            names.add(path.parent.name if path.parent != root / layer else layer)
            continue
        names.add(path.stem)
    names.discard(layer)
    return names


def _missing(entries: dict[str, str], root: Path) -> list[str]:
    problems = []
    for layer in LAYERS:
        text = entries.get(layer, "")
        for name in sorted(_modules(root, layer)):
            if not re.search(rf"(?<![\w.]){re.escape(name)}(?![\w])", text):
                problems.append(f"{layer}/: {name}")
    return problems


def test_the_readme_layout_names_every_module(repo_root: Path) -> None:
    entries = _layout_block((repo_root / "README.md").read_text(encoding="utf-8"))
    missing = _missing(entries, repo_root)
    assert not missing, f"README.md's Layout section does not name: {missing}"


def test_the_layout_check_catches_a_module_it_does_not_name(repo_root: Path, tmp_path: Path) -> None:
    for layer in LAYERS:
        (tmp_path / layer).mkdir()
        (tmp_path / layer / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "checks" / "brand_new_gate.py").write_text("", encoding="utf-8")
    (tmp_path / "pipeline" / "ingest.py").write_text("", encoding="utf-8")
    entries = {"pipeline": "pipeline/   produces: ingest\n", "checks": "checks/  judges: schema\n", "ci": ""}
    assert _missing(entries, tmp_path) == ["checks/: brand_new_gate"]


def test_the_architecture_page_lists_every_import_contract(repo_root: Path) -> None:
    contracts = tomllib.loads((repo_root / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    page = (repo_root / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    table = page.split("## The import rules", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| contract")]
    assert len(rows) == len(contracts["contracts"]), "docs/ARCHITECTURE.md: one row per import-linter contract"
    for module in ("mlgate.pipeline.serve", "mlgate.pipeline.retrain", "mlgate.pipeline.registry"):
        assert f"`{module}`" in table
