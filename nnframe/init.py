"""Weight initialisers: functions ``init(shape, rng, dtype=np.float32) -> ndarray``.

Every initialiser draws in float64 from the Generator it is given and then casts, so a
float32 and a float64 model built from the same seed hold the same weights up to rounding.
Shapes follow ``Linear.weight``: ``(out_features, in_features)``, so ``fan_in = shape[-1]``.
Pick one by function (``Linear(4, 3, init=nf.init.xavier_uniform)``), by name
(``init="xavier_uniform"``), or with other settings through ``functools.partial``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from nnframe.errors import ArgumentError
from nnframe.rng import RNGLike, as_generator

__all__ = [
    "Initializer",
    "get",
    "he_normal",
    "he_uniform",
    "normal",
    "xavier_normal",
    "xavier_uniform",
    "zeros",
]

Initializer = Callable[..., np.ndarray]


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    fan_in = shape[-1] if shape else 1
    fan_out = shape[0] if len(shape) > 1 else 1
    return fan_in, fan_out


def normal(
    shape: tuple[int, ...],
    rng: RNGLike = None,
    dtype: np.typing.DTypeLike = np.float32,
    *,
    std: float = 0.01,
) -> np.ndarray:
    """Gaussian with standard deviation ``std`` (the course's ``randn(...) * 0.01``).

    Examples
    --------
    >>> normal((2, 3), rng=0).std() < 0.05
    np.True_
    """
    return (as_generator(rng).standard_normal(shape) * std).astype(dtype)


def he_normal(
    shape: tuple[int, ...], rng: RNGLike = None, dtype: np.typing.DTypeLike = np.float32
) -> np.ndarray:
    """Gaussian with ``std = sqrt(2 / fan_in)`` (He et al., 2015): the default for ReLU nets."""
    fan_in, _ = _fans(shape)
    return normal(shape, rng, dtype, std=float(np.sqrt(2.0 / fan_in)))


def he_uniform(
    shape: tuple[int, ...], rng: RNGLike = None, dtype: np.typing.DTypeLike = np.float32
) -> np.ndarray:
    """Uniform on ``[-b, b]`` with ``b = sqrt(6 / fan_in)`` (He et al., 2015)."""
    fan_in, _ = _fans(shape)
    bound = np.sqrt(6.0 / fan_in)
    return as_generator(rng).uniform(-bound, bound, shape).astype(dtype)


def xavier_normal(
    shape: tuple[int, ...], rng: RNGLike = None, dtype: np.typing.DTypeLike = np.float32
) -> np.ndarray:
    """Gaussian with ``std = sqrt(2 / (fan_in + fan_out))`` (Glorot & Bengio, 2010)."""
    fan_in, fan_out = _fans(shape)
    return normal(shape, rng, dtype, std=float(np.sqrt(2.0 / (fan_in + fan_out))))


def xavier_uniform(
    shape: tuple[int, ...], rng: RNGLike = None, dtype: np.typing.DTypeLike = np.float32
) -> np.ndarray:
    """Uniform on ``[-b, b]`` with ``b = sqrt(6 / (fan_in + fan_out))`` (Glorot & Bengio)."""
    fan_in, fan_out = _fans(shape)
    bound = np.sqrt(6.0 / (fan_in + fan_out))
    return as_generator(rng).uniform(-bound, bound, shape).astype(dtype)


def zeros(
    shape: tuple[int, ...], rng: RNGLike = None, dtype: np.typing.DTypeLike = np.float32
) -> np.ndarray:
    """All zeros (``rng`` is accepted for a uniform signature and not used)."""
    return np.zeros(shape, dtype=dtype)


_BY_NAME: dict[str, Initializer] = {
    "normal": normal,
    "he_normal": he_normal,
    "he_uniform": he_uniform,
    "xavier_normal": xavier_normal,
    "xavier_uniform": xavier_uniform,
    "zeros": zeros,
}


def get(init: str | Initializer) -> Initializer:
    """Return the initialiser named ``init``, or ``init`` itself when it is callable.

    Raises
    ------
    ArgumentError
        For an unknown name or a value that is neither a name nor a callable.
    """
    if callable(init):
        return init
    if isinstance(init, str) and init in _BY_NAME:
        return _BY_NAME[init]
    raise ArgumentError(f"init must be one of {sorted(_BY_NAME)} or a callable; got {init!r}")
