"""Input and gradient checks that layers run before touching any state."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from nnframe.checks import DEFAULT_DTYPE, format_shape, real_array
from nnframe.errors import ShapeError

if TYPE_CHECKING:
    from nnframe.layers.base import Layer

__all__ = ["as_grad", "as_input"]

Dim = int | str


def _numeric(layer: Layer, x: object, what: str) -> np.ndarray:
    # The common case first, without building the message that naming the layer needs.
    if isinstance(x, np.ndarray) and x.dtype.kind in "fiub":
        return x
    return real_array(x, f"{layer!r}: {what}")


def as_input(
    layer: Layer,
    x: object,
    *,
    shape: tuple[Dim, ...] | None = None,
    dtype: np.dtype | None = None,
) -> np.ndarray:
    """Check a forward input and return it as a float array.

    Parameters
    ----------
    layer : Layer
        The layer doing the check, named in error messages.
    x : array_like
        The input.
    shape : tuple of int or str, optional
        The expected shape; ints must match exactly, strings (``"batch"``) match any size.
        Without it, any array of at least one dimension (the batch) is accepted.
    dtype : numpy.dtype, optional
        The layer's dtype: the input is cast to it. Without it, float inputs keep their
        dtype and integer or boolean inputs become float32.

    Returns
    -------
    ndarray
        ``x`` itself when it already has the right dtype, otherwise a converted copy.

    Raises
    ------
    DTypeError
        For string, object or complex arrays.
    ShapeError
        For a wrong number of dimensions or a wrong size along a fixed dimension.
    """
    array = _numeric(layer, x, "the input")
    if shape is None:
        if array.ndim == 0:
            raise ShapeError(
                f"{layer!r}: expected an input with a batch dimension; got a 0-d array"
            )
    elif array.ndim != len(shape) or any(
        isinstance(want, int) and want != got for want, got in zip(shape, array.shape, strict=True)
    ):
        raise ShapeError(
            f"{layer!r}: expected input of shape {format_shape(shape)}; "
            f"got {array.ndim}-d input of shape {format_shape(array.shape)}"
        )
    target = dtype if dtype is not None else (array.dtype if array.dtype.kind == "f" else None)
    if target is None:
        target = DEFAULT_DTYPE
    return array if array.dtype == target else array.astype(target)


def as_grad(
    layer: Layer, grad_y: object, shape: tuple[int, ...], dtype: np.dtype
) -> np.ndarray:
    """Check the gradient given to ``backward`` against the forward output's shape.

    Raises
    ------
    DTypeError
        For a non-numeric gradient.
    ShapeError
        When ``grad_y``'s shape differs from ``shape``.
    """
    array = _numeric(layer, grad_y, "the gradient")
    if array.shape != shape:
        raise ShapeError(
            f"{layer!r}: backward expected a gradient of shape {format_shape(shape)} "
            f"(the shape of the forward output); got {format_shape(array.shape)}"
        )
    return array if array.dtype == dtype else array.astype(dtype)
