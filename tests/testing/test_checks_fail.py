"""The suite catches bugs: each planted-bug layer or loss fails with the right check named.

Like scikit-learn's test_estimator_checks: a check that never fails checks nothing.
"""

from __future__ import annotations

import re
from typing import ClassVar

import numpy as np
import pytest

import nnframe as nf
from nnframe.testing import check_layer, check_loss

# Few examples: every planted bug is found within the first handful, and the checks that
# run before the failing one pass quickly.
EXAMPLES = 10


def failure(make_layer, **options) -> str:
    with pytest.raises(AssertionError) as info:
        check_layer(make_layer, max_examples=EXAMPLES, **options)
    return str(info.value)


def loss_failure(make_loss) -> str:
    with pytest.raises(AssertionError) as info:
        check_loss(make_loss, max_examples=EXAMPLES)
    return str(info.value)


def assert_named(message: str, check: str, tensor: str | None = None) -> None:
    # The check's name comes first, so that check_gradients is not confused with
    # check_gradients_accumulate.
    assert re.match(rf"{check} failed", message), message
    if tensor is not None:
        assert f"for {tensor}" in message, message


# -- the nine bugs of the issue --------------------------------------------------------


class SignFlippedLinear(nf.Linear):
    def backward(self, grad_y):
        return -super().backward(grad_y, input_grad=True)


class WeightGradDividedByBatch(nf.Linear):
    def backward(self, grad_y):
        x = self.saved("x")
        self.weight.grad += grad_y.T @ x / len(x)  # planted bug: layers never average
        self.bias.grad += grad_y.sum(axis=0)
        return grad_y @ self.weight.value


class WeightGradTimesBatch(nf.Linear):
    def backward(self, grad_y):
        x = self.saved("x")
        self.weight.grad += grad_y.T @ x * len(x)  # planted bug: an extra batch factor
        self.bias.grad += grad_y.sum(axis=0)
        return grad_y @ self.weight.value


class BiasGradFromRowZero(nf.Linear):
    def backward(self, grad_y):
        x = self.saved("x")
        self.weight.grad += grad_y.T @ x
        self.bias.grad += grad_y[0]  # planted bug: not summed over the batch
        return grad_y @ self.weight.value


class BiasGradMean(nf.Linear):
    def backward(self, grad_y):
        x = self.saved("x")
        self.weight.grad += grad_y.T @ x
        self.bias.grad += grad_y.mean(axis=0)  # planted bug: averaged, not summed
        return grad_y @ self.weight.value


class OverwritingLinear(nf.Linear):
    def backward(self, grad_y):
        x = self.saved("x")
        self.weight.grad = grad_y.T @ x  # planted bug: assigns instead of accumulating
        self.bias.grad += grad_y.sum(axis=0)
        return grad_y @ self.weight.value


@nf.layer
class InPlaceReLU(nf.Layer):
    kinks: ClassVar[tuple[float, ...]] = (0.0,)

    def forward(self, x):
        np.maximum(x, 0, out=x)  # planted bug: writes into the caller's array
        self.save_for_backward(y=x)
        return x

    def backward(self, grad_y):
        return grad_y * (self.saved("y") > 0)


class SharedCacheLinear(nf.Linear):
    _shared: ClassVar[dict[str, np.ndarray]] = {}  # planted bug: one cache for every instance

    def forward(self, x):
        self._shared["x"] = x
        return x @ self.weight.value.T + self.bias.value

    def backward(self, grad_y):
        x = self._shared["x"]
        self.weight.grad += grad_y.T @ x
        self.bias.grad += grad_y.sum(axis=0)
        return grad_y @ self.weight.value


class TransposedWeightGrad(nf.Linear):
    def backward(self, grad_y):
        x = self.saved("x")
        self.weight.grad += (grad_y.T @ x).T  # planted bug: shapes agree for a square weight
        self.bias.grad += grad_y.sum(axis=0)
        return grad_y @ self.weight.value


class BatchMeanLeak(nf.Linear):
    def forward(self, x):
        y = super().forward(x)
        return y + y.mean(axis=0)  # planted bug: every example sees the others


class UpcastingScale(nf.Layer):
    def __init__(self) -> None:
        super().__init__()
        self.factor = np.full(1, 2.0)  # planted bug: a float64 array upcasts float32 inputs

    def forward(self, x):
        return x * self.factor

    def backward(self, grad_y):
        return grad_y * self.factor


