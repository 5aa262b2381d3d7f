"""Sequential: order, indexing, nesting, gradients and error paths."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnframe as nf
from nnframe.errors import ArgumentTypeError, ShapeError
from tests.helpers import batches


@st.composite
def smooth_stacks(draw):
    """Random Sequentials of Linear / Sigmoid / Tanh (smooth everywhere), possibly nested."""
    width = draw(st.integers(1, 5))
    first = width
    layers = []
    for depth in range(draw(st.integers(1, 4))):
        out = draw(st.integers(1, 5))
        block = [nf.Linear(width, out, rng=depth, dtype=np.float64)]
        block.append(draw(st.sampled_from([nf.Sigmoid, nf.Tanh]))())
        layers.append(nf.Sequential(*block) if draw(st.booleans()) else block[0])
        if not isinstance(layers[-1], nf.Sequential):
            layers.append(block[1])
        width = out
    return first, nf.Sequential(*layers)


@settings(deadline=None)
@given(data=st.data())
def test_sequential_gradients_match_central_differences(data):
    width, model = data.draw(smooth_stacks())
    x = data.draw(batches(features=width, max_batch=64))
    nf.assert_gradients(model, x)


@settings(deadline=None)
@given(x=batches(features=3, max_batch=32, kinks=nf.ReLU.kinks), seed=st.integers(0, 1000))
def test_relu_first_mlp_gradients(x, seed):
    model = nf.Sequential(
        nf.ReLU(), nf.Linear(3, 4, rng=seed), nf.Tanh(), nf.Linear(4, 2, rng=seed)
    )
    nf.assert_gradients(model, x)


def test_sequential_forward_in_order_backward_in_reverse(rng):
    a, b = nf.Linear(3, 4, rng=0, dtype=np.float64), nf.Linear(4, 2, rng=1, dtype=np.float64)
    model = nf.Sequential(a, nf.Tanh(), b)
    x = rng.standard_normal((5, 3))
    np.testing.assert_allclose(model(x), b(np.tanh(a(x))))
    g = rng.standard_normal((5, 2))
    grad_x = model.backward(g, input_grad=True)
    expected = (g @ b.weight.value) * (1 - np.tanh(x @ a.weight.value.T + a.bias.value) ** 2)
    np.testing.assert_allclose(grad_x, expected @ a.weight.value)


def test_sequential_indexing_len_iteration_and_append():
    layers = [nf.Linear(2, 3, rng=0), nf.ReLU(), nf.Linear(3, 1, rng=1)]
    model = nf.Sequential(*layers[:2])
    assert model.append(layers[2]) is model
    assert len(model) == 3 and list(model) == layers
    assert model[0] is layers[0] and model[-1] is layers[2]
    head = model[:2]
    assert isinstance(head, nf.Sequential) and list(head) == layers[:2]
    with pytest.raises(ArgumentTypeError, match="position 3"):
        model.append(np.tanh)


def test_sequential_rejects_non_layers():
    with pytest.raises(ArgumentTypeError, match="position 1 is a ufunc"):
        nf.Sequential(nf.ReLU(), np.tanh)


def test_errors_in_nested_sequentials_name_the_full_path(rng):
    model = nf.Sequential(
        nf.Linear(3, 4, rng=0), nf.ReLU(), nf.Sequential(nf.Tanh(), nf.Linear(5, 2, rng=1))
    )
    with pytest.raises(ShapeError) as info:
        model(rng.standard_normal((2, 3)))
    assert info.value.__notes__ == ["in Sequential[2][1] Linear(5 -> 2)"]
    assert "(batch, 5)" in str(info.value) and "(2, 4)" in str(info.value)


def test_empty_sequential_is_the_identity():
    x = np.ones((2, 3))
    assert nf.Sequential()(x) is x
    assert repr(nf.Sequential()) == "Sequential()"
