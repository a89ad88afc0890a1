"""``python -m pipeline.serve --bundle DIR --host 127.0.0.1 --port 8080``: serve one bundle with uvicorn.

One worker process (replicas scale the deployment, not the process). ``MLGATE_BUNDLE`` may name the bundle
instead of ``--bundle``. A bundle whose meta, release or schema is unusable is a one-line error, exit 2.

Every prediction is logged (:mod:`pipeline.predlog`): to ``--prediction-log-url`` (or
``MLGATE_PREDICTION_LOG_URL``), an SQLAlchemy URL shared by every replica, else into this replica's SQLite file
in ``--prediction-log-dir`` (or ``MLGATE_PREDICTION_LOG_DIR``; default ``predictions`` in the working
folder; the image sets ``/var/lib/mlgate/predictions``, a volume to mount). ``--no-prediction-log`` turns it
off. Queue and batch sizes come from the bundle (``release.json`` ``prediction_log``, the project's
``[monitor.log]``).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from mlgate.pipeline.config_monitor import LOG_DIR_ENV, LOG_URL_ENV
from mlgate.pipeline.errors import MlgateError
from mlgate.pipeline.serve.app import DEFAULT_MAX_BATCH, DEFAULT_MAX_BODY_BYTES, create_app
from mlgate.pipeline.serve.recording import LogOptions

__all__ = ["log_options", "main", "parse_args"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m pipeline.serve", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--bundle",
        type=Path,
        default=os.environ.get("MLGATE_BUNDLE"),
        help="release bundle folder (default: $MLGATE_BUNDLE)",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--max-batch", type=int, default=DEFAULT_MAX_BATCH, help="records per request")
    parser.add_argument("--max-body-bytes", type=int, default=DEFAULT_MAX_BODY_BYTES)
    parser.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    parser.add_argument("--access-log", action="store_true", help="log every request (metrics count them anyway)")
    parser.add_argument(
        "--prediction-log-url",
        default=os.environ.get(LOG_URL_ENV) or None,
        help=f"SQLAlchemy URL of the prediction log shared by all replicas (default: ${LOG_URL_ENV})",
    )
    parser.add_argument(
        "--prediction-log-dir",
        default=os.environ.get(LOG_DIR_ENV) or None,
        help=f"folder of per-replica SQLite prediction logs (default: ${LOG_DIR_ENV}, else ./predictions)",
    )
    parser.add_argument("--no-prediction-log", action="store_true", help="record no predictions or feedback")
    parser.add_argument(
        "--scoring-path",
        choices=["array", "sklearn"],
        default=os.environ.get("MLGATE_SCORING_PATH") or "array",
        help="array (default: the compiled path, when it scores the golden rows bitwise like scikit-learn) or "
        "sklearn (the fitted pipeline on a DataFrame; $MLGATE_SCORING_PATH)",
    )
    args = parser.parse_args(argv)
    if args.bundle is None:
        parser.error("give --bundle DIR or set MLGATE_BUNDLE")
    if args.scoring_path not in ("array", "sklearn"):
        parser.error(f"$MLGATE_SCORING_PATH must be array or sklearn; got {args.scoring_path!r}")
    if args.prediction_log_url and "://" not in args.prediction_log_url:
        parser.error(f"--prediction-log-url (${LOG_URL_ENV}) must be an SQLAlchemy URL; a folder: --prediction-log-dir")
    return args


def log_options(args: argparse.Namespace) -> LogOptions | None:
    """Where to log: the URL, else the folder (made absolute now), else ``./predictions``; None when off."""
    if args.no_prediction_log:
        return None
    if args.prediction_log_url:
        return LogOptions(location=args.prediction_log_url)
    return LogOptions(location=str(Path(args.prediction_log_dir or "predictions").expanduser().resolve()))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        app = create_app(
            args.bundle,
            max_batch=args.max_batch,
            max_body_bytes=args.max_body_bytes,
            prediction_log=log_options(args),
            scoring_path=args.scoring_path,
        )
    except MlgateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    import uvicorn

    uvicorn.run(app, host=args.host, port=args.port, workers=1, log_level=args.log_level, access_log=args.access_log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
