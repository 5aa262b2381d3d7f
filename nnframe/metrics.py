"""Metrics: functions ``metric(pred, target) -> float`` for monitoring training."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from nnframe import functional as F
from nnframe.errors import ArgumentError, ShapeError

__all__ = ["Metric", "accuracy", "binary_crossentropy", "get", "mean_squared_error"]

Metric = Callable[[np.ndarray, np.ndarray], float]


def _binary_targets(pred: np.ndarray, target: np.ndarray, name: str) -> tuple[np.ndarray, ...]:
    p, t = np.asarray(pred).reshape(-1), np.asarray(target).reshape(-1)
    if p.shape != t.shape:
        raise ShapeError(
            f"{name}: predictions of shape {np.shape(pred)} do not match targets of shape "
            f"{np.shape(target)}"
        )
    return p, t


def accuracy(pred: np.ndarray, target: np.ndarray, *, from_logits: bool = False) -> float:
    """Fraction of examples classified correctly.

    Multi-class when ``pred`` has shape ``(batch, classes)`` with ``classes > 1``: the
    predicted class is the argmax, and ``target`` holds class indices ``(batch,)`` or
    one-hot rows. Binary otherwise: ``pred`` of shape ``(batch,)`` or ``(batch, 1)`` is
    thresholded at 0.5 (probabilities) or at 0 (``from_logits=True``).

    Parameters
    ----------
    pred : ndarray
        Probabilities, logits or class scores, batch-first.
    target : ndarray
        Class indices, one-hot rows, or 0/1 labels.
    from_logits : bool, default False
        For binary predictions: whether ``pred`` holds logits rather than probabilities.

    Returns
    -------
    float

    Examples
    --------
    >>> accuracy(np.array([[0.9], [0.2], [0.4]]), np.array([1, 0, 1]))
    0.6666666666666666
    >>> accuracy(np.array([[2.0, 1.0], [0.0, 3.0]]), np.array([0, 0]))
    0.5
    """
    pred = np.asarray(pred)
    target = np.asarray(target)
    if pred.ndim == 2 and pred.shape[1] > 1:
        labels = target.argmax(axis=1) if target.ndim == 2 else target.reshape(-1)
        if labels.shape[0] != pred.shape[0]:
            raise ShapeError(
                f"accuracy: {pred.shape[0]} predictions but {labels.shape[0]} targets"
            )
        return float(np.mean(pred.argmax(axis=1) == labels))
    p, t = _binary_targets(pred, target, "accuracy")
    threshold = 0.0 if from_logits else 0.5
    return float(np.mean((p > threshold) == (t > 0.5)))


def binary_crossentropy(pred: np.ndarray, target: np.ndarray) -> float:
    """Mean binary cross-entropy of probabilities ``pred`` against 0/1 ``target``.

    Probabilities are clipped into ``[eps, 1 - eps]`` for the prediction's dtype, so
    predictions of exactly 0 or 1 give a large finite value.

    Examples
    --------
    >>> round(binary_crossentropy(np.array([0.8, 0.9, 0.4]), np.array([1, 1, 1])), 6)
    0.414932
    """
    p, t = _binary_targets(pred, target, "binary_crossentropy")
    dtype = p.dtype if p.dtype.kind == "f" else np.dtype(np.float64)
    eps = float(np.finfo(dtype).eps)
    p = np.clip(p.astype(dtype, copy=False), eps, 1 - eps)
    return float(-np.mean(t * np.log(p) + (1 - t) * np.log1p(-p)))


def mean_squared_error(pred: np.ndarray, target: np.ndarray) -> float:
    """Mean of ``(pred - target)**2`` over every element.

    Examples
    --------
    >>> mean_squared_error(np.array([[1.0], [3.0]]), np.array([[0.0], [1.0]]))
    2.5
    """
    p, t = np.asarray(pred), np.asarray(target)
    if p.size != t.size:
        raise ShapeError(
            f"mean_squared_error: predictions of shape {p.shape} do not match targets of "
            f"shape {t.shape}"
        )
    return float(np.mean((p.reshape(-1) - t.reshape(-1)) ** 2))


def _logit_accuracy(pred: np.ndarray, target: np.ndarray) -> float:
    return accuracy(pred, target, from_logits=True)


def _logit_crossentropy(pred: np.ndarray, target: np.ndarray) -> float:
    return binary_crossentropy(F.sigmoid(np.asarray(pred, dtype=np.float64)), target)


_BY_NAME: dict[str, Metric] = {
    "accuracy": accuracy,
    "binary_crossentropy": binary_crossentropy,
    "mean_squared_error": mean_squared_error,
    "mse": mean_squared_error,
}


def get(metric: str | Metric, *, from_logits: bool = False) -> tuple[str, Metric]:
    """Return ``(name, function)`` for a metric given by name or as a function.

    Parameters
    ----------
    metric : str or callable
        ``"accuracy"``, ``"binary_crossentropy"``, ``"mean_squared_error"`` (``"mse"``),
        or a function ``metric(pred, target) -> float`` (named by its ``__name__``).
    from_logits : bool, default False
        Whether the model's outputs are logits (the Trainer sets this from its loss), for
        the binary metrics that threshold or take logs of probabilities.

    Raises
    ------
    ArgumentError
        For an unknown name.
    """
    if callable(metric):
        return getattr(metric, "__name__", type(metric).__name__), metric
    if not isinstance(metric, str) or metric not in _BY_NAME:
        raise ArgumentError(
            f"unknown metric {metric!r}; use one of {sorted(_BY_NAME)} or a function"
        )
    function = _BY_NAME[metric]
    if from_logits and function is accuracy:
        function = _logit_accuracy
    elif from_logits and function is binary_crossentropy:
        function = _logit_crossentropy
    return metric, function
