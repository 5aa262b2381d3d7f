"""Weighted losses: class weights, pos_weight, label smoothing and per-example sample_weight.

Checked against PyTorch in float64 (to 1e-10, value and gradient), against central
differences (hypothesis), against equivalent formulations, on the fused Sigmoid path, and
on bad input.
"""

import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import nnframe as nf
from nnframe.errors import ArgumentError, DataError, ShapeError
from nnframe.losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from nnframe.testing import check_loss
from tests.test_losses import numeric_gradient

REDUCTIONS = ["mean", "sum"]


def value_and_grad(loss, pred, target, sample_weight=None):
    value = loss(pred, target, sample_weight=sample_weight)
    return value, loss.backward()


def assert_matches(value, grad, value_t, pred_t):
    assert value == pytest.approx(value_t.item(), rel=1e-10, abs=1e-12)
    np.testing.assert_allclose(grad, pred_t.grad.numpy(), rtol=1e-10, atol=1e-12)


def torch_weighted_mean(torch, per_example, s, reduction, denominator_terms=None):
    """sum(s * l) / sum(s * terms) (mean) or sum(s * l) (sum), as nnframe documents."""
    s_t = torch.tensor(s, dtype=torch.float64)
    shape = (-1,) + (1,) * (per_example.ndim - 1)
    total = (s_t.reshape(shape) * per_example).sum()
    if reduction == "sum":
        return total
    terms = torch.ones_like(per_example) if denominator_terms is None else denominator_terms
    return total / (s_t.reshape(shape) * terms).sum()


# -- PyTorch, float64, 1e-10 ---------------------------------------------------------------


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.35])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("target_kind", ["labels", "probabilities"])
@pytest.mark.parametrize("shape", [(7, 4), (5, 3, 6)])
def test_weighted_smoothed_cross_entropy_matches_torch(
    shape, target_kind, reduction, smoothing, rng
):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as TF

    z = rng.normal(size=shape) * 2
    classes = shape[1]
    weight = rng.uniform(0.1, 3.0, classes)
    if target_kind == "labels":
        target = rng.integers(0, classes, (shape[0], *shape[2:]))
    else:
        target = rng.dirichlet(np.ones(classes), (shape[0], *shape[2:]))
        target = np.moveaxis(target, -1, 1)
    loss = CrossEntropyLoss(reduction, weight=weight, label_smoothing=smoothing)
    value, grad = value_and_grad(loss, z, target)

    z_t = torch.tensor(z, requires_grad=True)
    value_t = TF.cross_entropy(
        z_t, torch.tensor(target), weight=torch.tensor(weight), reduction=reduction,
        label_smoothing=smoothing,
    )
    value_t.backward()
    assert_matches(value, grad, value_t, z_t)


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("class_weights", [False, True])
@pytest.mark.parametrize("target_kind", ["labels", "probabilities"])
def test_cross_entropy_sample_weight_matches_torch(
    target_kind, class_weights, reduction, smoothing, rng
):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as TF

    batch, classes = 9, 5
    z = rng.normal(size=(batch, classes)) * 2
    s = rng.uniform(0.0, 2.0, batch)
    s[2] = 0.0
    weight = rng.uniform(0.1, 3.0, classes) if class_weights else None
    if target_kind == "labels":
        target = rng.integers(0, classes, batch)
    else:
        target = rng.dirichlet(np.ones(classes), batch)
    loss = CrossEntropyLoss(reduction, weight=weight, label_smoothing=smoothing)
    value, grad = value_and_grad(loss, z, target, sample_weight=s)

    z_t = torch.tensor(z, requires_grad=True)
    weight_t = None if weight is None else torch.tensor(weight)
    per_example = TF.cross_entropy(
        z_t, torch.tensor(target), weight=weight_t, reduction="none", label_smoothing=smoothing
    )
    terms = None
    if weight is not None and target_kind == "labels":  # PyTorch divides by sum(weight[y])
        terms = weight_t[torch.tensor(target)]
    value_t = torch_weighted_mean(torch, per_example, s, reduction, terms)
    value_t.backward()
    assert_matches(value, grad, value_t, z_t)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(8, 1), (8, 3), (8,)])
