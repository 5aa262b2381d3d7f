"""One contract, checked in one place: every layer's forward and backward go through it.

Built-in and custom layers (plain classes, ``@nf.layer``, ``@attrs.define``) get the same
input and gradient checks, the same decision about the input gradient, and the fused
gradient of a loss, in any container.
"""

from __future__ import annotations

import traceback

import attrs
import numpy as np
import pytest

import nnframe as nf
from nnframe.errors import CacheMissError, DTypeError, ShapeError
from nnframe.testing.strategies import input_kinks


def message(error: BaseException) -> str:
    return "".join(traceback.format_exception_only(error))


class Affine(nf.Layer):
    """A Linear as the docs teach a custom layer: a plain class and a declared spec."""

    input_spec = nf.InputSpec(min_ndim=2, axis=-1, size="in_features", dtype="dtype")

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.dtype = np.dtype(np.float32)
        self.weight = nf.Parameter(np.ones((out_features, in_features), dtype=np.float32))

    def forward(self, x):
        self.save_for_backward(x=x)
        return x @ self.weight.value.T

    def backward(self, grad_y):
        x = self.saved("x")
        self.weight.grad += grad_y.T @ x
        return grad_y @ self.weight.value

    def __repr__(self) -> str:
        return f"Linear({self.in_features} -> {self.out_features})"


@nf.layer
class Cube(nf.Layer):
    """An elementwise custom layer with no declared spec."""

    def forward(self, x):
        self.save_for_backward(x=x)
        return x**3

    def backward(self, grad_y):
        return 3 * self.saved("x") ** 2 * grad_y

    def __repr__(self) -> str:
        return "ReLU()"


def error_of(call) -> tuple[type, str]:
    with pytest.raises(nf.errors.NnframeError) as info:
        call()
    return type(info.value), message(info.value)


@pytest.mark.parametrize(
    "x",
    [np.ones((4, 5)), np.ones(3), np.ones((2, 3, 4)), np.array([["a", "b", "c"]]),
     np.ones((2, 3), dtype=complex), np.array([[None, 1, 2]], dtype=object)],
    ids=["width", "1-d", "last axis", "strings", "complex", "objects"],
)
def test_a_custom_layer_gets_the_same_input_checks_as_a_built_in_one(x):
    # Affine's repr is Linear's, so the two messages must be identical, character for
    # character: the checks are the same code.
    assert error_of(lambda: Affine(3, 2)(x)) == error_of(lambda: nf.Linear(3, 2, rng=0)(x))


@pytest.mark.parametrize(
    "x", [np.zeros(()), np.array(["a"]), np.ones((2, 2), dtype=complex)],
    ids=["0-d", "strings", "complex"],
)
def test_an_elementwise_custom_layer_is_checked_like_relu(x):
    assert error_of(lambda: Cube()(x)) == error_of(lambda: nf.ReLU()(x))


def test_a_wrong_gradient_is_refused_alike_and_changes_nothing():
    x = np.ones((4, 3), dtype=np.float32)
    custom, builtin = Affine(3, 2), nf.Linear(3, 2, rng=0)
    custom(x), builtin(x)
    bad = np.ones((4, 3))
    assert error_of(lambda: custom.backward(bad)) == error_of(lambda: builtin.backward(bad))
    for layer in (custom, builtin):
        assert layer.has_cache()
        assert not layer.weight.grad.any()
        layer.backward(np.ones((4, 2)))  # the cache survived the refused call


def test_the_gradient_arrives_in_the_output_dtype():
    layer = Affine(3, 2)
    layer(np.ones((1, 3), dtype=np.float64))  # cast to the layer's float32 by the spec
    seen = []
    original = Affine.backward.__wrapped__

    class Spy(Affine):
        def backward(self, grad_y):
            seen.append(grad_y.dtype)
            return original(self, grad_y)

    spy = Spy(3, 2)
    spy(np.ones((1, 3)))
    spy.backward(np.ones((1, 2), dtype=np.float64))
    assert seen == [np.dtype(np.float32)]


# -- who asks for the input gradient ----------------------------------------------------


