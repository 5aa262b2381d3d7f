"""Layers that behave differently in training and evaluation: Dropout, BatchNorm1d, BatchNorm2d."""

from __future__ import annotations

import functools
from typing import ClassVar, TypeVar

import numpy as np
from attrs import Converter, field

from nnframe.checks import (
    Check,
    array_size,
    float_dtype,
    interval,
    positive,
    positive_int,
    unit_interval,
)
from nnframe.errors import ShapeError
from nnframe.layers.base import Layer, layer
from nnframe.layers.deferred import defer
from nnframe.layers.geometry import memory_order
from nnframe.layers.registry import register
from nnframe.layers.spec import InputSpec
from nnframe.parameter import Buffer, Parameter
from nnframe.rng import RNGLike, as_generator

__all__ = ["BatchNorm1d", "BatchNorm2d", "Dropout"]

T = TypeVar("T")


# Converters of the hyperparameter fields: attrs runs them at construction and on every
# later assignment, so a bad value raises before anything changes.
def _p(value: object) -> float:
    return unit_interval(value, "Dropout: p")


def _named(check: Check[T], field_name: str) -> Converter[object, T]:
    """A converter running ``check``, naming the layer's class (``BatchNorm2d: eps``)."""

    def convert(value: object, self: object) -> T:
        return check(value, f"{type(self).__name__}: {field_name}")

    return Converter(convert, takes_self=True)


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


def _channel_rows(a: np.ndarray) -> np.ndarray | None:
    """Return ``a`` as a ``(values, channels)`` view when its channels are last in memory.

    Such a layout (a Conv2d output, PyTorch's channels_last) makes per-channel sums one
    matrix-vector product; ``None`` when the channel axis is not the fastest-varying one.
    """
    rows = np.moveaxis(a, 1, -1)
    if not rows.flags.c_contiguous:
        return None
    return rows.reshape(-1, a.shape[1])


def _channel_sums(a: np.ndarray, ones: np.ndarray) -> np.ndarray:
    """Sum ``a`` over every axis but the channel axis 1, fast on both memory layouts.

    Channels last: ``ones @ rows``, one matrix-vector product (three times faster than
    numpy's strided reduction, and blocked, so as accurate). Channels first: a reduction
    over ``(batch, channels, values)``, whose inner axis numpy sums pairwise.
    ``ones`` holds at least ``a.size // a.shape[1]`` ones of ``a``'s dtype.
    """
    rows = _channel_rows(a)
    if rows is not None:
        return ones[: rows.shape[0]] @ rows
    return np.add.reduce(a.reshape(a.shape[0], a.shape[1], -1), axis=(0, 2))


