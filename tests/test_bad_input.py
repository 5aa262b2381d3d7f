"""The bad-input sweep: every public constructor and call, given bad arguments.

Each bad input must raise an ``nnframe.errors`` exception that is also the standard one
(``ValueError``, ``TypeError``, ...), whose message names the argument or layer and what
was expected, before anything has changed: the model's weights, buffers, gradients, modes
and generators, the optimizer's and the schedule's state, and a loss's cache.

The first half is a table, one row per distinct bad input (``CASES``). The second half is
a hypothesis fuzz: malformed values of every kind for every argument, where the property
is "succeeds, or raises an NnframeError and changes nothing".
"""

from __future__ import annotations

import copy
import math
import numbers
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nnframe as nf
from nnframe import datasets
from nnframe.errors import (
    ArgumentError,
    ArgumentTypeError,
    CacheMissError,
    DataError,
    DTypeError,
    NnframeError,
    SerializationError,
    ShapeError,
    StateDictError,
)
from nnframe.training import EarlyStopping, LearningRateScheduler, ModelCheckpoint

X = np.random.default_rng(0).standard_normal((8, 3)).astype(np.float32)
Y = np.random.default_rng(1).standard_normal((8, 2)).astype(np.float32)
LABELS = np.array([0, 1, 1, 0, 1, 0, 0, 1])
IMAGES = np.random.default_rng(2).standard_normal((4, 2, 6, 6)).astype(np.float32)
SEQUENCES = np.random.default_rng(3).standard_normal((4, 2, 9)).astype(np.float32)


def image_layers() -> dict[str, tuple[nf.Layer, np.ndarray]]:
    """Every image and sequence layer (and a small cnn), each with the input it takes."""
    return {
        "conv2d": (nf.Conv2d(2, 4, 3, padding=1, rng=3), IMAGES),
        "dilated": (
            nf.Conv2d(2, 4, (3, 2), stride=(1, 2), dilation=2, groups=2, bias=False, rng=4),
            IMAGES,
        ),
        "conv1d": (nf.Conv1d(2, 4, 3, padding="same", rng=5), SEQUENCES),
        "maxpool2d": (nf.MaxPool2d(3, stride=2, padding=1), IMAGES),
        "avgpool2d": (nf.AvgPool2d(2), IMAGES),
        "maxpool1d": (nf.MaxPool1d(2), SEQUENCES),
        "avgpool1d": (nf.AvgPool1d(3, stride=2, padding=1), SEQUENCES),
        "global": (nf.GlobalAvgPool2d(), IMAGES),
        "batchnorm2d": (nf.BatchNorm2d(2, momentum=0.5), IMAGES),
        "cnn": (
            nf.cnn((2, 6, 6), 3, channels=(4,), kernel_size=3, hidden=5, batch_norm=True, rng=6),
            IMAGES,
        ),
        # A step behind them and no forward since: backward has nothing to work on.
        "spent conv2d": (nf.Conv2d(2, 4, 3, rng=7), IMAGES),
        "spent conv1d": (nf.Conv1d(2, 4, 2, stride=2, rng=8), SEQUENCES),
        "spent maxpool2d": (nf.MaxPool2d(2), IMAGES),
        "spent avgpool1d": (nf.AvgPool1d(2), SEQUENCES),
        "spent global": (nf.GlobalAvgPool2d(), IMAGES),
        "spent batchnorm2d": (nf.BatchNorm2d(2), IMAGES),
    }


class World:
    """Everything a bad call could damage, trained one epoch so that no state is trivial."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.model = nf.Sequential(
            nf.Linear(3, 4, rng=0),
            nf.BatchNorm1d(4),
            nf.ReLU(),
            nf.Dropout(0.25, rng=1),
            nf.Linear(4, 2, rng=2),
        )
        self.params = self.model.parameters()
        self.optimizer = nf.SGD(self.params, lr=0.1, momentum=0.9)
        self.schedule = nf.StepLR(self.optimizer, step_size=2)
        self.trainer = nf.Trainer(self.model, nf.MSELoss(), self.optimizer, metrics=["mse"])
        self.ce_trainer = nf.Trainer(
            self.model, nf.CrossEntropyLoss(), self.optimizer, metrics=["accuracy"]
        )
        self.trainer.fit(X, Y, epochs=1, batch_size=4, rng=0, progress=False)
        self.schedule.step()
        # Non-zero gradients, and eval mode, so that a stray zero_grad or train() shows.
        self.model.train()(X)
        self.model.backward(np.ones((8, 2), dtype=np.float32))
        self.model.eval()
        self.unchained = nf.Sequential(nf.Linear(4, 3, rng=0), nf.ReLU(), nf.Linear(5, 2, rng=1))
        self.small = nf.Linear(3, 2, rng=0)
        # Losses with a cache, which a failing forward must keep.
        self.mse, self.ce = nf.MSELoss(), nf.CrossEntropyLoss()
        self.bce, self.bcel = nf.BCELoss(), nf.BCEWithLogitsLoss()
        self.mse(Y, Y)
        self.ce(Y, LABELS)
        self.bce(np.full((8, 1), 0.5), LABELS)
        self.bcel(Y[:, :1], LABELS)
        # Image layers with gradients, work arrays and running statistics from two steps,
        # and (but the spent ones) a forward whose backward is pending, cached.
        self.images: dict[str, nf.Layer] = {}
        for name, (layer, x) in image_layers().items():
            for _ in range(2):
                layer.backward(np.ones_like(layer(x)), input_grad=True)
            if not name.startswith("spent"):
                layer(x)
            self.images[name] = layer

    @property
    def losses(self) -> list[nf.Loss]:
        return [self.mse, self.ce, self.bce, self.bcel]


def snapshot(w: World) -> dict[str, Any]:
    """Copies of everything the bad call must leave alone."""
    return {
        "state": w.model.state_dict(),
        "grads": {name: p.grad.copy() for name, p in w.model.named_parameters()},
        "modes": [sub.training for _, sub in w.model.named_layers()],
        "generators": {
            path: copy.deepcopy(g.bit_generator.state)
            for path, g in w.model.named_generators()
        },
        "optimizer": w.optimizer.state_dict(),
        "schedule": w.schedule.state_dict(),
        "unchained": w.unchained.state_dict(),
        "small": w.small.state_dict(),
        "small grads": [p.grad.copy() for p in w.small.parameters()],
        "loss caches": [loss._cache for loss in w.losses],
        **image_snapshot(w),
    }


def image_snapshot(w: World) -> dict[str, Any]:
    """The image layers' parameters, gradients, buffers, modes, caches and work arrays."""
    snap: dict[str, Any] = {}
    caches: list[object] = []
    for name, layer in w.images.items():
        snap[f"{name} state"] = layer.state_dict()
        snap[f"{name} grads"] = {n: p.grad.copy() for n, p in layer.named_parameters()}
        for path, sub in layer.named_layers():
            where = f"{name}[{path}]"
            snap[f"{where} training"] = sub.training
            snap[f"{where} scratch"] = {k: a.copy() for k, a in (sub._scratch or {}).items()}
            snap[f"{where} output"] = None if sub._output is None else sub._output.copy()
            caches += [sub._cache, sub._output]
    snap["image caches"] = caches
    return snap


def assert_unchanged(before: dict[str, Any], after: dict[str, Any], path: str = "") -> None:
    if isinstance(before, dict):
        assert before.keys() == after.keys(), path
        for key in before:
            assert_unchanged(before[key], after[key], f"{path}/{key}")
    elif isinstance(before, list) and path.endswith("caches"):
        assert all(a is b for a, b in zip(before, after, strict=True)), path
    elif isinstance(before, list):
        assert len(before) == len(after), path
        for i, (a, b) in enumerate(zip(before, after, strict=True)):
            assert_unchanged(a, b, f"{path}/{i}")
    elif isinstance(before, np.ndarray):
        np.testing.assert_array_equal(after, before, err_msg=path)
    else:
        assert after == before, path


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def full_message(error: BaseException) -> str:
    return "\n".join([str(error), *getattr(error, "__notes__", [])])


# -- the table --------------------------------------------------------------------------


@attrs.frozen
class Case:
    """One bad input: the call, the errors it must raise, what the message must say."""

    id: str
    call: Callable[[World], object]
    error: type[NnframeError]
    standard: type[Exception]
    fragments: tuple[str, ...]
    after: Callable[[World], bool] | None = None


def case(
    id: str,
    call: Callable[[World], object],
    error: type[NnframeError],
    *fragments: str,
    after: Callable[[World], bool] | None = None,
) -> Case:
    # The standard exception the nnframe one also is: ValueError, TypeError, RuntimeError.
    standard = next(c for c in error.__mro__[1:] if c.__module__ == "builtins")
    return Case(id, call, error, standard, fragments, after)


class BytesPath:
    """A path-like object whose file-system path is bytes, which nnframe does not take."""

    def __fspath__(self) -> bytes:
        return b"model.safetensors"


def garbage_file(w: World) -> Path:
    path = w.tmp / "garbage.safetensors"
    path.write_bytes(b"not a model at all" * 4)
    return path


def poke(array: np.ndarray, index: tuple[int, ...], value: float) -> np.ndarray:
    out = array.copy()
    out[index] = value
    return out


def fit(w: World, x: object = X, y: object = Y, **kwargs: Any) -> object:
    kwargs.setdefault("progress", False)
    kwargs.setdefault("batch_size", 2)
    return w.trainer.fit(x, y, rng=kwargs.pop("rng", 0), **kwargs)


def ce_fit(w: World, y: object, **kwargs: Any) -> object:
    return w.ce_trainer.fit(X, y, batch_size=2, rng=0, progress=False, **kwargs)


P = ArgumentError  # a wrong value
T = ArgumentTypeError  # a wrong type

