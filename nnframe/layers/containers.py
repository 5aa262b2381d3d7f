"""Sequential: a chain of layers."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, overload

import numpy as np

from nnframe import registry
from nnframe.errors import ArgumentTypeError, SerializationError
from nnframe.layers.base import Layer, SummaryRow

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


def _backward_with_flag(layer: Layer, grad_y: Any, needs_input_grad: bool) -> np.ndarray | None:
    # The first layer learns from its container whether the input gradient is wanted,
    # for this call only, so that calling the layer on its own later is unaffected.
    previous = layer.needs_input_grad
    layer.needs_input_grad = needs_input_grad
    try:
        return layer.backward(grad_y)
    finally:
        layer.needs_input_grad = previous


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
    >>> grad_x = model.backward(np.ones_like(y))
    >>> grad_x.shape, model[0].weight.grad.shape
    ((2, 3), (4, 3))
    """

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

    def backward(self, grad_y: np.ndarray, *, start: int | None = None) -> np.ndarray | None:
        """Back-propagate through the layers in reverse; see :meth:`Layer.backward`.

        Parameters
        ----------
        grad_y : ndarray
            The gradient with respect to the output of layer ``start``.
        start : int, optional
            Begin at this layer instead of the last one; the layers after it must have
            their caches dropped by the caller. ``Trainer`` uses it to hand the fused
            gradient of Sigmoid + BCELoss straight to the layer before the Sigmoid.

        Returns
        -------
        ndarray or None
            The gradient with respect to the input, or None when ``needs_input_grad``
            is False (the first layer is then told to skip it).
        """
        last = len(self.layers) - 1 if start is None else range(len(self.layers))[start]
        grad: np.ndarray | None = grad_y
        for i in range(last, -1, -1):
            layer = self.layers[i]
            try:
                if i == 0 and layer.needs_input_grad != self.needs_input_grad:
                    grad = _backward_with_flag(layer, grad, self.needs_input_grad)
                else:
                    grad = layer.backward(grad)  # type: ignore[arg-type]
            except Exception as error:
                _add_path(error, self, i, layer)
                raise
        return grad

    def get_config(self) -> dict[str, Any]:
        """Return ``{"layers": [spec, ...]}``, one ``{"class", "config"}`` spec per child."""
        return {"layers": [registry.layer_to_spec(layer) for layer in self.layers]}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Sequential:
        """Build the chain from :meth:`get_config`, each child through the registry."""
        registry.check_config_keys(cls, config, ("layers",))
        specs = config.get("layers", [])
        if not isinstance(specs, list):
            raise SerializationError(
                f"Sequential config: 'layers' must be a list; got {type(specs).__name__}"
            )
        layers = [registry.layer_from_spec(spec, f"layers[{i}]") for i, spec in enumerate(specs)]
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

    def _summary_rows(self, x: np.ndarray, name: str) -> tuple[np.ndarray, list[SummaryRow]]:
        rows: list[SummaryRow] = []
        for i, layer in enumerate(self.layers):
            x, child_rows = layer._summary_rows(x, f"{name}.{i}" if name else str(i))
            rows += child_rows
        return x, rows
