"""nnframe.save / load / save_weights / load_weights, the registry, safe reading, atomic writes."""

from __future__ import annotations

import json
import os
import random
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import attrs
import numpy as np
import pytest
import safetensors.numpy
from attrs import field
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import nnframe as nf
from nnframe import atomic, registry, serialization
from nnframe.errors import ArgumentError, ArgumentTypeError, SerializationError, StateDictError
from nnframe.serialization import format as file_format

# ---------------------------------------------------------------------------------------------
# Layers for the tests: a registered attrs layer, a registered plain-__init__ layer, and an
# unregistered one. Registered in a fixture and removed afterwards, so that nothing leaks.
# ---------------------------------------------------------------------------------------------


@nf.layer
class ScaledTanh(nf.Layer):
    """``y = gain * tanh(x)``, one learned gain per feature."""

    n_features: int
    init_gain: float = 1.0
    dtype: np.dtype = field(default=np.dtype(np.float32), converter=np.dtype)
    gain: nf.Parameter = field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        self.gain = nf.Parameter(np.full(self.n_features, self.init_gain, dtype=self.dtype))

    def forward(self, x):
        t = np.tanh(x)
        self.save_for_backward(t=t)
        return self.gain.value * t

    def backward(self, grad_y):
        t = self.saved("t")
        self.gain.grad += np.sum(grad_y * t, axis=0)
        return grad_y * self.gain.value * (1.0 - t * t)


class Square(nf.Layer):
    """``y = scale * x**2``, a plain ``__init__`` with its own get_config."""

    def __init__(self, scale: float = 1.0, dtype: str = "float64") -> None:
        super().__init__()
        self.scale = nf.Parameter(np.array([scale], dtype=dtype))

    def forward(self, x):
        self.save_for_backward(x=x)
        return self.scale.value * x**2

    def backward(self, grad_y):
        x = self.saved("x")
        self.scale.grad += np.sum(grad_y * x**2)
        return grad_y * 2.0 * self.scale.value * x

    def get_config(self):
        # The dtype belongs in the config: model.astype() may have changed it.
        return {"scale": float(self.scale.value[0]), "dtype": self.scale.dtype.name}


@nf.layer
class Loose(nf.Layer):
    """An attrs layer with an untyped, unvalidated field: a target for hostile configs."""

    factor: object = 1.0

    def forward(self, x):
        return x

    def backward(self, grad_y):
        return grad_y


class Unregistered(nf.Layer):
    def forward(self, x):
        return x

    def backward(self, grad_y):
        return grad_y


@pytest.fixture
def custom_layers():
    names = {
        ScaledTanh: "tests.ScaledTanh",
        Square: "tests.Square",
        Loose: "tests.Loose",
    }
    for cls, name in names.items():
        nf.register(cls, name=name)
    yield names
    for name in names.values():
        registry.unregister(name)


# A module-level function that a hostile file may try to name: it must never run.
MARKER = {"called": False}


def set_marker(*args, **kwargs):
    MARKER["called"] = True
    return nf.ReLU()


# ---------------------------------------------------------------------------------------------
# Round trips
# ---------------------------------------------------------------------------------------------


def _optional(name, make):
    return pytest.param(
        make,
        id=name,
        marks=pytest.mark.skipif(not hasattr(nf, name), reason=f"nnframe has no {name} yet"),
    )


LAYERS = [
    pytest.param(lambda: nf.ReLU(), id="ReLU"),
    pytest.param(lambda: nf.Sigmoid(), id="Sigmoid"),
    pytest.param(lambda: nf.Tanh(), id="Tanh"),
    pytest.param(lambda: nf.Linear(5, 5, rng=3), id="Linear"),
    pytest.param(lambda: nf.Linear(5, 5, bias=False, rng=3), id="Linear-no-bias"),
    pytest.param(
        lambda: nf.Sequential(nf.Sequential(nf.Linear(5, 5, rng=4), nf.Tanh()), nf.ReLU()),
        id="Sequential-nested",
    ),
    _optional("LeakyReLU", lambda: nf.LeakyReLU(0.2)),
    _optional("ELU", lambda: nf.ELU(0.7)),
    _optional("GELU", lambda: nf.GELU()),
    _optional("Softmax", lambda: nf.Softmax()),
    _optional("Identity", lambda: nf.Identity()),
    _optional("Flatten", lambda: nf.Flatten()),
    _optional("Dropout", lambda: nf.Dropout(0.3, rng=7)),
    _optional("BatchNorm1d", lambda: nf.BatchNorm1d(5, momentum=0.3)),
    pytest.param(lambda: nf.LayerNorm(5), id="LayerNorm"),
    pytest.param(lambda: nf.Residual(nf.Linear(5, 5, rng=5)), id="Residual"),
    pytest.param(lambda: nf.Concat(nf.Linear(5, 2, rng=5), nf.Linear(5, 3, rng=6)), id="Concat"),
]