CASES = [
    # Linear
    case("Linear(-3, 2)", lambda w: nf.Linear(-3, 2), P, "Linear: in_features", "positive"),
    case("Linear(2.5, 2)", lambda w: nf.Linear(2.5, 2), T, "Linear: in_features", "an int"),
    case("Linear(0, 2)", lambda w: nf.Linear(0, 2), P, "Linear: in_features", "positive"),
    case("Linear('3', 2)", lambda w: nf.Linear("3", 2), T, "Linear: in_features", "an int"),
    case("Linear(None, 2)", lambda w: nf.Linear(None, 2), T, "Linear: in_features", "an int"),
    case("Linear(True, 2)", lambda w: nf.Linear(True, 2), T, "Linear: in_features", "an int"),
    case("Linear(3, -1)", lambda w: nf.Linear(3, -1), P, "Linear: out_features", "positive"),
    case("Linear(10**30, 2)", lambda w: nf.Linear(10**30, 2), P, "Linear", "GiB"),
    case("Linear(2**40, 2**40)", lambda w: nf.Linear(2**40, 2**40), P, "Linear", "GiB"),
    case("Linear bias='yes'", lambda w: nf.Linear(3, 2, bias="yes"), T, "Linear: bias", "bool"),
    case("Linear init='nope'", lambda w: nf.Linear(3, 2, init="nope"), P,
         "Linear: init", "he_normal"),
    case("Linear init=5", lambda w: nf.Linear(3, 2, init=5), P, "Linear: init", "callable"),
    case("Linear init of wrong shape", lambda w: nf.Linear(3, 2, init=lambda s, r, d: np.ones(3)),
         P, "Linear: init", "(2, 3)"),
    case("Linear init of strings",
         lambda w: nf.Linear(3, 2, init=lambda s, r, d: np.full(s, "a")), DTypeError,
         "Linear: init", "real numeric"),
    case("Linear init of NaN",
         lambda w: nf.Linear(3, 2, init=lambda s, r, d: np.full(s, np.nan)), P,
         "Linear: init", "finite"),
    case("Linear init=ReLU (not an initialiser)", lambda w: nf.Linear(3, 2, init=nf.ReLU), T,
         "Linear: init", "init(shape, rng, dtype)"),
    case("Linear rng=-1", lambda w: nf.Linear(3, 2, rng=-1), P, "Linear: rng", "non-negative"),
    case("Linear rng='seed'", lambda w: nf.Linear(3, 2, rng="seed"), T, "Linear: rng", "int seed"),
    case("Linear rng=1.5", lambda w: nf.Linear(3, 2, rng=1.5), T, "Linear: rng", "Generator"),
    case("Linear dtype=int", lambda w: nf.Linear(3, 2, dtype=int), P, "Linear: dtype", "float"),
    case("Linear dtype='foo'", lambda w: nf.Linear(3, 2, dtype="foo"), T, "Linear: dtype", "dtype"),
    case("Linear dtype=complex", lambda w: nf.Linear(3, 2, dtype=complex), P,
         "Linear: dtype", "float dtype"),
    # activations and the other layers
    case("LeakyReLU('a')", lambda w: nf.LeakyReLU("a"), T, "LeakyReLU: negative_slope", "real"),
    case("LeakyReLU(inf)", lambda w: nf.LeakyReLU(math.inf), P,
         "LeakyReLU: negative_slope", "finite"),
    case("LeakyReLU(nan)", lambda w: nf.LeakyReLU(math.nan), P,
         "LeakyReLU: negative_slope", "finite"),
    case("ELU(None)", lambda w: nf.ELU(None), T, "ELU: alpha", "real number"),
    case("ELU(10**400)", lambda w: nf.ELU(10**400), P, "ELU: alpha", "finite"),
    case("ELU(1j)", lambda w: nf.ELU(1j), T, "ELU: alpha", "real number"),
    case("Softmax(1.5)", lambda w: nf.Softmax(1.5), T, "Softmax: axis", "an int"),
    case("Softmax('last')", lambda w: nf.Softmax("last"), T, "Softmax: axis", "an int"),
    case("Softmax axis out of range", lambda w: nf.Softmax(axis=5)(np.ones((2, 3))), ShapeError,
         "Softmax(axis=5)", "out of range"),
    case("Dropout(1.5)", lambda w: nf.Dropout(1.5), P, "Dropout: p", "[0, 1)"),
    case("Dropout(1.0)", lambda w: nf.Dropout(1.0), P, "Dropout: p", "[0, 1)"),
    case("Dropout(-0.1)", lambda w: nf.Dropout(-0.1), P, "Dropout: p", "[0, 1)"),
    case("Dropout('half')", lambda w: nf.Dropout("half"), T, "Dropout: p", "real number"),
    case("Dropout(nan)", lambda w: nf.Dropout(math.nan), P, "Dropout: p", "finite"),
    case("Dropout rng=timedelta64", lambda w: nf.Dropout(0.5, rng=np.timedelta64(3, "s")), T,
         "Dropout: rng", "int seed"),
    case("Dropout rng='x'", lambda w: nf.Dropout(0.5, rng="x"), T, "Dropout: rng", "Generator"),
    case("BatchNorm1d(0)", lambda w: nf.BatchNorm1d(0), P, "BatchNorm1d: num_features",
         "positive"),
    case("BatchNorm1d(2.0)", lambda w: nf.BatchNorm1d(2.0), T, "BatchNorm1d: num_features",
         "an int"),
    case("BatchNorm1d(2**62)", lambda w: nf.BatchNorm1d(2**62), P, "BatchNorm1d", "GiB"),
    case("BatchNorm1d momentum=2", lambda w: nf.BatchNorm1d(3, momentum=2), P,
         "BatchNorm1d: momentum", "[0, 1]"),
    case("BatchNorm1d eps=0", lambda w: nf.BatchNorm1d(3, eps=0), P, "BatchNorm1d: eps", "> 0"),
    case("BatchNorm1d dtype=int", lambda w: nf.BatchNorm1d(3, dtype=int), P,
         "BatchNorm1d: dtype", "float"),
    case("BatchNorm1d one example in training",
         lambda w: nf.BatchNorm1d(3)(np.ones((1, 3))), ShapeError, "BatchNorm1d(3)",
         "more than one example"),
    # Sequential and models whose sizes do not chain
    case("Sequential(3)", lambda w: nf.Sequential(3), T, "Sequential", "Layer", "position 0"),
    case("Sequential(ReLU) (the class)", lambda w: nf.Sequential(nf.ReLU), T,
         "Sequential", "Layer", "type"),
    case("Sequential(MSELoss())", lambda w: nf.Sequential(nf.ReLU(), nf.MSELoss()), T,
         "Sequential", "position 1", "MSELoss"),
    case("Sequential.append('x')", lambda w: w.model.append("x"), T, "position 5", "str"),
    case("layer sizes do not chain", lambda w: w.unchained(np.ones((2, 4))), ShapeError,
         "in Sequential[2] Linear(5 -> 2)", "(batch, 5)", "(2, 3)"),
    case("fit a model whose sizes do not chain",
         lambda w: nf.Trainer(w.unchained, nf.MSELoss(), nf.SGD(w.unchained.parameters(), lr=0.1))
         .fit(np.ones((4, 4)), np.ones((4, 2)), progress=False),
         ShapeError, "in Sequential[2] Linear(5 -> 2)", "(batch, 5)", "Trainer.fit"),
    # mlp
    case("mlp('abc')", lambda w: nf.mlp("abc"), T, "mlp: layer_dims", "list of ints"),
    case("mlp([3])", lambda w: nf.mlp([3]), P, "mlp: layer_dims", "an input and an output"),
    case("mlp([3, 0])", lambda w: nf.mlp([3, 0]), P, "mlp: layer_dims[1]", "positive"),
    case("mlp([3, 2.5])", lambda w: nf.mlp([3, 2.5]), T, "mlp: layer_dims[1]", "an int"),
    case("mlp hidden_activation=[]", lambda w: nf.mlp([3, 2], hidden_activation=[]), P,
         "mlp: hidden_activation", "relu"),
    case("mlp output_activation='softmax'",
         lambda w: nf.mlp([3, 2], output_activation="softmax"), P,
         "mlp: output_activation", "sigmoid"),
    case("mlp dtype=int", lambda w: nf.mlp([3, 2], dtype=int), P, "mlp: dtype", "float"),
    case("mlp init='nope'", lambda w: nf.mlp([3, 2], init="nope"), P, "mlp: init", "he_normal"),
    case("mlp rng='x'", lambda w: nf.mlp([3, 2], rng="x"), T, "mlp: rng", "Generator"),
    # loss constructors
    case("MSELoss('avg')", lambda w: nf.MSELoss("avg"), P, "MSELoss: reduction", "'mean'"),
    case("BCELoss([])", lambda w: nf.BCELoss([]), P, "BCELoss: reduction", "'sum'"),
    case("CrossEntropyLoss(None)", lambda w: nf.CrossEntropyLoss(None), P,
         "CrossEntropyLoss: reduction", "'mean'"),
    case("BCEWithLogitsLoss('Sum')", lambda w: nf.BCEWithLogitsLoss("Sum"), P,
         "BCEWithLogitsLoss: reduction", "'sum'"),
    # loss forward
    case("MSELoss shapes", lambda w: w.mse(np.ones((2, 1)), np.ones((3, 1))), ShapeError,
         "MSELoss()", "target", "(2, 1)", "(3, 1)"),
    case("MSELoss NaN target", lambda w: w.mse(np.ones((2, 1)), np.array([[np.nan], [1]])),
         DataError, "MSELoss()", "target", "finite"),
    case("MSELoss inf target", lambda w: w.mse(np.ones((2, 1)), np.array([[np.inf], [1]])),
         DataError, "MSELoss()", "target", "finite"),
    case("MSELoss empty batch", lambda w: w.mse(np.ones((0, 1)), np.ones((0, 1))), DataError,
         "MSELoss()", "empty"),
    case("MSELoss string target", lambda w: w.mse(np.ones((2, 1)), np.array([["a"], ["b"]])),
         DTypeError, "MSELoss()", "target", "real numeric", "<U1"),
    case("MSELoss object pred",
         lambda w: w.mse(np.array([[None], [1]], dtype=object), np.ones((2, 1))), DTypeError,
         "MSELoss()", "pred", "object"),
    case("MSELoss complex pred", lambda w: w.mse(np.ones((2, 1)) * 1j, np.ones((2, 1))),
         DTypeError, "MSELoss()", "pred", "complex128"),
    case("MSELoss 0-d pred", lambda w: w.mse(np.float64(1.0), np.float64(1.0)), ShapeError,
         "MSELoss()", "pred", "batch dimension", "0-d"),
    case("MSELoss ragged pred", lambda w: w.mse([[1.0, 2.0], [3.0]], np.ones((2, 1))),
         ShapeError, "MSELoss(): pred", "rectangular"),
    case("BCELoss pred above 1", lambda w: w.bce(np.full((2, 1), 2.0), np.ones(2)), DataError,
         "BCELoss()", "pred", "[0, 1]", "BCEWithLogitsLoss"),
    case("BCELoss target 2", lambda w: w.bce(np.full((2, 1), 0.5), np.array([0, 2])),
         DataError, "BCELoss()", "target", "[0, 1]"),
    case("BCELoss NaN target", lambda w: w.bce(np.full((2, 1), 0.5), np.array([0, np.nan])),
         DataError, "BCELoss()", "target", "NaN"),
    case("BCEWithLogitsLoss NaN target",
         lambda w: w.bcel(np.full((2, 1), 0.5), np.array([0, np.nan])), DataError,
         "BCEWithLogitsLoss()", "target", "NaN"),
    case("BCEWithLogitsLoss shapes", lambda w: w.bcel(np.zeros((2, 1)), np.ones((2, 2))),
         ShapeError, "BCEWithLogitsLoss()", "(2, 1)", "(2, 2)"),
    case("CrossEntropyLoss label == classes", lambda w: w.ce(np.ones((2, 3)), np.array([0, 3])),
         DataError, "CrossEntropyLoss()", "[0, 3)", "3 classes"),
    case("CrossEntropyLoss label -1", lambda w: w.ce(np.ones((2, 3)), np.array([0, -1])),
         DataError, "CrossEntropyLoss()", "[0, 3)", "-1"),
    case("CrossEntropyLoss label 1.5", lambda w: w.ce(np.ones((2, 3)), np.array([0, 1.5])),
         DataError, "CrossEntropyLoss()", "whole numbers"),
    case("CrossEntropyLoss NaN label", lambda w: w.ce(np.ones((2, 3)), np.array([0, np.nan])),
         DataError, "CrossEntropyLoss()", "finite"),
    case("CrossEntropyLoss NaN one-hot", lambda w: w.ce(np.ones((2, 3)), np.full((2, 3), np.nan)),
         DataError, "CrossEntropyLoss()", "one-hot", "[0, 1]"),
    case("CrossEntropyLoss one class", lambda w: w.ce(np.ones((2, 1)), np.array([0, 0])),
         ShapeError, "CrossEntropyLoss()", "1 class", "BCEWithLogitsLoss"),
    case("CrossEntropyLoss 3-d pred", lambda w: w.ce(np.ones((2, 3, 1)), np.array([0, 0])),
         ShapeError, "CrossEntropyLoss()", "class labels of shape (2, 1)", "(2, 3, 1)"),
    case("CrossEntropyLoss empty batch",
         lambda w: w.ce(np.ones((0, 3)), np.array([], dtype=int)), DataError,
         "CrossEntropyLoss()", "empty"),
    case("CrossEntropyLoss target shape", lambda w: w.ce(np.ones((2, 3)), np.ones((2, 2))),
         ShapeError, "CrossEntropyLoss()", "(2,)", "(2, 3)", "(2, 2)"),
    case("backward before forward", lambda w: nf.MSELoss().backward(), CacheMissError,
         "MSELoss()", "forward()"),
    # optimizers
    case("SGD lr=-1", lambda w: nf.SGD(w.params, lr=-1), P, "SGD: lr", ">= 0"),
    case("SGD lr='a'", lambda w: nf.SGD(w.params, lr="a"), T, "SGD: lr", "real number"),
    case("SGD lr=nan", lambda w: nf.SGD(w.params, lr=math.nan), P, "SGD: lr", "finite"),
    case("SGD lr=inf", lambda w: nf.SGD(w.params, lr=math.inf), P, "SGD: lr", "finite"),
    case("SGD lr=1j", lambda w: nf.SGD(w.params, lr=1j), T, "SGD: lr", "real number"),
    case("SGD lr=10**400", lambda w: nf.SGD(w.params, lr=10**400), P, "SGD: lr", "finite"),
    case("SGD lr=timedelta64", lambda w: nf.SGD(w.params, lr=np.timedelta64(3, "s")), T,
         "SGD: lr", "real number"),
    case("SGD momentum=1", lambda w: nf.SGD(w.params, lr=0.1, momentum=1), P,
         "SGD: momentum", "[0, 1)"),
    case("SGD dampening=2", lambda w: nf.SGD(w.params, lr=0.1, dampening=2), P,
         "SGD: dampening", "[0, 1]"),
    case("SGD nesterov without momentum", lambda w: nf.SGD(w.params, lr=0.1, nesterov=True), P,
         "SGD: nesterov", "momentum > 0"),
    case("SGD nesterov='y'", lambda w: nf.SGD(w.params, lr=0.1, nesterov="y"), T,
         "SGD: nesterov", "bool"),
    case("SGD weight_decay=-1", lambda w: nf.SGD(w.params, lr=0.1, weight_decay=-1), P,
         "SGD: weight_decay", ">= 0"),
    case("SGD empty params", lambda w: nf.SGD([], lr=0.1), P, "SGD: params", "empty"),
    case("SGD duplicate params", lambda w: nf.SGD(w.params + w.params[:1], lr=0.1), P,
         "SGD: params[6]", "params[0]", "once"),
    case("SGD arrays as params", lambda w: nf.SGD([np.zeros(2)], lr=0.1), T,
         "SGD: params[0]", "Parameter", "ndarray"),
    case("SGD a model as params", lambda w: nf.SGD(w.small, lr=0.1), T,
         "SGD: params", "model.parameters()"),
    case("SGD a set of params", lambda w: nf.SGD(set(w.params), lr=0.1), T,
         "SGD: params", "no fixed order"),
    case("SGD params=0-d array", lambda w: nf.SGD(np.array(0.0), lr=0.1), T,
         "SGD: params", "iterable"),
    case("SGD params=None", lambda w: nf.SGD(None, lr=0.1), T, "SGD: params", "iterable"),
    case("Adam betas=(0.9,)", lambda w: nf.Adam(w.params, betas=(0.9,)), T,
         "Adam: betas", "pair"),
    case("Adam betas=(1.0, 0.9)", lambda w: nf.Adam(w.params, betas=(1.0, 0.9)), P,
         "Adam: betas[0]", "[0, 1)"),
    case("Adam betas='ab'", lambda w: nf.Adam(w.params, betas="ab"), T, "Adam: betas", "pair"),
    case("Adam eps=0", lambda w: nf.Adam(w.params, eps=0), P, "Adam: eps", "> 0"),
    case("Adam weight_decay=-1", lambda w: nf.Adam(w.params, weight_decay=-1), P,
         "Adam: weight_decay", ">= 0"),
    case("AdamW weight_decay='x'", lambda w: nf.AdamW(w.params, weight_decay="x"), T,
         "AdamW: weight_decay", "real number"),
    case("RMSprop alpha=1", lambda w: nf.RMSprop(w.params, alpha=1), P,
         "RMSprop: alpha", "[0, 1)"),
    case("RMSprop centered=1", lambda w: nf.RMSprop(w.params, centered=1), T,
         "RMSprop: centered", "bool"),
    case("RMSprop eps=-1", lambda w: nf.RMSprop(w.params, eps=-1), P, "RMSprop: eps", "> 0"),
    case("optimizer.lr = -1", lambda w: setattr(w.optimizer, "lr", -1), P, "SGD: lr", ">= 0"),
    case("optimizer.momentum = 0 with nesterov", lambda w: nf.SGD(
        w.params, lr=0.1, momentum=0.5, nesterov=True).set_hyperparameters(momentum=0.0), P,
         "SGD: nesterov", "momentum > 0"),
    case("optimizer.load_state_dict('garbage')",
         lambda w: w.optimizer.load_state_dict("garbage"), T, "SGD.load_state_dict", "mapping"),
    case("optimizer.load_state_dict({})", lambda w: w.optimizer.load_state_dict({}),
         StateDictError, "SGD.load_state_dict", "missing: 'lr'"),
    case("optimizer.load_state_dict lr='a'", lambda w: w.optimizer.load_state_dict(
        {**w.optimizer.state_dict(), "lr": "a"}), StateDictError, "SGD: lr", "real number"),
    case("optimizer.load_state_dict wrong shape", lambda w: w.optimizer.load_state_dict(
        {**w.optimizer.state_dict(), "state.0.momentum_buffer": np.zeros(3)}), StateDictError,
         "'state.0.momentum_buffer'", "(4, 3)"),
    # schedules
    case("StepLR step_size=0", lambda w: nf.StepLR(w.optimizer, step_size=0), P,
         "StepLR: step_size", "positive"),
    case("StepLR('sgd')", lambda w: nf.StepLR("sgd", step_size=1), T,
         "StepLR: optimizer", "Optimizer"),
    case("ExponentialLR gamma=0", lambda w: nf.ExponentialLR(w.optimizer, gamma=0), P,
         "ExponentialLR: gamma", "> 0"),
    case("CosineAnnealingLR T_max=0", lambda w: nf.CosineAnnealingLR(w.optimizer, T_max=0), P,
         "CosineAnnealingLR: T_max", "positive"),
    case("CosineAnnealingLR eta_min=-1",
         lambda w: nf.CosineAnnealingLR(w.optimizer, T_max=3, eta_min=-1), P,
         "CosineAnnealingLR: eta_min", ">= 0"),
    case("InverseTimeDecay decay_rate=-1",
         lambda w: nf.InverseTimeDecay(w.optimizer, decay_rate=-1), P,
         "InverseTimeDecay: decay_rate", ">= 0"),
    case("InverseTimeDecay decay_steps=1.5",
         lambda w: nf.InverseTimeDecay(w.optimizer, decay_rate=1.0, decay_steps=1.5), T,
         "InverseTimeDecay: decay_steps", "an int"),
    case("lr_at(-1)", lambda w: w.schedule.lr_at(-1), P, "StepLR.lr_at: epoch", ">= 0"),
    case("lr_at(1.5)", lambda w: w.schedule.lr_at(1.5), T, "StepLR.lr_at: epoch", "an int"),
    case("lr_at overflowing", lambda w: nf.ExponentialLR(
        nf.SGD(w.small.parameters(), lr=0.1), gamma=2.0).lr_at(10**4), P,
         "ExponentialLR.lr_at", "epoch 10000", "too large"),
    case("schedule.load_state_dict garbage", lambda w: w.schedule.load_state_dict([1, 2]), T,
         "StepLR.load_state_dict", "mapping"),
    # clip_grad_norm
    case("clip_grad_norm max_norm=0", lambda w: nf.clip_grad_norm(w.params, 0), P,
         "clip_grad_norm: max_norm", "> 0"),
    case("clip_grad_norm max_norm=nan", lambda w: nf.clip_grad_norm(w.params, math.nan), P,
         "clip_grad_norm: max_norm", "> 0"),
    case("clip_grad_norm max_norm='1'", lambda w: nf.clip_grad_norm(w.params, "1"), T,
         "clip_grad_norm: max_norm", "real number"),
    case("clip_grad_norm of ints", lambda w: nf.clip_grad_norm([*w.params, 1], 1.0), T,
         "clip_grad_norm: parameters[6]", "Parameter"),
    case("clip_grad_norm of a 0-d array", lambda w: nf.clip_grad_norm(np.array(0.0), 1.0), T,
         "clip_grad_norm: parameters", "iterable"),
    case("clip_grad_norm of None", lambda w: nf.clip_grad_norm(None, 1.0), T,
         "clip_grad_norm: parameters", "iterable"),
    # callbacks
    case("EarlyStopping patience=0", lambda w: EarlyStopping(patience=0), P,
         "EarlyStopping: patience", "positive"),
    case("EarlyStopping patience=1.5", lambda w: EarlyStopping(patience=1.5), T,
         "EarlyStopping: patience", "an int"),
    case("EarlyStopping monitor=1", lambda w: EarlyStopping(monitor=1), T,
         "EarlyStopping: monitor", "str"),
    case("EarlyStopping mode='x'", lambda w: EarlyStopping(mode="x"), P,
         "EarlyStopping: mode", "auto, min or max"),
    case("EarlyStopping mode=array", lambda w: EarlyStopping(mode=np.array(["min", "max"])), P,
         "EarlyStopping: mode", "auto, min or max"),
    case("EarlyStopping min_delta=-1", lambda w: EarlyStopping(min_delta=-1), P,
         "EarlyStopping: min_delta", ">= 0"),
    case("EarlyStopping restore_best=1", lambda w: EarlyStopping(restore_best=1), T,
         "EarlyStopping: restore_best", "bool"),
    case("LearningRateScheduler(5)", lambda w: LearningRateScheduler(5), T,
         "LearningRateScheduler: schedule", "lr_at(epoch)", "int"),
    case("LearningRateScheduler(StepLR) (the class)", lambda w: LearningRateScheduler(nf.StepLR),
         T, "LearningRateScheduler: schedule", "class StepLR", "instance"),
    case("ModelCheckpoint(5)", lambda w: ModelCheckpoint(5), T, "ModelCheckpoint: path",
         "path-like"),
    case("ModelCheckpoint('')", lambda w: ModelCheckpoint(""), P, "ModelCheckpoint: path",
         "file name"),
    case("ModelCheckpoint mode='best'", lambda w: ModelCheckpoint(w.tmp / "c", mode="best"), P,
         "ModelCheckpoint: mode", "auto, min or max"),
    case("ModelCheckpoint save_best_only='y'",
         lambda w: ModelCheckpoint(w.tmp / "c", save_best_only="y"), T,
         "ModelCheckpoint: save_best_only", "bool"),
    case("ModelCheckpoint monitor=None", lambda w: ModelCheckpoint(w.tmp / "c", monitor=None), T,
         "ModelCheckpoint: monitor", "str"),
    # Trainer
    case("Trainer model='m'", lambda w: nf.Trainer("m", nf.MSELoss(), w.optimizer), T,
         "Trainer: model", "Layer"),
    case("Trainer loss='l'", lambda w: nf.Trainer(w.model, "l", w.optimizer), T,
         "Trainer: loss", "forward() and backward()"),
    case("Trainer loss=MSELoss (the class)", lambda w: nf.Trainer(w.model, nf.MSELoss, w.optimizer),
         T, "Trainer: loss", "class MSELoss", "MSELoss(...)"),
    case("Trainer loss=ReLU()", lambda w: nf.Trainer(w.model, nf.ReLU(), w.optimizer), T,
         "Trainer: loss", "ReLU"),
    case("Trainer optimizer=None", lambda w: nf.Trainer(w.model, nf.MSELoss(), None), T,
         "Trainer: optimizer", "step()"),
    case("Trainer optimizer=SGD (the class)", lambda w: nf.Trainer(w.model, nf.MSELoss(), nf.SGD),
         T, "Trainer: optimizer", "class SGD"),
    case("Trainer optimizer of another model",
         lambda w: nf.Trainer(w.model, nf.MSELoss(), nf.SGD(w.small.parameters(), lr=0.1)), P,
         "Trainer", "none of the model's", "model.parameters()"),
    case("Trainer metrics=['nope']",
         lambda w: nf.Trainer(w.model, nf.MSELoss(), w.optimizer, metrics=["nope"]), P,
         "Trainer: metrics[0]", "'nope'", "accuracy"),
    case("Trainer metrics=5",
         lambda w: nf.Trainer(w.model, nf.MSELoss(), w.optimizer, metrics=5), T,
         "Trainer: metrics", "list"),
    case("Trainer metrics=['mse', 5]",
         lambda w: nf.Trainer(w.model, nf.MSELoss(), w.optimizer, metrics=["mse", 5]), P,
         "Trainer: metrics[1]", "a function"),
    case("Trainer stop_on_nan='y'",
         lambda w: nf.Trainer(w.model, nf.MSELoss(), w.optimizer, stop_on_nan="y"), T,
         "Trainer: stop_on_nan", "bool"),
    # Trainer.fit
    case("fit x and y of different lengths", lambda w: fit(w, X, Y[:5]), DataError,
         "Trainer.fit", "8 examples", "5"),
    case("fit NaN in x", lambda w: fit(w, poke(X, (5, 1), np.nan)), DataError,
         "Trainer.fit: x", "NaN", "(5, 1)"),
    case("fit inf in y", lambda w: fit(w, X, poke(Y, (7, 0), np.inf)), DataError,
         "Trainer.fit: y", "infinite", "(7, 0)"),
    case("fit object x", lambda w: fit(w, X.astype(object)), DTypeError,
         "Trainer.fit: x", "real numeric", "object"),
    case("fit string x", lambda w: fit(w, X.astype(str)), DTypeError,
         "Trainer.fit: x", "real numeric", "<U"),
    case("fit complex x", lambda w: fit(w, X + 1j), DTypeError,
         "Trainer.fit: x", "real numeric", "complex"),
    case("fit string y", lambda w: fit(w, X, Y.astype(str)), DTypeError,
         "Trainer.fit: y", "real numeric"),
    case("fit 0-d x", lambda w: fit(w, np.float32(1.0)), ShapeError,
         "Trainer.fit: x", "batch dimension", "0-d"),
    case("fit 1-d x", lambda w: fit(w, X[:, 0]), ShapeError,
         "Trainer.fit: x", "(examples, features)", "(8,)"),
    case("fit 3-d x for a Linear model", lambda w: fit(w, X[:, :, None]), ShapeError,
         "Linear(3 -> 4)", "(batch, 3)", "3-d", "Trainer.fit"),
    case("fit x of the wrong width", lambda w: fit(w, np.ones((8, 5))), ShapeError,
         "in Sequential[0] Linear(3 -> 4)", "(batch, 3)", "(1, 5)", "Trainer.fit"),
    case("fit y of the wrong width", lambda w: fit(w, X, np.ones((8, 3))), ShapeError,
         "MSELoss()", "target", "(8, 3)", "Trainer.fit"),
    case("fit ragged x", lambda w: fit(w, [[1.0, 2.0, 3.0], [1.0]], Y[:2]), ShapeError,
         "Trainer.fit: x", "rectangular"),
    case("fit x=None", lambda w: fit(w, None), DTypeError, "Trainer.fit: x", "real numeric"),
    case("fit empty", lambda w: fit(w, X[:0], Y[:0]), DataError, "Trainer.fit: x", "empty"),
    case("fit batches of one example with BatchNorm1d", lambda w: fit(w, batch_size=1),
         ShapeError, "BatchNorm1d(4)", "more than one example", "batches of 1"),
    case("fit a last batch of one example with BatchNorm1d",
         lambda w: fit(w, np.ones((9, 3)), np.ones((9, 2)), batch_size=4), ShapeError,
         "BatchNorm1d(4)", "9 examples in batches of 4", "batch_size"),
    case("fit batch_size=0", lambda w: fit(w, batch_size=0), P,
         "Trainer.fit: batch_size", "positive"),
    case("fit batch_size=2.5", lambda w: fit(w, batch_size=2.5), T,
         "Trainer.fit: batch_size", "an int"),
    case("fit epochs=-1", lambda w: fit(w, epochs=-1), P, "Trainer.fit: epochs", ">= 0"),
    case("fit epochs='1'", lambda w: fit(w, epochs="1"), T, "Trainer.fit: epochs", "an int"),
    case("fit validation_split=1.0", lambda w: fit(w, validation_split=1.0), P,
         "Trainer.fit: validation_split", "[0, 1)"),
    case("fit validation_split=0.99", lambda w: fit(w, validation_split=0.99), DataError,
         "Trainer.fit", "validation_split=0.99", "no training data"),
    case("fit validation_split='a'", lambda w: fit(w, validation_split="a"), T,
         "Trainer.fit: validation_split", "real number"),
    case("fit validation_data of 4 items", lambda w: fit(w, validation_data=(X, Y, Y, Y)), T,
         "Trainer.fit: validation_data", "pair", "4 items"),
    case("fit validation_data=array", lambda w: fit(w, validation_data=X), T,
         "Trainer.fit: validation_data", "pair", "ndarray"),
    case("fit validation_data with NaN",
         lambda w: fit(w, validation_data=(np.full((2, 3), np.nan), Y[:2])), DataError,
         "Trainer.fit validation_data: x", "NaN"),
    case("fit validation_data of the wrong width",
         lambda w: fit(w, validation_data=(np.ones((2, 5)), Y[:2])), ShapeError,
         "Linear(3 -> 4)", "(batch, 3)", "Trainer.fit validation_data"),
    case("fit validation_data of different lengths",
         lambda w: fit(w, validation_data=(X[:3], Y[:2])), DataError,
         "Trainer.fit validation_data", "3 examples", "2"),
    case("fit shuffle='y'", lambda w: fit(w, shuffle="y"), T, "Trainer.fit: shuffle", "bool"),
    case("fit progress='a'", lambda w: fit(w, progress="a"), T, "Trainer.fit: progress", "bool"),
    case("fit callbacks=5", lambda w: fit(w, callbacks=5), T, "Trainer.fit: callbacks", "list"),
    case("fit callbacks=[5]", lambda w: fit(w, callbacks=[5]), T,
         "Trainer.fit: callbacks[0]", "Callback"),
    case("fit callbacks=[EarlyStopping] (the class)", lambda w: fit(w, callbacks=[EarlyStopping]),
         T, "Trainer.fit: callbacks[0]", "Callback"),
    case("fit rng='a'", lambda w: fit(w, rng="a"), T, "Trainer.fit: rng", "int seed"),
    case("fit resume_from=5", lambda w: fit(w, resume_from=5), T,
         "Trainer.fit: resume_from", "path"),
    case("fit resume_from a missing file",
         lambda w: fit(w, resume_from=w.tmp / "missing.safetensors"), SerializationError,
         "missing.safetensors", "no such file"),
    case("fit resume_from a garbage file", lambda w: fit(w, resume_from=garbage_file(w)),
         SerializationError, "garbage.safetensors", "not a safetensors file"),
    case("fit class label out of range, last example",
         lambda w: ce_fit(w, np.array([0, 1, 1, 0, 1, 0, 0, 5])), DataError,
         "CrossEntropyLoss()", "[0, 2)", "5", "Trainer.fit"),
    case("fit fractional class label", lambda w: ce_fit(w, np.array([0, 1, 1, 0, 1, 0, 0, .5])),
         DataError, "CrossEntropyLoss()", "whole numbers", "Trainer.fit"),
    case("fit validation labels out of range",
         lambda w: ce_fit(w, LABELS, validation_data=(X[:2], np.array([0, 7]))), DataError,
         "CrossEntropyLoss()", "[0, 2)", "Trainer.fit validation_data"),
    # Trainer.evaluate and Trainer.predict
    case("evaluate x and y of different lengths", lambda w: w.trainer.evaluate(X, Y[:3]),
         DataError, "Trainer.evaluate", "8 examples", "3"),
    case("evaluate NaN in x", lambda w: w.trainer.evaluate(np.full((8, 3), np.nan), Y), DataError,
         "Trainer.evaluate: x", "NaN"),
    case("evaluate NaN in y", lambda w: w.trainer.evaluate(X, np.full((8, 2), np.nan)), DataError,
         "Trainer.evaluate: y", "NaN"),
    case("evaluate batch_size=0", lambda w: w.trainer.evaluate(X, Y, batch_size=0), P,
         "Trainer.evaluate: batch_size", "positive"),
    case("evaluate 3-d x", lambda w: w.trainer.evaluate(X[:, :, None], Y), ShapeError,
         "Linear(3 -> 4)", "(batch, 3)", "3-d"),
    case("evaluate y of the wrong width", lambda w: w.trainer.evaluate(X, np.ones((8, 3))),
         ShapeError, "MSELoss()", "(8, 2)", "(8, 3)"),
    case("evaluate class label out of range",
         lambda w: w.ce_trainer.evaluate(X, np.array([0, 1, 1, 0, 1, 0, 0, 2])), DataError,
         "CrossEntropyLoss()", "[0, 2)"),
    case("predict NaN", lambda w: w.trainer.predict(np.full((4, 3), np.nan)), DataError,
         "Trainer.predict: x", "NaN"),
    case("predict 0-d", lambda w: w.trainer.predict(np.float64(1.0)), ShapeError,
         "Trainer.predict: x", "batch dimension"),
    case("predict 3-d", lambda w: w.trainer.predict(np.ones((4, 3, 1))), ShapeError,
         "Linear(3 -> 4)", "(batch, 3)", "(4, 3, 1)"),
    case("predict strings", lambda w: w.trainer.predict(X.astype(str)), DTypeError,
         "Trainer.predict: x", "real numeric"),
    case("predict empty", lambda w: w.trainer.predict(X[:0]), DataError,
         "Trainer.predict: x", "empty"),
    case("predict batch_size=-1", lambda w: w.trainer.predict(X, batch_size=-1), P,
         "Trainer.predict: batch_size", "positive"),
    case("predict wrong width", lambda w: w.trainer.predict(np.ones((4, 5))), ShapeError,
         "in Sequential[0] Linear(3 -> 4)", "(batch, 3)", "(4, 5)"),
    case("batches of different lengths", lambda w: list(nf.batches(X, Y[:3], 2)), DataError,
         "batches", "8 examples", "3"),
    # datasets.load
    case("datasets.load('nope')", lambda w: datasets.load("nope"), P, "load", "'nope'", "iris"),
    case("datasets.load(5)", lambda w: datasets.load(5), T, "load: source", "name"),
    case("datasets.load test_size=1.5", lambda w: datasets.load("iris", test_size=1.5), P,
         "test_size", "(0, 1)"),
    case("datasets.load test_size=0", lambda w: datasets.load("iris", test_size=0), P,
         "test_size", "(0, 1)"),
    case("datasets.load rng='a'", lambda w: datasets.load("iris", rng="a"), T, "rng", "int seed"),
    case("datasets.load standardize='y'", lambda w: datasets.load("iris", standardize="y"), T,
         "standardize", "bool"),
    case("datasets.load dtype=int", lambda w: datasets.load("iris", dtype=int), P,
         "dtype", "float"),
    case("datasets.load wrong task", lambda w: datasets.load("iris", task="regression"), P,
         "'iris'", "multiclass", "regression"),
    case("datasets.load task=5", lambda w: datasets.load("iris", task=5), T, "task", "str"),
    case("datasets.load a missing csv", lambda w: datasets.load(w.tmp / "missing.csv"),
         DataError, "missing.csv", "no such file"),
    # saving and loading
    case("save to path 5", lambda w: nf.save(w.model, 5), T, "save: path", "path-like"),
    case("save a non-layer", lambda w: nf.save("m", w.tmp / "m.safetensors"), T,
         "save: model", "Layer", after=lambda w: not (w.tmp / "m.safetensors").exists()),
    case("save to ''", lambda w: nf.save(w.model, ""), P, "save: path", "empty"),
    case("save to '.'", lambda w: nf.save(w.model, "."), P, "save", "does not name a file"),
    case("save to a bytes path-like", lambda w: nf.save(w.model, BytesPath()), T,
         "save: path", "str path", "bytes"),
    *[
        case(f"a NUL in {where}", call, P, where, "NUL", "m\\x00.st",
             after=lambda w: not any(w.tmp.iterdir()))
        for where, call in [
            ("save: path", lambda w: nf.save(w.model, w.tmp / "m\0.st")),
            ("load: path", lambda w: nf.load(w.tmp / "m\0.st")),
            ("save_weights: path", lambda w: nf.save_weights(w.model, w.tmp / "m\0.st")),
            ("load_weights: path", lambda w: nf.load_weights(w.model, w.tmp / "m\0.st")),
            ("read_metadata: path", lambda w: nf.serialization.read_metadata(w.tmp / "m\0.st")),
            ("save_checkpoint: path",
             lambda w: nf.serialization.save_checkpoint(w.tmp / "m\0.st", w.model, epoch=1)),
            ("load_checkpoint: path",
             lambda w: nf.serialization.load_checkpoint(w.tmp / "m\0.st")),
            ("write_atomic: path",
             lambda w: nf.serialization.write_atomic(w.tmp / "m\0.st", b"data")),
            ("ModelCheckpoint: path", lambda w: ModelCheckpoint(w.tmp / "m\0.st")),
            ("Trainer.fit: resume_from", lambda w: fit(w, resume_from=w.tmp / "m\0.st")),
            ("History.plot: path", lambda w: w.trainer.history.plot(w.tmp / "m\0.st")),
        ]
    ],
    case("History.plot to a format matplotlib lacks",
         lambda w: w.trainer.history.plot(w.tmp / "c.xyz"), P, "History.plot: path",
         "'xyz'", "png", after=lambda w: not any(w.tmp.iterdir())),
    case("History.plot into a missing folder",
         lambda w: w.trainer.history.plot(w.tmp / "no" / "c.png"), P, "History.plot: path",
         "does not exist", after=lambda w: not any(w.tmp.iterdir())),
    case("History.plot onto a folder", lambda w: w.trainer.history.plot(w.tmp), P,
         "History.plot: path", "is a folder"),
    case("datasets.load a csv with a NUL in the path",
         lambda w: datasets.load(str(w.tmp / "d\0.csv")), P, "CSV file", "NUL"),
    case("save to a directory", lambda w: nf.save(w.model, w.tmp), SerializationError,
         "cannot write the file", after=lambda w: w.tmp.is_dir()),
    case("save into a missing directory",
         lambda w: nf.save(w.model, w.tmp / "no" / "m.safetensors"), SerializationError,
         "m.safetensors", "cannot write the file", after=lambda w: not (w.tmp / "no").exists()),
    case("load a missing file", lambda w: nf.load(w.tmp / "missing.safetensors"),
         SerializationError, "missing.safetensors", "no such file"),
    case("load(5)", lambda w: nf.load(5), T, "load: path", "path-like"),
    case("load a directory", lambda w: nf.load(w.tmp), SerializationError, "is a directory"),
    case("load a garbage file", lambda w: nf.load(garbage_file(w)), SerializationError,
         "garbage.safetensors", "not a safetensors file"),
    case("load_weights into a non-layer",
         lambda w: nf.load_weights("m", w.tmp / "missing.safetensors"), T,
         "load_weights: model", "Layer"),
    case("load_weights from a missing file",
         lambda w: nf.load_weights(w.model, w.tmp / "missing.safetensors"), SerializationError,
         "no such file"),
    case("load_weights of another model", lambda w: (
        nf.save_weights(w.small, w.tmp / "small.safetensors"),
        nf.load_weights(w.model, w.tmp / "small.safetensors")), StateDictError,
         "missing: '0.weight'"),
    case("save_weights of 5", lambda w: nf.save_weights(5, w.tmp / "w.safetensors"), T,
         "save_weights: model", "Layer"),
    # gradcheck
    case("gradcheck of a non-layer", lambda w: nf.gradcheck("l", X), T, "gradcheck", "Layer"),
    case("gradcheck x of strings", lambda w: nf.gradcheck(w.small, X.astype(str)), DTypeError,
         "gradcheck: x", "real numeric"),
    case("gradcheck ragged x", lambda w: nf.gradcheck(w.small, [[1, 2, 3], [4]]), ShapeError,
         "gradcheck: x", "rectangular"),
    case("gradcheck complex x", lambda w: nf.gradcheck(w.small, X + 1j), DTypeError,
         "gradcheck: x", "complex"),
    case("gradcheck NaN x", lambda w: nf.gradcheck(w.small, np.full((2, 3), np.nan)), DataError,
         "gradcheck: x", "finite"),
    case("gradcheck x of the wrong width", lambda w: nf.gradcheck(w.small, np.ones((2, 5))),
         ShapeError, "Linear(3 -> 2)", "(batch, 3)"),
    case("gradcheck eps=0", lambda w: nf.gradcheck(w.small, X, eps=0), P, "gradcheck: eps", "> 0"),
    case("gradcheck eps='a'", lambda w: nf.gradcheck(w.small, X, eps="a"), T,
         "gradcheck: eps", "real number"),
    case("gradcheck atol=-1", lambda w: nf.gradcheck(w.small, X, atol=-1), P,
         "gradcheck: atol", ">= 0"),
    case("gradcheck rtol=nan", lambda w: nf.gradcheck(w.small, X, rtol=math.nan), P,
         "gradcheck: rtol", "finite"),
    case("gradcheck rng='a'", lambda w: nf.gradcheck(w.small, X, rng="a"), T, "rng", "int seed"),
    case("assert_gradients eps=-1", lambda w: nf.assert_gradients(w.small, X, eps=-1), P,
         "gradcheck: eps", "> 0"),
    # layer methods
    case("astype(int)", lambda w: w.model.astype(int), P, "astype: dtype", "float dtype",
         "int64"),
    case("astype('x')", lambda w: w.model.astype("x"), T, "astype: dtype", "a dtype", "'x'"),
    case("astype(complex)", lambda w: w.model.astype(complex), P, "astype: dtype", "float dtype"),
    case("astype('01')", lambda w: w.model.astype("01"), T, "astype: dtype", "a dtype", "'01'"),
    case("load_state_dict('garbage')", lambda w: w.model.load_state_dict("garbage"), T,
         "Sequential.load_state_dict: state", "mapping"),
    case("load_state_dict({})", lambda w: w.model.load_state_dict({}), StateDictError,
         "Sequential.load_state_dict", "missing: '0.weight'", "nothing was loaded"),
    case("load_state_dict wrong shapes and dtypes", lambda w: w.model.load_state_dict(
        {**w.model.state_dict(), "0.weight": np.ones((3, 3)), "0.bias": np.ones(4)}),
         StateDictError, "'0.weight': shape (3, 3)", "(4, 3)", "'0.bias': dtype float64"),
    case("load_state_dict ragged values", lambda w: w.model.load_state_dict(
        {**w.model.state_dict(), "0.bias": [[1.0], [2.0, 3.0]]}), StateDictError,
         "'0.bias'", "rectangular"),
    case("load_state_dict strict='no'",
         lambda w: w.model.load_state_dict(w.model.state_dict(), strict="no"), T,
         "load_state_dict: strict", "bool"),
    case("train('yes')", lambda w: w.model.train("yes"), T, "train(mode)", "bool"),
    case("train(1)", lambda w: w.model.train(1), T, "train(mode)", "bool"),
    case("summary('a')", lambda w: w.model.summary("a"), T, "summary: input_shape[0]", "an int"),
    case("summary(-1)", lambda w: w.model.summary(-1), P, "summary: input_shape[0]", "positive"),
    case("summary(5) of a 3-feature model", lambda w: w.model.summary(5), ShapeError,
         "Linear(3 -> 4)", "(batch, 3)"),
    case("summary(2**62)", lambda w: w.model.summary(2**62), P, "summary", "GiB"),
    case("backward of a wrong shape", lambda w: (w.small.train()(X), w.small.backward(
        np.ones((8, 3)), input_grad=True))[1], ShapeError, "Linear(3 -> 2)", "(8, 2)", "(8, 3)"),
    # composition: containers, hooks, freezing, LayerNorm, Embedding
    case("Residual('linear')", lambda w: nf.Residual("linear"), T, "Residual", "block is a str"),
    case("Concat() with no branch", lambda w: nf.Concat(), P, "Concat", "at least one branch"),
    case("Concat(ReLU(), 3)", lambda w: nf.Concat(nf.ReLU(), 3), T, "Concat", "branch 1 is a int"),
    case("Concat branches that do not match", lambda w: nf.Concat(nf.Linear(3, 2, rng=0),
         nf.Flatten())(np.ones((2, 4, 3))), ShapeError, "branch 1's output", "(batch, 12)",
         "branch 0's (batch, 4, 2)"),
    case("Residual block that changes the shape", lambda w: nf.Residual(nf.Linear(3, 4, rng=0))(X),
         ShapeError, "Residual", "(batch, 4)", "(batch, 3)", "shortcut"),
    case("Sequential.append of a layer already in it", lambda w: w.model.append(w.model[0]), P,
         "Sequential: position 5", "already in this model", after=lambda w: len(w.model) == 5),
    case("register_forward_hook(3)", lambda w: w.model.register_forward_hook(3), T,
         "Sequential.register_forward_hook: hook", "callable",
         after=lambda w: not w.model._forward_hooks),
    case("register_backward_hook('f')", lambda w: w.model[0].register_backward_hook("f"), T,
         "Linear.register_backward_hook: hook", "callable"),
    case("requires_grad = 'yes'", lambda w: setattr(w.model[0].weight, "requires_grad", "yes"),
         T, "Parameter.requires_grad", "bool", after=lambda w: w.model[0].weight.requires_grad),
    case("requires_grad_(0)", lambda w: w.model.requires_grad_(0), T,
         "Sequential.requires_grad_", "bool",
         after=lambda w: all(p.requires_grad for p in w.model.parameters())),
    case("LayerNorm(0)", lambda w: nf.LayerNorm(0), P, "LayerNorm: normalized_shape"),
    case("LayerNorm on the wrong trailing axes", lambda w: nf.LayerNorm((3, 2))(X), ShapeError,
         "LayerNorm((3, 2)", "(8, 3)"),
    case("Embedding(0, 3)", lambda w: nf.Embedding(0, 3), P, "Embedding: num_embeddings"),
    case("Embedding indices as floats", lambda w: nf.Embedding(10, 3, rng=0)(np.ones((2, 2))),
         DTypeError, "Embedding(10, 3)", "integer indices", "float64"),
    case("Embedding index too large",
         lambda w: nf.Embedding(10, 3, rng=0)(np.array([[1, 12]])),
         nf.errors.IndexOutOfRangeError, "Embedding(10, 3)", "12", "(0, 1)"),
    case("Embedding index negative",
         lambda w: nf.Embedding(10, 3, rng=0)(np.array([[-1, 2]])),
         nf.errors.IndexOutOfRangeError, "Embedding(10, 3)", "-1"),
    # Conv2d and Conv1d: arguments
    case("Conv2d(0, 4, 3)", lambda w: nf.Conv2d(0, 4, 3), P, "Conv2d: in_channels", "positive"),
    case("Conv2d(2, -4, 3)", lambda w: nf.Conv2d(2, -4, 3), P, "Conv2d: out_channels",
         "positive", "-4"),
    case("Conv2d(2.0, 4, 3)", lambda w: nf.Conv2d(2.0, 4, 3), T, "Conv2d: in_channels", "an int"),
    case("Conv2d kernel_size=0", lambda w: nf.Conv2d(2, 4, 0), P, "Conv2d: kernel_size",
         "positive", "got 0"),
    case("Conv2d kernel_size=-2", lambda w: nf.Conv2d(2, 4, -2), P, "Conv2d: kernel_size",
         "positive", "-2"),
    case("Conv2d kernel_size=2.5", lambda w: nf.Conv2d(2, 4, 2.5), T, "Conv2d: kernel_size",
         "an int", "2.5"),
    case("Conv2d kernel_size=3.0", lambda w: nf.Conv2d(2, 4, 3.0), T, "Conv2d: kernel_size",
         "an int", "float"),
    case("Conv2d kernel_size=True", lambda w: nf.Conv2d(2, 4, True), T, "Conv2d: kernel_size",
         "bool"),
    case("Conv2d kernel_size=None", lambda w: nf.Conv2d(2, 4, None), T, "Conv2d: kernel_size",
         "NoneType"),
    case("Conv2d kernel_size=(3, 3, 3)", lambda w: nf.Conv2d(2, 4, (3, 3, 3)), T,
         "Conv2d: kernel_size", "a tuple of 2 ints", "(3, 3, 3)"),
    case("Conv2d kernel_size=(3,)", lambda w: nf.Conv2d(2, 4, (3,)), T, "Conv2d: kernel_size",
         "a tuple of 2 ints", "(3,)"),
    case("Conv2d kernel_size=(3, 0)", lambda w: nf.Conv2d(2, 4, (3, 0)), P,
         "Conv2d: kernel_size[1]", "positive"),
    case("Conv2d kernel_size=(3, 1.5)", lambda w: nf.Conv2d(2, 4, (3, 1.5)), T,
         "Conv2d: kernel_size[1]", "an int"),
    case("Conv2d kernel_size='3'", lambda w: nf.Conv2d(2, 4, "3"), T, "Conv2d: kernel_size",
         "str"),
    case("Conv2d stride=0", lambda w: nf.Conv2d(2, 4, 3, stride=0), P, "Conv2d: stride",
         "positive"),
    case("Conv2d stride=-1", lambda w: nf.Conv2d(2, 4, 3, stride=-1), P, "Conv2d: stride",
         "positive"),
    case("Conv2d stride=1.5", lambda w: nf.Conv2d(2, 4, 3, stride=1.5), T, "Conv2d: stride",
         "an int"),
    case("Conv2d stride=None", lambda w: nf.Conv2d(2, 4, 3, stride=None), T, "Conv2d: stride",
         "NoneType"),
    case("Conv2d stride=(1, 2, 1)", lambda w: nf.Conv2d(2, 4, 3, stride=(1, 2, 1)), T,
         "Conv2d: stride", "a tuple of 2 ints"),
    case("Conv2d dilation=0", lambda w: nf.Conv2d(2, 4, 3, dilation=0), P, "Conv2d: dilation",
         "positive"),
    case("Conv2d dilation=(1, -1)", lambda w: nf.Conv2d(2, 4, 3, dilation=(1, -1)), P,
         "Conv2d: dilation[1]", "positive"),
    case("Conv2d dilation=2.0", lambda w: nf.Conv2d(2, 4, 3, dilation=2.0), T,
         "Conv2d: dilation", "an int"),
    case("Conv2d dilation=False", lambda w: nf.Conv2d(2, 4, 3, dilation=False), T,
         "Conv2d: dilation", "bool"),
    case("Conv2d padding=-1", lambda w: nf.Conv2d(2, 4, 3, padding=-1), P, "Conv2d: padding",
         ">= 0"),
    case("Conv2d padding=1.0", lambda w: nf.Conv2d(2, 4, 3, padding=1.0), T, "Conv2d: padding",
         "an int"),
    case("Conv2d padding=None", lambda w: nf.Conv2d(2, 4, 3, padding=None), T,
         "Conv2d: padding", "NoneType"),
    case("Conv2d padding=True", lambda w: nf.Conv2d(2, 4, 3, padding=True), T,
         "Conv2d: padding", "bool"),
    case("Conv2d padding=(1, 1, 1, 1)", lambda w: nf.Conv2d(2, 4, 3, padding=(1, 1, 1, 1)), T,
         "Conv2d: padding", "a tuple of 2 ints"),
    case("Conv2d padding=(1, -1)", lambda w: nf.Conv2d(2, 4, 3, padding=(1, -1)), P,
         "Conv2d: padding[1]", ">= 0"),
    case("Conv2d padding='full'", lambda w: nf.Conv2d(2, 4, 3, padding="full"), P,
         "Conv2d: padding", '"same", "valid"', "'full'"),
    case("Conv2d padding='SAME'", lambda w: nf.Conv2d(2, 4, 3, padding="SAME"), P,
         "Conv2d: padding", "'SAME'"),
    case("Conv2d padding='same' stride=2", lambda w: nf.Conv2d(2, 4, 3, padding="same", stride=2),
         P, 'Conv2d: padding="same" needs stride 1', "(2, 2)"),
    case("Conv2d padding='same' stride=(1, 2)",
         lambda w: nf.Conv2d(2, 4, 3, padding="same", stride=(1, 2)), P,
         'Conv2d: padding="same" needs stride 1', "(1, 2)"),
    case("Conv2d groups dividing neither", lambda w: nf.Conv2d(2, 4, 3, groups=3), P,
         "Conv2d: groups (3)", "in_channels (2)"),
    case("Conv2d groups not dividing in_channels", lambda w: nf.Conv2d(3, 4, 3, groups=2), P,
         "Conv2d: groups (2)", "in_channels (3)"),
    case("Conv2d groups not dividing out_channels", lambda w: nf.Conv2d(4, 6, 3, groups=4), P,
         "Conv2d: groups (4)", "out_channels (6)"),
    case("Conv2d groups=0", lambda w: nf.Conv2d(2, 4, 3, groups=0), P, "Conv2d: groups",
         "positive"),
    case("Conv2d groups=1.0", lambda w: nf.Conv2d(2, 4, 3, groups=1.0), T, "Conv2d: groups",
         "an int"),
    case("Conv2d bias='yes'", lambda w: nf.Conv2d(2, 4, 3, bias="yes"), T, "Conv2d: bias",
         "bool"),
    case("Conv2d init='nope'", lambda w: nf.Conv2d(2, 4, 3, init="nope"), P, "Conv2d: init",
         "he_normal"),
    case("Conv2d dtype=int", lambda w: nf.Conv2d(2, 4, 3, dtype=int), P, "Conv2d: dtype",
         "float"),
    case("Conv2d rng='x'", lambda w: nf.Conv2d(2, 4, 3, rng="x"), T, "Conv2d: rng", "Generator"),
    case("Conv2d(2**20, 2**20, 3)", lambda w: nf.Conv2d(2**20, 2**20, 3), P, "Conv2d", "GiB"),
    case("Conv1d kernel_size=(3, 3)", lambda w: nf.Conv1d(2, 4, (3, 3)), T,
         "Conv1d: kernel_size", "an int", "(3, 3)"),
    case("Conv1d kernel_size=0", lambda w: nf.Conv1d(2, 4, 0), P, "Conv1d: kernel_size",
         "positive"),
    case("Conv1d kernel_size=1.5", lambda w: nf.Conv1d(2, 4, 1.5), T, "Conv1d: kernel_size",
         "an int"),
    case("Conv1d stride=0", lambda w: nf.Conv1d(2, 4, 3, stride=0), P, "Conv1d: stride",
         "positive"),
    case("Conv1d dilation=-1", lambda w: nf.Conv1d(2, 4, 3, dilation=-1), P, "Conv1d: dilation",
         "positive"),
    case("Conv1d padding=-2", lambda w: nf.Conv1d(2, 4, 3, padding=-2), P, "Conv1d: padding",
         ">= 0"),
    case("Conv1d padding=(1, 1)", lambda w: nf.Conv1d(2, 4, 3, padding=(1, 1)), T,
         "Conv1d: padding", "an int"),
    case("Conv1d padding='causal'", lambda w: nf.Conv1d(2, 4, 3, padding="causal"), P,
         "Conv1d: padding", "'causal'"),
    case("Conv1d padding='same' stride=3", lambda w: nf.Conv1d(2, 4, 3, padding="same", stride=3),
         P, 'Conv1d: padding="same" needs stride 1', "(3,)"),
    case("Conv1d groups not dividing", lambda w: nf.Conv1d(4, 6, 3, groups=4), P,
         "Conv1d: groups (4)", "out_channels (6)"),
    case("Conv1d(2, 0, 3)", lambda w: nf.Conv1d(2, 0, 3), P, "Conv1d: out_channels", "positive"),
    # Conv2d and Conv1d: inputs and gradients (on layers with a step behind them)
    case("Conv2d 3-d input", lambda w: w.images["conv2d"](IMAGES[:, :, 0]), ShapeError,
         "Conv2d(2, 4, kernel_size=(3, 3), padding=(1, 1))", "(batch, 2, d2, d3)",
         "3-d input of shape (4, 2, 6)"),
    case("Conv2d 5-d input", lambda w: w.images["conv2d"](IMAGES[..., None]), ShapeError,
         "Conv2d(2, 4", "(batch, 2, d2, d3)", "(4, 2, 6, 6, 1)"),
    case("Conv2d wrong channel count", lambda w: w.images["conv2d"](np.ones((4, 3, 6, 6))),
         ShapeError, "Conv2d(2, 4", "(batch, 2, d2, d3)", "(4, 3, 6, 6)"),
    case("Conv2d grouped wrong channel count",
         lambda w: w.images["dilated"](np.ones((4, 1, 6, 6))), ShapeError,
         "Conv2d(2, 4, kernel_size=(3, 2)", "(batch, 2, d2, d3)", "(4, 1, 6, 6)"),
    case("Conv2d kernel larger than the padded input",
         lambda w: w.images["conv2d"](IMAGES[:, :, :, :0]), ShapeError, "Conv2d(2, 4",
         "the kernel (3, 3)", "(4, 2, 6, 0)", "padded to (8, 2)"),
    case("Conv2d kernel larger than the input", lambda w: w.images["spent conv2d"](
        IMAGES[:, :, :2]), ShapeError, "Conv2d(2, 4, kernel_size=(3, 3))", "(4, 2, 2, 6)",
         "padded to (2, 6)"),
    case("Conv2d dilated kernel larger than the input",
         lambda w: w.images["dilated"](IMAGES[:, :, :4, :4]), ShapeError,
         "dilation=(2, 2)", "reaching (5, 3)", "(4, 2, 4, 4)"),
    case("Conv2d padding too large to allocate",
         lambda w: nf.Conv2d(2, 4, 3, padding=2**40, rng=0)(IMAGES), P,
         "Conv2d(2, 4, kernel_size=(3, 3), padding=(1099511627776, 1099511627776))", "GiB"),
    case("Conv2d string input", lambda w: w.images["conv2d"](IMAGES.astype(str)), DTypeError,
         "Conv2d(2, 4", "real numeric"),
    case("Conv2d backward of a wrong shape",
         lambda w: w.images["conv2d"].backward(np.ones((4, 4, 6, 5)), input_grad=True),
         ShapeError, "Conv2d(2, 4", "gradient of shape (4, 4, 6, 6)", "(4, 4, 6, 5)"),
    case("Conv2d backward of the input's shape",
         lambda w: w.images["conv2d"].backward(IMAGES), ShapeError, "Conv2d(2, 4",
         "(4, 4, 6, 6)", "(4, 2, 6, 6)"),
    case("Conv2d backward of strings",
         lambda w: w.images["dilated"].backward(np.full((4, 4, 2, 2), "a")), DTypeError,
         "Conv2d(2, 4, kernel_size=(3, 2)", "gradient"),
    case("Conv2d backward without forward",
         lambda w: w.images["spent conv2d"].backward(np.ones((4, 4, 4, 4))), CacheMissError,
         "Conv2d(2, 4, kernel_size=(3, 3))", "forward()"),
    case("Conv1d 4-d input", lambda w: w.images["conv1d"](IMAGES), ShapeError,
         "Conv1d(2, 4, kernel_size=(3,), padding='same')", "(batch, 2, d2)",
         "4-d input of shape (4, 2, 6, 6)"),
    case("Conv1d 2-d input", lambda w: w.images["conv1d"](SEQUENCES[:, 0]), ShapeError,
         "Conv1d(2, 4", "(batch, 2, d2)", "(4, 9)"),
    case("Conv1d wrong channel count", lambda w: w.images["conv1d"](np.ones((4, 5, 9))),
         ShapeError, "Conv1d(2, 4", "(batch, 2, d2)", "(4, 5, 9)"),
    case("Conv1d kernel larger than the input",
         lambda w: w.images["spent conv1d"](SEQUENCES[:, :, :1]), ShapeError,
         "Conv1d(2, 4, kernel_size=(2,), stride=(2,))", "(4, 2, 1)", "padded to (1,)"),
    case("Conv1d dilated kernel larger than the input",
         lambda w: nf.Conv1d(2, 4, 3, dilation=5, rng=0)(SEQUENCES), ShapeError,
         "Conv1d(2, 4, kernel_size=(3,), dilation=(5,))", "reaching (11,)", "(4, 2, 9)"),
    case("Conv1d padding too large to allocate",
         lambda w: nf.Conv1d(2, 4, 3, padding=2**62, rng=0)(SEQUENCES), P, "Conv1d(2, 4",
         "GiB"),
    case("Conv1d backward of a wrong shape",
         lambda w: w.images["conv1d"].backward(np.ones((4, 4, 8))), ShapeError, "Conv1d(2, 4",
         "(4, 4, 9)", "(4, 4, 8)"),
    case("Conv1d backward without forward",
         lambda w: w.images["spent conv1d"].backward(np.ones((4, 4, 4))), CacheMissError,
         "Conv1d(2, 4", "forward()"),
    # pooling
    case("MaxPool2d(0)", lambda w: nf.MaxPool2d(0), P, "MaxPool2d: kernel_size", "positive"),
    case("MaxPool2d(-1)", lambda w: nf.MaxPool2d(-1), P, "MaxPool2d: kernel_size", "positive"),
    case("MaxPool2d(2.5)", lambda w: nf.MaxPool2d(2.5), T, "MaxPool2d: kernel_size", "an int"),
    case("MaxPool2d(2.0)", lambda w: nf.MaxPool2d(2.0), T, "MaxPool2d: kernel_size", "float"),
    case("MaxPool2d(True)", lambda w: nf.MaxPool2d(True), T, "MaxPool2d: kernel_size", "bool"),
    case("MaxPool2d(None)", lambda w: nf.MaxPool2d(None), T, "MaxPool2d: kernel_size",
         "NoneType"),
    case("MaxPool2d((2, 2, 2))", lambda w: nf.MaxPool2d((2, 2, 2)), T,
         "MaxPool2d: kernel_size", "a tuple of 2 ints"),
    case("MaxPool2d stride=0", lambda w: nf.MaxPool2d(2, stride=0), P, "MaxPool2d: stride",
         "positive"),
    case("MaxPool2d stride=(2, -1)", lambda w: nf.MaxPool2d(2, stride=(2, -1)), P,
         "MaxPool2d: stride[1]", "positive"),
    case("MaxPool2d stride=1.5", lambda w: nf.MaxPool2d(2, stride=1.5), T, "MaxPool2d: stride",
         "an int"),
    case("MaxPool2d padding=-1", lambda w: nf.MaxPool2d(2, padding=-1), P,
         "MaxPool2d: padding", ">= 0"),
    case("MaxPool2d padding=None", lambda w: nf.MaxPool2d(2, padding=None), T,
         "MaxPool2d: padding", "NoneType"),
    case("MaxPool2d padding='same'", lambda w: nf.MaxPool2d(3, padding="same"), T,
         "MaxPool2d: padding", "str"),
    case("MaxPool2d padding above half the kernel", lambda w: nf.MaxPool2d(3, padding=2), P,
         "MaxPool2d: padding", "at most half", "padding=(2, 2)", "kernel_size=(3, 3)"),
    case("MaxPool2d padding above half of one side", lambda w: nf.MaxPool2d((4, 2), padding=(2, 2)),
         P, "MaxPool2d: padding", "at most half", "kernel_size=(4, 2)"),
    case("AvgPool2d(0)", lambda w: nf.AvgPool2d(0), P, "AvgPool2d: kernel_size", "positive"),
    case("AvgPool2d stride=(1,)", lambda w: nf.AvgPool2d(2, stride=(1,)), T,
         "AvgPool2d: stride", "a tuple of 2 ints"),
    case("AvgPool2d padding above half the kernel", lambda w: nf.AvgPool2d(2, padding=2), P,
         "AvgPool2d: padding", "at most half"),
    case("AvgPool2d padding=0.5", lambda w: nf.AvgPool2d(2, padding=0.5), T,
         "AvgPool2d: padding", "an int"),
    case("MaxPool1d((2, 2))", lambda w: nf.MaxPool1d((2, 2)), T, "MaxPool1d: kernel_size",
         "an int"),
    case("MaxPool1d stride=0", lambda w: nf.MaxPool1d(2, stride=0), P, "MaxPool1d: stride",
         "positive"),
    case("MaxPool1d padding above half the kernel", lambda w: nf.MaxPool1d(2, padding=2), P,
         "MaxPool1d: padding", "at most half", "padding=(2,)"),
    case("AvgPool1d(None)", lambda w: nf.AvgPool1d(None), T, "AvgPool1d: kernel_size",
         "NoneType"),
    case("AvgPool1d padding=-1", lambda w: nf.AvgPool1d(3, padding=-1), P,
         "AvgPool1d: padding", ">= 0"),
    case("MaxPool2d 3-d input", lambda w: w.images["maxpool2d"](SEQUENCES), ShapeError,
         "MaxPool2d(kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))", "(batch, d1, d2, d3)",
         "(4, 2, 9)"),
    case("MaxPool2d kernel larger than the input", lambda w: w.images["spent maxpool2d"](
        IMAGES[:, :, :1]), ShapeError, "MaxPool2d(kernel_size=(2, 2)", "the kernel (2, 2)",
         "(1, 6)"),
    case("MaxPool2d padding too large to allocate",
         lambda w: nf.MaxPool2d(2**40, padding=2**39)(IMAGES), P, "MaxPool2d(kernel_size=", "GiB"),
    case("MaxPool2d backward of a wrong shape",
         lambda w: w.images["maxpool2d"].backward(np.ones((4, 2, 3, 4))), ShapeError,
         "MaxPool2d(kernel_size=(3, 3)", "(4, 2, 3, 3)", "(4, 2, 3, 4)"),
    case("MaxPool2d backward without forward",
         lambda w: w.images["spent maxpool2d"].backward(np.ones((4, 2, 3, 3))), CacheMissError,
         "MaxPool2d(kernel_size=(2, 2)", "forward()"),
    case("AvgPool2d 2-d input", lambda w: w.images["avgpool2d"](X), ShapeError,
         "AvgPool2d(kernel_size=(2, 2), stride=(2, 2))", "(8, 3)"),
    case("AvgPool2d kernel larger than the input",
         lambda w: w.images["avgpool2d"](IMAGES[:, :, :, :1]), ShapeError, "AvgPool2d(",
         "the kernel (2, 2)", "(6, 1)"),
    case("AvgPool2d padding too large to allocate",
         lambda w: nf.AvgPool2d(2**40, padding=2**39)(IMAGES), P, "AvgPool2d(", "GiB"),
    case("AvgPool2d backward of a wrong shape",
         lambda w: w.images["avgpool2d"].backward(np.ones((4, 2, 3))), ShapeError,
         "AvgPool2d(", "(4, 2, 3, 3)", "(4, 2, 3)"),
    case("MaxPool1d 4-d input", lambda w: w.images["maxpool1d"](IMAGES), ShapeError,
         "MaxPool1d(kernel_size=2, stride=2)", "(batch, d1, d2)", "(4, 2, 6, 6)"),
    case("MaxPool1d kernel larger than the input",
         lambda w: nf.MaxPool1d(10)(SEQUENCES), ShapeError, "MaxPool1d(kernel_size=10",
         "the kernel (10,)", "(9,)"),
    case("MaxPool1d padding too large to allocate",
         lambda w: nf.MaxPool1d(2**62, padding=2**61)(SEQUENCES), P, "MaxPool1d(", "GiB"),
    case("MaxPool1d backward of a wrong shape",
         lambda w: w.images["maxpool1d"].backward(np.ones((4, 2, 5))), ShapeError,
         "MaxPool1d(", "(4, 2, 4)", "(4, 2, 5)"),
    case("AvgPool1d 2-d input", lambda w: w.images["avgpool1d"](X), ShapeError,
         "AvgPool1d(kernel_size=3, stride=2, padding=1)", "(8, 3)"),
    case("AvgPool1d backward of a wrong shape",
         lambda w: w.images["avgpool1d"].backward(np.ones((4, 2, 4))), ShapeError,
         "AvgPool1d(", "(4, 2, 5)", "(4, 2, 4)"),
    case("AvgPool1d backward without forward",
         lambda w: w.images["spent avgpool1d"].backward(np.ones((4, 2, 4))), CacheMissError,
         "AvgPool1d(kernel_size=2", "forward()"),
    case("GlobalAvgPool2d 3-d input", lambda w: w.images["global"](SEQUENCES), ShapeError,
         "GlobalAvgPool2d()", "(batch, d1, d2, d3)", "(4, 2, 9)"),
    case("GlobalAvgPool2d backward of a wrong shape",
         lambda w: w.images["global"].backward(np.ones((4, 2, 1, 1))), ShapeError,
         "GlobalAvgPool2d()", "(4, 2)", "(4, 2, 1, 1)"),
    case("GlobalAvgPool2d backward without forward",
         lambda w: w.images["spent global"].backward(np.ones((4, 2))), CacheMissError,
         "GlobalAvgPool2d()", "forward()"),
    # BatchNorm2d
    case("BatchNorm2d(0)", lambda w: nf.BatchNorm2d(0), P, "BatchNorm2d: num_features",
         "positive"),
    case("BatchNorm2d(2.0)", lambda w: nf.BatchNorm2d(2.0), T, "BatchNorm2d: num_features",
         "an int"),
    case("BatchNorm2d(True)", lambda w: nf.BatchNorm2d(True), T, "BatchNorm2d: num_features",
         "bool"),
    case("BatchNorm2d momentum=-0.1", lambda w: nf.BatchNorm2d(2, momentum=-0.1), P,
         "BatchNorm2d: momentum", "[0, 1]"),
    case("BatchNorm2d eps=0", lambda w: nf.BatchNorm2d(2, eps=0), P, "BatchNorm2d: eps", "> 0"),
    case("BatchNorm2d dtype=int", lambda w: nf.BatchNorm2d(2, dtype=int), P,
         "BatchNorm2d: dtype", "float"),
    case("BatchNorm2d 3-d input", lambda w: w.images["batchnorm2d"](SEQUENCES), ShapeError,
         "BatchNorm2d(2, momentum=0.5)", "(batch, 2, d2, d3)", "(4, 2, 9)"),
    case("BatchNorm2d 2-d input", lambda w: w.images["batchnorm2d"](Y), ShapeError,
         "BatchNorm2d(2", "(batch, 2, d2, d3)", "(8, 2)"),
    case("BatchNorm2d wrong channel count",
         lambda w: w.images["batchnorm2d"](np.ones((4, 3, 6, 6))), ShapeError, "BatchNorm2d(2",
         "(batch, 2, d2, d3)", "(4, 3, 6, 6)"),
    case("BatchNorm2d one value per channel in training",
         lambda w: w.images["batchnorm2d"](IMAGES[:1, :, :1, :1]), ShapeError, "BatchNorm2d(2",
         "more than one", "eval()"),
    case("BatchNorm2d backward of a wrong shape",
         lambda w: w.images["batchnorm2d"].backward(np.ones((4, 2, 6, 7))), ShapeError,
         "BatchNorm2d(2", "(4, 2, 6, 6)", "(4, 2, 6, 7)"),
    case("BatchNorm2d backward without forward",
         lambda w: w.images["spent batchnorm2d"].backward(IMAGES), CacheMissError,
         "BatchNorm2d(2)", "forward()"),
    # cnn
    case("cnn image_shape=(8, 8)", lambda w: nf.cnn((8, 8), 10), T, "cnn: image_shape",
         "(channels, height, width)", "(8, 8)"),
    case("cnn image_shape='abc'", lambda w: nf.cnn("abc", 10), T, "cnn: image_shape"),
    case("cnn image_shape=(0, 8, 8)", lambda w: nf.cnn((0, 8, 8), 10), P, "cnn: image_shape[0]",
         "positive"),
    case("cnn image_shape=(1, 8.0, 8)", lambda w: nf.cnn((1, 8.0, 8), 10), T,
         "cnn: image_shape[1]", "an int"),
    case("cnn image too small", lambda w: nf.cnn((1, 8, 8), 10, channels=(4, 4, 4, 4)), P,
         "cnn", "(1, 8, 8)", "too small", "4 poolings"),
    case("cnn n_outputs=0", lambda w: nf.cnn((1, 8, 8), 0), P, "cnn: n_outputs", "positive"),
    case("cnn channels=()", lambda w: nf.cnn((1, 8, 8), 10, channels=()), P, "cnn: channels",
         "non-empty"),
    case("cnn channels=(4, 0)", lambda w: nf.cnn((1, 8, 8), 10, channels=(4, 0)), P,
         "cnn: channels[1]", "positive"),
    case("cnn channels=(2.5,)", lambda w: nf.cnn((1, 8, 8), 10, channels=(2.5,)), T,
         "cnn: channels[0]", "an int"),
    case("cnn kernel_size=4", lambda w: nf.cnn((1, 8, 8), 10, kernel_size=4), P,
         "cnn: kernel_size", "odd", "4"),
    case("cnn kernel_size=0", lambda w: nf.cnn((1, 8, 8), 10, kernel_size=0), P,
         "cnn: kernel_size", "positive"),
    case("cnn kernel_size=(3, 3)", lambda w: nf.cnn((1, 8, 8), 10, kernel_size=(3, 3)), T,
         "cnn: kernel_size"),
    case("cnn hidden=0", lambda w: nf.cnn((1, 8, 8), 10, hidden=0), P, "cnn: hidden",
         "positive"),
    case("cnn batch_norm='y'", lambda w: nf.cnn((1, 8, 8), 10, batch_norm="y"), T,
         "cnn: batch_norm", "bool"),
    case("cnn dropout=1", lambda w: nf.cnn((1, 8, 8), 10, dropout=1.0), P, "cnn: dropout",
         "[0, 1)"),
    case("cnn output_activation='softmax'",
         lambda w: nf.cnn((1, 8, 8), 10, output_activation="softmax"), P,
         "cnn: output_activation", "sigmoid"),
    case("cnn dtype=int", lambda w: nf.cnn((1, 8, 8), 10, dtype=int), P, "dtype", "float"),
    case("cnn rng='x'", lambda w: nf.cnn((1, 8, 8), 10, rng="x"), T, "rng", "Generator"),
    case("cnn input of the wrong channel count", lambda w: w.images["cnn"](IMAGES[:, :1]),
         ShapeError, "in Sequential[0] Conv2d(2, 4", "(batch, 2, d2, d3)", "(4, 1, 6, 6)"),
    case("cnn flat input", lambda w: w.images["cnn"](X), ShapeError, "Conv2d(2, 4", "(8, 3)"),
    case("cnn input of another image size", lambda w: nf.cnn(
        (2, 6, 6), 3, channels=(4,), kernel_size=3, hidden=5, rng=6)(np.ones((4, 2, 8, 8))),
         ShapeError, "Linear(36 -> 5)", "(batch, 36)", "(4, 64)"),
    case("cnn backward of a wrong shape",
         lambda w: w.images["cnn"].backward(np.ones((4, 2))), ShapeError, "(4, 3)", "(4, 2)"),
    case("fit a cnn on flat inputs", lambda w: nf.Trainer(
        w.images["cnn"], nf.CrossEntropyLoss(), nf.SGD(w.images["cnn"].parameters(), lr=0.1)
    ).fit(X, LABELS % 3, progress=False), ShapeError, "Conv2d(2, 4", "(1, 3)", "Trainer.fit",
         "nothing was changed"),
    # batches: checked when called, before the first batch is drawn
    case("batches(None, None, 2)", lambda w: nf.batches(None, None, 2), T, "batches: x",
         "batch axis", "NoneType"),
    case("batches shuffle=array", lambda w: nf.batches(X, Y, 2, shuffle=np.array([1, 2])), T,
         "batches: shuffle", "bool"),
    case("batches rng='x'", lambda w: nf.batches(X, Y, 2, shuffle=True, rng="x"), T,
         "batches: rng", "Generator"),
    case("batches y of another length", lambda w: nf.batches(X, Y[:5], 2), DataError,
         "batches", "8 examples", "5"),
    case("batches ragged x", lambda w: nf.batches([[1.0, 2.0], [3.0]], None, 1), ShapeError,
         "batches: x", "ragged"),
    case("batches y='abc'", lambda w: nf.batches(X, "abc", 2), T, "batches: y", "str"),
    case("batches sample_weight of strings",
         lambda w: nf.batches(X, Y, 2, sample_weight=np.array(["a"] * 8)), DTypeError,
         "batches: sample_weight", "<U1"),
    # container indexing
    case("Sequential['a']", lambda w: w.model["a"], T, "Sequential['a']", "int or a slice"),
    case("Sequential[5] (out of range)", lambda w: w.model[5],
         nf.errors.IndexOutOfRangeError, "Sequential[5]", "5 children", "-5 to 4"),
    case("Sequential[-6]", lambda w: w.model[-6], nf.errors.IndexOutOfRangeError,
         "Sequential[-6]", "out of range"),
    case("Sequential[True]", lambda w: w.model[True], T, "Sequential[True]", "bool"),
    case("Sequential[1.0]", lambda w: w.model[1.0], T, "Sequential[1.0]", "float"),
    case("Concat['a']", lambda w: nf.Concat(nf.ReLU(), nf.Tanh())["a"], T, "Concat['a']",
         "int or a slice"),
    case("Concat[2] (out of range)", lambda w: nf.Concat(nf.ReLU(), nf.Tanh())[2],
         nf.errors.IndexOutOfRangeError, "Concat[2]", "2 children"),
    # metrics
    case("accuracy(None, [1])", lambda w: nf.metrics.accuracy(None, [1]), T,
         "accuracy: predictions", "NoneType"),
    case("accuracy(pred, 'abc')", lambda w: nf.metrics.accuracy(np.full((3, 1), 0.7), "abc"),
         T, "accuracy: targets", "str"),
    case("accuracy of no examples", lambda w: nf.metrics.accuracy(np.ones(0), np.ones(0)),
         ShapeError, "accuracy: predictions", "n >= 1"),
    case("accuracy NaN target",
         lambda w: nf.metrics.accuracy(np.ones((2, 1)), np.array([1, np.nan])), DataError,
         "accuracy: targets", "finite"),
    case("accuracy from_logits='yes'",
         lambda w: nf.metrics.accuracy(np.ones(2), np.ones(2), from_logits="yes"), T,
         "accuracy: from_logits", "bool"),
    case("metrics.get(int)", lambda w: nf.metrics.get(int), P, "<class 'int'>", "a class"),
    case("metrics.get(ReLU)", lambda w: nf.metrics.get(nf.ReLU), P, "ReLU", "a class"),
    case("metrics.get from_logits=1", lambda w: nf.metrics.get("f1", from_logits=1), T,
         "metrics.get: from_logits", "bool"),
    case("metrics.named(int)", lambda w: nf.metrics.named(int, "integer"), T,
         "named: function", "the class int"),
    case("mean_squared_error(None, [1])", lambda w: nf.metrics.mean_squared_error(None, [1]),
         T, "mean_squared_error: predictions", "NoneType"),
    case("mean_squared_error of strings",
         lambda w: nf.metrics.mean_squared_error(np.array(["a"]), np.array(["b"])), DataError,
         "mean_squared_error: predictions", "numbers"),
    case("r2(None, [1])", lambda w: nf.metrics.r2(None, np.ones(2)), T, "r2: predictions"),
    case("mae(pred, 'abc')", lambda w: nf.metrics.mae(np.ones(3), "abc"), T, "mae: targets"),
    case("rmse NaN target", lambda w: nf.metrics.rmse(np.ones(2), np.array([1, np.nan])),
         DataError, "rmse: targets", "finite"),
    case("f1(None, [1])", lambda w: nf.metrics.f1(None, [1]), T, "f1: predictions"),
    case("precision from_logits=None",
         lambda w: nf.metrics.precision(np.ones(2), np.ones(2), from_logits=None), T,
         "precision: from_logits", "bool"),
    case("roc_auc(pred, None)", lambda w: nf.metrics.roc_auc(np.ones(2), None), T,
         "roc_auc: targets"),
    case("binary_crossentropy target 2",
         lambda w: nf.metrics.binary_crossentropy(np.full(2, 0.5), np.array([0, 2])),
         DataError, "binary_crossentropy: targets", "[0, 1]"),
    case("binary_crossentropy('ab', [1])",
         lambda w: nf.metrics.binary_crossentropy("ab", [1]), T,
         "binary_crossentropy: predictions"),
    case("confusion_matrix num_classes=2**40",
         lambda w: nf.metrics.confusion_matrix(np.ones(2), np.ones(2), num_classes=2**40), P,
         "confusion_matrix: num_classes", "GiB"),
    # History
    case("History(history=None)", lambda w: nf.training.History(history=None), T,
         "History: history", "dict", "NoneType"),
    case("History(history={'loss': 0.5})",
         lambda w: nf.training.History({"loss": 0.5}, [0]), T, "History: history['loss']",
         "list"),
    case("History values longer than epochs",
         lambda w: nf.training.History({"loss": [0.5, 0.4]}, [0]), P,
         "History: history['loss']", "2 values for 1 epochs"),
    case("History(epoch=[1, 0])", lambda w: nf.training.History(epoch=[1, 0]), P,
         "History: epoch", "increasing"),
    case("History(epoch='0')", lambda w: nf.training.History(epoch="0"), T, "History: epoch"),
    case("History.record logs=None", lambda w: w.trainer.history.record(1, None), T,
         "History.record: logs", after=lambda w: w.trainer.history.epoch == [0]),
    case("History.record epoch again",
         lambda w: w.trainer.history.record(0, {"loss": 1.0}), P, "History.record: epoch",
         after=lambda w: w.trainer.history.epoch == [0]),
    # gradient clipping
    case("clip_grad_norm('', 1.0)", lambda w: nf.clip_grad_norm("", 1.0), T,
         "clip_grad_norm: parameters", "str"),
    case("clip_grad_value('', 1.0)", lambda w: nf.clip_grad_value("", 1.0), T,
         "clip_grad_value: parameters", "str"),
    case("clip_grad_norm of a model", lambda w: nf.clip_grad_norm(w.model, 1.0), T,
         "clip_grad_norm: parameters", "model.parameters()"),
    case("clip_grad_value of an empty model", lambda w: nf.clip_grad_value(nf.Sequential(), 1.0),
         T, "clip_grad_value: parameters", "model.parameters()"),
    case("clip_grad_norm of a dict",
         lambda w: nf.clip_grad_norm(dict(w.model.named_parameters()), 1.0), T,
         "clip_grad_norm: parameters", "values()"),
    case("clip_grad_norm of an empty array", lambda w: nf.clip_grad_norm(np.zeros((0, 3)), 1.0),
         T, "clip_grad_norm: parameters", "ndarray"),
]


