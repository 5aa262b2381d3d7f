"""The kit catches bugs in containers: each planted bug fails with the right check named.

Like test_checks_fail.py for leaf layers: a check that never fails checks nothing.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import nnframe as nf
from nnframe.testing import check_layer


class ResidualWithoutShortcutGradient(nf.Residual):
    def backward(self, grad_y):
        # planted bug: the identity path's gradient is forgotten
        return self.block.backward(grad_y, input_grad=self.needs_input_grad)


class ConcatSplitAtTheWrongOffset(nf.Concat):
    def backward(self, grad_y):
        sizes = self.saved("sizes")
        grad_x = None
        start = 1  # planted bug: every branch reads one column too far to the right
        for branch, size in zip(self.branches, sizes, strict=True):
            part = np.roll(grad_y, -start, axis=1)[:, :size]
            start += size
            grad = branch.backward(part, input_grad=self.needs_input_grad)
            if self.needs_input_grad:
                grad_x = grad if grad_x is None else grad_x + grad
        return grad_x


class ConcatThatOverwritesTheInputGradient(nf.Concat):
    def backward(self, grad_y):
        sizes = self.saved("sizes")
        grad_x, start = None, 0
        for branch, size in zip(self.branches, sizes, strict=True):
            grad_x = branch.backward(grad_y[:, start : start + size], input_grad=True)
            start += size  # planted bug: each branch's input gradient replaces the last
        return grad_x


def failure(make_layer) -> str:
    with pytest.raises(AssertionError) as info:
        check_layer(make_layer, max_examples=10)
    return str(info.value)


def block():
    return nf.Sequential(nf.Linear(3, 3, rng=0), nf.Tanh())


@pytest.mark.parametrize(
    ("make", "tensor"),
    [
        (lambda: ResidualWithoutShortcutGradient(block()), "input"),
        (lambda: ConcatSplitAtTheWrongOffset(nf.Linear(3, 2, rng=0), nf.Linear(3, 2, rng=1)), None),
        (lambda: ConcatThatOverwritesTheInputGradient(nf.Linear(3, 2, rng=0), block()), "input"),
    ],
    ids=["residual-forgets-shortcut", "concat-wrong-offset", "concat-overwrites"],
)
def test_the_kit_catches_planted_container_bugs(make, tensor):
    message = failure(make)
    assert re.match(r"check_gradients failed", message), message
    if tensor is not None:
        assert f"for {tensor}" in message, message


def test_the_same_containers_without_the_bugs_pass():
    check_layer(lambda: nf.Residual(block()), max_examples=10)
    check_layer(lambda: nf.Concat(nf.Linear(3, 2, rng=0), nf.Linear(3, 2, rng=1)), max_examples=10)
