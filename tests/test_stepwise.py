"""nnframe.stepwise: the course notebook's printed numbers, and property tests of its formulas.

The notebook is ``shared/seeds/000_3b4c923e82e6d78b.txt``. Its first four test cases
(sigmoid, relu, sigmoid_backward, relu_backward) draw ``np.random.randn()`` before any
seed is set, so their inputs cannot be regenerated; their printed inputs are exact
(shortest round-trip reprs), so those tests start from the printed inputs. Every later
test case draws, unseeded, from the global state that ``initialize_parameters_deep``'s
``np.random.seed(3)`` left: :func:`replay_notebook` runs the cells in the notebook's order,
including every ``randn`` call of every test-case function, and the printed numbers come out.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections import Counter
from collections.abc import Callable, Iterator
from types import ModuleType, SimpleNamespace
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nnframe import stepwise as sw
from nnframe.errors import ArgumentError, ShapeError

# -- helpers ------------------------------------------------------------------------------


def random_state_key() -> tuple[Any, ...]:
    """numpy's global random state as a comparable tuple."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return name, keys.tobytes(), pos, has_gauss, cached


@pytest.fixture
def global_random_state() -> Iterator[None]:
    """Restore numpy's global random state after a test that seeds it."""
    state = np.random.get_state()
    yield
    np.random.set_state(state)


def replay_notebook() -> SimpleNamespace:
    """Run the notebook's seeded cells in order and return the inputs each cell drew.

    The test-case functions are the notebook's, verbatim in what they draw and in what
    order; the global random state is restored afterwards.
    """
    randn = np.random.randn
    state = np.random.get_state()
    try:
        cells = SimpleNamespace()
        cells.initialize_parameters = sw.initialize_parameters(3, 2, 1)  # seeds 1
        cells.initialize_parameters_deep = sw.initialize_parameters_deep([5, 4, 3])  # seeds 3
        # linear_forward_test_case
        cells.linear_forward = (randn(3, 2), randn(1, 3), randn(1, 1))
        # linear_activation_forward_test_case
        cells.linear_activation_forward = (randn(3, 2), randn(1, 3), randn(1, 1))
        # L_model_forward_test_case_2hidden
        X = randn(5, 4)
        names = ["W1", "b1", "W2", "b2", "W3", "b3"]
        shapes = [(4, 5), (4, 1), (3, 4), (3, 1), (1, 3), (1, 1)]
        cells.L_model_forward = (X, {n: randn(*s) for n, s in zip(names, shapes, strict=True)})
        # compute_cost_test_case draws nothing.
        # linear_backward_test_case: dZ, then the linear cache (A, W, b)
        dZ = randn(1, 2)
        cells.linear_backward = (dZ, (randn(3, 2), randn(1, 3), randn(1, 1)))
        # linear_activation_backward_test_case: dA, A, W, b, Z
        dA = randn(1, 2)
        linear_cache = (randn(3, 2), randn(1, 3), randn(1, 1))
        cells.linear_activation_backward = (dA, (linear_cache, randn(1, 2)))
        # update_parameters_test_case: the parameters, then the gradients
        shapes = [(3, 4), (3, 1), (1, 3), (1, 1)]
        parameters = {n: randn(*s) for n, s in zip(["W1", "b1", "W2", "b2"], shapes, strict=True)}
        grads = {n: randn(*s) for n, s in zip(["dW1", "db1", "dW2", "db2"], shapes, strict=True)}
        cells.update_parameters = (parameters, grads)
        return cells
    finally:
        np.random.set_state(state)


@pytest.fixture(scope="module")
def notebook() -> SimpleNamespace:
    return replay_notebook()


def lines(*parts: str) -> str:
    return "\n".join(parts)


# -- the notebook's printed numbers: the unseeded prefix, from its printed inputs --------


def test_sigmoid_prints_the_notebooks_numbers() -> None:
    z = -0.19282691566774998
    A, cache = sw.sigmoid(z)
    assert "Sigmoid = " + str(A) == "Sigmoid = 0.4519420872071204"
    assert "Cache = " + str(cache) == "Cache = -0.19282691566774998"
    assert cache is z


def test_relu_prints_the_notebooks_numbers() -> None:
    Z = np.array([-0.22916360952618312])
    A, cache = sw.relu(Z)
    assert "Relu = " + str(A) == "Relu = [0.]"
    assert "Cache = " + str(cache) == "Cache = [-0.22916361]"
    assert cache is Z


