"""Metrics: functions ``metric(pred, target) -> float`` for monitoring training.

Regression: :func:`mean_squared_error`, :func:`mae`, :func:`rmse`, :func:`r2`.
Classification: :func:`accuracy`, :func:`binary_crossentropy`, :func:`precision`,
:func:`recall`, :func:`f1`, :func:`roc_auc` and :func:`confusion_matrix` (a matrix, so
not for ``Trainer(metrics=...)``). Each follows scikit-learn's function of the same
meaning (``r2_score``, ``f1_score``, ...). :func:`get` resolves the names
``Trainer(metrics=[...])`` accepts; :func:`named` names a lambda.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from nnframe import functional as F
from nnframe.checks import boolean
from nnframe.classification_metrics import (
    AVERAGES,
    confusion_matrix,
    f1,
    metric_arrays,
    precision,
    recall,
    roc_auc,
)
from nnframe.errors import ArgumentError, ArgumentTypeError, DataError, ShapeError

__all__ = [
    "AVERAGES",
    "Metric",
    "accuracy",
    "binary_crossentropy",
    "confusion_matrix",
    "f1",
    "get",
    "mae",
    "mean_squared_error",
    "named",
    "precision",
    "r2",
    "recall",
    "rmse",
    "roc_auc",
]


Metric = Callable[[np.ndarray, np.ndarray], float]


def _binary_targets(pred: np.ndarray, target: np.ndarray, name: str) -> tuple[np.ndarray, ...]:
    p, t = metric_arrays(pred, target, name)
    p, t = p.reshape(-1), t.reshape(-1)
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
    threshold = 0.0 if boolean(from_logits, "accuracy: from_logits") else 0.5
    pred, target = metric_arrays(pred, target, "accuracy")
    if pred.ndim == 2 and pred.shape[1] > 1:
        labels = target.argmax(axis=1) if target.ndim == 2 else target.reshape(-1)
        if labels.shape[0] != pred.shape[0]:
            raise ShapeError(
                f"accuracy: {pred.shape[0]} predictions but {labels.shape[0]} targets"
            )
        return float(np.mean(pred.argmax(axis=1) == labels))
    p, t = _binary_targets(pred, target, "accuracy")
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
    if ((t < 0) | (t > 1)).any():
        raise DataError(
            "binary_crossentropy: targets must be in [0, 1]; got "
            f"{t[np.argmax((t < 0) | (t > 1))]!r}"
        )
    dtype = p.dtype if p.dtype.kind == "f" else np.dtype(np.float64)
    eps = float(np.finfo(dtype).eps)
    p = np.clip(p.astype(dtype, copy=False), eps, 1 - eps)
    with np.errstate(invalid="ignore"):  # NaN predictions give NaN
        return float(-np.mean(t * np.log(p) + (1 - t) * np.log1p(-p)))


def mean_squared_error(pred: np.ndarray, target: np.ndarray) -> float:
    """Mean of ``(pred - target)**2`` over every element.

    Examples
    --------
    >>> mean_squared_error(np.array([[1.0], [3.0]]), np.array([[0.0], [1.0]]))
    2.5
    """
    p, t = metric_arrays(pred, target, "mean_squared_error")
    if p.size != t.size:
        raise ShapeError(
            f"mean_squared_error: predictions of shape {p.shape} do not match targets of "
            f"shape {t.shape}"
        )
    # float64, so that unsigned ints do not wrap around; a diverged (huge or non-finite)
    # prediction gives inf or NaN without a numpy warning.
    difference = p.reshape(-1).astype(np.float64) - t.reshape(-1).astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        return float(np.mean(difference**2))


# ---------------------------------------------------------------------------------------------
# Regression
# ---------------------------------------------------------------------------------------------


def _regression_pair(pred: np.ndarray, target: np.ndarray, name: str) -> tuple[np.ndarray, ...]:
    """``pred`` and ``target`` as float64 of shape ``(n, outputs)``, checked to match."""
    p, t = metric_arrays(pred, target, name)
    for what, array in (("predictions", p), ("targets", t)):
        if array.ndim not in (1, 2):
            raise ShapeError(
                f"{name}: {what} must have shape (n,) or (n, outputs) with n >= 1; got "
                f"shape {array.shape}"
            )
    p2, t2 = p.reshape(len(p), -1), t.reshape(len(t), -1)
    if p2.shape != t2.shape:
        hint = (
            f"; {name} is a regression metric and these look like class scores (use "
            "accuracy, f1, ...)"
            if p2.shape[1] > 1 and t2.shape[1] == 1
            else ""
        )
        raise ShapeError(
            f"{name}: predictions of shape {p.shape} do not match targets of shape "
            f"{t.shape}{hint}"
        )
    return p2.astype(np.float64), t2.astype(np.float64)


def mae(pred: np.ndarray, target: np.ndarray) -> float:
    """Mean absolute error, scikit-learn's ``mean_absolute_error``.

    With several outputs, the mean over outputs of each output's error.

    Examples
    --------
    >>> mae(np.array([[1.0], [3.0]]), np.array([[0.0], [1.0]]))
    1.5
    """
    p, t = _regression_pair(pred, target, "mae")
    with np.errstate(over="ignore", invalid="ignore"):  # diverged predictions: inf, NaN
        return float(np.mean(np.abs(p - t)))


def rmse(pred: np.ndarray, target: np.ndarray) -> float:
    """Root mean squared error, scikit-learn's ``root_mean_squared_error``.

    With several outputs, the mean over outputs of each output's root mean squared error
    (scikit-learn's ``multioutput="uniform_average"``).

    Examples
    --------
    >>> rmse(np.array([[1.0], [3.0]]), np.array([[1.0], [1.0]]))
    1.4142135623730951
    """
    p, t = _regression_pair(pred, target, "rmse")
    with np.errstate(over="ignore", invalid="ignore"):  # diverged predictions: inf, NaN
        return float(np.mean(np.sqrt(np.mean((p - t) ** 2, axis=0))))


def r2(pred: np.ndarray, target: np.ndarray) -> float:
    """Coefficient of determination, scikit-learn's ``r2_score``.

    ``1 - sum((target - pred)**2) / sum((target - mean(target))**2)``: 1 for perfect
    predictions, 0 for always predicting the mean, negative for worse. With several
    outputs, the mean over outputs. A constant target gives 1.0 when predicted exactly and
    0.0 otherwise (scikit-learn's ``force_finite=True``).

    Parameters
    ----------
    pred : ndarray of shape (n,) or (n, outputs)
    target : ndarray of the same size

    Returns
    -------
    float

    Raises
    ------
    ShapeError
        When the shapes do not match (class scores against labels, for instance).

    Examples
    --------
    >>> r2(np.array([2.5, 0.0, 2.0, 8.0]), np.array([3.0, -0.5, 2.0, 7.0]))
    0.9486081370449679
    """
    p, t = _regression_pair(pred, target, "r2")
    with np.errstate(over="ignore", invalid="ignore"):  # diverged predictions: inf, NaN
        residual = np.sum((t - p) ** 2, axis=0)
        total = np.sum((t - t.mean(axis=0)) ** 2, axis=0)
        scores = np.where(residual == 0, 1.0, 0.0)
        nonzero = total != 0
        scores[nonzero] = 1.0 - residual[nonzero] / total[nonzero]
    return float(np.mean(scores))


# ---------------------------------------------------------------------------------------------
# By name
# ---------------------------------------------------------------------------------------------


def _logit_accuracy(pred: np.ndarray, target: np.ndarray) -> float:
    return accuracy(pred, target, from_logits=True)


def _logit_crossentropy(pred: np.ndarray, target: np.ndarray) -> float:
    p, t = metric_arrays(pred, target, "binary_crossentropy")
    return binary_crossentropy(F.sigmoid(p.astype(np.float64)), t)


def named(function: Callable[..., Any], name: str) -> Metric:
    """Give a metric function a name, for ``Trainer(metrics=[...])`` and its History.

    A lambda or a ``functools.partial`` has no name of its own; :func:`get` refuses it
    rather than log it under ``"<lambda>"``.

    Parameters
    ----------
    function : callable
        ``function(pred, target) -> float``.
    name : str
        The key in the logs and History (``"val_"`` is prefixed for validation).

    Returns
    -------
    callable
        Calls ``function``; its ``__name__`` is ``name``.

    Examples
    --------
    >>> import functools
    >>> macro = named(functools.partial(f1, average="macro"), "f1_macro")
    >>> get(macro)[0]
    'f1_macro'
    """
    if not callable(function) or isinstance(function, type):
        got = f"the class {function.__name__}" if isinstance(function, type) else (
            type(function).__name__
        )
        raise ArgumentTypeError(
            f"named: function must be a function metric(pred, target) -> float; got {got}"
        )
    _check_name(name, "named")

    def metric(pred: np.ndarray, target: np.ndarray) -> float:
        return float(function(pred, target))

    metric.__name__ = metric.__qualname__ = name
    metric.__doc__ = f"The metric {name!r}: {getattr(function, '__doc__', None) or function!r}"
    return metric


def _check_name(name: object, where: str) -> str:
    if not isinstance(name, str):
        raise ArgumentTypeError(f"{where}: a metric name must be a str; got {type(name).__name__}")
    if not name.isidentifier() or name == "loss" or name.startswith("val_"):
        raise ArgumentError(
            f"{where}: {name!r} cannot name a metric: use an identifier other than 'loss' "
            "that does not start with 'val_'"
        )
    return name


# name -> (function, keyword arguments, takes from_logits)
_BY_NAME: dict[str, tuple[Callable[..., float], dict[str, Any], bool]] = {
    "accuracy": (accuracy, {}, True),
    "binary_crossentropy": (binary_crossentropy, {}, True),
    "mean_squared_error": (mean_squared_error, {}, False),
    "mse": (mean_squared_error, {}, False),
    "mae": (mae, {}, False),
    "mean_absolute_error": (mae, {}, False),
    "rmse": (rmse, {}, False),
    "r2": (r2, {}, False),
    **{
        f"{function.__name__}{suffix}": (function, {"average": average}, True)
        for function in (precision, recall, f1)
        for suffix, average in (("", "binary"), ("_micro", "micro"), ("_macro", "macro"),
                                ("_weighted", "weighted"))
    },
    "roc_auc": (roc_auc, {}, False),
    "roc_auc_ovr": (roc_auc, {"average": "macro"}, False),
    "roc_auc_ovr_weighted": (roc_auc, {"average": "weighted"}, False),
}
_NOT_A_NUMBER = {"confusion_matrix"}


def _batch_safe(function: Callable[..., float], name: str) -> Callable[..., float]:
    # roc_auc is undefined on a batch whose targets hold one class; in the Trainer's
    # per-batch logs that batch counts as NaN rather than stopping training.
    def metric(pred: np.ndarray, target: np.ndarray) -> float:
        try:
            return function(pred, target)
        except DataError as error:
            if "not defined" in str(error):
                return float("nan")
            raise

    metric.__name__ = metric.__qualname__ = name
    return metric


def get(metric: str | Metric, *, from_logits: bool = False) -> tuple[str, Metric]:
    """Return ``(name, function)`` for a metric given by name or as a function.

    Parameters
    ----------
    metric : str or callable
        A name: ``"accuracy"``, ``"binary_crossentropy"``, ``"mean_squared_error"``
        (``"mse"``), ``"mae"`` (``"mean_absolute_error"``), ``"rmse"``, ``"r2"``,
        ``"precision"``, ``"recall"``, ``"f1"`` (binary; add ``_micro``, ``_macro`` or
        ``_weighted`` for that average, as in scikit-learn's scorer names), ``"roc_auc"``
        (binary), ``"roc_auc_ovr"`` and ``"roc_auc_ovr_weighted"`` (multi-class,
        one-vs-rest). Or a function ``metric(pred, target) -> float``, logged under its
        ``__name__`` (a lambda or a partial needs :func:`named`).
    from_logits : bool, default False
        Whether the model's outputs are logits (the Trainer sets this from its loss), for
        the binary metrics that threshold or take logs of probabilities.

    Returns
    -------
    name : str
    function : callable

    Raises
    ------
    ArgumentError
        For an unknown name (with the closest known one), ``"confusion_matrix"`` (a
        matrix, not a number to log), a class (``int``: callable, but not a metric),
        or a function without a usable name.
    ArgumentTypeError
        For a ``from_logits`` that is not a bool.

    Notes
    -----
    The Trainer logs a training metric as the mean of its values on each batch, weighted
    by batch size; for ``r2``, ``f1`` or ``roc_auc`` that differs from the value on the
    whole epoch, which ``Trainer.evaluate`` and the ``val_`` logs compute. ``roc_auc`` on
    a training batch whose targets hold a single class is NaN.

    Examples
    --------
    >>> get("f1_macro")[0], get("r2")[1] is r2
    ('f1_macro', True)
    """
    boolean(from_logits, "metrics.get: from_logits")
    if isinstance(metric, type):
        # A class is callable, but calling it makes an object, not a number.
        raise ArgumentError(
            f"metric {metric!r} is a class, not a metric: a metric must be a name or a "
            "function metric(pred, target) -> float"
        )
    if callable(metric):
        name = getattr(metric, "__name__", None)
        if not isinstance(name, str) or name == "<lambda>":
            raise ArgumentError(
                f"metric {metric!r} has no name to log it under; give it one with "
                "nnframe.metrics.named(function, 'my_metric') or write it with def"
            )
        return _check_name(name, "metric"), metric
    if not isinstance(metric, str):
        # ArgumentError, as for an unknown name: the Trainer adds which metric it was.
        raise ArgumentError(
            f"unknown metric {metric!r}: a metric must be a name or a function; got "
            f"{type(metric).__name__}"
        )
    if metric in _NOT_A_NUMBER:
        raise ArgumentError(
            f"{metric!r} returns a matrix, not a number to log; after training call "
            f"nnframe.metrics.{metric}(trainer.predict(x), y)"
        )
    if metric not in _BY_NAME:
        close = difflib.get_close_matches(metric, _BY_NAME, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ArgumentError(
            f"unknown metric {metric!r}{hint}; use one of {sorted(_BY_NAME)} or a function"
        )
    function, kwargs, takes_logits = _BY_NAME[metric]
    if function is accuracy:
        return metric, _logit_accuracy if from_logits else accuracy
    if function is binary_crossentropy:
        return metric, _logit_crossentropy if from_logits else binary_crossentropy
    if takes_logits:
        kwargs = {**kwargs, "from_logits": from_logits}
    if not kwargs:
        return metric, function if function is not roc_auc else _batch_safe(function, metric)
    bound = functools.partial(function, **kwargs)
    if function is roc_auc:
        return metric, _batch_safe(bound, metric)
    return metric, named(bound, metric)
