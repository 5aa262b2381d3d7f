"""The table ``Layer.summary`` prints: each layer, its output shape and parameter count."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs
import numpy as np

from nnframe.checks import DEFAULT_DTYPE, array_size, format_shape, positive_int
from nnframe.errors import ArgumentError
from nnframe.grad_mode import no_grad
from nnframe.layers.hooks import label
from nnframe.layers.spec import input_index_count

if TYPE_CHECKING:
    from nnframe.layers.base import Layer

__all__ = ["Summary", "SummaryRow", "infer_input_shape", "one_line", "summarize"]


def infer_input_shape(layer: Layer) -> tuple[int, ...]:
    """Return the shape of one example, read from the first layer that sees the input.

    Known when that layer (the first leaf of a container, recursively) declares a feature
    size for inputs of shape ``(batch, features)`` (``Linear``'s ``in_features``).

    Raises
    ------
    ArgumentError
        When the first layer does not say what it accepts.

    Examples
    --------
    >>> import nnframe as nf
    >>> infer_input_shape(nf.Sequential(nf.Linear(4, 3, rng=0), nf.ReLU()))
    (4,)
    """
    first = layer
    while first.input_spec is None and first.named_children():
        first = first.named_children()[0][1]
    spec = first.input_spec
    if spec is not None and spec.index_count(first) is None and spec.sized_axis(first) == 1:
        shape = spec.example_shape(first)
        if len(shape) == 2:
            return (int(shape[1]),)
    raise ArgumentError(
        f"summary: cannot tell the input shape from the first layer {label(first)}; pass "
        "the shape of one example, e.g. model.summary(784) or model.summary((3, 32, 32))"
    )


def one_line(description: str) -> str:
    r"""A layer's description on one line: a multi-line repr becomes ``Name(...)``.

    Examples
    --------
    >>> one_line("Block(\n  (0): Linear(2 -> 2)\n)")
    'Block(...)'
    """
    if "\n" not in description:
        return description
    first = description.split("\n", 1)[0].rstrip()
    return f"{first}...)" if first.endswith("(") else f"{first} ..."


def summarize(probe: Layer, input_shape: int | tuple[int, ...] | None) -> Summary:
    """Run a batch of zeros of ``input_shape`` through ``probe`` and tabulate its layers.

    ``probe`` is a copy in evaluation mode (``Layer.summary`` makes it); it runs under
    ``no_grad``. Without ``input_shape``, :func:`infer_input_shape` reads it from the first
    layer.
    """
    given: object = infer_input_shape(probe) if input_shape is None else input_shape
    dims = given if isinstance(given, tuple | list) else (given,)
    shape = tuple(positive_int(d, f"summary: input_shape[{i}]") for i, d in enumerate(dims))
    params = probe.parameters()
    dtype = params[0].dtype if params else DEFAULT_DTYPE
    dtype = np.dtype(np.intp) if input_index_count(probe) else dtype  # indices: zeros are valid
    array_size((1, *shape), dtype, "summary")
    with no_grad():
        _, rows = probe.summary_rows(np.zeros((1, *shape), dtype=dtype), "")
    frozen = sum(p.size for p in params if not p.requires_grad)
    return Summary(rows, sum(p.size for p in params), frozen)


@attrs.frozen
class SummaryRow:
    """One row of a :class:`Summary`: a layer's name, description, output shape, size.

    The description is kept on one line: a multi-line repr (a custom layer's) becomes its
    first line, closed with ``...)``, so the table stays a table.
    """

    name: str
    description: str = attrs.field(converter=one_line)
    output_shape: tuple[int, ...]
    parameters: int


@attrs.frozen
class Summary:
    """The table :meth:`Layer.summary` returns; ``str()`` gives the text.

    Parameters
    ----------
    rows : list of SummaryRow
        One per layer (leaf layers of containers), in order.
    total_parameters : int
        The number of parameter elements, shared parameters counted once.
    frozen_parameters : int, default 0
        How many of them are frozen (``requires_grad`` False).

    Attributes
    ----------
    trainable_parameters : int
        ``total_parameters - frozen_parameters``.

    Examples
    --------
    >>> import nnframe as nf
    >>> model = nf.Sequential(nf.Linear(3, 2, rng=0), nf.Tanh(), nf.Linear(2, 1, rng=1))
    >>> _ = model[0].requires_grad_(False)
    >>> table = model.summary(3)
    >>> table.total_parameters, table.trainable_parameters, table.frozen_parameters
    (11, 3, 8)
    """

    rows: list[SummaryRow]
    total_parameters: int
    frozen_parameters: int = 0

    @property
    def trainable_parameters(self) -> int:
        """The parameter elements that are trained: the total less the frozen ones."""
        return self.total_parameters - self.frozen_parameters

    def __str__(self) -> str:
        layers = [f"{row.name}  {row.description}".strip() for row in self.rows]
        shapes = [format_shape(("batch", *row.output_shape)) for row in self.rows]
        counts = [f"{row.parameters:,}" for row in self.rows]
        w0 = max(len("Layer"), *(len(s) for s in layers))
        w1 = max(len("Output shape"), *(len(s) for s in shapes))
        w2 = max(len("Params"), *(len(s) for s in counts))
        header = f"{'Layer':<{w0}}  {'Output shape':<{w1}}  {'Params':>{w2}}"
        rule = "-" * len(header)
        body = [
            f"{a:<{w0}}  {b:<{w1}}  {c:>{w2}}"
            for a, b, c in zip(layers, shapes, counts, strict=True)
        ]
        totals = (
            f"Total parameters: {self.total_parameters:,} (trainable "
            f"{self.trainable_parameters:,}, frozen {self.frozen_parameters:,})"
        )
        return "\n".join([header, rule, *body, rule, totals])

    __repr__ = __str__
