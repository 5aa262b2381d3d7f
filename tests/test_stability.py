"""Numerical stability: activations and losses at +-1e4, in float32 and float64.

Every value and gradient must be finite, with no warning. Each check runs with warnings as
errors and ``np.errstate(all="raise", under="ignore")``, so any overflow, invalid operation
or division by zero inside numpy raises. Underflow is left alone on purpose: ``exp(-1e4)``
rounding to 0.0 is the correctly rounded answer (numpy ignores it by default too), and the
stable formulas rely on it.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator

import numpy as np
import pytest

import nnframe as nf
from nnframe import functional as F

DTYPES = [np.float32, np.float64]
BIG = 1e4


@contextlib.contextmanager
def strict_numerics() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise", under="ignore"):
            yield


def extremes(dtype: type) -> np.ndarray:
    return np.array(
        [[BIG, -BIG, 0.0, 1.0], [-BIG, BIG, -BIG, BIG], [-BIG, -BIG, -BIG, -BIG]], dtype=dtype
    )


LAYERS: list[tuple[str, Callable[[type], nf.Layer]]] = [
    ("Sigmoid", lambda dtype: nf.Sigmoid()),
    ("Tanh", lambda dtype: nf.Tanh()),
    ("ReLU", lambda dtype: nf.ReLU()),
    ("LeakyReLU", lambda dtype: nf.LeakyReLU(0.1)),
    ("LeakyReLU negative slope", lambda dtype: nf.LeakyReLU(-0.5)),
    ("ELU", lambda dtype: nf.ELU()),
    ("ELU negative alpha", lambda dtype: nf.ELU(-1.0)),
    ("GELU", lambda dtype: nf.GELU()),
    ("Softmax", lambda dtype: nf.Softmax()),
    ("Softmax axis=0", lambda dtype: nf.Softmax(axis=0)),
    ("Identity", lambda dtype: nf.Identity()),
    ("Flatten", lambda dtype: nf.Flatten()),
    ("Dropout", lambda dtype: nf.Dropout(0.5, rng=0)),
    ("BatchNorm1d", lambda dtype: nf.BatchNorm1d(4, dtype=dtype)),
    ("Linear", lambda dtype: nf.Linear(4, 3, rng=0, dtype=dtype)),
]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize(("name", "make"), LAYERS, ids=[name for name, _ in LAYERS])
def test_layers_at_1e4_give_finite_values_and_gradients_without_warnings(name, make, dtype):
    layer = make(dtype)
    x = extremes(dtype)
    with strict_numerics():
        y = layer(x)
        grad_x = layer.backward(np.ones_like(y), input_grad=True)
    assert y.dtype == dtype and grad_x.dtype == dtype
    assert np.isfinite(y).all(), y
    assert np.isfinite(grad_x).all(), grad_x
    assert grad_x.shape == x.shape


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_saturated_activations_take_their_limits(dtype):
    x = np.array([[BIG, -BIG]], dtype=dtype)
    ones = np.ones_like(x)
    with strict_numerics():
        cases = {
            "Sigmoid": (nf.Sigmoid(), [[1.0, 0.0]], [[0.0, 0.0]]),
            "Tanh": (nf.Tanh(), [[1.0, -1.0]], [[0.0, 0.0]]),
            "ELU": (nf.ELU(), [[BIG, -1.0]], [[1.0, 0.0]]),
            "GELU": (nf.GELU(), [[BIG, 0.0]], [[1.0, 0.0]]),
            "Softmax": (nf.Softmax(), [[1.0, 0.0]], [[0.0, 0.0]]),
        }
        for name, (layer, value, grad) in cases.items():
            y = layer(x)
            np.testing.assert_allclose(y, value, atol=1e-6, err_msg=name)
            grad_x = layer.backward(ones, input_grad=True)
            np.testing.assert_allclose(grad_x, grad, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_softmax_rows_of_extremes_sum_to_one(dtype):
    with strict_numerics():
        y = nf.Softmax()(extremes(dtype))
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(y[0], [1.0, 0.0, 0.0, 0.0], atol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_bce_with_logits_at_1e4_is_exact_and_finite(dtype):
    z = np.array([[BIG], [-BIG], [BIG], [-BIG]], dtype=dtype)
    y = np.array([1, 0, 0, 1])
    loss = nf.BCEWithLogitsLoss()
    with strict_numerics():
        value = loss(z, y)
        grad = loss.backward()
    # Right and confident: 0 each; wrong and confident: 1e4 each.
    assert value == pytest.approx(BIG / 2)
    assert grad.dtype == dtype
    np.testing.assert_allclose(grad.ravel(), [0.0, 0.0, 0.25, -0.25], atol=1e-7)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_bce_on_saturated_sigmoid_outputs_is_finite(dtype):
    with strict_numerics():
        p = nf.Sigmoid()(np.array([[BIG], [-BIG], [BIG], [-BIG]], dtype=dtype))
        loss = nf.BCELoss()
        value = loss(p, np.array([1, 0, 0, 1]))
        grad = loss.backward()
    eps = np.finfo(dtype).eps
    assert np.isfinite(value) and value == pytest.approx(-np.log(eps) / 2, rel=1e-3)
    assert np.isfinite(grad).all() and grad.dtype == dtype
    # Confidently wrong predictions are pushed back, not left with a vanishing gradient.
    assert grad[2, 0] > 0 > grad[3, 0]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("target", ["labels", "one-hot"])
def test_cross_entropy_at_1e4_is_exact_and_finite(dtype, target):
    z = np.array([[BIG, -BIG, 0.0], [-BIG, BIG, -BIG]], dtype=dtype)
    labels = np.array([0, 0])
    t = labels if target == "labels" else np.eye(3)[labels]
    loss = nf.CrossEntropyLoss()
    with strict_numerics():
        value = loss(z, t)
        grad = loss.backward()
    assert value == pytest.approx(BIG)  # (0 + 2e4) / 2
    assert grad.dtype == dtype
    np.testing.assert_allclose(grad, [[0.0, 0.0, 0.0], [-0.5, 0.5, 0.0]], atol=1e-7)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_mse_at_1e4_is_finite(dtype):
    loss = nf.MSELoss()
    with strict_numerics():
        value = loss(extremes(dtype), -extremes(dtype))
        grad = loss.backward()
    assert np.isfinite(value) and np.isfinite(grad).all() and grad.dtype == dtype


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_stable_functions_at_1e4(dtype):
    z = np.array([BIG, -BIG, 0.0], dtype=dtype)
    with strict_numerics():
        np.testing.assert_allclose(F.softplus(z), [BIG, 0.0, np.log(2)], rtol=1e-6)
        np.testing.assert_allclose(F.log_sigmoid(z), [0.0, -BIG, -np.log(2)], rtol=1e-6)
        assert F.logsumexp(z) == pytest.approx(BIG)
        assert np.isfinite(F.log_softmax(z)).all()
        np.testing.assert_allclose(F.sigmoid(z), [1.0, 0.0, 0.5])


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_training_through_a_saturated_sigmoid_stays_finite(dtype):
    # Logits of +-1e4 on the wrong side: Trainer's fused Sigmoid + BCELoss gradient.
    model = nf.Sequential(nf.Linear(1, 1, rng=0, dtype=dtype), nf.Sigmoid())
    model[0].weight.value[...] = BIG
    model[0].bias.value[...] = 0.0
    trainer = nf.Trainer(model, nf.BCELoss(), nf.SGD(model.parameters(), lr=1e-3))
    x = np.array([[1.0], [-1.0]], dtype=dtype)
    with strict_numerics():
        value = trainer.train_on_batch(x, np.array([0, 1]))
    assert np.isfinite(value)
    for p in model.parameters():
        assert np.isfinite(p.value).all() and np.isfinite(p.grad).all()
    assert model[0].weight.value[0, 0] < BIG  # pushed back towards the data


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_metrics_on_saturated_predictions_are_finite(dtype):
    p = np.array([[1.0], [0.0]], dtype=dtype)
    with strict_numerics():
        assert np.isfinite(nf.metrics.binary_crossentropy(p, np.array([0, 1])))
        assert nf.metrics.accuracy(p, np.array([1, 0])) == 1.0
