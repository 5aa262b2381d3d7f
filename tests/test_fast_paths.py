"""The training fast paths change no result, overwrite nothing a user holds, stay in dtype."""

from __future__ import annotations

import re
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import nnframe as nf


def data(dtype, n=48, features=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, features)).astype(dtype), rng.integers(0, classes, n)


def build(dtype, optimizer):
    model = nf.mlp([6, 8, 5, 3], rng=0, dtype=dtype)
    if optimizer == "sgd":
        opt = nf.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
    else:
        opt = nf.Adam(model.parameters(), lr=0.01)
    return model, nf.CrossEntropyLoss(), opt


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_trainer_fit_is_bit_identical_to_a_plain_loop(dtype, optimizer):
    x, y = data(dtype)
    fast_model, loss, opt = build(dtype, optimizer)
    nf.Trainer(fast_model, loss, opt).fit(x, y, epochs=3, batch_size=16, shuffle=False,
                                          progress=False)
    # The plain path: gradients really zeroed and accumulated into, the input gradient of
    # the first layer computed, no direct writes into .grad.
    plain_model, loss, opt = build(dtype, optimizer)
    for _ in range(3):
        for xb, yb in nf.batches(x, y, 16):
            for p in plain_model.parameters():
                p.grad[...] = 0
            loss(plain_model(xb), yb)
            grad_x = plain_model.backward(loss.backward(), input_grad=True)
            assert grad_x is not None and grad_x.shape == xb.shape
            opt.step()
    for (name, fast), (_, plain) in zip(
        fast_model.named_parameters(), plain_model.named_parameters(), strict=True
    ):
        assert fast.value.dtype == dtype
        np.testing.assert_array_equal(fast.value, plain.value, err_msg=name)


def test_the_fused_gradient_reaches_a_hand_written_loop_exactly():
    # Saturated predictions: the unfused chain rule would divide by p (1 - p) at the
    # clipped p and multiply back; the fused gradient is exactly (p - y) / n.
    model = nf.Sequential(nf.Linear(1, 1, rng=0, dtype=np.float64), nf.Sigmoid())
    model[0].weight.value[...] = 100.0
    x, y = np.array([[1.0], [-1.0]]), np.array([[0.0], [1.0]])
    loss = nf.BCELoss()
    p = model(x)
    loss(p, y)
    model.backward(loss.backward())
    expected = np.sum((p - y) / 2 * x)  # d loss / d weight through z = weight * x
    assert model[0].weight.grad[0, 0] == pytest.approx(expected, rel=1e-15)


def test_a_changed_gradient_leaves_the_fused_offer_unclaimed():
    model = nf.Sequential(nf.Linear(2, 1, rng=0, dtype=np.float64), nf.Sigmoid())
    x, y = np.array([[0.5, -1.0], [1.0, 2.0]]), np.array([[0.0], [1.0]])
    loss = nf.BCELoss()
    p = model(x)
    loss(p, y)
    grad = loss.backward()
    model.backward(grad * 2.0)  # a new array: the plain chain rule, scaled by 2
    scaled = model[0].weight.grad.copy()
    model.zero_grad()
    p = model(x)
    loss(p, y)
    model.backward(loss.backward())
    np.testing.assert_allclose(scaled, 2 * model[0].weight.grad, rtol=1e-12)


def test_fused_sigmoid_bce_gradient_matches_the_unfused_one():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((32, 4))
    y = rng.integers(0, 2, (32, 1)).astype(float)
    models = [nf.mlp([4, 5, 1], output_activation="sigmoid", rng=0, dtype=np.float64)
              for _ in range(2)]
    fused = nf.Trainer(models[0], nf.BCELoss(), nf.SGD(models[0].parameters(), lr=0.5))
    fused.train_on_batch(x, y)
    loss = nf.BCELoss()
    loss(models[1](x), y)
    models[1].backward(loss.backward() + 0.0)  # a copy: the offer is not claimed
    nf.SGD(models[1].parameters(), lr=0.5).step()
    for p, q in zip(models[0].parameters(), models[1].parameters(), strict=True):
        np.testing.assert_allclose(p.value, q.value, rtol=1e-12, atol=1e-15)


