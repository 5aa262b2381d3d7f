"""Shape-only layers: Flatten."""

from __future__ import annotations

import math

import numpy as np

from nnframe.layers.base import Layer, layer
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
    The cache is the input's shape, not the input.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> nf.Flatten()(np.zeros((5, 2, 3), dtype=np.float32)).shape
    (5, 6)
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.save_for_backward(shape=np.array(x.shape))
        # math.prod, not -1, so that an empty batch reshapes too.
        return x.reshape(x.shape[0], math.prod(x.shape[1:]))

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        shape = tuple(int(d) for d in self.saved("shape"))
        return grad_y.reshape(shape)

    def __repr__(self) -> str:
        return "Flatten()"
