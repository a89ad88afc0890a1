"""The prediction log through a deployment, for :mod:`ci.release.e2e`: traffic, feedback through the load balancer,
the log read back after the rollouts, and ``mlgate monitor`` on it.

- :func:`clean_traffic`: records drawn with replacement (seeded) from the project's data file, typed as the
  bundle's schema types them, with their true labels: traffic ``mlgate monitor`` must pass;
- :func:`post_feedback`: the labels of served request ids, ``POST /feedback`` through nginx in batches (any
  replica answers, whichever replica, running or retired, logged the prediction);
- :func:`read_back`: ``pipeline.predlog.read_window`` on the deployment's log folder must hold exactly the served
  request ids, each with its fed-back label (and no label where none was given);
- :func:`monitor_log`: ``python -m mlgate.ci.cli monitor --log FOLDER --bundle BUNDLE`` on the window.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Mapping
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from mlgate.pipeline.config import ProjectConfig
from mlgate.pipeline.errors import MlgateError

__all__ = ["Traffic", "clean_traffic", "log_files_summary", "monitor_log", "post_feedback", "read_back"]

FEEDBACK_BATCH = 100
SETTLE_S = 1.5  # > 2 x the writers' flush interval: a served record is in its replica's file by then


@dataclass(frozen=True)
class Traffic:
    rows: list[dict[str, Any]]
    labels: list[Any]  # each row's true label, in the target's JSON type


def clean_traffic(config: ProjectConfig, bundle: Path, *, rows: int, seed: int) -> Traffic:
    """``rows`` records of the project's data file, drawn with replacement (``seed``), and their labels."""
    import pandas as pd

    meta = json.loads((bundle / "model.meta.json").read_text(encoding="utf-8"))
    frame = pd.read_csv(config.data.source)
    frame = frame.replace(list(config.data.missing_values), None)  # a sentinel is a missing value to the API
    drawn = frame.sample(n=rows, replace=True, random_state=seed).reset_index(drop=True)
    records = drawn[list(meta["features"])].copy()
    for column in meta["categorical"]:  # as the schema types them (a CSV reads job = 2 as a number)
        records[column] = records[column].astype("string")
    labels = json.loads(drawn[config.data.target].to_json(orient="values"))
    return Traffic(json.loads(records.to_json(orient="records")), labels)


def _post(url: str, body: Any) -> tuple[int, Any, Mapping[str, str]]:
    from mlgate.ci.release.smoke import http_json

    return http_json("POST", url, body, timeout=30)


def post_feedback(url: str, served: Mapping[str, int], traffic: Traffic) -> dict[str, Any]:
    """Post the true label of every id in ``served`` (request id -> row index) to ``url``/feedback in batches;
    every id must be ``stored``. Ids the log does not hold yet are tried once more after :data:`SETTLE_S`."""
    ids = list(served)
    statuses: Counter[str] = Counter()
    upstreams: Counter[str] = Counter()
    time.sleep(SETTLE_S)
    for attempt in range(2):
        unknown: list[str] = []
        for start in range(0, len(ids), FEEDBACK_BATCH):
            chunk = ids[start : start + FEEDBACK_BATCH]
            items = [{"request_id": rid, "label": traffic.labels[served[rid]]} for rid in chunk]
            status, body, headers = _post(f"{url}/feedback", {"feedback": items})
            if status != 200:
                raise MlgateError(f"POST /feedback through the load balancer answered {status}: {str(body)[:300]}")
            upstreams[headers.get("X-Mlgate-Upstream", "?")] += 1
            for result in body["results"]:
                if result["status"] == "unknown" and attempt == 0:
                    unknown.append(result["request_id"])
                else:
                    statuses[result["status"]] += 1
        if not unknown:
            break
        ids = unknown
        time.sleep(SETTLE_S)
    if set(statuses) != {"stored"}:
        raise MlgateError(f"feedback through the load balancer: expected every label stored, got {dict(statuses)}")
    return {"labels": statuses["stored"], "answered_by": dict(upstreams)}


def log_files_summary(folder: Path) -> dict[str, dict[str, int]]:
    """Per replica file in ``folder``: its prediction and feedback rows (read-only)."""
    from mlgate.pipeline.predlog import log_files

    summary: dict[str, dict[str, int]] = {}
    for path in log_files(folder):
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
            tables = ("predictions", "feedback")
            summary[path.name] = {t: connection.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
    return summary


def _label(value: Any) -> Any:
    """A logged label, None for none (the frame holds None or NaN there)."""
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def read_back(folder: Path, served: Mapping[str, int], labelled: Mapping[str, Any]) -> dict[str, Any]:
    """Read the log folder with ``read_window``: exactly the ``served`` ids, each with its label from ``labelled``
    (request id -> label) and no label otherwise; :class:`MlgateError` naming what differs."""
    from mlgate.pipeline.predlog import read_window

    frame = read_window(folder).predictions
    logged = list(frame["request_id"])
    missing = sorted(set(served) - set(logged))
    extra = sorted(set(logged) - set(served))
    if missing or extra or len(logged) != len(set(logged)):
        raise MlgateError(
            f"{folder}: the prediction log holds {len(logged)} predictions ({len(set(logged))} ids) for {len(served)} "
            f"served; missing {len(missing)} (first: {missing[:3]}), not served {len(extra)} (first: {extra[:3]})"
        )
    labels = {rid: _label(value) for rid, value in zip(frame["request_id"], frame["label"], strict=True)}
    wrong = [rid for rid in served if labels[rid] != labelled.get(rid)]
    if wrong:
        first = wrong[0]
        raise MlgateError(
            f"{folder}: {len(wrong)} logged labels differ from the feedback posted (first: {first}: logged "
            f"{labels[first]!r}, posted {labelled.get(first)!r})"
        )
    return {"predictions": len(logged), "labelled": len(labelled), "files": log_files_summary(folder)}


def monitor_log(
    config_path: Path, *, folder: Path, bundle: Path, since: datetime, until: datetime, out: Path
) -> tuple[int, str]:
    """``mlgate monitor`` on the window of the log folder; its exit code and output."""
    command = [
        sys.executable, "-m", "mlgate.ci.cli", "monitor", "--config", str(config_path), "--log", str(folder),
        "--bundle", str(bundle), "--since", since.isoformat(), "--until", until.isoformat(), "--out", str(out),
    ]  # fmt: skip
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    return done.returncode, done.stdout + done.stderr
