"""Window geometry shared by convolution and pooling: sizes per axis, output sizes, layout."""

from __future__ import annotations

import math

import numpy as np

from nnframe.checks import Check, non_negative_int, positive_int
from nnframe.errors import ArgumentTypeError, ShapeError

__all__ = [
    "check_window_fits",
    "is_channels_last",
    "non_negative_per_axis",
    "output_size",
    "per_axis",
]


def per_axis(
    value: object, ndim: int, where: str, check: Check[int] = positive_int
) -> tuple[int, ...]:
    """Return an int-or-tuple size as one int per spatial axis, each passing ``check``.

    Parameters
    ----------
    value : int or tuple of int
        One size for every axis (``3``), or one per axis (``(3, 5)``).
    ndim : int
        The number of spatial axes (2 for images, 1 for sequences).
    where : str
        Where the value is given (``"Conv2d: stride"``); starts error messages.
    check : callable, default positive_int
        The check each size must pass (``non_negative_int`` for padding).

    Examples
    --------
    >>> per_axis(3, 2, "Conv2d: kernel_size")
    (3, 3)
    >>> per_axis((1, 2), 2, "Conv2d: padding", non_negative_int)
    (1, 2)
    >>> per_axis((1, 2, 3), 2, "Conv2d: stride")
    Traceback (most recent call last):
    ...
    nnframe.errors.ArgumentTypeError: Conv2d: stride must be an int or a tuple of 2 ints; ...
    """
    if isinstance(value, tuple | list):
        if len(value) != ndim:
            ints = "an int" if ndim == 1 else f"an int or a tuple of {ndim} ints"
            raise ArgumentTypeError(f"{where} must be {ints}; got {tuple(value)!r}")
        return tuple(check(v, f"{where}[{i}]") for i, v in enumerate(value))
    return (check(value, where),) * ndim


def non_negative_per_axis(value: object, ndim: int, where: str) -> tuple[int, ...]:
    """:func:`per_axis` for paddings: each size may be 0."""
    return per_axis(value, ndim, where, non_negative_int)


def output_size(size: int, kernel: int, stride: int, padding: int, dilation: int = 1) -> int:
    """Return the number of window positions along one axis (PyTorch's floor rule).

    ``(size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1``; at most 0 when
    the dilated kernel does not fit in the padded input.

    Examples
    --------
    >>> output_size(28, 5, 1, 0)
    24
    >>> output_size(8, 3, 2, 1, dilation=2)
    3
    """
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def check_window_fits(
    where: object,
    spatial: tuple[int, ...],
    kernel: tuple[int, ...],
    padding: tuple[int, ...],
    dilation: tuple[int, ...] | None = None,
) -> None:
    """Raise ``ShapeError`` naming ``where`` when a (dilated) kernel exceeds the padded input.

    ``where`` is a string or the layer itself, whose ``repr`` is then made only for the
    message.

    Examples
    --------
    >>> check_window_fits("Conv2d(1, 2, kernel_size=(5, 5))", (4, 8), (5, 5), (0, 0))
    Traceback (most recent call last):
    ...
    nnframe.errors.ShapeError: Conv2d(1, 2, kernel_size=(5, 5)): the kernel (5, 5) does not fit ...
    """
    dilation = dilation or (1,) * len(kernel)
    reach = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True))
    padded = tuple(n + 2 * p for n, p in zip(spatial, padding, strict=True))
    if any(r > n for r, n in zip(reach, padded, strict=True)):
        dilated = "" if reach == kernel else f" (dilated to {reach})"
        name = where if isinstance(where, str) else repr(where)
        raise ShapeError(
            f"{name}: the kernel {kernel}{dilated} does not fit in the input's spatial "
            f"size {spatial} padded by {padding} (that is {padded})"
        )


def is_channels_last(x: np.ndarray) -> bool:
    """Return whether ``x`` ``(batch, channels, ...)`` is laid out channels-last in memory.

    True when moving the channel axis last gives a C-contiguous array and there is more
    than one channel and more than one position (otherwise both layouts are the same).

    Examples
    --------
    >>> import numpy as np
    >>> nhwc = np.zeros((2, 5, 5, 3))
    >>> is_channels_last(nhwc.transpose(0, 3, 1, 2)), is_channels_last(np.zeros((2, 3, 5, 5)))
    (True, False)
    """
    return (
        x.ndim >= 3
        and x.shape[1] > 1
        and math.prod(x.shape[2:]) > 1
        and x.transpose(0, *range(2, x.ndim), 1).flags.c_contiguous
    )


def memory_order(x: np.ndarray) -> tuple[int, ...] | None:
    """Return ``x``'s axes from the outermost to the innermost in memory; None for C order.

    What :meth:`nnframe.Layer.result_array` takes to lay a result out like ``x``, so
    that elementwise work on the two runs through memory in order.

    Examples
    --------
    >>> import numpy as np
    >>> memory_order(np.zeros((2, 5, 5, 3)).transpose(0, 3, 1, 2))
    (0, 2, 3, 1)
    >>> memory_order(np.zeros((2, 3))) is None
    True
    """
    if x.flags.c_contiguous:
        return None
    if is_channels_last(x):  # a convolution's output: the common case, without sorting
        return (0, *range(2, x.ndim), 1)
    return tuple(sorted(range(x.ndim), key=lambda axis: -abs(x.strides[axis])))
