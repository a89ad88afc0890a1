"""pre-commit hooks: ``mlgate-check-config`` and ``mlgate-check-data``.

Each hook is a ``main(argv) -> int`` that only parses arguments and prints; the work is in plain functions.
They must stay fast: nothing heavy is imported at module level, and neither hook imports scikit-learn or
mlflow (``check-data`` needs pandas and pandera, nothing else).

Exit codes: 0 clean · 1 a data file fails its schema · 2 a user error (bad config, missing or invalid schema
file, unreadable data), printed as one line ``mlgate: <message>`` on stderr, never a traceback. Both hooks
validate the schema file strictly (:mod:`pipeline.schema_file`): a misspelled check is an error, not a check
that silently never runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlgate.checks.result import CheckResult
    from mlgate.pipeline.config import ProjectConfig

__all__ = ["check_config", "check_config_main", "check_data", "check_data_main", "configs_for_file"]

DEFAULT_CONFIG = "mlgate.toml"


def _error(message: str) -> None:
    print(f"mlgate: {message}", file=sys.stderr)


def check_config(path: Path) -> list[str]:
    """Problems with one config file: invalid content, a schema file that does not exist or fails the strict
    schema-file check (unknown keys or checks, bad values: :mod:`pipeline.schema_file`), a missing data file.

    Raises :class:`~pipeline.errors.ConfigError` when the file itself is missing or invalid.
    """
    from mlgate.pipeline.config import load_config
    from mlgate.pipeline.errors import SchemaFileError
    from mlgate.pipeline.schema_file import load_schema_file

    config = load_config(path)
    problems = []
    if not config.schema_path.is_file():
        problems.append(
            f"{path}: schema file '{config.schema_file}' (key 'schema') not found at {config.schema_path}; "
            "propose one with `mlgate schema infer --out <file>`"
        )
    else:
        try:
            load_schema_file(config.schema_path)
        except SchemaFileError as exc:
            problems.append(str(exc))
    if config.data.resolved_format != "sql" and not Path(config.data_source).is_file():
        problems.append(
            f"{path}: data file '{config.data.source}' (key 'data.source') not found at {config.data_source}"
        )
    return problems


def check_config_main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="mlgate-check-config",
        description="Validate mlgate project configs and check that their schema and data files exist.",
    )
    parser.add_argument("filenames", nargs="*", type=Path, help=f"config files (default: {DEFAULT_CONFIG})")
    args = parser.parse_args(argv)
    from mlgate.pipeline.errors import MlgateError

    problems: list[str] = []
    for path in args.filenames or [Path(DEFAULT_CONFIG)]:
        try:
            problems.extend(check_config(path))
        except MlgateError as exc:
            problems.append(str(exc))
    for problem in problems:
        _error(problem)
    return 2 if problems else 0


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def configs_for_file(path: Path, configs: Sequence[ProjectConfig]) -> list[ProjectConfig]:
    """The configs whose (file) data source is ``path``."""
    return [
        config
        for config in configs
        if config.data.resolved_format != "sql" and _same_file(Path(config.data_source), path)
    ]


def check_data(config: ProjectConfig) -> list[CheckResult]:
    """Load and prepare the config's data and validate it against its committed schema (failures only).

    Raises :class:`~pipeline.errors.SchemaFileError` / :class:`~pipeline.errors.DataError` for bad input.
    """
    from mlgate.checks.result import Status
    from mlgate.checks.schema import load_prepared, load_schema, validate_prepared

    schema = load_schema(config.schema_path)
    prepared = load_prepared(config)
    results = validate_prepared(prepared, schema, source=config.data.source, schema_file=config.schema_file)
    return [r for r in results if r.status is Status.FAIL or r.status is Status.ERROR]


def check_data_main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="mlgate-check-data",
        description="Validate changed data files against the committed schema of the config(s) that use them.",
    )
    parser.add_argument(
        "filenames", nargs="*", type=Path, help="changed data files (default: every config's data source)"
    )
    parser.add_argument(
        "--config",
        "-c",
        action="append",
        type=Path,
        dest="configs",
        help=f"project config; repeat for several (default: {DEFAULT_CONFIG})",
    )
    args = parser.parse_args(argv)
    from mlgate.pipeline.config import load_config
    from mlgate.pipeline.errors import MlgateError

    try:
        configs = [load_config(path) for path in args.configs or [Path(DEFAULT_CONFIG)]]
    except MlgateError as exc:
        _error(str(exc))
        return 2
    if args.filenames:
        jobs = [(path, config) for path in args.filenames for config in configs_for_file(path, configs)]
    else:
        jobs = [(Path(config.data.source), config) for config in configs if config.data.resolved_format != "sql"]

    code = 0
    for path, config in jobs:
        try:
            failures = check_data(config)
        except MlgateError as exc:
            _error(str(exc))
            code = 2
            continue
        for result in failures:
            print(f"{path}: {result.message}")
        if failures and code == 0:
            code = 1
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(check_data_main())
