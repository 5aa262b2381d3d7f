"""What is measured: the benchmark configurations, their data, initial weights and FLOP count.

A configuration is one architecture at one batch size, dtype and optimizer. Everything a
contender needs to build its training step (weights, data, hyperparameters) is derived
here, deterministically from fixed seeds, so that every contender, in every child process,
starts from the same weights and sees the same batches in the same order.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass

import numpy as np

__all__ = [
    "ARCHITECTURES",
    "DTYPES",
    "OPTIMIZERS",
    "OPTIMIZER_SETTINGS",
    "Architecture",
    "Config",
    "all_configs",
    "gemm_flops",
    "initial_parameters",
    "make_batches",
    "quick_configs",
    "select",
]

#: Seeds of the initial weights and of the data (fixed: the point is speed, not learning).
WEIGHT_SEED = 1234
DATA_SEED = 5678

#: How many examples the pool of training batches holds at most, and how many bytes.
#: Steps cycle through the pool, as training cycles through a data set; a pool (rather
#: than one repeated batch) keeps the model from memorising its input quickly, which
#: would drive activations towards subnormal numbers and distort the timings.
POOL_EXAMPLES = 4096
POOL_BYTES = 32 * 2**20


@dataclass(frozen=True)
class Architecture:
    """A multi-layer perceptron: ReLU between the Linear layers, and an output head.

    Attributes
    ----------
    name : str
    dims : tuple of int
        Input size, hidden sizes, output size.
    head : {"softmax", "sigmoid"}
        ``"softmax"``: logits and softmax cross-entropy with class labels;
        ``"sigmoid"``: a Sigmoid layer and binary cross-entropy with 0/1 targets.
    batches : tuple of int
        The batch sizes measured.
    """

    name: str
    dims: tuple[int, ...]
    head: str
    batches: tuple[int, ...]


ARCHITECTURES = (
    Architecture("mnist-mlp", (784, 256, 128, 10), "softmax", (1, 16, 64, 256, 1024)),
    # The course's 4-layer cat classifier: 64x64x3 images, 209 training examples.
    Architecture("course-deep", (12288, 20, 7, 5, 1), "sigmoid", (209,)),
)
DTYPES = ("float32", "float64")
OPTIMIZERS = ("sgd", "adam")

#: The optimizers' hyperparameters, the same for every contender.
OPTIMIZER_SETTINGS: dict[str, dict[str, float]] = {
    "sgd": {"lr": 0.01, "momentum": 0.9},
    "adam": {"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
}


@dataclass(frozen=True)
class Config:
    """One measured configuration; ``id`` names it (``mnist-mlp/b64/float32/sgd``)."""

    arch: str
    dims: tuple[int, ...]
    head: str
    batch: int
    dtype: str
    optimizer: str

    @property
    def id(self) -> str:
        return f"{self.arch}/b{self.batch}/{self.dtype}/{self.optimizer}"

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Config:
        fields = dict(data)
        fields["dims"] = tuple(fields["dims"])  # JSON gives a list
        return cls(**fields)


def all_configs() -> list[Config]:
    """Every configuration of the full run, in the order they are measured and reported."""
    return [
        Config(arch.name, arch.dims, arch.head, batch, dtype, optimizer)
        for arch in ARCHITECTURES
        for dtype in DTYPES
        for optimizer in OPTIMIZERS
        for batch in arch.batches
    ]


def quick_configs() -> list[Config]:
    """A few configurations spanning small and large batches, both heads and both dtypes."""
    wanted = {
        "mnist-mlp/b16/float32/sgd",
        "mnist-mlp/b256/float64/adam",
        "course-deep/b209/float32/adam",
    }
    return [config for config in all_configs() if config.id in wanted]


def select(configs: list[Config], pattern: str | None) -> list[Config]:
    """Keep the configurations whose id matches the regular expression ``pattern``."""
    if not pattern:
        return configs
    regex = re.compile(pattern)
    return [config for config in configs if regex.search(config.id)]


def gemm_flops(dims: tuple[int, ...], batch: int) -> int:
    """Matrix-multiply FLOPs of one training step, the minimum a correct step needs.

    Per Linear layer: ``2 * batch * in * out`` forward, as much again for the weight
    gradient, and as much again for the input gradient, except in the first layer, whose
    input gradient no one needs.
    """
    total = 0
    for i in range(len(dims) - 1):
        per_product = 2 * batch * dims[i] * dims[i + 1]
        total += per_product * (2 if i == 0 else 3)
    return total


def initial_parameters(config: Config) -> list[tuple[np.ndarray, np.ndarray]]:
    """He-normal weights of shape ``(out, in)`` and zero biases, in the config's dtype.

    Drawn in float64 from a fixed seed and then cast, so the float32 and float64 runs
    start from the same weights up to rounding.
    """
    rng = np.random.default_rng(WEIGHT_SEED)
    params = []
    for fan_in, fan_out in zip(config.dims[:-1], config.dims[1:], strict=True):
        weight = rng.standard_normal((fan_out, fan_in)) * math.sqrt(2.0 / fan_in)
        params.append((weight.astype(config.dtype), np.zeros(fan_out, dtype=config.dtype)))
    return params


def make_batches(config: Config) -> list[tuple[np.ndarray, np.ndarray]]:
    """The pool of training batches ``(x, y)`` that every contender cycles through.

    ``x`` holds centred pixel-like values in [-0.5, 0.5); ``y`` holds class labels (int64,
    shape ``(batch,)``) for the softmax head, 0/1 targets (shape ``(batch, 1)``, the
    config's dtype) for the sigmoid head. Each batch is a contiguous view into one array.

    The labels come from a fixed random linear "teacher" (the class with the largest
    ``x @ R``; for the sigmoid head, the sign of ``x @ r``), so there is something to learn.
    With all-positive inputs and random labels, training at small batches killed most
    ReLU units within a few hundred steps; their weights then get exactly zero gradients,
    the momentum buffers decay geometrically into subnormal numbers and stay there
    (``0.9 * x`` rounds back to ``x`` at the smallest subnormal), and on CPUs where
    arithmetic on subnormals takes a microcode assist (Intel) every step becomes up to 10x
    slower, at a step count that depends on how fast the contender ran: the timings then
    measure when the slowdown started, not the framework.
    """
    n_in = config.dims[0]
    itemsize = np.dtype(config.dtype).itemsize
    examples = min(POOL_EXAMPLES, POOL_BYTES // (n_in * itemsize))
    n_batches = max(2, examples // config.batch)
    n = n_batches * config.batch
    rng = np.random.default_rng(DATA_SEED)
    x64 = rng.random((n, n_in), dtype=np.float64) - 0.5
    teacher = x64 @ rng.standard_normal((n_in, config.dims[-1]))
    x = x64.astype(config.dtype)
    if config.head == "softmax":
        y = np.argmax(teacher, axis=1).astype(np.int64)
    else:
        y = (teacher[:, :1] > 0).astype(config.dtype)
    b = config.batch
    return [(x[i * b : (i + 1) * b], y[i * b : (i + 1) * b]) for i in range(n_batches)]
