"""Gradient clipping: ``clip_grad_norm`` and ``clip_grad_value``."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from nnframe.checks import is_real
from nnframe.errors import ArgumentError, ArgumentTypeError
from nnframe.parameter import Parameter

__all__ = ["clip_grad_norm", "clip_grad_value"]


def clip_grad_norm(parameters: Iterable[Parameter] | Parameter, max_norm: float) -> float:
    """Rescale gradients in place so that their global L2 norm is at most ``max_norm``.

    The global norm is that of all gradients joined into one vector. When it exceeds
    ``max_norm``, every gradient is multiplied by ``max_norm / norm``, in place and in
    its own dtype; otherwise nothing changes. Call it between ``backward`` and
    ``optimizer.step()``.

    Parameters
    ----------
    parameters : iterable of Parameter, or a Parameter
        Whose gradients to clip; a Parameter listed twice counts once.
    max_norm : float
        The largest norm allowed, ``> 0``; ``math.inf`` only measures the norm.

    Returns
    -------
    float
        The global norm before clipping; 0.0 for no parameters. When it is not finite
        (NaN or infinite gradients) the gradients are left unchanged, so the caller can
        detect the divergence.

    Raises
    ------
    ArgumentError, ArgumentTypeError
        For a ``max_norm`` that is not a positive number or a non-Parameter.

    Notes
    -----
    ``torch.nn.utils.clip_grad_norm_`` multiplies by ``max_norm / (norm + 1e-6)``;
    nnframe divides by the norm itself, so the clipped norm equals ``max_norm`` up to
    rounding. No division by zero can occur, since it only scales when
    ``norm > max_norm > 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from nnframe import Parameter
    >>> w = Parameter(np.zeros(2))
    >>> w.grad[...] = [3.0, 4.0]
    >>> clip_grad_norm([w], max_norm=1.0)
    5.0
    >>> w.grad
    array([0.6, 0.8])
    """
    value: object = max_norm
    if not is_real(value):
        raise ArgumentTypeError(
            f"clip_grad_norm: max_norm must be a real number; got {type(value).__name__}"
        )
    try:
        limit = float(value)
    except OverflowError:  # an int beyond the float range: no norm reaches it
        limit = math.inf
    if not limit > 0.0:  # also catches NaN
        raise ArgumentError(f"clip_grad_norm: max_norm must be > 0; got {limit:g}")
    if isinstance(parameters, Parameter):
        parameters = [parameters]
    if not isinstance(parameters, Iterable):
        raise ArgumentTypeError(
            "clip_grad_norm: parameters must be an iterable of Parameters; got "
            f"{type(parameters).__name__}"
        )
    try:
        items = list(parameters)
    except TypeError as error:  # iterable in name only: a 0-d array
        raise ArgumentTypeError(
            "clip_grad_norm: parameters must be an iterable of Parameters; got "
            f"{type(parameters).__name__} ({error})"
        ) from None
    unique: dict[int, Parameter] = {}
    for i, p in enumerate(items):
        if not isinstance(p, Parameter):
            raise ArgumentTypeError(
                f"clip_grad_norm: parameters[{i}] must be a Parameter; got {type(p).__name__}"
            )
        unique.setdefault(id(p), p)
    grads = [p.grad for p in unique.values()]
    # Each norm in the gradient's dtype, then combined in Python floats without overflow.
    total = math.hypot(*(float(np.linalg.norm(g)) for g in grads))
    if math.isfinite(total) and total > limit:
        scale = limit / total
        for g in grads:
            g *= scale
    return total


def clip_grad_value(parameters: Iterable[Parameter] | Parameter, clip_value: float) -> None:
    """Clip every gradient element into ``[-clip_value, clip_value]``, in place.

    ``torch.nn.utils.clip_grad_value_``'s semantics: each element is clamped on its own
    (NaN stays NaN), in the gradient's dtype. Call it between ``backward`` and
    ``optimizer.step()``.

    Parameters
    ----------
    parameters : iterable of Parameter, or a Parameter
        Whose gradients to clip; a Parameter listed twice is clipped once.
    clip_value : float
        The largest absolute value allowed, ``> 0``.

    Raises
    ------
    ArgumentError, ArgumentTypeError
        For a ``clip_value`` that is not a positive number, or a non-Parameter (before
        any gradient changes).

    Examples
    --------
    >>> import numpy as np
    >>> from nnframe import Parameter
    >>> w = Parameter(np.zeros(3))
    >>> w.grad[...] = [-5.0, 0.5, 2.0]
    >>> clip_grad_value([w], clip_value=1.0)
    >>> w.grad
    array([-1. ,  0.5,  1. ])
    """
    value: object = clip_value
    if not is_real(value):
        raise ArgumentTypeError(
            f"clip_grad_value: clip_value must be a real number; got {type(value).__name__}"
        )
    limit = float(value)
    if not limit > 0.0:  # also catches NaN
        raise ArgumentError(f"clip_grad_value: clip_value must be > 0; got {limit:g}")
    items = [parameters] if isinstance(parameters, Parameter) else parameters
    if not isinstance(items, Iterable):
        raise ArgumentTypeError(
            "clip_grad_value: parameters must be an iterable of Parameters; got "
            f"{type(parameters).__name__}"
        )
    unique: dict[int, Parameter] = {}
    for i, p in enumerate(list(items)):
        if not isinstance(p, Parameter):
            raise ArgumentTypeError(
                f"clip_grad_value: parameters[{i}] must be a Parameter; got {type(p).__name__}"
            )
        unique.setdefault(id(p), p)
    for p in unique.values():
        np.clip(p.grad, -limit, limit, out=p.grad)
