"""Parameter (a trainable array and its gradient), Buffer (non-trainable state), and flat storage.

A Parameter's ``value`` and ``grad`` are arrays that stay the same objects for the
Parameter's life: assignments write into them. That is what lets
:func:`flatten_parameters` make them views of one contiguous buffer (for an optimizer
that updates one array, or an all-reduce of one gradient vector), and what keeps those
views valid while layers, losses and optimizers work as usual.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from nnframe.checks import boolean, float_dtype, format_shape, real_array
from nnframe.errors import ArgumentError, ArgumentTypeError, ShapeError

__all__ = [
    "Buffer",
    "FlatParameters",
    "Parameter",
    "flatten_parameters",
    "freezing_used",
]


class _Trainable:
    # Until a parameter is frozen (``frozen_ever``), every sub-layer of a container needs
    # its backward pass, and containers do not look for frozen ones.
    frozen_ever = False


def freezing_used() -> bool:
    """Return whether any Parameter has been frozen (``requires_grad=False``) in this process."""
    return _Trainable.frozen_ever


def _new_float_array(value: object, where: str) -> np.ndarray:
    """A new float array holding ``value`` (integers and bools become float64)."""
    array = real_array(value, where)
    if array.dtype.kind != "f":
        return array.astype(np.float64)  # always a new array
    return array.copy()


def _write_into(target: np.ndarray, value: object, where: str, owner: str) -> None:
    """Copy ``value`` into ``target``, cast to its dtype; raise before writing on a mismatch."""
    array = real_array(value, where)
    if array.shape != target.shape:
        raise ShapeError(
            f"{where}: got an array of shape {format_shape(array.shape)}; {owner} has shape "
            f"{format_shape(target.shape)}, and assignment writes into its array, so the "
            "shape cannot change"
        )
    np.copyto(target, array)  # ints, bools and float64 cast into float32 ("same_kind")


def _converted(array: np.ndarray, dtype: np.typing.DTypeLike, where: str) -> np.ndarray:
    """``array`` itself when it already has the float ``dtype``, else a converted copy."""
    target = float_dtype(dtype, where)
    return array if array.dtype == target else array.astype(target)


class Parameter:
    """A trainable array and the gradient accumulated for it.

    Parameters
    ----------
    value : array_like
        The initial value. It is copied; integers and bools become float64.
    requires_grad : bool, default True
        Whether the parameter is trained (see the attribute).

    Attributes
    ----------
    value : ndarray
        The current value. Optimizers update it in place.
    grad : ndarray
        The accumulated gradient, same shape and dtype as ``value``, zeros at creation.
        Layers add into it with ``+=``; ``zero_grad()`` clears it.
    requires_grad : bool
        Whether the parameter is trained. A frozen parameter (False) gets no gradient:
        built-in layers skip the work of computing it, optimizers leave it alone, and
        ``Layer.requires_grad_(False)`` freezes every parameter of a layer at once. Saved
        with the model. Assigning anything but a bool raises ``ArgumentTypeError``.

    Raises
    ------
    DTypeError
        When ``value`` (or an array assigned later) is not real numbers (strings,
        complex numbers, objects).
    ShapeError
        When ``value`` is a ragged nested list, or an array assigned later does not have
        the parameter's shape.

    Notes
    -----
    ``value`` and ``grad`` are the same two array objects for the parameter's whole life
    (until a real dtype change by :meth:`astype`). Assigning writes into them:
    ``p.value = a`` and ``p.grad = a`` copy ``a`` in, cast to the parameter's dtype, after
    checking that it is real numbers of the parameter's shape; ``p.value -= step`` and
    ``p.grad += g``, which work in place and assign the same array back, cost nothing
    more. So anything holding these arrays, such as the views of
    :func:`flatten_parameters`, stays valid.

    ``zero_grad()`` only marks the gradient as zero; the array is cleared the next time
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
    >>> value = p.value
    >>> p.value = np.zeros((2, 3))              # written into the same array, as float32
    >>> p.value is value, p.value.dtype
    (True, dtype('float32'))
    """

    __slots__ = ("__weakref__", "_grad", "_grad_is_zero", "_requires_grad", "_value")

    _value: np.ndarray
    _grad: np.ndarray
    # True when the gradient is logically zero but its array may hold old values.
    _grad_is_zero: bool
    _requires_grad: bool

    def __init__(self, value: object, requires_grad: bool = True) -> None:
        self._requires_grad = boolean(requires_grad, "Parameter: requires_grad")
        self._value = _new_float_array(value, "Parameter: value")
        self._grad = np.zeros_like(self._value)
        self._grad_is_zero = True
        if not self._requires_grad:
            _Trainable.frozen_ever = True

    @property
    def requires_grad(self) -> bool:
        """Whether the parameter is trained (see the class docstring)."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        flag = boolean(flag, "Parameter.requires_grad")
        if flag is not self._requires_grad:
            self._requires_grad = flag
            if not flag:
                _Trainable.frozen_ever = True

    @property
    def value(self) -> np.ndarray:
        """The current value (see the class docstring); assigning writes into it."""
        return self._value

    @value.setter
    def value(self, array: object) -> None:
        if array is self._value:  # ``p.value -= step`` assigns the same array back
            return
        _write_into(self._value, array, "Parameter.value", "the parameter")

    @property
    def grad(self) -> np.ndarray:
        """The accumulated gradient (see the class docstring); assigning writes into it."""
        if self._grad_is_zero:
            self._grad[...] = 0
            self._grad_is_zero = False
        return self._grad

    @grad.setter
    def grad(self, array: object) -> None:
        if array is self._grad:  # ``p.grad += g`` read it first, so it is not marked zero
            return
        _write_into(self._grad, array, "Parameter.grad", "the parameter")
        self._grad_is_zero = False

    def writable_grad(self) -> np.ndarray | None:
        """Return the gradient array to overwrite when the gradient is zero, else None.

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
        return self._value.shape

    @property
    def dtype(self) -> np.dtype:
        """The dtype of ``value`` (and of ``grad``)."""
        return self._value.dtype

    @property
    def size(self) -> int:
        """The number of elements of ``value``."""
        return int(self._value.size)

    def zero_grad(self) -> None:
        """Set the gradient to zero (lazily: see the class docstring)."""
        self._grad_is_zero = True

    def astype(self, dtype: np.typing.DTypeLike) -> Parameter:
        """Convert ``value`` and ``grad`` to the float ``dtype`` and return self.

        With the dtype the parameter already has, nothing happens. Another dtype needs new
        arrays: ``value`` and ``grad`` are replaced, so a parameter that was a view of a
        :class:`FlatParameters` buffer no longer is (flatten again after converting).

        Raises
        ------
        ArgumentTypeError, ArgumentError
            When ``dtype`` is not a float dtype; nothing changes.
        """
        value = _converted(self._value, dtype, "Parameter.astype: dtype")
        if value is not self._value:
            self._value = value
            self._grad = self._grad.astype(value.dtype)
        return self

    def __repr__(self) -> str:
        frozen = "" if self._requires_grad else ", requires_grad=False"
        return f"Parameter(shape={self._value.shape}, dtype={self._value.dtype}{frozen})"


class Buffer:
    """Non-trainable state saved with a layer (BatchNorm's running statistics).

    Buffers appear in ``state_dict()`` and follow ``astype``, but not in ``parameters()``.
    Like a Parameter's, the ``value`` array stays the same object: assigning writes into
    it (checked and cast like ``Parameter.value``).

    Parameters
    ----------
    value : array_like
        The initial value, copied; integers and bools become float64.

    Examples
    --------
    >>> import numpy as np
    >>> Buffer(np.zeros(3)).astype(np.float32)
    Buffer(shape=(3,), dtype=float32)
    """

    __slots__ = ("__weakref__", "_value")

    _value: np.ndarray

    def __init__(self, value: object) -> None:
        self._value = _new_float_array(value, "Buffer: value")

    @property
    def value(self) -> np.ndarray:
        """The current value; assigning writes into it."""
        return self._value

    @value.setter
    def value(self, array: object) -> None:
        if array is self._value:  # ``b.value *= m`` assigns the same array back
            return
        _write_into(self._value, array, "Buffer.value", "the buffer")

    def astype(self, dtype: np.typing.DTypeLike) -> Buffer:
        """Convert ``value`` to the float ``dtype`` (a no-op when it has it) and return self."""
        self._value = _converted(self._value, dtype, "Buffer.astype: dtype")
        return self

    def __repr__(self) -> str:
        return f"Buffer(shape={self._value.shape}, dtype={self._value.dtype})"


class FlatParameters:
    """Parameters whose values and gradients are views of two contiguous 1-d arrays.

    ``FlatParameters(params)`` does what :func:`flatten_parameters` does (and documents)
    with the same ``params``.

    Parameters
    ----------
    params : iterable of Parameter
        In a fixed order, all of one dtype; a Parameter listed twice is stored once.

    Attributes
    ----------
    params : tuple of Parameter
        The parameters, each once, in the order of the flat arrays.
    offsets : tuple of int
        Where each parameter starts in the flat arrays; ``offsets[-1]`` is their size.
    values : ndarray
        Every parameter's value, one after the other (1-d). Writing into it writes the
        parameters' values; assigning it (``flat.values -= step``) writes into it too.
    grads : ndarray
        Every parameter's gradient, laid out like ``values``. Reading it clears the
        gradients still marked zero by ``zero_grad()``, as ``Parameter.grad`` does, so
        read it after backward rather than keeping the array from before.

    Examples
    --------
    >>> import numpy as np
    >>> w, b = Parameter(np.ones((2, 2))), Parameter(np.zeros(2))
    >>> flat = FlatParameters([w, b])
    >>> flat.offsets, flat.values
    ((0, 4, 6), array([1., 1., 1., 1., 0., 0.]))
    >>> w.grad += 0.5
    >>> flat.values -= 0.1 * flat.grads           # one update over one array
    >>> w.value
    array([[0.95, 0.95],
           [0.95, 0.95]])
    """

    __slots__ = ("_grad_views", "_grads", "_value_views", "_values", "offsets", "params")

    params: tuple[Parameter, ...]
    offsets: tuple[int, ...]

    def __init__(self, params: Iterable[Parameter]) -> None:
        params = _unique_parameters(params)
        dtype = params[0].dtype
        offsets = [0]
        for p in params:
            offsets.append(offsets[-1] + p.size)
        values = np.empty(offsets[-1], dtype=dtype)
        grads = np.zeros(offsets[-1], dtype=dtype)
        value_views, grad_views = [], []
        for p, start, stop in zip(params, offsets[:-1], offsets[1:], strict=True):
            value = values[start:stop].reshape(p.shape)
            grad = grads[start:stop].reshape(p.shape)
            value[...] = p._value
            if not p._grad_is_zero:  # a marked gradient stays marked, over zeros
                grad[...] = p._grad
            p._value, p._grad = value, grad
            value_views.append(value)
            grad_views.append(grad)
        self.params = params
        self.offsets = tuple(offsets)
        self._values = values
        self._grads = grads
        self._value_views = tuple(value_views)
        self._grad_views = tuple(grad_views)

    @property
    def values(self) -> np.ndarray:
        """Every parameter's value in one 1-d array (see the class docstring)."""
        return self._values

    @values.setter
    def values(self, array: object) -> None:
        if array is not self._values:
            _write_into(self._values, array, "FlatParameters.values", "the flat array")

    @property
    def grads(self) -> np.ndarray:
        """Every parameter's gradient in one 1-d array (see the class docstring)."""
        for p in self.params:
            if p._grad_is_zero:
                p._grad[...] = 0
                p._grad_is_zero = False
        return self._grads

    @grads.setter
    def grads(self, array: object) -> None:
        if array is self._grads:
            return
        _write_into(self._grads, array, "FlatParameters.grads", "the flat array")
        for p in self.params:
            p._grad_is_zero = False

    @property
    def dtype(self) -> np.dtype:
        """The dtype shared by every parameter and both flat arrays."""
        return self._values.dtype

    @property
    def size(self) -> int:
        """The number of elements of the flat arrays (the parameters' sizes summed)."""
        return int(self._values.size)

    @property
    def intact(self) -> bool:
        """Whether every parameter's value and gradient are still views of the flat arrays.

        A real dtype change (``Parameter.astype``, ``Layer.astype``) gives a parameter
        new arrays, and flattening it again puts it into another buffer; either detaches
        it from this one.
        """
        return all(
            p._value is value and p._grad is grad
            for p, value, grad in zip(self.params, self._value_views, self._grad_views, strict=True)
        )

    def zero_grad(self) -> None:
        """Set every gradient to zero, lazily, as ``Parameter.zero_grad`` does."""
        for p in self.params:
            p._grad_is_zero = True

    def __deepcopy__(self, memo: dict[int, Any]) -> FlatParameters:
        # Copies of views are separate arrays: flatten the copied parameters again, so
        # that a model copied along with this object is a view of the copy's buffer.
        result = FlatParameters(copy.deepcopy(self.params, memo))
        memo[id(self)] = result
        return result

    def __reduce__(self) -> tuple[type[FlatParameters], tuple[tuple[Parameter, ...]]]:
        return FlatParameters, (self.params,)

    def __len__(self) -> int:
        return len(self.params)

    def __iter__(self) -> Iterator[Parameter]:
        return iter(self.params)

    def __repr__(self) -> str:
        n = len(self.params)
        return f"FlatParameters({n} parameters, size={self.size}, dtype={self.dtype})"


def flatten_parameters(params: Iterable[Parameter]) -> FlatParameters:
    """Move parameters into one contiguous buffer, each value and gradient becoming a view.

    Torch7's ``getParameters()``: afterwards one array holds every value and another
    every gradient, in order, so that one operation covers them all (an optimizer step
    over one array, an all-reduce of one gradient vector, a norm). Each parameter's
    ``value`` and ``grad`` become reshaped views of these arrays, holding what they held
    before (a gradient marked zero by ``zero_grad()`` stays marked); layers, losses,
    optimizers and ``load_state_dict`` work on them unchanged, because they all write
    into these arrays and never replace them.

    Parameters
    ----------
    params : iterable of Parameter
        In a fixed order (``model.parameters()``), all of one dtype. A Parameter listed
        twice (shared weights) is stored once, where it first appears.

    Returns
    -------
    FlatParameters
        ``values`` and ``grads`` (1-d arrays), ``params`` (each once), ``zero_grad()``.

    Raises
    ------
    ArgumentTypeError
        When ``params`` is not an ordered iterable of Parameters (a set, a mapping, a
        layer, a single Parameter).
    ArgumentError
        When it is empty or its parameters have different dtypes (the error lists them);
        nothing is moved.

    Notes
    -----
    The views last as long as the parameters keep their arrays: ``astype`` to another
    dtype gives a parameter new arrays, detaching it (``FlatParameters.intact`` tells).
    Convert the model first, then flatten. Flattening parameters again moves them to a
    new buffer and detaches them from the old one. A deep copy (or pickle) of a flattened
    model alone has ordinary, separate arrays; copied together with its ``FlatParameters``,
    its parameters are views of the copy's buffer.

    Examples
    --------
    >>> import numpy as np
    >>> import nnframe as nf
    >>> model = nf.Sequential(nf.Linear(3, 2, rng=0), nf.Tanh(), nf.Linear(2, 1, rng=1))
    >>> flat = nf.flatten_parameters(model.parameters())
    >>> flat
    FlatParameters(4 parameters, size=11, dtype=float32)
    >>> np.shares_memory(model[0].weight.value, flat.values)
    True
    >>> flat.values[...] = 0.5                      # every weight and bias is now 0.5
    >>> model[2].bias.value
    array([0.5], dtype=float32)
    >>> y = model(np.ones((4, 3), dtype=np.float32))
    >>> grad_x = model.backward(np.ones_like(y))   # gradients land in flat.grads
    >>> flat.grads[-1:], model[2].bias.grad
    (array([4.], dtype=float32), array([4.], dtype=float32))
    """
    return FlatParameters(params)


def _unique_parameters(params: object) -> tuple[Parameter, ...]:
    """``params`` checked, each Parameter once (first place), all of one dtype, or raise."""
    if isinstance(params, Parameter | set | frozenset | Mapping):
        raise ArgumentTypeError(
            f"flatten_parameters: params must be an ordered iterable of Parameters; got "
            f"{type(params).__name__}; pass a list, such as model.parameters()"
        )
    if not isinstance(params, Iterable) or hasattr(params, "parameters"):
        hint = "; pass model.parameters()" if hasattr(params, "parameters") else ""
        raise ArgumentTypeError(
            "flatten_parameters: params must be an ordered iterable of Parameters; got "
            f"{type(params).__name__}{hint}"
        )
    unique: dict[int, Parameter] = {}
    for i, p in enumerate(params):
        if not isinstance(p, Parameter):
            raise ArgumentTypeError(
                f"flatten_parameters: params[{i}] must be a Parameter; got {type(p).__name__}"
            )
        unique.setdefault(id(p), p)
    if not unique:
        raise ArgumentError("flatten_parameters: params is empty; there is nothing to flatten")
    found = list(dict.fromkeys(p.dtype for p in unique.values()))
    if len(found) > 1:
        raise ArgumentError(
            "flatten_parameters: the parameters must share one dtype to share a buffer; "
            f"found {', '.join(str(d) for d in found)} (convert the model with astype first)"
        )
    return tuple(unique.values())
