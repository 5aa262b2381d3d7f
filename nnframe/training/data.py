"""Data for training: the checks of example arrays and weights, and mini-batches."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import overload

import numpy as np

from nnframe.checks import boolean, interval, is_real, positive_int, real_array
from nnframe.errors import ArgumentError, ArgumentTypeError, DataError, ShapeError
from nnframe.rng import RNGLike, as_generator
from nnframe.weighting import per_example

__all__ = ["batches"]


def as_data(array: object, name: str, where: str) -> np.ndarray:
    """Return ``array`` as a real array of examples, or raise naming ``where`` and ``name``.

    It must have a batch dimension, at least one example, and no NaN or infinite value.
    """
    data = real_array(array, f"{where}: {name}")
    if data.ndim == 0:
        raise ShapeError(f"{where}: {name} must have a batch dimension; got a 0-d array")
    if data.shape[0] == 0:
        raise DataError(f"{where}: {name} is empty (0 examples)")
    if data.dtype.kind == "f" and not np.isfinite(data).all():
        bad = np.argwhere(~np.isfinite(data))
        raise DataError(
            f"{where}: {name} holds {len(bad)} NaN or infinite values (first at index "
            f"{tuple(int(i) for i in bad[0])}); clean the data first"
        )
    return data


def check_pair(x: object, y: object, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(x, y)`` as arrays of the same number of examples, ``x`` at least 2-d.

    Each is checked by :func:`as_data`; raises naming ``where`` otherwise.
    """
    xs, ys = as_data(x, "x", where), as_data(y, "y", where)
    if xs.ndim < 2:
        raise ShapeError(
            f"{where}: x must be batch-first with shape (examples, features); got shape "
            f"{xs.shape}"
        )
    if len(xs) != len(ys):
        raise DataError(f"{where}: x has {len(xs)} examples but y has {len(ys)}")
    return xs, ys


def example_weights(weights: object, n: int, where: str) -> np.ndarray:
    """Return per-example weights as a float64 array of shape ``(n,)``, or raise.

    They must be finite and ``>= 0`` (``DataError``), one per example (``ShapeError``;
    ``(n, 1)`` is accepted), and not all 0 (``DataError``: nothing would be learnt).
    """
    w = real_array(weights, f"{where}: sample_weight").astype(np.float64)
    w = per_example(w, n, where)
    if not w.any():
        raise DataError(f"{where}: every sample_weight is 0; nothing would be learnt")
    return w


def class_labels_of(y: np.ndarray, where: str) -> np.ndarray:
    """Return the class label of each example of ``y``, for ``class_weight``.

    ``y`` holds whole-number labels of shape ``(n,)`` or ``(n, 1)`` (class indices, or
    0/1 for a binary output), or one-hot rows of shape ``(n, classes)`` (the label is the
    column of the 1, as in Keras).
    """
    if y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1):
        labels = y.reshape(len(y))
        if labels.dtype.kind == "f" and not np.all(labels == np.round(labels)):
            raise DataError(
                f"{where}: class_weight needs class labels in y (whole numbers); y holds "
                "fractional values"
            )
        return labels.astype(np.int64)
    if y.ndim == 2 and np.all((y == 0) | (y == 1)) and np.all(y.sum(axis=1) == 1):
        return np.argmax(y, axis=1)
    raise DataError(
        f"{where}: class_weight needs class labels of shape (n,) or one-hot rows; got y of "
        f"shape {y.shape} that is neither"
    )