@layer
class _BatchNorm(Layer):
    """The batch normalisation shared by BatchNorm1d and BatchNorm2d: every field and pass.

    The subclasses differ only in the input ranks they accept (``input_spec``) and their
    documentation. Statistics are per channel (axis 1) over every other axis.
    """

    batch_independent: ClassVar[bool] = False

    num_features: int = field(converter=_named(positive_int, "num_features"))
    eps: float = field(default=1e-5, converter=_named(positive, "eps"))
    momentum: float = field(
        default=0.1, converter=_named(interval(0.0, 1.0, high_open=False), "momentum")
    )
    dtype: np.dtype = field(default=np.float32, converter=_named(float_dtype, "dtype"))
    weight: Parameter = field(init=False, repr=False)
    bias: Parameter = field(init=False, repr=False)
    running_mean: Buffer = field(init=False, repr=False)
    running_var: Buffer = field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        # Weight and bias (each a value and a gradient) and the two running statistics.
        array_size((self.num_features,), self.dtype, type(self).__name__, copies=6)
        self.weight = Parameter(np.ones(self.num_features, dtype=self.dtype))
        self.bias = Parameter(np.zeros(self.num_features, dtype=self.dtype))
        self.running_mean = Buffer(np.zeros(self.num_features, dtype=self.dtype))
        self.running_var = Buffer(np.ones(self.num_features, dtype=self.dtype))

    def _ones(self, a: np.ndarray) -> np.ndarray:
        """Ones for :func:`_channel_sums` over ``a``, from a reused work array."""
        ones = self.scratch("ones", (a.size // a.shape[1],), a.dtype)
        ones.fill(1)
        return ones

    def _update_running(self, mean: np.ndarray, unbiased_var: np.ndarray) -> None:
        # running = (1 - momentum) * running + momentum * batch statistic, as PyTorch.
        for running, batch_value in ((self.running_mean, mean), (self.running_var, unbiased_var)):
            running.value *= 1 - self.momentum
            running.value += self.momentum * batch_value

    def forward(self, x: np.ndarray) -> np.ndarray:
        channels = (-1,) + (1,) * (x.ndim - 2)  # a (channels,) array along axis 1
        if self.training:
            n = x.size // x.shape[1]  # values per channel: batch times every spatial size
            if n < 2:
                raise ShapeError(
                    f"{self!r}: needs more than one example per batch in training mode; "
                    f"got a batch of {x.shape[0]} with {n} value per channel (use eval() "
                    "to run on single examples)"
                )
            ones = self._ones(x)
            mean = _channel_sums(x, ones) / n
            x_hat = x - mean.reshape(channels)  # centred for now; x's memory layout
            work = self.scratch("work", x_hat.shape, x_hat.dtype, memory_order(x_hat))
            square = np.multiply(x_hat, x_hat, out=work)
            var = _channel_sums(square, ones) / n
            # Deferred: in a model, the statistics move only once its whole forward has
            # succeeded (see nnframe.layers.deferred).
            defer(functools.partial(self._update_running, mean, var * (n / (n - 1))))
        else:
            x_hat = x - self.running_mean.value.reshape(channels)
            var = self.running_var.value
        inv_std = 1 / np.sqrt(var + self.eps)
        x_hat *= inv_std.reshape(channels)
        y = x_hat * self.weight.value.reshape(channels)
        y += self.bias.value.reshape(channels)
        # The mode goes into the cache, so that backward matches this forward pass even
        # if train() or eval() is called in between.
        self.save_for_backward(
            x_hat=x_hat, inv_std=inv_std, batch_statistics=np.array(self.training)
        )
        return y

    def backward(self, grad_y: np.ndarray) -> np.ndarray | None:
        x_hat, inv_std, batch_statistics = self.saved("x_hat", "inv_std", "batch_statistics")
        weight, bias = self.weight, self.bias
        channels = (-1,) + (1,) * (grad_y.ndim - 2)
        ones = self._ones(grad_y)
        work = self.scratch("work", grad_y.shape, grad_y.dtype, memory_order(grad_y))
        product = np.multiply(grad_y, x_hat, out=work)
        grad_weight = _channel_sums(product, ones)
        grad_bias = _channel_sums(grad_y, ones)
        # A frozen parameter gets no gradient (its sum above is still needed for grad_x).
        if weight.requires_grad:
            weight.grad += grad_weight
        if bias.requires_grad:
            bias.grad += grad_bias
        if not self.needs_input_grad:
            return None
        scale = (weight.value * inv_std).reshape(channels)
        if not batch_statistics:  # running statistics are constants: an affine map
            return grad_y * scale
        # Through the batch mean and variance: each channel's mean of grad_y and its
        # projection on x_hat are removed. (The 1/n belongs to the mean's derivative, not
        # to a loss; n counts the values behind each channel's statistics.)
        n = grad_y.size // grad_y.shape[1]
        grad_x = grad_y - (grad_bias / n).reshape(channels)
        grad_x -= np.multiply(x_hat, (grad_weight / n).reshape(channels), out=product)
        grad_x *= scale
        return grad_x

    def __repr__(self) -> str:
        extra = "" if self.eps == 1e-5 else f", eps={self.eps!r}"
        extra += "" if self.momentum == 0.1 else f", momentum={self.momentum!r}"
        return f"{type(self).__name__}({self.num_features}{extra})"


@register
@layer
class BatchNorm1d(_BatchNorm):
    """Batch normalisation of each feature (channel), with a learned scale and shift.

    ``y = (x - mean) / sqrt(var + eps) * weight + bias``, feature by feature, on inputs of
    shape ``(batch, num_features)`` or ``(batch, num_features, length)`` (statistics over
    the batch and the length, as in PyTorch).

    Parameters
    ----------
    num_features : int
        The number of features (channels), axis 1 of the input.
    eps : float, default 1e-5
        Added to the variance, for stability; ``> 0``.
    momentum : float, default 0.1
        Weight of the newest batch in the running statistics, in ``[0, 1]``.
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
    The arguments come in PyTorch's order, ``(num_features, eps, momentum)``. In
    training mode, ``mean`` and ``var`` are the batch's own (the variance divided by
    ``n``, the number of values per channel: ``batch``, or ``batch * length``), the
    gradient flows through them, a channel needs more than one value, and each pass
    updates the running statistics as PyTorch does:
    ``running = (1 - momentum) * running + momentum * batch_statistic``, with the unbiased
    variance (divided by ``n - 1``). Inside a model the update waits until the model's
    whole forward has succeeded, so a model that refuses its input half-way leaves the
    statistics as they were (:mod:`nnframe.layers.deferred`). In evaluation mode the
    running statistics are used and left alone, and the layer is an affine map of each
    example.

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

    input_spec = InputSpec(min_ndim=2, max_ndim=3, axis=1, size="num_features", dtype="dtype")
    __repr__ = _BatchNorm.__repr__  # keeps attrs from generating a long one


@register
@layer
class BatchNorm2d(_BatchNorm):
    """Batch normalisation of each channel of images, with a learned scale and shift.

    ``y = (x - mean) / sqrt(var + eps) * weight + bias``, channel by channel, on inputs of
    shape ``(batch, num_features, height, width)``, with statistics over the batch, the
    height and the width, as PyTorch's ``BatchNorm2d`` (same parameter and buffer names,
    so a ``state_dict`` moves between the two unchanged).

    Parameters
    ----------
    num_features : int
        The number of channels, axis 1 of the input.
    eps : float, default 1e-5
        Added to the variance, for stability; ``> 0``.
    momentum : float, default 0.1
        Weight of the newest batch in the running statistics, in ``[0, 1]``.
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
    Training and evaluation behave as in :class:`BatchNorm1d`, with
    ``n = batch * height * width`` values per channel. Inputs whose channels are last in
    memory (a ``Conv2d`` output, PyTorch's channels_last) keep that layout in the output
    and the input gradient, and their per-channel sums are matrix-vector products.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> layer = nf.BatchNorm2d(1)
    >>> x = np.array([1.0, 3.0, 5.0, 7.0], dtype=np.float32).reshape(1, 1, 2, 2)
    >>> layer(x).round(4)
    array([[[[-1.3416, -0.4472],
             [ 0.4472,  1.3416]]]], dtype=float32)
    >>> layer.running_mean.value, layer.running_var.value.round(4)
    (array([0.4], dtype=float32), array([1.5667], dtype=float32))
    """

    input_spec = InputSpec(min_ndim=4, max_ndim=4, axis=1, size="num_features", dtype="dtype")
    __repr__ = _BatchNorm.__repr__  # keeps attrs from generating a long one
