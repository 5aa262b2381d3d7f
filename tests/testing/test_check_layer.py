"""check_layer, check_loss and parametrize_with_checks on correct layers and losses."""

from __future__ import annotations

from typing import ClassVar

import attrs
import numpy as np
import pytest
from attrs import field, validators

import nnframe as nf
from nnframe.errors import ArgumentError, ArgumentTypeError
from nnframe.testing import (
    LAYER_CHECKS,
    check_gradients,
    check_layer,
    check_loss,
    infer_input_shape,
    layer_checks,
    parametrize_with_checks,
)

EXAMPLES = 10


@nf.layer
class ScaledTanh(nf.Layer):
    """STYLE.md's Example 1: a learned gain per feature."""

    input_spec = nf.InputSpec(min_ndim=2, axis=-1, size="n_features")

    n_features: int = field(validator=[validators.instance_of(int), validators.gt(0)])
    init_gain: float = 1.0
    gain: nf.Parameter = field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        self.gain = nf.Parameter(np.full(self.n_features, self.init_gain, dtype=np.float32))

    def forward(self, x):
        t = np.tanh(x)
        self.save_for_backward(t=t)
        return self.gain.value * t

    def backward(self, grad_y):
        t = self.saved("t")
        self.gain.grad += np.sum(grad_y * t, axis=0)
        return grad_y * self.gain.value * (1.0 - t * t)


@nf.layer
class ScaledTanhWithoutSpec(ScaledTanh):
    input_spec = nf.InputSpec()


class Square(nf.Layer):
    """STYLE.md's Example 2, with a plain __init__ and a scalar parameter."""

    def __init__(self, scale: float = 1.0) -> None:
        super().__init__()
        self.scale = nf.Parameter(np.array([scale], dtype=np.float32))

    def forward(self, x):
        self.save_for_backward(x=x)
        return self.scale.value * x**2

    def backward(self, grad_y):
        x = self.saved("x")
        self.scale.grad += np.sum(grad_y * x**2)
        return grad_y * 2.0 * self.scale.value * x


@nf.layer
class AbsoluteValue(nf.Layer):
    """A kinked layer: inputs are kept off 0 for the gradient checks."""

    kinks: ClassVar[tuple[float, ...]] = (0.0,)

    def forward(self, x):
        self.save_for_backward(sign=np.sign(x))
        return np.abs(x)

    def backward(self, grad_y):
        return grad_y * self.saved("sign")


@nf.layer
class Scale(nf.Layer):
    """Caches nothing: backward may run without forward."""

    factor: float = 3.0

    def forward(self, x):
        return x * x.dtype.type(self.factor)

    def backward(self, grad_y):
        return grad_y * grad_y.dtype.type(self.factor)


@nf.layer
class NoisyGain(nf.Layer):
    """A stochastic layer with a parameter: fresh multiplicative noise in training."""

    stochastic: ClassVar[bool] = True
    n_features: int = 3
    rng: np.random.Generator = field(default=0, converter=np.random.default_rng)
    gain: nf.Parameter = field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        self.gain = nf.Parameter(np.ones(self.n_features, dtype=np.float32))

    def forward(self, x):
        noise = (
            self.rng.uniform(0.5, 1.5, size=x.shape).astype(x.dtype)
            if self.training else np.ones_like(x)
        )
        self.save_for_backward(x=x, noise=noise)
        return x * noise * self.gain.value

    def backward(self, grad_y):
        x, noise = self.saved("x", "noise")
        self.gain.grad += np.sum(grad_y * x * noise, axis=0)
        return grad_y * noise * self.gain.value