def test_the_fused_gradient_stays_exact_for_saturated_predictions():
    loss = nf.BCELoss()
    loss(np.array([[1.0], [0.0]]), np.array([0, 1]))
    np.testing.assert_allclose(loss.backward_through_sigmoid(), [[0.5], [-0.5]], rtol=1e-15)


def test_outputs_and_input_gradients_are_never_overwritten_by_later_calls():
    model = nf.mlp([6, 8, 3], rng=0)
    x1, _ = data(np.float32, seed=1)
    x2, _ = data(np.float32, seed=2)
    y1 = model(x1)
    y1_copy = y1.copy()
    g1 = model.backward(np.ones_like(y1), input_grad=True)
    g1_copy = g1.copy()
    y2 = model(x2)
    g2 = model.backward(np.full_like(y2, 2.0), input_grad=True)
    np.testing.assert_array_equal(y1, y1_copy)
    np.testing.assert_array_equal(g1, g1_copy)
    assert not np.shares_memory(y1, y2) and not np.shares_memory(g1, g2)


def test_what_is_reused_parameter_gradients_and_layer_work_arrays():
    # Documented reuse (docs/performance.md): each Parameter keeps one gradient array for
    # its whole life, and zero_grad() only marks it; a Linear keeps one work array for the
    # weight gradient, which never leaves the layer.
    layer = nf.Linear(4, 3, rng=0)
    x = np.ones((2, 4), np.float32)
    grad_array = layer.weight.grad
    layer(x)
    layer.backward(np.ones((2, 3), np.float32))
    first = grad_array.copy()
    layer.zero_grad()
    assert layer.weight.grad is grad_array and not grad_array.any()
    layer(x)
    layer.backward(np.ones((2, 3), np.float32))  # written straight into the same array
    assert layer.weight.grad is grad_array
    np.testing.assert_array_equal(grad_array, first)
    layer(x)
    # accumulates through the work array
    returned = layer.backward(np.ones((2, 3), np.float32), input_grad=True)
    np.testing.assert_array_equal(layer.weight.grad, 2 * first)
    work = layer.scratch("grad_weight", layer.weight.shape, layer.weight.dtype)
    assert not np.shares_memory(work, returned) and not np.shares_memory(work, grad_array)


def count_input_gradients(monkeypatch):
    """Count the input-gradient products of Linear layers (what the first layer skips)."""
    calls = []
    original = nf.functional.linear_grad_input

    def counting(grad_y, weight):
        calls.append(weight.shape)
        return original(grad_y, weight)

    monkeypatch.setattr(nf.functional, "linear_grad_input", counting)
    return calls


def test_the_documented_loop_computes_no_input_gradient_for_the_data(monkeypatch):
    x, y = data(np.float32)
    model, loss, opt = build(np.float32, "sgd")  # Linear(6, 8), Linear(8, 5), Linear(5, 3)
    calls = count_input_gradients(monkeypatch)
    opt.zero_grad()
    loss_value = loss(model(x), y)
    returned = model.backward(loss.backward())
    opt.step()
    assert np.isfinite(loss_value) and returned is None
    # The two upper Linears hand a gradient down; the first, which sees the data, does not.
    assert calls == [(3, 5), (5, 8)]


def test_the_trainer_and_an_explicit_request_count_as_documented(monkeypatch):
    x, y = data(np.float32)
    model, loss, opt = build(np.float32, "sgd")
    calls = count_input_gradients(monkeypatch)
    nf.Trainer(model, loss, opt).fit(x, y, epochs=1, batch_size=16, progress=False)
    assert len(calls) == 2 * 3  # three batches, never the first layer
    calls.clear()
    loss(model(x), y)
    grad_x = model.backward(loss.backward(), input_grad=True)
    assert grad_x.shape == x.shape and calls == [(3, 5), (5, 8), (8, 6)]


