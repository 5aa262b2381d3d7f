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
arrays returned to the caller are fresh. The layer classes are in
:mod:`nnframe.layers.conv`.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["Geometry", "Work", "conv2d", "conv2d_grad_input", "conv2d_grad_params"]

#: ``work(name, shape, dtype)`` returns a work array (uninitialised) that may be reused.
Work = Callable[[str, tuple[int, ...], np.dtype], np.ndarray]


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

    def offsets(self, out_hw: tuple[int, int]) -> list[tuple[int, int, slice, slice]]:
        """Return, for each kernel offset ``(i, j)``, the slices of the padded input it reads."""
        (kh, kw), (sh, sw), (dh, dw) = self.kernel, self.stride, self.dilation
        ho, wo = out_hw
        return [
            (
                i,
                j,
                slice(i * dh, i * dh + sh * (ho - 1) + 1, sh),
                slice(j * dw, j * dw + sw * (wo - 1) + 1, sw),
            )
            for i in range(kh)
            for j in range(kw)
        ]


def channels_last_padded(x: np.ndarray, geometry: Geometry, work: Work) -> np.ndarray:
    """Return ``x`` ``(N, C, H, W)`` as a channels-last ``(N, H', W', C)`` array, padded.

    A view when there is no padding and ``x`` is channels-last already or has one
    channel; otherwise one copy into a work array whose border is zeroed.
    """
    n, c, h, w = x.shape
    top, bottom, left, right = geometry.padding
    nhwc = x.transpose(0, 2, 3, 1)
    if not any(geometry.padding) and (c == 1 or nhwc.flags.c_contiguous):
        return nhwc
    padded = work("padded", (n, top + h + bottom, left + w + right, c), x.dtype)
    padded[:, :top] = 0
    padded[:, top + h :] = 0
    padded[:, top : top + h, :left] = 0
    padded[:, top : top + h, left + w :] = 0
    padded[:, top : top + h, left : left + w] = nhwc
    return padded


def im2col(
    xp: np.ndarray, geometry: Geometry, out_hw: tuple[int, int], bias: bool, work: Work
) -> np.ndarray:
    """Copy every window of the channels-last padded input ``xp`` into a row of ``cols``.

    Returns ``cols`` of shape ``(N * Ho * Wo, K + bias)`` with ``K = kh * kw * C`` in
    (kh, kw, C) order and, when ``bias``, a last column of ones.
    """
    n, _, _, c = xp.shape
    (kh, kw), (sh, sw), (dh, dw) = geometry.kernel, geometry.stride, geometry.dilation
    ho, wo = out_hw
    k = kh * kw * c
    reach = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    windows = sliding_window_view(xp, reach, axis=(1, 2))  # (N, H', W', C, rh, rw)
    windows = windows[:, : sh * (ho - 1) + 1 : sh, : sw * (wo - 1) + 1 : sw, :, ::dh, ::dw]
    cols = work("cols", (n * ho * wo, k + bias), xp.dtype)
    np.copyto(
        np.reshape(cols[:, :k], (n, ho, wo, kh, kw, c), copy=False),
        windows.transpose(0, 1, 2, 4, 5, 3),
    )
    if bias:
        cols[:, k] = 1
    return cols


def conv2d(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None,
    geometry: Geometry,
    work: Work,
) -> tuple[np.ndarray, np.ndarray]:
    """Convolve ``x`` ``(N, C, H, W)`` with ``weight`` ``(O, C, kh, kw)`` and add ``bias``.

    Returns
    -------
    y : ndarray of shape (N, O, Ho, Wo)
        A fresh array, channels-last in memory (a transposed view).
    cols : ndarray of shape (N * Ho * Wo, K + 1) or (N * Ho * Wo, K)
        The im2col matrix, a work array: what :func:`conv2d_grad_params` needs.
    """
    n, _, h, w = x.shape
    out, c, kh, kw = weight.shape
    k = kh * kw * c
    ho, wo = geometry.output_shape(h, w)
    cols = im2col(
        channels_last_padded(x, geometry, work), geometry, (ho, wo), bias is not None, work
    )
    weights = work("weights", (cols.shape[1], out), x.dtype)
    np.copyto(np.reshape(weights[:k], (kh, kw, c, out), copy=False), weight.transpose(2, 3, 1, 0))
    if bias is not None:
        weights[k] = bias
    y = np.empty((n, ho, wo, out), dtype=x.dtype)
    np.dot(cols, weights, out=y.reshape(n * ho * wo, out))
    return y.transpose(0, 3, 1, 2), cols


def rows_of(grad_y: np.ndarray) -> np.ndarray:
    """Return ``grad_y`` ``(N, O, Ho, Wo)`` as rows ``(N * Ho * Wo, O)`` (a view if it can)."""
    n, out, ho, wo = grad_y.shape
    return np.ascontiguousarray(grad_y.transpose(0, 2, 3, 1)).reshape(n * ho * wo, out)


def conv2d_grad_params(
    cols: np.ndarray, grad_rows: np.ndarray, weight_shape: tuple[int, ...], work: Work
) -> tuple[np.ndarray, np.ndarray | None]:
    """Return the weight gradient ``(O, C, kh, kw)`` and the bias gradient ``(O,)`` or None.

    Both are views of one work array, ``cols.T @ grad_rows``: add them where they belong
    before the next call.
    """
    out, c, kh, kw = weight_shape
    k = kh * kw * c
    stacked = work("grad_weights", (cols.shape[1], out), cols.dtype)
    np.dot(cols.T, grad_rows, out=stacked)
    grad_weight = np.reshape(stacked[:k], (kh, kw, c, out), copy=False).transpose(3, 2, 0, 1)
    return grad_weight, (stacked[k] if cols.shape[1] > k else None)


def conv2d_grad_input(
    grad_rows: np.ndarray,
    weight: np.ndarray,
    input_shape: tuple[int, ...],
    geometry: Geometry,
    work: Work,
) -> np.ndarray:
    """Return the gradient with respect to the input ``(N, C, H, W)``, channels-last in memory."""
    n, c, h, w = input_shape
    out, _, kh, kw = weight.shape
    top, bottom, left, right = geometry.padding
    ho, wo = geometry.output_shape(h, w)
    per_offset = work("weight_per_offset", (kh * kw, out, c), weight.dtype)
    np.copyto(np.reshape(per_offset, (kh, kw, out, c), copy=False), weight.transpose(2, 3, 0, 1))
    patches = work("patches", (kh * kw, n * ho * wo, c), weight.dtype)
    np.matmul(grad_rows, per_offset, out=patches)
    grad_padded = np.zeros((n, top + h + bottom, left + w + right, c), dtype=weight.dtype)
    for i, j, rows, columns in geometry.offsets((ho, wo)):
        grad_padded[:, rows, columns] += patches[i * kw + j].reshape(n, ho, wo, c)
    grad_x = grad_padded[:, top : top + h, left : left + w]
    return grad_x.transpose(0, 3, 1, 2)
