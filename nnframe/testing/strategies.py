"""Hypothesis strategies for testing layers and losses: inputs, batch sizes, loss targets.

Compose them in your own property tests::

    from hypothesis import given, settings
    from nnframe.testing import strategies as nst

    @settings(deadline=None)
    @given(x=nst.layer_inputs(avoid=nf.ReLU.kinks))
    def test_relu_gradients(x):
        nf.assert_gradients(nf.ReLU(), x)

Every strategy draws bounded, finite values (no NaN or inf), float32 with
``floats(width=32)`` so that nothing is truncated, and keeps values off a layer's kinks
*by construction*: a value that lands within ``margin`` of a kink is moved out of the
margin (see :func:`off_kinks`), so no example is thrown away; for a layer tagged ``ties``
(max pooling) the values are also kept ``TIE_MARGIN`` apart (:func:`off_ties`). A layer
whose input is integer indices (an ``InputSpec`` with ``indices``, such as
``Embedding``'s) gets integer arrays in range instead (:func:`index_inputs`, chosen by
:func:`arrays_for`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from nnframe.errors import ArgumentError, ArgumentTypeError
from nnframe.layers.base import Layer
from nnframe.layers.spec import input_index_count, input_is_differentiable
from nnframe.losses import Loss

__all__ = [
    "DEFAULT_WIDTH",
    "KINK_MARGIN",
    "TIE_MARGIN",
    "arrays_for",
    "batch_sizes",
    "index_inputs",
    "infer_input_shape",
    "input_indices",
    "input_is_differentiable",
    "input_kinks",
    "input_ties",
    "is_batch_independent",
    "is_stochastic",
    "layer_inputs",
    "loss_inputs",
    "off_kinks",
    "off_ties",
]

#: How close to a kink a drawn value may come before it is moved away.
KINK_MARGIN = 1e-2
#: The least distance between two values of an input drawn for a layer tagged ``ties``:
#: a thousand times the finite-difference step, so no step reorders them.
TIE_MARGIN = 1e-3
#: The per-example width used when a layer's width cannot be read from its attributes.
DEFAULT_WIDTH = 3
# Probabilities kept inside this interval have well-behaved derivatives (PyTorch's BCE tests
# use [0.028, 0.972] for the same reason).
_PROBABILITY_RANGE = (0.02, 0.98)
# Bounds of "moderate" and of "extreme" values for logits and real-valued predictions.
_MODERATE = 3.0
_EXTREME = 1e3


def off_kinks(
    x: npt.ArrayLike, kinks: Sequence[float], margin: float = KINK_MARGIN
) -> np.ndarray:
    """Return a copy of ``x`` with every element moved out of ``margin`` around each kink.

    An element at ``kink + offset`` with ``|offset| < margin`` goes to
    ``kink + offset + copysign(margin, offset)``: the same side of the kink, at least
    ``margin`` away. It is a map, not a filter, so a strategy built on it never discards
    an example. The dtype of ``x`` is kept.

    Parameters
    ----------
    x : array_like
        Float values.
    kinks : sequence of float
        Where the layer is not differentiable (a layer's ``kinks`` tag).
    margin : float, default 1e-2
        The half-width of the band to clear around each kink.

    Returns
    -------
    ndarray

    Examples
    --------
    >>> off_kinks(np.array([-0.5, -0.001, 0.0, 0.004, 2.0]), (0.0,))
    array([-0.5  , -0.011,  0.01 ,  0.014,  2.   ])
    """
    array = np.asarray(x)
    if array.dtype.kind != "f":
        array = array.astype(np.float64)
    out = array.astype(np.float64)  # a copy, in a dtype where the shift is exact enough
    for kink in kinks:
        offset = out - kink
        near = np.abs(offset) < margin
        out[near] = kink + offset[near] + np.copysign(margin, offset[near])
    return out.astype(array.dtype, copy=False)


def off_ties(
    x: npt.ArrayLike,
    margin: float = TIE_MARGIN,
    kinks: Sequence[float] = (),
    kink_margin: float = KINK_MARGIN,
) -> np.ndarray:
    """Return a copy of ``x`` whose values are all at least ``margin`` apart, off ``kinks``.

    A map, not a filter: in ascending order, each value is raised just enough to stand
    ``margin`` above the one before (values already apart stay where they are, equal
    ones fan out upwards); then, for each kink in ascending order, every value above
    ``kink - kink_margin`` moves up by ``2 * kink_margin``, which clears the band around
    the kink and keeps the order and the gaps. Values may so grow by up to
    ``margin * (x.size - 1) + 2 * kink_margin * len(kinks)``. The dtype of ``x`` is kept.

    Examples
    --------
    >>> off_ties(np.array([0.5, 0.0, 0.5, 0.0]))
    array([0.5  , 0.   , 0.501, 0.001])
    >>> off_ties(np.array([0.0, 0.0]), kinks=(0.0,))
    array([0.02 , 0.021])
    """
    array = np.asarray(x)
    flat = array.astype(np.float64).ravel()
    order = np.argsort(flat, kind="stable")
    steps = margin * np.arange(flat.size)
    spread = steps + np.maximum.accumulate(flat[order] - steps)
    for kink in sorted(kinks):
        spread[spread > kink - kink_margin] += 2 * kink_margin
    out = np.empty_like(flat)
    out[order] = spread
    return out.reshape(array.shape).astype(array.dtype if array.dtype.kind == "f" else flat.dtype)


def input_ties(layer: Layer) -> bool:
    """Return whether whatever sees a layer's input first is tagged ``ties``.

    The layer's own tag or, for a container, its first sub-layer's (recursively), as for
    :func:`input_kinks`. A tied layer deeper in a stack (a MaxPool2d after a Conv2d)
    sees values the input cannot steer.

    Examples
    --------
    >>> import nnframe as nf
    >>> input_ties(nf.Sequential(nf.MaxPool2d(2), nf.Flatten()))
    True
    """
    children = layer.named_children()
    return bool(layer.ties) or (bool(children) and input_ties(children[0][1]))


def input_kinks(layer: Layer) -> tuple[float, ...]:
    """Return the kinks of whatever sees a layer's input first.

    The layer's own ``kinks`` tag and, for a container, those of its first sub-layer in
    definition order (recursively): ``Sequential(ReLU(), Linear(3, 2))`` has the kink 0.
    Kinks of deeper layers cannot be avoided by choosing the input.

    Examples
    --------
    >>> import nnframe as nf
    >>> input_kinks(nf.Sequential(nf.ReLU(), nf.Linear(3, 2, rng=0)))
    (0.0,)
    """
    kinks = tuple(layer.kinks)
    children = layer.named_children()
    if children:
        kinks += tuple(k for k in input_kinks(children[0][1]) if k not in kinks)
    return kinks


def input_indices(layer: Layer) -> int | None:
    """Return how many indices whatever sees a layer's input first takes, or None.

    Read from the declared :class:`~nnframe.InputSpec` (its ``indices``) of the layer
    or, for a container that declares none, of its first sub-layer (recursively), as for
    :func:`input_kinks`. None means the input is real numbers.

    Examples
    --------
    >>> import nnframe as nf
    >>> input_indices(nf.Sequential(nf.Embedding(10, 4, rng=0), nf.Linear(4, 2, rng=0)))
    10
    >>> input_indices(nf.Linear(3, 2, rng=0)) is None
    True
    """
    return input_index_count(layer)


def is_batch_independent(layer: Layer) -> bool:
    """Return whether example ``i`` of the output depends on example ``i`` of the input alone.

    Read from the tags (class attributes, or an instance property such as Softmax's,
    whose axis decides): False when the layer or any of its sub-layers is tagged
    ``batch_independent = False`` (a Sequential holding a BatchNorm1d mixes examples).

    Examples
    --------
    >>> import nnframe as nf
    >>> is_batch_independent(nf.Sequential(nf.Linear(3, 3, rng=0), nf.BatchNorm1d(3)))
    False
    """
    return all(sub.batch_independent for _, sub in layer.named_layers())


def is_stochastic(layer: Layer) -> bool:
    """Return whether the layer or any sub-layer is tagged ``stochastic = True``.

    Examples
    --------
    >>> import nnframe as nf
    >>> is_stochastic(nf.Sequential(nf.Linear(3, 3, rng=0), nf.Dropout(0.5, rng=0)))
    True
    """
    return any(sub.stochastic for _, sub in layer.named_layers())


def infer_input_shape(layer: Layer) -> tuple[int, ...]:
    """Return the shape of one example (without the batch) that ``layer`` accepts.

    Read from the declared :class:`~nnframe.InputSpec`: the first of the layer itself
    and its sub-layers, in definition order, whose spec fixes the size of an axis or
    takes integer indices (an ``Embedding``: ``(batch, 3)`` indices) gives the shape, its
    other axes ``DEFAULT_WIDTH`` (3) wide; without one, the shape is ``(3,)``, which
    suits elementwise layers. Layers whose spec says nothing of the size they take (a
    ``Flatten`` first) need an explicit ``input_shape``.

    Examples
    --------
    >>> import nnframe as nf
    >>> infer_input_shape(nf.Sequential(nf.ReLU(), nf.Linear(5, 2, rng=0)))
    (5,)
    >>> infer_input_shape(nf.Tanh())
    (3,)
    """
    for _, sub in layer.named_layers():
        spec = sub.input_spec
        if spec is not None and (spec.size is not None or spec.indices is not None):
            return spec.example_shape(sub, batch=1, width=DEFAULT_WIDTH)[1:]
    return (DEFAULT_WIDTH,)


def example_shape(input_shape: int | Sequence[int] | None) -> tuple[int, ...] | None:
    """Check an ``input_shape`` argument (an int or a tuple of positive ints, or None)."""
    if input_shape is None:
        return None
    shape = (input_shape,) if isinstance(input_shape, int | np.integer) else tuple(input_shape)
    if not all(isinstance(d, int | np.integer) and not isinstance(d, bool) for d in shape):
        raise ArgumentTypeError(
            f"input_shape must be an int or a tuple of ints; got {input_shape!r}"
        )
    if any(d <= 0 for d in shape):
        raise ArgumentError(f"input_shape must have positive sizes; got {input_shape!r}")
    return tuple(int(d) for d in shape)


def _float_dtype(dtype: npt.DTypeLike) -> np.dtype:
    try:
        result = np.dtype(dtype)
    except TypeError as error:
        raise ArgumentTypeError(f"{dtype!r} is not a dtype") from error
    if result.kind != "f" or result.itemsize not in (2, 4, 8):
        raise ArgumentError(f"dtype must be float16, float32 or float64; got {result}")
    return result


def _batch_range(min_batch: int, max_batch: int) -> None:
    for name, value in (("min_batch", min_batch), ("max_batch", max_batch)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise ArgumentTypeError(f"{name} must be an int; got {value!r}")
    if not 1 <= min_batch <= max_batch:
        raise ArgumentError(
            f"need 1 <= min_batch <= max_batch; got min_batch={min_batch}, max_batch={max_batch}"
        )


def _floats(dtype: np.dtype, low: float, high: float) -> st.SearchStrategy[float]:
    """Finite floats in [low, high], drawn at the dtype's width (no truncation warnings)."""
    width = 8 * dtype.itemsize
    # The bounds must be representable at that width: round them inwards.
    lo, hi = dtype.type(low), dtype.type(high)
    if lo < low:
        lo = np.nextafter(lo, dtype.type(np.inf))
    if hi > high:
        hi = np.nextafter(hi, dtype.type(-np.inf))
    return st.floats(
        float(lo), float(hi), width=width, allow_nan=False, allow_infinity=False  # type: ignore[arg-type]
    )


def batch_sizes(min_size: int = 1, max_size: int = 32) -> st.SearchStrategy[int]:
    """Batch sizes from ``min_size`` to ``max_size``.

    Use ``min_size=2`` for a layer that is not batch independent (BatchNorm needs more
    than one example).

    Examples
    --------
    >>> from hypothesis import given
    >>> @given(batch=batch_sizes(2, 4))
    ... def test(batch):
    ...     assert 2 <= batch <= 4
    >>> test()
    """
    _batch_range(min_size, max_size)
    return st.integers(min_size, max_size)


def layer_inputs(
    input_shape: int | Sequence[int] | None = None,
    dtype: npt.DTypeLike = np.float64,
    avoid: Sequence[float] = (),
    min_batch: int = 1,
    max_batch: int = 8,
    *,
    bound: float = _MODERATE,
    margin: float = KINK_MARGIN,
    max_width: int = 6,
    avoid_ties: bool = False,
) -> st.SearchStrategy[np.ndarray]:
    """Float arrays of shape ``(batch, *input_shape)`` for a layer's forward pass.

    Parameters
    ----------
    input_shape : int, tuple of int or None, default None
        The shape of one example. None draws a width from 1 to ``max_width``, so the
        arrays are ``(batch, width)``; read the width from ``x.shape[1]``.
    dtype : float dtype, default numpy.float64
        float64 for gradient checks; float32 values are drawn with ``floats(width=32)``.
    avoid : sequence of float, default ()
        Kinks to keep away from (``nf.ReLU.kinks``), by construction: see :func:`off_kinks`.
    min_batch, max_batch : int, default 1 and 8
        The range of batch sizes. Finite differences cost two forward passes per element:
        keep arrays small in gradient tests.
    bound : float, default 3.0
        Values lie in ``[-bound, bound]`` (plus at most ``2 * margin`` where a value is
        moved off a kink). Hypothesis also draws tiny magnitudes and exact zeros within it.
    margin : float, default 1e-2
        The distance kept from every kink in ``avoid``.
    max_width : int, default 6
        The largest width drawn when ``input_shape`` is None.
    avoid_ties : bool, default False
        Keep every value ``TIE_MARGIN`` from every other (for a layer tagged ``ties``),
        by construction: see :func:`off_ties`, which also clears the kinks then.

    Returns
    -------
    SearchStrategy of ndarray

    Examples
    --------
    >>> from hypothesis import given
    >>> import nnframe as nf
    >>> @given(x=layer_inputs(avoid=nf.ReLU.kinks))
    ... def test(x):
    ...     assert x.ndim == 2 and x.dtype == np.float64
    ...     assert np.all(np.abs(x) >= 1e-2)
    >>> test()
    """
    shape = example_shape(input_shape)
    float_dtype = _float_dtype(dtype)
    _batch_range(min_batch, max_batch)
    if not (isinstance(max_width, int) and max_width >= 1):
        raise ArgumentError(f"max_width must be a positive int; got {max_width!r}")
    if not (np.isfinite(bound) and bound > 0):
        raise ArgumentError(f"bound must be a positive finite float; got {bound!r}")
    kinks = tuple(float(k) for k in avoid)
    elements = _floats(float_dtype, -bound, bound)

    @st.composite
    def draw_inputs(draw: st.DrawFn) -> np.ndarray:
        batch = draw(st.integers(min_batch, max_batch))
        example = shape if shape is not None else (draw(st.integers(1, max_width)),)
        x = draw(arrays(float_dtype, (batch, *example), elements=elements))
        if avoid_ties:
            return off_ties(x, kinks=kinks, kink_margin=margin)
        return off_kinks(x, kinks, margin) if kinks else x

    return draw_inputs()


def index_inputs(
    num_indices: int,
    input_shape: int | Sequence[int] | None = None,
    min_batch: int = 1,
    max_batch: int = 8,
    *,
    dtype: npt.DTypeLike = np.int64,
    max_width: int = 6,
) -> st.SearchStrategy[np.ndarray]:
    """Integer arrays of shape ``(batch, *input_shape)`` with elements in ``[0, num_indices)``.

    For layers whose input is indices (``Embedding``). Repeated indices, the smallest and
    the largest come up often, as hypothesis favours them.

    Parameters
    ----------
    num_indices : int
        How many indices are valid (``num_embeddings``).
    input_shape : int, tuple of int or None, default None
        The shape of one example; None draws a width from 1 to ``max_width``.
    min_batch, max_batch : int, default 1 and 8
    dtype : integer dtype, default numpy.int64
    max_width : int, default 6

    Returns
    -------
    SearchStrategy of ndarray

    Examples
    --------
    >>> from hypothesis import given
    >>> @given(x=index_inputs(10, (4,)))
    ... def test(x):
    ...     assert x.shape[1:] == (4,) and x.min() >= 0 and x.max() < 10
    >>> test()
    """
    if not (isinstance(num_indices, int | np.integer) and num_indices >= 1):
        raise ArgumentError(f"num_indices must be a positive int; got {num_indices!r}")
    shape = example_shape(input_shape)
    _batch_range(min_batch, max_batch)
    if not (isinstance(max_width, int) and max_width >= 1):
        raise ArgumentError(f"max_width must be a positive int; got {max_width!r}")
    index_dtype = np.dtype(dtype)
    if index_dtype.kind not in "iu":
        raise ArgumentError(f"dtype must be an integer dtype; got {index_dtype}")
    elements = st.integers(0, int(num_indices) - 1)

    @st.composite
    def draw_indices(draw: st.DrawFn) -> np.ndarray:
        batch = draw(st.integers(min_batch, max_batch))
        example = shape if shape is not None else (draw(st.integers(1, max_width)),)
        return draw(arrays(index_dtype, (batch, *example), elements=elements))

    return draw_indices()


def arrays_for(
    layer: Layer,
    *,
    dtype: npt.DTypeLike = np.float64,
    input_shape: int | Sequence[int] | None = None,
    min_batch: int | None = None,
    max_batch: int = 8,
    bound: float = _MODERATE,
    margin: float = KINK_MARGIN,
) -> st.SearchStrategy[np.ndarray]:
    """Inputs suited to ``layer``: its input shape, off its kinks, in ``dtype``.

    The per-example shape is ``input_shape`` or :func:`infer_input_shape` of the layer;
    the kinks avoided are :func:`input_kinks`, and values are kept apart when
    :func:`input_ties` says so; the smallest batch is 2 for a layer that is
    not :func:`is_batch_independent` (BatchNorm needs two examples), else 1. A layer
    whose input is integer indices (:func:`input_indices`) gets int64 indices in range
    (:func:`index_inputs`) instead; ``dtype``, ``bound`` and ``margin`` then do not apply.

    Examples
    --------
    >>> from hypothesis import given
    >>> import nnframe as nf
    >>> layer = nf.Linear(4, 2, rng=0)
    >>> @given(x=arrays_for(layer))
    ... def test(x):
    ...     assert x.shape[1:] == (4,)
    ...     _ = nf.assert_gradients(layer, x)
    >>> test()
    """
    if not isinstance(layer, Layer):
        raise ArgumentTypeError(f"arrays_for takes a Layer; got {type(layer).__name__}")
    shape = example_shape(input_shape) or infer_input_shape(layer)
    if min_batch is None:
        min_batch = 1 if is_batch_independent(layer) else 2
    count = input_indices(layer)
    if count is not None:
        return index_inputs(count, shape, min_batch, max(max_batch, min_batch))
    return layer_inputs(
        shape, dtype, input_kinks(layer), min_batch, max(max_batch, min_batch),
        bound=bound, margin=margin, avoid_ties=input_ties(layer),
    )


def _loss_tags(loss: Loss | type[Loss]) -> tuple[str, tuple[str, ...]]:
    cls = loss if isinstance(loss, type) else type(loss)
    if not (isinstance(cls, type) and issubclass(cls, Loss)):
        raise ArgumentTypeError(f"expected a Loss or a Loss class; got {loss!r}")
    return cls.input_kind, tuple(cls.target_kinds)


def _targets(
    kind: str, pred: np.ndarray, dtype: np.dtype
) -> st.SearchStrategy[np.ndarray]:
    batch, classes = pred.shape
    if kind == "class_index":
        return arrays(np.int64, (batch,), elements=st.integers(0, classes - 1))
    if kind == "binary":
        # Hard 0/1 labels and soft labels, mixed.
        labels = st.sampled_from([0.0, 1.0]) | _floats(dtype, 0.0, 1.0)
        return arrays(dtype, pred.shape, elements=labels)
    if kind == "one_hot":
        hard = arrays(np.int64, (batch,), elements=st.integers(0, classes - 1)).map(
            lambda labels: np.eye(classes, dtype=dtype)[labels]
        )
        # Rows of class probabilities: non-negative weights, normalised (never all zero).
        soft = arrays(dtype, pred.shape, elements=_floats(dtype, 0.0, 1.0)).map(
            lambda w: ((w + 0.01) / np.sum(w + 0.01, axis=1, keepdims=True)).astype(dtype)
        )
        return hard | soft
    return arrays(dtype, pred.shape, elements=_floats(dtype, -_MODERATE, _MODERATE))


def loss_inputs(
    loss: Loss | type[Loss],
    *,
    dtype: npt.DTypeLike = np.float64,
    target_kind: str | None = None,
    min_batch: int = 1,
    max_batch: int = 8,
    max_classes: int = 4,
    extreme: bool = False,
) -> st.SearchStrategy[tuple[np.ndarray, np.ndarray]]:
    """``(pred, target)`` pairs suited to a loss, read from its ``input_kind`` and ``target_kinds``.

    ``pred`` has shape ``(batch, k)`` and the given dtype: probabilities inside
    (0.02, 0.98) for ``input_kind == "probability"`` (where derivatives are
    well-behaved), values in [-3, 3] for ``"logit"`` and ``"real"``. The target kind is
    drawn from the loss's ``target_kinds`` (or is ``target_kind``): ``"binary"`` targets
    are 0/1 or soft labels shaped like ``pred``, ``"class_index"`` integer labels of shape
    ``(batch,)``, ``"one_hot"`` one-hot or probability rows shaped like ``pred``,
    ``"real"`` values in [-3, 3]. Class-based kinds get at least 2 classes.

    Parameters
    ----------
    loss : Loss or Loss subclass
    dtype : float dtype, default numpy.float64
        The dtype of ``pred`` (and of float targets).
    target_kind : str, optional
        One of the loss's ``target_kinds``; by default each example draws one.
    min_batch, max_batch : int, default 1 and 8
    max_classes : int, default 4
        The largest ``k``.
    extreme : bool, default False
        Draw from the whole valid range instead: probabilities in [0, 1] (exact 0 and 1
        included), logits and real values in [-1000, 1000]. For checks of the value and
        shapes, not of derivatives.

    Returns
    -------
    SearchStrategy of (ndarray, ndarray)

    Examples
    --------
    >>> from hypothesis import given
    >>> import nnframe as nf
    >>> @given(data=loss_inputs(nf.CrossEntropyLoss))
    ... def test(data):
    ...     pred, target = data
    ...     assert pred.shape[1] >= 2 and target.dtype.kind in "if"
    >>> test()
    """
    input_kind, kinds = _loss_tags(loss)
    float_dtype = _float_dtype(dtype)
    _batch_range(min_batch, max_batch)
    if target_kind is not None and target_kind not in kinds:
        raise ArgumentError(f"target_kind must be one of {kinds}; got {target_kind!r}")
    if not (isinstance(max_classes, int) and max_classes >= 2):
        raise ArgumentError(f"max_classes must be an int >= 2; got {max_classes!r}")
    if input_kind == "probability":
        low, high = (0.0, 1.0) if extreme else _PROBABILITY_RANGE
    else:
        high = _EXTREME if extreme else _MODERATE
        low = -high
    elements = _floats(float_dtype, low, high)

    @st.composite
    def draw_pair(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
        kind = target_kind if target_kind is not None else draw(st.sampled_from(kinds))
        fewest = 2 if kind in ("class_index", "one_hot") else 1
        batch = draw(st.integers(min_batch, max_batch))
        classes = draw(st.integers(fewest, max_classes))
        pred = draw(arrays(float_dtype, (batch, classes), elements=elements))
        target = draw(_targets(kind, pred, float_dtype))
        return pred, target

    return draw_pair()
