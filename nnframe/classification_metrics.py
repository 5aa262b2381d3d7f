"""Classification metrics: precision, recall, F1, ROC AUC and the confusion matrix.

Each follows scikit-learn's function of the same meaning; :mod:`nnframe.metrics`
re-exports them and resolves their names for ``Trainer(metrics=[...])``.
"""

from __future__ import annotations

import numpy as np

from nnframe.checks import array_size, boolean, is_integer
from nnframe.errors import ArgumentError, ArgumentTypeError, DataError, ShapeError

__all__ = [
    "AVERAGES",
    "confusion_matrix",
    "f1",
    "metric_arrays",
    "precision",
    "recall",
    "roc_auc",
]

AVERAGES: tuple[str, ...] = ("binary", "micro", "macro", "weighted")
"""The ``average`` rules of :func:`precision`, :func:`recall` and :func:`f1`."""


def _metric_array(value: object, name: str, what: str) -> np.ndarray:
    try:
        array = value if isinstance(value, np.ndarray) else np.asarray(value)
    except (ValueError, TypeError) as error:  # ragged nesting: [[1, 2], [3]]
        raise ShapeError(
            f"{name}: {what} must be a rectangular array of numbers; got a ragged or "
            f"unusable {type(value).__name__}"
        ) from error
    if array.ndim == 0 and not isinstance(value, np.ndarray):
        raise ArgumentTypeError(
            f"{name}: {what} must be an array of numbers, one per example; got "
            f"{type(value).__name__}"
        )
    if array.dtype.kind not in "biuf":
        raise DataError(f"{name}: {what} must be numbers; got dtype {array.dtype}")
    if array.ndim == 0 or len(array) == 0:
        raise ShapeError(
            f"{name}: {what} must hold at least one example (n >= 1 along the first axis); "
            f"got shape {array.shape}"
        )
    return array