def test_sigmoid_backward_prints_the_notebooks_numbers() -> None:
    dZ = sw.sigmoid_backward(np.array([0.690707054736731]), np.array([1.7260192920596784]))
    assert "Sigmoid Backward = " + str(dZ) == "Sigmoid Backward = [0.08859494]"


def test_relu_backward_prints_the_notebooks_numbers() -> None:
    dZ = sw.relu_backward(np.array([0.9157550385590463]), np.array([-0.8093509617462485]))
    assert "ReLU Backward = " + str(dZ) == "ReLU Backward = [0.]"


# -- the notebook's printed numbers: the seeded cells ------------------------------------


def test_initialize_parameters_prints_the_notebooks_arrays(notebook: SimpleNamespace) -> None:
    parameters = notebook.initialize_parameters
    printed = lines(
        "W1 = " + str(parameters["W1"]),
        "b1 = " + str(parameters["b1"]),
        "W2 = " + str(parameters["W2"]),
        "b2 = " + str(parameters["b2"]),
    )
    assert printed == lines(
        "W1 = [[ 0.01624345 -0.00611756 -0.00528172]",
        " [-0.01072969  0.00865408 -0.02301539]]",
        "b1 = [[0.]",
        " [0.]]",
        "W2 = [[ 0.01744812 -0.00761207]]",
        "b2 = [[0.]]",
    )


def test_initialize_parameters_deep_prints_the_notebooks_arrays(
    notebook: SimpleNamespace,
) -> None:
    parameters = notebook.initialize_parameters_deep
    printed = lines(
        "W1 = " + str(parameters["W1"]),
        "b1 = " + str(parameters["b1"]),
        "W2 = " + str(parameters["W2"]),
        "b2 = " + str(parameters["b2"]),
    )
    assert printed == lines(
        "W1 = [[ 0.01788628  0.0043651   0.00096497 -0.01863493 -0.00277388]",
        " [-0.00354759 -0.00082741 -0.00627001 -0.00043818 -0.00477218]",
        " [-0.01313865  0.00884622  0.00881318  0.01709573  0.00050034]",
        " [-0.00404677 -0.0054536  -0.01546477  0.00982367 -0.01101068]]",
        "b1 = [[0.]",
        " [0.]",
        " [0.]",
        " [0.]]",
        "W2 = [[-0.01185047 -0.0020565   0.01486148  0.00236716]",
        " [-0.01023785 -0.00712993  0.00625245 -0.00160513]",
        " [-0.00768836 -0.00230031  0.00745056  0.01976111]]",
        "b2 = [[0.]",
        " [0.]",
        " [0.]]",
    )


def test_linear_forward_prints_the_notebooks_numbers(notebook: SimpleNamespace) -> None:
    A, W, b = notebook.linear_forward
    Z, linear_cache = sw.linear_forward(A, W, b)
    assert "Z = " + str(Z) == "Z = [[0.85391458 1.92375077]]"
    assert linear_cache[0] is A and linear_cache[1] is W and linear_cache[2] is b


def test_linear_activation_forward_prints_the_notebooks_numbers(
    notebook: SimpleNamespace,
) -> None:
    A_prev, W, b = notebook.linear_activation_forward
    A_sigmoid, _ = sw.linear_activation_forward(A_prev, W, b, activation="sigmoid")
    A_relu, _ = sw.linear_activation_forward(A_prev, W, b, activation="relu")
    printed = lines("With sigmoid: A = " + str(A_sigmoid), "With ReLU: A = " + str(A_relu))
    assert printed == lines(
        "With sigmoid: A = [[0.71669845 0.99303271]]",
        "With ReLU: A = [[0.92814329 4.95953689]]",
    )


def test_L_model_forward_prints_the_notebooks_numbers(notebook: SimpleNamespace) -> None:
    X, parameters = notebook.L_model_forward
    AL, caches = sw.L_model_forward(X, parameters)
    printed = lines("AL = " + str(AL), "Length of caches list = " + str(len(caches)))
    assert printed == lines(
        "AL = [[0.44307552 0.33404182 0.26785456 0.15502747]]",
        "Length of caches list = 3",
    )


def test_compute_cost_prints_the_notebooks_number() -> None:
    Y = np.asarray([[1, 1, 1]])
    AL = np.array([[0.8, 0.9, 0.4]])
    assert "cost = " + str(sw.compute_cost(AL, Y)) == "cost = 0.41493159961539694"
    assert sw.compute_cost(AL, Y).shape == ()


