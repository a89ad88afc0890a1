"""The gated run on the Spark engine, through the ``mlgate`` command, on ``local[2]`` and on a real standalone
cluster (a master and two workers started on 127.0.0.1 by :mod:`mlgate.ci.spark_cluster`, torn down after): the
report equals the pandas engine's for the same data (``split.method = "row_key"``: both engines pick the same rows).
Bad input: an unreachable master is one line and exit 2 within the bound, with no report written.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from mlgate.pipeline.row_key import row_keys

pytestmark = pytest.mark.spark

ROOT = Path(__file__).resolve().parents[2]
MLGATE = str(Path(sys.executable).with_name("mlgate"))
DATA_LAYERS = ["--layer", "schema", "--layer", "balance", "--layer", "drift"]


def _project(folder: Path, *, engine: str, master: str = "local[2]", timeout: int = 60) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("data", "schemas"):
        if not (folder / name).exists():
            shutil.copytree(ROOT / name, folder / name)
    text = (ROOT / "mlgate.toml").read_text()
    text = text.replace("random_state = 42\n", 'random_state = 42\nmethod = "row_key"\n', 1)
    if engine == "spark":
        text = text.replace("[data]\n", '[data]\nengine = "spark"\n', 1)
        text += f'\n[spark]\nmaster = "{master}"\nconnect_timeout_s = {timeout}\n'
        text += 'conf = { "spark.sql.shuffle.partitions" = 4, "spark.executor.memory" = "768m" }\n'
    config = folder / f"mlgate-{engine}.toml"
    config.write_text(text)
    return config


def _gate(config: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [MLGATE, "gate", "--config", str(config), *DATA_LAYERS, "--out", str(out), *extra]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=config.parent)


def _results(out: Path) -> dict[str, dict[str, object]]:
    """The report's results by id; the schema layer's as (status, reason, blocking): its messages on Spark leave
    out data row numbers and show other examples (compared in detail by test_spark_schema/test_spark_integrity)."""
    return _by_id(json.loads((out / "report.json").read_text()))


def _run(config: Path, out: Path) -> subprocess.CompletedProcess[str]:
    command = [MLGATE, "run", "--config", str(config), "--out", str(out)]
    return subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=config.parent)


#: Results that name what differs by engine on purpose: the data fingerprint (each engine hashes its own values).
ENGINE_SPECIFIC = {"reproducibility.retrain_data", "reproducibility.provenance", "reproducibility.artifact_roundtrip"}


@pytest.fixture(scope="module")
def pandas_run(tmp_path_factory) -> dict[str, object]:
    """The gated run on the pandas engine (``split.method = "row_key"``): registered, promoted, every layer."""
    folder = tmp_path_factory.mktemp("pandas")
    done = _run(_project(folder, engine="pandas"), folder / "out")
    assert done.returncode == 0, done.stderr
    return json.loads((folder / "out" / "report.json").read_text())


@pytest.fixture(scope="module")
def pandas_report(pandas_run) -> dict[str, dict[str, object]]:
    return {k: v for k, v in _by_id(pandas_run).items() if v.get("layer") in {"schema", "balance", "drift"}}


def _by_id(report: dict[str, object]) -> dict[str, dict[str, object]]:
    found: dict[str, dict[str, object]] = {}
    for result in report["results"]:  # type: ignore[union-attr]
        if result["layer"] == "schema" or result["id"] in ENGINE_SPECIFIC:
            result = {k: result.get(k) for k in ("id", "layer", "status", "reason", "blocking")}
        found[result["id"]] = result
    return found


def test_row_keys_equal_on_both_engines(spark, tmp_path):
    """Missing numbers, -0.0, integral floats and booleans written as categories, text: the same key per row."""
    from mlgate.pipeline.config import DataSettings, FeatureSettings
    from mlgate.pipeline.prepare import prepare as prepare_pandas
    from mlgate.pipeline.spark.ingest import load
    from mlgate.pipeline.spark.prepare import prepare
    from mlgate.pipeline.spark.split import _key

    path = tmp_path / "tricky.csv"
    path.write_text("x,code,flag,text,y\n1.5,1,True,A,0\n-0.0,2,False,,1\n,3,True,B,0\n3,,False,A,1\n0,2,True,C,1\n")
    data = DataSettings(source=str(path), target="y", positive_label=1)
    features = FeatureSettings(categorical=["code", "flag"])
    pandas_ready = prepare_pandas(pd.read_csv(path), data, features, source=str(path))
    expected = row_keys(pandas_ready.frame, pandas_ready.y, pandas_ready.numeric, pandas_ready.categorical, 11)
    ready = prepare(load(spark, data, source=str(path)).frame, data, features, source=str(path))
    got = [row[0] for row in ready.frame.select(_key(ready, ready.frame, 11)).collect()]
    assert sorted(got) == sorted(expected.tolist())
    assert len(set(got)) == 5


def test_text_hash_is_sparks_xxhash64(spark):
    """:func:`pipeline.row_key.hash_bytes` against Spark on texts of every length 0..79 (every tail case, 32-byte
    stripes), multi-byte UTF-8 and a NUL among them."""
    import random

    from pyspark.sql import functions as F

    from mlgate.pipeline.row_key import hash_bytes

    rng, alphabet = random.Random(0), "abcXYZ09 -_.é€😀ß\u0000"
    texts = ["", "a", "not_known", *("".join(rng.choice(alphabet) for _ in range(n)) for n in range(80))]
    frame = spark.createDataFrame([(t,) for t in texts], "t string")
    assert {r[0]: r[1] for r in frame.select("t", F.xxhash64("t")).collect()} == {
        t: hash_bytes(t.encode()) for t in texts
    }


def test_local_spark_run_equals_the_pandas_engine(pandas_report, tmp_path):
    config = _project(tmp_path, engine="spark")
    done = _gate(config, tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert _results(tmp_path / "out") == pandas_report
    engine = json.loads((tmp_path / "out" / "report.json").read_text())["run"]["data"]["engine"]
    assert engine["name"] == "spark" and engine["master"] == "local[2]"


@pytest.fixture(scope="module")
def cluster() -> Iterator[object]:
    from mlgate.ci.spark_cluster import standalone

    with standalone(2, cores=1, memory="1g") as running:
        yield running


def test_standalone_cluster_run_equals_the_pandas_engine(cluster, pandas_run, tmp_path):
    """``mlgate run`` on spark://: the data side on two workers, the model side on the rows brought back, the
    candidate registered and promoted; every result and metric the pandas engine's for the same data."""
    config = _project(tmp_path, engine="spark", master=cluster.url)
    done = _run(config, tmp_path / "out")
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert _by_id(report) == _by_id(pandas_run)
    assert report["run"]["model"]["metrics"] == pandas_run["run"]["model"]["metrics"]
    assert report["run"]["registry"]["promoted"] is True
    engine = report["run"]["data"]["engine"]
    assert engine["master"] == cluster.url and engine["executors"] == 2  # the work ran on both workers
    assert engine["model_rows"]["train"] == {"used": 524, "of": 524}


def test_unreachable_master_is_one_line_and_exit_2(tmp_path):
    from mlgate.ci.spark_cluster import free_port

    port = free_port()  # bound, then closed: nothing listens on it
    config = _project(tmp_path, engine="spark", master=f"spark://127.0.0.1:{port}", timeout=5)
    started = time.monotonic()
    done = _gate(config, tmp_path / "out")
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if "error" in line.lower() or "warn" in line.lower()]
    assert len(lines) == 1 and "spark.master" in lines[0] and f"127.0.0.1:{port}" in lines[0], done.stderr
    assert "Traceback" not in done.stderr and "Py4J" not in done.stderr
    assert time.monotonic() - started < 60
    assert not (tmp_path / "out").exists()
