"""Light imports on light paths (house style 21): a hook or a data gate imports what it uses.

Each module is imported in a fresh interpreter, and the heavy stacks it must not load are looked for in
``sys.modules``: scikit-learn and MLflow load only where a model is involved, matplotlib only where a report is
drawn. A module that starts importing one of them (directly or through another module) fails here.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("sklearn", "mlflow", "matplotlib")

LIGHT = {
    "mlgate.checks.schema": HEAVY,
    "mlgate.checks.balance": HEAVY,
    "mlgate.checks.drift": HEAVY,
    "mlgate.checks.evidence": HEAVY,
    "mlgate.checks.layers": HEAVY,
    "mlgate.ci.hooks": (*HEAVY, "pandas", "pandera"),
    "mlgate.ci.cli": (*HEAVY, "pandas", "pandera"),
    "mlgate.pipeline.config": (*HEAVY, "pandas"),
    "mlgate.pipeline.schema_file": (*HEAVY, "pandas", "pandera"),
    # the data-gate path of `mlgate gate` (benchmarks/bench_imports.py times it): data loading, the store lock
    # (through the registry package), the waivers and the report writer load no model stack
    "mlgate.pipeline.dataload": HEAVY,
    "mlgate.pipeline.store_lock": HEAVY,
    "mlgate.pipeline.retrain": HEAVY,
    "mlgate.checks.waivers": (*HEAVY, "pandas"),
    "mlgate.checks.report": HEAVY,
    "mlgate.pipeline.redact": (*HEAVY, "sqlalchemy"),  # sqlalchemy only when a URL is parsed
}


def loaded_after_import(module: str) -> list[str]:
    code = (
        "import importlib, json, sys; importlib.import_module(sys.argv[1]); "
        "print(json.dumps(sorted({name.split('.')[0] for name in sys.modules})))"
    )
    done = subprocess.run([sys.executable, "-c", code, module], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("module", sorted(LIGHT))
def test_module_imports_no_heavy_stack(module: str) -> None:
    loaded = set(loaded_after_import(module))
    assert not loaded & set(LIGHT[module]), f"import {module} loads {sorted(loaded & set(LIGHT[module]))}"


def test_the_check_can_fail() -> None:
    assert "sklearn" in loaded_after_import("mlgate.pipeline.split")


def test_version_is_looked_up_on_first_use() -> None:
    """``import mlgate`` (every command) does not import importlib.metadata; ``mlgate.__version__`` still works."""
    code = (
        "import sys, mlgate; before = 'importlib.metadata' in sys.modules; "
        "from importlib.metadata import version; "
        "print(before, mlgate.__version__ == version('mlgate'), 'importlib.metadata' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True", "True"]


def test_unknown_attribute_is_still_an_error() -> None:
    import mlgate

    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        mlgate.nope  # noqa: B018
