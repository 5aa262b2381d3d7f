"""Optimizer, the base class of every nnframe optimizer."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import numpy as np

from nnframe.checks import is_integer, non_negative, state_mismatch
from nnframe.errors import ArgumentError, ArgumentTypeError, StateDictError
from nnframe.optim.hyperparameters import HasHyperparameters, Hyperparameter
from nnframe.parameter import Parameter

__all__ = ["Optimizer", "as_parameter_list"]


def as_parameter_list(params: object, owner: str, name: str = "params") -> list[Parameter]:
    """Return ``params`` as a list of distinct Parameters, or raise naming ``owner``.

    Parameters
    ----------
    params : iterable of Parameter
        Anything iterable in a fixed order: a list, a tuple, ``model.parameters()``, a
        generator. Sets (no fixed order), mappings and single objects are rejected.
    owner : str
        Who is asking (``"SGD"``), for error messages.
    name : str, default "params"
        The argument's name, for error messages.

    Raises
    ------
    ArgumentTypeError
        When ``params`` is not an ordered iterable or holds something else than a Parameter.
    ArgumentError
        When it is empty or holds a Parameter twice.
    """
    if isinstance(params, set | frozenset):
        raise ArgumentTypeError(
            f"{owner}: {name} is a {type(params).__name__}, which has no fixed order; "
            "pass a list, such as model.parameters()"
        )
    if isinstance(params, Mapping):
        raise ArgumentTypeError(
            f"{owner}: {name} must be an iterable of Parameters; got a "
            f"{type(params).__name__}; pass list(params.values()) or model.parameters()"
        )
    if isinstance(params, Parameter) or not isinstance(params, Iterable):
        hint = "; pass model.parameters()" if hasattr(params, "parameters") else ""
        if isinstance(params, Parameter):
            hint = "; wrap a single Parameter in a list"
        raise ArgumentTypeError(
            f"{owner}: {name} must be an iterable of Parameters; got "
            f"{type(params).__name__}{hint}"
        )
    try:
        result = list(params)
    except TypeError as error:  # iterable in name only: a 0-d array
        raise ArgumentTypeError(
            f"{owner}: {name} must be an iterable of Parameters; got "
            f"{type(params).__name__} ({error})"
        ) from None
    if not result:
        raise ArgumentError(f"{owner}: {name} is empty; there is nothing to optimize")
    first_index: dict[int, int] = {}
    for i, p in enumerate(result):
        if not isinstance(p, Parameter):
            raise ArgumentTypeError(
                f"{owner}: {name}[{i}] must be a Parameter; got {type(p).__name__}"
            )
        if id(p) in first_index:
            raise ArgumentError(
                f"{owner}: {name}[{i}] is the same Parameter as {name}[{first_index[id(p)]}]; "
                "list each Parameter once"
            )
        first_index[id(p)] = i
    return result


def _flatten(hyperparameters: Mapping[str, Any]) -> dict[str, Any]:
    """Spread tuple-valued hyperparameters into ``name.i`` keys (``betas.0``)."""
    flat: dict[str, Any] = {}
    for name, value in hyperparameters.items():
        if isinstance(value, tuple):
            for i, item in enumerate(value):
                flat[f"{name}.{i}"] = item
        else:
            flat[name] = value
    return flat


class Optimizer(HasHyperparameters):
    """Base class of optimizers: updates a fixed list of Parameters in place.

    A subclass declares its hyperparameters as :class:`Hyperparameter` class attributes,
    passes them to ``super().__init__`` and implements :meth:`update`, which changes
    ``p.value`` in place from ``p.grad``. Per-parameter state (momentum buffers, moment
    estimates) lives in :attr:`state`, a dict keyed by Parameter identity, and is
    allocated once, at the first step that needs it.

    Parameters
    ----------
    params : iterable of Parameter
        The parameters to optimize, in a fixed order (``model.parameters()``); turned
        into a list. Empty iterables, sets and repeated Parameters are rejected. Frozen
        parameters may be listed: :meth:`step` skips them while they are frozen.
    **hyperparameters
        A value for every declared hyperparameter, ``lr`` included.

    Attributes
    ----------
    params : list of Parameter
        The parameters, in the order given; ``state_dict`` refers to them by index.
    lr : float
        The learning rate. Read and set it freely (schedules do); it is validated.
    state : dict of Parameter to dict of str to ndarray
        Per-parameter state arrays, same shape and dtype as the parameter.
    step_count : int
        The number of completed calls to :meth:`step`.
    state_names : tuple of str
        Class attribute: the names of the state arrays the optimizer may keep.

    Examples
    --------
    A custom optimizer:

    >>> import numpy as np
    >>> from nnframe import Parameter
    >>> class SignSGD(Optimizer):
    ...     def __init__(self, params, lr=0.01):
    ...         super().__init__(params, lr=lr)
    ...     def update(self, p):
    ...         p.value -= self.lr * np.sign(p.grad)
    >>> w = Parameter(np.array([1.0, 1.0]))
    >>> opt = SignSGD([w], lr=0.5)
    >>> w.grad[...] = [3.0, -0.1]
    >>> opt.step()
    >>> w.value
    array([0.5, 1.5])
    >>> opt
    SignSGD(1 parameter, lr=0.5)
    """

    lr = Hyperparameter(non_negative)
    state_names: ClassVar[tuple[str, ...]] = ()

    def __init__(self, params: Iterable[Parameter], **hyperparameters: object) -> None:
        self.params = as_parameter_list(params, type(self).__name__)
        self.init_hyperparameters(**hyperparameters)
        self.state: dict[Parameter, dict[str, np.ndarray]] = {p: {} for p in self.params}
        self.step_count = 0
        self._scratch: dict[Parameter, np.ndarray] = {}

    # -- the update -------------------------------------------------------------------

    def step(self) -> None:
        """Update every parameter once from its accumulated gradient, in place.

        Increments :attr:`step_count`, then calls :meth:`update` for each parameter in
        order, except frozen ones (``requires_grad`` False), which keep their values
        and state. Gradients are left as they are: call :meth:`zero_grad` before the next
        backward pass.
        """
        self.step_count += 1
        for p in self.params:
            if p.requires_grad:
                self.update(p)

    def update(self, p: Parameter) -> None:
        """Update one parameter in place; :meth:`step` calls it after counting the step.

        Implementations change the array ``p.value`` in place and compute in its dtype
        (hyperparameters are Python floats, which do not promote float32 arrays):
        ``p.value -= step`` or ``out=p.value``.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement update()")

    def zero_grad(self) -> None:
        """Set the gradient of every parameter to zero, in place."""
        for p in self.params:
            p.zero_grad()

    # -- helpers for update() ---------------------------------------------------------

    def state_array(self, p: Parameter, name: str) -> np.ndarray:
        """Return the state array ``name`` of ``p``, created as zeros on first use.

        The array follows the parameter's dtype: after ``model.astype(np.float64)`` the
        state is converted at the next step.
        """
        state = self.state[p]
        array = state.get(name)
        if array is None:
            array = state[name] = np.zeros_like(p.value)
        elif array.dtype != p.value.dtype:
            array = state[name] = array.astype(p.value.dtype)
        return array

    def scratch(self, p: Parameter) -> np.ndarray:
        """Return a work array shaped like ``p``, reused across steps; not saved."""
        array = self._scratch.get(p)
        if array is None or array.dtype != p.value.dtype or array.shape != p.value.shape:
            array = self._scratch[p] = np.empty_like(p.value)
        return array

    # -- state ------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Return the optimizer's state as a flat dict of Python scalars and arrays.

        Keys are the hyperparameters by name (a tuple such as ``betas`` is spread into
        ``betas.0`` and ``betas.1``), ``step_count``, ``num_parameters``, and
        ``state.<i>.<name>`` for the state arrays of ``params[i]`` (copies). Every
        value is a Python ``float``, ``int`` or ``bool`` or an ndarray, so the dict can
        be written to JSON plus a safetensors file.

        Examples
        --------
        >>> import numpy as np
        >>> from nnframe import Parameter
        >>> from nnframe.optim import SGD
        >>> opt = SGD([Parameter(np.zeros(2))], lr=0.1, momentum=0.9)
        >>> opt.step()
        >>> sorted(opt.state_dict())  # doctest: +NORMALIZE_WHITESPACE
        ['dampening', 'lr', 'momentum', 'nesterov', 'num_parameters',
         'state.0.momentum_buffer', 'step_count', 'weight_decay']
        """
        result = _flatten(self.hyperparameters())
        result["step_count"] = self.step_count
        result["num_parameters"] = len(self.params)
        for i, p in enumerate(self.params):
            for name, array in self.state[p].items():
                result[f"state.{i}.{name}"] = array.copy()
        return result

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore hyperparameters, step count and state arrays from :meth:`state_dict`.

        Everything is checked before anything changes: the keys, every hyperparameter,
        the number of parameters, and the shape and dtype of every state array against
        its parameter. The arrays are copied.

        Raises
        ------
        ArgumentTypeError
            When ``state`` is not a mapping.
        StateDictError
            Listing every mismatch; nothing has been changed.
        """
        owner = type(self).__name__
        if not isinstance(state, Mapping):
            raise ArgumentTypeError(
                f"{owner}.load_state_dict takes a mapping from state_dict(); "
                f"got {type(state).__name__}"
            )
        problems: list[str] = []
        used: set[str] = set()

        def take(key: str) -> Any:
            if key not in state:
                problems.append(f"missing: {key!r}")
                return None
            used.add(key)
            return state[key]

        values: dict[str, object] = {}
        for name, current in self.hyperparameters().items():
            if isinstance(current, tuple):
                items = [take(f"{name}.{i}") for i in range(len(current))]
                values[name] = tuple(items)
            else:
                values[name] = take(name)
        hyperparameters: dict[str, Any] = {}
        if not problems:
            try:
                hyperparameters = self.validate_hyperparameters(**values)
            except (ArgumentError, ArgumentTypeError) as error:
                problems.append(str(error))

        step_count = take("step_count")
        if "step_count" in state and (
            not is_integer(step_count)
            or step_count < 0
        ):
            problems.append(f"'step_count' must be a non-negative int; got {step_count!r}")
        count = take("num_parameters")
        if "num_parameters" in state and count != len(self.params):
            problems.append(
                f"'num_parameters': {count!r} in the state dict, {len(self.params)} "
                "in the optimizer"
            )

        arrays: dict[tuple[int, str], np.ndarray] = {}
        for key in state:
            if key in used:
                continue
            parts = key.split(".") if isinstance(key, str) else []
            if (
                len(parts) != 3
                or parts[0] != "state"
                or not parts[1].isdecimal()
                or parts[2] not in self.state_names
            ):
                problems.append(f"unexpected: {key!r}")
                continue
            index = int(parts[1])
            if index >= len(self.params):
                problems.append(
                    f"{key!r}: there is no parameter {parts[1]}; the optimizer has "
                    f"{len(self.params)}"
                )
                continue
            array = np.asarray(state[key])
            problem = state_mismatch(key, array, self.params[index].value, f"for params[{index}]")
            if problem is not None:
                problems.append(problem)
            else:
                arrays[index, parts[2]] = array
        if problems:
            raise StateDictError(
                f"{owner}.load_state_dict: the state dict does not match the optimizer; "
                "nothing was loaded:\n  " + "\n  ".join(problems)
            )
        self.__dict__.update(hyperparameters)
        self.step_count = int(step_count)
        self.state = {p: {} for p in self.params}
        for (index, name), array in arrays.items():
            self.state[self.params[index]][name] = array.copy()

    # -- display ----------------------------------------------------------------------

    def __repr__(self) -> str:
        n = len(self.params)
        settings = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({n} parameter{'s' if n != 1 else ''}, {settings})"
