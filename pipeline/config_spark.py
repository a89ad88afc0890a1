"""The ``[spark]`` section and ``data.engine``: where the Spark engine runs the data side of the gated run.

``data.engine = "spark"`` (``[data]``) reads, prepares and splits the data and computes the data gates' statistics
in Spark (:mod:`pipeline.spark`); ``"pandas"``, the default, keeps everything in this process. Light: pydantic only.

``conf`` passes Spark settings through, but only resource and tuning ones (:data:`ALLOWED_CONF`): the config is
untrusted input, and many Spark settings load and run code (``spark.jars``, ``spark.plugins``, ``*.extraJavaOptions``,
``spark.sql.extensions``, listener and serializer classes) or carry credentials (``spark.hadoop.*``). A key outside the
list is refused at load, naming it.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, field_validator

from mlgate.pipeline.config_rules import Text, refuse
from mlgate.pipeline.config_sections import _Strict

__all__ = ["ALLOWED_CONF", "SparkSettings", "check_master"]

#: Spark settings ``[spark] conf`` may set: prefixes (ending in ".") or whole keys. Resources, parallelism, memory,
#: adaptive execution, timeouts, scratch space: nothing that names a class, a file to load or a credential.
ALLOWED_CONF: tuple[str, ...] = (
    "spark.driver.memory",
    "spark.driver.cores",
    "spark.driver.maxResultSize",
    "spark.driver.memoryOverhead",
    "spark.executor.memory",
    "spark.executor.cores",
    "spark.executor.instances",
    "spark.executor.memoryOverhead",
    "spark.executor.heartbeatInterval",
    "spark.cores.max",
    "spark.task.cpus",
    "spark.default.parallelism",
    "spark.sql.shuffle.partitions",
    "spark.sql.files.maxPartitionBytes",
    "spark.sql.files.openCostInBytes",
    "spark.sql.adaptive.",
    "spark.sql.execution.arrow.maxRecordsPerBatch",
    "spark.sql.session.timeZone",
    "spark.memory.fraction",
    "spark.memory.storageFraction",
    "spark.memory.offHeap.enabled",
    "spark.memory.offHeap.size",
    "spark.local.dir",
    "spark.network.timeout",
    "spark.dynamicAllocation.",
    "spark.scheduler.mode",
    "spark.locality.wait",
    "spark.kubernetes.namespace",
    "spark.kubernetes.container.image",
    "spark.yarn.queue",
)

_LOCAL = re.compile(r"local(\[(\*|[1-9][0-9]*)(,[1-9][0-9]*)?\])?")
_STANDALONE = re.compile(r"spark://[A-Za-z0-9.\-]+:[0-9]{1,5}(,[A-Za-z0-9.\-]+:[0-9]{1,5})*")
_K8S = re.compile(r"k8s://https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?/?")

ConfValue = str | int | float | bool


def check_master(master: str) -> str:
    """``master`` when Spark accepts it as a master URL: ``local``, ``local[N]``, ``local[*]``, ``local[N,F]``,
    ``spark://host:port[,host:port...]``, ``yarn`` or ``k8s://https://host[:port]``; else a ValueError."""
    if _LOCAL.fullmatch(master) or _STANDALONE.fullmatch(master) or master == "yarn" or _K8S.fullmatch(master):
        return master
    raise ValueError(
        f"'{master}' is not a Spark master URL (local, local[N], local[*], spark://HOST:PORT, yarn, k8s://https://HOST)"
    )


def _allowed(key: str) -> bool:
    return any(key.startswith(p) if p.endswith(".") else key == p for p in ALLOWED_CONF)


class SparkSettings(_Strict):
    """Where the Spark engine runs (``data.engine = "spark"``)."""

    master: Annotated[
        Text, Field(description="Spark master URL: local[*] (default), spark://HOST:PORT, yarn, k8s://...")
    ] = "local[*]"
    app_name: Text = Field("mlgate", description="The application name the cluster shows.")
    conf: dict[str, ConfValue] = Field(
        default_factory=dict, description="Resource and tuning settings passed to Spark (see ALLOWED_CONF)."
    )
    connect_timeout_s: Annotated[float, Field(gt=0, le=3600)] = Field(
        60.0, description="How long to wait for the master and the first executor before giving up."
    )
    train_sample_rows: Annotated[int, Field(ge=100)] = Field(
        1_000_000,
        description="The model is fitted on a seeded, stratified sample of at most this many training rows "
        "(the whole training split when it is smaller); scoring and every metric use all test rows.",
    )

    @field_validator("master")
    @classmethod
    def _master(cls, value: str) -> str:
        return check_master(value.strip())

    @field_validator("conf")
    @classmethod
    def _conf(cls, value: dict[str, ConfValue]) -> dict[str, ConfValue]:
        for key in value:
            if not _allowed(key):
                raise refuse(
                    f'"{key}"',  # TOML's quoting: spark.conf."spark.jars"
                    f"'{key}' is not a setting mlgate passes to Spark: [spark] conf takes resource and tuning "
                    "settings only (memory, cores, partitions, spark.sql.adaptive.*, timeouts, spark.local.dir), "
                    "never ones that load code or carry credentials",
                )
        return value
