"""Validated hyperparameters: the descriptor optimizers and schedules declare them with."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, TypeVar, overload

from nnframe.checks import Check
from nnframe.errors import ArgumentError, ArgumentTypeError

__all__ = ["HasHyperparameters", "Hyperparameter"]

T = TypeVar("T")


class Hyperparameter(Generic[T]):
    """A hyperparameter of an optimizer or schedule class, validated whenever it is set.

    Declared as a class attribute of a :class:`HasHyperparameters` subclass; the instance
    keeps the validated value. Setting it (``optimizer.lr = 0.01``) runs the check and the
    owner's :meth:`HasHyperparameters.check_hyperparameters`, so a bad value raises before
    anything changes. Reading it is a plain attribute lookup: optimizers read their
    hyperparameters on every step.

    Parameters
    ----------
    check : callable
        ``check(value, where) -> validated value``, raising ``ArgumentError`` or
        ``ArgumentTypeError`` with a message that starts with ``where``.

    Examples
    --------
    >>> from nnframe.checks import positive
    >>> class Ball(HasHyperparameters):
    ...     radius = Hyperparameter(positive)
    >>> ball = Ball()
    >>> ball.radius = 2
    >>> ball.radius
    2.0
    >>> ball.radius = -1
    Traceback (most recent call last):
    nnframe.errors.ArgumentError: Ball: radius must be > 0; got -1
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
        # Only reached when the instance has no value yet: the descriptor defines no
        # __set__, so a set value, kept in the instance's __dict__, is found first.
        if obj is None:
            return self
        raise obj.missing_hyperparameter(self.name)


class HasHyperparameters:
    """Mixin for classes that declare :class:`Hyperparameter` attributes.

    Assigning a declared hyperparameter goes through :meth:`set_hyperparameters`, which
    validates it; other attributes are set as usual.
    """

    def __setattr__(self, name: str, value: object) -> None:
        if isinstance(getattr(type(self), name, None), Hyperparameter):
            self.set_hyperparameters(**{name: value})
        else:
            object.__setattr__(self, name, value)

    def missing_hyperparameter(self, name: str) -> Exception:
        """Return the error raised on reading hyperparameter ``name`` when it has no value.

        An ``AttributeError`` by default; optimizers with parameter groups that disagree
        on the value say so instead.
        """
        return AttributeError(f"{type(self).__name__}: hyperparameter {name!r} has not been set")

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
