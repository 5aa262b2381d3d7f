"""LayerNorm: normalisation of each example over its trailing axes, and its array math."""

from __future__ import annotations

import attrs
import numpy as np
from attrs import field

from nnframe.checks import (
    array_size,
    boolean,
    float_dtype,
    format_shape,
    is_integer,
    positive,
    positive_int,
)
from nnframe.errors import ArgumentError, ArgumentTypeError, ShapeError
from nnframe.layers.base import Layer, layer
from nnframe.layers.registry import register
from nnframe.layers.spec import InputSpec
from nnframe.parameter import Parameter

__all__ = [
    "LayerNorm",
    "check_normalized_axes",
    "layer_norm",
    "layer_norm_grad_input",
    "sum_over_examples",
]


def layer_norm(
    x: np.ndarray,
    ndim: int,
    weight: np.ndarray | None,
    bias: np.ndarray | None,
    eps: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalise each example over its last ``ndim`` axes, then scale and shift.

    ``y = (x - mean) / sqrt(var + eps) * weight + bias``, with the mean and the biased
    variance (divided by n) of each example's last ``ndim`` axes.

    Parameters
    ----------
    x : ndarray of shape (batch, ..., *normalized_shape)
    ndim : int
        How many trailing axes to normalise over: ``len(normalized_shape)``.
    weight, bias : ndarray of shape normalized_shape, or None
        None leaves out the scale or the shift.
    eps : float
        Added to the variance, for stability.

    Returns
    -------
    y : ndarray
        Shaped like ``x``; the same array as ``x_hat`` when ``weight`` and ``bias`` are None.
    x_hat : ndarray
        The normalised input ``(x - mean) / sqrt(var + eps)``, shaped like ``x``.
    inv_std : ndarray of shape (batch, ..., 1, ..., 1)
        ``1 / sqrt(var + eps)``, with the normalised axes kept as size 1.

    Examples
    --------
    >>> y, x_hat, inv_std = layer_norm(np.array([[1.0, 3.0]]), 1, None, None, eps=0.0)
    >>> y, inv_std
    (array([[-1.,  1.]]), array([[1.]]))
    """
    axes = tuple(range(-ndim, 0))
    mean = np.mean(x, axis=axes, keepdims=True)
    x_hat = x - mean
    var = np.mean(np.square(x_hat), axis=axes, keepdims=True)
    # In place on the small (batch, ...) array; a Python float keeps float32 float32.
    var += eps
    inv_std = np.sqrt(var, out=var)
    np.reciprocal(inv_std, out=inv_std)
    x_hat *= inv_std
    if weight is None and bias is None:
        return x_hat, x_hat, inv_std
    y = x_hat * weight if weight is not None else x_hat.copy()
    if bias is not None:
        y += bias
    return y, x_hat, inv_std


def layer_norm_grad_input(
    grad_x_hat: np.ndarray,
    x_hat: np.ndarray,
    inv_std: np.ndarray,
    ndim: int,
    grad_x_hat_times_x_hat: np.ndarray | None = None,
) -> np.ndarray:
    """The gradient with respect to :func:`layer_norm`'s input, in closed form.

    ``grad_x = inv_std * (g - mean(g) - x_hat * mean(g * x_hat))``, the means over the
    last ``ndim`` axes, where ``g = grad_y * weight`` is the gradient with respect to
    ``x_hat`` (``grad_y`` itself without a weight).

    Parameters
    ----------
    grad_x_hat : ndarray
        ``g``, shaped like ``x_hat``. It is not modified.
    x_hat, inv_std : ndarray
        From :func:`layer_norm`.
    ndim : int
        How many trailing axes were normalised.
    grad_x_hat_times_x_hat : ndarray, optional
        ``g * x_hat``, when the caller has it already (it is then overwritten).

    Returns
    -------
    grad_x : ndarray
        Shaped like ``x_hat``.

    Examples
    --------
    >>> y, x_hat, inv_std = layer_norm(np.array([[1.0, 3.0]]), 1, None, None, eps=0.0)
    >>> layer_norm_grad_input(np.ones((1, 2)), x_hat, inv_std, 1)  # a shift is undone
    array([[0., 0.]])
    """
    axes = tuple(range(-ndim, 0))
    product = grad_x_hat * x_hat if grad_x_hat_times_x_hat is None else grad_x_hat_times_x_hat
    grad_x = np.multiply(x_hat, np.mean(product, axis=axes, keepdims=True), out=product)
    np.subtract(grad_x_hat, grad_x, out=grad_x)
    grad_x -= np.mean(grad_x_hat, axis=axes, keepdims=True)
    grad_x *= inv_std
    return grad_x


def sum_over_examples(
    array: np.ndarray, ndim: int, out: np.ndarray | None = None
) -> np.ndarray:
    """Sum ``array`` over every axis but the last ``ndim``: a parameter's gradient.

    ``sum_over_examples(grad_y * x_hat, ndim)`` is LayerNorm's weight gradient and
    ``sum_over_examples(grad_y, ndim)`` its bias gradient.

    Parameters
    ----------
    array : ndarray of shape (batch, ..., *normalized_shape)
    ndim : int
        ``len(normalized_shape)``.
    out : ndarray of shape normalized_shape, optional
        Where to write the sum.

    Returns
    -------
    ndarray of shape normalized_shape

    Examples
    --------
    >>> sum_over_examples(np.ones((4, 2, 3)), 1)
    array([8., 8., 8.])
    """
    return np.add.reduce(array, axis=tuple(range(array.ndim - ndim)), out=out)


def _add_into_grad(param: Parameter, array: np.ndarray, ndim: int) -> None:
    # After zero_grad the sum goes straight into .grad; otherwise it is added.
    target = param.writable_grad()
    if target is not None:
        sum_over_examples(array, ndim, out=target)
    else:
        param.grad += sum_over_examples(array, ndim)


def check_normalized_axes(layer: LayerNorm, x: np.ndarray) -> None:
    """Raise ``ShapeError`` naming ``layer`` unless ``x``'s trailing axes are its normalized_shape.

    The part of LayerNorm's input check that an :class:`~nnframe.InputSpec` cannot
    express (it checks the rank, at least 2, and the dtype).
    """
    shape = layer.normalized_shape
    if x.ndim <= len(shape) or x.shape[-len(shape) :] != shape:
        raise ShapeError(
            f"{layer!r}: expected input of shape {format_shape(('batch', *shape))} or "
            f"{format_shape(('batch', '...', *shape))}, whose trailing axes are "
            f"normalized_shape {format_shape(shape)}; got {x.ndim}-d input of shape "
            f"{format_shape(x.shape)}"
        )


# Converters of the hyperparameter fields: attrs runs them at construction (and on later
# assignment of the ones that may change), so a bad value raises before anything is built.
def _normalized_shape(value: object) -> tuple[int, ...]:
    where = "LayerNorm: normalized_shape"
    if is_integer(value):
        return (positive_int(value, where),)
    if not isinstance(value, tuple | list):
        raise ArgumentTypeError(
            f"{where} must be an int or a tuple of ints; got {value!r} of type "
            f"{type(value).__name__}"
        )
    if not value:
        raise ArgumentError(f"{where} must have at least one axis; got {value!r}")
    return tuple(positive_int(size, f"{where}[{i}]") for i, size in enumerate(value))


def _eps(value: object) -> float:
    return positive(value, "LayerNorm: eps")


def _elementwise_affine(value: object) -> bool:
    return boolean(value, "LayerNorm: elementwise_affine")


def _bias(value: object) -> bool:
    return boolean(value, "LayerNorm: bias")


def _dtype(value: object) -> np.dtype:
    return float_dtype(value, "LayerNorm: dtype")


def _fixed(instance: object, attribute: attrs.Attribute[object], value: object) -> object:
    # The parameters were built from these: changing one later would leave them behind.
    raise ArgumentError(
        f"LayerNorm: {attribute.alias} is fixed when the layer is built (its parameters are "
        f"built from it); build a new LayerNorm instead of setting it to {value!r}"
    )


@register
@layer
class LayerNorm(Layer):
    """Layer normalisation: each example normalised over its trailing axes (PyTorch's).

    ``y = (x - mean) / sqrt(var + eps) * weight + bias``, with the mean and the biased
    variance of each example over the last ``len(normalized_shape)`` axes, on inputs of
    shape ``(batch, ..., *normalized_shape)``.

    Parameters
    ----------
    normalized_shape : int or tuple of int
        The shape of the trailing axes normalised over (an int for one axis).
    eps : float, default 1e-5
        Added to the variance, for stability; ``> 0``.
    elementwise_affine : bool, default True
        Whether to learn a scale ``weight`` (and a shift ``bias``) per normalised element.
    bias : bool, default True
        Whether the affine part has a shift (as in PyTorch 2.1 and later); ignored
        without ``elementwise_affine``.
    dtype : float dtype, default numpy.float32
        Dtype of the parameters. Inputs of another dtype are cast to it.

    Attributes
    ----------
    weight : Parameter of shape normalized_shape, or None
        The scale, ones at first; None without ``elementwise_affine``.
    bias : Parameter of shape normalized_shape, or None
        The shift, zeros at first; None without ``elementwise_affine`` or with
        ``bias=False``.

    Notes
    -----
    The statistics are each example's own, in training and evaluation alike: there is
    no running state and no mode dependence. The cache is the normalised input and the
    inverse standard deviation of each example. The testing kit cannot read more than
    one trailing size from the input spec: give ``check_layer`` an ``input_shape``
    (``normalized_shape`` itself will do) when a LayerNorm sees the input first.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> layer = nf.LayerNorm(3)
    >>> layer
    LayerNorm((3,), eps=1e-05, elementwise_affine=True)
    >>> y = layer(np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 6.0]]))
    >>> y.round(4)
    array([[-1.2247,  0.    ,  1.2247],
           [-0.7071, -0.7071,  1.4142]], dtype=float32)
    >>> grad_x = layer.backward(np.ones_like(y), input_grad=True)
    >>> bool(np.abs(grad_x).max() < 1e-6)  # shifting a whole example is normalised away
    True
    >>> layer.bias.grad, layer.weight.grad.shape
    (array([2., 2., 2.], dtype=float32), (3,))
    """

    input_spec = InputSpec(min_ndim=2, dtype="dtype")  # the trailing shape: forward

    normalized_shape: tuple[int, ...] = field(converter=_normalized_shape, on_setattr=_fixed)
    eps: float = field(default=1e-5, converter=_eps)
    elementwise_affine: bool = field(
        default=True, converter=_elementwise_affine, on_setattr=_fixed
    )
    has_bias: bool = field(default=True, converter=_bias, alias="bias", on_setattr=_fixed)
    dtype: np.dtype = field(default=np.float32, converter=_dtype, kw_only=True)
    weight: Parameter | None = field(init=False, repr=False)
    bias: Parameter | None = field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        shape = self.normalized_shape
        array_size(shape, self.dtype, "LayerNorm", copies=4)  # weight, bias: values, gradients
        affine = self.elementwise_affine
        self.weight = Parameter(np.ones(shape, dtype=self.dtype)) if affine else None
        with_bias = affine and self.has_bias
        self.bias = Parameter(np.zeros(shape, dtype=self.dtype)) if with_bias else None

    def forward(self, x: np.ndarray) -> np.ndarray:
        check_normalized_axes(self, x)
        weight, bias = self.weight, self.bias
        y, x_hat, inv_std = layer_norm(
            x,
            len(self.normalized_shape),
            None if weight is None else weight.value,
            None if bias is None else bias.value,
            self.eps,
        )
        self.save_for_backward(x_hat=x_hat, inv_std=inv_std)
        return y

    def backward(self, grad_y: np.ndarray) -> np.ndarray | None:
        x_hat, inv_std = self.saved("x_hat", "inv_std")
        ndim = len(self.normalized_shape)
        weight, bias = self.weight, self.bias
        # A frozen parameter costs nothing: neither its product nor its reduction.
        product = None
        if weight is not None and weight.requires_grad:
            product = grad_y * x_hat
            _add_into_grad(weight, product, ndim)
        if bias is not None and bias.requires_grad:
            _add_into_grad(bias, grad_y, ndim)
        if not self.needs_input_grad:
            return None
        if weight is None:
            return layer_norm_grad_input(grad_y, x_hat, inv_std, ndim, product)
        if product is not None:
            product *= weight.value  # grad_y * x_hat * weight == grad_x_hat * x_hat
        return layer_norm_grad_input(grad_y * weight.value, x_hat, inv_std, ndim, product)

    def __repr__(self) -> str:
        extra = "" if self.has_bias or not self.elementwise_affine else ", bias=False"
        return (
            f"LayerNorm({self.normalized_shape}, eps={self.eps!r}, "
            f"elementwise_affine={self.elementwise_affine}{extra})"
        )
