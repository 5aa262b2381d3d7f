"""Which forward pass a loss's gradient belongs to: stale caches caught, not used.

A loss is computed on a prediction, the output of a model's forward pass, and the layers
cache that pass's activations for backward. If the model runs forward again before
backward (an evaluation outside ``no_grad()``, a second call for logging), each layer's
cache now holds the newer pass, and a backward with the first loss's gradient would
silently mix the two. So a loss's ``backward`` records which prediction its gradient is
for (:func:`note_loss_gradient`), every layer remembers the outputs its newer forward
passes replaced (:func:`note_replaced_output`), and the first layer that receives that
very gradient checks that the prediction is its current output, not one it has replaced
since (:func:`check_loss_gradient`). Identity, not equality, ties them, as for fused
gradients (:mod:`nnframe.fused`), and the common step costs one comparison per layer.

The prediction must be a layer's own output for the check to apply: a model that ends in
``Residual`` or ``Concat`` (whose outputs are new arrays made from their children's) is
not checked.
"""

from __future__ import annotations

import functools
import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from nnframe.errors import StaleCacheError
from nnframe.grad_mode import is_grad_enabled

if TYPE_CHECKING:
    from nnframe.layers.base import Layer

__all__ = [
    "LossGradient",
    "check_loss_gradient",
    "install_lineage",
    "note_loss_gradient",
    "note_replaced_output",
]

# How many replaced outputs a layer remembers: enough for a few forward passes between
# a loss and its backward.
REMEMBERED = 4


class _LossGradient(threading.local):
    grad: np.ndarray | None = None
    pred: object = None


LossGradient = _LossGradient()
"""The last gradient a loss's ``backward`` returned in this thread, and its prediction.

Read by every layer's backward (``LossGradient.grad``); both are None once a layer has
taken them. Per thread, as training loops are.
"""


def note_loss_gradient(grad: np.ndarray, pred: object) -> None:
    """Record that ``grad`` is the gradient of a loss computed on ``pred`` (in this thread)."""
    LossGradient.grad, LossGradient.pred = grad, pred


def note_replaced_output(layer: Layer, old: np.ndarray) -> None:
    """Remember that a new forward pass of ``layer`` replaced its output ``old``.

    Only a weak reference is kept, so a replaced output is freed as usual. Runs only when
    a forward pass comes before the backward of the previous one.
    """
    kept = tuple(ref for ref in layer._replaced or () if ref() is not None)
    layer._replaced = (weakref.ref(old), *kept[: REMEMBERED - 1])


def check_loss_gradient(layer: Layer, output: np.ndarray) -> None:
    """Raise ``StaleCacheError`` if the loss gradient ``layer`` got is for a replaced output.

    Called by the backward wrapper when the gradient is :attr:`LossGradient.grad`; the
    gradient is then taken (set to None), so only the first layer to receive it checks.
    """
    pred = LossGradient.pred
    LossGradient.grad = LossGradient.pred = None
    if pred is output:
        return
    for ref in layer._replaced or ():
        if ref() is pred:
            raise StaleCacheError(
                f"{layer!r}: backward got the gradient of a loss computed on an earlier "
                "output of this layer, but the layer has run forward again since (an "
                "evaluation or a second call between the loss and backward), so its cache "
                "holds the newer pass and the gradients would be wrong. Run evaluation "
                "under nnframe.no_grad(), which leaves the cache alone, or compute the loss "
                "again after the last forward pass"
            )


def install_lineage(cls: type) -> None:
    """Wrap ``cls``'s own ``forward`` and ``backward`` (a loss's) to record the lineage.

    ``forward(pred, ...)`` keeps ``pred``; ``backward()`` notes its gradient as that
    prediction's (:func:`note_loss_gradient`). Each method is wrapped once.
    """
    forward = cls.__dict__.get("forward")
    if forward is not None and not hasattr(forward, "__nnframe_lineage__"):
        cls.forward = _recording_forward(forward)  # type: ignore[attr-defined]
    backward = cls.__dict__.get("backward")
    if backward is not None and not hasattr(backward, "__nnframe_lineage__"):
        cls.backward = _noting_backward(backward)  # type: ignore[attr-defined]


def _recording_forward(forward: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(forward)
    def recording(self: Any, pred: Any, *args: Any, **kwargs: Any) -> Any:
        value = forward(self, pred, *args, **kwargs)
        # After the checks passed (a failed call changes nothing), and only when the
        # forward cached something: under no_grad the cache is the older pass's.
        if is_grad_enabled():
            self._lineage_pred = pred
        return value

    recording.__nnframe_lineage__ = True  # type: ignore[attr-defined]
    return recording


def _noting_backward(backward: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(backward)
    def noting(self: Any, *args: Any, **kwargs: Any) -> Any:
        grad = backward(self, *args, **kwargs)
        pred = getattr(self, "_lineage_pred", None)
        self._lineage_pred = None  # the cache it belonged to is released too
        if pred is not None and type(grad) is np.ndarray:
            note_loss_gradient(grad, pred)
        return grad

    noting.__nnframe_lineage__ = True  # type: ignore[attr-defined]
    return noting
