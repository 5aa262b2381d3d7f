"""Layer, the base class every nnframe layer derives from, and the ``@layer`` decorator."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar, TypeVar

import attrs
import numpy as np

from nnframe import registry
from nnframe.cache import Cached
from nnframe.checks import (
    DEFAULT_DTYPE,
    array_size,
    boolean,
    float_dtype,
    format_shape,
    positive_int,
    state_mismatch,
)
from nnframe.errors import (
    ArgumentTypeError,
    SerializationError,
    StateDictError,
)
from nnframe.grad_mode import no_grad
from nnframe.parameter import Buffer, Parameter

__all__ = ["Layer", "Summary", "layer"]

T = TypeVar("T")
L = TypeVar("L", bound="Layer")

# Attributes the base class keeps for itself; discovery skips them.
_BASE_ATTRIBUTES = frozenset({"training", "needs_input_grad", "_cache", "_scratch"})


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


def _slot_names(cls: type) -> Iterator[str]:
    for klass in cls.__mro__:
        slots = klass.__dict__.get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            if name not in ("__dict__", "__weakref__"):
                yield name


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


class Layer(Cached):
    """Base class of all layers: forward, backward and an internal cache.

    A layer computes ``y = forward(x)`` and stores what its backward pass needs with
    :meth:`save_for_backward`; ``backward(grad_y)`` fetches it with :meth:`saved`, adds
    the parameters' gradients into each ``Parameter.grad`` and returns the gradient with
    respect to ``x``. Arrays are batch-first: ``x.shape == (batch, ...)``.

    Subclass it with a plain ``__init__`` (call ``super().__init__()``), with
    ``@nnframe.layer`` or with a plain ``@attrs.define``: parameters and sub-layers are
    found automatically, recursively, in definition order, each once even when shared.

    Attributes
    ----------
    training : bool
        Training mode (True) or evaluation mode (False); see :meth:`train`.
    needs_input_grad : bool
        Whether ``backward`` must return the gradient with respect to the input (True by
        default). When False, a layer may skip that work and return None: ``Sequential``
        passes its own setting to its first layer, and ``Trainer.fit`` turns it off for
        the model it trains, since no one uses the gradient of the data.
    kinks : tuple of float
        Class attribute: input values where the layer is not differentiable (``(0.0,)``
        for ReLU). Gradient checks keep inputs away from them.
    stochastic : bool
        Class attribute: the forward pass draws random numbers (Dropout). Gradient checks
        replay the layer's generator so every evaluation sees the same draws.
    batch_independent : bool
        Class attribute: example ``i`` of the output depends on example ``i`` of the input
        alone (False for BatchNorm in training mode).

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> class Double(nf.Layer):
    ...     def forward(self, x):
    ...         return 2 * x
    ...     def backward(self, grad_y):
    ...         return 2 * grad_y
    >>> Double()(np.array([[1.0, -1.0]]))
    array([[ 2., -2.]])
    """

    kinks: ClassVar[tuple[float, ...]] = ()
    stochastic: ClassVar[bool] = False
    batch_independent: ClassVar[bool] = True

    # A class-level default, so that attrs subclasses (whose generated __init__ does not
    # call ours) start in training mode.
    training: bool = True
    needs_input_grad: bool = True
    _scratch: dict[str, np.ndarray] | None = None

    def __init__(self) -> None:
        self.training = True
        self._cache = None

    # -- the contract -----------------------------------------------------------------

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Compute the layer's output and cache what ``backward`` needs.

        Parameters
        ----------
        x : ndarray of shape (batch, ...)
            The input. It is never modified.

        Returns
        -------
        ndarray of shape (batch, ...)
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement forward()")

    def backward(self, grad_y: np.ndarray) -> np.ndarray | None:
        """Back-propagate ``grad_y``, the gradient of the loss with respect to the output.

        Adds each parameter's gradient into its ``Parameter.grad`` (accumulating, never
        overwriting), releases the cache, and never divides by the batch size.

        Parameters
        ----------
        grad_y : ndarray
            Same shape as the output of the matching ``forward``. It is never modified.

        Returns
        -------
        ndarray or None
            The gradient with respect to the forward input, shaped like it; None only
            when ``needs_input_grad`` is False and the layer skipped that work.

        Raises
        ------
        CacheMissError
            When there is no cached forward pass (a layer that caches nothing may allow it).
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement backward()")

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Run :meth:`forward`."""
        return self.forward(x)

    # -- the cache (save_for_backward and saved come from Cached) ----------------------

    def scratch(self, name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        """Return this layer's work array ``name``, reused while shape and dtype stay the same.

        For intermediate results that never leave the layer (the weight gradient before
        it is added into ``grad``): reusing one array across steps saves an allocation,
        and for large arrays the page faults of fresh memory. Never return it to a caller
        or store it in the cache. Its contents are undefined on return.
        """
        arrays = self._scratch
        if arrays is None:
            arrays = self._scratch = {}
        array = arrays.get(name)
        if array is None or array.shape != shape or array.dtype != dtype:
            array = arrays[name] = np.empty(shape, dtype=dtype)
        return array

    def has_cache(self) -> bool:
        """Return whether this layer or a sub-layer holds a cache from ``forward``."""
        return any(sub._cache is not None for _, sub in self.named_layers())

    def clear_cache(self) -> None:
        """Drop the caches of this layer and its sub-layers."""
        for _, sub in self.named_layers():
            sub._cache = None

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

    def walk(self) -> Iterator[tuple[str, Any]]:
        """Yield ``(dotted name, object)`` for the model tree, each object once.

        The tree is this layer (named ``""``), every sub-layer, ``Parameter``, ``Buffer``
        and ``numpy.random.Generator`` reachable through :meth:`named_members`, and
        through lists and tuples of them; depth-first, in definition order. An object
        reachable twice (a shared weight) is yielded once, at its first name. Every module
        that needs to look through a model uses this walk.

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
                if isinstance(value, Layer):
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

    def named_layers(self) -> list[tuple[str, Layer]]:
        """Return ``(dotted name, layer)`` for this layer (named ``""``) and every sub-layer."""
        return [(name, obj) for name, obj in self.walk() if isinstance(obj, Layer)]

    def zero_grad(self) -> None:
        """Set every parameter's gradient to zero, in place."""
        for p in self.parameters():
            p.zero_grad()

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
        own = {
            name: obj for name, obj in self.walk() if isinstance(obj, Parameter | Buffer)
        }
        problems = []
        if strict:
            problems += [f"missing: {name!r}" for name in own if name not in state]
            problems += [f"unexpected: {name!r}" for name in state if name not in own]
        arrays = {}
        for name in own.keys() & state.keys():
            try:
                array = np.asarray(state[name])
            except (ValueError, TypeError):
                problems.append(f"{name!r}: not a rectangular array in the state dict")
                continue
            problem = state_mismatch(name, array, own[name].value, "in the model")
            if problem is not None:
                problems.append(problem)
            arrays[name] = array
        if problems:
            raise StateDictError(
                f"{type(self).__name__}.load_state_dict: the state dict does not match the "
                "model; nothing was loaded:\n  " + "\n  ".join(sorted(problems))
            )
        for name, array in arrays.items():
            own[name].value[...] = array

    # -- configuration (the architecture nnframe.save writes) ------------------------

    def get_config(self) -> dict[str, Any]:
        """Return the constructor arguments that rebuild this layer, as JSON-plain values.

        :func:`nnframe.save` writes it and :meth:`from_config` reads it back; the weights
        travel separately. For an attrs layer it is derived from the init fields (dtypes
        become names such as ``"float32"``; a ``numpy.random.Generator`` becomes None, so
        the rebuilt layer draws fresh entropy, while an int seed is kept). A layer with a
        plain ``__init__`` that takes arguments writes its own.

        Returns
        -------
        dict of str to JSON-plain value

        Raises
        ------
        SerializationError
            When a value cannot be written (a function, an array, an object), or a plain
            ``__init__`` takes arguments and ``get_config`` is not overridden.

        Examples
        --------
        >>> import nnframe as nf
        >>> nf.Sequential(nf.Linear(3, 2, rng=0), nf.ReLU()).get_config()
        {'layers': [{'class': 'Linear', 'config': {'in_features': 3, 'out_features': 2,
          'bias': True, 'dtype': 'float32'}}, {'class': 'ReLU', 'config': {}}]}
        """
        cls = type(self)
        if attrs.has(cls):
            return {
                field.alias: registry.to_plain(
                    getattr(self, field.name), f"{cls.__name__}.{field.alias}"
                )
                for field in attrs.fields(cls)
                if field.init
            }
        if registry.init_arguments(cls) == ():
            return {}
        raise SerializationError(
            f"{cls.__name__} has a plain __init__ with arguments; override get_config() to "
            "return them as a dict of plain values (and from_config() if cls(**config) "
            "does not rebuild it)"
        )

    @classmethod
    def from_config(cls: type[L], config: Mapping[str, Any]) -> L:
        """Build a layer from the output of :meth:`get_config`: ``cls(**config)``.

        The keys must be constructor arguments, and the values plain; a nested layer spec
        (``{"class": ..., "config": ...}``) is built through the registry. Override it
        together with ``get_config`` when the two do not map one to one.

        Raises
        ------
        SerializationError
            For unexpected keys or values that are not plain.
        """
        registry.check_config_keys(cls, config, registry.init_arguments(cls))
        return cls(**{key: registry.from_plain(value, key) for key, value in config.items()})

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
        for name in _slot_names(cls):
            if hasattr(self, name):
                object.__setattr__(clone, name, copy.deepcopy(getattr(self, name), memo))
        for name, value in getattr(self, "__dict__", {}).items():
            clone.__dict__[name] = copy.deepcopy(value, memo)
        return clone

    def clone(self: L) -> L:
        """Return an independent deep copy (parameters, buffers, generators, mode)."""
        return copy.deepcopy(self)

    # -- display ----------------------------------------------------------------------

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def _summary_rows(self, x: np.ndarray, name: str) -> tuple[np.ndarray, list[SummaryRow]]:
        y = self.forward(x)
        count = sum(p.size for p in self.parameters())
        return y, [SummaryRow(name, repr(self), tuple(y.shape[1:]), count)]

    def summary(self, input_shape: int | tuple[int, ...]) -> Summary:
        """Tabulate the layers, their output shapes and parameter counts.

        Runs one forward pass of a batch of zeros through a copy in evaluation mode, so
        the layer itself is left untouched.

        Parameters
        ----------
        input_shape : int or tuple of int
            The shape of one example, without the batch dimension.

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
        Total parameters: 15
        """
        given: object = input_shape
        dims = given if isinstance(given, tuple | list) else (given,)
        shape = tuple(positive_int(d, f"summary: input_shape[{i}]") for i, d in enumerate(dims))
        probe = copy.deepcopy(self).eval()
        params = probe.parameters()
        dtype = params[0].dtype if params else DEFAULT_DTYPE
        array_size((1, *shape), dtype, "summary")
        with no_grad():
            _, rows = probe._summary_rows(np.zeros((1, *shape), dtype=dtype), "")
        return Summary(rows, sum(p.size for p in params))


