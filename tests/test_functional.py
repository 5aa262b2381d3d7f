"""nnframe.functional on n-d arrays: linear on (..., in), batch norm on (N, C, ...).

Gradients against central differences in float64, n-d results against the 2-d computation
on reshaped data, 2-d results against the formulas before n-d support (bit for bit), and
against PyTorch when it is installed.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnframe import functional as F

# -- helpers -----------------------------------------------------------------------------


def numeric_gradient(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of ``f()`` with respect to ``x``, which it reads (float64)."""
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        old = x[index]
        x[index] = old + eps
        plus = f()
        x[index] = old - eps
        minus = f()
        x[index] = old
        grad[index] = (plus - minus) / (2 * eps)
    return grad


def assert_close(actual: np.ndarray, expected: np.ndarray) -> None:
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-7)


seeds = st.integers(0, 2**32 - 1)


@st.composite
def leading_shapes(draw: st.DrawFn) -> tuple[int, ...]:
    """``*`` of PyTorch's ``(*, in)``: no axis (a single row) up to three."""
    return tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=3)))


@st.composite
def channel_shapes(draw: st.DrawFn, ndims: tuple[int, ...] = (3, 4)) -> tuple[int, ...]:
    """``(N, C, *spatial)`` with 1 or 2 spatial axes."""
    ndim = draw(st.sampled_from(ndims))
    batch, channels = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    spatial = tuple(draw(st.integers(1, 3)) for _ in range(ndim - 2))
    if ndim > 2 and batch * np.prod(spatial) < 2:
        batch = 2  # batch statistics need two values per channel
    return (batch, channels, *spatial)


# -- linear on (..., in) -----------------------------------------------------------------


@settings(deadline=None)
@given(
    lead=leading_shapes(),
    n_in=st.integers(1, 4),
    n_out=st.integers(1, 3),
    bias=st.booleans(),
    seed=seeds,
)
def test_linear_gradients_on_leading_axes_match_central_differences(lead, n_in, n_out, bias, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, (*lead, n_in))
    weight = rng.uniform(-2, 2, (n_out, n_in))
    b = rng.uniform(-2, 2, n_out) if bias else None
    projection = rng.standard_normal((*lead, n_out))

    def value() -> float:
        return float(np.sum(projection * F.linear(x, weight, b)))

    y = F.linear(x, weight, b)
    assert y.shape == (*lead, n_out)
    expected = np.einsum("...i,oi->...o", x, weight) + (0 if b is None else b)
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)
    assert_close(F.linear_grad_input(projection, weight), numeric_gradient(value, x))
    assert_close(F.linear_grad_weight(x, projection), numeric_gradient(value, weight))
    if b is not None:
        assert_close(F.linear_grad_bias(projection), numeric_gradient(value, b))
    grad_x, grad_weight, grad_bias = F.linear_grad(x, weight, projection)
    assert grad_x.shape == x.shape and grad_weight.shape == weight.shape
    assert grad_bias.shape == (n_out,)


