"""Adam and AdamW against Kingma and Ba's algorithm 1 and PyTorch's decoupled decay."""

from __future__ import annotations

import numpy as np
from hypothesis import given

from nnframe.optim import Adam, AdamW
from tests.test_optim import reference
from tests.test_optim.strategies import (
    Problem,
    assert_values,
    betas,
    epsilons,
    learning_rates,
    problems,
    run,
    weight_decays,
)


@given(problem=problems(), lr=learning_rates, betas=betas, eps=epsilons)
def test_adam_matches_algorithm_1(problem, lr, betas, eps):
    optimizer = Adam(problem.parameters(), lr=lr, betas=betas, eps=eps)
    run(optimizer, problem.grads)
    expected = reference.adam(problem.values, problem.grads, lr=lr, betas=betas, eps=eps)
    assert_values(optimizer.params, expected)


@given(problem=problems(), lr=learning_rates, betas=betas, eps=epsilons, weight_decay=weight_decays)
def test_adam_weight_decay_enters_the_gradient(problem, lr, betas, eps, weight_decay):
    optimizer = Adam(problem.parameters(), lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
    run(optimizer, problem.grads)
    expected = reference.adam(
        problem.values, problem.grads, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay
    )
    assert_values(optimizer.params, expected)


@given(problem=problems(), lr=learning_rates, betas=betas, eps=epsilons, weight_decay=weight_decays)
def test_adamw_decays_the_parameters_directly(problem, lr, betas, eps, weight_decay):
    optimizer = AdamW(problem.parameters(), lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
    run(optimizer, problem.grads)
    expected = reference.adamw(
        problem.values, problem.grads, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay
    )
    assert_values(optimizer.params, expected)


def test_adam_adds_eps_after_bias_correction():
    # One step, g = 1e-4, eps = 1e-4: v_hat = g**2, so the step is lr * g / (g + eps) = lr / 2.
    # Adding eps to sqrt(v) before correcting (sqrt(v) = sqrt(1 - beta2) * g) would give
    # a different step.
    optimizer = Adam(Problem([np.zeros(1)], []).parameters(), lr=1.0, eps=1e-4)
    optimizer.params[0].grad[...] = 1e-4
    optimizer.step()
    np.testing.assert_allclose(optimizer.params[0].value, [-0.5], rtol=1e-12)


def test_adamw_default_weight_decay_is_pytorchs():
    params = Problem([np.zeros(1)], []).parameters()
    assert AdamW(params).weight_decay == 0.01
    assert Adam(params).weight_decay == 0.0
    assert Adam(params).betas == (0.9, 0.999)
