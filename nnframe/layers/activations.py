"""Activation layers: ReLU, LeakyReLU, ELU, GELU, Sigmoid, Tanh, Softmax, and Identity."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from attrs import field

from nnframe import functional as F
from nnframe.checks import format_shape, is_integer, real, real_array
from nnframe.errors import ArgumentTypeError, ShapeError
from nnframe.layers.base import Layer, layer
from nnframe.layers.geometry import memory_order
from nnframe.layers.registry import register

__all__ = ["ELU", "GELU", "Identity", "LeakyReLU", "ReLU", "Sigmoid", "Softmax", "Tanh"]


@register
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
        y = F.relu(x, out=self.result_array("y", x.shape, x.dtype, memory_order(x)))
        self.save_for_backward(y=y)
        return y

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        y = self.saved("y")
        # Multiplying by the mask is many times faster than masked assignment, and a mask
        # written as floats into the result, multiplied in place, beats a boolean one
        # (numpy casts booleans in chunks): 0.54 ms against 0.65 for 884,736 values.
        grad = self.result_array("grad_x", y.shape, grad_y.dtype, memory_order(y))
        np.greater(y, 0, out=grad)
        grad *= grad_y
        return grad


@register
@layer
class Sigmoid(Layer):
    """Logistic sigmoid.

    ``y = 1 / (1 + exp(-x))``

    Notes
    -----
    Its ``link`` is ``"sigmoid"``: after ``BCELoss``, the gradient with respect to the
    input is taken from the loss as ``(p - target) / n`` (see :mod:`nnframe.fused`).
    For very negative ``x`` the intermediate ``exp(-x)`` overflows to ``inf`` and the
    result is exactly 0.0; the overflow warning is suppressed, so any finite input is
    safe. The cache is the output: ``dy/dx = y * (1 - y)``.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> nf.Sigmoid()(np.array([[-1000.0, 0.0, 1000.0]]))
    array([[0. , 0.5, 1. ]])
    """

    link: ClassVar[str | None] = "sigmoid"

    def forward(self, x: np.ndarray) -> np.ndarray:
        y = F.sigmoid(x)
        self.save_for_backward(y=y)
        return y

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        y = self.saved("y")
        return grad_y * F.sigmoid_grad(y)


@register
@layer
class Tanh(Layer):
    """Hyperbolic tangent.

    ``y = tanh(x)``; the cache is the output: ``dy/dx = 1 - y**2``.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> nf.Tanh()(np.array([[0.0, 100.0]]))
    array([[0., 1.]])
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        y = F.tanh(x)
        self.save_for_backward(y=y)
        return y

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        y = self.saved("y")
        return grad_y * F.tanh_grad(y)


# Converters of the hyperparameter fields: attrs runs them at construction and on every
# later assignment, so a bad value raises before anything changes.
def _negative_slope(value: object) -> float:
    return real(value, "LeakyReLU: negative_slope")


def _alpha(value: object) -> float:
    return real(value, "ELU: alpha")


def _axis(value: object) -> int:
    if not is_integer(value):
        raise ArgumentTypeError(
            f"Softmax: axis must be an int; got {value!r} of type {type(value).__name__}"
        )
    return int(value)


@register
@layer
class LeakyReLU(Layer):
    """Leaky rectified linear unit.

    ``y = x if x > 0 else negative_slope * x``; the gradient at ``x == 0`` is
    ``negative_slope``.

    Parameters
    ----------
    negative_slope : float, default 0.01
        Slope for negative inputs.

    Notes
    -----
    For ``negative_slope >= 0`` the cache is the output, whose sign is the input's; a
    negative slope makes the layer cache its input instead.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> nf.LeakyReLU(0.1)(np.array([[-2.0, 3.0]]))
    array([[-0.2,  3. ]])
    """

    kinks: ClassVar[tuple[float, ...]] = (0.0,)

    negative_slope: float = field(default=0.01, converter=_negative_slope)

    def forward(self, x: np.ndarray) -> np.ndarray:
        y = F.leaky_relu(x, self.negative_slope)
        if self.negative_slope >= 0:
            self.save_for_backward(y=y)
        else:
            self.save_for_backward(x=x)
        return y

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        z = self.saved("y" if self.negative_slope >= 0 else "x")
        return grad_y * F.leaky_relu_grad(z, self.negative_slope)

    def __repr__(self) -> str:
        return f"LeakyReLU(negative_slope={self.negative_slope!r})"