def class_weights(class_weight: object, y: np.ndarray, where: str) -> np.ndarray:
    """Return each example's weight from ``class_weight``: a dict or ``"balanced"``.

    ``"balanced"`` is scikit-learn's ``n_samples / (n_classes * np.bincount(y))`` over
    the classes present in ``y``; a dict maps class labels to weights (finite, ``>= 0``),
    and a class it leaves out weighs 1, as in scikit-learn and Keras. A key that is not
    a class of ``y`` is an ``ArgumentError``.

    Examples
    --------
    >>> class_weights("balanced", np.array([0, 0, 0, 1]), "fit")
    array([0.66666667, 0.66666667, 0.66666667, 2.        ])
    >>> class_weights({1: 3.0}, np.array([0, 1]), "fit")
    array([1., 3.])
    """
    labels = class_labels_of(y, where)
    classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise ArgumentError(
                f"{where}: class_weight must be a dict or 'balanced'; got {class_weight!r}"
            )
        per_class = len(labels) / (len(classes) * counts)
        return np.asarray(per_class[inverse], dtype=np.float64)
    if not isinstance(class_weight, Mapping):
        raise ArgumentTypeError(
            f"{where}: class_weight must be a dict {{class: weight}} or 'balanced'; got "
            f"{type(class_weight).__name__}"
        )
    per_class = np.ones(len(classes))
    known = {int(c): i for i, c in enumerate(classes)}
    for key, value in class_weight.items():
        if not is_real(key) or not float(key).is_integer() or int(float(key)) not in known:
            raise ArgumentError(
                f"{where}: class_weight has the key {key!r}, which is not a class of y "
                f"(its classes are {sorted(known)})"
            )
        if not is_real(value) or not (0 <= float(value) < np.inf):
            raise ArgumentError(
                f"{where}: class_weight[{key!r}] must be a finite number >= 0; got {value!r}"
            )
        per_class[known[int(float(key))]] = float(value)
    return per_class[inverse]


Validation = tuple[np.ndarray, np.ndarray, np.ndarray | None]


def fit_data(
    x: object,
    y: object,
    *,
    sample_weight: object,
    class_weight: object,
    validation_data: object,
    validation_split: object,
    where: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, Validation | None]:
    """Check what ``Trainer.fit`` trains and validates on, changing nothing.

    Returns ``(x, y, weights, validation)``: the training examples, their weights (None
    for unweighted training; ``class_weight`` times ``sample_weight``, scikit-learn's
    and Keras's rule) and ``(x_val, y_val, w_val)`` or None. ``validation_split`` holds
    out the last examples (and their weights) before shuffling, as Keras does;
    ``class_weight`` is resolved on the training part and applies to it only.
    """
    xs, ys = check_pair(x, y, where)
    weights = None if sample_weight is None else example_weights(sample_weight, len(xs), where)
    split = interval(0.0, 1.0)(validation_split, f"{where}: validation_split")
    validation: Validation | None = None
    if validation_data is None and split > 0:
        keep = len(xs) - math.ceil(len(xs) * split)
        if keep < 1:
            raise DataError(f"{where}: validation_split={split} leaves no training data")
        held = None if weights is None else weights[keep:]
        validation = (xs[keep:], ys[keep:], held)
        xs, ys = xs[:keep], ys[:keep]
        weights = None if weights is None else weights[:keep]
    elif validation_data is not None:
        given = validation_data
        if not isinstance(given, tuple | list) or len(given) not in (2, 3):
            got = f"{len(given)} items" if isinstance(given, tuple | list) else type(given)
            raise ArgumentTypeError(
                f"{where}: validation_data must be a pair (x_val, y_val) or a triple "
                f"(x_val, y_val, w_val); got {getattr(got, '__name__', got)}"
            )
        x_val, y_val = check_pair(given[0], given[1], f"{where} validation_data")
        w_val = None
        if len(given) == 3 and given[2] is not None:
            w_val = example_weights(given[2], len(x_val), f"{where} validation_data")
        validation = (x_val, y_val, w_val)
    if class_weight is not None:
        per_example = class_weights(class_weight, ys, where)
        weights = per_example if weights is None else weights * per_example
    if weights is not None and not weights.any():
        raise DataError(
            f"{where}: every training example has weight 0 (class_weight times "
            "sample_weight); nothing would be learnt"
        )
    return xs, ys, weights, validation