def test_the_readme_loop_computes_no_input_gradient_for_the_data(monkeypatch):
    # The README's own training loop, run as written, on the README's model.
    text = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)\n```", text, re.S)
    setup, loop = blocks[0], next(b for b in blocks if "optimizer.zero_grad()" in b)
    namespace: dict[str, object] = {}
    exec(setup, namespace)
    calls = count_input_gradients(monkeypatch)
    exec(loop, namespace)
    # Linear(4, 8) sees the data and Linear(8, 1) hands a gradient down: one per step.
    assert calls == [(1, 8)] * 50


OPTIMIZERS = {
    "adam": lambda params: nf.Adam(params, lr=0.05),
    "sgd": lambda params: nf.SGD(params, lr=0.05),
    "sgd-momentum": lambda params: nf.SGD(params, lr=0.05, momentum=0.9),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
@pytest.mark.parametrize("width", [6, 300])  # 300: weights large enough for BLAS updates
def test_the_hand_loop_and_the_trainer_are_bit_identical(dtype, optimizer, width):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((40, 60)).astype(dtype)
    y = rng.integers(0, 2, (40, 1))
    models = [nf.mlp([60, width, 1], output_activation="sigmoid", rng=0, dtype=dtype)
              for _ in range(2)]
    make = OPTIMIZERS[optimizer]
    trainer = nf.Trainer(models[0], nf.BCELoss(), make(models[0].parameters()))
    trainer.fit(x, y, epochs=2, batch_size=8, shuffle=False, progress=False)
    model, loss = models[1], nf.BCELoss()
    opt = make(model.parameters())
    for _ in range(2):
        for xb, yb in nf.batches(x, y, 8):
            opt.zero_grad()
            loss(model(xb), yb)
            model.backward(loss.backward())
            opt.step()
    for p, q in zip(models[0].parameters(), model.parameters(), strict=True):
        np.testing.assert_array_equal(p.value, q.value)


def test_a_float32_training_step_has_no_float64_arrays():
    x, y = data(np.float32)
    model, loss, opt = build(np.float32, "adam")
    seen = []
    for layer in model:
        forward, backward = layer.forward, layer.backward

        def spy_forward(z, _f=forward):
            out = _f(z)
            seen.append(("forward", out.dtype))
            return out

        def spy_backward(g, _b=backward, **options):
            seen.append(("grad_y", g.dtype))
            out = _b(g, **options)
            if out is not None:
                seen.append(("grad_x", out.dtype))
            return out

        layer.forward, layer.backward = spy_forward, spy_backward
    nf.Trainer(model, loss, opt).fit(x, y.astype(np.float64), epochs=1, batch_size=16,
                                     progress=False)
    assert seen and {dtype for _, dtype in seen} == {np.dtype(np.float32)}
    for p in model.parameters():
        assert p.value.dtype == p.grad.dtype == np.float32
        assert all(a.dtype == np.float32 for a in opt.state[p].values()
                   if isinstance(a, np.ndarray))


def test_predict_runs_in_bounded_memory_and_keeps_no_cache():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((100_000, 20)).astype(np.float32)
    model = nf.mlp([20, 64, 64, 10], rng=0)
    trainer = nf.Trainer(model, nf.CrossEntropyLoss(), nf.SGD(model.parameters(), lr=0.1))
    tracemalloc.start()
    try:
        out = trainer.predict(x, batch_size=256)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert out.shape == (100_000, 10)
    # The output, plus one batch's activations; unbatched, one hidden layer alone would
    # take 100_000 * 64 * 4 bytes = 25.6 MB.
    assert peak < out.nbytes + 2_000_000, peak
    assert not model.has_cache()
