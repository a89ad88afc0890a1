"""deepchecks' isolated environment: the locked project (pyproject.toml, uv.lock) and the runner its python runs
(:mod:`ci.deepchecks_env` builds and calls it). Nothing here imports deepchecks at module level."""
