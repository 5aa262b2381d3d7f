"""Elementwise activation layers: ReLU, Sigmoid, Tanh."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from nnframe import functional as F
from nnframe.layers.base import Layer, layer
from nnframe.layers.validation import as_grad, as_input

__all__ = ["ReLU", "Sigmoid", "Tanh"]


@layer
class ReLU(Layer):
    """Rectified linear unit.

    ``y = max(x, 0)``; the gradient at ``x == 0`` is taken as 0.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> nf.ReLU()(np.array([[-1.0, 2.0]]))
    array([[0., 2.]])
    """

    kinks: ClassVar[tuple[float, ...]] = (0.0,)

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = as_input(self, x)
        y = F.relu(x)
        self.save_for_backward(y=y)
        return y

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        y = self.saved("y")
        grad_y = as_grad(self, grad_y, y.shape, y.dtype)
        # Multiplying by the mask is many times faster than masked assignment.
        return grad_y * (y > 0)


@layer
class Sigmoid(Layer):
    """Logistic sigmoid.

    ``y = 1 / (1 + exp(-x))``

    Notes
    -----
    For very negative ``x`` the intermediate ``exp(-x)`` overflows to ``inf`` and the
    result is exactly 0.0; the overflow warning is suppressed, so any finite input is
    safe. The cache is the output: ``dy/dx = y * (1 - y)``.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = as_input(self, x)
        y = F.sigmoid(x)
        self.save_for_backward(y=y)
        return y

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        y = self.saved("y")
        grad_y = as_grad(self, grad_y, y.shape, y.dtype)
        return grad_y * F.sigmoid_grad(y)


@layer
class Tanh(Layer):
    """Hyperbolic tangent.

    ``y = tanh(x)``; the cache is the output: ``dy/dx = 1 - y**2``.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = as_input(self, x)
        y = F.tanh(x)
        self.save_for_backward(y=y)
        return y

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        y = self.saved("y")
        grad_y = as_grad(self, grad_y, y.shape, y.dtype)
        return grad_y * F.tanh_grad(y)
