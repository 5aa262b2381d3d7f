"""A model's architecture record: its layer spec, and the names of its shared arrays.

A config rebuilds one object per position, so a model in which one Parameter (or Buffer)
sits at two names (weight tying: ``decoder.weight = encoder.weight``) would come back with
two. The record therefore lists every further name of a shared array as an alias of the
name it is stored under; :func:`build_model` rebuilds the model from its config and then
ties each alias again, by setting the attribute at the alias's name to the primary object.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from nnframe.errors import SerializationError, one_line
from nnframe.layers.base import Layer
from nnframe.layers.registry import layer_from_spec, layer_to_spec
from nnframe.parameter import Buffer, Parameter

__all__ = ["build_model", "describe_model", "freeze_named", "frozen_names", "member_at"]


def describe_model(model: Layer, owner: str) -> tuple[dict[str, Any], dict[str, str]]:
    """Return the model's spec and its aliases, checking that loading can rebuild both.

    The model is rebuilt from its spec (a copy with fresh weights) and walked: a name the
    copy has and the model lacks is a second name of a shared object in the model. A
    shared Parameter or Buffer held as a layer attribute becomes an alias; anything else
    (a shared layer, an array shared from inside a list or tuple) is refused. Generators
    are left out: stochastic layers get theirs from their config.

    Parameters
    ----------
    model : Layer
    owner : str
        The public function's name, for error messages.

    Returns
    -------
    (dict, dict of str to str)
        ``layer_to_spec(model)``, and ``{alias: primary name}`` in walk order (empty for
        a model without sharing).

    Raises
    ------
    SerializationError
        When a layer is not registered, a config value cannot be written, or the model
        shares something a file cannot record; nothing has been written.
    """
    spec = layer_to_spec(model)
    try:
        rebuilt = layer_from_spec(spec)
    except SerializationError as error:
        raise SerializationError(
            f"{owner}: the model cannot be rebuilt from its own architecture: {error}"
        ) from error
    named = dict(model.walk())
    first = {id(obj): name for name, obj in named.items()}
    layers = dict(model.named_layers())
    aliases: dict[str, str] = {}
    for name, copy in rebuilt.walk():
        if name in named or isinstance(copy, np.random.Generator):
            continue
        held = member_at(layers, name)
        primary = None if held is None else first.get(id(held))
        if isinstance(copy, Layer):
            raise SerializationError(
                f"{owner}: {name} is the same object as {primary!r}; an architecture cannot "
                "express sharing of layers, so save the weights with nnframe.save_weights "
                "and build the model in code"
            )
        prefix, _, attribute = name.rpartition(".")
        owner_layer = layers.get(prefix)
        if (
            primary is None
            or owner_layer is None
            or getattr(owner_layer, attribute, None) is not held
        ):
            raise SerializationError(
                f"{owner}: {name!r} is the same {type(copy).__name__} as "
                f"{primary or 'another name'!r} inside a list, tuple or other container, "
                "where loading cannot tie it again; share it as a layer attribute "
                "(decoder.weight = encoder.weight), or save the weights with "
                "nnframe.save_weights and build the model in code"
            )
        aliases[name] = primary
    if aliases:
        _tie(rebuilt, aliases, owner)  # the very steps load takes, on the copy
    return spec, aliases


def build_model(spec: object, aliases: object, where: str) -> Layer:
    """Build a model from its spec and tie its aliases again (see :func:`describe_model`).

    Parameters
    ----------
    spec : object
        A layer spec read from a file.
    aliases : object
        ``{alias: primary name}`` read from the same file.
    where : str
        The file, for error messages.

    Returns
    -------
    Layer
        A new model with fresh weights, the aliases' names holding their primary objects.

    Raises
    ------
    SerializationError
        For a spec the registry refuses, or an alias that names no attribute of a layer,
        no Parameter or Buffer, or one of another kind, shape or dtype than its primary.
    """
    try:
        model = layer_from_spec(spec)
    except SerializationError as error:
        raise SerializationError(f"{where}: {error}") from error
    if not isinstance(aliases, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in aliases.items()
    ):
        raise SerializationError(f"{where}: the aliases must map names to names")
    if aliases:
        _tie(model, aliases, where)
    return model


def frozen_names(model: Layer) -> list[str]:
    """Return the names of the model's frozen parameters (``requires_grad`` False)."""
    return [name for name, p in model.named_parameters() if not p.requires_grad]


