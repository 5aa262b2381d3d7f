"""The layer contract as ``check_<property>`` functions, one input at a time.

Each check takes a layer (or a zero-argument factory), an input batch ``x`` and a seed,
builds its own layers (a ``clone()`` of the given layer, or new ones from the factory)
converted with ``astype`` to ``x``'s dtype and put in training mode, and raises
``AssertionError`` naming itself, the tensor and the worst index when the contract is
broken. :func:`nnframe.testing.check_layer` runs them all with hypothesis; call one
directly to pin down an example.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import attrs
import numpy as np

from nnframe.errors import CacheMissError
from nnframe.grad_mode import no_grad
from nnframe.gradcheck import gradcheck
from nnframe.layers.base import Layer, slot_names
from nnframe.parameter import Buffer, Parameter
from nnframe.testing._common import (
    assert_close,
    copy_generator_states,
    factory_for,
    fail,
    named_check,
    random_like,
    replayer,
    tolerance,
)
from nnframe.testing.strategies import (
    input_kinks,
    is_batch_independent,
    is_stochastic,
    off_kinks,
)

__all__ = [
    "LayerLike",
    "check_astype",
    "check_backward_shape_and_dtype",
    "check_backward_without_forward_raises",
    "check_batch_independence",
    "check_cache_per_instance",
    "check_forward_shape_and_dtype",
    "check_gradients",
    "check_gradients_accumulate",
    "check_input_unmodified",
    "check_no_grad_leaves_no_cache",
    "check_parameter_discovery",
    "check_state_dict_round_trip",
    "check_train_eval_modes",
    "layer_factory",
]

#: A layer, or a function of no arguments that builds a new one.
LayerLike = Layer | Callable[[], Layer]



def _input_grad(layer: Layer, grad_y: np.ndarray, name: str) -> np.ndarray:
    """Run ``layer.backward`` and insist on an array: the checks always want the input gradient."""
    grad_x = layer.backward(grad_y, input_grad=True)
    if not isinstance(grad_x, np.ndarray):
        fail(name, f"for the input gradient: backward returned a {type(grad_x).__name__}")
    return grad_x

def layer_factory(make_layer: LayerLike) -> Callable[[], Layer]:
    """Return a function that builds a new, independent layer on every call.

    A layer is cloned (its parameters, buffers, generators and mode copied; its cache
    dropped), so the original is never touched. A factory is called and its result
    checked to be a Layer.

    Examples
    --------
    >>> import nnframe as nf
    >>> original = nf.Linear(3, 2, rng=0)
    >>> build = layer_factory(original)
    >>> build() is original, build() is build()
    (False, False)
    """
    return factory_for(make_layer, Layer)


def _fresh(build: Callable[[], Layer], dtype: np.dtype) -> Layer:
    layer = build()
    # Not chained: check_astype, not every check, should report an astype returning None.
    layer.astype(dtype)
    layer.train()
    return layer


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _scale(*arrays: np.ndarray) -> float:
    """max(1, largest finite magnitude): the size rounding errors are relative to."""
    largest = 1.0
    for a in arrays:
        finite = np.abs(a[np.isfinite(a)]) if a.size else a
        if finite.size:
            largest = max(largest, float(np.max(finite)))
    return largest


def _other_input(x: np.ndarray, kinks: tuple[float, ...], rng: np.random.Generator) -> np.ndarray:
    """A new input like ``x`` (shape, dtype, magnitude), different from it, off the kinks."""
    size = max(1.0, float(np.max(np.abs(x)))) if x.size else 1.0
    fresh = rng.uniform(-size, size, x.shape) + np.where(x >= 0, -0.5, 0.5)
    return off_kinks(fresh, kinks).astype(x.dtype)


def _perturb(layer: Layer, rng: np.random.Generator) -> None:
    """Move every parameter and buffer a little, so a default initial value hides nothing.

    Parameters become ``value * U(0.75, 1.25) + N(0, 0.1)``; buffers
    ``value * U(0.5, 1.5) + 0.1 * |N(0, 1)|``, which keeps positive ones (variances)
    positive. In place, keeping dtypes.
    """
    for _, p in layer.named_parameters():
        p.value[...] = p.value * rng.uniform(0.75, 1.25, p.shape) + rng.normal(0, 0.1, p.shape)
    for _, b in layer.named_buffers():
        shape = b.value.shape
        b.value[...] = b.value * rng.uniform(0.5, 1.5, shape) + 0.1 * np.abs(rng.normal(size=shape))


def _with_cache(layer: Layer) -> list[str]:
    return [
        name or "(the layer itself)"
        for name, sub in layer.named_layers()
        if sub._cache is not None
    ]


def _describe_sub(path: str) -> str:
    return "the layer itself" if path == "layer" else path


# -- brute-force discovery -------------------------------------------------------------


def _attributes(obj: Layer) -> Iterator[tuple[str, Any]]:
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
                for name, value in _attributes(obj):
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


# -- the checks --------------------------------------------------------------------------


@named_check
def check_forward_shape_and_dtype(make_layer: LayerLike, x: np.ndarray, *, seed: int = 0) -> None:
    """Forward keeps the batch size and the dtype, in training and in evaluation mode.

    The layer is converted to ``x.dtype`` first; its output, and its buffers after the
    forward pass (running statistics), must keep that dtype.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> check_forward_shape_and_dtype(nf.Linear(3, 2, rng=0), np.ones((4, 3), np.float32))
    """
    name = "check_forward_shape_and_dtype"
    layer = _fresh(layer_factory(make_layer), x.dtype)
    for training in (True, False):
        mode = "training" if training else "evaluation"
        y = layer.train(training)(x)
        if not isinstance(y, np.ndarray):
            fail(name, f"for output: forward returned a {type(y).__name__}, not an ndarray")
        if y.ndim == 0 or y.shape[0] != x.shape[0]:
            fail(
                name,
                f"for output: forward in {mode} mode returned shape {y.shape} for input "
                f"shape {x.shape}; the first dimension must stay the batch ({x.shape[0]})",
            )
        if y.dtype != x.dtype:
            fail(
                name,
                f"for output: forward in {mode} mode returned dtype {y.dtype} for a layer "
                f"converted to {x.dtype} and a {x.dtype} input; the dtype must be kept "
                "(an intermediate silently upcast, e.g. by a float64 constant array?)",
            )
        for path, buffer in layer.named_buffers():
            if buffer.value.dtype != x.dtype:
                fail(
                    name,
                    f"for buffer {path}: dtype {buffer.value.dtype} after a forward pass in "
                    f"{mode} mode of a {x.dtype} layer; update buffers in place "
                    "(buffer.value[...] = ...)",
                )


@named_check
def check_input_unmodified(make_layer: LayerLike, x: np.ndarray, *, seed: int = 0) -> None:
    """Forward leaves its input unmodified, and backward leaves ``grad_y`` and the input so.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> check_input_unmodified(nf.ReLU(), np.array([[-1.0, 2.0]]))
    """
    name = "check_input_unmodified"
    layer = _fresh(layer_factory(make_layer), x.dtype)
    before = x.copy()
    y = layer(x)
    assert_close(
        name, "input", x, before,
        explain="forward modified its input in place; never write into x "
        "(copy it first, or use out= only on arrays the layer made)",
    )
    grad_y = random_like(_rng(seed), y)
    grad_before = grad_y.copy()
    layer.backward(grad_y)
    assert_close(
        name, "grad_y", grad_y, grad_before,
        explain="backward modified the gradient it was given; never write into grad_y",
    )
    assert_close(
        name, "input", x, before,
        explain="backward modified the forward input (kept in the cache) in place",
    )


@named_check
def check_backward_shape_and_dtype(make_layer: LayerLike, x: np.ndarray, *, seed: int = 0) -> None:
    """Backward returns an array of the input's shape and dtype; ``.grad`` keeps its shape.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> check_backward_shape_and_dtype(nf.Linear(3, 2, rng=0), np.ones((4, 3)))
    """
    name = "check_backward_shape_and_dtype"
    layer = _fresh(layer_factory(make_layer), x.dtype)
    y = layer(x)
    grad_x = layer.backward(random_like(_rng(seed), y), input_grad=True)
    if not isinstance(grad_x, np.ndarray):
        fail(name, f"for the input gradient: backward returned a {type(grad_x).__name__}")
    if grad_x.shape != x.shape:
        fail(
            name,
            f"for the input gradient: backward returned shape {grad_x.shape}; the forward "
            f"input had shape {x.shape}",
        )
    if grad_x.dtype != x.dtype:
        fail(
            name,
            f"for the input gradient: backward returned dtype {grad_x.dtype} for a "
            f"{x.dtype} layer and input",
        )
    for path, p in layer.named_parameters():
        if p.grad.shape != p.value.shape or p.grad.dtype != p.value.dtype:
            fail(
                name,
                f"for {path}: after backward its grad has shape {p.grad.shape} and dtype "
                f"{p.grad.dtype}; the value has {p.value.shape} and {p.value.dtype} "
                "(add into p.grad with +=, never assign a new array)",
            )


@named_check
def check_backward_without_forward_raises(
    make_layer: LayerLike, x: np.ndarray, *, seed: int = 0
) -> None:
    """Backward without a cached forward raises ``CacheMissError``; so does a second one.

    Skipped for a layer that caches nothing (``has_cache()`` is False after a forward),
    whose backward may legitimately run alone.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> check_backward_without_forward_raises(nf.Tanh(), np.ones((2, 3)))
    """
    name = "check_backward_without_forward_raises"
    build = layer_factory(make_layer)
    probe = _fresh(build, x.dtype)
    y = probe(x)
    if not probe.has_cache():
        return
    grad_y = random_like(_rng(seed), y)
    fresh = _fresh(build, x.dtype)
    try:
        fresh.backward(grad_y)
    except CacheMissError:
        pass
    except Exception as error:
        fail(
            name,
            f"for a new layer: backward without forward raised {type(error).__name__}: "
            f"{error}; expected CacheMissError (fetch the cache with self.saved(...))",
        )
    else:
        fail(
            name,
            "for a new layer: backward without forward returned instead of raising "
            "CacheMissError (fetch the cache with self.saved(...))",
        )
    probe.backward(grad_y)
    if probe.has_cache():
        fail(
            name,
            f"after backward: the cache of {', '.join(_with_cache(probe))} was kept; "
            "backward must release it (self.saved(...) does)",
        )
    try:
        probe.backward(grad_y)
    except CacheMissError:
        return
    except Exception as error:
        fail(
            name,
            f"for a second backward after one forward: raised {type(error).__name__}: "
            f"{error}; expected CacheMissError",
        )
    fail(
        name,
        "for a second backward after one forward: it returned instead of raising "
        "CacheMissError; backward must release the cache (self.saved(...) does)",
    )


@named_check
def check_cache_per_instance(make_layer: LayerLike, x: np.ndarray, *, seed: int = 0) -> None:
    """Two layers keep separate caches: interleaving their passes changes nothing.

    Runs ``a(x1); b(x2); a.backward(g1); b.backward(g2)`` and compares every gradient with
    the passes of ``a`` and ``b`` run one after the other. A cache kept anywhere but on
    the instance (a class-level dict, a module global) fails here.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> check_cache_per_instance(nf.Linear(3, 2, rng=0), np.ones((2, 3)))
    """
    name = "check_cache_per_instance"
    build = layer_factory(make_layer)
    rng = _rng(seed)
    a, b = _fresh(build, x.dtype), _fresh(build, x.dtype)
    x1, x2 = x, _other_input(x, input_kinks(a), rng)
    replay_a, replay_b = replayer(a), replayer(b)
    reference = {}
    grads_out = {}
    for label, layer, replay, xi in (("first", a, replay_a, x1), ("second", b, replay_b, x2)):
        layer.zero_grad()
        replay()
        y = layer(xi)
        grads_out[label] = random_like(rng, y)
        grad_x = _input_grad(layer, grads_out[label], name)
        reference[label] = (grad_x, {n: p.grad.copy() for n, p in layer.named_parameters()})
        layer.zero_grad()
    replay_a()
    a(x1)
    replay_b()
    b(x2)
    results = {
        "first": (_input_grad(a, grads_out["first"], name), a),
        "second": (_input_grad(b, grads_out["second"], name), b),
    }
    explain = (
        "the forward pass of another layer of the same class changed this layer's "
        "backward: the cache must live on the instance (self.save_for_backward), not in "
        "a class attribute or a global"
    )
    for label, (grad_x, layer) in results.items():
        want_x, want_grads = reference[label]
        scale = _scale(want_x, x1, x2)
        rtol = tolerance(x.dtype)
        assert_close(
            name, f"the input gradient of the {label} layer", grad_x, want_x,
            atol=rtol * scale, rtol=rtol, explain=explain,
        )
        for path, p in layer.named_parameters():
            assert_close(
                name, f"{path} of the {label} layer", p.grad, want_grads[path],
                atol=rtol * _scale(want_grads[path], x1, x2), rtol=rtol, explain=explain,
            )


@named_check
def check_no_grad_leaves_no_cache(make_layer: LayerLike, x: np.ndarray, *, seed: int = 0) -> None:
    """A forward under ``no_grad()`` stores no cache, drops an older one, gives the same output.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> check_no_grad_leaves_no_cache(nf.Sigmoid(), np.ones((2, 3)))
    """
    name = "check_no_grad_leaves_no_cache"
    layer = _fresh(layer_factory(make_layer), x.dtype)
    replay = replayer(layer)
    replay()
    with no_grad():
        y_no_grad = layer(x)
    if layer.has_cache():
        fail(
            name,
            f"for the cache of {', '.join(_with_cache(layer))}: a forward under no_grad() "
            "stored one; store it with self.save_for_backward(...), which skips it",
        )
    replay()
    y = layer(x)
    assert_close(
        name, "output", y_no_grad, y, atol=tolerance(x.dtype) * _scale(y, x),
        rtol=tolerance(x.dtype), explain="no_grad() changed the output of forward",
    )
    replay()
    with no_grad():
        layer(x)
    if layer.has_cache():
        fail(
            name,
            f"for the cache of {', '.join(_with_cache(layer))}: a forward under no_grad() "
            "kept the cache of an earlier forward (self.save_for_backward drops it)",
        )


@named_check
def check_batch_independence(make_layer: LayerLike, x: np.ndarray, *, seed: int = 0) -> None:
    """Example ``i`` of the output depends only on example ``i`` of the input.

    Changing example ``j`` leaves every other output row unchanged, and each example
    computed alone gives its row of the batch's output. Skipped when the layer or a
    sub-layer is tagged ``batch_independent = False``. A stochastic layer has its
    generators replayed; its examples computed alone are compared in evaluation mode (a
    mask drawn for one row is not the mask drawn for the batch).

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> check_batch_independence(nf.Linear(3, 2, rng=0), np.arange(6.0).reshape(2, 3))
    """
    name = "check_batch_independence"
    layer = _fresh(layer_factory(make_layer), x.dtype)
    if not is_batch_independent(layer):
        return
    rng = _rng(seed)
    replay = replayer(layer)
    batch = x.shape[0]
    rtol = tolerance(x.dtype)
    replay()
    y = layer(x)
    hint = (
        "example i of the output must depend on example i of the input alone (a layer "
        "that mixes examples, like BatchNorm, sets the class attribute "
        "batch_independent = False)"
    )
    if batch >= 2:
        j = int(rng.integers(batch))
        changed = x.copy()
        changed[j] = _other_input(x[j : j + 1], input_kinks(layer), rng)[0]
        replay()
        y_changed = layer(changed)
        expected = y.copy()
        if y_changed.shape == y.shape:
            expected[j] = y_changed[j]  # row j may change; no other row may
        assert_close(
            name, "output", y_changed, expected,
            atol=rtol * _scale(y, x, changed), rtol=rtol,
            explain=f"changing input example {j} changed this output example; {hint}",
        )
    if is_stochastic(layer):
        layer.eval()
    replay()
    y = layer(x)
    for i in range(batch):
        replay()
        alone = layer(x[i : i + 1])
        expected = y[i : i + 1]
        if alone.shape != expected.shape:
            fail(
                name,
                f"for output: example {i} alone gave shape {alone.shape}, in the batch "
                f"{expected.shape}",
            )
        assert_close(
            name, f"output example {i} (computed alone, index within it)", alone, expected,
            atol=rtol * _scale(y, x), rtol=rtol,
            explain=f"example {i} computed alone differs from example {i} computed in a "
            f"batch of {batch}; {hint}",
        )


@named_check
def check_gradients_accumulate(make_layer: LayerLike, x: np.ndarray, *, seed: int = 0) -> None:
    """Two identical backward passes give twice the gradient; ``zero_grad`` clears it.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> check_gradients_accumulate(nf.Linear(3, 2, rng=0), np.ones((4, 3)))
    """
    name = "check_gradients_accumulate"
    layer = _fresh(layer_factory(make_layer), x.dtype)
    named = layer.named_parameters()
    if not named:
        return
    replay = replayer(layer)
    rtol = tolerance(x.dtype)
    layer.zero_grad()
    replay()
    y = layer(x)
    grad_y = random_like(_rng(seed), y)
    layer.backward(grad_y)
    first = {path: p.grad.copy() for path, p in named}
    replay()
    layer(x)
    layer.backward(grad_y)
    for path, p in named:
        assert_close(
            name, path, p.grad, 2 * first[path],
            atol=rtol * _scale(first[path]), rtol=rtol,
            explain="after two identical forward/backward passes the gradient should be "
            "twice that of one pass; backward must add into Parameter.grad (+=), never "
            "assign it",
        )
    layer.zero_grad()
    for path, p in named:
        assert_close(
            name, path, p.grad, np.zeros_like(p.value),
            explain="zero_grad() left a gradient that is not zero",
        )


@named_check
def check_gradients(make_layer: LayerLike, x: np.ndarray, *, seed: int = 0) -> None:
    """Input and parameter gradients match central differences, in float64.

    The layer is converted to float64, its parameters nudged by a small seeded random
    amount (so that initial values such as a gain of 1 or a bias of 0 hide no missing
    factor), and checked with :func:`nnframe.gradcheck` at ``x`` (converted to float64;
    keep it off the layer's kinks and of moderate size). Errors confined to inputs on a
    declared kink are inconclusive, not failures.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> check_gradients(nf.Tanh(), np.array([[0.5, -1.0]]))
    """
    name = "check_gradients"
    layer = _fresh(layer_factory(make_layer), np.dtype(np.float64))
    _perturb(layer, _rng(seed))
    report = gradcheck(layer, np.asarray(x, dtype=np.float64), rng=seed)
    if report.ok:
        return
    row = next(row for row in report.rows if row.status == "BAD")
    index = "()" if not row.index else str(row.index)
    fail(
        name,
        f"for {row.name} at {index}: analytic {row.analytic:.6g}, numeric "
        f"{row.numeric:.6g}; {row.diagnosis}\n{report}",
    )


@named_check
def check_train_eval_modes(make_layer: LayerLike, x: np.ndarray, *, seed: int = 0) -> None:
    """``train()`` and ``eval()`` return the layer and set every sub-layer's mode.

    Sub-layers are found by a brute-force walk (every attribute, list, tuple and dict),
    not by the layer's own discovery.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> check_train_eval_modes(nf.Sequential(nf.Linear(3, 2, rng=0), nf.ReLU()), np.ones((1, 3)))
    """
    name = "check_train_eval_modes"
    layer = _fresh(layer_factory(make_layer), x.dtype)
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
                    f"for {_describe_sub(path)}: after {call} its training flag is "
                    f"{obj.training!r}; expected {want} on every sub-layer",
                )


@named_check
def check_state_dict_round_trip(make_layer: LayerLike, x: np.ndarray, *, seed: int = 0) -> None:
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
    source, target = _fresh(build, x.dtype), _fresh(build, x.dtype)
    _perturb(source, _rng(seed))
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
def check_astype(make_layer: LayerLike, x: np.ndarray, *, seed: int = 0) -> None:
    """``astype`` converts every parameter, gradient and buffer, and the computation.

    From ``x.dtype`` to the other of float32 and float64: values are kept (rounded),
    ``astype`` returns the layer, and forward and backward then work in the new dtype.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> check_astype(nf.Linear(3, 2, rng=0), np.ones((2, 3), np.float32))
    """
    name = "check_astype"
    layer = _fresh(layer_factory(make_layer), x.dtype)
    rng = _rng(seed)
    y = layer(x)
    layer.backward(random_like(rng, y))  # so that the gradients hold something
    other = np.dtype(np.float64 if x.dtype == np.float32 else np.float32)
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
    x_other = x.astype(other)
    y = layer(x_other)
    if y.dtype != other:
        fail(name, f"for output: dtype {y.dtype} after astype({other}) and a {other} input")
    grad_x = _input_grad(layer, random_like(rng, y), name)
    if grad_x.dtype != other:
        fail(name, f"for the input gradient: dtype {grad_x.dtype} after astype({other})")
    dtypes_are(f"after astype({other}) and a forward/backward pass")


@named_check
def check_parameter_discovery(make_layer: LayerLike, x: np.ndarray, *, seed: int = 0) -> None:
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
    layer = _fresh(layer_factory(make_layer), x.dtype)
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