@attrs.frozen
class SummaryRow:
    """One row of a :class:`Summary`: a layer's name, description, output shape, size."""

    name: str
    description: str
    output_shape: tuple[int, ...]
    parameters: int


@attrs.frozen
class Summary:
    """The table :meth:`Layer.summary` returns; ``str()`` gives the text.

    Parameters
    ----------
    rows : list of SummaryRow
        One per layer (leaf layers of containers), in order.
    total_parameters : int
        The number of parameter elements, shared parameters counted once.

    Examples
    --------
    >>> import nnframe as nf
    >>> nf.Sequential(nf.Linear(3, 2, rng=0), nf.Tanh()).summary(3).total_parameters
    8
    """

    rows: list[SummaryRow]
    total_parameters: int

    def __str__(self) -> str:
        layers = [f"{row.name}  {row.description}".strip() for row in self.rows]
        shapes = [format_shape(("batch", *row.output_shape)) for row in self.rows]
        counts = [f"{row.parameters:,}" for row in self.rows]
        w0 = max(len("Layer"), *(len(s) for s in layers))
        w1 = max(len("Output shape"), *(len(s) for s in shapes))
        w2 = max(len("Params"), *(len(s) for s in counts))
        header = f"{'Layer':<{w0}}  {'Output shape':<{w1}}  {'Params':>{w2}}"
        rule = "-" * len(header)
        body = [
            f"{a:<{w0}}  {b:<{w1}}  {c:>{w2}}"
            for a, b, c in zip(layers, shapes, counts, strict=True)
        ]
        return "\n".join(
            [header, rule, *body, rule, f"Total parameters: {self.total_parameters:,}"]
        )

    __repr__ = __str__
