"""The serving app for a release bundle (FastAPI). Imports no training code and not mlflow.

``create_app(bundle_dir)`` builds the app; ``python -m pipeline.serve --bundle DIR`` runs it under uvicorn.
"""

from __future__ import annotations

from mlgate.pipeline.serve.app import DEFAULT_MAX_BATCH, DEFAULT_MAX_BODY_BYTES, create_app
from mlgate.pipeline.serve.loader import BundleError, BundleInfo, load_model, read_bundle
from mlgate.pipeline.serve.models import SchemaTranslationError, build_models, column_specs

__all__ = [
    "DEFAULT_MAX_BATCH",
    "DEFAULT_MAX_BODY_BYTES",
    "BundleError",
    "BundleInfo",
    "SchemaTranslationError",
    "build_models",
    "column_specs",
    "create_app",
    "load_model",
    "read_bundle",
]
