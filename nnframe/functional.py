"""Pure array math shared by the layers, the losses and ``nnframe.stepwise``.

Every function takes and returns plain ndarrays, keeps the input's float dtype and never
modifies its arguments (unless given ``out=``). Layout-agnostic functions work on any shape;
``linear`` takes batch-first rows.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "linear",
    "linear_grad",
    "log_sigmoid",
    "log_softmax",
    "logsumexp",
    "relu",
    "relu_grad",
    "sigmoid",
    "sigmoid_grad",
    "softmax",
    "softplus",
    "tanh",
    "tanh_grad",
]


def sigmoid(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Logistic function ``1 / (1 + exp(-z))``, without overflow warnings.

    Parameters
    ----------
    z : ndarray
        Any shape, float dtype.
    out : ndarray, optional
        Where to write the result (may be ``z`` itself).

    Returns
    -------
    ndarray
        Same shape and dtype as ``z``, values in [0, 1].

    Notes
    -----
    This is the course's formula, bit for bit. For very negative ``z``, ``exp(-z)``
    overflows to ``inf`` and ``1 / (1 + inf)`` is exactly 0.0, the correctly rounded
    answer, so the only thing to suppress is numpy's overflow warning.

    Examples
    --------
    >>> sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    array([0. , 0.5, 1. ])
    >>> print(sigmoid(np.float64(-0.19282691566774998)))
    0.4519420872071204
    """
    if out is None:
        # An explicit array, so that 0-d inputs work with the in-place steps below.
        out = np.empty(np.shape(z), dtype=np.result_type(z, 1.0))
    with np.errstate(over="ignore"):
        np.negative(z, out=out)
        np.exp(out, out=out)
    out += 1
    return np.reciprocal(out, out=out)


def sigmoid_grad(y: np.ndarray) -> np.ndarray:
    """Derivative of the sigmoid, from its output ``y``: ``y * (1 - y)``."""
    return y * (1 - y)


def relu(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Rectified linear unit ``max(z, 0)``.

    Examples
    --------
    >>> relu(np.array([-2.0, 0.0, 3.0]))
    array([0., 0., 3.])
    """
    return np.maximum(z, 0, out=out)


def relu_grad(z: np.ndarray) -> np.ndarray:
    """Derivative of ReLU at ``z`` as a 0/1 mask of ``z``'s dtype (0 where ``z <= 0``)."""
    return (z > 0).astype(z.dtype)


def tanh(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Hyperbolic tangent."""
    return np.tanh(z, out=out)


def tanh_grad(y: np.ndarray) -> np.ndarray:
    """Derivative of tanh, from its output ``y``: ``1 - y**2``."""
    return 1 - y * y


def linear(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """Affine map of batch-first rows: ``x @ weight.T + bias``.

    Parameters
    ----------
    x : ndarray of shape (batch, in_features)
    weight : ndarray of shape (out_features, in_features)
    bias : ndarray of shape (out_features,), optional

    Returns
    -------
    ndarray of shape (batch, out_features)
    """
    # np.dot stays on BLAS for every shape, where matmul on a transposed view may not.
    y = np.dot(x, weight.T)
    if bias is not None:
        y += bias
    return y


def linear_grad(
    x: np.ndarray, weight: np.ndarray, grad_y: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of :func:`linear` from the gradient ``grad_y`` of its output.

    Sums over the batch and never divides by its size (only losses average).

    Parameters
    ----------
    x : ndarray of shape (batch, in_features)
        The forward input.
    weight : ndarray of shape (out_features, in_features)
    grad_y : ndarray of shape (batch, out_features)

    Returns
    -------
    grad_x : ndarray of shape (batch, in_features)
        ``grad_y @ weight``.
    grad_weight : ndarray of shape (out_features, in_features)
        ``grad_y.T @ x``.
    grad_bias : ndarray of shape (out_features,)
        ``grad_y.sum(axis=0)``.

    Examples
    --------
    >>> grad_x, grad_weight, grad_bias = linear_grad(
    ...     np.array([[1.0, 2.0]]), np.array([[3.0, 4.0]]), np.array([[0.5]]))
    >>> grad_x, grad_weight, grad_bias
    (array([[1.5, 2. ]]), array([[0.5, 1. ]]), array([0.5]))
    """
    # np.dot keeps small and transposed operands on BLAS (np.matmul may not).
    return np.dot(grad_y, weight), np.dot(grad_y.T, x), grad_y.sum(axis=0)


def logsumexp(z: np.ndarray, axis: int = -1, keepdims: bool = False) -> np.ndarray:
    """``log(sum(exp(z)))`` along ``axis``, computed without overflow.

    Examples
    --------
    >>> logsumexp(np.array([[1000.0, 1000.0]]))
    array([1000.69314718])
    """
    shift = np.max(z, axis=axis, keepdims=True)
    shift = np.where(np.isfinite(shift), shift, 0)
    total = np.sum(np.exp(z - shift), axis=axis, keepdims=True)
    result = np.log(total) + shift
    return result if keepdims else np.squeeze(result, axis=axis)


def log_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """Logarithm of the softmax along ``axis``, stable for any finite input."""
    return z - logsumexp(z, axis=axis, keepdims=True)


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax along ``axis``: ``exp(z) / sum(exp(z))``, stable for any finite input.

    Examples
    --------
    >>> softmax(np.array([[0.0, 1000.0]]))
    array([[0., 1.]])
    """
    e = np.exp(z - np.max(z, axis=axis, keepdims=True))
    e /= np.sum(e, axis=axis, keepdims=True)
    return e


def softplus(z: np.ndarray) -> np.ndarray:
    """``log(1 + exp(z))``, stable for any finite input."""
    return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))


def log_sigmoid(z: np.ndarray) -> np.ndarray:
    """``log(sigmoid(z)) = -softplus(-z)``, stable for any finite input."""
    return -softplus(-z)
