"""Optimizer, the base class of every nnframe optimizer."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import numpy as np

from nnframe.checks import is_integer, non_negative, state_mismatch
from nnframe.errors import ArgumentError, ArgumentTypeError, StateDictError
from nnframe.optim.groups import ParamGroup, as_parameter_list, group_list, group_specs
from nnframe.optim.hyperparameters import HasHyperparameters, Hyperparameter
from nnframe.parameter import Parameter

__all__ = ["Optimizer", "as_parameter_list"]


def _index(text: str) -> int | None:
    """``text`` as an index when it is one written in ASCII digits, without leading zeros.

    ``str.isdecimal`` and ``int`` also take other scripts' digits (an Arabic-Indic zero)
    and ``"00"``, which would name index 0 a second way.
    """
    if text == "0" or (text[:1] in "123456789" and text.isascii() and text.isdigit()):
        return int(text)
    return None


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
    ``p.value`` in place from ``p.grad``, reading the hyperparameters as attributes
    (``self.lr``): while :meth:`step` updates a parameter, they hold the values of that
    parameter's group. Per-parameter state (momentum buffers, moment estimates) lives
    in :attr:`state`, a dict keyed by Parameter identity, and is allocated once, at the
    first step that needs it.

    Parameters
    ----------
    params : iterable of Parameter, or list of dict
        The parameters to optimize, in a fixed order (``model.parameters()``); turned
        into a list. Empty iterables, sets and repeated Parameters are rejected. Frozen
        parameters may be listed: :meth:`step` skips them while they are frozen. Or
        parameter groups, PyTorch's shape: dicts ``{"params": [...], "lr": ...}``,
        each with its own values for some hyperparameters; the others come from the
        keyword arguments.
    **hyperparameters
        A value for every declared hyperparameter, ``lr`` included: the defaults of
        the groups.

    Attributes
    ----------
    param_groups : list of ParamGroup
        One dict per group with ``"params"`` (a tuple) and every hyperparameter.
        Assignments are validated (``param_groups[1]["lr"] = 0.01``; schedules write
        them). A single list of parameters makes one group.
    params : list of Parameter
        Every parameter, group after group, in the order given; ``state_dict`` refers
        to them by index.
    defaults : dict
        The hyperparameters given to the constructor, which groups fall back to.
    lr : float
        The learning rate. Setting it sets every group's (validated); reading it gives
        the groups' common value, and raises ``ArgumentError`` when they differ (read
        ``param_groups[i]["lr"]`` then). The same holds for every hyperparameter.
    state : dict of Parameter to dict of str to ndarray
        Per-parameter state arrays, same shape and dtype as the parameter.
    step_count : int
        The number of completed calls to :meth:`step`.
    state_names : tuple of str
        Class attribute: the names of the state arrays the optimizer may keep.

    Notes
    -----
    ``step_count`` is one count for the whole optimizer (Adam's bias correction reads
    it). PyTorch counts steps per parameter, which differs only for parameters added
    with :meth:`add_param_group` after the first step, or frozen for some steps.

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

    It takes parameter groups too:

    >>> b = Parameter(np.array([1.0]))
    >>> opt = SignSGD([{"params": [w]}, {"params": [b], "lr": 0.25}], lr=0.5)
    >>> b.grad[...] = 2.0
    >>> opt.step()
    >>> w.value, b.value
    (array([0., 2.]), array([0.75]))
    >>> opt
    SignSGD(2 parameters in 2 groups, lr=[0.5, 0.25])
    """

    lr = Hyperparameter(non_negative)
    state_names: ClassVar[tuple[str, ...]] = ()

    def __init__(self, params: Iterable[Any], **hyperparameters: object) -> None:
        owner = type(self).__name__
        names = self.hyperparameter_names()
        missing = [name for name in names if name not in hyperparameters]
        if missing:
            raise ArgumentTypeError(f"{owner}: missing hyperparameters {', '.join(missing)}")
        self._names: tuple[str, ...] = names
        defaults = self.validate_hyperparameters(**hyperparameters)
        specs = group_list(params, owner)
        if specs is None:
            groups: list[tuple[list[Parameter], dict[str, object]]] = [
                (as_parameter_list(params, owner), {})
            ]
        else:
            groups = group_specs(specs, owner, names, {})
        checked = [
            self._checked(values, f"param_groups[{i}]", defaults)
            for i, (_, values) in enumerate(groups)
        ]
        self.defaults: dict[str, Any] = defaults
        self.param_groups: list[ParamGroup] = [
            ParamGroup({"params": tuple(group), **defaults, **values}, self)
            for (group, _), values in zip(groups, checked, strict=True)
        ]
        self.params = [p for group, _ in groups for p in group]
        self.state: dict[Parameter, dict[str, np.ndarray]] = {p: {} for p in self.params}
        self.step_count = 0
        self._scratch: dict[Parameter, np.ndarray] = {}
        self._sync()

    # -- groups -----------------------------------------------------------------------

    def add_param_group(self, group: Mapping[str, Any]) -> None:
        """Add a parameter group, as ``torch.optim.Optimizer.add_param_group``.

        Hyperparameters it does not set come from :attr:`defaults`. Its parameters
        join :attr:`params` at the end, with empty state.

        Parameters
        ----------
        group : dict
            ``{"params": [...], <hyperparameter>: value, ...}``.

        Raises
        ------
        ArgumentTypeError, ArgumentError
            For a group that is not a dict, has no ``"params"``, an unknown key, a bad
            value or a Parameter the optimizer already has; nothing is changed.

        Examples
        --------
        >>> import numpy as np
        >>> from nnframe import Parameter
        >>> from nnframe.optim import SGD
        >>> opt = SGD([Parameter(np.zeros(2))], lr=0.1)
        >>> opt.add_param_group({"params": [Parameter(np.zeros(3))], "lr": 0.01})
        >>> [g["lr"] for g in opt.param_groups], len(opt.params)
        ([0.1, 0.01], 2)
        """
        owner = type(self).__name__
        seen = {
            id(p): f"param_groups[{i}]['params'][{j}]"
            for i, g in enumerate(self.param_groups)
            for j, p in enumerate(g["params"])
        }
        index = len(self.param_groups)
        [(params, values)] = group_specs([group], f"{owner}.add_param_group", self._names,
                                         seen, first=index)
        values = self._checked(values, f"param_groups[{index}]", self.defaults)
        self.param_groups.append(ParamGroup({"params": tuple(params), **self.defaults,
                                             **values}, self))
        self.params.extend(params)
        for p in params:
            self.state[p] = {}
        self._sync()

    def set_group_values(self, group: ParamGroup, values: Mapping[str, object]) -> None:
        """Validate ``values`` for one of :attr:`param_groups` and set them, all or none.

        ``group[key] = value`` calls it. Raises naming the group index and key.
        """
        owner = type(self).__name__
        index = next((i for i, g in enumerate(self.param_groups) if g is group), None)
        if index is None:
            raise ArgumentError(f"{owner}: the group is no longer in param_groups")
        where = f"param_groups[{index}]"
        if "params" in values:
            raise ArgumentError(
                f"{owner}: {where}['params'] cannot be replaced; add parameters with "
                "add_param_group"
            )
        for key in values:
            if key not in self._names:
                raise ArgumentError(
                    f"{owner}: {where} has no key {key!r}; a group has 'params' and "
                    f"{', '.join(repr(k) for k in self._names)}"
                )
        checked = self._checked(values, where, group)
        dict.update(group, checked)
        self._sync()

    def set_hyperparameters(self, **values: object) -> None:
        """Validate and set hyperparameters in every group; on an error nothing changes.

        ``optimizer.lr = 0.01`` calls it.
        """
        several = len(self.param_groups) > 1
        checked = self.validate_hyperparameters(**values) if not several else None
        if several:
            for i, group in enumerate(self.param_groups):
                checked = self._checked(values, f"param_groups[{i}]", group, named=True)
        assert checked is not None
        for group in self.param_groups:
            dict.update(group, checked)
        self._sync()

    def _checked(
        self,
        values: Mapping[str, object],
        where: str,
        base: Mapping[str, Any],
        named: bool = False,
    ) -> dict[str, Any]:
        """Check ``values`` one by one, then merged into ``base``, naming ``where``."""
        owner = type(self).__name__
        cls = type(self)
        for name in values:
            if name not in self._names:
                raise ArgumentError(
                    f"{owner}: there is no hyperparameter {name!r}; "
                    f"the hyperparameters are {', '.join(self._names)}"
                )
        checked = {
            name: getattr(cls, name).check(
                value, f"{owner}: {name}" if named else f"{owner}: {where}[{name!r}]"
            )
            for name, value in values.items()
        }
        merged = {name: base[name] for name in self._names if name in base}
        merged.update(checked)
        if len(merged) == len(self._names):
            try:
                self.check_hyperparameters(merged)
            except ArgumentError as error:
                message = str(error).removeprefix(f"{owner}: ")
                raise ArgumentError(f"{owner}: {where}: {message}") from None
        return checked

    def _sync(self) -> None:
        # The attributes (self.lr) hold the groups' common values; a value that differs
        # between groups is absent, so that reading it raises (see missing_hyperparameter).
        groups = self.param_groups
        attributes = self.__dict__
        for name in self._names:
            value = groups[0][name]
            if all(g[name] == value for g in groups[1:]):
                attributes[name] = value
            else:
                attributes.pop(name, None)

    def missing_hyperparameter(self, name: str) -> Exception:
        """Return the error for reading a hyperparameter whose groups differ."""
        if len(self.__dict__.get("param_groups", ())) > 1:
            values = ", ".join(repr(g[name]) for g in self.param_groups)
            return ArgumentError(
                f"{type(self).__name__}: the parameter groups have different {name} "
                f"({values}); read param_groups[i][{name!r}]"
            )
        return super().missing_hyperparameter(name)

    def group_hyperparameters(self) -> list[dict[str, Any]]:
        """Return each group's hyperparameters (without ``"params"``), as new dicts."""
        return [{name: g[name] for name in self._names} for g in self.param_groups]

    # -- the update -------------------------------------------------------------------

    def step(self) -> None:
        """Update every parameter once from its accumulated gradient, in place.

        Increments :attr:`step_count`, then calls :meth:`update` for each parameter in
        order, except frozen ones (``requires_grad`` False), which keep their values
        and state; with several groups, the hyperparameter attributes hold each group's
        values while its parameters are updated. Gradients are left as they are: call
        :meth:`zero_grad` before the next backward pass.
        """
        self.step_count += 1
        groups = self.param_groups
        if len(groups) == 1:
            for p in self.params:
                if p.requires_grad:
                    self.update(p)
            return
        attributes = self.__dict__
        try:
            for group in groups:
                for name in self._names:
                    attributes[name] = group[name]
                for p in group["params"]:
                    if p.requires_grad:
                        self.update(p)
        finally:
            self._sync()

    def update(self, p: Parameter) -> None:
        """Update one parameter in place; :meth:`step` calls it after counting the step.

        Implementations change the array ``p.value`` in place and compute in its dtype
        (hyperparameters are Python floats, which do not promote float32 arrays):
        ``p.value -= step`` or ``out=p.value``. The hyperparameter attributes
        (``self.lr``) hold the values of ``p``'s group.
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

        Keys are ``step_count``, ``num_parameters``, ``state.<i>.<name>`` for the state
        arrays of ``params[i]`` (copies), and the hyperparameters (a tuple such as
        ``betas`` is spread into ``betas.0`` and ``betas.1``): with one group, by name
        (``lr``); with several, ``param_groups.<g>.<name>`` for group ``g``, with
        ``param_groups.<g>.num_parameters``, its number of parameters (the groups hold
        consecutive runs of :attr:`params`). Every value is a Python ``float``, ``int``
        or ``bool`` or an ndarray, so the dict can be written to JSON plus a safetensors
        file.

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
        >>> opt.add_param_group({"params": [Parameter(np.zeros(1))], "lr": 0.01})
        >>> opt.state_dict()["param_groups.1.lr"], opt.state_dict()["param_groups.1.num_parameters"]
        (0.01, 1)
        """
        result: dict[str, Any] = {}
        if len(self.param_groups) == 1:
            result.update(_flatten(self.group_hyperparameters()[0]))
        else:
            for g, group in enumerate(self.param_groups):
                prefix = f"param_groups.{g}."
                for key, value in _flatten({n: group[n] for n in self._names}).items():
                    result[prefix + key] = value
                result[prefix + "num_parameters"] = len(group["params"])
        result["step_count"] = self.step_count
        result["num_parameters"] = len(self.params)
        for i, p in enumerate(self.params):
            for name, array in self.state[p].items():
                result[f"state.{i}.{name}"] = array.copy()
        return result

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore hyperparameters, step count and state arrays from :meth:`state_dict`.

        Everything is checked before anything changes: the keys, the number of groups
        and of parameters in each, every hyperparameter, and the shape and dtype of
        every state array against its parameter. The arrays are copied.

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

        missing = object()

        def take(key: str) -> Any:
            if key not in state:
                problems.append(f"missing: {key!r}")
                return missing
            used.add(key)
            return state[key]

        groups = self.param_groups
        indices = {
            index
            for key in state
            if isinstance(key, str)
            and key.startswith("param_groups.")
            and (index := _index(key.split(".")[1])) is not None
        }
        n_groups = max(indices) + 1 if indices else 1
        loaded: list[dict[str, Any]] = []
        if n_groups != len(groups):
            problems.append(
                f"the state dict has {n_groups} parameter group{'s' * (n_groups != 1)}, "
                f"the optimizer {len(groups)}"
            )
            used.update(k for k in state if isinstance(k, str) and k.startswith("param_groups."))
        else:
            for g, group in enumerate(groups):
                prefix = "" if n_groups == 1 else f"param_groups.{g}."
                values: dict[str, object] = {}
                for name in self._names:
                    current = group[name]
                    if isinstance(current, tuple):
                        values[name] = tuple(take(f"{prefix}{name}.{i}")
                                             for i in range(len(current)))
                    else:
                        values[name] = take(prefix + name)
                if n_groups > 1:
                    count = take(prefix + "num_parameters")
                    if count is not missing and count != len(group["params"]):
                        problems.append(
                            f"{prefix + 'num_parameters'!r}: {count!r} in the state dict, "
                            f"{len(group['params'])} in param_groups[{g}]"
                        )
                if any(
                    value is missing or (isinstance(value, tuple) and missing in value)
                    for value in values.values()
                ):
                    continue
                try:
                    if n_groups == 1:
                        loaded.append(self.validate_hyperparameters(**values))
                    else:
                        loaded.append(self._checked(values, f"param_groups[{g}]", {}))
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
            index = _index(parts[1]) if len(parts) == 3 else None
            if index is None or parts[0] != "state" or parts[2] not in self.state_names:
                problems.append(f"unexpected: {key!r}")
                continue
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
        for group, values in zip(groups, loaded, strict=True):
            dict.update(group, values)
        self._sync()
        self.step_count = int(step_count)
        self.state = {p: {} for p in self.params}
        for (index, name), array in arrays.items():
            self.state[self.params[index]][name] = array.copy()

    # -- display ----------------------------------------------------------------------

    def __repr__(self) -> str:
        n = len(self.params)
        shown = f"{n} parameter{'s' if n != 1 else ''}"
        groups = self.group_hyperparameters()
        if len(groups) > 1:
            shown += f" in {len(groups)} groups"
        settings = []
        for name in self._names:
            values = [g[name] for g in groups]
            same = all(v == values[0] for v in values)
            settings.append(f"{name}={values[0]!r}" if same else f"{name}={values!r}")
        return f"{type(self).__name__}({shown}, {', '.join(settings)})"

