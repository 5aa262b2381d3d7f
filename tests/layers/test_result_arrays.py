"""Result arrays: reused from step to step, never while anybody still holds them."""

from __future__ import annotations

import pickle
import threading

import numpy as np
import pytest

import nnframe as nf


def convnet():
    return nf.Sequential(
        nf.Conv2d(2, 4, 3, padding=1, rng=0), nf.ReLU(), nf.MaxPool2d(2),
        nf.Conv2d(4, 3, 3, padding=1, rng=1), nf.ReLU(), nf.Flatten(), nf.Linear(48, 3, rng=2),
    )


def data(seed, batch=300):
    # Results of 64 KiB or more are reused: a batch of 300 makes every layer's that large.
    rng = np.random.default_rng(seed)
    return rng.standard_normal((batch, 2, 8, 8)).astype(np.float32), rng.integers(0, 3, batch)


def address(array):
    return array.__array_interface__["data"][0]


def step(model, loss, x, y):
    model.zero_grad()
    loss(model(x), y)
    return model.backward(loss.backward())


def test_a_training_step_reuses_the_memory_of_the_step_before():
    model, loss = convnet(), nf.CrossEntropyLoss()
    conv, relu = model[0], model[1]
    x, y = data(0)
    step(model, loss, x, y)
    before = [address(a) for layer in (conv, relu) for a in layer._results.values()]
    step(model, loss, x, y)
    after = [address(a) for layer in (conv, relu) for a in layer._results.values()]
    assert before == after


@pytest.mark.parametrize("keep", ["array", "view", "list", "hook"])
def test_an_output_somebody_holds_is_never_overwritten(keep):
    model, loss = convnet(), nf.CrossEntropyLoss()
    kept, copies = [], []
    if keep == "hook":
        model[1].register_forward_hook(lambda layer, x, y: kept.append(y))
    for seed in range(3):
        x, y = data(seed)
        hidden = model[:2](x) if keep != "hook" else None  # conv and ReLU outputs
        if keep == "array":
            kept.append(hidden)
        elif keep == "view":
            kept.append(hidden[:, 1:, ::2])
        elif keep == "list":
            kept.append([hidden])
        loss(model[2:](model[:2](x)), y) if keep != "hook" else loss(model(x), y)
        model.backward(loss.backward())
        del hidden
        last = kept[-1][0] if keep == "list" else kept[-1]
        copies.append(np.array(last))
    for held, copy in zip(kept, copies, strict=True):
        np.testing.assert_array_equal(held[0] if keep == "list" else held, copy)


def test_input_gradients_kept_across_steps_stay_as_they_were():
    model, loss = convnet(), nf.CrossEntropyLoss()
    grads, copies = [], []
    for seed in range(3):
        x, y = data(seed)
        model.zero_grad()
        loss(model(x), y)
        grad = model.backward(loss.backward(), input_grad=True)
        grads.append(grad)
        copies.append(grad.copy())
    assert len({address(g) for g in grads}) == 3
    for grad, copy in zip(grads, copies, strict=True):
        np.testing.assert_array_equal(grad, copy)


def test_outputs_of_repeated_inference_are_independent():
    model = convnet().eval()
    x1, _ = data(1)
    x2, _ = data(2)
    first = model(x1)
    expected = first.copy()
    with nf.no_grad():
        model(x2)
    model(x2)
    np.testing.assert_array_equal(first, expected)


def test_a_clone_does_not_share_result_or_work_arrays():
    model, loss = convnet(), nf.CrossEntropyLoss()
    x, y = data(0)
    step(model, loss, x, y)
    twin = model.clone()
    assert twin[0]._results is None and twin[0]._scratch is None
    np.testing.assert_array_equal(twin(x), model(x))


def test_inference_keeps_no_arrays_and_threads_never_share_one():
    model = convnet()
    xs = [data(seed)[0] for seed in range(40)]
    with nf.no_grad():
        expected = [model(x) for x in xs]
    assert all(layer._scratch is None and layer._results is None for layer in model)
    wrong = []

    def predict(indices):
        for i in indices:
            with nf.no_grad():
                if not np.array_equal(model(xs[i]), expected[i]):
                    wrong.append(i)

    threads = [threading.Thread(target=predict, args=(range(k, 40, 2),)) for k in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []


def test_a_pickle_carries_the_layers_not_the_arrays_they_reuse():
    model, loss = convnet(), nf.CrossEntropyLoss()
    x, y = data(0)
    step(model, loss, x, y)
    assert model[0]._results and model[0]._scratch
    copy = pickle.loads(pickle.dumps(model))
    assert all(layer._scratch is None and layer._results is None for layer in copy)
    np.testing.assert_array_equal(copy.eval()(x), model.eval()(x))


def test_clear_cache_releases_the_reused_arrays():
    model, loss = convnet(), nf.CrossEntropyLoss()
    step(model, loss, *data(0))
    model.clear_cache()
    assert all(layer._scratch is None and layer._results is None for layer in model)


def test_another_padding_never_finds_an_old_interior_in_its_border():
    layer = nf.Conv2d(2, 3, 3, padding=1, rng=0, dtype=np.float64)
    layer(np.ones((1, 2, 8, 8)))  # a padded work array of 10 x 10
    layer.padding = (2, 2)  # 6 + 2 * 2 is 10 too
    fresh = nf.Conv2d(2, 3, 3, padding=2, rng=0, dtype=np.float64)
    x = np.random.default_rng(0).standard_normal((1, 2, 6, 6))
    np.testing.assert_array_equal(layer(x), fresh(x))


def test_small_results_are_made_anew_and_kept_by_nobody():
    model, loss = convnet(), nf.CrossEntropyLoss()
    step(model, loss, *data(0, batch=2))
    assert all(not layer._results for layer in model)