def test_the_sweep_covers_at_least_80_distinct_bad_inputs():
    ids = [c.id for c in CASES]
    assert len(set(ids)) == len(ids), "every case must be distinct"
    assert len(ids) >= 80
    # The brief's examples are all in the table.
    for required in ("Linear(-3, 2)", "Linear(2.5, 2)", "Dropout(1.5)", "SGD lr=-1",
                     "astype(int)", "train('yes')", "layer sizes do not chain"):
        assert required in ids


@pytest.mark.parametrize("bad", CASES, ids=[c.id for c in CASES])
def test_bad_input_raises_a_clear_nnframe_error_and_changes_nothing(bad: Case, world: World):
    before = snapshot(world)
    with pytest.raises(NnframeError) as info:
        bad.call(world)
    error = info.value
    assert isinstance(error, bad.error), f"{type(error).__name__}: {error}"
    assert isinstance(error, bad.standard)
    message = full_message(error)
    for fragment in bad.fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert_unchanged(before, snapshot(world))
    if bad.after is not None:
        assert bad.after(world)


def test_a_model_whose_sizes_do_not_chain_names_the_layer_and_both_sizes(world: World):
    # Detected at the first forward pass (Sequential stays cheap to build, and some
    # tests build mismatched models on purpose); Trainer.fit checks it before any step.
    with pytest.raises(ShapeError) as info:
        world.unchained(np.ones((2, 4)))
    assert info.value.__notes__ == ["in Sequential[2] Linear(5 -> 2)"]
    assert "expected input of shape (batch, 5)" in str(info.value)
    assert "(2, 3)" in str(info.value)


