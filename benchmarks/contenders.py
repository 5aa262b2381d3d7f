"""The contenders: each builds a training-step function for a configuration.

A builder takes the configuration, the shared initial parameters and the pool of batches,
and returns ``(step, batches)``: ``step(x, y)`` runs one full training step (zero the
gradients, forward, loss, backward, optimizer update) and returns the loss, in whatever
form is cheapest (``float(loss)`` turns it into a number); ``batches`` is the pool in the
form the step takes (numpy arrays, or tensors for PyTorch). Each contender runs in its own
process, so the imports happen inside the builders.

The contenders: ``nnframe`` (the loop users write by hand), ``trainer``
(``Trainer.train_on_batch``), ``torch`` (PyTorch eager) and ``numpy`` (the hand-written
numpy step of :mod:`benchmarks.numpy_reference`).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.configs import OPTIMIZER_SETTINGS, Config
from benchmarks.numpy_reference import NumpyMLP

__all__ = ["CONTENDERS", "available", "build", "nnframe_parts"]

Step = Callable[[Any, Any], Any]
Batches = list[tuple[Any, Any]]
Params = list[tuple[np.ndarray, np.ndarray]]

#: The contenders, in the order each round runs them (A B C D A B C D ...).
#: ``nnframe`` is the loop a user writes by hand, as the docs teach it; ``trainer`` is
#: ``nnframe.Trainer.train_on_batch``, the step ``Trainer.fit`` takes.
CONTENDERS = ("nnframe", "trainer", "torch", "numpy")


def available(contender: str) -> bool:
    """Whether the contender's library is installed (PyTorch is optional)."""
    if contender == "torch":
        return importlib.util.find_spec("torch") is not None
    return True


def nnframe_parts(config: Config, params: Params) -> tuple[Any, Any, Any]:
    """nnframe's ``(model, loss, optimizer)`` for ``config``, starting from ``params``."""
    import nnframe as nf

    model = nf.mlp(
        list(config.dims),
        output_activation="sigmoid" if config.head == "sigmoid" else None,
        dtype=config.dtype,
        rng=0,
    )
    names = [name for name, _ in model.named_parameters()]
    values = [array for pair in params for array in pair]
    model.load_state_dict(dict(zip(names, values, strict=True)))
    loss_fn = nf.CrossEntropyLoss() if config.head == "softmax" else nf.BCELoss()
    s = OPTIMIZER_SETTINGS[config.optimizer]
    if config.optimizer == "sgd":
        optimizer = nf.SGD(model.parameters(), lr=s["lr"], momentum=s["momentum"])
    else:
        optimizer = nf.Adam(
            model.parameters(), lr=s["lr"], betas=(s["beta1"], s["beta2"]), eps=s["eps"]
        )
    return model, loss_fn, optimizer


def build_nnframe(
    config: Config, params: Params, batches: Batches, threads: int
) -> tuple[Step, Batches]:
    """nnframe's hand-written loop, as the README and the docs teach it.

    ``optimizer.zero_grad(); loss_value = loss_fn(model(x), y);
    model.backward(loss_fn.backward()); optimizer.step()``: the model is ``mlp``, the loss
    and optimizer are nnframe's; nothing is fused or switched off by hand.
    """
    model, loss_fn, optimizer = nnframe_parts(config, params)

    def step(x: np.ndarray, y: np.ndarray) -> Any:
        optimizer.zero_grad()
        loss_value = loss_fn(model(x), y)
        model.backward(loss_fn.backward())
        optimizer.step()
        return loss_value

    return step, batches


def build_trainer(
    config: Config, params: Params, batches: Batches, threads: int
) -> tuple[Step, Batches]:
    """nnframe's ``Trainer.train_on_batch``: the step ``Trainer.fit`` takes.

    zero_grad, forward, loss, backward (no gradient for the data; Sigmoid + BCE fused),
    ``optimizer.step()``.
    """
    import nnframe as nf

    model, loss_fn, optimizer = nnframe_parts(config, params)
    return nf.Trainer(model, loss_fn, optimizer).train_on_batch, batches


def build_torch(
    config: Config, params: Params, batches: Batches, threads: int
) -> tuple[Step, Batches]:
    """PyTorch eager: ``nn.Sequential``, its loss and optimizer, the same weights copied in."""
    import torch

    torch.set_num_threads(threads)
    dtype = getattr(torch, config.dtype)
    layers: list[torch.nn.Module] = []
    for i, (weight, bias) in enumerate(params):
        linear = torch.nn.Linear(weight.shape[1], weight.shape[0], dtype=dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(weight))
            linear.bias.copy_(torch.from_numpy(bias))
        layers.append(linear)
        if i < len(params) - 1:
            layers.append(torch.nn.ReLU())
    if config.head == "sigmoid":
        layers.append(torch.nn.Sigmoid())
        loss_fn: torch.nn.Module = torch.nn.BCELoss()
    else:
        loss_fn = torch.nn.CrossEntropyLoss()
    model = torch.nn.Sequential(*layers)
    s = OPTIMIZER_SETTINGS[config.optimizer]
    optimizer: torch.optim.Optimizer
    if config.optimizer == "sgd":
        optimizer = torch.optim.SGD(model.parameters(), lr=s["lr"], momentum=s["momentum"])
    else:
        optimizer = torch.optim.Adam(
            model.parameters(), lr=s["lr"], betas=(s["beta1"], s["beta2"]), eps=s["eps"]
        )

    def step(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        optimizer.zero_grad()
        out = model(x)
        loss = loss_fn(out, y)
        loss.backward()
        optimizer.step()
        return loss.detach()

    tensors = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in batches]
    return step, tensors


def build_numpy(
    config: Config, params: Params, batches: Batches, threads: int
) -> tuple[Step, Batches]:
    """The hand-written numpy step of :mod:`benchmarks.numpy_reference`."""
    model = NumpyMLP(
        params, config.head, config.batch, config.optimizer, OPTIMIZER_SETTINGS[config.optimizer]
    )
    return model.step, batches


_BUILDERS = {
    "nnframe": build_nnframe,
    "trainer": build_trainer,
    "torch": build_torch,
    "numpy": build_numpy,
}


def build(
    contender: str, config: Config, params: Params, batches: Batches, threads: int
) -> tuple[Step, Batches]:
    """Build ``contender``'s step for ``config``; see the module docstring."""
    return _BUILDERS[contender](config, params, batches, threads)
