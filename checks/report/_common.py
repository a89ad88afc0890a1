"""Helpers every renderer shares: the verdict, status order and colours, value formatting, run facts.

Renderers treat every result generically (message, observed, expected, interval), so a new layer needs no
renderer change; only the plots read layer-specific ``details`` keys, and each of them degrades to a note.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from mlgate.checks.result import ALL_LAYERS, CheckResult, GateReport, Interval, Status
from mlgate.pipeline.redact import redact_url

#: Most severe first: the order in which lists and tables show results.
SEVERITY: tuple[Status, ...] = (
    Status.ERROR,
    Status.FAIL,
    Status.WAIVED,
    Status.WARN,
    Status.SKIPPED,
    Status.PASS,
)

#: One colour per status, used by the HTML stylesheet and the plots alike (GitHub Primer palette).
STATUS_COLORS: dict[Status, str] = {
    Status.PASS: "#1a7f37",
    Status.WARN: "#bf8700",
    Status.FAIL: "#cf222e",
    Status.WAIVED: "#0969da",
    Status.ERROR: "#8250df",
    Status.SKIPPED: "#6e7781",
}

#: What the terminal summary uses for the same statuses.
RICH_STYLES: dict[Status, str] = {
    Status.PASS: "green",
    Status.WARN: "yellow",
    Status.FAIL: "bold red",
    Status.WAIVED: "blue",
    Status.ERROR: "bold magenta",
    Status.SKIPPED: "dim",
}


def verdict(report: GateReport) -> str:
    """``PASSED`` or ``FAILED``: the one word a release manager reads first."""
    return "PASSED" if report.passed else "FAILED"


def by_severity(results: tuple[CheckResult, ...] | list[CheckResult]) -> list[CheckResult]:
    """Most severe first, layer order within a status, original order within a layer (stable)."""
    rank = {status: i for i, status in enumerate(SEVERITY)}
    layer_rank = {layer: i for i, layer in enumerate(ALL_LAYERS)}
    return sorted(results, key=lambda r: (rank[r.status], layer_rank[r.layer]))


def layer_counts(report: GateReport) -> dict[str, dict[Status, int]]:
    """Per layer that has results, the number of results in each status (every status present, maybe 0)."""
    counts: dict[str, dict[Status, int]] = {}
    for layer, results in report.by_layer().items():
        counts[layer] = {status: 0 for status in Status}
        for result in results:
            counts[layer][result.status] += 1
    return {layer: counts[layer] for layer in ALL_LAYERS if layer in counts}


def attached_reports(report: GateReport) -> list[tuple[str, str]]:
    """(suite, file relative to the report) of each deepchecks HTML report the run wrote beside this one."""
    suites = section(section(report.run, "deepchecks"), "suites")
    return [(str(name), str(part["html"])) for name, part in suites.items() if section(suites, name).get("html")]


def summary_counts(report: GateReport) -> str:
    """``"42 checks: 30 pass, 2 fail, ..."``, listing only the statuses present."""
    counts = report.counts()
    parts = [f"{counts[s.value]} {s.value}" for s in Status if counts[s.value]]
    total = len(report.results)
    return f"{total} check{'s' if total != 1 else ''}" + (f": {', '.join(parts)}" if parts else "")


def fmt_value(value: Any, *, limit: int = 160) -> str:
    """A short, human reading of an observed/expected value: 4 significant digits, compact JSON otherwise."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4g}"
    if isinstance(value, int | str):
        text = str(value)
    else:
        try:
            text = json.dumps(value, default=str, separators=(", ", ": "), ensure_ascii=False)
        except (TypeError, ValueError):
            text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def fmt_interval(interval: Interval | None) -> str:
    if interval is None:
        return ""
    return f"[{fmt_value(interval.low)}, {fmt_value(interval.high)}] ({interval.confidence:.0%})"


