"""Trainer.train_step: its order, the on_after_backward hook, grad_clip_norm, overriding."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnframe as nf
from nnframe import training
from nnframe.errors import ArgumentError, ArgumentTypeError, TrainingDivergedError
from nnframe.training import Callback


def regression(n=24, seed=0, scale=10.0):
    """A float64 regression problem whose gradients are large (norm well above 1)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3))
    y = scale * rng.standard_normal((n, 2))
    return x, y


def tanh_model(seed=0):
    return nf.mlp([3, 5, 2], hidden_activation="tanh", rng=seed, dtype=np.float64)


def weights(model):
    return [p.value.copy() for p in model.parameters()]


def global_norm(arrays):
    return math.sqrt(sum(float(np.sum(a * a)) for a in arrays))


class Recorder(Callback):
    """Records the gradients and weights it sees between backward and the update."""

    def __init__(self):
        self.seen = []
        self.callbacks_seen = []

    def on_after_backward(self, trainer):
        params = trainer.optimizer.params
        self.seen.append(([p.grad.copy() for p in params], [p.value.copy() for p in params]))
        self.callbacks_seen.append(trainer.callbacks)


class ScaleGradients(Callback):
    def __init__(self, factor):
        self.factor = factor

    def on_after_backward(self, trainer):
        for p in trainer.optimizer.params:
            p.grad *= self.factor


# -- grad_clip_norm --------------------------------------------------------------------


@settings(deadline=None, max_examples=25)
@given(seed=st.integers(0, 2**16), max_norm=st.floats(0.01, 0.5))
def test_grad_clip_norm_bounds_the_update_of_a_step(seed, max_norm):
    # With SGD(lr=1) the change of the weights is the gradient the optimizer applied.
    x, y = regression(seed=seed)
    model = nf.Linear(3, 2, rng=seed, dtype=np.float64)
    reference = copy.deepcopy(model)
    before = weights(model)
    trainer = nf.Trainer(
        model, nf.MSELoss(), nf.SGD(model.parameters(), lr=1.0), grad_clip_norm=max_norm
    )
    trainer.train_on_batch(x, y)
    change = [b - a for a, b in zip(weights(model), before, strict=True)]

    loss = nf.MSELoss()
    reference.zero_grad()
    loss.forward(reference.forward(x), y)
    reference.backward(loss.backward())
    raw = global_norm([p.grad for p in reference.parameters()])
    assert raw > max_norm  # the clipping is at work
    nf.clip_grad_norm(reference.parameters(), max_norm)
    np.testing.assert_allclose(global_norm(change), max_norm, rtol=1e-12)
    for got, p in zip(change, reference.parameters(), strict=True):
        np.testing.assert_allclose(got, p.grad, rtol=1e-12, atol=1e-15)


def test_grad_clip_norm_leaves_small_gradients_alone():
    x, y = regression(scale=0.0)
    x = x * 1e-3
    model = nf.Linear(3, 2, rng=0, dtype=np.float64)
    plain, clipped = copy.deepcopy(model), copy.deepcopy(model)
    for m, norm in ((plain, None), (clipped, 1e6)):
        trainer = nf.Trainer(m, nf.MSELoss(), nf.SGD(m.parameters(), lr=1.0), grad_clip_norm=norm)
        trainer.train_on_batch(x, y)
    for a, b in zip(weights(plain), weights(clipped), strict=True):
        np.testing.assert_array_equal(a, b)


def test_fit_with_grad_clip_norm_matches_the_same_run_by_hand():
    x, y = regression(n=40)
    model = tanh_model()
    by_hand = copy.deepcopy(model)
    unclipped = copy.deepcopy(model)
    max_norm = 0.25

    def sgd(m):
        return nf.SGD(m.parameters(), lr=0.1, momentum=0.9)

    trainer = nf.Trainer(model, nf.MSELoss(), sgd(model), grad_clip_norm=max_norm)
    trainer.fit(x, y, epochs=3, batch_size=8, rng=0, progress=False)

    loss, optimizer, generator = nf.MSELoss(), sgd(by_hand), np.random.default_rng(0)
    by_hand.train()
    for _ in range(3):
        for xb, yb in nf.batches(x, y, 8, shuffle=True, rng=generator):
            optimizer.zero_grad()
            loss.forward(by_hand.forward(xb), yb)
            by_hand.backward(loss.backward())
            nf.clip_grad_norm(by_hand.parameters(), max_norm)
            optimizer.step()
    for a, b in zip(weights(model), weights(by_hand), strict=True):
        np.testing.assert_array_equal(a, b)

    nf.Trainer(unclipped, nf.MSELoss(), sgd(unclipped)).fit(
        x, y, epochs=3, batch_size=8, rng=0, progress=False
    )
    assert any(
        not np.allclose(a, b) for a, b in zip(weights(model), weights(unclipped), strict=True)
    )


