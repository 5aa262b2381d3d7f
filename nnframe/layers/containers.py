"""Sequential: a chain of layers."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, overload

import numpy as np

from nnframe.errors import ArgumentTypeError, SerializationError
from nnframe.layers.base import Layer
from nnframe.layers.config import check_config_keys
from nnframe.layers.registry import register
from nnframe.layers.summary import SummaryRow

__all__ = ["Sequential"]


def _add_path(error: BaseException, container: Layer, index: int, child: Layer) -> None:
    """Record where in the model ``error`` happened, as one note that outer containers extend.

    The note reads ``in Sequential[2][1] Linear(20 -> 7)``: the outermost container, the
    index at each level, and the layer that raised.
    """
    state = getattr(error, "_nnframe_path", None)
    try:
        if state is None:
            state = {"path": [index], "leaf": repr(child), "note": None}
            error._nnframe_path = state  # type: ignore[attr-defined]
        else:
            state["path"].insert(0, index)
        indices = "".join(f"[{i}]" for i in state["path"])
        note = f"in {type(container).__name__}{indices} {state['leaf']}"
        notes = getattr(error, "__notes__", [])
        if state["note"] in notes:
            notes[notes.index(state["note"])] = note
        else:
            error.add_note(note)
        state["note"] = note
    except (AttributeError, TypeError):  # an exception type that takes no attributes
        pass


@register
class Sequential(Layer):
    """A chain of layers: forward in order, backward in reverse.

    Parameters
    ----------
    *layers : Layer
        The layers, first to last. Their parameters are named by position: ``"0.weight"``,
        and ``"2.1.bias"`` inside a nested Sequential.

    Notes
    -----
    A layer object caches one forward pass at a time, so the same layer object must not
    appear twice in a chain that is trained; to share weights, give two layers the same
    ``Parameter``. An error raised by a layer gets a note naming its position in the model
    (``in Sequential[2] Linear(20 -> 7)``) and is re-raised with its type unchanged.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> model = nf.Sequential(nf.Linear(3, 4, rng=0), nf.ReLU(), nf.Linear(4, 1, rng=1))
    >>> y = model(np.ones((2, 3)))
    >>> grad_x = model.backward(np.ones_like(y), input_grad=True)
    >>> grad_x.shape, model[0].weight.grad.shape
    ((2, 3), (4, 3))
    """

    input_spec = None  # each child checks its own input and output gradient

    def __init__(self, *layers: Layer) -> None:
        super().__init__()
        self.layers: list[Layer] = []
        for layer in layers:
            self.append(layer)

    def append(self, layer: Layer) -> Sequential:
        """Add ``layer`` at the end and return self."""
        if not isinstance(layer, Layer):
            raise ArgumentTypeError(
                f"Sequential takes Layer objects; position {len(self.layers)} is a "
                f"{type(layer).__name__}"
            )
        self.layers.append(layer)
        return self

    def named_members(self) -> Iterator[tuple[str, Any]]:
        for i, layer in enumerate(self.layers):
            yield str(i), layer

    def forward(self, x: np.ndarray) -> np.ndarray:
        for i, layer in enumerate(self.layers):
            try:
                x = layer.forward(x)
            except Exception as error:
                _add_path(error, self, i, layer)
                raise
        return x

    def backward(self, grad_y: np.ndarray) -> np.ndarray | None:
        # Every layer but the first hands its input gradient to the layer before it; the
        # first computes one only when this chain's caller wants it.
        grad: np.ndarray | None = grad_y
        for i in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[i]
            try:
                grad = layer.backward(grad, input_grad=i > 0 or self.needs_input_grad)
            except Exception as error:
                _add_path(error, self, i, layer)
                raise
        return grad

    def get_config(self) -> dict[str, Any]:
        """Return ``{"layers": [layer, ...]}``, the children in order."""
        return {"layers": list(self.layers)}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Sequential:
        """Build the chain from :meth:`get_config`'s ``{"layers": [...]}``."""
        check_config_keys(cls, config, ("layers",))
        layers = config.get("layers", [])
        if not isinstance(layers, list):
            raise SerializationError(
                f"Sequential config: 'layers' must be a list; got {type(layers).__name__}"
            )
        return cls(*layers)

    @overload
    def __getitem__(self, index: int) -> Layer: ...
    @overload
    def __getitem__(self, index: slice) -> Sequential: ...
    def __getitem__(self, index: int | slice) -> Layer:
        if isinstance(index, slice):
            return Sequential(*self.layers[index])
        return self.layers[index]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def __repr__(self) -> str:
        if not self.layers:
            return "Sequential()"
        lines = ["Sequential("]
        for i, layer in enumerate(self.layers):
            child = repr(layer).replace("\n", "\n  ")
            lines.append(f"  ({i}): {child}")
        lines.append(")")
        return "\n".join(lines)

    def summary_rows(self, x: np.ndarray, name: str) -> tuple[np.ndarray, list[SummaryRow]]:
        """Describe each child in turn, feeding each the previous one's output."""
        rows: list[SummaryRow] = []
        for i, layer in enumerate(self.layers):
            x, child_rows = layer.summary_rows(x, f"{name}.{i}" if name else str(i))
            rows += child_rows
        return x, rows
