"""nnframe.init: fans for n-d shapes, the scale of every initialiser, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nnframe as nf
from nnframe import init
from nnframe.errors import ArgumentError, ArgumentTypeError

# A Conv2d(8, 16, kernel_size=3) weight: fan_in 72 and fan_out 144, where the old rule
# (shape[-1], shape[0]) read 3 and 16, a scale off by a factor of about 5 or 3.
CONV_SHAPE = (16, 8, 3, 3)

# The standard deviation each initialiser must draw with, from (fan_in, fan_out).
EXPECTED_STD = {
    init.he_normal: lambda fan_in, fan_out: math.sqrt(2 / fan_in),
    init.he_uniform: lambda fan_in, fan_out: math.sqrt(6 / fan_in) / math.sqrt(3),
    init.xavier_normal: lambda fan_in, fan_out: math.sqrt(2 / (fan_in + fan_out)),
    init.xavier_uniform: lambda fan_in, fan_out: math.sqrt(6 / (fan_in + fan_out)) / math.sqrt(3),
}


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        ((300, 400), (400, 300)),
        ((16, 8, 3, 3), (72, 144)),
        ((4, 2, 5), (10, 20)),
        ((2, 3, 2, 2, 2), (24, 16)),
        ((6, 4, 1, 1), (4, 6)),
        ((7,), (7, 7)),
        (7, (7, 7)),
        ((), (1, 1)),
        ((0, 3), (3, 0)),
        ([5, 2, 3], (6, 15)),
    ],
)
def test_fans_of_a_shape(shape, expected):
    assert init.fans(shape) == expected
    assert all(type(fan) is int for fan in init.fans(shape))


@given(out=st.integers(1, 9), inp=st.integers(1, 9), kernel=st.lists(st.integers(1, 4), max_size=3))
def test_fans_are_in_and_out_times_the_receptive_field(out, inp, kernel):
    field = math.prod(kernel)
    assert init.fans((out, inp, *kernel)) == (inp * field, out * field)


@pytest.mark.parametrize("initializer", list(EXPECTED_STD), ids=lambda f: f.__name__)
@pytest.mark.parametrize("shape", [CONV_SHAPE, (144, 72)], ids=["conv-4d", "linear-2d"])
def test_every_scaled_initializer_reads_the_fans_of_an_nd_kernel(initializer, shape):
    # 1152 or 10368 draws: the sample std is within 10% of its expectation with a
    # huge margin (its relative error is about 1 / sqrt(2 * size), 2% or less), while
    # the old shape[-1] rule gives 2.2 to 4.9 times the right std on the 4-d shape.
    weight = initializer(shape, rng=0, dtype=np.float64)
    assert weight.shape == shape and weight.dtype == np.float64
    std = EXPECTED_STD[initializer](*init.fans(shape))
    assert weight.std() == pytest.approx(std, rel=0.1)
    assert abs(weight.mean()) < 0.1 * std
    if "uniform" in initializer.__name__:
        assert np.abs(weight).max() <= std * math.sqrt(3)


def test_the_4d_scale_differs_from_the_old_last_axis_rule():
    # The test above must be able to fail: the old rule's std lies far outside its 10%.
    old_fan_in, old_fan_out = CONV_SHAPE[-1], CONV_SHAPE[0]
    for initializer, std in EXPECTED_STD.items():
        ratio = std(old_fan_in, old_fan_out) / std(*init.fans(CONV_SHAPE))
        assert ratio > 2, initializer.__name__


def test_a_conv_weight_and_a_linear_weight_of_the_same_fans_get_the_same_scale():
    conv = init.he_normal((64, 16, 3, 3), rng=1, dtype=np.float64)
    flat = init.he_normal((64, 144), rng=1, dtype=np.float64)
    np.testing.assert_array_equal(conv.reshape(64, 144), flat)


def test_2d_shapes_keep_their_weights_bit_for_bit():
    # Linear's default: std sqrt(2 / in_features), the same draws as before the n-d fans.
    weight = init.he_normal((3, 4), rng=0, dtype=np.float64)
    expected = np.random.default_rng(0).standard_normal((3, 4)) * float(np.sqrt(2.0 / 4))
    np.testing.assert_array_equal(weight, expected)
    bound = float(np.sqrt(6.0 / 7))
    expected = np.random.default_rng(0).uniform(-bound, bound, (3, 4))
    np.testing.assert_array_equal(init.xavier_uniform((3, 4), rng=0, dtype=np.float64), expected)


@pytest.mark.parametrize("initializer", list(EXPECTED_STD), ids=lambda f: f.__name__)
def test_a_1d_shape_uses_its_length_for_both_fans(initializer):
    weight = initializer((5000,), rng=0, dtype=np.float64)
    assert weight.std() == pytest.approx(EXPECTED_STD[initializer](5000, 5000), rel=0.1)


@pytest.mark.parametrize("initializer", [*EXPECTED_STD, init.normal, init.zeros])
@pytest.mark.parametrize("shape", [(0, 3), (3, 0), (0,), (2, 0, 3, 3)])
def test_an_empty_shape_gives_an_empty_array(initializer, shape):
    assert initializer(shape, rng=0).shape == shape


@pytest.mark.parametrize(
    ("shape", "error", "words"),
    [
        ((2.5, 3), ArgumentTypeError, "integers"),
        ("ab", ArgumentTypeError, "integers"),
        ((True, 3), ArgumentTypeError, "integers"),
        ((3, -1), ArgumentError, "negative"),
    ],
)
def test_fans_rejects_a_bad_shape(shape, error, words):
    with pytest.raises(error, match=words) as info:
        init.fans(shape)
    assert "fans" in str(info.value)


def test_fans_is_public():
    assert "fans" in init.__all__
    assert nf.init.fans is init.fans


@pytest.mark.parametrize("shape", [(3, 4), (16, 8, 3, 3), (4, 2, 5), (2, 3, 2, 2, 2), (6, 4, 1, 1)])
def test_fans_match_torch(shape):
    torch = pytest.importorskip("torch")
    import torch.nn.init as torch_init

    tensor = torch.empty(shape)
    assert init.fans(shape) == torch_init._calculate_fan_in_and_fan_out(tensor)
