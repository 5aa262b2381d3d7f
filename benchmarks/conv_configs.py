"""What the convolution benchmark measures: small conv nets, their data, weights and products.

A configuration is one architecture at one batch size (float32, SGD ``lr=0.01`` without
momentum, softmax cross-entropy over 10 classes, random data). Every contender, in every
child process, starts from the same PyTorch-compatible initial weights and cycles through
the same pool of batches.

An architecture is a tuple of layer specs:

``("conv", in_channels, out_channels, kernel, padding)``  (stride 1, square kernel)
``("relu",)``, ``("pool", 2)`` (non-overlapping 2x2 max-pool), ``("flatten",)``,
``("linear", in_features, out_features)``.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

__all__ = [
    "CONV_ARCHITECTURES",
    "ConvArchitecture",
    "ConvConfig",
    "Product",
    "all_conv_configs",
    "bound_bytes",
    "conv_initial_parameters",
    "gemm_products",
    "layer_shapes",
    "make_conv_batches",
    "quick_conv_configs",
    "select_conv",
]

WEIGHT_SEED = 4321
DATA_SEED = 8765
#: The pool of training batches holds at most this many examples and this many bytes.
POOL_EXAMPLES = 2048
POOL_BYTES = 16 * 2**20
CLASSES = 10
LEARNING_RATE = 0.01

Spec = tuple[Any, ...]


@dataclass(frozen=True)
class ConvArchitecture:
    """A conv net: input shape ``(channels, height, width)``, layer specs, batch sizes."""

    name: str
    input_shape: tuple[int, int, int]
    layers: tuple[Spec, ...]
    batches: tuple[int, ...]


CONV_ARCHITECTURES = (
    ConvArchitecture(
        "lenet",
        (1, 28, 28),
        (
            ("conv", 1, 6, 5, 0), ("relu",), ("pool", 2),
            ("conv", 6, 16, 5, 0), ("relu",), ("pool", 2),
            ("flatten",),
            ("linear", 256, 120), ("relu",), ("linear", 120, 84), ("relu",), ("linear", 84, 10),
        ),
        (1, 64, 256),
    ),
    ConvArchitecture(
        "cifar-small",
        (3, 32, 32),
        (
            ("conv", 3, 32, 3, 1), ("relu",), ("pool", 2),
            ("conv", 32, 64, 3, 1), ("relu",), ("pool", 2),
            ("flatten",),
            ("linear", 4096, 10),
        ),
        (64,),
    ),
    ConvArchitecture(
        "digits-cnn",
        (1, 8, 8),
        (("conv", 1, 16, 3, 1), ("relu",), ("pool", 2), ("flatten",), ("linear", 256, 10)),
        (64,),
    ),
)  # fmt: skip


@dataclass(frozen=True)
class ConvConfig:
    """One measured configuration; ``id`` names it (``lenet/b64/float32/sgd``)."""

    arch: str
    input_shape: tuple[int, int, int]
    layers: tuple[Spec, ...]
    batch: int
    dtype: str = "float32"
    optimizer: str = "sgd"

    @property
    def id(self) -> str:
        return f"{self.arch}/b{self.batch}/{self.dtype}/{self.optimizer}"

    def to_dict(self) -> dict[str, object]:
        return asdict(self) | {"family": "conv"}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConvConfig:
        fields = {k: v for k, v in data.items() if k not in ("family", "id")}
        fields["input_shape"] = tuple(fields["input_shape"])
        fields["layers"] = tuple(tuple(spec) for spec in fields["layers"])
        return cls(**fields)


def all_conv_configs() -> list[ConvConfig]:
    """Every convolution configuration, in the order they are measured and reported."""
    return [
        ConvConfig(arch.name, arch.input_shape, arch.layers, batch)
        for arch in CONV_ARCHITECTURES
        for batch in arch.batches
    ]


def quick_conv_configs() -> list[ConvConfig]:
    """A smoke test: the smallest and a middle configuration."""
    wanted = {"lenet/b64/float32/sgd", "digits-cnn/b64/float32/sgd"}
    return [c for c in all_conv_configs() if c.id in wanted]


def select_conv(configs: list[ConvConfig], pattern: str | None) -> list[ConvConfig]:
    """Keep the configurations whose id matches the regular expression ``pattern``."""
    if not pattern:
        return configs
    regex = re.compile(pattern)
    return [c for c in configs if regex.search(c.id)]


def layer_shapes(config: ConvConfig) -> list[tuple[int, ...]]:
    """The per-example output shape of every layer (NCHW order for images)."""
    shape: tuple[int, ...] = config.input_shape
    shapes = []
    for spec in config.layers:
        if spec[0] == "conv":
            _, cin, cout, k, p = spec
            if shape[0] != cin:
                raise ValueError(f"{config.arch}: conv expects {cin} channels, gets {shape}")
            shape = (cout, shape[1] + 2 * p - k + 1, shape[2] + 2 * p - k + 1)
        elif spec[0] == "pool":
            shape = (shape[0], shape[1] // spec[1], shape[2] // spec[1])
        elif spec[0] == "flatten":
            shape = (math.prod(shape),)
        elif spec[0] == "linear":
            if shape != (spec[1],):
                raise ValueError(f"{config.arch}: linear expects {spec[1]} inputs, gets {shape}")
            shape = (spec[2],)
        shapes.append(shape)
    return shapes


def conv_initial_parameters(config: ConvConfig) -> list[tuple[np.ndarray, np.ndarray]]:
    """PyTorch's default initialisation, from a fixed seed: one ``(weight, bias)`` per layer.

    ``nn.Conv2d`` and ``nn.Linear`` draw weight and bias from ``U(-1/sqrt(fan_in),
    1/sqrt(fan_in))`` (kaiming-uniform with ``a=sqrt(5)``); weights are PyTorch's layouts
    ``(out, in, kh, kw)`` and ``(out, in)``. Drawn in float64, then cast.
    """
    rng = np.random.default_rng(WEIGHT_SEED)
    params = []
    for spec in config.layers:
        if spec[0] == "conv":
            _, cin, cout, k, _ = spec
            shape: tuple[int, ...] = (cout, cin, k, k)
        elif spec[0] == "linear":
            shape = (spec[2], spec[1])
        else:
            continue
        bound = 1.0 / math.sqrt(math.prod(shape[1:]))
        weight = rng.uniform(-bound, bound, shape).astype(config.dtype)
        bias = rng.uniform(-bound, bound, shape[0]).astype(config.dtype)
        params.append((weight, bias))
    return params


def make_conv_batches(config: ConvConfig) -> list[tuple[np.ndarray, np.ndarray]]:
    """The pool of batches ``(x, y)``: ``x`` NCHW in [-0.5, 0.5), ``y`` int64 labels in 0..9."""
    per_example = math.prod(config.input_shape) * np.dtype(config.dtype).itemsize
    examples = min(POOL_EXAMPLES, POOL_BYTES // per_example)
    n_batches = max(2, examples // config.batch)
    n = n_batches * config.batch
    rng = np.random.default_rng(DATA_SEED)
    x = (rng.random((n, *config.input_shape)) - 0.5).astype(config.dtype)
    y = rng.integers(0, CLASSES, n).astype(np.int64)
    b = config.batch
    return [(x[i * b : (i + 1) * b], y[i * b : (i + 1) * b]) for i in range(n_batches)]


@dataclass(frozen=True)
class Product:
    """One matrix product of a step: ``(m, k) @ (k, n)``, and what it computes."""

    what: str
    m: int
    k: int
    n: int


def gemm_products(config: ConvConfig) -> list[Product]:
    """The matrix products of one training step, as the numpy reference does them.

    A convolution over ``M = batch * out_h * out_w`` output positions with ``K = in *
    kh * kw`` inputs per position is, with the bias folded in through a ones column,
    ``(M, K+1) @ (K+1, out)`` forward, ``(K+1, M) @ (M, out)`` for the weight (and bias)
    gradient and ``(M, out) @ (out, K)`` for the input gradient, except in the first
    layer, whose input gradient no one needs. A Linear layer likewise: ``(B, in) @ (in,
    out)``, ``(in, B) @ (B, out)``, ``(B, out) @ (out, in)``.
    """
    products = []
    b = config.batch
    first = True
    for i, (spec, out) in enumerate(zip(config.layers, layer_shapes(config), strict=True)):
        if spec[0] == "conv":
            _, cin, cout, k, _ = spec
            m, kk = b * out[1] * out[2], cin * k * k
            products += [Product(f"conv{i} forward", m, kk + 1, cout)]
            products += [Product(f"conv{i} weight grad", kk + 1, m, cout)]
            if not first:
                products += [Product(f"conv{i} input grad", m, cout, kk)]
            first = False
        elif spec[0] == "linear":
            _, n_in, n_out = spec
            products += [Product(f"linear{i} forward", b, n_in, n_out)]
            products += [Product(f"linear{i} weight grad", n_in, b, n_out)]
            if not first:
                products += [Product(f"linear{i} input grad", b, n_out, n_in)]
            first = False

    return products


def bound_bytes(config: ConvConfig) -> dict[str, int]:
    """The memory a step needs at least, in bytes, by part; ``"total"`` sums them.

    ``parameters``, ``gradients`` (as many again) and ``optimizer`` state (none for plain
    SGD); ``activations``: one batch's input and every layer's output (conv, ReLU, pool,
    flatten and linear outputs each counted, as an autograd framework keeps them);
    ``im2col``: one ``(M, K)`` column matrix per convolution (``M`` output positions of
    the batch, ``K = in * kh * kw``). The dtype's item size throughout.
    """
    item = np.dtype(config.dtype).itemsize
    params = sum(w.size + b.size for w, b in conv_initial_parameters(config))
    shapes = layer_shapes(config)
    activations = math.prod(config.input_shape) + sum(math.prod(s) for s in shapes)
    im2col = 0
    for spec, out in zip(config.layers, shapes, strict=True):
        if spec[0] == "conv":
            im2col += out[1] * out[2] * spec[1] * spec[3] * spec[3]
    parts = {
        "parameters": params * item,
        "gradients": params * item,
        "optimizer": 0,
        "activations": activations * config.batch * item,
        "im2col": im2col * config.batch * item,
    }
    parts["total"] = sum(parts.values())
    return parts
