"""pipeline.shuffle_split gives exactly sklearn's train_test_split rows, and stays light (no scikit-learn import)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_breast_cancer, load_iris, load_wine
from sklearn.model_selection import train_test_split

from mlgate.pipeline.shuffle_split import SplitError, shuffle_split

pytestmark = pytest.mark.unit


def _sklearn(y: np.ndarray, test_size: float, seed: int, stratify: bool) -> tuple[np.ndarray, np.ndarray]:
    positions = np.arange(len(y))
    train, test = train_test_split(positions, test_size=test_size, random_state=seed, stratify=y if stratify else None)
    return train, test


def _same(y, test_size: float, seed: int, stratify: bool) -> None:
    ours = shuffle_split(np.asarray(y), test_size=test_size, random_state=seed, stratify=stratify)
    theirs = _sklearn(np.asarray(y), test_size, seed, stratify)
    assert np.array_equal(ours[0], theirs[0]) and np.array_equal(ours[1], theirs[1])


@settings(max_examples=300, deadline=None)
@given(
    counts=st.lists(st.integers(min_value=3, max_value=60), min_size=2, max_size=5),
    test_size=st.sampled_from([0.1, 0.2, 0.25, 0.3, 0.33, 0.5, 0.7]),
    seed=st.integers(min_value=0, max_value=2**31 - 1),
    stratify=st.booleans(),
    shuffle_labels=st.booleans(),
)
def test_the_same_rows_as_sklearn(counts, test_size, seed, stratify, shuffle_labels) -> None:
    y = np.repeat(np.arange(len(counts)), counts)
    if shuffle_labels:
        y = np.random.default_rng(seed).permutation(y)
    n_test = int(np.ceil(test_size * len(y)))
    if stratify and (n_test < len(counts) or len(y) - n_test < len(counts)):
        with pytest.raises(SplitError):
            shuffle_split(y, test_size=test_size, random_state=seed, stratify=stratify)
        with pytest.raises(ValueError):
            _sklearn(y, test_size, seed, stratify)
        return
    _same(y, test_size, seed, stratify)


@pytest.mark.parametrize("seed", [0, 1, 7, 42, 12345])
@pytest.mark.parametrize("test_size", [0.25, 0.3])
def test_real_label_columns_as_the_pipeline_holds_them(repo_root, seed: int, test_size: float) -> None:
    """Integer, text (pandas string dtype) and object labels, on data we did not write, as the split passes them."""
    risk = pd.read_csv(repo_root / "data" / "german_credit.csv")["risk"]
    labels = [
        risk,
        risk.map({1: "good", 0: "bad"}).astype("string"),
        pd.Series(load_breast_cancer().target),
        pd.Series(load_wine().target_names[load_wine().target]).astype(object),
        pd.Series(load_iris().target),
    ]
    for y in labels:
        for stratify in (True, False):
            _same(y.to_numpy(), test_size, seed, stratify)


def test_the_refusals_say_why() -> None:
    with pytest.raises(SplitError, match="least populated classes in y have only 1 member"):
        shuffle_split(np.array([0, 0, 0, 1]), test_size=0.5, random_state=0, stratify=True)
    with pytest.raises(SplitError, match="resulting train set will be empty"):
        shuffle_split(np.arange(3), test_size=0.9, random_state=0, stratify=False)
    with pytest.raises(SplitError, match=r"test_size = 1 should be greater or equal to the number of classes = 2"):
        shuffle_split(np.array([0, 0, 1, 1, 0, 1, 0, 1, 0, 1]), test_size=0.1, random_state=0, stratify=True)


def test_a_different_seed_or_an_off_by_one_draw_is_caught() -> None:
    """The comparison above can fail: another seed gives other rows."""
    y = np.repeat([0, 1], [70, 30])
    ours = shuffle_split(y, test_size=0.3, random_state=1, stratify=True)
    theirs = _sklearn(y, 0.3, 2, True)
    assert not np.array_equal(ours[1], theirs[1])
