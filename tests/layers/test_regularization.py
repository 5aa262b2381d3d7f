"""Dropout and BatchNorm1d: gradients, training and evaluation modes, statistics, state."""

from __future__ import annotations

import copy
import inspect
import re

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import nnframe as nf
from nnframe.errors import ArgumentError, ArgumentTypeError, CacheMissError, ShapeError
from tests.helpers import batches

seeds = st.integers(0, 2**32 - 1)


@st.composite
def batch_norm_inputs(draw, max_batch=8, max_features=4):
    """A float64 batch of at least two examples (training-mode batch norm needs two)."""
    shape = (draw(st.integers(2, max_batch)), draw(st.integers(1, max_features)))
    return draw(arrays(np.float64, shape, elements=st.floats(-3.0, 3.0)))


def randomised_batch_norm(num_features, seed):
    """A float64 BatchNorm1d with random weight, bias and running statistics."""
    rng = np.random.default_rng(seed)
    layer = nf.BatchNorm1d(num_features, dtype=np.float64)
    layer.weight.value[...] = rng.uniform(-2.0, 2.0, num_features)
    layer.bias.value[...] = rng.standard_normal(num_features)
    layer.running_mean.value[...] = rng.standard_normal(num_features)
    layer.running_var.value[...] = rng.uniform(0.2, 3.0, num_features)
    return layer


def rebuilt(layer):
    """Rebuild ``layer`` from its init fields, as loading a saved model will."""
    fields = [f.name for f in attrs.fields(type(layer)) if f.init]
    assert fields == list(inspect.signature(type(layer)).parameters)
    return type(layer)(**{name: getattr(layer, name) for name in fields})


# -- Dropout ---------------------------------------------------------------------------


@settings(deadline=None)
@given(x=batches(max_batch=16), p=st.floats(0.0, 0.9), seed=seeds)
def test_dropout_gradients_match_central_differences_in_training_mode(x, p, seed):
    report = nf.assert_gradients(nf.Dropout(p, rng=seed), x)
    assert report.rows[0].name == "input"


class MaskIgnoringDropout(nf.Dropout):
    """A planted bug: scales the gradient but forgets which units were dropped."""

    def backward(self, grad_y):
        self.saved("mask")
        return grad_y / (1 - self.p)


def test_gradcheck_fails_for_a_dropout_whose_backward_ignores_the_mask():
    x = np.linspace(-2.0, 2.0, 24).reshape(4, 6)
    assert nf.gradcheck(nf.Dropout(0.5, rng=1), x).ok
    report = nf.gradcheck(MaskIgnoringDropout(0.5, rng=1), x)
    assert not report.ok
    assert "BAD input" in str(report)


def test_dropout_backward_multiplies_by_the_forward_mask():
    layer = nf.Dropout(0.25, rng=0)
    x = np.ones((8, 10))
    y = layer(x)
    grad_y = np.arange(80.0).reshape(8, 10)
    np.testing.assert_array_equal(layer.backward(grad_y, input_grad=True), grad_y * y)


def test_dropout_zeroes_or_scales_each_element():
    p = 0.2
    x = np.random.default_rng(1).standard_normal((50, 40))
    y = nf.Dropout(p, rng=0)(x)
    kept = y != 0
    np.testing.assert_allclose(y[kept], x[kept] / (1 - p), rtol=1e-15)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_drops_a_fraction_p_and_preserves_the_mean(p):
    y = nf.Dropout(p, rng=0)(np.ones((400, 500)))
    assert abs(np.mean(y == 0) - p) < 0.005  # 200,000 units: the sd of the fraction < 0.0012
    assert abs(y.mean() - 1.0) < 0.02


