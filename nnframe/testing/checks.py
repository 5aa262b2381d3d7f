"""The layer contract as ``check_<property>`` functions, one input at a time.

Each check takes a layer (or a zero-argument factory), an input batch ``x``, a seed and
optionally a ``dtype``, builds its own layers (a ``clone()`` of the given layer, or new
ones from the factory) converted with ``astype`` to ``dtype`` (by default ``x``'s dtype,
or float32 for integer indices) and put in training mode, and raises ``AssertionError``
naming itself, the tensor and the worst index when the contract is broken.
:func:`nnframe.testing.check_layer` runs them all with hypothesis; call one directly to
pin down an example.

A layer whose input is not differentiable (tagged ``differentiable_input = False``, such
as ``Embedding``, or a container starting with one) must return None from ``backward``;
the checks test that and leave out what concerns the input gradient, and check the
parameters' gradients as for any layer.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from nnframe.errors import CacheMissError
from nnframe.grad_mode import no_grad
from nnframe.gradcheck import gradcheck
from nnframe.testing._common import (
    LayerLike,
    assert_close,
    fail,
    fresh_layer,
    input_grad_of,
    layer_dtype,
    layer_factory,
    layers_with_cache,
    named_check,
    other_input,
    perturb,
    random_like,
    replayer,
    scale_of,
    seeded_rng,
    tolerance,
)
from nnframe.testing.strategies import (
    input_is_differentiable,
    is_batch_independent,
    is_stochastic,
)

__all__ = [
    "check_backward_shape_and_dtype",
    "check_backward_without_forward_raises",
    "check_batch_independence",
    "check_cache_per_instance",
    "check_forward_shape_and_dtype",
    "check_gradients",
    "check_gradients_accumulate",
    "check_input_unmodified",
    "check_no_grad_leaves_no_cache",
]




# -- the checks --------------------------------------------------------------------------


@named_check
def check_forward_shape_and_dtype(
    make_layer: LayerLike, x: np.ndarray, *, seed: int = 0, dtype: npt.DTypeLike | None = None
) -> None:
    """Forward keeps the batch size and the dtype, in training and in evaluation mode.

    The layer is converted to ``dtype`` first (by default ``x.dtype``; float32 for
    integer indices); its output, and its buffers after the forward pass (running
    statistics), must keep that dtype.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> check_forward_shape_and_dtype(nf.Linear(3, 2, rng=0), np.ones((4, 3), np.float32))
    """
    name = "check_forward_shape_and_dtype"
    want = layer_dtype(x, dtype)
    layer = fresh_layer(layer_factory(make_layer), want)
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
        if y.dtype != want:
            fail(
                name,
                f"for output: forward in {mode} mode returned dtype {y.dtype} for a layer "
                f"converted to {want} and a {x.dtype} input; the dtype must be kept "
                "(an intermediate silently upcast, e.g. by a float64 constant array?)",
            )
        for path, buffer in layer.named_buffers():
            if buffer.value.dtype != want:
                fail(
                    name,
                    f"for buffer {path}: dtype {buffer.value.dtype} after a forward pass in "
                    f"{mode} mode of a {want} layer; update buffers in place "
                    "(buffer.value[...] = ...)",
                )


@named_check
def check_input_unmodified(
    make_layer: LayerLike, x: np.ndarray, *, seed: int = 0, dtype: npt.DTypeLike | None = None
) -> None:
    """Forward leaves its input unmodified, and backward leaves ``grad_y`` and the input so.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> check_input_unmodified(nf.ReLU(), np.array([[-1.0, 2.0]]))
    """
    name = "check_input_unmodified"
    layer = fresh_layer(layer_factory(make_layer), layer_dtype(x, dtype))
    before = x.copy()
    y = layer(x)
    assert_close(
        name, "input", x, before,
        explain="forward modified its input in place; never write into x "
        "(copy it first, or use out= only on arrays the layer made)",
    )
    grad_y = random_like(seeded_rng(seed), y)
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
def check_backward_shape_and_dtype(
    make_layer: LayerLike, x: np.ndarray, *, seed: int = 0, dtype: npt.DTypeLike | None = None
) -> None:
    """Backward returns an array of the input's shape and dtype; ``.grad`` keeps its shape.

    For a layer whose input is not differentiable, backward must return None instead.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> check_backward_shape_and_dtype(nf.Linear(3, 2, rng=0), np.ones((4, 3)))
    """
    name = "check_backward_shape_and_dtype"
    layer = fresh_layer(layer_factory(make_layer), layer_dtype(x, dtype))
    y = layer(x)
    grad_x = input_grad_of(layer, random_like(seeded_rng(seed), y), name)
    if grad_x is not None and grad_x.shape != x.shape:
        fail(
            name,
            f"for the input gradient: backward returned shape {grad_x.shape}; the forward "
            f"input had shape {x.shape}",
        )
    if grad_x is not None and grad_x.dtype != x.dtype:
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
    make_layer: LayerLike, x: np.ndarray, *, seed: int = 0, dtype: npt.DTypeLike | None = None
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
    probe = fresh_layer(build, layer_dtype(x, dtype))
    y = probe(x)
    if not probe.has_cache():
        return
    grad_y = random_like(seeded_rng(seed), y)
    fresh = fresh_layer(build, layer_dtype(x, dtype))
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
            f"after backward: the cache of {', '.join(layers_with_cache(probe))} was kept; "
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
def check_cache_per_instance(
    make_layer: LayerLike, x: np.ndarray, *, seed: int = 0, dtype: npt.DTypeLike | None = None
) -> None:
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
    rng = seeded_rng(seed)
    want = layer_dtype(x, dtype)
    a, b = fresh_layer(build, want), fresh_layer(build, want)
    x1, x2 = x, other_input(x, a, rng)
    replay_a, replay_b = replayer(a), replayer(b)
    reference = {}
    grads_out = {}
    for label, layer, replay, xi in (("first", a, replay_a, x1), ("second", b, replay_b, x2)):
        layer.zero_grad()
        replay()
        y = layer(xi)
        grads_out[label] = random_like(rng, y)
        grad_x = input_grad_of(layer, grads_out[label], name)
        reference[label] = (grad_x, {n: p.grad.copy() for n, p in layer.named_parameters()})
        layer.zero_grad()
    replay_a()
    a(x1)
    replay_b()
    b(x2)
    results = {
        "first": (input_grad_of(a, grads_out["first"], name), a),
        "second": (input_grad_of(b, grads_out["second"], name), b),
    }
    explain = (
        "the forward pass of another layer of the same class changed this layer's "
        "backward: the cache must live on the instance (self.save_for_backward), not in "
        "a class attribute or a global"
    )
    for label, (grad_x, layer) in results.items():
        want_x, want_grads = reference[label]
        rtol = tolerance(want)
        if grad_x is not None and want_x is not None:
            assert_close(
                name, f"the input gradient of the {label} layer", grad_x, want_x,
                atol=rtol * scale_of(want_x, x1, x2), rtol=rtol, explain=explain,
            )
        for path, p in layer.named_parameters():
            assert_close(
                name, f"{path} of the {label} layer", p.grad, want_grads[path],
                atol=rtol * scale_of(want_grads[path], x1, x2), rtol=rtol, explain=explain,
            )


@named_check
def check_no_grad_leaves_no_cache(
    make_layer: LayerLike, x: np.ndarray, *, seed: int = 0, dtype: npt.DTypeLike | None = None
) -> None:
    """A forward under ``no_grad()`` stores no cache, gives the same output, disturbs nothing.

    Run between a forward pass and its backward (an evaluation), it leaves that pass's
    cache alone: backward gives the gradients it gives without the evaluation.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> check_no_grad_leaves_no_cache(nf.Sigmoid(), np.ones((2, 3)))
    """
    name = "check_no_grad_leaves_no_cache"
    want = layer_dtype(x, dtype)
    build = layer_factory(make_layer)
    layer = fresh_layer(build, want)
    replay = replayer(layer)
    replay()
    with no_grad():
        y_no_grad = layer(x)
    if layer.has_cache():
        fail(
            name,
            f"for the cache of {', '.join(layers_with_cache(layer))}: a forward under no_grad() "
            "stored one; store it with self.save_for_backward(...), which skips it",
        )
    replay()
    y = layer(x)
    assert_close(
        name, "output", y_no_grad, y, atol=tolerance(want) * scale_of(y, x),
        rtol=tolerance(want), explain="no_grad() changed the output of forward",
    )
    # The same pass on a twin, with and without an evaluation on other data in between.
    rng = seeded_rng(seed)
    grad_y = random_like(rng, y)
    twin = fresh_layer(build, want)
    twin.load_state_dict(layer.state_dict())
    replayer(twin)()
    twin(x)
    want_x = input_grad_of(twin, grad_y, name)
    with no_grad():
        layer(other_input(x, layer, rng))
    grad_x = input_grad_of(layer, grad_y, name)
    explain = (
        "a forward under no_grad() between a forward and its backward changed that "
        "backward: under no_grad() nothing may be cached or replaced (save_for_backward "
        "stores nothing there; do not assign self._cache or other state for backward)"
    )
    rtol = tolerance(want)
    if grad_x is not None and want_x is not None:
        assert_close(
            name, "the input gradient", grad_x, want_x, atol=rtol * scale_of(want_x, x),
            rtol=rtol, explain=explain,
        )
    twin_grads = dict(twin.named_parameters())
    for path, p in layer.named_parameters():
        assert_close(
            name, path, p.grad, twin_grads[path].grad,
            atol=rtol * scale_of(twin_grads[path].grad, x), rtol=rtol, explain=explain,
        )


@named_check
def check_batch_independence(
    make_layer: LayerLike, x: np.ndarray, *, seed: int = 0, dtype: npt.DTypeLike | None = None
) -> None:
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
    want = layer_dtype(x, dtype)
    layer = fresh_layer(layer_factory(make_layer), want)
    if not is_batch_independent(layer):
        return
    rng = seeded_rng(seed)
    replay = replayer(layer)
    batch = x.shape[0]
    rtol = tolerance(want)
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
        changed[j] = other_input(x[j : j + 1], layer, rng)[0]
        replay()
        y_changed = layer(changed)
        expected = y.copy()
        if y_changed.shape == y.shape:
            expected[j] = y_changed[j]  # row j may change; no other row may
        assert_close(
            name, "output", y_changed, expected,
            atol=rtol * scale_of(y, x, changed), rtol=rtol,
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
            atol=rtol * scale_of(y, x), rtol=rtol,
            explain=f"example {i} computed alone differs from example {i} computed in a "
            f"batch of {batch}; {hint}",
        )


@named_check
def check_gradients_accumulate(
    make_layer: LayerLike, x: np.ndarray, *, seed: int = 0, dtype: npt.DTypeLike | None = None
) -> None:
    """Two identical backward passes give twice the gradient; ``zero_grad`` clears it.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> check_gradients_accumulate(nf.Linear(3, 2, rng=0), np.ones((4, 3)))
    """
    name = "check_gradients_accumulate"
    want = layer_dtype(x, dtype)
    layer = fresh_layer(layer_factory(make_layer), want)
    named = layer.named_parameters()
    if not named:
        return
    replay = replayer(layer)
    rtol = tolerance(want)
    layer.zero_grad()
    replay()
    y = layer(x)
    grad_y = random_like(seeded_rng(seed), y)
    layer.backward(grad_y)
    first = {path: p.grad.copy() for path, p in named}
    replay()
    layer(x)
    layer.backward(grad_y)
    for path, p in named:
        assert_close(
            name, path, p.grad, 2 * first[path],
            atol=rtol * scale_of(first[path]), rtol=rtol,
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
def check_gradients(
    make_layer: LayerLike, x: np.ndarray, *, seed: int = 0, dtype: npt.DTypeLike | None = None
) -> None:
    """Input and parameter gradients match central differences, in float64.

    The layer is converted to float64, its parameters nudged by a small seeded random
    amount (so that initial values such as a gain of 1 or a bias of 0 hide no missing
    factor), and checked with :func:`nnframe.gradcheck` at ``x`` (converted to float64;
    keep it off the layer's kinks and of moderate size). Errors confined to inputs on a
    declared kink are inconclusive, not failures. For a layer whose input is not
    differentiable (integer indices, kept as they are), only the parameters' gradients
    are checked, the same way. ``dtype`` is not used: the check runs in float64.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> check_gradients(nf.Tanh(), np.array([[0.5, -1.0]]))
    """
    name = "check_gradients"
    layer = fresh_layer(layer_factory(make_layer), np.dtype(np.float64))
    perturb(layer, seeded_rng(seed))
    as_float = input_is_differentiable(layer)
    report = gradcheck(layer, np.asarray(x, dtype=np.float64 if as_float else None), rng=seed)
    if report.ok:
        return
    row = next(row for row in report.rows if row.status == "BAD")
    index = "()" if not row.index else str(row.index)
    fail(
        name,
        f"for {row.name} at {index}: analytic {row.analytic:.6g}, numeric "
        f"{row.numeric:.6g}; {row.diagnosis}\n{report}",
    )
