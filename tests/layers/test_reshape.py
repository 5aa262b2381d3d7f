"""Flatten: shapes, gradients, the shape-only cache and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

import nnframe as nf
from nnframe.errors import CacheMissError, DTypeError, ShapeError

finite = st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False)


@settings(deadline=None)
@given(x=arrays(np.float64, array_shapes(min_dims=1, max_dims=4, max_side=4), elements=finite))
def test_flatten_gradients_match_central_differences(x):
    nf.assert_gradients(nf.Flatten(), x)


@given(x=arrays(np.float64, array_shapes(min_dims=1, max_dims=4, max_side=4), elements=finite))
def test_flatten_keeps_each_example_in_its_row_in_c_order(x):
    layer = nf.Flatten()
    y = layer(x)
    assert y.shape == (x.shape[0], int(np.prod(x.shape[1:])))
    for i in range(x.shape[0]):
        np.testing.assert_array_equal(y[i], x[i].ravel())
    grad_y = np.arange(y.size, dtype=np.float64).reshape(y.shape)
    np.testing.assert_array_equal(layer.backward(grad_y, input_grad=True), grad_y.reshape(x.shape))


def test_flatten_returns_a_view_and_caches_only_the_shape():
    x = np.zeros((5, 2, 3), dtype=np.float32)
    layer = nf.Flatten()
    y = layer(x)
    assert y.shape == (5, 6) and y.dtype == np.float32 and np.shares_memory(x, y)
    assert list(layer._cache) == ["shape", "channels_last"]
    np.testing.assert_array_equal(layer._cache["shape"], [5, 2, 3])
    assert not np.shares_memory(layer._cache["shape"], x)


def test_flatten_handles_one_dimensional_and_empty_batches():
    assert nf.Flatten()(np.ones(4)).shape == (4, 1)
    layer = nf.Flatten()
    assert layer(np.ones((0, 2, 3))).shape == (0, 6)
    assert layer.backward(np.ones((0, 6)), input_grad=True).shape == (0, 2, 3)


def test_flatten_gradient_keeps_its_dtype_and_is_not_modified():
    layer = nf.Flatten()
    layer(np.ones((2, 3, 2), dtype=np.float32))
    grad_y = np.ones((2, 6), dtype=np.float32)
    grad_x = layer.backward(grad_y, input_grad=True)
    assert grad_x.dtype == np.float32 and grad_x.shape == (2, 3, 2)
    np.testing.assert_array_equal(grad_y, np.ones((2, 6)))


def test_flatten_rejects_bad_input_and_gradients():
    with pytest.raises(ShapeError, match=r"Flatten\(\).*0-d"):
        nf.Flatten()(np.float64(1.0))
    with pytest.raises(DTypeError, match=r"Flatten\(\)"):
        nf.Flatten()(np.array([["a"]]))
    layer = nf.Flatten()
    layer(np.ones((2, 3, 4)))
    with pytest.raises(ShapeError, match=r"Flatten\(\).*\(2, 12\).*\(2, 3, 4\)"):
        layer.backward(np.ones((2, 3, 4)))
    with pytest.raises(CacheMissError, match=r"Flatten\(\)"):
        nf.Flatten().backward(np.ones((2, 12)))


def test_flatten_in_a_model():
    model = nf.Sequential(nf.Flatten(), nf.Linear(6, 2, rng=0, dtype=np.float64))
    nf.assert_gradients(model, np.linspace(-1.0, 1.0, 12).reshape(2, 3, 2))
    assert repr(nf.Flatten()) == "Flatten()"


def test_flatten_reads_a_channels_last_input_in_channel_order_and_returns_its_layout():
    nhwc = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    x = nhwc.transpose(0, 3, 1, 2)  # (batch, channels, height, width), channels innermost
    layer = nf.Flatten()
    np.testing.assert_array_equal(layer(x), np.ascontiguousarray(x).reshape(2, -1))
    grad = layer.backward(np.arange(120, dtype=np.float32).reshape(2, 60), input_grad=True)
    np.testing.assert_array_equal(grad, np.arange(120, dtype=np.float32).reshape(2, 5, 3, 4))
    assert grad.transpose(0, 2, 3, 1).flags.c_contiguous
