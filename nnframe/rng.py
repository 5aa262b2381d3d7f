"""Turning the ``rng`` arguments users pass (None, an int seed, a Generator) into Generators."""

from __future__ import annotations

import numpy as np

from nnframe.checks import is_integer
from nnframe.errors import ArgumentError, ArgumentTypeError

__all__ = ["RNGLike", "as_generator"]

RNGLike = int | np.random.Generator | None


def as_generator(rng: RNGLike, *, name: str = "rng") -> np.random.Generator:
    """Return a ``numpy.random.Generator`` for ``rng``.

    Parameters
    ----------
    rng : None, int or numpy.random.Generator
        ``None`` draws fresh entropy from the operating system, an int seeds a new
        Generator, and a Generator is returned as it is (shared, not copied).
    name : str, default "rng"
        The argument's name, for error messages.

    Returns
    -------
    numpy.random.Generator

    Examples
    --------
    >>> as_generator(0).integers(10)
    np.int64(8)
    """
    value: object = rng
    if isinstance(value, np.random.Generator):
        return value
    if value is None:
        return np.random.default_rng()
    if not is_integer(value):
        raise ArgumentTypeError(
            f"{name} must be None, an int seed or a numpy.random.Generator; "
            f"got {type(value).__name__}"
        )
    if value < 0:
        raise ArgumentError(f"{name} must be a non-negative seed; got {value}")
    return np.random.default_rng(int(value))
