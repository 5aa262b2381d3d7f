"""SGD: stochastic gradient descent with optional momentum, Nesterov and weight decay."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import numpy as np

from nnframe.blas import axpby, axpy
from nnframe.checks import boolean, interval, non_negative, unit_interval
from nnframe.errors import ArgumentError
from nnframe.optim.base import Optimizer
from nnframe.optim.hyperparameters import Hyperparameter
from nnframe.parameter import FlatParameters, Parameter, freezing_used

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent, with the update rule of ``torch.optim.SGD``.

    The hyperparameters after ``lr`` are keyword-only, because PyTorch's positional
    order (``weight_decay`` before ``nesterov``) differs from this one.

    Parameters
    ----------
    params : iterable of Parameter, FlatParameters, or list of dict
        The parameters to optimize (``model.parameters()``), or parameter groups
        (``[{"params": [...], "lr": 0.01}, ...]``, see :class:`Optimizer`). Given a
        :class:`~nnframe.FlatParameters`, plain SGD (no momentum, no weight decay)
        updates its whole ``values`` array in one operation, with the same result.
    lr : float
        The learning rate, ``>= 0``. Required: PyTorch defaults to 1e-3 and Keras to
        1e-2, and a good value depends on the problem, so nnframe asks for it.
    momentum : float, default 0.0
        The momentum factor, in ``[0, 1)``.
    dampening : float, default 0.0
        Dampening of the gradient added to the momentum buffer, in ``[0, 1]``.
    nesterov : bool, default False
        Use Nesterov momentum; needs ``momentum > 0`` and ``dampening == 0``.
    weight_decay : float, default 0.0
        L2 penalty coefficient, ``>= 0``, added to the gradient.

    Notes
    -----
    With ``g`` the accumulated gradient and ``b`` the momentum buffer, one step is::

        g = grad + weight_decay * p
        b = g                                     (first step)
        b = momentum * b + (1 - dampening) * g    (later steps)
        g = g + momentum * b   if nesterov,  else  g = b      (when momentum > 0)
        p = p - lr * g

    The course's momentum, ``v = beta * v + (1 - beta) * dW`` from ``v = 0``, then
    ``W = W - learning_rate * v``, unrolls to ``v_t = (1 - beta) * b_t`` with ``b`` the
    buffer of ``momentum=beta, dampening=0``. So the course with ``learning_rate`` is
    exactly ``SGD(lr=learning_rate * (1 - beta), momentum=beta)``, from the first step
    on. ``SGD(lr=learning_rate, momentum=beta, dampening=beta)`` is not the same: its
    buffer starts at ``g_1`` where the course's ``v`` starts at ``(1 - beta) * g_1``, and
    its buffer stays ahead of ``v`` by ``beta**t * g_1`` at step ``t``, a difference that
    decays but never vanishes. Both statements are checked in the test suite.

    Each ``p = p - lr * g`` (and the momentum buffer's update) is one call of
    :func:`nnframe.blas.axpy` (:func:`~nnframe.blas.axpby`): one pass over memory for a
    large parameter, without a temporary as large as it.

    Given a ``FlatParameters``, a step with ``momentum == 0`` and ``weight_decay == 0``
    is that update over the flat arrays at once; it saves the per-parameter overhead,
    which dominates for small models. It agrees with the step parameter by parameter up
    to the rounding of the last bit: BLAS may fuse a multiply and an add that numpy
    rounds separately, and a small parameter alone takes numpy where the flat array
    takes BLAS (bit for bit the same when both take one path). Otherwise (or
    once a parameter has left the buffer, see ``FlatParameters.intact``, or while one is
    frozen, or with several parameter groups) it steps parameter by parameter.

    Examples
    --------
    >>> import numpy as np
    >>> from nnframe import Parameter
    >>> w = Parameter(np.array([1.0, -2.0]))
    >>> opt = SGD([w], lr=0.1, momentum=0.9)
    >>> w.grad[...] = [0.5, 0.5]
    >>> opt.step()
    >>> w.value
    array([ 0.95, -2.05])
    """

    momentum = Hyperparameter(unit_interval)
    dampening = Hyperparameter(interval(0.0, 1.0, high_open=False))
    nesterov = Hyperparameter(boolean)
    weight_decay = Hyperparameter(non_negative)
    state_names: ClassVar[tuple[str, ...]] = ("momentum_buffer",)

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float,
        *,
        momentum: float = 0.0,
        dampening: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(
            params,
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            nesterov=nesterov,
            weight_decay=weight_decay,
        )
        self._flat = params if isinstance(params, FlatParameters) else None

    def step(self) -> None:
        """Update every parameter once, in place (over one array when it can: see Notes)."""
        overridden = getattr(self.update, "__func__", None) is not SGD.update  # subclass, patch
        if (
            overridden
            or len(self.param_groups) != 1
            or self.momentum != 0.0
            or self.weight_decay != 0.0
        ):
            super().step()  # also every multi-group step: update() reads each group's values
            return
        # Plain SGD: what update() does, in one loop (or one call) without its bookkeeping.
        self.step_count += 1
        scale = -self.lr
        flat = self._flat
        if flat is not None and flat.intact and not (freezing_used() and self._any_frozen()):
            axpy(scale, flat.grads, flat.values)  # flat.grads settles gradients marked zero
            return
        frozen_possible = freezing_used()
        for p in self.params:
            if not frozen_possible or p.requires_grad:
                axpy(scale, p.grad, p.value)

    def _any_frozen(self) -> bool:
        return not all(p.requires_grad for p in self.params)

    def check_hyperparameters(self, values: Mapping[str, Any]) -> None:
        if values["nesterov"] and (values["momentum"] == 0.0 or values["dampening"] != 0.0):
            raise ArgumentError(
                "SGD: nesterov=True needs momentum > 0 and dampening == 0; got "
                f"momentum={values['momentum']:g}, dampening={values['dampening']:g}"
            )

    def update(self, p: Parameter) -> None:
        momentum, weight_decay = self.momentum, self.weight_decay
        value = p.value
        grad = p.grad
        if weight_decay != 0.0:
            grad = np.multiply(value, weight_decay, out=self.scratch(p))
            grad += p.grad
        if momentum != 0.0:
            state = self.state[p]
            if "momentum_buffer" not in state:
                # PyTorch's first step: the buffer is the gradient itself, not (1 - dampening) * g.
                buffer = state["momentum_buffer"] = grad.copy()
            else:
                buffer = self.state_array(p, "momentum_buffer")
                axpby(1.0 - self.dampening, grad, momentum, buffer)
            if not self.nesterov:
                grad = buffer
            elif weight_decay != 0.0:  # grad is the scratch array: add in place
                axpy(momentum, buffer, grad)
            else:
                grad = np.multiply(buffer, momentum, out=self.scratch(p))
                grad += p.grad
        axpy(-self.lr, grad, value)