def metric_arrays(
    pred: object, target: object, name: str, *, finite_target: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``pred`` and ``target`` as numeric arrays for the metric ``name``, or raise.

    Both must be arrays (or nested lists) of real numbers with at least one example along
    the first axis; ``target`` must also be finite (a non-finite prediction is a diverged
    model, whose metric is NaN or infinite, not bad input). An ndarray is not copied.
    ``finite_target=False`` leaves that check to the caller (class labels check more).

    Raises
    ------
    ArgumentTypeError
        For None, a string, a number or any other value that is not an array.
    DataError
        For arrays of strings, objects, complex numbers or dates, and a non-finite target.
    ShapeError
        For ragged nesting, 0-d arrays and arrays without an example.

    Examples
    --------
    >>> p, t = metric_arrays([0.2, 0.9], np.array([0, 1]), "accuracy")
    >>> p.dtype, t.shape
    (dtype('float64'), (2,))
    """
    p = _metric_array(pred, name, "predictions")
    t = _metric_array(target, name, "targets")
    if finite_target and t.dtype.kind == "f" and not np.isfinite(t).all():
        raise DataError(f"{name}: targets must be finite; they hold NaN or infinite values")
    return p, t


def _class_labels(array: np.ndarray, name: str, what: str) -> np.ndarray:
    if array.dtype.kind not in "biuf":
        raise DataError(f"{name}: {what} must be class indices; got dtype {array.dtype}")
    bad = ~np.isfinite(array) | (array < 0) | (array != np.round(array))
    if bad.any():
        value = array.reshape(-1)[np.argmax(bad.reshape(-1))]
        raise DataError(
            f"{name}: {what} must be class indices 0, 1, 2, ...; got {value!r} (is this a "
            "regression task? use r2, mae or rmse)"
        )
    return array.astype(np.int64)


def _predicted_classes(
    pred: np.ndarray, target: np.ndarray, name: str, from_logits: bool
) -> tuple[np.ndarray, np.ndarray, int]:
    """Return ``(true, predicted, columns)``: int64 labels and the width of ``pred``.

    Class scores ``(n, C)`` with ``C > 1`` give their argmax; a single column or a vector
    is thresholded at 0.5 (at 0 for logits). Targets are indices or one-hot rows.
    """
    boolean(from_logits, f"{name}: from_logits")
    p, t = metric_arrays(pred, target, name, finite_target=False)
    if p.ndim not in (1, 2):
        raise ShapeError(
            f"{name}: predictions must have shape (n,), (n, 1) or (n, classes) with n >= 1; "
            f"got shape {p.shape}"
        )
    columns = p.shape[1] if p.ndim == 2 else 1
    if t.ndim == 2 and t.shape[1] > 1 and t.shape[1] == max(columns, 2):
        t = t.argmax(axis=1)  # one-hot rows
    true = _class_labels(t.reshape(-1) if t.ndim == 2 and t.shape[1] == 1 else t, name, "targets")
    if true.ndim != 1 or len(true) != len(p):
        raise ShapeError(
            f"{name}: {len(p)} predictions of shape {p.shape} but targets of shape {t.shape}; "
            "expected (n,) class indices or (n, classes) one-hot rows"
        )
    if columns > 1:
        if true.max() >= columns:
            raise DataError(
                f"{name}: target class {int(true.max())} is out of range for {columns} "
                "score columns"
            )
        return true, p.argmax(axis=1), columns
    if true.max() > 1:
        raise DataError(
            f"{name}: predictions have one column (binary) but the targets hold class "
            f"{int(true.max())}; a binary target is 0 or 1"
        )
    threshold = 0.0 if from_logits else 0.5
    return true, (p.reshape(-1) > threshold).astype(np.int64), columns


def confusion_matrix(
    pred: np.ndarray,
    target: np.ndarray,
    *,
    num_classes: int | None = None,
    from_logits: bool = False,
) -> np.ndarray:
    """Count examples by true class (rows) and predicted class (columns).

    ``matrix[i, j]`` is the number of examples of class ``i`` predicted as class ``j``,
    as in scikit-learn's ``confusion_matrix``. Predictions are read as in
    :func:`accuracy`: the argmax of class scores, or a threshold for one column.

    Parameters
    ----------
    pred : ndarray of shape (n,), (n, 1) or (n, classes)
    target : ndarray of shape (n,) or (n, classes)
        Class indices or one-hot rows.
    num_classes : int, optional
        The size of the matrix. Default: the number of score columns (2 for binary), so
        a class absent from both targets and predictions still has its row and column
        (scikit-learn's ``labels=range(classes)``).
    from_logits : bool, default False
        For one column of binary predictions: whether they are logits.

    Returns
    -------
    ndarray of shape (classes, classes), int64

    Raises
    ------
    DataError
        For targets that are not class indices, or a class beyond ``num_classes``.

    Examples
    --------
    >>> confusion_matrix(np.array([0.9, 0.2, 0.7, 0.4]), np.array([1, 0, 0, 1]))
    array([[1, 1],
           [1, 1]])
    """
    true, predicted, columns = _predicted_classes(pred, target, "confusion_matrix", from_logits)
    size = max(columns, 2)
    if num_classes is not None:
        if not is_integer(num_classes):  # not a bool, nor numpy's timedelta64
            raise ArgumentTypeError(
                f"confusion_matrix: num_classes must be an int; got {type(num_classes).__name__}"
            )
        if num_classes < size:
            raise ArgumentError(
                f"confusion_matrix: num_classes={num_classes} is fewer than the {size} classes "
                "the predictions have"
            )
        size = int(num_classes)
        array_size((size, size), np.dtype(np.int64), "confusion_matrix: num_classes")
    if max(int(true.max()), int(predicted.max())) >= size:
        raise DataError(f"confusion_matrix: a class is out of range for {size} classes")
    counts = np.bincount(true * size + predicted, minlength=size * size)
    return counts.reshape(size, size).astype(np.int64)


def _counts(
    pred: np.ndarray, target: np.ndarray, name: str, average: str, from_logits: bool
) -> tuple[np.ndarray, ...]:
    """True positives, predicted and true counts per label, for the labels that score."""
    if not isinstance(average, str) or average not in AVERAGES:
        raise ArgumentError(
            f"{name}: average must be one of {', '.join(AVERAGES)}; got {average!r}"
        )
    true, predicted, _ = _predicted_classes(pred, target, name, from_logits)
    labels = np.union1d(true, predicted)  # scikit-learn's labels: those present in either
    if average == "binary":
        if labels.max() > 1:
            raise ArgumentError(
                f"{name}: the targets and predictions hold {len(labels)} classes but "
                "average='binary' scores class 1 of two; pass average='macro', 'weighted' "
                f"or 'micro' (by name: {name}_macro, ...)"
            )
        labels = np.array([1])
    tp = np.array([np.sum((true == k) & (predicted == k)) for k in labels], dtype=np.float64)
    n_pred = np.array([np.sum(predicted == k) for k in labels], dtype=np.float64)
    n_true = np.array([np.sum(true == k) for k in labels], dtype=np.float64)
    if average == "micro":
        return tp.sum(keepdims=True), n_pred.sum(keepdims=True), n_true.sum(keepdims=True)
    return tp, n_pred, n_true


def _ratio(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    # scikit-learn's zero_division: 0 where the denominator is 0 (without its warning).
    return np.divide(top, bottom, out=np.zeros_like(top), where=bottom != 0)


def _average(scores: np.ndarray, n_true: np.ndarray, average: str) -> float:
    if average == "weighted":
        total = n_true.sum()
        return float(np.sum(scores * n_true) / total) if total else 0.0
    return float(np.mean(scores))


def precision(
    pred: np.ndarray, target: np.ndarray, *, average: str = "binary", from_logits: bool = False
) -> float:
    """Precision: of the examples predicted as a class, the fraction that are of it.

    scikit-learn's ``precision_score``.

    Parameters
    ----------
    pred : ndarray of shape (n,), (n, 1) or (n, classes)
        Probabilities, logits (``from_logits=True``) or class scores; read as in
        :func:`accuracy` (argmax, or a threshold for one column).
    target : ndarray of shape (n,) or (n, classes)
        Class indices or one-hot rows.
    average : {"binary", "micro", "macro", "weighted"}, default "binary"
        "binary": the score of class 1 (two classes only). "macro": the unweighted mean
        over the classes present in targets or predictions; "weighted": that mean
        weighted by each class's number of targets; "micro": from the counts summed over
        classes. A ratio whose denominator is 0 counts as 0 (scikit-learn's value, without
        its warning).
    from_logits : bool, default False
        For one column of binary predictions: whether they are logits.

    Returns
    -------
    float

    Raises
    ------
    ArgumentError
        For an unknown ``average``, or ``"binary"`` with more than two classes.
    DataError
        For targets that are not class indices (a regression target).

    Examples
    --------
    >>> precision(np.array([0.9, 0.8, 0.2, 0.7]), np.array([1, 0, 0, 1]))
    0.6666666666666666
    """
    tp, n_pred, n_true = _counts(pred, target, "precision", average, from_logits)
    return _average(_ratio(tp, n_pred), n_true, average)


def recall(
    pred: np.ndarray, target: np.ndarray, *, average: str = "binary", from_logits: bool = False
) -> float:
    """Recall: of the examples of a class, the fraction predicted as it.

    scikit-learn's ``recall_score``.

    Parameters
    ----------
    pred : ndarray of shape (n,), (n, 1) or (n, classes)
        Probabilities, logits (``from_logits=True``) or class scores; read as in
        :func:`accuracy` (argmax, or a threshold for one column).
    target : ndarray of shape (n,) or (n, classes)
        Class indices or one-hot rows.
    average : {"binary", "micro", "macro", "weighted"}, default "binary"
        "binary": the score of class 1 (two classes only). "macro": the unweighted mean
        over the classes present in targets or predictions; "weighted": that mean
        weighted by each class's number of targets; "micro": from the counts summed over
        classes. A ratio whose denominator is 0 counts as 0 (scikit-learn's value, without
        its warning).
    from_logits : bool, default False
        For one column of binary predictions: whether they are logits.

    Returns
    -------
    float

    Raises
    ------
    ArgumentError
        For an unknown ``average``, or ``"binary"`` with more than two classes.
    DataError
        For targets that are not class indices (a regression target).

    Examples
    --------
    >>> recall(np.array([0.9, 0.8, 0.2, 0.7]), np.array([1, 0, 1, 1]))
    0.6666666666666666
    """
    tp, _, n_true = _counts(pred, target, "recall", average, from_logits)
    return _average(_ratio(tp, n_true), n_true, average)


def f1(
    pred: np.ndarray, target: np.ndarray, *, average: str = "binary", from_logits: bool = False
) -> float:
    """F1: the harmonic mean of precision and recall (scikit-learn's ``f1_score``).

    Per class, ``2 tp / (predicted + true)``; then averaged as ``average`` says.

    Parameters
    ----------
    pred : ndarray of shape (n,), (n, 1) or (n, classes)
        Probabilities, logits (``from_logits=True``) or class scores; read as in
        :func:`accuracy` (argmax, or a threshold for one column).
    target : ndarray of shape (n,) or (n, classes)
        Class indices or one-hot rows.
    average : {"binary", "micro", "macro", "weighted"}, default "binary"
        "binary": the score of class 1 (two classes only). "macro": the unweighted mean
        over the classes present in targets or predictions; "weighted": that mean
        weighted by each class's number of targets; "micro": from the counts summed over
        classes. A ratio whose denominator is 0 counts as 0 (scikit-learn's value, without
        its warning).
    from_logits : bool, default False
        For one column of binary predictions: whether they are logits.

    Returns
    -------
    float

    Raises
    ------
    ArgumentError
        For an unknown ``average``, or ``"binary"`` with more than two classes.
    DataError
        For targets that are not class indices (a regression target).

    Examples
    --------
    >>> f1(np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.1, 0.8]]),
    ...    np.array([0, 2, 2]), average="macro")
    0.5555555555555555
    """
    tp, n_pred, n_true = _counts(pred, target, "f1", average, from_logits)
    return _average(_ratio(2 * tp, n_pred + n_true), n_true, average)


def _binary_auc(score: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve: the Mann-Whitney statistic, ties counted as one half."""
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(len(score), dtype=np.float64)
    sorted_scores = score[order]
    # Average ranks over ties.
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    mid = first + (counts - 1) / 2.0 + 1.0
    ranks[order] = np.repeat(mid, counts)
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def roc_auc(pred: np.ndarray, target: np.ndarray, *, average: str | None = None) -> float:
    """Area under the ROC curve (scikit-learn's ``roc_auc_score``).

    The probability that a random positive example scores above a random negative one
    (ties count one half). Binary by default: ``pred`` is one score per example (a
    probability or a logit: only the order matters) or two class-score columns (the
    second is used). More classes need an averaging rule: one-vs-rest per class, then
    their ``"macro"`` mean or their mean ``"weighted"`` by class frequency (scikit-learn's
    ``multi_class="ovr"``).

    Parameters
    ----------
    pred : ndarray of shape (n,), (n, 1), (n, 2) or (n, classes)
    target : ndarray of shape (n,) or (n, classes)
        Class indices or one-hot rows.
    average : {None, "macro", "weighted"}, default None
        Required for more than two classes.

    Returns
    -------
    float

    Raises
    ------
    ArgumentError
        For more than two classes without ``average``, or an unknown ``average``.
    DataError
        When a class (for binary, positives or negatives) has no target example: the area
        is not defined.

    Examples
    --------
    >>> roc_auc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1]))
    0.75
    """
    if average is not None and not (isinstance(average, str) and average in ("macro", "weighted")):
        raise ArgumentError(
            f"roc_auc: average must be None, 'macro' or 'weighted'; got {average!r}"
        )
    true, _, columns = _predicted_classes(pred, target, "roc_auc", False)
    scores = np.asarray(pred, dtype=np.float64).reshape(len(true), -1)
    if columns <= 2:
        positive = true == 1
        if positive.all() or not positive.any():
            raise DataError(
                f"roc_auc: the targets hold only class {int(true[0])}; the area under the ROC "
                "curve is not defined with one class"
            )
        return _binary_auc(scores[:, -1], positive)
    if average is None:
        raise ArgumentError(
            f"roc_auc: the predictions have {columns} class columns but roc_auc is binary; "
            "pass average='macro' or 'weighted' for one-vs-rest (by name: roc_auc_ovr, "
            "roc_auc_ovr_weighted)"
        )
    present = np.bincount(true, minlength=columns)
    if (present == 0).any() or (present == len(true)).any():
        raise DataError(
            f"roc_auc: class {int(np.argmin(present))} has no target example; one-vs-rest "
            "areas are not defined for it"
        )
    areas = np.array([_binary_auc(scores[:, k], true == k) for k in range(columns)])
    return _average(areas, present.astype(np.float64), average)
