"""Sequential: a chain of layers."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, overload

import numpy as np

from nnframe.checks import is_integer
from nnframe.errors import (
    ArgumentError,
    ArgumentTypeError,
    IndexOutOfRangeError,
    SerializationError,
)
from nnframe.layers.base import Layer
from nnframe.layers.config import check_config_keys
from nnframe.layers.deferred import Transaction
from nnframe.layers.hooks import label
from nnframe.layers.registry import register
from nnframe.layers.summary import SummaryRow
from nnframe.parameter import freezing_used

__all__ = ["Sequential", "add_path", "check_new_child", "child_index", "tree_repr"]


def add_path(error: BaseException, container: Layer, index: int, child: Layer) -> None:
    """Record where in the model ``error`` happened, as one note that outer containers extend.

    The note reads ``in Sequential[1] Residual[0][2] Linear(20 -> 7)``: the outermost
    container, the index at each level (a nested Sequential adds its index alone, other
    containers their name too), and the layer that raised.
    """
    state = getattr(error, "_nnframe_path", None)
    try:
        if state is None:
            state = {"path": [], "leaf": label(child), "note": None}
            error._nnframe_path = state  # type: ignore[attr-defined]
        state["path"].insert(0, (type(container).__name__, index))
        note = f"in {_render(state['path'])} {state['leaf']}"
        notes = getattr(error, "__notes__", [])
        if state["note"] in notes:
            notes[notes.index(state["note"])] = note
        else:
            error.add_note(note)
        state["note"] = note
    except (AttributeError, TypeError):  # an exception type that takes no attributes
        pass


def _render(path: list[tuple[str, int]]) -> str:
    text = ""
    for level, (name, index) in enumerate(path):
        if level > 0 and name != "Sequential":
            text += f" {name}"
        elif level == 0:
            text = name
        text += f"[{index}]"
    return text


def check_new_child(container: Layer, child: object, where: str) -> Layer:
    """Return ``child`` if it can join ``container``, or raise naming ``where``.

    A child must be a Layer that appears nowhere in the container's tree yet (nor the
    container in the child's): a layer object caches one forward pass, so it cannot run
    twice in one model. Shared Parameters are fine.
    """
    if not isinstance(child, Layer):
        raise ArgumentTypeError(
            f"{type(container).__name__} takes Layer objects; {where} is a "
            f"{type(child).__name__}"
        )
    inside = {id(layer): name for name, layer in container.named_layers()}
    for _, layer in child.named_layers():
        if id(layer) in inside:
            there = inside[id(layer)]
            place = f"at {there!r}" if there else "the container itself"
            raise ArgumentError(
                f"{type(container).__name__}: {where} ({label(layer)}) is already in this "
                f"model ({place}); a layer object caches one forward pass, so it cannot "
                "appear twice in a model: make another layer (to share weights, give it "
                "the same Parameter objects)"
            )
    return child


def child_index(container: Layer, index: object, count: int) -> int:
    """Return ``index`` as a position in ``range(count)`` of ``container``'s children, or raise.

    An int (Python or numpy, not a bool), negative counting from the end, as for a list.
    Raises ``ArgumentTypeError`` (a ``TypeError``) for any other type and
    ``IndexOutOfRangeError`` (an ``IndexError``, so iteration through ``__getitem__``
    still stops) outside the range, naming the container and its length.

    Examples
    --------
    >>> import nnframe as nf
    >>> child_index(nf.Sequential(nf.ReLU(), nf.Tanh()), -1, 2)
    1
    """
    name = type(container).__name__
    if not is_integer(index):
        raise ArgumentTypeError(
            f"{name}[{index!r}]: an index must be an int or a slice; got "
            f"{type(index).__name__}"
        )
    position = int(index)
    if not -count <= position < count:
        valid = f"valid: {-count} to {count - 1}" if count else "it has none"
        raise IndexOutOfRangeError(
            f"{name}[{position}]: index out of range for {count} "
            f"{'child' if count == 1 else 'children'} ({valid})"
        )
    return position % count


def tree_repr(title: str, children: list[tuple[str, Layer]], extra: str = "") -> str:
    """``Title(``, ``extra`` and one indented ``(name): repr`` line per child, then ``)``."""
    if not children:
        return f"{title}({extra})"
    lines = [f"{title}("] + ([f"  {extra}"] if extra else [])
    for name, child in children:
        text = repr(child).replace("\n", "\n  ")
        lines.append(f"  ({name}): {text}")
    lines.append(")")
    return "\n".join(lines)


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
    A layer object caches one forward pass at a time, so the same layer object cannot
    appear twice in a model (``ArgumentError``); to share weights, give two layers the
    same ``Parameter``. An error raised by a layer gets a note naming its position in the
    model (``in Sequential[2] Linear(20 -> 7)``) and is re-raised with its type unchanged.

    Backward skips what nobody needs: when the caller asks for no input gradient, the
    longest start of the chain that holds frozen parameters (see
    :attr:`Parameter.requires_grad`) and no trainable one is not back-propagated
    through, as a frozen feature extractor in front of a new head. Its caches are
    released all the same, and its layers' backward hooks are not called.

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
        """Add ``layer`` at the end and return self.

        Raises
        ------
        ArgumentTypeError
            When ``layer`` is not a Layer.
        ArgumentError
            When ``layer`` (or a layer inside it) is already in this model.
        """
        self.layers.append(check_new_child(self, layer, f"position {len(self.layers)}"))
        return self

    def named_members(self) -> Iterator[tuple[str, Any]]:
        for i, layer in enumerate(self.layers):
            yield str(i), layer

    def forward(self, x: np.ndarray) -> np.ndarray:
        # One transaction: a layer that refuses its input leaves the layers before it as
        # they were (their deferred updates, BatchNorm's running statistics, are dropped).
        with Transaction():
            for i, layer in enumerate(self.layers):
                try:
                    x = layer.forward(x)
                except Exception as error:
                    add_path(error, self, i, layer)
                    raise
        return x

    def backward(self, grad_y: np.ndarray) -> np.ndarray | None:
        # Every layer but the first hands its input gradient to the layer before it; the
        # first computes one only when this chain's caller wants it. A frozen start of
        # the chain (see _frozen_start) is not back-propagated through at all.
        layers = self.layers
        start = 0
        if not self.needs_input_grad and freezing_used():
            start = self._frozen_start()
            for skipped in layers[:start]:
                skipped.clear_cache()
        grad: np.ndarray | None = grad_y
        for i in range(len(layers) - 1, start - 1, -1):
            layer = layers[i]
            try:
                grad = layer.backward(grad, input_grad=i > start or self.needs_input_grad)
            except Exception as error:
                add_path(error, self, i, layer)
                raise
        return None if start else grad

    def _frozen_start(self) -> int:
        """The number of layers at the start of the chain that backward can skip.

        The longest start that holds a frozen parameter and no trainable one: nothing in
        it needs a gradient. Worked out at each backward (while freezing is in use), from
        the start of the chain up to its first trainable parameter, so that a tied or
        replaced parameter anywhere is seen at once.
        """
        start, frozen = 0, False
        for i, layer in enumerate(self.layers):
            params = layer.parameters()
            if any(p.requires_grad for p in params):
                break
            frozen = frozen or bool(params)
            if frozen:
                start = i + 1
        return start

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
        """The layer at ``index``, or a new Sequential of the same layers for a slice.

        Raises
        ------
        ArgumentTypeError
            For an index that is neither an int nor a slice (a ``TypeError``).
        IndexOutOfRangeError
            For an int outside ``-len(self)`` to ``len(self) - 1`` (an ``IndexError``).
        """
        if isinstance(index, slice):
            return Sequential(*self.layers[index])
        return self.layers[child_index(self, index, len(self.layers))]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def __repr__(self) -> str:
        return tree_repr("Sequential", [(str(i), layer) for i, layer in enumerate(self.layers)])

    def summary_rows(self, x: np.ndarray, name: str) -> tuple[np.ndarray, list[SummaryRow]]:
        """Describe each child in turn, feeding each the previous one's output."""
        rows: list[SummaryRow] = []
        for i, layer in enumerate(self.layers):
            x, child_rows = layer.summary_rows(x, f"{name}.{i}" if name else str(i))
            rows += child_rows
        return x, rows
