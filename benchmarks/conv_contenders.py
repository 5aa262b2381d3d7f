"""The convolution benchmark's contenders: one training-step builder each.

As in :mod:`benchmarks.contenders`: a builder takes the configuration, the shared initial
parameters (PyTorch layouts) and the pool of batches, and returns ``(step, batches)``.
``nnframe`` is the hand-written loop, ``trainer`` is ``Trainer.train_on_batch``, ``torch``
is PyTorch eager, ``numpy`` is :class:`benchmarks.conv_reference.NumpyConvNet`. Imports
happen inside the builders: each contender runs in its own process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.conv_configs import LEARNING_RATE, ConvConfig
from benchmarks.conv_reference import NumpyConvNet

__all__ = ["build_conv", "nnframe_conv_parts", "torch_conv_model"]

Step = Callable[[Any, Any], Any]
Batches = list[tuple[Any, Any]]
Params = list[tuple[np.ndarray, np.ndarray]]


def nnframe_conv_parts(config: ConvConfig, params: Params) -> tuple[Any, Any, Any]:
    """nnframe's ``(model, loss, optimizer)`` for ``config``, starting from ``params``."""
    import nnframe as nf

    dtype = np.dtype(config.dtype)
    layers: list[Any] = []
    weighted = []
    for spec in config.layers:
        if spec[0] == "conv":
            _, cin, cout, k, p = spec
            layer = nf.Conv2d(cin, cout, k, padding=p, dtype=dtype)
            weighted.append(layer)
        elif spec[0] == "linear":
            layer = nf.Linear(spec[1], spec[2], dtype=dtype)
            weighted.append(layer)
        elif spec[0] == "relu":
            layer = nf.ReLU()
        elif spec[0] == "pool":
            layer = nf.MaxPool2d(spec[1])
        else:
            layer = nf.Flatten()
        layers.append(layer)
    for layer, (w, b) in zip(weighted, params, strict=True):
        layer.weight.value[...] = w
        layer.bias.value[...] = b
    model = nf.Sequential(*layers)
    return model, nf.CrossEntropyLoss(), nf.optim.SGD(model.parameters(), lr=LEARNING_RATE)


def build_nnframe(config: ConvConfig, params: Params, batches: Batches, threads: int) -> Any:
    """nnframe's hand-written loop: ``zero_grad; loss(model(x), y); backward; step``."""
    model, loss_fn, optimizer = nnframe_conv_parts(config, params)

    def step(x: np.ndarray, y: np.ndarray) -> Any:
        optimizer.zero_grad()
        loss_value = loss_fn(model(x), y)
        model.backward(loss_fn.backward())
        optimizer.step()
        return loss_value

    return step, batches


def build_trainer(config: ConvConfig, params: Params, batches: Batches, threads: int) -> Any:
    """nnframe's ``Trainer.train_on_batch`` on the same parts."""
    import nnframe as nf

    model, loss_fn, optimizer = nnframe_conv_parts(config, params)
    return nf.Trainer(model, loss_fn, optimizer).train_on_batch, batches


def torch_conv_model(config: ConvConfig, params: Params) -> Any:
    """PyTorch's ``nn.Sequential`` for ``config`` in the config's dtype, ``params`` copied in."""
    import torch
    from torch import nn

    dtype = getattr(torch, config.dtype)
    layers: list[nn.Module] = []
    weighted: list[nn.Module] = []
    for spec in config.layers:
        if spec[0] == "conv":
            _, cin, cout, k, p = spec
            layers.append(nn.Conv2d(cin, cout, k, padding=p, dtype=dtype))
            weighted.append(layers[-1])
        elif spec[0] == "linear":
            layers.append(nn.Linear(spec[1], spec[2], dtype=dtype))
            weighted.append(layers[-1])
        elif spec[0] == "relu":
            layers.append(nn.ReLU())
        elif spec[0] == "pool":
            layers.append(nn.MaxPool2d(spec[1]))
        else:
            layers.append(nn.Flatten())
    with torch.no_grad():
        for layer, (w, b) in zip(weighted, params, strict=True):
            layer.weight.copy_(torch.from_numpy(w))
            layer.bias.copy_(torch.from_numpy(b))
    return nn.Sequential(*layers)


def build_torch(config: ConvConfig, params: Params, batches: Batches, threads: int) -> Any:
    """PyTorch eager: ``nn.Conv2d`` etc., the standard zero_grad/loss/backward/step loop."""
    import torch

    torch.set_num_threads(threads)
    model = torch_conv_model(config, params)
    loss_fn = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)

    def step(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss.detach()

    return step, [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in batches]


def build_numpy(config: ConvConfig, params: Params, batches: Batches, threads: int) -> Any:
    """The hand-written numpy step of :mod:`benchmarks.conv_reference`."""
    model = NumpyConvNet(config.layers, config.input_shape, params, config.batch, LEARNING_RATE)
    return model.step, batches


_BUILDERS = {
    "nnframe": build_nnframe,
    "trainer": build_trainer,
    "torch": build_torch,
    "numpy": build_numpy,
}


def build_conv(
    contender: str, config: ConvConfig, params: Params, batches: Batches, threads: int
) -> tuple[Step, Batches]:
    """Build ``contender``'s step for the convolution configuration ``config``."""
    step, pool = _BUILDERS[contender](config, params, batches, threads)
    return step, pool
