"""A hand-written, careful numpy training step for small conv nets: the convolution reference.

The same computation as the nnframe and PyTorch contenders (conv / ReLU / 2x2 max-pool
blocks, Flatten, Linear layers with ReLU between them, softmax cross-entropy, plain SGD),
written the way a performance-minded person would write it for one fixed architecture:

- **im2col into reused buffers, one ``np.dot`` per product.** Each convolution copies its
  (padded) input's windows into one column matrix, allocated once, in one strided copy;
  forward is ``cols @ W``, the weight gradient ``cols.T @ dY``, the input gradient
  ``dY @ W.T`` (per kernel offset): no ``einsum``, no ``tensordot``.
- **The bias folded into the GEMM** through a column of ones at the end of ``cols`` (set
  once): the weight matrix has the bias as its last row, so forward adds it and the weight
  gradient's last row is the bias gradient, both for free. The first Linear layer does the
  same through a ones column after the flattened features.
- **col2im by slice-adds over the kernel offsets**: one batched product gives the input
  gradient of each kernel offset as a contiguous ``(n, h, w, c)`` block, and ``kh * kw``
  strided additions put the blocks into a zeroed padded buffer, reading memory in order
  (adding from the strided columns of ``dY @ W.T`` instead took about 4x as long); no
  ``np.add.at``; the first convolution computes **no input gradient**.
- **Channels-last (NHWC) after the first convolution.** The first convolution reads the
  NCHW batch; its GEMM's output rows are ``(n, h, w)`` positions with channels last, and so
  everything after it is NHWC: the next im2col copies runs of contiguous channels.
- **Max-pool 2x2 by a tournament** over the four strided quadrant views: two pairwise
  maxima and a final one, each remembering with a strict ``>`` which side won, so ties go to
  the first element in the window's row-major order, as PyTorch's; the forward turns the
  three choices into one-hot winner masks, so the backward is one multiplication per
  quadrant, writing every element of the input gradient (no zeroing, no scatter; routing
  through the three choices took twice as long). A pool followed by a padded convolution writes
  straight into the interior of that convolution's padded input buffer (borders zeroed
  once), and reads its gradient from the interior of the padded gradient: no padding copy.
- **Flatten emits PyTorch's (C, H, W) order** (one transposing copy of the NHWC pooled
  output), so the Linear weights are PyTorch's; its backward is a transposed view.
- ReLU in place; its backward a multiplication by a boolean mask (no boolean indexing).
- Parameters, gradients (written, not accumulated, so no ``zero_grad``) and SGD's work
  array each live in one flat array; the update is two numpy calls for the whole model.
- Everything is allocated in ``__init__``: a step allocates nothing large.

Weights are kept in the GEMM's layout (``(K + 1, out)``, bias last); ``parameters()`` and
``gradients()`` give them back in PyTorch's layouts.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from benchmarks.numpy_reference import softmax_cross_entropy

__all__ = ["NumpyConvNet"]

Spec = tuple[Any, ...]


def _windows_nchw(a: np.ndarray, k: int, out_h: int, out_w: int) -> np.ndarray:
    """The stride-1 ``k x k`` windows of NCHW ``a``, as a view ``(n, oh, ow, c, k, k)``."""
    sn, sc, sh, sw = a.strides
    shape = (a.shape[0], out_h, out_w, a.shape[1], k, k)
    return as_strided(a, shape, (sn, sh, sw, sc, sh, sw), writeable=False)


def _windows_nhwc(a: np.ndarray, k: int, out_h: int, out_w: int) -> np.ndarray:
    """The stride-1 ``k x k`` windows of NHWC ``a``, as a view ``(n, oh, ow, k, k, c)``."""
    sn, sh, sw, sc = a.strides
    shape = (a.shape[0], out_h, out_w, k, k, a.shape[3])
    return as_strided(a, shape, (sn, sh, sw, sh, sw, sc), writeable=False)


def _view(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``a`` reshaped without a copy (raises if one would be needed)."""
    return np.reshape(a, shape, copy=False)


