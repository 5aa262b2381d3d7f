"""LayerNorm: the contract, gradients, PyTorch parity, frozen parameters, files, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import nnframe as nf
from nnframe.errors import ArgumentError, ArgumentTypeError, DTypeError, ShapeError
from nnframe.layers import normalization
from nnframe.testing import check_layer

seeds = st.integers(0, 2**32 - 1)
normalized_shapes = st.lists(st.integers(1, 4), min_size=1, max_size=2).map(tuple)


@st.composite
def layer_norm_cases(draw, max_batch=4, bound=3.0):
    """A float64 LayerNorm with random weight and bias, and an input for it.

    The input is ``(batch, [extra,] *normalized_shape)``; the layer has or lacks the
    affine part and the bias.
    """
    shape = draw(normalized_shapes)
    affine = draw(st.booleans())
    bias = draw(st.booleans())
    extra = draw(st.lists(st.integers(1, 3), max_size=1))
    leading = (draw(st.integers(1, max_batch)), *extra)
    elements = st.floats(-bound, bound, allow_nan=False, allow_infinity=False)
    x = draw(arrays(np.float64, leading + shape, elements=elements))
    layer = nf.LayerNorm(shape, elementwise_affine=affine, bias=bias, dtype=np.float64)
    rng = np.random.default_rng(draw(seeds))
    for p in layer.parameters():
        p.value[...] = rng.uniform(-2.0, 2.0, p.shape)
    return layer, x


def torch_twin(layer, torch):
    """The torch.nn.LayerNorm with the same configuration and ``layer``'s state_dict."""
    twin = torch.nn.LayerNorm(
        layer.normalized_shape, eps=layer.eps, elementwise_affine=layer.elementwise_affine,
        bias=layer.has_bias, dtype=torch.float64,
    )
    # The same names and shapes: the state dict moves over unchanged.
    twin.load_state_dict({name: torch.from_numpy(v) for name, v in layer.state_dict().items()})
    return twin


class SumSpy:
    """Records the arrays ``normalization.sum_over_examples`` reduces: the parameter gradients."""

    def __init__(self, monkeypatch):
        self.calls = []
        original = normalization.sum_over_examples

        def spy(array, ndim, out=None):
            self.calls.append(array.copy())
            return original(array, ndim, out=out)

        monkeypatch.setattr(normalization, "sum_over_examples", spy)


# -- the contract ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make_layer", "input_shape"),
    [
        (lambda: nf.LayerNorm(4), 4),
        (lambda: nf.LayerNorm((3,)), (2, 3)),  # an extra axis before the normalised one
        (lambda: nf.LayerNorm((2, 3)), (2, 3)),
        (lambda: nf.LayerNorm(4, elementwise_affine=False), 4),
        (lambda: nf.LayerNorm((2, 2), elementwise_affine=False), (3, 2, 2)),
        (lambda: nf.LayerNorm((3, 2), bias=False, eps=1e-3), (3, 2)),
        (
            lambda: nf.Sequential(
                nf.Linear(3, 5, rng=0), nf.LayerNorm(5), nf.Tanh(), nf.Linear(5, 2, rng=1)
            ),
            None,  # inferred from the first Linear
        ),
        (
            # The ReLU sees normalised values that may sit on its kink (an example that
            # is all zeros normalises to zeros): the kit reports those as inconclusive.
            lambda: nf.Sequential(
                nf.Linear(4, 3, rng=2), nf.LayerNorm(3, elementwise_affine=False), nf.ReLU(),
                nf.Linear(3, 2, rng=3),
            ),
            None,
        ),
    ],
    ids=[
        "int", "1-tuple-3d-input", "2-tuple", "no-affine", "2-tuple-no-affine-4d-input",
        "no-bias", "Sequential-Tanh", "Sequential-ReLU",
    ],
)
def test_layer_norm_passes_the_contract(make_layer, input_shape):
    check_layer(make_layer, input_shape=input_shape, max_examples=15)


# -- numerics ----------------------------------------------------------------------------


