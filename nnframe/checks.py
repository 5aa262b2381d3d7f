"""Argument checks shared across nnframe: each returns the validated value or raises.

Every check takes the value and where it is given (``"Linear: in_features"``), which starts
the error message, and raises an ``nnframe.errors`` exception (``ArgumentTypeError`` for a
wrong type, ``ArgumentError`` for a wrong value) before anything has changed.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import TypeVar

import numpy as np

from nnframe.errors import ArgumentError, ArgumentTypeError

__all__ = [
    "Check",
    "boolean",
    "float_dtype",
    "interval",
    "non_negative",
    "non_negative_int",
    "pair",
    "positive",
    "positive_int",
    "real",
    "unit_interval",
]

T = TypeVar("T")

#: A check takes the value and where it is set (``"SGD: lr"``, used as the start of
#: error messages) and returns the validated value as a plain Python object.
Check = Callable[[object, str], T]


def real(value: object, where: str) -> float:
    """Return ``value`` as a finite Python float, or raise naming ``where``.

    Numpy scalars become Python floats on purpose: under NEP 50 a Python float does
    not change the dtype of a float32 array it meets, while an ``np.float64`` does.
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise ArgumentTypeError(
            f"{where} must be a real number; got {value!r} of type {type(value).__name__}"
        )
    result = float(value)
    if not math.isfinite(result):
        raise ArgumentError(f"{where} must be finite; got {result}")
    return result


def interval(
    low: float, high: float | None = None, *, low_open: bool = False, high_open: bool = True
) -> Check[float]:
    """Return a check for a real number in an interval (``[low, high)`` by default).

    Parameters
    ----------
    low : float
        The lower bound.
    high : float, optional
        The upper bound; without it the interval is unbounded above.
    low_open, high_open : bool
        Whether the bound itself is excluded.
    """
    if high is None:
        text = f"{'>' if low_open else '>='} {low:g}"
    else:
        text = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"

    def check(value: object, where: str) -> float:
        x = real(value, where)
        above = x > low if low_open else x >= low
        below = high is None or (x < high if high_open else x <= high)
        if not (above and below):
            raise ArgumentError(f"{where} must be {text}; got {x:g}")
        return x

    return check


non_negative = interval(0.0)
positive = interval(0.0, low_open=True)
unit_interval = interval(0.0, 1.0)


def positive_int(value: object, where: str) -> int:
    """Return ``value`` as a positive Python int, or raise naming ``where``."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        raise ArgumentTypeError(
            f"{where} must be an int; got {value!r} of type {type(value).__name__}"
        )
    if value <= 0:
        raise ArgumentError(f"{where} must be positive; got {value}")
    return int(value)


def boolean(value: object, where: str) -> bool:
    """Return ``value`` as a Python bool, or raise naming ``where``."""
    if not isinstance(value, bool | np.bool_):
        raise ArgumentTypeError(
            f"{where} must be a bool; got {value!r} of type {type(value).__name__}"
        )
    return bool(value)


def pair(check: Check[float]) -> Check[tuple[float, float]]:
    """Return a check for a pair of numbers (Adam's ``betas``), each passing ``check``."""

    def check_pair(value: object, where: str) -> tuple[float, float]:
        if not isinstance(value, tuple | list) or len(value) != 2:
            raise ArgumentTypeError(f"{where} must be a pair of numbers; got {value!r}")
        return check(value[0], f"{where}[0]"), check(value[1], f"{where}[1]")

    return check_pair


def non_negative_int(value: object, where: str) -> int:
    """Return ``value`` as a Python int >= 0, or raise naming ``where``."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        raise ArgumentTypeError(
            f"{where} must be an int; got {value!r} of type {type(value).__name__}"
        )
    if value < 0:
        raise ArgumentError(f"{where} must be >= 0; got {value}")
    return int(value)


def float_dtype(value: object, where: str) -> np.dtype:
    """Return ``value`` as a numpy float dtype, or raise naming ``where``."""
    try:
        result = np.dtype(value)  # type: ignore[call-overload]
    except TypeError as error:
        raise ArgumentTypeError(f"{where} must be a dtype; got {value!r}") from error
    if result.kind != "f":
        raise ArgumentError(f"{where} must be a float dtype; got {result}")
    return result
