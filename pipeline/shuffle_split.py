"""The seeded (optionally stratified) train/test split, row for row the one ``sklearn.model_selection.train_test_split``
gives, without importing scikit-learn.

Why hand-written: importing ``sklearn.model_selection`` loads ``scipy.stats`` and most of scikit-learn (0.8-0.9 s
on this project's 2-core machine, ``benchmarks/bench_imports.py``), and the split is the only thing the data
gates (``mlgate gate --layer schema``) and ``mlgate status`` need from it. This module follows scikit-learn
1.9's ``ShuffleSplit`` / ``StratifiedShuffleSplit`` with ``_approximate_mode`` exactly, draw for draw from the
same ``numpy.random.RandomState``: ``tests/unit/test_shuffle_split.py`` compares the indices with
``train_test_split`` itself over many sizes, class balances, label types and seeds, so a scikit-learn release
that changes its algorithm fails that test instead of silently moving rows between partitions.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["SplitError", "shuffle_split"]


class SplitError(ValueError):
    """The requested sizes or classes cannot be split (the message says why, like scikit-learn's)."""


def _sizes(n_samples: int, test_size: float) -> tuple[int, int]:
    """(n_train, n_test) for a float ``test_size`` in (0, 1): the test share rounded up, the rest train."""
    n_test = math.ceil(test_size * n_samples)
    n_train = n_samples - n_test
    if n_train <= 0:
        raise SplitError(
            f"With n_samples={n_samples}, test_size={test_size} and train_size=None, the resulting train set will "
            "be empty. Adjust any of the aforementioned parameters."
        )
    return n_train, n_test


def _approximate_mode(class_counts: np.ndarray, n_draws: int, rng: np.random.RandomState) -> np.ndarray:
    """The approximate mode of the multivariate hypergeometric (scikit-learn's ``_approximate_mode``)."""
    continuous = class_counts / class_counts.sum() * n_draws
    floored = np.floor(continuous)
    need_to_add = int(n_draws - floored.sum())
    if need_to_add > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (inds,) = np.where(remainder == value)
            add_now = min(len(inds), need_to_add)
            inds = rng.choice(inds, size=add_now, replace=False)
            floored[inds] += 1
            need_to_add -= add_now
            if need_to_add == 0:
                break
    counts: np.ndarray = floored.astype(int)
    return counts


def _stratified(y: np.ndarray, n_train: int, n_test: int, rng: np.random.RandomState) -> tuple[np.ndarray, ...]:
    classes, y_indices, class_counts = np.unique(y, return_inverse=True, return_counts=True)
    if np.min(class_counts) < 2:
        too_few = classes[class_counts < 2].tolist()
        raise SplitError(
            "The least populated classes in y have only 1 member, which is too few. The minimum number of groups "
            f"for any class cannot be less than 2. Classes with too few members are: {too_few}"
        )
    for name, size in (("train_size", n_train), ("test_size", n_test)):
        if size < len(classes):
            raise SplitError(
                f"The {name} = {size} should be greater or equal to the number of classes = {len(classes)}"
            )
    class_indices = np.split(np.argsort(y_indices, kind="stable"), np.cumsum(class_counts)[:-1])
    n_i = _approximate_mode(class_counts, n_train, rng)
    t_i = _approximate_mode(class_counts - n_i, n_test, rng)
    train: list[int] = []
    test: list[int] = []
    for i in range(len(classes)):
        permuted = class_indices[i].take(rng.permutation(class_counts[i]), mode="clip")
        train.extend(permuted[: n_i[i]])
        test.extend(permuted[n_i[i] : n_i[i] + t_i[i]])
    return rng.permutation(train), rng.permutation(test)


def shuffle_split(
    y: np.ndarray, *, test_size: float, random_state: int, stratify: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Row positions (train, test) for ``len(y)`` rows, as ``train_test_split(..., test_size=test_size,
    stratify=y if stratify else None, random_state=random_state)`` orders them. Raises SplitError."""
    y = np.asarray(y)
    n_train, n_test = _sizes(len(y), test_size)
    rng = np.random.RandomState(random_state)
    if stratify:
        train, test = _stratified(y, n_train, n_test, rng)
        return train, test
    permutation = rng.permutation(len(y))
    return permutation[n_test : n_test + n_train], permutation[:n_test]
