"""Numerical gradient checking: ``gradcheck`` and ``assert_gradients``."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import numpy as np

from nnframe.checks import non_negative, positive, real_array
from nnframe.errors import ArgumentTypeError, DataError
from nnframe.grad_mode import no_grad
from nnframe.layers.base import Layer
from nnframe.layers.spec import input_is_differentiable
from nnframe.rng import RNGLike, as_generator

__all__ = [
    "GradcheckReport",
    "TensorCheck",
    "assert_gradients",
    "compare_gradients",
    "gradcheck",
    "numeric_gradient",
]

# How close an input inside the model may come to a kink before a mismatch there is
# blamed on the kink. The layer that sees x directly straddles a kink only within eps;
# deeper layers see x's perturbation scaled by the weights in between.
_INNER_KINK_MARGIN = 1e-4


@attrs.frozen
class TensorCheck:
    """The result for one tensor: the input or one parameter.

    Attributes
    ----------
    name : str
        ``"input"`` or the parameter's dotted name.
    status : str
        ``"ok"``, ``"BAD"`` or ``"inconclusive"`` (errors explained by an input on a kink).
    max_abs_error, max_rel_error : float
        Largest ``|analytic - numeric|`` and largest ``|analytic - numeric| / (|numeric| +
        atol)`` over the tensor.
    index : tuple of int
        Where the tolerance is worst violated (or the error is largest).
    analytic, numeric : float
        The two gradients at ``index``.
    diagnosis : str
        For a failure, what the mismatch looks like (sign flip, scaling, ...).
    """

    name: str
    status: str
    max_abs_error: float
    max_rel_error: float
    index: tuple[int, ...]
    analytic: float
    numeric: float
    diagnosis: str = ""

    def __str__(self) -> str:
        text = (
            f"{self.status} {self.name}: max abs error {self.max_abs_error:.2e}, "
            f"max rel error {self.max_rel_error:.2e}, at {self.index}: "
            f"analytic {self.analytic:.6g}, numeric {self.numeric:.6g}"
        )
        return f"{text}\n    {self.diagnosis}" if self.diagnosis else text


@attrs.frozen
class GradcheckReport:
    """What :func:`gradcheck` found; ``str()`` gives one row per tensor.

    Parameters
    ----------
    layer : str
        The checked layer's repr (first line).
    rows : list of TensorCheck
        One per tensor: the input first, then the parameters in definition order.
    eps, atol, rtol : float
        The settings of the check.
    culprit : str or None
        For a failing container, the first child whose own check fails, with its report.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> report = nf.gradcheck(nf.Sigmoid(), np.array([[0.5, -2.0]]))
    >>> report.ok, [row.name for row in report.rows]
    (True, ['input'])
    """

    layer: str
    rows: list[TensorCheck]
    eps: float
    atol: float
    rtol: float
    culprit: str | None = None

    @property
    def ok(self) -> bool:
        """True when no tensor is BAD (inconclusive rows do not fail the check)."""
        return all(row.status != "BAD" for row in self.rows)

    def __str__(self) -> str:
        verdict = "passed" if self.ok else "FAILED"
        head = (
            f"gradcheck of {self.layer}: {verdict} "
            f"(eps={self.eps:g}, atol={self.atol:g}, rtol={self.rtol:g})"
        )
        lines = [head, *(str(row) for row in self.rows)]
        if self.culprit:
            lines.append(self.culprit)
        return "\n".join(lines)

    __repr__ = __str__


def _describe(layer: Layer) -> str:
    text = repr(layer)
    return text if "\n" not in text else type(layer).__name__


def _flat_indices(shape: tuple[int, ...]) -> Iterator[tuple[int, ...]]:
    return iter(np.ndindex(*shape)) if shape else iter([()])


def numeric_gradient(f: Callable[[], float], array: np.ndarray, eps: float) -> np.ndarray:
    """Return the central-difference gradient of ``f()`` with respect to ``array``.

    ``array`` is perturbed in place, one element at a time, and restored.

    Examples
    --------
    >>> a = np.array([1.0, 2.0])
    >>> numeric_gradient(lambda: float(np.sum(a**2)), a, 1e-6)
    array([2., 4.])
    """
    grad = np.zeros_like(array)
    for index in _flat_indices(array.shape):
        original = array[index]
        array[index] = original + eps
        plus = f()
        array[index] = original - eps
        minus = f()
        array[index] = original
        grad[index] = (plus - minus) / (2 * eps)
    return grad


def _near_kinks(values: np.ndarray, kinks: tuple[float, ...], margin: float) -> np.ndarray:
    near = np.zeros(values.shape, dtype=bool)
    for kink in kinks:
        near |= np.abs(values - kink) <= margin * (1 + abs(kink))
    return near


def _diagnose(
    analytic: np.ndarray,
    numeric: np.ndarray,
    raw: np.ndarray | None,
    batch: int | None,
    atol: float,
    rtol: float,
) -> str:
    def close(a: np.ndarray, b: np.ndarray) -> bool:
        return bool(np.allclose(a, b, atol=atol, rtol=rtol))

    if not np.all(np.isfinite(analytic)):
        return "the analytic gradient has NaN or inf values"
    if raw is not None and close(raw, numeric):
        return (
            "gradient overwritten instead of accumulated: backward must add into "
            "Parameter.grad with +=, never assign"
        )
    if np.allclose(analytic, 0, atol=atol) and not np.allclose(numeric, 0, atol=atol):
        return "the analytic gradient is zero where the numeric one is not (gradient missing?)"
    if close(analytic, -numeric):
        return "sign flipped: analytic = -numeric"
    if analytic.ndim == 2 and analytic.shape[0] == analytic.shape[1] and close(
        analytic.T, numeric
    ):
        return "transposed: analytic.T = numeric"
    significant = np.abs(numeric) > max(atol, 1e-3 * float(np.max(np.abs(numeric))))
    if np.any(significant):
        ratio = float(np.median(analytic[significant] / numeric[significant]))
        if ratio != 0 and close(analytic, ratio * numeric):
            text = f"scaled: analytic / numeric = {ratio:.6g} everywhere (a scaling bug"
            if batch is not None and batch > 1:
                if np.isclose(ratio, batch, rtol=1e-3):
                    text += f"; the ratio is the batch size {batch}: a missing 1/batch?"
                elif np.isclose(ratio, 1 / batch, rtol=1e-3):
                    text += f"; the ratio is 1/batch for batch {batch}: an extra 1/batch?"
            return text + ")"
    return "mismatch with no simple pattern"


def compare_gradients(
    name: str,
    analytic: np.ndarray,
    numeric: np.ndarray,
    *,
    raw: np.ndarray | None,
    near_kink: np.ndarray | bool,
    batch: int | None,
    atol: float,
    rtol: float,
) -> TensorCheck:
    """Compare an analytic gradient with a numeric one: one row of a report.

    Parameters
    ----------
    name : str
        The tensor's name in the report.
    analytic, numeric : ndarray
        The two gradients.
    raw : ndarray or None
        The analytic gradient before starting values were subtracted, for the diagnosis.
    near_kink : ndarray of bool, or bool
        Where an input sits on a declared kink (errors there are inconclusive).
    batch : int or None
        The batch size, for the diagnosis of a missing ``1 / batch``.
    atol, rtol : float
        An element passes when ``|analytic - numeric| <= atol + rtol * |numeric|``.
    """
    if analytic.shape != numeric.shape:
        return TensorCheck(
            name, "BAD", float("inf"), float("inf"), (), float("nan"), float("nan"),
            f"backward returned shape {analytic.shape}; expected {numeric.shape}",
        )
    error = np.abs(analytic - numeric)
    excess = error - (atol + rtol * np.abs(numeric))
    flat = int(np.argmax(excess)) if analytic.size else 0
    index = tuple(int(i) for i in np.unravel_index(flat, analytic.shape)) if analytic.size else ()
    failed = np.isnan(excess) | (excess > 0)
    status, diagnosis = "ok", ""
    if np.any(failed):
        kink_mask = np.broadcast_to(near_kink, analytic.shape)
        if np.all(kink_mask[failed]):
            status = "inconclusive"
            diagnosis = "errors only where an input sits on a declared kink: inconclusive"
        else:
            status = "BAD"
            diagnosis = _diagnose(analytic, numeric, raw, batch, atol, rtol)
    empty = analytic.size == 0
    return TensorCheck(
        name=name,
        status=status,
        max_abs_error=0.0 if empty else float(np.max(error)),
        max_rel_error=0.0 if empty else float(np.max(error / (np.abs(numeric) + atol))),
        index=index,
        analytic=float("nan") if empty else float(analytic[index]),
        numeric=float("nan") if empty else float(numeric[index]),
        diagnosis=diagnosis,
    )


def _record_kinked_inputs(model: Layer) -> tuple[list[tuple[Layer, list[np.ndarray]]], Any]:
    """Wrap the forward of every kinked sub-layer of ``model`` to record its inputs."""
    records: list[tuple[Layer, list[np.ndarray]]] = []
    for _, sub in model.named_layers()[1:]:
        if sub.kinks:
            seen: list[np.ndarray] = []
            original = sub.forward

            def recording(x: np.ndarray, _f: Any = original, _seen: Any = seen) -> np.ndarray:
                _seen.append(np.array(x, dtype=np.float64))
                return _f(x)

            sub.__dict__["forward"] = recording
            records.append((sub, seen))

    def restore() -> None:
        for sub, _ in records:
            del sub.__dict__["forward"]

    return records, restore


def gradcheck(
    layer: Layer,
    x: np.ndarray,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    rng: RNGLike = None,
) -> GradcheckReport:
    """Check a layer's ``backward`` against central differences of its ``forward``.

    The check runs on a float64 copy of ``layer`` (the caller's layer is left untouched).
    The scalar differentiated is ``sum(r * forward(x))`` for a seeded random ``r`` of the
    output's shape. Parameter gradients are checked on top of random existing values, so
    a backward that overwrites ``.grad`` instead of adding to it fails. A frozen
    parameter (``requires_grad`` False) must get no gradient at all: its row, named
    ``"<name> (frozen)"``, checks that ``.grad`` was left as it was. Generators of
    stochastic layers are replayed, so every evaluation sees the same random draws.

    A layer whose input is not differentiable (``Embedding``'s integer indices, tagged
    ``differentiable_input = False``, or a model that starts with one) is checked at
    ``x`` as given, for its parameters only: its ``backward`` must return None.

    Parameters
    ----------
    layer : Layer
        Any layer, including a user's subclass or a whole Sequential.
    x : array_like of shape (batch, ...)
        The input to check at.
    eps : float, default 1e-6
        Step of the central differences.
    atol, rtol : float, default 1e-5 and 1e-4
        An element passes when ``|analytic - numeric| <= atol + rtol * |numeric|``.
    rng : None, int or numpy.random.Generator
        Source of the projection and the starting gradients; None means seed 0.

    Returns
    -------
    GradcheckReport
        ``report.ok`` tells whether every tensor passed; ``str(report)`` explains.
        Errors confined to inputs on a declared kink are reported as inconclusive, not
        failed. For a failing Sequential, the report names the first layer whose own
        check fails.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> report = nf.gradcheck(nf.Linear(3, 2, rng=0), np.ones((4, 3)))
    >>> report.ok
    True
    >>> print(report.rows[1])
    ok weight: max abs error ...
    """
    if not isinstance(layer, Layer):
        raise ArgumentTypeError(f"gradcheck checks a Layer; got {type(layer).__name__}")
    x = real_array(x, "gradcheck: x")
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        raise DataError("gradcheck: x must be finite; it holds NaN or inf")
    eps = positive(eps, "gradcheck: eps")
    atol = non_negative(atol, "gradcheck: atol")
    rtol = non_negative(rtol, "gradcheck: rtol")
    model = copy.deepcopy(layer).astype(np.float64)
    model.clear_cache()
    differentiable = input_is_differentiable(model)
    x64 = np.array(x, dtype=np.float64 if differentiable else None)
    generator = as_generator(0 if rng is None else rng)
    random_states = [(g, copy.deepcopy(g.bit_generator.state)) for _, g in model.named_generators()]

    def replay() -> None:
        for g, state in random_states:
            g.bit_generator.state = state

    records, restore = _record_kinked_inputs(model)
    replay()
    try:
        y = model.forward(x64)
    finally:
        restore()
    projection = generator.standard_normal(np.shape(y))
    named = model.named_parameters()
    starting = {name: generator.standard_normal(p.shape) for name, p in named}
    for name, p in named:
        p.grad[...] = starting[name]
    grad_x = model.backward(projection.copy(), input_grad=differentiable)

    def objective() -> float:
        replay()
        with no_grad():
            return float(np.sum(model.forward(x64) * projection))

    inner_near_kink = any(
        np.any(_near_kinks(seen_x, sub.kinks, _INNER_KINK_MARGIN))
        for sub, seen in records
        for seen_x in seen
    )
    batch = x64.shape[0] if x64.ndim else None
    if differentiable:
        input_near_kink = _near_kinks(x64, model.kinks, eps) | inner_near_kink
        rows = [
            compare_gradients(
                "input", np.asarray(grad_x), numeric_gradient(objective, x64, eps),
                raw=None, near_kink=input_near_kink, batch=batch, atol=atol, rtol=rtol,
            )
        ]
    else:
        input_near_kink = np.asarray(inner_near_kink)
        rows = []  # backward(input_grad=False) returns None: there is no input gradient
    param_near_kink = bool(np.any(input_near_kink))
    for name, p in named:
        # A frozen parameter must get no gradient: its expected change is zero.
        expected = (
            numeric_gradient(objective, p.value, eps) if p.requires_grad else np.zeros(p.shape)
        )
        rows.append(
            compare_gradients(
                name if p.requires_grad else f"{name} (frozen)", p.grad - starting[name],
                expected, raw=p.grad.copy(), near_kink=param_near_kink, batch=batch,
                atol=atol, rtol=rtol,
            )
        )
    culprit = None
    if any(row.status == "BAD" for row in rows) and layer.named_children():
        culprit = _first_failing_child(layer, x, eps=eps, atol=atol, rtol=rtol, rng=rng)
    return GradcheckReport(_describe(layer), rows, eps, atol, rtol, culprit)


def _first_failing_child(
    model: Layer, x: np.ndarray, *, eps: float, atol: float, rtol: float, rng: RNGLike
) -> str:
    # Each direct sub-layer is checked on the input it sees inside the model, recorded
    # from one forward pass, in the order the model calls them: any container works.
    probe = copy.deepcopy(model).astype(np.float64)
    seen: list[tuple[str, Layer, np.ndarray]] = []
    for name, child in probe.named_children():
        def recording(h: np.ndarray, _name: str = name, _child: Layer = child) -> np.ndarray:
            as_float = input_is_differentiable(_child)
            seen.append((_name, _child, np.array(h, dtype=np.float64 if as_float else None)))
            return type(_child).forward(_child, h)

        child.__dict__["forward"] = recording
    with no_grad():
        probe.forward(np.array(x, dtype=np.float64 if input_is_differentiable(probe) else None))
    for _, child in probe.named_children():
        del child.__dict__["forward"]
    for name, child, h in seen:
        report = gradcheck(child, h, eps=eps, atol=atol, rtol=rtol, rng=rng)
        if not report.ok:
            text = str(report).replace("\n", "\n  ")
            return f"first layer whose own check fails: [{name}] {_describe(child)}\n  {text}"
    return (
        "every layer passes its own check; the failure comes from how they are combined "
        "(a layer object used twice, or state shared between layers?)"
    )


def assert_gradients(
    layer: Layer,
    x: np.ndarray,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    rng: RNGLike = None,
) -> GradcheckReport:
    """Run :func:`gradcheck` and raise ``AssertionError`` with its report if it fails.

    Returns
    -------
    GradcheckReport
        The passing report.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> _ = nf.assert_gradients(nf.Tanh(), np.array([[0.5, -0.25]]))
    """
    report = gradcheck(layer, x, eps=eps, atol=atol, rtol=rtol, rng=rng)
    if not report.ok:
        raise AssertionError(str(report))
    return report