@register
@layer
class ELU(Layer):
    """Exponential linear unit.

    ``y = x if x > 0 else alpha * (exp(x) - 1)``

    Parameters
    ----------
    alpha : float, default 1.0
        Scale of the negative part: the output tends to ``-alpha`` for very negative
        inputs.

    Notes
    -----
    ``exp`` is only evaluated at ``min(x, 0)``, so no input overflows. For ``alpha >= 0``
    the cache is the output (``dy/dx = y + alpha`` where ``y <= 0``); a negative
    ``alpha`` makes the layer cache its input instead.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> nf.ELU()(np.array([[-1e4, 2.0]]))
    array([[-1.,  2.]])
    """

    # Only for alpha == 1 is ELU smooth at 0; declaring the kink always is harmless.
    kinks: ClassVar[tuple[float, ...]] = (0.0,)

    alpha: float = field(default=1.0, converter=_alpha)

    def forward(self, x: np.ndarray) -> np.ndarray:
        y = F.elu(x, self.alpha)
        if self.alpha >= 0:
            self.save_for_backward(y=y)
        else:
            self.save_for_backward(x=x)
        return y

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        if self.alpha >= 0:
            return grad_y * F.elu_grad_from_output(self.saved("y"), self.alpha)
        return grad_y * F.elu_grad(self.saved("x"), self.alpha)

    def __repr__(self) -> str:
        return f"ELU(alpha={self.alpha!r})"


@register
@layer
class GELU(Layer):
    """Gaussian error linear unit, in its tanh approximation.

    ``y = 0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x**3)))``; the backward
    pass is the exact derivative of this approximation.

    Notes
    -----
    The cache is the input: the output does not determine the derivative. Inputs beyond
    +-10 are clipped inside the tanh, where it is already exactly +-1, so no input
    overflows.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> nf.GELU()(np.array([[-1.0, 0.0, 1.0]], dtype=np.float32))
    array([[-0.158808,  0.      ,  0.841192]], dtype=float32)
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.save_for_backward(x=x)
        return F.gelu(x)

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        x = self.saved("x")
        return grad_y * F.gelu_grad(x)

    def __repr__(self) -> str:
        return "GELU()"


@register
@layer
class Softmax(Layer):
    """Softmax along one axis.

    ``y = exp(x) / sum(exp(x), axis)``, computed from ``x - max(x, axis)`` so that no
    input overflows; the cache is the output.

    Parameters
    ----------
    axis : int, default -1
        The axis to normalise along. ``axis=0`` normalises across the batch: allowed, and
        the layer is then not batch-independent. A negative axis that lands on the batch
        axis (``-1`` for a 1-d input) is an error, so that this cannot happen by accident.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> nf.Softmax()(np.array([[0.0, np.log(3.0)]]))
    array([[0.25, 0.75]])
    """

    axis: int = field(default=-1, converter=_axis)

    @property
    def batch_independent(self) -> bool:  # type: ignore[override]
        """Whether each example is normalised on its own: False only for ``axis=0``."""
        return self.axis != 0

    def forward(self, x: np.ndarray) -> np.ndarray:
        if not -x.ndim < self.axis < x.ndim and self.axis != 0:
            problem = (
                "the batch axis (pass axis=0 to normalise across the batch on purpose)"
                if self.axis == -x.ndim
                else "out of range"
            )
            raise ShapeError(
                f"{self!r}: for input of shape {format_shape(x.shape)}, axis {self.axis} is "
                + problem
            )
        y = F.softmax(x, axis=self.axis)
        self.save_for_backward(y=y)
        return y

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        y = self.saved("y")
        return F.softmax_grad(y, grad_y, axis=self.axis)

    def __repr__(self) -> str:
        return f"Softmax(axis={self.axis})"


@register
@layer
class Identity(Layer):
    """The identity: ``y = x``, and ``grad_x = grad_y``.

    The forward input and the backward gradient are returned as they are (integer and
    boolean inputs become float32), not copied. Nothing is cached, so ``backward`` may
    run without ``forward``.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> x = np.ones((2, 3), dtype=np.float32)
    >>> nf.Identity()(x) is x
    True
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        # Without a forward pass the checks have no output to compare with: check here
        # what can be checked.
        grad = real_array(grad_y, f"{self!r}: the gradient")
        if grad.ndim == 0:
            raise ShapeError(
                f"{self!r}: expected a gradient with a batch dimension; got a 0-d array"
            )
        return grad

    def __repr__(self) -> str:
        return "Identity()"