def test_image_layers_carry_nan_through_without_an_error():
    # The contract for a NaN input: no error and no warning, NaN in the outputs it
    # reaches (as PyTorch; a diverged model is Trainer's to report), nothing else changed.
    nan = np.where(np.arange(IMAGES.size).reshape(IMAGES.shape) % 7 == 0, np.nan, IMAGES)
    for name, (layer, x) in image_layers().items():
        x = nan if x.ndim == 4 else nan[:, :, 0, :]
        y = layer.eval()(x)
        assert np.isnan(y).any(), name
        if not name.endswith(("global", "cnn")):  # a window without a NaN stays finite
            assert np.isfinite(y).any(), name


def test_a_model_refusing_an_input_halfway_leaves_batchnorm_running_statistics_alone():
    model = nf.cnn((2, 6, 6), 3, channels=(4,), kernel_size=3, hidden=5, batch_norm=True, rng=6)
    before = model.state_dict()
    with pytest.raises(ShapeError, match=r"Linear\(36 -> 5\)"):
        model(np.ones((4, 2, 8, 8), dtype=np.float32))
    assert_unchanged(before, model.state_dict())


@pytest.mark.parametrize(
    "make",
    [
        lambda: nf.Residual(nf.Sequential(nf.BatchNorm1d(3), nf.Linear(3, 4, rng=0))),
        lambda: nf.Concat(nf.BatchNorm1d(3), nf.Sequential(nf.BatchNorm1d(3), nf.Linear(2, 2))),
    ],
    ids=["Residual", "Concat"],
)
def test_a_branching_model_refusing_an_input_leaves_batchnorm_alone(make):
    model = make()
    before = model.state_dict()
    with pytest.raises(ShapeError):
        model(np.arange(12.0).reshape(4, 3))
    assert_unchanged(before, model.state_dict())
    alone = nf.BatchNorm1d(3)
    alone(np.arange(12.0).reshape(4, 3))  # outside a container: updated at once
    assert alone.running_mean.value.any()


