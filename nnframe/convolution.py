"""Two-dimensional convolution as matrix products: im2col, one GEMM, col2im.

The whole convolution, forward and backward, for one group of channels:

* the input is read channels-last, ``(batch, height, width, channels)``, with the padding
  written around it in the same copy when there is any;
* ``im2col`` copies every window into a row of ``cols`` of shape ``(positions, K + 1)``,
  with ``K = kh * kw * channels`` in (kh, kw, channel) order and a last column of ones;
* ``weights`` ``(K + 1, out)`` stacks the weight, in the same order, over the bias, so one
  GEMM ``cols @ weights`` gives the output, channels-last, bias included;
* the weight and bias gradients come out of one GEMM, ``cols.T @ grad``;
* the input gradient: one batched GEMM gives the gradient of every kernel offset's patch,
  each contiguous, and ``col2im`` adds the patches into a zeroed (padded) input gradient
  with one strided slice-add per offset (no ``np.add.at``).

Work arrays come from a ``work(name, shape, dtype)`` callable (a layer's
:meth:`~nnframe.Layer.scratch`), so a training step reuses them instead of allocating;
arrays returned to the caller come from ``result`` (a layer's
:meth:`~nnframe.Layer.result_array`: memory nobody else holds any more, else new).
The layer classes are in :mod:`nnframe.layers.conv`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import attrs
import numpy as np
from numpy.lib.stride_tricks import as_strided

__all__ = ["Geometry", "Work", "conv2d", "conv2d_grad_input", "conv2d_grad_params"]

#: ``work(name, shape, dtype)`` returns a work array (uninitialised) that may be reused.
Work = Callable[[str, tuple[int, ...], np.dtype], np.ndarray]


def new_array(name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """The default source of returned arrays: a new uninitialised one each time."""
    return np.empty(shape, dtype=dtype)


@attrs.frozen
class Geometry:
    """Where a convolution's windows sit: kernel, stride, dilation and padding per axis.

    ``padding`` holds ``(top, bottom, left, right)``, so that ``padding="same"`` with an
    even kernel pads one more after than before, as PyTorch does.
    """

    kernel: tuple[int, int]
    stride: tuple[int, int]
    dilation: tuple[int, int]
    padding: tuple[int, int, int, int]

    def output_shape(self, height: int, width: int) -> tuple[int, int]:
        """Return ``(out_height, out_width)`` for an input of ``height`` x ``width``."""
        top, bottom, left, right = self.padding
        (kh, kw), (sh, sw), (dh, dw) = self.kernel, self.stride, self.dilation
        return (
            (height + top + bottom - dh * (kh - 1) - 1) // sh + 1,
            (width + left + right - dw * (kw - 1) - 1) // sw + 1,
        )


@functools.lru_cache(maxsize=256)
def kernel_offsets(
    geometry: Geometry, out_hw: tuple[int, int]
) -> tuple[tuple[int, tuple[slice, slice, slice]], ...]:
    """Return, for each kernel offset, its index and the part of the padded input it reads.

    The index counts offsets in (kh, kw) order; the part is an index into a channels-last
    ``(N, H', W', C)`` array. Cached: a training step asks for the same ones every time.
    """
    (kh, kw), (sh, sw), (dh, dw) = geometry.kernel, geometry.stride, geometry.dilation
    ho, wo = out_hw
    return tuple(
        (
            i * kw + j,
            (
                slice(None),
                slice(i * dh, i * dh + sh * (ho - 1) + 1, sh),
                slice(j * dw, j * dw + sw * (wo - 1) + 1, sw),
            ),
        )
        for i in range(kh)
        for j in range(kw)
    )


def window_view(
    xp: np.ndarray, geometry: Geometry, out_hw: tuple[int, int], channels_first: bool
) -> np.ndarray:
    """Return every window of the padded input ``xp`` as a strided view (no copy).

    ``(N, C, Ho, Wo, kh, kw)`` for channels-first ``xp`` ``(N, C, H', W')``, and
    ``(N, Ho, Wo, kh, kw, C)`` for channels-last ``xp`` ``(N, H', W', C)``.
    """
    (kh, kw), (sh, sw), (dh, dw) = geometry.kernel, geometry.stride, geometry.dilation
    if channels_first:
        n, c, _, _ = xp.shape
        bn, bc, bh, bw = xp.strides
        shape = (n, c, *out_hw, kh, kw)
        strides = (bn, bc, bh * sh, bw * sw, bh * dh, bw * dw)
    else:
        n, _, _, c = xp.shape
        bn, bh, bw, bc = xp.strides
        shape = (n, *out_hw, kh, kw, c)
        strides = (bn, bh * sh, bw * sw, bh * dh, bw * dw, bc)
    return as_strided(xp, shape, strides, writeable=False)


def padded(x: np.ndarray, geometry: Geometry, channels_first: bool, work: Work) -> np.ndarray:
    """Return ``x`` ``(N, C, H, W)`` padded, channels-first or channels-last as asked.

    A view of ``x`` when there is no padding; otherwise a copy into a work array, whose
    border is zero from its allocation and never written (the padding is part of its
    name, so another padding never finds an old interior in its border).
    """
    top, bottom, left, right = geometry.padding
    n, c, h, w = x.shape
    if channels_first:
        if not any(geometry.padding):
            return x
        xp = work(
            f"padded channels-first {geometry.padding}",
            (n, c, top + h + bottom, left + w + right),
            x.dtype,
        )
        xp[:, :, top : top + h, left : left + w] = x
        return xp
    nhwc = x.transpose(0, 2, 3, 1)
    if not any(geometry.padding):
        return nhwc
    xp = work(
        f"padded channels-last {geometry.padding}",
        (n, top + h + bottom, left + w + right, c),
        x.dtype,
    )
    xp[:, top : top + h, left : left + w] = nhwc
    return xp


def im2col(
    x: np.ndarray, geometry: Geometry, out_hw: tuple[int, int], bias: bool, work: Work
) -> tuple[np.ndarray, bool]:
    """Copy every window of ``x`` ``(N, C, H, W)`` into a row of the matrix ``cols``.

    Returns ``cols`` of shape ``(N * Ho * Wo, K + bias)`` with, when ``bias``, a last
    column of ones, and whether its ``K = C * kh * kw`` columns are in channels-first
    (C, kh, kw) order or channels-last (kh, kw, C) order. A channels-first input (one
    channel, or NCHW memory: a model's first layer) is copied channels-first into the
    transpose of ``cols``, in runs along the output's width; a channels-last input
    (another convolution's output) in runs of ``kw * C``. Either way the copy reads
    memory in order.
    """
    n, c, _, _ = x.shape
    kh, kw = geometry.kernel
    ho, wo = out_hw
    k = c * kh * kw
    channels_first = c == 1 or x.strides[1] > x.strides[3]
    windows = window_view(
        padded(x, geometry, channels_first, work), geometry, out_hw, channels_first
    )
    if channels_first:
        cols_t = work("cols", (k + bias, n * ho * wo), x.dtype)
        np.copyto(
            cols_t[:k].reshape((c, kh, kw, n, ho, wo), copy=False),
            windows.transpose(1, 4, 5, 0, 2, 3),
        )
        cols = cols_t.T
    else:
        cols = work("cols", (n * ho * wo, k + bias), x.dtype)
        np.copyto(cols[:, :k].reshape((n, ho, wo, kh, kw, c), copy=False), windows)
    if bias:
        cols[:, k] = 1
    return cols, channels_first


def weight_rows(weight: np.ndarray, channels_first: bool) -> np.ndarray:
    """Return ``weight`` ``(O, C, kh, kw)`` as the view ``(C, kh, kw, O)`` or ``(kh, kw, C, O)``."""
    return weight.transpose(1, 2, 3, 0) if channels_first else weight.transpose(2, 3, 1, 0)


def conv2d(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None,
    geometry: Geometry,
    work: Work,
    result: Work = new_array,
) -> tuple[np.ndarray, tuple[np.ndarray, bool]]:
    """Convolve ``x`` ``(N, C, H, W)`` with ``weight`` ``(O, C, kh, kw)`` and add ``bias``.

    Returns
    -------
    y : ndarray of shape (N, O, Ho, Wo)
        A fresh array, channels-last in memory (a transposed view).
    cols : (ndarray, bool)
        The im2col matrix (a work array) and its column order: what
        :func:`conv2d_grad_params` needs.
    """
    n, _, h, w = x.shape
    out, c, kh, kw = weight.shape
    k = c * kh * kw
    ho, wo = geometry.output_shape(h, w)
    cols, channels_first = im2col(x, geometry, (ho, wo), bias is not None, work)
    weights = work("weights", (cols.shape[1], out), x.dtype)
    rows = weight_rows(weight, channels_first)
    np.copyto(weights[:k].reshape(rows.shape, copy=False), rows)
    if bias is not None:
        weights[k] = bias
    y = result("y", (n, ho, wo, out), x.dtype)
    np.dot(cols, weights, out=y.reshape(n * ho * wo, out))
    return y.transpose(0, 3, 1, 2), (cols, channels_first)


def rows_of(grad_y: np.ndarray) -> np.ndarray:
    """Return ``grad_y`` ``(N, O, Ho, Wo)`` as rows ``(N * Ho * Wo, O)`` (a view if it can)."""
    n, out, ho, wo = grad_y.shape
    return np.ascontiguousarray(grad_y.transpose(0, 2, 3, 1)).reshape(n * ho * wo, out)


def conv2d_grad_params(
    cols: tuple[np.ndarray, bool],
    grad_rows: np.ndarray,
    weight_shape: tuple[int, ...],
    work: Work,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Return the weight gradient ``(O, C, kh, kw)`` and the bias gradient ``(O,)`` or None.

    Both are views of one work array, ``cols.T @ grad_rows``: add them where they belong
    before the next call.
    """
    matrix, channels_first = cols
    out, c, kh, kw = weight_shape
    k = c * kh * kw
    stacked = work("grad_weights", (matrix.shape[1], out), matrix.dtype)
    np.dot(matrix.T, grad_rows, out=stacked)
    if channels_first:
        grad_weight = stacked[:k].reshape((c, kh, kw, out), copy=False).transpose(3, 0, 1, 2)
    else:
        grad_weight = stacked[:k].reshape((kh, kw, c, out), copy=False).transpose(3, 2, 0, 1)
    return grad_weight, (stacked[k] if matrix.shape[1] > k else None)


def carve(memory: np.ndarray | None, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray | None:
    """Return an array of ``shape`` in the memory of ``memory``, or None if it does not fit.

    ``memory`` (or its transpose) must be contiguous, of ``dtype``, and hold enough elements.
    """
    if memory is None or memory.dtype != dtype:
        return None
    whole = memory if memory.flags.c_contiguous else memory.T
    if not whole.flags.c_contiguous or whole.size < math.prod(shape):
        return None
    return whole.reshape(-1)[: math.prod(shape)].reshape(shape)


def conv2d_grad_input(
    grad_rows: np.ndarray,
    weight: np.ndarray,
    input_shape: tuple[int, ...],
    geometry: Geometry,
    work: Work,
    result: Work = new_array,
    spent: np.ndarray | None = None,
) -> np.ndarray:
    """Return the gradient with respect to the input ``(N, C, H, W)``, channels-last in memory.

    ``spent`` is a work array nobody needs any more (the im2col matrix, once the
    parameters' gradients are taken from it): the patches take its memory when it is
    large enough, so a step holds one matrix of that size per convolution, not two.
    """
    n, c, h, w = input_shape
    out, _, kh, kw = weight.shape
    top, bottom, left, right = geometry.padding
    ho, wo = geometry.output_shape(h, w)
    per_offset = work("weight_per_offset", (kh * kw, out, c), weight.dtype)
    np.copyto(per_offset.reshape((kh, kw, out, c), copy=False), weight.transpose(2, 3, 0, 1))
    patches = carve(spent, (kh * kw, n * ho * wo, c), weight.dtype)
    if patches is None:
        patches = work("patches", (kh * kw, n * ho * wo, c), weight.dtype)
    np.matmul(grad_rows, per_offset, out=patches)
    grad_padded = result("grad_x", (n, top + h + bottom, left + w + right, c), weight.dtype)
    grad_padded.fill(0)
    per_patch = patches.reshape(kh * kw, n, ho, wo, c)
    for index, part in kernel_offsets(geometry, (ho, wo)):
        grad_padded[part] += per_patch[index]
    grad_x = grad_padded[:, top : top + h, left : left + w]
    return grad_x.transpose(0, 3, 1, 2)
