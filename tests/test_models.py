"""mlp: the course's L-layer model in one call."""

from __future__ import annotations

import numpy as np
import pytest

import nnframe as nf
from nnframe.errors import ArgumentError, ArgumentTypeError


def test_mlp_builds_the_course_architecture():
    model = nf.mlp([12288, 20, 7, 5, 1], output_activation="sigmoid", rng=0)
    kinds = [type(layer).__name__ for layer in model]
    assert kinds == ["Linear", "ReLU", "Linear", "ReLU", "Linear", "ReLU", "Linear", "Sigmoid"]
    assert [layer.weight.shape for layer in model if isinstance(layer, nf.Linear)] == [
        (20, 12288),
        (7, 20),
        (5, 7),
        (1, 5),
    ]
    assert all(p.dtype == np.float32 for p in model.parameters())


def test_mlp_options_and_reproducibility():
    a = nf.mlp([4, 3, 2], hidden_activation="tanh", rng=1, dtype=np.float64)
    b = nf.mlp([4, 3, 2], hidden_activation="tanh", rng=1, dtype=np.float64)
    assert isinstance(a[1], nf.Tanh) and len(a) == 3  # logits: no output activation
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        np.testing.assert_array_equal(p.value, q.value)
    assert a[0].weight.dtype == np.float64
    # one generator feeds the layers in turn, so they differ from one another
    assert not np.array_equal(a[0].weight.value[:2, :2], a[2].weight.value[:2, :2])


@pytest.mark.parametrize(
    ("args", "kwargs", "error_type"),
    [
        (([4],), {}, ArgumentError),
        (([4, 0, 1],), {}, ArgumentError),
        (([4, 2.5, 1],), {}, ArgumentTypeError),
        (("44",), {}, ArgumentTypeError),
        (([4, 1],), {"hidden_activation": "swish"}, ArgumentError),
        (([4, 1],), {"output_activation": "softmax!"}, ArgumentError),
    ],
)
def test_mlp_rejects_bad_arguments(args, kwargs, error_type):
    with pytest.raises(error_type, match="mlp"):
        nf.mlp(*args, **kwargs)
