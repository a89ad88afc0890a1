"""Start (and stop) the Spark session the engine runs on, or say in one line why it cannot.

:func:`start` checks, in this order and each cheaply before the next: PySpark is installed (``mlgate[spark]``); a
Java runtime is found (``JAVA_HOME`` or ``java`` on PATH; Debian's ``openjdk-17-jre-headless``, which
``scripts/install-system-deps.sh`` installs); a ``spark://`` master accepts a TCP connection within
``spark.connect_timeout_s``; then it starts the driver and runs one tiny job, which must finish within the same bound
(a master with no worker, or workers that cannot reach this driver, never runs it). Each failure is an
:class:`EngineError` naming the key or what to install, exit 2; Spark's own log goes to a file
(``<temp>/mlgate-spark/driver-<pid>.log``), never to the terminal.

The executors run this interpreter (``PYSPARK_PYTHON``, unless set): the model side scores with ``mapInPandas``
and needs mlgate's own packages there. On a remote cluster, set ``PYSPARK_PYTHON`` to the interpreter that has them.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import tempfile
import threading
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgate.pipeline.config import SparkSettings
from mlgate.pipeline.errors import MlgateError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["EngineError", "cache", "java_runtime", "session", "short_error", "start", "stop"]

LOG4J = Path(__file__).with_name("log4j2.properties")
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class EngineError(MlgateError):
    """The Spark engine cannot start (no PySpark, no Java, an unreachable master, no executor) or refused a job."""


def java_runtime() -> str | None:
    """The ``java`` Spark will start: ``$JAVA_HOME/bin/java`` when JAVA_HOME is set, else the one on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home:
        candidate = Path(home) / "bin" / "java"
        return str(candidate) if os.access(candidate, os.X_OK) else None
    return shutil.which("java")


def short_error(exc: BaseException) -> str:
    """A Spark or Py4J error as one short line: the message of the innermost Java cause (the one that says what
    was wrong: ``[MALFORMED_CSV_RECORD] Malformed CSV record: ...``), without its stack or SQLSTATE."""
    java = getattr(exc, "java_exception", None) or getattr(exc, "_origin", None)
    text = ""
    try:
        while java is not None:
            text = str(java.getMessage() or "") or text
            java = java.getCause()
    except Exception:  # the JVM is gone: fall back to the Python side's text
        text = ""
    text = (text or str(getattr(exc, "desc", None) or exc)).strip() or type(exc).__name__
    first = text.splitlines()[0].split(" SQLSTATE: ")[0].strip()
    return first[:300]


def _hosts(master: str) -> list[tuple[str, int]]:
    """``spark://a:7077,b:7077`` -> [("a", 7077), ("b", 7077)]; [] for other masters."""
    if not master.startswith("spark://"):
        return []
    pairs = []
    for part in master.removeprefix("spark://").split(","):
        host, _, port = part.rpartition(":")
        pairs.append((host, int(port)))
    return pairs


def _reach(master: str, timeout: float) -> None:
    """A standalone master must accept a TCP connection (one of them, for a list of masters)."""
    reasons = []
    for host, port in _hosts(master):
        try:
            with socket.create_connection((host, port), timeout=min(timeout, 10.0)):
                return
        except OSError as exc:
            reasons.append(f"{host}:{port}: {exc.strerror or type(exc).__name__}")
    if reasons:
        raise EngineError(
            f"key 'spark.master': cannot reach the Spark master {master} ({'; '.join(reasons)}); start it, or set "
            "spark.master to a reachable one (local[*] runs Spark in this process)"
        )


def _log_file() -> Path:
    folder = Path(tempfile.gettempdir()) / "mlgate-spark"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"driver-{os.getpid()}.log"


