"""Deliberately broken estimators for the reproducibility gate's bad cases (imported by dotted path).

``pipeline.train.build_pipeline`` always injects ``model.random_state``; these classes accept it and then do
what real bugs do: ignore it. The fresh-process retrain must catch them.
"""

from __future__ import annotations

from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor


class SeedIgnoringForest(RandomForestClassifier):
    """A random forest that drops its configured seed at fit time (bootstrap + feature sampling unseeded)."""

    def fit(self, X, y, sample_weight=None):
        configured = self.random_state
        self.random_state = None  # the bug under test
        try:
            return super().fit(X, y, sample_weight=sample_weight)
        finally:
            self.random_state = configured


class SeedIgnoringForestRegressor(RandomForestRegressor):
    """The same bug in a random-forest regressor."""

    def fit(self, X, y, sample_weight=None):
        configured = self.random_state
        self.random_state = None
        try:
            return super().fit(X, y, sample_weight=sample_weight)
        finally:
            self.random_state = configured
