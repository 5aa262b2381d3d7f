"""Deep network, step by step, first cells: sigmoid and relu with caches, and their backward."""

from __future__ import annotations

from typing import Any, overload

import numpy as np

from nnframe import functional as F
from nnframe.errors import ShapeError

__all__ = ["relu", "relu_backward", "sigmoid", "sigmoid_backward"]


def _as_float(Z: Any) -> np.ndarray:
    """``Z`` as an array that :mod:`nnframe.functional` can compute in (ints become float64)."""
    array = np.asarray(Z)
    return array if array.dtype.kind == "f" else array.astype(np.float64)


@overload
def sigmoid(Z: float) -> tuple[np.float64, float]: ...
@overload
def sigmoid(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...
def sigmoid(Z: np.ndarray | float) -> tuple[Any, Any]:
    """Implements the sigmoid activation in numpy.

    Parameters
    ----------
    Z : ndarray of any shape, or a float
        The pre-activation.

    Returns
    -------
    A : ndarray, same shape as Z (a numpy float for a float Z)
        Output of sigmoid(z).
    cache : ndarray or float
        Returns Z as well (the same object), useful during backpropagation.

    See Also
    --------
    nnframe.Sigmoid : The layer, batch-first; it caches its output instead of Z.
    nnframe.functional.sigmoid : The arithmetic, shared with the layer.

    Notes
    -----
    The course's ``1/(1+np.exp(-Z))``, bit for bit, without its overflow warning for very
    negative Z (``exp(1000)`` is ``inf`` and ``1/(1+inf)`` is exactly 0.0).

    Examples
    --------
    >>> A, cache = sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    >>> A
    array([0. , 0.5, 1. ])
    """
    A = F.sigmoid(_as_float(Z))
    return (A if isinstance(Z, np.ndarray) else A[()]), Z


@overload
def relu(Z: float) -> tuple[np.float64, float]: ...
@overload
def relu(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...
def relu(Z: np.ndarray | float) -> tuple[Any, Any]:
    """Implement the RELU function.

    Parameters
    ----------
    Z : ndarray of any shape, or a float
        Output of the linear layer.

    Returns
    -------
    A : ndarray, same shape as Z (a numpy float for a float Z)
        Post-activation parameter.
    cache : ndarray or float
        Z itself (the course's docstring says "a python dictionary containing "A""; its
        code stores Z), stored for computing the backward pass efficiently.

    See Also
    --------
    nnframe.ReLU : The layer, batch-first.
    nnframe.functional.relu : The arithmetic, shared with the layer.

    Notes
    -----
    For an input of -0.0 the course's ``np.maximum(0, Z)`` returns -0.0 and this returns
    0.0; every other value is identical.

    Examples
    --------
    >>> A, cache = relu(np.array([[-2.0, 3.0]]))
    >>> A
    array([[0., 3.]])
    """
    A = F.relu(np.asarray(Z))
    return (A if isinstance(Z, np.ndarray) else A[()]), Z


def sigmoid_backward(dA: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """Implement the backward propagation for a single SIGMOID unit.

    Parameters
    ----------
    dA : ndarray of any shape
        Post-activation gradient.
    cache : ndarray, same shape as dA
        'Z' where we store for computing backward propagation efficiently.

    Returns
    -------
    dZ : ndarray, same shape as Z
        Gradient of the cost with respect to Z.

    See Also
    --------
    nnframe.Sigmoid.backward : The same step, batch-first, from the cached output.
    nnframe.functional.sigmoid_grad : The derivative ``s * (1 - s)``, shared with the layer.

    Notes
    -----
    Computed as ``dA * (s * (1 - s))``, the layer's order; the course's ``dA * s * (1 - s)``
    can differ from it in the last bit.

    Examples
    --------
    >>> sigmoid_backward(np.array([[1.0, 2.0]]), np.array([[0.0, 0.0]]))
    array([[0.25, 0.5 ]])
    """
    Z = _as_float(cache)
    dA = np.asarray(dA)
    if dA.shape != Z.shape:
        raise ShapeError(f"sigmoid_backward: dA has shape {dA.shape} and Z has shape {Z.shape}")
    return dA * F.sigmoid_grad(F.sigmoid(Z))


def relu_backward(dA: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """Implement the backward propagation for a single RELU unit.

    Parameters
    ----------
    dA : ndarray of any shape
        Post-activation gradient.
    cache : ndarray, same shape as dA
        'Z' where we store for computing backward propagation efficiently.

    Returns
    -------
    dZ : ndarray, same shape as Z
        Gradient of the cost with respect to Z: dA where Z > 0, else 0.

    See Also
    --------
    nnframe.ReLU.backward : The same step, batch-first.
    nnframe.functional.relu_grad : The 0/1 mask, shared with the layer.

    Notes
    -----
    The course copies dA and sets ``dZ[Z <= 0] = 0``; this multiplies by the layer's mask
    instead (much faster), then adds +0.0 so that a masked negative dA gives the course's
    0.0 rather than -0.0. The arrays are equal; the two differ only in the sign of a zero
    dA of -0.0 where Z > 0 (this gives 0.0), and where dA is inf or NaN and Z <= 0 (the
    course gives 0, the product NaN).

    Examples
    --------
    >>> relu_backward(np.array([[-1.0, 2.0, 3.0]]), np.array([[-0.5, 0.0, 4.0]]))
    array([[0., 0., 3.]])
    """
    Z = np.asarray(cache)
    dA = np.asarray(dA)
    if dA.shape != Z.shape:
        raise ShapeError(f"relu_backward: dA has shape {dA.shape} and Z has shape {Z.shape}")
    dZ = dA * F.relu_grad(_as_float(Z))
    # A masked negative dA gives -0.0, which prints as "-0."; adding +0.0 turns it into the
    # course's 0.0 and leaves every nonzero value as it is, so printed arrays match.
    dZ += 0.0
    return dZ
