"""Frozen parameters: no gradient work, no update, skipped backward, counted, saved."""

from __future__ import annotations

import numpy as np
import pytest

import nnframe as nf
from nnframe.errors import ArgumentTypeError
from nnframe.optim import SGD, Adam, AdamW, RMSprop


def count_products(monkeypatch):
    """Count the weight- and input-gradient products of Linear layers, by weight shape."""
    calls = {"weight": [], "input": []}
    weight_grad, input_grad = nf.functional.linear_grad_weight, nf.functional.linear_grad_input

    def counting_weight(x, grad_y, out=None):
        calls["weight"].append((grad_y.shape[-1], x.shape[-1]))
        return weight_grad(x, grad_y, out=out)

    def counting_input(grad_y, weight, out=None):
        calls["input"].append(weight.shape)
        return input_grad(grad_y, weight, out=out)

    monkeypatch.setattr(nf.functional, "linear_grad_weight", counting_weight)
    monkeypatch.setattr(nf.functional, "linear_grad_input", counting_input)
    return calls


def extractor_and_head():
    return nf.Sequential(
        nf.Linear(6, 8, rng=0), nf.ReLU(), nf.Linear(8, 5, rng=1), nf.Tanh(), nf.Linear(5, 3, rng=2)
    )


def test_requires_grad_is_a_validated_bool():
    p = nf.Parameter(np.zeros(2))
    assert p.requires_grad is True
    for bad in ("yes", 1, None):
        with pytest.raises(ArgumentTypeError, match=r"Parameter\.requires_grad must be a bool"):
            p.requires_grad = bad
        assert p.requires_grad is True
    with pytest.raises(ArgumentTypeError, match="Parameter: requires_grad"):
        nf.Parameter(np.zeros(2), requires_grad=0)
    with pytest.raises(ArgumentTypeError, match=r"requires_grad_: requires_grad must be a bool"):
        nf.Linear(2, 2).requires_grad_("no")
    assert "requires_grad=False" in repr(nf.Parameter(np.zeros(1), requires_grad=False))


def test_a_frozen_linear_does_no_weight_gradient_product(monkeypatch, rng):
    layer = nf.Linear(4, 3, rng=0, dtype=np.float64).requires_grad_(False)
    calls = count_products(monkeypatch)
    x = rng.standard_normal((5, 4))
    y = layer(x)
    grad_x = layer.backward(np.ones_like(y), input_grad=True)
    assert calls["weight"] == []
    assert not layer.weight.grad.any() and not layer.bias.grad.any()
    np.testing.assert_allclose(grad_x, np.ones((5, 3)) @ layer.weight.value)
    layer.weight.requires_grad = True  # the bias alone stays frozen
    layer(x)
    layer.backward(np.ones_like(y))
    assert calls["weight"] == [(3, 4)] and not layer.bias.grad.any()


def test_input_gradient_through_a_frozen_layer_is_exact(rng):
    model = nf.Sequential(
        nf.Linear(3, 4, rng=0, dtype=np.float64),
        nf.Tanh(),
        nf.Linear(4, 2, rng=1, dtype=np.float64).requires_grad_(False),
    )
    report = nf.assert_gradients(model, rng.standard_normal((4, 3)))
    assert "2.weight (frozen)" in str(report)


class LeakyFrozenLinear(nf.Linear):
    def backward(self, grad_y):
        x = self.saved("x")
        self.weight.grad += grad_y.T @ x  # planted bug: ignores requires_grad
        self.bias.grad += grad_y.sum(axis=0)
        return grad_y @ self.weight.value


def test_gradcheck_fails_a_frozen_parameter_that_gets_a_gradient(rng):
    layer = LeakyFrozenLinear(3, 2, rng=0, dtype=np.float64).requires_grad_(False)
    report = nf.gradcheck(layer, rng.standard_normal((4, 3)))
    assert not report.ok
    assert "BAD weight (frozen)" in str(report)


def test_a_frozen_start_of_the_chain_is_not_back_propagated(monkeypatch, rng):
    model = extractor_and_head()
    model[:4].requires_grad_(False)
    calls = count_products(monkeypatch)
    y = model(rng.standard_normal((7, 6)).astype(np.float32))
    assert model.backward(np.ones_like(y)) is None
    assert calls == {"weight": [(3, 5)], "input": []}
    assert not model.has_cache()
    # Asked for the input gradient, the whole chain runs and the frozen layers give none.
    y = model(rng.standard_normal((7, 6)).astype(np.float32))
    assert model.backward(np.ones_like(y), input_grad=True).shape == (7, 6)
    assert len(calls["input"]) == 3 and len(calls["weight"]) == 2
    assert not model[0].weight.grad.any()


def test_unfreezing_brings_the_backward_pass_back(monkeypatch, rng):
    model = extractor_and_head()
    model.requires_grad_(False)
    model[4].requires_grad_(True)
    x = rng.standard_normal((3, 6)).astype(np.float32)
    model.backward(np.ones_like(model(x)))
    model[0].requires_grad_(True)
    calls = count_products(monkeypatch)
    model.backward(np.ones_like(model(x)))
    assert sorted(calls["weight"]) == [(3, 5), (8, 6)]  # model[2] is still frozen
    assert sorted(calls["input"]) == [(3, 5), (5, 8)]
    assert model[0].weight.grad.any()


