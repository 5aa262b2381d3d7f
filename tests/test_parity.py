"""nnframe.stepwise against the framework (Sequential, Linear, losses, SGD) on the same weights.

The course's arrays are columns, the framework's rows: ``A[l]`` is the activation ``.T``.
Its ``dA``/``dZ`` are m times the gradient of the mean cost (``dAL`` has no 1/m, and
``linear_backward`` puts 1/m only into dW and db), while nnframe's losses average. So
``grad_weight == dW`` and ``grad_bias == db.ravel()``, but ``grad_x == dA0.T / m``
(STYLE.md section 7, the parity note).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import nnframe as nf
from nnframe import stepwise as sw
from nnframe.errors import ArgumentError, DTypeError, ShapeError
from nnframe.optim import SGD


def make_course_network(
    seed: int, layer_dims: list[int], m: int, dtype: type = np.float64
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """X of shape (n_x, m), labels Y of shape (1, m), and the course's parameters dict."""
    rng = np.random.default_rng(seed)
    parameters = {}
    for l in range(1, len(layer_dims)):  # noqa: E741
        parameters[f"W{l}"] = rng.standard_normal((layer_dims[l], layer_dims[l - 1])).astype(dtype)
        parameters[f"b{l}"] = rng.standard_normal((layer_dims[l], 1)).astype(dtype)
    X = rng.standard_normal((layer_dims[0], m)).astype(dtype)
    Y = rng.integers(0, 2, (1, m))
    # Scale the last layer so that |Z_L| <= 5: AL stays well inside (0, 1), where the
    # course's dAL and compute_cost are defined and accurate (sigmoid(z) rounds to exactly
    # 1 from z = 36.7 in float64, 16.6 in float32).
    _, caches = sw.L_model_forward(X, parameters)
    L = len(layer_dims) - 1
    scale = dtype(min(1.0, 5.0 / np.max(np.abs(caches[-1][1]))))
    parameters[f"W{L}"] *= scale
    parameters[f"b{L}"] *= scale
    return X, Y, parameters


def linears(model: nf.Sequential) -> list[nf.Linear]:
    return [layer for layer in model if isinstance(layer, nf.Linear)]


networks = st.tuples(
    st.integers(0, 2**32 - 1),
    st.lists(st.integers(1, 6), min_size=1, max_size=3).map(lambda hidden: [*hidden, 1]),
    st.integers(1, 8),
)


# -- forward and backward ----------------------------------------------------------------


@given(network=networks)
def test_L_model_forward_equals_the_sequential_forward(network: tuple[int, list[int], int]) -> None:
    seed, hidden_and_output, m = network
    X, _, parameters = make_course_network(seed, [3, *hidden_and_output], m)
    AL, _ = sw.L_model_forward(X, parameters)
    model = sw.to_sequential(parameters)
    # The same functional code on the same arrays: equal bit for bit.
    assert np.array_equal(model(X.T).T, AL)


