"""The optimizers' in-place kernels: BLAS for contiguous float32/64, numpy for the rest."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nnframe.optim import kernels
from nnframe.optim.kernels import add_scaled, scale

LAYOUTS = ["contiguous", "strided", "unaligned", "big-endian"]


def make(values: np.ndarray, dtype: type, layout: str) -> np.ndarray:
    """``values`` in ``dtype``, laid out in memory as ``layout`` says."""
    array = values.astype(dtype)
    if layout == "strided":
        wide = np.empty((2 * array.size,), dtype=dtype)
        wide[::2] = array.ravel()
        return wide[::2].reshape(array.shape)
    if layout == "unaligned":
        raw = np.zeros(array.nbytes + 1, dtype=np.uint8)
        out = raw[1:].view(dtype).reshape(array.shape)
        out[...] = array
        return out
    if layout == "big-endian":
        return array.astype(array.dtype.newbyteorder(">"))
    return array


shapes = st.sampled_from([(1,), (7,), (3, 5), (2, 3, 4), (64, 33)])


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@given(shape=shapes, seed=st.integers(0, 2**32 - 1), alpha=st.floats(-3, 3))
def test_add_scaled_is_y_plus_alpha_x_in_place(layout, dtype, shape, seed, alpha):
    rng = np.random.default_rng(seed)
    y = make(rng.standard_normal(shape), dtype, layout)
    x = make(rng.standard_normal(shape), dtype, layout)
    x_before, y_before = x.copy(), y.copy()
    y_buffer = y
    add_scaled(y, alpha, x, np.empty(shape, dtype=y.dtype))
    assert y is y_buffer and y.dtype == y_before.dtype
    want = y_before.astype(np.float64) + np.float64(y_before.dtype.type(alpha)) * x_before
    # One rounding (a fused multiply-add) or two: within two units in the last place.
    tolerance = 4 * np.finfo(dtype).eps * (np.abs(want) + np.abs(alpha * x_before) + 1e-30)
    assert np.all(np.abs(y.astype(np.float64) - want) <= tolerance)
    np.testing.assert_array_equal(x, x_before)  # x is only read


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@given(shape=shapes, seed=st.integers(0, 2**32 - 1), alpha=st.floats(-3, 3))
def test_scale_is_exactly_numpys_product(layout, dtype, shape, seed, alpha):
    x = make(np.random.default_rng(seed).standard_normal(shape), dtype, layout)
    want = x * x.dtype.type(alpha)
    scale(x, alpha)
    np.testing.assert_array_equal(x, want)  # one correctly rounded product either way


def test_add_scaled_may_use_x_as_its_scratch():
    y, x = np.ones((2, 3), dtype=np.float16), np.full((2, 3), 2.0, dtype=np.float16)
    add_scaled(y, 0.5, x, x)  # the numpy path writes 0.5 * x into x
    np.testing.assert_array_equal(y, np.full((2, 3), 2.0))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_read_only_arrays_are_refused_as_numpy_refuses_them(dtype):
    y, x = np.ones(4, dtype=dtype), np.ones(4, dtype=dtype)
    y.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        add_scaled(y, 0.5, x, np.empty(4, dtype=dtype))
    with pytest.raises(ValueError, match="read-only"):
        scale(y, 2.0)
    np.testing.assert_array_equal(y, np.ones(4))


def test_contiguous_float32_and_float64_go_through_blas(monkeypatch):
    calls = []
    kernels._kernels(np.dtype(np.float32))  # load scipy's BLAS

    def recording(name, function):
        def call(*args):
            calls.append(name)
            return function(*args)
        return call

    for dtype, (axpy, scal) in list(kernels._BLAS.items()):
        monkeypatch.setitem(
            kernels._BLAS, dtype, (recording("axpy", axpy), recording("scal", scal))
        )
    for dtype in (np.float32, np.float64):
        y, x = np.ones((3, 4), dtype=dtype), np.ones((3, 4), dtype=dtype)
        add_scaled(y, -0.5, x, np.empty_like(y))
        scale(y, 3.0)
        np.testing.assert_array_equal(y, np.full((3, 4), 1.5))
    add_scaled(np.ones(3, np.float16), 1.0, np.ones(3, np.float16), np.empty(3, np.float16))
    assert calls == ["axpy", "scal", "axpy", "scal"]
