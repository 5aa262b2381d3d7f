"""Hypothesis strategies and helpers shared by the optimizer tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import attrs
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

from nnframe import Parameter
from nnframe.optim import SGD, Adam, AdamW, Optimizer, RMSprop

STEPS = 5

learning_rates = st.floats(1e-3, 1.0)
momenta = st.floats(0.0, 0.99)
weight_decays = st.floats(0.0, 0.5)
# Smoothing constants kept away from 0 so that s - a**2 (centered RMSprop) does not cancel.
alphas = st.floats(0.5, 0.999)
epsilons = st.floats(1e-8, 1e-3)
betas = st.tuples(st.floats(0.0, 0.99), st.floats(0.0, 0.999))


@attrs.frozen
class Problem:
    """Initial parameter values and the gradients of every step."""

    values: list[np.ndarray]
    grads: list[list[np.ndarray]]

    def parameters(self) -> list[Parameter]:
        """Fresh Parameters holding copies of the initial values."""
        return [Parameter(v) for v in self.values]


@st.composite
def problems(draw: st.DrawFn, *, steps: int = STEPS, dtype: type = np.float64) -> Problem:
    """One to three parameters of small random shapes (0-d included), random gradients."""
    shapes = draw(
        st.lists(
            array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4), min_size=1, max_size=3
        )
    )
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    grad_scale = draw(st.sampled_from([1e-3, 1.0, 10.0]))
    values = [rng.standard_normal(shape).astype(dtype) for shape in shapes]
    grads = [
        [(grad_scale * rng.standard_normal(shape)).astype(dtype) for shape in shapes]
        for _ in range(steps)
    ]
    return Problem(values, grads)


def run(optimizer: Optimizer, grads: Sequence[Sequence[np.ndarray]]) -> None:
    """Take one step per entry of ``grads``, each gradient accumulated as backward would."""
    for step_grads in grads:
        optimizer.zero_grad()
        for p, g in zip(optimizer.params, step_grads, strict=True):
            p.grad += g
        optimizer.step()


def assert_values(params: Sequence[Parameter], expected: Sequence[np.ndarray]) -> None:
    """Each parameter equals its expected value to 1e-12."""
    assert len(params) == len(expected)
    for p, want in zip(params, expected, strict=True):
        np.testing.assert_allclose(p.value, want, rtol=1e-12, atol=1e-12)


OptimizerFactory = Callable[[list[Parameter]], Optimizer]


#: One optimizer of every kind, with every state array in use, for the common tests.
OPTIMIZERS: dict[str, OptimizerFactory] = {
    "SGD": lambda params: SGD(params, lr=0.1),
    "SGD-momentum": lambda params: SGD(
        params, lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01
    ),
    "SGD-nesterov": lambda params: SGD(
        params, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01
    ),
    "RMSprop": lambda params: RMSprop(params, lr=0.01),
    "RMSprop-centered-momentum": lambda params: RMSprop(
        params, lr=0.01, momentum=0.9, centered=True, weight_decay=0.01
    ),
    "Adam": lambda params: Adam(params, lr=0.01, weight_decay=0.01),
    "AdamW": lambda params: AdamW(params, lr=0.01),
}
