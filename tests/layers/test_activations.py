"""ReLU, Sigmoid, Tanh: values, gradients, caches and numerical safety."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings

import nnframe as nf
from nnframe.errors import DTypeError, ShapeError
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
    np.testing.assert_array_equal(layer.backward(np.ones((1, 3))), [[0.0, 0.0, 1.0]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("value", [-1e4, -1000.0, -100.0, 100.0, 1000.0, 1e4])
def test_sigmoid_is_finite_without_warnings_for_any_finite_input(dtype, value):
    layer = nf.Sigmoid()
    x = np.array([[value, -value, 0.0]], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = layer(x)
        grad = layer.backward(np.ones_like(y))
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
    grad_x = layer.backward(grad_y)
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
