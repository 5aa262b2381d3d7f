"""Adam and AdamW: adaptive moment estimation, with L2 or decoupled weight decay."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import ClassVar

import numpy as np

from nnframe.checks import non_negative, pair, positive, unit_interval
from nnframe.optim.base import Optimizer
from nnframe.optim.hyperparameters import Hyperparameter
from nnframe.parameter import Parameter

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam (Kingma and Ba, algorithm 1), with the update rule of ``torch.optim.Adam``.

    Parameters
    ----------
    params : iterable of Parameter
        The parameters to optimize (``model.parameters()``).
    lr : float, default 1e-3
        The learning rate, ``>= 0``.
    betas : tuple of float, default (0.9, 0.999)
        Decay rates ``(beta1, beta2)`` of the first and second moment estimates, each in
        ``[0, 1)``.
    eps : float, default 1e-8
        Added to the square root of the bias-corrected second moment, ``> 0``.
    weight_decay : float, default 0.0
        L2 penalty coefficient, ``>= 0``, added to the gradient (see :class:`AdamW` for
        decoupled decay).

    Notes
    -----
    With ``m`` and ``v`` starting at zero and ``t`` the step number (1 on the first
    step), one step is::

        g = grad + weight_decay * p
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        m_hat = m / (1 - beta1**t);  v_hat = v / (1 - beta2**t)
        p = p - lr * m_hat / (sqrt(v_hat) + eps)

    ``eps`` is added to ``sqrt(v_hat)``, after bias correction, as in the paper and
    PyTorch. With ``weight_decay=0`` this is the course's ``update_parameters_with_adam``.

    References
    ----------
    D. P. Kingma and J. Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015,
    arXiv:1412.6980.

    Examples
    --------
    >>> import numpy as np
    >>> from nnframe import Parameter
    >>> w = Parameter(np.array([1.0, 1.0], dtype=np.float32))
    >>> opt = Adam([w], lr=0.1)
    >>> w.grad[...] = [2.0, -3.0]
    >>> opt.step()  # the first step moves each weight by about lr, against the gradient
    >>> w.value.round(4)
    array([0.9, 1.1], dtype=float32)
    """

    betas = Hyperparameter(pair(unit_interval))
    eps = Hyperparameter(positive)
    weight_decay = Hyperparameter(non_negative)
    state_names: ClassVar[tuple[str, ...]] = ("exp_avg", "exp_avg_sq")
    #: Class attribute: whether weight decay shrinks the parameter directly (AdamW)
    #: instead of being added to the gradient.
    decoupled_weight_decay: ClassVar[bool] = False

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-3,
        *,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)

    def update(self, p: Parameter) -> None:
        lr, weight_decay = self.lr, self.weight_decay
        beta1, beta2 = self.betas
        t = self.step_count
        value = p.value
        grad = p.grad
        if weight_decay != 0.0:
            if self.decoupled_weight_decay:
                value *= 1.0 - lr * weight_decay
            else:
                grad = grad + weight_decay * value  # a new array: the gradient itself is kept
        work = self.scratch(p)

        exp_avg = self.state_array(p, "exp_avg")
        exp_avg *= beta1
        np.multiply(grad, 1.0 - beta1, out=work)
        exp_avg += work
        exp_avg_sq = self.state_array(p, "exp_avg_sq")
        exp_avg_sq *= beta2
        np.multiply(grad, grad, out=work)
        work *= 1.0 - beta2
        exp_avg_sq += work

        # sqrt(v_hat) + eps = sqrt(v) / sqrt(1 - beta2**t) + eps, and lr * m_hat folds the
        # first correction into one scalar: no array is divided twice.
        np.sqrt(exp_avg_sq, out=work)
        work /= math.sqrt(1.0 - beta2**t)
        work += self.eps
        np.divide(exp_avg, work, out=work)
        work *= lr / (1.0 - beta1**t)
        value -= work


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter), as ``torch.optim.AdamW``.

    ``weight_decay`` shrinks the parameter directly instead of entering the gradient and
    the moment estimates.

    Parameters
    ----------
    params : iterable of Parameter
        The parameters to update, in a fixed order.
    lr : float, default 1e-3
        Learning rate.
    betas : (float, float), default (0.9, 0.999)
        Decay rates of the first and second moment estimates.
    eps : float, default 1e-8
        Added to the square root of the bias-corrected second moment.
    weight_decay : float, default 0.01
        Decoupled decay: ``p *= 1 - lr * weight_decay`` before each Adam update.

    Notes
    -----
    One step is ``p = p * (1 - lr * weight_decay)`` followed by the :class:`Adam` update
    with ``weight_decay=0``::

        p = p * (1 - lr * weight_decay)
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * grad**2
        p = p - lr * (m / (1 - beta1**t)) / (sqrt(v / (1 - beta2**t)) + eps)

    References
    ----------
    I. Loshchilov and F. Hutter, "Decoupled Weight Decay Regularization", ICLR 2019,
    arXiv:1711.05101.

    Examples
    --------
    >>> import numpy as np
    >>> from nnframe import Parameter
    >>> w = Parameter(np.array([1.0, 1.0]))
    >>> opt = AdamW([w], lr=0.1, weight_decay=0.5)
    >>> opt.step()  # zero gradient: only the decay acts, 1 * (1 - 0.1 * 0.5)
    >>> w.value
    array([0.95, 0.95])
    """

    decoupled_weight_decay: ClassVar[bool] = True

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-3,
        *,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.01,
    ) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
