"""RMSprop against its published update rule."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from nnframe.optim import RMSprop
from tests.test_optim import reference
from tests.test_optim.strategies import (
    Problem,
    alphas,
    assert_values,
    epsilons,
    learning_rates,
    momenta,
    problems,
    run,
    weight_decays,
)


def check_rmsprop(problem: Problem, **hyperparameters: float | bool) -> None:
    optimizer = RMSprop(problem.parameters(), **hyperparameters)
    run(optimizer, problem.grads)
    expected = reference.rmsprop(problem.values, problem.grads, **hyperparameters)
    assert_values(optimizer.params, expected)


@given(problem=problems(), lr=learning_rates, alpha=alphas, eps=epsilons)
def test_rmsprop_plain_matches_the_rule(problem, lr, alpha, eps):
    check_rmsprop(problem, lr=lr, alpha=alpha, eps=eps)


@given(problem=problems(), lr=learning_rates, alpha=alphas, eps=epsilons)
def test_rmsprop_centered_matches_the_rule(problem, lr, alpha, eps):
    check_rmsprop(problem, lr=lr, alpha=alpha, eps=eps, centered=True)


@given(
    problem=problems(),
    lr=learning_rates,
    alpha=alphas,
    eps=epsilons,
    momentum=momenta,
    centered=st.booleans(),
)
def test_rmsprop_momentum_matches_the_rule(problem, lr, alpha, eps, momentum, centered):
    check_rmsprop(problem, lr=lr, alpha=alpha, eps=eps, momentum=momentum, centered=centered)


@given(
    problem=problems(),
    lr=learning_rates,
    alpha=alphas,
    weight_decay=weight_decays,
    momentum=momenta,
    centered=st.booleans(),
)
def test_rmsprop_weight_decay_matches_the_rule(
    problem, lr, alpha, weight_decay, momentum, centered
):
    check_rmsprop(
        problem,
        lr=lr,
        alpha=alpha,
        eps=1e-8,
        weight_decay=weight_decay,
        momentum=momentum,
        centered=centered,
    )


def test_rmsprop_defaults_are_pytorchs():
    optimizer = RMSprop(Problem([np.zeros(1)], []).parameters())
    assert optimizer.hyperparameters() == {
        "lr": 0.01,
        "alpha": 0.99,
        "eps": 1e-8,
        "weight_decay": 0.0,
        "momentum": 0.0,
        "centered": False,
    }