# Image and sequence layers, after a 1x1 convolution that feeds them 3 channels (laid out
# channels-last in memory, as in a real model): (id, make, input shape).
IMAGE_LAYERS = [
    ("Conv2d", lambda: nf.Conv2d(3, 4, 3, rng=3), (5, 2, 7, 6)),
    ("Conv2d-strided-dilated-grouped-no-bias", lambda: nf.Conv2d(
        3, 6, (3, 2), stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=3, bias=False,
        rng=3), (5, 2, 7, 6)),
    ("Conv2d-same", lambda: nf.Conv2d(3, 2, 4, padding="same", rng=3), (5, 2, 7, 6)),
    ("Conv2d-valid", lambda: nf.Conv2d(3, 2, 2, padding="valid", rng=3), (5, 2, 7, 6)),
    ("Conv1d", lambda: nf.Conv1d(3, 4, 3, stride=2, padding=1, rng=3), (5, 2, 11)),
    ("Conv1d-same-dilated", lambda: nf.Conv1d(3, 3, 2, padding="same", dilation=3, groups=3,
                                              rng=3), (5, 2, 11)),
    ("MaxPool2d", lambda: nf.MaxPool2d(2), (5, 2, 7, 6)),
    ("MaxPool2d-padded", lambda: nf.MaxPool2d((3, 2), stride=(2, 1), padding=(1, 0)),
     (5, 2, 7, 6)),
    ("AvgPool2d", lambda: nf.AvgPool2d(2), (5, 2, 7, 6)),
    ("AvgPool2d-padded", lambda: nf.AvgPool2d(3, stride=2, padding=1), (5, 2, 7, 6)),
    ("MaxPool1d", lambda: nf.MaxPool1d(3, stride=2, padding=1), (5, 2, 11)),
    ("AvgPool1d", lambda: nf.AvgPool1d(2), (5, 2, 11)),
    ("GlobalAvgPool2d", lambda: nf.GlobalAvgPool2d(), (5, 2, 7, 6)),
    ("BatchNorm2d", lambda: nf.BatchNorm2d(3, eps=1e-3, momentum=0.3), (5, 2, 7, 6)),
    ("cnn", lambda: nf.cnn((3, 7, 6), 4, channels=(4, 5), kernel_size=3, hidden=6, rng=3),
     (5, 2, 7, 6)),
    ("cnn-batchnorm-dropout", lambda: nf.cnn(
        (3, 7, 6), 4, channels=(4,), kernel_size=3, hidden=6, batch_norm=True, dropout=0.3,
        output_activation="sigmoid", rng=3), (5, 2, 7, 6)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize(
    ("make_layer", "input_shape"), [row[1:] for row in IMAGE_LAYERS],
    ids=[row[0] for row in IMAGE_LAYERS],
)
def test_every_image_layer_round_trips_with_identical_outputs(
    make_layer, input_shape, dtype, tmp_path
):
    first = nf.Conv2d(2, 3, 1, rng=0) if len(input_shape) == 4 else nf.Conv1d(2, 3, 1, rng=0)
    model = nf.Sequential(first, make_layer())
    model.astype(dtype)
    x = np.random.default_rng(0).standard_normal(input_shape).astype(dtype)
    optimizer = nf.SGD(model.parameters(), lr=0.05, momentum=0.9)
    for _ in range(3):  # training passes: weights move, BatchNorm gets running statistics
        y = model(x + 1.0)
        model.backward(np.cos(y))
        optimizer.step()
        optimizer.zero_grad()
    model.eval()
    path = tmp_path / "model.safetensors"
    nf.save(model, path)
    loaded = nf.load(path).eval()
    assert repr(loaded) == repr(model)
    assert nf.registry.layer_to_spec(loaded) == nf.registry.layer_to_spec(model)
    state, loaded_state = model.state_dict(), loaded.state_dict()
    assert list(state) == list(loaded_state)
    for name, value in state.items():
        other = loaded_state[name]
        assert value.dtype == other.dtype == dtype and np.array_equal(value, other), name
    buffers = [name for name, _ in model.named_buffers()]
    if "BatchNorm" in repr(model):
        assert any(name.endswith("running_var") for name in buffers)
        for name in buffers:  # moved away from their initial zeros and ones
            assert not np.all(state[name] == (1.0 if name.endswith("var") else 0.0)), name
    assert np.array_equal(loaded(x), model(x))
    assert loaded(x).dtype == model(x).dtype
    if model.named_generators():
        return  # Dropout: the loaded one draws afresh from its seed
    # And both train on identically from there.
    for net in (model.train(), loaded.train()):
        net.backward(np.ones_like(net(x)))
    for (name, p), (_, q) in zip(model.named_parameters(), loaded.named_parameters(), strict=True):
        assert np.array_equal(p.grad, q.grad), name


def test_every_registered_layer_is_in_a_round_trip_table():
    covered = {str(p.id).split("-")[0] for p in LAYERS} | {row[0].split("-")[0] for row in
                                                         IMAGE_LAYERS}
    covered |= {"Sequential", "Embedding"}  # Embedding takes indices: its own test below
    built_in = {
        name for name, cls in registry.registered().items() if cls.__module__.startswith("nnframe.")
    }  # other tests register layers of their own
    missing = built_in - covered
    assert not missing, f"add a round-trip row for {sorted(missing)}"


def test_an_embedding_round_trips(tmp_path):
    model = nf.Sequential(nf.Embedding(10, 3, rng=0), nf.Flatten(), nf.Linear(6, 2, rng=1))
    nf.save(model, tmp_path / "e.safetensors")
    loaded = nf.load(tmp_path / "e.safetensors")
    indices = np.array([[1, 9], [0, 4]])
    assert repr(loaded) == repr(model)
    assert np.array_equal(loaded(indices), model(indices))


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("make_layer", LAYERS)
def test_every_built_in_layer_round_trips_with_identical_outputs(make_layer, dtype, tmp_path):
    model = nf.Sequential(nf.Linear(4, 5, rng=0), make_layer(), nf.Linear(5, 3, rng=1))
    model.astype(dtype)
    x = np.random.default_rng(0).standard_normal((8, 4)).astype(dtype)
    for _ in range(3):  # training-mode passes give BatchNorm non-trivial running statistics
        model(x + 1.0)
    model.eval()
    path = tmp_path / "model.safetensors"
    nf.save(model, path)
    loaded = nf.load(path).eval()
    assert repr(loaded) == repr(model)
    assert nf.registry.layer_to_spec(loaded) == nf.registry.layer_to_spec(model)
    for (name, a), (other, b) in zip(
        model.state_dict().items(), loaded.state_dict().items(), strict=True
    ):
        assert name == other and a.dtype == b.dtype == dtype and np.array_equal(a, b)
    assert np.array_equal(loaded(x), model(x))
    assert loaded(x).dtype == model(x).dtype


@pytest.mark.skipif(not hasattr(nf, "BatchNorm1d"), reason="nnframe has no BatchNorm1d yet")
def test_batchnorm_running_statistics_travel_as_buffers(tmp_path):
    norm = nf.BatchNorm1d(3)
    norm(np.random.default_rng(0).normal(5.0, 2.0, (16, 3)).astype(np.float32))
    assert not np.allclose(norm.running_mean.value, 0.0)
    nf.save(norm, tmp_path / "bn.safetensors")
    loaded = nf.load(tmp_path / "bn.safetensors")
    assert np.array_equal(loaded.running_mean.value, norm.running_mean.value)
    assert np.array_equal(loaded.running_var.value, norm.running_var.value)


@pytest.mark.skipif(not hasattr(nf, "Dropout"), reason="nnframe has no Dropout yet")
def test_dropout_is_rebuilt_with_a_fresh_generator_from_its_saved_seed(tmp_path):
    seeded = nf.Dropout(0.5, rng=11)
    given = nf.Dropout(0.5, rng=np.random.default_rng(11))
    assert seeded.get_config()["rng"] == 11
    assert given.get_config()["rng"] is given.rng
    # A Generator is not an int seed: the file records None.
    assert nf.registry.layer_to_spec(given)["config"]["rng"] is None
    nf.save(nf.Sequential(seeded, given), tmp_path / "d.safetensors")
    loaded = nf.load(tmp_path / "d.safetensors").train()  # loaded in evaluation mode
    x = np.ones((4, 50), dtype=np.float32)
    # The seeded layer starts again from its seed: the same masks as the original's first.
    assert np.array_equal(loaded[0](x), nf.Dropout(0.5, rng=11)(x))
    assert loaded[1].rng is None


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_registered_custom_layers_round_trip(custom_layers, dtype, tmp_path):
    model = nf.Sequential(
        nf.Linear(3, 4, rng=0), ScaledTanh(4, init_gain=0.5), Square(2.0), nf.Linear(4, 2, rng=1)
    ).astype(dtype)
    model[1].gain.value[...] = [1.0, -2.0, 0.25, 3.0]
    x = np.random.default_rng(1).standard_normal((6, 3)).astype(dtype)
    nf.save(model, tmp_path / "custom.safetensors")
    loaded = nf.load(tmp_path / "custom.safetensors")
    metadata = serialization.read_metadata(tmp_path / "custom.safetensors")
    architecture = json.loads(metadata[file_format.KEY_ARCHITECTURE])
    names = [spec["class"] for spec in architecture["config"]["layers"]]
    assert names == ["Linear", "tests.ScaledTanh", "tests.Square", "Linear"]
    assert isinstance(loaded[1], ScaledTanh) and isinstance(loaded[2], Square)
    assert np.array_equal(loaded(x), model(x))


def test_file_holds_weights_as_tensors_and_the_architecture_as_json(tmp_path):
    model = nf.Sequential(nf.Linear(3, 2, rng=0), nf.ReLU())
    path = tmp_path / "m.safetensors"
    nf.save(model, path, metadata={"author": "me"})
    tensors = safetensors.numpy.load_file(str(path))  # any safetensors reader can read it
    assert sorted(tensors) == ["0.bias", "0.weight"]
    metadata = serialization.read_metadata(path)
    assert metadata["author"] == "me"
    assert metadata[file_format.KEY_VERSION] == "1" and metadata[file_format.KEY_KIND] == "model"
    assert json.loads(metadata[file_format.KEY_ARCHITECTURE]) == {
        "class": "Sequential",
        "config": {
            "layers": [
                {
                    "class": "Linear",
                    "config": {"in_features": 3, "out_features": 2, "bias": True,
                               "dtype": "float32"},
                },
                {"class": "ReLU", "config": {}},
            ]
        },
    }


def test_reserved_metadata_keys_are_refused(tmp_path):
    with pytest.raises(ArgumentError, match="nnframe's own"):
        nf.save(
            nf.ReLU(), tmp_path / "m.safetensors", metadata={file_format.KEY_ARCHITECTURE: "{}"}
        )
    with pytest.raises(ArgumentTypeError):
        nf.save(nf.ReLU(), tmp_path / "m.safetensors", metadata={"n": 3})
    assert not list(tmp_path.iterdir())


# ---------------------------------------------------------------------------------------------
# The registry
# ---------------------------------------------------------------------------------------------


def test_built_in_layers_are_registered_under_their_class_names():
    known = registry.registered()
    for name in ("Linear", "ReLU", "Sigmoid", "Tanh", "Sequential"):
        assert known[name] is getattr(nf, name)
    for name in ("Dropout", "BatchNorm1d", "LeakyReLU", "Flatten"):
        if hasattr(nf, name):
            assert known[name] is getattr(nf, name)
    for name in ("Conv2d", "Conv1d", "MaxPool2d", "AvgPool2d", "MaxPool1d", "AvgPool1d",
                 "GlobalAvgPool2d", "BatchNorm2d"):
        assert known[name] is getattr(nf, name)
    assert "Layer" not in known


def test_register_defaults_to_the_qualified_name_and_refuses_duplicates():
    @nf.register
    @nf.layer
    class Once(nf.Layer):
        pass

    try:
        assert registry.name_of(Once) == Once.__qualname__

        @nf.layer
        class Once(nf.Layer):  # a new definition of the same class: it replaces the first
            pass

        nf.register(Once)
        assert registry.lookup(Once.__qualname__) is Once

        class Other(nf.Layer):
            pass

        with pytest.raises(ArgumentError, match="already taken"):
            nf.register(Other, name=Once.__qualname__)
        with pytest.raises(ArgumentError, match="already taken"):
            nf.register(Other, name="Linear")
        with pytest.raises(ArgumentError, match="already registered as"):
            nf.register(Once, name="another.name")
    finally:
        registry.unregister(Once.__qualname__)


def test_register_rejects_what_is_not_a_layer_class():
    with pytest.raises(ArgumentTypeError):
        nf.register(set_marker)
    with pytest.raises(ArgumentTypeError):
        nf.register(nf.Layer)
    with pytest.raises(ArgumentError):
        nf.register(Unregistered, name=" ")
    with pytest.raises(ArgumentError, match="built-in"):
        registry.unregister("Linear")


def test_an_unregistered_layer_cannot_be_saved_and_nothing_is_written(tmp_path):
    with pytest.raises(SerializationError, match=r"Unregistered .*@nnframe.register"):
        nf.save(nf.Sequential(nf.Linear(2, 2, rng=0), Unregistered()), tmp_path / "m.safetensors")
    assert not list(tmp_path.iterdir())
    # Its weights alone can be saved.
    model = nf.Sequential(Unregistered(), nf.Linear(2, 2, rng=0))
    nf.save_weights(model, tmp_path / "w.safetensors")


def test_a_config_that_is_not_plain_cannot_be_saved(custom_layers, tmp_path):
    with pytest.raises(SerializationError, match=r"Loose\.factor is a callable"):
        nf.save(Loose(factor=set_marker), tmp_path / "m.safetensors")
    with pytest.raises(SerializationError, match=r"Loose\.factor is a ndarray"):
        nf.save(Loose(factor=np.ones(3)), tmp_path / "m.safetensors")
    with pytest.raises(SerializationError, match="reserved"):  # it would not load back
        nf.save(Loose(factor={"__reduce__": 1}), tmp_path / "m.safetensors")
    assert not list(tmp_path.iterdir())


def test_a_plain_init_layer_with_arguments_must_write_get_config():
    class NoConfig(nf.Layer):
        def __init__(self, width: int) -> None:
            super().__init__()
            self.width = width

    with pytest.raises(SerializationError, match="override get_config"):
        NoConfig(3).get_config()


# ---------------------------------------------------------------------------------------------
# Shared (tied) parameters: stored once, recorded as aliases, tied again on load
# ---------------------------------------------------------------------------------------------


@nf.layer
class TransposedLinear(nf.Layer):
    """``y = x @ weight``: a decoder that can share an encoder Linear's (out, in) weight."""

    in_features: int
    out_features: int
    dtype: np.dtype = field(default=np.dtype(np.float32), converter=np.dtype)
    weight: nf.Parameter = field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        shape = (self.in_features, self.out_features)
        self.weight = nf.Parameter(np.ones(shape, dtype=self.dtype))

    def forward(self, x):
        self.save_for_backward(x=x)
        return x @ self.weight.value

    def backward(self, grad_y):
        x = self.saved("x")
        self.weight.grad += x.T @ grad_y
        return grad_y @ self.weight.value.T


@nf.layer
class ListOfWeights(nf.Layer):
    """Holds its Parameters in a list: a place where a tie cannot be restored by name."""

    features: int
    weights: list = field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        self.weights = [nf.Parameter(np.ones((self.features, self.features), np.float32))]

    def forward(self, x):
        return x @ self.weights[0].value

    def backward(self, grad_y):
        return grad_y @ self.weights[0].value.T


@pytest.fixture
def tying_layers():
    names = {TransposedLinear: "tests.TransposedLinear", ListOfWeights: "tests.ListOfWeights"}
    for cls, name in names.items():
        nf.register(cls, name=name)
    yield names
    for name in names.values():
        registry.unregister(name)


def tied_twins(rng=0, dtype=np.float32):
    """Two Linear layers of the same shape that share one weight (and not their biases)."""
    model = nf.Sequential(
        nf.Linear(4, 4, rng=rng, dtype=dtype), nf.Tanh(), nf.Linear(4, 4, rng=rng + 1, dtype=dtype)
    )
    model[2].weight = model[0].weight
    return model


def tied_autoencoder(rng=0):
    """Linear(4, 3) encoder; the decoder uses the transpose of the encoder's weight."""
    model = nf.Sequential(nf.Linear(4, 3, rng=rng), nf.ReLU(), TransposedLinear(3, 4))
    model[2].weight = model[0].weight
    return model


def tensor_names(path) -> set[str]:
    return set(safetensors.numpy.load_file(str(path)))


@pytest.mark.parametrize("build", [tied_twins, tied_autoencoder], ids=["twins", "autoencoder"])
def test_a_tied_model_round_trips_with_the_tie_and_stores_the_array_once(
    build, tying_layers, tmp_path
):
    model = build()
    path = tmp_path / "tied.safetensors"
    nf.save(model, path)
    assert tensor_names(path) == {"0.weight", "0.bias"} | (
        {"2.bias"} if build is tied_twins else set()
    )
    metadata = serialization.read_metadata(path)
    assert json.loads(metadata[file_format.KEY_ALIASES]) == {"2.weight": "0.weight"}

    again = nf.load(path)
    assert again[2].weight is again[0].weight
    assert [name for name, _ in again.named_parameters()] == [
        name for name, _ in model.named_parameters()
    ]
    x = np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_array_equal(again(x), model(x))


def test_training_a_loaded_tied_model_updates_both_names(tying_layers, tmp_path):
    nf.save(tied_autoencoder(), tmp_path / "tied.safetensors")
    model = nf.load(tmp_path / "tied.safetensors")
    before = model[0].weight.value.copy()
    x = np.random.default_rng(2).standard_normal((8, 4)).astype(np.float32)
    trainer = nf.Trainer(model, nf.MSELoss(), nf.SGD(model.parameters(), lr=0.1))
    trainer.fit(x, x, epochs=2, batch_size=4, rng=0, progress=False)
    assert not np.array_equal(model[0].weight.value, before)
    assert model[2].weight is model[0].weight
    np.testing.assert_array_equal(model[2].weight.value, model[0].weight.value)


@settings(deadline=None, max_examples=15)
@given(
    values=arrays(np.float64, (4, 4), elements=st.floats(-10, 10)),
    x=arrays(np.float64, (3, 4), elements=st.floats(-10, 10)),
)
def test_a_tied_float64_model_round_trips_exactly(values, x):
    model = tied_twins(dtype=np.float64)
    model[0].weight.value[...] = values
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tied.safetensors"
        nf.save(model, path)
        again = nf.load(path)
    assert again[2].weight is again[0].weight
    np.testing.assert_array_equal(again[2].weight.value, values)
    np.testing.assert_array_equal(again(x), model(x))


def test_a_gradient_through_a_loaded_tie_is_the_sum_of_both_uses(tmp_path):
    nf.save(tied_twins(dtype=np.float64), tmp_path / "tied.safetensors")
    model = nf.load(tmp_path / "tied.safetensors")
    nf.assert_gradients(model, np.random.default_rng(0).standard_normal((3, 4)))


def test_tied_weights_save_and_load_with_save_weights(tmp_path):
    model = tied_twins()
    nf.save_weights(model, tmp_path / "w.safetensors")
    assert tensor_names(tmp_path / "w.safetensors") == {"0.weight", "0.bias", "2.bias"}
    other = tied_twins(rng=5)
    nf.load_weights(other, tmp_path / "w.safetensors")
    assert other[2].weight is other[0].weight
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(other.state_dict()[name], value)
    untied = nf.Sequential(nf.Linear(4, 4), nf.Tanh(), nf.Linear(4, 4))
    with pytest.raises(StateDictError, match=r"missing: '2\.weight'"):
        nf.load_weights(untied, tmp_path / "w.safetensors")


def test_a_shared_layer_is_still_refused_by_save_but_not_by_save_weights(tmp_path):
    layer = nf.Linear(2, 2, rng=0)
    model = nf.Sequential(layer, nf.ReLU())
    model.layers.append(layer)  # past append's own refusal of a repeated layer
    path = tmp_path / "m.safetensors"
    with pytest.raises(SerializationError, match=r"2 is the same object as '0'.*sharing"):
        nf.save(model, path)
    assert not path.exists()
    nf.save_weights(model, tmp_path / "w.safetensors")


def test_a_tie_inside_a_list_is_refused_before_anything_is_written(tying_layers, tmp_path):
    model = nf.Sequential(nf.Linear(3, 3, rng=0), ListOfWeights(3))
    model[1].weights[0] = model[0].weight
    path = tmp_path / "m.safetensors"
    path.write_bytes(b"previous")
    with pytest.raises(SerializationError, match=r"'1\.weights\.0' is the same Parameter as "
                       r"'0\.weight' inside a list"):
        nf.save(model, path)
    assert path.read_bytes() == b"previous"
    assert _temporaries(tmp_path) == []
    # A checkpoint keeps the weights and leaves the architecture out, as for any model
    # that cannot be rebuilt from its config.
    serialization.save_checkpoint(tmp_path / "c.safetensors", model, epoch=1)
    assert file_format.KEY_ARCHITECTURE not in serialization.read_metadata(
        tmp_path / "c.safetensors"
    )


def _write_tied(path, aliases, tensors=None):
    model = tied_twins()
    header = file_format.make_header("model", None, "test")
    header[file_format.KEY_ARCHITECTURE] = json.dumps(registry.layer_to_spec(model))
    header[file_format.KEY_ALIASES] = json.dumps(aliases)
    file_format.write_file(path, model.state_dict() if tensors is None else tensors, header)


@pytest.mark.parametrize(
    "aliases, match",
    [
        ({"2.weight": "9.weight"}, "no Parameter or Buffer '9.weight'"),
        ({"2.weight": "0.bias"}, "shapes or dtypes differ"),
        ({"2.weight": "2.weight"}, "itself an alias"),
        ({"2.weight": "0.weight", "0.weight": "2.bias"}, "itself an alias"),
        ({"1.weight": "0.weight"}, "not a Parameter or Buffer attribute"),
        ({"2.weight": 3}, "must map names to names"),
        (["2.weight"], "must map names to names"),
    ],
)
def test_aliases_that_cannot_be_tied_are_refused_on_load(aliases, match, tmp_path):
    path = tmp_path / "bad.safetensors"
    _write_tied(path, aliases)
    with pytest.raises(SerializationError, match=match):
        nf.load(path)


def test_a_tied_file_without_its_aliases_does_not_load_half_tied(tmp_path):
    path = tmp_path / "m.safetensors"
    model = tied_twins()
    header = file_format.make_header("model", None, "test")
    header[file_format.KEY_ARCHITECTURE] = json.dumps(registry.layer_to_spec(model))
    file_format.write_file(path, model.state_dict(), header)
    with pytest.raises(SerializationError, match=r"missing: '2\.weight'"):
        nf.load(path)


def test_the_aliases_key_is_reserved_and_covered_by_the_checksum(tmp_path):
    with pytest.raises(ArgumentError, match="nnframe's own"):
        nf.save(nf.ReLU(), tmp_path / "m.safetensors", metadata={file_format.KEY_ALIASES: "{}"})
    path = tmp_path / "tied.safetensors"
    nf.save(tied_twins(), path)
    data = path.read_bytes()
    path.write_bytes(data.replace(b'{\\"2.weight\\":\\"0.weight\\"}',
                                  b'{\\"2.weight\\":\\"2.weight\\"}'))
    assert path.read_bytes() != data
    with pytest.raises(SerializationError, match="checksum"):
        nf.load(path)


# ---------------------------------------------------------------------------------------------
# Files written by earlier versions (tests/data, written by nnframe.io before the split)
# ---------------------------------------------------------------------------------------------

DATA = Path(__file__).parent / "data"


def test_a_model_file_of_an_earlier_version_loads():
    model = nf.load(DATA / "v1_model.safetensors")
    assert [type(layer).__name__ for layer in model.layers] == [
        "Linear", "ReLU", "Dropout", "BatchNorm1d", "Linear"
    ]
    assert serialization.read_metadata(DATA / "v1_model.safetensors")["note"] == (
        "written by nnframe.io"
    )
    built = nf.Sequential(nf.Linear(3, 4), nf.ReLU(), nf.Dropout(0.25), nf.BatchNorm1d(4),
                          nf.Linear(4, 2))
    nf.load_weights(built, DATA / "v1_model.safetensors")
    x = np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3)
    np.testing.assert_array_equal(built.eval()(x), model.eval()(x))


def test_a_checkpoint_of_an_earlier_version_loads_and_restores():
    checkpoint = serialization.load_checkpoint(DATA / "v1_checkpoint.safetensors")
    assert checkpoint.epoch == 2
    assert set(checkpoint.layer_rng_states) == {"2.generator"}
    model = nf.Sequential(nf.Linear(3, 4), nf.ReLU(), nf.Dropout(0.25, rng=1),
                          nf.BatchNorm1d(4), nf.Linear(4, 2))
    optimizer = nf.Adam(model.parameters(), lr=0.01)
    checkpoint.restore(model, optimizer)
    assert optimizer.step_count == 4
    assert model[2].generator.bit_generator.state == checkpoint.layer_rng_states["2.generator"]
    same = nf.load(DATA / "v1_checkpoint.safetensors")
    for name, value in same.state_dict().items():
        np.testing.assert_array_equal(model.state_dict()[name], value)


def test_an_old_checkpoint_naming_a_shared_generator_twice_restores(tmp_path):
    generator = np.random.default_rng(3)
    model = nf.Sequential(nf.Dropout(0.5, rng=generator), nf.Dropout(0.5, rng=generator))
    # Each Dropout holds the Generator as .rng and .generator; the walk names it once.
    assert [name for name, _ in model.named_generators()] == ["0.rng"]
    path = tmp_path / "c.safetensors"
    serialization.save_checkpoint(path, model, epoch=1)
    saved = serialization.load_checkpoint(path)
    assert list(saved.layer_rng_states) == ["0.rng"]
    state = saved.layer_rng_states["0.rng"]
    # Earlier versions listed the Generator under every name that holds it.
    names = ["0.rng", "0.generator", "1.rng", "1.generator"]
    old = attrs.evolve(saved, layer_rng_states=dict.fromkeys(names, state))
    generator.random(5)
    old.restore(model)
    assert generator.bit_generator.state == state
    wrong = attrs.evolve(saved, layer_rng_states={"0.rng": state, "5.generator": state})
    with pytest.raises(StateDictError, match=r"missing generator: '5\.generator'"):
        wrong.restore(model)


# ---------------------------------------------------------------------------------------------
# Loading never executes code
# ---------------------------------------------------------------------------------------------


def _write_with_architecture(path: Path, architecture: object, tensors=None) -> None:
    """Write a well-formed, correctly checksummed file around a hostile architecture."""
    header = file_format.make_header("model", None, "test")
    header[file_format.KEY_ARCHITECTURE] = json.dumps(architecture)
    file_format.write_file(path, tensors or {}, header)


HOSTILE = {
    "module-path": {"class": "os.system", "config": {"command": "echo pwned"}},
    "builtins-exec": {"class": "builtins.exec", "config": {"source": "import os"}},
    "function-in-this-test": {"class": "tests.test_io.set_marker", "config": {}},
    "function-qualname": {"class": "set_marker", "config": {}},
    "dunder-import": {"class": "__import__", "config": {"name": "antigravity"}},
    "class-not-a-string": {"class": ["os", "system"], "config": {}},
    "extra-spec-key": {"class": "ReLU", "config": {}, "module": "os"},
    "missing-config": {"class": "ReLU"},
    "config-not-a-dict": {"class": "ReLU", "config": ["x"]},
    "spec-not-a-dict": "ReLU",
    "unexpected-config-key": {"class": "ReLU", "config": {"inplace": True}},
    "linear-init-callable": {
        "class": "Linear",
        "config": {"in_features": 2, "out_features": 2, "init": "tests.test_io.set_marker"},
    },
    "nested-unregistered": {
        "class": "Sequential",
        "config": {"layers": [{"class": "ReLU", "config": {}}, {"class": "set_marker",
                                                                  "config": {}}]},
    },
    "layers-not-a-list": {"class": "Sequential", "config": {"layers": "ReLU"}},
    "wrong-argument-type": {"class": "Linear", "config": {"in_features": "two",
                                                          "out_features": 2}},
    "deep-nesting": {"class": "Sequential", "config": {"layers": []}},  # filled in below
}
_deep: dict = {"class": "ReLU", "config": {}}
for _ in range(200):
    _deep = {"class": "Sequential", "config": {"layers": [_deep]}}
HOSTILE["deep-nesting"] = _deep


@pytest.mark.parametrize("architecture", list(HOSTILE.values()), ids=list(HOSTILE))
def test_a_hostile_architecture_is_a_serialization_error_and_runs_nothing(
    architecture, tmp_path
):
    path = tmp_path / "hostile.safetensors"
    _write_with_architecture(path, architecture)
    MARKER["called"] = False
    modules = set(sys.modules)
    with pytest.raises(SerializationError) as caught:
        nf.load(path)
    assert str(path) in str(caught.value)
    assert not MARKER["called"]
    assert set(sys.modules) == modules  # nothing was imported


@pytest.mark.parametrize(
    "factor",
    [
        {"class": "tests.test_io.set_marker", "config": {}},
        {"class": "builtins.exec", "config": {}, "args": ["print(1)"]},
        {"__reduce__": ["os.system", ["echo pwned"]]},
        {"py/object": "os.system"},
        [{"py/function": "tests.test_io.set_marker"}],
    ],
    ids=["class-ref", "bad-spec", "reduce", "jsonpickle-object", "jsonpickle-function"],
)
def test_callable_looking_values_in_a_config_are_refused(custom_layers, factor, tmp_path):
    path = tmp_path / "hostile.safetensors"
    _write_with_architecture(path, {"class": "tests.Loose", "config": {"factor": factor}})
    MARKER["called"] = False
    with pytest.raises(SerializationError):
        nf.load(path)
    assert not MARKER["called"]


def test_plain_values_in_a_config_do_load(custom_layers, tmp_path):
    path = tmp_path / "plain.safetensors"
    value = {"a": [1, 2.5, None, True, "os.system"]}  # a string is only ever a string
    _write_with_architecture(path, {"class": "tests.Loose", "config": {"factor": value}})
    assert nf.load(path).factor == value


def test_a_registered_layer_nested_in_a_config_is_built_through_the_registry(
    custom_layers, tmp_path
):
    inner = {"class": "ReLU", "config": {}}
    path = tmp_path / "nested.safetensors"
    _write_with_architecture(path, {"class": "tests.Loose", "config": {"factor": inner}})
    assert isinstance(nf.load(path).factor, nf.ReLU)


def test_deeply_nested_json_is_an_error_not_a_crash(tmp_path):
    path = tmp_path / "deep.safetensors"
    header = file_format.make_header("model", None, "test")
    header[file_format.KEY_ARCHITECTURE] = "[" * 100_000 + "]" * 100_000
    file_format.write_file(path, {}, header)
    with pytest.raises(SerializationError, match="not valid JSON"):
        nf.load(path)


# ---------------------------------------------------------------------------------------------
# Broken files
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def model_file(tmp_path):
    model = nf.Sequential(nf.Linear(6, 8, rng=0), nf.ReLU(), nf.Linear(8, 3, rng=1))
    path = tmp_path / "model.safetensors"
    nf.save(model, path)
    return path


def test_a_file_truncated_at_every_64_bytes_is_a_serialization_error(model_file, tmp_path):
    data = model_file.read_bytes()
    cut = tmp_path / "cut.safetensors"
    for size in range(0, len(data), 64):
        cut.write_bytes(data[:size])
        with pytest.raises(SerializationError):
            nf.load(cut)
    cut.write_bytes(data[:-1])
    with pytest.raises(SerializationError):
        nf.load(cut)


def test_any_changed_byte_is_detected(model_file, tmp_path):
    data = bytearray(model_file.read_bytes())
    header_end = 8 + int.from_bytes(data[:8], "little")
    bad = tmp_path / "bad.safetensors"
    rng = np.random.default_rng(0)
    positions = [*rng.integers(header_end, len(data), 10), *rng.integers(8, header_end, 10)]
    for position in positions:
        changed = bytearray(data)
        changed[position] ^= 0x01
        bad.write_bytes(changed)
        with pytest.raises(SerializationError):
            nf.load(bad)


def test_appended_bytes_are_detected(model_file, tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(model_file.read_bytes() + b"\x00" * 16)
    with pytest.raises(SerializationError):
        nf.load(bad)


def _png_bytes() -> bytes:
    return b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(64))


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"", "empty"),
        (b"\x01\x02\x03", "too short"),
        (_png_bytes(), "PNG"),
        ((2**63).to_bytes(8, "little") + b"{}", "limit"),
        ((file_format.MAX_HEADER_BYTES + 1).to_bytes(8, "little") + b"{}", "limit"),
        ((5000).to_bytes(8, "little") + b'{"a": 1}', "header length"),
        ((8).to_bytes(8, "little") + b"not json", "not valid JSON"),
        ((2).to_bytes(8, "little") + b"[]", "not a JSON object"),
        ((7).to_bytes(8, "little") + b"\xff\xfe{}   ", "not valid JSON"),
        (b"hello, this is a text file that is long enough", "not a safetensors file"),
    ],
    ids=["empty", "tiny", "png", "huge-header", "over-limit", "header-beyond-file",
         "not-json", "json-list", "not-utf8", "text"],
)
def test_files_that_are_not_safetensors_are_serialization_errors(content, fragment, tmp_path):
    path = tmp_path / "x.safetensors"
    path.write_bytes(content)
    with pytest.raises(SerializationError, match=fragment) as caught:
        nf.load(path)
    assert str(path) in str(caught.value)
    with pytest.raises(SerializationError):
        nf.load_weights(nf.Linear(2, 2), path)


