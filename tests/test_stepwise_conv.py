"""stepwise.convolution: the convolution notebook's functions, by hand, against PyTorch and
against nnframe's Conv2d, MaxPool2d and AvgPool2d on the same numbers.

The notebook's layout is NHWC with ``W (f, f, n_C_prev, n_C)``; the layers' is NCHW with
``weight (n_C, n_C_prev, f, f)``: ``weight = W.transpose(3, 2, 0, 1)``,
``x = A_prev.transpose(0, 3, 1, 2)``. The notebook's gradients are of the same scalar as
the layers' (no 1/m anywhere in a convolution), so they compare equal, not up to m.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import nnframe as nf
from nnframe import stepwise
from nnframe.errors import ArgumentError, ShapeError

TO_NCHW = (0, 3, 1, 2)
TO_NHWC = (0, 2, 3, 1)


def data(seed: int, *shape: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


# -- each function on small known numbers ------------------------------------------------


def test_zero_pad_pads_height_and_width_with_zeros():
    X = np.arange(1.0, 13.0).reshape(2, 2, 3, 1) * np.array([1.0, -1.0])  # (2, 2, 3, 2)
    X_pad = stepwise.zero_pad(X, 2)
    assert X_pad.shape == (2, 6, 7, 2)
    np.testing.assert_array_equal(X_pad[:, 2:4, 2:5, :], X)
    X_pad[:, 2:4, 2:5, :] = 0
    np.testing.assert_array_equal(X_pad, 0.0)
    np.testing.assert_array_equal(stepwise.zero_pad(X, 0), X)


def test_conv_single_step_is_the_sum_of_the_product_plus_the_bias():
    a_slice_prev = np.arange(8.0).reshape(2, 2, 2)
    W = np.array([1.0, -1.0] * 4).reshape(2, 2, 2)
    Z = stepwise.conv_single_step(a_slice_prev, W, np.full((1, 1, 1), 0.25))
    assert Z == (0 - 1 + 2 - 3 + 4 - 5 + 6 - 7) + 0.25
    assert isinstance(Z, float)


def test_conv_forward_on_numbers_by_hand_with_stride_and_padding():
    A_prev = np.arange(1.0, 5.0).reshape(1, 2, 2, 1)  # [[1, 2], [3, 4]]
    W = np.ones((3, 3, 1, 2)) * np.array([1.0, 2.0])  # two 3x3 filters of ones and twos
    b = np.array([0.0, 10.0]).reshape(1, 1, 1, 2)
    Z, cache = stepwise.conv_forward(A_prev, W, b, {"stride": 2, "pad": 1})
    # padded to 4x4; windows at (0, 0) only along each axis: (4 - 3) // 2 + 1 = 1
    assert Z.shape == (1, 1, 1, 2)
    np.testing.assert_array_equal(Z[0, 0, 0], [10.0, 30.0])
    assert cache[0] is A_prev and cache[1] is W and cache[2] is b
    assert cache[3] == {"stride": 2, "pad": 1}
    Z, _ = stepwise.conv_forward(A_prev, W, b, {"stride": 1, "pad": 1})
    np.testing.assert_array_equal(Z[0, :, :, 0], [[10.0, 10.0], [10.0, 10.0]])


def test_conv_backward_on_numbers_by_hand():
    A_prev = np.arange(1.0, 5.0).reshape(1, 2, 2, 1)
    W = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(2, 2, 1, 1)
    Z, cache = stepwise.conv_forward(A_prev, W, np.zeros((1, 1, 1, 1)), {"stride": 1, "pad": 1})
    assert Z.shape == (1, 3, 3, 1)
    dZ = np.zeros_like(Z)
    dZ[0, 1, 1, 0] = 1.0  # the centre window covers the whole unpadded input
    dA_prev, dW, db = stepwise.conv_backward(dZ, cache)
    np.testing.assert_array_equal(dA_prev[0, :, :, 0], [[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(dW[:, :, 0, 0], [[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(db, [[[[1.0]]]])
    # pad 0: the notebook's pad:-pad would be empty; here it is the whole input
    _, cache = stepwise.conv_forward(A_prev, W, np.zeros((1, 1, 1, 1)), {"stride": 1, "pad": 0})
    dA_prev, dW, db = stepwise.conv_backward(np.ones((1, 1, 1, 1)), cache)
    np.testing.assert_array_equal(dA_prev[0, :, :, 0], [[1.0, 2.0], [3.0, 4.0]])


def test_pool_forward_max_and_average_by_hand():
    A_prev = np.array([[1.0, 5.0, 2.0], [3.0, 4.0, 0.0], [6.0, 1.0, 8.0]]).reshape(1, 3, 3, 1)
    A, cache = stepwise.pool_forward(A_prev, {"f": 2, "stride": 1})
    np.testing.assert_array_equal(A[0, :, :, 0], [[5.0, 5.0], [6.0, 8.0]])
    assert cache[0] is A_prev and cache[1] == {"f": 2, "stride": 1}
    A, _ = stepwise.pool_forward(A_prev, {"f": 2, "stride": 1}, mode="average")
    np.testing.assert_array_equal(A[0, :, :, 0], [[3.25, 2.75], [3.5, 3.25]])
    A, _ = stepwise.pool_forward(A_prev, {"f": 2, "stride": 2, "pad": 1}, mode="average")
    np.testing.assert_array_equal(A[0, :, :, 0], [[0.25, 1.75], [2.25, 3.25]])
    A, _ = stepwise.pool_forward(-A_prev, {"f": 2, "stride": 2, "pad": 1})
    np.testing.assert_array_equal(A[0, :, :, 0], [[-1.0, -2.0], [-3.0, 0.0]])  # -inf pad


def test_create_mask_from_window_marks_every_tied_maximum():
    x = np.array([[1.0, 3.0], [3.0, -1.0]])
    np.testing.assert_array_equal(
        stepwise.create_mask_from_window(x), [[False, True], [True, False]]
    )
    np.testing.assert_array_equal(
        stepwise.create_mask_from_window(np.array([[0.5, 0.0], [0.0, 0.0]])),
        [[True, False], [False, False]],
    )


def test_distribute_value_spreads_evenly():
    np.testing.assert_array_equal(stepwise.distribute_value(2.0, (2, 2)), np.full((2, 2), 0.5))
    np.testing.assert_array_equal(stepwise.distribute_value(3.0, (1, 3)), [[1.0, 1.0, 1.0]])


def test_pool_backward_max_and_average_by_hand():
    A_prev = np.array([[1.0, 5.0, 2.0], [3.0, 4.0, 0.0], [6.0, 1.0, 8.0]]).reshape(1, 3, 3, 1)
    _, cache = stepwise.pool_forward(A_prev, {"f": 2, "stride": 1})
    dA = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 2, 2, 1)
    dA_prev = stepwise.pool_backward(dA, cache)
    np.testing.assert_array_equal(dA_prev[0, :, :, 0], [[0, 3, 0], [0, 0, 0], [3, 0, 4]])
    _, cache = stepwise.pool_forward(A_prev, {"f": 2, "stride": 1}, mode="average")
    dA_prev = stepwise.pool_backward(dA, cache, mode="average")
    np.testing.assert_array_equal(
        dA_prev[0, :, :, 0], [[0.25, 0.75, 0.5], [1.0, 2.5, 1.5], [0.75, 1.75, 1.0]]
    )


def test_bad_input_is_refused_with_the_function_named():
    A_prev = np.ones((1, 3, 3, 2))
    with pytest.raises(ShapeError, match="conv_forward: A_prev"):
        stepwise.conv_forward(
            np.ones((3, 3, 2)),
            np.ones((2, 2, 2, 1)),
            np.ones((1, 1, 1, 1)),
            {"stride": 1, "pad": 0},
        )
    with pytest.raises(ShapeError, match=r"conv_forward: W .*n_C_prev=2"):
        stepwise.conv_forward(
            A_prev, np.ones((2, 2, 3, 1)), np.ones((1, 1, 1, 1)), {"stride": 1, "pad": 0}
        )
    with pytest.raises(ShapeError, match=r"conv_forward: b .*\(1, 1, 1, 1\)"):
        stepwise.conv_forward(
            A_prev, np.ones((2, 2, 2, 1)), np.ones((1, 1)), {"stride": 1, "pad": 0}
        )
    with pytest.raises(ShapeError, match="conv_forward: the 4x4 window"):
        stepwise.conv_forward(
            A_prev, np.ones((4, 4, 2, 1)), np.ones((1, 1, 1, 1)), {"stride": 1, "pad": 0}
        )
    with pytest.raises(ArgumentError, match="pool_forward: needs"):
        stepwise.pool_forward(A_prev, {"f": 2, "stride": 0})
    with pytest.raises(ArgumentError, match="pool_forward: mode"):
        stepwise.pool_forward(A_prev, {"f": 2, "stride": 1}, mode="min")


# -- against PyTorch and nnframe's layers, float64 ------------------------------------------

# (m, n_H_prev, n_W_prev, n_C_prev, n_C, f, stride, pad)
CONV_GRID = [
    (2, 5, 5, 3, 4, 3, 1, 0),
    (2, 5, 7, 3, 2, 3, 2, 1),
    (1, 6, 6, 1, 3, 2, 2, 2),
    (3, 4, 3, 2, 1, 1, 1, 0),
    (1, 7, 6, 2, 2, 4, 3, 1),
]


def conv_case(config):
    m, n_H_prev, n_W_prev, n_C_prev, n_C, f, stride, pad = config
    seed = sum(config)
    A_prev = data(seed, m, n_H_prev, n_W_prev, n_C_prev)
    W = data(seed + 1, f, f, n_C_prev, n_C)
    b = data(seed + 2, 1, 1, 1, n_C)
    hparameters = {"stride": stride, "pad": pad}
    Z, cache = stepwise.conv_forward(A_prev, W, b, hparameters)
    dZ = data(seed + 3, *Z.shape)
    return A_prev, W, b, hparameters, Z, dZ, stepwise.conv_backward(dZ, cache)


@pytest.mark.parametrize("config", CONV_GRID)
def test_conv_forward_and_backward_equal_torch(config):
    torch = pytest.importorskip("torch")
    A_prev, W, b, hparameters, Z, dZ, (dA_prev, dW, db) = conv_case(config)
    x = torch.from_numpy(A_prev.transpose(TO_NCHW).copy()).requires_grad_(True)
    weight = torch.from_numpy(W.transpose(3, 2, 0, 1).copy()).requires_grad_(True)
    bias = torch.from_numpy(b.ravel().copy()).requires_grad_(True)
    y = torch.nn.functional.conv2d(
        x, weight, bias, stride=hparameters["stride"], padding=hparameters["pad"]
    )
    y.backward(torch.from_numpy(dZ.transpose(TO_NCHW).copy()))
    tol = {"rtol": 0, "atol": 1e-10}
    np.testing.assert_allclose(Z, y.detach().numpy().transpose(TO_NHWC), **tol)
    np.testing.assert_allclose(dA_prev, x.grad.numpy().transpose(TO_NHWC), **tol)
    np.testing.assert_allclose(dW, weight.grad.numpy().transpose(2, 3, 1, 0), **tol)
    np.testing.assert_allclose(db.ravel(), bias.grad.numpy(), **tol)


@pytest.mark.parametrize("config", CONV_GRID)
def test_conv_forward_and_backward_equal_nnframe_conv2d(config):
    A_prev, W, b, hparameters, Z, dZ, (dA_prev, dW, db) = conv_case(config)
    n_C_prev, n_C, f = W.shape[2], W.shape[3], W.shape[0]
    layer = nf.Conv2d(
        n_C_prev,
        n_C,
        f,
        stride=hparameters["stride"],
        padding=hparameters["pad"],
        dtype=np.float64,
    )
    layer.weight.value[...] = W.transpose(3, 2, 0, 1)
    layer.bias.value[...] = b.ravel()
    y = layer(A_prev.transpose(TO_NCHW))
    grad_x = layer.backward(dZ.transpose(TO_NCHW), input_grad=True)
    tol = {"rtol": 0, "atol": 1e-10}
    np.testing.assert_allclose(Z, y.transpose(TO_NHWC), **tol)
    np.testing.assert_allclose(dA_prev, grad_x.transpose(TO_NHWC), **tol)
    np.testing.assert_allclose(dW, layer.weight.grad.transpose(2, 3, 1, 0), **tol)
    np.testing.assert_allclose(db.ravel(), layer.bias.grad, **tol)


# (m, n_H_prev, n_W_prev, n_C, f, stride, pad); PyTorch allows pad <= f // 2
POOL_GRID = [
    (2, 4, 4, 3, 2, 2, 0),
    (2, 5, 7, 2, 3, 2, 1),
    (1, 6, 5, 1, 3, 1, 0),
    (3, 5, 5, 2, 2, 1, 1),
    (1, 7, 6, 2, 4, 3, 2),
]
POOL_CASES = list(itertools.product(POOL_GRID, ["max", "average"]))


def pool_case(config, mode):
    m, n_H_prev, n_W_prev, n_C, f, stride, pad = config
    A_prev = data(sum(config), m, n_H_prev, n_W_prev, n_C)  # ties have probability 0
    hparameters = {"f": f, "stride": stride, "pad": pad}
    A, cache = stepwise.pool_forward(A_prev, hparameters, mode=mode)
    dA = data(sum(config) + 1, *A.shape)
    return A_prev, hparameters, A, dA, stepwise.pool_backward(dA, cache, mode=mode)


@pytest.mark.parametrize(("config", "mode"), POOL_CASES)
def test_pool_forward_and_backward_equal_torch(config, mode):
    torch = pytest.importorskip("torch")
    A_prev, hparameters, A, dA, dA_prev = pool_case(config, mode)
    x = torch.from_numpy(A_prev.transpose(TO_NCHW).copy()).requires_grad_(True)
    pool = torch.nn.functional.max_pool2d if mode == "max" else torch.nn.functional.avg_pool2d
    y = pool(x, hparameters["f"], stride=hparameters["stride"], padding=hparameters["pad"])
    y.backward(torch.from_numpy(dA.transpose(TO_NCHW).copy()))
    tol = {"rtol": 0, "atol": 1e-10}
    np.testing.assert_allclose(A, y.detach().numpy().transpose(TO_NHWC), **tol)
    np.testing.assert_allclose(dA_prev, x.grad.numpy().transpose(TO_NHWC), **tol)


@pytest.mark.parametrize(("config", "mode"), POOL_CASES)
def test_pool_forward_and_backward_equal_nnframe_pooling(config, mode):
    A_prev, hparameters, A, dA, dA_prev = pool_case(config, mode)
    Pool = nf.MaxPool2d if mode == "max" else nf.AvgPool2d
    layer = Pool(hparameters["f"], stride=hparameters["stride"], padding=hparameters["pad"])
    y = layer(A_prev.transpose(TO_NCHW))
    grad_x = layer.backward(dA.transpose(TO_NCHW), input_grad=True)
    tol = {"rtol": 0, "atol": 1e-10}
    np.testing.assert_allclose(A, y.transpose(TO_NHWC), **tol)
    np.testing.assert_allclose(dA_prev, grad_x.transpose(TO_NHWC), **tol)


def test_max_pool_ties_the_notebook_marks_every_maximum_the_layer_the_first():
    A_prev = np.ones((1, 2, 2, 1))
    A, cache = stepwise.pool_forward(A_prev, {"f": 2, "stride": 2})
    dA_prev = stepwise.pool_backward(np.ones_like(A), cache)
    np.testing.assert_array_equal(dA_prev[0, :, :, 0], [[1.0, 1.0], [1.0, 1.0]])
    layer = nf.MaxPool2d(2)
    layer(A_prev.transpose(TO_NCHW))
    grad_x = layer.backward(np.ones((1, 1, 1, 1)), input_grad=True)
    np.testing.assert_array_equal(grad_x[0, 0], [[1.0, 0.0], [0.0, 0.0]])
