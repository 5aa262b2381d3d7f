"""Weight initialisers: functions ``init(shape, rng, dtype=np.float32) -> ndarray``.

Every initialiser draws in float64 from the Generator it is given and then casts, so a
float32 and a float64 model built from the same seed hold the same weights up to rounding.
Shapes follow PyTorch's weights: ``(out_features, in_features)`` for ``Linear`` and
``(out_channels, in_channels, *kernel_size)`` for a convolution; :func:`fans` says which
fan-in and fan-out the scaled initialisers read from a shape.
Pick one by function (``Linear(4, 3, init=nf.init.xavier_uniform)``), by name
(``init="xavier_uniform"``), or with other settings through ``functools.partial``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from nnframe.checks import array_size, is_integer, real_array
from nnframe.errors import ArgumentError, ArgumentTypeError
from nnframe.rng import RNGLike, as_generator

__all__ = [
    "Initializer",
    "draw",
    "fans",
    "get",
    "he_normal",
    "he_uniform",
    "normal",
    "xavier_normal",
    "xavier_uniform",
    "zeros",
]

Initializer = Callable[..., np.ndarray]


def fans(shape: tuple[int, ...] | int) -> tuple[int, int]:
    """Return ``(fan_in, fan_out)`` of a weight of shape ``shape``, as PyTorch computes them.

    For a weight of shape ``(out, in, *kernel)`` every output sums over ``in * prod(kernel)``
    inputs and every input reaches ``out * prod(kernel)`` outputs, so
    ``fan_in = in * prod(kernel)`` and ``fan_out = out * prod(kernel)``. A ``Linear``
    weight ``(out_features, in_features)`` has no kernel: ``fan_in = in_features``,
    ``fan_out = out_features``.

    Parameters
    ----------
    shape : tuple of int, or int
        The weight's shape: ``(out, in, *kernel)`` with any number of kernel axes. An
        int ``n`` is the 1-d shape ``(n,)``, as in numpy.

    Returns
    -------
    fan_in : int
    fan_out : int

    Raises
    ------
    ArgumentTypeError
        When ``shape`` is not a sequence of integers.
    ArgumentError
        When an entry of ``shape`` is negative.

    Notes
    -----
    PyTorch refuses shapes of fewer than two axes. nnframe follows Keras instead, so that
    any parameter can be initialised: a 1-d shape ``(n,)`` (a bias, a gain) has
    ``fan_in = fan_out = n``, and a 0-d shape ``()`` has ``fan_in = fan_out = 1``. The
    built-in layers start their biases at zero and never ask.

    Examples
    --------
    >>> fans((300, 400))  # Linear(400, 300)
    (400, 300)
    >>> fans((16, 3, 5, 5))  # Conv2d(3, 16, kernel_size=5)
    (75, 400)
    >>> fans((7,))
    (7, 7)
    """
    given: object = (shape,) if is_integer(shape) else shape
    if not (isinstance(given, tuple | list) and all(is_integer(n) for n in given)):
        raise ArgumentTypeError(f"fans: shape must be a tuple of integers; got {shape!r}")
    dims = tuple(int(n) for n in given)
    if any(n < 0 for n in dims):
        raise ArgumentError(f"fans: shape must hold no negative size; got {dims}")
    if len(dims) < 2:
        size = dims[0] if dims else 1
        return size, size
    receptive_field = math.prod(dims[2:])
    return dims[1] * receptive_field, dims[0] * receptive_field


def _std(numerator: float, fan: int) -> float:
    # fan is 0 only for a shape with no element, whose scale does not matter.
    return math.sqrt(numerator / max(fan, 1))


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
    """Gaussian with ``std = sqrt(2 / fan_in)`` (He et al., 2015): the default for ReLU nets.

    ``fan_in`` comes from :func:`fans`: ``in * prod(kernel)`` for a shape ``(out, in, *kernel)``.
    """
    fan_in, _ = fans(shape)
    return normal(shape, rng, dtype, std=_std(2.0, fan_in))


def he_uniform(
    shape: tuple[int, ...], rng: RNGLike = None, dtype: np.typing.DTypeLike = np.float32
) -> np.ndarray:
    """Uniform on ``[-b, b]`` with ``b = sqrt(6 / fan_in)`` (He et al., 2015)."""
    fan_in, _ = fans(shape)
    bound = _std(6.0, fan_in)
    return as_generator(rng).uniform(-bound, bound, shape).astype(dtype)


def xavier_normal(
    shape: tuple[int, ...], rng: RNGLike = None, dtype: np.typing.DTypeLike = np.float32
) -> np.ndarray:
    """Gaussian with ``std = sqrt(2 / (fan_in + fan_out))`` (Glorot & Bengio, 2010)."""
    fan_in, fan_out = fans(shape)
    return normal(shape, rng, dtype, std=_std(2.0, fan_in + fan_out))


def xavier_uniform(
    shape: tuple[int, ...], rng: RNGLike = None, dtype: np.typing.DTypeLike = np.float32
) -> np.ndarray:
    """Uniform on ``[-b, b]`` with ``b = sqrt(6 / (fan_in + fan_out))`` (Glorot & Bengio)."""
    fan_in, fan_out = fans(shape)
    bound = _std(6.0, fan_in + fan_out)
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


def draw(
    init: str | Initializer,
    shape: tuple[int, ...],
    rng: np.random.Generator,
    dtype: np.dtype,
    where: str,
) -> np.ndarray:
    """Draw a finite weight array of ``shape`` and ``dtype`` with ``init``, or raise.

    ``init`` is a name or a function ``init(shape, rng, dtype)``; what it returns is
    checked (a real array of the shape, finite) before a layer keeps it. Errors start
    with ``where`` (``"Linear"``).

    Raises
    ------
    ArgumentError, ArgumentTypeError
        For an unknown name, a function that fails or returns the wrong thing, or a shape
        too large for this machine's memory.

    Examples
    --------
    >>> draw("zeros", (2, 3), np.random.default_rng(0), np.dtype(np.float32), "Linear")
    array([[0., 0., 0.],
           [0., 0., 0.]], dtype=float32)
    """
    try:
        make = get(init)
    except ArgumentError as error:
        raise ArgumentError(f"{where}: {error}") from None
    # The built-in initialisers draw in float64 before casting.
    array_size(shape, np.promote_types(dtype, np.float64), where)
    try:
        drawn = make(shape, rng, dtype)
    except (TypeError, ValueError) as error:  # not an init(shape, rng, dtype) function
        kind = ArgumentTypeError if isinstance(error, TypeError) else ArgumentError
        raise kind(
            f"{where}: init must be a function init(shape, rng, dtype) returning an array; "
            f"calling {init!r} failed: {error}"
        ) from error
    weight = real_array(drawn, f"{where}: init's result")
    if weight.shape != shape:
        raise ArgumentError(f"{where}: init returned shape {weight.shape}; expected {shape}")
    if not np.isfinite(weight).all():
        raise ArgumentError(f"{where}: init returned NaN or infinite weights; expected finite")
    return weight.astype(dtype, copy=False)
