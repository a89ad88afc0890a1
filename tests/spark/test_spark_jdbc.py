"""SQL sources on Spark through JDBC, against a real PostgreSQL server holding the bundled German credit rows: the
same rows and columns as the pandas engine reads, prepare on them, and bad input (a wrong password, a missing table,
another database, a refused query) as one redacted line with exit code 2."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from fixtures.postgres import CREDIT_TABLE, credit_rows

from mlgate.pipeline.config import DataSettings, FeatureSettings
from mlgate.pipeline.errors import DataError, MlgateError
from mlgate.pipeline.ingest import load as pandas_load
from mlgate.pipeline.prepare import prepare as pandas_prepare
from mlgate.pipeline.spark import jdbc
from mlgate.pipeline.spark.ingest import load
from mlgate.pipeline.spark.prepare import prepare
from mlgate.pipeline.spark.session import EngineError

pytestmark = [pytest.mark.spark, pytest.mark.postgres]

QUERY = f"SELECT * FROM {CREDIT_TABLE}"


@pytest.fixture(scope="module", autouse=True)
def _driver_jar() -> None:
    """The tests need Debian's JDBC driver; skipped without it, except on CI, which must run them."""
    if not jdbc.jdbc_jars():
        message = f"{jdbc.POSTGRES_JAR} not found: install libpostgresql-jdbc-java (scripts/install-system-deps.sh)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


def settings(source: str, query: str = QUERY, **extra) -> DataSettings:
    return DataSettings(source=source, query=query, target="risk", positive_label=1, engine="spark", **extra)


def rows(frame: pd.DataFrame) -> list[tuple]:
    return sorted(tuple(row) for row in frame.astype(object).itertuples(index=False, name=None))


def with_password(url: str, old: str, new: str) -> str:
    assert f":{old}@" in url
    return url.replace(f":{old}@", f":{new}@", 1)


def one_line(error: BaseException, *secrets: str) -> str:
    text = str(error)
    assert "\n" not in text and "\tat " not in text and "Traceback" not in text, text
    for secret in secrets:
        assert secret not in text, text
    assert isinstance(error, MlgateError) and error.exit_code == 2
    return text


def test_the_rows_and_columns_are_the_pandas_engines(spark, german_credit_pg):
    url = german_credit_pg.reader_url
    ours = load(spark, settings(url), source=url)
    theirs = pandas_load(settings(url), source=url)
    assert ours.n_rows == 1000 == len(theirs.frame)
    assert ours.frame.columns == list(theirs.frame.columns)
    assert rows(ours.frame.toPandas()) == rows(theirs.frame)
    assert ours.meta == {"format": "sql", "rows": 1000, "columns": 10, "engine": "spark"}
    assert german_credit_pg.reader_password not in ours.source and ours.source == theirs.source
    assert ours.source.startswith("postgresql+psycopg://mlgate_reader:***@127.0.0.1:")
    assert load(spark, settings(url), source=url).fingerprint == ours.fingerprint  # one read, a stable hash


def test_prepare_works_on_the_rows_read(spark, german_credit_pg):
    url = german_credit_pg.reader_url
    data = settings(url, missing_values=["not_known"])
    features = FeatureSettings(categorical=["job"])
    ours = prepare(load(spark, data, source=url).frame, data, features, source=url)
    theirs = pandas_prepare(pandas_load(data, source=url).frame, data, features, source=url)
    for name in ("rows_in", "rows_out", "duplicates_dropped", "sentinels_replaced", "missing_values"):
        assert getattr(ours.report, name) == getattr(theirs.report, name), name
    assert (ours.features, ours.numeric, ours.categorical) == (theirs.features, theirs.numeric, theirs.categorical)
    assert (ours.task, ours.classes) == (theirs.task, theirs.classes)


def test_a_password_from_the_environment_reads(spark, german_credit_pg, monkeypatch):
    server = german_credit_pg
    monkeypatch.setenv("MLGATE_TEST_PG_PASSWORD", server.reader_password)
    url = with_password(server.reader_url, server.reader_password, "${MLGATE_TEST_PG_PASSWORD}")
    dataset = load(spark, settings(url, query=f"SELECT risk, age FROM {CREDIT_TABLE} WHERE age > 60"), source=url)
    assert dataset.n_rows == int(server.admin(f"SELECT count(*) FROM {CREDIT_TABLE} WHERE age > 60")[0][0])
    assert "${MLGATE_TEST_PG_PASSWORD}" in dataset.source and server.reader_password not in dataset.source