class Residual(nf.Layer):
    """A container written by hand: sub-layers in a tuple, parameters found through it."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.blocks = (nf.Linear(width, width, rng=0), nf.Tanh())

    def forward(self, x):
        h = x
        for block in self.blocks:
            h = block(h)
        return x + h

    def backward(self, grad_y):
        g = grad_y
        for block in reversed(self.blocks):
            g = block.backward(g, input_grad=True)
        return grad_y + g


@pytest.mark.parametrize(
    "make_layer",
    [
        lambda: ScaledTanh(3, init_gain=0.5),
        lambda: Square(0.5),
        AbsoluteValue,
        Scale,
        NoisyGain,
        lambda: Residual(4),
        lambda: nf.Sequential(nf.Linear(4, 3, rng=0), Residual(3), ScaledTanh(3)),
    ],
    ids=["ScaledTanh", "Square", "AbsoluteValue", "Scale-no-cache", "NoisyGain", "Residual",
         "Sequential-of-custom"],
)
def test_correct_custom_layers_pass(make_layer):
    check_layer(make_layer, max_examples=EXAMPLES)


def test_a_correct_custom_layer_passes_with_the_default_settings():
    # The default is 50 examples per check and dtype (about a second here; never timed
    # in a test: DESIGN.md keeps wall-clock assertions out of the suite).
    check_layer(ScaledTanh(3))


def test_the_layer_passed_in_is_left_untouched():
    layer = nf.Sequential(nf.Linear(3, 3, rng=0), nf.BatchNorm1d(3), NoisyGain(3, rng=4))
    layer[0].weight.grad[...] = 7.0
    layer.eval()
    before = {name: value.copy() for name, value in layer.state_dict().items()}
    generator_state = layer[2].rng.bit_generator.state
    check_layer(layer, max_examples=3)
    assert layer[0].weight.dtype == np.float32
    assert np.all(layer[0].weight.grad == 7.0)
    assert not layer.training and not layer.has_cache()
    assert layer[2].rng.bit_generator.state == generator_state
    for name, value in layer.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_a_factory_that_returns_the_same_layer_is_refused():
    layer = nf.Tanh()
    with pytest.raises(ArgumentError, match="a new layer on each call"):
        check_layer(lambda: layer)


def test_what_is_not_a_layer_is_refused():
    with pytest.raises(TypeError):
        check_layer(np.tanh, max_examples=1)
    with pytest.raises(ArgumentTypeError):
        check_layer(42)  # type: ignore[arg-type]
    with pytest.raises(ArgumentError):
        check_layer(nf.Tanh(), max_examples=0)


def test_the_input_shape_is_read_from_the_declared_input_spec():
    assert infer_input_shape(nf.Linear(5, 2, rng=0)) == (5,)
    assert infer_input_shape(nf.BatchNorm1d(4)) == (4,)
    assert infer_input_shape(ScaledTanh(6)) == (6,)
    assert infer_input_shape(nf.Sequential(nf.Tanh(), nf.Linear(7, 2, rng=0))) == (7,)
    assert infer_input_shape(nf.ReLU()) == (3,)
    # A width attribute alone is not a declaration: the spec is.
    assert infer_input_shape(ScaledTanhWithoutSpec(6)) == (3,)


def test_a_wrong_input_shape_fails_with_the_layers_own_error():
    with pytest.raises(AssertionError) as info:
        check_layer(nf.Linear(3, 2, rng=0), input_shape=4, max_examples=3)
    assert str(info.value).startswith("check_forward_shape_and_dtype failed: ShapeError")
    assert "on inputs of shape (batch, 4)" in "\n".join(info.value.__notes__)


def test_an_explicit_input_shape_is_used():
    check_layer(
        lambda: nf.Sequential(nf.Flatten(), nf.Linear(12, 2, rng=0)),
        input_shape=(3, 4), max_examples=3,
    )


def test_checks_follow_the_tags_of_the_layer_and_its_sub_layers():
    names = [check.name for check in LAYER_CHECKS]
    assert "check_batch_independence" in names
    assert "check_batch_independence" not in [c.name for c in layer_checks(nf.BatchNorm1d(3))]
    stack = nf.Sequential(nf.Linear(3, 3, rng=0), nf.BatchNorm1d(3))
    assert "check_batch_independence" not in [c.name for c in layer_checks(stack)]


def test_check_functions_run_on_one_input():
    x = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
    check_gradients(ScaledTanh(3), x)
    with pytest.raises(AssertionError, match=r"^check_gradients failed for gain at \(\d,\)"):
        check_gradients(BadGainTanh(3), x)


class BadGainTanh(ScaledTanh):
    def backward(self, grad_y):
        t = self.saved("t")
        self.gain.grad += np.sum(grad_y, axis=0)  # planted bug: forgets the factor t
        return grad_y * self.gain.value * (1.0 - t * t)


@attrs.define(eq=False)
class HuberLoss(nf.Loss):
    """A custom loss with an extra hyperparameter, kept by check_loss_reduction's copies."""

    input_kind: ClassVar[str] = "real"
    target_kinds: ClassVar[tuple[str, ...]] = ("real",)

    delta: float = 1.0
    reduction: str = "mean"

    def forward(self, pred, target):
        diff = np.asarray(pred) - np.asarray(target, dtype=np.asarray(pred).dtype)
        small = np.abs(diff) <= self.delta
        per = np.where(small, 0.5 * diff**2, self.delta * (np.abs(diff) - 0.5 * self.delta))
        self.save_for_backward(diff=diff, small=small)
        return float(np.sum(per)) * self.reduction_scale(diff.size)

    def backward(self):
        diff, small = self.saved("diff", "small")
        grad = np.where(small, diff, self.delta * np.sign(diff)).astype(diff.dtype)
        return grad * self.reduction_scale(diff.size)


def test_a_factory_that_returns_the_same_loss_is_refused():
    loss = nf.MSELoss()
    with pytest.raises(ArgumentError, match="make_loss returned the same loss twice"):
        check_loss(lambda: loss)


def test_a_correct_custom_loss_passes():
    # Central differences across |diff| == delta are fine: the Huber loss is C^1.
    check_loss(HuberLoss(delta=0.5), max_examples=EXAMPLES)
    check_loss(lambda: HuberLoss(delta=2.0, reduction="sum"), max_examples=EXAMPLES)


@parametrize_with_checks([ScaledTanh(3), Scale(), nf.MSELoss()], max_examples=3)
def test_parametrize_with_checks(layer, check):
    check(layer)


def test_parametrize_with_checks_gives_readable_ids():
    mark = parametrize_with_checks([nf.Linear(3, 2, rng=0), lambda: nf.Sequential(nf.ReLU())])
    ids = mark.kwargs["ids"]
    assert "Linear(3 -> 2)-check_gradients" in ids
    assert "Sequential-check_parameter_discovery" in ids
    assert len(ids) == len(set(ids))
    with pytest.raises(ArgumentTypeError):
        parametrize_with_checks([42])
