"""Activation layers: values, gradients, caches, numerical safety and arguments."""

from __future__ import annotations

import inspect
import math
import re
import warnings

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnframe as nf
from nnframe.errors import ArgumentError, ArgumentTypeError, DTypeError, ShapeError
from tests.helpers import batches

ACTIVATIONS = [nf.ReLU, nf.Sigmoid, nf.Tanh]


@settings(deadline=None)
@given(x=batches(max_batch=64, bound=6.0, kinks=nf.ReLU.kinks))
def test_relu_gradients_match_central_differences(x):
    nf.assert_gradients(nf.ReLU(), x)


@settings(deadline=None)
@given(x=batches(max_batch=64, bound=8.0))
def test_sigmoid_gradients_match_central_differences(x):
    nf.assert_gradients(nf.Sigmoid(), x)


@settings(deadline=None)
@given(x=batches(max_batch=64, bound=4.0))
def test_tanh_gradients_match_central_differences(x):
    nf.assert_gradients(nf.Tanh(), x)


def test_activation_values():
    x = np.array([[-2.0, 0.0, 3.0]])
    np.testing.assert_array_equal(nf.ReLU()(x), [[0.0, 0.0, 3.0]])
    np.testing.assert_allclose(nf.Sigmoid()(x), 1 / (1 + np.exp(-x)), rtol=1e-15)
    np.testing.assert_allclose(nf.Tanh()(x), np.tanh(x), rtol=1e-15)


def test_relu_gradient_at_zero_is_zero():
    layer = nf.ReLU()
    layer(np.array([[0.0, -1.0, 1.0]]))
    grad_x = layer.backward(np.ones((1, 3)), input_grad=True)
    np.testing.assert_array_equal(grad_x, [[0.0, 0.0, 1.0]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("value", [-1e4, -1000.0, -100.0, 100.0, 1000.0, 1e4])
def test_sigmoid_is_finite_without_warnings_for_any_finite_input(dtype, value):
    layer = nf.Sigmoid()
    x = np.array([[value, -value, 0.0]], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = layer(x)
        grad = layer.backward(np.ones_like(y), input_grad=True)
    assert y.dtype == dtype and grad.dtype == dtype
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(grad))
    assert np.all((y >= 0) & (y <= 1))
    expected = 1.0 if value > 0 else 0.0
    np.testing.assert_allclose(y[0, :2], [expected, 1.0 - expected], atol=1e-30)
    assert y[0, 2] == 0.5


@pytest.mark.parametrize("activation", ACTIVATIONS, ids=lambda cls: cls.__name__)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activations_keep_the_input_dtype_and_leave_the_input_alone(activation, dtype, rng):
    x = rng.standard_normal((3, 4)).astype(dtype)
    original = x.copy()
    layer = activation()
    y = layer(x)
    grad_y = np.ones_like(y)
    grad_x = layer.backward(grad_y, input_grad=True)
    assert y.dtype == dtype and grad_x.dtype == dtype
    np.testing.assert_array_equal(x, original)
    np.testing.assert_array_equal(grad_y, np.ones_like(y))


@pytest.mark.parametrize("activation", ACTIVATIONS, ids=lambda cls: cls.__name__)
def test_activations_cache_only_their_output(activation, rng):
    layer = activation()
    y = layer(rng.standard_normal((3, 4)))
    assert list(layer._cache) == ["y"]
    assert layer._cache["y"] is y


@pytest.mark.parametrize("activation", ACTIVATIONS, ids=lambda cls: cls.__name__)
def test_activations_reject_bad_input(activation):
    with pytest.raises(DTypeError, match=activation.__name__):
        activation()(np.array([["x"]]))
    with pytest.raises(ShapeError, match="0-d"):
        activation()(np.float64(1.0))
    layer = activation()
    layer(np.ones((2, 3)))
    with pytest.raises(ShapeError, match=r"\(2, 3\).*\(3, 2\)"):
        layer.backward(np.ones((3, 2)))


def test_integer_input_to_an_activation_becomes_float32():
    assert nf.ReLU()(np.array([[1, -2]])).dtype == np.float32


# -- LeakyReLU, ELU, GELU, Softmax, Identity -------------------------------------------

NEW_ACTIVATIONS = {
    "LeakyReLU": nf.LeakyReLU,
    "LeakyReLU(-0.5)": lambda: nf.LeakyReLU(-0.5),
    "ELU": nf.ELU,
    "ELU(-0.5)": lambda: nf.ELU(alpha=-0.5),
    "GELU": nf.GELU,
    "Softmax": nf.Softmax,
    "Softmax(axis=0)": lambda: nf.Softmax(axis=0),
    "Identity": nf.Identity,
}
ALL_ACTIVATIONS = {**{cls.__name__: cls for cls in ACTIVATIONS}, **NEW_ACTIVATIONS}


def gelu_formula(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))


@settings(deadline=None)
@given(
    x=batches(max_batch=16, bound=4.0, kinks=nf.LeakyReLU.kinks),
    negative_slope=st.floats(-2.0, 2.0),
)
def test_leaky_relu_gradients_match_central_differences(x, negative_slope):
    nf.assert_gradients(nf.LeakyReLU(negative_slope), x)


@settings(deadline=None)
@given(x=batches(max_batch=16, bound=4.0, kinks=nf.ELU.kinks), alpha=st.floats(-2.0, 3.0))
def test_elu_gradients_match_central_differences(x, alpha):
    nf.assert_gradients(nf.ELU(alpha), x)


@settings(deadline=None)
@given(x=batches(max_batch=16, bound=12.0))
def test_gelu_gradients_match_central_differences(x):
    nf.assert_gradients(nf.GELU(), x)


@settings(deadline=None)
@given(x=batches(max_batch=16, bound=5.0), axis=st.sampled_from([-1, 0, 1]))
def test_softmax_gradients_match_central_differences(x, axis):
    nf.assert_gradients(nf.Softmax(axis=axis), x)


def test_softmax_gradients_along_a_middle_axis(rng):
    nf.assert_gradients(nf.Softmax(axis=1), rng.standard_normal((2, 3, 4)))


@settings(deadline=None)
@given(x=batches(max_batch=16))
def test_identity_gradients_match_central_differences(x):
    nf.assert_gradients(nf.Identity(), x)


def test_gradcheck_catches_a_wrong_gelu_derivative():
    class ExactDerivativeGELU(nf.GELU):  # the derivative of the exact GELU, not of tanh's
        def backward(self, grad_y):
            x = self.saved("x")
            cdf = 0.5 * (1 + np.vectorize(math.erf)(x / np.sqrt(2)))
            return grad_y * (cdf + x * np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi))

    assert not nf.gradcheck(ExactDerivativeGELU(), np.linspace(-3.0, 3.0, 12).reshape(3, 4)).ok