@given(network=networks)
def test_L_model_backward_matches_the_sequential_backward(
    network: tuple[int, list[int], int],
) -> None:
    seed, hidden_and_output, m = network
    X, Y, parameters = make_course_network(seed, [3, *hidden_and_output], m)
    AL, caches = sw.L_model_forward(X, parameters)
    grads = sw.L_model_backward(AL, Y, caches)

    model = sw.to_sequential(parameters)
    out = model(X.T)
    # The gradient of the mean cost with respect to the model's output (its Sigmoid's).
    grad_x = model.backward(-(Y / AL - (1 - Y) / (1 - AL)).T / m, input_grad=True)

    for l, linear in enumerate(linears(model), start=1):  # noqa: E741
        np.testing.assert_allclose(linear.weight.grad, grads[f"dW{l}"], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(
            linear.bias.grad, grads[f"db{l}"].ravel(), rtol=1e-12, atol=1e-12
        )
    np.testing.assert_allclose(grad_x, grads["dA0"].T / m, rtol=1e-12, atol=1e-12)
    assert out.shape == (m, 1)


def test_a_parity_test_expecting_equal_dA_would_fail_for_the_right_reason() -> None:
    X, Y, parameters = make_course_network(0, [3, 4, 1], 5)
    AL, caches = sw.L_model_forward(X, parameters)
    grads = sw.L_model_backward(AL, Y, caches)
    model = sw.to_sequential(parameters)
    model(X.T)
    grad_x = model.backward(-(Y / AL - (1 - Y) / (1 - AL)).T / 5, input_grad=True)
    np.testing.assert_allclose(grad_x * 5, grads["dA0"].T, rtol=1e-12)
    assert not np.allclose(grad_x, grads["dA0"].T)


def test_float32_networks_keep_float32_through_the_course_functions() -> None:
    X, Y, parameters = make_course_network(1, [3, 4, 1], 6, dtype=np.float32)
    AL, caches = sw.L_model_forward(X, parameters)
    grads = sw.L_model_backward(AL, Y, caches)  # integer labels, float32 gradients
    assert {g.dtype for g in grads.values()} == {np.dtype(np.float32)}
    updated = sw.update_parameters(dict(parameters), grads, 0.1)
    assert {p.dtype for p in updated.values()} == {np.dtype(np.float32)}

    model = sw.to_sequential(parameters)
    assert np.array_equal(model(X.T).T, AL)
    model.backward(-(Y / AL - (1 - Y) / (1 - AL)).T.astype(np.float32) / 6)
    for l, linear in enumerate(linears(model), start=1):  # noqa: E741
        np.testing.assert_allclose(linear.weight.grad, grads[f"dW{l}"], rtol=1e-5, atol=1e-6)


# -- losses and the optimiser --------------------------------------------------------------


@given(
    data=st.data(),
    m=st.integers(1, 8),
    low=st.sampled_from([1e-3, 0.1]),
)
def test_compute_cost_equals_BCELoss(data: st.DataObject, m: int, low: float) -> None:
    AL = data.draw(hnp.arrays(np.float64, (1, m), elements=st.floats(low, 1 - low)))
    Y = data.draw(hnp.arrays(np.int64, (1, m), elements=st.integers(0, 1)))
    loss = nf.BCELoss()
    # log1p(-p) in BCELoss against log(1 - AL) in the course: equal up to rounding.
    np.testing.assert_allclose(loss(AL.T, Y.T), sw.compute_cost(AL, Y), rtol=1e-12, atol=1e-13)
    # BCELoss.backward() is the course's dAL, averaged, batch-first.
    dAL = -(Y / AL - (1 - Y) / (1 - AL))
    np.testing.assert_allclose(loss.backward(), dAL.T / m, rtol=1e-12)


def test_BCELoss_stays_finite_where_the_course_formulas_break() -> None:
    AL, Y = np.array([[1.0, 0.5]]), np.array([[0, 1]])
    with pytest.warns(RuntimeWarning, match="divide by zero"):
        assert sw.compute_cost(AL, Y) == np.inf
    loss = nf.BCELoss()
    assert np.isfinite(loss(AL.T, Y.T))
    assert np.isfinite(loss.backward()).all()


@given(network=networks)
def test_compute_cost_of_the_sigmoid_equals_BCEWithLogitsLoss(
    network: tuple[int, list[int], int],
) -> None:
    seed, hidden_and_output, m = network
    # |Z| <= 5 by construction: compute_cost's log(1 - AL) loses digits as AL nears 1
    # (see the test below), the logits loss does not.
    X, Y, parameters = make_course_network(seed, [3, *hidden_and_output], m)
    AL, caches = sw.L_model_forward(X, parameters)
    Z = caches[-1][1]  # the last activation cache: Z, before the sigmoid
    logits_model = sw.to_sequential(parameters, output_activation=None)
    assert np.array_equal(logits_model(X.T).T, Z)
    loss = nf.BCEWithLogitsLoss()
    np.testing.assert_allclose(loss(Z.T, Y.T), sw.compute_cost(AL, Y), rtol=1e-10)
    # Its gradient is the course's dZ of the last layer (AL - Y), averaged.
    np.testing.assert_allclose(loss.backward(), (AL - Y).T / m, rtol=1e-12, atol=1e-15)


def test_BCEWithLogitsLoss_is_exact_where_compute_cost_loses_digits_or_breaks() -> None:
    Z, Y = np.array([[30.0, 40.0]]), np.array([[0, 0]])
    loss = nf.BCEWithLogitsLoss()
    expected = np.mean(Z + np.log1p(np.exp(-Z)))  # -log(1 - sigmoid(Z)) = softplus(Z)
    np.testing.assert_allclose(loss(Z.T, Y.T), expected, rtol=1e-15)
    AL, _ = sw.sigmoid(Z)
    assert AL[0, 1] == 1.0  # sigmoid(40) rounds to 1
    with pytest.warns(RuntimeWarning, match="divide by zero"):
        assert sw.compute_cost(AL, Y) == np.inf
    # At Z = 30 alone the course's cost is finite but has lost about four digits.
    course = sw.compute_cost(AL[:, :1], Y[:, :1])
    assert abs(course - (30.0 + np.log1p(np.exp(-30.0)))) > 1e-6


def test_update_parameters_equals_an_SGD_step_on_the_sequential() -> None:
    X, Y, parameters = make_course_network(2, [3, 5, 2, 1], 7)
    AL, caches = sw.L_model_forward(X, parameters)
    grads = sw.L_model_backward(AL, Y, caches)
    expected = sw.update_parameters(dict(parameters), grads, 0.05)

    for step in ("manual", "SGD"):
        model = sw.to_sequential(parameters)
        model(X.T)
        model.backward(-(Y / AL - (1 - Y) / (1 - AL)).T / 7)
        if step == "manual":
            for p in model.parameters():
                p.value -= 0.05 * p.grad
        else:
            SGD(model.parameters(), lr=0.05).step()
        updated = sw.from_sequential(model)
        assert updated.keys() == expected.keys()
        for name in expected:
            np.testing.assert_allclose(updated[name], expected[name], rtol=1e-12, atol=1e-14)


# -- the bridge ----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_to_and_from_sequential_round_trip_bit_for_bit(dtype: type) -> None:
    _, _, parameters = make_course_network(3, [4, 6, 3, 1], 2, dtype=dtype)
    model = sw.to_sequential(parameters)
    for linear in linears(model):
        assert linear.weight.dtype == dtype and linear.bias is not None
        assert linear.bias.dtype == dtype
    back = sw.from_sequential(model)
    assert list(back) == list(parameters)
    for name, value in parameters.items():
        assert back[name].dtype == value.dtype and back[name].shape == value.shape
        assert back[name].tobytes() == value.tobytes()
        assert not np.shares_memory(back[name], value)
    # Copies both ways: training the model leaves the dict alone, and the reverse.
    linears(model)[0].weight.value += 1.0
    assert np.array_equal(sw.from_sequential(model)["W1"], parameters["W1"] + dtype(1.0))
    assert sw.to_sequential(back)[0].weight.value.tobytes() == parameters["W1"].tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_framework_model_goes_to_the_course_and_back_unchanged(dtype: type) -> None:
    model = nf.Sequential(
        nf.Linear(4, 6, rng=0, dtype=dtype), nf.ReLU(),
        nf.Linear(6, 1, rng=1, dtype=dtype), nf.Sigmoid(),
    )  # fmt: skip
    again = sw.to_sequential(sw.from_sequential(model))
    assert repr(again) == repr(model)
    state, again_state = model.state_dict(), again.state_dict()
    assert state.keys() == again_state.keys()
    for name in state:
        assert again_state[name].dtype == state[name].dtype
        assert again_state[name].tobytes() == state[name].tobytes()


def test_to_sequential_builds_the_courses_architecture() -> None:
    _, _, parameters = make_course_network(0, [3, 4, 2, 1], 1)
    model = sw.to_sequential(parameters)
    kinds = [type(layer).__name__ for layer in model]
    assert kinds == ["Linear", "ReLU", "Linear", "ReLU", "Linear", "Sigmoid"]
    tanh = sw.to_sequential(parameters, hidden_activation="tanh", output_activation=None)
    assert [type(layer).__name__ for layer in tanh] == [
        "Linear",
        "Tanh",
        "Linear",
        "Tanh",
        "Linear",
    ]


def test_from_sequential_reads_nested_models_and_skips_layers_without_parameters() -> None:
    inner = nf.Sequential(nf.Linear(3, 4, rng=0, dtype=np.float64), nf.ReLU())
    model = nf.Sequential(inner, nf.Linear(4, 1, rng=1, dtype=np.float64), nf.Sigmoid())
    parameters = sw.from_sequential(model)
    assert list(parameters) == ["W1", "b1", "W2", "b2"]
    assert parameters["b1"].shape == (4, 1)
    X = np.random.default_rng(0).standard_normal((3, 5))
    assert np.array_equal(sw.L_model_forward(X, parameters)[0], model(X.T).T)


def test_to_sequential_reports_bad_dictionaries() -> None:
    W1, b1 = np.ones((2, 3)), np.zeros((2, 1))
    with pytest.raises(ArgumentError, match="'W1', 'b1'"):
        sw.to_sequential({"W1": W1})
    with pytest.raises(ArgumentError, match="'W1', 'b1'"):
        sw.to_sequential({"W1": W1, "b2": b1})
    with pytest.raises(ShapeError, match="b1"):
        sw.to_sequential({"W1": W1, "b1": np.zeros((3, 1))})
    with pytest.raises(ShapeError, match=r"b1 must have shape \(2, 1\)"):
        sw.to_sequential({"W1": W1, "b1": np.zeros(2)})  # the course's bias is a column
    with pytest.raises(ShapeError, match="W2"):
        sw.to_sequential({"W1": W1, "b1": b1, "W2": np.ones((1, 3)), "b2": np.zeros((1, 1))})
    with pytest.raises(DTypeError, match="float32"):
        sw.to_sequential({"W1": W1.astype(np.float32), "b1": b1})
    with pytest.raises(ArgumentError, match="softmax"):
        sw.to_sequential({"W1": W1, "b1": b1}, output_activation="softmax")


def test_from_sequential_reports_what_the_course_cannot_hold() -> None:
    with pytest.raises(ArgumentError, match="no bias"):
        sw.from_sequential(nf.Sequential(nf.Linear(2, 1, bias=False, rng=0)))
    with pytest.raises(ArgumentError, match="no Linear"):
        sw.from_sequential(nf.Sequential(nf.ReLU()))

    class Scale(nf.Layer):
        def __init__(self) -> None:
            super().__init__()
            self.gain = nf.Parameter(np.ones(1))

    with pytest.raises(ArgumentError, match="not a Linear"):
        sw.from_sequential(nf.Sequential(nf.Linear(2, 1, rng=0), Scale()))


# -- the training functions ----------------------------------------------------------------


@pytest.fixture
def tiny_data() -> tuple[np.ndarray, np.ndarray]:
    """40 seeded examples of 2 features, as columns; label: above the line x0 + x1 = 0."""
    X = np.random.default_rng(0).standard_normal((2, 40))
    Y = (X[0:1] + X[1:2] > 0).astype(int)
    return X, Y


@pytest.fixture
def restore_global_random_state() -> Iterator[None]:
    state = np.random.get_state()
    yield
    np.random.set_state(state)


def test_two_layer_model_learns(
    tiny_data: tuple[np.ndarray, np.ndarray],
    restore_global_random_state: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    X, Y = tiny_data
    parameters, costs = sw.two_layer_model(
        X, Y, (2, 4, 1), learning_rate=0.5, num_iterations=200, print_cost=True
    )
    assert sorted(parameters) == ["W1", "W2", "b1", "b2"]
    assert len(costs) == 2 and costs[1] < costs[0]
    printed = capsys.readouterr().out.splitlines()
    assert printed == [
        f"Cost after iteration 0: {costs[0]}",
        f"Cost after iteration 100: {costs[1]}",
    ]
    p = sw.predict(X, parameters)
    assert p.shape == (1, 40) and set(np.unique(p)) <= {0.0, 1.0}
    assert np.mean(p == Y) > 0.9


def test_L_layer_model_learns(
    tiny_data: tuple[np.ndarray, np.ndarray], restore_global_random_state: None
) -> None:
    X, Y = tiny_data
    parameters, costs = sw.L_layer_model(X, Y, [2, 5, 3, 1], learning_rate=0.1, num_iterations=300)
    assert len(costs) == 3
    assert all(later < earlier for earlier, later in itertools.pairwise(costs))
    p = sw.predict(X, parameters)
    assert p.shape == (1, 40) and set(np.unique(p)) <= {0.0, 1.0}
    assert np.mean(p == Y) > 0.9
    # The trained weights run unchanged in the framework.
    model = sw.to_sequential(parameters)
    assert np.array_equal((model(X.T).T > 0.5).astype(float), p)


def test_training_is_deterministic_whatever_the_global_state(
    tiny_data: tuple[np.ndarray, np.ndarray], restore_global_random_state: None
) -> None:
    X, Y = tiny_data
    np.random.seed(5)
    first, _ = sw.L_layer_model(X, Y, [2, 3, 1], num_iterations=5)
    np.random.seed(6)
    second, _ = sw.L_layer_model(X, Y, [2, 3, 1], num_iterations=5)
    assert all(np.array_equal(first[k], second[k]) for k in first)
