"""Gradient clipping: ``clip_grad_norm`` and ``clip_grad_value``."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

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
        For a ``max_norm`` that is not a positive number, or ``parameters`` that are not
        Parameters: a string, an array, a dict, a model (pass ``model.parameters()``);
        nothing is changed. An empty list is valid (PyTorch's rule): the norm is 0.0.

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
    limit = _positive_limit(max_norm, "clip_grad_norm: max_norm")
    unique = _unique_parameters(parameters, "clip_grad_norm")
    grads = [p.grad for p in unique.values()]
    # Each norm in the gradient's dtype, then combined in Python floats without overflow.
    total = math.hypot(*(float(np.linalg.norm(g)) for g in grads))
    if math.isfinite(total) and total > limit:
        scale = limit / total
        for g in grads:
            g *= scale
    return total


def _positive_limit(value: object, where: str) -> float:
    """``value`` as a float > 0 (an int beyond floats is inf), or raise naming ``where``."""
    if not is_real(value):
        raise ArgumentTypeError(f"{where} must be a real number; got {type(value).__name__}")
    try:
        limit = float(value)
    except OverflowError:  # an int beyond the float range: nothing reaches it
        limit = math.inf
    if not limit > 0.0:  # also catches NaN
        raise ArgumentError(f"{where} must be > 0; got {limit:g}")
    return limit


def _unique_parameters(parameters: object, owner: str) -> dict[int, Parameter]:
    """``parameters`` (a Parameter or an iterable of them) by identity, each once."""
    if isinstance(parameters, Parameter):
        parameters = [parameters]
    # Iterable, but never a collection of Parameters: each would pass for "no parameters"
    # (an empty string, an empty model) or fail on its first item with a vaguer message.
    if isinstance(parameters, str | bytes | np.ndarray | Mapping) or hasattr(
        parameters, "parameters"
    ):
        hint = (
            "; pass model.parameters()" if hasattr(parameters, "parameters")
            else "; pass list(parameters.values())" if isinstance(parameters, Mapping)
            else ""
        )
        raise ArgumentTypeError(
            f"{owner}: parameters must be an iterable of Parameters; got "
            f"{type(parameters).__name__}{hint}"
        )
    if not isinstance(parameters, Iterable):
        raise ArgumentTypeError(
            f"{owner}: parameters must be an iterable of Parameters; got "
            f"{type(parameters).__name__}"
        )
    try:
        items = list(parameters)
    except TypeError as error:  # iterable in name only: a 0-d array
        raise ArgumentTypeError(
            f"{owner}: parameters must be an iterable of Parameters; got "
            f"{type(parameters).__name__} ({error})"
        ) from None
    unique: dict[int, Parameter] = {}
    for i, p in enumerate(items):
        if not isinstance(p, Parameter):
            raise ArgumentTypeError(
                f"{owner}: parameters[{i}] must be a Parameter; got {type(p).__name__}"
            )
        unique.setdefault(id(p), p)
    return unique


def clip_grad_value(parameters: Iterable[Parameter] | Parameter, clip_value: float) -> None:
    """Clip every gradient element into ``[-clip_value, clip_value]``, in place.

    ``torch.nn.utils.clip_grad_value_``'s semantics: each element of each gradient is
    clamped on its own, in its own dtype. NaN elements stay NaN. Call it between
    ``backward`` and ``optimizer.step()``.

    Parameters
    ----------
    parameters : iterable of Parameter, or a Parameter
        Whose gradients to clip; a Parameter listed twice is clipped once.
    clip_value : float
        The largest magnitude allowed, ``> 0`` (``math.inf`` changes nothing).

    Raises
    ------
    ArgumentError, ArgumentTypeError
        For a ``clip_value`` that is not a positive number, or ``parameters`` that are
        not Parameters: a string, an array, a dict, a model (pass
        ``model.parameters()``); nothing is changed. An empty list is valid.

    Examples
    --------
    >>> import numpy as np
    >>> from nnframe import Parameter
    >>> w = Parameter(np.zeros(3))
    >>> w.grad[...] = [3.0, -0.5, -4.0]
    >>> clip_grad_value([w], clip_value=1.0)
    >>> w.grad
    array([ 1. , -0.5, -1. ])
    """
    limit = _positive_limit(clip_value, "clip_grad_value: clip_value")
    unique = _unique_parameters(parameters, "clip_grad_value")
    if math.isinf(limit):
        return
    for p in unique.values():
        grad = p.grad
        # A limit beyond the dtype's range (1e300 for float32) clips nothing, as inf does;
        # numpy would warn casting it.
        if grad.dtype.kind == "f" and limit >= float(np.finfo(grad.dtype).max):
            continue
        np.clip(grad, -limit, limit, out=grad)