def _builder_conf(
    settings: SparkSettings, log_file: Path, extra_conf: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The session's conf: mlgate's own settings, then the user's allow-listed ``[spark] conf``, then ``extra_conf``
    (settings mlgate itself adds for this run, such as the JDBC driver jar, which the user's conf may never set)."""
    conf = {
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.session.timeZone": "UTC",
        "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile=file:{LOG4J} -Dmlgate.spark.log={log_file}",
        "spark.executor.extraJavaOptions": f"-Dlog4j2.configurationFile=file:{LOG4J} -Dmlgate.spark.log={log_file}",
    }
    local_driver = settings.master.startswith("local") or all(h in _LOOPBACK for h, _ in _hosts(settings.master))
    if local_driver:  # this machine only: no hostname lookup, nothing listening beyond loopback
        conf.update({"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"})
    conf.update(
        {key: str(value).lower() if isinstance(value, bool) else str(value) for key, value in settings.conf.items()}
    )
    conf.update(extra_conf or {})
    return conf


def _probe(spark: SparkSession, timeout: float, master: str) -> None:
    """One tiny job must finish within ``timeout``: an executor exists and can run Python."""
    outcome: dict[str, Any] = {}

    def run() -> None:  # the group is set on this thread only: the run's own jobs (main thread) stay outside it
        try:
            spark.sparkContext.setJobGroup("mlgate-probe", "mlgate: is an executor there?", interruptOnCancel=True)
            outcome["rows"] = spark.range(4, numPartitions=2).rdd.map(lambda x: x).count()
        except Exception as exc:  # reported below, as one line
            outcome["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        spark.sparkContext.cancelJobGroup("mlgate-probe")
        raise EngineError(
            f"key 'spark.master': {master} accepted the application but ran no task within {timeout:g} s "
            "(spark.connect_timeout_s): is a worker registered, with the cores and memory asked for?"
        )
    if "error" in outcome:
        raise EngineError(f"key 'spark.master': {master}: a first task failed: {short_error(outcome['error'])}")


def start(settings: SparkSettings, *, extra_conf: Mapping[str, str] | None = None) -> SparkSession:
    """A ready Spark session for ``settings`` (see the module docstring), or an :class:`EngineError`.

    ``extra_conf`` is mlgate's own, trusted conf for this run (``pipeline.spark.jdbc.session_conf``: the JDBC
    driver jar for an SQL source), never taken from the config file."""
    # PySpark 4.3 warns on pandas 3 at every Arrow conversion; the paths mlgate uses are tested on pandas 3
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    warnings.filterwarnings("ignore", message="The copy keyword is deprecated", category=DeprecationWarning)
    try:
        from pyspark import SparkConf, SparkContext
        from pyspark.java_gateway import launch_gateway
        from pyspark.sql import SparkSession
    except ImportError:
        raise EngineError(
            "data.engine = 'spark' needs PySpark: install mlgate with the spark extra (pip install 'mlgate[spark]')"
        ) from None
    if java_runtime() is None:
        where = (
            f"JAVA_HOME={os.environ['JAVA_HOME']} has no bin/java" if os.environ.get("JAVA_HOME") else "none on PATH"
        )
        raise EngineError(
            f"data.engine = 'spark' needs a Java runtime (17 or newer) and found {where}: install Debian's "
            "openjdk-17-jre-headless (scripts/install-system-deps.sh does) or set JAVA_HOME"
        )
    _reach(settings.master, settings.connect_timeout_s)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    log_file = _log_file()
    conf = SparkConf().setMaster(settings.master).setAppName(settings.app_name)
    conf.setAll(list(_builder_conf(settings, log_file, extra_conf).items()))
    try:
        with log_file.open("ab") as log:  # the JVM's own stdout and stderr (its start-up warnings) go to the log
            gateway = launch_gateway(conf, popen_kwargs={"stdout": log, "stderr": log})  # type: ignore[no-untyped-call]
        spark = SparkSession(SparkContext(conf=conf, gateway=gateway))
    except Exception as exc:  # the JVM did not start, or the master refused the application
        raise EngineError(f"key 'spark.master': Spark did not start on {settings.master}: {short_error(exc)}") from None
    try:
        _probe(spark, settings.connect_timeout_s, settings.master)
    except EngineError:
        stop(spark)
        raise
    return spark


def stop(spark: SparkSession) -> None:
    """Stop the session and its JVM (the next :func:`start` begins afresh)."""
    try:
        spark.stop()
    except Exception:  # stopping a session whose JVM already died must not hide the error being reported
        return


@contextmanager
def session(settings: SparkSettings, *, extra_conf: Mapping[str, str] | None = None) -> Iterator[SparkSession]:
    """:func:`start` ... :func:`stop`."""
    spark = start(settings, extra_conf=extra_conf)
    try:
        yield spark
    finally:
        stop(spark)


def cache(frame: DataFrame) -> DataFrame:
    """``frame`` kept by Spark (memory, spilling to disk) once a job has computed it. The engine caches the prepared
    rows with their split keys: the split's cut-offs and sizes and every gate's aggregates read them instead of
    reading, preparing and hashing the source again. Measured on 1M rows (benchmarks/bench_spark_scale.py): the
    three data gates took 231 s without it, 83 s with it; caching the rows as read as well gained nothing (84 s)
    and took 0.9 GB more."""
    from pyspark import StorageLevel

    return frame.persist(StorageLevel.MEMORY_AND_DISK)
