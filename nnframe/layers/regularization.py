"""Layers that behave differently in training and evaluation: Dropout, BatchNorm1d."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from attrs import field

from nnframe import functional as F
from nnframe.checks import (
    array_size,
    float_dtype,
    interval,
    positive,
    positive_int,
    unit_interval,
)
from nnframe.errors import ShapeError
from nnframe.layers.base import Layer, layer
from nnframe.layers.registry import register
from nnframe.layers.spec import InputSpec
from nnframe.parameter import Buffer, Parameter
from nnframe.rng import RNGLike, as_generator

__all__ = ["BatchNorm1d", "Dropout"]


# Converters of the hyperparameter fields: attrs runs them at construction and on every
# later assignment, so a bad value raises before anything changes.
def _p(value: object) -> float:
    return unit_interval(value, "Dropout: p")


def _num_features(value: object) -> int:
    return positive_int(value, "BatchNorm1d: num_features")


def _momentum(value: object) -> float:
    return interval(0.0, 1.0, high_open=False)(value, "BatchNorm1d: momentum")


def _eps(value: object) -> float:
    return positive(value, "BatchNorm1d: eps")


def _dtype(value: object) -> np.dtype:
    return float_dtype(value, "BatchNorm1d: dtype")


@register
@layer
class Dropout(Layer):
    """Inverted dropout: zero each element with probability ``p`` in training.

    ``y = x * mask / (1 - p)`` with ``mask`` 0 with probability ``p``, else 1, drawn anew
    on every training forward pass; ``y = x`` in evaluation mode and when ``p == 0``.

    Parameters
    ----------
    p : float, default 0.5
        Probability of zeroing an element, in ``[0, 1)``.
    rng : None, int or numpy.random.Generator
        Source of the masks: a seed, or a Generator to share (it is not copied).

    Attributes
    ----------
    generator : numpy.random.Generator
        The Generator made from ``rng`` once, at construction; every mask is drawn from
        it, so replaying its ``bit_generator.state`` replays the masks.

    Notes
    -----
    Kept elements are scaled by ``1 / (1 - p)`` in training, so the expected output
    equals the input and evaluation mode needs no rescaling. The cache is the scaled mask
    in the input's dtype. Masks are drawn as float32 uniforms whatever the dtype, so a
    float32 and a float64 layer with the same generator state draw the same mask.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> layer = nf.Dropout(0.5, rng=0)
    >>> layer(np.ones((2, 4), dtype=np.float32))
    array([[2., 2., 2., 0.],
           [0., 0., 0., 0.]], dtype=float32)
    >>> layer.eval()(np.ones((1, 4), dtype=np.float32))
    array([[1., 1., 1., 1.]], dtype=float32)
    """

    stochastic: ClassVar[bool] = True

    p: float = field(default=0.5, converter=_p)
    rng: RNGLike = None
    generator: np.random.Generator = field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        self.generator = as_generator(self.rng, name="Dropout: rng")

    def forward(self, x: np.ndarray) -> np.ndarray:
        if self.training and self.p > 0:
            keep = self.generator.random(x.shape, dtype=np.float32) >= self.p
            mask = keep.astype(x.dtype)
            mask *= 1 / (1 - self.p)
            y = x * mask
        else:
            # A zero-stride view of one 1: the mask's shape and dtype, without the memory.
            mask = np.broadcast_to(np.ones((), dtype=x.dtype), x.shape)
            y = x
        self.save_for_backward(mask=mask)
        return y

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        return grad_y * self.saved("mask")

    def __repr__(self) -> str:
        return f"Dropout(p={self.p!r})"


@register
@layer
class BatchNorm1d(Layer):
    """Batch normalisation of each feature (channel), with a learned scale and shift.

    ``y = (x - mean) / sqrt(var + eps) * weight + bias``, feature by feature, on inputs of
    shape ``(batch, num_features)`` or ``(batch, num_features, length)`` (statistics over
    the batch and the length, as in PyTorch).

    Parameters
    ----------
    num_features : int
        The number of features (channels), axis 1 of the input.
    momentum : float, default 0.1
        Weight of the newest batch in the running statistics, in ``[0, 1]``.
    eps : float, default 1e-5
        Added to the variance, for stability; ``> 0``.
    dtype : float dtype, default numpy.float32
        Dtype of the parameters and buffers. Inputs of another dtype are cast to it.

    Attributes
    ----------
    weight : Parameter of shape (num_features,)
        The scale (gamma), ones at first.
    bias : Parameter of shape (num_features,)
        The shift (beta), zeros at first.
    running_mean : Buffer of shape (num_features,)
        Zeros at first.
    running_var : Buffer of shape (num_features,)
        Ones at first.

    Notes
    -----
    In training mode, ``mean`` and ``var`` are the batch's own (the variance divided by
    ``n``, the number of values per channel: ``batch``, or ``batch * length``), the
    gradient flows through them, a channel needs more than one value, and each pass
    updates the running statistics as PyTorch does:
    ``running = (1 - momentum) * running + momentum * batch_statistic``, with the unbiased
    variance (divided by ``n - 1``). In evaluation mode the running statistics are
    used and left alone, and the layer is an affine map of each example.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> layer = nf.BatchNorm1d(2)
    >>> layer(np.array([[1.0, 2.0], [3.0, 2.0]], dtype=np.float32))
    array([[-0.999995,  0.      ],
           [ 0.999995,  0.      ]], dtype=float32)
    >>> layer.running_mean.value, layer.running_var.value
    (array([0.2, 0.2], dtype=float32), array([1.1, 0.9], dtype=float32))
    """

    batch_independent: ClassVar[bool] = False
    input_spec = InputSpec(min_ndim=2, max_ndim=3, axis=1, size="num_features", dtype="dtype")

    num_features: int = field(converter=_num_features)
    momentum: float = field(default=0.1, converter=_momentum)
    eps: float = field(default=1e-5, converter=_eps)
    dtype: np.dtype = field(default=np.float32, converter=_dtype)
    weight: Parameter = field(init=False, repr=False)
    bias: Parameter = field(init=False, repr=False)
    running_mean: Buffer = field(init=False, repr=False)
    running_var: Buffer = field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        # Weight and bias (each a value and a gradient) and the two running statistics.
        array_size((self.num_features,), self.dtype, "BatchNorm1d", copies=6)
        self.weight = Parameter(np.ones(self.num_features, dtype=self.dtype))
        self.bias = Parameter(np.zeros(self.num_features, dtype=self.dtype))
        self.running_mean = Buffer(np.zeros(self.num_features, dtype=self.dtype))
        self.running_var = Buffer(np.ones(self.num_features, dtype=self.dtype))

    def forward(self, x: np.ndarray) -> np.ndarray:
        if self.training:
            n = x.size // x.shape[1]  # values per channel: batch, times length for 3-d
            if n < 2:
                raise ShapeError(
                    f"{self!r}: needs more than one example per batch in training mode; "
                    f"got a batch of {x.shape[0]} with {n} value per channel (use eval() "
                    "to run on single examples)"
                )
            mean, var = F.moments(x)
            for running, batch_value in (
                (self.running_mean, mean),
                (self.running_var, var * (n / (n - 1))),
            ):
                running.value *= 1 - self.momentum
                running.value += self.momentum * batch_value
        else:
            mean, var = self.running_mean.value, self.running_var.value
        y, x_hat, inv_std = F.batch_norm(
            x, mean, var, self.weight.value, self.bias.value, self.eps
        )
        # The mode goes into the cache, so that backward matches this forward pass even
        # if train() or eval() is called in between.
        self.save_for_backward(
            x_hat=x_hat, inv_std=inv_std, batch_statistics=np.array(self.training)
        )
        return y

    def backward(self, grad_y: np.ndarray) -> np.ndarray | None:
        x_hat, inv_std, batch_statistics = self.saved("x_hat", "inv_std", "batch_statistics")
        weight, bias = self.weight, self.bias
        if not self.needs_input_grad:  # the parameters' gradients alone: two reductions
            axes = (0, *range(2, grad_y.ndim))
            if weight.requires_grad:  # a frozen parameter gets no gradient, no work
                weight.grad += np.add.reduce(grad_y * x_hat, axis=axes)
            if bias.requires_grad:
                bias.grad += np.add.reduce(grad_y, axis=axes)
            return None
        grad_x, grad_weight, grad_bias = F.batch_norm_grad(
            x_hat, inv_std, weight.value, grad_y, batch_statistics=bool(batch_statistics)
        )
        if weight.requires_grad:
            weight.grad += grad_weight
        if bias.requires_grad:
            bias.grad += grad_bias
        return grad_x

    def __repr__(self) -> str:
        extra = "" if self.momentum == 0.1 else f", momentum={self.momentum!r}"
        extra += "" if self.eps == 1e-5 else f", eps={self.eps!r}"
        return f"BatchNorm1d({self.num_features}{extra})"