@given(
    lead=leading_shapes(),
    n_in=st.integers(1, 4),
    n_out=st.integers(1, 3),
    seed=seeds,
)
def test_linear_on_leading_axes_is_the_2d_computation_on_the_rows(lead, n_in, n_out, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((*lead, n_in))
    weight, b = rng.standard_normal((n_out, n_in)), rng.standard_normal(n_out)
    grad_y = rng.standard_normal((*lead, n_out))
    rows, grad_rows = x.reshape(-1, n_in), grad_y.reshape(-1, n_out)
    np.testing.assert_array_equal(
        F.linear(x, weight, b), F.linear(rows, weight, b).reshape(*lead, n_out)
    )
    np.testing.assert_array_equal(
        F.linear_grad_input(grad_y, weight),
        F.linear_grad_input(grad_rows, weight).reshape(*lead, n_in),
    )
    np.testing.assert_array_equal(
        F.linear_grad_weight(x, grad_y), F.linear_grad_weight(rows, grad_rows)
    )
    np.testing.assert_array_equal(F.linear_grad_bias(grad_y), F.linear_grad_bias(grad_rows))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_2d_results_are_bit_identical_to_the_plain_formulas(dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((7, 5)).astype(dtype)
    weight, b = rng.standard_normal((3, 5)).astype(dtype), rng.standard_normal(3).astype(dtype)
    grad_y = rng.standard_normal((7, 3)).astype(dtype)
    np.testing.assert_array_equal(F.linear(x, weight, b), np.dot(x, weight.T) + b)
    np.testing.assert_array_equal(F.linear_grad_weight(x, grad_y), np.dot(grad_y.T, x))
    np.testing.assert_array_equal(F.linear_grad_bias(grad_y), np.add.reduce(grad_y, axis=0))
    np.testing.assert_array_equal(F.linear_grad_input(grad_y, weight), np.dot(grad_y, weight))
    assert F.linear(x, weight, b).dtype == dtype


def test_linear_gradients_write_into_out_on_leading_axes():
    rng = np.random.default_rng(1)
    x, grad_y = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 5))
    weight = rng.standard_normal((5, 4))
    rows, grad_rows = x.reshape(6, 4), grad_y.reshape(6, 5)

    out = np.full((5, 4), np.nan)
    assert F.linear_grad_weight(x, grad_y, out=out) is out
    np.testing.assert_array_equal(out, np.dot(grad_rows.T, rows))  # written, not added to

    out = np.full(5, np.nan)
    assert F.linear_grad_bias(grad_y, out=out) is out
    np.testing.assert_array_equal(out, grad_rows.sum(axis=0))

    expected = np.dot(grad_rows, weight).reshape(2, 3, 4)
    out = np.full((2, 3, 4), np.nan)
    assert F.linear_grad_input(grad_y, weight, out=out) is out
    np.testing.assert_array_equal(out, expected)
    out = np.full((4, 3, 2), np.nan).T  # not C-contiguous: still written in place
    assert F.linear_grad_input(grad_y, weight, out=out) is out
    np.testing.assert_array_equal(out, expected)


def test_linear_gradients_do_not_copy_contiguous_inputs():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((64, 32, 128))  # 2 MiB
    grad_y = rng.standard_normal((64, 32, 4))
    out = np.empty((4, 128))
    tracemalloc.start()
    try:
        F.linear_grad_weight(x, grad_y, out=out)
        F.linear_grad_bias(grad_y, out=np.empty(4))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < x.nbytes // 4


def test_linear_on_a_transposed_input_is_still_right():
    # Not contiguous: the rows are a copy, and the result must not depend on it.
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 3, 2)).transpose(2, 1, 0)  # (2, 3, 4), F-ordered
    weight, grad_y = rng.standard_normal((5, 4)), rng.standard_normal((2, 3, 5))
    np.testing.assert_allclose(F.linear(x, weight), np.einsum("abi,oi->abo", x, weight))
    np.testing.assert_allclose(F.linear_grad_weight(x, grad_y), np.einsum("abo,abi->oi", grad_y, x))


