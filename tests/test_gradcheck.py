"""The gradient checker itself: it passes correct layers and fails broken ones, by name."""

from __future__ import annotations

import attrs
import numpy as np
import pytest

import nnframe as nf
from nnframe.errors import ArgumentTypeError

X = np.linspace(-1.0, 1.0, 12).reshape(4, 3)


class SignFlippedLinear(nf.Linear):
    def backward(self, grad_y):
        return -super().backward(grad_y, input_grad=True)


class MissingBiasGradLinear(nf.Linear):
    def backward(self, grad_y):
        x = self.saved("x")
        self.weight.grad += grad_y.T @ x
        return grad_y @ self.weight.value


class OverwritingLinear(nf.Linear):
    def backward(self, grad_y):
        x = self.saved("x")
        self.weight.grad = grad_y.T @ x  # planted bug: assigns instead of accumulating
        self.bias.grad += grad_y.sum(axis=0)
        return grad_y @ self.weight.value


class ExtraBatchFactorLinear(nf.Linear):
    def backward(self, grad_y):
        x = self.saved("x")
        self.weight.grad += grad_y.T @ x * x.shape[0]  # planted bug: scaled by the batch
        self.bias.grad += grad_y.sum(axis=0)
        return grad_y @ self.weight.value


class TransposedLinear(nf.Linear):
    def backward(self, grad_y):
        x = self.saved("x")
        self.weight.grad += (grad_y.T @ x).T  # planted bug: only visible for a square weight
        self.bias.grad += grad_y.sum(axis=0)
        return grad_y @ self.weight.value


def bad_rows(report):
    return {row.name: row for row in report.rows if row.status == "BAD"}


def test_correct_layers_pass_and_the_report_has_a_row_per_tensor():
    report = nf.gradcheck(nf.Linear(3, 2, rng=0), X)
    assert report.ok
    assert [row.name for row in report.rows] == ["input", "weight", "bias"]
    assert all(row.max_abs_error < 1e-8 for row in report.rows)
    assert "passed" in str(report)


def test_sign_flip_is_caught_and_named():
    report = nf.gradcheck(SignFlippedLinear(3, 2, rng=0), X)
    assert not report.ok
    assert set(bad_rows(report)) == {"input"}
    text = str(report)
    assert "BAD input" in text and "sign flipped" in text


def test_missing_bias_gradient_is_caught_and_named():
    report = nf.gradcheck(MissingBiasGradLinear(3, 2, rng=0), X)
    assert set(bad_rows(report)) == {"bias"}
    assert "gradient missing" in bad_rows(report)["bias"].diagnosis


def test_overwriting_instead_of_accumulating_is_caught_and_named():
    report = nf.gradcheck(OverwritingLinear(3, 2, rng=0), X)
    assert set(bad_rows(report)) == {"weight"}
    assert "overwritten instead of accumulated" in bad_rows(report)["weight"].diagnosis


def test_a_batch_scaling_bug_is_reported_as_such():
    report = nf.gradcheck(ExtraBatchFactorLinear(3, 2, rng=0), X)
    row = bad_rows(report)["weight"]
    assert "analytic / numeric = 4" in row.diagnosis and "batch size 4" in row.diagnosis


def test_a_transposed_weight_gradient_is_reported_as_such():
    report = nf.gradcheck(TransposedLinear(3, 3, rng=0), X)
    assert set(bad_rows(report)) == {"weight"}
    assert "transposed" in bad_rows(report)["weight"].diagnosis


def test_a_row_gives_errors_index_and_both_values():
    report = nf.gradcheck(SignFlippedLinear(3, 2, rng=0), X)
    row = report.rows[0]
    assert row.analytic == pytest.approx(-row.numeric, rel=1e-6)
    assert row.max_abs_error == pytest.approx(2 * abs(row.numeric), rel=1e-6)
    assert row.max_rel_error == pytest.approx(2.0, rel=1e-3)
    assert len(row.index) == 2
    assert f"at {row.index}" in str(row)


def test_a_sequential_report_names_the_first_failing_layer():
    model = nf.Sequential(
        nf.Linear(3, 4, rng=0), nf.Tanh(), MissingBiasGradLinear(4, 2, rng=1), nf.Sigmoid()
    )
    report = nf.gradcheck(model, X)
    assert set(bad_rows(report)) == {"2.bias"}
    assert report.culprit.startswith("first layer whose own check fails: [2] Linear(4 -> 2)")
    assert "BAD bias" in report.culprit


def test_errors_on_a_kink_are_inconclusive_not_failed():
    x = np.array([[0.0, 1.0], [-1.0, 0.5]])
    report = nf.gradcheck(nf.ReLU(), x)
    assert report.rows[0].status == "inconclusive"
    assert report.ok
    assert "kink" in str(report)


def test_a_kink_deeper_in_the_model_is_inconclusive_too():
    linear = nf.Linear(2, 2, rng=0, dtype=np.float64)
    linear.weight.value[...] = np.eye(2)
    report = nf.gradcheck(nf.Sequential(linear, nf.ReLU()), np.array([[0.0, 1.0]]))
    assert report.ok
    assert {row.status for row in report.rows} >= {"inconclusive"}


def test_a_real_bug_next_to_a_kink_still_fails():
    x = np.array([[0.0, 1.0], [-1.0, 0.5]])
    report = nf.gradcheck(nf.Sequential(nf.Tanh(), SignFlippedLinear(2, 2, rng=0)), x)
    assert not report.ok


@nf.layer
class NoisyScale(nf.Layer):
    """A stochastic layer: multiplies by fresh uniform noise on every forward."""

    stochastic = True
    rng: np.random.Generator = attrs.field(converter=np.random.default_rng)

    def forward(self, x):
        noise = self.rng.uniform(0.5, 1.5, size=x.shape)
        self.save_for_backward(noise=noise)
        return x * noise

    def backward(self, grad_y):
        return grad_y * self.saved("noise")


def test_stochastic_layers_are_replayed_and_the_callers_generator_is_untouched():
    layer = NoisyScale(rng=3)
    before = layer.rng.bit_generator.state
    report = nf.gradcheck(nf.Sequential(nf.Linear(3, 3, rng=0), layer), X)
    assert report.ok, str(report)
    assert layer.rng.bit_generator.state == before


def test_the_callers_layer_is_left_untouched():
    layer = nf.Linear(3, 2, rng=0)
    layer.weight.grad[...] = 7.0
    before = layer.state_dict()
    nf.gradcheck(layer, X)
    assert layer.weight.dtype == np.float32 and layer.dtype == np.float32
    assert np.all(layer.weight.grad == 7.0) and not layer.bias.grad.any()
    assert not layer.has_cache()
    for name, value in layer.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_assert_gradients_raises_with_the_report():
    with pytest.raises(AssertionError, match="BAD input"):
        nf.assert_gradients(SignFlippedLinear(3, 2, rng=0), X)
    assert nf.assert_gradients(nf.Tanh(), X).ok


def test_gradcheck_rejects_what_is_not_a_layer():
    with pytest.raises(ArgumentTypeError):
        nf.gradcheck(np.tanh, X)