def test_a_chain_without_parameters_still_runs_every_backward():
    # Only frozen parameters make a start skippable: a chain with none behaves as always.
    seen = []
    model = nf.Sequential(nf.Tanh(), nf.ReLU())
    model[0].register_backward_hook(lambda layer, gy, gx: seen.append(gx))
    nf.Parameter(np.zeros(1), requires_grad=False)  # freezing is in use in this process
    model.backward(np.ones_like(model(np.ones((1, 2)))))
    assert seen == [None]


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: SGD(ps, lr=0.1),
        lambda ps: SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01),
        lambda ps: Adam(ps, lr=0.01),
        lambda ps: AdamW(ps, lr=0.01),
        lambda ps: RMSprop(ps, lr=0.01),
        lambda ps: SGD(nf.flatten_parameters(ps), lr=0.1),
    ],
    ids=["sgd", "sgd-momentum", "adam", "adamw", "rmsprop", "sgd-flat"],
)
def test_optimizers_leave_frozen_parameters_alone(make, rng):
    model = extractor_and_head()
    optimizer = make(model.parameters())
    frozen = model[2]
    frozen.requires_grad_(False)
    frozen.weight.grad[...] = 1.0  # a custom layer might still write a gradient
    before = frozen.weight.value.copy(), frozen.bias.value.copy()
    head = model[4].weight.value.copy()
    x = rng.standard_normal((4, 6)).astype(np.float32)
    for _ in range(3):
        model.backward(np.ones_like(model(x)))
        optimizer.step()
    np.testing.assert_array_equal(frozen.weight.value, before[0])
    np.testing.assert_array_equal(frozen.bias.value, before[1])
    assert not np.array_equal(model[4].weight.value, head)
    if not isinstance(optimizer.params, nf.FlatParameters):
        assert optimizer.state[frozen.weight] == {}


def test_summary_counts_trainable_and_frozen():
    model = extractor_and_head()
    model[0].requires_grad_(False)
    table = model.summary(6)
    assert (table.total_parameters, table.trainable_parameters, table.frozen_parameters) == (
        56 + 45 + 18, 45 + 18, 56,
    )
    assert "Total parameters: 119 (trainable 63, frozen 56)" in str(table)


def test_frozen_parameters_are_saved_with_the_model(tmp_path):
    model = extractor_and_head()
    model[0].requires_grad_(False)
    model[4].bias.requires_grad = False
    nf.save(model, tmp_path / "m.safetensors")
    again = nf.load(tmp_path / "m.safetensors")
    assert [p.requires_grad for p in again.parameters()] == [
        False, False, True, True, True, False,
    ]
    nf.save(extractor_and_head(), tmp_path / "plain.safetensors")
    assert "nnframe.frozen" not in nf.serialization.read_metadata(tmp_path / "plain.safetensors")


def test_a_frozen_feature_extractor_with_a_new_head_trains_the_head_only(rng):
    x = rng.standard_normal((64, 6)).astype(np.float32)
    target = rng.integers(0, 3, 64)
    model = extractor_and_head()
    model[:4].requires_grad_(False)
    features = [p.value.copy() for p in model[:4].parameters()]
    trainer = nf.Trainer(model, nf.CrossEntropyLoss(), SGD(model.parameters(), lr=0.1))
    history = trainer.fit(x, target, epochs=5, batch_size=16, progress=False)
    assert history.history["loss"][-1] < history.history["loss"][0]
    for before, p in zip(features, model[:4].parameters(), strict=True):
        np.testing.assert_array_equal(before, p.value)


def test_tying_or_replacing_a_frozen_layer_brings_its_gradient_back(rng):
    # Which start of a chain is frozen is worked out at each backward: a frozen layer
    # given a trainable Parameter (weight tying), or a layer replaced inside a nested
    # container, gets its gradient at the very next step.
    x = rng.standard_normal((4, 3))
    donor = nf.Linear(3, 3, rng=5, dtype=np.float64)
    model = nf.Sequential(
        nf.Linear(3, 3, rng=0, dtype=np.float64), nf.Linear(3, 2, rng=1, dtype=np.float64)
    )
    model[0].requires_grad_(False)
    model.backward(np.ones_like(model(x)))
    model[0].weight = donor.weight
    model.zero_grad()
    model.backward(np.ones_like(model(x)))
    assert model[0].weight.grad.any()
    inner = nf.Sequential(nf.Linear(3, 3, rng=2, dtype=np.float64).requires_grad_(False))
    nested = nf.Sequential(inner, nf.Linear(3, 2, rng=3, dtype=np.float64))
    nested.backward(np.ones_like(nested(x)))
    inner.layers[0] = nf.Linear(3, 3, rng=4, dtype=np.float64)
    nested.backward(np.ones_like(nested(x)))
    assert inner[0].weight.grad.any()


def test_a_frozen_batch_norm_gets_no_gradient(rng):
    layer = nf.BatchNorm1d(3, dtype=np.float64)
    layer.requires_grad_(False)
    report = nf.gradcheck(layer, rng.standard_normal((5, 3)))
    assert report.ok, str(report)
    y = layer(rng.standard_normal((5, 3)))
    layer.backward(np.ones_like(y))
    assert not layer.weight.grad.any() and not layer.bias.grad.any()
