"""Convolution layers: Conv2d for images, Conv1d for sequences (the maths: nnframe.convolution)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import attrs
import numpy as np

from nnframe import init as initializers
from nnframe.checks import array_size, boolean, float_dtype, format_shape, positive_int
from nnframe.convolution import (
    Geometry,
    Work,
    conv2d,
    conv2d_grad_input,
    conv2d_grad_params,
    new_array,
    rows_of,
)
from nnframe.errors import ArgumentError, ShapeError
from nnframe.layers.base import Layer
from nnframe.layers.config import check_config_keys
from nnframe.layers.geometry import non_negative_per_axis, per_axis
from nnframe.layers.registry import register
from nnframe.layers.spec import InputSpec
from nnframe.parameter import Parameter
from nnframe.rng import RNGLike, as_generator

__all__ = ["Conv1d", "Conv2d"]

_CONFIG_KEYS = (
    "in_channels",
    "out_channels",
    "kernel_size",
    "stride",
    "padding",
    "dilation",
    "groups",
    "bias",
    "dtype",
)

Sizes = int | tuple[int, ...]

# Arrays of more elements than this are checked against the memory available first.
_CHECKED_SIZE = 2**24


class Convolution(Layer):
    """What Conv1d and Conv2d share: arguments, parameters, and the 2-d computation.

    A Conv1d runs as a Conv2d of height 1. Subclasses set ``spatial_ndim`` and
    ``input_spec``.
    """

    spatial_ndim: ClassVar[int] = 2

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Sizes,
        *,
        stride: Sizes = 1,
        padding: Sizes | str = 0,
        dilation: Sizes = 1,
        groups: int = 1,
        bias: bool = True,
        init: str | initializers.Initializer = "he_normal",
        rng: RNGLike = None,
        dtype: np.typing.DTypeLike = np.float32,
    ) -> None:
        super().__init__()
        name, ndim = type(self).__name__, self.spatial_ndim
        self.in_channels = positive_int(in_channels, f"{name}: in_channels")
        self.out_channels = positive_int(out_channels, f"{name}: out_channels")
        self.groups = positive_int(groups, f"{name}: groups")
        for what, channels in (("in_channels", in_channels), ("out_channels", out_channels)):
            if channels % self.groups:
                raise ArgumentError(
                    f"{name}: groups ({self.groups}) must divide {what} ({channels})"
                )
        self.kernel_size = per_axis(kernel_size, ndim, f"{name}: kernel_size")
        self.stride = per_axis(stride, ndim, f"{name}: stride")
        self.dilation = per_axis(dilation, ndim, f"{name}: dilation")
        self.padding = self._padding(padding)
        with_bias = boolean(bias, f"{name}: bias")
        self.dtype = float_dtype(dtype, f"{name}: dtype")
        generator = as_generator(rng, name=f"{name}: rng")
        shape = (self.out_channels, self.in_channels // self.groups, *self.kernel_size)
        self.weight = Parameter(initializers.draw(init, shape, generator, self.dtype, name))
        self.bias = Parameter(np.zeros(self.out_channels, dtype=self.dtype)) if with_bias else None

    def _padding(self, padding: object) -> tuple[int, ...] | str:
        where = f"{type(self).__name__}: padding"
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ArgumentError(f'{where} must be "same", "valid" or sizes; got {padding!r}')
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ArgumentError(
                    f'{where}="same" needs stride 1 (the output would not keep the input\'s '
                    f"size otherwise); got stride={self.stride}"
                )
            return padding
        return non_negative_per_axis(padding, self.spatial_ndim, where)

    def geometry(self) -> Geometry:
        """Return the windows' geometry as a 2-d convolution (a Conv1d has height 1)."""
        lead = (1,) * (2 - self.spatial_ndim)
        kernel, dilation = lead + self.kernel_size, lead + self.dilation
        if self.padding == "same":
            totals = [d * (k - 1) for k, d in zip(kernel, dilation, strict=True)]
            before = [t // 2 for t in totals]
            after = [t - b for t, b in zip(totals, before, strict=True)]
        else:
            before = after = (
                [0, 0]
                if self.padding == "valid"
                else [0] * len(lead) + [int(p) for p in self.padding]
            )
        return Geometry(
            kernel=(kernel[0], kernel[1]),
            stride=(lead + self.stride)[:2],  # type: ignore[arg-type]
            dilation=(dilation[0], dilation[1]),
            padding=(before[0], after[0], before[1], after[1]),
        )

    def as_2d(self, x: np.ndarray) -> np.ndarray:
        """Return ``x`` as ``(batch, channels, height, width)`` (a view)."""
        return x if self.spatial_ndim == 2 else x[:, :, None, :]

    def from_2d(self, y: np.ndarray) -> np.ndarray:
        """Undo :meth:`as_2d` on an output or a gradient."""
        return y if self.spatial_ndim == 2 else y[:, :, 0, :]

    def work_arrays(self, prefix: str = "") -> Work:
        """Return the ``work`` callable the maths takes: this layer's scratch arrays.

        A forward under ``no_grad()`` gets new arrays (see :meth:`~nnframe.Layer.scratch`),
        so it cannot overwrite the im2col matrix an earlier forward cached for backward.
        """
        return lambda name, shape, dtype: self.scratch(prefix + name, shape, dtype)

    def check_fits(self, x: np.ndarray, geometry: Geometry) -> None:
        """Raise ``ShapeError`` when the (dilated) kernel does not fit the padded input."""
        out = geometry.output_shape(*x.shape[2:])
        if min(out) < 1:
            top, bottom, left, right = geometry.padding
            padded = (x.shape[2] + top + bottom, x.shape[3] + left + right)
            reach = tuple(
                d * (k - 1) + 1 for k, d in zip(geometry.kernel, geometry.dilation, strict=True)
            )
            drop = 2 - self.spatial_ndim
            raise ShapeError(
                f"{self!r}: the kernel {self.kernel_size} (reaching {reach[drop:]} with "
                f"dilation {self.dilation}) does not fit in the input of shape "
                f"{format_shape(self.from_2d(x).shape)}, padded to {padded[drop:]}"
            )
        # A huge padding makes arrays that cannot be made: say so before allocating any.
        n, c, h, w = x.shape
        top, bottom, left, right = geometry.padding
        rows = n * out[0] * out[1]
        for shape in (
            (n, top + h + bottom, left + w + right, c),
            (rows, c // self.groups * geometry.kernel[0] * geometry.kernel[1] + 1),
            (rows, self.out_channels),
        ):
            if math.prod(shape) > _CHECKED_SIZE:  # the check's message names the layer
                array_size(shape, x.dtype, repr(self))

    @staticmethod
    def bounded(geometry: Geometry, height: int, width: int) -> Geometry:
        """Return ``geometry`` with a stride or dilation that changes nothing made small.

        A stride past the padded input (one window) and the dilation of a kernel of size 1
        do not change the output, but as byte strides they would overflow numpy's.
        """
        top, bottom, left, right = geometry.padding
        padded = (height + top + bottom, width + left + right)
        (kh, kw), (sh, sw), (dh, dw) = geometry.kernel, geometry.stride, geometry.dilation
        reach = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
        fits = sh + reach[0] <= padded[0] + 1 and sw + reach[1] <= padded[1] + 1
        if fits and (dh == 1 or kh > 1) and (dw == 1 or kw > 1):
            return geometry
        return attrs.evolve(
            geometry,
            stride=(min(sh, padded[0] - reach[0] + 1), min(sw, padded[1] - reach[1] + 1)),
            dilation=(1 if kh == 1 else dh, 1 if kw == 1 else dw),
        )

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = self.as_2d(x)
        geometry = self.geometry()
        self.check_fits(x, geometry)
        geometry = self.bounded(geometry, x.shape[2], x.shape[3])
        weight = self.weight.value.reshape(self.out_channels, -1, *geometry.kernel)
        bias = None if self.bias is None else self.bias.value
        if self.groups == 1:
            y, cols = conv2d(x, weight, bias, geometry, self.work_arrays(), self.result_array)
            self.save_for_backward(cols=(cols,), shape=x.shape, geometry=geometry)
            return self.from_2d(y)
        ins, outs = self.in_channels // self.groups, self.out_channels // self.groups
        ys, colses = [], []
        for g in range(self.groups):
            group_bias = None if bias is None else bias[g * outs : (g + 1) * outs]
            y, cols = conv2d(
                x[:, g * ins : (g + 1) * ins],
                weight[g * outs : (g + 1) * outs],
                group_bias,
                geometry,
                self.work_arrays(f"group{g}."),
            )
            ys.append(y)
            colses.append(cols)
        self.save_for_backward(cols=tuple(colses), shape=x.shape, geometry=geometry)
        return self.from_2d(np.concatenate(ys, axis=1))

    def backward(self, grad_y: np.ndarray) -> np.ndarray | None:
        colses, shape, geometry = self.saved("cols", "shape", "geometry")
        rows = rows_of(self.as_2d(grad_y))
        n, _, h, w = shape
        ins, outs = self.in_channels // self.groups, self.out_channels // self.groups
        weight = self.weight.value.reshape(self.out_channels, ins, *geometry.kernel)
        want_params = self.weight.requires_grad or (
            self.bias is not None and self.bias.requires_grad
        )
        grad_weight = self.weight.writable_grad() if self.weight.requires_grad else None
        grad_bias = None
        if self.bias is not None and self.bias.requires_grad:
            grad_bias = self.bias.writable_grad()
        grads_x = []
        for g, cols in enumerate(colses):
            work = self.work_arrays(f"group{g}." if self.groups > 1 else "")
            group = slice(g * outs, (g + 1) * outs)
            group_rows = rows[:, group]
            group_weight = weight[group]
            if want_params:
                dw, db = conv2d_grad_params(cols, group_rows, group_weight.shape, work)
                if self.weight.requires_grad:
                    self._add_grad(self.weight, grad_weight, group, dw)
                if db is not None and self.bias is not None and self.bias.requires_grad:
                    self._add_grad(self.bias, grad_bias, group, db)
            if self.needs_input_grad:
                grads_x.append(
                    conv2d_grad_input(
                        group_rows,
                        group_weight,
                        (n, ins, h, w),
                        geometry,
                        work,
                        self.result_array if self.groups == 1 else new_array,
                        spent=cols[0],
                    )
                )
        if not self.needs_input_grad:
            return None
        grad_x = grads_x[0] if self.groups == 1 else np.concatenate(grads_x, axis=1)
        return self.from_2d(grad_x)

    @staticmethod
    def _add_grad(
        param: Parameter, target: np.ndarray | None, group: slice, grad: np.ndarray
    ) -> None:
        # target is the zeroed gradient to overwrite (see Parameter.writable_grad), or None.
        if target is not None:
            np.copyto(target[group], grad.reshape(target[group].shape))
        else:
            view = param.grad[group]
            view += grad.reshape(view.shape)

    def get_config(self) -> dict[str, Any]:
        """Return the constructor arguments (sizes as tuples, the dtype by name).

        ``init`` and ``rng`` are left out: a layer rebuilt from the config gets its
        weights from the file it was loaded from.
        """
        return {
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": self.kernel_size,
            "stride": self.stride,
            "padding": self.padding,
            "dilation": self.dilation,
            "groups": self.groups,
            "bias": self.bias is not None,
            "dtype": self.dtype.name,
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Convolution:
        """Build the layer from :meth:`get_config`'s keys (and only those)."""
        check_config_keys(cls, config, _CONFIG_KEYS)
        sizes: dict[str, Any] = {
            key: tuple(value) if isinstance(value, list) else value for key, value in config.items()
        }
        return cls(
            sizes.pop("in_channels"), sizes.pop("out_channels"), sizes.pop("kernel_size"), **sizes
        )

    def __repr__(self) -> str:
        text = f"{type(self).__name__}({self.in_channels}, {self.out_channels}, "
        text += f"kernel_size={self.kernel_size}"
        defaults = {
            "stride": (1,) * self.spatial_ndim,
            "padding": (0,) * self.spatial_ndim,
            "dilation": (1,) * self.spatial_ndim,
            "groups": 1,
        }
        for key, default in defaults.items():
            value = getattr(self, key)
            if value != default:
                text += f", {key}={value!r}"
        return text + ("" if self.bias is not None else ", bias=False") + ")"


@register
class Conv2d(Convolution):
    """Two-dimensional convolution over images ``(batch, in_channels, height, width)``.

    ``y[n, o] = bias[o] + sum over c, i, j of weight[o, c, i, j] * x_padded[n, c,
    stride * h + dilation * i, stride * w + dilation * j]`` (a cross-correlation, as in
    every deep-learning framework), with PyTorch's arguments, output sizes and parameter
    layout, so a ``state_dict`` moves between the two unchanged.

    Parameters
    ----------
    in_channels, out_channels : int
        Channels of the input and of the output.
    kernel_size : int or (int, int)
        Height and width of the kernel.
    stride : int or (int, int), default 1
    padding : int or (int, int) or {"same", "valid"}, default 0
        Zeros added on both sides of each spatial axis. ``"same"`` (stride 1 only) pads
        so that the output keeps the input's size, one more after than before when the
        total is odd, as PyTorch; ``"valid"`` is no padding.
    dilation : int or (int, int), default 1
        Spacing between kernel elements.
    groups : int, default 1
        Split the channels into ``groups`` independent convolutions; it must divide
        ``in_channels`` and ``out_channels``.
    bias : bool, default True
    init : str or callable, default "he_normal"
        Weight initialiser from :mod:`nnframe.init` (fan-in ``in_channels // groups * kh *
        kw``). The bias starts at zero.
    rng : None, int or numpy.random.Generator
    dtype : float dtype, default numpy.float32

    Attributes
    ----------
    weight : Parameter of shape (out_channels, in_channels // groups, kh, kw)
    bias : Parameter of shape (out_channels,) or None

    Notes
    -----
    The output has shape ``(batch, out_channels, out_height, out_width)`` with
    ``out = (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1``. Its memory
    is channels-last (a transposed view of an ``(batch, height, width, channels)``
    array, what PyTorch calls ``channels_last``): that is the layout the next
    convolution reads fastest, and elementwise layers keep it. The computation is im2col
    and one matrix product (see :mod:`nnframe.convolution`); the input gradient is
    computed only when asked for, so the first layer of a model never pays for it.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> conv = nf.Conv2d(1, 6, 5, rng=0)
    >>> conv
    Conv2d(1, 6, kernel_size=(5, 5))
    >>> conv(np.zeros((2, 1, 28, 28), dtype=np.float32)).shape
    (2, 6, 24, 24)
    >>> nf.Conv2d(3, 8, 3, padding="same", rng=0)(np.zeros((1, 3, 7, 7))).shape
    (1, 8, 7, 7)
    """

    spatial_ndim: ClassVar[int] = 2
    input_spec = InputSpec(min_ndim=4, max_ndim=4, axis=1, size="in_channels", dtype="dtype")


@register
class Conv1d(Convolution):
    """One-dimensional convolution over sequences ``(batch, in_channels, length)``.

    The arguments and the parameter layout are :class:`Conv2d`'s with one spatial axis
    (``weight`` of shape ``(out_channels, in_channels // groups, kernel_size)``), as in
    PyTorch; it runs as a Conv2d of height 1.

    Parameters
    ----------
    in_channels, out_channels : int
        Channels of the input and of the output.
    kernel_size : int or (int,)
    stride : int or (int,), default 1
    padding : int or (int,) or {"same", "valid"}, default 0
    dilation : int or (int,), default 1
    groups : int, default 1
    bias : bool, default True
    init : str or callable, default "he_normal"
    rng : None, int or numpy.random.Generator
    dtype : float dtype, default numpy.float32
        As for :class:`Conv2d`.

    Attributes
    ----------
    weight : Parameter of shape (out_channels, in_channels // groups, kernel_size)
    bias : Parameter of shape (out_channels,) or None

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> conv = nf.Conv1d(4, 2, 3, stride=2, rng=0)
    >>> conv
    Conv1d(4, 2, kernel_size=(3,), stride=(2,))
    >>> conv(np.zeros((5, 4, 11))).shape
    (5, 2, 5)
    """

    spatial_ndim: ClassVar[int] = 1
    input_spec = InputSpec(min_ndim=3, max_ndim=3, axis=1, size="in_channels", dtype="dtype")
