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


def test_resmlp_is_pre_norm_residual_blocks_between_two_linears():
    model = nf.resmlp(10, 3, width=8, blocks=3, expansion=4, rng=0, dtype=np.float64)
    assert [type(layer).__name__ for layer in model] == [
        "Linear", "Residual", "Residual", "Residual", "LayerNorm", "Linear",
    ]
    block = model[1].block
    assert [type(layer).__name__ for layer in block] == ["LayerNorm", "Linear", "ReLU", "Linear"]
    assert block[1].weight.shape == (32, 8) and block[3].weight.shape == (8, 32)
    assert model[1].shortcut is None
    assert all(p.dtype == np.float64 for p in model.parameters())
    assert nf.resmlp(10, 3, blocks=0, rng=0)[1].__class__.__name__ == "LayerNorm"
    with_sigmoid = nf.resmlp(4, 1, width=4, blocks=1, output_activation="sigmoid", rng=0)
    assert type(with_sigmoid[-1]).__name__ == "Sigmoid"


def test_resmlp_is_seeded_and_its_gradients_are_exact():
    a = nf.resmlp(5, 2, width=4, blocks=2, rng=3, dtype=np.float64)
    b = nf.resmlp(5, 2, width=4, blocks=2, rng=3, dtype=np.float64)
    for (name, p), q in zip(a.named_parameters(), b.parameters(), strict=True):
        np.testing.assert_array_equal(p.value, q.value, err_msg=name)
    nf.assert_gradients(a, np.random.default_rng(0).standard_normal((6, 5)))


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        ({"n_features": 0, "n_outputs": 2}, ArgumentError, "resmlp: n_features"),
        ({"n_features": 3, "n_outputs": 2, "width": 2.5}, ArgumentTypeError, "resmlp: width"),
        ({"n_features": 3, "n_outputs": 2, "blocks": -1}, ArgumentError, "resmlp: blocks"),
        ({"n_features": 3, "n_outputs": 2, "output_activation": "soft"}, ArgumentError,
         "resmlp: output_activation"),
        ({"n_features": 3, "n_outputs": 2, "dtype": np.int32}, ArgumentError, "resmlp: dtype"),
    ],
)
def test_resmlp_bad_arguments(kwargs, error, fragment):
    with pytest.raises(error, match=fragment):
        nf.resmlp(**kwargs)
