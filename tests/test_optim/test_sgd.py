"""SGD against its published update rule, and its relation to the course's momentum."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nnframe.errors import ArgumentError
from nnframe.optim import SGD
from tests.test_optim import reference
from tests.test_optim.strategies import (
    Problem,
    assert_values,
    learning_rates,
    momenta,
    problems,
    run,
    weight_decays,
)


def check_sgd(problem: Problem, **hyperparameters: float | bool) -> None:
    optimizer = SGD(problem.parameters(), **hyperparameters)
    run(optimizer, problem.grads)
    expected = reference.sgd(problem.values, problem.grads, **hyperparameters)
    assert_values(optimizer.params, expected)


@given(problem=problems(), lr=learning_rates)
def test_sgd_plain_matches_the_rule(problem, lr):
    check_sgd(problem, lr=lr)


@given(problem=problems(), lr=learning_rates, momentum=momenta)
def test_sgd_momentum_matches_the_rule(problem, lr, momentum):
    check_sgd(problem, lr=lr, momentum=momentum)


@given(problem=problems(), lr=learning_rates, momentum=momenta, dampening=st.floats(0.0, 1.0))
def test_sgd_dampening_matches_the_rule_first_step_included(problem, lr, momentum, dampening):
    check_sgd(problem, lr=lr, momentum=momentum, dampening=dampening)


@given(problem=problems(), lr=learning_rates, momentum=st.floats(0.01, 0.99))
def test_sgd_nesterov_matches_the_rule(problem, lr, momentum):
    check_sgd(problem, lr=lr, momentum=momentum, nesterov=True)


@given(
    problem=problems(),
    lr=learning_rates,
    momentum=momenta,
    weight_decay=weight_decays,
    nesterov=st.booleans(),
)
def test_sgd_weight_decay_matches_the_rule(problem, lr, momentum, weight_decay, nesterov):
    check_sgd(
        problem,
        lr=lr,
        momentum=momentum if not nesterov else max(momentum, 0.1),
        nesterov=nesterov,
        weight_decay=weight_decay,
    )


def test_sgd_first_momentum_step_uses_the_undampened_gradient():
    optimizer = SGD(Problem([np.zeros(3)], []).parameters(), lr=1.0, momentum=0.5, dampening=0.5)
    p = optimizer.params[0]
    p.grad[...] = [1.0, 2.0, 4.0]
    optimizer.step()
    np.testing.assert_array_equal(p.value, [-1.0, -2.0, -4.0])  # buffer = g, not 0.5 * g
    optimizer.step()  # buffer = 0.5 * g + 0.5 * g = g again
    np.testing.assert_array_equal(p.value, [-2.0, -4.0, -8.0])


@given(problem=problems(), learning_rate=learning_rates, beta=st.floats(0.0, 0.99))
def test_course_momentum_is_sgd_with_lr_times_one_minus_beta(problem, learning_rate, beta):
    optimizer = SGD(problem.parameters(), lr=learning_rate * (1.0 - beta), momentum=beta)
    run(optimizer, problem.grads)
    course = reference.course_momentum(
        problem.values, problem.grads, learning_rate=learning_rate, beta=beta
    )
    assert_values(optimizer.params, course)


@given(problem=problems(), learning_rate=learning_rates, beta=st.floats(0.1, 0.99))
def test_course_momentum_differs_from_dampening_beta_by_a_decaying_first_gradient(
    problem, learning_rate, beta
):
    # The buffer of SGD(momentum=beta, dampening=beta) exceeds the course's v by
    # beta**t * g_1 at step t, so after T steps the parameters differ by
    # -learning_rate * g_1 * (beta + beta**2 + ... + beta**T).
    optimizer = SGD(problem.parameters(), lr=learning_rate, momentum=beta, dampening=beta)
    run(optimizer, problem.grads)
    course = reference.course_momentum(
        problem.values, problem.grads, learning_rate=learning_rate, beta=beta
    )
    total = sum(beta**t for t in range(1, len(problem.grads) + 1))
    for p, want, g1 in zip(optimizer.params, course, problem.grads[0], strict=True):
        np.testing.assert_allclose(
            p.value - want, -learning_rate * total * g1, rtol=1e-9, atol=1e-12
        )


@pytest.mark.parametrize(
    ("kwargs", "names"),
    [
        ({"nesterov": True}, ["nesterov", "momentum"]),
        ({"nesterov": True, "momentum": 0.9, "dampening": 0.1}, ["nesterov", "dampening"]),
    ],
)
def test_sgd_nesterov_needs_momentum_and_no_dampening(kwargs, names):
    with pytest.raises(ArgumentError) as info:
        SGD(Problem([np.zeros(1)], []).parameters(), lr=0.1, **kwargs)
    for name in names:
        assert name in str(info.value)


def test_sgd_momentum_cannot_be_set_to_zero_under_nesterov():
    optimizer = SGD(Problem([np.zeros(1)], []).parameters(), lr=0.1, momentum=0.9, nesterov=True)
    with pytest.raises(ArgumentError, match="nesterov"):
        optimizer.momentum = 0.0
    assert optimizer.momentum == 0.9


def test_sgd_needs_a_learning_rate():
    with pytest.raises(TypeError, match="lr"):
        SGD(Problem([np.zeros(1)], []).parameters())


def test_sgd_hyperparameters_after_lr_are_keyword_only():
    with pytest.raises(TypeError):
        SGD(Problem([np.zeros(1)], []).parameters(), 0.1, 0.9)
