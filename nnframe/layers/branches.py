"""Residual and Concat: containers whose sub-layers all see the same input."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, overload

import numpy as np

from nnframe.checks import format_shape, is_integer
from nnframe.errors import ArgumentError, ArgumentTypeError, SerializationError, ShapeError
from nnframe.layers.base import Layer
from nnframe.layers.config import check_config_keys
from nnframe.layers.containers import add_path, check_new_child, child_index, tree_repr
from nnframe.layers.deferred import Transaction
from nnframe.layers.registry import register
from nnframe.layers.summary import SummaryRow

__all__ = ["Concat", "Residual"]


def _run(container: Layer, index: int, child: Layer, method: str, value: Any, **kw: Any) -> Any:
    """``child.<method>(value, **kw)``, its errors noted with the child's place in the model."""
    try:
        return getattr(child, method)(value, **kw)
    except Exception as error:
        add_path(error, container, index, child)
        raise


def _batch_shape(shape: tuple[int, ...]) -> str:
    return format_shape(("batch", *shape[1:]))


@register
class Residual(Layer):
    """A skip connection: ``y = block(x) + shortcut(x)``, the shortcut the identity by default.

    The building block of residual networks (He et al., 2016): the block learns a
    correction to its input. Backward sends the output gradient to both paths and adds
    the two input gradients.

    Parameters
    ----------
    block : Layer
        The main path, often a ``Sequential``. Its output must have the shape of its
        input, unless a ``shortcut`` maps the input to the block's output shape.
    shortcut : Layer, optional
        The other path (a ``Linear`` that changes the width, say). None for the identity.

    Attributes
    ----------
    block : Layer
    shortcut : Layer or None

    Notes
    -----
    Parameters are named ``block.*`` and ``shortcut.*``; in error messages the block is
    ``Residual[0]`` and the shortcut ``Residual[1]``, as in
    ``in Sequential[1] Residual[0][2] Linear(16 -> 16)``. The output has the block's
    dtype. The same layer object cannot be both the block and the shortcut (nor appear
    in either twice): it caches one forward pass.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> block = nf.Sequential(nf.Linear(4, 4, rng=0), nf.ReLU(), nf.Linear(4, 4, rng=1))
    >>> model = nf.Sequential(nf.Residual(block), nf.Linear(4, 2, rng=2))
    >>> y = model(np.ones((3, 4), dtype=np.float32))
    >>> grad_x = model.backward(np.ones_like(y), input_grad=True)
    >>> y.shape, grad_x.shape, model[0].block[0].weight.grad.shape
    ((3, 2), (3, 4), (4, 4))
    """

    input_spec = None  # the block and the shortcut check what they are given

    block: Layer | None = None  # until __init__ has checked them
    shortcut: Layer | None = None

    def __init__(self, block: Layer, shortcut: Layer | None = None) -> None:
        super().__init__()
        self.block = check_new_child(self, block, "block")
        self.shortcut = None if shortcut is None else check_new_child(self, shortcut, "shortcut")

    def named_members(self) -> Iterator[tuple[str, Any]]:
        if self.block is not None:
            yield "block", self.block
        if self.shortcut is not None:
            yield "shortcut", self.shortcut

    def forward(self, x: np.ndarray) -> np.ndarray:
        with Transaction():  # a refused input leaves the branches as they were
            return self._add(x)

    def _add(self, x: np.ndarray) -> np.ndarray:
        assert self.block is not None  # set by __init__
        out = _run(self, 0, self.block, "forward", x)
        if self.shortcut is None:
            skip = np.asarray(x)
        else:
            skip = _run(self, 1, self.shortcut, "forward", x)
        if out.shape != skip.shape:
            self.clear_cache()
            what = "input" if self.shortcut is None else "shortcut's output"
            hint = (
                "give Residual a shortcut layer that maps the input to that shape"
                if self.shortcut is None
                else "make the two paths end in the same shape"
            )
            raise ShapeError(
                f"Residual: the block's output has shape {_batch_shape(out.shape)} and the "
                f"{what} {_batch_shape(skip.shape)}; they must match to be added ({hint})"
            )
        return np.add(out, skip, dtype=out.dtype)

    def backward(self, grad_y: np.ndarray) -> np.ndarray | None:
        wanted = self.needs_input_grad
        assert self.block is not None  # set by __init__
        grad_block = _run(self, 0, self.block, "backward", grad_y, input_grad=wanted)
        if self.shortcut is None:
            grad_skip = grad_y
        else:
            grad_skip = _run(self, 1, self.shortcut, "backward", grad_y, input_grad=wanted)
        if not wanted:
            return None
        return np.add(grad_block, grad_skip, dtype=grad_block.dtype)

    def get_config(self) -> dict[str, Any]:
        """Return ``{"block": layer, "shortcut": layer or None}``."""
        return {"block": self.block, "shortcut": self.shortcut}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Residual:
        """Build a Residual from :meth:`get_config`'s keys."""
        check_config_keys(cls, config, ("block", "shortcut"))
        return cls(**config)

    def __repr__(self) -> str:
        return tree_repr("Residual", list(self.named_members()))

    def summary_rows(self, x: np.ndarray, name: str) -> tuple[np.ndarray, list[SummaryRow]]:
        """The block's rows, the shortcut's, then one row for the sum."""
        rows: list[SummaryRow] = []
        for child_name, child in self.named_members():
            _, child_rows = child.summary_rows(x, f"{name}.{child_name}" if name else child_name)
            rows += child_rows
        y = self.forward(x)
        rows.append(SummaryRow(name, "Residual (sum)", tuple(y.shape[1:]), 0))
        return y, rows


