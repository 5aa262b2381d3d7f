"""Convolutional model, step by step: padding, convolution and pooling, forward and backward.

The course's notebook in its own notation and loop style: examples on the first axis and
channels LAST, ``A_prev.shape == (m, n_H_prev, n_W_prev, n_C_prev)``,
``W.shape == (f, f, n_C_prev, n_C)``, ``b.shape == (1, 1, 1, n_C)``. The loops are the
notebook's, for reading, not for speed: :class:`nnframe.Conv2d`, :class:`nnframe.MaxPool2d`
and :class:`nnframe.AvgPool2d` compute the same numbers batch-first and channels-first
(NCHW), with ``weight = W.transpose(3, 2, 0, 1)`` and ``bias = b.ravel()``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnframe.errors import ArgumentError, ShapeError

__all__ = [
    "conv_backward",
    "conv_forward",
    "conv_single_step",
    "create_mask_from_window",
    "distribute_value",
    "pool_backward",
    "pool_forward",
    "zero_pad",
]

ConvCache = tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]
PoolCache = tuple[np.ndarray, dict[str, Any]]


def _check_images(A_prev: np.ndarray, where: str) -> None:
    if np.ndim(A_prev) != 4:
        raise ShapeError(
            f"{where}: A_prev must have shape (m, n_H_prev, n_W_prev, n_C_prev); "
            f"got shape {np.shape(A_prev)}"
        )


def _check_window(where: str, n_H_prev: int, n_W_prev: int, f: int, stride: int, pad: int) -> None:
    if f < 1 or stride < 1 or pad < 0:
        raise ArgumentError(
            f"{where}: needs f >= 1, stride >= 1 and pad >= 0; got f={f}, stride={stride}, "
            f"pad={pad}"
        )
    if f > min(n_H_prev, n_W_prev) + 2 * pad:
        raise ShapeError(
            f"{where}: the {f}x{f} window does not fit in the padded input of "
            f"{n_H_prev + 2 * pad}x{n_W_prev + 2 * pad}"
        )


def zero_pad(X: np.ndarray, pad: int) -> np.ndarray:
    """Pad with zeros all images of the dataset X, on its height and width.

    Parameters
    ----------
    X : ndarray of shape (m, n_H, n_W, n_C)
        A batch of m images.
    pad : int
        Amount of padding around each image on vertical and horizontal dimensions.

    Returns
    -------
    X_pad : ndarray of shape (m, n_H + 2 * pad, n_W + 2 * pad, n_C)
        The padded images.

    See Also
    --------
    nnframe.Conv2d : Pads inside, with ``padding=pad``.

    Examples
    --------
    >>> zero_pad(np.ones((1, 1, 2, 1)), 1)[0, :, :, 0]
    array([[0., 0., 0., 0.],
           [0., 1., 1., 0.],
           [0., 0., 0., 0.]])
    """
    return np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="constant", constant_values=0)


def conv_single_step(a_slice_prev: np.ndarray, W: np.ndarray, b: np.ndarray) -> Any:
    """Apply one filter defined by parameters W on a single slice of the previous activation.

    Parameters
    ----------
    a_slice_prev : ndarray of shape (f, f, n_C_prev)
        Slice of input data.
    W : ndarray of shape (f, f, n_C_prev)
        Weight parameters contained in a window.
    b : ndarray of shape (1, 1, 1)
        Bias parameter contained in a window.

    Returns
    -------
    Z : float
        The sum of ``a_slice_prev * W`` plus the bias (as a float): the result of
        convolving the sliding window on a slice of x.

    See Also
    --------
    nnframe.Conv2d : All windows and filters at once.

    Examples
    --------
    >>> conv_single_step(np.ones((2, 2, 1)), np.full((2, 2, 1), 0.5), np.full((1, 1, 1), -1.0))
    np.float64(1.0)
    """
    s = np.multiply(a_slice_prev, W)
    Z = np.sum(s)
    # The notebook's float(b): .item(), since float() of a (1, 1, 1) array is deprecated.
    return Z + float(np.asarray(b).item())


def conv_forward(
    A_prev: np.ndarray, W: np.ndarray, b: np.ndarray, hparameters: dict[str, Any]
) -> tuple[np.ndarray, ConvCache]:
    """Implement the forward propagation for a convolution function.

    Parameters
    ----------
    A_prev : ndarray of shape (m, n_H_prev, n_W_prev, n_C_prev)
        Output activations of the previous layer.
    W : ndarray of shape (f, f, n_C_prev, n_C)
        Weights.
    b : ndarray of shape (1, 1, 1, n_C)
        Biases.
    hparameters : dict
        ``{"stride": int, "pad": int}``.

    Returns
    -------
    Z : ndarray of shape (m, n_H, n_W, n_C)
        Conv output, ``n_H = (n_H_prev - f + 2 * pad) // stride + 1`` (so for ``n_W``).
    cache : tuple
        ``(A_prev, W, b, hparameters)``, for :func:`conv_backward`.

    Raises
    ------
    ShapeError
        When the shapes do not agree or the window does not fit.

    See Also
    --------
    nnframe.Conv2d : The layer: ``Conv2d(n_C_prev, n_C, f, stride=stride, padding=pad)``,
        NCHW, ``weight = W.transpose(3, 2, 0, 1)``, ``bias = b.ravel()``.

    Examples
    --------
    >>> A_prev = np.arange(9.0).reshape(1, 3, 3, 1)
    >>> Z, cache = conv_forward(A_prev, np.ones((2, 2, 1, 1)), np.zeros((1, 1, 1, 1)),
    ...                         {"stride": 1, "pad": 0})
    >>> Z[0, :, :, 0]
    array([[ 8., 12.],
           [20., 24.]])
    """
    _check_images(A_prev, "conv_forward")
    (m, n_H_prev, n_W_prev, n_C_prev) = A_prev.shape
    if np.ndim(W) != 4 or W.shape[0] != W.shape[1] or W.shape[2] != n_C_prev:
        raise ShapeError(
            f"conv_forward: W must have shape (f, f, n_C_prev={n_C_prev}, n_C); got {W.shape}"
        )
    (f, f, n_C_prev, n_C) = W.shape
    if np.shape(b) != (1, 1, 1, n_C):
        raise ShapeError(f"conv_forward: b must have shape (1, 1, 1, {n_C}); got {np.shape(b)}")
    stride = hparameters["stride"]
    pad = hparameters["pad"]
    _check_window("conv_forward", n_H_prev, n_W_prev, f, stride, pad)

    n_H = (n_H_prev - f + 2 * pad) // stride + 1
    n_W = (n_W_prev - f + 2 * pad) // stride + 1
    Z = np.zeros((m, n_H, n_W, n_C))
    A_prev_pad = zero_pad(A_prev, pad)
    for i in range(m):  # loop over the batch of training examples
        a_prev_pad = A_prev_pad[i]
        for h in range(n_H):  # loop over vertical axis of the output volume
            vert_start = h * stride
            vert_end = vert_start + f
            for w in range(n_W):  # loop over horizontal axis of the output volume
                horiz_start = w * stride
                horiz_end = horiz_start + f
                for c in range(n_C):  # loop over channels (= #filters) of the output volume
                    a_slice_prev = a_prev_pad[vert_start:vert_end, horiz_start:horiz_end, :]
                    weights = W[:, :, :, c]
                    biases = b[:, :, :, c]
                    Z[i, h, w, c] = conv_single_step(a_slice_prev, weights, biases)

    cache = (A_prev, W, b, hparameters)
    return Z, cache


def pool_forward(
    A_prev: np.ndarray, hparameters: dict[str, Any], mode: str = "max"
) -> tuple[np.ndarray, PoolCache]:
    """Implements the forward pass of the pooling layer.

    Parameters
    ----------
    A_prev : ndarray of shape (m, n_H_prev, n_W_prev, n_C_prev)
        Input data.
    hparameters : dict
        ``{"f": int, "stride": int}``, and optionally ``"pad"`` (default 0, the
        notebook's): max pooling pads with ``-inf``, average pooling with zeros that count
        in the average, as :class:`nnframe.MaxPool2d` and :class:`nnframe.AvgPool2d` do.
    mode : {"max", "average"}, default "max"
        The pooling mode.

    Returns
    -------
    A : ndarray of shape (m, n_H, n_W, n_C)
        ``n_H = 1 + (n_H_prev + 2 * pad - f) // stride`` (so for ``n_W``), ``n_C = n_C_prev``.
    cache : tuple
        ``(A_prev, hparameters)``, for :func:`pool_backward`.

    See Also
    --------
    nnframe.MaxPool2d, nnframe.AvgPool2d : The layers:
        ``MaxPool2d(f, stride=stride, padding=pad)``, NCHW.

    Examples
    --------
    >>> A_prev = np.arange(16.0).reshape(1, 4, 4, 1)
    >>> A, cache = pool_forward(A_prev, {"f": 2, "stride": 2})
    >>> A[0, :, :, 0]
    array([[ 5.,  7.],
           [13., 15.]])
    >>> pool_forward(A_prev, {"f": 2, "stride": 2}, mode="average")[0][0, :, :, 0]
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    """
    _check_images(A_prev, "pool_forward")
    if mode not in ("max", "average"):
        raise ArgumentError(f'pool_forward: mode must be "max" or "average"; got {mode!r}')
    (m, n_H_prev, n_W_prev, n_C_prev) = A_prev.shape
    f = hparameters["f"]
    stride = hparameters["stride"]
    pad = hparameters.get("pad", 0)
    _check_window("pool_forward", n_H_prev, n_W_prev, f, stride, pad)

    n_H = 1 + (n_H_prev + 2 * pad - f) // stride
    n_W = 1 + (n_W_prev + 2 * pad - f) // stride
    n_C = n_C_prev
    A = np.zeros((m, n_H, n_W, n_C))
    A_prev_pad = _pool_pad(A_prev, pad, mode)
    for i in range(m):  # loop over the training examples
        for h in range(n_H):  # loop on the vertical axis of the output volume
            vert_start = h * stride
            vert_end = vert_start + f
            for w in range(n_W):  # loop on the horizontal axis of the output volume
                horiz_start = w * stride
                horiz_end = horiz_start + f
                for c in range(n_C):  # loop over the channels of the output volume
                    a_prev_slice = A_prev_pad[i, vert_start:vert_end, horiz_start:horiz_end, c]
                    if mode == "max":
                        A[i, h, w, c] = np.max(a_prev_slice)
                    elif mode == "average":
                        A[i, h, w, c] = np.mean(a_prev_slice)

    cache = (A_prev, hparameters)
    return A, cache


def _pool_pad(A_prev: np.ndarray, pad: int, mode: str) -> np.ndarray:
    """Pad for pooling: ``-inf`` never wins a max; zeros count in an average."""
    value = -np.inf if mode == "max" else 0.0
    return np.pad(A_prev, ((0, 0), (pad, pad), (pad, pad), (0, 0)), constant_values=value)


def conv_backward(dZ: np.ndarray, cache: ConvCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Implement the backward propagation for a convolution function.

    Parameters
    ----------
    dZ : ndarray of shape (m, n_H, n_W, n_C)
        Gradient of the cost with respect to the output of the conv layer (Z).
    cache : tuple
        The cache of :func:`conv_forward`: ``(A_prev, W, b, hparameters)``.

    Returns
    -------
    dA_prev : ndarray of shape (m, n_H_prev, n_W_prev, n_C_prev)
        Gradient of the cost with respect to the input of the conv layer (A_prev).
    dW : ndarray of shape (f, f, n_C_prev, n_C)
        Gradient of the cost with respect to the weights of the conv layer (W).
    db : ndarray of shape (1, 1, 1, n_C)
        Gradient of the cost with respect to the biases of the conv layer (b).

    See Also
    --------
    nnframe.Conv2d.backward : ``grad_weight = dW.transpose(3, 2, 0, 1)``,
        ``grad_bias = db.ravel()``, ``grad_x = dA_prev.transpose(0, 3, 1, 2)``.

    Notes
    -----
    The padding is cut off with ``pad:pad + n_H_prev`` where the notebook writes
    ``pad:-pad``, which is empty for ``pad = 0``.

    Examples
    --------
    >>> A_prev = np.arange(9.0).reshape(1, 3, 3, 1)
    >>> Z, cache = conv_forward(A_prev, np.ones((2, 2, 1, 1)), np.zeros((1, 1, 1, 1)),
    ...                         {"stride": 1, "pad": 0})
    >>> dA_prev, dW, db = conv_backward(np.ones_like(Z), cache)
    >>> dA_prev[0, :, :, 0]
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]])
    >>> dW[:, :, 0, 0], db.ravel()
    (array([[ 8., 12.],
           [20., 24.]]), array([4.]))
    """
    (A_prev, W, _b, hparameters) = cache
    (m, n_H_prev, n_W_prev, n_C_prev) = A_prev.shape
    (f, f, n_C_prev, n_C) = W.shape
    stride = hparameters["stride"]
    pad = hparameters["pad"]
    (m, n_H, n_W, n_C) = dZ.shape

    dA_prev = np.zeros((m, n_H_prev, n_W_prev, n_C_prev))
    dW = np.zeros((f, f, n_C_prev, n_C))
    db = np.zeros((1, 1, 1, n_C))
    A_prev_pad = zero_pad(A_prev, pad)
    dA_prev_pad = zero_pad(dA_prev, pad)
    for i in range(m):  # loop over the training examples
        a_prev_pad = A_prev_pad[i]
        da_prev_pad = dA_prev_pad[i]
        for h in range(n_H):  # loop over vertical axis of the output volume
            for w in range(n_W):  # loop over horizontal axis of the output volume
                for c in range(n_C):  # loop over the channels of the output volume
                    vert_start = h * stride
                    vert_end = vert_start + f
                    horiz_start = w * stride
                    horiz_end = horiz_start + f
                    a_slice = a_prev_pad[vert_start:vert_end, horiz_start:horiz_end, :]
                    da_prev_pad[vert_start:vert_end, horiz_start:horiz_end, :] += (
                        W[:, :, :, c] * dZ[i, h, w, c]
                    )
                    dW[:, :, :, c] += a_slice * dZ[i, h, w, c]
                    db[:, :, :, c] += dZ[i, h, w, c]
        dA_prev[i, :, :, :] = da_prev_pad[pad : pad + n_H_prev, pad : pad + n_W_prev, :]

    return dA_prev, dW, db


def create_mask_from_window(x: np.ndarray) -> np.ndarray:
    """Creates a mask from an input matrix x, to identify the max entry of x.

    Parameters
    ----------
    x : ndarray of shape (f, f)

    Returns
    -------
    mask : ndarray of bool, shape (f, f)
        True at the position of the max entry of x; at every position of a tied max.

    See Also
    --------
    nnframe.MaxPool2d : Routes the gradient to the first maximum of a window only.

    Examples
    --------
    >>> create_mask_from_window(np.array([[1.0, 3.0], [3.0, -1.0]]))
    array([[False,  True],
           [ True, False]])
    """
    mask = x == np.max(x)
    return mask


def distribute_value(dz: float, shape: tuple[int, int]) -> np.ndarray:
    """Distributes the input value in the matrix of dimension shape.

    Parameters
    ----------
    dz : float
        Input scalar.
    shape : tuple of int
        ``(n_H, n_W)``, the shape of the output matrix for which we want to distribute
        the value of dz.

    Returns
    -------
    a : ndarray of shape (n_H, n_W)
        ``dz / (n_H * n_W)`` everywhere.

    See Also
    --------
    nnframe.AvgPool2d : Spreads each window's gradient this way.

    Examples
    --------
    >>> distribute_value(2.0, (2, 2))
    array([[0.5, 0.5],
           [0.5, 0.5]])
    """
    (n_H, n_W) = shape
    average = dz / (n_H * n_W)
    a = np.ones(shape) * average
    return a


def pool_backward(dA: np.ndarray, cache: PoolCache, mode: str = "max") -> np.ndarray:
    """Implements the backward pass of the pooling layer.

    Parameters
    ----------
    dA : ndarray of shape (m, n_H, n_W, n_C)
        Gradient of cost with respect to the output of the pooling layer, same shape as A.
    cache : tuple
        The cache of :func:`pool_forward`: ``(A_prev, hparameters)``.
    mode : {"max", "average"}, default "max"
        The pooling mode.

    Returns
    -------
    dA_prev : ndarray of shape (m, n_H_prev, n_W_prev, n_C_prev)
        Gradient of cost with respect to the input of the pooling layer, same shape as
        A_prev.

    See Also
    --------
    nnframe.MaxPool2d.backward, nnframe.AvgPool2d.backward : The layers' backward passes.

    Notes
    -----
    With a ``"pad"`` in ``hparameters`` the windows run over the padded input, as in
    :func:`pool_forward`, and the padding's share is dropped at the end.

    Examples
    --------
    >>> A_prev = np.arange(16.0).reshape(1, 4, 4, 1)
    >>> A, cache = pool_forward(A_prev, {"f": 2, "stride": 2})
    >>> pool_backward(np.ones_like(A), cache)[0, :, :, 0]
    array([[0., 0., 0., 0.],
           [0., 1., 0., 1.],
           [0., 0., 0., 0.],
           [0., 1., 0., 1.]])
    """
    if mode not in ("max", "average"):
        raise ArgumentError(f'pool_backward: mode must be "max" or "average"; got {mode!r}')
    (A_prev, hparameters) = cache
    stride = hparameters["stride"]
    f = hparameters["f"]
    pad = hparameters.get("pad", 0)
    m, n_H_prev, n_W_prev, _n_C_prev = A_prev.shape
    m, n_H, n_W, n_C = dA.shape

    A_prev_pad = _pool_pad(A_prev, pad, mode)
    dA_prev_pad = np.zeros(A_prev_pad.shape)
    for i in range(m):  # loop over the training examples
        a_prev = A_prev_pad[i]
        for h in range(n_H):  # loop on the vertical axis
            for w in range(n_W):  # loop on the horizontal axis
                for c in range(n_C):  # loop over the channels (depth)
                    vert_start = h * stride
                    vert_end = vert_start + f
                    horiz_start = w * stride
                    horiz_end = horiz_start + f
                    if mode == "max":
                        a_prev_slice = a_prev[vert_start:vert_end, horiz_start:horiz_end, c]
                        mask = create_mask_from_window(a_prev_slice)
                        dA_prev_pad[i, vert_start:vert_end, horiz_start:horiz_end, c] += (
                            np.multiply(mask, dA[i, h, w, c])
                        )
                    elif mode == "average":
                        da = dA[i, h, w, c]
                        shape = (f, f)
                        dA_prev_pad[i, vert_start:vert_end, horiz_start:horiz_end, c] += (
                            distribute_value(da, shape)
                        )

    dA_prev = dA_prev_pad[:, pad : pad + n_H_prev, pad : pad + n_W_prev, :].copy()
    return dA_prev