def test_linear_backward_prints_the_notebooks_numbers(notebook: SimpleNamespace) -> None:
    dZ, linear_cache = notebook.linear_backward
    dA_prev, dW, db = sw.linear_backward(dZ, linear_cache)
    printed = lines("dA_prev = " + str(dA_prev), "dW = " + str(dW), "db = " + str(db))
    assert printed == lines(
        "dA_prev = [[-0.84836047 -1.48514293]",
        " [ 0.1098082   0.19223063]",
        " [ 0.13961806  0.24441588]]",
        "dW = [[-0.23692617  0.03835643 -0.21702733]]",
        "db = [[0.66896671]]",
    )


def test_linear_activation_backward_prints_the_notebooks_numbers(
    notebook: SimpleNamespace,
) -> None:
    dAL, cache = notebook.linear_activation_backward
    out = []
    for activation in ("sigmoid", "relu"):
        dA_prev, dW, db = sw.linear_activation_backward(dAL, cache, activation=activation)
        out += [activation + ":", "dA_prev = " + str(dA_prev), "dW = " + str(dW)]
        out += ["db = " + str(db) + ("\n" if activation == "sigmoid" else "")]
    assert lines(*out) == lines(
        "sigmoid:",
        "dA_prev = [[-0.01753949  0.06356647]",
        " [-0.01676571  0.06076213]",
        " [ 0.03150611 -0.11418413]]",
        "dW = [[-0.00235162 -0.01913512 -0.04665459]]",
        "db = [[-0.04810867]]",
        "",
        "relu:",
        "dA_prev = [[0. 0.]",
        " [0. 0.]",
        " [0. 0.]]",
        "dW = [[0. 0. 0.]]",
        "db = [[0.]]",
    )


def test_update_parameters_prints_the_notebooks_numbers(notebook: SimpleNamespace) -> None:
    parameters, grads = notebook.update_parameters
    parameters = sw.update_parameters(dict(parameters), grads, 0.1)
    printed = lines(*(f"{name} = " + str(parameters[name]) for name in ["W1", "b1", "W2", "b2"]))
    assert printed == lines(
        "W1 = [[ 1.68006676e-01  1.20733268e-01  1.26774057e+00 -5.86221134e-01]",
        " [ 4.63854489e-01  4.33088653e-01 -3.47965123e-04  6.94981206e-01]",
        " [ 5.99177453e-01 -8.99395484e-01  9.85400720e-01 -1.15605872e+00]]",
        "b1 = [[0.10270444]",
        " [0.05647119]",
        " [0.43757182]]",
        "W2 = [[-0.56318736  0.08862028 -0.12654138]]",
        "b2 = [[0.89319316]]",
    )


def test_replay_leaves_the_global_random_state_alone() -> None:
    before = random_state_key()
    replay_notebook()
    assert random_state_key() == before


# -- the course's own (seeded) test cases for the cells this notebook shows no output for --


def test_L_model_backward_reproduces_the_courses_test_case(global_random_state: None) -> None:
    # The course's L_model_backward_test_case (testCases_v4): its AL is plain randn, not
    # even a probability, which only the unclipped dAL turns into the published numbers.
    np.random.seed(3)
    AL = np.random.randn(1, 2)
    Y = np.array([[1, 0]])
    cache1 = ((np.random.randn(4, 2), np.random.randn(3, 4), np.random.randn(3, 1)),
              np.random.randn(3, 2))  # fmt: skip
    cache2 = ((np.random.randn(3, 2), np.random.randn(1, 3), np.random.randn(1, 1)),
              np.random.randn(1, 2))  # fmt: skip
    grads = sw.L_model_backward(AL, Y, [cache1, cache2])
    assert sorted(grads) == ["dA0", "dA1", "dW1", "dW2", "db1", "db2"]
    printed = lines(*(f"{name} = " + str(grads[name]) for name in sorted(grads)))
    assert printed == lines(
        "dA0 = [[ 0.          0.52257901]",
        " [ 0.         -0.3269206 ]",
        " [ 0.         -0.32070404]",
        " [ 0.         -0.74079187]]",
        "dA1 = [[ 0.12913162 -0.44014127]",
        " [-0.14175655  0.48317296]",
        " [ 0.01663708 -0.05670698]]",
        "dW1 = [[0.41010002 0.07807203 0.13798444 0.10502167]",
        " [0.         0.         0.         0.        ]",
        " [0.05283652 0.01005865 0.01777766 0.0135308 ]]",
        "dW2 = [[-0.39202432 -0.13325855 -0.04601089]]",
        "db1 = [[-0.22007063]",
        " [ 0.        ]",
        " [-0.02835349]]",
        "db2 = [[0.15187861]]",
    )


