"""A forward between a loss and its backward: caught, never a silent wrong gradient."""

from __future__ import annotations

import numpy as np
import pytest

import nnframe as nf
from nnframe.errors import StaleCacheError

X1 = np.random.default_rng(0).standard_normal((6, 3)).astype(np.float32)
X2 = np.random.default_rng(1).standard_normal((6, 3)).astype(np.float32)
LABELS = np.array([0, 1, 2, 0, 1, 2])


def model_and_loss():
    model = nf.Sequential(nf.Linear(3, 5, rng=0), nf.Tanh(), nf.Linear(5, 3, rng=1))
    return model, nf.CrossEntropyLoss()


def reference_gradients():
    model, loss = model_and_loss()
    loss(model(X1), LABELS)
    model.backward(loss.backward())
    return [p.grad.copy() for p in model.parameters()]


def test_a_forward_between_loss_and_backward_is_an_error_not_a_wrong_gradient():
    # The case of the issue: an evaluation on another batch of the same size, outside
    # no_grad(). Before, backward used the second batch's activations without a word.
    model, loss = model_and_loss()
    loss(model(X1), LABELS)
    model(X2)
    with pytest.raises(StaleCacheError) as info:
        model.backward(loss.backward())
    message = str(info.value)
    assert "Linear(5 -> 3)" in message and "no_grad()" in message
    assert info.value.__notes__ == ["in Sequential[2] Linear(5 -> 3)"]
    assert isinstance(info.value, RuntimeError)


def test_several_forwards_in_between_are_caught_too():
    model, loss = model_and_loss()
    loss(model(X1), LABELS)
    for _ in range(3):
        model(X2)
    with pytest.raises(StaleCacheError):
        model.backward(loss.backward())


def test_evaluation_under_no_grad_in_between_leaves_the_gradient_exact():
    model, loss = model_and_loss()
    loss(model(X1), LABELS)
    with nf.no_grad():
        model(X2)
    model.backward(loss.backward())
    for got, want in zip((p.grad for p in model.parameters()), reference_gradients(), strict=True):
        np.testing.assert_array_equal(got, want)


def test_the_loss_computed_again_after_the_last_forward_is_fine():
    model, loss = model_and_loss()
    loss(model(X2), LABELS)
    loss(model(X1), LABELS)
    model.backward(loss.backward())
    for got, want in zip((p.grad for p in model.parameters()), reference_gradients(), strict=True):
        np.testing.assert_array_equal(got, want)


def test_a_loss_on_a_copy_of_the_output_and_two_models_are_not_flagged():
    model, loss = model_and_loss()
    loss(model(X1).copy(), LABELS)  # not the output itself: nothing to compare
    model.backward(loss.backward())
    # Two models in a chain (a generator and a critic): each model's own pass is current.
    first, second = model_and_loss()[0], nf.Sequential(nf.Linear(3, 2, rng=3))
    mse = nf.MSELoss()
    mse(second(first(X1)), np.zeros((6, 2), dtype=np.float32))
    first.backward(second.backward(mse.backward(), input_grad=True))
    assert first[0].weight.grad.any()


def test_the_trainer_and_the_documented_loop_are_untouched():
    model, loss = model_and_loss()
    trainer = nf.Trainer(model, loss, nf.SGD(model.parameters(), lr=0.1))
    trainer.fit(X1, LABELS, epochs=2, batch_size=2, progress=False,
                validation_data=(X2, LABELS))
    optimizer = nf.SGD(model.parameters(), lr=0.1)
    for _ in range(3):
        optimizer.zero_grad()
        loss(model(X1), LABELS)
        model.backward(loss.backward())
        optimizer.step()


def test_a_loss_computed_under_no_grad_does_not_hide_a_stale_cache():
    model, loss = model_and_loss()
    loss(model(X1), LABELS)
    model(X2)  # the stale forward
    with nf.no_grad():
        loss(model(X2), LABELS)  # an evaluation with the same loss object
    with pytest.raises(StaleCacheError):
        model.backward(loss.backward())


def test_another_threads_loss_does_not_hide_a_stale_cache():
    import threading

    model, loss = model_and_loss()
    loss(model(X1), LABELS)
    model(X2)
    gradient = loss.backward()

    def elsewhere():
        other, other_loss = model_and_loss()
        other_loss(other(X1), LABELS)
        other_loss.backward()

    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join()
    with pytest.raises(StaleCacheError):
        model.backward(gradient)