@settings(deadline=None)
@given(case=layer_norm_cases())
def test_layer_norm_gradients_match_central_differences(case):
    layer, x = case
    report = nf.assert_gradients(layer, x)
    names = [row.name for row in report.rows]
    assert names[0] == "input"
    assert names[1:] == [name for name, _ in layer.named_parameters()]


@settings(deadline=None)
@given(case=layer_norm_cases(max_batch=8, bound=100.0))
def test_layer_norm_output_has_mean_zero_and_variance_var_over_var_plus_eps(case):
    layer, x = case
    plain = nf.LayerNorm(layer.normalized_shape, elementwise_affine=False, dtype=np.float64)
    axes = tuple(range(-len(layer.normalized_shape), 0))
    y = plain(x)
    var = np.var(x, axis=axes)
    # Rounding in x - mean is up to an ulp of |x| (<= 100), then scaled by up to
    # 1 / sqrt(eps) (316) when an example is constant: 1e-10 covers it.
    np.testing.assert_allclose(np.mean(y, axis=axes), 0.0, atol=1e-10)
    # The biased variance of each example becomes var / (var + eps): 1 unless var is tiny.
    np.testing.assert_allclose(
        np.var(y, axis=axes), var / (var + plain.eps), rtol=1e-9, atol=1e-18
    )
    # The affine part scales and shifts the normalised values element by element.
    weight = 1.0 if layer.weight is None else layer.weight.value
    bias = 0.0 if layer.bias is None else layer.bias.value
    np.testing.assert_allclose(layer(x), y * weight + bias, rtol=1e-12, atol=1e-12)


def test_layer_norm_is_float32_end_to_end_and_caches_two_arrays(rng):
    layer = nf.LayerNorm((2, 3))
    x = rng.standard_normal((4, 5, 2, 3))  # float64: cast to the layer's float32
    y = layer(x)
    assert y.dtype == np.float32
    cache = layer._cache
    assert sorted(cache) == ["inv_std", "x_hat"]
    assert cache["x_hat"].dtype == cache["inv_std"].dtype == np.float32
    assert cache["x_hat"].shape == (4, 5, 2, 3) and cache["inv_std"].shape == (4, 5, 1, 1)
    grad_x = layer.backward(rng.standard_normal(y.shape).astype(np.float32), input_grad=True)
    assert grad_x.dtype == layer.weight.grad.dtype == layer.bias.grad.dtype == np.float32


