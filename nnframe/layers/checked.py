"""The checks every layer's forward and backward run through, installed once per class.

``forward``: the input against the class's ``input_spec``; the output kept for the
gradient check. ``backward``: the gradient against that output, a fused gradient
claimed (:mod:`nnframe.fused`), and whether the input gradient is wanted.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from nnframe import fused
from nnframe.grad_mode import is_grad_enabled
from nnframe.layers.hooks import run_hooks
from nnframe.layers.spec import check_grad
from nnframe.lineage import LossGradient, check_loss_gradient, note_replaced_output

if TYPE_CHECKING:
    from nnframe.layers.base import Layer

__all__ = ["checked_backward", "checked_forward", "install_checks"]


class _Backward(threading.local):
    # How many backward calls are running in this thread: a call made from inside another
    # layer's backward (a container's) returns the input gradient unless told otherwise.
    depth = 0


_backward = _Backward()


def checked_forward(forward: Callable[..., Any]) -> Callable[..., Any]:
    """Return ``forward`` checking its input against ``input_spec`` and keeping its output."""

    @functools.wraps(forward)
    def checked(self: Layer, x: Any) -> Any:
        spec = self.input_spec
        if spec is None:  # a container: its sub-layers check what they are given
            y = forward(self, x)
        else:
            x = spec.check(self, x)
            y = forward(self, x)
            # The output is what the gradient of the next backward is checked against (and
            # how a fused gradient or a loss's gradient finds the layer that made the
            # prediction). Not kept under no_grad, which leaves the last one in place.
            if is_grad_enabled():
                if self._output is not None:  # a forward before the last one's backward
                    note_replaced_output(self, self._output)
                self._output = y if type(y) is np.ndarray else None
        if self._forward_hooks:
            run_hooks(self, self._forward_hooks, "forward", x, y)
        return y

    return checked


def checked_backward(backward: Callable[..., Any]) -> Callable[..., Any]:
    """Return ``backward`` checking its gradient and deciding on the input gradient."""

    @functools.wraps(backward)
    def checked(self: Layer, grad_y: Any, *, input_grad: bool | None = None) -> Any:
        depth = _backward.depth
        wanted = depth > 0 if input_grad is None else bool(input_grad)
        output = self._output
        if output is not None:
            if grad_y is LossGradient.grad:
                check_loss_gradient(self, output)
            if self.link is not None:
                through = fused.claim(grad_y, output, self.link)
                if through is not None:
                    self._cache = self._output = None
                    grad_x = through if wanted else None
                    if self._backward_hooks:
                        run_hooks(self, self._backward_hooks, "backward", grad_y, grad_x)
                    return grad_x
            grad_y = check_grad(self, grad_y, output)
        self.needs_input_grad = wanted
        _backward.depth = depth + 1
        try:
            grad_x = backward(self, grad_y)
        finally:
            _backward.depth = depth
        self._output = None
        if not wanted:
            grad_x = None
        if self._backward_hooks:
            run_hooks(self, self._backward_hooks, "backward", grad_y, grad_x)
        return grad_x

    return checked


def _rebuilt(old: type, new: type) -> bool:
    # attrs makes a slotted class anew from the class body: same name and module, same
    # bases, so the first class is not among the new one's ancestors.
    same = (old.__module__, old.__qualname__) == (new.__module__, new.__qualname__)
    return old is not new and same and old not in new.__mro__


def _retarget_class_cell(function: Callable[..., Any], old: type, new: type) -> None:
    # attrs rebuilds a slotted class and points the methods' ``__class__`` cells (what
    # zero-argument super() reads) at the new class; it cannot see into our wrapper, so
    # the wrapped method's cell is moved here the same way.
    for cell in getattr(function, "__closure__", None) or ():
        if cell.cell_contents is old:
            cell.cell_contents = new


def install_checks(cls: type) -> None:
    """Wrap ``cls``'s own ``forward`` and ``backward`` (each once) in the checks.

    Called by ``Layer.__init_subclass__`` for every subclass. A method already wrapped
    for another class is reused as it is (``forward = Other.forward``); one wrapped for
    the class attrs rebuilt this one from gets its ``__class__`` cell moved.
    """
    for name, wrap in (("forward", checked_forward), ("backward", checked_backward)):
        method = cls.__dict__.get(name)
        if method is None:
            continue
        owner = getattr(method, "__nnframe_owner__", None)
        if owner is None:
            method = wrap(method)
            method.__nnframe_owner__ = cls  # type: ignore[attr-defined]
            setattr(cls, name, method)
        elif _rebuilt(owner, cls):
            _retarget_class_cell(method.__wrapped__, owner, cls)
            method.__nnframe_owner__ = cls