def test_a_call_you_make_returns_no_input_gradient_unless_asked():
    layer = nf.Tanh()
    y = layer(np.array([[0.5, -1.0]]))
    assert layer.backward(np.ones_like(y)) is None
    assert not layer.has_cache()
    layer(np.array([[0.5, -1.0]]))
    np.testing.assert_allclose(
        layer.backward(np.ones_like(y), input_grad=True), 1 - np.tanh([[0.5, -1.0]]) ** 2
    )


class Pair(nf.Layer):
    """A custom container that is not a Sequential and knows nothing of input_grad."""

    def __init__(self) -> None:
        super().__init__()
        self.first = nf.Linear(3, 4, rng=0, dtype=np.float64)
        self.second = nf.Linear(4, 2, rng=1, dtype=np.float64)

    def forward(self, x):
        return self.second(self.first(x))

    def backward(self, grad_y):
        return self.first.backward(self.second.backward(grad_y))


def test_a_custom_container_gets_gradients_from_its_children_without_asking():
    model = Pair()
    x = np.random.default_rng(0).standard_normal((5, 3))
    y = model(x)
    assert model.backward(np.ones_like(y)) is None  # nobody asked Pair for it
    y = model(x)
    expected = np.ones_like(y) @ model.second.weight.value @ model.first.weight.value
    np.testing.assert_allclose(model.backward(np.ones_like(y), input_grad=True), expected)
    assert nf.gradcheck(model, x).ok


def test_sequential_passes_the_decision_to_its_first_layer():
    model = nf.Sequential(nf.Linear(3, 4, rng=0), nf.ReLU(), nf.Linear(4, 1, rng=1))
    asked = []
    first = model[0]

    class Recorder(nf.Layer):
        def forward(self, x):
            return first(x)

        def backward(self, grad_y):
            grad = first.backward(grad_y, input_grad=self.needs_input_grad)
            asked.append(self.needs_input_grad)
            return grad

    model.layers[0] = Recorder()
    x = np.ones((2, 3), dtype=np.float32)
    model.backward(np.ones_like(model(x)))
    model.backward(np.ones_like(model(x)), input_grad=True)
    assert asked == [False, True]


# -- the wrapping itself ----------------------------------------------------------------


@nf.layer
class Gain(nf.Layer):
    gain: float = 2.0

    def forward(self, x):
        self.save_for_backward(x=x)
        return self.gain * x

    def backward(self, grad_y):
        self.saved("x")
        return self.gain * grad_y


@nf.layer
class FlippedGain(Gain):
    """A slotted attrs subclass whose methods call zero-argument super()."""

    def forward(self, x):
        return super().forward(x) + 0.0

    def backward(self, grad_y):
        return -super().backward(grad_y)


@attrs.define(eq=False)
class PlainAttrsGain(Gain):
    def backward(self, grad_y):
        return super().backward(grad_y) * 1.0


@pytest.mark.parametrize("cls", [FlippedGain, PlainAttrsGain])
def test_super_calls_work_in_attrs_classes_and_each_method_is_wrapped_once(cls):
    layer = cls()
    y = layer(np.ones((2, 2)))
    grad = layer.backward(np.ones_like(y), input_grad=True)
    sign = -1.0 if cls is FlippedGain else 1.0
    np.testing.assert_array_equal(grad, sign * 2.0 * np.ones((2, 2)))
    for name in ("forward", "backward")[cls is PlainAttrsGain :]:
        method = cls.__dict__[name]
        assert method.__nnframe_owner__ is cls
        assert not hasattr(method.__wrapped__, "__wrapped__")


def test_a_second_backward_still_raises_cache_miss_naming_the_layer():
    layer = Gain()
    layer(np.ones((1, 2)))
    layer.backward(np.ones((1, 2)))
    with pytest.raises(CacheMissError, match=r"Gain\(gain=2.0\)"):
        layer.backward(np.ones((1, 2)))