# -- the fuzz ---------------------------------------------------------------------------

ODD_SCALARS = (
    np.float16(0.5), np.float32(-1.0), np.float64(np.nan), np.longdouble(2.0), np.int8(-3),
    np.int64(0), np.uint8(3), np.uint64(2**63), np.bool_(True), np.complex64(1 + 1j),
    np.datetime64("2020-01-01"), np.timedelta64(3, "s"), np.str_("abc"), np.bytes_(b"x"),
)


def _arrays() -> list[np.ndarray]:
    return [
        np.zeros(()), np.ones(3), np.ones((2, 3, 4)), np.ones((8, 3)), np.ones((3, 8)),
        np.ones((8, 5)), np.ones((5, 3)), np.zeros((0, 3)), np.array(["a", "b"]),
        np.array([None, 1], dtype=object), np.ones((8, 2), dtype=complex),
        np.full((8, 3), np.nan), np.full((8, 2), np.inf), np.arange(8, dtype=np.uint8),
        np.array([[True, False]] * 8), np.array(["2020-01-01"] * 8, dtype="datetime64[D]"),
    ]


def malformed() -> st.SearchStrategy[Any]:
    """Values of every wrong kind: types, specials, extremes, odd numpy scalars, arrays."""
    return st.one_of(
        st.text(max_size=4),
        st.sampled_from(["", "\0", "a\0b.csv", ".", ".."]),
        st.none(),
        st.booleans(),
        st.integers(-5, 0),
        st.integers(1, 4),
        st.sampled_from([2**40, 2**63, 10**30, 10**400]),
        st.floats(-5, 5),
        st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 1e300]),
        st.complex_numbers(max_magnitude=5, allow_nan=False, allow_infinity=False),
        st.lists(st.integers(-2, 4), max_size=3),
        st.tuples(st.floats(-2, 2), st.floats(-2, 2)),
        st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
        st.sampled_from(ODD_SCALARS),
        st.integers(0, len(_arrays()) - 1).map(lambda i: _arrays()[i]),
        st.builds(object),
        st.just([[1.0, 2.0, 3.0], [1.0]]),
        st.just(nf.ReLU),
        st.just(nf.ReLU()),
    )


