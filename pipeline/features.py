"""Features: the preprocessing half of the scikit-learn Pipeline (a ColumnTransformer)."""

from __future__ import annotations

from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

__all__ = ["build_preprocessor"]


def build_preprocessor(numeric: list[str], categorical: list[str], *, scale: bool) -> ColumnTransformer:
    """Impute and (optionally) scale numeric columns; impute and one-hot encode categorical ones.

    Unknown categories at prediction time are encoded as all zeros rather than raising, so a served
    model degrades gracefully; the schema gate and the serving request model reject them first.
    """
    numeric_steps: list[tuple[str, object]] = [("impute", SimpleImputer(strategy="median"))]
    if scale:
        numeric_steps.append(("scale", StandardScaler()))
    categorical_steps = [
        ("impute", SimpleImputer(strategy="constant", fill_value="missing")),
        ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
    ]
    return ColumnTransformer(
        [
            ("numeric", Pipeline(numeric_steps), numeric),
            ("categorical", Pipeline(categorical_steps), categorical),
        ],
        remainder="drop",
        verbose_feature_names_out=False,
    )