def test_layer_norm_parameter_gradients_are_sums_over_the_batch_not_means(rng):
    layer = nf.LayerNorm(3, dtype=np.float64)
    x, grad_y = rng.standard_normal((6, 3)), rng.standard_normal((6, 3))
    y = layer(x)
    layer.backward(grad_y)
    np.testing.assert_allclose(layer.bias.grad, grad_y.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(layer.weight.grad, (grad_y * y).sum(axis=0), rtol=1e-12)


def test_layer_norm_gradients_accumulate(rng):
    layer = nf.LayerNorm(3, dtype=np.float64)
    x, grad_y = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    grads = []
    for _ in range(2):
        layer(x)
        layer.backward(grad_y)
        grads.append([p.grad.copy() for p in layer.parameters()])
    for once, twice in zip(*grads, strict=True):
        np.testing.assert_allclose(twice, 2 * once, rtol=1e-12)


def test_layer_norm_skips_the_input_gradient_when_nobody_wants_it(rng, monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("the input gradient was computed")

    layer = nf.LayerNorm(3, dtype=np.float64)
    x, grad_y = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    layer(x)
    layer.backward(grad_y, input_grad=True)
    wanted = [p.grad.copy() for p in layer.parameters()]
    layer.zero_grad()
    monkeypatch.setattr(normalization, "layer_norm_grad_input", fail)
    layer(x)
    assert layer.backward(grad_y) is None
    for p, grad in zip(layer.parameters(), wanted, strict=True):
        np.testing.assert_array_equal(p.grad, grad)


# -- PyTorch -----------------------------------------------------------------------------


@settings(deadline=None)
@given(case=layer_norm_cases(max_batch=6, bound=10.0), seed=seeds)
def test_layer_norm_matches_pytorch_in_float64(case, seed):
    torch = pytest.importorskip("torch")
    layer, x = case
    twin = torch_twin(layer, torch)
    x_torch = torch.from_numpy(x.copy()).requires_grad_(True)
    y_torch = twin(x_torch)
    grad_y = np.random.default_rng(seed).standard_normal(x.shape)
    y_torch.backward(torch.from_numpy(grad_y))

    y = layer(x)
    grad_x = layer.backward(grad_y, input_grad=True)
    tolerance = {"rtol": 1e-10, "atol": 1e-10}
    np.testing.assert_allclose(y, y_torch.detach().numpy(), **tolerance)
    np.testing.assert_allclose(grad_x, x_torch.grad.numpy(), **tolerance)
    torch_params = dict(twin.named_parameters())
    assert sorted(torch_params) == sorted(name for name, _ in layer.named_parameters())
    for name, p in layer.named_parameters():
        np.testing.assert_allclose(p.grad, torch_params[name].grad.numpy(), **tolerance)


def test_layer_norm_state_dict_moves_between_nnframe_and_pytorch(rng):
    torch = pytest.importorskip("torch")
    twin = torch.nn.LayerNorm((2, 3), dtype=torch.float64)
    with torch.no_grad():
        for p in twin.parameters():
            p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape))))
    layer = nf.LayerNorm((2, 3), dtype=np.float64)
    layer.load_state_dict({name: v.numpy() for name, v in twin.state_dict().items()})
    x = rng.standard_normal((4, 2, 3))
    np.testing.assert_allclose(layer(x), twin(torch.from_numpy(x)).detach().numpy(), rtol=1e-12)
    back = {name: torch.from_numpy(v) for name, v in layer.state_dict().items()}
    twin.load_state_dict(back)  # strict: the same names, shapes and dtypes


# -- frozen parameters -------------------------------------------------------------------


@pytest.mark.parametrize("frozen", [("weight",), ("bias",), ("weight", "bias")])
def test_frozen_layer_norm_parameters_get_no_gradient_work(frozen, rng, monkeypatch):
    x, grad_y = rng.standard_normal((5, 2, 3)), rng.standard_normal((5, 2, 3))
    reference = nf.LayerNorm(3, dtype=np.float64)
    reference.weight.value[...] = rng.uniform(0.5, 2.0, 3)
    reference.bias.value[...] = rng.standard_normal(3)
    reference(x)
    wanted_grad_x = reference.backward(grad_y, input_grad=True)

    layer = reference.clone()
    layer.zero_grad()
    for name in frozen:
        getattr(layer, name).requires_grad = False
    spy = SumSpy(monkeypatch)
    layer(x)
    grad_x = layer.backward(grad_y, input_grad=True)

    np.testing.assert_allclose(grad_x, wanted_grad_x, rtol=1e-12)
    for name, p in layer.named_parameters():
        if name in frozen:
            assert not p.grad.any(), f"frozen {name} got a gradient"
        else:
            np.testing.assert_array_equal(p.grad, getattr(reference, name).grad)
    # One reduction per trainable parameter and none for a frozen one: the bias reduces
    # grad_y itself, the weight grad_y * x_hat (whose product is not formed when frozen).
    x_hat = normalization.layer_norm(x, 1, None, None, layer.eps)[1]
    wanted_sums = {"weight": grad_y * x_hat, "bias": grad_y}
    wanted_calls = [wanted_sums[name] for name in ("weight", "bias") if name not in frozen]
    assert len(spy.calls) == len(wanted_calls)
    for call, wanted in zip(spy.calls, wanted_calls, strict=True):
        np.testing.assert_allclose(call, wanted, rtol=1e-12)


