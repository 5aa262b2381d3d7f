"""Forward and backward hooks: functions a layer calls after each pass, and their handles."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nnframe.errors import ArgumentTypeError

if TYPE_CHECKING:
    from nnframe.layers.base import Layer

__all__ = ["HookHandle", "add_hook", "label", "run_hooks"]

_next_key = itertools.count()


class HookHandle:
    """What ``register_forward_hook`` and ``register_backward_hook`` return.

    Its :meth:`remove` takes the hook off the layer again. It can be used as a context
    manager, which removes the hook on exit.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> layer = nf.ReLU()
    >>> seen = []
    >>> with layer.register_forward_hook(lambda layer, x, y: seen.append(y.shape)):
    ...     _ = layer(np.ones((2, 3)))
    >>> _ = layer(np.ones((4, 3)))                  # removed: not called any more
    >>> seen
    [(2, 3)]
    """

    __slots__ = ("_hooks", "_key")

    def __init__(self, hooks: dict[int, Callable[..., Any]], key: int) -> None:
        self._hooks = hooks
        self._key = key

    def remove(self) -> None:
        """Take the hook off its layer; calling it again does nothing."""
        self._hooks.pop(self._key, None)

    def __enter__(self) -> HookHandle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.remove()

    def __repr__(self) -> str:
        state = "active" if self._key in self._hooks else "removed"
        return f"HookHandle({state})"


def add_hook(
    hooks: dict[int, Callable[..., Any]], hook: object, where: str
) -> HookHandle:
    """Add ``hook`` to ``hooks`` and return its handle; raise if it is not callable."""
    if not callable(hook):
        raise ArgumentTypeError(f"{where}: hook must be callable; got {type(hook).__name__}")
    key = next(_next_key)
    hooks[key] = hook
    return HookHandle(hooks, key)


def run_hooks(
    layer: Layer, hooks: dict[int, Callable[..., Any]], kind: str, *args: Any
) -> None:
    """Call every hook as ``hook(layer, *args)``, in the order they were registered.

    An exception from a hook gets a note naming the hook and the layer, and keeps its type;
    containers add the layer's place in the model.
    """
    for hook in list(hooks.values()):  # a hook may remove itself
        try:
            hook(layer, *args)
        except Exception as error:
            name = getattr(hook, "__qualname__", None) or repr(hook)
            error.add_note(f"in the {kind} hook {name} of {label(layer)}")
            raise


def label(layer: Layer) -> str:
    """Name a layer on one line: its repr, or ``Residual(...)`` for a multi-line one."""
    text = repr(layer)
    return text if "\n" not in text else f"{type(layer).__name__}(...)"
