"""Weights of losses: their checks, and the factors of weighted means.

:func:`weight_vector` checks a weight given to a loss's constructor, :func:`sample_weights`
the per-example weights given to its call; :func:`example_factor` and
:func:`element_factor` turn them into each example's (each element's) factor in the
weighted sum or mean, and :func:`cross_entropy` computes CrossEntropyLoss with weights or
label smoothing. Everything is checked before any state changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from nnframe.checks import format_shape, owned_real_array, real_array
from nnframe.errors import ArgumentError, DataError, ShapeError

if TYPE_CHECKING:
    from nnframe.losses import Loss

__all__ = [
    "cross_entropy",
    "element_factor",
    "example_factor",
    "format_weight",
    "options_repr",
    "per_example",
    "per_output",
    "sample_weights",
    "weight_vector",
]


def _check_weight_values(array: np.ndarray, where: str, error: type[Exception]) -> None:
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise error(f"{where} must be finite; it contains NaN or inf")
    if array.size and np.minimum.reduce(array, axis=None) < 0:
        raise error(
            f"{where} must be >= 0; got {array.min()} (a negative weight would reward a "
            "larger loss)"
        )


def weight_vector(owner: str, value: object, name: str) -> np.ndarray | None:
    """Check a weight given to a loss's constructor: None, or a 1-d array of finite values >= 0.

    Returns it as a read-only float64 copy (the loss casts it to the prediction's dtype),
    or raises ``ArgumentError`` naming ``owner`` and ``name``.
    """
    if value is None:
        return None
    array = np.array(real_array(value, f"{owner}: {name}"), dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise ArgumentError(
            f"{owner}: {name} must be a 1-d array with one value per class or output; got "
            f"shape {format_shape(array.shape)}"
        )
    _check_weight_values(array, f"{owner}: {name}", ArgumentError)
    array.flags.writeable = False
    return array


def sample_weights(loss: Loss, sample_weight: object, pred: np.ndarray) -> np.ndarray:
    """Check per-example weights for ``pred``: shape ``(batch,)`` (or ``(batch, 1)``), finite, >= 0.

    Returns them as a 1-d array in ``pred``'s dtype.
    """
    w = owned_real_array(loss, sample_weight, "sample_weight")
    batch = pred.shape[0]
    w = per_example(w, batch, f"{loss!r}", f" for a batch of {batch}")
    return w.astype(pred.dtype, copy=False)


def per_example(weights: np.ndarray, n: int, where: str, context: str = "") -> np.ndarray:
    """Return per-example ``weights`` with shape ``(n,)`` (``(n, 1)`` is reshaped), checked.

    Raises ``ShapeError`` for another shape and ``DataError`` for a NaN, an inf or a
    negative weight, naming ``where``; ``context`` follows the expected shape.
    """
    if weights.shape == (n, 1):
        weights = weights.reshape(n)
    if weights.shape != (n,):
        raise ShapeError(
            f"{where}: sample_weight must hold one weight per example, shape ({n},)"
            f"{context}; got shape {format_shape(weights.shape)}"
        )
    _check_weight_values(weights, f"{where}: sample_weight", DataError)
    return weights


def example_factor(
    mean: bool, weights: np.ndarray | None, terms: np.ndarray | int, pred: np.ndarray
) -> np.ndarray:
    """Return each example's factor in a weighted sum or mean, shaped ``(batch, 1, ...)``.

    ``weights`` are the per-example weights ``s`` (None: all 1). For a sum the factor is
    ``s``; for a mean it is ``s / sum(s * terms)``, where ``terms`` is what each example
    counts for in the denominator: its number of elements, or its class weights shaped
    ``(batch, 1, d1, ...)``. When that sum is 0 (every weight 0) the factor is 0, and
    so are the loss and its gradient. The result has ``pred``'s number of dimensions
    and dtype.
    """
    shape = (pred.shape[0],) + (1,) * (pred.ndim - 1)
    factor = np.ones(shape, pred.dtype) if weights is None else weights.reshape(shape)
    if not mean:
        return factor
    denominator = float(np.sum(factor * terms))
    if denominator == 0.0:
        return np.zeros(shape, pred.dtype)
    return factor * (1.0 / denominator)


def options_repr(loss: object) -> list[str]:
    """The weights and label smoothing of ``loss`` that are set, as ``name=value`` strings."""
    args = format_weight("weight", getattr(loss, "weight", None))
    args += format_weight("pos_weight", getattr(loss, "pos_weight", None))
    if smoothing := getattr(loss, "label_smoothing", 0.0):
        args.append(f"label_smoothing={smoothing!r}")
    return args


def format_weight(name: str, weight: np.ndarray | None) -> list[str]:
    """``["name=[w0, w1, ...]"]`` for a loss's repr, or ``[]`` for no weight."""
    if not isinstance(weight, np.ndarray):
        return []
    values = np.array2string(weight, separator=", ", threshold=6, precision=4)
    return [f"{name}={values}"]


def per_output(loss: Loss, weight: np.ndarray | None, name: str, pred: np.ndarray) -> Any:
    """``weight`` (one value per output, the last axis of ``pred``) in ``pred``'s dtype."""
    if weight is None:
        return None
    outputs = pred.shape[-1] if pred.ndim >= 2 else 1
    if len(weight) != outputs:
        raise ShapeError(
            f"{loss!r}: {name} has {len(weight)} values but pred of shape "
            f"{format_shape(pred.shape)} has {outputs} outputs along its last axis"
        )
    return weight.astype(pred.dtype, copy=False)


def element_factor(
    loss: Loss, sample_weight: npt.ArrayLike | None, pred: np.ndarray, weight: np.ndarray | None
) -> np.ndarray | None:
    """Each element's factor in an element-wise loss, or None without any weight.

    ``weight[j] * s_i / (k * sum_i(s_i))`` for a mean over ``pred`` of shape
    ``(batch, k)``, ``weight[j] * s_i`` for a sum; ``weight`` is one value per output
    (:func:`per_output`), ``s`` the checked ``sample_weight``.
    """
    if sample_weight is None and weight is None:
        return None
    per = per_output(loss, weight, "weight", pred)
    s = None if sample_weight is None else sample_weights(loss, sample_weight, pred)
    factor = example_factor(loss.reduction == "mean", s, pred.size // len(pred), pred)
    return factor if per is None else factor * per


def cross_entropy(
    loss: Any,
    z: np.ndarray,
    target: np.ndarray,
    index: tuple[np.ndarray, ...] | None,
    sample_weight: npt.ArrayLike | None,
) -> tuple[float, dict[str, Any]]:
    """CrossEntropyLoss with weights or label smoothing: its value and its cache.

    The loss is ``-sum(scale * coef * log_softmax(z))``: ``coef`` holds each class's
    coefficient at each position (the smoothed target times the class weights, located
    by ``index`` for class labels, as in PyTorch) and ``scale`` each example's factor in
    the weighted sum or mean (:func:`example_factor`; for class labels with class weights
    the mean divides by ``sum_i(s_i * weight[y_i])``). The gradient is
    ``scale * (softmax(z) * sum_c(coef) - coef)``: the cache holds ``exp``, ``sums``,
    ``index=None`` and ``target=coef * scale / loss.reduction_scale(terms)``, so that the
    loss's backward for probability targets computes exactly that, and its unweighted
    path keeps the cache and the steps it had.
    """
    classes = z.shape[1]
    s = None if sample_weight is None else sample_weights(loss, sample_weight, z)
    weight = loss.weight
    if weight is not None:
        if len(weight) != classes:
            raise ShapeError(
                f"{loss!r}: weight has {len(weight)} values but pred has {classes} classes "
                "(axis 1)"
            )
        weight = weight.astype(z.dtype, copy=False)
    smoothing = loss.label_smoothing
    class_shape = (1, classes) + (1,) * (z.ndim - 2)
    terms: np.ndarray | int = z.size // (len(z) * classes)  # positions per example
    if index is not None:
        coef = np.zeros_like(z)
        coef[index] = 1.0 - smoothing if weight is None else (1.0 - smoothing) * weight[index[1]]
        if weight is not None:  # the mean divides by the weights of the labels
            terms = np.expand_dims(weight[index[1]], 1)
    else:
        coef = target * (1.0 - smoothing) if smoothing else target.copy()
        if weight is not None:
            coef *= weight.reshape(class_shape)
    if smoothing:
        coef += (smoothing / classes) * (1.0 if weight is None else weight.reshape(class_shape))
    scale = example_factor(loss.reduction == "mean", s, terms, z)
    shifted = np.subtract(z, np.maximum.reduce(z, axis=1, keepdims=True))
    exp = np.exp(shifted)
    sums = np.add.reduce(exp, axis=1, keepdims=True)
    shifted -= np.log(sums)  # log_softmax
    total = -float(np.add.reduce(coef * shifted * scale, axis=None))
    coef *= scale * (1.0 / loss.reduction_scale(z.size // classes))
    return total, {"exp": exp, "sums": sums, "target": coef, "index": None}
