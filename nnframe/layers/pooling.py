"""Pooling layers: MaxPool2d, AvgPool2d, MaxPool1d, AvgPool1d and GlobalAvgPool2d."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from nnframe.checks import array_size
from nnframe.errors import ArgumentError
from nnframe.grad_mode import is_grad_enabled
from nnframe.layers.arrays import new_array
from nnframe.layers.base import Layer
from nnframe.layers.config import check_config_keys
from nnframe.layers.geometry import (
    check_window_fits,
    memory_order,
    non_negative_per_axis,
    output_size,
    per_axis,
)
from nnframe.layers.registry import register
from nnframe.layers.spec import InputSpec

__all__ = ["AvgPool1d", "AvgPool2d", "GlobalAvgPool2d", "MaxPool1d", "MaxPool2d"]

P = TypeVar("P", bound="_Pool")

_CONFIG_KEYS = ("kernel_size", "stride", "padding")
_BOOL = np.dtype(bool)


# -- the window arithmetic, on (batch, channels, height, width) ---------------------------
# A Conv2d output may be channels-last (a transposed view of an NHWC buffer). Elementwise
# ufuncs keep such a layout; the arrays made here keep it too (``layout`` is
# geometry.memory_order's answer: None for C order), so nothing is copied into another
# order on the way through.


def _offset_views(
    x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int], *, writeable: bool = False
) -> list[np.ndarray]:
    """One strided view per kernel offset ``(i, j)``, in row-major window order.

    View ``k = i * kw + j`` holds ``x[..., i + sh * oh, j + sw * ow]`` for every output
    position ``(oh, ow)``: pooling is an elementwise reduction over these views, and its
    backward a write (or an add, where windows overlap) into the same views of ``dx``.
    Windows that tile the input are cut out by a reshape, which is cheaper than
    ``sliding_window_view``.
    """
    (kh, kw), (sh, sw) = kernel, stride
    if kernel == stride:
        n, c, h, w = x.shape
        tiles = x[:, :, : h - h % kh, : w - w % kw].reshape(
            (n, c, h // kh, kh, w // kw, kw), copy=False
        )
        return [tiles[:, :, :, i, :, j] for i in range(kh) for j in range(kw)]
    windows = sliding_window_view(x, kernel, axis=(2, 3), writeable=writeable)
    windows = windows[:, :, ::sh, ::sw]
    return [windows[..., i, j] for i in range(kh) for j in range(kw)]


def _max_forward(
    views: list[np.ndarray], record: bool, allocate: Callable[[str, np.dtype, int], np.ndarray]
) -> tuple[np.ndarray, list[np.ndarray]]:
    """The elementwise maximum of ``views`` and, when ``record``, where each window's winner is.

    The maximum is taken view by view; ``winners[k]`` is True where view ``k`` holds the
    window's maximum: the last view strictly greater than every view before it (view 0
    when none is), so a tie goes to the earliest element in row-major window order, as
    PyTorch's. ``allocate(name, dtype, count)`` gives an output-shaped array, or ``count``
    of them stacked on a new first axis.
    """
    y = allocate("y", views[0].dtype, 0)
    if len(views) == 1:
        np.copyto(y, views[0])
        return y, []
    winners = list(allocate("winners", _BOOL, len(views))) if record else []
    if record:  # winners[k] first holds "view k beats every view before it"
        np.greater(views[1], views[0], out=winners[1])
    np.maximum(views[0], views[1], out=y)
    for k, view in enumerate(views[2:], start=2):
        if record:
            np.greater(view, y, out=winners[k])
        np.maximum(y, view, out=y)
    if record:
        # From the last view back: view k wins where it beats those before it and no
        # later view does; view 0 wins where no other view does.
        later = winners[0]
        np.copyto(later, winners[-1])
        for k in range(len(views) - 2, 0, -1):
            np.greater(winners[k], later, out=winners[k])
            np.logical_or(later, winners[k], out=later)
        np.logical_not(later, out=later)
    return y, winners


def _max_backward(
    grad_y: np.ndarray, winners: list[np.ndarray], targets: list[np.ndarray],
    share: np.ndarray | None,
) -> None:
    """Route ``grad_y`` to each window's winner, writing (or adding) into ``targets``.

    One product per view: windows that tile the input (``share`` None) write their views
    of the input gradient, overlapping ones add into them through the work array ``share``.
    """
    if not winners:
        if share is None:
            np.copyto(targets[0], grad_y)
        else:
            targets[0] += grad_y
        return
    for target, winner in zip(targets, winners, strict=True):
        if share is None:
            np.multiply(grad_y, winner, out=target)
        else:
            target += np.multiply(grad_y, winner, out=share)


class _Pool(Layer):
    """Window pooling over the trailing ``spatial`` axes (a private base class)."""

    spatial: ClassVar[int] = 2
    reduce: ClassVar[str] = "max"
    input_spec = InputSpec(min_ndim=4, max_ndim=4)

    def __init__(
        self,
        kernel_size: int | tuple[int, ...],
        stride: int | tuple[int, ...] | None = None,
        padding: int | tuple[int, ...] = 0,
    ) -> None:
        name, n = type(self).__name__, self.spatial
        kernel = per_axis(kernel_size, n, f"{name}: kernel_size")
        steps = kernel if stride is None else per_axis(stride, n, f"{name}: stride")
        pads = non_negative_per_axis(padding, n, f"{name}: padding")
        for k, p in zip(kernel, pads, strict=True):
            if p > k // 2:  # PyTorch's rule: every window keeps an element of the input
                raise ArgumentError(
                    f"{name}: padding should be at most half of the kernel size (pad should "
                    f"be at most half of effective kernel size); got padding={pads} for "
                    f"kernel_size={kernel}"
                )
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel, steps, pads

    # -- geometry -------------------------------------------------------------------

    def _as_2d(self, x: np.ndarray) -> np.ndarray:
        # A sequence (batch, channels, length) is an image of height 1: one code path.
        return x if self.spatial == 2 else x[:, :, None, :]

    def _pairs(self) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
        if self.spatial == 2:
            return self.kernel_size, self.stride, self.padding  # type: ignore[return-value]
        return (1, *self.kernel_size), (1, *self.stride), (0, *self.padding)  # type: ignore[return-value]

    def _simple(self) -> bool:
        """Windows tile the input: no overlap, no gaps between them, no padding."""
        return self.stride == self.kernel_size and not any(self.padding)

    def _padded(self, x: np.ndarray, layout: tuple[int, ...] | None) -> np.ndarray:
        """``x`` padded with -inf (max) or 0 (average), in a reused work array."""
        _, _, (ph, pw) = self._pairs()
        if not (ph or pw):
            return x
        n, c, h, w = x.shape
        shape = (n, c, h + 2 * ph, w + 2 * pw)
        padded = self.scratch("padded", shape, x.dtype, layout)
        padded.fill(-np.inf if self.reduce == "max" else 0.0)
        padded[:, :, ph : ph + h, pw : pw + w] = x
        return padded

    # -- the contract ---------------------------------------------------------------

    def forward(self, x: np.ndarray) -> np.ndarray:
        image = self._as_2d(x)
        kernel, stride, _ = self._pairs()
        check_window_fits(self, x.shape[2:], self.kernel_size, self.padding)
        _, _, (ph, pw) = self._pairs()
        if ph or pw:  # a huge padding: say so before allocating its array
            n, c, h, w = image.shape
            array_size((n, c, h + 2 * ph, w + 2 * pw), image.dtype, repr(self))
        layout = memory_order(image)
        views = _offset_views(self._padded(image, layout), kernel, stride)
        if self.reduce == "max":
            y_shape = views[0].shape

            def allocate(name: str, dtype: np.dtype, count: int) -> np.ndarray:
                if not count:
                    return self.result_array(name, y_shape, dtype, layout)
                stacked = None if layout is None else (0, *(axis + 1 for axis in layout))
                return self.result_array(name, (count, *y_shape), dtype, stacked)

            y, winners = _max_forward(views, is_grad_enabled(), allocate)
            self.save_for_backward(winners=winners, shape=image.shape, layout=layout)
        else:
            y = np.add(views[0], views[1]) if len(views) > 1 else views[0].copy(order="K")
            for view in views[2:]:
                y += view
            y *= 1.0 / len(views)  # padding counts (PyTorch's count_include_pad=True)
            self.save_for_backward(shape=image.shape, layout=layout)
        return y if self.spatial == 2 else y[:, :, 0, :]

    def backward(self, grad_y: np.ndarray) -> np.ndarray | None:
        cache = (
            self.saved("winners", "shape", "layout")
            if self.reduce == "max"
            else (None, *self.saved("shape", "layout"))
        )
        if not self.needs_input_grad:
            return None
        winners, shape, layout = cache
        grad = grad_y if self.spatial == 2 else grad_y[:, :, None, :]
        kernel, stride, (ph, pw) = self._pairs()
        n, c, h, w = shape
        padded_shape = (n, c, h + 2 * ph, w + 2 * pw)
        simple = self._simple()
        if ph or pw:
            target = self.scratch("grad_padded", padded_shape, grad.dtype, layout)
            target.fill(0.0)
        else:
            target = self.result_array("grad_x", padded_shape, grad.dtype, layout)
            covered = simple and all(
                output_size(size, k, k, 0) * k == size
                for size, k in zip((h, w), kernel, strict=True)
            )
            if not covered:  # overlapping windows add up; cropped edges get nothing
                target.fill(0.0)
        views = _offset_views(target, kernel, stride, writeable=True)
        if self.reduce == "max":
            share = None if simple else self.result_array(
                "share", grad.shape, grad.dtype, layout
            )
            _max_backward(grad, winners, views, share)
        else:
            share = grad * (1.0 / len(views))
            for view in views:
                if simple:
                    np.copyto(view, share)
                else:
                    view += share
        grad_x = target[:, :, ph : ph + h, pw : pw + w].copy(order="K") if ph or pw else target
        return grad_x if self.spatial == 2 else grad_x[:, :, 0, :]

    # -- configuration and display --------------------------------------------------

    def _shown(self, sizes: tuple[int, ...]) -> int | tuple[int, ...]:
        return sizes[0] if self.spatial == 1 else sizes

    def get_config(self) -> dict[str, Any]:
        """Return ``kernel_size``, ``stride`` and ``padding``."""
        return {
            "kernel_size": self._shown(self.kernel_size),
            "stride": self._shown(self.stride),
            "padding": self._shown(self.padding),
        }

    @classmethod
    def from_config(cls: type[P], config: Mapping[str, Any]) -> P:
        """Build the layer from :meth:`get_config`'s keys (and only those)."""
        check_config_keys(cls, config, _CONFIG_KEYS)
        return cls(**config)

    def __repr__(self) -> str:
        pad = f", padding={self._shown(self.padding)}" if any(self.padding) else ""
        return (
            f"{type(self).__name__}(kernel_size={self._shown(self.kernel_size)}, "
            f"stride={self._shown(self.stride)}{pad})"
        )


