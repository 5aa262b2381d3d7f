"""What every optimizer shares: state_dict round trips, in-place float32 updates."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nnframe import Parameter
from nnframe.errors import StateDictError
from nnframe.optim import SGD
from tests.test_optim.strategies import OPTIMIZERS, problems, run


@pytest.mark.parametrize("name", OPTIMIZERS)
@given(problem=problems(steps=7), k=st.integers(0, 5))
def test_state_dict_round_trip_continues_identically(name, problem, k):
    make = OPTIMIZERS[name]
    first = make(problem.parameters())
    run(first, problem.grads[:k])
    state = first.state_dict()

    second = make([Parameter(p.value) for p in first.params])
    second.lr = 3.0 * second.lr + 0.5  # the state dict must bring the learning rate back
    second.load_state_dict(state)
    for value in state.values():  # loading copies: the dict can be reused or changed
        if isinstance(value, np.ndarray):
            value[...] = np.nan

    run(first, problem.grads[k:])
    run(second, problem.grads[k:])
    assert second.step_count == first.step_count == len(problem.grads)
    assert second.hyperparameters() == first.hyperparameters()
    for a, b in zip(first.params, second.params, strict=True):
        assert np.array_equal(a.value, b.value)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_state_dict_holds_python_scalars_and_arrays_only(name, rng):
    optimizer = OPTIMIZERS[name](
        [Parameter(rng.standard_normal((2, 3))), Parameter(rng.standard_normal(4))]
    )
    run(optimizer, [[rng.standard_normal((2, 3)), rng.standard_normal(4)]] * 2)
    state = optimizer.state_dict()
    scalars = {k: v for k, v in state.items() if not isinstance(v, np.ndarray)}
    arrays = {k: v for k, v in state.items() if isinstance(v, np.ndarray)}
    assert all(type(v) in (float, int, bool) for v in scalars.values())
    assert json.loads(json.dumps(scalars)) == scalars
    assert scalars["step_count"] == 2
    assert scalars["num_parameters"] == 2
    assert all(k.startswith(("state.0.", "state.1.")) for k in arrays)
    if name != "SGD":
        assert arrays, "a stateful optimizer saves its state arrays"
    for key, value in arrays.items():
        assert value.shape == optimizer.params[int(key.split(".")[1])].shape


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_state_dict_returns_copies(name, rng):
    optimizer = OPTIMIZERS[name]([Parameter(rng.standard_normal(3))])
    run(optimizer, [[rng.standard_normal(3)]])
    state = optimizer.state_dict()
    saved = {k: v.copy() for k, v in state.items() if isinstance(v, np.ndarray)}
    run(optimizer, [[rng.standard_normal(3)]])
    for key, value in saved.items():
        np.testing.assert_array_equal(state[key], value)


@pytest.mark.parametrize("name", OPTIMIZERS)
@given(problem=problems(dtype=np.float32))
def test_float32_parameters_stay_float32_and_update_in_place(name, problem):
    params = problem.parameters()
    values = [p.value for p in params]
    grads = [p.grad for p in params]
    optimizer = OPTIMIZERS[name](params)
    run(optimizer, problem.grads)
    for p, value, grad in zip(params, values, grads, strict=True):
        assert p.value is value
        assert p.grad is grad
        assert p.value.dtype == np.float32
        for array in optimizer.state[p].values():
            assert array.dtype == np.float32
    # And the float32 run follows the float64 one to float32 accuracy.
    wide = OPTIMIZERS[name]([Parameter(v.astype(np.float64)) for v in problem.values])
    run(wide, [[g.astype(np.float64) for g in step] for step in problem.grads])
    for p, q in zip(params, wide.params, strict=True):
        np.testing.assert_allclose(p.value, q.value, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_state_follows_the_parameter_dtype_after_astype(name, rng):
    p = Parameter(rng.standard_normal(3).astype(np.float32))
    optimizer = OPTIMIZERS[name]([p])
    run(optimizer, [[rng.standard_normal(3).astype(np.float32)]])
    p.astype(np.float64)
    run(optimizer, [[rng.standard_normal(3)]])
    assert p.value.dtype == np.float64
    for array in optimizer.state[p].values():
        assert array.dtype == np.float64


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_step_leaves_gradients_and_zero_grad_clears_them(name, rng):
    optimizer = OPTIMIZERS[name](
        [Parameter(rng.standard_normal(3)), Parameter(rng.standard_normal((2, 2)))]
    )
    for p in optimizer.params:
        p.grad += 1.0
    optimizer.step()
    assert all(np.all(p.grad == 1.0) for p in optimizer.params)
    optimizer.zero_grad()
    assert all(not p.grad.any() for p in optimizer.params)
    assert optimizer.step_count == 1


@pytest.mark.parametrize("index", ["\u0660", "00", "\uff10", "01"])
def test_state_indices_must_be_plain_ascii_digits(index):
    p = Parameter(np.zeros(2))
    optimizer = SGD([p], lr=0.1, momentum=0.9)
    optimizer.step()
    state = {k.replace("state.0.", f"state.{index}."): v for k, v in optimizer.state_dict().items()}
    with pytest.raises(StateDictError, match="unexpected"):
        optimizer.load_state_dict(state)