def test_containers_leave_the_checks_to_their_children():
    model = nf.Sequential(nf.Sequential(nf.Linear(3, 2, rng=0)), nf.Tanh())
    with pytest.raises(DTypeError) as info:
        model(np.array([["a", "b", "c"]]))
    assert info.value.__notes__ == ["in Sequential[0][0] Linear(3 -> 2)"]
    model(np.ones((1, 3)))
    with pytest.raises(ShapeError) as info:
        model.backward(np.ones((1, 3)))
    assert info.value.__notes__ == ["in Sequential[1] Tanh()"]


# -- the fused gradient, through any container ------------------------------------------


class Head(nf.Layer):
    """A custom container ending in a Sigmoid, not a Sequential."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nf.Linear(1, 1, rng=0, dtype=np.float64)
        self.squash = nf.Sigmoid()

    def forward(self, x):
        return self.squash(self.linear(x))

    def backward(self, grad_y):
        return self.linear.backward(self.squash.backward(grad_y))


def test_the_fused_sigmoid_gradient_reaches_a_custom_container():
    model = Head()
    model.linear.weight.value[...] = 100.0  # saturated: p is 1 - 1e-44 and 1e-44
    model.linear.bias.value[...] = 0.0
    x, y = np.array([[1.0], [-1.0]]), np.array([[0.0], [1.0]])
    loss = nf.BCELoss()
    p = model(x)
    loss(p, y)
    model.backward(loss.backward())
    # Exactly (p - y) / n through z = weight * x: the unfused chain rule at the clipped p
    # would give a gradient off by a factor of about 1e-28.
    assert model.linear.weight.grad[0, 0] == pytest.approx(np.sum((p - y) / 2 * x), rel=1e-15)
    assert not model.has_cache()


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_skips_the_input_gradient_and_keeps_its_parameter_gradients(training):
    x = np.random.default_rng(0).standard_normal((6, 3))
    grad_y = np.random.default_rng(1).standard_normal((6, 3))
    grads = []
    for input_grad in (False, True):
        layer = nf.BatchNorm1d(3, dtype=np.float64).train(training)
        layer(x)
        returned = layer.backward(grad_y, input_grad=input_grad)
        assert (returned is None) == (not input_grad)
        grads.append((layer.weight.grad.copy(), layer.bias.grad.copy()))
    for skipped, full in zip(*grads, strict=True):
        np.testing.assert_array_equal(skipped, full)


def test_a_method_reused_from_another_class_stays_checked_and_leaves_its_owner_alone():
    class Alias(nf.Layer):
        forward = FlippedGain.forward  # calls super() inside FlippedGain
        backward = Gain.backward
        gain = 3.0

    assert Alias.__dict__["forward"].__nnframe_owner__ is FlippedGain
    with pytest.raises(TypeError):  # FlippedGain's super() needs a FlippedGain
        Alias()(np.ones((1, 2)))
    with pytest.raises(ShapeError):  # still checked
        Alias()(np.ones(()))
    # FlippedGain itself is untouched.
    layer = FlippedGain()
    layer(np.ones((1, 2)))
    np.testing.assert_array_equal(layer.backward(np.ones((1, 2)), input_grad=True), [[-2.0, -2.0]])


class Stack(nf.Layer):
    """A custom container holding its layers in a list (names "blocks.0", "blocks.1")."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks = [nf.ReLU(), nf.Linear(3, 2, rng=0, dtype=np.float64)]

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        return x

    def backward(self, grad_y):
        for block in reversed(self.blocks):
            grad_y = block.backward(grad_y)
        return grad_y


def test_named_children_are_the_direct_sub_layers_lists_included():
    stack = Stack()
    assert [name for name, _ in stack.named_children()] == ["blocks.0", "blocks.1"]
    model = nf.Sequential(stack, nf.Tanh())
    assert [name for name, _ in model.named_children()] == ["0", "1"]
    assert input_kinks(stack) == (0.0,)


def test_gradcheck_names_the_failing_child_of_a_container_with_a_list():
    class Broken(nf.Tanh):
        def backward(self, grad_y):
            return 2 * super().backward(grad_y)

    stack = Stack()
    stack.blocks.append(Broken())
    report = nf.gradcheck(stack, np.linspace(0.5, 2.0, 6).reshape(2, 3))
    assert not report.ok
    assert report.culprit.startswith("first layer whose own check fails: [blocks.2] Broken()")