def test_dropout_is_the_identity_in_eval_mode_and_for_p_zero():
    x = np.random.default_rng(0).standard_normal((6, 5)).astype(np.float32)
    grad_y = np.ones_like(x)
    for layer in (nf.Dropout(0.5, rng=0).eval(), nf.Dropout(0.0, rng=0)):
        state = copy.deepcopy(layer.generator.bit_generator.state)
        y = layer(x)
        assert y is x
        grad_x = layer.backward(grad_y, input_grad=True)
        assert grad_x.dtype == np.float32
        np.testing.assert_array_equal(grad_x, grad_y)
        assert layer.generator.bit_generator.state == state  # nothing drawn


def test_dropout_draws_a_new_mask_on_every_training_forward():
    layer = nf.Dropout(0.5, rng=0)
    x = np.ones((4, 50))
    assert not np.array_equal(layer(x), layer(x))


def test_dropout_masks_are_reproducible_from_the_seed():
    x = np.ones((4, 50))
    np.testing.assert_array_equal(nf.Dropout(0.5, rng=3)(x), nf.Dropout(0.5, rng=3)(x))
    assert not np.array_equal(nf.Dropout(0.5, rng=3)(x), nf.Dropout(0.5, rng=4)(x))
    # The same mask whatever the dtype, so float32 and float64 copies agree.
    np.testing.assert_array_equal(
        nf.Dropout(0.5, rng=3)(x.astype(np.float32)), nf.Dropout(0.5, rng=3)(x)
    )


def test_dropout_shares_a_generator_it_is_given():
    generator = np.random.default_rng(0)
    layer = nf.Dropout(rng=generator)
    assert layer.generator is generator and layer.rng is generator
    state = copy.deepcopy(generator.bit_generator.state)
    layer(np.ones((2, 3)))
    assert generator.bit_generator.state != state


def test_a_deep_copy_of_dropout_has_its_own_generator_in_the_same_state():
    x = np.ones((4, 50))
    for rng in (0, np.random.default_rng(0)):
        layer = nf.Dropout(0.5, rng=rng)
        clone = copy.deepcopy(layer)
        assert clone.generator is not layer.generator
        assert (clone.rng is clone.generator) == (layer.rng is layer.generator)
        first, second = layer(x), layer(x)
        np.testing.assert_array_equal(clone(x), first)  # the copy was not advanced
        np.testing.assert_array_equal(clone(x), second)
        assert not np.array_equal(first, second)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dropout_keeps_the_input_dtype_and_caches_only_its_scaled_mask(dtype):
    layer = nf.Dropout(0.5, rng=0)
    x = np.full((3, 4), 2.0, dtype=dtype)
    y = layer(x)
    assert y.dtype == dtype
    assert list(layer._cache) == ["mask"]
    mask = layer._cache["mask"]
    assert mask.dtype == dtype
    np.testing.assert_array_equal(mask, y / 2)
    assert set(np.unique(mask)) <= {0.0, 2.0}
    np.testing.assert_array_equal(x, 2.0)
    assert layer.backward(np.ones_like(y), input_grad=True).dtype == dtype
    assert nf.Dropout(0.5, rng=0)(np.ones((2, 2), dtype=int)).dtype == np.float32


def test_dropout_under_no_grad_still_drops_in_training_mode_but_caches_nothing():
    layer = nf.Dropout(0.5, rng=0)
    with nf.no_grad():
        y = layer(np.ones((4, 50)))
    assert np.any(y == 0)
    assert not layer.has_cache()
    with pytest.raises(CacheMissError, match=re.escape("Dropout(p=0.5)")):
        layer.backward(y)


def test_dropout_rejects_gradients_of_the_wrong_shape():
    layer = nf.Dropout(0.5, rng=0)
    layer(np.ones((2, 3)))
    with pytest.raises(ShapeError, match=r"Dropout\(p=0.5\).*\(2, 3\).*\(3, 2\)"):
        layer.backward(np.ones((3, 2)))


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: nf.Dropout(1.5), ArgumentError, "Dropout: p must be in [0, 1); got 1.5"),
        (lambda: nf.Dropout(1.0), ArgumentError, "Dropout: p must be in [0, 1); got 1"),
        (lambda: nf.Dropout(-0.1), ArgumentError, "Dropout: p must be in [0, 1); got -0.1"),
        (lambda: nf.Dropout("a"), ArgumentTypeError, "Dropout: p must be a real number"),
        (lambda: nf.Dropout(rng="x"), ArgumentTypeError, "Dropout: rng must be None, an int"),
        (lambda: nf.Dropout(rng=-1), ArgumentError, "Dropout: rng must be a non-negative seed"),
    ],
)
def test_dropout_rejects_bad_arguments(make, error, message):
    with pytest.raises(error, match=re.escape(message)):
        make()