def test_an_npz_file_is_a_serialization_error(tmp_path):
    path = tmp_path / "weights.npz"
    np.savez(path, weight=np.ones((2, 2)))
    with pytest.raises(SerializationError, match="zip"):
        nf.load(path)


def test_missing_files_and_directories_are_serialization_errors(tmp_path):
    with pytest.raises(SerializationError, match="no such file"):
        nf.load(tmp_path / "missing.safetensors")
    with pytest.raises(SerializationError, match="directory"):
        nf.load(tmp_path)
    with pytest.raises(ArgumentTypeError):
        nf.load(3)


def test_weights_whose_dtype_does_not_match_the_architecture_are_refused(model_file, tmp_path):
    model = nf.load(model_file)
    header = file_format.make_header("model", None, "test")
    key = file_format.KEY_ARCHITECTURE
    header[key] = serialization.read_metadata(model_file)[key]
    tensors = {name: value.astype(np.float64) for name, value in model.state_dict().items()}
    tensors["2.bias"] = tensors["2.bias"].astype(np.int64)
    path = tmp_path / "wrong.safetensors"
    file_format.write_file(path, tensors, header)
    with pytest.raises(SerializationError, match="dtype") as caught:
        nf.load(path)
    message = str(caught.value)
    assert all(name in message for name in ("0.weight", "0.bias", "2.weight", "2.bias"))


