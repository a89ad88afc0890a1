"""Light imports on light paths (house style 21): a hook or a data gate imports what it uses.

Each module is imported in a fresh interpreter, and the heavy stacks it must not load are looked for in
``sys.modules``: scikit-learn and MLflow load only where a model is involved, matplotlib only where a report is
drawn. A module that starts importing one of them (directly or through another module) fails here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("sklearn", "mlflow", "matplotlib")

LIGHT = {
    "mlgate.checks.schema": HEAVY,
    "mlgate.checks.balance": HEAVY,
    "mlgate.checks.drift": HEAVY,
    "mlgate.checks.evidence": HEAVY,
    "mlgate.checks.layers": HEAVY,
    "mlgate.ci.gated_run": HEAVY,
    "mlgate.ci.hooks": (*HEAVY, "pandas", "pandera"),
    "mlgate.ci.cli": (*HEAVY, "pandas", "pandera"),
    "mlgate.pipeline.config": (*HEAVY, "pandas"),
    "mlgate.pipeline.schema_file": (*HEAVY, "pandas", "pandera"),
    # the data-gate path of `mlgate gate` (benchmarks/bench_imports.py times it): data loading, the store lock
    # (through the registry package), the waivers and the report writer load no model stack
    "mlgate.pipeline.dataload": HEAVY,
    "mlgate.pipeline.split": (*HEAVY, "scipy"),  # row for row sklearn's split, without importing it
    "mlgate.pipeline.store_lock": HEAVY,
    "mlgate.pipeline.retrain": HEAVY,
    "mlgate.checks.waivers": (*HEAVY, "pandas"),
    "mlgate.checks.report": HEAVY,
    "mlgate.pipeline.redact": (*HEAVY, "sqlalchemy"),  # sqlalchemy only when a URL is parsed
}

#: What neither pre-commit hook may load while it runs on the bundled project: no model stack, no statistics,
#: no report rendering, no MLflow store or SQL engine, no CLI framework (the hooks parse with argparse). The
#: hooks' install could then declare only pydantic, pyyaml, pandas, pandera and pyarrow.
HOOK_RUN_FORBIDDEN = (*HEAVY, "scipy", "sqlalchemy", "jinja2", "typer", "rich", "skops", "cryptography", "filelock")


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


@pytest.mark.parametrize(
    "hook", ["check_config_main([])", "check_data_main(['data/german_credit.csv'])", "check_data_main([])"]
)
def test_hooks_run_without_heavy_stacks(hook: str, project_copy: Path) -> None:
    """Not only the import: the whole hook run on the bundled project (config, schema file, data) stays light."""
    code = (
        "import json, sys; from mlgate.ci import hooks; "
        f"code = hooks.{hook}; "
        "print(json.dumps([code, sorted({name.split('.')[0] for name in sys.modules})]))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=project_copy)
    assert done.returncode == 0, done.stderr
    code, loaded = json.loads(done.stdout.splitlines()[-1])
    assert code == 0, f"{hook} exited {code} on the bundled project: {done.stderr}"
    assert not set(loaded) & set(HOOK_RUN_FORBIDDEN), f"{hook} loads {sorted(set(loaded) & set(HOOK_RUN_FORBIDDEN))}"


def test_the_check_can_fail() -> None:
    assert "sklearn" in loaded_after_import("mlgate.pipeline.train")


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
