"""The MLflow tracking store and model registry behind one small adapter, :class:`Registry`.

One candidate is one MLflow run (params, metrics, tags, config/lock/schema/report files) holding the model twice:
as an MLflow sklearn model (skops serialisation, explicit trusted types) for MLflow's own tools, and in
mlgate's artifact format (``mlgate_model/model.skops`` + ``model.meta.json``, see :mod:`pipeline.artifact`) so
serving needs no mlflow. The model's sha256 is recorded as the tag ``mlgate.model_sha256`` on the run and on
the model version (informational), and its signature (:mod:`pipeline.signing`: model and meta sha256, model
name, run id, signed with mlgate's key) as ``mlgate.model_signature``. Every load verifies the signature against
the downloaded bytes before deserialising them; an unsigned, foreign-signed or altered model is refused with a
RegistryError (exit 3). Aliases carry state: ``challenger`` = the newest logged
candidate, ``champion`` = the model serving builds from (stages are deprecated in MLflow 3).

Crash safety:

* The store: a new sqlite store is created (by :meth:`Registry.log_candidate` only, never by a reader) in a
  temporary file and moved into place once MLflow's migrations completed, and an artifact location MLflow could
  not write to is refused before any store, experiment or run exists (:mod:`pipeline.registry.store`).
* ``log_candidate`` registers the version only after everything else is logged; if any step fails it deletes
  the version it created, marks the run FAILED and raises :class:`RegistryError`. A process killed between
  registering and the ``challenger`` alias leaves a version no alias points to: harmless, nothing reads it.
* ``promote`` has ONE commit point: the single ``set_registered_model_alias(name, "champion", version)`` call.
  Before it, the new version is tagged ``mlgate.promoted_from`` (the previous champion, or ``none``),
  ``mlgate.promoted_at`` and ``mlgate.gate_report_sha256``; these tags are inert until the alias moves (a
  crash before the commit leaves the old champion in place, and a later promotion rewrites them). After the
  alias moves nothing else is needed, so the registry is never half-promoted.
* ``rollback`` is the same shape: tag the demoted version ``mlgate.rolled_back_at``, then move the alias to its
  ``mlgate.promoted_from``. Each rollback walks one step back along that chain.

mlflow is imported inside the methods: ``import mlgate.pipeline.registry`` stays cheap and the data gates never pay
for it. MLflow's logging is quietened (WARNING) only while a method runs; nothing happens at import time.
"""

from __future__ import annotations

from mlgate.pipeline.records import ChampionRecord, LoggedModel
from mlgate.pipeline.registry.adapter import Registry
from mlgate.pipeline.registry.base import MODEL_DIR, MODEL_FILE
from mlgate.pipeline.registry.records import PromotionRecord, VersionRecord
from mlgate.pipeline.registry.runs import RunReader, RunRecord

__all__ = [
    "MODEL_DIR",
    "MODEL_FILE",
    "ChampionRecord",
    "LoggedModel",
    "PromotionRecord",
    "Registry",
    "RunReader",
    "RunRecord",
    "VersionRecord",
]
