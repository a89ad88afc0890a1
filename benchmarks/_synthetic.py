"""Synthetic frames with the bundled German credit schema, for benchmarks (seeded, vectorised).

Same 10 columns, dtypes, categories (with their observed shares, the ``not_known`` sentinel included) and
ranges as ``data/german_credit.csv``: categorical columns are drawn from the observed category shares,
``credit_amount`` from a log-normal fitted to the data and clipped to its range, ``duration`` and ``age``
from their observed values, ``risk`` from its observed share. Columns are independent of each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "german_credit.csv"
CONFIG = ROOT / "mlgate.toml"

CATEGORICAL = ["sex", "job", "housing", "saving_accounts", "checking_account", "purpose"]
NUMERIC = ["credit_amount", "duration", "age"]


@dataclass(frozen=True)
class Profile:
    """What a synthetic row is drawn from: category shares and numeric value pools of the bundled data."""

    categories: dict[str, tuple[np.ndarray, np.ndarray]]  # column -> (values, shares)
    pools: dict[str, np.ndarray]  # column -> observed values
    log_amount: tuple[float, float, float, float]  # mean, sd of log, min, max
    positive_share: float


def profile(path: Path = DATA) -> Profile:
    frame = pd.read_csv(path)
    categories = {}
    for column in CATEGORICAL:
        shares = frame[column].value_counts(normalize=True)
        categories[column] = (shares.index.to_numpy(dtype=object), shares.to_numpy())
    amount = np.log(frame["credit_amount"].to_numpy(dtype=float))
    return Profile(
        categories=categories,
        pools={c: frame[c].to_numpy() for c in ("duration", "age")},
        log_amount=(amount.mean(), amount.std(), frame["credit_amount"].min(), frame["credit_amount"].max()),
        positive_share=float((frame["risk"] == 1).mean()),
    )


def synthetic_frame(n_rows: int, *, random_state: int, source: Profile | None = None) -> pd.DataFrame:
    """``n_rows`` raw rows (as ingest would read them) with the bundled schema."""
    prof = source or profile()
    rng = np.random.default_rng(random_state)
    mean, sd, low, high = prof.log_amount
    columns: dict[str, object] = {
        "risk": (rng.random(n_rows) < prof.positive_share).astype(np.int64),
    }
    for column in CATEGORICAL:
        values, shares = prof.categories[column]
        drawn = values[rng.choice(len(values), size=n_rows, p=shares)]
        columns[column] = drawn.astype(np.int64) if column == "job" else pd.array(drawn, dtype="str")
    columns["credit_amount"] = np.clip(np.round(np.exp(rng.normal(mean, sd, n_rows))), low, high).astype(np.int64)
    for column in ("duration", "age"):
        pool = prof.pools[column]
        columns[column] = pool[rng.integers(0, len(pool), n_rows)]
    frame = pd.DataFrame(columns)
    order = [
        "risk",
        "sex",
        "job",
        "housing",
        "saving_accounts",
        "checking_account",
        "credit_amount",
        "duration",
        "purpose",
        "age",
    ]
    return frame[order]
