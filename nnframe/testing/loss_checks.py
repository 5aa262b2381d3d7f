"""The loss contract as ``check_loss_<property>`` functions, one ``(pred, target)`` at a time.

Each check takes a loss (or a zero-argument factory), a prediction and a target, works on
its own copies of the loss, and raises ``AssertionError`` naming itself when the contract
is broken. :func:`nnframe.testing.check_loss` runs them all with hypothesis.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

import numpy as np

from nnframe.errors import CacheMissError
from nnframe.grad_mode import no_grad
from nnframe.gradcheck import compare_gradients, numeric_gradient
from nnframe.losses import Loss
from nnframe.testing._common import (
    assert_close,
    factory_for,
    fail,
    named_check,
    scale_of,
    tolerance,
)

__all__ = [
    "LossLike",
    "check_loss_backward_without_forward_raises",
    "check_loss_gradient_shape_and_dtype",
    "check_loss_gradients",
    "check_loss_input_unmodified",
    "check_loss_no_grad_leaves_no_cache",
    "check_loss_reduction",
    "check_loss_value",
    "loss_factory",
]

#: A loss, or a function of no arguments that builds a new one.
LossLike = Loss | Callable[[], Loss]


def loss_factory(make_loss: LossLike) -> Callable[[], Loss]:
    """Return a function that builds a new, independent loss on every call.

    A loss is deep-copied (its cache dropped), so the original is never touched.

    Examples
    --------
    >>> import nnframe as nf
    >>> build = loss_factory(nf.MSELoss())
    >>> build() is build()
    False
    """
    return factory_for(make_loss, Loss)


@named_check
def check_loss_value(make_loss: LossLike, pred: np.ndarray, target: np.ndarray) -> None:
    """Forward returns a finite Python float.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> check_loss_value(nf.MSELoss(), np.ones((2, 1)), np.zeros((2, 1)))
    """
    name = "check_loss_value"
    value = loss_factory(make_loss)().forward(pred, target)
    if type(value) is not float:
        fail(
            name,
            f"for the value: forward returned a {type(value).__module__}.{type(value).__name__}; "
            "return a Python float (float(...))",
        )
    if not math.isfinite(value):
        fail(name, f"for the value: forward returned {value} for finite, valid inputs")


@named_check
def check_loss_gradient_shape_and_dtype(
    make_loss: LossLike, pred: np.ndarray, target: np.ndarray
) -> None:
    """Backward returns an array of ``pred``'s shape and float dtype, finite.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> check_loss_gradient_shape_and_dtype(nf.BCELoss(), np.full((2, 1), 0.5), np.ones((2, 1)))
    """
    name = "check_loss_gradient_shape_and_dtype"
    loss = loss_factory(make_loss)()
    loss.forward(pred, target)
    grad = loss.backward()
    if not isinstance(grad, np.ndarray):
        fail(name, f"for the gradient: backward returned a {type(grad).__name__}")
    if grad.shape != pred.shape:
        fail(name, f"for the gradient: shape {grad.shape}; pred has shape {pred.shape}")
    if grad.dtype != pred.dtype:
        fail(name, f"for the gradient: dtype {grad.dtype}; pred has dtype {pred.dtype}")
    if not np.all(np.isfinite(grad)):
        index = tuple(int(i) for i in np.argwhere(~np.isfinite(grad))[0])
        fail(name, f"for the gradient at {index}: {grad[index]} for finite, valid inputs")


@named_check
def check_loss_input_unmodified(make_loss: LossLike, pred: np.ndarray, target: np.ndarray) -> None:
    """Forward and backward leave ``pred`` and ``target`` unmodified.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> check_loss_input_unmodified(nf.CrossEntropyLoss(), np.zeros((2, 3)), np.array([0, 2]))
    """
    name = "check_loss_input_unmodified"
    loss = loss_factory(make_loss)()
    pred_before, target_before = pred.copy(), target.copy()
    loss.forward(pred, target)
    for when in ("forward", "backward"):
        if when == "backward":
            loss.backward()
        assert_close(name, "pred", pred, pred_before, explain=f"{when} modified pred in place")
        assert_close(
            name, "target", target, target_before, explain=f"{when} modified target in place"
        )


@named_check
def check_loss_backward_without_forward_raises(
    make_loss: LossLike, pred: np.ndarray, target: np.ndarray
) -> None:
    """Backward without a cached forward raises ``CacheMissError``; so does a second one.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> check_loss_backward_without_forward_raises(nf.MSELoss(), np.ones((2, 1)), np.ones((2, 1)))
    """
    name = "check_loss_backward_without_forward_raises"
    build = loss_factory(make_loss)
    for situation in ("a new loss", "a second backward after one forward"):
        loss = build()
        if situation != "a new loss":
            loss.forward(pred, target)
            loss.backward()
        try:
            loss.backward()
        except CacheMissError:
            continue
        except Exception as error:
            fail(
                name,
                f"for {situation}: backward raised {type(error).__name__}: {error}; expected "
                "CacheMissError (fetch the cache with self.saved(...))",
            )
        fail(
            name,
            f"for {situation}: backward returned instead of raising CacheMissError (fetch "
            "the cache with self.saved(...), which also releases it)",
        )


@named_check
def check_loss_no_grad_leaves_no_cache(
    make_loss: LossLike, pred: np.ndarray, target: np.ndarray
) -> None:
    """A forward under ``no_grad()`` stores no cache, gives the same value, disturbs nothing.

    Run between a forward and its backward, it leaves that forward's cache alone.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> check_loss_no_grad_leaves_no_cache(nf.MSELoss(), np.ones((2, 1)), np.ones((2, 1)))
    """
    name = "check_loss_no_grad_leaves_no_cache"
    build = loss_factory(make_loss)
    loss = build()
    with no_grad():
        quiet = loss.forward(pred, target)
    if loss.has_cache():
        fail(
            name,
            "for the cache: a forward under no_grad() stored one; store it with "
            "self.save_for_backward(...), which skips it",
        )
    value = loss.forward(pred, target)
    rtol = tolerance(pred.dtype)
    assert_close(
        name, "the value", quiet, value, atol=rtol * max(1.0, abs(value)), rtol=rtol,
        explain="no_grad() changed the value",
    )
    twin = build()
    twin.forward(pred, target)
    expected = twin.backward()
    with no_grad():  # another batch: the same examples in reverse order
        loss.forward(pred[::-1].copy(), np.asarray(target)[::-1].copy())
    assert_close(
        name, "the gradient", loss.backward(), expected,
        atol=rtol * scale_of(expected), rtol=rtol,
        explain="a forward under no_grad() between a forward and its backward changed "
        "that backward: under no_grad() nothing may be cached or replaced",
    )


def _variant(loss: Loss, reduction: str) -> Loss | None:
    variant = copy.deepcopy(loss)
    variant.clear_cache()
    try:
        variant.reduction = reduction  # type: ignore[assignment]
    except AttributeError:  # a frozen attrs class, a read-only property
        return None
    return variant


@named_check
def check_loss_reduction(make_loss: LossLike, pred: np.ndarray, target: np.ndarray) -> None:
    """``reduction="sum"`` is ``n`` times ``reduction="mean"``, for the value and the gradient.

    ``n`` is the number of terms averaged: the batch size (per-example losses such as
    CrossEntropyLoss) or the number of elements of ``pred`` (elementwise losses such as
    MSELoss); either is accepted, but the value and the gradient must agree on it. The
    two variants are copies of the loss with its ``reduction`` attribute set, so other
    hyperparameters are kept. Skipped for a loss without a ``reduction`` attribute.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> check_loss_reduction(nf.MSELoss(), np.ones((2, 3)), np.zeros((2, 3)))
    """
    name = "check_loss_reduction"
    prototype = loss_factory(make_loss)()
    if getattr(prototype, "reduction", None) not in ("mean", "sum"):
        return
    mean, total = _variant(prototype, "mean"), _variant(prototype, "sum")
    if mean is None or total is None:
        return
    value_mean = mean.forward(pred, target)
    grad_mean = np.asarray(mean.backward(), dtype=np.float64)
    value_sum = total.forward(pred, target)
    grad_sum = np.asarray(total.backward(), dtype=np.float64)
    batch, size = pred.shape[0], pred.size
    rtol = tolerance(pred.dtype)
    # Relative to the values themselves, so that small losses do not pass by an absolute
    # floor; except below the smallest normal number, where subnormals round coarsely.
    tiny = 4 * float(np.finfo(pred.dtype).tiny)
    candidates = [batch] if batch == size else [batch, size]

    def value_matches(n: int) -> bool:
        expected = n * value_mean
        return abs(value_sum - expected) <= rtol * max(abs(value_sum), abs(expected)) + n * tiny

    def gradient_matches(n: int) -> bool:
        scale = max(float(np.max(np.abs(grad_sum))), float(np.max(np.abs(n * grad_mean))))
        return bool(np.all(np.abs(grad_sum - n * grad_mean) <= rtol * scale + n * tiny))

    if any(value_matches(n) and gradient_matches(n) for n in candidates):
        return
    matching = [n for n in candidates if value_matches(n)]
    if not matching:
        ratio = value_sum / value_mean if value_mean else float("nan")
        fail(
            name,
            f"for the value: sum {value_sum:.9g}, mean {value_mean:.9g}, ratio {ratio:.6g}; "
            f"expected the batch size {batch} or the element count {size}",
        )
    n = matching[0]
    assert_close(
        name, "the gradient", grad_sum, n * grad_mean,
        atol=rtol * float(np.max(np.abs(grad_sum))) + n * tiny, rtol=rtol,
        explain=f"the sum's gradient is not {n} times the mean's, though its value is",
    )


@named_check
def check_loss_gradients(make_loss: LossLike, pred: np.ndarray, target: np.ndarray) -> None:
    """The gradient from ``backward()`` matches central differences of ``forward``, in float64.

    ``pred`` is converted to float64; keep it where the loss is smooth (probabilities
    inside (0.02, 0.98)). eps 1e-6, atol 1e-5, rtol 1e-4, as :func:`nnframe.gradcheck`.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> check_loss_gradients(nf.BCEWithLogitsLoss(), np.array([[0.3], [-2.0]]), np.ones((2, 1)))
    """
    name = "check_loss_gradients"
    loss = loss_factory(make_loss)()
    p = np.array(pred, dtype=np.float64)
    loss.forward(p, target)
    analytic = np.asarray(loss.backward(), dtype=np.float64)

    def objective() -> float:
        with no_grad():
            return float(loss.forward(p, target))

    numeric = numeric_gradient(objective, p, 1e-6)
    row = compare_gradients(
        "pred", analytic, numeric, raw=None, near_kink=False, batch=p.shape[0],
        atol=1e-5, rtol=1e-4,
    )
    if row.status == "BAD":
        index = "()" if not row.index else str(row.index)
        fail(
            name,
            f"for pred at {index}: analytic {row.analytic:.6g}, numeric {row.numeric:.6g}; "
            f"{row.diagnosis}\n{row}",
        )