@pytest.mark.parametrize(
    "value, error",
    [
        (0, ArgumentError),
        (0.0, ArgumentError),
        (-1, ArgumentError),
        (math.nan, ArgumentError),
        (math.inf, ArgumentError),
        ("1", ArgumentTypeError),
        (True, ArgumentTypeError),
        ([1.0], ArgumentTypeError),
    ],
)
def test_bad_grad_clip_norm_is_refused_before_anything_changes(value, error):
    model = tanh_model()
    state = model.state_dict()
    optimizer = nf.SGD(model.parameters(), lr=0.1)
    with pytest.raises(error, match="Trainer: grad_clip_norm"):
        nf.Trainer(model, nf.MSELoss(), optimizer, grad_clip_norm=value)
    for name, array in model.state_dict().items():
        np.testing.assert_array_equal(array, state[name])


def test_grad_clip_norm_needs_an_optimizer_with_its_parameters():
    class Bare:  # steps and zeroes, but does not say which parameters
        def step(self):
            pass

        def zero_grad(self):
            pass

    model = tanh_model()
    with pytest.raises(ArgumentTypeError, match=r"Trainer: grad_clip_norm .*optimizer\.params"):
        nf.Trainer(model, nf.MSELoss(), Bare(), grad_clip_norm=1.0)
    assert nf.Trainer(model, nf.MSELoss(), Bare()).grad_clip_norm is None


def test_grad_clip_norm_is_stored_as_a_float():
    model = tanh_model()
    trainer = nf.Trainer(model, nf.MSELoss(), nf.SGD(model.parameters(), lr=0.1),
                         grad_clip_norm=np.float32(2))
    assert trainer.grad_clip_norm == 2.0 and type(trainer.grad_clip_norm) is float


# -- the on_after_backward hook ------------------------------------------------------------


def test_on_after_backward_sees_the_batch_gradients_before_the_update():
    x, y = regression(n=16)
    model = tanh_model()
    initial = copy.deepcopy(model)
    recorder = Recorder()
    trainer = nf.Trainer(model, nf.MSELoss(), nf.SGD(model.parameters(), lr=0.1))
    trainer.fit(x, y, epochs=1, batch_size=16, shuffle=False, progress=False,
                callbacks=[recorder])

    assert len(recorder.seen) == 1
    grads, values = recorder.seen[0]
    for value, p in zip(values, initial.parameters(), strict=True):
        np.testing.assert_array_equal(value, p.value)  # nothing applied yet
    loss = nf.MSELoss()
    initial.train()
    loss.forward(initial.forward(x), y)
    initial.backward(loss.backward())
    for grad, p in zip(grads, initial.parameters(), strict=True):
        np.testing.assert_allclose(grad, p.grad, rtol=1e-12, atol=1e-15)
    # ... and the update came after it.
    assert any(
        not np.array_equal(a, b) for a, b in zip(weights(model), values, strict=True)
    )
    assert recorder.callbacks_seen == [(recorder,)]
    assert trainer.callbacks == ()


def test_on_after_backward_runs_once_per_batch_in_the_order_of_the_callbacks():
    x, y = regression(n=20)
    order = []

    class Tag(Callback):
        def __init__(self, name):
            self.name = name

        def on_after_backward(self, trainer):
            order.append(self.name)

    model = tanh_model()
    trainer = nf.Trainer(model, nf.MSELoss(), nf.SGD(model.parameters(), lr=0.1))
    trainer.fit(x, y, epochs=2, batch_size=8, rng=0, progress=False,
                callbacks=[Tag("a"), Callback(), Tag("b")])
    assert order == ["a", "b"] * 6  # 3 batches per epoch, 2 epochs


def test_gradients_scaled_by_zero_in_the_hook_leave_the_weights_unchanged():
    x, y = regression()
    model = tanh_model()
    before = weights(model)
    trainer = nf.Trainer(model, nf.MSELoss(), nf.SGD(model.parameters(), lr=0.5))
    history = trainer.fit(x, y, epochs=2, batch_size=8, rng=0, progress=False,
                          callbacks=[ScaleGradients(0.0)])
    for a, b in zip(weights(model), before, strict=True):
        np.testing.assert_array_equal(a, b)
    assert history.history["loss"][0] > 0  # the steps did run


def test_the_hooks_run_before_the_clipping():
    # The hook multiplies the gradients by 1000; clipping afterwards still bounds the
    # update to max_norm. Clipping first would let an update 1000 times larger through.
    x, y = regression()
    model = nf.Linear(3, 2, rng=0, dtype=np.float64)
    before = weights(model)
    trainer = nf.Trainer(model, nf.MSELoss(), nf.SGD(model.parameters(), lr=1.0),
                         grad_clip_norm=0.5)
    trainer.fit(x, y, epochs=1, batch_size=len(x), progress=False,
                callbacks=[ScaleGradients(1000.0)])
    change = [a - b for a, b in zip(weights(model), before, strict=True)]
    np.testing.assert_allclose(global_norm(change), 0.5, rtol=1e-12)


