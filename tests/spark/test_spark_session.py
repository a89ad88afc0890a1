"""Starting the Spark engine, and the one-line errors when it cannot start (no Spark stack on the terminal)."""

from __future__ import annotations

import sys
import time

import pytest

from mlgate.pipeline.config import SparkSettings
from mlgate.pipeline.spark.session import EngineError, java_runtime, start

pytestmark = pytest.mark.spark


def test_a_session_runs_python_on_its_executors(spark):
    assert spark.range(100, numPartitions=4).rdd.map(lambda x: x.id * 2).sum() == 9900
    assert spark.sparkContext.master == "local[2]"
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    # the start-up probe's job group stays on the probe's thread: the run's own jobs are not filed under it
    assert spark.sparkContext.getLocalProperty("spark.jobGroup.id") is None


def test_an_unreachable_master_is_one_line_within_the_bound(capfd):
    began = time.monotonic()
    with pytest.raises(EngineError) as caught:
        start(SparkSettings(master="spark://127.0.0.1:9", connect_timeout_s=5))
    assert time.monotonic() - began < 5
    message = str(caught.value)
    assert message.startswith("key 'spark.master': cannot reach the Spark master spark://127.0.0.1:9 (127.0.0.1:9:")
    assert "\n" not in message and caught.value.exit_code == 2
    assert capfd.readouterr().err == ""


def test_a_missing_java_runtime_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-java"))
    assert java_runtime() is None
    with pytest.raises(EngineError, match=r"needs a Java runtime .* openjdk-17-jre-headless"):
        start(SparkSettings(master="local[1]"))
    monkeypatch.delenv("JAVA_HOME")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(EngineError, match="found none on PATH"):
        start(SparkSettings(master="local[1]"))


def test_missing_pyspark_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyspark", None)
    with pytest.raises(EngineError, match=r"pip install 'mlgate\[spark\]'"):
        start(SparkSettings())


@pytest.mark.parametrize(
    ("master", "ok"),
    [("local", True), ("local[*]", True), ("local[4,2]", True), ("spark://a:7077,b:7077", True), ("yarn", True),
     ("k8s://https://10.0.0.1:6443", True), ("spark://nohost", False), ("local[0]", False), ("mesos://x:5050", False),
     ("", False)],
)  # fmt: skip
def test_master_urls(master, ok):
    from pydantic import ValidationError

    if ok:
        assert SparkSettings(master=master).master == master
    else:
        with pytest.raises(ValidationError):
            SparkSettings(master=master)


def test_conf_takes_tuning_keys_and_refuses_code_loading_ones():
    from pydantic import ValidationError

    assert SparkSettings(conf={"spark.sql.shuffle.partitions": 8, "spark.sql.adaptive.enabled": True}).conf
    for key in ("spark.jars", "spark.driver.extraJavaOptions", "spark.plugins", "spark.sql.extensions",
                "spark.hadoop.fs.s3a.secret.key", "spark.python.worker.module"):  # fmt: skip
        with pytest.raises(ValidationError, match="not a setting mlgate passes to Spark"):
            SparkSettings(conf={key: "x"})
