"""The machine-readable report: ``report.json``."""

from __future__ import annotations

import json

from mlgate.checks.result import GateReport

__all__ = ["render_json"]


def render_json(report: GateReport) -> str:
    """``report.to_dict()`` as JSON with sorted keys and indent 2; it round-trips through ``GateReport.from_dict``.

    Non-finite floats are already ``null`` in ``to_dict``; ``allow_nan=False`` makes sure no ``NaN`` token (which
    is not JSON) ever slips through.
    """
    return json.dumps(report.to_dict(), sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
