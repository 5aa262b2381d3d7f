"""Parameter (a trainable array and its gradient) and Buffer (non-trainable state)."""

from __future__ import annotations

import numpy as np
from attrs import define, field

from nnframe.errors import DTypeError


def _float_array(value: object, copy: bool | None = True) -> np.ndarray:
    array = np.array(value, copy=copy)
    if array.dtype.kind in "biu":
        array = array.astype(np.float64)
    if array.dtype.kind != "f":
        raise DTypeError(f"a Parameter holds real floats; got an array of dtype {array.dtype}")
    return array


def _on_assign(instance: object, attribute: object, value: object) -> np.ndarray:
    # ``p.value -= step`` assigns the same array back: keep it, never copy it.
    return _float_array(value, copy=None)


@define(eq=False, on_setattr=_on_assign)
class Parameter:
    """A trainable array and the gradient accumulated for it.

    Parameters
    ----------
    value : array_like
        The initial value. It is copied; integers become float64.

    Attributes
    ----------
    value : ndarray
        The current value. Optimizers update it in place.
    grad : ndarray
        The accumulated gradient, same shape and dtype as ``value``, zeros at creation.
        Layers add into it with ``+=``; ``zero_grad()`` clears it.

    Notes
    -----
    The constructor copies ``value``; assigning an array later (``p.value = a`` or
    ``p.value -= step``) keeps that array itself, so in-place updates stay in place.

    Examples
    --------
    >>> import numpy as np
    >>> p = Parameter(np.ones((2, 3), dtype=np.float32))
    >>> p
    Parameter(shape=(2, 3), dtype=float32)
    >>> p.grad.sum()
    np.float32(0.0)
    """

    value: np.ndarray = field(converter=_float_array)
    grad: np.ndarray = field(init=False)

    def __attrs_post_init__(self) -> None:
        self.grad = np.zeros_like(self.value)

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of ``value``."""
        return self.value.shape

    @property
    def dtype(self) -> np.dtype:
        """The dtype of ``value`` (and of ``grad``)."""
        return self.value.dtype

    @property
    def size(self) -> int:
        """The number of elements of ``value``."""
        return int(self.value.size)

    def zero_grad(self) -> None:
        """Set the gradient to zero in place."""
        self.grad[...] = 0

    def astype(self, dtype: np.typing.DTypeLike) -> Parameter:
        """Convert ``value`` and ``grad`` to ``dtype`` in place and return self."""
        self.value = self.value.astype(dtype, copy=False)
        self.grad = self.grad.astype(dtype, copy=False)
        return self

    def __repr__(self) -> str:
        return f"Parameter(shape={self.value.shape}, dtype={self.value.dtype})"


@define(eq=False, on_setattr=_on_assign)
class Buffer:
    """Non-trainable state saved with a layer (BatchNorm's running statistics).

    Buffers appear in ``state_dict()`` and follow ``astype``, but not in ``parameters()``.

    Parameters
    ----------
    value : array_like
        The initial value, copied.

    Examples
    --------
    >>> import numpy as np
    >>> Buffer(np.zeros(3)).astype(np.float32)
    Buffer(shape=(3,), dtype=float32)
    """

    value: np.ndarray = field(converter=_float_array)

    def astype(self, dtype: np.typing.DTypeLike) -> Buffer:
        """Convert ``value`` to ``dtype`` in place and return self."""
        self.value = self.value.astype(dtype, copy=False)
        return self

    def __repr__(self) -> str:
        return f"Buffer(shape={self.value.shape}, dtype={self.value.dtype})"