def test_update_parameters_reproduces_the_courses_test_case(global_random_state: None) -> None:
    # The course's update_parameters_test_case (testCases_v4): seed 2, then seed 3.
    shapes = [(3, 4), (3, 1), (1, 3), (1, 1)]
    np.random.seed(2)
    parameters = {
        n: np.random.randn(*s) for n, s in zip(["W1", "b1", "W2", "b2"], shapes, strict=True)
    }
    np.random.seed(3)
    grads = {
        n: np.random.randn(*s) for n, s in zip(["dW1", "db1", "dW2", "db2"], shapes, strict=True)
    }
    parameters = sw.update_parameters(parameters, grads, 0.1)
    printed = lines(*(f"{name} = " + str(parameters[name]) for name in ["W1", "b1", "W2", "b2"]))
    assert printed == lines(
        "W1 = [[-0.59562069 -0.09991781 -2.14584584  1.82662008]",
        " [-1.76569676 -0.80627147  0.51115557 -1.18258802]",
        " [-1.0535704  -0.86128581  0.68284052  2.20374577]]",
        "b1 = [[-0.04659241]",
        " [-1.28888275]",
        " [ 0.53405496]]",
        "W2 = [[-0.55569196  0.0354055   1.32964895]]",
        "b2 = [[-0.84610769]]",
    )


# -- agreement with the course's own formulas --------------------------------------------

floats64 = st.floats(-50.0, 50.0, allow_nan=False, allow_infinity=False)
small_shapes = hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=6)


@given(Z=hnp.arrays(np.float64, small_shapes, elements=floats64))
def test_sigmoid_is_the_courses_formula_bit_for_bit(Z: np.ndarray) -> None:
    A, cache = sw.sigmoid(Z)
    assert np.array_equal(A, 1 / (1 + np.exp(-Z)))
    assert cache is Z


@given(Z=hnp.arrays(np.float64, small_shapes, elements=floats64))
def test_relu_is_the_courses_formula(Z: np.ndarray) -> None:
    A, cache = sw.relu(Z)
    assert np.array_equal(A, np.maximum(0, Z))
    assert cache is Z


def course_relu_backward(dA: np.ndarray, Z: np.ndarray) -> np.ndarray:
    dZ = np.array(dA, copy=True)
    dZ[Z <= 0] = 0
    return dZ


@given(data=st.data(), shape=small_shapes)
def test_relu_backward_mask_gives_the_courses_array(
    data: st.DataObject, shape: tuple[int, ...]
) -> None:
    # Zeros and negative zeros on both sides, to hit the kink and the sign of zero.
    values = st.sampled_from([0.0, -0.0, 1.5, -2.0]) | floats64
    dA = data.draw(hnp.arrays(np.float64, shape, elements=values))
    Z = data.draw(hnp.arrays(np.float64, shape, elements=values))
    dZ, expected = sw.relu_backward(dA, Z), course_relu_backward(dA, Z)
    assert np.array_equal(dZ, expected)
    # Bit for bit (so printed alike) except for a dA of -0.0 passed through, which the
    # mask product turns into 0.0 (documented in relu_backward's Notes).
    passed_negative_zero = (dA == 0) & np.signbit(dA) & (Z > 0)
    assert np.array_equal(np.signbit(dZ), np.signbit(expected) & ~passed_negative_zero)


def test_relu_backward_prints_a_masked_negative_gradient_as_the_course_does() -> None:
    dZ = sw.relu_backward(np.array([[-0.5, 2.0]]), np.array([[-1.0, 0.0]]))
    assert str(dZ) == str(course_relu_backward(np.array([[-0.5, 2.0]]), np.array([[-1.0, 0.0]])))
    assert str(dZ) == "[[0. 0.]]"


@given(data=st.data(), shape=small_shapes)
def test_sigmoid_backward_matches_the_courses_formula(
    data: st.DataObject, shape: tuple[int, ...]
) -> None:
    dA = data.draw(hnp.arrays(np.float64, shape, elements=floats64))
    Z = data.draw(hnp.arrays(np.float64, shape, elements=floats64))
    s = 1 / (1 + np.exp(-Z))
    # The layer's order dA * (s * (1 - s)) against the course's (dA * s) * (1 - s).
    # atol covers subnormal results, where the two orders round differently.
    np.testing.assert_allclose(
        sw.sigmoid_backward(dA, Z), dA * s * (1 - s), rtol=1e-15, atol=1e-300
    )


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 6), n_prev=st.integers(1, 6),
       m=st.integers(1, 6))  # fmt: skip