def small_epochs(value: Any) -> bool:
    """Whether ``value`` cannot make fit() train for long (huge epoch counts would)."""
    try:
        return not (isinstance(value, numbers.Integral | np.integer) and int(value) > 2)
    except (TypeError, ValueError, OverflowError):
        return True


def no_inf(value: Any) -> Any:
    """``value``, unless it is an array holding inf: then a finite stand-in.

    An infinite prediction is a diverged model, not a bad argument: the loss is NaN and
    Trainer raises TrainingDivergedError. (CrossEntropyLoss and BCEWithLogitsLoss still
    warn "invalid value" on the way, inside their forward bodies; see the report.)
    """
    if isinstance(value, np.ndarray) and value.dtype.kind == "f" and np.isinf(value).any():
        return np.zeros_like(value)
    return value


def _fit(w: World, **kwargs: Any) -> object:
    args = {"x": X, "y": Y, "epochs": 1, "batch_size": 4, "progress": False, "rng": 0}
    args.update(kwargs)
    return w.trainer.fit(args.pop("x"), args.pop("y"), **args)


PROBS = np.linspace(0.1, 0.9, 8)[:, None]  # one column of probabilities, for LABELS

# Each metric function, given a malformed prediction or target beside a valid other half.
METRIC_NAMES = (
    "accuracy", "binary_crossentropy", "mean_squared_error", "mae", "rmse", "r2",
    "precision", "recall", "f1", "roc_auc", "confusion_matrix",
)


