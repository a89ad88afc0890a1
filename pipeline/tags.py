"""Every ``mlgate.*`` tag mlgate writes on an MLflow run or model version: one typed definition.

The gated run (:mod:`ci.registration`) writes the run tags when it logs a candidate; the registry adapter
(:mod:`pipeline.registry`) writes the signature and promotion tags; the release (:mod:`ci.release_flow`) the image
tags. Everything that reads a tag (the champion comparison, staleness, ``mlgate status``, ``reproduce``) names it
through :class:`Tag`, never as a string, and ``tests/unit/test_tags.py`` fails on a ``"mlgate.<name>"`` literal
anywhere else in the package. The values are part of the store's format: renaming one orphans every champion
registered before.

==============================  =========  ===================================================================
Tag                             On         Value
==============================  =========  ===================================================================
``mlgate.project``              run        the config's ``name``
``mlgate.data_fingerprint``     run        the training data's fingerprint (:func:`pipeline.ingest.fingerprint`)
``mlgate.data_source``          run        the data source, credentials redacted
``mlgate.config_sha256``        run        sha256 of the config file (the original, also when a redacted copy
                                           was logged)
``mlgate.config_redacted``      run        ``true`` when the logged config is a redacted copy
``mlgate.git_commit``           run        the checkout's commit (``-dirty`` with uncommitted changes)
``mlgate.lock_sha256``          run        sha256 of the project's uv.lock
``mlgate.threshold``            run        the candidate's decision threshold (``repr`` of the float)
``mlgate.task``                 run        ``binary``, ``multiclass`` or ``regression`` (:mod:`pipeline.target`)
``mlgate.event_time_max``       run        newest event time in the training data (ISO 8601), when configured
``mlgate.gate_status``          run        ``passed`` or ``failed``: the gated run's verdict
``mlgate.gate_report_sha256``   both       sha256 of the run's report.json (on the version: set at promotion)
``mlgate.model_sha256``         both       sha256 of ``mlgate_model/model.skops``
``mlgate.model_signature``      both       the Ed25519 seal of model and meta file (:mod:`pipeline.signing`)
``mlgate.promoted_from``        version    the champion before this one, or ``none``
``mlgate.promoted_at``          version    when this version became champion (ISO 8601, UTC)
``mlgate.rolled_back_at``       version    when this version was demoted by a rollback
``mlgate.image``                version    the serving image reference a release pushed
``mlgate.image_digest``         version    that image's digest
``mlgate.retrain_id``           both       the ``mlgate retrain`` journal id that trained this candidate
``mlgate.retrain_triggers``     both       the triggers that fired for it (``new-data,drift``)
==============================  =========  ===================================================================
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Tag"]


class Tag(StrEnum):
    """An ``mlgate.*`` tag name (a ``str``: usable wherever MLflow takes a tag key)."""

    PROJECT = "mlgate.project"
    DATA_FINGERPRINT = "mlgate.data_fingerprint"
    DATA_SOURCE = "mlgate.data_source"
    CONFIG_SHA256 = "mlgate.config_sha256"
    CONFIG_REDACTED = "mlgate.config_redacted"
    GIT_COMMIT = "mlgate.git_commit"
    LOCK_SHA256 = "mlgate.lock_sha256"
    THRESHOLD = "mlgate.threshold"
    TASK = "mlgate.task"
    EVENT_TIME_MAX = "mlgate.event_time_max"
    GATE_STATUS = "mlgate.gate_status"
    GATE_REPORT_SHA256 = "mlgate.gate_report_sha256"
    MODEL_SHA256 = "mlgate.model_sha256"
    MODEL_SIGNATURE = "mlgate.model_signature"
    PROMOTED_FROM = "mlgate.promoted_from"
    PROMOTED_AT = "mlgate.promoted_at"
    ROLLED_BACK_AT = "mlgate.rolled_back_at"
    IMAGE = "mlgate.image"
    IMAGE_DIGEST = "mlgate.image_digest"
    RETRAIN_ID = "mlgate.retrain_id"
    RETRAIN_TRIGGERS = "mlgate.retrain_triggers"
