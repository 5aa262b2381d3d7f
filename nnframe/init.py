"""Weight initialisers: functions ``init(shape, rng, dtype=np.float32) -> ndarray``.

Every initialiser draws in float64 from the Generator it is given and then casts, so a
float32 and a float64 model built from the same seed hold the same weights up to rounding.
Shapes follow PyTorch's weights: ``(out_features, in_features)`` for ``Linear`` and
``(out_channels, in_channels, *kernel_size)`` for a convolution; :func:`fans` says which
fan-in and fan-out the scaled initialisers read from a shape.
Pick one by function (``Linear(4, 3, init=nf.init.xavier_uniform)``), by name
(``init="xavier_uniform"``), or with other settings through ``functools.partial``.

Every public initialiser checks its arguments before drawing: ``shape`` an int or a tuple
(or list) of non-negative ints whose array fits in memory, ``rng`` None, an int seed or a
Generator, ``dtype`` a float dtype; it raises ``ArgumentTypeError`` or ``ArgumentError``
otherwise, and also when the weights it would return are not finite (``normal(shape,
std=1e308)``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from nnframe.checks import (
    array_size,
    budget_active,
    float_dtype,
    is_integer,
    non_negative,
    real_array,
)
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


def _arguments(
    shape: object, rng: object, dtype: object, where: str
) -> tuple[tuple[int, ...], np.random.Generator, np.dtype]:
    """Check an initialiser's arguments; return the shape, the Generator and the dtype."""
    given: object = (shape,) if is_integer(shape) else shape
    if not (isinstance(given, tuple | list) and all(is_integer(n) for n in given)):
        raise ArgumentTypeError(
            f"{where}: shape must be an int or a tuple of ints; got {shape!r} of type "
            f"{type(shape).__name__}"
        )
    dims = tuple(int(n) for n in given)
    if any(n < 0 for n in dims):
        raise ArgumentError(f"{where}: shape must hold no negative size; got {dims}")
    target = float_dtype(dtype, f"{where}: dtype")
    generator = as_generator(rng, name=f"{where}: rng")  # type: ignore[arg-type]
    array_size(dims, np.dtype(np.float64), where, copies=2)  # drawn in float64, cast
    return dims, generator, target


def _finite(weights: np.ndarray, where: str, setting: str) -> np.ndarray:
    if not np.isfinite(weights).all():
        raise ArgumentError(
            f"{where}: {setting} gives weights that are not finite in {weights.dtype}; "
            "expected finite weights"
        )
    return weights


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

    Raises
    ------
    ArgumentTypeError, ArgumentError
        For a bad ``shape``, ``rng`` or ``dtype`` (see the module), a ``std`` that is not
        a finite number >= 0, or one so large that the weights overflow ``dtype``.

    Examples
    --------
    >>> normal((2, 3), rng=0).std() < 0.05
    np.True_
    """
    dims, generator, target = _arguments(shape, rng, dtype, "normal")
    scale = non_negative(std, "normal: std")
    with np.errstate(over="ignore"):
        weights = (generator.standard_normal(dims) * scale).astype(target)
    return _finite(weights, "normal", f"std={scale:g}")


def he_normal(
    shape: tuple[int, ...], rng: RNGLike = None, dtype: np.typing.DTypeLike = np.float32
) -> np.ndarray:
    """Gaussian with ``std = sqrt(2 / fan_in)`` (He et al., 2015): the default for ReLU nets.

    ``fan_in`` comes from :func:`fans`: ``in * prod(kernel)`` for a shape ``(out, in, *kernel)``.
    """
    dims, generator, target = _arguments(shape, rng, dtype, "he_normal")
    fan_in, _ = fans(dims)
    return normal(dims, generator, target, std=_std(2.0, fan_in))


def he_uniform(
    shape: tuple[int, ...], rng: RNGLike = None, dtype: np.typing.DTypeLike = np.float32
) -> np.ndarray:
    """Uniform on ``[-b, b]`` with ``b = sqrt(6 / fan_in)`` (He et al., 2015)."""
    dims, generator, target = _arguments(shape, rng, dtype, "he_uniform")
    fan_in, _ = fans(dims)
    bound = _std(6.0, fan_in)
    return generator.uniform(-bound, bound, dims).astype(target)


def xavier_normal(
    shape: tuple[int, ...], rng: RNGLike = None, dtype: np.typing.DTypeLike = np.float32
) -> np.ndarray:
    """Gaussian with ``std = sqrt(2 / (fan_in + fan_out))`` (Glorot & Bengio, 2010)."""
    dims, generator, target = _arguments(shape, rng, dtype, "xavier_normal")
    fan_in, fan_out = fans(dims)
    return normal(dims, generator, target, std=_std(2.0, fan_in + fan_out))


def xavier_uniform(
    shape: tuple[int, ...], rng: RNGLike = None, dtype: np.typing.DTypeLike = np.float32
) -> np.ndarray:
    """Uniform on ``[-b, b]`` with ``b = sqrt(6 / (fan_in + fan_out))`` (Glorot & Bengio)."""
    dims, generator, target = _arguments(shape, rng, dtype, "xavier_uniform")
    fan_in, fan_out = fans(dims)
    bound = _std(6.0, fan_in + fan_out)
    return generator.uniform(-bound, bound, dims).astype(target)


def zeros(
    shape: tuple[int, ...], rng: RNGLike = None, dtype: np.typing.DTypeLike = np.float32
) -> np.ndarray:
    """All zeros (``rng`` is checked, for a uniform signature, and not used)."""
    dims, _, target = _arguments(shape, rng, dtype, "zeros")
    return np.zeros(dims, dtype=target)


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
    with ``where`` (``"Linear"``). Inside :func:`nnframe.checks.allocation_budget` (a
    model being built by :func:`nnframe.load`, whose weights come from the file) nothing
    is drawn: the result is zeros, counted against the budget.

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
    if budget_active():
        # A model built to be loaded (nnframe.load): its weights come from the file, so
        # nothing is drawn, and the array counts against what the file justifies.
        array_size(shape, dtype, where)
        return np.zeros(shape, dtype=dtype)
    # The built-in initialisers draw in float64 and cast; the layer keeps a value and a
    # gradient: four arrays of at most float64 at once.
    array_size(shape, np.promote_types(dtype, np.float64), where, copies=4)
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
