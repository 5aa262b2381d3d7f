"""Forward and backward hooks: when they run, what they see, handles, copies, files, errors."""

from __future__ import annotations

import numpy as np
import pytest

import nnframe as nf
from nnframe.errors import ArgumentTypeError, ShapeError


def model3():
    return nf.Sequential(nf.Linear(3, 4, rng=0), nf.ReLU(), nf.Linear(4, 2, rng=1))


def test_forward_hook_sees_the_layer_its_input_and_its_output(rng):
    model = model3()
    calls = []
    model[1].register_forward_hook(lambda layer, x, y: calls.append((layer, x, y)))
    x = rng.standard_normal((5, 3)).astype(np.float32)
    out = model(x)
    [(layer, seen_x, seen_y)] = calls
    assert layer is model[1]
    np.testing.assert_array_equal(seen_x, model[0].clone()(x))
    np.testing.assert_array_equal(seen_y, np.maximum(seen_x, 0))
    assert out.shape == (5, 2)


def test_backward_hook_sees_both_gradients_and_final_parameter_gradients(rng):
    model = model3()
    seen = []

    def record(layer, grad_y, grad_x):
        seen.append((layer, grad_y.copy(), None if grad_x is None else grad_x.copy()))
        seen.append(layer.weight.grad.copy())

    model[2].register_backward_hook(record)
    model[0].register_backward_hook(record)
    y = model(rng.standard_normal((5, 3)).astype(np.float32))
    g = np.ones_like(y)
    model.backward(g)
    (last, grad_y, grad_x), last_weight_grad, (first, _, first_grad_x), _ = seen
    assert last is model[2] and first is model[0]
    np.testing.assert_array_equal(grad_y, g)
    np.testing.assert_allclose(grad_x, g @ model[2].weight.value, rtol=1e-6)
    np.testing.assert_array_equal(last_weight_grad, model[2].weight.grad)
    assert first_grad_x is None  # the data's gradient was not asked for


def test_hooks_on_containers_and_their_order(rng):
    model = model3()
    order = []
    model.register_forward_hook(lambda *a: order.append("model"))
    model[0].register_forward_hook(lambda *a: order.append("first"))
    model[0].register_forward_hook(lambda *a: order.append("first again"))
    model.register_backward_hook(lambda layer, gy, gx: order.append(("model back", gx)))
    y = model(np.ones((2, 3)))
    model.backward(np.ones_like(y), input_grad=True)
    assert order[:3] == ["first", "first again", "model"]
    assert order[3][0] == "model back" and order[3][1].shape == (2, 3)


def test_remove_and_context_manager():
    layer = nf.Tanh()
    calls = []
    handle = layer.register_forward_hook(lambda *a: calls.append(1))
    layer(np.ones((1, 2)))
    handle.remove()
    handle.remove()  # a second remove does nothing
    layer(np.ones((1, 2)))
    assert calls == [1]
    assert repr(handle) == "HookHandle(removed)"
    with layer.register_backward_hook(lambda *a: calls.append(2)) as inner:
        assert repr(inner) == "HookHandle(active)"
        layer.backward(np.ones_like(layer(np.ones((1, 2)))))
    layer.backward(np.ones_like(layer(np.ones((1, 2)))))
    assert calls == [1, 2]


def test_a_hook_may_remove_itself_while_running():
    layer = nf.ReLU()
    calls = []
    handles = []

    def once(*args):
        calls.append(1)
        handles[0].remove()

    handles.append(layer.register_forward_hook(once))
    layer(np.ones((1, 2)))
    layer(np.ones((1, 2)))
    assert calls == [1]


def test_forward_hooks_run_under_no_grad_and_backward_hooks_only_for_backward():
    layer = nf.Linear(2, 2, rng=0)
    calls = []
    layer.register_forward_hook(lambda *a: calls.append("f"))
    layer.register_backward_hook(lambda *a: calls.append("b"))
    with nf.no_grad():
        layer(np.ones((1, 2)))
    assert calls == ["f"]


def test_hooks_are_not_copied_saved_or_in_state(tmp_path):
    model = model3()
    calls = []
    model[0].register_forward_hook(lambda *a: calls.append(1))
    before = model.state_dict().keys()
    clone = model.clone()
    clone(np.ones((1, 3)))
    model.summary(3)
    assert calls == []  # neither the clone nor summary's copy runs the hook
    nf.save(model, tmp_path / "m.safetensors")
    nf.load(tmp_path / "m.safetensors")(np.ones((1, 3)))
    assert calls == []
    assert model.state_dict().keys() == before
    assert [name for name, _ in model.walk()] == [name for name, _ in model3().walk()]
    model(np.ones((1, 3)))
    assert calls == [1]


def test_a_hook_that_raises_gets_its_name_and_the_layer_path():
    def broken(layer, x, y):
        raise ValueError("hook failed")

    inner = nf.Sequential(nf.Linear(2, 2, rng=0), nf.Tanh(), nf.Linear(2, 2, rng=1))
    model = nf.Sequential(nf.Linear(2, 2, rng=2), nf.Residual(inner))
    inner[2].register_forward_hook(broken)
    with pytest.raises(ValueError, match="hook failed") as info:
        model(np.ones((1, 2)))
    notes = info.value.__notes__
    assert "broken" in notes[0] and "Linear(2 -> 2)" in notes[0]
    assert notes[1] == "in Sequential[1] Residual[0][2] Linear(2 -> 2)"

    def broken_backward(layer, grad_y, grad_x):
        raise ShapeError("no")

    model[0].register_backward_hook(broken_backward)
    model2 = nf.Sequential(nf.Tanh(), model[0])
    y = model2(np.ones((1, 2)))
    with pytest.raises(ShapeError) as info:
        model2.backward(np.ones_like(y))
    assert info.value.__notes__[-1] == "in Sequential[1] Linear(2 -> 2)"
    assert "backward hook" in info.value.__notes__[0]


@pytest.mark.parametrize("hook", [None, 3, "print"])
def test_a_hook_that_is_not_callable_is_refused(hook):
    layer = nf.ReLU()
    with pytest.raises(ArgumentTypeError, match="register_forward_hook: hook must be callable"):
        layer.register_forward_hook(hook)
    with pytest.raises(ArgumentTypeError, match="register_backward_hook: hook must be callable"):
        layer.register_backward_hook(hook)
    assert not layer._forward_hooks and not layer._backward_hooks


def test_backward_hook_of_a_layer_taking_a_fused_gradient(rng):
    # BCELoss hands the Sigmoid that made the prediction its input gradient directly.
    model = nf.Sequential(nf.Linear(3, 1, rng=0), nf.Sigmoid())
    seen = []
    model[1].register_backward_hook(lambda layer, grad_y, grad_x: seen.append(grad_x))
    loss = nf.BCELoss()
    x = rng.standard_normal((4, 3)).astype(np.float32)
    target = np.array([[1.0], [0.0], [1.0], [0.0]], dtype=np.float32)
    loss(model(x), target)
    model.backward(loss.backward())
    [grad_x] = seen
    np.testing.assert_allclose(grad_x, (model[1].clone()(model[0].clone()(x)) - target) / 4,
                               rtol=1e-5)
    loss(model[1](np.ones((4, 1), dtype=np.float32)), target)
    assert model[1].backward(loss.backward()) is None  # called directly: not asked for
    assert seen[-1] is None
