"""The steps of logging one candidate (:meth:`pipeline.registry.Registry.log_candidate`), as functions of the client.

mlflow is imported inside the functions only.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgate.pipeline.registry.base import MODEL_DIR
from mlgate.pipeline.registry.records import first_line, is_not_found, pip_requirements, quiet_mlflow

if TYPE_CHECKING:
    from mlflow import MlflowClient

__all__ = ["abandon", "ensure_registered_model", "log_run", "log_sklearn"]


def log_run(
    client: MlflowClient,
    run_id: str,
    params: Mapping[str, Any],
    metrics: Mapping[str, float | None],
    artifacts: Mapping[str, Path],
    model_dir: Path,
) -> None:
    from mlflow.entities import Metric, Param

    now = int(time.time() * 1000)
    client.log_batch(
        run_id,
        metrics=[Metric(k, float(v), now, 0) for k, v in metrics.items() if v is not None],
        params=[Param(k, str(v)[:6000]) for k, v in params.items()],
        synchronous=True,
    )
    # one upload: every file staged where it goes in the run (config/mlgate.toml, mlgate_model/model.skops, ...);
    # a folder's files go into the artifact folder of its key (monitor/ -> monitor/reference.json, ...)
    root = model_dir.parent / "run-artifacts"
    for folder, path in artifacts.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        if Path(path).is_dir():
            shutil.copytree(path, root / folder, dirs_exist_ok=True)
        else:
            shutil.copy2(path, root / folder / Path(path).name)
    shutil.copytree(model_dir, root / MODEL_DIR, dirs_exist_ok=True)
    client.log_artifacts(run_id, str(root))


def log_sklearn(run_id: str, model: Any, trusted: list[str], example: Any) -> tuple[str, str | None]:
    import mlflow
    import mlflow.sklearn

    with mlflow.start_run(run_id=run_id):
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            serialization_format="skops",
            skops_trusted_types=trusted,
            pip_requirements=pip_requirements(),  # explicit: skips MLflow's slow environment inference
            input_example=example,
        )
    return info.model_uri, info.model_id


def ensure_registered_model(client: MlflowClient, model_name: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(model_name)
    except MlflowException as exc:
        if not is_not_found(exc):
            raise
        try:
            client.create_registered_model(model_name)
        except MlflowException as again:  # created by another process in between
            if getattr(again, "error_code", None) != "RESOURCE_ALREADY_EXISTS":
                raise


def abandon(client: MlflowClient, model_name: str, run_id: str, registered: str | None) -> str:
    """Best effort after a failed log: delete the version, mark the run FAILED; say what happened."""
    notes = []
    with quiet_mlflow():
        if registered is not None:
            try:
                client.delete_model_version(model_name, registered)
                notes.append(f"version {registered} deleted")
            except Exception as exc:
                notes.append(f"version {registered} could NOT be deleted: {first_line(exc)}")
        try:
            client.set_terminated(run_id, "FAILED")
            notes.append(f"run {run_id} marked FAILED")
        except Exception as exc:
            notes.append(f"run {run_id} could NOT be marked FAILED: {first_line(exc)}")
    return "; ".join(notes) if registered is not None else "no version registered; " + "; ".join(notes)
