"""Pure array math shared by the layers, the losses and ``nnframe.stepwise``.

Every function takes and returns plain ndarrays, keeps the input's float dtype and never
modifies its arguments (unless given ``out=``). Layout-agnostic functions work on any shape;
``linear`` takes batch-first rows.
"""

from __future__ import annotations

import math

import numpy as np

from nnframe.blas import dot

__all__ = [
    "batch_norm",
    "batch_norm_grad",
    "elu",
    "elu_grad",
    "elu_grad_from_output",
    "gelu",
    "gelu_grad",
    "leaky_relu",
    "leaky_relu_grad",
    "linear",
    "linear_grad",
    "linear_grad_bias",
    "linear_grad_input",
    "linear_grad_weight",
    "log_sigmoid",
    "log_softmax",
    "logsumexp",
    "moments",
    "relu",
    "relu_grad",
    "sigmoid",
    "sigmoid_grad",
    "softmax",
    "softmax_grad",
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


def _rows(a: np.ndarray) -> np.ndarray:
    """``a`` as 2-d rows ``(prod(leading axes), last axis)``: a view when ``a`` allows it."""
    return a.reshape(math.prod(a.shape[:-1]), a.shape[-1])


def linear(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """Affine map of the last axis: ``x @ weight.T + bias``.

    Parameters
    ----------
    x : ndarray of shape (..., in_features)
        Batch-first rows, ``(batch, in_features)``, or any leading axes such as
        ``(batch, time, in_features)``, as PyTorch's ``(*, in)``.
    weight : ndarray of shape (out_features, in_features)
    bias : ndarray of shape (out_features,), optional

    Returns
    -------
    ndarray of shape (..., out_features)
        The leading axes of ``x``, then ``out_features``.

    Notes
    -----
    Leading axes are folded into one (a view of a contiguous ``x``): one BLAS product.

    Examples
    --------
    >>> x = np.arange(12.0).reshape(2, 3, 2)  # (batch, time, in_features)
    >>> linear(x, np.array([[1.0, -1.0]]), np.array([0.5])).shape
    (2, 3, 1)
    """
    if x.ndim != 2:
        y2 = linear(_rows(x), weight, bias)
        return y2.reshape(*x.shape[:-1], y2.shape[-1])
    # np.dot stays on BLAS for every shape, where matmul on a transposed view may not.
    y = dot(x, weight.T)
    if bias is not None:
        y += bias
    return y


def linear_grad(
    x: np.ndarray, weight: np.ndarray, grad_y: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of :func:`linear` from the gradient ``grad_y`` of its output.

    Sums over the batch (every leading axis) and never divides by its size (only losses
    average).

    Parameters
    ----------
    x : ndarray of shape (..., in_features)
        The forward input.
    weight : ndarray of shape (out_features, in_features)
    grad_y : ndarray of shape (..., out_features)

    Returns
    -------
    grad_x : ndarray of shape (..., in_features)
        ``grad_y @ weight``, from :func:`linear_grad_input`.
    grad_weight : ndarray of shape (out_features, in_features)
        ``grad_y.T @ x`` summed over the leading axes, from :func:`linear_grad_weight`.
    grad_bias : ndarray of shape (out_features,)
        ``grad_y`` summed over the leading axes, from :func:`linear_grad_bias`.

    Examples
    --------
    >>> grad_x, grad_weight, grad_bias = linear_grad(
    ...     np.array([[1.0, 2.0]]), np.array([[3.0, 4.0]]), np.array([[0.5]]))
    >>> grad_x, grad_weight, grad_bias
    (array([[1.5, 2. ]]), array([[0.5, 1. ]]), array([0.5]))
    """
    return (
        linear_grad_input(grad_y, weight),
        linear_grad_weight(x, grad_y),
        linear_grad_bias(grad_y),
    )


def linear_grad_input(
    grad_y: np.ndarray, weight: np.ndarray, out: np.ndarray | None = None
) -> np.ndarray:
    """Gradient of :func:`linear` with respect to its input: ``grad_y @ weight``.

    Parameters
    ----------
    grad_y : ndarray of shape (..., out_features)
    weight : ndarray of shape (out_features, in_features)
    out : ndarray of shape (..., in_features), optional
        Where to write the result: a C-contiguous array of the result's dtype.

    Returns
    -------
    ndarray of shape (..., in_features)
    """
    if grad_y.ndim == 2:
        return dot(grad_y, weight, out=out)
    rows = _rows(grad_y)
    if out is None:
        return dot(rows, weight).reshape(*grad_y.shape[:-1], weight.shape[-1])
    if not out.flags.c_contiguous:  # np.dot writes only into C-contiguous arrays
        out[...] = linear_grad_input(grad_y, weight)
        return out
    # A reshape of a C-contiguous out is a view of it, so the product lands in out.
    dot(rows, weight, out=out.reshape(rows.shape[0], weight.shape[-1]))
    return out


def linear_grad_weight(
    x: np.ndarray, grad_y: np.ndarray, out: np.ndarray | None = None
) -> np.ndarray:
    """Gradient of :func:`linear` with respect to its weight: ``grad_y.T @ x``.

    Parameters
    ----------
    x : ndarray of shape (..., in_features)
        The forward input.
    grad_y : ndarray of shape (..., out_features)
        The same leading axes as ``x``.
    out : ndarray of shape (out_features, in_features), optional
        Where to write the result (a C-contiguous array of the result's dtype, such as a
        parameter's gradient right after ``zero_grad``): written, not added to.

    Returns
    -------
    ndarray of shape (out_features, in_features)
        Summed over every leading axis; ``out`` when given.

    Notes
    -----
    Leading axes are folded into one (a view of contiguous arrays): one BLAS product.
    ``np.dot`` keeps the transposed operand on BLAS for every batch size, where
    ``np.matmul`` falls back to a slow loop for some shapes (batch 1 among them).

    Examples
    --------
    >>> x = np.ones((2, 3, 4))  # (batch, time, in_features)
    >>> linear_grad_weight(x, np.ones((2, 3, 1)))  # six rows summed
    array([[6., 6., 6., 6.]])
    """
    if x.ndim != 2:
        x, grad_y = _rows(x), _rows(grad_y)
    return dot(grad_y.T, x, out=out)


def linear_grad_bias(grad_y: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Gradient of :func:`linear` with respect to its bias: ``grad_y`` summed over rows.

    Parameters
    ----------
    grad_y : ndarray of shape (..., out_features)
    out : ndarray of shape (out_features,), optional
        Where to write the result: written, not added to.

    Returns
    -------
    ndarray of shape (out_features,)
        ``grad_y`` summed over every leading axis; ``out`` when given.
    """
    if grad_y.ndim != 2:
        grad_y = _rows(grad_y)
    return np.add.reduce(grad_y, axis=0, out=out)  # np.sum, without its Python wrapper


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
    """Logarithm of the softmax along ``axis``, stable for any finite input.

    ``(z - max) - log(sum(exp(z - max)))``, as PyTorch computes it. A row holding an
    infinity gives NaN, as it does there.

    Examples
    --------
    >>> log_softmax(np.array([[0.0, 1000.0]]))
    array([[-1000.,     0.]])
    """
    shifted = np.subtract(z, np.maximum.reduce(z, axis=axis, keepdims=True))
    total = np.add.reduce(np.exp(shifted), axis=axis, keepdims=True)
    shifted -= np.log(total, out=total)
    return shifted


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


def softmax_grad(y: np.ndarray, grad_y: np.ndarray, axis: int = -1) -> np.ndarray:
    """Gradient through :func:`softmax` from its output ``y``: ``y * (g - sum(g * y))``.

    Parameters
    ----------
    y : ndarray
        The softmax output.
    grad_y : ndarray
        The gradient with respect to ``y``, same shape.
    axis : int, default -1
        The axis the softmax normalised along.

    Returns
    -------
    ndarray
        The gradient with respect to the softmax input.

    Examples
    --------
    >>> softmax_grad(np.array([[0.5, 0.5]]), np.array([[1.0, 0.0]]))
    array([[ 0.25, -0.25]])
    """
    grad_z = grad_y * y
    grad_z -= y * np.sum(grad_z, axis=axis, keepdims=True)
    return grad_z


def leaky_relu(z: np.ndarray, negative_slope: float = 0.01) -> np.ndarray:
    """Leaky rectified linear unit: ``z`` where ``z > 0``, ``negative_slope * z`` elsewhere.

    Examples
    --------
    >>> leaky_relu(np.array([-2.0, 0.0, 3.0]), 0.1)
    array([-0.2,  0. ,  3. ])
    """
    return np.where(z > 0, z, z * negative_slope)


def leaky_relu_grad(z: np.ndarray, negative_slope: float = 0.01) -> np.ndarray:
    """Derivative of :func:`leaky_relu` at ``z``, in ``z``'s dtype (``negative_slope`` at 0).

    For ``negative_slope >= 0`` the output is positive exactly where the input is, so
    ``z`` may be the output instead of the input.
    """
    return np.where(z > 0, np.array(1, z.dtype), np.array(negative_slope, z.dtype))


def elu(z: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """Exponential linear unit: ``z`` where ``z > 0``, ``alpha * (exp(z) - 1)`` elsewhere.

    ``expm1`` of ``min(z, 0)`` never evaluates ``exp`` of a large positive value (no
    overflow for any finite input) and is accurate near 0.

    Examples
    --------
    >>> elu(np.array([-1e4, 0.0, 1e4]))
    array([-1.e+00,  0.e+00,  1.e+04])
    """
    return np.where(z > 0, z, alpha * np.expm1(np.minimum(z, 0)))


def elu_grad(z: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """Derivative of :func:`elu` at the input ``z``: 1 where ``z > 0``, ``alpha * exp(z)``."""
    return np.where(z > 0, np.array(1, z.dtype), alpha * np.exp(np.minimum(z, 0)))


def elu_grad_from_output(y: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """Derivative of :func:`elu` from its output ``y``: 1 where ``y > 0``, ``y + alpha``.

    Valid for ``alpha >= 0`` only: then the output is positive exactly where the input is.
    """
    return np.where(y > 0, np.array(1, y.dtype), y + alpha)


# The tanh approximation of GELU: 0.5 * z * (1 + tanh(_GELU_C * (z + _GELU_A * z**3))).
_GELU_C = float(np.sqrt(2 / np.pi))
_GELU_A = 0.044715
# tanh's argument at |z| = 10 is about 43.7, where tanh is exactly +-1 in float32 and
# float64; clipping there changes no result and keeps z**3 from overflowing.
_GELU_CLIP = 10.0


def _gelu_tanh(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    clipped = np.clip(z, -_GELU_CLIP, _GELU_CLIP)
    return np.tanh(_GELU_C * (clipped + _GELU_A * clipped * clipped * clipped)), clipped


def gelu(z: np.ndarray) -> np.ndarray:
    """Gaussian error linear unit, tanh approximation, safe for any finite input.

    ``0.5 * z * (1 + tanh(sqrt(2 / pi) * (z + 0.044715 * z**3)))``

    Examples
    --------
    >>> gelu(np.array([-1e30, 0.0, 1.0, 1e30]))
    array([-0.00000000e+00,  0.00000000e+00,  8.41191991e-01,  1.00000000e+30])
    """
    t, _ = _gelu_tanh(z)
    return 0.5 * z * (1 + t)


def gelu_grad(z: np.ndarray) -> np.ndarray:
    """Derivative of :func:`gelu` (the tanh approximation itself, exactly) at ``z``.

    ``0.5 * (1 + t) + 0.5 * z * (1 - t**2) * sqrt(2 / pi) * (1 + 3 * 0.044715 * z**2)``,
    with ``t`` the tanh of :func:`gelu`.
    """
    t, clipped = _gelu_tanh(z)
    # Where z was clipped, 1 - t**2 is exactly 0, so the clipped z gives the same value.
    slope = _GELU_C * (1 + 3 * _GELU_A * clipped * clipped)
    return 0.5 * (1 + t) + 0.5 * clipped * (1 - t * t) * slope


def _channel_axes(ndim: int) -> int | tuple[int, ...]:
    """Every axis of an ``(N, C, *spatial)`` array but the channel axis 1."""
    return 0 if ndim <= 2 else (0, *range(2, ndim))


def _per_channel(a: np.ndarray, ndim: int) -> np.ndarray:
    """A ``(C,)`` array shaped to broadcast along axis 1 of an ``ndim``-d array."""
    return a if ndim <= 2 else a.reshape(-1, *(1,) * (ndim - 2))


def moments(
    x: np.ndarray, axis: int | tuple[int, ...] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and biased variance (divided by n, not n - 1) along ``axis``.

    Parameters
    ----------
    x : ndarray of shape (batch, channels, ...)
        Batch-first: ``(batch, features)``, or ``(batch, channels, *spatial)`` such as
        ``(batch, channels, length)`` or ``(batch, channels, height, width)``.
    axis : int or tuple of int, optional
        The axes to reduce. By default every axis but the channel axis 1 (axis 0 for a
        2-d ``x``), as batch normalisation needs: one mean and one variance per channel,
        over the batch and every spatial position.

    Returns
    -------
    mean, var : ndarray of shape (channels,)
        By default; in general ``x``'s shape without the reduced axes. By default each
        channel's values number ``x.size // x.shape[1]``, the ``n`` of ``n / (n - 1)``.

    Examples
    --------
    >>> moments(np.array([[1.0, 2.0], [3.0, 2.0]]))
    (array([2., 2.]), array([1., 0.]))
    >>> mean, var = moments(np.ones((4, 3, 5, 5)))  # (batch, channels, height, width)
    >>> mean.shape, var.shape
    ((3,), (3,))
    """
    if axis is None:
        axis = _channel_axes(x.ndim)
    mean = np.mean(x, axis=axis)
    centred = x - np.expand_dims(mean, axis)
    return mean, np.mean(centred * centred, axis=axis)


def batch_norm(
    x: np.ndarray,
    mean: np.ndarray,
    var: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray,
    eps: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalise channel by channel (axis 1), then scale and shift.

    ``y = (x - mean) / sqrt(var + eps) * weight + bias``, each ``(channels,)`` array
    applied along axis 1: to every example and every spatial position of a channel.

    Parameters
    ----------
    x : ndarray of shape (batch, channels, ...)
        ``(batch, features)`` or ``(batch, channels, *spatial)``.
    mean, var, weight, bias : ndarray of shape (channels,)
    eps : float
        Added to the variance, for stability.

    Returns
    -------
    y : ndarray of shape (batch, channels, ...)
        Shaped like ``x``.
    x_hat : ndarray of shape (batch, channels, ...)
        The normalised input ``(x - mean) / sqrt(var + eps)``, shaped like ``x``.
    inv_std : ndarray of shape (channels,)
        ``1 / sqrt(var + eps)``.

    Examples
    --------
    >>> x = np.array([[1.0], [3.0]])
    >>> y, x_hat, inv_std = batch_norm(x, *moments(x), np.ones(1), np.zeros(1), eps=0.0)
    >>> y.ravel(), inv_std
    (array([-1.,  1.]), array([1.]))
    >>> x = np.array([[[1.0, 3.0]], [[5.0, 7.0]]])  # (batch 2, 1 channel, length 2)
    >>> y, x_hat, inv_std = batch_norm(x, *moments(x), np.ones(1), np.zeros(1), eps=0.0)
    >>> y.ravel(), inv_std
    (array([-1.34164079, -0.4472136 ,  0.4472136 ,  1.34164079]), array([0.4472136]))
    """
    ndim = x.ndim
    inv_std = 1 / np.sqrt(var + eps)
    x_hat = (x - _per_channel(mean, ndim)) * _per_channel(inv_std, ndim)
    y = x_hat * _per_channel(weight, ndim)
    y += _per_channel(bias, ndim)
    return y, x_hat, inv_std


def batch_norm_grad(
    x_hat: np.ndarray,
    inv_std: np.ndarray,
    weight: np.ndarray,
    grad_y: np.ndarray,
    *,
    batch_statistics: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of :func:`batch_norm` from the gradient ``grad_y`` of its output.

    Parameters
    ----------
    x_hat : ndarray of shape (batch, channels, ...)
        The normalised input from :func:`batch_norm`.
    inv_std : ndarray of shape (channels,)
        ``1 / sqrt(var + eps)`` from :func:`batch_norm`.
    weight : ndarray of shape (channels,)
    grad_y : ndarray of shape (batch, channels, ...)
        Shaped like ``x_hat``.
    batch_statistics : bool, default True
        Whether the mean and variance were the batch's own (training mode, from
        :func:`moments` over every axis but 1), so that the gradient flows through them
        too, or fixed (running statistics, evaluation mode).

    Returns
    -------
    grad_x : ndarray of shape (batch, channels, ...)
    grad_weight : ndarray of shape (channels,)
        ``grad_y * x_hat`` summed over every axis but 1.
    grad_bias : ndarray of shape (channels,)
        ``grad_y`` summed over every axis but 1.

    Examples
    --------
    >>> x = np.array([[1.0], [3.0]])
    >>> y, x_hat, inv_std = batch_norm(x, *moments(x), np.ones(1), np.zeros(1), eps=0.0)
    >>> grad_x, _, _ = batch_norm_grad(x_hat, inv_std, np.ones(1), np.array([[1.0], [1.0]]))
    >>> grad_x.ravel()  # shifting every output equally is undone by the normalisation
    array([0., 0.])
    """
    ndim = grad_y.ndim
    axes = _channel_axes(ndim)
    grad_bias = np.sum(grad_y, axis=axes)
    grad_weight = np.sum(grad_y * x_hat, axis=axes)
    scale = _per_channel(weight * inv_std, ndim)
    if not batch_statistics:
        return grad_y * scale, grad_weight, grad_bias
    # Through the batch mean and variance: each channel's mean of grad_y and its
    # projection on x_hat are removed. (The 1/n belongs to the mean's derivative, not to
    # a loss; n counts the values behind each channel's statistics.)
    n = grad_y.shape[0] * math.prod(grad_y.shape[2:])
    grad_x = grad_y - _per_channel(grad_bias / n, ndim)
    grad_x -= x_hat * _per_channel(grad_weight / n, ndim)
    grad_x *= scale
    return grad_x, grad_weight, grad_bias
