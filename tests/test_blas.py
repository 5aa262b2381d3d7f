"""nnframe.blas.dot: a spurious floating-point flag from BLAS does not abort a product."""

from __future__ import annotations

import numpy as np
import pytest

from nnframe import functional as F


@pytest.fixture
def spurious_invalid(monkeypatch):
    """An np.dot whose first call computes the right product and then raises the invalid
    flag, as OpenBLAS's small sgemv kernel has been seen to do on finite operands."""
    real_dot = np.dot
    calls = []

    def flaky_dot(a, b, out=None):
        result = real_dot(a, b, out=out)
        calls.append(1)
        if len(calls) == 1:
            np.multiply(np.float32(np.inf), np.float32(0.0))  # sets the flag, and warns
        return result

    monkeypatch.setattr(np, "dot", flaky_dot)
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
    with pytest.warns(RuntimeWarning, match="invalid value encountered in dot"):
        y = F.linear(x, weight)
    assert np.isnan(y).all()
    with np.errstate(invalid="raise"), pytest.raises(FloatingPointError):
        x = np.array([[np.inf, 1.0], [1.0, 1.0]])
        F.linear_grad_weight(x, np.array([[0.0], [1.0]]), out=np.empty((1, 2)))