def test_a_duck_typed_callback_without_on_after_backward_still_works():
    class OldStyle:  # the five hooks of before, no base class
        def __init__(self):
            self.batches = 0

        def on_train_begin(self, trainer):
            pass

        def on_epoch_begin(self, trainer, epoch):
            pass

        def on_epoch_end(self, trainer, epoch, logs):
            pass

        def on_train_end(self, trainer):
            pass

        def on_batch_end(self, trainer, batch, logs):
            self.batches += 1

    x, y = regression(n=16)
    model = tanh_model()
    old = OldStyle()
    nf.Trainer(model, nf.MSELoss(), nf.SGD(model.parameters(), lr=0.1)).fit(
        x, y, epochs=1, batch_size=4, progress=False, callbacks=[old]
    )
    assert old.batches == 4


def test_a_callback_whose_on_after_backward_is_not_callable_is_refused_before_training():
    class Broken(Callback):
        on_after_backward = 3

    x, y = regression(n=16)
    model = tanh_model()
    before = weights(model)
    trainer = nf.Trainer(model, nf.MSELoss(), nf.SGD(model.parameters(), lr=0.1))
    with pytest.raises(ArgumentTypeError, match=r"callbacks\[1\]\.on_after_backward"):
        trainer.fit(x, y, progress=False, callbacks=[Callback(), Broken()])
    for a, b in zip(weights(model), before, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_diverging_loss_stops_before_the_hook():
    recorder = Recorder()
    x, y = regression(n=8)
    y[0, 0] = 1e300  # the squared error overflows to inf
    model = tanh_model()
    trainer = nf.Trainer(model, nf.MSELoss(), nf.SGD(model.parameters(), lr=0.1))
    with pytest.raises(TrainingDivergedError), np.errstate(over="ignore"):
        trainer.fit(x, y, batch_size=8, progress=False, callbacks=[recorder])
    assert recorder.seen == []
    assert trainer.callbacks == ()


# -- train_step and train_on_batch -----------------------------------------------------


def test_fit_uses_an_overridden_train_step():
    class Frozen(nf.Trainer):
        """A step that trains nothing and reports a fixed loss."""

        calls = 0

        def train_step(self, x, y):
            self.calls += 1
            return 7.0, self.model.forward(x)

    x, y = regression(n=20)
    model = tanh_model()
    before = weights(model)
    trainer = Frozen(model, nf.MSELoss(), nf.SGD(model.parameters(), lr=0.1))
    history = trainer.fit(x, y, epochs=2, batch_size=8, rng=0, progress=False)
    assert trainer.calls == 6
    assert history.history["loss"] == [7.0, 7.0]
    for a, b in zip(weights(model), before, strict=True):
        np.testing.assert_array_equal(a, b)
    trainer.train_on_batch(x, y)
    assert trainer.calls == 7


def test_train_on_batch_takes_one_plain_step_and_runs_no_callbacks():
    x, y = regression(n=12)
    model = tanh_model()
    by_hand = copy.deepcopy(model)
    recorder = Recorder()
    trainer = nf.Trainer(model, nf.MSELoss(), nf.SGD(model.parameters(), lr=0.1))
    trainer.fit(x, y, epochs=1, batch_size=12, shuffle=False, progress=False,
                callbacks=[recorder])
    value = trainer.train_on_batch(x, y)
    assert len(recorder.seen) == 1  # the fit's batch only

    loss, optimizer = nf.MSELoss(), nf.SGD(by_hand.parameters(), lr=0.1)
    by_hand.train()
    for _ in range(2):
        optimizer.zero_grad()
        expected = loss.forward(by_hand.forward(x), y)
        by_hand.backward(loss.backward())
        optimizer.step()
    assert value == expected
    for a, b in zip(weights(model), weights(by_hand), strict=True):
        np.testing.assert_array_equal(a, b)


def test_train_on_batch_inside_a_callback_runs_no_callbacks_and_keeps_the_fit_going():
    class ExtraStep(Recorder):
        def on_epoch_end(self, trainer, epoch, logs):
            before = len(self.seen)
            trainer.train_on_batch(x[:4], y[:4])
            assert len(self.seen) == before
            assert trainer.callbacks == (self,)

    x, y = regression(n=8)
    model = tanh_model()
    extra = ExtraStep()
    trainer = nf.Trainer(model, nf.MSELoss(), nf.SGD(model.parameters(), lr=0.1))
    trainer.fit(x, y, epochs=2, batch_size=8, progress=False, callbacks=[extra])
    assert len(extra.seen) == 2


# -- the package -----------------------------------------------------------------------


def test_the_training_names_keep_their_public_paths():
    assert nf.Trainer is training.Trainer is training.trainer.Trainer
    assert nf.History is training.History is training.history.History
    assert nf.batches is training.batches
    assert nf.callbacks is training.callbacks
    assert nf.callbacks.EarlyStopping is training.EarlyStopping
    assert callable(nf.callbacks.Callback.on_after_backward)
    # nnframe.callbacks is no module of its own any more (nf.callbacks is the package's).
    package = Path(nf.__file__).parent
    assert not (package / "callbacks.py").exists()
    assert nf.callbacks.__name__ == "nnframe.training.callbacks"