def test_linear_forward_matches_the_courses_formula(seed: int, n: int, n_prev: int, m: int) -> None:
    rng = np.random.default_rng(seed)
    A, W, b = (
        rng.standard_normal((n_prev, m)),
        rng.standard_normal((n, n_prev)),
        rng.standard_normal((n, 1)),
    )
    Z, _ = sw.linear_forward(A, W, b)
    np.testing.assert_allclose(Z, np.dot(W, A) + b, rtol=1e-13, atol=1e-14)
    assert Z.shape == (n, m)


def test_sigmoid_is_finite_and_silent_at_large_inputs() -> None:
    # pytest runs with filterwarnings=error: an overflow warning would fail this test.
    for dtype in (np.float64, np.float32):
        A, _ = sw.sigmoid(np.array([-1000.0, 1000.0], dtype=dtype))
        assert A.dtype == dtype
        assert A.tolist() == [0.0, 1.0]
        dZ = sw.sigmoid_backward(np.ones(2, dtype=dtype), np.array([-1000.0, 1000.0], dtype=dtype))
        assert dZ.tolist() == [0.0, 0.0]
    assert sw.sigmoid(-1000.0)[0] == 0.0
    assert sw.sigmoid(1000.0)[0] == 1.0
    assert sw.sigmoid(np.array(-1000.0))[0] == 0.0


def test_scalars_give_numpy_scalars_like_the_course() -> None:
    A, _ = sw.sigmoid(0.0)
    assert type(A) is np.float64 and A == 0.5
    A, _ = sw.relu(-3.0)
    assert type(A) is np.float64 and A == 0.0


# -- gradients against central differences of compute_cost (float64) ----------------------

MARGIN = 1e-3  # every ReLU input keeps at least this distance from the kink at 0
EPS = 1e-6


def numerical_gradient(f: Callable[[], Any], x: np.ndarray) -> np.ndarray:
    """Central differences of the scalar ``f()`` with respect to ``x``, perturbed in place."""
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        value = x[index]
        x[index] = value + EPS
        plus = float(f())
        x[index] = value - EPS
        minus = float(f())
        x[index] = value
        grad[index] = (plus - minus) / (2 * EPS)
    return grad


def assert_gradient(analytic: np.ndarray, numeric: np.ndarray, name: str) -> None:
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-7, err_msg=name)


def steer_off_kinks(Z_without_bias: np.ndarray, b: np.ndarray) -> None:
    """Shift each row's bias in place: no entry of ``Z_without_bias + b`` within MARGIN of 0.

    Each of the m entries of a row rules out an interval of width 2 * MARGIN for the
    shift; the candidates 0, 0.01, ..., 0.01 * m are farther apart than that, so one of
    these m + 1 candidates is always free.
    """
    Z = Z_without_bias + b
    for i in range(Z.shape[0]):
        for k in range(Z.shape[1] + 1):
            if np.all(np.abs(Z[i] + 0.01 * k) >= MARGIN):
                b[i, 0] += 0.01 * k
                break