def test_dropout_repr_tags_and_init_fields():
    layer = nf.Dropout(0.25, rng=7)
    assert repr(layer) == "Dropout(p=0.25)" and repr(nf.Dropout()) == "Dropout(p=0.5)"
    assert nf.Dropout.stochastic and nf.Dropout.batch_independent and nf.Dropout.kinks == ()
    assert layer.parameters() == [] and layer.state_dict() == {}
    clone = rebuilt(layer)
    assert clone.p == 0.25 and clone.rng == 7
    np.testing.assert_array_equal(clone(np.ones((3, 9))), nf.Dropout(0.25, rng=7)(np.ones((3, 9))))
    with pytest.raises(ArgumentError, match="Dropout: p"):
        layer.p = 1.0
    assert layer.p == 0.25


# -- BatchNorm1d -----------------------------------------------------------------------


@settings(deadline=None)
@given(x=batch_norm_inputs(), seed=seeds)
def test_batch_norm_gradients_match_central_differences_in_training_mode(x, seed):
    nf.assert_gradients(randomised_batch_norm(x.shape[1], seed), x)


@settings(deadline=None)
@given(x=batches(max_batch=8, max_features=4), seed=seeds)
def test_batch_norm_gradients_match_central_differences_in_eval_mode(x, seed):
    nf.assert_gradients(randomised_batch_norm(x.shape[1], seed).eval(), x)


class AffineOnlyBatchNorm(nf.BatchNorm1d):
    """A planted bug: training mode back-propagates as if the statistics were constants."""

    def backward(self, grad_y):
        x_hat, inv_std, _ = self.saved("x_hat", "inv_std", "batch_statistics")
        self.weight.grad += np.sum(grad_y * x_hat, axis=0)
        self.bias.grad += np.sum(grad_y, axis=0)
        return grad_y * self.weight.value * inv_std


def test_gradcheck_fails_for_batch_norm_without_the_gradient_through_the_statistics():
    x = np.random.default_rng(0).standard_normal((5, 3))
    assert nf.gradcheck(AffineOnlyBatchNorm(3).eval(), x).ok
    report = nf.gradcheck(AffineOnlyBatchNorm(3), x)
    assert not report.ok and "BAD input" in str(report)


def test_batch_norm_training_output_is_normalised_per_feature():
    rng = np.random.default_rng(0)
    x = rng.normal([5.0, -3.0, 0.0], [2.0, 0.1, 10.0], size=(64, 3))
    layer = nf.BatchNorm1d(3, dtype=np.float64)
    y = layer(x)
    np.testing.assert_allclose(y.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=0), x.var(axis=0) / (x.var(axis=0) + 1e-5))
    layer.weight.value[...] = [2.0, 1.0, -1.0]
    layer.bias.value[...] = [0.5, 0.0, 3.0]
    np.testing.assert_allclose(layer(x), y * [2.0, 1.0, -1.0] + [0.5, 0.0, 3.0])


