"""PostgreSQL for teams, end to end: the data read from a PostgreSQL table AND the MLflow tracking store and model
registry on the same server, with passwords in both URLs; ``mlgate run`` registers and promotes, ``mlgate
status`` reads it back; neither password appears in anything mlgate printed, wrote or stored."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures.postgres import credit_rows

pytestmark = pytest.mark.postgres


def _mlgate(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **env}
    return subprocess.run(
        [sys.executable, "-m", "mlgate.ci.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env=full_env,
    )


def _use_sql_source(project: Path, source: str) -> Path:
    config = project / "mlgate.toml"
    text = config.read_text(encoding="utf-8")
    sql = f'source = "{source}"\nquery = "SELECT * FROM credit"'
    config.write_text(text.replace('source = "data/german_credit.csv"', sql), encoding="utf-8")
    return config


def _store_dump(server, database: str) -> str:
    """Every row of every table of the MLflow store, as text."""
    tables = server.admin("SELECT tablename FROM pg_tables WHERE schemaname = 'public'", database=database)
    rows = []
    for (table,) in tables:
        rows += [row[0] for row in server.admin(f'SELECT t::text FROM public."{table}" t', database=database)]
    return "\n".join(rows)


def test_run_and_status_on_postgres_never_show_a_password(project_copy: Path, german_credit_pg, tmp_path) -> None:
    from mlflow import MlflowClient

    from mlgate.pipeline.registry.records import quiet_mlflow

    server = german_credit_pg
    store = server.create_database("mlflow_team")
    env = {"MLGATE_TRACKING_URI": store}
    config = _use_sql_source(project_copy, server.reader_url)
    original_sha = hashlib.sha256(config.read_bytes()).hexdigest()
    needles = [server.reader_password, server.owner_password]

    run = _mlgate("run", "--config", str(config), "--out", "reports", cwd=project_copy, env=env)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    report = json.loads((project_copy / "reports" / "report.json").read_text())
    registry = report["run"]["registry"]
    assert registry["promoted"] is True and registry["champion_after"] == registry["version"] == "1"
    assert registry["tracking_uri"].startswith("postgresql+psycopg://mlgate_owner:***@127.0.0.1:")
    assert report["run"]["data"]["source"].startswith("postgresql+psycopg://mlgate_reader:***@127.0.0.1:")
    assert report["run"]["data"]["rows"] == 1000

    status = _mlgate("status", "--config", str(config), cwd=project_copy, env=env)
    assert status.returncode == 0, status.stderr
    assert "champion: v1" in status.stdout and "mlgate_owner:***@" in status.stdout

    with quiet_mlflow():  # (MLflow's own deprecation warnings; pytest runs with warnings as errors)
        client = MlflowClient(tracking_uri=store)
        logged = client.get_run(registry["run_id"])
        version = client.get_model_version("german-credit", "1")
        assert str(client.get_registered_model("german-credit").aliases["champion"]) == "1"
        downloaded = Path(client.download_artifacts(registry["run_id"], "", dst_path=str(tmp_path / "artifacts")))
    tags = logged.data.tags
    assert tags["mlgate.config_redacted"] == "true" and tags["mlgate.config_sha256"] == original_sha
    assert tags["mlgate.data_source"].startswith("postgresql+psycopg://mlgate_reader:***@")
    artifact_files = [path for path in downloaded.rglob("*") if path.is_file()]
    logged_config = next(path for path in artifact_files if path.name == "mlgate.toml")
    assert logged_config.read_text().startswith("# mlgate: a copy of mlgate.toml with credentials replaced by ***")
    assert 'source = "postgresql+psycopg://mlgate_reader:***@127.0.0.1:' in logged_config.read_text()

    shown = {
        "run stdout": run.stdout,
        "run stderr": run.stderr,
        "status stdout": status.stdout,
        "status stderr": status.stderr,
        "run tags": json.dumps(tags),
        "run params": json.dumps(logged.data.params),
        "version tags": json.dumps(version.tags),
        "MLflow store tables": _store_dump(server, "mlflow_team"),
    }
    shown.update({f"report {p.name}": p.read_text() for p in (project_copy / "reports").iterdir() if p.is_file()})
    shown.update({f"artifact {p.relative_to(downloaded)}": p.read_bytes().decode("latin-1") for p in artifact_files})
    assert len([name for name in shown if name.startswith("report ")]) == 4
    assert len(artifact_files) >= 8  # config, schema, lock, environment, row hashes, prepare report, model, reports
    leaks = [(name, needle) for name, text in shown.items() for needle in needles if needle in text]
    assert leaks == [], f"password found in: {[name for name, _ in leaks]}"
    assert credit_rows(server) == 1000


def test_password_from_the_environment_is_never_in_the_config(
    german_credit_pg, monkeypatch: pytest.MonkeyPatch, project_copy: Path
) -> None:
    """``${VAR}`` in data.source is resolved when connecting; what is shown and logged keeps the reference."""
    from mlgate.ci.registration import _config_artifact
    from mlgate.pipeline.config import load_config
    from mlgate.pipeline.ingest import load

    server = german_credit_pg
    monkeypatch.setenv("MLGATE_TEST_PGPASSWORD", server.reader_password)
    source = server.reader_url.replace(server.reader_password, "${MLGATE_TEST_PGPASSWORD}")
    config = load_config(_use_sql_source(project_copy, source))
    dataset = load(config.data, source=config.data_source)
    assert dataset.n_rows == 1000
    assert dataset.source == source  # the reference, not the password
    assert _config_artifact(config, project_copy / "staging") == config.path  # nothing to redact: logged as is
    monkeypatch.setenv("MLGATE_TEST_PGPASSWORD", "not-the-password")
    with pytest.raises(Exception, match=r"mlgate_reader:\$\{MLGATE_TEST_PGPASSWORD\}@.*password authentication failed"):
        load(config.data, source=config.data_source)