@register
class MaxPool2d(_Pool):
    """2-d max pooling over ``(batch, channels, height, width)`` images.

    ``y[n, c, i, j]`` is the largest ``x[n, c, i * sh + a - ph, j * sw + b - pw]`` over the
    window offsets ``0 <= a < kh``, ``0 <= b < kw``, as PyTorch's ``MaxPool2d``: the output
    is ``floor((size + 2 * padding - kernel) / stride) + 1`` along each axis, padding is
    -inf (never chosen), and the gradient goes to the first maximum of each window in
    row-major order.

    Parameters
    ----------
    kernel_size : int or (int, int)
        Window height and width.
    stride : int or (int, int), optional
        Step between windows; defaults to ``kernel_size``.
    padding : int or (int, int), default 0
        Implicit -inf on each side; at most half the kernel (PyTorch's rule).

    Raises
    ------
    ArgumentError
        For sizes below 1 (padding below 0) or padding above half the kernel.
    ArgumentTypeError
        For sizes that are not ints.

    Notes
    -----
    Ties are where the gradient is not defined (the ``ties`` tag: the testing kit keeps
    the values of an input apart). The cache holds ``kh * kw`` boolean masks of the
    output's shape, one per window position, True where that position holds the
    window's maximum (its winner), not the input.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> pool = nf.MaxPool2d(2)
    >>> pool
    MaxPool2d(kernel_size=(2, 2), stride=(2, 2))
    >>> pool(np.arange(16.0).reshape(1, 1, 4, 4))
    array([[[[ 5.,  7.],
             [13., 15.]]]])
    """

    ties: ClassVar[bool] = True


