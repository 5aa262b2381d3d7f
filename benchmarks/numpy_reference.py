"""A hand-written, careful numpy training step: the reference for what numpy can do.

The same computation as the nnframe and PyTorch contenders (an MLP with ReLU, a softmax
cross-entropy or sigmoid + binary cross-entropy head, SGD with momentum or Adam), written
the way a performance-minded person would write it for one fixed architecture:

- every activation, gradient and optimizer work array is allocated once, up front, and
  every operation writes into one of them (``out=``, in-place operators);
- matrix products go through ``np.dot``, which stays on BLAS for transposed operands;
- ReLU is applied in place and its backward multiplies by a 0/1 mask kept in the
  activation dtype (``np.greater(a, 0, out=mask)``), no boolean indexing;
- the first layer's input gradient is not computed (no one needs it);
- the head's gradient is fused: ``(p - y) / batch`` for both softmax cross-entropy and
  sigmoid + binary cross-entropy, without the ``1 / (p (1 - p))`` round trip;
- gradients are written, not accumulated, so there is no ``zero_grad``;
- the parameters, their gradients and the optimizer's state each live in one contiguous
  array (the weights and biases are views into it), so the optimizer's update is a handful
  of numpy calls over the whole model, not a handful per parameter.

What this reference does *not* do is change the maths: the same float operations as
PyTorch's ``SGD(momentum=...)`` and ``Adam`` in the configured dtype, no flushing of
subnormal numbers. (On Intel CPUs arithmetic on subnormals is up to 100x slower; the
benchmark's data is chosen, and its steps counted, so that no contender's measured steps
reach them: see :func:`benchmarks.configs.make_batches`.)
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["NumpyMLP"]


def softmax_cross_entropy(
    z: np.ndarray, y: np.ndarray, rows: np.ndarray, row: np.ndarray, delta: np.ndarray
) -> float:
    """Mean softmax cross-entropy of the logits ``z`` (overwritten with the probabilities).

    Writes ``p - onehot(y)`` into ``delta`` (the caller scales it by ``1 / batch``);
    ``rows`` is ``arange(batch)`` and ``row`` a ``(batch, 1)`` work array.
    """
    np.max(z, axis=1, keepdims=True, out=row)
    z -= row
    np.exp(z, out=z)
    np.sum(z, axis=1, keepdims=True, out=row)
    z /= row
    loss = -float(np.mean(np.log(z[rows, y])))
    np.copyto(delta, z)
    delta[rows, y] -= 1
    return loss


class NumpyMLP:
    """An MLP and its optimizer, trained one step at a time with preallocated buffers.

    Parameters
    ----------
    params : list of (weight, bias)
        Weights of shape ``(out, in)`` and biases of shape ``(out,)``; copied.
    head : {"softmax", "sigmoid"}
    batch : int
        The batch size every step uses (the buffers are sized for it).
    optimizer : {"sgd", "adam"}
    settings : dict
        The optimizer's hyperparameters (``lr``, ``momentum``; or ``lr``, ``beta1``,
        ``beta2``, ``eps``).
    """

    def __init__(
        self,
        params: list[tuple[np.ndarray, np.ndarray]],
        head: str,
        batch: int,
        optimizer: str,
        settings: dict[str, float],
    ) -> None:
        self.head = head
        self.batch = batch
        self.optimizer = optimizer
        self.settings = settings
        dtype = params[0][0].dtype
        shapes = [shape for w, b in params for shape in (w.shape, b.shape)]
        sizes = [math.prod(shape) for shape in shapes]
        total = sum(sizes)
        # One flat array each: values, gradients, optimizer state, scratch.
        self.flat_values = np.empty(total, dtype=dtype)
        self.flat_grads = np.zeros(total, dtype=dtype)
        self.flat_work = np.empty(total, dtype=dtype)
        self.flat_first = np.zeros(total, dtype=dtype)
        self.flat_second = np.zeros(total if optimizer == "adam" else 0, dtype=dtype)
        self.values = self._views(self.flat_values, shapes, sizes)
        self.grads = self._views(self.flat_grads, shapes, sizes)
        for view, array in zip(self.values, (a for pair in params for a in pair), strict=True):
            np.copyto(view, array)
        self.weights = self.values[0::2]
        self.biases = self.values[1::2]
        widths = [w.shape[0] for w in self.weights]
        # outputs[l]: the output of layer l (after ReLU; the last one holds the head).
        self.outputs = [np.empty((batch, n), dtype=dtype) for n in widths]
        # deltas[l]: the gradient with respect to layer l's pre-activation.
        self.deltas = [np.empty((batch, n), dtype=dtype) for n in widths]
        self.masks = [np.empty((batch, n), dtype=dtype) for n in widths[:-1]]
        self.rows = np.arange(batch)
        self.row_buffer = np.empty((batch, 1), dtype=dtype)
        self.step_count = 0

    @staticmethod
    def _views(
        flat: np.ndarray, shapes: list[tuple[int, ...]], sizes: list[int]
    ) -> list[np.ndarray]:
        """Contiguous views of ``flat``, one per parameter shape."""
        views, offset = [], 0
        for shape, size in zip(shapes, sizes, strict=True):
            views.append(flat[offset : offset + size].reshape(shape))
            offset += size
        return views

    def step(self, x: np.ndarray, y: np.ndarray) -> float:
        """Forward, loss, backward and one optimizer update; return the loss."""
        loss = self.head_and_loss(self.forward(x), y)
        self.backward(x)
        self.update()
        return loss

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Run the layers on ``x``; return the last layer's logits (a buffer)."""
        h = x
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            z = self.outputs[i]
            np.dot(h, w.T, out=z)
            z += b
            if i < last:
                np.maximum(z, 0, out=z)
            h = z
        return h

    def head_and_loss(self, z: np.ndarray, y: np.ndarray) -> float:
        """Turn the logits ``z`` into the loss, leaving ``(p - y) / batch`` in the last delta."""
        delta = self.deltas[-1]
        if self.head == "softmax":
            loss = softmax_cross_entropy(z, y, self.rows, self.row_buffer, delta)
        else:
            np.negative(z, out=z)
            np.exp(z, out=z)
            z += 1
            np.reciprocal(z, out=z)
            p = z
            loss = -float(np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))
            np.subtract(p, y, out=delta)
        delta *= 1.0 / self.batch
        return loss

    def backward(self, x: np.ndarray) -> None:
        """Write every parameter's gradient, from the head's delta back to the first layer."""
        delta = self.deltas[-1]
        for i in range(len(self.weights) - 1, -1, -1):
            below = x if i == 0 else self.outputs[i - 1]
            np.dot(delta.T, below, out=self.grads[2 * i])
            np.sum(delta, axis=0, out=self.grads[2 * i + 1])
            if i == 0:
                break  # no input gradient for the first layer
            previous = self.deltas[i - 1]
            np.dot(delta, self.weights[i], out=previous)
            mask = self.masks[i - 1]
            np.greater(below, 0, out=mask)
            previous *= mask
            delta = previous

    def update(self) -> None:
        """One SGD-with-momentum or Adam update of every parameter, in place, all at once."""
        self.step_count += 1
        s = self.settings
        value, grad, work = self.flat_values, self.flat_grads, self.flat_work
        if self.optimizer == "sgd":
            buffer = self.flat_first
            if self.step_count == 1:
                np.copyto(buffer, grad)  # PyTorch's first step: the buffer is g
            else:
                buffer *= s["momentum"]
                buffer += grad
            np.multiply(buffer, s["lr"], out=work)
            value -= work
            return
        lr, beta1, beta2, eps = s["lr"], s["beta1"], s["beta2"], s["eps"]
        t = self.step_count
        step_size = lr / (1.0 - beta1**t)
        root_correction = 1.0 / math.sqrt(1.0 - beta2**t)
        m, v = self.flat_first, self.flat_second
        m *= beta1
        np.multiply(grad, 1.0 - beta1, out=work)
        m += work
        v *= beta2
        np.multiply(grad, grad, out=work)
        work *= 1.0 - beta2
        v += work
        np.sqrt(v, out=work)
        work *= root_correction
        work += eps
        np.divide(m, work, out=work)
        work *= step_size
        value -= work
