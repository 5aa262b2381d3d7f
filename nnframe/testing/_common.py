"""Helpers the layer and loss checks share: comparisons with a located failure, replay."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar, cast

import numpy as np

from nnframe.checks import DEFAULT_DTYPE, float_dtype
from nnframe.errors import ArgumentTypeError
from nnframe.layers.base import Layer
from nnframe.losses import Loss
from nnframe.testing.strategies import (
    input_indices,
    input_is_differentiable,
    input_kinks,
    off_kinks,
)

F = TypeVar("F", bound=Callable[..., None])

# Relative tolerance, by dtype, for results that should agree up to rounding (a row
# computed alone or in a batch can take another BLAS path). Applied to the scale
# max(1, |input|, |expected|), so it also covers cancellation in sums.
_TOLERANCE = {2: 1e-2, 4: 1e-4, 8: 1e-10}


def tolerance(dtype: np.dtype) -> float:
    """Return the relative tolerance for "equal up to rounding" in ``dtype``."""
    return _TOLERANCE.get(np.dtype(dtype).itemsize, 1e-4)


def fail(check: str, message: str) -> NoReturn:
    """Raise the AssertionError of a failed check, its name first."""
    raise AssertionError(f"{check} failed {message}")


def format_index(index: tuple[int, ...]) -> str:
    """Format an array index as ``(1, 2)``, ``(3,)`` or ``()``."""
    return str(tuple(int(i) for i in index))


def assert_close(
    check: str,
    what: str,
    actual: Any,
    expected: Any,
    *,
    atol: float = 0.0,
    rtol: float = 0.0,
    explain: str = "",
) -> None:
    """Compare two arrays elementwise; fail naming ``what`` and the worst element.

    ``atol = rtol = 0`` asks for exact equality (NaN equals NaN, so that the checks do
    not fail on a layer's legitimate NaN; inf must match inf of the same sign).
    """
    a = np.asarray(actual)
    e = np.asarray(expected)
    if a.shape != e.shape:
        fail(check, f"for {what}: shape {a.shape}, expected {e.shape}. {explain}".rstrip())
    if a.size == 0:
        return
    a64 = a.astype(np.float64)
    e64 = e.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        both_nan = np.isnan(a64) & np.isnan(e64)
        same = (a64 == e64) | both_nan
        error = np.where(same, 0.0, np.abs(a64 - e64))
        error = np.where(np.isnan(error), np.inf, error)
        allowed = atol + rtol * np.where(np.isfinite(e64), np.abs(e64), 0.0)
        excess = error - allowed
    if not np.any(excess > 0):
        return
    flat = int(np.argmax(excess))
    index = tuple(int(i) for i in np.unravel_index(flat, a.shape))
    got, want = a64[index], e64[index]
    bound = (
        "" if atol == rtol == 0
        else f" (|difference| {error[index]:.3g} > {allowed[index]:.3g})"
    )
    fail(
        check,
        f"for {what} at {format_index(index)}: got {got:.9g}, expected {want:.9g}{bound}. "
        f"{explain}".rstrip(),
    )


def replayer(layer: Layer) -> Callable[[], None]:
    """Save the state of every Generator on ``layer``; return a function that restores it.

    Calling the function before each forward pass makes a stochastic layer draw the same
    random numbers every time (as :func:`nnframe.gradcheck` does).
    """
    states = [(g, copy.deepcopy(g.bit_generator.state)) for _, g in layer.named_generators()]

    def replay() -> None:
        for g, state in states:
            g.bit_generator.state = copy.deepcopy(state)

    return replay


def copy_generator_states(source: Layer, target: Layer) -> None:
    """Give ``target``'s generators the states of ``source``'s, pairwise in order."""
    mine = [g for _, g in source.named_generators()]
    theirs = [g for _, g in target.named_generators()]
    if len(mine) == len(theirs):
        for a, b in zip(mine, theirs, strict=True):
            b.bit_generator.state = copy.deepcopy(a.bit_generator.state)


def named_check(function: F) -> F:
    """Make any exception other than AssertionError raised inside a check name the check.

    Warnings turned into errors (pytest's ``-W error``) and errors raised by the layer or
    loss become ``AssertionError("check_... failed: ShapeError: ...")``, chained to the
    original, so a report always says which check broke.
    """
    name = function.__name__

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            function(*args, **kwargs)
        except AssertionError:
            raise
        except Exception as error:
            raise AssertionError(
                f"{name} failed: {type(error).__name__} raised: {error}"
            ) from error

    return wrapper  # type: ignore[return-value]


def random_like(rng: np.random.Generator, y: np.ndarray) -> np.ndarray:
    """Standard normal values shaped like ``y``, in its float dtype (float64 otherwise)."""
    dtype = y.dtype if y.dtype.kind == "f" else np.dtype(np.float64)
    return rng.standard_normal(np.shape(y)).astype(dtype)


C = TypeVar("C", Layer, Loss)


def factory_for(make: C | Callable[[], C], kind: type[C]) -> Callable[[], C]:
    """Return a function that builds a new, independent ``kind`` object on every call.

    An object of ``kind`` is deep-copied (cache dropped), so the original is never
    touched; a factory is called and its result checked to be a ``kind``.
    """
    name = kind.__name__
    if isinstance(make, kind):
        prototype = make

        def build_copy() -> C:
            fresh = copy.deepcopy(prototype)
            fresh.clear_cache()
            return fresh

        return build_copy
    if not callable(make):
        raise ArgumentTypeError(
            f"expected a {name} or a function of no arguments that returns a new {name}; "
            f"got {type(make).__name__}"
        )
    # Not an instance of kind, so a factory (Layer and Loss are callable themselves).
    factory = cast(Callable[[], C], make)

    def build() -> C:
        built = factory()
        if not isinstance(built, kind):
            raise ArgumentTypeError(
                f"the {name.lower()} factory returned a {type(built).__name__}, not a {name}"
            )
        return built

    return build


#: A layer, or a function of no arguments that builds a new one.
LayerLike = Layer | Callable[[], Layer]


def input_grad_of(layer: Layer, grad_y: np.ndarray, name: str) -> np.ndarray | None:
    """Run ``layer.backward`` asking for the input gradient, and insist on the right answer.

    An array when the input is differentiable; None, as the contract says, for a layer
    whose input is not (:func:`~nnframe.testing.strategies.input_is_differentiable`).
    """
    grad_x = layer.backward(grad_y, input_grad=True)
    if not input_is_differentiable(layer):
        if grad_x is not None:
            fail(
                name,
                f"for the input gradient: backward returned a {type(grad_x).__name__}; a "
                "layer tagged differentiable_input = False (or a container starting with "
                "one) must return None",
            )
        return None
    if not isinstance(grad_x, np.ndarray):
        fail(name, f"for the input gradient: backward returned a {type(grad_x).__name__}")
    return grad_x


def layer_dtype(x: np.ndarray, dtype: object = None) -> np.dtype:
    """Return the float dtype a check converts the layer to.

    ``dtype`` when given; otherwise ``x``'s dtype, or float32 (nnframe's default) for
    integer input (the indices an ``Embedding`` takes).
    """
    if dtype is not None:
        return float_dtype(dtype, "dtype")
    return x.dtype if x.dtype.kind == "f" else DEFAULT_DTYPE

def layer_factory(make_layer: LayerLike) -> Callable[[], Layer]:
    """Return a function that builds a new, independent layer on every call.

    A layer is cloned (its parameters, buffers, generators and mode copied; its cache
    dropped), so the original is never touched. A factory is called and its result
    checked to be a Layer.

    Examples
    --------
    >>> import nnframe as nf
    >>> original = nf.Linear(3, 2, rng=0)
    >>> build = layer_factory(original)
    >>> build() is original, build() is build()
    (False, False)
    """
    return factory_for(make_layer, Layer)


def fresh_layer(build: Callable[[], Layer], dtype: np.dtype) -> Layer:
    """Build a layer, convert it to ``dtype`` and put it in training mode."""
    layer = build()
    # Not chained: check_astype, not every check, should report an astype returning None.
    layer.astype(dtype)
    layer.train()
    return layer


def seeded_rng(seed: int) -> np.random.Generator:
    """Return the Generator a check draws from, seeded with ``seed``."""
    return np.random.default_rng(seed)


def scale_of(*arrays: np.ndarray) -> float:
    """Return max(1, largest finite magnitude): the size rounding errors are relative to."""
    largest = 1.0
    for a in arrays:
        finite = np.abs(a[np.isfinite(a)]) if a.size else a
        if finite.size:
            largest = max(largest, float(np.max(finite)))
    return largest


def other_input(x: np.ndarray, layer: Layer, rng: np.random.Generator) -> np.ndarray:
    """Return an input like ``x`` (shape, dtype, magnitude), different from it, for ``layer``.

    Off the layer's input kinks; for integer indices, other indices in range (each
    different from ``x``'s where more than one index is valid).
    """
    count = input_indices(layer)
    if count is not None:
        shift = rng.integers(1, count, x.shape) if count > 1 else 0
        return ((x.astype(np.int64) + shift) % count).astype(x.dtype)
    kinks = input_kinks(layer)
    size = max(1.0, float(np.max(np.abs(x)))) if x.size else 1.0
    fresh = rng.uniform(-size, size, x.shape) + np.where(x >= 0, -0.5, 0.5)
    return off_kinks(fresh, kinks).astype(x.dtype)


def perturb(layer: Layer, rng: np.random.Generator) -> None:
    """Move every parameter and buffer a little, so a default initial value hides nothing.

    Parameters become ``value * U(0.75, 1.25) + N(0, 0.1)``; buffers
    ``value * U(0.5, 1.5) + 0.1 * |N(0, 1)|``, which keeps positive ones (variances)
    positive. In place, keeping dtypes.
    """
    for _, p in layer.named_parameters():
        p.value[...] = p.value * rng.uniform(0.75, 1.25, p.shape) + rng.normal(0, 0.1, p.shape)
    for _, b in layer.named_buffers():
        shape = b.value.shape
        b.value[...] = b.value * rng.uniform(0.5, 1.5, shape) + 0.1 * np.abs(rng.normal(size=shape))


def layers_with_cache(layer: Layer) -> list[str]:
    """Name the layer and sub-layers that hold a forward cache."""
    return [
        name or "(the layer itself)"
        for name, sub in layer.named_layers()
        if sub._cache is not None
    ]


def describe_sub(path: str) -> str:
    """Say which object a :func:`reachable` path names."""
    return "the layer itself" if path == "layer" else path