def number(value: Any) -> float | None:
    """``value`` as a finite float, or None (details may come back from JSON as None or strings)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def section(mapping: Mapping[str, Any] | None, key: str) -> Mapping[str, Any]:
    """``mapping[key]`` when it is a mapping, else an empty one: run metadata keys may all be missing."""
    value = (mapping or {}).get(key)
    return value if isinstance(value, Mapping) else {}


def waiver_note(result: CheckResult) -> str:
    """``"waived by alice until 2025-01-31: reason"`` from details["waiver"], or ``""``."""
    waiver = result.details.get("waiver")
    if not isinstance(waiver, Mapping):
        return ""
    owner = waiver.get("owner") or "unknown owner"
    expires = waiver.get("expires")
    reason = waiver.get("reason")
    text = f"waived by {owner}" + (f" until {expires}" if expires else " (no expiry)")
    return text + (f": {reason}" if reason else "")


def run_facts(report: GateReport) -> list[tuple[str, str]]:
    """The key facts of the run as (label, value) pairs, skipping whatever the run did not record."""
    run = report.run
    data, model, registry = section(run, "data"), section(run, "model"), section(run, "registry")
    facts: list[tuple[str, Any]] = [("project", run.get("project"))]
    name, version = registry.get("model_name"), registry.get("version")
    if name or version:
        facts.append(("model", f"{name or '?'}" + (f" v{version}" if version is not None else "")))
    facts.append(("registry", registry_note(report)))
    facts.append(("estimator", model.get("estimator")))
    facts.append(("task", task_note(report)))
    facts.append(("classes", class_note(report)))
    if task_of(report) == "multiclass" and model.get("threshold_source"):
        facts.append(("decision", decision_note(str(model["threshold_source"]))))
    threshold = number(model.get("threshold"))
    if threshold is not None and task_of(report) in (None, "binary"):
        source = model.get("threshold_source")
        facts.append(("threshold", f"{threshold:.4g}" + (f" ({source})" if source else "")))
    fingerprint = data.get("fingerprint")
    facts.append(("data", redact_url(str(data["source"])) if data.get("source") else None))
    facts.append(("window", section(run, "monitor").get("window")))  # mlgate monitor: the judged window
    facts.append(("fingerprint", short_fingerprint(fingerprint)))
    facts.append(("rows", row_flow(report)))
    facts.append(("split", split_sizes(report)))
    facts.append(("git commit", str(run["git_commit"])[:12] if run.get("git_commit") else None))
    facts.append(("config", run.get("config")))
    facts.append(("mlgate", run.get("mlgate_version")))
    facts.append(("started", run.get("started_at")))
    duration = number(run.get("duration_s"))
    facts.append(("duration", f"{duration:.1f} s" if duration is not None else None))
    return [(label, str(value)) for label, value in facts if value not in (None, "")]


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def row_counts(report: GateReport) -> dict[str, int]:
    """Every row count the run recorded from the file to the split (``rows_read`` ... ``rows_test``), by name;
    a count the run did not record is left out (a report from an older mlgate, a data-only run)."""
    data = section(report.run, "data")
    prepare, split = section(data, "prepare"), section(data, "split")
    counts = {
        "rows_read": _count(prepare.get("rows_in", data.get("rows"))),
        "rows_without_label_dropped": _count(prepare.get("missing_target_dropped")),
        "duplicate_rows": _count(prepare.get("duplicate_rows")),
        "duplicates_dropped": _count(prepare.get("duplicates_dropped")),
        "rows_used": _count(prepare.get("rows_out")),
        **{f"rows_{part}": _count(split.get(part)) for part in ("train", "validation", "test")},
    }
    return {name: value for name, value in counts.items() if value is not None}


def row_flow(report: GateReport) -> str | None:
    """``"2,207 read (11 columns) − 724 duplicates dropped = 1,483 used"``: each row-count change between the
    file and the split, so no report says "2,207 rows" while the model saw 1,483. None when nothing was recorded."""
    counts = row_counts(report)
    if "rows_read" not in counts:
        return None
    columns = _count(section(report.run, "data").get("columns"))
    text = f"{counts['rows_read']:,} read" + (f" ({columns} columns)" if columns is not None else "")
    if unlabelled := counts.get("rows_without_label_dropped"):
        text += f" − {unlabelled:,} without a label"
    if dropped := counts.get("duplicates_dropped"):
        text += f" − {dropped:,} duplicate{'s' if dropped != 1 else ''} dropped"
    if "rows_used" in counts:
        text += f" = {counts['rows_used']:,} used"
    kept = counts.get("duplicate_rows", 0) - counts.get("duplicates_dropped", 0)
    if kept > 0:
        text += f" ({kept:,} of them duplicate{'s' if kept != 1 else ''}, kept)"
    return text


def split_sizes(report: GateReport) -> str | None:
    """``"train 525 · validation 175 · test 300 (random_state 42)"``, or None without a split."""
    split = section(section(report.run, "data"), "split")
    sizes = [
        f"{part} {split[part]:,}" for part in ("train", "validation", "test") if _count(split.get(part)) is not None
    ]
    if not sizes:
        return None
    seed = split.get("random_state")
    return " · ".join(sizes) + (f" (random_state {seed})" if seed is not None else "")


def registry_note(report: GateReport) -> str | None:
    """What the run did in the registry: ``"identical to champion v3: not registered"``, ``"promoted to champion
    (champion 2 → 3)"``, ``"not promoted; promotion failed: ..."``; None when the run did not register."""
    registry = section(report.run, "registry")
    identical = registry.get("identical_to_champion")
    if identical is not None:
        return f"identical to champion v{identical}: not registered"
    if "promoted" not in registry:
        return None
    promoted = "promoted to champion" if registry.get("promoted") else "not promoted"
    before, after = registry.get("champion_before"), registry.get("champion_after")
    if before is not None or after is not None:
        promoted += f" (champion {before or 'none'} → {after or 'none'})"
    if registry.get("error"):
        promoted += f"; promotion failed: {registry['error']}"
    return promoted