def test_a_wrong_password_is_one_line_naming_the_key(spark, german_credit_pg, monkeypatch):
    server = german_credit_pg
    wrong = "wrong-Secret-4711"
    url = with_password(server.reader_url, server.reader_password, wrong)
    with pytest.raises(DataError) as caught:
        load(spark, settings(url), source=url)
    text = one_line(caught.value, wrong, server.reader_password)
    assert text.startswith("key 'data.source': postgresql+psycopg://mlgate_reader:***@127.0.0.1:"), text
    assert "the database refused the login for user 'mlgate_reader'" in text
    monkeypatch.setenv("MLGATE_TEST_PG_PASSWORD", wrong)  # a wrong password from the environment: hidden too
    url = with_password(server.reader_url, server.reader_password, "${MLGATE_TEST_PG_PASSWORD}")
    with pytest.raises(DataError) as caught:
        load(spark, settings(url), source=url)
    assert "refused the login" in one_line(caught.value, wrong, server.reader_password)


def test_a_missing_table_is_one_line(spark, german_credit_pg):
    url = german_credit_pg.reader_url
    with pytest.raises(DataError) as caught:
        load(spark, settings(url, query="SELECT * FROM no_such_table"), source=url)
    text = one_line(caught.value, german_credit_pg.reader_password)
    assert text.startswith("key 'data.query': postgresql+psycopg://mlgate_reader:***@127.0.0.1:"), text
    assert 'the query failed: ERROR: relation "no_such_table" does not exist' in text, text


def test_a_slow_query_times_out_and_a_closed_port_cannot_connect(spark, german_credit_pg):
    url = german_credit_pg.reader_url
    slow = settings(url, query=f"SELECT pg_sleep(5) AS pause, * FROM {CREDIT_TABLE}", query_timeout_s=1)
    with pytest.raises(DataError) as caught:
        load(spark, slow, source=url)
    text = one_line(caught.value, german_credit_pg.reader_password)
    assert text.startswith("key 'data.query_timeout_s': ") and "the query timed out after 1 s" in text, text
    closed = url.replace(f":{german_credit_pg.port}/", ":1/")
    with pytest.raises(DataError) as caught:
        load(spark, settings(closed), source=closed)
    text = one_line(caught.value, german_credit_pg.reader_password)
    assert text.startswith("key 'data.source': ") and ": cannot connect: " in text, text


def test_writes_are_refused_and_change_nothing(spark, german_credit_pg):
    url = german_credit_pg.reader_url.replace("mlgate_reader", "mlgate_owner").replace(
        german_credit_pg.reader_password, german_credit_pg.owner_password
    )
    with pytest.raises(DataError, match="refused: DELETE statement"):  # the parser: nothing is sent
        load(spark, settings(url, query=f"DELETE FROM {CREDIT_TABLE}"), source=url)
    with pytest.raises(DataError) as caught:  # the database: a side effect no parser sees
        load(spark, settings(url, query="SELECT mlgate_wipe() AS risk"), source=url)
    text = one_line(caught.value, german_credit_pg.owner_password)
    assert text.startswith("key 'data.query': ") and "refused by the read-only connection" in text, text
    assert credit_rows(german_credit_pg) == 1000


def test_other_databases_and_unsafe_url_parameters_are_refused_before_connecting(tmp_path):
    with pytest.raises(DataError, match="PostgreSQL only") as caught:
        jdbc.jdbc_source(settings(f"sqlite:///{tmp_path}/x.db"), f"sqlite:///{tmp_path}/x.db")
    assert one_line(caught.value).startswith("key 'data.source': sqlite:///")
    url = "postgresql://u:pw-Secret-1@127.0.0.1:5/db?socketFactory=org.example.Evil"
    with pytest.raises(DataError, match="URL parameter 'socketFactory' is not passed") as caught:
        jdbc.jdbc_source(settings(url), url)
    one_line(caught.value, "pw-Secret-1")


def test_the_credentials_travel_only_as_properties(monkeypatch):
    url = "postgresql+psycopg://reader:pw-Secret-1@db.example:5433/credit%20db?sslmode=require&options=-c%20a%3Db"
    source = jdbc.jdbc_source(settings(url), url)
    assert source.url == "jdbc:postgresql://db.example:5433/credit%20db"
    assert source.properties["user"] == "reader" and source.properties["password"] == "pw-Secret-1"
    assert source.properties["driver"] == "org.postgresql.Driver" and source.properties["sslmode"] == "require"
    assert source.properties["options"].startswith("-c a=b -c default_transaction_read_only=on")
    assert "pw-Secret-1" not in repr(source) and "pw-Secret-1" not in source.shown
    assert jdbc.session_conf(settings(url), url) == {"spark.jars": str(jdbc.POSTGRES_JAR)}
    csv = str(Path(__file__).resolve().parents[2] / "data" / "german_credit.csv")
    assert jdbc.session_conf(DataSettings(source=csv, target="risk", positive_label=1), csv) == {}
    monkeypatch.setattr(jdbc, "POSTGRES_JAR", Path("/nonexistent/postgresql.jar"))
    with pytest.raises(EngineError, match="install Debian's libpostgresql-jdbc-java") as caught:
        jdbc.session_conf(settings(url), url)
    one_line(caught.value, "pw-Secret-1")