@register
class Concat(Layer):
    """Branches that all take the same input, their outputs joined along an axis.

    Torch7's ``nn.Concat`` (Keras's ``Concatenate`` of parallel branches): ``y`` is
    ``concatenate([branch(x) for branch in branches], axis)``. Backward cuts the output
    gradient into each branch's part and adds the branches' input gradients.

    Parameters
    ----------
    *branches : Layer
        At least one. Their outputs must agree on every axis but ``axis``.
    axis : int, default 1
        Where the outputs are joined: the features of ``(batch, features)``, the channels
        of ``(batch, channels, ...)``. Negative counts from the end; the batch axis
        cannot be joined on.

    Notes
    -----
    Parameters are named by branch position (``"0.weight"``, ``"1.2.bias"``); errors
    name ``Concat[i]``. The output has the first branch's dtype.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> model = nf.Concat(nf.Linear(3, 2, rng=0), nf.Sequential(nf.Linear(3, 4, rng=1), nf.Tanh()))
    >>> y = model(np.ones((5, 3)))
    >>> y.shape
    (5, 6)
    >>> model.backward(np.ones_like(y), input_grad=True).shape
    (5, 3)
    """

    input_spec = None  # every branch checks the input itself

    def __init__(self, *branches: Layer, axis: int = 1) -> None:
        super().__init__()
        if not is_integer(axis):
            raise ArgumentTypeError(f"Concat: axis must be an int; got {axis!r}")
        if axis == 0:
            raise ArgumentError(
                "Concat: axis 0 is the batch axis, which every branch keeps; join on "
                "another axis (1 for features or channels)"
            )
        if not branches:
            raise ArgumentError("Concat: needs at least one branch; got none")
        self.axis = int(axis)
        self.branches: list[Layer] = []
        for i, branch in enumerate(branches):
            self.branches.append(check_new_child(self, branch, f"branch {i}"))

    def named_members(self) -> Iterator[tuple[str, Any]]:
        for i, branch in enumerate(self.branches):
            yield str(i), branch

    def forward(self, x: np.ndarray) -> np.ndarray:
        with Transaction():  # a refused input leaves the branches as they were
            return self._join(x)

    def _join(self, x: np.ndarray) -> np.ndarray:
        outputs = [_run(self, i, branch, "forward", x) for i, branch in enumerate(self.branches)]
        first = outputs[0]
        axis = self.axis
        if not -first.ndim <= axis < first.ndim or axis % first.ndim == 0:
            self.clear_cache()
            raise ShapeError(
                f"Concat: cannot join on axis {axis}: the branches' outputs have shape "
                f"{_batch_shape(first.shape)} ({first.ndim} axes, the first the batch)"
            )
        axis %= first.ndim
        others = [k for k in range(first.ndim) if k != axis]
        for i, out in enumerate(outputs[1:], start=1):
            if out.ndim != first.ndim or any(out.shape[k] != first.shape[k] for k in others):
                self.clear_cache()
                raise ShapeError(
                    f"Concat: branch {i}'s output has shape {_batch_shape(out.shape)} and "
                    f"branch 0's {_batch_shape(first.shape)}; they must agree on every "
                    f"axis but axis {self.axis}"
                )
        self.save_for_backward(sizes=[out.shape[axis] for out in outputs])
        return np.concatenate(outputs, axis=axis, dtype=first.dtype, casting="same_kind")

    def backward(self, grad_y: np.ndarray) -> np.ndarray | None:
        sizes = self.saved("sizes")
        axis = self.axis % np.ndim(grad_y)
        wanted = self.needs_input_grad
        grad_x = None
        start = 0
        index: list[slice] = [slice(None)] * np.ndim(grad_y)
        for i, (branch, size) in enumerate(zip(self.branches, sizes, strict=True)):
            index[axis] = slice(start, start + size)
            part = grad_y[tuple(index)]  # a view: each branch reads its own columns
            start += size
            grad = _run(self, i, branch, "backward", part, input_grad=wanted)
            if wanted:
                grad_x = grad if grad_x is None else np.add(grad_x, grad, dtype=grad_x.dtype)
        return grad_x

    def get_config(self) -> dict[str, Any]:
        """Return ``{"branches": [layer, ...], "axis": axis}``."""
        return {"branches": list(self.branches), "axis": self.axis}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Concat:
        """Build a Concat from :meth:`get_config`'s keys."""
        check_config_keys(cls, config, ("branches", "axis"))
        branches = config.get("branches", [])
        if not isinstance(branches, list):
            raise SerializationError(
                f"Concat config: 'branches' must be a list; got {type(branches).__name__}"
            )
        return cls(*branches, axis=config.get("axis", 1))

    @overload
    def __getitem__(self, index: int) -> Layer: ...
    @overload
    def __getitem__(self, index: slice) -> list[Layer]: ...
    def __getitem__(self, index: int | slice) -> Layer | list[Layer]:
        """The branch at ``index``, or a list of the branches for a slice.

        Raises
        ------
        ArgumentTypeError
            For an index that is neither an int nor a slice (a ``TypeError``).
        IndexOutOfRangeError
            For an int outside ``-len(self)`` to ``len(self) - 1`` (an ``IndexError``).
        """
        if isinstance(index, slice):
            return self.branches[index]
        return self.branches[child_index(self, index, len(self.branches))]

    def __len__(self) -> int:
        return len(self.branches)

    def __repr__(self) -> str:
        extra = "" if self.axis == 1 else f"axis={self.axis}"
        return tree_repr("Concat", list(self.named_members()), extra)

    def summary_rows(self, x: np.ndarray, name: str) -> tuple[np.ndarray, list[SummaryRow]]:
        """Each branch's rows, then one row for the joined output."""
        rows: list[SummaryRow] = []
        for i, branch in enumerate(self.branches):
            _, branch_rows = branch.summary_rows(x, f"{name}.{i}" if name else str(i))
            rows += branch_rows
        y = self.forward(x)
        rows.append(SummaryRow(name, f"Concat (axis {self.axis})", tuple(y.shape[1:]), 0))
        return y, rows