@overload
def batches(
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    *,
    shuffle: bool = ...,
    rng: RNGLike = ...,
    sample_weight: None = ...,
) -> Iterator[tuple[np.ndarray, np.ndarray]]: ...
@overload
def batches(
    x: np.ndarray,
    y: None,
    batch_size: int,
    *,
    shuffle: bool = ...,
    rng: RNGLike = ...,
    sample_weight: None = ...,
) -> Iterator[tuple[np.ndarray, None]]: ...
@overload
def batches(
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    *,
    shuffle: bool = ...,
    rng: RNGLike = ...,
    sample_weight: np.ndarray,
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]: ...
def batches(
    x: np.ndarray,
    y: np.ndarray | None,
    batch_size: int,
    *,
    shuffle: bool = False,
    rng: RNGLike = None,
    sample_weight: np.ndarray | None = None,
) -> Iterator[tuple[np.ndarray | None, ...]]:
    """Yield ``(x_batch, y_batch)`` pairs of at most ``batch_size`` examples.

    The arguments are checked when ``batches`` is called, not when the first batch is
    drawn; a shuffled order is drawn from ``rng`` when the first batch is.

    Parameters
    ----------
    x : ndarray of shape (n, ...)
    y : ndarray of shape (n, ...) or None
        Targets, split alongside ``x``; None yields ``(x_batch, None)``.
    batch_size : int
        The last batch holds the remainder.
    shuffle : bool, default False
        Visit the examples in a random order drawn from ``rng``.
    rng : None, int or numpy.random.Generator
    sample_weight : ndarray of shape (n,), optional
        Per-example weights, split alongside: then ``(x_batch, y_batch, w_batch)``
        triples are yielded, in the same order as the pairs without weights.

    Examples
    --------
    >>> x, y = np.arange(10).reshape(5, 2), np.arange(5)
    >>> [len(yb) for _, yb in batches(x, y, 2)]
    [2, 2, 1]
    >>> [wb.tolist() for _, _, wb in batches(x, y, 2, sample_weight=np.arange(5.0))]
    [[0.0, 1.0], [2.0, 3.0], [4.0]]

    Raises
    ------
    ArgumentError, ArgumentTypeError
        For a ``batch_size`` that is not a positive int, a ``shuffle`` that is not a
        bool, a bad ``rng``, or ``sample_weight`` without ``y``.
    ArgumentTypeError, ShapeError
        For ``x``, ``y`` or ``sample_weight`` that is not an array with a batch axis
        (None, a number, a string: ``ArgumentTypeError``; a 0-d or ragged array:
        ``ShapeError``).
    DataError
        When ``y`` or ``sample_weight`` has another number of examples than ``x``.
    """
    size = positive_int(batch_size, "batches: batch_size")
    xs = _batchable(x, "x")
    n = len(xs)
    ys = None if y is None else _batchable(y, "y")
    if ys is not None and len(ys) != n:
        raise DataError(f"batches: x has {n} examples but y has {len(ys)}")
    weights = None
    if sample_weight is not None:
        if ys is None:
            raise ArgumentError("batches: sample_weight needs targets y")
        weights = real_array(sample_weight, "batches: sample_weight")
        if weights.ndim == 0:
            raise ShapeError("batches: sample_weight must hold one weight per example; got 0-d")
        if len(weights) != n:
            raise DataError(f"batches: x has {n} examples but sample_weight has {len(weights)}")
    shuffled = boolean(shuffle, "batches: shuffle")
    generator = as_generator(rng, name="batches: rng") if shuffled else None
    return _batch_stream(xs, ys, weights, size, generator)


def _batchable(value: object, name: str) -> np.ndarray:
    """``value`` as an array with a batch axis (an ndarray is not copied), or raise."""
    if isinstance(value, np.ndarray):
        array = value
    else:
        try:
            array = np.asarray(value)
        except (ValueError, TypeError) as error:  # ragged nesting: [[1, 2], [3]]
            raise ShapeError(
                f"batches: {name} must be an array of examples; got a ragged or unusable "
                f"{type(value).__name__}"
            ) from error
    if array.ndim == 0:
        kind = ShapeError if isinstance(value, np.ndarray) else ArgumentTypeError
        raise kind(
            f"batches: {name} must be an array of examples with a batch axis; got "
            f"{'a 0-d array' if isinstance(value, np.ndarray) else type(value).__name__}"
        )
    return array


def _batch_stream(
    x: np.ndarray,
    y: np.ndarray | None,
    weights: np.ndarray | None,
    size: int,
    generator: np.random.Generator | None,
) -> Iterator[tuple[np.ndarray | None, ...]]:
    """The batches of :func:`batches`, its arguments checked; the order drawn on first use."""
    n = len(x)
    order = None if generator is None else generator.permutation(n)
    for start in range(0, n, size):
        if order is None:
            index: slice | np.ndarray = slice(start, start + size)
        else:
            index = order[start : start + size]
        if weights is None:
            yield x[index], (None if y is None else y[index])
        else:
            yield x[index], None if y is None else y[index], weights[index]
