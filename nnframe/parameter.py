"""Parameter (a trainable array and its gradient) and Buffer (non-trainable state)."""

from __future__ import annotations

import numpy as np
from attrs import define, field, setters

from nnframe.checks import real_array


def _float_array(value: object, copy: bool | None = True) -> np.ndarray:
    array = real_array(value, "a Parameter's value")
    if array.dtype.kind != "f":
        return array.astype(np.float64)  # ints and bools: always a new array
    return array.copy() if copy else array


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

    ``zero_grad()`` only marks the gradient as zero; the buffer is cleared the next time
    ``grad`` is read, or skipped altogether when a layer writes the next gradient straight
    into it through :meth:`writable_grad`. Reading ``grad`` always gives the true value.

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
    _grad: np.ndarray = field(init=False)
    # True when the gradient is logically zero but the buffer may hold old values.
    _grad_is_zero: bool = field(init=False, default=True, on_setattr=setters.NO_OP)

    def __attrs_post_init__(self) -> None:
        self._grad = np.zeros_like(self.value)

    @property
    def grad(self) -> np.ndarray:
        """The accumulated gradient (see the class docstring)."""
        if self._grad_is_zero:
            self._grad[...] = 0
            self._grad_is_zero = False
        return self._grad

    @grad.setter
    def grad(self, array: np.ndarray) -> None:
        self._grad = _float_array(array, copy=None)
        self._grad_is_zero = False

    def writable_grad(self) -> np.ndarray | None:
        """Return the gradient buffer to overwrite when the gradient is zero, else None.

        A layer's fast path: when this returns an array, the layer may write its gradient
        into it (``np.dot(a, b, out=p.writable_grad())``) instead of adding, saving a
        clearing pass and a temporary. When it returns None, the layer must add into
        ``grad`` as usual. After a call that returns an array, ``grad`` is no longer
        marked zero, so the layer must write every element.
        """
        if not self._grad_is_zero:
            return None
        self._grad_is_zero = False
        return self._grad

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
        """Set the gradient to zero (lazily: see the class docstring)."""
        self._grad_is_zero = True

    def astype(self, dtype: np.typing.DTypeLike) -> Parameter:
        """Convert ``value`` and ``grad`` to ``dtype`` in place and return self."""
        self.value = self.value.astype(dtype, copy=False)
        self._grad = self._grad.astype(dtype, copy=False)
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
