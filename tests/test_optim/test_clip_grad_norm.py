"""clip_grad_norm: the norm it returns, the norm it leaves, the cases it leaves alone."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nnframe import Parameter
from nnframe.errors import ArgumentError, ArgumentTypeError
from nnframe.optim import clip_grad_norm
from tests.test_optim.strategies import problems


def with_grads(grads: list[np.ndarray]) -> list[Parameter]:
    params = [Parameter(np.zeros_like(g)) for g in grads]
    for p, g in zip(params, grads, strict=True):
        p.grad += g
    return params


def global_norm(arrays: list[np.ndarray]) -> float:
    return float(np.sqrt(sum(np.sum(a.astype(np.float64) ** 2) for a in arrays)))


@given(problem=problems(steps=1), fraction=st.floats(0.01, 0.99))
def test_clip_returns_the_norm_and_leaves_max_norm(problem, fraction):
    grads = problem.grads[0]
    norm = global_norm(grads)
    params = with_grads(grads)
    returned = clip_grad_norm(params, max_norm=fraction * norm)
    assert isinstance(returned, float)
    assert returned == pytest.approx(norm, rel=1e-12)
    assert global_norm([p.grad for p in params]) == pytest.approx(fraction * norm, rel=1e-12)
    for p, g in zip(params, grads, strict=True):  # one common factor: the direction is kept
        np.testing.assert_allclose(p.grad, fraction * g, rtol=1e-12, atol=1e-300)


@given(problem=problems(steps=1), factor=st.floats(1.0 + 1e-9, 10.0))
def test_clip_changes_nothing_when_under_max_norm(problem, factor):
    grads = problem.grads[0]
    params = with_grads(grads)
    norm = clip_grad_norm(params, max_norm=factor * global_norm(grads))
    assert norm == pytest.approx(global_norm(grads), rel=1e-12)
    for p, g in zip(params, grads, strict=True):
        np.testing.assert_array_equal(p.grad, g)


def test_clip_example_and_in_place():
    params = with_grads([np.array([3.0, 0.0]), np.array([[0.0], [4.0]])])
    arrays = [p.grad for p in params]
    assert clip_grad_norm(params, 2.5) == 5.0
    assert [p.grad is a for p, a in zip(params, arrays, strict=True)] == [True, True]
    np.testing.assert_allclose(params[0].grad, [1.5, 0.0], rtol=1e-15)
    np.testing.assert_allclose(params[1].grad, [[0.0], [2.0]], rtol=1e-15)


def test_clip_keeps_float32():
    params = with_grads([np.array([30.0, 40.0], dtype=np.float32)])
    assert clip_grad_norm(params, 1.0) == pytest.approx(50.0)
    assert params[0].grad.dtype == np.float32
    np.testing.assert_allclose(params[0].grad, [0.6, 0.8], rtol=1e-6)


def test_clip_of_nothing_is_zero():
    assert clip_grad_norm([], 1.0) == 0.0


def test_clip_counts_a_shared_parameter_once():
    (p,) = with_grads([np.array([3.0, 4.0])])
    assert clip_grad_norm([p, p], 1.0) == 5.0
    np.testing.assert_allclose(p.grad, [0.6, 0.8], rtol=1e-15)


def test_clip_accepts_a_single_parameter_and_infinite_max_norm():
    (p,) = with_grads([np.array([3.0, 4.0])])
    assert clip_grad_norm(p, math.inf) == 5.0
    np.testing.assert_array_equal(p.grad, [3.0, 4.0])


def test_clip_leaves_non_finite_gradients_alone():
    params = with_grads([np.array([np.inf, 1.0]), np.array([2.0])])
    assert clip_grad_norm(params, 1.0) == math.inf
    np.testing.assert_array_equal(params[1].grad, [2.0])


@pytest.mark.parametrize(
    ("max_norm", "error"),
    [
        (0.0, ArgumentError),
        (-1.0, ArgumentError),
        (math.nan, ArgumentError),
        ("1", ArgumentTypeError),
        (None, ArgumentTypeError),
        (True, ArgumentTypeError),
    ],
)
def test_clip_rejects_bad_max_norm(max_norm, error):
    (p,) = with_grads([np.array([3.0, 4.0])])
    with pytest.raises(error, match="max_norm"):
        clip_grad_norm([p], max_norm)
    np.testing.assert_array_equal(p.grad, [3.0, 4.0])


def test_clip_rejects_non_parameters():
    with pytest.raises(ArgumentTypeError, match=r"parameters\[1\]"):
        clip_grad_norm([Parameter(np.ones(2)), np.ones(2)], 1.0)
    with pytest.raises(ArgumentTypeError, match="parameters"):
        clip_grad_norm(3, 1.0)