@pytest.mark.parametrize("with_sample_weight", [False, True])
def test_weighted_bce_matches_torch(shape, reduction, with_sample_weight, rng):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as TF

    p = rng.uniform(0.02, 0.98, shape)
    y = rng.integers(0, 2, shape).astype(np.float64)
    outputs = shape[-1] if len(shape) == 2 else 1
    weight = rng.uniform(0.1, 3.0, outputs)
    s = rng.uniform(0.0, 2.0, shape[0]) if with_sample_weight else None
    value, grad = value_and_grad(BCELoss(reduction, weight=weight), p, y, s)

    p_t = torch.tensor(p, requires_grad=True)
    if s is None:
        value_t = TF.binary_cross_entropy(
            p_t, torch.tensor(y), weight=torch.tensor(weight).expand(shape), reduction=reduction
        )
    else:
        per_element = TF.binary_cross_entropy(
            p_t, torch.tensor(y), weight=torch.tensor(weight).expand(shape), reduction="none"
        )
        value_t = torch_weighted_mean(torch, per_element, s, reduction)
    value_t.backward()
    assert_matches(value, grad, value_t, p_t)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(8, 1), (8, 3), (8,)])
@pytest.mark.parametrize("which", ["pos_weight", "weight", "both", "sample_weight"])
def test_weighted_bce_with_logits_matches_torch(shape, reduction, which, rng):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as TF

    z = rng.normal(size=shape) * 3
    z.flat[0] = 40.0  # saturated, where a naive formula loses the loss
    y = rng.integers(0, 2, shape).astype(np.float64)
    outputs = shape[-1] if len(shape) == 2 else 1
    weight = rng.uniform(0.1, 3.0, outputs) if which in ("weight", "both") else None
    pos = rng.uniform(0.2, 5.0, outputs) if which in ("pos_weight", "both") else None
    s = rng.uniform(0.0, 2.0, shape[0]) if which == "sample_weight" else None
    loss = BCEWithLogitsLoss(reduction, weight=weight, pos_weight=pos)
    value, grad = value_and_grad(loss, z, y, s)

    z_t = torch.tensor(z, requires_grad=True)
    kwargs = {
        "weight": None if weight is None else torch.tensor(weight),
        "pos_weight": None if pos is None else torch.tensor(pos),
    }
    if s is None:
        value_t = TF.binary_cross_entropy_with_logits(
            z_t, torch.tensor(y), reduction=reduction, **kwargs
        )
    else:
        per_element = TF.binary_cross_entropy_with_logits(
            z_t, torch.tensor(y), reduction="none", **kwargs
        )
        value_t = torch_weighted_mean(torch, per_element, s, reduction)
    value_t.backward()
    assert_matches(value, grad, value_t, z_t)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(6, 1), (6, 4), (6,)])
def test_mse_sample_weight_matches_torch(shape, reduction, rng):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as TF

    x, t = rng.normal(size=shape), rng.normal(size=shape)
    s = rng.uniform(0.0, 3.0, shape[0])
    value, grad = value_and_grad(MSELoss(reduction), x, t, s)

    x_t = torch.tensor(x, requires_grad=True)
    per_element = TF.mse_loss(x_t, torch.tensor(t), reduction="none")
    value_t = torch_weighted_mean(torch, per_element, s, reduction)
    value_t.backward()
    assert_matches(value, grad, value_t, x_t)


# -- central differences (hypothesis) ---------------------------------------------------


@st.composite
def weighted_problems(draw):
    """A weighted loss with a valid (pred, target, sample_weight) in float64."""
    kind = draw(st.sampled_from(["ce", "bce", "bcel", "mse"]))
    batch = draw(st.integers(1, 8))
    width = draw(st.integers(2, 5))
    reduction = draw(st.sampled_from(REDUCTIONS))
    positive = st.floats(0.05, 4.0)
    weight = draw(arrays(np.float64, width, elements=positive)) if draw(st.booleans()) else None
    s = None
    if draw(st.booleans()):
        s = draw(arrays(np.float64, batch, elements=positive))
    if kind == "ce":
        loss = CrossEntropyLoss(
            reduction, weight=weight, label_smoothing=draw(st.sampled_from([0.0, 0.1, 0.5]))
        )
        pred = draw(arrays(np.float64, (batch, width), elements=st.floats(-6.0, 6.0)))
        if draw(st.booleans()):
            target = draw(arrays(np.int64, batch, elements=st.integers(0, width - 1)))
        else:
            raw = draw(arrays(np.float64, (batch, width), elements=st.floats(0.01, 1.0)))
            target = raw / raw.sum(axis=1, keepdims=True)
        return loss, pred, target, s
    if kind == "mse":
        pred = draw(arrays(np.float64, (batch, width), elements=st.floats(-3.0, 3.0)))
        target = draw(arrays(np.float64, (batch, width), elements=st.floats(-3.0, 3.0)))
        return MSELoss(reduction), pred, target, s
    target = draw(arrays(np.float64, (batch, width), elements=st.floats(0.0, 1.0)))
    if kind == "bce":
        pred = draw(arrays(np.float64, (batch, width), elements=st.floats(0.05, 0.95)))
        return BCELoss(reduction, weight=weight), pred, target, s
    pred = draw(arrays(np.float64, (batch, width), elements=st.floats(-6.0, 6.0)))
    pos = draw(arrays(np.float64, width, elements=positive)) if draw(st.booleans()) else None
    return BCEWithLogitsLoss(reduction, weight=weight, pos_weight=pos), pred, target, s


