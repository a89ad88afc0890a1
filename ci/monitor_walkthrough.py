"""The monitoring loop end to end through the real app, for the README and CI:
``python -m mlgate.ci.monitor_walkthrough --bundle DIR --workdir DIR [--postgres]``.

1. serve the bundle (``python -m mlgate.pipeline.serve``, a real uvicorn server on 127.0.0.1) with its prediction
   log in ``WORKDIR/predictions`` (per-replica SQLite), or with ``--postgres`` in a throwaway PostgreSQL server
   that ``scripts/postgres.sh`` starts (its URL reaches the app and the monitor through
   ``MLGATE_PREDICTION_LOG_URL``, never on a command line or in the output);
2. send clean traffic — ``--rows`` records drawn with replacement (seed ``--seed``) from the project's data file, in
   batches of 100 — and post their true labels to ``/feedback``;
3. ``mlgate monitor`` on that window: must exit 0;
4. send the same records with ``credit_amount`` × 1.25 and run ``mlgate monitor`` on that window: must exit 1
   with ``monitor.input_drift[credit_amount]`` failing, named in the output.

Prints each step with its timing and exits 1 when an expectation is not met (2: bad arguments). The monitor reads
the model's reference from the bundle (``--bundle``), so the walkthrough needs no registry.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from mlgate.pipeline.config import ProjectConfig, load_config
from mlgate.pipeline.config_monitor import LOG_DIR_ENV, LOG_URL_ENV
from mlgate.pipeline.errors import MlgateError
from mlgate.pipeline.signing import ENV_TRUSTED_KEYS, load_signing_key, public_key_text

__all__ = ["main", "post_json", "serve_bundle", "walkthrough"]

ROOT = Path(__file__).resolve().parents[1]
SHIFTED = "credit_amount"


def post_json(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    data = json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve_bundle(bundle: Path, env: dict[str, str], log: Path) -> Iterator[str]:
    """A real uvicorn server serving ``bundle``; yields its base URL once ``/ready`` is 200."""
    port = _free_port()
    command = [sys.executable, "-m", "mlgate.pipeline.serve", "--bundle", str(bundle), "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "/ready", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise MlgateError(f"the serving app did not become ready (see {log})")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()  # uvicorn drains: the writer flushes what is queued
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def _send(url: str, records: pd.DataFrame, labels: pd.Series | None) -> int:
    """``records`` to /predict in batches of 100; their ``labels`` to /feedback; the number of records served."""
    served = 0
    for start in range(0, len(records), 100):
        part = records.iloc[start : start + 100]
        rows = json.loads(part.to_json(orient="records"))
        status, answer = post_json(url + "/predict", {"records": rows})
        if status != 200:
            raise MlgateError(f"/predict answered {status}: {str(answer)[:300]}")
        served += len(rows)
        if labels is not None:
            ids = [p["request_id"] for p in answer["predictions"]]
            items = [
                {"request_id": i, "label": int(v)} for i, v in zip(ids, labels.iloc[start : start + 100], strict=True)
            ]
            status, answer = post_json(url + "/feedback", {"feedback": items})
            if status not in (200, 201):
                raise MlgateError(f"/feedback answered {status}: {str(answer)[:300]}")
    return served


def _monitor(
    config_path: Path, bundle: Path, since: datetime, until: datetime, out: Path, env: dict[str, str]
) -> tuple[int, str]:
    command = [
        sys.executable, "-m", "mlgate.ci.cli", "monitor", "--config", str(config_path), "--bundle", str(bundle),
        "--since", since.isoformat(), "--until", until.isoformat(), "--out", str(out),
    ]  # fmt: skip
    done = subprocess.run(command, env={**env, "COLUMNS": "200", "NO_COLOR": "1"}, capture_output=True, text=True)
    return done.returncode, done.stdout + done.stderr


def _failing(out: Path) -> list[str]:
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return sorted(r["id"] for r in report["results"] if r["status"] in ("fail", "error"))


def _traffic(config: ProjectConfig, features: list[str], rows: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    """``rows`` records of the project's data file, drawn with replacement (seeded), and their 0/1 labels."""
    frame = pd.read_csv(config.data.source)  # (load_config resolved it against the config's folder)
    frame = frame.replace(list(config.data.missing_values), None)  # a sentinel is a missing value to the API
    drawn = frame.sample(n=rows, replace=True, random_state=seed).reset_index(drop=True)
    labels = (drawn[config.data.target] == config.data.positive_label).astype(int)
    return drawn[features], labels