def test_linear_matches_torch_on_leading_axes():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    x, weight, b = (
        rng.standard_normal((2, 3, 4)),
        rng.standard_normal((5, 4)),
        rng.standard_normal(5),
    )
    grad_y = rng.standard_normal((2, 3, 5))
    tensors = [torch.tensor(a, requires_grad=True) for a in (x, weight, b)]
    y = torch.nn.functional.linear(*tensors)
    y.backward(torch.tensor(grad_y))
    np.testing.assert_allclose(F.linear(x, weight, b), y.detach().numpy(), rtol=1e-12)
    x_t, weight_t, b_t = tensors
    np.testing.assert_allclose(F.linear_grad_input(grad_y, weight), x_t.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(F.linear_grad_weight(x, grad_y), weight_t.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(F.linear_grad_bias(grad_y), b_t.grad.numpy(), rtol=1e-12)


# -- batch norm on (N, C, ...) -----------------------------------------------------------

# A large eps keeps 1 / sqrt(var + eps) moderate when hypothesis draws a near-constant
# channel, so central differences stay accurate; the gradient formulas do not depend on it.
EPS = 0.1


def batch_norm_problem(shape: tuple[int, ...], seed: int):
    rng = np.random.default_rng(seed)
    channels = shape[1]
    x = rng.uniform(-3, 3, shape)
    weight, bias = rng.uniform(-2, 2, channels), rng.uniform(-2, 2, channels)
    projection = rng.standard_normal(shape)
    return x, weight, bias, projection


def channels_last_rows(a: np.ndarray) -> np.ndarray:
    """``(N, C, *spatial)`` as ``(N * prod(spatial), C)`` rows, one per position."""
    return np.moveaxis(a, 1, -1).reshape(-1, a.shape[1])


@given(shape=channel_shapes(ndims=(2, 3, 4, 5)), seed=seeds)
def test_moments_are_per_channel_over_batch_and_positions(shape, seed):
    x = np.random.default_rng(seed).standard_normal(shape)
    mean, var = F.moments(x)
    assert mean.shape == var.shape == (shape[1],)
    for c in range(shape[1]):
        values = x[:, c].ravel()
        assert mean[c] == pytest.approx(values.mean(), rel=1e-12, abs=1e-14)
        assert var[c] == pytest.approx(values.var(), rel=1e-12, abs=1e-14)


def test_moments_with_an_explicit_axis_reduce_that_axis():
    x = np.arange(24.0).reshape(2, 3, 4)
    mean, var = F.moments(x, axis=0)
    np.testing.assert_array_equal(mean, x.mean(axis=0))
    np.testing.assert_array_equal(var, x.var(axis=0))
    mean, var = F.moments(x, axis=(0, 2))
    np.testing.assert_allclose(var, x.var(axis=(0, 2)))


@settings(deadline=None)
@given(shape=channel_shapes(), seed=seeds)
def test_batch_norm_gradients_with_batch_statistics_match_central_differences(shape, seed):
    x, weight, bias, projection = batch_norm_problem(shape, seed)

    def value() -> float:
        y, _, _ = F.batch_norm(x, *F.moments(x), weight, bias, EPS)
        return float(np.sum(projection * y))

    _, x_hat, inv_std = F.batch_norm(x, *F.moments(x), weight, bias, EPS)
    assert x_hat.shape == shape and inv_std.shape == (shape[1],)
    grad_x, grad_weight, grad_bias = F.batch_norm_grad(x_hat, inv_std, weight, projection)
    assert_close(grad_x, numeric_gradient(value, x))
    assert_close(grad_weight, numeric_gradient(value, weight))
    assert_close(grad_bias, numeric_gradient(value, bias))


@settings(deadline=None)
@given(shape=channel_shapes(), seed=seeds)
def test_batch_norm_gradients_with_fixed_statistics_match_central_differences(shape, seed):
    x, weight, bias, projection = batch_norm_problem(shape, seed)
    rng = np.random.default_rng(seed + 1)
    mean, var = rng.uniform(-1, 1, shape[1]), rng.uniform(0.1, 2, shape[1])

    def value() -> float:
        y, _, _ = F.batch_norm(x, mean, var, weight, bias, EPS)
        return float(np.sum(projection * y))

    _, x_hat, inv_std = F.batch_norm(x, mean, var, weight, bias, EPS)
    grad_x, grad_weight, grad_bias = F.batch_norm_grad(
        x_hat, inv_std, weight, projection, batch_statistics=False
    )
    assert_close(grad_x, numeric_gradient(value, x))
    assert_close(grad_weight, numeric_gradient(value, weight))
    assert_close(grad_bias, numeric_gradient(value, bias))


@given(shape=channel_shapes(), seed=seeds, batch_statistics=st.booleans())
def test_batch_norm_on_channels_is_the_2d_computation_on_each_position(
    shape, seed, batch_statistics
):
    x, weight, bias, grad_y = batch_norm_problem(shape, seed)
    rows, grad_rows = channels_last_rows(x), channels_last_rows(grad_y)
    mean, var = F.moments(x)
    row_mean, row_var = F.moments(rows)
    np.testing.assert_allclose(mean, row_mean, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(var, row_var, rtol=1e-12, atol=1e-14)

    y, x_hat, inv_std = F.batch_norm(x, mean, var, weight, bias, 1e-5)
    row_y, row_x_hat, row_inv_std = F.batch_norm(rows, mean, var, weight, bias, 1e-5)
    np.testing.assert_array_equal(channels_last_rows(y), row_y)
    np.testing.assert_array_equal(inv_std, row_inv_std)
    grads = F.batch_norm_grad(x_hat, inv_std, weight, grad_y, batch_statistics=batch_statistics)
    row_grads = F.batch_norm_grad(
        row_x_hat, row_inv_std, weight, grad_rows, batch_statistics=batch_statistics
    )
    np.testing.assert_allclose(channels_last_rows(grads[0]), row_grads[0], rtol=1e-9, atol=1e-9)
    for grad, row_grad in zip(grads[1:], row_grads[1:], strict=True):
        np.testing.assert_allclose(grad, row_grad, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch_statistics", [True, False])
def test_batch_norm_2d_results_are_bit_identical_to_the_row_formulas(dtype, batch_statistics):
    # The formulas of the 2-d-only functions, written out: 2-d numbers must not move.
    rng = np.random.default_rng(5)
    x = rng.standard_normal((6, 4)).astype(dtype)
    weight, bias = rng.standard_normal(4).astype(dtype), rng.standard_normal(4).astype(dtype)
    grad_y = rng.standard_normal((6, 4)).astype(dtype)
    mean = np.mean(x, axis=0)
    centred = x - np.expand_dims(mean, 0)
    var = np.mean(centred * centred, axis=0)
    np.testing.assert_array_equal(F.moments(x)[0], mean)
    np.testing.assert_array_equal(F.moments(x)[1], var)

    inv_std = 1 / np.sqrt(var + 1e-5)
    x_hat = (x - mean) * inv_std
    y = x_hat * weight
    y += bias
    for actual, expected in zip(
        F.batch_norm(x, mean, var, weight, bias, 1e-5), (y, x_hat, inv_std), strict=True
    ):
        np.testing.assert_array_equal(actual, expected)

    grad_bias = np.sum(grad_y, axis=0)
    grad_weight = np.sum(grad_y * x_hat, axis=0)
    scale = weight * inv_std
    if batch_statistics:
        grad_x = grad_y - grad_bias / 6
        grad_x -= x_hat * (grad_weight / 6)
        grad_x *= scale
    else:
        grad_x = grad_y * scale
    actual = F.batch_norm_grad(x_hat, inv_std, weight, grad_y, batch_statistics=batch_statistics)
    for got, expected in zip(actual, (grad_x, grad_weight, grad_bias), strict=True):
        np.testing.assert_array_equal(got, expected)
        assert got.dtype == dtype


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", [(4, 3), (4, 3, 5), (2, 3, 4, 5), (2, 2, 2, 3, 2)])
def test_batch_norm_matches_torch(shape, training):
    torch = pytest.importorskip("torch")
    x, weight, bias, grad_y = batch_norm_problem(shape, seed=6)
    rng = np.random.default_rng(7)
    running_mean, running_var = rng.uniform(-1, 1, shape[1]), rng.uniform(0.5, 2, shape[1])
    tensors = [torch.tensor(a, requires_grad=True) for a in (x, weight, bias)]
    y_t = torch.nn.functional.batch_norm(
        tensors[0],
        torch.tensor(running_mean),
        torch.tensor(running_var),
        tensors[1],
        tensors[2],
        training=training,
        eps=1e-5,
    )
    y_t.backward(torch.tensor(grad_y))

    mean, var = F.moments(x) if training else (running_mean, running_var)
    y, x_hat, inv_std = F.batch_norm(x, mean, var, weight, bias, 1e-5)
    grads = F.batch_norm_grad(x_hat, inv_std, weight, grad_y, batch_statistics=training)
    np.testing.assert_allclose(y, y_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    for grad, tensor in zip(grads, tensors, strict=True):
        np.testing.assert_allclose(grad, tensor.grad.numpy(), rtol=1e-9, atol=1e-11)


def test_batch_norm_keeps_float32():
    x = np.random.default_rng(8).standard_normal((2, 3, 4, 4)).astype(np.float32)
    ones, zeros = np.ones(3, np.float32), np.zeros(3, np.float32)
    mean, var = F.moments(x)
    y, x_hat, inv_std = F.batch_norm(x, mean, var, ones, zeros, 1e-5)
    grads = F.batch_norm_grad(x_hat, inv_std, ones, np.ones_like(y))
    assert {a.dtype for a in (mean, var, y, x_hat, inv_std, *grads)} == {np.dtype(np.float32)}