def test_batch_norm_running_statistics_follow_pytorchs_rule():
    rng = np.random.default_rng(0)
    momentum, eps = 0.3, 1e-3
    layer = nf.BatchNorm1d(3, momentum=momentum, eps=eps, dtype=np.float64)
    running_mean, running_var = np.zeros(3), np.ones(3)
    for n in (4, 7, 2):
        x = rng.normal([1.0, -2.0, 0.0], [1.0, 3.0, 0.5], size=(n, 3))
        layer(x)
        # torch.nn.BatchNorm1d: running = (1 - momentum) * running + momentum * batch value,
        # with the unbiased (n - 1) batch variance.
        running_mean = (1 - momentum) * running_mean + momentum * x.mean(axis=0)
        running_var = (1 - momentum) * running_var + momentum * x.var(axis=0, ddof=1)
        np.testing.assert_allclose(layer.running_mean.value, running_mean, rtol=1e-14)
        np.testing.assert_allclose(layer.running_var.value, running_var, rtol=1e-14)


def test_batch_norm_eval_mode_uses_and_keeps_the_running_statistics():
    rng = np.random.default_rng(0)
    layer = nf.BatchNorm1d(2, dtype=np.float64)
    x = rng.normal(3.0, 2.0, size=(16, 2))
    train_y = layer(x)
    mean, var = layer.running_mean.value.copy(), layer.running_var.value.copy()
    layer.eval()
    eval_y = layer(x)
    np.testing.assert_allclose(eval_y, (x - mean) / np.sqrt(var + 1e-5))
    assert not np.allclose(eval_y, train_y)
    np.testing.assert_array_equal(layer.running_mean.value, mean)
    np.testing.assert_array_equal(layer.running_var.value, var)
    one = layer(x[:1])  # a single example is fine in eval mode
    np.testing.assert_allclose(one, eval_y[:1])


def test_batch_norm_backward_follows_the_mode_of_its_forward_pass():
    x = np.random.default_rng(0).standard_normal((6, 3))
    grad_y = np.random.default_rng(1).standard_normal((6, 3))
    reference = nf.BatchNorm1d(3, dtype=np.float64)
    reference(x)
    expected = reference.backward(grad_y, input_grad=True)
    layer = nf.BatchNorm1d(3, dtype=np.float64)
    layer(x)
    layer.eval()
    np.testing.assert_array_equal(layer.backward(grad_y, input_grad=True), expected)
    np.testing.assert_allclose(expected.sum(axis=0), 0.0, atol=1e-12)


def test_batch_norm_parameter_gradients_accumulate():
    x = np.random.default_rng(0).standard_normal((6, 3))
    layer = nf.BatchNorm1d(3, dtype=np.float64)
    y = layer(x)
    layer.backward(np.ones_like(y))
    np.testing.assert_allclose(layer.bias.grad, 6.0)
    np.testing.assert_allclose(layer.weight.grad, 0.0, atol=1e-12)  # x_hat sums to 0
    layer(x)
    layer.backward(np.ones_like(y))
    np.testing.assert_allclose(layer.bias.grad, 12.0)


def test_batch_norm_state_dict_holds_buffers_that_parameters_leave_out():
    layer = nf.BatchNorm1d(4)
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    assert [name for name, _ in layer.named_buffers()] == ["running_mean", "running_var"]
    state = layer.state_dict()
    assert list(state) == ["weight", "bias", "running_mean", "running_var"]
    np.testing.assert_array_equal(state["weight"], 1.0)
    np.testing.assert_array_equal(state["bias"], 0.0)
    np.testing.assert_array_equal(state["running_mean"], 0.0)
    np.testing.assert_array_equal(state["running_var"], 1.0)
    assert all(value.dtype == np.float32 for value in state.values())
    trained = nf.BatchNorm1d(4)
    trained(np.random.default_rng(0).standard_normal((8, 4)))
    layer.load_state_dict(trained.state_dict())
    np.testing.assert_array_equal(layer.running_var.value, trained.running_var.value)
    assert not np.array_equal(layer.running_var.value, np.ones(4))


def test_batch_norm_astype_converts_parameters_gradients_and_buffers():
    layer = nf.BatchNorm1d(3).astype(np.float64)
    assert layer.dtype == np.float64
    for array in (layer.weight.value, layer.weight.grad, layer.bias.value,
                  layer.running_mean.value, layer.running_var.value):
        assert array.dtype == np.float64
    assert layer(np.ones((2, 3), dtype=np.float32)).dtype == np.float64


