"""The Layer contract: discovery, copies, modes, caches, state dicts, dtypes, summary."""

from __future__ import annotations

import copy
import threading

import attrs
import numpy as np
import pytest

import nnframe as nf
from nnframe.errors import ArgumentError, CacheMissError, StateDictError


class PlainSquare(nf.Layer):
    """A custom layer written with a plain __init__."""

    def __init__(self, scale: float = 1.0) -> None:
        super().__init__()
        self.scale = nf.Parameter(np.array([scale]))
        self.note = "kept"

    def forward(self, x):
        self.save_for_backward(x=x)
        return self.scale.value * x**2

    def backward(self, grad_y):
        x = self.saved("x")
        self.scale.grad += np.sum(grad_y * x**2)
        return grad_y * 2.0 * self.scale.value * x


@nf.layer
class ScaledTanh(nf.Layer):
    """A custom layer declared with @nf.layer; its Parameter is made in __attrs_post_init__."""

    n_features: int
    init_gain: float = 1.0
    gain: nf.Parameter = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        self.gain = nf.Parameter(np.full(self.n_features, self.init_gain))
        self.offset = nf.Parameter(np.zeros(self.n_features))  # not a field: lives in __dict__

    def forward(self, x):
        t = np.tanh(x)
        self.save_for_backward(t=t)
        return self.gain.value * t + self.offset.value

    def backward(self, grad_y):
        t = self.saved("t")
        self.gain.grad += np.sum(grad_y * t, axis=0)
        self.offset.grad += np.sum(grad_y, axis=0)
        return grad_y * self.gain.value * (1.0 - t * t)


@attrs.define
class AttrsAffine(nf.Layer):
    """A custom layer declared with a plain @attrs.define (slotted, eq=True)."""

    width: int
    weight: nf.Parameter = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.weight = nf.Parameter(np.linspace(0.5, 1.5, self.width))
        self.shift = nf.Parameter(np.full(self.width, 0.1))

    def forward(self, x):
        self.save_for_backward(x=x)
        return x * self.weight.value + self.shift.value

    def backward(self, grad_y):
        x = self.saved("x")
        self.weight.grad += np.sum(grad_y * x, axis=0)
        self.shift.grad += np.sum(grad_y, axis=0)
        return grad_y * self.weight.value


def make_custom_layers():
    return [PlainSquare(0.5), ScaledTanh(3, init_gain=1.5), AttrsAffine(3)]


@pytest.mark.parametrize("layer", make_custom_layers(), ids=lambda layer: type(layer).__name__)
def test_custom_layer_parameters_are_discovered_in_definition_order(layer):
    names = [name for name, _ in layer.named_parameters()]
    expected = {
        PlainSquare: ["scale"],
        ScaledTanh: ["gain", "offset"],
        AttrsAffine: ["weight", "shift"],
    }[type(layer)]
    assert names == expected


@pytest.mark.parametrize("layer", make_custom_layers(), ids=lambda layer: type(layer).__name__)
def test_custom_layer_passes_gradcheck(layer, rng):
    x = rng.uniform(-1.5, 1.5, size=(4, 3))
    report = nf.gradcheck(layer, x)
    assert report.ok, str(report)
    assert [row.name for row in report.rows] == ["input", *(n for n, _ in layer.named_parameters())]


@pytest.mark.parametrize("layer", make_custom_layers(), ids=lambda layer: type(layer).__name__)
def test_deepcopy_keeps_every_attribute(layer):
    layer.eval()
    clone = copy.deepcopy(layer)
    assert clone.training is False
    original = dict(layer.named_parameters())
    copied = dict(clone.named_parameters())
    assert list(copied) == list(original)
    for name, p in original.items():
        assert copied[name] is not p
        np.testing.assert_array_equal(copied[name].value, p.value)
    if isinstance(layer, PlainSquare):
        assert clone.note == "kept"
    assert layer.clone().named_parameters()[0][0] == layer.named_parameters()[0][0]


def test_deepcopy_preserves_sharing_inside_the_copy():
    shared = nf.Parameter(np.ones(2))
    a, b = PlainSquare(), PlainSquare()
    a.scale = b.scale = shared
    model = nf.Sequential(a, b)
    clone = copy.deepcopy(model)
    assert clone[0].scale is clone[1].scale
    assert clone[0].scale is not shared


