"""pipeline.redact: URL passwords and secret parameters become ***; nothing else changes."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from urllib.parse import quote

import hypothesis.strategies as st
import pytest
from fixtures.report_samples import failing_report
from hypothesis import given

from mlgate.pipeline.redact import redact_text, redact_url, url_secrets


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        pytest.param(
            "postgresql+psycopg://reader:s3cret!@db.example:5432/credit",
            "postgresql+psycopg://reader:***@db.example:5432/credit",
            id="password",
        ),
        pytest.param(
            "postgresql+psycopg://reader:p%40ss%2Fw@db/credit",
            "postgresql+psycopg://reader:***@db/credit",
            id="encoded",
        ),
        pytest.param(
            "postgresql://u@db/credit?sslpassword=xyz123&application_name=mlgate",
            "postgresql://u@db/credit?application_name=mlgate&sslpassword=***",
            id="sslpassword-parameter",
        ),
        pytest.param(
            "https://u:tok@mlflow.example/api?token=abcd", "https://u:***@mlflow.example/api?token=***", id="http"
        ),
        pytest.param("postgresql://u:p@ss@db/credit", "postgresql://u:***@db/credit", id="unencoded-at-sign"),
        pytest.param(
            "postgresql+psycopg://reader:${PGPASSWORD}@127.0.0.1/credit",
            "postgresql+psycopg://reader:${PGPASSWORD}@127.0.0.1/credit",
            id="env-reference-kept",
        ),
        pytest.param("sqlite:////srv/data/credit.db", "sqlite:////srv/data/credit.db", id="no-secret"),
        pytest.param("sqlite:///mlruns/mlflow.db", "sqlite:///mlruns/mlflow.db", id="relative-sqlite"),
        pytest.param("data/german_credit.csv", "data/german_credit.csv", id="file-path"),
        pytest.param("postgresql://u:***@db/credit", "postgresql://u:***@db/credit", id="idempotent"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert redact_url(shown) == shown


def test_redact_text_hides_urls_parameters_and_known_secrets() -> None:
    text = (
        'connection to "postgresql://app:hunter22@db/x" failed; retry https://bot:gh_t0ken@host/repo?api_key=K3y-9 '
        "with &amp;password=abc123 (the env value pa55word-env leaked)"
    )
    assert redact_text(text, ["pa55word-env"]) == (
        'connection to "postgresql://app:***@db/x" failed; retry https://bot:***@host/repo?api_key=*** '
        "with &amp;password=*** (the env value *** leaked)"
    )
    assert redact_text(f"the {quote('p@ss word!', safe='')}", ["p@ss word!"]) == "the ***"
    assert redact_text("xmlns='http://www.w3.org/2000/svg' host:5000 a@b.c", []) == (
        "xmlns='http://www.w3.org/2000/svg' host:5000 a@b.c"
    )


def test_url_secrets() -> None:
    assert url_secrets("postgresql://u:p%40ss@h/db?sslpassword=xx&app=a") == ["p%40ss", "xx", "p@ss"]
    assert url_secrets("postgresql://u:${PGPASSWORD}@h/db") == []
    assert url_secrets("sqlite:///x.db") == []


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=40))
def test_any_password_is_hidden(password: str) -> None:
    """Whatever the password, URL-encoded in the URL as SQLAlchemy expects, it is shown as *** and only that."""
    url = f"postgresql+psycopg://reader:{quote(password, safe='')}@db.example:5432/credit"
    assert redact_url(url) == "postgresql+psycopg://reader:***@db.example:5432/credit"
    assert (
        redact_text(f"failed at {url} (timeout)")
        == "failed at postgresql+psycopg://reader:***@db.example:5432/credit (timeout)"
    )


def test_reports_never_carry_a_password() -> None:
    """The run's data source and any check message quoting a URL: every rendered report file is redacted."""
    from mlgate.checks.report import render_all

    report = failing_report()
    first = dataclasses.replace(report.results[0], message="ran on postgresql://app:hunter22@db/x?token=t0k3n-value")
    report = dataclasses.replace(
        report,
        results=[first, *report.results[1:]],
        run={**report.run, "data": {**report.run.get("data", {}), "source": "postgresql://app:hunter22@db/x"}},
    )
    rendered = render_all(report)
    assert set(rendered) == {"json", "markdown", "html", "junit"}
    for kind, text in rendered.items():
        assert "hunter22" not in text and "t0k3n-value" not in text, kind
    assert "postgresql://app:***@db/x" in rendered["markdown"]


def test_logged_config_is_a_redacted_copy_only_when_it_holds_a_password(tmp_path: Path, repo_root: Path) -> None:
    from mlgate.ci.registration import _config_artifact
    from mlgate.pipeline.config import load_config

    original = (repo_root / "mlgate.toml").read_text(encoding="utf-8")
    with_password = original.replace(
        'source = "data/german_credit.csv"',
        'source = "postgresql+psycopg://reader:Hunter2-Horse@db/credit"\nquery = "SELECT * FROM credit"',
    ).replace('tracking_uri = "sqlite:///mlruns/mlflow.db"', 'tracking_uri = "http://ci:MlflowPw9@mlflow:5000"')
    path = tmp_path / "mlgate.toml"
    path.write_text(with_password, encoding="utf-8")
    config = load_config(path)
    copy = _config_artifact(config, tmp_path / "staging")
    assert copy != path and copy.name == "mlgate.toml"
    text = copy.read_text(encoding="utf-8")
    assert "Hunter2-Horse" not in text and "MlflowPw9" not in text
    assert text.startswith("# mlgate: a copy of mlgate.toml with credentials replaced by ***")
    assert load_config(copy).data.source == "postgresql+psycopg://reader:***@db/credit"
    assert config.sha256 == hashlib.sha256(with_password.encode()).hexdigest()  # the original's, not the copy's

    path.write_text(with_password.replace("Hunter2-Horse", "${PGPASSWORD}").replace(":MlflowPw9", ""))
    assert _config_artifact(load_config(path), tmp_path / "staging2") == path  # nothing to redact: logged as is