@settings(deadline=None)
@given(problem=weighted_problems())
def test_weighted_losses_backward_matches_central_differences(problem):
    loss, pred, target, s = problem
    with nf.no_grad():
        expected = numeric_gradient(lambda p: loss(p, target, sample_weight=s), pred)
    loss(pred, target, sample_weight=s)
    grad = loss.backward()
    assert grad.shape == pred.shape and grad.dtype == np.float64
    np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-6)


@settings(deadline=None)
@given(problem=weighted_problems())
def test_unit_sample_weights_are_the_unweighted_loss(problem):
    loss, pred, target, _ = problem
    value, grad = value_and_grad(loss, pred, target)
    value_1, grad_1 = value_and_grad(loss, pred, target, np.ones(len(pred)))
    assert value_1 == pytest.approx(value, rel=1e-12, abs=1e-14)
    np.testing.assert_allclose(grad_1, grad, rtol=1e-12, atol=1e-15)


def test_check_loss_passes_on_a_label_smoothed_cross_entropy():
    check_loss(lambda: CrossEntropyLoss(label_smoothing=0.1), max_examples=10)


# -- what the weights mean ----------------------------------------------------------------


@pytest.mark.parametrize("loss_cls", [BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss])
def test_integer_sample_weights_count_examples_that_many_times(loss_cls, rng):
    from tests.test_losses import sample_problem

    pred, target = sample_problem(loss_cls, rng, batch=6, classes=3)
    counts = np.array([1, 3, 0, 2, 1, 1])
    value, grad = value_and_grad(loss_cls(), pred, target, counts)
    repeated = np.repeat(np.arange(6), counts)
    value_r, grad_r = value_and_grad(loss_cls(), pred[repeated], target[repeated])
    assert value == pytest.approx(value_r, rel=1e-12)
    summed = np.zeros_like(grad)
    np.add.at(summed, repeated, grad_r)
    np.testing.assert_allclose(grad, summed, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_class_weights_are_sample_weights_of_the_labels(reduction, rng):
    z, y = rng.normal(size=(10, 4)), rng.integers(0, 4, 10)
    w = np.array([0.5, 2.0, 1.0, 3.0])
    value, grad = value_and_grad(CrossEntropyLoss(reduction, weight=w), z, y)
    value_s, grad_s = value_and_grad(CrossEntropyLoss(reduction), z, y, w[y])
    assert value == pytest.approx(value_s, rel=1e-12)
    np.testing.assert_allclose(grad, grad_s, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("loss_cls", [BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss])
def test_a_batch_of_zero_weights_has_loss_and_gradient_zero(loss_cls, rng):
    from tests.test_losses import sample_problem

    pred, target = sample_problem(loss_cls, rng, batch=4)
    value, grad = value_and_grad(loss_cls(), pred, target, np.zeros(4))
    assert value == 0.0
    assert not grad.any()


def test_class_weights_of_zero_for_every_label_give_zero_not_nan(rng):
    z = rng.normal(size=(3, 3))
    value, grad = value_and_grad(CrossEntropyLoss(weight=[0.0, 1.0, 1.0]), z, np.zeros(3, int))
    assert value == 0.0 and not grad.any()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_weighted_losses_keep_the_prediction_dtype(dtype, rng):
    z = rng.normal(size=(5, 3)).astype(dtype)
    loss = CrossEntropyLoss(weight=[1.0, 2.0, 3.0], label_smoothing=0.1)
    value, grad = value_and_grad(loss, z, rng.integers(0, 3, 5), np.arange(5.0))
    assert isinstance(value, float) and grad.dtype == dtype
    p = (1 / (1 + np.exp(-z))).astype(dtype)
    value, grad = value_and_grad(BCELoss(weight=[1.0, 2.0, 3.0]), p, np.ones((5, 3)), np.ones(5))
    assert isinstance(value, float) and grad.dtype == dtype


def test_repr_shows_the_weights_and_smoothing():
    assert repr(CrossEntropyLoss(weight=[1, 2], label_smoothing=0.1)) == (
        "CrossEntropyLoss(weight=[1., 2.], label_smoothing=0.1)"
    )
    assert repr(BCEWithLogitsLoss("sum", pos_weight=[3.0])) == (
        "BCEWithLogitsLoss(pos_weight=[3.], reduction='sum')"
    )
    assert repr(MSELoss()) == "MSELoss()"


# -- the fused Sigmoid path keeps the weights ----------------------------------------------


@pytest.mark.parametrize("weight", [None, [2.0, 0.5]])
def test_fused_and_unfused_sigmoid_paths_agree_with_weights(weight, rng):
    x = rng.normal(size=(12, 3))
    y = rng.integers(0, 2, (12, 2)).astype(np.float64)
    s = rng.uniform(0.0, 3.0, 12)
    model = nf.Sequential(nf.Linear(3, 2, rng=0, dtype=np.float64), nf.Sigmoid())
    twin = copy.deepcopy(model)
    loss = BCELoss(weight=weight)

    loss(model(x), y, sample_weight=s)
    model.backward(loss.backward())  # the Sigmoid claims the fused (p - y) * factor
    loss(twin(x), y, sample_weight=s)
    twin.backward(loss.backward() + 0.0)  # a copy: the offer is not claimed
    for (name, p), q in zip(model.named_parameters(), twin.parameters(), strict=True):
        np.testing.assert_allclose(p.grad, q.grad, rtol=1e-9, atol=1e-12, err_msg=name)

    # and both equal BCEWithLogitsLoss on the logits, which has no fused path
    linear = copy.deepcopy(model[0])
    linear.zero_grad()
    logits_loss = BCEWithLogitsLoss(weight=weight)
    logits_loss(linear(x), y, sample_weight=s)
    linear.backward(logits_loss.backward())
    np.testing.assert_allclose(model[0].weight.grad, linear.weight.grad, rtol=1e-9, atol=1e-12)


def test_backward_through_sigmoid_includes_the_weights():
    loss = BCELoss()
    loss(np.array([[0.75], [0.5]]), np.array([1, 0]), sample_weight=np.array([3.0, 1.0]))
    np.testing.assert_allclose(loss.backward_through_sigmoid(), [[-0.1875], [0.125]])


# -- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda: CrossEntropyLoss(weight=[1.0, -1.0]), ">= 0"),
        (lambda: CrossEntropyLoss(weight=[1.0, np.nan]), "finite"),
        (lambda: CrossEntropyLoss(weight=[[1.0, 2.0]]), "1-d"),
        (lambda: CrossEntropyLoss(weight=[]), "1-d"),
        (lambda: BCEWithLogitsLoss(pos_weight=[np.inf]), "finite"),
        (lambda: BCELoss(weight=[-0.5]), ">= 0"),
        (lambda: CrossEntropyLoss(label_smoothing=1.5), "label_smoothing"),
        (lambda: CrossEntropyLoss(label_smoothing=-0.1), "label_smoothing"),
    ],
)
def test_bad_constructor_weights_raise_argument_error(make, words):
    with pytest.raises(ArgumentError, match=words):
        make()


