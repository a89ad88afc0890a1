"""Spark fixtures: one local[2] session per test process (the JVM takes ~10 s to start), stopped at the end.

The session carries the PostgreSQL JDBC driver jar when it is installed (``pipeline.spark.jdbc.jar_conf``): only one
SparkContext can run per process and a jar cannot join a running one, so the JDBC tests share this session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mlgate.pipeline.config import SparkSettings


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    from mlgate.pipeline.spark.jdbc import jar_conf
    from mlgate.pipeline.spark.session import session

    conf = {"spark.sql.shuffle.partitions": 4, "spark.default.parallelism": 4}
    settings = SparkSettings(master="local[2]", conf=conf)
    with session(settings, extra_conf=jar_conf()) as active:
        yield active
