"""Linear: shapes, initialisation, dtypes, gradients and bad input."""

from __future__ import annotations

import traceback

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnframe as nf
from nnframe.errors import ArgumentError, ArgumentTypeError, DTypeError, ShapeError
from tests.helpers import batches


@settings(deadline=None)
@given(
    x=batches(max_batch=64),
    out_features=st.integers(1, 5),
    bias=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_linear_gradients_match_central_differences(x, out_features, bias, seed):
    layer = nf.Linear(x.shape[1], out_features, bias=bias, rng=seed, dtype=np.float64)
    nf.assert_gradients(layer, x)


def test_linear_computes_x_weight_transpose_plus_bias(rng):
    layer = nf.Linear(4, 3, rng=0, dtype=np.float64)
    layer.bias.value[...] = [1.0, -2.0, 0.5]
    x = rng.standard_normal((5, 4))
    np.testing.assert_allclose(layer(x), x @ layer.weight.value.T + layer.bias.value)


def test_linear_shapes_and_default_he_normal_scale():
    layer = nf.Linear(400, 300, rng=0)
    assert layer.weight.shape == (300, 400) and layer.bias.shape == (300,)
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32
    assert not layer.bias.value.any()
    assert abs(layer.weight.value.std() - np.sqrt(2 / 400)) < 0.05 * np.sqrt(2 / 400)


def test_linear_bias_false_has_only_a_weight():
    layer = nf.Linear(3, 2, bias=False, rng=0)
    assert layer.bias is None
    assert [name for name, _ in layer.named_parameters()] == ["weight"]
    nf.assert_gradients(layer, np.linspace(-1, 1, 6).reshape(2, 3))


@pytest.mark.parametrize("init", ["xavier_uniform", nf.init.normal, nf.init.zeros])
def test_linear_init_is_selectable(init):
    layer = nf.Linear(50, 40, init=init, rng=0)
    if init is nf.init.zeros:
        assert not layer.weight.value.any()
    elif init is nf.init.normal:
        assert layer.weight.value.std() < 0.02
    else:
        bound = np.sqrt(6 / 90)
        assert np.abs(layer.weight.value).max() <= bound


def test_linear_same_seed_same_weights_and_rng_is_respected():
    a, b, c = nf.Linear(5, 4, rng=3), nf.Linear(5, 4, rng=3), nf.Linear(5, 4, rng=4)
    np.testing.assert_array_equal(a.weight.value, b.weight.value)
    assert not np.array_equal(a.weight.value, c.weight.value)
    state = np.random.get_state()[1].copy()
    nf.Linear(5, 4, rng=None)
    np.testing.assert_array_equal(np.random.get_state()[1], state)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_casts_other_inputs_to_its_dtype(dtype):
    layer = nf.Linear(3, 2, rng=0, dtype=dtype)
    for x in [np.ones((2, 3), np.float16), np.ones((2, 3), np.float64), np.ones((2, 3), np.float32),
              np.ones((2, 3), np.int64), np.ones((2, 3), bool), [[1, 2, 3]]]:
        y = layer(x)
        assert y.dtype == dtype
        assert layer.backward(np.ones_like(y), input_grad=True).dtype == dtype


def _full_message(error: BaseException) -> str:
    return "".join(traceback.format_exception_only(error))


BAD_INPUTS = [
    (np.ones((4, 5)), ShapeError, ["(batch, 3)", "(4, 5)"]),
    (np.ones(3), ShapeError, ["(batch, 3)", "(3,)"]),
    (np.ones((2, 3, 4)), ShapeError, ["(batch, 3)", "(2, 3, 4)"]),
    (np.array([["a", "b", "c"]]), DTypeError, ["<U1"]),
    (np.ones((2, 3), dtype=complex), DTypeError, ["complex128"]),
    (np.array([[None, 1, 2]], dtype=object), DTypeError, ["object"]),
]


@pytest.mark.parametrize(("x", "error_type", "fragments"), BAD_INPUTS)
def test_linear_bad_input_names_the_layer_path_and_shapes_and_changes_nothing(
    x, error_type, fragments
):
    model = nf.Sequential(nf.Sequential(nf.Linear(3, 2, rng=0)), nf.Tanh())
    before = model.state_dict()
    with pytest.raises(error_type) as info:
        model(x)
    message = _full_message(info.value)
    assert "Linear(3 -> 2)" in message
    assert "in Sequential[0][0] Linear(3 -> 2)" in message
    for fragment in fragments:
        assert fragment in message
    assert not model.has_cache()
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_linear_backward_with_a_wrong_gradient_shape_names_both_shapes(rng):
    model = nf.Sequential(nf.Tanh(), nf.Linear(3, 2, rng=0))
    model(rng.standard_normal((4, 3)))
    with pytest.raises(ShapeError) as info:
        model.backward(np.ones((4, 3)))
    message = _full_message(info.value)
    assert "(4, 2)" in message and "(4, 3)" in message
    assert "in Sequential[1] Linear(3 -> 2)" in message
    assert all(not p.grad.any() for p in model.parameters())


@pytest.mark.parametrize(
    ("args", "kwargs", "error_type"),
    [
        ((-3, 2), {}, ArgumentError),
        ((0, 2), {}, ArgumentError),
        ((2.5, 2), {}, ArgumentTypeError),
        ((True, 2), {}, ArgumentTypeError),
        ((2, "3"), {}, ArgumentTypeError),
        ((2, 3), {"bias": 1}, ArgumentTypeError),
        ((2, 3), {"dtype": np.int32}, ArgumentError),
        ((2, 3), {"init": "nope"}, ArgumentError),
        ((2, 3), {"rng": -1}, ArgumentError),
        ((2, 3), {"rng": 1.5}, ArgumentTypeError),
    ],
)
def test_linear_rejects_bad_constructor_arguments(args, kwargs, error_type):
    with pytest.raises(error_type, match=r"Linear|rng|init"):
        nf.Linear(*args, **kwargs)


@settings(deadline=None, max_examples=25)
@given(
    leading=st.lists(st.integers(1, 3), min_size=1, max_size=2),
    seed=st.integers(0, 2**32 - 1),
)
def test_linear_on_leading_axes_passes_gradcheck_and_matches_the_2d_layer(leading, seed):
    rng = np.random.default_rng(seed)
    layer = nf.Linear(3, 2, rng=seed, dtype=np.float64)
    x = rng.standard_normal((2, *leading, 3))
    nf.assert_gradients(layer, x)
    flat = layer(x.reshape(-1, 3))
    np.testing.assert_allclose(layer(x), flat.reshape(*x.shape[:-1], 2), rtol=1e-14)


def test_linear_on_sequences_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    layer = nf.Linear(4, 3, rng=0, dtype=np.float64)
    x, grad_y = rng.standard_normal((2, 5, 4)), rng.standard_normal((2, 5, 3))
    reference = torch.nn.Linear(4, 3, dtype=torch.float64)
    with torch.no_grad():
        reference.weight.copy_(torch.from_numpy(layer.weight.value))
        reference.bias.copy_(torch.from_numpy(layer.bias.value))
    tx = torch.from_numpy(x).requires_grad_(True)
    ty = reference(tx)
    ty.backward(torch.from_numpy(grad_y))
    np.testing.assert_allclose(layer(x), ty.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(layer.backward(grad_y, input_grad=True), tx.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(layer.weight.grad, reference.weight.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(layer.bias.grad, reference.bias.grad.numpy(), rtol=1e-12)