def test_a_frozen_layer_norm_still_passes_its_input_gradient_back(rng, monkeypatch):
    trainable = nf.Sequential(nf.Linear(3, 4, rng=0), nf.LayerNorm(4), nf.Tanh())
    trainable.astype(np.float64)
    frozen = trainable.clone()
    frozen[1].requires_grad_(False)
    x, grad_y = rng.standard_normal((3, 3)), rng.standard_normal((3, 4))
    for model in (trainable, frozen):
        model.zero_grad()
        model(x)
    wanted = trainable.backward(grad_y, input_grad=True)
    spy = SumSpy(monkeypatch)
    np.testing.assert_allclose(frozen.backward(grad_y, input_grad=True), wanted, rtol=1e-12)
    assert spy.calls == []
    for name in ("0.weight", "0.bias"):  # the Linear before it still learns
        np.testing.assert_allclose(
            dict(frozen.named_parameters())[name].grad,
            dict(trainable.named_parameters())[name].grad,
            rtol=1e-12,
        )
    assert not frozen[1].weight.grad.any() and not frozen[1].bias.grad.any()


# -- configuration, files, display -------------------------------------------------------


@pytest.mark.parametrize(
    "layer",
    [
        nf.LayerNorm(8),
        nf.LayerNorm((2, 3), eps=1e-3, dtype=np.float64),
        nf.LayerNorm([4], elementwise_affine=False),
        nf.LayerNorm((3, 2), bias=False),
    ],
    ids=["int", "2-tuple-float64", "list-no-affine", "no-bias"],
)
def test_layer_norm_round_trips_through_a_model_file(layer, tmp_path, rng):
    for p in layer.parameters():
        p.value[...] = rng.standard_normal(p.shape)
    model = nf.Sequential(layer, nf.Tanh())
    path = tmp_path / "model.safetensors"
    nf.save(model, path)
    loaded = nf.load(path)
    copy = loaded[0]
    assert type(copy) is nf.LayerNorm
    assert copy.get_config() == layer.get_config()
    assert repr(copy) == repr(layer)
    assert copy.dtype == layer.dtype
    for (name, p), (name_copy, q) in zip(
        layer.named_parameters(), copy.named_parameters(), strict=True
    ):
        assert name == name_copy
        np.testing.assert_array_equal(p.value, q.value)
    x = rng.standard_normal((2, *layer.normalized_shape))
    np.testing.assert_array_equal(loaded(x), model(x))


def test_layer_norm_config_and_parameters():
    layer = nf.LayerNorm([2, 3], eps=1e-3, bias=False, dtype="float64")
    assert layer.get_config() == {
        "normalized_shape": (2, 3), "eps": 1e-3, "elementwise_affine": True, "bias": False,
        "dtype": np.dtype(np.float64),
    }
    assert [name for name, _ in layer.named_parameters()] == ["weight"]
    assert layer.bias is None
    np.testing.assert_array_equal(layer.weight.value, np.ones((2, 3)))
    assert nf.LayerNorm.from_config(layer.get_config()).get_config() == layer.get_config()
    full = nf.LayerNorm(np.int64(5))
    assert full.normalized_shape == (5,) and type(full.normalized_shape[0]) is int
    assert [p.shape for p in full.parameters()] == [(5,), (5,)]
    np.testing.assert_array_equal(full.bias.value, np.zeros(5, dtype=np.float32))
    assert nf.LayerNorm(3, elementwise_affine=False, bias=False).parameters() == []


@pytest.mark.parametrize(
    ("layer", "text"),
    [
        (nf.LayerNorm(8), "LayerNorm((8,), eps=1e-05, elementwise_affine=True)"),
        (
            nf.LayerNorm((2, 3), 1e-3, False),
            "LayerNorm((2, 3), eps=0.001, elementwise_affine=False)",
        ),
        (
            nf.LayerNorm(4, bias=False),
            "LayerNorm((4,), eps=1e-05, elementwise_affine=True, bias=False)",
        ),
    ],
)
def test_layer_norm_repr(layer, text):
    assert repr(layer) == text


