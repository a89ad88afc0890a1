"""``mlgate status``: the champion, its age and data fingerprint, which staleness rules it passes, alias history.

:func:`collect_status` gathers everything into a plain dict (JSON-ready, so CI can archive it);
:func:`print_status` renders it with rich. Staleness is judged alone here, so its results block: the dict's
``exit_code`` is 1 when the champion is stale (a scheduled CI job can trigger a retrain on it), else 0.
"""

from __future__ import annotations

import dataclasses
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from mlgate.checks import staleness
from mlgate.checks.result import Status
from mlgate.pipeline.config import ProjectConfig
from mlgate.pipeline.records import ChampionRecord
from mlgate.pipeline.redact import redact_text, redact_url
from mlgate.pipeline.tags import Tag

__all__ = ["ROW_HASHES_ARTIFACT", "champion_evidence", "collect_status", "print_status"]

#: Run artifact holding the champion's training-data row hashes (uint64, pipeline.ingest.row_hashes).
ROW_HASHES_ARTIFACT = "data/row_hashes.npy"
_STYLE = {"pass": "green", "warn": "yellow", "fail": "bold red", "error": "bold red", "skipped": "dim"}


def _row_hashes(registry: Any, run_id: str) -> np.ndarray | None:
    """The run's recorded row hashes, or None when it has none (older runs) or they cannot be read."""
    with tempfile.TemporaryDirectory(prefix="mlgate-status-") as scratch:
        try:
            local = registry.download_artifact(run_id, ROW_HASHES_ARTIFACT, Path(scratch))
            hashes: np.ndarray = np.load(local, allow_pickle=False).astype(np.uint64, copy=False)
            return hashes
        except Exception:  # a missing artifact is normal for runs that predate it; say "not recorded" downstream
            return None


def champion_evidence(registry: Any, *, with_row_hashes: bool = True) -> ChampionRecord | None:
    """The champion as staleness evidence: the registry's record, with row hashes when the run logged them."""
    record: ChampionRecord | None = registry.champion()
    if record is None or not with_row_hashes:
        return record
    return dataclasses.replace(record, row_hashes=_row_hashes(registry, record.run_id))


def collect_status(
    config: ProjectConfig,
    *,
    registry: Any | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Everything ``mlgate status`` shows. ``registry`` defaults to :meth:`pipeline.registry.Registry.from_config`."""
    from mlgate.pipeline.dataload import load_dataset
    from mlgate.pipeline.ingest import row_hashes

    if registry is None:
        from mlgate.pipeline.registry import Registry

        registry = Registry.from_config(config)
    now = now or datetime.now(UTC)
    champion = champion_evidence(registry)
    history = registry.history()
    dataset = load_dataset(config)
    status: dict[str, Any] = {
        "project": config.name,
        "model_name": config.mlflow.model_name,
        "tracking_uri": redact_url(config.tracking_uri),
        "checked_at": now.isoformat(timespec="seconds"),
        "data": {"source": redact_url(dataset.source), "fingerprint": dataset.fingerprint, "rows": dataset.n_rows},
        "champion": None,
        "staleness": [],
        "history": [
            {
                "version": record.version,
                "run_id": record.run_id,
                "registered_at": record.registered_at.isoformat(timespec="seconds"),
                "aliases": list(record.aliases),
                # (redacted: a run logged before mlgate redacted its tags may hold a password in mlgate.data_source)
                "tags": {k: redact_text(v) for k, v in record.tags.items() if k.startswith("mlgate.")},
            }
            for record in history
        ],
    }
    if champion is None:
        status["stale"] = False
        status["exit_code"] = 0
        return status
    age_days = (now - champion.trained_at).total_seconds() / 86_400
    status["champion"] = {
        "name": champion.name,
        "version": champion.version,
        "run_id": champion.run_id,
        "trained_at": champion.trained_at.isoformat(timespec="seconds"),
        "age_days": round(age_days, 2),
        "data_fingerprint": champion.data_fingerprint,
        "row_hashes_recorded": champion.row_hashes is not None,
    }
    results = [
        staleness.check_age(champion, config, now=now),
        staleness.check_data_changed(
            champion, config, fingerprint=dataset.fingerprint, current_hashes=row_hashes(dataset.frame)
        ),
        staleness.check_event_lag(champion, config, frame=dataset.frame),
    ]
    status["staleness"] = [result.to_dict() for result in results]
    status["stale"] = any(result.status is Status.FAIL for result in results)
    status["exit_code"] = 1 if any(result.blocks for result in results) else 0
    return status


def print_status(status: dict[str, Any], console: Console) -> None:
    """Render :func:`collect_status`'s dict: champion, data, staleness verdicts, alias history."""
    console.print(f"[bold]{status['project']}[/bold]  model '{status['model_name']}' at {status['tracking_uri']}")
    data = status["data"]
    console.print(f"data: {data['source']} ({data['rows']} rows, fingerprint {data['fingerprint'][:12]})")
    champion = status["champion"]
    if champion is None:
        console.print("champion: [dim]none yet[/dim] (no candidate has been promoted)")
    else:
        fingerprint = (champion["data_fingerprint"] or "not recorded")[:12]
        console.print(
            f"champion: [bold]v{champion['version']}[/bold] (run {champion['run_id']}), trained "
            f"{champion['trained_at']}, {champion['age_days']:.1f} days ago, data fingerprint {fingerprint}"
        )
        table = Table(title="staleness", show_lines=False)
        for column in ("check", "status", "message"):
            table.add_column(column, overflow="fold")
        for result in status["staleness"]:
            style = _STYLE.get(result["status"], "")
            table.add_row(result["id"], f"[{style}]{result['status'].upper()}[/{style}]", result["message"])
        console.print(table)
        verdict = "[bold red]STALE: retrain due[/bold red]" if status["stale"] else "[green]not stale[/green]"
        console.print(f"verdict: {verdict}")
    if status["history"]:
        table = Table(title="versions (newest first)")
        for column in ("version", "aliases", "registered", "promoted from", "run"):
            table.add_column(column)
        for record in status["history"]:
            tags = record["tags"]
            promoted = tags.get(Tag.PROMOTED_FROM, "")
            if Tag.ROLLED_BACK_AT in tags:
                promoted += f" (rolled back {tags[Tag.ROLLED_BACK_AT]})"
            table.add_row(
                record["version"], ", ".join(record["aliases"]), record["registered_at"], promoted, record["run_id"]
            )
        console.print(table)
    else:
        console.print("versions: none registered")
