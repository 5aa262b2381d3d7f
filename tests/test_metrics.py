"""Metrics: values against hand computations, binary vs multi-class, names."""

from __future__ import annotations

import numpy as np
import pytest

from nnframe import metrics
from nnframe.errors import ArgumentError, ShapeError


def test_binary_accuracy_thresholds_probabilities_at_one_half():
    pred = np.array([[0.9], [0.5], [0.49], [0.1]])
    assert metrics.accuracy(pred, np.array([1, 1, 0, 0])) == 0.75


def test_binary_accuracy_thresholds_logits_at_zero():
    pred = np.array([0.3, -0.2, 2.0, -4.0])
    target = np.array([[1], [0], [1], [1]])
    assert metrics.accuracy(pred, target, from_logits=True) == 0.75
    assert metrics.accuracy(pred, target) == 0.5


def test_multiclass_accuracy_takes_the_argmax_with_indices_or_one_hot():
    pred = np.array([[0.1, 0.7, 0.2], [0.5, 0.2, 0.3], [0.0, 0.1, 0.9]])
    labels = np.array([1, 2, 2])
    assert metrics.accuracy(pred, labels) == pytest.approx(2 / 3)
    assert metrics.accuracy(pred, np.eye(3)[labels]) == pytest.approx(2 / 3)


def test_binary_crossentropy_matches_the_course_cost_and_is_finite_at_0_and_1():
    assert metrics.binary_crossentropy(np.array([0.8, 0.9, 0.4]), np.array([1, 1, 1])) == (
        pytest.approx(0.41493159961539694, rel=1e-12)
    )
    value = metrics.binary_crossentropy(np.array([0.0, 1.0]), np.array([1, 0]))
    assert np.isfinite(value) and value > 10


def test_mean_squared_error_averages_every_element():
    pred = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert metrics.mean_squared_error(pred, np.zeros((2, 2))) == 7.5


def test_metrics_by_name_and_logit_variants():
    name, function = metrics.get("accuracy", from_logits=True)
    assert name == "accuracy"
    assert function(np.array([0.2, -0.1]), np.array([1, 0])) == 1.0
    assert metrics.get("mse")[1] is metrics.mean_squared_error
    assert metrics.get(metrics.accuracy) == ("accuracy", metrics.accuracy)
    with pytest.raises(ArgumentError, match=r"'recal' \(did you mean 'recall'\?\)"):
        metrics.get("recal")


def test_mismatched_lengths_raise_shape_errors():
    with pytest.raises(ShapeError):
        metrics.accuracy(np.array([0.1, 0.9]), np.array([1, 0, 1]))
    with pytest.raises(ShapeError):
        metrics.accuracy(np.ones((2, 3)), np.array([1, 0, 1]))