def make_network(
    rng: np.random.Generator, layer_dims: list[int], m: int
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Random X, labels Y and parameters, with ReLU inputs off the kink and |Z_L| <= 3."""
    X = rng.standard_normal((layer_dims[0], m))
    Y = rng.integers(0, 2, (1, m))
    parameters: dict[str, np.ndarray] = {}
    A = X
    L = len(layer_dims) - 1
    for l in range(1, L + 1):  # noqa: E741
        W = rng.standard_normal((layer_dims[l], layer_dims[l - 1]))
        b = rng.standard_normal((layer_dims[l], 1))
        if l < L:
            steer_off_kinks(W @ A, b)
            A = np.maximum(W @ A + b, 0)
        else:
            # Keep AL within (0.047, 0.953): away from where the cost's log blows up.
            scale = min(1.0, 3.0 / np.max(np.abs(W @ A + b)))
            W, b = W * scale, b * scale
        parameters[f"W{l}"], parameters[f"b{l}"] = W, b
    return X, Y, parameters


layer_dims_lists = st.lists(st.integers(1, 5), min_size=1, max_size=3).map(lambda h: [*h, 1])


@settings(deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_prev=st.integers(1, 5), n=st.integers(1, 3),
       m=st.integers(1, 6))  # fmt: skip
def test_linear_backward_is_the_gradient_of_compute_cost(
    seed: int, n_prev: int, n: int, m: int
) -> None:
    rng = np.random.default_rng(seed)
    A_prev, W, b = (
        rng.standard_normal((n_prev, m)),
        rng.standard_normal((n, n_prev)),
        rng.standard_normal((n, 1)),
    )
    Y = rng.integers(0, 2, (n, m))
    # Keep |Z| <= 3 (AL within (0.047, 0.953)), where compute_cost is accurate.
    scale = min(1.0, 3.0 / np.max(np.abs(W @ A_prev + b)))
    W, b = W * scale, b * scale

    def cost() -> Any:
        return sw.compute_cost(sw.sigmoid(sw.linear_forward(A_prev, W, b)[0])[0], Y)

    Z, linear_cache = sw.linear_forward(A_prev, W, b)
    dZ = sw.sigmoid(Z)[0] - Y  # the course's dZ: m times the gradient of the mean cost
    dA_prev, dW, db = sw.linear_backward(dZ, linear_cache)
    assert (dA_prev.shape, dW.shape, db.shape) == (A_prev.shape, W.shape, b.shape)
    assert_gradient(dW, numerical_gradient(cost, W), "dW")
    assert_gradient(db, numerical_gradient(cost, b), "db")
    assert_gradient(dA_prev / m, numerical_gradient(cost, A_prev), "dA_prev / m")


@settings(deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_prev=st.integers(1, 5), n_hidden=st.integers(1, 5),
       m=st.integers(1, 6))  # fmt: skip
def test_linear_activation_backward_is_the_gradient_of_compute_cost(
    seed: int, n_prev: int, n_hidden: int, m: int
) -> None:
    X, Y, p = make_network(np.random.default_rng(seed), [n_prev, n_hidden, 1], m)
    W1, b1, W2, b2 = p["W1"], p["b1"], p["W2"], p["b2"]

    def cost() -> Any:
        A1, _ = sw.linear_activation_forward(X, W1, b1, "relu")
        return sw.compute_cost(sw.linear_activation_forward(A1, W2, b2, "sigmoid")[0], Y)

    A1, cache1 = sw.linear_activation_forward(X, W1, b1, "relu")
    A2, cache2 = sw.linear_activation_forward(A1, W2, b2, "sigmoid")
    dA2 = -(Y / A2 - (1 - Y) / (1 - A2))
    dA1, dW2, db2 = sw.linear_activation_backward(dA2, cache2, "sigmoid")
    dA0, dW1, db1 = sw.linear_activation_backward(dA1, cache1, "relu")
    assert_gradient(dW2, numerical_gradient(cost, W2), "dW2 (sigmoid)")
    assert_gradient(db2, numerical_gradient(cost, b2), "db2 (sigmoid)")
    assert_gradient(dW1, numerical_gradient(cost, W1), "dW1 (relu)")
    assert_gradient(db1, numerical_gradient(cost, b1), "db1 (relu)")
    assert_gradient(dA0 / m, numerical_gradient(cost, X), "dA0 / m")


@settings(deadline=None)
@given(seed=st.integers(0, 2**32 - 1), layer_dims=layer_dims_lists, m=st.integers(1, 6))
def test_L_model_backward_is_the_gradient_of_compute_cost(
    seed: int, layer_dims: list[int], m: int
) -> None:
    X, Y, parameters = make_network(np.random.default_rng(seed), layer_dims, m)
    L = len(layer_dims) - 1

    def cost() -> Any:
        return sw.compute_cost(sw.L_model_forward(X, parameters)[0], Y)

    AL, caches = sw.L_model_forward(X, parameters)
    grads = sw.L_model_backward(AL, Y, caches)
    expected = {f"dA{i}" for i in range(L)} | {f"d{k}{i}" for i in range(1, L + 1) for k in "Wb"}
    assert set(grads) == expected
    for name, value in parameters.items():
        assert grads["d" + name].shape == value.shape
        assert_gradient(grads["d" + name], numerical_gradient(cost, value), "d" + name)
    assert_gradient(grads["dA0"] / m, numerical_gradient(cost, X), "dA0 / m")


# -- where the course's formulas break ----------------------------------------------------


def test_L_model_backward_breaks_at_a_saturated_output() -> None:
    parameters = {"W1": np.array([[1.0]]), "b1": np.array([[0.0]])}
    AL, caches = sw.L_model_forward(np.array([[40.0]]), parameters)
    assert AL[0, 0] == 1.0  # sigmoid(40) rounds to exactly 1 in float64
    for Y, first_warning in (([[0]], "divide by zero"), ([[1]], "invalid value")):
        # Y = 0: (1 - Y) / (1 - AL) = 1 / 0 = inf; Y = 1: 0 / 0 = NaN. Then inf * 0 = NaN.
        with pytest.warns(RuntimeWarning) as record:
            grads = sw.L_model_backward(AL, np.array(Y), caches)
        assert first_warning in str(record[0].message)
        assert np.isnan(grads["dW1"]).all()


def test_compute_cost_is_infinite_at_a_wrong_certain_output() -> None:
    with pytest.warns(RuntimeWarning, match="divide by zero"):
        cost = sw.compute_cost(np.array([[0.0, 0.5]]), np.array([[1, 1]]))
    assert cost == np.inf


# -- errors --------------------------------------------------------------------------------


def test_linear_activation_forward_rejects_an_unknown_activation() -> None:
    with pytest.raises(ArgumentError, match="'tanh'"):
        sw.linear_activation_forward(np.ones((2, 1)), np.ones((1, 2)), np.zeros((1, 1)), "tanh")


def test_linear_activation_backward_rejects_an_unknown_activation() -> None:
    _, cache = sw.linear_activation_forward(
        np.ones((2, 1)), np.ones((1, 2)), np.zeros((1, 1)), "relu"
    )
    with pytest.raises(ArgumentError, match="'softmax'"):
        sw.linear_activation_backward(np.ones((1, 1)), cache, "softmax")


def test_linear_forward_rejects_a_flat_bias_that_would_broadcast_wrongly() -> None:
    # b of shape (n,) with n == m would broadcast along the wrong axis without an error.
    with pytest.raises(ShapeError, match=r"b of shape \(n, 1\)"):
        sw.linear_forward(np.ones((2, 3)), np.ones((3, 2)), np.zeros(3))


def test_linear_backward_rejects_a_dZ_of_the_wrong_shape() -> None:
    _, cache = sw.linear_forward(np.ones((2, 3)), np.ones((1, 2)), np.zeros((1, 1)))
    with pytest.raises(ShapeError, match="dZ"):
        sw.linear_backward(np.ones((3, 1)), cache)


# -- numpy's global random state ---------------------------------------------------------


def test_non_seeding_functions_leave_the_global_random_state_alone() -> None:
    rng = np.random.default_rng(0)
    X, Y, parameters = make_network(rng, [3, 4, 2, 1], 5)
    np.random.seed(12345)  # any state; the functions below must not move it
    before = random_state_key()

    sw.sigmoid(np.array([0.5])), sw.relu(np.array([-0.5])), sw.sigmoid(0.3), sw.relu(0.3)
    sw.sigmoid_backward(np.ones(2), np.zeros(2)), sw.relu_backward(np.ones(2), np.ones(2))
    Z, linear_cache = sw.linear_forward(X, parameters["W1"], parameters["b1"])
    sw.linear_backward(Z, linear_cache)
    A, cache = sw.linear_activation_forward(X, parameters["W1"], parameters["b1"], "relu")
    sw.linear_activation_backward(A, cache, "relu")
    AL, caches = sw.L_model_forward(X, parameters)
    sw.compute_cost(AL, Y)
    grads = sw.L_model_backward(AL, Y, caches)
    sw.update_parameters(dict(parameters), grads, 0.1)
    sw.predict(X, parameters)
    sw.from_sequential(sw.to_sequential(parameters))

    assert random_state_key() == before


def test_two_layer_model_leaves_the_state_initialize_parameters_leaves(
    global_random_state: None,
) -> None:
    X = np.random.default_rng(0).standard_normal((3, 8))
    Y = (X[:1] > 0).astype(int)
    sw.initialize_parameters(3, 4, 1)
    expected = random_state_key()
    np.random.seed(999)
    sw.two_layer_model(X, Y, (3, 4, 1), num_iterations=3)
    assert random_state_key() == expected


def test_L_layer_model_leaves_the_state_of_seed_1_and_its_draws(global_random_state: None) -> None:
    X = np.random.default_rng(0).standard_normal((3, 8))
    Y = (X[:1] > 0).astype(int)
    layers_dims = [3, 4, 2, 1]
    np.random.seed(1)
    first = {}
    for l in range(1, len(layers_dims)):  # noqa: E741
        first[f"W{l}"] = np.random.randn(layers_dims[l], layers_dims[l - 1]) / np.sqrt(
            layers_dims[l - 1]
        )
    expected = random_state_key()
    np.random.seed(999)
    parameters, _ = sw.L_layer_model(X, Y, layers_dims, num_iterations=0)
    assert random_state_key() == expected
    for name, W in first.items():  # zero iterations: the initial weights themselves
        assert np.array_equal(parameters[name], W)


def test_initializers_seed_the_global_state_as_the_course_does(global_random_state: None) -> None:
    sw.initialize_parameters(2, 3, 1)
    after = random_state_key()
    np.random.seed(1)
    np.random.randn(3, 2), np.random.randn(1, 3)
    assert random_state_key() == after


# -- the application notebook's training loop --------------------------------------------


def course_two_layer_model(
    X: np.ndarray, Y: np.ndarray, layers_dims: tuple[int, int, int], learning_rate: float,
    num_iterations: int,
) -> tuple[dict[str, np.ndarray], list[float]]:
    """The application notebook's two_layer_model, its backward pass written out."""
    n_x, n_h, n_y = layers_dims
    costs = []
    parameters = sw.initialize_parameters(n_x, n_h, n_y)
    for i in range(num_iterations):
        W1, b1, W2, b2 = parameters["W1"], parameters["b1"], parameters["W2"], parameters["b2"]
        A1, cache1 = sw.linear_activation_forward(X, W1, b1, "relu")
        A2, cache2 = sw.linear_activation_forward(A1, W2, b2, "sigmoid")
        cost = sw.compute_cost(A2, Y)
        dA2 = -(np.divide(Y, A2) - np.divide(1 - Y, 1 - A2))
        dA1, dW2, db2 = sw.linear_activation_backward(dA2, cache2, "sigmoid")
        _, dW1, db1 = sw.linear_activation_backward(dA1, cache1, "relu")
        grads = {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}
        parameters = sw.update_parameters(parameters, grads, learning_rate)
        if i % 100 == 0:
            costs.append(float(cost))
    return parameters, costs


@settings(deadline=None, max_examples=10)
@given(
    seed=st.integers(0, 2**32 - 1), n_x=st.integers(1, 4), n_h=st.integers(1, 4),
    m=st.integers(1, 8), learning_rate=st.floats(0.001, 1.0),
)
def test_two_layer_model_is_the_application_notebooks_loop(
    seed: int, n_x: int, n_h: int, m: int, learning_rate: float
) -> None:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_x, m))
    Y = rng.integers(0, 2, (1, m))
    state = np.random.get_state()
    try:
        parameters, costs = sw.two_layer_model(
            X, Y, (n_x, n_h, 1), learning_rate=learning_rate, num_iterations=201
        )
        expected, expected_costs = course_two_layer_model(X, Y, (n_x, n_h, 1), learning_rate, 201)
    finally:
        np.random.set_state(state)
    assert np.array(costs).tobytes() == np.array(expected_costs).tobytes()
    assert parameters.keys() == expected.keys()
    for name, value in expected.items():
        assert parameters[name].tobytes() == value.tobytes(), name