def test_shared_parameters_and_layers_are_listed_once():
    shared = nf.Parameter(np.ones(3))
    a, b = PlainSquare(), PlainSquare()
    a.scale = b.scale = shared

    class Bag(nf.Layer):  # containers refuse a repeated layer; discovery still lists it once
        def __init__(self):
            super().__init__()
            self.layers = [a, b, a]

    model = Bag()
    assert model.parameters() == [shared]
    assert [name for name, _ in model.named_parameters()] == ["layers.0.scale"]
    assert [name for name, _ in model.named_layers()] == ["", "layers.0", "layers.1"]


def test_parameters_inside_lists_and_tuples_are_found():
    class Bag(nf.Layer):
        def __init__(self):
            super().__init__()
            self.blocks = [nf.Linear(2, 2, rng=0), (nf.Parameter(np.zeros(1)), nf.Tanh())]

    names = [name for name, _ in Bag().named_parameters()]
    assert names == ["blocks.0.weight", "blocks.0.bias", "blocks.1.0"]


def test_nested_sequential_names_are_dotted_paths():
    model = nf.Sequential(
        nf.Linear(3, 4, rng=0), nf.ReLU(), nf.Sequential(nf.Tanh(), nf.Linear(4, 2, rng=1))
    )
    assert [name for name, _ in model.named_parameters()] == [
        "0.weight", "0.bias", "2.1.weight", "2.1.bias",
    ]


def test_train_and_eval_propagate_and_return_the_layer():
    model = nf.Sequential(nf.Linear(2, 2, rng=0), nf.Sequential(nf.ReLU(), ScaledTanh(2)))
    assert model.eval() is model
    assert all(not sub.training for _, sub in model.named_layers())
    assert model.train() is model
    assert all(sub.training for _, sub in model.named_layers())
    with pytest.raises(TypeError):
        model.train("yes")


def test_saved_returns_one_array_for_one_name_and_a_tuple_for_several():
    layer = nf.ReLU()
    a, b = np.ones(2), np.zeros(2)
    layer.save_for_backward(a=a, b=b)
    assert layer.saved("b", "a") == (b, a)
    layer.save_for_backward(a=a)
    assert layer.saved("a") is a


def test_saved_releases_the_cache_and_a_second_backward_raises():
    layer = nf.Tanh()
    y = layer(np.ones((2, 2)))
    layer.backward(np.ones_like(y))
    with pytest.raises(CacheMissError, match=r"Tanh\(\)"):
        layer.backward(np.ones_like(y))


@pytest.mark.parametrize(
    "layer", [nf.Linear(2, 3, rng=0), nf.ReLU(), nf.Sigmoid(), nf.Tanh(), *make_custom_layers()],
    ids=lambda layer: type(layer).__name__,
)
def test_backward_without_forward_raises_cache_miss_naming_the_layer(layer):
    with pytest.raises(CacheMissError) as info:
        layer.backward(np.ones((2, 3)))
    assert isinstance(info.value, RuntimeError)
    assert type(layer).__name__ in str(info.value)


def test_backward_without_forward_in_a_sequential_names_the_position():
    model = nf.Sequential(nf.Linear(2, 3, rng=0), nf.Tanh())
    with pytest.raises(CacheMissError) as info:
        model.backward(np.ones((1, 3)))
    assert "in Sequential[1] Tanh()" in info.value.__notes__


def test_no_grad_stores_no_cache_and_leaves_an_old_one_alone():
    model = nf.Sequential(nf.Linear(2, 3, rng=0), nf.ReLU(), ScaledTanh(3))
    with nf.no_grad():
        model(np.ones((4, 2)))
    assert not model.has_cache()
    x = np.arange(8.0).reshape(4, 2)
    model(x)
    reference = model.clone()
    with nf.no_grad():
        assert not nf.is_grad_enabled()
        model(np.ones((4, 2)))  # an evaluation between a forward and its backward
    assert nf.is_grad_enabled()
    assert model.has_cache()
    grad_x = model.backward(np.ones((4, 3)), input_grad=True)
    np.testing.assert_array_equal(grad_x, reference.backward(np.ones((4, 3)), input_grad=True))
    with pytest.raises(CacheMissError):
        model.backward(np.ones((4, 3)))


def test_no_grad_nests_and_works_as_a_decorator():
    @nf.no_grad()
    def infer():
        return nf.is_grad_enabled()

    with nf.no_grad():
        with nf.no_grad():
            pass
        assert not nf.is_grad_enabled()
    assert infer() is False
    assert nf.is_grad_enabled()


