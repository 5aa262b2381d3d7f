"""check_layer, check_loss and parametrize_with_checks: the checks, run by hypothesis."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from nnframe.errors import ArgumentError, ArgumentTypeError
from nnframe.layers.base import Layer
from nnframe.losses import Loss
from nnframe.testing import checks as lc
from nnframe.testing import loss_checks as xc
from nnframe.testing import state_checks as sc
from nnframe.testing._common import LayerLike, layer_factory
from nnframe.testing.strategies import (
    example_shape,
    index_inputs,
    infer_input_shape,
    input_indices,
    input_kinks,
    input_ties,
    is_batch_independent,
    layer_inputs,
    loss_inputs,
)

if TYPE_CHECKING:
    import pytest

__all__ = [
    "LAYER_CHECKS",
    "LOSS_CHECKS",
    "check_layer",
    "check_loss",
    "layer_checks",
    "parametrize_with_checks",
]

T = TypeVar("T")

_FLOAT32, _FLOAT64 = np.dtype(np.float32), np.dtype(np.float64)

# Inputs for the checks of structure and of forward results: batches up to 32 and values
# up to 1e3 in magnitude (hypothesis also draws tiny ones, zeros and subnormals).
_WIDE = {"bound": 1e3, "max_batch": 32}
# Inputs for the checks that difference or accumulate gradients: small batches (two
# forward passes per element) and moderate values, off the input's kinks.
_SMOOTH = {"bound": 2.0, "max_batch": 8}

_HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]


@attrs.frozen
class LayerCheck:
    """One layer check and how the suite runs it.

    Parameters
    ----------
    function : callable
        ``check_<property>(make_layer, x, *, seed, dtype)``.
    inputs : str
        ``"wide"`` (batches to 32, values to 1e3), ``"smooth"`` (batches to 8, values to
        2, off the kinks) or ``"once"`` (independent of the input: run on one batch).
        A layer taking integer indices gets indices in range for all three.
    dtypes : tuple of numpy.dtype
        The dtypes the layer is converted to, one hypothesis run each.

    Examples
    --------
    >>> [check.name for check in LAYER_CHECKS][:2]
    ['check_forward_shape_and_dtype', 'check_input_unmodified']
    """

    function: Callable[..., None]
    inputs: str = "wide"
    dtypes: tuple[np.dtype, ...] = (_FLOAT32, _FLOAT64)

    @property
    def name(self) -> str:
        """The check's name, ``check_<property>``."""
        return self.function.__name__


@attrs.frozen
class LossCheck:
    """One loss check: ``function(make_loss, pred, target)``, its inputs and dtypes.

    Parameters
    ----------
    function : callable
        ``check_loss_<property>(make_loss, pred, target)``.
    extreme : bool, default False
        Whether the check also draws extreme inputs (probabilities of 0 and 1, large
        logits).
    dtypes : tuple of numpy.dtype
        The prediction dtypes, one hypothesis run each.

    Examples
    --------
    >>> [check.name for check in LOSS_CHECKS][:2]
    ['check_loss_value', 'check_loss_gradient_shape_and_dtype']
    """

    function: Callable[..., None]
    extreme: bool = False
    dtypes: tuple[np.dtype, ...] = (_FLOAT32, _FLOAT64)

    @property
    def name(self) -> str:
        """The check's name, ``check_loss_<property>``."""
        return self.function.__name__


#: Every layer check, in the order ``check_layer`` runs them: structure first, so that the
#: first failure is the most basic one.
LAYER_CHECKS: tuple[LayerCheck, ...] = (
    LayerCheck(lc.check_forward_shape_and_dtype),
    LayerCheck(lc.check_input_unmodified),
    LayerCheck(lc.check_backward_shape_and_dtype),
    LayerCheck(sc.check_parameter_discovery, "once"),
    LayerCheck(sc.check_train_eval_modes, "once"),
    LayerCheck(sc.check_astype),
    LayerCheck(lc.check_backward_without_forward_raises),
    LayerCheck(lc.check_cache_per_instance),
    LayerCheck(lc.check_no_grad_leaves_no_cache),
    LayerCheck(lc.check_batch_independence),
    LayerCheck(lc.check_gradients_accumulate, "smooth"),
    LayerCheck(lc.check_gradients, "smooth", (_FLOAT64,)),
    LayerCheck(sc.check_state_dict_round_trip),
)

#: Every loss check, in the order ``check_loss`` runs them.
LOSS_CHECKS: tuple[LossCheck, ...] = (
    LossCheck(xc.check_loss_value, extreme=True),
    LossCheck(xc.check_loss_gradient_shape_and_dtype, extreme=True),
    LossCheck(xc.check_loss_input_unmodified, extreme=True),
    LossCheck(xc.check_loss_backward_without_forward_raises),
    LossCheck(xc.check_loss_no_grad_leaves_no_cache),
    LossCheck(xc.check_loss_gradients, dtypes=(_FLOAT64,)),
    LossCheck(xc.check_loss_reduction),
)