def short_fingerprint(fingerprint: Any) -> str | None:
    """The first 12 hex digits of a data fingerprint, without an algorithm prefix such as ``sha256:``."""
    if not fingerprint:
        return None
    return str(fingerprint).rsplit(":", 1)[-1][:12]


def headline_model(report: GateReport) -> str:
    """``"german-credit v7, not promoted"``-style fragment for one-line summaries, or ``""``."""
    registry = section(report.run, "registry")
    parts = []
    if registry.get("identical_to_champion") is not None:
        parts.append(f"model {registry.get('model_name') or '?'}: {registry_note(report)}")
    elif registry.get("model_name") or registry.get("version") is not None:
        parts.append(f"model {registry.get('model_name') or '?'} v{registry.get('version', '?')}")
    if "promoted" in registry and registry.get("identical_to_champion") is None:
        parts.append("promoted" if registry.get("promoted") else "not promoted")
    fingerprint = section(report.run, "data").get("fingerprint")
    if fingerprint:
        parts.append(f"data {short_fingerprint(fingerprint)}")
    return ", ".join(parts)


#: The tasks a run can gate (``model.task``), and how a multi-class model decides (its ``threshold_source``).
TASKS = ("binary", "multiclass", "regression")
_DECISIONS = {
    "most_probable": "each row gets its most probable class",
    "least_expected_cost": "each row gets the class of least expected cost (quality.class_costs)",
}


def _target(report: GateReport) -> Mapping[str, Any]:
    """``run.data.target`` (column, task, decided_by, classes: :meth:`pipeline.prepare.Prepared.target_record`)."""
    target = section(report.run, "data").get("target")
    return target if isinstance(target, Mapping) else {}


def task_of(report: GateReport) -> str | None:
    """The run's task from ``run.data.target.task`` (``run.data.task``, ``run.model.task`` as fallbacks), or None
    when not recorded."""
    for task in (_target(report).get("task"), *(section(report.run, part).get("task") for part in ("data", "model"))):
        if task in TASKS:
            return str(task)
    return None


def task_note(report: GateReport) -> str | None:
    """``"multiclass (model.task)"``, ``"regression (inferred: ...)"``: the task and how it was decided."""
    task = task_of(report)
    if task is None:
        return None
    decided = _target(report).get("decided_by") or section(report.run, "data").get("task_decided_by")
    return f"{task} ({decided})" if decided else task


def class_labels(report: GateReport, k: int | None = None) -> list[str] | None:
    """The class labels in class-code order (``run.data.classes``), or None when missing or not ``k`` long."""
    recorded = [section(report.run, part).get("classes") for part in ("data", "model")]
    for classes in (_target(report).get("classes"), *recorded):
        if isinstance(classes, list | tuple) and classes and (k is None or len(classes) == k):
            return [str(c) for c in classes]
    return None


def class_note(report: GateReport, *, limit: int = 8) -> str | None:
    """``"3: class_0, class_1, class_2"`` for a multi-class run (the first ``limit`` labels), else None."""
    labels = class_labels(report) if task_of(report) == "multiclass" else None
    if not labels:
        return None
    shown = ", ".join(labels[:limit]) + (f", … ({len(labels) - limit} more)" if len(labels) > limit else "")
    return f"{len(labels)}: {shown}"


def decision_note(source: str) -> str:
    """How a multi-class model decides, in words (its ``threshold_source``)."""
    return _DECISIONS.get(source, source)
