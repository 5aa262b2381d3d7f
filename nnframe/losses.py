"""Loss functions: the Loss base class, BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt

from nnframe import functional as F
from nnframe import fused, targets, weighting
from nnframe.cache import Cached
from nnframe.checks import interval, owned_real_array
from nnframe.errors import ArgumentError, DataError
from nnframe.lineage import install_lineage

__all__ = [
    "INPUT_KINDS",
    "TARGET_KINDS",
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "Loss",
    "MSELoss",
    "Reduction",
]

Reduction = Literal["mean", "sum"]

#: The values a loss's ``input_kind`` tag may take.
INPUT_KINDS = ("probability", "logit", "real")
#: The values a loss's ``target_kinds`` tag may contain.
TARGET_KINDS = ("binary", "class_index", "one_hot", "real")


class Loss(Cached):
    """Base class of all losses: a scalar from ``(pred, target)`` and its gradient.

    ``value = loss.forward(pred, target)`` returns the loss as a Python float and caches
    what ``backward`` needs with :meth:`save_for_backward`; ``grad_pred = loss.backward()``
    fetches it with :meth:`saved` and returns the gradient of ``value`` with respect to
    ``pred``, shaped like ``pred`` and of its float dtype. ``loss(pred, target)`` is
    ``loss.forward(pred, target)``. The argument order is (prediction, target), as in
    PyTorch and the course's ``compute_cost(AL, Y)``.

    Parameters
    ----------
    reduction : {"mean", "sum"}, default "mean"
        How the per-example (or per-element) losses combine: their mean or their sum.
        Each subclass says what the mean is taken over.

    Notes
    -----
    Every built-in loss takes per-example weights, ``loss(pred, target, sample_weight=w)``
    (shape ``(batch,)``, finite, ``>= 0``): with ``"mean"`` the loss is
    ``sum_i(w_i * l_i) / sum_i(w_i)`` over the examples' losses ``l_i`` (scikit-learn's
    ``np.average``), with ``"sum"`` ``sum_i(w_i * l_i)``. A batch whose weights are all 0
    has loss and gradient 0, not PyTorch's NaN. Class weights multiply in (each loss
    says how); the training guide has the details.

    Attributes
    ----------
    reduction : str
        ``"mean"`` or ``"sum"``.
    input_kind : str
        Class attribute, a capability tag: what ``pred`` holds. ``"probability"`` (values
        in [0, 1], e.g. a Sigmoid output), ``"logit"`` (any real number, before a sigmoid
        or softmax) or ``"real"`` (a regression output).
    target_kinds : tuple of str
        Class attribute, a capability tag: every kind of target the loss accepts, the
        main one first. ``"binary"`` (values in [0, 1] shaped like ``pred``: 0/1 labels or
        soft labels), ``"class_index"`` (integer labels of shape ``(batch,)``, or
        ``(batch, d1, ...)`` for ``pred`` of shape ``(batch, classes, d1, ...)``),
        ``"one_hot"`` (class probabilities shaped like ``pred``) or ``"real"``
        (finite values shaped like ``pred``). Always a tuple, even for one kind, so test
        kits read every loss the same way; a subclass with an unknown tag is rejected
        when it is defined.

    Examples
    --------
    A custom loss is an ordinary subclass:

    >>> import numpy as np
    >>> class HalfSquaredError(Loss):
    ...     def forward(self, pred, target):
    ...         diff = pred - target
    ...         self.save_for_backward(diff=diff)
    ...         return float(np.sum(diff**2)) / 2 * self.reduction_scale(diff.size)
    ...     def backward(self):
    ...         diff = self.saved("diff")
    ...         return diff * self.reduction_scale(diff.size)
    >>> loss = HalfSquaredError()
    >>> loss(np.array([[1.0], [3.0]]), np.array([[0.0], [0.0]]))
    2.5
    >>> loss.backward()
    array([[0.5], [1.5]])
    """

    input_kind: ClassVar[str] = "real"
    target_kinds: ClassVar[tuple[str, ...]] = ("real",)

    # A class-level default, so that attrs subclasses (whose generated __init__ does not
    # call ours) start with the default reduction, as Layer does.
    reduction: Reduction = "mean"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        install_lineage(cls)  # backward notes which prediction its gradient is for
        # A typo in a tag would make a test kit silently skip checks; fail loudly instead.
        if cls.input_kind not in INPUT_KINDS:
            raise ArgumentError(
                f"{cls.__name__}.input_kind must be one of {INPUT_KINDS}; "
                f"got {cls.input_kind!r}"
            )
        kinds = cls.target_kinds
        if not isinstance(kinds, tuple) or not kinds or any(k not in TARGET_KINDS for k in kinds):
            raise ArgumentError(
                f"{cls.__name__}.target_kinds must be a non-empty tuple of values from "
                f"{TARGET_KINDS}; got {kinds!r}"
            )

    def __init__(self, reduction: Reduction = "mean") -> None:
        if not (isinstance(reduction, str) and reduction in ("mean", "sum")):
            raise ArgumentError(
                f"{type(self).__name__}: reduction must be 'mean' or 'sum'; got {reduction!r}"
            )
        self.reduction = reduction
        self._cache = None

    # -- the contract -----------------------------------------------------------------

    def forward(
        self, pred: npt.ArrayLike, target: npt.ArrayLike, sample_weight: npt.ArrayLike | None = None
    ) -> float:
        """Compute the loss and cache what ``backward`` needs.

        Every input is checked before anything changes: on an error the loss keeps the
        cache of its previous forward pass. ``pred`` and ``target`` are never modified.

        Parameters
        ----------
        pred : ndarray of shape (batch, ...)
            The model's output. Float dtypes are kept; integers are computed in float32.
        target : array_like
            What ``pred`` should be; its accepted shapes are in ``target_kinds``. Any
            real dtype, cast to ``pred``'s.
        sample_weight : array_like of shape (batch,), optional
            Per-example weights, finite and ``>= 0`` (see Notes of :class:`Loss`). A
            custom loss may leave this argument out; ``loss(pred, target)`` still works.

        Returns
        -------
        float
            The reduced loss, a Python float.

        Raises
        ------
        ShapeError
            When the shapes of ``pred`` and ``target`` (or ``sample_weight``, or a class
            weight) do not fit together.
        DTypeError
            For string, object or complex arrays.
        DataError
            For an empty batch, NaN or inf in ``target`` or ``sample_weight``, or values
            outside what the loss accepts (labels out of range, probabilities outside
            [0, 1], negative weights).
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement forward()")

    def backward(self) -> np.ndarray:
        """Return the gradient of the last ``forward`` value with respect to ``pred``.

        The gradient includes the reduction (``1 / batch`` for a mean over the batch),
        so it is what the model's last layer receives. The cache is released.

        Returns
        -------
        ndarray
            Same shape and float dtype as ``pred``.

        Raises
        ------
        CacheMissError
            When there is no cached forward pass: backward without forward, forward
            under ``no_grad()``, or a second backward after one forward.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement backward()")

    def __call__(
        self, pred: npt.ArrayLike, target: npt.ArrayLike, sample_weight: npt.ArrayLike | None = None
    ) -> float:
        """Run :meth:`forward` (without ``sample_weight`` when it is None)."""
        if sample_weight is None:
            return self.forward(pred, target)
        return self.forward(pred, target, sample_weight=sample_weight)

    # -- helpers for subclasses -------------------------------------------------------

    def reduction_scale(self, count: int) -> float:
        """Return the factor that turns a sum of ``count`` terms into the reduced loss.

        ``1 / count`` for ``reduction="mean"``, ``1.0`` for ``"sum"``. Multiply both the
        summed loss and its gradient by it. A Python float, so that multiplying a float32
        array by it keeps float32.
        """
        return 1.0 / count if self.reduction == "mean" else 1.0

    def has_cache(self) -> bool:
        """Return whether the loss holds a cache from ``forward``."""
        return self._cache is not None

    def clear_cache(self) -> None:
        """Drop the cache."""
        self._cache = None

    def __repr__(self) -> str:
        args = weighting.options_repr(self)  # weights and smoothing, when not the default
        if self.reduction != "mean":
            args.append(f"reduction={self.reduction!r}")
        return f"{type(self).__name__}({', '.join(args)})"


# -- the losses -----------------------------------------------------------------------


def _times(array: np.ndarray, scale: float | np.ndarray) -> np.ndarray:
    array *= scale
    return array


class BCELoss(Loss):
    """Binary cross-entropy on probabilities.

    ``loss = -(y * log(p) + (1 - y) * log(1 - p))``, element by element, then reduced:
    the course's ``compute_cost``. Takes ``pred = p`` in [0, 1], such as the output of a
    ``Sigmoid`` layer.

    Parameters
    ----------
    reduction : {"mean", "sum"}, default "mean"
        ``"mean"`` averages over every element of ``pred``: over the batch for the usual
        ``(batch, 1)`` or ``(batch,)`` prediction (the course's ``1/m``), over all
        ``batch * k`` elements for a multi-label ``(batch, k)`` one, as in PyTorch.
    weight : array_like of shape (k,), optional, keyword-only
        PyTorch's rescaling weight (finite, ``>= 0``): the loss of output ``j`` (the last
        axis of ``pred``) is multiplied by ``weight[j]``; the mean still divides by the
        number of elements, as in PyTorch. With ``sample_weight`` the mean is
        ``sum_ij(s_i * weight_j * l_ij) / (k * sum_i(s_i))``.

    Notes
    -----
    Targets of shape ``(batch,)`` and ``(batch, 1)`` both work with either shape of
    ``pred``; any other target must have ``pred``'s shape. Targets must lie in [0, 1]
    (labels or soft labels), and so must ``pred``: logits are rejected with a pointer to
    :class:`BCEWithLogitsLoss`, which is the numerically better choice anyway.

    ``p`` is clipped into ``[eps, 1 - eps]`` with ``eps = np.finfo(pred.dtype).eps``
    (about 1.2e-7 for float32, 2.2e-16 for float64; a fixed margin such as 1e-12 would
    be lost in float32, where ``1 - 1e-12 == 1``). So a prediction of exactly 0 or 1
    gives a finite loss (at most ``-log(eps)``, about 15.9 in float32 and 36.0 in
    float64, per element), and the gradient ``(p - y) / (p * (1 - p))`` is evaluated at
    the clipped ``p``: it stays finite and, unlike the derivative of the clipped
    function, does not vanish, so a confidently wrong sigmoid still gets pushed back.

    Examples
    --------
    The course's ``compute_cost`` test case, batch-first:

    >>> import numpy as np
    >>> loss = BCELoss()
    >>> p = np.array([[0.8], [0.9], [0.4]], dtype=np.float64)
    >>> loss(p, np.array([1, 1, 1]))
    0.4149315996
    >>> loss.backward()
    array([[-0.41666667], [-0.37037037], [-0.83333333]])
    """

    input_kind: ClassVar[str] = "probability"
    target_kinds: ClassVar[tuple[str, ...]] = ("binary",)
    weight: np.ndarray | None = None

    def __init__(
        self, reduction: Reduction = "mean", *, weight: npt.ArrayLike | None = None
    ) -> None:
        super().__init__(reduction)
        self.weight = weighting.weight_vector(type(self).__name__, weight, "weight")

    def forward(
        self, pred: npt.ArrayLike, target: npt.ArrayLike, sample_weight: npt.ArrayLike | None = None
    ) -> float:
        p = targets.as_pred(self, pred)
        y = targets.binary_target(self, target, p)
        # NaN passes this test on purpose: a diverged model gives a NaN loss to report.
        if np.any((p < 0) | (p > 1)):
            raise DataError(
                f"{self!r}: pred must hold probabilities in [0, 1] (a Sigmoid output); "
                f"{targets.describe_values(p)}; for logits use BCEWithLogitsLoss"
            )
        factor = None  # the weighted mean's factor of each element, when weighted
        if sample_weight is not None or self.weight is not None:
            factor = weighting.element_factor(self, sample_weight, p, self.weight)
        margin = np.finfo(p.dtype).eps
        p = np.clip(p, margin, 1 - margin)
        terms = y * np.log(p) + (1 - y) * np.log1p(-p)
        self.save_for_backward(p=p, y=y, pred=pred, scale=factor)
        if factor is not None:  # the weighted mean: the scale is per element
            return -float(np.sum(terms * factor))
        return -float(np.sum(terms)) * self.reduction_scale(p.size)

    def backward(self) -> np.ndarray:
        p, y, pred, scale = self.saved("p", "y", "pred", "scale")
        if scale is None:
            scale = self.reduction_scale(p.size)
        # The clipped p keeps this finite and nonzero at p == 0 or 1 (see Notes).
        grad = (p - y) / (p * (1 - p))
        grad *= scale
        # A Sigmoid that made pred takes (p - y) / n instead: see nnframe.fused.
        fused.offer(grad, pred, "sigmoid", lambda: _times(p - y, scale))
        return grad

    def backward_through_sigmoid(self) -> np.ndarray:
        """Return the gradient with respect to the logits ``z`` of ``pred = sigmoid(z)``.

        ``(pred - target) / n``: the sigmoid's derivative ``p (1 - p)`` cancels the
        loss's ``1 / (p (1 - p))``, so the fused gradient is one subtraction, finite and
        exact even for saturated predictions (with weights, times each element's factor in
        the weighted mean). ``Trainer`` uses it when the model ends in a Sigmoid; the
        caller must then drop the Sigmoid's cache. Releases the cache.

        Examples
        --------
        >>> loss = BCELoss()
        >>> loss(np.array([[0.75], [0.5]]), np.array([1, 0]))
        0.4904...
        >>> loss.backward_through_sigmoid()
        array([[-0.125],
               [ 0.25 ]])
        """
        p, y, scale = self.saved("p", "y", "scale")
        return _times(p - y, self.reduction_scale(p.size) if scale is None else scale)


class BCEWithLogitsLoss(Loss):
    """Binary cross-entropy on logits: a sigmoid and :class:`BCELoss` in one stable step.

    ``loss = softplus(z) - y * z`` element by element (equal to BCELoss on
    ``sigmoid(z)``), then reduced; the gradient is ``sigmoid(z) - y``.

    Parameters
    ----------
    reduction : {"mean", "sum"}, default "mean"
        ``"mean"`` averages over every element of ``pred``, as :class:`BCELoss` does.
    weight : array_like of shape (k,), optional, keyword-only
        As for :class:`BCELoss`: output ``j``'s loss is multiplied by ``weight[j]``.
    pos_weight : array_like of shape (k,), optional, keyword-only
        PyTorch's weight of the positive examples of output ``j``:
        ``loss = -(pos_weight * y * log(sigmoid(z)) + (1 - y) * log(1 - sigmoid(z)))``.
        ``pos_weight = negatives / positives`` balances an imbalanced output. Finite,
        ``>= 0``.

    Notes
    -----
    Shapes, targets and ``sample_weight`` are as for :class:`BCELoss`. The loss is computed as
    ``max(z, 0) - y * z + softplus(-|z|)`` (:func:`nnframe.functional.softplus`, where
    ``softplus(-|z|) = log1p(exp(-|z|))``): nothing overflows for any finite ``z``, and
    for a confident correct prediction (``z = 30, y = 1``) the tiny loss is not lost to
    cancellation, as it would be in ``softplus(z) - z``.

    Examples
    --------
    >>> import numpy as np
    >>> loss = BCEWithLogitsLoss()
    >>> z = np.array([[0.0], [1000.0]], dtype=np.float64)
    >>> loss(z, np.array([1, 0]))
    500.3465735902
    >>> loss.backward()
    array([[-0.25], [ 0.5 ]])
    """

    input_kind: ClassVar[str] = "logit"
    target_kinds: ClassVar[tuple[str, ...]] = ("binary",)
    weight: np.ndarray | None = None
    pos_weight: np.ndarray | None = None

    def __init__(
        self,
        reduction: Reduction = "mean",
        *,
        weight: npt.ArrayLike | None = None,
        pos_weight: npt.ArrayLike | None = None,
    ) -> None:
        super().__init__(reduction)
        self.weight = weighting.weight_vector(type(self).__name__, weight, "weight")
        self.pos_weight = weighting.weight_vector(type(self).__name__, pos_weight, "pos_weight")

    def forward(
        self, pred: npt.ArrayLike, target: npt.ArrayLike, sample_weight: npt.ArrayLike | None = None
    ) -> float:
        z = targets.as_pred(self, pred)
        y = targets.binary_target(self, target, z)
        pos = weighting.per_output(self, self.pos_weight, "pos_weight", z)
        factor = weighting.element_factor(self, sample_weight, z, self.weight)
        # softplus(z) - y * z, with softplus(z) = max(z, 0) + softplus(-|z|) and the first
        # two terms grouped: they cancel exactly for a confident right prediction.
        terms = np.maximum(z, 0) - y * z + F.softplus(-np.abs(z))
        if pos is not None:  # plus (pos_weight - 1) * y * softplus(-z), as PyTorch
            terms += (pos - 1) * y * (np.maximum(-z, 0) + F.softplus(-np.abs(z)))
        self.save_for_backward(z=z, y=y, pos=pos, scale=factor)
        if factor is not None:
            return float(np.sum(terms * factor))
        return float(np.sum(terms)) * self.reduction_scale(z.size)

    def backward(self) -> np.ndarray:
        z, y, pos, scale = self.saved("z", "y", "pos", "scale")
        grad = F.sigmoid(z)
        grad -= y
        if pos is not None:  # minus (pos_weight - 1) * y * sigmoid(-z)
            grad -= (pos - 1) * y * F.sigmoid(-z)
        grad *= self.reduction_scale(z.size) if scale is None else scale
        return grad


class CrossEntropyLoss(Loss):
    """Softmax cross-entropy on logits, for one-of-several classes.

    ``loss = -sum(target * log_softmax(z))`` over the classes (axis 1) at each position,
    then reduced; with class labels, ``loss = -log_softmax(z)[label]``. The gradient is
    ``softmax(z) - one_hot(target)``.

    Parameters
    ----------
    reduction : {"mean", "sum"}, default "mean"
        ``"mean"`` averages over the batch, and over every position ``d1, ...`` of an
        n-d prediction: over ``batch * d1 * ...`` terms, as PyTorch does.
    weight : array_like of shape (classes,), optional, keyword-only
        PyTorch's class weights (finite, ``>= 0``): class ``c``'s term is multiplied by
        ``weight[c]``; with class labels the mean divides by ``sum_i weight[y_i]``, with
        probability targets by the number of terms, as in PyTorch.
    label_smoothing : float in [0, 1], default 0.0, keyword-only
        PyTorch's: the target becomes ``(1 - ls) * target + ls / classes``, combined with
        ``weight`` as PyTorch does (the smoothing term is class-weighted too).

    Notes
    -----
    With ``sample_weight`` ``s`` each example's terms are multiplied by ``s_i`` and the
    mean divides by ``sum_i(s_i * weight[y_i])`` (class labels with ``weight``), else by
    ``sum_i(s_i)`` times the positions: so without smoothing ``weight=w`` equals
    ``sample_weight=w[y]``, scikit-learn's rule that class weights multiply sample weights.

    ``pred`` holds logits of shape ``(batch, classes)`` with at least 2 classes (for one
    output per example use :class:`BCEWithLogitsLoss`), or ``(batch, classes, d1, ...)``
    for one prediction per position (per pixel of an image, per step of a sequence),
    the class axis second, as in PyTorch. ``target`` is either

    - class labels of shape ``(batch,)`` (or ``(batch, 1)``), or ``(batch, d1, ...)``
      for n-d logits: integers in ``[0, classes)``, or floats holding whole numbers; or
    - one-hot rows, or class probabilities, shaped like ``pred`` (the classes along axis
      1), with values in [0, 1].

    Both give the same value and gradient for the same classes (``target_kinds`` is
    ``("class_index", "one_hot")``). Bad labels (out of range, fractional, NaN) raise
    :class:`~nnframe.errors.DataError`: they are a problem of the data, not of an
    argument. For probabilities that do not sum to 1 the gradient is
    ``softmax(z) * sum(target) - target``, the exact derivative of the value computed.

    ``log_softmax`` subtracts each position's maximum before exponentiating, so any
    finite logits are safe.

    Examples
    --------
    >>> import numpy as np
    >>> loss = CrossEntropyLoss()
    >>> z = np.array([[0.0, 0.0], [0.0, 1000.0]], dtype=np.float64)
    >>> loss(z, np.array([0, 0]))
    500.3465735902
    >>> loss.backward()
    array([[-0.25,  0.25], [-0.5 ,  0.5 ]])

    One prediction per position: logits ``(batch 1, 2 classes, length 3)``, labels
    ``(batch 1, length 3)``, the mean over the 3 positions:

    >>> z = np.array([[[0.0, 0.0, 1000.0], [0.0, 1000.0, 0.0]]])
    >>> loss(z, np.array([[0, 1, 1]]))
    333.5643823935
    """

    input_kind: ClassVar[str] = "logit"
    target_kinds: ClassVar[tuple[str, ...]] = ("class_index", "one_hot")
    weight: np.ndarray | None = None
    label_smoothing: float = 0.0

    def __init__(
        self,
        reduction: Reduction = "mean",
        *,
        weight: npt.ArrayLike | None = None,
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(reduction)
        self.weight = weighting.weight_vector(type(self).__name__, weight, "weight")
        self.label_smoothing = interval(0.0, 1.0, high_open=False)(
            label_smoothing, f"{type(self).__name__}: label_smoothing"
        )

    def forward(
        self, pred: npt.ArrayLike, target: npt.ArrayLike, sample_weight: npt.ArrayLike | None = None
    ) -> float:
        z = targets.as_pred(self, pred)
        t, index = targets.class_target(self, target, z)
        classes = z.shape[1]
        if sample_weight is not None or self.weight is not None or self.label_smoothing:
            # Weights or smoothing: the cache holds weighted coefficients as the target.
            total, cache = weighting.cross_entropy(self, z, t, index, sample_weight)
            self.save_for_backward(**cache)
            return total
        # log_softmax(z) = shifted - log(sums); the exponentials are kept for the gradient.
        shifted = np.subtract(z, np.maximum.reduce(z, axis=1, keepdims=True))
        if index is not None:  # each position's own class: log(sums) - shifted[label]
            picked = np.add.reduce(shifted[index], axis=None)
            exp = np.exp(shifted, out=shifted)
            sums = np.add.reduce(exp, axis=1, keepdims=True)
            total = np.add.reduce(np.log(sums), axis=None) - picked
        else:  # probabilities weight every class
            exp = np.exp(shifted)
            sums = np.add.reduce(exp, axis=1, keepdims=True)
            shifted -= np.log(sums)
            total = -np.add.reduce(t * shifted, axis=None)
        self.save_for_backward(exp=exp, sums=sums, target=t, index=index)
        return float(total) * self.reduction_scale(z.size // classes)

    def backward(self) -> np.ndarray:
        exp, sums, target, index = self.saved("exp", "sums", "target", "index")
        grad = np.divide(exp, sums, out=exp)  # the softmax
        if index is not None:
            grad[index] -= 1
        else:
            grad *= target.sum(axis=1, keepdims=True)
            grad -= target
        grad *= self.reduction_scale(grad.size // grad.shape[1])
        return grad


class MSELoss(Loss):
    """Mean squared error.

    ``loss = (pred - target)**2`` element by element, then reduced.

    Parameters
    ----------
    reduction : {"mean", "sum"}, default "mean"
        ``"mean"`` averages over every element of ``pred`` (not only over the batch), as
        PyTorch and Keras do; ``"sum"`` sums them.

    Notes
    -----
    ``target`` must have ``pred``'s shape, except that ``(batch,)`` and ``(batch, 1)``
    are interchangeable (a reshape, never a broadcast). It must be finite. With
    ``sample_weight`` the mean is ``sum_ij(s_i * l_ij) / (k * sum_i(s_i))``.

    Examples
    --------
    >>> import numpy as np
    >>> loss = MSELoss()
    >>> loss(np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float64), np.zeros((2, 2)))
    7.5
    >>> loss.backward()
    array([[0.5, 1. ], [1.5, 2. ]])
    """

    input_kind: ClassVar[str] = "real"
    target_kinds: ClassVar[tuple[str, ...]] = ("real",)

    def forward(
        self, pred: npt.ArrayLike, target: npt.ArrayLike, sample_weight: npt.ArrayLike | None = None
    ) -> float:
        x = targets.as_pred(self, pred)
        t = targets.shaped_like(self, owned_real_array(self, target, "target"), x)
        targets.check_finite(self, t)
        scale = weighting.element_factor(self, sample_weight, x, None)
        diff = x - t.astype(x.dtype, copy=False)
        squares = np.square(diff)
        if scale is not None:  # cached as the diff whose unweighted gradient is the weighted one
            self.save_for_backward(diff=diff * (scale * (1.0 / self.reduction_scale(diff.size))))
            return float(np.sum(squares * scale))
        self.save_for_backward(diff=diff)
        return float(np.sum(squares)) * self.reduction_scale(diff.size)

    def backward(self) -> np.ndarray:
        diff = self.saved("diff")
        return diff * (2 * self.reduction_scale(diff.size))