def test_weights_missing_from_the_file_are_refused(model_file, tmp_path):
    header = file_format.make_header("model", None, "test")
    key = file_format.KEY_ARCHITECTURE
    header[key] = serialization.read_metadata(model_file)[key]
    path = tmp_path / "partial.safetensors"
    file_format.write_file(path, {"0.weight": np.zeros((8, 6), np.float32)}, header)
    with pytest.raises(SerializationError, match="missing"):
        nf.load(path)


def test_unsupported_tensor_dtypes_are_refused(tmp_path):
    path = tmp_path / "bf16.safetensors"
    header = {"__metadata__": {}, "w": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]}}
    raw = json.dumps(header).encode()
    path.write_bytes(len(raw).to_bytes(8, "little") + raw + b"\x00" * 4)
    with pytest.raises(SerializationError, match="BF16"):
        nf.load_weights(nf.Linear(2, 2), path)


def test_a_newer_format_and_a_foreign_file_are_explained(model_file, tmp_path):
    header = file_format.make_header("model", None, "test")
    header[file_format.KEY_VERSION] = "2"
    path = tmp_path / "future.safetensors"
    file_format.write_file(path, {}, header)
    with pytest.raises(SerializationError, match="newer nnframe"):
        nf.load(path)
    foreign = tmp_path / "foreign.safetensors"
    safetensors.numpy.save_file({"weight": np.ones((2, 2), np.float32)}, str(foreign))
    with pytest.raises(SerializationError, match="not one nnframe wrote"):
        nf.load(foreign)
    weights = tmp_path / "w.safetensors"
    nf.save_weights(nf.Linear(2, 2, rng=0), weights)
    with pytest.raises(SerializationError, match="weights only"):
        nf.load(weights)