# -- the package ------------------------------------------------------------------------


def stepwise_modules() -> list[ModuleType]:
    return [
        importlib.import_module(f"nnframe.stepwise.{info.name}")
        for info in pkgutil.iter_modules(sw.__path__)
    ]


def test_the_package_re_exports_every_public_name_of_its_modules() -> None:
    modules = stepwise_modules()
    assert {module.__name__.rpartition(".")[2] for module in modules} >= {
        "bridge", "deep_network", "deep_network_activations", "deep_network_application"
    }
    # A name two notebooks use for different functions stays in its modules (the
    # package docstring says so); every other public name is re-exported, from its module.
    listed = Counter(name for module in modules for name in module.__all__)
    shared = {name for name, count in listed.items() if count > 1}
    assert sorted(sw.__all__) == sorted(set(listed) - shared)
    for module in modules:
        for name in set(module.__all__) - shared:
            assert getattr(sw, name) is getattr(module, name), f"{module.__name__}.{name}"


def test_each_module_lists_every_public_function_it_defines() -> None:
    for module in stepwise_modules():
        defined = {
            name for name, obj in vars(module).items()
            if inspect.isfunction(obj) and obj.__module__ == module.__name__
            and not name.startswith("_")
        }
        assert defined == set(module.__all__), module.__name__
