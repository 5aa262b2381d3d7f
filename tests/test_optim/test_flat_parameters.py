"""Flattened parameters train to the same bits as ordinary ones, with every optimizer."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnframe as nf
from tests.test_optim.strategies import OPTIMIZERS

STEPS = 6


def build(dtype, seed=0):
    """A small model with batch norm and a weight used twice (tied)."""
    first = nf.Linear(5, 6, rng=seed, dtype=dtype)
    tied = nf.Linear(6, 6, rng=seed + 1, dtype=dtype)
    again = nf.Linear(6, 6, rng=seed + 2, dtype=dtype)
    again.weight = tied.weight
    return nf.Sequential(
        first, nf.BatchNorm1d(6, dtype=dtype), nf.Tanh(), tied, nf.ReLU(), again, nf.Tanh(),
        nf.Linear(6, 3, rng=seed + 3, dtype=dtype),
    )


def data(dtype, seed=0, n=16):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 5)).astype(dtype), rng.integers(0, 3, n)


def train(model, optimizer, x, y, flat=None):
    loss = nf.CrossEntropyLoss()
    for step in range(STEPS):
        if flat is not None and step % 2:
            flat.zero_grad()
        else:
            optimizer.zero_grad()
        half = len(x) // 2
        for part in (slice(0, half), slice(half, None)):  # accumulate over two halves
            loss(model(x[part]), y[part])
            model.backward(loss.backward() / 2)
        optimizer.step()


def weights(model):
    return [p.value.copy() for p in model.parameters()]


@pytest.mark.parametrize("given_as", ["list", "FlatParameters"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_a_flattened_model_trains_to_bit_identical_weights(name, dtype, given_as):
    x, y = data(dtype)
    plain = build(dtype)
    train(plain, OPTIMIZERS[name](plain.parameters()), x, y)

    model = build(dtype)
    flat = nf.flatten_parameters(model.parameters())
    params = model.parameters() if given_as == "list" else flat
    train(model, OPTIMIZERS[name](params), x, y, flat)

    assert flat.intact and flat.dtype == dtype
    for got, want in zip(weights(model), weights(plain), strict=True):
        assert got.dtype == dtype
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(
        flat.values, np.concatenate([w.ravel() for w in weights(plain)])
    )
    np.testing.assert_array_equal(
        flat.grads, np.concatenate([p.grad.ravel() for p in plain.parameters()])
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_a_flattened_model_trains_bit_identically_in_the_trainer(name, dtype):
    # The Trainer's fast paths: lazily zeroed gradients written through writable_grad.
    x, y = data(dtype, n=48)
    models = []
    for flatten in (False, True):
        model = build(dtype)
        if flatten:
            flat = nf.flatten_parameters(model.parameters())
        trainer = nf.Trainer(model, nf.CrossEntropyLoss(), OPTIMIZERS[name](model.parameters()))
        trainer.fit(x, y, epochs=2, batch_size=16, shuffle=False, progress=False)
        models.append(model)
    assert flat.intact
    for got, want in zip(weights(models[1]), weights(models[0]), strict=True):
        np.testing.assert_array_equal(got, want)


@settings(deadline=None, max_examples=20)
@given(seed=st.integers(0, 2**16), lr=st.floats(1e-3, 0.5))
def test_a_torch7_style_update_of_the_flat_arrays_is_sgd(seed, lr):
    # One update over one array, in float64, equals SGD over each parameter: exactly
    # through nnframe.blas.axpy (what SGD uses), to rounding as a numpy expression.
    x, y = data(np.float64, seed)
    plain = build(np.float64, seed)
    train(plain, nf.SGD(plain.parameters(), lr=lr), x, y)

    loss = nf.CrossEntropyLoss()
    for update, check in (
        (lambda flat: nf.blas.axpy(-lr, flat.grads, flat.values), np.testing.assert_array_equal),
        (lambda flat: flat.values.__isub__(lr * flat.grads), _close),
    ):
        model = build(np.float64, seed)
        flat = nf.flatten_parameters(model.parameters())
        for _ in range(STEPS):
            flat.zero_grad()
            half = len(x) // 2
            for part in (slice(0, half), slice(half, None)):
                loss(model(x[part]), y[part])
                model.backward(loss.backward() / 2)
            update(flat)
        for got, want in zip(weights(model), weights(plain), strict=True):
            check(got, want)


def _close(got, want):
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_clip_grad_norm_on_flattened_parameters_clips_the_flat_gradient():
    x, y = data(np.float64)
    model = build(np.float64)
    flat = nf.flatten_parameters(model.parameters())
    loss = nf.CrossEntropyLoss()
    loss(model(x), y)
    model.backward(loss.backward())
    norm = nf.clip_grad_norm(model.parameters(), max_norm=1e-3)
    assert norm > 1e-3
    np.testing.assert_allclose(np.linalg.norm(flat.grads), 1e-3, rtol=1e-12)


# -- SGD over one array -------------------------------------------------------------------


class CountingUpdates:
    """Counts the updates SGD makes through axpy, and those of the whole flat array."""

    def __init__(self, monkeypatch, flat):
        self.calls = self.flat_calls = 0
        original = nf.optim.sgd.axpy

        def axpy(alpha, x, y):
            self.calls += 1
            self.flat_calls += y is flat.values
            original(alpha, x, y)

        monkeypatch.setattr(nf.optim.sgd, "axpy", axpy)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_plain_sgd_on_flat_parameters_updates_one_array_with_identical_bits(dtype):
    x, y = data(dtype)
    plain = build(dtype)
    train(plain, nf.SGD(plain.parameters(), lr=0.05), x, y)

    model = build(dtype)
    flat = nf.flatten_parameters(model.parameters())
    optimizer = nf.SGD(flat, lr=0.05)
    assert optimizer.params == list(flat.params)
    values = flat.values
    train(model, optimizer, x, y, flat)
    assert flat.values is values and optimizer.step_count == STEPS
    for got, want in zip(weights(model), weights(plain), strict=True):
        np.testing.assert_array_equal(got, want)


def test_sgd_on_flat_parameters_settles_gradients_marked_zero():
    a, b = nf.Parameter(np.ones(2)), nf.Parameter(np.ones(3))
    flat = nf.flatten_parameters([a, b])
    optimizer = nf.SGD(flat, lr=1.0)
    flat.grads[...] = 5.0
    optimizer.zero_grad()
    a.grad += 1.0  # b's gradient is marked zero, its array still holds 5
    optimizer.step()
    np.testing.assert_array_equal(flat.values, [0.0, 0.0, 1.0, 1.0, 1.0])


@pytest.mark.parametrize(
    "change",
    [
        lambda opt, model: setattr(opt, "momentum", 0.9),
        lambda opt, model: setattr(opt, "weight_decay", 0.01),
        lambda opt, model: model.astype(np.float32),  # detaches every parameter
    ],
    ids=["momentum", "weight_decay", "detached"],
)
def test_sgd_on_flat_parameters_steps_parameter_by_parameter_otherwise(change, monkeypatch):
    x, y = data(np.float64)
    model = build(np.float64)
    flat = nf.flatten_parameters(model.parameters())
    optimizer = nf.SGD(flat, lr=0.05)
    counter = CountingUpdates(monkeypatch, flat)
    train(model, optimizer, x, y)
    assert counter.calls == counter.flat_calls == STEPS  # one array, one update per step
    counter.calls = counter.flat_calls = 0
    change(optimizer, model)
    x = x.astype(model[0].dtype)
    twin = copy.deepcopy(model)  # the same state, stepped parameter by parameter
    twin_optimizer = nf.SGD(twin.parameters(), lr=0.05)
    twin_optimizer.load_state_dict(optimizer.state_dict())
    train(model, optimizer, x, y)
    assert counter.flat_calls == 0 and counter.calls == STEPS * len(flat)
    train(twin, twin_optimizer, x, y)
    for got, want in zip(weights(model), weights(twin), strict=True):
        np.testing.assert_array_equal(got, want)


def test_plain_sgd_calls_an_update_that_a_subclass_or_a_patch_provides():
    # Plain SGD steps in one loop without update(); an update() of one's own still runs.
    calls = []

    class Logged(nf.SGD):
        def update(self, p):
            calls.append(p)
            super().update(p)

    p = nf.Parameter(np.ones(3))
    p.grad[...] = 1.0
    Logged([p], lr=0.5).step()
    patched = nf.SGD([p], lr=0.5)
    patched.update = lambda q: calls.append(q)
    patched.step()
    assert calls == [p, p]
    np.testing.assert_array_equal(p.value, [0.5, 0.5, 0.5])  # the patch did not update
