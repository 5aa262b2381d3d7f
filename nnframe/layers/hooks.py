"""Forward and backward hooks: functions a layer calls after each pass, and their handles."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nnframe.errors import ArgumentTypeError

if TYPE_CHECKING:
    from nnframe.layers.base import Layer

__all__ = ["HookHandle", "Hooks", "add_hook", "label", "run_hooks"]

_next_key = itertools.count()


class HookHandle:
    """What ``register_forward_hook`` and ``register_backward_hook`` return.

    Its :meth:`remove` takes the hook off the layer again. It can be used as a context
    manager, which removes the hook on exit.

    Parameters
    ----------
    hooks : dict of int to callable
        The layer's hooks of one kind, in the order they were registered.
    key : int
        This hook's key in ``hooks``.

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


class Hooks:
    """Mixin of :class:`~nnframe.Layer`: registering forward and backward hooks.

    The checks that wrap every layer's ``forward`` and ``backward``
    (:mod:`nnframe.layers.checked`) run them.
    """

    # Class-level defaults, so that a layer without hooks holds no dict at all.
    _forward_hooks: dict[int, Callable[..., Any]] | None = None
    _backward_hooks: dict[int, Callable[..., Any]] | None = None

    def register_forward_hook(self, hook: Callable[[Any, Any, Any], object]) -> HookHandle:
        """Call ``hook(layer, x, y)`` after every forward pass of this layer.

        ``x`` is the input as ``forward`` received it (checked and converted for a leaf
        layer), ``y`` the output. Hooks look; they do not change anything: their return
        value is ignored, and they must not modify ``x`` or ``y`` in place. Hooks run in
        the order they were registered, under ``no_grad()`` too. They are not saved in
        files and not copied by :meth:`clone`. An exception from a hook propagates with
        a note naming the hook and the layer's place in the model.

        Parameters
        ----------
        hook : callable
            ``hook(layer, x, y)``.

        Returns
        -------
        HookHandle
            ``handle.remove()`` takes the hook off again (also a context manager).

        Raises
        ------
        ArgumentTypeError
            When ``hook`` is not callable; nothing is registered.

        Examples
        --------
        >>> import numpy as np, nnframe as nf
        >>> model = nf.Sequential(nf.Linear(3, 4, rng=0), nf.ReLU(), nf.Linear(4, 1, rng=1))
        >>> fraction_active = []
        >>> handle = model[1].register_forward_hook(
        ...     lambda layer, x, y: fraction_active.append(float((y > 0).mean())))
        >>> _ = model(np.ones((8, 3)))
        >>> len(fraction_active)
        1
        >>> handle.remove()
        """
        if self._forward_hooks is None:
            self._forward_hooks = {}
        where = f"{type(self).__name__}.register_forward_hook"
        return add_hook(self._forward_hooks, hook, where)

    def register_backward_hook(
        self, hook: Callable[[Any, Any, Any], object]
    ) -> HookHandle:
        """Call ``hook(layer, grad_y, grad_x)`` after every backward pass of this layer.

        ``grad_y`` is the gradient with respect to the output, ``grad_x`` the one with
        respect to the input, or None when nobody asked for it (the first layer of a
        model trained with a hand-written loop). The parameters' gradients are final
        for this pass when the hook runs. A layer whose backward is skipped (everything
        below it frozen and no input gradient wanted) calls no hook. Otherwise as
        :meth:`register_forward_hook`.

        Parameters
        ----------
        hook : callable
            ``hook(layer, grad_y, grad_x)``.

        Returns
        -------
        HookHandle

        Raises
        ------
        ArgumentTypeError
            When ``hook`` is not callable; nothing is registered.

        Examples
        --------
        >>> import numpy as np, nnframe as nf
        >>> layer = nf.Linear(3, 2, rng=0)
        >>> norms = []
        >>> _ = layer.register_backward_hook(
        ...     lambda layer, grad_y, grad_x: norms.append(np.linalg.norm(layer.weight.grad)))
        >>> y = layer(np.ones((4, 3)))
        >>> layer.backward(np.ones_like(y)) is None     # grad_x was not asked for
        True
        >>> len(norms)
        1
        """
        if self._backward_hooks is None:
            self._backward_hooks = {}
        where = f"{type(self).__name__}.register_backward_hook"
        return add_hook(self._backward_hooks, hook, where)



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