# ---------------------------------------------------------------------------------------------
# save_weights / load_weights
# ---------------------------------------------------------------------------------------------


def test_load_weights_reports_every_mismatch_at_once_and_changes_nothing(tmp_path):
    source = nf.Sequential(
        nf.Linear(3, 4, rng=0), nf.ReLU(), nf.Linear(4, 2, rng=1), nf.ReLU(), nf.Linear(2, 2)
    )
    path = tmp_path / "w.safetensors"
    nf.save_weights(source, path)
    target = nf.Sequential(
        nf.Linear(3, 5, rng=2), nf.ReLU(), nf.Linear(4, 2, rng=3, dtype=np.float64),
        nf.Linear(2, 2, rng=4),
    )
    before = target.state_dict()
    with pytest.raises(StateDictError) as caught:
        nf.load_weights(target, path)
    message = str(caught.value)
    assert str(path) in message
    for fragment in ("'0.weight': shape", "'0.bias': shape", "'2.weight': dtype float32",
                     "'2.bias': dtype", "missing: '3.weight'", "missing: '3.bias'",
                     "unexpected: '4.weight'", "unexpected: '4.bias'"):
        assert fragment in message, fragment
    for name, value in target.state_dict().items():
        assert np.array_equal(value, before[name])


def test_load_weights_into_a_cnn_with_another_convolution_shape_names_it_and_changes_nothing(
    tmp_path,
):
    source = nf.cnn((1, 8, 8), 10, channels=(4, 6), kernel_size=3, batch_norm=True, rng=0)
    path = tmp_path / "cnn.safetensors"
    nf.save_weights(source, path)
    # Another kernel size in the first convolution, other channels in the second.
    target = nf.Sequential(
        nf.Conv2d(1, 4, 5, padding="same", bias=False, rng=1), nf.BatchNorm2d(4), nf.ReLU(),
        nf.MaxPool2d(2), nf.Conv2d(4, 5, 3, padding="same", bias=False, rng=2),
        nf.BatchNorm2d(5), nf.ReLU(), nf.MaxPool2d(2), nf.Flatten(), nf.Linear(20, 64, rng=3),
        nf.ReLU(), nf.Linear(64, 10, rng=4),
    )
    before = target.state_dict()
    with pytest.raises(StateDictError) as caught:
        nf.load_weights(target, path)
    message = str(caught.value)
    assert str(path) in message
    for fragment in ("'0.weight': shape (4, 1, 3, 3)", "(4, 1, 5, 5)",
                     "'4.weight': shape (6, 4, 3, 3)", "(5, 4, 3, 3)",
                     "'5.running_mean': shape (6,)", "(5,)", "'9.weight': shape (64, 24)",
                     "(64, 20)"):
        assert fragment in message, (fragment, message)
    for name, value in target.state_dict().items():
        assert np.array_equal(value, before[name]), name