def test_leaky_relu_and_elu_values():
    x = np.array([[-2.0, -0.5, 0.0, 3.0]])
    np.testing.assert_array_equal(nf.LeakyReLU()(x), [[-0.02, -0.005, 0.0, 3.0]])
    np.testing.assert_array_equal(nf.LeakyReLU(0.2)(x), [[-0.4, -0.1, 0.0, 3.0]])
    np.testing.assert_array_equal(nf.LeakyReLU(-1.0)(x), [[2.0, 0.5, 0.0, 3.0]])
    np.testing.assert_allclose(nf.ELU()(x), [[np.exp(-2) - 1, np.exp(-0.5) - 1, 0, 3]])
    np.testing.assert_allclose(
        nf.ELU(alpha=2.0)(x), [[2 * (np.exp(-2) - 1), 2 * (np.exp(-0.5) - 1), 0, 3]]
    )


def test_leaky_relu_and_elu_derivatives_on_either_side_of_zero():
    x = np.array([[-2.0, 0.0, 3.0]])
    for layer, expected in [
        (nf.LeakyReLU(0.1), [0.1, 0.1, 1.0]),
        (nf.LeakyReLU(-0.5), [-0.5, -0.5, 1.0]),
        (nf.ELU(2.0), [2 * np.exp(-2.0), 2.0, 1.0]),
        (nf.ELU(-0.5), [-0.5 * np.exp(-2.0), -0.5, 1.0]),
    ]:
        layer(x)
        grad_x = layer.backward(np.ones((1, 3)), input_grad=True)
        np.testing.assert_allclose(grad_x, [expected], err_msg=repr(layer))


@settings(deadline=None)
@given(x=batches(bound=8.0))
def test_gelu_matches_the_tanh_formula(x):
    np.testing.assert_allclose(nf.GELU()(x), gelu_formula(x), rtol=1e-12, atol=1e-15)


def test_gelu_is_exact_where_tanh_saturates():
    x = np.array([[-1e30, -50.0, -10.5, 10.5, 50.0, 1e30]])
    layer = nf.GELU()
    y = layer(x)
    np.testing.assert_array_equal(y, np.where(x > 0, x, 0.0))
    grad_x = layer.backward(np.ones_like(x), input_grad=True)
    np.testing.assert_array_equal(grad_x, (x > 0).astype(float))


