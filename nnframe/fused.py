"""Fused output gradients: a loss offers the gradient before the model's final activation.

``BCELoss`` computes the gradient with respect to its prediction ``p``; when ``p`` came
out of a Sigmoid, the gradient with respect to the Sigmoid's input is simply
``(p - target) / n``: exact where ``p`` is 0 or 1, and one subtraction instead of a
division and a multiplication. So ``Loss.backward`` returns the usual gradient and also
*offers* the fused one, tied to two objects: the gradient array it returned and the
prediction it was given. A layer that declares a ``link`` (Sigmoid's is ``"sigmoid"``)
*claims* the offer when the gradient it receives is that very array and its own last
output is that very prediction. Identity, not equality, ties the two together, so any
change to the gradient on the way (a scaled gradient, another loss in between) simply
leaves the offer unclaimed and the ordinary chain rule runs. Any model gets the fused
gradient this way, in ``Trainer`` and in a hand-written loop alike, whatever its
containers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

__all__ = ["claim", "offer"]

_pending = threading.local()


def offer(
    grad: np.ndarray, pred: object, link: str, through: Callable[[], np.ndarray]
) -> None:
    """Offer ``through()`` as the gradient before ``link`` for the prediction ``pred``.

    Parameters
    ----------
    grad : ndarray
        The gradient with respect to ``pred`` that the loss's ``backward`` returns.
    pred : object
        The prediction the loss's ``forward`` was given (the layer's output).
    link : str
        The activation that made ``pred`` (``"sigmoid"``).
    through : callable
        Computes the gradient with respect to the activation's input, when claimed.

    Examples
    --------
    >>> import numpy as np
    >>> grad, pred = np.ones(2), np.full(2, 0.5)
    >>> offer(grad, pred, "sigmoid", lambda: pred - 1.0)
    >>> claim(grad, pred, "sigmoid")
    array([-0.5, -0.5])
    >>> claim(grad, pred, "sigmoid") is None  # an offer is claimed once
    True
    """
    _pending.offer = (grad, pred, link, through)


def claim(grad: object, output: object, link: str) -> np.ndarray | None:
    """Return the offered gradient if it is for ``grad``, ``output`` and ``link``, else None.

    A claimed offer is gone; an offer for other arrays stays until the next one.
    """
    pending = getattr(_pending, "offer", None)
    if pending is None or pending[0] is not grad or pending[1] is not output:
        return None
    if pending[2] != link:
        return None
    _pending.offer = None
    return pending[3]()

