"""Tests for nnframe.losses: gradients, extreme inputs, reference values, errors."""

import math
import warnings
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import nnframe as nf
from nnframe.errors import ArgumentError, CacheMissError, DataError, DTypeError, ShapeError
from nnframe.losses import (
    INPUT_KINDS,
    TARGET_KINDS,
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    Loss,
    MSELoss,
)

ALL_LOSSES = [BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss]
BINARY_LOSSES = [BCELoss, BCEWithLogitsLoss]

# -- helpers -----------------------------------------------------------------------------


def numeric_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-6):
    """Central differences of the scalar f at x, one element at a time, in float64."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        old = x[index]
        x[index] = old + eps
        plus = f(x)
        x[index] = old - eps
        minus = f(x)
        x[index] = old
        grad[index] = (plus - minus) / (2 * eps)
    return grad


def assert_gradient_matches(loss: Loss, pred: np.ndarray, target: np.ndarray) -> None:
    with nf.no_grad():
        expected = numeric_gradient(lambda p: loss.forward(p, target), pred)
    loss.forward(pred, target)
    grad = loss.backward()
    assert grad.shape == pred.shape
    assert grad.dtype == np.float64
    np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-6)


def sample_problem(loss_cls, rng, batch=5, classes=3, dtype=np.float64):
    """A valid (pred, target) pair for each loss, from a seeded Generator."""
    if loss_cls is BCELoss:
        return rng.uniform(0.05, 0.95, (batch, 1)).astype(dtype), rng.integers(0, 2, batch)
    if loss_cls is BCEWithLogitsLoss:
        return rng.normal(size=(batch, 1)).astype(dtype), rng.integers(0, 2, batch)
    if loss_cls is CrossEntropyLoss:
        return rng.normal(size=(batch, classes)).astype(dtype), rng.integers(0, classes, batch)
    return rng.normal(size=(batch, classes)).astype(dtype), rng.normal(size=(batch, classes))


def mean_count(loss_cls, pred: np.ndarray) -> int:
    """What "mean" divides by: the batch for CrossEntropyLoss, every element otherwise."""
    return pred.shape[0] if loss_cls is CrossEntropyLoss else pred.size


# -- strategies --------------------------------------------------------------------------

batch_sizes = st.integers(1, 16)
class_counts = st.integers(2, 6)
reductions = st.sampled_from(["mean", "sum"])


@st.composite
def binary_problems(draw, low: float, high: float):
    """pred in [low, high] of shape (batch, 1), (batch,) or (batch, k); 0/1 or soft targets."""
    batch = draw(batch_sizes)
    shape = draw(st.sampled_from([(batch, 1), (batch,), (batch, draw(class_counts))]))
    target_shape = shape
    if len(shape) == 1 or shape[1] == 1:
        target_shape = draw(st.sampled_from([(batch,), (batch, 1)]))
    pred = draw(arrays(np.float64, shape, elements=st.floats(low, high)))
    labels = st.sampled_from([0.0, 1.0]) | st.floats(0.0, 1.0)
    target = draw(arrays(np.float64, target_shape, elements=labels))
    return pred, target


@st.composite
def classification_problems(draw):
    """Logits (batch, classes) with integer labels or rows of class probabilities."""
    batch, classes = draw(batch_sizes), draw(class_counts)
    logits = draw(arrays(np.float64, (batch, classes), elements=st.floats(-8.0, 8.0)))
    if draw(st.booleans()):
        target = draw(arrays(np.int64, (batch,), elements=st.integers(0, classes - 1)))
    else:
        weights = draw(arrays(np.float64, (batch, classes), elements=st.floats(0.01, 1.0)))
        target = weights / weights.sum(axis=1, keepdims=True)
    return logits, target


@st.composite
def regression_problems(draw):
    batch, width = draw(batch_sizes), draw(st.integers(1, 6))
    values = st.floats(-3.0, 3.0)
    pred = draw(arrays(np.float64, (batch, width), elements=values))
    target = draw(arrays(np.float64, (batch, width), elements=values))
    return pred, target


# -- gradients against central differences ----------------------------------------------


@settings(deadline=None)
@given(problem=binary_problems(0.02, 0.98), reduction=reductions)
def test_bce_loss_backward_matches_central_differences(problem, reduction):
    assert_gradient_matches(BCELoss(reduction), *problem)


@settings(deadline=None)
@given(problem=binary_problems(-8.0, 8.0), reduction=reductions)
def test_bce_with_logits_loss_backward_matches_central_differences(problem, reduction):
    assert_gradient_matches(BCEWithLogitsLoss(reduction), *problem)


@settings(deadline=None)
@given(problem=classification_problems(), reduction=reductions)
def test_cross_entropy_loss_backward_matches_central_differences(problem, reduction):
    assert_gradient_matches(CrossEntropyLoss(reduction), *problem)


@settings(deadline=None)
@given(problem=regression_problems(), reduction=reductions)
def test_mse_loss_backward_matches_central_differences(problem, reduction):
    assert_gradient_matches(MSELoss(reduction), *problem)


def test_cross_entropy_gradient_is_exact_for_rows_that_do_not_sum_to_one(rng):
    logits = rng.normal(size=(4, 3))
    target = rng.uniform(0.0, 1.0, (4, 3))  # e.g. a weighted or unnormalised soft target
    assert_gradient_matches(CrossEntropyLoss(), logits, target)


# -- extreme inputs: finite values, finite gradients, no warnings ------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_loss_is_finite_with_nonzero_gradients_at_probabilities_0_and_1(dtype):
    pred = np.array([[0.0], [1.0], [0.0], [1.0]], dtype=dtype)
    target = np.array([1, 0, 0, 1])  # two confidently wrong, two exactly right
    loss = BCELoss()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = loss(pred, target)
        grad = loss.backward()
    # Each wrong element costs -log(eps) for the dtype's eps (the documented margin).
    eps = np.finfo(dtype).eps
    assert value == pytest.approx(2 * -math.log(eps) / 4, rel=1e-4)
    assert grad.dtype == dtype
    assert np.all(np.isfinite(grad))
    assert np.all(grad != 0)
    # Wrong predictions are pushed hard towards the target, right ones only gently.
    assert grad[0, 0] < -1e5 and grad[1, 0] > 1e5
    np.testing.assert_allclose(grad[2:, 0], [0.25, -0.25], rtol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scale", [1000.0, 1e4])
def test_bce_with_logits_loss_is_finite_at_extreme_logits(dtype, scale):
    z = np.array([[scale], [-scale], [scale], [-scale]], dtype=dtype)
    target = np.array([1, 1, 0, 0])  # right, wrong, wrong, right
    loss = BCEWithLogitsLoss()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = loss(z, target)
        grad = loss.backward()
    assert value == pytest.approx(2 * scale / 4, rel=1e-6)
    assert grad.dtype == dtype
    np.testing.assert_allclose(grad, [[0.0], [-0.25], [0.25], [0.0]], atol=1e-7)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scale", [1000.0, 1e4])
def test_cross_entropy_loss_is_finite_at_extreme_logits(dtype, scale):
    z = np.array([[scale, -scale, 0.0], [-scale, scale, 0.0], [scale, scale, -scale]], dtype)
    labels = np.array([0, 0, 1])  # right; wrong by 2 * scale; a tie between two classes
    loss = CrossEntropyLoss()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = loss(z, labels)
        grad = loss.backward()
    assert value == pytest.approx((2 * scale + math.log(2)) / 3, rel=1e-6)
    assert grad.dtype == dtype
    expected = np.array([[0.0, 0.0, 0.0], [-1.0, 1.0, 0.0], [0.5, -0.5, 0.0]]) / 3
    np.testing.assert_allclose(grad, expected, atol=1e-3 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("z", [30.0, 40.0])
def test_bce_with_logits_loss_keeps_tiny_losses_of_confident_right_predictions(z):
    # softplus(z) - z cancels (1% error at 30, 0.0 at 40); the stable form does not.
    value = BCEWithLogitsLoss()(np.array([[z]]), np.array([1.0]))
    assert value == pytest.approx(math.log1p(math.exp(-z)), rel=1e-9, abs=0)


# -- values against independent references ---------------------------------------------


def test_bce_loss_matches_the_course_compute_cost():
    AL = np.array([[0.8, 0.9, 0.4]])  # the course's layout: one example per column
    Y = np.array([[1, 1, 1]])
    value = BCELoss()(AL.T, Y.T)
    assert type(value) is float
    assert value == pytest.approx(0.41493159961539694, rel=1e-12)


def test_bce_with_logits_loss_matches_a_hand_computation():
    z, y = [0.5, -1.5, 2.0], [1.0, 0.0, 1.0]
    terms = []
    for zi, yi in zip(z, y, strict=True):
        p = 1.0 / (1.0 + math.exp(-zi))
        terms.append(-(yi * math.log(p) + (1 - yi) * math.log(1 - p)))
    loss = BCEWithLogitsLoss()
    assert loss(np.array(z)[:, None], np.array(y)) == pytest.approx(sum(terms) / 3, rel=1e-12)
    sigmoid = [1.0 / (1.0 + math.exp(-zi)) for zi in z]
    expected = [[(s - yi) / 3] for s, yi in zip(sigmoid, y, strict=True)]
    np.testing.assert_allclose(loss.backward(), expected, rtol=1e-12)


def test_bce_with_logits_loss_equals_bce_loss_on_the_sigmoid(rng):
    z, y = rng.normal(size=(6, 2)), rng.uniform(0.0, 1.0, (6, 2))
    p = 1.0 / (1.0 + np.exp(-z))
    with_logits, on_probabilities = BCEWithLogitsLoss(), BCELoss()
    assert with_logits(z, y) == pytest.approx(on_probabilities(p, y), rel=1e-12)
    # Chain rule through the sigmoid: d/dz = d/dp * p * (1 - p).
    np.testing.assert_allclose(
        with_logits.backward(), on_probabilities.backward() * p * (1 - p), rtol=1e-10
    )


def test_mse_loss_matches_a_hand_computation():
    pred = np.array([[1.0, 2.0], [3.0, 4.0]])
    target = np.array([[0.0, 2.0], [5.0, 3.0]])  # differences 1, 0, -2, 1
    loss = MSELoss()
    assert loss(pred, target) == pytest.approx(6.0 / 4)  # over every element, not the batch
    np.testing.assert_allclose(loss.backward(), [[0.5, 0.0], [-1.0, 0.5]])
    total = MSELoss(reduction="sum")
    assert total(pred, target) == pytest.approx(6.0)
    np.testing.assert_allclose(total.backward(), [[2.0, 0.0], [-4.0, 2.0]])


def test_cross_entropy_loss_matches_a_hand_computation():
    logits = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    labels = np.array([2, 1])
    first = math.log(math.exp(1) + math.exp(2) + math.exp(3)) - 3.0
    second = math.log(3.0)
    loss = CrossEntropyLoss()
    assert loss(logits, labels) == pytest.approx((first + second) / 2, rel=1e-12)
    e = [math.exp(1), math.exp(2), math.exp(3)]
    softmax = [v / sum(e) for v in e]
    expected = [
        [softmax[0] / 2, softmax[1] / 2, (softmax[2] - 1) / 2],
        [1 / 6, (1 / 3 - 1) / 2, 1 / 6],
    ]
    np.testing.assert_allclose(loss.backward(), expected, rtol=1e-12)


@pytest.mark.parametrize("loss_cls", ALL_LOSSES)
def test_reduction_sum_is_the_mean_times_the_count(loss_cls, rng):
    pred, target = sample_problem(loss_cls, rng, batch=6, classes=4)
    mean, total = loss_cls(), loss_cls(reduction="sum")
    count = mean_count(loss_cls, pred)
    assert total(pred, target) == pytest.approx(count * mean(pred, target), rel=1e-12)
    np.testing.assert_allclose(total.backward(), count * mean.backward(), rtol=1e-12)


def test_bce_loss_mean_is_over_every_element_for_multi_label_predictions(rng):
    pred = rng.uniform(0.1, 0.9, (4, 3))
    target = rng.integers(0, 2, (4, 3))
    assert BCELoss()(pred, target) == pytest.approx(BCELoss("sum")(pred, target) / 12)


# -- shapes and dtypes -------------------------------------------------------------------


@pytest.mark.parametrize("loss_cls", [*BINARY_LOSSES, MSELoss])
def test_targets_of_shape_batch_and_batch_by_1_give_the_same_loss(loss_cls, rng):
    pred = rng.uniform(0.1, 0.9, (5, 1))
    target = rng.integers(0, 2, 5).astype(np.float64)
    results = {}
    for pred_shape in [(5, 1), (5,)]:
        for target_shape in [(5, 1), (5,)]:
            loss = loss_cls()
            value = loss(pred.reshape(pred_shape), target.reshape(target_shape))
            grad = loss.backward()
            assert grad.shape == pred_shape
            results[pred_shape, target_shape] = (value, grad.ravel())
    values = [value for value, _ in results.values()]
    assert values == pytest.approx([values[0]] * 4, rel=1e-15)
    for _, grad in results.values():
        np.testing.assert_array_equal(grad, results[(5, 1), (5, 1)][1])


def test_cross_entropy_loss_one_hot_and_index_targets_agree(rng):
    logits = rng.normal(size=(6, 4))
    labels = rng.integers(0, 4, 6)
    one_hot = np.eye(4)[labels]
    results = []
    for target in [labels, one_hot, labels[:, None], labels.astype(np.float64)]:
        loss = CrossEntropyLoss()
        results.append((loss(logits, target), loss.backward()))
    for value, grad in results[1:]:
        assert value == pytest.approx(results[0][0], rel=1e-12)
        np.testing.assert_allclose(grad, results[0][1], rtol=1e-12, atol=1e-15)


# -- cross-entropy on (N, C, d1, ...) -----------------------------------------------------


@st.composite
def nd_classification_problems(draw):
    """Logits (batch, classes, d1[, d2]) with labels (batch, d1[, d2]) or probabilities."""
    batch, classes = draw(st.integers(1, 3)), draw(st.integers(2, 4))
    positions = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=2)))
    shape = (batch, classes, *positions)
    logits = draw(arrays(np.float64, shape, elements=st.floats(-8.0, 8.0)))
    if draw(st.booleans()):
        labels = st.integers(0, classes - 1)
        target = draw(arrays(np.int64, (batch, *positions), elements=labels))
    else:
        weights = draw(arrays(np.float64, shape, elements=st.floats(0.01, 1.0)))
        target = weights / weights.sum(axis=1, keepdims=True)
    return logits, target


def class_axis_last(a: np.ndarray) -> np.ndarray:
    """(N, C, d1, ...) logits or probabilities as (N * d1 * ..., C) rows."""
    return np.moveaxis(a, 1, -1).reshape(-1, a.shape[1])


@settings(deadline=None)
@given(problem=nd_classification_problems(), reduction=reductions)
def test_cross_entropy_loss_nd_backward_matches_central_differences(problem, reduction):
    assert_gradient_matches(CrossEntropyLoss(reduction), *problem)


@given(problem=nd_classification_problems(), reduction=reductions)
def test_cross_entropy_loss_nd_is_the_2d_loss_over_every_position(problem, reduction):
    logits, target = problem
    rows = class_axis_last(logits)
    row_target = target.ravel() if target.ndim < logits.ndim else class_axis_last(target)
    loss, row_loss = CrossEntropyLoss(reduction), CrossEntropyLoss(reduction)
    # "mean" is over batch * d1 * ... positions, the rows of the 2-d problem.
    assert loss(logits, target) == pytest.approx(row_loss(rows, row_target), rel=1e-12)
    grad = loss.backward()
    assert grad.shape == logits.shape
    np.testing.assert_allclose(class_axis_last(grad), row_loss.backward(), rtol=1e-12, atol=1e-15)


def test_cross_entropy_loss_nd_labels_and_one_hot_agree(rng):
    logits = rng.normal(size=(2, 4, 3, 5))
    labels = rng.integers(0, 4, (2, 3, 5))
    one_hot = np.moveaxis(np.eye(4)[labels], -1, 1)  # classes along axis 1
    results = []
    for target in [labels, one_hot, labels.astype(np.float32)]:
        loss = CrossEntropyLoss(reduction="sum")
        results.append((loss(logits, target), loss.backward()))
    for value, grad in results[1:]:
        assert value == pytest.approx(results[0][0], rel=1e-12)
        np.testing.assert_allclose(grad, results[0][1], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_loss_2d_numbers_are_the_row_formulas_bit_for_bit(dtype, rng):
    logits = rng.normal(size=(7, 4)).astype(dtype)
    labels = rng.integers(0, 4, 7)
    loss = CrossEntropyLoss()
    value, grad = loss(logits, labels), loss.backward()
    # log_softmax = shifted - log(sums), summed as two sums; the softmax is exp / sums.
    shifted = logits - logits.max(axis=1, keepdims=True)
    sums = np.exp(shifted).sum(axis=1, keepdims=True)
    picked = shifted[np.arange(7), labels]
    total = np.add.reduce(np.log(sums), axis=None) - np.add.reduce(picked, axis=None)
    assert value == float(total) * (1 / 7)
    expected = np.exp(shifted) / sums
    expected[np.arange(7), labels] -= 1
    expected *= 1 / 7
    np.testing.assert_array_equal(grad, expected)
    assert grad.dtype == dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_loss_nd_is_finite_at_extreme_logits(dtype):
    z = np.array([[[1e4, -1e4], [-1e4, 1e4]]], dtype)  # (1, 2 classes, 2 positions)
    loss = CrossEntropyLoss()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = loss(z, np.array([[0, 0]]))  # right, then wrong by 2e4
        grad = loss.backward()
    assert value == pytest.approx(2e4 / 2, rel=1e-6)
    np.testing.assert_allclose(grad, [[[0.0, -0.5], [0.0, 0.5]]], atol=1e-7)


@pytest.mark.parametrize(
    ("pred_shape", "target", "error", "words"),
    [
        ((2, 3, 4), np.zeros((2, 3), int), ShapeError, "(2, 4)"),
        ((2, 3, 4), np.zeros((2, 4, 3)), ShapeError, "class probabilities of shape (2, 3, 4)"),
        ((2, 3, 4), np.zeros((2, 1, 4), int), ShapeError, "(2, 1, 4)"),
        ((2, 3, 4), np.zeros(2, int), ShapeError, "class labels of shape (2, 4)"),
        ((2, 3, 4, 5), np.zeros((2, 4), int), ShapeError, "(2, 4, 5)"),
        ((2, 3, 4), np.full((2, 4), 3), DataError, "[0, 3)"),
        ((2, 3, 4), np.full((2, 4), -1), DataError, "from -1 to -1"),
        ((2, 3, 4), np.full((2, 4), 0.5), DataError, "whole"),
        ((2, 3, 4), np.full((2, 4), np.nan), DataError, "NaN"),
        ((2, 3, 4), np.full((2, 3, 4), 2.0), DataError, "[0, 1]"),
        ((2, 1, 4), np.zeros((2, 4), int), ShapeError, "BCEWithLogitsLoss"),
        ((2, 3, 0), np.zeros((2, 0), int), DataError, "empty"),
    ],
)
def test_cross_entropy_loss_nd_bad_input_raises_a_clear_error(pred_shape, target, error, words):
    loss = CrossEntropyLoss()
    with pytest.raises(error) as info:
        loss(np.zeros(pred_shape), target)
    assert str(info.value).startswith("CrossEntropyLoss(): ")
    assert words in str(info.value)
    assert not loss.has_cache()


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("target_kind", ["labels", "probabilities"])
@pytest.mark.parametrize("shape", [(3, 4, 5), (2, 3, 4, 2), (2, 3, 2, 2, 2)])
def test_cross_entropy_loss_nd_matches_torch(shape, target_kind, reduction, rng):
    torch = pytest.importorskip("torch")
    logits = rng.normal(size=shape) * 3
    if target_kind == "labels":
        target = rng.integers(0, shape[1], (shape[0], *shape[2:]))
    else:
        weights = rng.uniform(0.01, 1.0, shape)
        target = weights / weights.sum(axis=1, keepdims=True)
    loss = CrossEntropyLoss(reduction)
    value, grad = loss(logits, target), loss.backward()

    logits_t = torch.tensor(logits, requires_grad=True)
    value_t = torch.nn.functional.cross_entropy(
        logits_t, torch.tensor(target), reduction=reduction
    )
    value_t.backward()
    assert value == pytest.approx(value_t.item(), rel=1e-10)
    np.testing.assert_allclose(grad, logits_t.grad.numpy(), rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("loss_cls", ALL_LOSSES)
@pytest.mark.parametrize("target_dtype", [np.float64, np.int64])
def test_float32_pred_gives_float32_gradient_and_a_python_float(loss_cls, target_dtype, rng):
    pred, target = sample_problem(loss_cls, rng, dtype=np.float32)
    if loss_cls is not CrossEntropyLoss:
        target = target.astype(target_dtype)
    loss = loss_cls()
    value = loss(pred, target)
    assert type(value) is float
    grad = loss.backward()
    assert grad.dtype == np.float32
    assert grad.shape == pred.shape
    # The float32 result agrees with the float64 computation to float32 precision.
    reference = loss_cls()
    assert value == pytest.approx(reference(pred.astype(np.float64), target), rel=1e-5)
    np.testing.assert_allclose(grad, reference.backward(), rtol=1e-4, atol=1e-7)


def test_integer_pred_is_computed_in_float32():
    loss = MSELoss()
    assert loss(np.array([[1, 2]]), np.array([[0, 0]])) == pytest.approx(2.5)
    assert loss.backward().dtype == np.float32


@pytest.mark.parametrize("loss_cls", ALL_LOSSES)
def test_forward_does_not_modify_its_inputs(loss_cls, rng):
    pred, target = sample_problem(loss_cls, rng)
    pred_before, target_before = pred.copy(), target.copy()
    loss = loss_cls()
    loss(pred, target)
    grad = loss.backward()
    grad += 1.0  # the returned gradient is the caller's to change
    np.testing.assert_array_equal(pred, pred_before)
    np.testing.assert_array_equal(target, target_before)


# -- the cache ---------------------------------------------------------------------------


@pytest.mark.parametrize("loss_cls", ALL_LOSSES)
def test_backward_without_forward_raises_cache_miss_error(loss_cls):
    with pytest.raises(CacheMissError, match=loss_cls.__name__):
        loss_cls().backward()


@pytest.mark.parametrize("loss_cls", ALL_LOSSES)
def test_backward_releases_the_cache(loss_cls, rng):
    loss = loss_cls()
    loss(*sample_problem(loss_cls, rng))
    assert loss.has_cache()
    loss.backward()
    assert not loss.has_cache()
    with pytest.raises(CacheMissError, match=loss_cls.__name__):
        loss.backward()


@pytest.mark.parametrize("loss_cls", ALL_LOSSES)
def test_forward_under_no_grad_stores_no_cache(loss_cls, rng):
    pred, target = sample_problem(loss_cls, rng)
    loss = loss_cls()
    with nf.no_grad():
        value = loss(pred, target)
    assert value == pytest.approx(loss_cls()(pred, target))
    assert not loss.has_cache()
    with pytest.raises(CacheMissError):
        loss.backward()
    reference = loss_cls()
    reference(pred, target)
    loss(pred, target)
    with nf.no_grad():  # an older cache is left alone
        loss(pred[::-1].copy(), target[::-1].copy())
    np.testing.assert_array_equal(loss.backward(), reference.backward())


# -- construction, repr, tags ------------------------------------------------------------


@pytest.mark.parametrize("loss_cls", ALL_LOSSES)
@pytest.mark.parametrize("reduction", ["none", "Mean", "", None, 1])
def test_reduction_other_than_mean_or_sum_raises_argument_error(loss_cls, reduction):
    with pytest.raises(ArgumentError, match=f"{loss_cls.__name__}.*reduction"):
        loss_cls(reduction=reduction)


def test_repr_shows_only_non_default_reduction():
    assert repr(BCELoss()) == "BCELoss()"
    assert repr(CrossEntropyLoss(reduction="sum")) == "CrossEntropyLoss(reduction='sum')"
    assert repr(MSELoss("mean")) == "MSELoss()"


@pytest.mark.parametrize("loss_cls", ALL_LOSSES)
def test_call_is_forward(loss_cls, rng):
    pred, target = sample_problem(loss_cls, rng)
    called, forwarded = loss_cls(), loss_cls()
    assert called(pred, target) == forwarded.forward(pred, target)
    np.testing.assert_array_equal(called.backward(), forwarded.backward())


def test_capability_tags():
    tags = {cls.__name__: (cls.input_kind, cls.target_kinds) for cls in ALL_LOSSES}
    assert tags == {
        "BCELoss": ("probability", ("binary",)),
        "BCEWithLogitsLoss": ("logit", ("binary",)),
        "CrossEntropyLoss": ("logit", ("class_index", "one_hot")),
        "MSELoss": ("real", ("real",)),
    }
    assert set(INPUT_KINDS) == {"probability", "logit", "real"}
    assert set(TARGET_KINDS) == {"binary", "class_index", "one_hot", "real"}


@pytest.mark.parametrize(
    ("kind", "kinds"),
    [("logits", ("binary",)), ("logit", "binary"), ("logit", ()), ("logit", ("labels",))],
    ids=["unknown-input-kind", "bare-string", "empty", "unknown-target-kind"],
)
def test_a_loss_subclass_with_a_bad_tag_is_rejected_when_defined(kind, kinds):
    with pytest.raises(ArgumentError, match="BadTags"):

        class BadTags(Loss):
            input_kind = kind
            target_kinds = kinds


def test_a_custom_loss_subclass_gets_the_cache_policy(rng):
    class L1Loss(Loss):
        def forward(self, pred, target):
            diff = pred - target
            self.save_for_backward(sign=np.sign(diff))
            return float(np.abs(diff).sum()) * self.reduction_scale(diff.size)

        def backward(self):
            sign = self.saved("sign")
            return sign * self.reduction_scale(sign.size)

    loss = L1Loss(reduction="sum")
    assert repr(loss) == "L1Loss(reduction='sum')"
    assert loss(np.array([[1.0, -2.0]]), np.zeros((1, 2))) == 3.0
    np.testing.assert_array_equal(loss.backward(), [[1.0, -1.0]])
    with pytest.raises(CacheMissError, match="L1Loss"):
        loss.backward()


# -- bad input ---------------------------------------------------------------------------

P3 = np.array([[0.2], [0.5], [0.9]])
Z33 = np.zeros((3, 3))

BAD_INPUTS = [
    # (loss class, pred, target, error, words the message must contain)
    (BCELoss, P3, np.ones(4), ShapeError, "(3, 1)"),
    (BCELoss, P3, np.ones((1, 3)), ShapeError, "target.T"),
    (BCELoss, P3, np.ones((3, 2)), ShapeError, "(3, 2)"),
    (BCELoss, np.array([["a"], ["b"]]), np.ones(2), DTypeError, "pred"),
    (BCELoss, P3, np.ones(3, dtype=complex), DTypeError, "complex"),
    (BCELoss, P3, np.array([0.0, 2.0, 1.0]), DataError, "[0, 1]"),
    (BCELoss, P3, np.array([0.0, np.nan, 1.0]), DataError, "NaN"),
    (BCELoss, P3, np.array([0.0, np.inf, 1.0]), DataError, "inf"),
    (BCELoss, np.array([[-2.0], [0.5], [3.0]]), np.ones(3), DataError, "BCEWithLogitsLoss"),
    (BCELoss, np.zeros((0, 1)), np.zeros(0), DataError, "empty"),
    (BCELoss, np.array(0.5), np.array(1.0), ShapeError, "batch"),
    (BCEWithLogitsLoss, P3, np.array([[1.0, 0.0, 1.0]]), ShapeError, "target.T"),
    (BCEWithLogitsLoss, P3, np.array([1.0, np.nan, 0.0]), DataError, "NaN"),
    (BCEWithLogitsLoss, P3, np.array([1, -1, 0]), DataError, "[0, 1]"),
    (BCEWithLogitsLoss, P3, np.array([None, 1, 0]), DTypeError, "target"),
    (CrossEntropyLoss, np.zeros(3), np.zeros(3, dtype=int), ShapeError, "(batch, classes)"),
    (CrossEntropyLoss, np.zeros((3, 1)), np.zeros(3, dtype=int), ShapeError, "BCEWithLogits"),
    (CrossEntropyLoss, Z33, np.array([0, 1, 3]), DataError, "[0, 3)"),
    (CrossEntropyLoss, Z33, np.array([0, -1, 2]), DataError, "[0, 3)"),
    (CrossEntropyLoss, Z33, np.array([0.0, 1.5, 2.0]), DataError, "whole"),
    (CrossEntropyLoss, Z33, np.array([0.0, np.nan, 2.0]), DataError, "NaN"),
    (CrossEntropyLoss, Z33, np.zeros((3, 4)), ShapeError, "(3, 3)"),
    (CrossEntropyLoss, Z33, np.zeros(4, dtype=int), ShapeError, "(3,)"),
    (CrossEntropyLoss, Z33, np.full((3, 3), np.inf), DataError, "inf"),
    (CrossEntropyLoss, Z33, np.array(["0", "1", "2"]), DTypeError, "target"),
    (CrossEntropyLoss, np.zeros((0, 3)), np.zeros(0, dtype=int), DataError, "empty"),
    (MSELoss, np.zeros((2, 3)), np.zeros((3, 2)), ShapeError, "(3, 2)"),
    (MSELoss, np.zeros((2, 3)), np.zeros((2, 1)), ShapeError, "(2, 3)"),
    (MSELoss, np.zeros((2, 1)), np.array([1.0, -np.inf]), DataError, "inf"),
    (MSELoss, np.zeros((2, 1)), np.array(["x", "y"]), DTypeError, "target"),
    (MSELoss, np.zeros((0, 2)), np.zeros((0, 2)), DataError, "empty"),
]


@pytest.mark.parametrize(
    ("loss_cls", "pred", "target", "error", "words"),
    BAD_INPUTS,
    ids=[f"{case[0].__name__}-{case[3].__name__}-{i}" for i, case in enumerate(BAD_INPUTS)],
)
def test_bad_input_raises_a_clear_error_and_keeps_the_previous_cache(
    loss_cls, pred, target, error, words, rng
):
    loss = loss_cls(reduction="sum")
    good_pred, good_target = sample_problem(loss_cls, rng)
    loss(good_pred, good_target)
    expected = loss_cls(reduction="sum")
    expected(good_pred, good_target)
    with pytest.raises(error) as info:
        loss(pred, target)
    message = str(info.value)
    assert message.startswith(f"{loss_cls.__name__}(reduction='sum'): ")
    assert words in message
    assert isinstance(info.value, ValueError | TypeError)
    # Nothing changed: backward still answers for the last good forward pass.
    np.testing.assert_array_equal(loss.backward(), expected.backward())


# -- optional comparison with PyTorch ----------------------------------------------------


TORCH_NAMES = {  # how each loss is spelled in torch.nn.functional
    BCELoss: "binary_cross_entropy",
    BCEWithLogitsLoss: "binary_cross_entropy_with_logits",
    CrossEntropyLoss: "cross_entropy",
    MSELoss: "mse_loss",
}


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("loss_cls", ALL_LOSSES)
def test_losses_match_torch_in_float64(loss_cls, reduction, rng):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as TF

    pred, target = sample_problem(loss_cls, rng, batch=7, classes=4)
    if loss_cls is not CrossEntropyLoss:
        target = target.astype(np.float64).reshape(pred.shape)
    loss = loss_cls(reduction)
    value = loss(pred, target)
    grad = loss.backward()

    pred_t = torch.tensor(pred, dtype=torch.float64, requires_grad=True)
    target_t = torch.tensor(target)
    value_t = getattr(TF, TORCH_NAMES[loss_cls])(pred_t, target_t, reduction=reduction)
    value_t.backward()
    assert value == pytest.approx(value_t.item(), rel=1e-10)
    np.testing.assert_allclose(grad, pred_t.grad.numpy(), rtol=1e-8, atol=1e-12)


@settings(deadline=None, max_examples=60)
@given(
    labels=st.lists(st.integers(-130, 130), min_size=1, max_size=6),
    dtype=st.sampled_from([np.int8, np.int16, np.int32, np.int64, ">i4"]),
    classes=st.integers(2, 127),
)
def test_cross_entropy_loss_refuses_exactly_the_labels_out_of_range(labels, dtype, classes):
    # Negative labels included: fancy indexing would wrap them to the last classes.
    target = np.array(labels).astype(dtype)
    if np.any(target != np.array(labels)):  # the label does not fit this dtype
        return
    logits = np.zeros((len(labels), classes))
    loss = CrossEntropyLoss()
    if all(0 <= label < classes for label in labels):
        assert loss(logits, target) == pytest.approx(np.log(classes))
    else:
        with pytest.raises(DataError, match=r"class labels must be integers in \[0, "):
            loss(logits, target)
        assert not loss.has_cache()


def test_cross_entropy_loss_is_right_for_many_batch_sizes_in_turn(rng):
    # The row indices are shared between calls of one batch size; sizes come and go.
    loss = CrossEntropyLoss(reduction="sum")
    for n in [*range(1, 40), 3, 17, 1]:
        logits, labels = rng.normal(size=(n, 5)), rng.integers(0, 5, n)
        value, grad = loss(logits, labels), loss.backward()
        log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        assert value == pytest.approx(-log_probs[np.arange(n), labels].sum(), rel=1e-12)
        expected = np.exp(log_probs)
        expected[np.arange(n), labels] -= 1
        np.testing.assert_allclose(grad, expected, rtol=1e-10, atol=1e-14)