def test_batch_norm_casts_inputs_to_its_dtype_like_linear():
    x = np.random.default_rng(0).standard_normal((4, 3))
    layer = nf.BatchNorm1d(3)
    y = layer(x)
    assert y.dtype == np.float32
    assert layer.backward(np.ones_like(x), input_grad=True).dtype == np.float32
    assert layer.running_mean.value.dtype == np.float32
    assert nf.BatchNorm1d(2)(np.array([[1, 2], [3, 5]])).dtype == np.float32
    assert nf.BatchNorm1d(3, dtype=np.float64)(x.astype(np.float32)).dtype == np.float64


def test_batch_norm_needs_two_examples_in_training_mode_and_changes_nothing_otherwise():
    layer = nf.BatchNorm1d(3)
    with pytest.raises(
        ShapeError,
        match=r"BatchNorm1d\(3\): needs more than one example per batch in training mode",
    ):
        layer(np.ones((1, 3)))
    np.testing.assert_array_equal(layer.running_mean.value, 0.0)
    np.testing.assert_array_equal(layer.running_var.value, 1.0)
    assert not layer.has_cache()


def test_batch_norm_rejects_the_wrong_width_naming_both_shapes():
    layer = nf.BatchNorm1d(64)
    with pytest.raises(ShapeError, match=r"BatchNorm1d\(64\).*\(batch, 64\).*\(5, 3\)"):
        layer(np.ones((5, 3)))
    with pytest.raises(ShapeError, match=r"BatchNorm1d\(64\).*\(5, 64, 1, 1\)"):
        layer(np.ones((5, 64, 1, 1)))  # (N, C) and (N, C, L) only
    np.testing.assert_array_equal(layer.running_mean.value, 0.0)
    layer(np.ones((5, 64)))
    with pytest.raises(ShapeError, match=r"BatchNorm1d\(64\).*\(5, 64\).*\(5, 63\)"):
        layer.backward(np.ones((5, 63)))


def test_batch_norm_under_no_grad_updates_running_statistics_in_training_mode_only():
    x = np.random.default_rng(0).normal(2.0, 1.0, (8, 2))
    layer = nf.BatchNorm1d(2, dtype=np.float64)
    with nf.no_grad():
        layer(x)
    assert not layer.has_cache()
    np.testing.assert_allclose(layer.running_mean.value, 0.1 * x.mean(axis=0))
    layer.eval()
    before = layer.running_mean.value.copy()
    with nf.no_grad():
        layer(x)
    np.testing.assert_array_equal(layer.running_mean.value, before)


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: nf.BatchNorm1d(0), ArgumentError, "BatchNorm1d: num_features must be positive"),
        (lambda: nf.BatchNorm1d(2.5), ArgumentTypeError, "BatchNorm1d: num_features must be an"),
        (lambda: nf.BatchNorm1d(3, eps=0), ArgumentError, "BatchNorm1d: eps must be > 0; got 0"),
        (lambda: nf.BatchNorm1d(3, momentum=1.5), ArgumentError, "BatchNorm1d: momentum must be"),
        (lambda: nf.BatchNorm1d(3, dtype=np.int32), ArgumentError, "BatchNorm1d: dtype must be"),
        (lambda: nf.BatchNorm1d(3, dtype="nope"), ArgumentTypeError, "BatchNorm1d: dtype"),
    ],
)
def test_batch_norm_rejects_bad_arguments(make, error, message):
    with pytest.raises(error, match=re.escape(message)):
        make()


def test_batch_norm_repr_tags_and_init_fields():
    assert repr(nf.BatchNorm1d(64)) == "BatchNorm1d(64)"
    layer = nf.BatchNorm1d(8, momentum=0.2, eps=1e-3, dtype=np.float64)
    assert repr(layer) == "BatchNorm1d(8, eps=0.001, momentum=0.2)"  # PyTorch's order
    assert nf.BatchNorm1d(8, 1e-3, 0.2).get_config() == layer.get_config() | {"dtype": np.float32}
    assert not nf.BatchNorm1d.batch_independent and not nf.BatchNorm1d.stochastic
    clone = rebuilt(layer)
    assert (clone.num_features, clone.momentum, clone.eps, clone.dtype) == (
        8, 0.2, 1e-3, np.float64
    )
    assert clone.weight.dtype == np.float64 and clone.weight is not layer.weight


