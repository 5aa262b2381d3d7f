"""Layer, the base class of every nnframe layer: the contract, checked in one place."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import attrs
import numpy as np

from nnframe.cache import Cached
from nnframe.checks import boolean, float_dtype, matching_arrays
from nnframe.errors import ArgumentTypeError, StateDictError
from nnframe.layers import summary as summaries
from nnframe.layers.arrays import ReusedArrays
from nnframe.layers.checked import install_checks
from nnframe.layers.config import check_config_keys, constructor_arguments, init_arguments
from nnframe.layers.hooks import Hooks
from nnframe.layers.spec import InputSpec
from nnframe.parameter import Buffer, Parameter

__all__ = ["Layer", "layer", "slot_names"]

T = TypeVar("T")
L = TypeVar("L", bound="Layer")

# Attributes the base class keeps for itself; discovery skips them.
_BASE_ATTRIBUTES = frozenset(
    {
        "training",
        "needs_input_grad",
        "_cache",
        "_scratch",
        "_results",
        "_output",
        "_forward_hooks",
        "_backward_hooks",
        "_replaced",
    }
)
# Not copied by clone() and deepcopy: hooks belong to the layer they were registered on,
# and the outputs a layer's forward passes replaced (weak references) to that layer.
_NOT_COPIED = frozenset({"_forward_hooks", "_backward_hooks", "_replaced", "_scratch", "_results"})


def layer(cls: type[T]) -> type[T]:
    """Declare a layer class with attrs: ``attrs.define(eq=False)``.

    Gives typed, validated hyperparameters, a generated ``__init__`` and ``__repr__``,
    slots, and identity comparison (layers compare and hash by identity).

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> @nf.layer
    ... class Scale(nf.Layer):
    ...     factor: float = 2.0
    ...     def forward(self, x):
    ...         return self.factor * x
    ...     def backward(self, grad_y):
    ...         return self.factor * grad_y
    >>> Scale(3.0)(np.ones((1, 2)))
    array([[3., 3.]])
    """
    return attrs.define(cls, eq=False)


def slot_names(cls: type) -> Iterator[str]:
    """Yield the names of the slots declared by ``cls`` and its bases (attrs makes slots)."""
    for klass in cls.__mro__:
        slots = klass.__dict__.get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            if name not in ("__dict__", "__weakref__"):
                yield name


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


class Layer(Cached, Hooks, ReusedArrays):
    """Base class of all layers: forward, backward and an internal cache.

    A layer computes ``y = forward(x)`` and stores what its backward pass needs with
    :meth:`save_for_backward`; ``backward(grad_y)`` fetches it with :meth:`saved`, adds
    the parameters' gradients into each ``Parameter.grad`` and returns the gradient with
    respect to ``x``. Arrays are batch-first: ``x.shape == (batch, ...)``.

    Subclass it with a plain ``__init__`` (call ``super().__init__()``), with
    ``@nnframe.layer`` or with a plain ``@attrs.define``: parameters and sub-layers are
    found automatically, recursively, in definition order, each once even when shared.

    Every subclass's ``forward`` and ``backward`` are wrapped once, at class definition,
    by the same checks (input against :attr:`input_spec`, gradient against the last
    output) and the input-gradient decision; their bodies hold the maths only.

    Attributes
    ----------
    training : bool
        Training mode (True) or evaluation mode (False); see :meth:`train`.
    needs_input_grad : bool
        Whether the running ``backward`` must compute the gradient with respect to the
        input; set by the checks before the body runs. A layer may skip that work when
        it is False (Linear skips a matrix product) and return None.
    input_spec : InputSpec or None
        Class attribute: what ``forward`` accepts. The default takes any real array with
        a batch axis; ``Linear`` declares ``(batch, ..., in_features)``. A container
        whose sub-layers see its input and its output gradient unchanged declares None:
        its sub-layers check them, and errors name the sub-layer's place.
    kinks : tuple of float
        Class attribute: input values where the layer is not differentiable (``(0.0,)``
        for ReLU). Gradient checks keep inputs away from them.
    ties : bool
        Class attribute: the layer is not differentiable where two input values it
        compares are equal (max pooling: which element of a window wins). The testing
        kit draws such a layer's inputs with values kept apart.
    stochastic : bool
        Class attribute: the forward pass draws random numbers (Dropout). Gradient checks
        replay the layer's generator so every evaluation sees the same draws.
    batch_independent : bool
        Class attribute: example ``i`` of the output depends on example ``i`` of the input
        alone (False for BatchNorm in training mode).
    link : str or None
        Class attribute: the activation this layer applies (``"sigmoid"``), when a loss
        may hand it the gradient with respect to its input directly (see
        :mod:`nnframe.fused`); None for most layers.
    differentiable_input : bool
        Class attribute: the output is a differentiable function of the input (False
        for ``Embedding``, whose input is integer indices: its ``backward`` fills the
        parameters' gradients and returns None). The testing kit skips the input-gradient
        checks of such a layer.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> class Double(nf.Layer):
    ...     def forward(self, x):
    ...         return 2 * x
    ...     def backward(self, grad_y):
    ...         return 2 * grad_y
    >>> layer = Double()
    >>> y = layer(np.array([[1.0, -1.0]]))
    >>> layer.backward(np.ones_like(y), input_grad=True)
    array([[2., 2.]])
    """

    input_spec: ClassVar[InputSpec | None] = InputSpec()
    kinks: ClassVar[tuple[float, ...]] = ()
    ties: ClassVar[bool] = False
    stochastic: ClassVar[bool] = False
    batch_independent: ClassVar[bool] = True
    link: ClassVar[str | None] = None
    differentiable_input: ClassVar[bool] = True

    # Class-level defaults, so that attrs subclasses (whose generated __init__ does not
    # call ours) start in training mode with nothing cached.
    training: bool = True
    needs_input_grad: bool = True
    _output: Any = None
    _replaced: tuple[Any, ...] | None = None

    def __init__(self) -> None:
        self.training = True
        self._cache = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        install_checks(cls)

    # -- the contract -----------------------------------------------------------------

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Compute the layer's output and cache what ``backward`` needs.

        Before the body runs, ``x`` has been checked against :attr:`input_spec` (a
        ``ShapeError`` or ``DTypeError`` naming the layer otherwise) and converted to an
        array of the dtype the layer computes in.

        Parameters
        ----------
        x : ndarray of shape (batch, ...)
            The input. It is never modified.

        Returns
        -------
        ndarray of shape (batch, ...)
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement forward()")

    if TYPE_CHECKING:
        # A subclass writes backward(self, grad_y); the checks that wrap it add the
        # keyword input_grad. Typed loosely, so that both type-check.
        backward: Callable[..., Any]
    else:

        def backward(self, grad_y: np.ndarray, *, input_grad: bool | None = None) -> Any:
            """Back-propagate ``grad_y``, the gradient of the loss with respect to the output.

            Adds each parameter's gradient into its ``Parameter.grad`` (accumulating, never
            overwriting), releases the cache, and never divides by the batch size. Before
            the body runs, ``grad_y`` has been checked against the last forward output (same
            shape; cast to its dtype).

            Parameters
            ----------
            grad_y : ndarray
                Same shape as the output of the matching ``forward``. It is never modified.
            input_grad : bool, optional
                Whether to return the gradient with respect to the forward input. By default
                it is returned when the call comes from another layer's backward (a
                container's: every layer but the first of a chain needs it) and not when you
                call ``backward`` yourself: a training loop does not pay for a gradient of the
                data that nobody reads. Pass ``input_grad=True`` to get it. A subclass's
                ``backward`` takes only ``grad_y`` and reads :attr:`needs_input_grad`.

            Returns
            -------
            ndarray or None
                The gradient with respect to the forward input when wanted, else None.

            Raises
            ------
            CacheMissError
                When there is no cached forward pass (a layer that caches nothing may allow it).
            ShapeError
                When ``grad_y``'s shape is not the forward output's.
            """
            raise NotImplementedError(f"{type(self).__name__} does not implement backward()")

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Run :meth:`forward`."""
        return self.forward(x)

    # -- the cache (save_for_backward and saved come from Cached) ----------------------

    def has_cache(self) -> bool:
        """Return whether this layer or a sub-layer holds a cache from ``forward``."""
        return any(sub._cache is not None for _, sub in self.named_layers())

    def clear_cache(self) -> None:
        """Drop the caches of this layer and its sub-layers, and the arrays they reuse."""
        for _, sub in self.named_layers():
            sub._cache = sub._output = None
            sub.release_arrays()

    # -- discovery --------------------------------------------------------------------

    def named_members(self) -> Iterator[tuple[str, Any]]:
        """Yield ``(name, value)`` for the layer's own attributes that discovery looks through.

        attrs fields first, in declaration order, then instance attributes in assignment
        order; the base class's own state is left out. Containers override this to name
        their children by position. :meth:`walk` descends through it.
        """
        seen = set(_BASE_ATTRIBUTES)
        if attrs.has(type(self)):
            for field in attrs.fields(type(self)):  # type: ignore[arg-type]
                seen.add(field.name)
                if hasattr(self, field.name):
                    yield field.name, getattr(self, field.name)
        for name, value in getattr(self, "__dict__", {}).items():
            if name not in seen:
                yield name, value

    def walk(self, *, recurse: bool = True) -> Iterator[tuple[str, Any]]:
        """Yield ``(dotted name, object)`` for the model tree, each object once.

        The tree is this layer (named ``""``), every sub-layer, ``Parameter``, ``Buffer``
        and ``numpy.random.Generator`` reachable through :meth:`named_members`, and
        through lists and tuples of them; depth-first, in definition order. An object
        reachable twice (a shared weight) is yielded once, at its first name. With
        ``recurse=False``, sub-layers are yielded but not looked into.

        Examples
        --------
        >>> import nnframe as nf
        >>> model = nf.Sequential(nf.Linear(2, 2, rng=0), nf.Dropout(0.5, rng=0))
        >>> [name for name, _ in model.walk()]
        ['', '0', '0.weight', '0.bias', '1', '1.generator']
        """
        seen = {id(self)}

        def visit(path: str, value: Any) -> Iterator[tuple[str, Any]]:
            if isinstance(value, Layer | Parameter | Buffer | np.random.Generator):
                if id(value) in seen:
                    return
                seen.add(id(value))
                yield path, value
                if recurse and isinstance(value, Layer):
                    for name, member in value.named_members():
                        yield from visit(_join(path, name), member)
            elif isinstance(value, list | tuple):
                for i, item in enumerate(value):
                    yield from visit(_join(path, str(i)), item)

        yield "", self
        for name, member in self.named_members():
            yield from visit(name, member)

    def named_parameters(self) -> list[tuple[str, Parameter]]:
        """Return ``(dotted name, Parameter)`` pairs, each Parameter once, in definition order.

        Examples
        --------
        >>> import nnframe as nf
        >>> model = nf.Sequential(nf.Linear(3, 4, rng=0), nf.ReLU(), nf.Linear(4, 1, rng=0))
        >>> [name for name, _ in model.named_parameters()]
        ['0.weight', '0.bias', '2.weight', '2.bias']
        """
        return [(name, obj) for name, obj in self.walk() if isinstance(obj, Parameter)]

    def parameters(self) -> list[Parameter]:
        """Return every Parameter of the layer and its sub-layers, each once."""
        return [p for _, p in self.named_parameters()]

    def named_buffers(self) -> list[tuple[str, Buffer]]:
        """Return ``(dotted name, Buffer)`` pairs of non-trainable state, each once."""
        return [(name, obj) for name, obj in self.walk() if isinstance(obj, Buffer)]

    def named_generators(self) -> list[tuple[str, np.random.Generator]]:
        """Return ``(dotted name, Generator)`` for every random generator held, each once.

        Gradient checks and checkpoints save and restore their states.
        """
        return [(name, obj) for name, obj in self.walk() if isinstance(obj, np.random.Generator)]

    def named_children(self) -> list[tuple[str, Layer]]:
        """Return ``(name, layer)`` for the direct sub-layers, lists and tuples included."""
        return [(n, obj) for n, obj in self.walk(recurse=False) if isinstance(obj, Layer) and n]

    def named_layers(self) -> list[tuple[str, Layer]]:
        """Return ``(dotted name, layer)`` for this layer (named ``""``) and every sub-layer."""
        return [(name, obj) for name, obj in self.walk() if isinstance(obj, Layer)]

    def zero_grad(self) -> None:
        """Set every parameter's gradient to zero, in place."""
        for p in self.parameters():
            p.zero_grad()

    def requires_grad_(self: L, requires_grad: bool = True) -> L:
        """Freeze (False) or unfreeze (True) every parameter of this layer and its sub-layers.

        A frozen parameter gets no gradient and is not updated; see
        :attr:`Parameter.requires_grad`. A shared parameter is frozen wherever it is used.

        Returns
        -------
        Layer
            ``self``.

        Examples
        --------
        >>> import nnframe as nf
        >>> model = nf.Sequential(nf.Linear(4, 3, rng=0), nf.ReLU(), nf.Linear(3, 2, rng=1))
        >>> _ = model[0].requires_grad_(False)
        >>> [p.requires_grad for p in model.parameters()]
        [False, False, True, True]
        """
        flag = boolean(requires_grad, f"{type(self).__name__}.requires_grad_: requires_grad")
        for p in self.parameters():
            p.requires_grad = flag
        return self

    # -- modes ------------------------------------------------------------------------

    def train(self: L, mode: bool = True) -> L:
        """Set training mode (``mode=True``) or evaluation mode on every sub-layer.

        Returns
        -------
        Layer
            ``self``, so that ``model = Model().train()`` works.
        """
        if not isinstance(mode, bool):
            raise ArgumentTypeError(f"train(mode) takes a bool; got {type(mode).__name__}")
        for _, sub in self.named_layers():
            sub.training = mode
        return self

    def eval(self: L) -> L:
        """Set evaluation mode on every sub-layer; same as ``train(False)``."""
        return self.train(False)

    # -- state ------------------------------------------------------------------------

    def state_dict(self) -> dict[str, np.ndarray]:
        """Return copies of every parameter and buffer value, by dotted name."""
        return {
            name: obj.value.copy()
            for name, obj in self.walk()
            if isinstance(obj, Parameter | Buffer)
        }

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> None:
        """Copy values from ``state`` into the parameters and buffers, in place.

        Every name, shape and dtype is checked before anything is copied, and every
        mismatch is reported at once.

        Parameters
        ----------
        state : mapping of str to ndarray
            As returned by :meth:`state_dict`.
        strict : bool, default True
            Whether missing and unexpected names are errors. Shapes and dtypes of the
            names present in both are always checked.

        Raises
        ------
        StateDictError
            Listing every mismatch; nothing has been changed.
        """
        if not isinstance(state, Mapping):
            raise ArgumentTypeError(
                f"{type(self).__name__}.load_state_dict: state must be a mapping of names to "
                f"arrays; got {type(state).__name__}"
            )
        strict = boolean(strict, f"{type(self).__name__}.load_state_dict: strict")
        own = {name: obj for name, obj in self.walk() if isinstance(obj, Parameter | Buffer)}
        arrays, problems = matching_arrays(
            state, {name: obj.value for name, obj in own.items()}, strict, "in the model"
        )
        if problems:
            raise StateDictError(
                f"{type(self).__name__}.load_state_dict: the state dict does not match the "
                "model; nothing was loaded:\n  " + "\n  ".join(problems)
            )
        for name, array in arrays.items():
            own[name].value[...] = array

    # -- configuration (the architecture a model file records) -----------------------

    def get_config(self) -> dict[str, Any]:
        """Return the constructor arguments that rebuild this layer: ``cls(**config)``.

        :func:`nnframe.save` writes it, through :mod:`nnframe.layers.registry`, which turns the
        values into JSON (sub-layers into specs, dtypes into names) and refuses what
        cannot be written; the weights travel separately. For an attrs layer it is the
        init fields; a layer with a plain ``__init__`` that takes arguments writes its own.

        Returns
        -------
        dict of str to value

        Raises
        ------
        SerializationError
            When a plain ``__init__`` takes arguments and ``get_config`` is not overridden.

        Examples
        --------
        >>> import nnframe as nf
        >>> nf.Dropout(0.25, rng=3).get_config()
        {'p': 0.25, 'rng': 3}
        """
        return constructor_arguments(self)

    @classmethod
    def from_config(cls: type[L], config: Mapping[str, Any]) -> L:
        """Build a layer from the output of :meth:`get_config`: ``cls(**config)``.

        Override it together with ``get_config`` when the two do not map one to one.

        Raises
        ------
        SerializationError
            For keys the constructor does not take.
        """
        check_config_keys(cls, config, init_arguments(cls))
        return cls(**config)

    def astype(self: L, dtype: np.typing.DTypeLike) -> L:
        """Convert every parameter, gradient and buffer to the float ``dtype``, in place.

        Layers with a ``dtype`` attribute (``Linear``) then cast their inputs to it.
        Caches are dropped.

        Returns
        -------
        Layer
            ``self``.
        """
        target = float_dtype(dtype, "astype: dtype")
        for _, obj in self.walk():
            if isinstance(obj, Parameter | Buffer):
                obj.astype(target)
            elif isinstance(obj, Layer):
                obj._cache = None
                if isinstance(getattr(obj, "dtype", None), np.dtype):
                    object.__setattr__(obj, "dtype", target)
        return self

    # -- copies -----------------------------------------------------------------------

    def __deepcopy__(self: L, memo: dict[int, Any]) -> L:
        # attrs' slotted classes copy their fields only; a layer must also keep what its
        # __init__ or __attrs_post_init__ put in __dict__ (Parameters, caches, flags).
        cls = type(self)
        clone = cls.__new__(cls)
        memo[id(self)] = clone
        for name in slot_names(cls):
            if hasattr(self, name):
                object.__setattr__(clone, name, copy.deepcopy(getattr(self, name), memo))
        for name, value in getattr(self, "__dict__", {}).items():
            if name not in _NOT_COPIED:
                clone.__dict__[name] = copy.deepcopy(value, memo)
        return clone

    def clone(self: L) -> L:
        """Return an independent deep copy (parameters, buffers, generators, mode)."""
        return copy.deepcopy(self)

    # -- display ----------------------------------------------------------------------

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def summary_rows(
        self, x: np.ndarray, name: str
    ) -> tuple[np.ndarray, list[summaries.SummaryRow]]:
        """Run ``forward(x)`` and describe this layer as rows of :meth:`summary`'s table.

        A leaf layer is one row; containers override it to list their children.
        """
        y = self.forward(x)
        count = sum(p.size for p in self.parameters())
        return y, [summaries.SummaryRow(name, repr(self), tuple(y.shape[1:]), count)]

    def summary(self, input_shape: int | tuple[int, ...] | None = None) -> summaries.Summary:
        """Tabulate the layers, their output shapes and parameter counts.

        Runs one forward pass of a batch of zeros through a copy in evaluation mode, so
        the layer itself is left untouched.

        Parameters
        ----------
        input_shape : int or tuple of int, optional
            The shape of one example, without the batch dimension. Default: read from
            the first layer when it knows it (``Linear``'s ``in_features``); otherwise an
            ``ArgumentError`` asks for it.

        Returns
        -------
        Summary
            Prints as a table.

        Examples
        --------
        >>> import nnframe as nf
        >>> print(nf.Sequential(nf.Linear(4, 3, rng=0), nf.ReLU()).summary(4))
        Layer            Output shape    Params
        ---------------------------------------
        0  Linear(4 -> 3)  (batch, 3)      15
        1  ReLU()          (batch, 3)       0
        ---------------------------------------
        Total parameters: 15 (trainable 15, frozen 0)
        """
        return summaries.summarize(copy.deepcopy(self).eval(), input_shape)