# -- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "where", "what"),
    [
        ({"normalized_shape": 0}, ArgumentError, "normalized_shape", "positive"),
        ({"normalized_shape": -3}, ArgumentError, "normalized_shape", "positive"),
        ({"normalized_shape": ()}, ArgumentError, "normalized_shape", "at least one axis"),
        ({"normalized_shape": (2, 0)}, ArgumentError, "normalized_shape[1]", "positive"),
        ({"normalized_shape": 2.0}, ArgumentTypeError, "normalized_shape", "int"),
        ({"normalized_shape": True}, ArgumentTypeError, "normalized_shape", "int"),
        ({"normalized_shape": "3"}, ArgumentTypeError, "normalized_shape", "int"),
        ({"normalized_shape": (2, 1.5)}, ArgumentTypeError, "normalized_shape[1]", "int"),
        ({"normalized_shape": 3, "eps": 0.0}, ArgumentError, "eps", "> 0"),
        ({"normalized_shape": 3, "eps": -1e-5}, ArgumentError, "eps", "> 0"),
        ({"normalized_shape": 3, "eps": math.inf}, ArgumentError, "eps", "finite"),
        ({"normalized_shape": 3, "eps": math.nan}, ArgumentError, "eps", "finite"),
        ({"normalized_shape": 3, "eps": "small"}, ArgumentTypeError, "eps", "real number"),
        ({"normalized_shape": 3, "elementwise_affine": 1}, ArgumentTypeError,
         "elementwise_affine", "bool"),
        ({"normalized_shape": 3, "bias": "yes"}, ArgumentTypeError, "bias", "bool"),
        ({"normalized_shape": 3, "dtype": np.int32}, ArgumentError, "dtype", "float dtype"),
        ({"normalized_shape": (10**6, 10**6, 10**6)}, ArgumentError, "LayerNorm", "fit"),
    ],
)
def test_layer_norm_rejects_bad_arguments(kwargs, error, where, what, monkeypatch):
    built = []
    monkeypatch.setattr(normalization, "Parameter", lambda *a, **k: built.append(a))
    with pytest.raises(error, match="LayerNorm") as info:
        nf.LayerNorm(**kwargs)
    message = str(info.value)
    assert where in message and what in message
    assert built == []  # raised before anything was built


def test_layer_norm_settings_that_shaped_the_parameters_cannot_change():
    layer = nf.LayerNorm(3)
    before = layer.get_config()
    for name, value in [
        ("normalized_shape", 4), ("elementwise_affine", False), ("has_bias", False),
    ]:
        with pytest.raises(ArgumentError, match="is fixed when the layer is built"):
            setattr(layer, name, value)
    with pytest.raises(ArgumentError, match="LayerNorm: eps"):
        layer.eps = -1.0
    assert layer.get_config() == before
    layer.eps = 1e-3  # eps shapes nothing
    assert layer.eps == 1e-3


@pytest.mark.parametrize(
    ("normalized_shape", "input_shape", "error", "words"),
    [
        (3, (2, 4), ShapeError, ["(batch, 3)", "(batch, ..., 3)", "(2, 4)"]),
        ((2, 3), (5, 3, 2), ShapeError, ["(batch, 2, 3)", "normalized_shape (2, 3)", "(5, 3, 2)"]),
        ((2, 3), (2, 3), ShapeError, ["normalized_shape (2, 3)", "2-d input of shape (2, 3)"]),
        (3, (3,), ShapeError, ["1-d input of shape (3,)"]),
        (3, (), ShapeError, ["0-d input"]),
    ],
)
def test_layer_norm_rejects_inputs_of_the_wrong_shape_and_keeps_its_cache(
    normalized_shape, input_shape, error, words, rng
):
    layer = nf.LayerNorm(normalized_shape, dtype=np.float64)
    x = rng.standard_normal((2, *layer.normalized_shape))
    y = layer(x)
    with pytest.raises(error) as info:
        layer(np.zeros(input_shape))
    message = str(info.value)
    assert message.startswith(repr(layer))
    for word in words:
        assert word in message
    # The failed call changed nothing: the earlier forward's backward still works.
    grad_x = layer.backward(np.ones_like(y), input_grad=True)
    np.testing.assert_allclose(grad_x, 0.0, atol=1e-12)


def test_layer_norm_rejects_a_non_numeric_input():
    with pytest.raises(DTypeError, match=r"LayerNorm\(\(3,\)"):
        nf.LayerNorm(3)(np.array([["a", "b", "c"]]))