def test_batch_norm_and_dropout_follow_a_models_mode():
    model = nf.Sequential(nf.Linear(3, 4, rng=0), nf.BatchNorm1d(4), nf.Dropout(0.5, rng=0))
    x = np.random.default_rng(0).standard_normal((6, 3))
    model.eval()
    assert not model[1].training and not model[2].training
    np.testing.assert_array_equal(model(x), model(x))
    model.train()
    assert model[1].training and model[2].training
    assert not np.array_equal(model(x), model(x))


def test_batch_norm_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 3))
    grad_y = rng.standard_normal((6, 3))
    layer = randomised_batch_norm(3, 0)
    reference = torch.nn.BatchNorm1d(3, momentum=0.1, eps=1e-5).double()
    with torch.no_grad():
        reference.weight.copy_(torch.from_numpy(layer.weight.value))
        reference.bias.copy_(torch.from_numpy(layer.bias.value))
        reference.running_mean.copy_(torch.from_numpy(layer.running_mean.value))
        reference.running_var.copy_(torch.from_numpy(layer.running_var.value))
    tx = torch.from_numpy(x).requires_grad_(True)
    ty = reference(tx)
    ty.backward(torch.from_numpy(grad_y))
    y = layer(x)
    grad_x = layer.backward(grad_y, input_grad=True)
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grad_x, tx.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(layer.weight.grad, reference.weight.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(layer.running_var.value, reference.running_var.numpy())


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_on_sequences_passes_gradcheck(training):
    rng = np.random.default_rng(0)
    layer = nf.BatchNorm1d(3, dtype=np.float64)
    layer(rng.standard_normal((4, 3, 5)))  # running statistics that are not trivial
    layer.train(training)
    nf.assert_gradients(layer, rng.standard_normal((2, 3, 4)))


def test_batch_norm_on_sequences_matches_pytorch_with_running_statistics():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    layer = nf.BatchNorm1d(3, momentum=0.2, dtype=np.float64)
    reference = torch.nn.BatchNorm1d(3, momentum=0.2, dtype=torch.float64)
    for _ in range(3):
        x, grad_y = rng.standard_normal((4, 3, 6)), rng.standard_normal((4, 3, 6))
        tx = torch.from_numpy(x).requires_grad_(True)
        ty = reference(tx)
        ty.backward(torch.from_numpy(grad_y))
        np.testing.assert_allclose(layer(x), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(
            layer.backward(grad_y, input_grad=True), tx.grad.numpy(), rtol=1e-9, atol=1e-12
        )
    np.testing.assert_allclose(layer.running_mean.value, reference.running_mean.numpy())
    np.testing.assert_allclose(layer.running_var.value, reference.running_var.numpy())
    np.testing.assert_allclose(layer.weight.grad, reference.weight.grad.numpy(), rtol=1e-10)
    layer.eval(), reference.eval()
    x = rng.standard_normal((2, 3, 4))
    np.testing.assert_allclose(layer(x), reference(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-10, atol=1e-12)


def test_batch_norm_needs_two_values_per_channel_and_at_most_three_axes():
    with pytest.raises(ShapeError, match="1 value per channel"):
        nf.BatchNorm1d(3)(np.ones((1, 3, 1)))
    nf.BatchNorm1d(3)(np.ones((1, 3, 2)))  # two values per channel: a batch of one sequence
    with pytest.raises(ShapeError, match=r"\(batch, 3\), or \(batch, 3, \.\.\.\)"):
        nf.BatchNorm1d(3)(np.ones((2, 3, 4, 5)))
