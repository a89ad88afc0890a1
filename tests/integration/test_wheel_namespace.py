"""The wheel installs one top-level package, ``mlgate``, and runs beside a user's own ``pipeline`` and ``ci``.

The repository keeps ``pipeline/``, ``checks/`` and ``ci/`` at its root; the wheel ships them as
``mlgate.pipeline``, ``mlgate.checks`` and ``mlgate.ci`` (pyproject.toml, through the committed ``mlgate/*``
symlinks). This test builds the real wheel with the project's uv, installs it into a new virtual environment
(its dependencies from uv.lock, offline, out of the cache ``make setup`` filled; then the wheel itself, not
an editable install, so no repository folder is on ``sys.path``), and runs ``mlgate run`` in a project folder
that has packages named ``pipeline``, ``checks`` and ``ci`` of its own, first on ``PYTHONPATH``: they would
have shadowed the old top-level packages.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

USER_PACKAGE = "NAME = 'the user project'\nraise_if_mlgate_imports_me = True\n"


def _uv(repo_root: Path) -> str:
    local = repo_root / ".tools" / "bin" / "uv"
    found = str(local) if local.exists() else shutil.which("uv")
    if not found:
        pytest.skip("uv is not installed (make setup installs it into .tools/)")
    return found


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=900, env=env, check=False)


def _venv(repo_root: Path, work: Path, wheel: Path, *extras: str) -> Path:
    """A new venv: the locked dependencies of ``extras`` (uv sync from uv.lock, offline), then the wheel alone."""
    uv = _uv(repo_root)
    venv = work / ("venv-" + "-".join(extras or ("base",)))
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv)}
    command = [uv, "sync", "--frozen", "--offline", "--quiet", "--no-dev", "--no-install-project"]
    command += [f"--extra={extra}" for extra in extras] + ["--project", str(repo_root)]
    synced = _run(command, cwd=work, env=env)
    assert synced.returncode == 0, synced.stderr
    python = str(venv / "bin" / "python")
    installed = _run(
        [uv, "pip", "install", "--offline", "--quiet", "--no-deps", "--python", python, str(wheel)], cwd=work
    )
    assert installed.returncode == 0, installed.stderr
    return venv / "bin"


@pytest.fixture(scope="module")
def wheel(repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    built = _run([_uv(repo_root), "build", "--wheel", "--out-dir", str(work / "dist"), str(repo_root)], cwd=work)
    assert built.returncode == 0, built.stderr
    return next((work / "dist").glob("mlgate-*.whl"))


@pytest.fixture(scope="module")
def installed(repo_root: Path, wheel: Path) -> Path:
    """The wheel with the `run` extra (what `pip install 'mlgate[run]'` gives); returns the venv's bin folder."""
    return _venv(repo_root, wheel.parent.parent, wheel, "run")


def test_the_wheel_ships_only_the_mlgate_package(wheel: Path) -> None:
    tops = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert tops == {"mlgate", wheel.name.split("-py3")[0] + ".dist-info"}
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"mlgate/pipeline/config.py", "mlgate/checks/schema.py", "mlgate/ci/cli.py"} <= names
    # deepchecks' locked project (mlgate deepchecks setup builds it) and the catalogue the config is checked against
    deepchecks = {f"mlgate/ci/deepchecks/{name}" for name in ("pyproject.toml", "uv.lock", "runner.py", "job.py")}
    assert deepchecks | {"mlgate/pipeline/deepchecks_catalogue.json"} <= names


def test_mlgate_run_beside_user_packages_named_pipeline_and_ci(
    installed: Path, repo_root: Path, tmp_path: Path
) -> None:
    project = tmp_path / "user-project"
    project.mkdir()
    for name in ("mlgate.toml", "data", "schemas", "uv.lock"):  # a locked project: provenance needs its uv.lock
        source = repo_root / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, project / name)
    for package in ("pipeline", "ci", "checks"):
        (project / package).mkdir()
        (project / package / "__init__.py").write_text(USER_PACKAGE, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLGATE_TRACKING", "MLGATE_REGISTRY"))}
    env |= {"PYTHONPATH": str(project), "NO_COLOR": "1", "COLUMNS": "200"}  # the user's packages come first

    both = _run(
        [str(installed / "python"), "-c", "import pipeline, ci, mlgate.pipeline.config; print(pipeline.NAME)"],
        cwd=project,
        env=env,
    )
    assert both.returncode == 0, both.stderr
    assert both.stdout.strip() == "the user project"

    done = _run([str(installed / "mlgate"), "run", "--out", "reports"], cwd=project, env=env)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert (project / "reports" / "report.json").is_file()
    located = _run([str(installed / "python"), "-c", "import mlgate.ci.cli as c; print(c.__file__)"], cwd=project)
    assert "site-packages/mlgate/ci/cli.py" in located.stdout, located.stdout + located.stderr


def _bundled_project(repo_root: Path, tmp_path: Path) -> Path:
    project = tmp_path / "hook-repo"
    project.mkdir()
    for name in ("mlgate.toml", "data", "schemas"):
        source = repo_root / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, project / name)
    return project


def test_the_base_install_runs_the_hooks_and_asks_for_the_run_extra(
    repo_root: Path, wheel: Path, tmp_path: Path
) -> None:
    """What pre-commit installs (`pip install .`, no extras): both hooks work; the pipeline says what to install."""
    bin_dir = _venv(repo_root, wheel.parent.parent, wheel)
    project = _bundled_project(repo_root, tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLGATE_")} | {"NO_COLOR": "1"}
    for hook, args in (("mlgate-check-config", []), ("mlgate-check-data", ["data/german_credit.csv"])):
        done = _run([str(bin_dir / hook), *args], cwd=project, env=env)
        assert done.returncode == 0, hook + ": " + done.stdout + done.stderr
    sklearn = _run([str(bin_dir / "python"), "-c", "import sklearn"], cwd=project)
    assert sklearn.returncode != 0, "the base install must not bring scikit-learn"
    assert _run([str(bin_dir / "mlgate"), "--help"], cwd=project, env=env).returncode == 0
    done = _run([str(bin_dir / "mlgate"), "run"], cwd=project, env=env)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "needs the 'run' extra" in lines[0] and "pip install 'mlgate[run]'" in lines[0], lines


def test_the_cli_knows_every_module_of_the_run_extra(repo_root: Path) -> None:
    import tomllib

    from mlgate.ci.cli import RUN_EXTRA_MODULES

    extra = tomllib.loads((repo_root / "pyproject.toml").read_text())["project"]["optional-dependencies"]["run"]
    names = {re.split(r"[<>=\[ ]", spec)[0].lower() for spec in extra}
    modules = {"scikit-learn": "sklearn", "adbc-driver-sqlite": "adbc_driver_sqlite"}
    assert {modules.get(name, name) for name in names} == set(RUN_EXTRA_MODULES)