@register
class AvgPool2d(_Pool):
    """2-d average pooling over ``(batch, channels, height, width)`` images.

    ``y[n, c, i, j]`` is the mean of the ``kh * kw`` window, as PyTorch's ``AvgPool2d``
    with its default ``count_include_pad=True``: padded zeros count in the mean.

    Parameters
    ----------
    kernel_size : int or (int, int)
        Window height and width.
    stride : int or (int, int), optional
        Step between windows; defaults to ``kernel_size``.
    padding : int or (int, int), default 0
        Implicit zeros on each side; at most half the kernel (PyTorch's rule).

    Raises
    ------
    ArgumentError
        For sizes below 1 (padding below 0) or padding above half the kernel.
    ArgumentTypeError
        For sizes that are not ints.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> nf.AvgPool2d(2)(np.arange(16.0).reshape(1, 1, 4, 4))
    array([[[[ 2.5,  4.5],
             [10.5, 12.5]]]])
    """

    reduce: ClassVar[str] = "mean"


@register
class MaxPool1d(_Pool):
    """1-d max pooling over ``(batch, channels, length)`` sequences.

    As :class:`MaxPool2d` along one axis; sizes are ints (or 1-tuples).

    Parameters
    ----------
    kernel_size : int
        Window length.
    stride : int, optional
        Step between windows; defaults to ``kernel_size``.
    padding : int, default 0
        Implicit -inf on each side; at most half the kernel (PyTorch's rule).

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> pool = nf.MaxPool1d(3, stride=2, padding=1)
    >>> pool
    MaxPool1d(kernel_size=3, stride=2, padding=1)
    >>> pool(np.array([[[1.0, 3.0, 2.0, 0.0, 5.0]]]))
    array([[[3., 3., 5.]]])
    """

    spatial: ClassVar[int] = 1
    ties: ClassVar[bool] = True
    input_spec = InputSpec(min_ndim=3, max_ndim=3)


