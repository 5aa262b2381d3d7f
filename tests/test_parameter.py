"""Parameter and Buffer: copies at construction, in-place updates stay in place."""

from __future__ import annotations

import numpy as np
import pytest

import nnframe as nf
from nnframe.errors import DTypeError


def test_parameter_copies_its_initial_value_and_starts_with_zero_grad():
    source = np.ones((2, 3), dtype=np.float32)
    p = nf.Parameter(source)
    source[...] = 5
    assert np.all(p.value == 1) and p.value.dtype == np.float32
    assert p.grad.shape == (2, 3) and p.grad.dtype == np.float32 and not p.grad.any()
    assert nf.Parameter([1, 2]).dtype == np.float64


def test_in_place_updates_keep_the_same_array():
    p = nf.Parameter(np.ones(3, dtype=np.float32))
    value, grad = p.value, p.grad
    p.value -= 0.5
    p.grad += 1
    assert p.value is value and p.grad is grad
    np.testing.assert_array_equal(value, [0.5, 0.5, 0.5])


def test_parameter_rejects_non_float_values():
    with pytest.raises(DTypeError):
        nf.Parameter(np.array(["a"]))
    p = nf.Parameter(np.zeros(2))
    with pytest.raises(DTypeError):
        p.value = np.array([1 + 2j, 0])


def test_buffer_follows_astype():
    b = nf.Buffer(np.zeros(3))
    assert b.astype(np.float32) is b and b.value.dtype == np.float32
