"""Spark fixtures: one local[2] session per test process (the JVM takes ~10 s to start), stopped at the end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mlgate.pipeline.config import SparkSettings


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    from mlgate.pipeline.spark.session import session

    conf = {"spark.sql.shuffle.partitions": 4, "spark.default.parallelism": 4}
    settings = SparkSettings(master="local[2]", conf=conf)
    with session(settings) as active:
        yield active
