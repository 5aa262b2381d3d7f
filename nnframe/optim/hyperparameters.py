"""Validated hyperparameters: the descriptor optimizers and schedules declare them with."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar, overload

import numpy as np

from nnframe.errors import ArgumentError, ArgumentTypeError

__all__ = [
    "Check",
    "HasHyperparameters",
    "Hyperparameter",
    "boolean",
    "interval",
    "non_negative",
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


class Hyperparameter(Generic[T]):
    """A hyperparameter of an optimizer or schedule class, validated whenever it is set.

    Declared as a class attribute; the instance keeps the validated value. Setting it
    (``optimizer.lr = 0.01``) runs the check and the owner's
    :meth:`HasHyperparameters.check_hyperparameters`, so a bad value raises before
    anything changes.

    Parameters
    ----------
    check : callable
        ``check(value, where) -> validated value``, raising ``ArgumentError`` or
        ``ArgumentTypeError`` with a message that starts with ``where``.
    """

    def __init__(self, check: Check[T]) -> None:
        self.check = check
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, objtype: type | None = None) -> Hyperparameter[T]: ...

    @overload
    def __get__(self, obj: HasHyperparameters, objtype: type | None = None) -> T: ...

    def __get__(
        self, obj: HasHyperparameters | None, objtype: type | None = None
    ) -> Hyperparameter[T] | T:
        if obj is None:
            return self
        try:
            return obj.__dict__[self.name]
        except KeyError:
            raise AttributeError(
                f"{type(obj).__name__}: hyperparameter {self.name!r} has not been set"
            ) from None

    def __set__(self, obj: HasHyperparameters, value: object) -> None:
        obj.set_hyperparameters(**{self.name: value})


class HasHyperparameters:
    """Mixin for classes that declare :class:`Hyperparameter` attributes."""

    @classmethod
    def hyperparameter_names(cls) -> tuple[str, ...]:
        """Return the names of the declared hyperparameters, base classes' first."""
        names: dict[str, None] = {}
        for klass in reversed(cls.__mro__):
            for name, value in vars(klass).items():
                if isinstance(value, Hyperparameter):
                    names[name] = None
        return tuple(names)

    def hyperparameters(self) -> dict[str, Any]:
        """Return the current hyperparameters by name."""
        return {name: getattr(self, name) for name in self.hyperparameter_names()}

    def check_hyperparameters(self, values: Mapping[str, Any]) -> None:
        """Check a complete set of individually valid hyperparameters as a whole.

        Does nothing by default. Override it to check constraints between several
        hyperparameters (SGD's ``nesterov`` needs ``momentum > 0``), raising
        ``ArgumentError``.
        """

    def validate_hyperparameters(self, **values: object) -> dict[str, Any]:
        """Return ``values`` validated, without setting anything.

        Each value passes its own check; when, together with the current values, every
        hyperparameter is known, :meth:`check_hyperparameters` checks the combination.
        """
        cls = type(self)
        known = cls.hyperparameter_names()
        for name in values:
            if name not in known:
                raise ArgumentError(
                    f"{cls.__name__}: there is no hyperparameter {name!r}; "
                    f"the hyperparameters are {', '.join(known)}"
                )
        checked = {
            name: getattr(cls, name).check(value, f"{cls.__name__}: {name}")
            for name, value in values.items()
        }
        merged = {name: self.__dict__[name] for name in known if name in self.__dict__}
        merged.update(checked)
        if len(merged) == len(known):
            self.check_hyperparameters(merged)
        return checked

    def set_hyperparameters(self, **values: object) -> None:
        """Validate and set hyperparameters; on an error nothing changes."""
        self.__dict__.update(self.validate_hyperparameters(**values))

    def init_hyperparameters(self, **values: object) -> None:
        """Set every hyperparameter at construction; all must be given."""
        missing = [name for name in self.hyperparameter_names() if name not in values]
        if missing:
            raise ArgumentTypeError(
                f"{type(self).__name__}: missing hyperparameters {', '.join(missing)}"
            )
        self.set_hyperparameters(**values)
