"""Layer.summary: multi-line reprs stay one table row; the input shape read from the first layer."""

from __future__ import annotations

import pytest

import nnframe as nf
from nnframe.errors import ArgumentError
from nnframe.layers.summary import SummaryRow, infer_input_shape, one_line


class Block(nf.Layer):
    """A custom layer whose repr spans lines."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = nf.Linear(3, 3, rng=0)

    def forward(self, x):
        return self.inner.forward(x)

    def backward(self, grad_y):
        return self.inner.backward(grad_y)

    def __repr__(self) -> str:
        return "Block(\n  inner=Linear(3 -> 3)\n)"


def test_a_multi_line_repr_is_one_row_and_the_table_stays_a_table():
    text = str(nf.Sequential(nf.Linear(4, 3, rng=0), Block(), nf.ReLU()).summary(4))
    lines = text.splitlines()
    assert len(lines) == 7  # header, rule, 3 rows, rule, totals
    assert "1  Block(...)" in lines[3]
    widths = {len(line) for line in lines[:6]}
    assert len(widths) == 1, text


def test_one_line_keeps_one_line_descriptions_and_closes_multi_line_ones():
    assert one_line("Linear(2 -> 3)") == "Linear(2 -> 3)"
    assert one_line("Block(\n  a\n)") == "Block(...)"
    assert one_line("weird\nrepr") == "weird ..."
    assert SummaryRow("0", "A(\n)", (2,), 0).description == "A(...)"


def test_summary_without_a_shape_reads_it_from_a_first_linear():
    model = nf.Sequential(nf.Linear(5, 2, rng=0), nf.ReLU())
    assert str(model.summary()) == str(model.summary(5))
    nested = nf.Sequential(nf.Sequential(nf.Linear(6, 2, rng=0)), nf.Tanh())
    assert infer_input_shape(nested) == (6,)
    assert infer_input_shape(nf.Linear(7, 1, rng=0)) == (7,)


@pytest.mark.parametrize(
    "model",
    [
        pytest.param(nf.Sequential(nf.ReLU(), nf.Linear(2, 2, rng=0)), id="activation-first"),
        pytest.param(nf.Sequential(nf.Embedding(10, 3, rng=0)), id="embedding-first"),
        pytest.param(nf.Sequential(Block()), id="custom-first"),
    ],
)
def test_summary_without_a_shape_is_a_clear_error_when_the_first_layer_does_not_know(model):
    with pytest.raises(ArgumentError, match=r"cannot tell the input shape from the first layer"):
        model.summary()
