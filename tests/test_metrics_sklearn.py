"""Regression and classification metrics: scikit-learn's values, Trainer names, bad input."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnframe as nf
from nnframe import metrics
from nnframe.errors import ArgumentError, ArgumentTypeError, DataError, ShapeError

sk = pytest.importorskip("sklearn.metrics")


@st.composite
def regression_pairs(draw):
    n = draw(st.integers(2, 30))
    outputs = draw(st.sampled_from([None, 1, 3]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = (n,) if outputs is None else (n, outputs)
    target = rng.normal(size=shape) * draw(st.sampled_from([1e-3, 1.0, 100.0]))
    pred = target + rng.normal(size=shape) * draw(st.sampled_from([0.0, 0.1, 10.0]))
    return pred, target


@given(regression_pairs())
@settings(max_examples=60, deadline=None)
def test_regression_metrics_equal_scikit_learns(pair):
    pred, target = pair
    assert metrics.r2(pred, target) == pytest.approx(sk.r2_score(target, pred), abs=1e-12)
    assert metrics.mae(pred, target) == pytest.approx(
        sk.mean_absolute_error(target, pred), rel=1e-12
    )
    assert metrics.rmse(pred, target) == pytest.approx(
        sk.root_mean_squared_error(target, pred), rel=1e-12
    )


def test_r2_of_a_constant_target_follows_scikit_learns_force_finite():
    target = np.full(4, 3.0)
    assert metrics.r2(target.copy(), target) == sk.r2_score(target, target) == 1.0
    assert metrics.r2(target + 1, target) == sk.r2_score(target, target + 1) == 0.0


@st.composite
def classification_pairs(draw):
    """(scores, labels): class scores (n, C), or one probability column for C == 2."""
    classes = draw(st.integers(2, 5))
    n = draw(st.integers(1, 40))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    labels = rng.integers(0, classes, size=n)
    # Ties in the argmax are broken the same way (first column) by both libraries.
    scores = rng.random((n, classes)).round(draw(st.sampled_from([1, 3])))
    if classes == 2 and draw(st.booleans()):
        scores = scores[:, 1:]  # one probability column
    return scores, labels


def _sk_predicted(scores):
    return scores.argmax(axis=1) if scores.shape[1] > 1 else (scores[:, 0] > 0.5).astype(int)


@given(classification_pairs(), st.sampled_from(["binary", "micro", "macro", "weighted"]))
@settings(max_examples=150, deadline=None)
def test_precision_recall_f1_equal_scikit_learns(pair, average):
    scores, labels = pair
    predicted = _sk_predicted(scores)
    if average == "binary" and max(labels.max(), predicted.max()) > 1:
        with pytest.raises(ArgumentError, match="average='binary'"):
            metrics.f1(scores, labels, average=average)
        return
    for ours, theirs in (
        (metrics.precision, sk.precision_score),
        (metrics.recall, sk.recall_score),
        (metrics.f1, sk.f1_score),
    ):
        expected = theirs(labels, predicted, average=average, zero_division=0)
        assert ours(scores, labels, average=average) == pytest.approx(expected, abs=1e-12)


@given(classification_pairs())
@settings(max_examples=100, deadline=None)
def test_confusion_matrix_equals_scikit_learns(pair):
    scores, labels = pair
    size = max(scores.shape[1], 2)
    expected = sk.confusion_matrix(labels, _sk_predicted(scores), labels=range(size))
    np.testing.assert_array_equal(metrics.confusion_matrix(scores, labels), expected)
    np.testing.assert_array_equal(metrics.confusion_matrix(scores, np.eye(size)[labels]), expected)


@given(classification_pairs())
@settings(max_examples=150, deadline=None)
def test_roc_auc_equals_scikit_learns_binary_and_one_vs_rest(pair):
    scores, labels = pair
    columns = scores.shape[1]
    present = np.bincount(labels, minlength=max(columns, 2))
    if (present == 0).any():
        with pytest.raises(DataError, match=r"not defined|no target example"):
            metrics.roc_auc(scores, labels, average=None if columns <= 2 else "macro")
        return
    if columns <= 2:
        expected = sk.roc_auc_score(labels, scores[:, -1])
        assert metrics.roc_auc(scores, labels) == pytest.approx(expected, abs=1e-12)
        return
    probabilities = scores / scores.sum(axis=1, keepdims=True) if scores.all() else None
    if probabilities is None:
        return
    for average in ("macro", "weighted"):
        expected = sk.roc_auc_score(labels, probabilities, multi_class="ovr", average=average)
        ours = metrics.roc_auc(probabilities, labels, average=average)
        assert ours == pytest.approx(expected, abs=1e-12)


def test_roc_auc_of_logits_equals_that_of_probabilities():
    rng = np.random.default_rng(0)
    logits, labels = rng.normal(size=50), rng.integers(0, 2, 50)
    assert metrics.roc_auc(logits, labels) == metrics.roc_auc(1 / (1 + np.exp(-logits)), labels)


def test_binary_metrics_threshold_logits_at_zero():
    logits = np.array([0.3, -0.2, 2.0, -4.0])
    labels = np.array([1, 1, 0, 0])
    assert metrics.precision(logits, labels, from_logits=True) == 0.5
    assert metrics.recall(logits, labels, from_logits=True) == 0.5
    assert metrics.precision(logits, labels) == 0.0  # 0.5 thresholds: only 2.0 is positive


# --- names, for the Trainer ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "function", "kwargs"),
    [
        ("r2", metrics.r2, {}),
        ("mae", metrics.mae, {}),
        ("rmse", metrics.rmse, {}),
        ("precision", metrics.precision, {}),
        ("recall_macro", metrics.recall, {"average": "macro"}),
        ("f1_weighted", metrics.f1, {"average": "weighted"}),
        ("f1_micro", metrics.f1, {"average": "micro"}),
        ("roc_auc_ovr", metrics.roc_auc, {"average": "macro"}),
    ],
)
def test_names_resolve_to_the_functions_with_their_average(name, function, kwargs):
    resolved_name, resolved = metrics.get(name)
    assert resolved_name == name
    rng = np.random.default_rng(1)
    if function in (metrics.r2, metrics.mae, metrics.rmse):
        pred, target = rng.normal(size=(20, 1)), rng.normal(size=(20, 1))
    elif name.startswith("roc_auc_ovr"):
        pred, target = rng.random((30, 3)), np.arange(30) % 3
    elif name == "precision":
        pred, target = rng.random(20), np.arange(20) % 2
    else:
        pred, target = rng.random((30, 3)), np.arange(30) % 3
    assert resolved(pred, target) == function(pred, target, **kwargs)


def test_binary_names_follow_the_loss_from_logits():
    logits, labels = np.array([0.3, -0.2, 2.0, -4.0]), np.array([1, 1, 0, 0])
    assert metrics.get("recall", from_logits=True)[1](logits, labels) == 0.5
    assert metrics.get("recall")[1](logits, labels) == 0.0


def test_trainer_logs_the_new_metrics_under_their_names():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3))
    y = (x[:, :1] > 0).astype(np.float64)
    model = nf.Sequential(nf.Linear(3, 1, rng=0))
    trainer = nf.Trainer(
        model, nf.losses.BCEWithLogitsLoss(), nf.optim.Adam(model.parameters()),
        metrics=["f1", "precision_macro", "roc_auc", metrics.named(metrics.r2, "r2_of_logits")],
    )
    history = trainer.fit(x, y, epochs=2, batch_size=64, validation_split=0.25, progress=False)
    assert set(history.history) == {
        "loss", "f1", "precision_macro", "roc_auc", "r2_of_logits",
        "val_loss", "val_f1", "val_precision_macro", "val_roc_auc", "val_r2_of_logits",
    }
    results = trainer.evaluate(x, y)
    assert results["roc_auc"] == metrics.roc_auc(trainer.predict(x), y)


def test_roc_auc_by_name_is_nan_on_a_batch_with_one_class_but_the_function_raises():
    pred, target = np.array([0.2, 0.7]), np.array([1, 1])
    assert np.isnan(metrics.get("roc_auc")[1](pred, target))
    with pytest.raises(DataError, match=r"only class 1.*not defined"):
        metrics.roc_auc(pred, target)


def test_a_lambda_or_a_partial_needs_a_name():
    with pytest.raises(ArgumentError, match=r"no name.*metrics.named"):
        metrics.get(lambda p, t: 0.0)
    with pytest.raises(ArgumentError, match=r"no name.*metrics.named"):
        metrics.get(functools.partial(metrics.f1, average="macro"))
    name, function = metrics.get(metrics.named(lambda p, t: 0.25, "quarter"))
    assert (name, function(None, None)) == ("quarter", 0.25)


@pytest.mark.parametrize("bad", ["loss", "val_f1", "two words", ""])
def test_named_refuses_names_the_logs_cannot_hold(bad):
    with pytest.raises(ArgumentError, match="cannot name a metric"):
        metrics.named(metrics.f1, bad)


def test_named_refuses_a_non_callable_and_a_non_string_name():
    with pytest.raises(ArgumentTypeError):
        metrics.named("f1", "f1")
    with pytest.raises(ArgumentTypeError):
        metrics.named(metrics.f1, 3)


def test_confusion_matrix_by_name_is_a_clear_error():
    with pytest.raises(ArgumentError, match="matrix, not a number"):
        metrics.get("confusion_matrix")
    with pytest.raises(ArgumentError, match=r"metrics\[0\]: 'confusion_matrix' returns a matrix"):
        model = nf.Sequential(nf.Linear(2, 3, rng=0))
        nf.Trainer(model, nf.losses.CrossEntropyLoss(), nf.optim.SGD(model.parameters(), lr=0.1),
                   metrics=["confusion_matrix"])


def test_unknown_names_suggest_the_closest():
    with pytest.raises(ArgumentError, match=r"'f1_makro' \(did you mean 'f1_macro'\?\)"):
        metrics.get("f1_makro")
    with pytest.raises(ArgumentError, match="name or a function"):
        metrics.get(3)


# --- metrics that do not fit the task --------------------------------------------------------


def test_roc_auc_on_multiclass_without_an_average_is_a_clear_error():
    with pytest.raises(ArgumentError, match=r"3 class columns but roc_auc is binary.*'macro'"):
        metrics.roc_auc(np.full((3, 3), 1 / 3), np.array([0, 1, 2]))
    with pytest.raises(ArgumentError, match="average must be"):
        metrics.roc_auc(np.full((3, 3), 1 / 3), np.array([0, 1, 2]), average="micro")


def test_classification_metrics_refuse_a_regression_target():
    with pytest.raises(DataError, match=r"class indices.*use r2, mae or rmse"):
        metrics.f1(np.array([0.2, 0.9]), np.array([0.5, 1.7]))
    with pytest.raises(DataError, match="class indices"):
        metrics.confusion_matrix(np.array([0.2, 0.9]), np.array([np.nan, 1.0]))
    with pytest.raises(DataError, match=r"one column.*class 3"):
        metrics.precision(np.array([0.2, 0.9]), np.array([3, 1]))
    with pytest.raises(DataError, match="out of range for 2 score columns"):
        metrics.recall(np.ones((2, 2)), np.array([2, 1]), average="macro")


def test_regression_metrics_refuse_class_scores_against_labels():
    with pytest.raises(ShapeError, match="regression metric"):
        metrics.r2(np.ones((4, 3)), np.array([0, 1, 2, 0]))
    with pytest.raises(ShapeError, match="do not match"):
        metrics.mae(np.ones(4), np.ones(5))
    with pytest.raises(DataError, match="numbers"):
        metrics.rmse(np.array(["a", "b"]), np.ones(2))
    with pytest.raises(ShapeError, match="n >= 1"):
        metrics.r2(np.ones(0), np.ones(0))


def test_bad_averages_and_shapes_are_clear_errors():
    with pytest.raises(ArgumentError, match="average must be one of binary, micro"):
        metrics.f1(np.ones(2), np.ones(2), average="samples")
    with pytest.raises(ShapeError, match="3 predictions"):
        metrics.precision(np.ones(3), np.ones(4))
    with pytest.raises(ShapeError, match=r"shape \(n,\), \(n, 1\)"):
        metrics.f1(np.ones((2, 2, 2)), np.ones(2))
    with pytest.raises(ArgumentError, match="fewer than the 3 classes"):
        metrics.confusion_matrix(np.ones((2, 3)), np.array([0, 1]), num_classes=2)
    with pytest.raises(ArgumentTypeError):
        metrics.confusion_matrix(np.ones((2, 3)), np.array([0, 1]), num_classes=2.5)