@settings(deadline=None)
@given(x=batches(bound=50.0))
def test_softmax_rows_are_distributions_matching_exp_over_sum(x):
    y = nf.Softmax()(x)
    assert np.all(y >= 0)
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-12)
    e = np.exp(x - x.max(axis=1, keepdims=True))
    np.testing.assert_allclose(y, e / e.sum(axis=1, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(nf.Softmax()(x + 123.0), y, rtol=1e-9, atol=1e-300)


def test_softmax_along_axis_zero_normalises_columns(rng):
    x = rng.standard_normal((5, 3))
    np.testing.assert_allclose(nf.Softmax(axis=0)(x).sum(axis=0), 1.0)


def test_softmax_is_batch_independent_unless_it_normalises_across_the_batch():
    assert nf.Softmax().batch_independent and nf.Softmax(axis=2).batch_independent
    assert not nf.Softmax(axis=0).batch_independent
    for cls in (nf.LeakyReLU, nf.ELU, nf.GELU, nf.Identity):
        assert cls().batch_independent


def test_softmax_rejects_an_axis_the_input_lacks_or_a_negative_batch_axis():
    with pytest.raises(ShapeError, match=r"Softmax\(axis=2\): .*\(4, 3\), axis 2 is out of range"):
        nf.Softmax(axis=2)(np.ones((4, 3)))
    with pytest.raises(ShapeError, match=r"\(4, 3\), axis -2 is the batch axis.*axis=0"):
        nf.Softmax(axis=-2)(np.ones((4, 3)))
    with pytest.raises(ShapeError, match="batch axis"):
        nf.Softmax()(np.ones(4))


def test_identity_passes_arrays_through_without_copying():
    x = np.ones((2, 3), dtype=np.float32)
    layer = nf.Identity()
    assert layer(x) is x
    assert not layer.has_cache()
    grad = np.full((2, 3), 2.0, dtype=np.float32)
    assert layer.backward(grad, input_grad=True) is grad
    assert nf.Identity().backward(grad, input_grad=True) is grad  # no forward needed


def test_a_gradient_arrives_in_the_dtype_of_the_forward_output():
    layer = nf.Identity()
    layer(np.ones((2, 3), dtype=np.float32))
    grad_x = layer.backward(np.full((2, 3), 2.0), input_grad=True)
    assert grad_x.dtype == np.float32


def test_identity_still_checks_what_it_can():
    with pytest.raises(ShapeError, match=r"Identity\(\).*0-d"):
        nf.Identity().backward(np.float64(1.0))
    with pytest.raises(DTypeError, match=r"Identity\(\)"):
        nf.Identity().backward(np.array([["x"]]))
    with pytest.raises(ShapeError, match="0-d"):
        nf.Identity()(np.float64(1.0))


@pytest.mark.parametrize(
    ("make_layer", "cached"),
    [
        (nf.LeakyReLU, "y"),
        (lambda: nf.LeakyReLU(0.0), "y"),
        (lambda: nf.LeakyReLU(-0.5), "x"),
        (nf.ELU, "y"),
        (lambda: nf.ELU(0.0), "y"),
        (lambda: nf.ELU(-0.5), "x"),
        (nf.GELU, "x"),
        (nf.Softmax, "y"),
    ],
    ids=["LeakyReLU", "LeakyReLU(0)", "LeakyReLU(-0.5)", "ELU", "ELU(0)", "ELU(-0.5)", "GELU",
         "Softmax"],
)
def test_new_activations_cache_one_array_only(make_layer, cached, rng):
    layer = make_layer()
    x = rng.standard_normal((3, 4))
    y = layer(x)
    assert list(layer._cache) == [cached]
    assert layer._cache[cached] is (y if cached == "y" else x)
    with nf.no_grad():
        layer(x)
    assert layer._cache[cached] is (y if cached == "y" else x)  # left alone


@pytest.mark.parametrize("make_layer", ALL_ACTIVATIONS.values(), ids=ALL_ACTIVATIONS.keys())
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_activation_is_finite_without_warnings_at_plus_minus_1e4(make_layer, dtype):
    x = np.array([[-1e4, 1e4, 0.0], [1e4, -1e4, -1.0]], dtype=dtype)
    layer = make_layer()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = layer(x)
        grad_x = layer.backward(np.ones_like(y), input_grad=True)
    assert y.dtype == dtype and grad_x.dtype == dtype
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(grad_x))


@pytest.mark.parametrize("make_layer", NEW_ACTIVATIONS.values(), ids=NEW_ACTIVATIONS.keys())
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_new_activations_keep_the_input_dtype_and_leave_arrays_alone(make_layer, dtype, rng):
    x = rng.standard_normal((3, 4)).astype(dtype)
    original = x.copy()
    layer = make_layer()
    y = layer(x)
    grad_y = rng.standard_normal((3, 4)).astype(dtype)
    grad_before = grad_y.copy()
    grad_x = layer.backward(grad_y, input_grad=True)
    assert y.dtype == dtype and grad_x.dtype == dtype and grad_x.shape == x.shape
    np.testing.assert_array_equal(x, original)
    np.testing.assert_array_equal(grad_y, grad_before)


@pytest.mark.parametrize("make_layer", NEW_ACTIVATIONS.values(), ids=NEW_ACTIVATIONS.keys())
def test_new_activations_reject_bad_input(make_layer):
    with pytest.raises(DTypeError, match=type(make_layer()).__name__):
        make_layer()(np.array([["x"]]))
    layer = make_layer()
    layer(np.ones((2, 3)))
    if not isinstance(layer, nf.Identity):  # it caches nothing to compare with
        with pytest.raises(ShapeError, match=r"\(2, 3\).*\(3, 2\)"):
            layer.backward(np.ones((3, 2)))


def test_new_activations_integer_input_becomes_float32():
    for cls in (nf.LeakyReLU, nf.ELU, nf.GELU, nf.Softmax, nf.Identity):
        assert cls()(np.array([[1, -2]])).dtype == np.float32


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: nf.LeakyReLU("a"), ArgumentTypeError, "LeakyReLU: negative_slope must be a real"),
        (lambda: nf.LeakyReLU(float("nan")), ArgumentError, "LeakyReLU: negative_slope must be"),
        (lambda: nf.ELU(None), ArgumentTypeError, "ELU: alpha must be a real number"),
        (lambda: nf.ELU(float("inf")), ArgumentError, "ELU: alpha must be finite"),
        (lambda: nf.Softmax(axis=1.5), ArgumentTypeError, "Softmax: axis must be an int; got 1.5"),
        (lambda: nf.Softmax(axis=True), ArgumentTypeError, "Softmax: axis must be an int"),
    ],
)
def test_new_activations_reject_bad_arguments(make, error, message):
    with pytest.raises(error, match=re.escape(message)):
        make()


