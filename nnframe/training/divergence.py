"""Divergence: when a training loss has diverged, and which layer's output went non-finite first.

:class:`~nnframe.training.Trainer` runs each step's forward pass, loss and backward pass
under ``np.errstate(over="ignore", invalid="ignore", divide="ignore")`` (with
``stop_on_nan``, its default): an overflow there is expected to end in a non-finite
loss, which it detects itself, so numpy's ``RuntimeWarning`` does not escape (nor,
under ``python -W error``, interrupt the step half-way with a stale cache). Once a loss
is found non-finite, :func:`first_non_finite_layer` runs the batch again through a copy
of the model with a forward hook on every layer, to name the first layer whose output
was not finite; the cost is paid only then.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np

from nnframe.grad_mode import no_grad
from nnframe.layers import Layer

__all__ = ["IGNORE_OVERFLOW", "diverged", "first_non_finite_layer"]

IGNORE_OVERFLOW: dict[str, Any] = {"over": "ignore", "invalid": "ignore", "divide": "ignore"}
"""The ``np.errstate`` arguments a training step runs under when it checks for divergence."""


def diverged(
    value: float, first: float | None, threshold: float | None, stop_on_nan: bool
) -> str | None:
    """Return why a batch loss ``value`` has diverged, or None when it has not.

    Parameters
    ----------
    value : float
        The batch's loss.
    first : float or None
        The first positive batch loss (the reference of ``threshold``).
    threshold : float or None
        ``divergence_threshold``; None: only NaN and inf count.
    stop_on_nan : bool
        Whether a NaN or infinite loss counts.

    Examples
    --------
    >>> diverged(float("nan"), 1.0, 1e6, True)
    'the training loss became nan'
    >>> diverged(2.0, 1.0, 1e6, True) is None
    True
    """
    if not math.isfinite(value):
        return f"the training loss became {value}" if stop_on_nan else None
    if threshold is not None and first is not None and value > threshold * first:
        return (
            f"the training loss {value:.4g} exceeded divergence_threshold={threshold:g} "
            f"times its first value {first:.4g}"
        )
    return None


class _NonFiniteError(Exception):
    def __init__(self, name: str, layer: Layer) -> None:
        super().__init__(name)
        self.name, self.layer = name, layer


def first_non_finite_layer(model: Layer, x: np.ndarray) -> str | None:
    """Name the first layer whose output is not finite when a copy of ``model`` runs ``x``.

    The copy keeps the model's modes (Dropout draws other masks from its copied
    Generator, so a layer after a Dropout may in rare cases be found finite on the
    re-run); ``model`` itself is not changed. Returns None when every layer's output
    is finite (the loss itself overflowed) or the re-run fails.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> model = nf.Sequential(nf.Linear(2, 2, rng=0), nf.ReLU())
    >>> model[0].weight.value[:] = np.inf
    >>> first_non_finite_layer(model, np.ones((1, 2)))
    "'0' Linear(2 -> 2) (in Sequential[0] Linear(2 -> 2))"
    """
    probe = copy.deepcopy(model)

    def check(name: str) -> Any:
        def hook(layer: Layer, inputs: Any, output: Any) -> None:
            if isinstance(output, np.ndarray) and not np.isfinite(output).all():
                raise _NonFiniteError(name, layer)

        return hook

    handles = [
        layer.register_forward_hook(check(name or type(layer).__name__))
        for name, layer in probe.named_layers()
    ]
    try:
        with no_grad(), np.errstate(**IGNORE_OVERFLOW):
            probe.forward(x)
    except _NonFiniteError as found:
        notes = [
            n for n in getattr(found, "__notes__", [])
            if n.startswith("in ") and not n.startswith("in the ")
        ]
        where = f" ({notes[-1]})" if notes else ""
        return f"{found.name!r} {_label(found.layer)}{where}"
    except Exception:
        return None
    finally:
        for handle in handles:
            handle.remove()
    return None


def _label(layer: Layer) -> str:
    text = repr(layer)
    return text if "\n" not in text else f"{type(layer).__name__}(...)"
