"""What a layer class's constructor takes, and checking a config against it."""

from __future__ import annotations

import contextvars
import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import attrs

from nnframe.errors import SerializationError

__all__ = [
    "check_config_keys",
    "constructor_arguments",
    "init_arguments",
    "reading_at",
    "spec_path",
    "where",
]

# The spec path being read ("layers[2].layers[0]"), for error messages.
_PATH: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("path", default=())


def spec_path() -> tuple[str, ...]:
    """Return the path of the spec being read, outermost first (empty at the top)."""
    return _PATH.get()


@contextmanager
def reading_at(path: tuple[str, ...]) -> Iterator[None]:
    """Set the spec path that :func:`where` reports while a nested spec is read."""
    token = _PATH.set(path)
    try:
        yield
    finally:
        _PATH.reset(token)


def where() -> str:
    """Return where in the architecture being read we are, for error messages.

    Examples
    --------
    >>> with reading_at(("layers[2]",)):
    ...     where()
    'architecture at layers[2]'
    """
    path = _PATH.get()
    return "architecture" + (f" at {'.'.join(path)}" if path else "")


def init_arguments(cls: type) -> tuple[str, ...] | None:
    """Return the names ``cls(...)`` accepts as keywords; None for ``*args`` or ``**kwargs``.

    For an attrs class: the ``__init__`` names (aliases) of its init fields. Otherwise:
    the keyword-capable parameters of ``__init__``.
    """
    if attrs.has(cls):
        return tuple(field.alias for field in attrs.fields(cls) if field.init)
    parameters = list(inspect.signature(cls).parameters.values())
    if any(p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL) for p in parameters):
        return None
    return tuple(
        p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    )


def check_config_keys(cls: type, config: object, allowed: tuple[str, ...] | None) -> None:
    """Check that ``config`` is a dict whose keys are among ``allowed`` (None: any str).

    Raises
    ------
    SerializationError
        For a config that is not a dict or has unexpected keys.
    """
    if not isinstance(config, dict):
        raise SerializationError(
            f"{where()}: the config of {cls.__name__} must be a JSON object; got "
            f"{type(config).__name__}"
        )
    if allowed is None:
        unexpected = [key for key in config if not isinstance(key, str)]
        takes = "string keys"
    else:
        unexpected = [key for key in config if key not in allowed]
        takes = ", ".join(allowed) if allowed else "no arguments"
    if unexpected:
        raise SerializationError(
            f"{where()}: the config of {cls.__name__} has unexpected keys "
            f"{', '.join(map(repr, unexpected))}; {cls.__name__} takes {takes}"
        )


def constructor_arguments(layer: object) -> dict[str, Any]:
    """Return what rebuilds ``layer`` as ``type(layer)(**arguments)`` (``Layer.get_config``).

    An attrs layer's init fields by their ``__init__`` names; ``{}`` for a class whose
    ``__init__`` takes no arguments.

    Raises
    ------
    SerializationError
        For a plain ``__init__`` that takes arguments: only the class can say what they are.
    """
    cls = type(layer)
    if attrs.has(cls):
        return {
            field.alias: getattr(layer, field.name) for field in attrs.fields(cls) if field.init
        }
    if init_arguments(cls) == ():
        return {}
    raise SerializationError(
        f"{cls.__name__} has a plain __init__ with arguments; override get_config() to "
        "return them as a dict (and from_config() if cls(**config) does not rebuild it)"
    )