def freeze_named(model: Layer, names: object, where: str) -> None:
    """Freeze the parameters ``names`` (read from a file) of a freshly built model.

    Raises
    ------
    SerializationError
        When ``names`` is not a list of the model's parameter names; nothing is frozen.
    """
    params = dict(model.named_parameters())
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise SerializationError(f"{where}: the frozen parameters must be a list of names")
    unknown = [name for name in names if name not in params]
    if unknown:
        raise SerializationError(
            f"{where}: frozen parameters the model does not have: {', '.join(unknown[:5])}"
        )
    for name in names:
        params[name].requires_grad = False


def member_at(layers: Mapping[str, Layer], name: str) -> Any:
    """Return the object at dotted ``name``, or None when there is none.

    The longest prefix of ``name`` in ``layers`` (``dict(model.named_layers())``) is the
    layer; the next segment one of its :meth:`~nnframe.Layer.named_members`; further
    segments index lists and tuples.

    Examples
    --------
    >>> import nnframe as nf
    >>> model = nf.Sequential(nf.Linear(2, 2, rng=0))
    >>> member_at(dict(model.named_layers()), "0.weight") is model[0].weight
    True
    """
    parts = name.split(".")
    for cut in range(len(parts) - 1, -1, -1):
        layer = layers.get(".".join(parts[:cut]))
        if layer is None:
            continue
        rest = parts[cut:]
        value = dict(layer.named_members()).get(rest[0])
        for index in rest[1:]:
            if not isinstance(value, list | tuple) or not index.isdecimal():
                return None
            position = int(index)
            value = value[position] if position < len(value) else None
        return value
    return None


def _tie(model: Layer, aliases: Mapping[str, str], where: str) -> None:
    objects = dict(model.walk())
    layers = dict(model.named_layers())
    ties = []
    for alias, primary in aliases.items():
        prefix, _, attribute = alias.rpartition(".")
        owner = layers.get(prefix)
        current = getattr(owner, attribute, None) if owner is not None else None
        problem = _tie_problem(alias, primary, aliases, objects, current)
        if problem is not None:
            raise SerializationError(f"{where}: cannot tie {alias!r} to {primary!r}: {problem}")
        ties.append((owner, attribute, objects[primary], alias, primary))
    for owner, attribute, target, alias, primary in ties:
        try:
            setattr(owner, attribute, target)
        except Exception as error:
            raise SerializationError(
                f"{where}: cannot tie {alias!r} to {primary!r}: setting the attribute "
                f"raised {type(error).__name__}: {one_line(error)}"
            ) from error
    left = [alias for alias, _ in model.walk() if alias in aliases]
    if left:
        raise SerializationError(f"{where}: cannot tie {left[0]!r} to {aliases[left[0]]!r}")


def _tie_problem(
    alias: str,
    primary: str,
    aliases: Mapping[str, str],
    objects: Mapping[str, object],
    current: object,
) -> str | None:
    target = objects.get(primary)
    if primary in aliases or alias == primary:
        return f"{primary!r} is itself an alias"
    if not isinstance(target, Parameter | Buffer):
        return f"the model has no Parameter or Buffer {primary!r}"
    if not isinstance(current, Parameter | Buffer) or objects.get(alias) is not current:
        return f"{alias!r} is not a Parameter or Buffer attribute of a layer"
    if type(current) is not type(target):
        return f"one is a {type(current).__name__}, the other a {type(target).__name__}"
    if current.value.shape != target.value.shape or current.value.dtype != target.value.dtype:
        return (
            f"their shapes or dtypes differ ({current.value.shape} {current.value.dtype} "
            f"and {target.value.shape} {target.value.dtype})"
        )
    return None
