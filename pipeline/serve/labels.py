"""The target's label set, from the release bundle: what ``POST /feedback`` accepts and how decisions are logged.

The target column is ``release.json``'s ``target`` (written by ``mlgate release``), else the one column of
``schema.yaml`` that is not a model feature and whose allowed values include the positive label (the German
credit bundle: ``risk``, ``isin: [0, 1]``). Its labels are the column's ``isin`` values (``[false, true]`` for a
bool column), typed as the column is: a label must match in JSON type too (``1`` is not ``"1"`` nor ``true``).

A decision is logged as the decided label's JSON text: the positive label when ``probability >= threshold``,
else the other label. When the labels cannot be found (no such column, or not exactly two labels), ``/feedback``
answers 503 saying why, and decisions are logged as ``1`` / ``0`` (positive / not).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import yaml

from mlgate.pipeline.errors import MlgateError
from mlgate.pipeline.schema_file import parse_schema_yaml, read_schema_text
from mlgate.pipeline.serve.loader import SCHEMA_FILE, BundleInfo
from mlgate.pipeline.serve.models import column_specs

__all__ = ["LabelSet", "label_set"]

_CAST = {"int": int, "float": float, "str": str, "bool": bool}


@dataclass(frozen=True)
class LabelSet:
    """The target's labels (empty when unknown, with ``problem`` saying why) and the positive one."""

    target: str | None
    values: tuple[Any, ...]
    positive: Any
    problem: str = ""

    @property
    def known(self) -> bool:
        return len(self.values) == 2

    def accepts(self, value: Any) -> bool:
        """``value`` is one of the labels, in the same JSON type."""
        return any(type(value) is type(label) and value == label for label in self.values)

    def decision_texts(self) -> tuple[str, str]:
        """The logged decision for (not positive, positive)."""
        if not self.known:
            return "0", "1"
        negative = next(label for label in self.values if label != self.positive)
        return json.dumps(negative), json.dumps(self.positive)


def _same(value: Any, positive: Any) -> bool:
    return bool(value == positive) or str(value) == str(positive)


def label_set(info: BundleInfo) -> LabelSet:
    """The label set of ``info``'s target (see the module docstring); never raises."""
    positive = info.meta.get("positive_label")
    path = info.root / SCHEMA_FILE
    try:
        schema = parse_schema_yaml(read_schema_text(path), path)
    except (OSError, UnicodeDecodeError, yaml.YAMLError, MlgateError) as exc:
        return LabelSet(None, (), positive, f"{path}: not readable ({exc})")
    columns = schema.get("columns") if isinstance(schema, dict) else None
    columns = columns if isinstance(columns, dict) else {}
    named = info.release.get("target")
    if isinstance(named, str):
        candidates = [named] if named in columns else []
    else:
        candidates = [name for name in columns if name not in set(info.features)]
    found = []
    for name in candidates:
        try:
            spec = column_specs(schema, [name], source=str(path))[0]
        except MlgateError:
            continue
        values = (False, True) if spec.kind == "bool" else tuple(_CAST[spec.kind](v) for v in spec.allowed or ())
        if any(_same(v, positive) for v in values):
            found.append((name, values))
    if len(found) != 1:
        why = "no" if not found else f"{len(found)}"
        where = f"target '{named}'" if isinstance(named, str) else "target column"
        return LabelSet(None, (), positive, f"{path}: {why} {where} with allowed values including {positive!r}")
    name, values = found[0]
    typed_positive = next(v for v in values if _same(v, positive))
    if len(values) != 2:
        return LabelSet(name, (), typed_positive, f"{path}: target '{name}' allows {len(values)} labels, not two")
    return LabelSet(name, values, typed_positive)
