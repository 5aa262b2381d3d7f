"""Splitting rows into training and test positions, shuffled or stratified by class."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from nnframe.errors import DataError

__all__ = ["n_test_rows", "shuffled_split", "stratified_split"]

IntArray = npt.NDArray[np.int64]


def n_test_rows(n: int, test_size: float) -> int:
    """Return the number of test rows for ``n`` rows: ``ceil(test_size * n)``.

    As scikit-learn's ``train_test_split``; a slack of 1e-9 keeps ``0.2 * 150`` at 30 despite
    rounding.

    Parameters
    ----------
    n : int
        The number of rows.
    test_size : float
        The fraction held out, in (0, 1).

    Returns
    -------
    int

    Examples
    --------
    >>> n_test_rows(150, 0.2), n_test_rows(569, 0.2)
    (30, 114)
    """
    return math.ceil(test_size * n - 1e-9)


def shuffled_split(
    where: str, n: int, test_size: float, rng: np.random.Generator
) -> tuple[IntArray, IntArray]:
    """Split ``n`` rows at random into training and test positions (for regression).

    Parameters
    ----------
    where : str
        The data set's name or file, for the error message.
    n : int
        The number of rows.
    test_size : float
        The fraction held out, in (0, 1); at least one row goes to each split.
    rng : numpy.random.Generator

    Returns
    -------
    train, test : ndarray of int64
        Disjoint positions in ``range(n)``, covering it, in random order.

    Raises
    ------
    DataError
        If there are fewer than 2 rows.

    Examples
    --------
    >>> import numpy as np
    >>> train, test = shuffled_split("example", 10, 0.2, np.random.default_rng(0))
    >>> len(train), len(test), sorted([*train, *test]) == list(range(10))
    (8, 2, True)
    """
    if n < 2:
        raise DataError(f"{where}: needs at least 2 rows to split into train and test; got {n}")
    n_test = min(max(n_test_rows(n, test_size), 1), n - 1)
    order = rng.permutation(n).astype(np.int64)
    return order[n_test:], order[:n_test]


def stratified_split(
    where: str,
    codes: npt.NDArray[Any],
    class_names: tuple[str, ...],
    test_size: float,
    rng: np.random.Generator,
) -> tuple[IntArray, IntArray]:
    """Split rows into training and test positions, every class with its share of each.

    The test rows are shared out by the largest-remainder method: class ``c`` with ``n_c``
    of the ``n`` rows has the quota ``n_test * n_c / n`` and gets its floor or its ceiling.
    Both splits then hold each class within one row of its overall proportion. Every class
    keeps at least one row in each split, even when ``test_size`` asks for fewer.

    Parameters
    ----------
    where : str
        The data set's name or file, for the error message.
    codes : ndarray of shape (n,), int
        The class index of every row.
    class_names : tuple of str
        The classes, for the error message; ``len(class_names)`` is the number of classes.
    test_size : float
        The fraction held out, in (0, 1).
    rng : numpy.random.Generator

    Returns
    -------
    train, test : ndarray of int64
        Disjoint positions in ``range(n)``, covering it, each shuffled across classes.

    Raises
    ------
    DataError
        If a class has fewer than 2 rows (it cannot be in both splits).

    Examples
    --------
    >>> import numpy as np
    >>> codes = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
    >>> train, test = stratified_split("example", codes, ("a", "b"), 0.2, np.random.default_rng(0))
    >>> np.bincount(codes[train]), np.bincount(codes[test])
    (array([3, 5]), array([1, 1]))
    """
    k = len(class_names)
    counts = np.bincount(codes, minlength=k)
    if np.any(counts < 2):
        few = ", ".join(f"{class_names[c]!r} ({counts[c]} row)" for c in np.flatnonzero(counts < 2))
        raise DataError(
            f"{where}: cannot stratify the split: class {few} needs at least 2 rows, one for "
            f"each split"
        )
    n = int(counts.sum())
    n_test = n_test_rows(n, test_size)
    quotas = n_test * counts / n
    per_class = np.floor(quotas).astype(np.int64)
    leftover = n_test - int(per_class.sum())
    per_class[np.argsort(-(quotas - per_class), kind="stable")[:leftover]] += 1
    per_class = np.clip(per_class, 1, counts - 1)

    train_parts, test_parts = [], []
    for c in range(k):
        rows = rng.permutation(np.flatnonzero(codes == c))
        test_parts.append(rows[: per_class[c]])
        train_parts.append(rows[per_class[c] :])
    # Shuffle across classes too: the bundled sets are sorted by class, and a model fed
    # x_train in order without shuffling would see one class at a time.
    train = rng.permutation(np.concatenate(train_parts)).astype(np.int64)
    test = rng.permutation(np.concatenate(test_parts)).astype(np.int64)
    return train, test
