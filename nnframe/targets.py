"""Checks of a loss's prediction and target, run before any state changes.

Each takes the loss for its error messages (they start with its repr) and returns the
array in the form the loss computes with, or raises ``DTypeError``, ``ShapeError`` or
``DataError``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from nnframe.checks import DEFAULT_DTYPE, format_shape, owned_real_array
from nnframe.errors import DataError, ShapeError

if TYPE_CHECKING:
    from nnframe.losses import Loss

__all__ = [
    "as_pred",
    "binary_target",
    "check_finite",
    "check_unit_interval",
    "class_target",
    "class_labels",
    "describe_values",
    "label_index",
    "shaped_like",
]


def as_pred(loss: Loss, pred: object) -> np.ndarray:
    """Check ``pred`` and return it as a float array (integers become float32)."""
    array = owned_real_array(loss, pred, "pred")
    if array.ndim == 0:
        raise ShapeError(
            f"{loss!r}: pred needs a batch dimension, shape (batch, ...); got a 0-d array"
        )
    if array.size == 0:
        raise DataError(f"{loss!r}: the batch is empty: pred has shape {format_shape(array.shape)}")
    return array if array.dtype.kind == "f" else array.astype(DEFAULT_DTYPE)


def _is_column(shape: tuple[int, ...]) -> bool:
    return len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)


def shaped_like(loss: Loss, target: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Return ``target`` with ``pred``'s shape; ``(batch,)`` and ``(batch, 1)`` mix freely.

    Only that pair is reshaped: anything else must match exactly, because broadcasting
    ``(batch,)`` against ``(batch, 1)`` would silently build a ``(batch, batch)`` loss.
    """
    if target.shape == pred.shape:
        return target
    if _is_column(target.shape) and _is_column(pred.shape) and target.shape[0] == pred.shape[0]:
        return target.reshape(pred.shape)
    hint = ""
    if target.shape == pred.shape[::-1]:
        hint = "; targets are batch-first like pred (the course's (1, m) layout is target.T)"
    raise ShapeError(
        f"{loss!r}: target must have pred's shape {format_shape(pred.shape)}; "
        f"got target of shape {format_shape(target.shape)}{hint}"
    )


def describe_values(array: np.ndarray) -> str:
    """Say what is wrong with the values of ``array``, for an error message."""
    # Only called on the error path, so it may take extra passes.
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        return "it contains NaN or inf"
    return f"its values range from {array.min()} to {array.max()}"


def check_finite(loss: Loss, target: np.ndarray) -> None:
    """Raise ``DataError`` when a float ``target`` holds NaN or inf."""
    if target.dtype.kind == "f" and not np.isfinite(target).all():
        raise DataError(f"{loss!r}: target must be finite; it contains NaN or inf")


def check_unit_interval(loss: Loss, target: np.ndarray, what: str) -> None:
    """Raise ``DataError`` unless every value of ``target`` is in [0, 1] (NaN is not)."""
    # NaN propagates through both reductions and fails both comparisons.
    if target.dtype.kind != "b" and not (
        np.minimum.reduce(target, axis=None) >= 0 and np.maximum.reduce(target, axis=None) <= 1
    ):
        raise DataError(f"{loss!r}: {what} must hold values in [0, 1]; {describe_values(target)}")


def binary_target(loss: Loss, target: object, pred: np.ndarray) -> np.ndarray:
    """Return a target in [0, 1] with ``pred``'s shape and dtype, or raise."""
    y = shaped_like(loss, owned_real_array(loss, target, "target"), pred)
    check_unit_interval(loss, y, "target")
    return y.astype(pred.dtype, copy=False)


# The unsigned dtype of each signed integer dtype seen, and the row indices of each batch
# size seen lately (every step of a training run has the same few).
_UNSIGNED: dict[np.dtype, np.dtype] = {}
_ROWS: dict[int, np.ndarray] = {}


def class_labels(loss: Loss, target: np.ndarray, n_classes: int) -> np.ndarray:
    """Check class labels of shape (batch,) or (batch, d1, ...) and return them as intp."""
    if target.dtype.kind == "i":
        # Seen as unsigned, a negative label is huge: one reduction checks both bounds.
        unsigned = _UNSIGNED.get(target.dtype)
        if unsigned is None:
            unsigned = _UNSIGNED[target.dtype] = np.dtype(target.dtype.str.replace("i", "u"))
        if target.view(unsigned).max() < n_classes:
            return target if target.dtype == np.intp else target.astype(np.intp)
    check_finite(loss, target)
    low, high = np.minimum.reduce(target, axis=None), np.maximum.reduce(target, axis=None)
    if low < 0 or high >= n_classes:
        raise DataError(
            f"{loss!r}: class labels must be integers in [0, {n_classes}) for pred with "
            f"{n_classes} classes; got labels from {low} to {high}"
        )
    if target.dtype.kind == "f" and not np.all(target == np.round(target)):
        raise DataError(
            f"{loss!r}: class labels must be whole numbers; got a non-integer label "
            f"in a {target.dtype} array (pass an integer array)"
        )
    return target.astype(np.intp, copy=False)


def label_index(labels: np.ndarray) -> tuple[np.ndarray, ...]:
    """Index of each label's class in logits ``(batch, classes, d1, ...)``.

    ``labels`` has shape ``(batch, d1, ...)``; the class axis 1 is put between the batch
    axis and the others: ``(arange(batch), labels)`` for 2-d logits.
    """
    if labels.ndim == 1:  # the common case, without np.indices' overhead
        rows = _ROWS.get(len(labels))
        if rows is None:  # a new batch size
            if len(_ROWS) >= 16:
                _ROWS.clear()
            rows = _ROWS[len(labels)] = np.arange(len(labels))
            rows.flags.writeable = False  # shared by every call
        return rows, labels
    grids: tuple[np.ndarray, ...] = tuple(np.indices(labels.shape, sparse=True))
    return (grids[0], labels, *grids[1:])


def class_target(
    loss: Loss, target: object, z: np.ndarray
) -> tuple[np.ndarray, tuple[np.ndarray, ...] | None]:
    """Check logits ``z`` and CrossEntropyLoss's ``target`` for them.

    Returns ``(target, index)``: class probabilities shaped like ``z`` in its dtype and
    None, or the labels (as given) and their :func:`label_index` in ``z``.
    """
    if z.ndim < 2:
        raise ShapeError(
            f"{loss!r}: pred must be logits of shape (batch, classes) or "
            f"(batch, classes, d1, ...); got shape {format_shape(z.shape)}"
        )
    classes = z.shape[1]
    if classes < 2:
        raise ShapeError(
            f"{loss!r}: pred has {classes} class; a softmax over one class is always "
            "1 and its loss always 0; for one output per example use BCEWithLogitsLoss"
        )
    t = owned_real_array(loss, target, "target")
    labels_shape = (z.shape[0], *z.shape[2:])
    index: tuple[np.ndarray, ...] | None = None
    if t.shape == z.shape:
        check_unit_interval(loss, t, "one-hot target")
        t = t.astype(z.dtype, copy=False)
    elif t.shape == labels_shape or (z.ndim == 2 and t.shape == (z.shape[0], 1)):
        labels = t if t.shape == labels_shape else t.reshape(labels_shape)
        index = label_index(class_labels(loss, labels, classes))
    else:
        probabilities = "one-hot rows" if z.ndim == 2 else "class probabilities"
        raise ShapeError(
            f"{loss!r}: target must be class labels of shape {format_shape(labels_shape)} "
            f"or {probabilities} of shape {format_shape(z.shape)}; "
            f"got shape {format_shape(t.shape)}"
        )
    return t, index
