"""Ready-made model builders: ``mlp``, the course's L-layer network in one call."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import numpy as np

from nnframe import init as initializers
from nnframe.checks import float_dtype, positive_int
from nnframe.errors import ArgumentError, ArgumentTypeError
from nnframe.layers import Layer, Linear, ReLU, Sequential, Sigmoid, Tanh
from nnframe.rng import RNGLike, as_generator

__all__ = ["ACTIVATIONS", "mlp"]

ACTIVATIONS: dict[str, Callable[[], Layer]] = {
    "relu": ReLU,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
}


def _activation(name: str | None, argument: str) -> Callable[[], Layer] | None:
    if name is None:
        return None
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ArgumentError(
            f"mlp: {argument} must be one of {sorted(ACTIVATIONS)} or None; got {name!r}"
        )
    return ACTIVATIONS[name]


def mlp(
    layer_dims: Sequence[int],
    *,
    hidden_activation: str = "relu",
    output_activation: str | None = None,
    init: str | initializers.Initializer = "he_normal",
    rng: RNGLike = None,
    dtype: np.typing.DTypeLike = np.float32,
) -> Sequential:
    """Build a multi-layer perceptron: ``[Linear -> activation] * (L-1) -> Linear [-> out]``.

    Parameters
    ----------
    layer_dims : sequence of int
        Input size, hidden sizes, output size: the course's ``layers_dims``.
    hidden_activation : str, default "relu"
        Name of the activation after each hidden Linear (see ``ACTIVATIONS``).
    output_activation : str or None, default None
        Activation after the last Linear; None leaves logits (pair them with
        ``CrossEntropyLoss`` or ``BCEWithLogitsLoss``).
    init : str or callable, default "he_normal"
        Weight initialiser for every Linear.
    rng : None, int or numpy.random.Generator
        One Generator initialises every layer, first to last.
    dtype : float dtype, default numpy.float32

    Returns
    -------
    Sequential

    Examples
    --------
    >>> import nnframe as nf
    >>> nf.mlp([12288, 20, 7, 5, 1], output_activation="sigmoid", rng=0)
    Sequential(
      (0): Linear(12288 -> 20)
      (1): ReLU()
      (2): Linear(20 -> 7)
      (3): ReLU()
      (4): Linear(7 -> 5)
      (5): ReLU()
      (6): Linear(5 -> 1)
      (7): Sigmoid()
    )
    """
    given: object = layer_dims
    if not isinstance(given, list | tuple):
        raise ArgumentTypeError(f"mlp: layer_dims must be a list of ints; got {given!r}")
    if len(given) < 2:
        raise ArgumentError(f"mlp: layer_dims needs an input and an output size; got {given}")
    dims = [positive_int(size, f"mlp: layer_dims[{i}]") for i, size in enumerate(given)]
    hidden = _activation(hidden_activation, "hidden_activation")
    output = _activation(output_activation, "output_activation")
    float_dtype(dtype, "mlp: dtype")
    try:
        initializers.get(init)
    except ArgumentError as error:
        raise ArgumentError(f"mlp: {error}") from None
    generator = as_generator(rng, name="mlp: rng")
    model = Sequential()
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(dims)):
        model.append(Linear(fan_in, fan_out, init=init, rng=generator, dtype=dtype))
        last = i == len(dims) - 2
        make = output if last else hidden
        if make is not None:
            model.append(make())
    return model
