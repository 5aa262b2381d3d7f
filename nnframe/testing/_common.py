"""Helpers the layer and loss checks share: comparisons with a located failure, replay."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar, cast

import numpy as np

from nnframe.errors import ArgumentTypeError
from nnframe.layers.base import Layer
from nnframe.losses import Loss

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