@register
class AvgPool1d(_Pool):
    """1-d average pooling over ``(batch, channels, length)`` sequences.

    As :class:`AvgPool2d` along one axis (padded zeros count in the mean).

    Parameters
    ----------
    kernel_size : int
        Window length.
    stride : int, optional
        Step between windows; defaults to ``kernel_size``.
    padding : int, default 0
        Implicit zeros on each side; at most half the kernel (PyTorch's rule).

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> nf.AvgPool1d(2)(np.array([[[1.0, 3.0, 2.0, 0.0, 5.0]]]))
    array([[[2., 1.]]])
    """

    spatial: ClassVar[int] = 1
    reduce: ClassVar[str] = "mean"
    input_spec = InputSpec(min_ndim=3, max_ndim=3)


@register
class GlobalAvgPool2d(Layer):
    """The mean of each channel over the whole image.

    ``y[n, c] = mean(x[n, c, :, :])``: ``(batch, channels, height, width)`` becomes
    ``(batch, channels)``, as PyTorch's ``adaptive_avg_pool2d(x, 1)`` flattened.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> nf.GlobalAvgPool2d()(np.arange(8.0).reshape(1, 2, 2, 2))
    array([[1.5, 5.5]])
    """

    input_spec = InputSpec(min_ndim=4, max_ndim=4)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.save_for_backward(shape=x.shape, layout=memory_order(x))
        return np.mean(x, axis=(2, 3))

    def backward(self, grad_y: np.ndarray) -> np.ndarray | None:
        shape, layout = self.saved("shape", "layout")
        if not self.needs_input_grad:
            return None
        grad_x = new_array(shape, grad_y.dtype, layout)
        np.multiply(grad_y[:, :, None, None], 1.0 / (shape[2] * shape[3]), out=grad_x)
        return grad_x

    def __repr__(self) -> str:
        return "GlobalAvgPool2d()"