class _Conv:
    """One convolution followed by ReLU and a 2x2 max-pool, with all its buffers."""

    def __init__(
        self, spec: Spec, batch: int, in_hw: tuple[int, int], first: bool, dtype: np.dtype
    ) -> None:
        _, cin, cout, k, p = spec
        h, w = in_hw
        oh, ow = h + 2 * p - k + 1, w + 2 * p - k + 1
        if oh % 2 or ow % 2:
            raise ValueError(f"the reference pools 2x2 without remainder; got {oh}x{ow}")
        self.cin, self.cout, self.k, self.p, self.h, self.w = cin, cout, k, p, h, w
        self.oh, self.ow, self.first = oh, ow, first
        self.K = cin * k * k
        m = batch * oh * ow
        hp, wp = h + 2 * p, w + 2 * p
        # The padded input: NCHW for the first layer (only when padded: else the batch is
        # read in place), NHWC after; the pool before a later layer writes its interior.
        if first:
            self.padded = np.zeros((batch, cin, hp, wp), dtype) if p else None
        else:
            self.padded = np.zeros((batch, hp, wp, cin), dtype)
            self.interior = self.padded[:, p : p + h, p : p + w, :]
            self.grad_padded = np.zeros((batch, hp, wp, cin), dtype)
            self.grad_interior = self.grad_padded[:, p : p + h, p : p + w, :]
            # The input gradient per kernel offset, each a contiguous (n, h, w, c) block:
            # the slice-adds of col2im then read memory in order.
            self.weight_offsets = np.empty((k * k, cout, cin), dtype)
            self.patches = np.empty((k * k, m, cin), dtype)
            self.patches6 = _view(self.patches, (k, k, batch, oh, ow, cin))
            self.windows = _windows_nhwc(self.padded, k, oh, ow)
        self.cols = np.empty((m, self.K + 1), dtype)
        self.cols[:, self.K] = 1  # the bias column
        order = (batch, oh, ow, cin, k, k) if first else (batch, oh, ow, k, k, cin)
        self.cols6 = _view(self.cols[:, : self.K], order)
        self.out = np.empty((m, cout), dtype)  # conv + ReLU, rows (n, h, w): NHWC
        self.grad_out = np.empty((m, cout), dtype)
        self.relu_mask = np.empty((m, cout), bool)
        # The 2x2 max-pool's tournament.
        pooled = (batch, oh // 2, ow // 2, cout)
        self.pick_right_top = np.empty(pooled, bool)
        self.pick_right_bottom = np.empty(pooled, bool)
        self.pick_bottom = np.empty(pooled, bool)
        self.top = np.empty(pooled, dtype)
        self.bottom = np.empty(pooled, dtype)
        # Which quadrant won each window, one-hot: backward is one product per quadrant.
        self.winners = [np.empty(pooled, bool) for _ in range(4)]
        out4 = _view(self.out, (batch, oh, ow, cout))
        grad4 = _view(self.grad_out, (batch, oh, ow, cout))
        self.quadrants = [out4[:, i::2, j::2, :] for i in (0, 1) for j in (0, 1)]
        self.grad_quadrants = [grad4[:, i::2, j::2, :] for i in (0, 1) for j in (0, 1)]

    def set_weights(self, matrix: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> None:
        """Write PyTorch-layout ``weight`` ``(out, in, k, k)`` and ``bias`` into ``matrix``."""
        w = weight if self.first else weight.transpose(0, 2, 3, 1)
        matrix[: self.K] = w.reshape(self.cout, self.K).T
        matrix[self.K] = bias

    def get_weights(self, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``matrix`` back in PyTorch's layout: ``(weight, bias)`` copies."""
        k = self.k
        if self.first:
            weight = matrix[: self.K].T.reshape(self.cout, self.cin, k, k)
        else:
            weight = matrix[: self.K].T.reshape(self.cout, k, k, self.cin).transpose(0, 3, 1, 2)
        return np.ascontiguousarray(weight), matrix[self.K].copy()

    def forward(self, x: np.ndarray | None, matrix: np.ndarray, pool_out: np.ndarray) -> None:
        """Convolution (x: the NCHW batch, first layer only), ReLU, pool into ``pool_out``."""
        if self.first:
            assert x is not None
            source = x
            if self.padded is not None:
                p = self.p
                self.padded[:, :, p : p + self.h, p : p + self.w] = x
                source = self.padded
            np.copyto(self.cols6, _windows_nchw(source, self.k, self.oh, self.ow))
        else:
            np.copyto(self.cols6, self.windows)
        np.dot(self.cols, matrix, out=self.out)
        np.maximum(self.out, 0, out=self.out)
        q00, q01, q10, q11 = self.quadrants
        np.greater(q01, q00, out=self.pick_right_top)
        np.maximum(q00, q01, out=self.top)
        np.greater(q11, q10, out=self.pick_right_bottom)
        np.maximum(q10, q11, out=self.bottom)
        np.greater(self.bottom, self.top, out=self.pick_bottom)
        np.maximum(self.top, self.bottom, out=pool_out)
        w00, w01, w10, w11 = self.winners
        np.greater(self.pick_right_top, self.pick_bottom, out=w01)  # right, and top won
        np.logical_or(self.pick_right_top, self.pick_bottom, out=w00)
        np.logical_not(w00, out=w00)  # left, and top won
        np.logical_and(self.pick_right_bottom, self.pick_bottom, out=w11)
        np.greater(self.pick_bottom, self.pick_right_bottom, out=w10)  # left, bottom won

    def backward(self, grad_pool: np.ndarray, matrix: np.ndarray, grad_matrix: np.ndarray) -> None:
        """Pool, ReLU and convolution backward; the input gradient lands in ``grad_interior``."""
        for grad, winner in zip(self.grad_quadrants, self.winners, strict=True):
            np.multiply(grad_pool, winner, out=grad)
        np.greater(self.out, 0, out=self.relu_mask)
        np.multiply(self.grad_out, self.relu_mask, out=self.grad_out)
        np.dot(self.cols.T, self.grad_out, out=grad_matrix)
        if self.first:
            return  # no input gradient for the first layer
        k = self.k
        weights = matrix[: self.K].reshape(k, k, self.cin, self.cout)
        np.copyto(_view(self.weight_offsets, (k, k, self.cout, self.cin)),
                  weights.transpose(0, 1, 3, 2))
        np.matmul(self.grad_out, self.weight_offsets, out=self.patches)
        grad = self.grad_padded
        grad.fill(0)
        for i in range(k):
            for j in range(k):
                grad[:, i : i + self.oh, j : j + self.ow, :] += self.patches6[i, j]


class NumpyConvNet:
    """A conv net and plain SGD, trained one step at a time with preallocated buffers.

    Parameters
    ----------
    layers : tuple of layer specs
        ``[conv, relu, pool] * n, flatten, linear, (relu, linear) * m`` (see
        :mod:`benchmarks.conv_configs`); convolutions stride 1, pools 2x2.
    input_shape : (channels, height, width)
    params : list of (weight, bias)
        PyTorch layouts, one pair per conv and linear layer; copied.
    batch : int
        The batch size every step uses.
    lr : float
        SGD's learning rate.
    """

    def __init__(
        self,
        layers: tuple[Spec, ...],
        input_shape: tuple[int, int, int],
        params: list[tuple[np.ndarray, np.ndarray]],
        batch: int,
        lr: float,
    ) -> None:
        kinds = [spec[0] for spec in layers]
        n_conv = kinds.count("conv")
        dense = kinds[3 * n_conv + 1 :]
        expected = ["conv", "relu", "pool"] * n_conv + ["flatten"]
        if kinds[: 3 * n_conv + 1] != expected or dense[::2] != ["linear"] * (len(dense) // 2 + 1):
            raise ValueError(
                f"the reference takes [conv, relu, pool]*, flatten, linear...: {kinds}"
            )
        if any(spec[1] != 2 for spec in layers if spec[0] == "pool"):
            raise ValueError("the reference pools 2x2 only")
        dtype = params[0][0].dtype
        self.batch, self.lr = batch, lr
        conv_specs = [s for s in layers if s[0] == "conv"]
        linear_specs = [s for s in layers if s[0] == "linear"]
        hw = input_shape[1:]
        self.convs = []
        for i, spec in enumerate(conv_specs):
            conv = _Conv(spec, batch, (hw[0], hw[1]), i == 0, dtype)
            self.convs.append(conv)
            hw = (conv.oh // 2, conv.ow // 2)
        last = self.convs[-1]
        self.pooled_shape = (batch, hw[0], hw[1], last.cout)
        self.pooled = np.empty(self.pooled_shape, dtype)
        features = hw[0] * hw[1] * last.cout
        if linear_specs[0][1] != features:
            raise ValueError(
                f"flatten gives {features} features, linear takes {linear_specs[0][1]}"
            )
        # Flattened features in (C, H, W) order, then a ones column for the bias.
        self.flat = np.empty((batch, features + 1), dtype)
        self.flat[:, features] = 1
        self.flat_chw = _view(self.flat[:, :features], (batch, last.cout, hw[0], hw[1]))
        self.linear_sizes = [(s[1], s[2]) for s in linear_specs]
        self.linear_out = [np.empty((batch, n), dtype) for _, n in self.linear_sizes]
        self.linear_grad = [np.empty((batch, n), dtype) for _, n in self.linear_sizes]
        self.linear_mask = [np.empty((batch, n), bool) for _, n in self.linear_sizes[:-1]]
        self.grad_flat = np.empty((batch, features), dtype)
        self.grad_pooled = _view(self.grad_flat, (batch, last.cout, hw[0], hw[1])).transpose(
            0, 2, 3, 1
        )
        # One flat array each for the parameters (in GEMM layout) and their gradients.
        shapes = [(c.K + 1, c.cout) for c in self.convs]
        shapes += [(n_in + 1, n_out) for n_in, n_out in self.linear_sizes]
        total = sum(math.prod(s) for s in shapes)
        self.flat_values = np.empty(total, dtype)
        self.flat_grads = np.zeros(total, dtype)
        self.flat_work = np.empty(total, dtype)
        self.matrices, self.grad_matrices, offset = [], [], 0
        for shape in shapes:
            size = math.prod(shape)
            self.matrices.append(_view(self.flat_values[offset : offset + size], shape))
            self.grad_matrices.append(_view(self.flat_grads[offset : offset + size], shape))
            offset += size
        for conv, matrix, (w, b) in zip(self.convs, self.matrices, params, strict=False):
            conv.set_weights(matrix, w, b)
        for matrix, (w, b) in zip(
            self.matrices[len(self.convs) :], params[len(self.convs) :], strict=True
        ):
            matrix[:-1] = w.T
            matrix[-1] = b
        self.rows = np.arange(batch)
        self.row_buffer = np.empty((batch, 1), dtype)

    # -- the step ---------------------------------------------------------------------

    def step(self, x: np.ndarray, y: np.ndarray) -> float:
        """Forward, loss, backward and one SGD update; return the loss."""
        loss = self.forward_and_loss(x, y)
        self.backward()
        self.update()
        return loss

    def forward_and_loss(self, x: np.ndarray, y: np.ndarray) -> float:
        """Run the layers on the NCHW batch ``x``; return the loss, ``(p - y) / batch`` kept."""
        n_conv = len(self.convs)
        for i, conv in enumerate(self.convs):
            target = self.convs[i + 1].interior if i + 1 < n_conv else self.pooled
            conv.forward(x if i == 0 else None, self.matrices[i], target)
        np.copyto(self.flat_chw, self.pooled.transpose(0, 3, 1, 2))
        h = self.flat
        last = len(self.linear_sizes) - 1
        for j, z in enumerate(self.linear_out):
            matrix = self.matrices[n_conv + j]
            if j == 0:
                np.dot(h, matrix, out=z)  # the ones column adds the bias
            else:
                np.dot(h, matrix[:-1], out=z)
                z += matrix[-1]
            if j < last:
                np.maximum(z, 0, out=z)
            h = z
        return self._softmax_cross_entropy(h, y)

    def _softmax_cross_entropy(self, z: np.ndarray, y: np.ndarray) -> float:
        delta = self.linear_grad[-1]
        loss = softmax_cross_entropy(z, y, self.rows, self.row_buffer, delta)
        delta *= 1.0 / self.batch
        return loss

    def backward(self) -> None:
        """Write every parameter's gradient, from the loss back to the first convolution."""
        n_conv = len(self.convs)
        for j in range(len(self.linear_sizes) - 1, -1, -1):
            delta = self.linear_grad[j]
            matrix, grad_matrix = self.matrices[n_conv + j], self.grad_matrices[n_conv + j]
            if j == 0:
                np.dot(self.flat.T, delta, out=grad_matrix)  # weight and bias gradients
                np.dot(delta, matrix[:-1].T, out=self.grad_flat)
                break
            below = self.linear_out[j - 1]
            np.dot(below.T, delta, out=grad_matrix[:-1])
            np.sum(delta, axis=0, out=grad_matrix[-1])
            previous = self.linear_grad[j - 1]
            np.dot(delta, matrix[:-1].T, out=previous)
            mask = self.linear_mask[j - 1]
            np.greater(below, 0, out=mask)
            np.multiply(previous, mask, out=previous)
        grad_pool = self.grad_pooled
        for i in range(n_conv - 1, -1, -1):
            conv = self.convs[i]
            conv.backward(grad_pool, self.matrices[i], self.grad_matrices[i])
            if i:
                grad_pool = conv.grad_interior

    def update(self) -> None:
        """Plain SGD on every parameter at once: ``value -= lr * grad``."""
        np.multiply(self.flat_grads, self.lr, out=self.flat_work)
        self.flat_values -= self.flat_work

    # -- PyTorch layouts --------------------------------------------------------------

    def _unpack(self, matrices: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
        pairs = [conv.get_weights(m) for conv, m in zip(self.convs, matrices, strict=False)]
        for m in matrices[len(self.convs) :]:
            pairs.append((np.ascontiguousarray(m[:-1].T), m[-1].copy()))
        return pairs

    def parameters(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Every ``(weight, bias)`` in PyTorch's layout (copies)."""
        return self._unpack(self.matrices)

    def gradients(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The last step's gradients, as ``parameters()`` (copies)."""
        return self._unpack(self.grad_matrices)
