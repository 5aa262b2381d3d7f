"""Ready-made model builders: ``mlp`` (the course's L-layer network), ``resmlp`` and ``cnn``."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import numpy as np

from nnframe import init as initializers
from nnframe.checks import boolean, float_dtype, interval, non_negative_int, positive_int
from nnframe.errors import ArgumentError, ArgumentTypeError
from nnframe.layers import (
    BatchNorm2d,
    Conv2d,
    Dropout,
    Flatten,
    Layer,
    LayerNorm,
    Linear,
    MaxPool2d,
    ReLU,
    Residual,
    Sequential,
    Sigmoid,
    Tanh,
)
from nnframe.rng import RNGLike, as_generator

__all__ = ["ACTIVATIONS", "cnn", "mlp", "resmlp"]

ACTIVATIONS: dict[str, Callable[[], Layer]] = {
    "relu": ReLU,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
}


def _activation(
    name: str | None, argument: str, owner: str = "mlp"
) -> Callable[[], Layer] | None:
    if name is None:
        return None
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ArgumentError(
            f"{owner}: {argument} must be one of {sorted(ACTIVATIONS)} or None; got {name!r}"
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


def resmlp(
    n_features: int,
    n_outputs: int,
    *,
    width: int = 128,
    blocks: int = 2,
    expansion: int = 2,
    output_activation: str | None = None,
    rng: RNGLike = None,
    dtype: np.typing.DTypeLike = np.float32,
) -> Sequential:
    """Build a residual MLP of pre-norm blocks: ``x + Linear(ReLU(Linear(LayerNorm(x))))``.

    ``Linear(n_features -> width)``, then ``blocks`` residual blocks, each
    ``Residual(Sequential(LayerNorm(width), Linear(width -> expansion * width), ReLU(),
    Linear(expansion * width -> width)))``, then ``LayerNorm(width)`` and
    ``Linear(width -> n_outputs)``: the pre-norm layout of transformer blocks (Xiong et
    al., 2020), which keeps an identity path from the input to the head.

    Parameters
    ----------
    n_features : int
        Size of each input example.
    n_outputs : int
        Size of each output: classes, or 1.
    width : int, default 128
        The width of the residual stream.
    blocks : int, default 2
        The number of residual blocks (0 for none).
    expansion : int, default 2
        The hidden width of each block, as a multiple of ``width``.
    output_activation : str or None, default None
        An activation after the last Linear (see ``ACTIVATIONS``); None leaves logits.
    rng : None, int or numpy.random.Generator
        One Generator initialises every Linear, first to last.
    dtype : float dtype, default numpy.float32

    Returns
    -------
    Sequential

    Examples
    --------
    >>> import nnframe as nf
    >>> model = nf.resmlp(64, 10, width=32, blocks=1, rng=0)
    >>> model
    Sequential(
      (0): Linear(64 -> 32)
      (1): Residual(
        (block): Sequential(
          (0): LayerNorm((32,), eps=1e-05, elementwise_affine=True)
          (1): Linear(32 -> 64)
          (2): ReLU()
          (3): Linear(64 -> 32)
        )
      )
      (2): LayerNorm((32,), eps=1e-05, elementwise_affine=True)
      (3): Linear(32 -> 10)
    )
    """
    n_features = positive_int(n_features, "resmlp: n_features")
    n_outputs = positive_int(n_outputs, "resmlp: n_outputs")
    width = positive_int(width, "resmlp: width")
    blocks = non_negative_int(blocks, "resmlp: blocks")
    expansion = positive_int(expansion, "resmlp: expansion")
    output = _activation(output_activation, "output_activation", "resmlp")
    float_dtype(dtype, "resmlp: dtype")
    generator = as_generator(rng, name="resmlp: rng")

    def linear(fan_in: int, fan_out: int) -> Linear:
        return Linear(fan_in, fan_out, rng=generator, dtype=dtype)

    # LayerNorm's __init__ is made by attrs, with converters, behind @nnframe.layer, which
    # mypy cannot see through: call it as the callable it is.
    layer_norm: Callable[..., Layer] = LayerNorm

    model = Sequential(linear(n_features, width))
    inner = width * expansion
    for _ in range(blocks):
        block = Sequential(
            layer_norm(width, dtype=dtype), linear(width, inner), ReLU(), linear(inner, width)
        )
        model.append(Residual(block))
    model.append(layer_norm(width, dtype=dtype))
    model.append(linear(width, n_outputs))
    if output is not None:
        model.append(output())
    return model


def cnn(
    image_shape: Sequence[int],
    n_outputs: int,
    *,
    channels: Sequence[int] = (16, 32),
    kernel_size: int = 5,
    hidden: int = 64,
    batch_norm: bool = False,
    dropout: float = 0.0,
    output_activation: str | None = None,
    rng: RNGLike = None,
    dtype: np.typing.DTypeLike = np.float32,
) -> Sequential:
    """Build a small LeNet-style convolutional network for images ``(batch, C, H, W)``.

    One block per entry of ``channels``: ``Conv2d(kernel_size, padding="same")``, then
    ``BatchNorm2d`` (with ``batch_norm``), ``ReLU`` and ``MaxPool2d(2)``, each block halving
    the height and width (rounding down); then ``Flatten``, ``Dropout`` (with ``dropout``),
    ``Linear(hidden)``, ``ReLU`` and ``Linear(n_outputs)``.

    Parameters
    ----------
    image_shape : sequence of int
        The shape of one image, ``(channels, height, width)``: ``(1, 8, 8)`` for the
        digits data set (``Dataset.image_shape``).
    n_outputs : int
        Size of each output: classes, or 1.
    channels : sequence of int, default (16, 32)
        The output channels of each convolution block, first to last (at least one).
    kernel_size : int, default 5
        The (square) kernel of every convolution; odd, so that "same" padding is symmetric.
        5, LeNet's: on the 8x8 digits it beats 3 (test accuracy 0.983-0.989 against
        0.969-0.983 over three seeds, 60 epochs of Adam).
    hidden : int, default 64
        The width of the dense layer before the output.
    batch_norm : bool, default False
        Put a ``BatchNorm2d`` between each convolution and its ``ReLU`` (the convolution
        then has no bias: the normalisation would cancel it).
    dropout : float, default 0.0
        Dropout probability on the flattened features, in [0, 1); 0 for none.
    output_activation : str or None, default None
        An activation after the last Linear (see ``ACTIVATIONS``); None leaves logits.
    rng : None, int or numpy.random.Generator
        One Generator initialises every layer, first to last (and drives Dropout).
    dtype : float dtype, default numpy.float32

    Returns
    -------
    Sequential

    Raises
    ------
    ArgumentError, ArgumentTypeError
        For a bad argument, named in the message (``cnn: channels[1]``), or an image too
        small for ``len(channels)`` poolings.

    Examples
    --------
    >>> import nnframe as nf
    >>> model = nf.cnn((1, 8, 8), 10, rng=0)
    >>> model
    Sequential(
      (0): Conv2d(1, 16, kernel_size=(5, 5), padding='same')
      (1): ReLU()
      (2): MaxPool2d(kernel_size=(2, 2), stride=(2, 2))
      (3): Conv2d(16, 32, kernel_size=(5, 5), padding='same')
      (4): ReLU()
      (5): MaxPool2d(kernel_size=(2, 2), stride=(2, 2))
      (6): Flatten()
      (7): Linear(128 -> 64)
      (8): ReLU()
      (9): Linear(64 -> 10)
    )
    >>> [row.output_shape for row in model.summary((1, 8, 8)).rows][:6]
    [(16, 8, 8), (16, 8, 8), (16, 4, 4), (32, 4, 4), (32, 4, 4), (32, 2, 2)]
    """
    owner = "cnn"
    given: object = image_shape
    if not isinstance(given, list | tuple) or len(given) != 3:
        raise ArgumentTypeError(
            f"{owner}: image_shape must be (channels, height, width); got {given!r}"
        )
    shape = [positive_int(size, f"{owner}: image_shape[{i}]") for i, size in enumerate(given)]
    n_outputs = positive_int(n_outputs, f"{owner}: n_outputs")
    widths: object = channels
    if not isinstance(widths, list | tuple) or not widths:
        raise ArgumentError(f"{owner}: channels must be a non-empty list of ints; got {widths!r}")
    sizes = [positive_int(c, f"{owner}: channels[{i}]") for i, c in enumerate(widths)]
    kernel = positive_int(kernel_size, f"{owner}: kernel_size")
    if kernel % 2 == 0:
        raise ArgumentError(f"{owner}: kernel_size must be odd; got {kernel}")
    hidden = positive_int(hidden, f"{owner}: hidden")
    with_norm = boolean(batch_norm, f"{owner}: batch_norm")
    drop = interval(0.0, 1.0, high_open=True)(dropout, f"{owner}: dropout")
    output = _activation(output_activation, "output_activation", owner)
    float_dtype(dtype, f"{owner}: dtype")
    generator = as_generator(rng, name=f"{owner}: rng")
    height, width = shape[1] >> len(sizes), shape[2] >> len(sizes)
    if height == 0 or width == 0:
        raise ArgumentError(
            f"{owner}: an image of shape {tuple(shape)} is too small for {len(sizes)} "
            f"poolings by 2 (channels={tuple(sizes)}); use fewer channels entries"
        )
    # BatchNorm2d, MaxPool2d and Dropout are attrs classes behind @nnframe.layer, which mypy cannot
    # see through: call them as the callables they are.
    batch_norm_2d: Callable[..., Layer] = BatchNorm2d
    max_pool_2d: Callable[..., Layer] = MaxPool2d
    dropout_layer: Callable[..., Layer] = Dropout
    model = Sequential()
    fan_in = shape[0]
    for size in sizes:
        model.append(
            Conv2d(fan_in, size, kernel, padding="same", bias=not with_norm, rng=generator,
                   dtype=dtype)
        )
        if with_norm:
            model.append(batch_norm_2d(size, dtype=dtype))
        model.append(ReLU())
        model.append(max_pool_2d(2))
        fan_in = size
    model.append(Flatten())
    if drop:
        model.append(dropout_layer(drop, rng=generator))
    model.append(Linear(fan_in * height * width, hidden, rng=generator, dtype=dtype))
    model.append(ReLU())
    model.append(Linear(hidden, n_outputs, rng=generator, dtype=dtype))
    if output is not None:
        model.append(output())
    return model
