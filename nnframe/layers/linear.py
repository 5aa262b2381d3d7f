"""Linear: the fully connected (affine) layer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from nnframe import functional as F
from nnframe import init as initializers
from nnframe.checks import boolean, float_dtype, positive_int
from nnframe.layers.base import Layer
from nnframe.layers.config import check_config_keys
from nnframe.layers.registry import register
from nnframe.layers.spec import InputSpec
from nnframe.parameter import Parameter
from nnframe.rng import RNGLike, as_generator

__all__ = ["Linear"]

_CONFIG_KEYS = ("in_features", "out_features", "bias", "dtype")


@register
class Linear(Layer):
    """Fully connected layer.

    ``y = x @ weight.T + bias``, on inputs of shape ``(batch, in_features)`` or
    ``(batch, ..., in_features)`` (every leading position transformed alike).

    Parameters
    ----------
    in_features : int
        Size of each input example.
    out_features : int
        Size of each output example.
    bias : bool, default True
        Whether to add a learned bias.
    init : str or callable, default "he_normal"
        Weight initialiser from :mod:`nnframe.init`, by name or as a function
        ``init(shape, rng, dtype)``. The bias starts at zero.
    rng : None, int or numpy.random.Generator
        Source of the initial weights.
    dtype : float dtype, default numpy.float32
        Dtype of the parameters. Inputs of another dtype are cast to it, so a float32
        layer computes in float32.

    Attributes
    ----------
    weight : Parameter of shape (out_features, in_features)
    bias : Parameter of shape (out_features,) or None

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> layer = nf.Linear(20, 7, rng=0)
    >>> layer
    Linear(20 -> 7)
    >>> layer(np.ones((5, 20))).shape
    (5, 7)
    """

    input_spec = InputSpec(min_ndim=2, axis=-1, size="in_features", dtype="dtype")

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        bias: bool = True,
        init: str | initializers.Initializer = "he_normal",
        rng: RNGLike = None,
        dtype: np.typing.DTypeLike = np.float32,
    ) -> None:
        super().__init__()
        self.in_features = positive_int(in_features, "Linear: in_features")
        self.out_features = positive_int(out_features, "Linear: out_features")
        with_bias = boolean(bias, "Linear: bias")
        self.dtype = float_dtype(dtype, "Linear: dtype")
        generator = as_generator(rng, name="Linear: rng")
        shape = (self.out_features, self.in_features)
        weight = initializers.draw(init, shape, generator, self.dtype, "Linear")
        self.weight = Parameter(weight)
        self.bias = Parameter(np.zeros(self.out_features, dtype=self.dtype)) if with_bias else None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.save_for_backward(x=x)
        return F.linear(x, self.weight.value, None if self.bias is None else self.bias.value)

    def backward(self, grad_y: np.ndarray) -> np.ndarray | None:
        x = self.saved("x")
        weight, bias = self.weight, self.bias
        # After zero_grad the product goes straight into .grad; otherwise it goes into a
        # reused work array and is added, so gradients still accumulate. A frozen
        # parameter gets nothing.
        if weight.requires_grad:
            target = weight.writable_grad()
            if target is not None:
                F.linear_grad_weight(x, grad_y, out=target)
            else:
                weight.grad += F.linear_grad_weight(
                    x, grad_y, out=self.scratch("grad_weight", weight.shape, weight.dtype)
                )
        if bias is not None and bias.requires_grad:
            target = bias.writable_grad()
            if target is not None:
                F.linear_grad_bias(grad_y, out=target)
            else:
                bias.grad += F.linear_grad_bias(grad_y)
        return F.linear_grad_input(grad_y, weight.value) if self.needs_input_grad else None

    def get_config(self) -> dict[str, Any]:
        """Return ``in_features``, ``out_features``, ``bias`` and the dtype's name.

        ``init`` and ``rng`` are left out: a layer rebuilt from the config gets its
        weights from the file it was loaded from.
        """
        return {
            "in_features": self.in_features,
            "out_features": self.out_features,
            "bias": self.bias is not None,
            "dtype": self.dtype.name,
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Linear:
        """Build a Linear from :meth:`get_config`'s keys (and only those)."""
        check_config_keys(cls, config, _CONFIG_KEYS)
        return cls(**config)

    def __repr__(self) -> str:
        extra = "" if self.bias is not None else ", bias=False"
        return f"Linear({self.in_features} -> {self.out_features}{extra})"