def layer_checks(layer: Layer) -> list[LayerCheck]:
    """Return the checks that apply to ``layer``, read from its class tags.

    ``check_batch_independence`` is left out when the layer or a sub-layer is tagged
    ``batch_independent = False``; every other check applies to every layer (those that
    do not apply to a given layer, such as ``check_backward_without_forward_raises`` for
    a layer that caches nothing, pass at once).

    Examples
    --------
    >>> import nnframe as nf
    >>> [check.name for check in layer_checks(nf.ReLU())][:2]
    ['check_forward_shape_and_dtype', 'check_input_unmodified']
    """
    skip = set() if is_batch_independent(layer) else {"check_batch_independence"}
    return [check for check in LAYER_CHECKS if check.name not in skip]


def _settings(max_examples: int) -> settings:
    # Built on the active profile (settings.default), so a user's profile choices, such as
    # derandomize, verbosity or print_blob, carry over; these few are fixed. The explain
    # phase is left out: on arrays it says little and takes seconds after each failure.
    phases = [phase for phase in settings().phases if phase is not Phase.explain]
    return settings(
        max_examples=max_examples,
        phases=phases,
        deadline=None,
        database=None,
        report_multiple_bugs=False,
        suppress_health_check=_HEALTH,
    )


def _max_examples(value: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ArgumentTypeError(f"max_examples must be an int; got {value!r}")
    if value < 1:
        raise ArgumentError(f"max_examples must be at least 1; got {value}")
    return value


def _describe(obj: object) -> str:
    text = repr(obj)
    return text if "\n" not in text and len(text) <= 60 else type(obj).__name__


def _with_prototype(build: Callable[[], T], what: str) -> tuple[Callable[[], T], T]:
    """Return ``build`` and a first object from it, refusing a factory that reuses one."""
    first, second = build(), build()
    if first is second:
        raise ArgumentError(
            f"make_{what} returned the same {what} twice; a factory must build a new {what} "
            f"on each call (or pass the {what} itself, which every check copies)"
        )
    return build, first


def _runner(
    check: LayerCheck, build: Callable[[], Layer], dtype: np.dtype
) -> Callable[[np.ndarray, int], None]:
    # The test hypothesis runs: one check, one dtype (bound here, not in a loop's closure).
    def run(x: np.ndarray, seed: int) -> None:
        check.function(build, x, seed=seed, dtype=dtype)

    run.__name__ = run.__qualname__ = check.name
    return run


def _run_layer_check(
    check: LayerCheck,
    build: Callable[[], Layer],
    prototype: Layer,
    shape: tuple[int, ...],
    max_examples: int,
) -> None:
    min_batch = 1 if is_batch_independent(prototype) else 2
    count = input_indices(prototype)
    for dtype in check.dtypes:
        context = (
            f"while checking {_describe(prototype)} converted to {dtype}, on inputs of "
            f"shape (batch, {', '.join(map(str, shape))})"
        )
        if count is not None:
            context += f" of integer indices in [0, {count})"
        try:
            options = _SMOOTH if check.inputs == "smooth" else _WIDE
            if check.inputs == "once":
                generator = np.random.default_rng(0)
                batch_shape = (max(2, min_batch), *shape)
                if count is None:
                    x = generator.uniform(-1, 1, batch_shape).astype(dtype)
                else:
                    x = generator.integers(0, count, batch_shape)
                check.function(build, x, seed=0, dtype=dtype)
                continue
            if count is not None:
                inputs = index_inputs(count, shape, min_batch, int(options["max_batch"]))
            else:
                smooth = check.inputs == "smooth"
                inputs = layer_inputs(
                    shape, dtype, input_kinks(prototype) if smooth else (), min_batch,
                    int(options["max_batch"]), bound=float(options["bound"]),
                    avoid_ties=smooth and input_ties(prototype),
                )

            test = _settings(max_examples)(
                given(x=inputs, seed=st.integers(0, 2**32 - 1))(_runner(check, build, dtype))
            )
            test()
        except AssertionError as error:
            error.add_note(context)
            raise


def check_layer(
    make_layer: LayerLike,
    *,
    input_shape: int | Sequence[int] | None = None,
    max_examples: int = 50,
) -> None:
    """Run the whole layer contract on a layer, driven by hypothesis.

    Every check builds its own layers, from the factory or as clones of the layer given,
    which is never changed. What the layer is comes from the class tags of the layer and
    its sub-layers, not from options: ``kinks`` (inputs kept off those of whatever sees
    the input first, for the gradient checks), ``ties`` (the same inputs' values kept
    apart when whatever sees the input first is tagged so, as max pooling is),
    ``stochastic`` (generators replayed so that repeated forwards match; compared in
    evaluation mode where a mask cannot match)
    ``batch_independent`` (False anywhere skips ``check_batch_independence`` and draws
    batches of at least 2) and ``differentiable_input``; and from the ``input_spec`` of
    whatever sees the input first. A layer taking integer indices (``Embedding``, or a
    model starting with one: its spec's ``indices``) gets integer inputs in range, the
    layer converted to each dtype; when the input is not differentiable
    (``differentiable_input = False`` on the layer or, for a container, its first
    sub-layer), ``backward`` must return None and the checks leave out the input
    gradient, while every check of the parameters' gradients (finite differences
    included) runs as for any layer.

    The checks, in order (see :data:`LAYER_CHECKS` and each function's docstring):
    ``check_forward_shape_and_dtype``, ``check_input_unmodified``,
    ``check_backward_shape_and_dtype``, ``check_parameter_discovery``,
    ``check_train_eval_modes``, ``check_astype``, ``check_backward_without_forward_raises``,
    ``check_cache_per_instance``, ``check_no_grad_leaves_no_cache``,
    ``check_batch_independence``, ``check_gradients_accumulate``, ``check_gradients``
    (float64 only), ``check_state_dict_round_trip``. Each runs for float32 and float64,
    on the layer converted with ``astype``; each example is a batch ``x`` and a seed for
    the check's own random draws.

    Parameters
    ----------
    make_layer : Layer or callable
        A layer (cloned for every check) or a function of no arguments that builds a new
        one on each call.
    input_shape : int, tuple of int or None, default None
        The shape of one example, without the batch. None infers it from the declared
        input specs (see :func:`~nnframe.testing.infer_input_shape`): ``(in_features,)``
        for a Linear first, ``(3,)`` indices for an Embedding, otherwise ``(3,)``. Pass it
        for layers taking other shapes (``Flatten`` first, images).
    max_examples : int, default 50
        Hypothesis examples per check and dtype. Checks that do not depend on the input
        (modes, discovery) run once.

    Raises
    ------
    AssertionError
        At the first failing check, naming it, the tensor and the index of the worst
        element (``check_gradients failed for weight at (1, 2): ...``). Hypothesis's
        minimal failing example and the dtype and input shape are attached as notes,
        which pytest and the interpreter print after the message.

    Notes
    -----
    Hypothesis settings are applied inside: ``deadline=None``, ``database=None``, the
    ``too_slow`` health check suppressed, ``report_multiple_bugs=False``, no explain
    phase (it costs seconds per failure and says little about arrays), and
    ``max_examples`` from the argument; everything else comes from the active profile
    (``settings.load_profile``), so ``derandomize=True`` or ``print_blob=True`` there
    apply here too. Inputs are small (batches to 32, widths as the layer's), so a simple
    layer passes in a few seconds. Do not call it inside a ``@given`` test.

    Examples
    --------
    >>> import nnframe as nf
    >>> check_layer(nf.Linear(3, 2, rng=0), max_examples=5)
    >>> check_layer(lambda: nf.Sequential(nf.Linear(4, 3, rng=0), nf.Tanh()), max_examples=5)
    >>> check_layer(nf.Embedding(10, 4, rng=0), max_examples=5)
    """
    examples = _max_examples(max_examples)
    build, prototype = _with_prototype(layer_factory(make_layer), "layer")
    shape = example_shape(input_shape) or infer_input_shape(prototype)
    for check in layer_checks(prototype):
        _run_layer_check(check, build, prototype, shape, examples)


def _run_loss_check(
    check: LossCheck, build: Callable[[], Loss], prototype: Loss, max_examples: int
) -> None:
    for dtype in check.dtypes:
        inputs = loss_inputs(prototype, dtype=dtype, max_batch=16, extreme=check.extreme)

        def run(pred_and_target: tuple[np.ndarray, np.ndarray]) -> None:
            check.function(build, *pred_and_target)

        run.__name__ = run.__qualname__ = check.name
        test = _settings(max_examples)(given(pred_and_target=inputs)(run))
        try:
            test()
        except AssertionError as error:
            error.add_note(f"while checking {_describe(prototype)} with {dtype} predictions")
            raise


def check_loss(make_loss: xc.LossLike, *, max_examples: int = 50) -> None:
    """Run the whole loss contract on a loss, driven by hypothesis.

    What to feed the loss comes from its class tags: ``input_kind`` (probabilities,
    logits or real values) and ``target_kinds`` (binary, class-index, one-hot or real
    targets; each example draws one of them). See
    :func:`nnframe.testing.strategies.loss_inputs`.

    The checks, in order (see :data:`LOSS_CHECKS`): ``check_loss_value`` (a finite Python
    float), ``check_loss_gradient_shape_and_dtype``, ``check_loss_input_unmodified``
    (these three also on extreme inputs: probabilities 0 and 1, logits to 1e3),
    ``check_loss_backward_without_forward_raises``, ``check_loss_no_grad_leaves_no_cache``,
    ``check_loss_gradients`` (central differences in float64), ``check_loss_reduction``
    (sum = n * mean). Each runs on float32 and float64 predictions, except the
    gradient check (float64).

    Parameters
    ----------
    make_loss : Loss or callable
        A loss (deep-copied for every check) or a function of no arguments that builds
        a new one on each call.
    max_examples : int, default 50
        Hypothesis examples per check and dtype.

    Raises
    ------
    AssertionError
        At the first failing check, naming it; hypothesis's minimal example is attached
        as a note. Settings as for :func:`check_layer`.

    Examples
    --------
    >>> import nnframe as nf
    >>> check_loss(nf.MSELoss(), max_examples=5)
    """
    examples = _max_examples(max_examples)
    build, prototype = _with_prototype(xc.loss_factory(make_loss), "loss")
    for check in LOSS_CHECKS:
        _run_loss_check(check, build, prototype, examples)


@attrs.frozen
class _BoundLayerCheck:
    check: LayerCheck
    input_shape: tuple[int, ...] | None
    max_examples: int

    def __call__(self, make_layer: LayerLike) -> None:
        build, prototype = _with_prototype(layer_factory(make_layer), "layer")
        shape = self.input_shape or infer_input_shape(prototype)
        _run_layer_check(self.check, build, prototype, shape, self.max_examples)

    def __repr__(self) -> str:
        return self.check.name


@attrs.frozen
class _BoundLossCheck:
    check: LossCheck
    max_examples: int

    def __call__(self, make_loss: xc.LossLike) -> None:
        build, prototype = _with_prototype(xc.loss_factory(make_loss), "loss")
        _run_loss_check(self.check, build, prototype, self.max_examples)

    def __repr__(self) -> str:
        return self.check.name


def parametrize_with_checks(
    objects: Iterable[LayerLike | xc.LossLike],
    *,
    input_shape: int | Sequence[int] | None = None,
    max_examples: int = 50,
) -> pytest.MarkDecorator:
    """Make every (layer or loss, check) pair a pytest case, as scikit-learn does.

    Decorate a test taking ``layer`` and ``check``; its body is ``check(layer)``. Each
    pair gets a readable id such as ``Linear(3 -> 2)-check_gradients``, so one failing
    check shows as one failing case and ``-k check_gradients`` selects a family.

    Parameters
    ----------
    objects : iterable of Layer, Loss or factories of them
        Layers get the checks :func:`layer_checks` selects; losses get :data:`LOSS_CHECKS`.
    input_shape : int, tuple of int or None, default None
        For every layer, as in :func:`check_layer`.
    max_examples : int, default 50
        Hypothesis examples per check and dtype.

    Returns
    -------
    pytest.MarkDecorator

    Examples
    --------
    >>> import nnframe as nf
    >>> mark = parametrize_with_checks([nf.Tanh(), nf.MSELoss()])
    >>> mark.args[0], len(mark.args[1])
    (('layer', 'check'), 20)
    >>> mark.kwargs["ids"][0]
    'Tanh()-check_forward_shape_and_dtype'
    """
    import pytest

    examples = _max_examples(max_examples)
    shape = example_shape(input_shape)
    params: list[Any] = []
    ids: list[str] = []
    for obj in objects:
        if not (isinstance(obj, Layer | Loss) or callable(obj)):
            raise ArgumentTypeError(
                "parametrize_with_checks takes layers, losses or factories of them; got "
                f"{type(obj).__name__}"
            )
        prototype = obj if isinstance(obj, Layer | Loss) else obj()
        name = _describe(prototype)
        if isinstance(prototype, Loss):
            for loss_check in LOSS_CHECKS:
                params.append((obj, _BoundLossCheck(loss_check, examples)))
                ids.append(f"{name}-{loss_check.name}")
        elif isinstance(prototype, Layer):
            for layer_check in layer_checks(prototype):
                params.append((obj, _BoundLayerCheck(layer_check, shape, examples)))
                ids.append(f"{name}-{layer_check.name}")
        else:
            raise ArgumentTypeError(
                f"parametrize_with_checks takes layers, losses or factories of them; got "
                f"{type(prototype).__name__}"
            )
    return pytest.mark.parametrize(("layer", "check"), params, ids=ids)