def _bad_calls(rng):
    z, y = rng.normal(size=(4, 3)), rng.integers(0, 3, 4)
    p = rng.uniform(0.1, 0.9, (4, 2))
    return [
        (CrossEntropyLoss(weight=[1.0, 2.0]), z, y, None, ShapeError, "2 values"),
        (BCELoss(weight=[1.0, 2.0, 3.0]), p, np.ones((4, 2)), None, ShapeError, "3 values"),
        (BCEWithLogitsLoss(pos_weight=[1.0]), p, np.ones((4, 2)), None, ShapeError, "pos_weight"),
        (CrossEntropyLoss(), z, y, np.ones(3), ShapeError, "one weight per example"),
        (CrossEntropyLoss(), z, y, np.ones((4, 2)), ShapeError, "one weight per example"),
        (MSELoss(), z, z, [1.0, -1.0, 1.0, 1.0], DataError, ">= 0"),
        (MSELoss(), z, z, [1.0, np.nan, 1.0, 1.0], DataError, "finite"),
        (BCELoss(), p, np.ones((4, 2)), [1.0, np.inf, 1.0, 1.0], DataError, "finite"),
    ]


def test_bad_weights_at_call_raise_before_the_cache_changes(rng):
    for loss, pred, target, s, error, words in _bad_calls(rng):
        loss.clear_cache()
        with pytest.raises(error, match=words):
            loss(pred, target, sample_weight=s)
        assert not loss.has_cache(), loss
