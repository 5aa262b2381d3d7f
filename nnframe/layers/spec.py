"""InputSpec: what a layer accepts, declared once and checked for every layer in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from nnframe.checks import DEFAULT_DTYPE, format_shape, owned_real_array
from nnframe.errors import ArgumentError, DTypeError, IndexOutOfRangeError, ShapeError

if TYPE_CHECKING:
    from nnframe.layers.base import Layer

__all__ = ["InputSpec", "check_grad", "input_index_count", "input_is_differentiable"]


def _resolve(layer: Layer, value: int | str | None) -> Any:
    # A spec names a layer attribute ("in_features") where the value is the layer's own.
    return getattr(layer, value) if isinstance(value, str) else value


@attrs.frozen
class InputSpec:
    """What a layer's ``forward`` accepts: rank, one sized axis, and the dtype to compute in.

    Every layer declares one as the class attribute ``input_spec`` (the default accepts
    any real array with a batch axis). Before ``forward`` runs, the input is checked
    against it and converted; built-in and custom layers get the same checks, with errors
    that name the layer. Sizes, axes and dtypes may name an attribute of the layer
    (``size="in_features"``), read at each call, so one spec serves every instance.

    Parameters
    ----------
    min_ndim : int, default 1
        The fewest axes, the batch axis included.
    max_ndim : int or None, default None
        The most axes; None for no limit.
    axis : int or str or None, default None
        An axis that must exist (Softmax's ``axis``) and, with ``size``, have that size
        (``-1`` for Linear's features, ``1`` for BatchNorm's channels).
    size : int or str or None, default None
        The size along ``axis``.
    dtype : str or None, default None
        The name of the layer attribute holding the dtype inputs are cast to (``"dtype"``).
        Without it, float inputs keep their dtype and integer or boolean ones become
        float32.
    indices : int or str or None, default None
        Keyword only. For a layer whose input is integer indices (``Embedding``): the
        number of valid indices ``n``, or the name of the layer attribute holding it
        (``"num_embeddings"``). The input must then be an integer array (floats and bools
        raise ``DTypeError``) with every element in ``[0, n)`` (``IndexOutOfRangeError``
        naming the first index outside and its position); it keeps its dtype. Excludes
        ``dtype``.

    Raises
    ------
    ArgumentError
        When both ``dtype`` and ``indices`` are given.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> spec = nf.InputSpec(min_ndim=2, axis=-1, size="in_features", dtype="dtype")
    >>> spec.describe(nf.Linear(3, 2, rng=0))
    '(batch, 3), or (batch, ..., 3) with more axes'
    >>> spec.example_shape(nf.Linear(3, 2, rng=0), batch=4)
    (4, 3)
    >>> nf.InputSpec(indices="num_embeddings").check(nf.Embedding(10, 3, rng=0), [[12]])
    Traceback (most recent call last):
    ...
    nnframe.errors.IndexOutOfRangeError: Embedding(10, 3): index 12 at position (0, 0) ...
    """

    min_ndim: int = 1
    max_ndim: int | None = None
    axis: int | str | None = None
    size: int | str | None = None
    dtype: str | None = None
    indices: int | str | None = attrs.field(default=None, kw_only=True)

    def __attrs_post_init__(self) -> None:
        if self.indices is not None and self.dtype is not None:
            raise ArgumentError(
                "InputSpec: indices and dtype exclude each other (integer indices keep "
                f"their dtype); got indices={self.indices!r}, dtype={self.dtype!r}"
            )

    def check(self, layer: Layer, x: object) -> np.ndarray:
        """Return ``x`` as an array ``layer`` can take, or raise naming the layer.

        Raises
        ------
        DTypeError
            For string, object or complex input.
        ShapeError
            For a wrong number of axes or a wrong size along the declared axis.
        """
        array = owned_real_array(layer, x, "the input")
        ndim = array.ndim
        if ndim < self.min_ndim or (self.max_ndim is not None and ndim > self.max_ndim):
            self._fail(layer, array)
        axis: Any = self.axis
        if axis is not None:
            if type(axis) is str:
                axis = getattr(layer, axis)
            if not -ndim <= axis < ndim:
                raise ShapeError(
                    f"{layer!r}: axis {axis} is out of range for {ndim}-d input of shape "
                    f"{format_shape(array.shape)}"
                )
            size: Any = self.size
            if size is not None:
                if type(size) is str:
                    size = getattr(layer, size)
                if array.shape[axis] != size:
                    self._fail(layer, array)
        dtype = array.dtype
        if self.dtype is not None:
            target = getattr(layer, self.dtype)
        elif self.indices is not None:
            return self._checked_indices(layer, array)
        elif dtype.kind == "f":
            return array
        else:
            target = DEFAULT_DTYPE
        return array if dtype is target or dtype == target else array.astype(target)

    def index_count(self, layer: Layer) -> int | None:
        """Return the number of valid indices for ``layer`` (None for a spec of real input)."""
        return None if self.indices is None else int(_resolve(layer, self.indices))

    def _checked_indices(self, layer: Layer, array: np.ndarray) -> np.ndarray:
        # Integers only, kept as they are; one min and one max (unsigned indices cannot be
        # negative), and the message only when they fail.
        if array.dtype.kind not in "iu":
            raise DTypeError(f"{layer!r}: expected integer indices; got {array.dtype}")
        count = _resolve(layer, self.indices)
        if array.size and (
            (array.dtype.kind == "i" and array.min() < 0) or array.max() >= count
        ):
            self._out_of_range(layer, array, count)
        return array

    def _out_of_range(self, layer: Layer, array: np.ndarray, count: int) -> None:
        bad = (array < 0) | (array >= count)
        position = tuple(int(i) for i in np.unravel_index(int(np.argmax(bad)), array.shape))
        others = int(np.count_nonzero(bad)) - 1
        more = f" (and {others} more)" if others else ""
        name = f" ({self.indices} = {count})" if isinstance(self.indices, str) else ""
        raise IndexOutOfRangeError(
            f"{layer!r}: index {array[position]} at position {position} of the input is out "
            f"of range{more}; expected indices in [0, {count}){name}"
        )

    def _fail(self, layer: Layer, array: np.ndarray) -> None:
        if array.ndim == 0 and self.min_ndim == 1:
            raise ShapeError(
                f"{layer!r}: expected an input with a batch dimension; got a 0-d array"
            )
        raise ShapeError(
            f"{layer!r}: expected input of shape {self.describe(layer)}; got "
            f"{array.ndim}-d input of shape {format_shape(array.shape)}"
        )

    def example_shape(self, layer: Layer, batch: int = 2, width: int = 1) -> tuple[int, ...]:
        """Return a shape the spec accepts: ``batch`` examples, the sized axis, the rest ``width``.

        At least two axes (a batch of feature vectors) unless the spec allows fewer only.
        The testing kit draws inputs of this shape.
        """
        ndim = max(self.min_ndim, 2 if self.max_ndim is None or self.max_ndim >= 2 else 1)
        axis = _resolve(layer, self.axis) if self.axis is not None else None
        if axis is not None:
            ndim = max(ndim, axis + 1 if axis >= 0 else -axis)
        shape = [batch] + [width] * (ndim - 1)
        if axis is not None and self.size is not None:
            shape[axis] = _resolve(layer, self.size)
        return tuple(shape)

    def sized_axis(self, layer: Layer) -> int | None:
        """Return the index of the sized axis in :meth:`example_shape`, or None."""
        if self.axis is None or self.size is None:
            return None
        axis = int(_resolve(layer, self.axis))
        return axis % len(self.example_shape(layer))

    def describe(self, layer: Layer) -> str:
        """Describe the accepted shapes in words, e.g. ``(batch, 3)``."""
        shape: list[int | str] = list(self.example_shape(layer))
        shape[0] = "batch"
        sized = self.sized_axis(layer)
        for i in range(1, len(shape)):
            if i != sized:
                shape[i] = f"d{i}"
        text = format_shape(tuple(shape))
        if self.max_ndim is None or self.max_ndim > len(shape):
            more: list[int | str] = list(shape)
            if isinstance(self.axis, int) and self.axis < 0 and sized is not None:
                more.insert(sized, "...")  # the sized axis stays last (Linear's features)
            else:
                more.append("...")
            text += f", or {format_shape(tuple(more))} with more axes"
        if self.indices is not None:
            text += f", of integer indices in [0, {_resolve(layer, self.indices)})"
        return text


def input_index_count(layer: Layer) -> int | None:
    """Return how many indices whatever sees ``layer``'s input first takes, or None.

    Read from the ``indices`` of the layer's :class:`InputSpec` or, for a container that
    declares none (``Sequential``), of its first sub-layer, recursively. None means the
    input is real numbers.
    """
    spec = layer.input_spec
    if spec is not None:
        return spec.index_count(layer)
    children = layer.named_children()
    return input_index_count(children[0][1]) if children else None


def input_is_differentiable(layer: Layer) -> bool:
    """Return whether the output is a differentiable function of the input.

    False when the layer or, for a container, its first sub-layer (recursively) is
    tagged ``differentiable_input = False`` (``Embedding``: integer indices). Gradient
    checks then leave out the input gradient and keep every parameter's.

    Examples
    --------
    >>> import nnframe as nf
    >>> input_is_differentiable(nf.Sequential(nf.Embedding(10, 4, rng=0), nf.ReLU()))
    False
    """
    if not layer.differentiable_input:
        return False
    children = layer.named_children()
    return input_is_differentiable(children[0][1]) if children else True


def check_grad(layer: Layer, grad_y: object, output: np.ndarray) -> np.ndarray:
    """Check the gradient given to ``backward`` against the forward output it belongs to.

    Returns it in the output's dtype.

    Raises
    ------
    DTypeError
        For a non-numeric gradient.
    ShapeError
        When the gradient's shape differs from the output's.
    """
    # The common case first, without building a message.
    if type(grad_y) is np.ndarray and grad_y.dtype is output.dtype and grad_y.shape == output.shape:
        return grad_y
    array = owned_real_array(layer, grad_y, "the gradient")
    if array.shape != output.shape:
        raise ShapeError(
            f"{layer!r}: backward expected a gradient of shape {format_shape(output.shape)} "
            f"(the shape of the forward output); got {format_shape(array.shape)}"
        )
    return array if array.dtype == output.dtype else array.astype(output.dtype)