def test_load_weights_reads_model_files_checkpoints_and_foreign_safetensors(tmp_path):
    source = nf.Linear(3, 2, rng=0)
    nf.save(source, tmp_path / "m.safetensors")
    serialization.save_checkpoint(tmp_path / "c.safetensors", source, epoch=1)
    safetensors.numpy.save_file(
        {"weight": source.weight.value, "bias": source.bias.value}, str(tmp_path / "f.st")
    )
    for name in ("m.safetensors", "c.safetensors", "f.st"):
        target = nf.Linear(3, 2, rng=5)
        nf.load_weights(target, tmp_path / name)
        assert np.array_equal(target.weight.value, source.weight.value)


# ---------------------------------------------------------------------------------------------
# Atomic writes
# ---------------------------------------------------------------------------------------------


def _temporaries(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_the_temporary_file_is_hidden_in_the_same_folder(model_file, monkeypatch):
    seen = []
    real_replace = os.replace

    def spy(source, target):
        seen.append((Path(source), Path(target)))
        real_replace(source, target)

    monkeypatch.setattr(atomic.os, "replace", spy)
    nf.save(nf.ReLU(), model_file)
    (source, target), = seen
    assert source.parent == target.parent == model_file.parent
    assert source.name.startswith(f".{model_file.name}.") and source.name.endswith(".tmp")
    assert not source.name.endswith(".safetensors")


def test_a_save_that_fails_half_way_leaves_the_old_file_and_no_temporary(
    model_file, monkeypatch
):
    before = model_file.read_bytes()

    def write_half_then_fail(fd, data):
        os.write(fd, data[: len(data) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic, "_write_all", write_half_then_fail)
    bigger = nf.Sequential(nf.Linear(60, 80, rng=0), nf.ReLU())
    with pytest.raises(SerializationError, match="No space left on device"):
        nf.save(bigger, model_file)
    assert model_file.read_bytes() == before
    assert _temporaries(model_file.parent) == []


def test_a_failing_fsync_leaves_the_old_file_and_no_temporary(model_file, monkeypatch):
    before = model_file.read_bytes()

    def fail(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(atomic.os, "fsync", fail)
    with pytest.raises(SerializationError, match="Input/output error"):
        nf.save(nf.Linear(6, 8, rng=9), model_file)
    assert model_file.read_bytes() == before
    assert _temporaries(model_file.parent) == []


def test_an_unserialisable_value_fails_before_anything_is_written(model_file):
    before = model_file.read_bytes()

    class BadOptimizer:
        def state_dict(self):
            return {"lr": 0.1, "state.0.m": np.array([object()], dtype=object)}

    with pytest.raises(SerializationError, match="dtype object"):
        serialization.save_checkpoint(model_file, nf.Linear(6, 8, rng=0), BadOptimizer(), epoch=1)

    class WorseOptimizer:
        def state_dict(self):
            return {"lr": "fast"}

    with pytest.raises(SerializationError, match="'lr'"):
        serialization.save_checkpoint(model_file, nf.Linear(6, 8, rng=0), WorseOptimizer(), epoch=1)
    assert model_file.read_bytes() == before
    assert _temporaries(model_file.parent) == []


def test_a_missing_folder_is_a_serialization_error(tmp_path):
    with pytest.raises(SerializationError, match="cannot write"):
        nf.save(nf.ReLU(), tmp_path / "no" / "such" / "m.safetensors")


def test_the_permissions_of_a_replaced_file_are_kept(model_file):
    os.chmod(model_file, 0o640)
    nf.save(nf.ReLU(), model_file)
    assert stat.S_IMODE(os.stat(model_file).st_mode) == 0o640


def test_stale_temporaries_of_dead_processes_are_removed_by_the_next_save(model_file):
    folder = model_file.parent
    stale = folder / f".{model_file.name}.999999999-0123456789abcdef.tmp"
    alive = folder / f".{model_file.name}.{os.getppid()}-0123456789abcdef.tmp"
    unrelated = folder / f".{model_file.name}.backup.tmp"
    other_file = folder / f".other.{model_file.name}.999999999-0123456789abcdef.tmp"
    for path in (stale, alive, unrelated, other_file):
        path.write_bytes(b"partial")
    nf.save(nf.ReLU(), model_file)
    assert not stale.exists()
    assert alive.exists() and unrelated.exists() and other_file.exists()


CHILD = textwrap.dedent(
    """
    import sys
    import numpy as np
    import nnframe as nf

    path = sys.argv[1]
    model = nf.Sequential(nf.Linear(512, 1024, rng=0), nf.ReLU(), nf.Linear(1024, 256, rng=1))
    print("ready", flush=True)
    i = 0
    while True:
        i += 1
        for p in model.parameters():
            p.value[...] = i
        nf.save(model, path)
    """
)


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX")
def test_killing_a_process_while_it_saves_leaves_a_loadable_file(tmp_path):
    path = tmp_path / "big.safetensors"
    first = nf.Sequential(nf.Linear(512, 1024, rng=0), nf.ReLU(), nf.Linear(1024, 256, rng=1))
    for p in first.parameters():
        p.value[...] = 0
    nf.save(first, path)
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    rng = random.Random(0)
    started = time.monotonic()
    kills = 0
    while kills < 6 and time.monotonic() - started < 7.0:
        child = subprocess.Popen(
            [sys.executable, str(script), str(path)], stdout=subprocess.PIPE, text=True
        )
        try:
            assert child.stdout is not None and child.stdout.readline().strip() == "ready"
            time.sleep(rng.uniform(0.01, 0.25))
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
            child.stdout.close()
        kills += 1
        model = nf.load(path)  # never half-written
        values = {float(v) for p in model.parameters() for v in np.unique(p.value)}
        assert len(values) == 1  # one whole save, not a mix of two
    assert kills >= 3
    nf.save(nf.ReLU(), path)  # the next save clears what the killed writers left
    assert _temporaries(tmp_path) == []
