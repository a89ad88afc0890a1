"""The layer registry: one function per gate layer, all with the signature ``(Evidence) -> list[CheckResult]``.

Both the ``mlgate`` command and the pytest plugin call :func:`run_layers`; nothing else computes a gate.
A layer that raises is reported as one ERROR result (blocking) and the other layers still run.
"""

from __future__ import annotations

import importlib
import traceback
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from mlgate.checks.evidence import Evidence
from mlgate.checks.result import ALL_LAYERS, LAYERS, CheckResult, Reason, Status
from mlgate.pipeline.config import ProjectConfig

__all__ = [
    "DATA_LAYERS",
    "MODEL_LAYERS",
    "configured_layers",
    "guarded",
    "layer_function",
    "run_layer",
    "run_layers",
]

DATA_LAYERS: tuple[str, ...] = ("schema", "balance", "drift")
MODEL_LAYERS: tuple[str, ...] = ("quality", "reproducibility", "staleness")

LayerFunction = Callable[[Evidence], list[CheckResult]]


def configured_layers(config: ProjectConfig) -> tuple[str, ...]:
    """The layers a run judges unless told otherwise: the standard ones, and deepchecks when enabled."""
    return (*LAYERS, *(("deepchecks",) if config.deepchecks.enabled else ()))


def layer_function(layer: str) -> LayerFunction:
    """``checks.<layer>.run``; imported lazily so one layer's job does not import the others."""
    if layer not in ALL_LAYERS:
        raise KeyError(f"unknown layer {layer!r}; expected one of {', '.join(ALL_LAYERS)}")
    function: LayerFunction = importlib.import_module(f"mlgate.checks.{layer}").run
    return function


def run_layer(layer: str, evidence: Evidence) -> list[CheckResult]:
    return guarded(layer, lambda: layer_function(layer)(evidence))


def guarded(layer: str, judge: Callable[[], Iterable[CheckResult]]) -> list[CheckResult]:
    """``judge()``'s results, or one blocking ERROR result naming the exception and where it was raised."""
    try:
        return list(judge())
    except Exception as exc:  # a bug or an unexpected input must not hide the other layers' results
        frames = traceback.extract_tb(exc.__traceback__)
        where = f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""
        return [
            CheckResult(
                id=f"{layer}.error",
                layer=layer,
                status=Status.ERROR,
                message=f"the {layer} layer raised {type(exc).__name__}: {exc}{where}",
                reason=Reason.CHECK_ERROR,
            )
        ]


def run_layers(
    evidence: Evidence,
    layers: Iterable[str] = LAYERS,
    *,
    stage: Callable[[str], AbstractContextManager[Any]] | None = None,
    before: Callable[[str, Evidence], Evidence] | None = None,
) -> list[CheckResult]:
    """Run ``layers`` in the given order: the one layer loop (the gated run and the benchmarks call it).

    ``stage(name)`` wraps each layer (the gated run times it as ``"<layer> gate"``); ``before(layer, evidence)``
    returns the evidence that layer sees, so the orchestrator can add what it produces just in time (the
    gated run waits for the fresh-process retrain only when the reproducibility layer is next).
    """
    results: list[CheckResult] = []
    for layer in layers:
        if before is not None:
            evidence = before(layer, evidence)
        with stage(f"{layer} gate") if stage is not None else nullcontext():
            results.extend(run_layer(layer, evidence))
    return results
