"""deepchecks' tabular suites as data: the checks of each suite and the conditions each check can take.

Run by the isolated environment's python (standard library and deepchecks only)::

    <env>/bin/python ci/deepchecks/catalogue.py [--write PATH]

It prints (or writes to PATH) the JSON that mlgate commits as ``pipeline/deepchecks_catalogue.json``, which
``[deepchecks]`` is validated against when the config is loaded, without deepchecks::

    {"deepchecks_version": "0.19.1",
     "suites": {suite: [check class name, ... in suite order]},
     "checks": {check class name: {"add_condition_...": {parameter: {"default": JSON value} | {"required": true}
                                                                    | {"default_repr": "..."}}}}}

A parameter's ``default`` is given where it is a JSON value (a tuple as a list), else its repr. Only the
``add_condition_*`` methods are listed: ``add_condition`` itself takes a function, which a config cannot give.
A method with a positional-only or variadic parameter stops the script (exit 1): the catalogue's shape has no way
to say what it accepts, so a new deepchecks would need a decision here first. tests/integration/
test_deepchecks_env.py regenerates the catalogue and compares it with the committed file.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import os
import sys
import warnings
from pathlib import Path
from typing import Any

SUITES = ("data_integrity", "train_test_validation", "model_evaluation")
PREFIX = "add_condition_"
# as in runner.py: no call home for the latest version and no .user_id file at deepchecks' import
QUIET_ENV = {"DISABLE_DEEPCHECKS_ANONYMOUS_TELEMETRY": "true", "DISABLE_LATEST_VERSION_CHECK": "true"}


def _json_value(value: Any) -> tuple[bool, Any]:
    """Whether ``value`` is a JSON value (tuples as lists, finite numbers only), and it as one."""
    if value is None or isinstance(value, (bool, str, int)):
        return True, value
    if isinstance(value, float):
        return math.isfinite(value), value
    if isinstance(value, (list, tuple)):
        items = [_json_value(item) for item in value]
        return all(ok for ok, _ in items), [item for _, item in items]
    return False, None


def _parameters(check: str, method: Any) -> dict[str, dict[str, Any]]:
    parameters: dict[str, dict[str, Any]] = {}
    for parameter in list(inspect.signature(method).parameters.values())[1:]:  # after self
        if parameter.kind not in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY):
            raise SystemExit(f"{check}.{method.__name__}: cannot describe parameter {parameter} (see the docstring)")
        if parameter.default is parameter.empty:
            parameters[parameter.name] = {"required": True}
            continue
        ok, value = _json_value(parameter.default)
        parameters[parameter.name] = {"default": value} if ok else {"default_repr": repr(parameter.default)}
    return parameters


def catalogue() -> dict[str, Any]:
    """The catalogue of the installed deepchecks (imported here)."""
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pkg_resources' deprecation warning at import
        import deepchecks  # type: ignore[import-not-found]
        from deepchecks.tabular import suites  # type: ignore[import-not-found]

    listed: dict[str, list[str]] = {}
    checks: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
    for name in SUITES:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            suite = getattr(suites, name)()
        listed[name] = []
        for check in suite.checks.values():
            cls = type(check)
            listed[name].append(cls.__name__)
            checks.setdefault(
                cls.__name__,
                {
                    method: _parameters(cls.__name__, getattr(cls, method))
                    for method in sorted(dir(cls))
                    if method.startswith(PREFIX) and callable(getattr(cls, method))
                },
            )
    return {"deepchecks_version": deepchecks.__version__, "suites": listed, "checks": checks}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="deepchecks' tabular suites and their checks' conditions as JSON")
    parser.add_argument("--write", metavar="PATH", type=Path, help="write the JSON to PATH instead of stdout")
    args = parser.parse_args(argv)
    text = json.dumps(catalogue(), indent=2, allow_nan=False) + "\n"
    if args.write is None:
        sys.stdout.write(text)
    else:
        args.write.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
