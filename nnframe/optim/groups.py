"""Parameter groups: ParamGroup and the parsing of an optimizer's ``params`` argument."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from nnframe.errors import ArgumentError, ArgumentTypeError
from nnframe.parameter import Parameter

__all__ = ["GroupOwner", "ParamGroup", "as_parameter_list", "group_list", "group_specs"]


class GroupOwner(Protocol):
    """What a :class:`ParamGroup` reports its changes to: the optimizer holding it."""

    def set_group_values(self, group: ParamGroup, values: Mapping[str, object]) -> None:
        """Validate ``values`` for ``group`` and set them, or raise changing nothing."""


def _rebuild(values: dict[str, Any], owner: GroupOwner) -> ParamGroup:
    return ParamGroup(values, owner)


class ParamGroup(dict[str, Any]):
    """One parameter group of an optimizer: ``"params"`` and a value for every hyperparameter.

    An element of ``optimizer.param_groups``. It is a dict (PyTorch's shape) whose
    assignments are checked: ``group["lr"] = 0.01`` validates the value as the
    constructor would, and a bad value, an unknown key, replacing ``"params"`` or
    removing a key raises before anything changes. ``group["params"]`` is a tuple; add
    parameters with :meth:`Optimizer.add_param_group`.

    Parameters
    ----------
    values : mapping
        ``"params"`` and every hyperparameter, already validated.
    owner : Optimizer
        The optimizer the group belongs to; it validates assignments.

    Examples
    --------
    >>> import numpy as np
    >>> from nnframe import Parameter
    >>> from nnframe.optim import SGD
    >>> w, b = Parameter(np.ones(2)), Parameter(np.zeros(2))
    >>> opt = SGD([{"params": [w]}, {"params": [b], "lr": 0.01}], lr=0.1)
    >>> opt.param_groups[1]["lr"]
    0.01
    >>> opt.param_groups[0]["lr"] = -1.0
    Traceback (most recent call last):
    nnframe.errors.ArgumentError: SGD: param_groups[0]['lr'] must be >= 0; got -1
    """

    __slots__ = ("owner",)

    def __init__(self, values: Mapping[str, Any], owner: GroupOwner) -> None:
        super().__init__(values)
        self.owner = owner

    def __setitem__(self, key: str, value: Any) -> None:
        self.owner.set_group_values(self, {key: value})

    def update(self, *args: Any, **kwargs: Any) -> None:
        """Set several values at once, all checked before any is set."""
        self.owner.set_group_values(self, dict(*args, **kwargs))

    def setdefault(self, key: str, default: Any = None) -> Any:
        """Return ``self[key]``; set it to ``default`` first when absent (checked)."""
        if key not in self:
            self[key] = default
        return self[key]

    def __ior__(self, other: Any) -> ParamGroup:  # type: ignore[override,misc]
        self.update(other)
        return self

    def _refuse(self, *args: object) -> Any:
        raise ArgumentError(
            f"{type(self.owner).__name__}: a parameter group keeps all its keys; set a "
            "hyperparameter to another value instead of removing it"
        )

    __delitem__ = _refuse
    pop = _refuse
    popitem = _refuse
    clear = _refuse

    def __reduce__(self) -> tuple[Any, ...]:
        # copy and pickle would otherwise refill the dict through __setitem__, before
        # the owner is known.
        return (_rebuild, (dict(self), self.owner))


def _parameters(value: object, owner: str, where: str) -> list[Parameter]:
    """A group's ``params``: a Parameter or an ordered iterable of Parameters."""
    if isinstance(value, Parameter):
        return [value]
    if isinstance(value, set | frozenset | Mapping) or not isinstance(value, Iterable):
        raise ArgumentTypeError(
            f"{owner}: {where} must be a list of Parameters; got {type(value).__name__}"
        )
    try:
        items = list(value)
    except TypeError as error:
        raise ArgumentTypeError(
            f"{owner}: {where} must be a list of Parameters; got {type(value).__name__} "
            f"({error})"
        ) from None
    if not items:
        raise ArgumentError(f"{owner}: {where} is empty; a group needs a parameter")
    for j, p in enumerate(items):
        if not isinstance(p, Parameter):
            raise ArgumentTypeError(
                f"{owner}: {where}[{j}] must be a Parameter; got {type(p).__name__}"
            )
    return items


def group_specs(
    specs: list[Any], owner: str, known: tuple[str, ...], seen: dict[int, str], first: int = 0
) -> list[tuple[list[Parameter], dict[str, object]]]:
    """Check a list of group dicts; return each group's parameters and its own settings.

    Parameters
    ----------
    specs : list
        What the user passed: dicts with ``"params"`` and hyperparameters.
    owner : str
        The optimizer's class name, for messages.
    known : tuple of str
        The hyperparameter names a group may set.
    seen : dict of int to str
        ``id(parameter)`` to where it already is (``"param_groups[0]['params'][1]"``);
        updated with the new groups' parameters.
    first : int, default 0
        The index in ``param_groups`` the first spec will get.

    Raises
    ------
    ArgumentTypeError, ArgumentError
        Naming the group index and key: a group that is not a dict, one without
        ``"params"``, an unknown key, a Parameter in two places.
    """
    result = []
    added: dict[int, str] = {}
    for i, spec in enumerate(specs, start=first):
        where = f"param_groups[{i}]"
        if not isinstance(spec, Mapping):
            raise ArgumentTypeError(
                f"{owner}: {where} must be a dict with 'params'; got {type(spec).__name__}"
            )
        if "params" not in spec:
            raise ArgumentError(f"{owner}: {where} has no 'params' key; a group needs one")
        for key in spec:
            if key != "params" and key not in known:
                raise ArgumentError(
                    f"{owner}: {where} has the unknown key {key!r}; a group takes "
                    f"'params' and {', '.join(repr(k) for k in known)}"
                )
        params = _parameters(spec["params"], owner, f"{where}['params']")
        for j, p in enumerate(params):
            here = f"{where}['params'][{j}]"
            earlier = seen.get(id(p), added.get(id(p)))
            if earlier is not None:
                raise ArgumentError(
                    f"{owner}: {here} is the same Parameter as {earlier}; a Parameter "
                    "belongs to one group, once"
                )
            added[id(p)] = here
        result.append((params, {k: v for k, v in spec.items() if k != "params"}))
    seen.update(added)
    return result


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


def group_list(params: object, owner: str) -> list[Any] | None:
    """Return ``params`` as a list when it holds group dicts; None for a plain iterable.

    Raises
    ------
    ArgumentTypeError
        When dicts and other items are mixed.
    """
    if isinstance(params, Parameter | Mapping | set | frozenset) or not isinstance(
        params, list | tuple
    ):
        return None
    if not any(isinstance(item, Mapping) for item in params):
        return None
    for i, item in enumerate(params):
        if not isinstance(item, Mapping):
            raise ArgumentTypeError(
                f"{owner}: params mixes group dicts and other items: params[{i}] is a "
                f"{type(item).__name__}; put every Parameter in a group"
            )
    return list(params)
