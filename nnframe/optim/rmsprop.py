"""RMSprop: gradient steps scaled by a running root mean square of the gradients."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

import numpy as np

from nnframe.checks import boolean, non_negative, positive, unit_interval
from nnframe.optim.base import Optimizer
from nnframe.optim.hyperparameters import Hyperparameter
from nnframe.parameter import Parameter

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop, with the update rule of ``torch.optim.RMSprop``.

    Parameters
    ----------
    params : iterable of Parameter
        The parameters to optimize (``model.parameters()``).
    lr : float, default 0.01
        The learning rate, ``>= 0``.
    alpha : float, default 0.99
        Smoothing constant of the running averages, in ``[0, 1)``.
    eps : float, default 1e-8
        Added to the denominator, ``> 0``.
    weight_decay : float, default 0.0
        L2 penalty coefficient, ``>= 0``, added to the gradient.
    momentum : float, default 0.0
        Momentum factor, in ``[0, 1)``.
    centered : bool, default False
        Divide by an estimate of the gradient's standard deviation instead of its root
        mean square.

    Notes
    -----
    With ``s`` the running mean of squares, ``a`` the running mean of gradients
    (centered only) and ``b`` the momentum buffer, all starting at zero, one step is::

        g = grad + weight_decay * p
        s = alpha * s + (1 - alpha) * g**2
        a = alpha * a + (1 - alpha) * g                   (centered)
        d = sqrt(s - a**2) + eps  if centered,  else  d = sqrt(s) + eps
        b = momentum * b + g / d;  p = p - lr * b         (momentum > 0)
        p = p - lr * g / d                                (momentum == 0)

    There is no bias correction: the first steps are larger than later ones.

    Examples
    --------
    >>> import numpy as np
    >>> from nnframe import Parameter
    >>> w = Parameter(np.array([1.0, 1.0]))
    >>> opt = RMSprop([w], lr=0.01, alpha=0.75)
    >>> w.grad[...] = [2.0, -3.0]
    >>> opt.step()  # first step: g / sqrt((1 - alpha) * g**2) = 2 * sign(g)
    >>> w.value
    array([0.98, 1.02])
    """

    alpha = Hyperparameter(unit_interval)
    eps = Hyperparameter(positive)
    weight_decay = Hyperparameter(non_negative)
    momentum = Hyperparameter(unit_interval)
    centered = Hyperparameter(boolean)
    state_names: ClassVar[tuple[str, ...]] = ("square_avg", "grad_avg", "momentum_buffer")

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 0.01,
        *,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ) -> None:
        super().__init__(
            params,
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
        )

    def update(self, p: Parameter) -> None:
        alpha, weight_decay, momentum = self.alpha, self.weight_decay, self.momentum
        value = p.value
        grad = p.grad
        if weight_decay != 0.0:
            grad = grad + weight_decay * value  # a new array: the gradient itself is kept
        work = self.scratch(p)

        square_avg = self.state_array(p, "square_avg")
        square_avg *= alpha
        np.multiply(grad, grad, out=work)
        work *= 1.0 - alpha
        square_avg += work
        if self.centered:
            grad_avg = self.state_array(p, "grad_avg")
            grad_avg *= alpha
            np.multiply(grad, 1.0 - alpha, out=work)
            grad_avg += work
            np.multiply(grad_avg, grad_avg, out=work)
            np.subtract(square_avg, work, out=work)
            np.sqrt(work, out=work)
        else:
            np.sqrt(square_avg, out=work)
        work += self.eps

        np.divide(grad, work, out=work)
        if momentum > 0.0:
            buffer = self.state_array(p, "momentum_buffer")
            buffer *= momentum
            buffer += work
            np.multiply(buffer, self.lr, out=work)
        else:
            work *= self.lr
        value -= work