def test_a_sign_flipped_backward_fails_check_gradients_for_the_input():
    message = failure(SignFlippedLinear(3, 2, rng=0))
    assert_named(message, "check_gradients", "input")
    assert "sign flipped" in message


@pytest.mark.parametrize(
    ("layer_class", "diagnosis"),
    [(WeightGradDividedByBatch, "extra 1/batch"), (WeightGradTimesBatch, "missing 1/batch")],
    ids=["divided-by-batch", "times-batch"],
)
def test_a_batch_factor_in_the_weight_gradient_fails_check_gradients(layer_class, diagnosis):
    message = failure(layer_class(3, 2, rng=0))
    assert_named(message, "check_gradients", "weight")
    assert diagnosis in message


@pytest.mark.parametrize("layer_class", [BiasGradFromRowZero, BiasGradMean], ids=["row-0", "mean"])
def test_a_bias_gradient_not_summed_over_the_batch_fails_check_gradients(layer_class):
    assert_named(failure(layer_class(3, 2, rng=0)), "check_gradients", "bias")


def test_an_overwritten_gradient_fails_check_gradients_accumulate():
    message = failure(OverwritingLinear(3, 2, rng=0))
    assert_named(message, "check_gradients_accumulate", "weight")
    assert "+=" in message


def test_a_forward_that_mutates_its_input_fails_check_input_unmodified():
    assert_named(failure(InPlaceReLU()), "check_input_unmodified", "input")


def test_a_cache_shared_between_instances_fails_check_cache_per_instance():
    # has_cache() is False for this layer (its cache is not on the instance), so
    # check_backward_without_forward_raises treats it as cacheless; interleaving the
    # passes of two instances is what exposes it.
    message = failure(SharedCacheLinear(3, 2, rng=0))
    assert_named(message, "check_cache_per_instance", "weight of the first layer")


def test_a_transposed_weight_gradient_fails_check_gradients():
    message = failure(TransposedWeightGrad(3, 3, rng=0))
    assert_named(message, "check_gradients", "weight")
    assert "transposed" in message


def test_an_example_leaking_into_another_fails_check_batch_independence():
    message = failure(BatchMeanLeak(3, 2, rng=0))
    assert_named(message, "check_batch_independence", "output")


def test_a_silent_upcast_to_float64_fails_check_forward_shape_and_dtype():
    message = failure(UpcastingScale)
    assert_named(message, "check_forward_shape_and_dtype", "output")
    assert "float64" in message and "float32" in message


# -- more of the contract ----------------------------------------------------------------


class DictParameters(nf.Layer):
    def __init__(self) -> None:
        super().__init__()
        self.params = {"gain": nf.Parameter(np.ones(3, dtype=np.float32))}  # invisible

    def forward(self, x):
        return x * self.params["gain"].value

    def backward(self, grad_y):
        return grad_y * self.params["gain"].value


class ShallowTrain(nf.Layer):
    def __init__(self) -> None:
        super().__init__()
        self.inner = nf.Tanh()

    def train(self, mode=True):
        self.training = mode  # planted bug: the sub-layer keeps its mode
        return self

    def forward(self, x):
        return self.inner(x)

    def backward(self, grad_y):
        return self.inner.backward(grad_y, input_grad=True)


class KeepsItsCache(nf.Layer):
    def forward(self, x):
        self.save_for_backward(x=x)
        return 2 * x

    def backward(self, grad_y):
        x = self.saved("x")
        self.save_for_backward(x=x)  # planted bug: puts the cache back
        return 2 * grad_y


class IgnoresNoGrad(nf.Layer):
    def forward(self, x):
        self._cache = {"x": x}  # planted bug: bypasses save_for_backward
        return 2 * x

    def backward(self, grad_y):
        self.saved("x")
        return 2 * grad_y


class HalfAstype(nf.Layer):
    def __init__(self) -> None:
        super().__init__()
        self.gain = nf.Parameter(np.ones(3, dtype=np.float32))

    def astype(self, dtype):
        object.__setattr__(self.gain, "_value", self.gain.value.astype(dtype))  # planted bug
        return self

    def forward(self, x):
        self.save_for_backward(x=x)
        return x * self.gain.value

    def backward(self, grad_y):
        self.gain.grad += np.sum(grad_y * self.saved("x"), axis=0)
        return grad_y * self.gain.value


