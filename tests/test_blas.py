"""nnframe.blas: a spurious flag does not abort a product; axpy and axpby update in place."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnframe as nf
from nnframe import functional as F
from nnframe.blas import BLOCK_BYTES, axpby, axpy


@pytest.fixture
def spurious_invalid(monkeypatch):
    """An np.dot and np.matmul whose first call computes the right product and then raises
    the invalid flag, as OpenBLAS's small sgemv kernel has been seen to do on finite
    operands."""
    calls = []

    def flaky(real):
        def product(a, b, out=None):
            result = real(a, b, out=out)
            calls.append(1)
            if len(calls) == 1:
                np.multiply(np.float32(np.inf), np.float32(0.0))  # sets the flag, and warns
            return result

        return product

    monkeypatch.setattr(np, "dot", flaky(np.dot))
    monkeypatch.setattr(np, "matmul", flaky(np.matmul))
    return calls


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("function", ["linear", "linear_grad_weight", "linear_grad_input"])
def test_linear_maths_survives_a_spurious_invalid_flag(spurious_invalid, dtype, function):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((114, 5)).astype(dtype)
    weight = rng.standard_normal((1, 5)).astype(dtype)
    grad_y = rng.standard_normal((114, 1)).astype(dtype)
    # Warnings are errors here (pyproject): without the retry the first product fails.
    if function == "linear":
        np.testing.assert_allclose(F.linear(x, weight), x @ weight.T, rtol=1e-6)
    elif function == "linear_grad_weight":
        out = np.full((1, 5), np.nan, dtype=dtype)
        assert F.linear_grad_weight(x, grad_y, out=out) is out
        np.testing.assert_allclose(out, grad_y.T @ x, rtol=1e-5)
    else:
        np.testing.assert_allclose(F.linear_grad_input(grad_y, weight), grad_y @ weight, rtol=1e-6)
    assert len(spurious_invalid) == 2


def test_a_real_invalid_operation_in_the_product_is_still_reported():
    x, weight = np.array([[np.inf, 1.0]]), np.array([[0.0, 1.0]])  # inf * 0
    with pytest.warns(RuntimeWarning, match="invalid value encountered in (dot|matmul)"):
        y = F.linear(x, weight)
    assert np.isnan(y).all()
    with np.errstate(invalid="raise"), pytest.raises(FloatingPointError):
        x = np.array([[np.inf, 1.0], [1.0, 1.0]])
        F.linear_grad_weight(x, np.array([[0.0], [1.0]]), out=np.empty((1, 2)))


# -- axpy and axpby: y += alpha * x and y = alpha * x + beta * y, in place -------------

# Sizes around the threshold and the blocks of the numpy path, in elements of float32.
_EDGES = [1, 7, BLOCK_BYTES // 8, BLOCK_BYTES // 4 - 1, BLOCK_BYTES // 4, 3 * BLOCK_BYTES // 4 + 5]


def _arrays(size, dtype, seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(size).astype(dtype), rng.standard_normal(size).astype(dtype)


@settings(deadline=None, max_examples=40)
@given(
    size=st.sampled_from(_EDGES),
    dtype=st.sampled_from([np.float32, np.float64]),
    alpha=st.floats(-10, 10),
    seed=st.integers(0, 2**16),
)
def test_axpy_adds_the_scaled_array_in_place(size, dtype, alpha, seed):
    x, y = _arrays(size, dtype, seed)
    y_before, target = y.copy(), y
    axpy(alpha, x, y)
    assert y is target and y.dtype == dtype
    # One rounding (fused) or two (numpy): within a rounding of the two-step result.
    expected = y_before + np.multiply(x, alpha)
    tolerance = np.finfo(dtype).eps * (np.abs(np.multiply(x, alpha)) + np.abs(expected))
    assert np.all(np.abs(y - expected) <= tolerance + 4 * np.finfo(dtype).smallest_subnormal)


@settings(deadline=None, max_examples=40)
@given(
    size=st.sampled_from(_EDGES),
    dtype=st.sampled_from([np.float32, np.float64]),
    alpha=st.floats(-2, 2),
    beta=st.floats(0, 1),
    seed=st.integers(0, 2**16),
)
def test_axpby_is_a_momentum_update_in_place(size, dtype, alpha, beta, seed):
    x, y = _arrays(size, dtype, seed)
    expected = np.multiply(y, beta) + np.multiply(x, alpha)
    axpby(alpha, x, beta, y)
    scale = np.abs(np.multiply(y, beta)) + np.abs(np.multiply(x, alpha))
    # Relative to the terms, plus a few steps of the subnormal grid (alpha = beta = 1e-308).
    floor = 4 * np.finfo(dtype).smallest_subnormal
    tolerance = 2 * np.finfo(dtype).eps * (scale + np.abs(expected)) + floor
    assert np.all(np.abs(y - expected) <= tolerance)


@pytest.mark.parametrize("kind", ["strided", "read-only x", "float64 x into float32 y"])
def test_axpy_takes_numpy_for_arrays_blas_cannot_take(kind):
    # Non-contiguous, read-only or mixed arrays go through numpy with the same result.
    n = BLOCK_BYTES  # large enough for BLAS, were the arrays fit for it
    rng = np.random.default_rng(1)
    x = rng.standard_normal(2 * n).astype(np.float32)
    y = rng.standard_normal(2 * n).astype(np.float32)
    if kind == "strided":
        x, y = x[::2], y[::2]
    elif kind == "read-only x":
        x.flags.writeable = False
    else:
        x = x.astype(np.float64)
    expected = y + np.multiply(x, 0.5).astype(np.float32)
    axpy(0.5, x, y)
    np.testing.assert_allclose(y, expected, rtol=1e-6)


def test_axpy_of_an_array_on_itself_doubles_it():
    y = np.arange(BLOCK_BYTES, dtype=np.float64)
    axpy(1.0, y, y)
    np.testing.assert_array_equal(y, 2 * np.arange(BLOCK_BYTES, dtype=np.float64))


def test_the_level1_library_is_numpys_own_when_numpy_bundles_openblas():
    bundled = [lib for lib in np.show_config(mode="dicts")["Build Dependencies"].values()
               if "openblas" in str(lib.get("name", "")).lower()]
    if not bundled:
        pytest.skip("this numpy is not built against scipy-openblas")
    assert "openblas" in nf.blas.level1_library().lower()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_on_a_large_layer_is_the_textbook_update(dtype, momentum):
    # A layer large enough for BLAS: the result is the formula's, to rounding.
    rng = np.random.default_rng(2)
    p = nf.Parameter(rng.standard_normal((300, 200)).astype(dtype))
    value, buffer = p.value.copy(), None
    optimizer = nf.SGD([p], lr=0.1, momentum=momentum)
    for _ in range(3):
        grad = rng.standard_normal((300, 200)).astype(dtype)
        p.grad = grad
        optimizer.step()
        if momentum:
            buffer = grad.copy() if buffer is None else momentum * buffer + grad
            value = value - 0.1 * buffer
        else:
            value = value - 0.1 * grad
        np.testing.assert_array_equal(p.grad, grad)  # the gradient is left as it was
    rtol = 1e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(p.value, value, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("zero", [0.0, 1e-50])  # 1e-50 is 0 in float32
@pytest.mark.parametrize("update", ["axpy", "axpby alpha", "axpby beta"])
def test_a_zero_scale_keeps_nan_and_inf_as_numpy_does(update, zero):
    # BLAS skips a term scaled by 0; 0 * nan is nan in IEEE arithmetic, and so it stays.
    n = BLOCK_BYTES  # large enough for BLAS
    x = np.full(n, np.nan, dtype=np.float32)
    y = np.ones(n, dtype=np.float32)
    with np.errstate(invalid="ignore"):
        if update == "axpy":
            axpy(zero, x, y)
        elif update == "axpby alpha":
            axpby(zero, x, 1.0, y)
        else:
            y[:] = np.nan
            axpby(1.0, np.ones(n, dtype=np.float32), zero, y)
    assert np.isnan(y).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [((1, 5), (5, 3)), ((4, 1), (1, 6)), ((7, 5), (5, 2))])
def test_dot_is_the_matrix_product_for_every_inner_size(shape, dtype):
    # Through matmul, or np.dot for an outer product (inner size 1), with the same result.
    rng = np.random.default_rng(4)
    a, b = (rng.standard_normal(s).astype(dtype) for s in shape)
    out = np.empty((shape[0][0], shape[1][1]), dtype)
    assert nf.blas.dot(a.T.T, b, out=out) is out
    np.testing.assert_allclose(out, a @ b, rtol=1e-6)
    np.testing.assert_allclose(nf.blas.dot(b.T, a.T), (a @ b).T, rtol=1e-6)  # transposed views
