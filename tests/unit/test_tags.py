"""One tag contract: every ``mlgate.*`` tag name is a :class:`pipeline.tags.Tag`, written nowhere else as a string."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mlgate.pipeline import tags as tags_module
from mlgate.pipeline.tags import Tag

pytestmark = pytest.mark.unit

#: "mlgate.<word>" in a string literal, except the package's own modules and the config file's name.
LITERAL = re.compile(r"""["']mlgate\.(?!toml\b|pipeline\b|checks\b|ci\b)[a-z_]+["']""")


def _offenders(roots: list[Path]) -> list[str]:
    found = []
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            if path.name == "tags.py" and path.parent.name == "pipeline":
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if LITERAL.search(line):
                    found.append(f"{path.relative_to(root.parent)}:{number}: {line.strip()}")
    return found


def test_no_module_spells_a_tag_name_as_a_string(repo_root: Path) -> None:
    offenders = _offenders([repo_root / "pipeline", repo_root / "checks", repo_root / "ci"])
    assert not offenders, "use pipeline.tags.Tag instead of the string: " + "; ".join(offenders)


def test_the_scan_catches_a_literal_and_ignores_module_names(tmp_path: Path) -> None:
    package = tmp_path / "ci"
    package.mkdir()
    (package / "bad.py").write_text('x = run.tags.get("mlgate.threshold")\n', encoding="utf-8")
    (package / "good.py").write_text('import_module("mlgate.checks.schema"); open("mlgate.toml")\n', encoding="utf-8")
    assert _offenders([package]) == ['ci/bad.py:1: x = run.tags.get("mlgate.threshold")']


def test_every_tag_is_documented_and_unique() -> None:
    values = [tag.value for tag in Tag]
    assert len(values) == len(set(values))
    assert all(value.startswith("mlgate.") for value in values)
    doc = tags_module.__doc__ or ""
    undocumented = [value for value in values if f"``{value}``" not in doc]
    assert not undocumented, f"pipeline/tags.py's table lacks {undocumented}"
    assert str(Tag.THRESHOLD) == "mlgate.threshold" and {"mlgate.threshold": 1}[Tag.THRESHOLD] == 1