def _metric_call(name: str, which: str) -> Callable[[World, Any], object]:
    regression = name in ("mean_squared_error", "mae", "rmse", "r2")
    pred, target = (Y, Y) if regression else (PROBS, LABELS)

    def call(w: World, v: Any) -> object:
        function = getattr(nf.metrics, name)
        return function(v, target) if which == "pred" else function(pred, v)

    return call


def _pool_call(cls: type[nf.Layer], arg: str) -> Callable[[World, Any], object]:
    """Build a pooling layer with ``arg`` set to the value, and run it on its input."""
    x = IMAGES if cls.__name__.endswith("2d") else SEQUENCES
    kwargs = {"kernel_size": 2, arg: None}

    def call(w: World, v: Any) -> object:
        kwargs[arg] = v
        return cls(**kwargs)(x)

    return call


def _image_call(name: str, which: str) -> Callable[[World, Any], object]:
    """Give the world's image layer ``name`` the value as its input or its gradient."""

    def call(w: World, v: Any) -> object:
        layer = w.images[name]
        return layer(v) if which == "x" else layer.backward(v, input_grad=True)

    return call


# (name, call(world, value)): one argument of one public constructor or call gets the value.
TARGETS: list[tuple[str, Callable[[World, Any], object]]] = [
    ("Linear in_features", lambda w, v: nf.Linear(v, 2)),
    ("Linear out_features", lambda w, v: nf.Linear(2, v)),
    ("Linear bias", lambda w, v: nf.Linear(2, 2, bias=v)),
    ("Linear init", lambda w, v: nf.Linear(2, 2, init=v)),
    ("Linear rng", lambda w, v: nf.Linear(2, 2, rng=v)),
    ("Linear dtype", lambda w, v: nf.Linear(2, 2, dtype=v)),
    ("LeakyReLU negative_slope", lambda w, v: nf.LeakyReLU(v)),
    ("ELU alpha", lambda w, v: nf.ELU(v)),
    ("Softmax axis", lambda w, v: nf.Softmax(v)),
    ("Dropout p", lambda w, v: nf.Dropout(v)),
    ("Dropout rng", lambda w, v: nf.Dropout(0.5, rng=v)),
    ("BatchNorm1d num_features", lambda w, v: nf.BatchNorm1d(v)),
    ("BatchNorm1d momentum", lambda w, v: nf.BatchNorm1d(2, momentum=v)),
    ("BatchNorm1d eps", lambda w, v: nf.BatchNorm1d(2, eps=v)),
    ("BatchNorm1d dtype", lambda w, v: nf.BatchNorm1d(2, dtype=v)),
    ("Dropout p assigned", lambda w, v: setattr(w.model[3], "p", v)),
    ("Sequential layer", lambda w, v: nf.Sequential(nf.ReLU(), v)),
    ("mlp layer_dims", lambda w, v: nf.mlp(v)),
    ("mlp layer_dims item", lambda w, v: nf.mlp([2, v])),
    ("mlp hidden_activation", lambda w, v: nf.mlp([2, 2, 1], hidden_activation=v)),
    ("mlp output_activation", lambda w, v: nf.mlp([2, 1], output_activation=v)),
    ("mlp init", lambda w, v: nf.mlp([2, 1], init=v)),
    ("mlp rng", lambda w, v: nf.mlp([2, 1], rng=v)),
    ("mlp dtype", lambda w, v: nf.mlp([2, 1], dtype=v)),
    ("MSELoss reduction", lambda w, v: nf.MSELoss(v)),
    ("CrossEntropyLoss reduction", lambda w, v: nf.CrossEntropyLoss(v)),
    ("MSELoss pred", lambda w, v: w.mse(v, Y)),
    ("MSELoss target", lambda w, v: w.mse(Y, v)),
    ("BCELoss pred", lambda w, v: w.bce(v, LABELS)),
    ("BCELoss target", lambda w, v: w.bce(np.full((8, 1), 0.5), v)),
    ("BCEWithLogitsLoss pred", lambda w, v: w.bcel(no_inf(v), LABELS)),
    ("BCEWithLogitsLoss target", lambda w, v: w.bcel(Y[:, :1], v)),
    ("CrossEntropyLoss pred", lambda w, v: w.ce(no_inf(v), LABELS)),
    ("CrossEntropyLoss target", lambda w, v: w.ce(Y, v)),
    ("SGD params", lambda w, v: nf.SGD(v, lr=0.1)),
    ("SGD lr", lambda w, v: nf.SGD(w.params, lr=v)),
    ("SGD momentum", lambda w, v: nf.SGD(w.params, lr=0.1, momentum=v)),
    ("SGD dampening", lambda w, v: nf.SGD(w.params, lr=0.1, dampening=v)),
    ("SGD nesterov", lambda w, v: nf.SGD(w.params, lr=0.1, momentum=0.5, nesterov=v)),
    ("SGD weight_decay", lambda w, v: nf.SGD(w.params, lr=0.1, weight_decay=v)),
    ("Adam lr", lambda w, v: nf.Adam(w.params, lr=v)),
    ("Adam betas", lambda w, v: nf.Adam(w.params, betas=v)),
    ("Adam eps", lambda w, v: nf.Adam(w.params, eps=v)),
    ("AdamW weight_decay", lambda w, v: nf.AdamW(w.params, weight_decay=v)),
    ("RMSprop alpha", lambda w, v: nf.RMSprop(w.params, alpha=v)),
    ("RMSprop momentum", lambda w, v: nf.RMSprop(w.params, momentum=v)),
    ("RMSprop centered", lambda w, v: nf.RMSprop(w.params, centered=v)),
    ("optimizer lr assigned", lambda w, v: setattr(w.optimizer, "lr", v)),
    ("optimizer load_state_dict", lambda w, v: w.optimizer.load_state_dict(v)),
    ("optimizer load_state_dict lr",
     lambda w, v: w.optimizer.load_state_dict({**w.optimizer.state_dict(), "lr": v})),
    ("StepLR optimizer", lambda w, v: nf.StepLR(v, step_size=1)),
    ("StepLR step_size", lambda w, v: nf.StepLR(w.optimizer, step_size=v)),
    ("StepLR gamma", lambda w, v: nf.StepLR(w.optimizer, step_size=1, gamma=v)),
    ("ExponentialLR gamma", lambda w, v: nf.ExponentialLR(w.optimizer, gamma=v)),
    ("CosineAnnealingLR T_max", lambda w, v: nf.CosineAnnealingLR(w.optimizer, T_max=v)),
    ("InverseTimeDecay decay_rate", lambda w, v: nf.InverseTimeDecay(w.optimizer, v)),
    ("schedule lr_at", lambda w, v: w.schedule.lr_at(v)),
    ("growing schedule lr_at",
     lambda w, v: nf.ExponentialLR(nf.SGD(w.small.parameters(), lr=1.0), gamma=3.0).lr_at(v)),
    ("schedule load_state_dict", lambda w, v: w.schedule.load_state_dict(v)),
    ("clip_grad_norm max_norm", lambda w, v: nf.clip_grad_norm(w.small.parameters(), v)),
    ("clip_grad_norm parameters", lambda w, v: nf.clip_grad_norm(v, 1.0)),
    ("EarlyStopping monitor", lambda w, v: EarlyStopping(monitor=v)),
    ("EarlyStopping patience", lambda w, v: EarlyStopping(patience=v)),
    ("EarlyStopping min_delta", lambda w, v: EarlyStopping(min_delta=v)),
    ("EarlyStopping mode", lambda w, v: EarlyStopping(mode=v)),
    ("EarlyStopping restore_best", lambda w, v: EarlyStopping(restore_best=v)),
    ("LearningRateScheduler schedule", lambda w, v: LearningRateScheduler(v)),
    ("ModelCheckpoint path", lambda w, v: ModelCheckpoint(v)),
    ("ModelCheckpoint monitor", lambda w, v: ModelCheckpoint("c", monitor=v)),
    ("ModelCheckpoint save_best_only", lambda w, v: ModelCheckpoint("c", save_best_only=v)),
    ("ModelCheckpoint mode", lambda w, v: ModelCheckpoint("c", mode=v)),
    ("Trainer model", lambda w, v: nf.Trainer(v, nf.MSELoss(), w.optimizer)),
    ("Trainer loss", lambda w, v: nf.Trainer(w.model, v, w.optimizer)),
    ("Trainer optimizer", lambda w, v: nf.Trainer(w.model, nf.MSELoss(), v)),
    ("Trainer metrics", lambda w, v: nf.Trainer(w.model, nf.MSELoss(), w.optimizer, metrics=v)),
    ("Trainer stop_on_nan",
     lambda w, v: nf.Trainer(w.model, nf.MSELoss(), w.optimizer, stop_on_nan=v)),
    ("fit x", lambda w, v: _fit(w, x=v)),
    ("fit y", lambda w, v: _fit(w, y=v)),
    ("fit epochs", lambda w, v: _fit(w, epochs=v if small_epochs(v) else -1)),
    ("fit batch_size", lambda w, v: _fit(w, batch_size=v)),
    ("fit shuffle", lambda w, v: _fit(w, shuffle=v)),
    ("fit validation_data", lambda w, v: _fit(w, validation_data=v)),
    ("fit validation_data x", lambda w, v: _fit(w, validation_data=(v, Y[:2]))),
    ("fit validation_split", lambda w, v: _fit(w, validation_split=v)),
    ("fit callbacks", lambda w, v: _fit(w, callbacks=v)),
    ("fit progress", lambda w, v: _fit(w, progress=v)),
    ("fit rng", lambda w, v: _fit(w, rng=v)),
    ("fit resume_from", lambda w, v: _fit(w, resume_from=v)),
    ("fit class labels", lambda w, v: w.ce_trainer.fit(X, v, batch_size=4, progress=False)),
    ("evaluate x", lambda w, v: w.trainer.evaluate(v, Y)),
    ("evaluate y", lambda w, v: w.trainer.evaluate(X, v)),
    ("evaluate batch_size", lambda w, v: w.trainer.evaluate(X, Y, batch_size=v)),
    ("predict x", lambda w, v: w.trainer.predict(v)),
    ("predict batch_size", lambda w, v: w.trainer.predict(X, batch_size=v)),
    ("datasets.load source", lambda w, v: datasets.load(v)),
    ("datasets.load test_size", lambda w, v: datasets.load("iris", test_size=v)),
    ("datasets.load rng", lambda w, v: datasets.load("iris", rng=v)),
    ("datasets.load standardize", lambda w, v: datasets.load("iris", standardize=v)),
    ("datasets.load dtype", lambda w, v: datasets.load("iris", dtype=v)),
    ("datasets.load task", lambda w, v: datasets.load("iris", task=v)),
    ("save path", lambda w, v: nf.save(w.small, v)),
    ("save model", lambda w, v: nf.save(v, "model.safetensors")),
    ("load path", lambda w, v: nf.load(v)),
    ("load_weights path", lambda w, v: nf.load_weights(w.model, v)),
    ("save_weights path", lambda w, v: nf.save_weights(w.small, v)),
    ("read_metadata path", lambda w, v: nf.serialization.read_metadata(v)),
    ("load_checkpoint path", lambda w, v: nf.serialization.load_checkpoint(v)),
    ("History.plot path", lambda w, v: w.trainer.history.plot(v)),
    ("gradcheck x", lambda w, v: nf.gradcheck(w.small, v)),
    ("gradcheck eps", lambda w, v: nf.gradcheck(w.small, X[:2], eps=v)),
    ("gradcheck atol", lambda w, v: nf.gradcheck(w.small, X[:2], atol=v)),
    ("gradcheck rng", lambda w, v: nf.gradcheck(w.small, X[:2], rng=v)),
    ("astype dtype", lambda w, v: w.model.astype(v)),
    ("load_state_dict state", lambda w, v: w.model.load_state_dict(v)),
    ("load_state_dict value",
     lambda w, v: w.model.load_state_dict({**w.model.state_dict(), "0.bias": v})),
    ("load_state_dict strict", lambda w, v: w.model.load_state_dict({}, strict=v)),
    ("train mode", lambda w, v: w.model.train(v)),
    ("summary input_shape", lambda w, v: w.model.summary(v)),
    ("batches x", lambda w, v: list(nf.batches(v, None, 3))),
    ("batches y", lambda w, v: list(nf.batches(X, v, 3))),
    ("batches batch_size", lambda w, v: list(nf.batches(X, Y, v))),
    ("batches shuffle", lambda w, v: list(nf.batches(X, Y, 3, shuffle=v, rng=0))),
    ("batches rng", lambda w, v: list(nf.batches(X, Y, 3, shuffle=True, rng=v))),
    ("batches sample_weight", lambda w, v: list(nf.batches(X, Y, 3, sample_weight=v))),
    ("Sequential index", lambda w, v: w.model[v]),
    ("Concat index", lambda w, v: nf.Concat(nf.ReLU(), nf.Tanh())[v]),
    *[
        (f"metrics.{name} {which}", _metric_call(name, which))
        for name in METRIC_NAMES for which in ("pred", "target")
    ],
    ("accuracy from_logits", lambda w, v: nf.metrics.accuracy(PROBS, LABELS, from_logits=v)),
    ("f1 average", lambda w, v: nf.metrics.f1(PROBS, LABELS, average=v)),
    ("roc_auc average", lambda w, v: nf.metrics.roc_auc(PROBS, LABELS, average=v)),
    ("confusion_matrix num_classes",
     lambda w, v: nf.metrics.confusion_matrix(PROBS, LABELS, num_classes=v)),
    ("metrics.get metric", lambda w, v: nf.metrics.get(v)),
    ("metrics.get from_logits", lambda w, v: nf.metrics.get("f1", from_logits=v)),
    ("metrics.named function", lambda w, v: nf.metrics.named(v, "custom")),
    ("History history", lambda w, v: nf.training.History(history=v)),
    ("History history values", lambda w, v: nf.training.History({"loss": v}, [0, 1])),
    ("History epoch", lambda w, v: nf.training.History(epoch=v)),
    ("History.record epoch", lambda w, v: nf.training.History().record(v, {"loss": 1.0})),
    ("History.record logs", lambda w, v: nf.training.History().record(0, v)),
    ("clip_grad_value clip_value", lambda w, v: nf.clip_grad_value(w.small.parameters(), v)),
    ("clip_grad_value parameters", lambda w, v: nf.clip_grad_value(v, 1.0)),
    ("Conv2d in_channels", lambda w, v: nf.Conv2d(v, 2, 3)),
    ("Conv2d out_channels", lambda w, v: nf.Conv2d(2, v, 3)),
    ("Conv2d kernel_size", lambda w, v: nf.Conv2d(2, 2, v, rng=0)(IMAGES)),
    ("Conv2d stride", lambda w, v: nf.Conv2d(2, 2, 3, stride=v, rng=0)(IMAGES)),
    ("Conv2d padding", lambda w, v: nf.Conv2d(2, 2, 3, padding=v, rng=0)(IMAGES)),
    ("Conv2d dilation", lambda w, v: nf.Conv2d(2, 2, 2, dilation=v, rng=0)(IMAGES)),
    ("Conv2d groups", lambda w, v: nf.Conv2d(4, 4, 1, groups=v, rng=0)),
    ("Conv2d bias", lambda w, v: nf.Conv2d(2, 2, 3, bias=v)),
    ("Conv2d init", lambda w, v: nf.Conv2d(2, 2, 3, init=v)),
    ("Conv2d rng", lambda w, v: nf.Conv2d(2, 2, 3, rng=v)),
    ("Conv2d dtype", lambda w, v: nf.Conv2d(2, 2, 3, dtype=v)),
    ("Conv2d x", lambda w, v: w.images["conv2d"](v)),
    ("Conv2d grouped x", lambda w, v: w.images["dilated"](v)),
    ("Conv2d grad_y", lambda w, v: w.images["conv2d"].backward(v, input_grad=True)),
    ("Conv2d spent grad_y", lambda w, v: w.images["spent conv2d"].backward(v)),
    ("Conv1d kernel_size", lambda w, v: nf.Conv1d(2, 2, v, rng=0)(SEQUENCES)),
    ("Conv1d stride", lambda w, v: nf.Conv1d(2, 2, 3, stride=v, rng=0)(SEQUENCES)),
    ("Conv1d padding", lambda w, v: nf.Conv1d(2, 2, 3, padding=v, rng=0)(SEQUENCES)),
    ("Conv1d dilation", lambda w, v: nf.Conv1d(2, 2, 2, dilation=v, rng=0)(SEQUENCES)),
    ("Conv1d groups", lambda w, v: nf.Conv1d(2, 2, 1, groups=v, rng=0)),
    ("Conv1d x", lambda w, v: w.images["conv1d"](v)),
    ("Conv1d grad_y", lambda w, v: w.images["conv1d"].backward(v)),
    *[
        (f"{cls.__name__} {arg}", _pool_call(cls, arg))
        for cls in (nf.MaxPool2d, nf.AvgPool2d, nf.MaxPool1d, nf.AvgPool1d)
        for arg in ("kernel_size", "stride", "padding")
    ],
    *[
        (f"{name} {which}", _image_call(name, which))
        for name in ("maxpool2d", "avgpool2d", "maxpool1d", "avgpool1d", "global", "batchnorm2d")
        for which in ("x", "grad_y")
    ],
    ("spent maxpool2d grad_y", lambda w, v: w.images["spent maxpool2d"].backward(v)),
    ("BatchNorm2d num_features", lambda w, v: nf.BatchNorm2d(v)),
    ("BatchNorm2d eps", lambda w, v: nf.BatchNorm2d(2, eps=v)),
    ("BatchNorm2d momentum", lambda w, v: nf.BatchNorm2d(2, momentum=v)),
    ("BatchNorm2d dtype", lambda w, v: nf.BatchNorm2d(2, dtype=v)),
    ("cnn image_shape", lambda w, v: nf.cnn(v, 3, channels=(2,), hidden=4)),
    ("cnn image_shape item", lambda w, v: nf.cnn((1, v, 8), 3, channels=(2,), hidden=4)),
    ("cnn n_outputs", lambda w, v: nf.cnn((1, 8, 8), v, channels=(2,), hidden=4)),
    ("cnn channels", lambda w, v: nf.cnn((1, 8, 8), 3, channels=v, hidden=4)),
    ("cnn channels item", lambda w, v: nf.cnn((1, 8, 8), 3, channels=(2, v), hidden=4)),
    ("cnn kernel_size", lambda w, v: nf.cnn((1, 8, 8), 3, channels=(2,), kernel_size=v)),
    ("cnn hidden", lambda w, v: nf.cnn((1, 8, 8), 3, channels=(2,), hidden=v)),
    ("cnn batch_norm", lambda w, v: nf.cnn((1, 8, 8), 3, channels=(2,), batch_norm=v)),
    ("cnn dropout", lambda w, v: nf.cnn((1, 8, 8), 3, channels=(2,), dropout=v)),
    ("cnn output_activation",
     lambda w, v: nf.cnn((1, 8, 8), 3, channels=(2,), output_activation=v)),
    ("cnn rng", lambda w, v: nf.cnn((1, 8, 8), 3, channels=(2,), rng=v)),
    ("cnn dtype", lambda w, v: nf.cnn((1, 8, 8), 3, channels=(2,), dtype=v)),
    ("cnn x", lambda w, v: w.images["cnn"](v)),
    ("cnn grad_y", lambda w, v: w.images["cnn"].backward(v)),
    ("cnn summary input_shape", lambda w, v: w.images["cnn"].summary(v)),
]


@pytest.mark.parametrize(("name", "call"), TARGETS, ids=[name for name, _ in TARGETS])
@given(value=malformed())
def test_malformed_arguments_succeed_or_raise_an_nnframe_error_and_corrupt_nothing(
    name: str, call: Callable[[World, Any], object], value: Any
):
    with tempfile.TemporaryDirectory() as tmp:
        here = os.getcwd()
        os.chdir(tmp)  # relative paths the fuzz makes up land here
        try:
            w = World(Path(tmp))
            before = snapshot(w)
            try:
                call(w, value)
            except NnframeError:
                assert_unchanged(before, snapshot(w))
        finally:
            os.chdir(here)