def test_no_grad_is_per_thread():
    seen = []
    with nf.no_grad():
        thread = threading.Thread(target=lambda: seen.append(nf.is_grad_enabled()))
        thread.start()
        thread.join()
    assert seen == [True]


def test_gradients_accumulate_over_two_backward_passes_and_zero_grad_clears(rng):
    model = nf.Sequential(nf.Linear(3, 4, rng=0), nf.Tanh(), ScaledTanh(4))
    x = rng.standard_normal((5, 3))
    g = rng.standard_normal((5, 4))
    model(x)
    model.backward(g)
    once = [p.grad.copy() for p in model.parameters()]
    model(x)
    model.backward(g)
    for p, first in zip(model.parameters(), once, strict=True):
        np.testing.assert_allclose(p.grad, 2 * first, rtol=1e-6)
    model.zero_grad()
    assert all(not p.grad.any() for p in model.parameters())


def test_state_dict_round_trips_into_a_fresh_model(rng):
    def build(seed):
        return nf.Sequential(nf.Linear(3, 4, rng=seed), nf.ReLU(), nf.Linear(4, 2, rng=seed + 1))

    source, target = build(0), build(10)
    x = rng.standard_normal((6, 3)).astype(np.float32)
    assert not np.allclose(source(x), target(x))
    state = source.state_dict()
    target.load_state_dict(state)
    np.testing.assert_array_equal(source(x), target(x))
    state["0.weight"][...] = 0  # the state dict holds copies
    assert source[0].weight.value.any()


def test_load_state_dict_reports_every_mismatch_and_changes_nothing():
    model = nf.Sequential(nf.Linear(3, 4, rng=0), nf.Linear(4, 2, rng=1))
    before = model.state_dict()
    bad = model.state_dict()
    bad["0.weight"] = np.zeros((4, 5), np.float32)
    bad["1.bias"] = np.zeros(2, np.float64)
    del bad["1.weight"]
    bad["extra"] = np.zeros(1)
    with pytest.raises(StateDictError) as info:
        model.load_state_dict(bad)
    message = str(info.value)
    for fragment in ["'0.weight'", "(4, 5)", "'1.bias'", "float64", "missing: '1.weight'",
                     "unexpected: 'extra'"]:
        assert fragment in message
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_astype_converts_parameters_gradients_and_compute_dtype(rng):
    model = nf.Sequential(nf.Linear(3, 2, rng=0), nf.Sigmoid())
    assert model.astype(np.float64) is model
    for p in model.parameters():
        assert p.value.dtype == np.float64 and p.grad.dtype == np.float64
    assert model[0].dtype == np.float64
    y = model(rng.standard_normal((2, 3)).astype(np.float32))
    assert y.dtype == np.float64
    with pytest.raises(ArgumentError):
        model.astype(np.int32)


def test_kinks_and_stochastic_are_class_attributes():
    assert nf.ReLU.kinks == (0.0,)
    assert nf.Sigmoid.kinks == () and nf.Tanh.kinks == () and nf.Linear.kinks == ()
    assert not nf.Linear.stochastic and nf.Linear.batch_independent


def test_summary_lists_layers_shapes_and_counts_without_touching_the_model():
    model = nf.Sequential(nf.Linear(12, 5, rng=0), nf.ReLU(), nf.Linear(5, 1, rng=1), nf.Sigmoid())
    summary = model.summary((12,))
    assert [row.output_shape for row in summary.rows] == [(5,), (5,), (1,), (1,)]
    assert [row.parameters for row in summary.rows] == [65, 0, 6, 0]
    assert summary.total_parameters == 71
    text = str(summary)
    assert "Linear(12 -> 5)" in text and "Total parameters: 71" in text
    assert model.training and not model.has_cache()


def test_repr_is_readable():
    assert repr(nf.Linear(20, 7, rng=0)) == "Linear(20 -> 7)"
    assert repr(nf.Linear(2, 1, bias=False, rng=0)) == "Linear(2 -> 1, bias=False)"
    assert repr(ScaledTanh(3)) == "ScaledTanh(n_features=3, init_gain=1.0)"
    assert repr(nf.Sequential(nf.Linear(2, 2, rng=0), nf.Sequential(nf.ReLU()))) == (
        "Sequential(\n  (0): Linear(2 -> 2)\n  (1): Sequential(\n    (0): ReLU()\n  )\n)"
    )
