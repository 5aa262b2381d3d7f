"""The kit on layers taking integer indices: inputs from the spec, input gradient left out.

Leaving out the input gradient must leave out nothing else: planted bugs in an Embedding's
weight gradient are still caught, by the check that should catch them.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings

import nnframe as nf
from nnframe.testing import (
    check_backward_shape_and_dtype,
    check_forward_shape_and_dtype,
    check_gradients,
    check_layer,
    strategies,
)

EXAMPLES = 10


def failure(make_layer, **options) -> str:
    with pytest.raises(AssertionError) as info:
        check_layer(make_layer, max_examples=EXAMPLES, **options)
    return str(info.value)


def assert_named(message: str, check: str, tensor: str | None = None) -> None:
    assert re.match(rf"{check} failed", message), message
    if tensor is not None:
        assert f"for {tensor}" in message, message


# -- planted bugs -------------------------------------------------------------------------


class WrongRowEmbedding(nf.Embedding):
    """Scatters each gradient row into the next row of the table."""

    def backward(self, grad_y):
        indices = self.saved("indices")
        shifted = (indices.reshape(-1).astype(np.int64) + 1) % self.num_embeddings
        np.add.at(self.weight.grad, shifted, grad_y.reshape(-1, self.embedding_dim))


class OverwritingEmbedding(nf.Embedding):
    """Assigns the weight gradient instead of adding into it."""

    def backward(self, grad_y):
        indices = self.saved("indices")
        grad = np.zeros_like(self.weight.value)
        np.add.at(grad, indices.reshape(-1), grad_y.reshape(-1, self.embedding_dim))
        self.weight.grad = grad


class LastWriteWinsEmbedding(nf.Embedding):
    """``grad[indices] += rows``: a repeated index keeps one row instead of the sum."""

    def backward(self, grad_y):
        indices = self.saved("indices")
        self.weight.grad[indices.reshape(-1)] += grad_y.reshape(-1, self.embedding_dim)


class ZeroInputGradEmbedding(nf.Embedding):
    """Returns an array of zeros as if integers had a gradient."""

    def backward(self, grad_y):
        super().backward(grad_y)
        return np.zeros(grad_y.shape[:-1], dtype=grad_y.dtype)


def test_an_embedding_scattering_to_the_wrong_row_fails_check_gradients():
    assert_named(failure(lambda: WrongRowEmbedding(6, 3, rng=0)), "check_gradients", "weight")


def test_a_wrong_row_embedding_first_in_a_model_fails_check_gradients():
    message = failure(
        lambda: nf.Sequential(WrongRowEmbedding(6, 3, rng=0), nf.Linear(3, 2, rng=1))
    )
    assert_named(message, "check_gradients", "0.weight")


def test_an_overwritten_embedding_gradient_fails_check_gradients_accumulate():
    message = failure(lambda: OverwritingEmbedding(6, 3, rng=0))
    assert_named(message, "check_gradients_accumulate", "weight")


def test_repeated_indices_not_summed_fail_check_gradients():
    message = failure(lambda: LastWriteWinsEmbedding(4, 2, rng=0))
    assert_named(message, "check_gradients", "weight")


def test_an_input_gradient_from_a_non_differentiable_input_fails():
    message = failure(lambda: ZeroInputGradEmbedding(6, 3, rng=0))
    assert_named(message, "check_backward_shape_and_dtype", "the input gradient")
    assert "differentiable_input = False" in message


def test_the_same_bugs_go_unnoticed_without_the_checks_that_should_catch_them():
    # The planted bugs break the weight gradient only: every check of structure passes,
    # so it is the gradient checks, kept for these layers, that catch them.
    x = np.array([[0, 1, 1], [5, 0, 2]])
    check_backward_shape_and_dtype(WrongRowEmbedding(6, 3, rng=0), x)
    check_gradients(nf.Embedding(6, 3, rng=0), x)
    with pytest.raises(AssertionError, match="check_gradients failed for weight"):
        check_gradients(WrongRowEmbedding(6, 3, rng=0), x)


# -- what the kit reads from the layer ---------------------------------------------------


def test_the_first_sub_layer_decides_the_input_kind():
    embedding_first = nf.Sequential(nf.Embedding(9, 4, rng=0), nf.Linear(4, 2, rng=0))
    assert strategies.input_indices(embedding_first) == 9
    assert not strategies.input_is_differentiable(embedding_first)
    assert strategies.infer_input_shape(embedding_first) == (strategies.DEFAULT_WIDTH,)
    nested = nf.Sequential(nf.Sequential(nf.Embedding(5, 2, rng=0)), nf.Flatten())
    assert strategies.input_indices(nested) == 5
    assert not strategies.input_is_differentiable(nested)
    linear_first = nf.Sequential(nf.Linear(3, 3, rng=0), nf.ReLU())
    assert strategies.input_indices(linear_first) is None
    assert strategies.input_is_differentiable(linear_first)
    assert strategies.input_indices(nf.Sequential()) is None


def test_gradcheck_reports_only_the_parameters_of_an_index_input():
    x = np.array([[0, 3, 3]])
    report = nf.gradcheck(nf.Embedding(4, 2, rng=0), x)
    assert report.ok and [row.name for row in report.rows] == ["weight"]
    bad = nf.gradcheck(WrongRowEmbedding(4, 2, rng=0), x)
    assert not bad.ok and "BAD weight" in str(bad)
    model = nf.Sequential(WrongRowEmbedding(4, 2, rng=0), nf.Flatten(), nf.Linear(6, 1, rng=0))
    report = nf.gradcheck(model, x)
    assert "first layer whose own check fails: [0]" in str(report)




@settings(deadline=None)
@given(x=strategies.arrays_for(nf.Sequential(nf.Embedding(7, 2, rng=0), nf.Flatten())))
def test_arrays_for_draws_indices_in_range(x):
    assert x.dtype == np.int64 and x.shape[1:] == (strategies.DEFAULT_WIDTH,)
    assert x.min() >= 0 and x.max() < 7


@settings(deadline=None)
@given(x=strategies.index_inputs(3, None, 2, 4, dtype=np.uint8, max_width=2))
def test_index_inputs_respect_their_arguments(x):
    assert x.dtype == np.uint8 and 2 <= x.shape[0] <= 4 and 1 <= x.shape[1] <= 2
    assert x.max() < 3


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"num_indices": 0}, "num_indices"),
        ({"num_indices": 3, "dtype": np.float32}, "integer dtype"),
        ({"num_indices": 3, "max_width": 0}, "max_width"),
    ],
)
def test_index_inputs_refuse_bad_arguments(kwargs, words):
    with pytest.raises(nf.errors.ArgumentError, match=words):
        strategies.index_inputs(**kwargs)


def test_checks_called_directly_convert_the_layer_for_integer_input():
    x = np.array([[1, 2], [3, 3]])
    # float32 by default, the dtype asked for otherwise.
    check_forward_shape_and_dtype(nf.Embedding(5, 2, rng=0, dtype=np.float64), x)
    check_forward_shape_and_dtype(nf.Embedding(5, 2, rng=0), x, dtype=np.float64)
