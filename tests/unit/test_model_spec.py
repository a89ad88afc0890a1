"""The model spec is unit tested (ML Test Score): every estimator short name mlgate supports trains on a tiny data
set into finite probabilities, and every one but the prior baseline beats the prior on its own training rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlgate.pipeline.config import ModelSettings
from mlgate.pipeline.diagnostics import row_log_loss
from mlgate.pipeline.evaluate import positive_proba
from mlgate.pipeline.train import ESTIMATORS, fit


def tiny(seed: int) -> tuple[pd.DataFrame, pd.Series]:
    """60 rows: a numeric signal, a categorical signal, a missing value in each kind, and a noise column."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=60)
    frame = pd.DataFrame(
        {
            "signal": y * 2.0 + rng.normal(0, 1.0, 60),
            "noise": rng.normal(0, 1.0, 60),
            "kind": np.where(rng.random(60) < 0.8, np.where(y == 1, "a", "b"), "c"),
        }
    )
    frame.loc[3, "signal"] = np.nan
    frame.loc[5, "kind"] = None
    return frame, pd.Series(y, name="label")


@pytest.mark.parametrize("estimator", sorted(ESTIMATORS))
@pytest.mark.parametrize("seed", [0, 1])
def test_each_estimator_gives_finite_probabilities_that_beat_the_prior(estimator: str, seed: int) -> None:
    X, y = tiny(seed)
    trained = fit(
        ModelSettings(estimator=estimator), X, y, numeric=["signal", "noise"], categorical=["kind"], random_state=0
    )
    proba = positive_proba(trained.pipeline, X)
    assert proba.shape == (len(X),) and np.isfinite(proba).all() and ((proba >= 0) & (proba <= 1)).all()
    share = float(y.mean())
    model_loss = float(row_log_loss(y.to_numpy(), proba).mean())
    prior_loss = float(row_log_loss(y.to_numpy(), np.full(len(y), share)).mean())
    if estimator == "majority_class":  # the prior baseline itself: exactly the prior, nothing learned
        assert model_loss == pytest.approx(prior_loss)
    else:
        assert model_loss < prior_loss - 0.05, f"{estimator}: log loss {model_loss:.3f} vs the prior's {prior_loss:.3f}"


def test_the_check_can_fail_a_model_that_learned_nothing() -> None:
    """The same assertion on a model fitted to shuffled labels: it cannot beat the prior on real labels."""
    X, y = tiny(0)
    shuffled = pd.Series(np.random.default_rng(9).permutation(y.to_numpy()), name="label")
    trained = fit(
        ModelSettings(estimator="logistic_regression", params={"C": 1e-4}),
        X,
        shuffled,
        numeric=["signal", "noise"],
        categorical=["kind"],
        random_state=0,
    )
    proba = positive_proba(trained.pipeline, X)
    prior = float(row_log_loss(y.to_numpy(), np.full(len(y), y.mean())).mean())
    assert float(row_log_loss(y.to_numpy(), proba).mean()) >= prior - 0.05
