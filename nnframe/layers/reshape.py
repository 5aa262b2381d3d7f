"""Shape-only layers: Flatten."""

from __future__ import annotations

import math

import numpy as np

from nnframe.layers.base import Layer, layer
from nnframe.layers.geometry import is_channels_last
from nnframe.layers.registry import register

__all__ = ["Flatten"]


@register
@layer
class Flatten(Layer):
    """Flatten every example into one row.

    ``y = x.reshape(batch, -1)``: an input of shape ``(batch, d1, d2, ...)`` becomes
    ``(batch, d1 * d2 * ...)``, and ``(batch,)`` becomes ``(batch, 1)``. The output is a
    view of ``x`` when numpy can make one.

    Notes
    -----
    The cache is the input's shape, not the input. A channels-last input (a
    convolution's output: channels are the fastest-varying axis in memory) is flattened
    in the logical ``(channels, height, width)`` order, as PyTorch does, so the weights of
    a following ``Linear`` mean the same in both; its gradient is returned channels-last
    again.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> nf.Flatten()(np.zeros((5, 2, 3), dtype=np.float32)).shape
    (5, 6)
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        channels_last = is_channels_last(x)
        self.save_for_backward(shape=x.shape, channels_last=channels_last)
        # math.prod, not -1, so that an empty batch reshapes too.
        flat = (x.shape[0], math.prod(x.shape[1:]))
        if not channels_last:
            return x.reshape(flat)
        y = self.result_array("y", flat, x.dtype)  # the copy a reshape would make, reused
        np.copyto(y.reshape(x.shape), x)
        return y

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        shape, channels_last = self.saved("shape", "channels_last")
        grad = grad_y.reshape(shape)
        if not channels_last:
            return grad
        # The gradient takes the input's layout, so that the layers below (pooling, a
        # convolution's output) work on arrays laid out alike.
        order = (0, *range(2, len(shape)), 1)
        moved = self.result_array("grad_x", shape, grad.dtype, order)
        np.copyto(moved, grad)
        return moved

    def __repr__(self) -> str:
        return "Flatten()"
