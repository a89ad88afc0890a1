"""The exception tree in pipeline/errors.py documents every exception class the package defines (house style 7).

The test imports every module of ``pipeline``, ``checks`` and ``ci``, collects every exception class defined
there (every MlgateError subclass and any other Exception subclass), and requires each to have an entry in the
``pipeline.errors`` docstring: its name, its module when it lives elsewhere, and how it ends — ``(exit N)``
with N equal to the class's ``exit_code`` for an MlgateError, ``(exit N)`` or ``(HTTP ...)`` for the others.
A new exception class without an entry, or an entry whose exit code is wrong, fails here.
"""

from __future__ import annotations

import importlib
import pkgutil
import re

import pytest

import mlgate.pipeline.errors
from mlgate.pipeline.errors import MlgateError

PACKAGES = ("mlgate.pipeline", "mlgate.checks", "mlgate.ci")
_ENDING = re.compile(r"\((?:exit (?P<code>\d+)|HTTP [\d/]+)\)\s*$")


def _modules() -> list[str]:
    names = []
    for package in PACKAGES:
        root = importlib.import_module(package)
        names += [package, *(m.name for m in pkgutil.walk_packages(root.__path__, f"{package}."))]
    return names


def _defined_exceptions() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for name in _modules():
        module = importlib.import_module(name)
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, BaseException) and value.__module__ == name:
                found[value.__name__] = value
    return found


def _entries(doc: str) -> dict[str, tuple[str, str]]:
    """Class name -> (the entry's text, its ending), from the tree blocks of the docstring."""
    lines = doc.splitlines()
    entries: dict[str, tuple[str, str]] = {}
    for i, line in enumerate(lines):
        match = re.match(r"^\s+[│├└─ ]*([A-Z][A-Za-z]+)\s", line)
        if not match or not line.startswith("    "):
            continue
        block = [line]
        while not _ENDING.search(block[-1]) and i + len(block) < len(lines):
            block.append(lines[i + len(block)])
        ending = _ENDING.search(block[-1])
        entries[match.group(1)] = (" ".join(block), ending.group(0) if ending else "")
    return entries


@pytest.fixture(scope="module")
def exceptions() -> dict[str, type[BaseException]]:
    return _defined_exceptions()


def test_the_scan_finds_the_known_classes(exceptions) -> None:
    expected = {"MlgateError", "ConfigError", "ArtifactError", "BundleError", "SchemaTranslationError"}
    expected |= {"ReleaseError", "StoreBusyError", "SigningError", "BodyRejected"}
    assert expected <= set(exceptions)


def test_every_exception_class_is_in_the_tree_with_its_exit_code(exceptions) -> None:
    entries = _entries(mlgate.pipeline.errors.__doc__ or "")
    problems = []
    for name, cls in sorted(exceptions.items()):
        if name not in entries:
            problems.append(f"{name} ({cls.__module__}) has no entry")
            continue
        text, ending = entries[name]
        if not ending:
            problems.append(f"{name}: the entry does not end with (exit N) or (HTTP ...)")
        elif issubclass(cls, MlgateError) and ending != f"(exit {cls.exit_code})":
            problems.append(f"{name}: documented {ending}, but its exit_code is {cls.exit_code}")
        if cls.__module__ != "mlgate.pipeline.errors" and f"[{cls.__module__}]" not in text:
            problems.append(f"{name}: the entry does not name its module [{cls.__module__}]")
    assert not problems, "pipeline/errors.py docstring: " + "; ".join(problems)


def test_the_tree_names_no_class_that_does_not_exist(exceptions) -> None:
    stale = sorted(set(_entries(mlgate.pipeline.errors.__doc__ or "")) - set(exceptions))
    assert not stale, f"pipeline/errors.py docstring documents classes the package no longer defines: {stale}"


def test_the_entry_parser_catches_a_missing_or_wrong_entry() -> None:
    doc = (
        "Tree::\n\n"
        "    MlgateError                 base                (exit 2)\n"
        "    ├── RegistryError           store\n"
        "    │                           more text           (exit 3)\n"
        "    └── LooseError              no ending here\n"
    )
    entries = _entries(doc)
    assert entries["MlgateError"][1] == "(exit 2)"
    assert entries["RegistryError"] == (
        "    ├── RegistryError           store     │                           more text           (exit 3)",
        "(exit 3)",
    )
    assert entries["LooseError"][1] == ""
    assert "ConfigError" not in entries
