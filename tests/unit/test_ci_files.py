"""The CI files work with their real tools: actionlint on the workflows (GitHub Actions cannot run here),
pre-commit on its config, manifest and mlgate's own hooks, import-linter on the import contracts."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def run(*command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="pre-commit-home-") as home:  # pre-commit's cache, never in the repo
        env = {**os.environ, "PRE_COMMIT_HOME": home}
        return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300, env=env)


@pytest.mark.parametrize(
    "workflow", [".github/workflows/mlgate.yml", "ci/workflows/mlgate-gates.yml", "ci/workflows/mlgate-retrain.yml"]
)
def test_workflows_pass_actionlint(repo_root: Path, workflow: str) -> None:
    result = run(str(BIN / "actionlint"), workflow, cwd=repo_root)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(repo_root: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    text = (repo_root / ".github/workflows/mlgate.yml").read_text()
    broken.write_text(text.replace("needs: lint", "needs: lnit", 1))
    result = run(str(BIN / "actionlint"), str(broken), cwd=repo_root)
    assert result.returncode == 1 and "lnit" in result.stdout


def test_the_retrain_workflow_is_scheduled_and_runs_mlgate_retrain(repo_root: Path, tmp_path: Path) -> None:
    import yaml

    text = (repo_root / "ci/workflows/mlgate-retrain.yml").read_text()
    workflow = yaml.safe_load(text)
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as a boolean
    assert triggers["schedule"][0]["cron"] and "workflow_dispatch" in triggers
    assert 'mlgate retrain "${args[@]}"' in text and workflow["concurrency"]["cancel-in-progress"] is False
    broken = tmp_path / "broken.yml"
    broken.write_text(text.replace('cron: "17 */6 * * *"', 'cron: "17 */6 * *"'))
    result = run(str(BIN / "actionlint"), str(broken), cwd=repo_root)
    assert result.returncode == 1 and "cron" in result.stdout


def test_import_contracts_hold(repo_root: Path) -> None:
    result = run(str(BIN / "lint-imports"), cwd=repo_root)
    assert result.returncode == 0, result.stdout
    declared = (repo_root / "pyproject.toml").read_text().count("[[tool.importlinter.contracts]]")
    assert declared >= 4
    assert f"{declared} kept, 0 broken" in result.stdout


def test_pre_commit_config_and_manifest_are_valid(repo_root: Path) -> None:
    assert run(str(BIN / "pre-commit"), "validate-config", ".pre-commit-config.yaml", cwd=repo_root).returncode == 0
    assert run(str(BIN / "pre-commit"), "validate-manifest", ".pre-commit-hooks.yaml", cwd=repo_root).returncode == 0


@pytest.fixture
def hook_repo(tmp_path: Path, repo_root: Path) -> Path:
    """A git repository with the bundled project and this project's pre-commit config and venv."""
    for name in ("mlgate.toml", "data", "schemas", ".pre-commit-config.yaml"):
        source = repo_root / name
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, tmp_path / name)
    (tmp_path / ".venv").symlink_to(repo_root / ".venv")
    for command in (["git", "init", "-q"], ["git", "add", "mlgate.toml", "data", "schemas", ".pre-commit-config.yaml"]):
        subprocess.run(command, cwd=tmp_path, check=True)
    return tmp_path


def test_mlgate_hooks_pass_on_good_files_and_fail_on_a_bad_data_file(hook_repo: Path) -> None:
    pre_commit = str(BIN / "pre-commit")
    good = run(pre_commit, "run", "mlgate-check-config", "--files", "mlgate.toml", cwd=hook_repo)
    assert good.returncode == 0, good.stdout + good.stderr
    data = hook_repo / "data" / "german_credit.csv"
    clean = run(pre_commit, "run", "mlgate-check-data", "--files", str(data.relative_to(hook_repo)), cwd=hook_repo)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    lines = data.read_text().splitlines()
    lines[3] = lines[3].replace("male", "robot", 1)
    data.write_text("\n".join(lines) + "\n")
    bad = run(pre_commit, "run", "mlgate-check-data", "--files", str(data.relative_to(hook_repo)), cwd=hook_repo)
    assert bad.returncode == 1
    assert "sex" in bad.stdout and "robot" in bad.stdout
