"""The layer checks of state: modes, state dicts, dtype conversion, parameter discovery."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from nnframe.layers.base import Layer, slot_names
from nnframe.parameter import Buffer, Parameter
from nnframe.testing._common import (
    LayerLike,
    assert_close,
    copy_generator_states,
    describe_sub,
    fail,
    fresh_layer,
    input_grad_of,
    layer_dtype,
    layer_factory,
    named_check,
    perturb,
    random_like,
    seeded_rng,
)

__all__ = [
    "check_astype",
    "check_parameter_discovery",
    "check_state_dict_round_trip",
    "check_train_eval_modes",
    "reachable",
]


def attributes_of(obj: Layer) -> Iterator[tuple[str, Any]]:
    """Yield every attribute of ``obj``: attrs fields, slots and ``__dict__``, but the cache."""
    names: list[str] = []
    if attrs.has(type(obj)):
        names += [f.name for f in attrs.fields(type(obj))]  # type: ignore[arg-type]
    names += list(slot_names(type(obj)))
    names += list(getattr(obj, "__dict__", {}))
    seen = set()
    for name in names:
        if name in seen or name == "_cache":
            continue
        seen.add(name)
        try:
            value = getattr(obj, name)
        except AttributeError:
            continue
        yield name, value


def reachable(layer: Layer) -> list[tuple[str, Any]]:
    """Walk a layer by brute force: every Layer, Parameter and Buffer it refers to.

    Looks through every attribute (attrs fields, slots, ``__dict__``), list, tuple and
    dict value, recursively, and returns ``(path, object)`` for each object once, by
    identity, at its first path (``"layer.blocks[1].weight"``). It is deliberately wider
    than ``named_parameters()`` (which ignores dicts), so that a Parameter discovery
    misses shows up.
    """
    found: list[tuple[str, Any]] = []
    seen: set[int] = set()

    def visit(path: str, obj: Any) -> None:
        if isinstance(obj, Parameter | Buffer | Layer):
            if id(obj) in seen:
                return
            seen.add(id(obj))
            found.append((path, obj))
            if isinstance(obj, Layer):
                for name, value in attributes_of(obj):
                    visit(f"{path}.{name}", value)
        elif isinstance(obj, list | tuple | dict):
            if id(obj) in seen:
                return
            seen.add(id(obj))
            items = obj.items() if isinstance(obj, dict) else enumerate(obj)
            for key, value in items:
                visit(f"{path}[{key!r}]", value)

    visit("layer", layer)
    return found




@named_check
def check_train_eval_modes(
    make_layer: LayerLike, x: np.ndarray, *, seed: int = 0, dtype: npt.DTypeLike | None = None
) -> None:
    """``train()`` and ``eval()`` return the layer and set every sub-layer's mode.

    Sub-layers are found by a brute-force walk (every attribute, list, tuple and dict),
    not by the layer's own discovery.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> check_train_eval_modes(nf.Sequential(nf.Linear(3, 2, rng=0), nf.ReLU()), np.ones((1, 3)))
    """
    name = "check_train_eval_modes"
    layer = fresh_layer(layer_factory(make_layer), layer_dtype(x, dtype))
    for call, want in (("eval()", False), ("train()", True), ("train(False)", False)):
        if call == "eval()":
            result = layer.eval()
        elif call == "train()":
            result = layer.train()
        else:
            result = layer.train(False)
        if result is not layer:
            fail(name, f"for the return value: {call} returned {result!r}, not the layer itself")
        for path, obj in reachable(layer):
            if isinstance(obj, Layer) and obj.training is not want:
                fail(
                    name,
                    f"for {describe_sub(path)}: after {call} its training flag is "
                    f"{obj.training!r}; expected {want} on every sub-layer",
                )


@named_check
def check_state_dict_round_trip(
    make_layer: LayerLike, x: np.ndarray, *, seed: int = 0, dtype: npt.DTypeLike | None = None
) -> None:
    """``state_dict()`` loaded into a new layer gives identical values and outputs.

    The source layer's parameters and buffers are perturbed first, so the new layer
    starts different; outputs are compared in evaluation mode, with generators copied.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> check_state_dict_round_trip(nf.Linear(3, 2, rng=0), np.ones((2, 3)))
    """
    name = "check_state_dict_round_trip"
    build = layer_factory(make_layer)
    want = layer_dtype(x, dtype)
    source, target = fresh_layer(build, want), fresh_layer(build, want)
    perturb(source, seeded_rng(seed))
    state = source.state_dict()
    target.load_state_dict(state)
    loaded = target.state_dict()
    if set(loaded) != set(state):
        fail(name, f"for the keys: {sorted(loaded)} after loading {sorted(state)}")
    for key, value in state.items():
        assert_close(name, key, loaded[key], value, explain="load_state_dict did not copy it")
    source.eval()
    target.eval()
    copy_generator_states(source, target)
    assert_close(
        name, "output", target(x), source(x),
        explain="the output of a layer loaded from the state dict differs from the "
        "original's: the output depends on something state_dict() leaves out (an array "
        "that is not a Parameter or Buffer, or one that discovery does not find)",
    )


@named_check
def check_astype(
    make_layer: LayerLike, x: np.ndarray, *, seed: int = 0, dtype: npt.DTypeLike | None = None
) -> None:
    """``astype`` converts every parameter, gradient and buffer, and the computation.

    From ``dtype`` (by default ``x.dtype``; float32 for integer indices) to the other of
    float32 and float64: values are kept (rounded), ``astype`` returns the layer, and
    forward and backward then work in the new dtype (float input converted too).

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> check_astype(nf.Linear(3, 2, rng=0), np.ones((2, 3), np.float32))
    """
    name = "check_astype"
    first = layer_dtype(x, dtype)
    layer = fresh_layer(layer_factory(make_layer), first)
    rng = seeded_rng(seed)
    y = layer(x)
    layer.backward(random_like(rng, y))  # so that the gradients hold something
    other = np.dtype(np.float64 if first == np.float32 else np.float32)
    before = {path: (p.value.copy(), p.grad.copy()) for path, p in layer.named_parameters()}
    result = layer.astype(other)
    if result is not layer:
        fail(name, f"for the return value: astype returned {result!r}, not the layer itself")

    def dtypes_are(when: str) -> None:
        for path, obj in reachable(layer):
            arrays = {}
            if isinstance(obj, Parameter):
                arrays = {f"{path}.value": obj.value, f"{path}.grad": obj.grad}
            elif isinstance(obj, Buffer):
                arrays = {f"{path}.value": obj.value}
            for what, array in arrays.items():
                if array.dtype != other:
                    fail(name, f"for {what}: dtype {array.dtype} {when}; expected {other}")

    dtypes_are(f"after astype({other})")
    for path, p in layer.named_parameters():
        value, grad = before[path]
        assert_close(name, path, p.value, value.astype(other), explain="astype changed the value")
        assert_close(name, f"{path}.grad", p.grad, grad.astype(other), explain="astype changed it")
    x_other = x.astype(other) if x.dtype.kind == "f" else x  # indices stay integers
    y = layer(x_other)
    if y.dtype != other:
        fail(name, f"for output: dtype {y.dtype} after astype({other}) and a {other} input")
    grad_x = input_grad_of(layer, random_like(rng, y), name)
    if grad_x is not None and grad_x.dtype != other:
        fail(name, f"for the input gradient: dtype {grad_x.dtype} after astype({other})")
    dtypes_are(f"after astype({other}) and a forward/backward pass")


@named_check
def check_parameter_discovery(
    make_layer: LayerLike, x: np.ndarray, *, seed: int = 0, dtype: npt.DTypeLike | None = None
) -> None:
    """``parameters()`` and ``named_buffers()`` find every Parameter and Buffer exactly once.

    Compares, by identity, with a brute-force walk over the layer's attributes, attrs
    fields, lists, tuples, dicts and sub-layers; also checks that names are unique, the
    order repeatable, and ``state_dict()`` keyed by exactly those names.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> check_parameter_discovery(nf.Sequential(nf.Linear(3, 2, rng=0)), np.ones((1, 3)))
    """
    name = "check_parameter_discovery"
    layer = fresh_layer(layer_factory(make_layer), layer_dtype(x, dtype))
    walked = reachable(layer)
    for kind, cls, listed in (
        ("Parameter", Parameter, layer.named_parameters()),
        ("Buffer", Buffer, layer.named_buffers()),
    ):
        method = "named_parameters()" if cls is Parameter else "named_buffers()"
        by_id: dict[int, str] = {}
        for path, obj in listed:
            if id(obj) in by_id:
                fail(name, f"for {path}: {method} lists it twice (also as {by_id[id(obj)]!r})")
            by_id[id(obj)] = path
        names = [path for path, _ in listed]
        if len(set(names)) != len(names):
            fail(name, f"for the names: {method} repeats a name: {names}")
        truth = {id(obj): path for path, obj in walked if isinstance(obj, cls)}
        for ident, path in truth.items():
            if ident not in by_id:
                fail(
                    name,
                    f"for {path}: this {kind} is not found by {method}; discovery looks "
                    "through attrs fields, instance attributes, lists and tuples, and "
                    "sub-layers (not dicts or other containers)",
                )
        for ident, path in by_id.items():
            if ident not in truth:
                fail(name, f"for {path}: {method} lists a {kind} the layer does not hold")
        listed_again = layer.named_parameters() if cls is Parameter else layer.named_buffers()
        again = [path for path, _ in listed_again]
        if again != names:
            fail(name, f"for the order: {method} gave {names}, then {again}")
    expected_keys = [p for p, _ in layer.named_parameters()] + [p for p, _ in layer.named_buffers()]
    keys = list(layer.state_dict())
    if sorted(keys) != sorted(expected_keys):
        fail(name, f"for state_dict(): keys {keys}; expected {expected_keys}")