def walkthrough(
    config_path: Path, *, bundle: Path, workdir: Path, log_url: str | None, rows: int, seed: int, say: Any = print
) -> dict[str, Any]:
    """Steps 1-4 of the module docstring; raises :class:`MlgateError` when an expectation is not met."""
    config = load_config(config_path)
    meta = json.loads((bundle / "model.meta.json").read_text(encoding="utf-8"))
    clean, labels = _traffic(config, list(meta["features"]), rows, seed)
    for column in meta["categorical"]:  # as the schema types them (a CSV reads job = 2 as a number)
        clean[column] = clean[column].astype("string")
    shifted = clean.copy()
    shifted[SHIFTED] = (shifted[SHIFTED] * 1.25).round().astype(clean[SHIFTED].dtype)
    workdir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in (LOG_URL_ENV, LOG_DIR_ENV)}
    env.update({LOG_URL_ENV: log_url} if log_url else {LOG_DIR_ENV: str(workdir / "predictions")})
    if not env.get(ENV_TRUSTED_KEYS):  # the app trusts public keys only: the half of the key that signed the model
        env[ENV_TRUSTED_KEYS] = public_key_text(load_signing_key(create=False).public_key())
    where = "PostgreSQL" if log_url else f"SQLite files in {workdir / 'predictions'}"
    summary: dict[str, Any] = {"log": "postgresql" if log_url else "sqlite", "rows": rows}
    clock = time.monotonic()

    def step(name: str, detail: str) -> None:
        nonlocal clock
        say(f"monitor-walkthrough: {name:<15} {time.monotonic() - clock:>6.1f} s  {detail}")
        clock = time.monotonic()

    with serve_bundle(bundle, env, workdir / "server.log") as url:
        step("serve", f"{url}, prediction log in {where}")
        t0 = datetime.now(UTC)
        served = _send(url, clean, labels)
        t1 = datetime.now(UTC)
        step("clean traffic", f"{served} records served, {served} labels fed back")
        served_shifted = _send(url, shifted, None)
        t2 = datetime.now(UTC)
        step("shifted traffic", f"{served_shifted} records with {SHIFTED} x 1.25")
    step("server stopped", "the log writer flushed on shutdown")
    code, output = _monitor(config_path, bundle, t0, t1, workdir / "monitor-clean", env)
    summary["clean"] = {"exit": code, "failing": _failing(workdir / "monitor-clean") if code in (0, 1) else None}
    step("monitor clean", f"exit {code}")
    if code != 0:
        raise MlgateError(f"mlgate monitor on clean traffic exited {code}, expected 0:\n{output[-3000:]}")
    code, output = _monitor(config_path, bundle, t1, t2, workdir / "monitor-shifted", env)
    failing = _failing(workdir / "monitor-shifted") if code in (0, 1) else []
    summary["shifted"] = {"exit": code, "failing": failing}
    step("monitor shifted", f"exit {code}, failing: {', '.join(failing) or 'none'}")
    check = f"monitor.input_drift[{SHIFTED}]"
    if code != 1 or check not in failing or check not in output:
        raise MlgateError(
            f"mlgate monitor on shifted traffic: exit {code}, failing {failing}; expected 1 naming {check}"
        )
    return summary


@contextmanager
def _postgres(folder: Path) -> Iterator[str]:
    """A throwaway PostgreSQL server (scripts/postgres.sh); yields the owner's URL of its `mlgate` database."""
    script = str(ROOT / "scripts" / "postgres.sh")
    env = {**os.environ, "PYTHON": sys.executable}
    subprocess.run(["bash", script, "start", str(folder)], check=True, env=env, stdout=subprocess.DEVNULL)
    try:
        url = subprocess.run(
            ["bash", script, "url", str(folder), "mlgate_owner", "mlgate"], check=True, capture_output=True, text=True
        ).stdout.strip()
        yield url
    finally:
        subprocess.run(["bash", script, "stop", str(folder)], check=False, stdout=subprocess.DEVNULL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mlgate.ci.monitor_walkthrough", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--config", type=Path, default=Path("mlgate.toml"))
    parser.add_argument("--bundle", type=Path, required=True, help="a release bundle (mlgate release's workdir/bundle)")
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--postgres", action="store_true", help="log to a throwaway PostgreSQL server")
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    start, workdir = time.monotonic(), args.workdir.resolve()
    try:
        if args.postgres:
            import tempfile

            with tempfile.TemporaryDirectory(prefix="mlgate-pg-", dir="/tmp") as folder:
                os.chmod(folder, 0o755)  # the server runs as the postgres user when we are root
                with _postgres(Path(folder) / "server") as url:
                    summary = walkthrough(
                        args.config, bundle=args.bundle, workdir=workdir, log_url=url, rows=args.rows, seed=args.seed
                    )
        else:
            summary = walkthrough(
                args.config, bundle=args.bundle, workdir=workdir, log_url=None, rows=args.rows, seed=args.seed
            )
    except (MlgateError, subprocess.CalledProcessError) as exc:
        print(f"monitor-walkthrough: FAILED after {time.monotonic() - start:.0f} s: {exc}", file=sys.stderr)
        return 1
    (workdir / "walkthrough.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(f"monitor-walkthrough: passed in {time.monotonic() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
