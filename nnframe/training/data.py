"""Data for training: the checks of example arrays, and mini-batches."""

from __future__ import annotations

from collections.abc import Iterator
from typing import overload

import numpy as np

from nnframe.checks import positive_int, real_array
from nnframe.errors import DataError, ShapeError
from nnframe.rng import RNGLike, as_generator

__all__ = ["batches"]


def as_data(array: object, name: str, where: str) -> np.ndarray:
    """Return ``array`` as a real array of examples, or raise naming ``where`` and ``name``.

    It must have a batch dimension, at least one example, and no NaN or infinite value.
    """
    data = real_array(array, f"{where}: {name}")
    if data.ndim == 0:
        raise ShapeError(f"{where}: {name} must have a batch dimension; got a 0-d array")
    if data.shape[0] == 0:
        raise DataError(f"{where}: {name} is empty (0 examples)")
    if data.dtype.kind == "f" and not np.isfinite(data).all():
        bad = np.argwhere(~np.isfinite(data))
        raise DataError(
            f"{where}: {name} holds {len(bad)} NaN or infinite values (first at index "
            f"{tuple(int(i) for i in bad[0])}); clean the data first"
        )
    return data


def check_pair(x: object, y: object, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(x, y)`` as arrays of the same number of examples, ``x`` at least 2-d.

    Each is checked by :func:`as_data`; raises naming ``where`` otherwise.
    """
    xs, ys = as_data(x, "x", where), as_data(y, "y", where)
    if xs.ndim < 2:
        raise ShapeError(
            f"{where}: x must be batch-first with shape (examples, features); got shape "
            f"{xs.shape}"
        )
    if len(xs) != len(ys):
        raise DataError(f"{where}: x has {len(xs)} examples but y has {len(ys)}")
    return xs, ys


@overload
def batches(
    x: np.ndarray, y: np.ndarray, batch_size: int, *, shuffle: bool = ..., rng: RNGLike = ...
) -> Iterator[tuple[np.ndarray, np.ndarray]]: ...
@overload
def batches(
    x: np.ndarray, y: None, batch_size: int, *, shuffle: bool = ..., rng: RNGLike = ...
) -> Iterator[tuple[np.ndarray, None]]: ...
def batches(
    x: np.ndarray,
    y: np.ndarray | None,
    batch_size: int,
    *,
    shuffle: bool = False,
    rng: RNGLike = None,
) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    """Yield ``(x_batch, y_batch)`` pairs of at most ``batch_size`` examples.

    Parameters
    ----------
    x : ndarray of shape (n, ...)
    y : ndarray of shape (n, ...) or None
        Targets, split alongside ``x``; None yields ``(x_batch, None)``.
    batch_size : int
        The last batch holds the remainder.
    shuffle : bool, default False
        Visit the examples in a random order drawn from ``rng``.
    rng : None, int or numpy.random.Generator

    Examples
    --------
    >>> x, y = np.arange(10).reshape(5, 2), np.arange(5)
    >>> [len(yb) for _, yb in batches(x, y, 2)]
    [2, 2, 1]
    """
    size = positive_int(batch_size, "batches: batch_size")
    n = len(x)
    if y is not None and len(y) != n:
        raise DataError(f"batches: x has {n} examples but y has {len(y)}")
    order = as_generator(rng).permutation(n) if shuffle else None
    for start in range(0, n, size):
        if order is None:
            index: slice | np.ndarray = slice(start, start + size)
        else:
            index = order[start : start + size]
        yield x[index], (None if y is None else y[index])
