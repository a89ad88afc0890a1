"""A replica killed (SIGKILL) while it writes the prediction log under load leaves only whole rows, and a new
replica on the same folder keeps writing without losing anything already written."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np
from fixtures.predlog import GOOD, log_state, rows

from mlgate.pipeline.predlog import log_files, read_window

ROOT = Path(__file__).resolve().parents[2]
BATCH = 20


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(bundle: Path, folder: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "mlgate.pipeline.serve", "--bundle", str(bundle), "--port", str(port)]
    with log.open("wb") as out:
        return subprocess.Popen(
            [*command, "--prediction-log-dir", str(folder)], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
        )


def _ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited"
        try:
            with httpx.Client(base_url=url) as http:
                if http.get("/ready").status_code == 200 and log_state(http) == "ok":
                    return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("the server never got ready")


def _load(url: str, prefix: str, records: list[dict], sent: dict[str, int], stop: threading.Event) -> None:
    """Batches of 20 golden records with ids <prefix>-<n>-<i>, until ``stop`` or the server dies."""
    with httpx.Client(base_url=url, timeout=10) as http:
        n = 0
        while not stop.is_set():
            start = (n * BATCH) % (len(records) - BATCH)
            for index in range(BATCH):
                sent[f"{prefix}-{n}-{index}"] = start + index  # sent, whether or not an answer comes back
            try:
                http.post(
                    "/predict",
                    json={"records": records[start : start + BATCH]},
                    headers={"X-Request-ID": f"{prefix}-{n}"},
                )
            except httpx.TransportError:
                return
            n += 1


def test_a_killed_replica_leaves_whole_rows_and_a_restart_loses_nothing(new_bundle, golden, tmp_path, start_server):

    from tests.serving.conftest import free_port

    bundle = new_bundle("kill")
    release = json.loads((bundle / "release.json").read_text())
    tuning = {"enabled": True, "queue_size": 10_000, "batch_size": 40, "flush_interval_s": 0.02}  # write often
    (bundle / "release.json").write_text(json.dumps({**release, "prediction_log": tuning}))
    folder, sent = tmp_path / "log", {}
    kept: list[int] = []
    for round_ in range(2):
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        process = _start(bundle, folder, port, tmp_path / f"server-{round_}.log")
        try:
            _ready(url, process)
            stop = threading.Event()
            clients = [
                threading.Thread(target=_load, args=(url, f"k{round_}{t}", golden.records, sent, stop))
                for t in range(2)
            ]
            for client in clients:
                client.start()
            rows(folder, (kept[-1] if kept else 0) + 200)  # the writer is busy writing
            time.sleep(0.3)
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
            stop.set()
            for client in clients:
                client.join(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        kept.append(len(read_window(folder).predictions))

    window = read_window(folder)
    frame = window.predictions
    assert window.sources == 2 and len(log_files(folder)) == 2
    assert kept[0] < kept[1] == len(frame)  # the second replica added rows; the first one's are all still there
    assert frame["request_id"].is_unique and set(frame["request_id"]) <= set(sent)
    for row in frame.itertuples(index=False):  # every row read is a whole record, exactly as sent and scored
        index = sent[row.request_id]
        record = {k: getattr(row, k) for k in golden.features}
        assert {k: (None if v is None or v != v else v) for k, v in record.items()} == golden.records[index]
        assert np.float64(row.proba).view(np.int64) == golden.proba[index : index + 1].view(np.int64)[0]
    for path in log_files(folder):
        with sqlite3.connect(path) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    with start_server(bundle, "--prediction-log-dir", str(folder)) as url, httpx.Client(base_url=url) as http:
        assert log_state(http) == "ok"
        assert http.post("/predict", json=GOOD, headers={"X-Request-ID": "after-restart"}).status_code == 200
        final = rows(folder, len(frame) + 1)
    assert len(final.predictions) == len(frame) + 1 and final.sources == 3
    assert "after-restart" in set(final.predictions["request_id"])