@nf.layer
class CenteredRows(nf.Layer):
    """Subtracts the batch mean: fine when tagged, a failure when not."""

    def forward(self, x):
        return x - x.mean(axis=0)

    def backward(self, grad_y):
        return grad_y - grad_y.mean(axis=0)


def test_a_parameter_in_a_dict_fails_check_parameter_discovery():
    message = failure(DictParameters)
    assert_named(message, "check_parameter_discovery", "layer.params['gain']")


def test_a_train_that_does_not_recurse_fails_check_train_eval_modes():
    assert_named(failure(ShallowTrain), "check_train_eval_modes", "layer.inner")


def test_a_backward_that_keeps_the_cache_fails_check_backward_without_forward_raises():
    message = failure(KeepsItsCache)
    assert_named(message, "check_backward_without_forward_raises")
    assert "release" in message


def test_a_cache_stored_under_no_grad_fails_check_no_grad_leaves_no_cache():
    assert_named(failure(IgnoresNoGrad), "check_no_grad_leaves_no_cache")


def test_an_astype_that_forgets_the_gradient_fails_check_backward_shape_and_dtype():
    # The float64 pass converts the layer first; backward then meets a float32 gradient.
    assert_named(failure(HalfAstype), "check_backward_shape_and_dtype", "gain")


def test_check_astype_names_the_tensor_astype_forgot():
    with pytest.raises(AssertionError, match=r"^check_astype failed for layer\.gain\.grad"):
        nf.testing.check_astype(HalfAstype, np.ones((2, 3), dtype=np.float32))


class AstypeReturnsNone(HalfAstype):
    def astype(self, dtype):
        self.gain.astype(dtype)  # converts value and gradient, but returns None


def test_an_astype_returning_none_fails_check_astype():
    assert_named(failure(AstypeReturnsNone), "check_astype", "the return value")


def test_batch_independence_is_read_from_the_class_tag():
    assert_named(failure(CenteredRows), "check_batch_independence", "output")

    class TaggedCenteredRows(CenteredRows):
        batch_independent: ClassVar[bool] = False

    check_layer(TaggedCenteredRows, max_examples=EXAMPLES)


# -- losses ------------------------------------------------------------------------------


class SumGradForMeanMSE(nf.MSELoss):
    def backward(self):
        return 2 * self.saved("diff")  # planted bug: forgets the 1/n of the mean


class NumpyScalarMSE(nf.MSELoss):
    def forward(self, pred, target):
        return np.float64(super().forward(pred, target))  # planted bug: not a Python float


class MutatingMSE(nf.MSELoss):
    def forward(self, pred, target):
        value = super().forward(pred, target)
        pred -= pred  # planted bug
        return value


class SumIsMean(nf.MSELoss):
    def reduction_scale(self, count):
        return 1.0 / count  # planted bug: "sum" still averages


def test_a_loss_gradient_missing_its_factor_fails_check_loss_gradients():
    message = loss_failure(SumGradForMeanMSE())
    assert_named(message, "check_loss_gradients", "pred")
    assert "scaled" in message


def test_a_loss_returning_a_numpy_scalar_fails_check_loss_value():
    message = loss_failure(NumpyScalarMSE)
    assert_named(message, "check_loss_value", "the value")
    assert "numpy.float64" in message


def test_a_loss_mutating_pred_fails_check_loss_input_unmodified():
    assert_named(loss_failure(MutatingMSE()), "check_loss_input_unmodified", "pred")


def test_a_sum_reduction_that_averages_fails_check_loss_reduction():
    assert_named(loss_failure(SumIsMean()), "check_loss_reduction", "the value")


# -- how a failure reads -----------------------------------------------------------------


def test_a_failure_carries_hypothesis_minimal_example_and_the_context():
    with pytest.raises(AssertionError) as info:
        check_layer(SignFlippedLinear(3, 2, rng=0), max_examples=EXAMPLES)
    notes = "\n".join(getattr(info.value, "__notes__", []))
    assert "check_gradients(" in notes and "x=" in notes  # hypothesis's minimal example
    assert "while checking Linear(3 -> 2) converted to float64" in notes
    assert "BAD input" in str(info.value)  # the gradcheck report follows the summary