def test_hyperparameters_are_checked_when_assigned_too():
    layer = nf.LeakyReLU(0.2)
    with pytest.raises(ArgumentTypeError, match="negative_slope"):
        layer.negative_slope = "steep"
    assert layer.negative_slope == 0.2
    layer.negative_slope = np.float64(0.3)
    assert type(layer.negative_slope) is float  # a numpy scalar would upcast float32 outputs
    assert layer(np.ones((1, 2), dtype=np.float32) * -1).dtype == np.float32


def test_new_activation_reprs():
    assert repr(nf.LeakyReLU()) == "LeakyReLU(negative_slope=0.01)"
    assert repr(nf.LeakyReLU(-1)) == "LeakyReLU(negative_slope=-1.0)"
    assert repr(nf.ELU()) == "ELU(alpha=1.0)"
    assert repr(nf.ELU(0.5)) == "ELU(alpha=0.5)"
    assert repr(nf.GELU()) == "GELU()"
    assert repr(nf.Softmax()) == "Softmax(axis=-1)"
    assert repr(nf.Identity()) == "Identity()"


@pytest.mark.parametrize("make_layer", NEW_ACTIVATIONS.values(), ids=NEW_ACTIVATIONS.keys())
def test_new_activations_rebuild_from_their_init_fields(make_layer):
    layer = make_layer()
    fields = [f.name for f in attrs.fields(type(layer)) if f.init]
    assert fields == list(inspect.signature(type(layer)).parameters)
    clone = type(layer)(**{name: getattr(layer, name) for name in fields})
    assert repr(clone) == repr(layer)


def test_kinks_of_the_new_activations():
    assert nf.LeakyReLU.kinks == (0.0,) and nf.ELU.kinks == (0.0,)
    assert nf.GELU.kinks == () and nf.Softmax.kinks == () and nf.Identity.kinks == ()


def test_new_activations_match_pytorch(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((5, 4)) * 3
    grad_y = rng.standard_normal((5, 4))
    pairs = [
        (nf.LeakyReLU(0.2), torch.nn.LeakyReLU(0.2)),
        (nf.ELU(1.5), torch.nn.ELU(1.5)),
        (nf.GELU(), torch.nn.GELU(approximate="tanh")),
        (nf.Softmax(axis=-1), torch.nn.Softmax(dim=-1)),
        (nf.Softmax(axis=0), torch.nn.Softmax(dim=0)),
    ]
    for layer, reference in pairs:
        tx = torch.from_numpy(x).requires_grad_(True)
        ty = reference(tx)
        ty.backward(torch.from_numpy(grad_y))
        np.testing.assert_allclose(layer(x), ty.detach().numpy(), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(
            layer.backward(grad_y, input_grad=True), tx.grad.numpy(), rtol=1e-10, atol=1e-14,
            err_msg=repr(layer),
        )
