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
- gradients are written, not accumulated, so there is no ``zero_grad``.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["NumpyMLP"]


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
        self.weights = [w.copy() for w, _ in params]
        self.biases = [b.copy() for _, b in params]
        dtype = self.weights[0].dtype
        widths = [w.shape[0] for w in self.weights]
        # outputs[l]: the output of layer l (after ReLU; the last one holds the head).
        self.outputs = [np.empty((batch, n), dtype=dtype) for n in widths]
        # deltas[l]: the gradient with respect to layer l's pre-activation.
        self.deltas = [np.empty((batch, n), dtype=dtype) for n in widths]
        self.masks = [np.empty((batch, n), dtype=dtype) for n in widths[:-1]]
        self.rows = np.arange(batch)
        self.row_buffer = np.empty((batch, 1), dtype=dtype)
        self.values = [a for pair in zip(self.weights, self.biases, strict=True) for a in pair]
        self.grads = [np.empty_like(a) for a in self.values]
        self.work = [np.empty_like(a) for a in self.values]
        self.first_moments = [np.zeros_like(a) for a in self.values]
        self.second_moments = [np.zeros_like(a) for a in self.values] if optimizer == "adam" else []
        self.step_count = 0

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
            row = self.row_buffer
            np.max(z, axis=1, keepdims=True, out=row)
            z -= row
            np.exp(z, out=z)
            np.sum(z, axis=1, keepdims=True, out=row)
            z /= row
            loss = -float(np.mean(np.log(z[self.rows, y])))
            np.copyto(delta, z)
            delta[self.rows, y] -= 1
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
        """One SGD-with-momentum or Adam update of every parameter, in place."""
        self.step_count += 1
        s = self.settings
        if self.optimizer == "sgd":
            lr, momentum = s["lr"], s["momentum"]
            for value, grad, buffer, work in zip(
                self.values, self.grads, self.first_moments, self.work, strict=True
            ):
                if self.step_count == 1:
                    np.copyto(buffer, grad)  # PyTorch's first step: the buffer is g
                else:
                    buffer *= momentum
                    buffer += grad
                np.multiply(buffer, lr, out=work)
                value -= work
            return
        lr, beta1, beta2, eps = s["lr"], s["beta1"], s["beta2"], s["eps"]
        t = self.step_count
        step_size = lr / (1.0 - beta1**t)
        root_correction = 1.0 / math.sqrt(1.0 - beta2**t)
        for value, grad, m, v, work in zip(
            self.values,
            self.grads,
            self.first_moments,
            self.second_moments,
            self.work,
            strict=True,
        ):
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
