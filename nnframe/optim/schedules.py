"""Learning-rate schedules: StepLR, ExponentialLR, InverseTimeDecay, CosineAnnealingLR."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from nnframe.checks import is_integer, non_negative, positive, positive_int
from nnframe.errors import ArgumentError, ArgumentTypeError, StateDictError
from nnframe.optim.base import Optimizer
from nnframe.optim.hyperparameters import HasHyperparameters, Hyperparameter

__all__ = ["CosineAnnealingLR", "ExponentialLR", "InverseTimeDecay", "LRScheduler", "StepLR"]


class LRScheduler(HasHyperparameters):
    """Base class of learning-rate schedules: set ``optimizer.lr`` from the epoch.

    A schedule reads the optimizer's learning rate once, at construction, as
    :attr:`base_lr`. Call :meth:`step` once per epoch, after the epoch's optimizer
    steps, as in PyTorch: it advances :attr:`last_epoch` and sets ``optimizer.lr`` to
    ``lr_at(last_epoch)``. :meth:`lr_at` is the schedule as a pure function of the
    epoch, for callbacks that compute the rate themselves. Subclasses implement it.

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer whose ``lr`` the schedule sets.
    **hyperparameters
        A value for every declared hyperparameter.

    Attributes
    ----------
    optimizer : Optimizer
    base_lr : float
        The optimizer's learning rate when the schedule was made: ``lr_at(0)``.
    last_epoch : int
        The number of calls to :meth:`step`; 0 at construction.
    last_lr : float
        The learning rate the schedule last set, ``lr_at(last_epoch)``.

    Examples
    --------
    A schedule is a subclass that declares its hyperparameters and implements ``lr_at``:

    >>> import numpy as np
    >>> from nnframe import Parameter, SGD
    >>> from nnframe.checks import positive_int
    >>> from nnframe.optim import Hyperparameter
    >>> class HalveEvery(LRScheduler):
    ...     every = Hyperparameter(positive_int)
    ...     def __init__(self, optimizer, every):
    ...         super().__init__(optimizer, every=every)
    ...     def lr_at(self, epoch):
    ...         return self.base_lr * 0.5 ** (epoch // self.every)
    >>> optimizer = SGD([Parameter(np.zeros(1))], lr=0.8)
    >>> schedule = HalveEvery(optimizer, every=2)
    >>> for _ in range(4):
    ...     schedule.step()
    >>> optimizer.lr
    0.2
    """

    def __init__(self, optimizer: Optimizer, **hyperparameters: object) -> None:
        if not isinstance(optimizer, Optimizer):
            raise ArgumentTypeError(
                f"{type(self).__name__}: optimizer must be an nnframe Optimizer; "
                f"got {type(optimizer).__name__}"
            )
        self.init_hyperparameters(**hyperparameters)
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.last_epoch = 0
        self.last_lr = self.lr_at(0)
        optimizer.lr = self.last_lr

    def lr_at(self, epoch: int) -> float:
        """Return the learning rate for ``epoch`` (0 is the first), in closed form.

        Does not change the schedule or the optimizer.

        Raises
        ------
        ArgumentTypeError, ArgumentError
            When ``epoch`` is not a non-negative int.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement lr_at()")

    def _epoch(self, epoch: object, what: str = "lr_at: epoch") -> int:
        where = f"{type(self).__name__}.{what}"
        if not is_integer(epoch):
            raise ArgumentTypeError(f"{where} must be an int; got {type(epoch).__name__}")
        if epoch < 0:
            raise ArgumentError(f"{where} must be >= 0; got {epoch}")
        return int(epoch)

    def _overflow(self, epoch: int) -> ArgumentError:
        return ArgumentError(
            f"{type(self).__name__}.lr_at: epoch {epoch} is too large; the learning rate "
            "leaves the range of a float there"
        )

    def step(self) -> None:
        """Advance one epoch and set the optimizer's learning rate."""
        lr = self.lr_at(self.last_epoch + 1)
        self.optimizer.lr = lr
        self.last_epoch += 1
        self.last_lr = lr

    def get_last_lr(self) -> float:
        """Return the learning rate the schedule last set (PyTorch returns a list)."""
        return self.last_lr

    def state_dict(self) -> dict[str, Any]:
        """Return the hyperparameters, ``base_lr``, ``last_epoch`` and ``last_lr``.

        Every value is a Python scalar. The optimizer is not included: save its own
        ``state_dict`` too.
        """
        return {
            **self.hyperparameters(),
            "base_lr": self.base_lr,
            "last_epoch": self.last_epoch,
            "last_lr": self.last_lr,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore the schedule from :meth:`state_dict`, checking everything first.

        As in PyTorch, the optimizer's ``lr`` is left alone (it is in the optimizer's
        own state dict); the next :meth:`step` sets it.

        Raises
        ------
        ArgumentTypeError
            When ``state`` is not a mapping.
        StateDictError
            When keys are missing or unexpected or values are invalid; nothing changed.
        """
        owner = type(self).__name__
        if not isinstance(state, Mapping):
            raise ArgumentTypeError(
                f"{owner}.load_state_dict takes a mapping from state_dict(); "
                f"got {type(state).__name__}"
            )
        expected = [*self.hyperparameter_names(), "base_lr", "last_epoch", "last_lr"]
        problems = [f"missing: {key!r}" for key in expected if key not in state]
        problems += [f"unexpected: {key!r}" for key in state if key not in expected]
        values: dict[str, Any] = {}
        base_lr, last_lr, last_epoch = self.base_lr, self.last_lr, self.last_epoch
        if not problems:
            try:
                values = self.validate_hyperparameters(
                    **{name: state[name] for name in self.hyperparameter_names()}
                )
                base_lr = non_negative(state["base_lr"], f"{owner}: base_lr")
                last_lr = non_negative(state["last_lr"], f"{owner}: last_lr")
                last_epoch = self._epoch(state["last_epoch"], "load_state_dict: last_epoch")
            except (ArgumentError, ArgumentTypeError) as error:
                problems.append(str(error))
        if problems:
            raise StateDictError(
                f"{owner}.load_state_dict: the state dict does not match the schedule; "
                "nothing was loaded:\n  " + "\n  ".join(problems)
            )
        self.__dict__.update(values)
        self.base_lr, self.last_epoch, self.last_lr = base_lr, last_epoch, last_lr

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({settings}, last_epoch={self.last_epoch})"


class StepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs.

    ``lr = base_lr * gamma ** (epoch // step_size)``

    Parameters
    ----------
    optimizer : Optimizer
    step_size : int
        Epochs between decays, ``> 0``.
    gamma : float, default 0.1
        Decay factor, ``> 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from nnframe import Parameter
    >>> from nnframe.optim import SGD
    >>> schedule = StepLR(SGD([Parameter(np.zeros(1))], lr=1.0), step_size=2, gamma=0.5)
    >>> [schedule.lr_at(epoch) for epoch in range(5)]
    [1.0, 1.0, 0.5, 0.5, 0.25]
    """

    step_size = Hyperparameter(positive_int)
    gamma = Hyperparameter(positive)

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        super().__init__(optimizer, step_size=step_size, gamma=gamma)

    def lr_at(self, epoch: int) -> float:
        try:
            return self.base_lr * self.gamma ** (self._epoch(epoch) // self.step_size)
        except OverflowError:
            raise self._overflow(epoch) from None


class ExponentialLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every epoch.

    ``lr = base_lr * gamma ** epoch``

    Parameters
    ----------
    optimizer : Optimizer
    gamma : float
        Decay factor, ``> 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from nnframe import Parameter
    >>> from nnframe.optim import SGD
    >>> optimizer = SGD([Parameter(np.zeros(1))], lr=1.0)
    >>> schedule = ExponentialLR(optimizer, gamma=0.5)
    >>> schedule.step(); schedule.step()
    >>> optimizer.lr
    0.25
    """

    gamma = Hyperparameter(positive)

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        super().__init__(optimizer, gamma=gamma)

    def lr_at(self, epoch: int) -> float:
        try:
            return self.base_lr * self.gamma ** self._epoch(epoch)
        except OverflowError:
            raise self._overflow(epoch) from None


class InverseTimeDecay(LRScheduler):
    """The course's learning-rate decay: divide by ``1 + decay_rate * epoch``.

    ``lr = base_lr / (1 + decay_rate * floor(epoch / decay_steps))``

    With ``decay_steps=1`` (the default) this is the course's
    ``update_lr``: ``learning_rate0 / (1 + decay_rate * epoch_num)``. With
    ``decay_steps=k`` it is the course's scheduled variant ``schedule_lr_decay`` with
    ``time_interval=k``, which decays in stairs every ``k`` epochs. (Keras's
    ``InverseTimeDecay`` divides by ``decay_steps`` without the floor unless
    ``staircase=True``; this class always takes the floor.)

    Parameters
    ----------
    optimizer : Optimizer
    decay_rate : float
        How fast the rate decays, ``>= 0``.
    decay_steps : int, default 1
        Epochs per decay stair, ``> 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from nnframe import Parameter
    >>> from nnframe.optim import SGD
    >>> optimizer = SGD([Parameter(np.zeros(1))], lr=0.5)
    >>> schedule = InverseTimeDecay(optimizer, decay_rate=1.0)
    >>> [schedule.lr_at(epoch) for epoch in range(4)]
    [0.5, 0.25, 0.16666666666666666, 0.125]
    """

    decay_rate = Hyperparameter(non_negative)
    decay_steps = Hyperparameter(positive_int)

    def __init__(self, optimizer: Optimizer, decay_rate: float, decay_steps: int = 1) -> None:
        super().__init__(optimizer, decay_rate=decay_rate, decay_steps=decay_steps)

    def lr_at(self, epoch: int) -> float:
        try:
            return self.base_lr / (1.0 + self.decay_rate * (self._epoch(epoch) // self.decay_steps))
        except OverflowError:
            raise self._overflow(epoch) from None


class CosineAnnealingLR(LRScheduler):
    """Anneal the learning rate from ``base_lr`` to ``eta_min`` along a half cosine.

    ``lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2``

    This is PyTorch's closed form (computed as ``base_lr - (base_lr - eta_min) *
    (1 - cos(...)) / 2``, so that epoch 0 gives ``base_lr`` exactly, as PyTorch's
    first epoch does). It reaches ``eta_min`` at ``epoch == T_max``; later
    epochs continue along the cosine, back up towards ``base_lr`` (as PyTorch does),
    so stop stepping at ``T_max`` or choose ``T_max`` as the number of epochs.

    Parameters
    ----------
    optimizer : Optimizer
    T_max : int
        Epochs from ``base_lr`` down to ``eta_min``, ``> 0``.
    eta_min : float, default 0.0
        The smallest learning rate, ``>= 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from nnframe import Parameter
    >>> from nnframe.optim import SGD
    >>> optimizer = SGD([Parameter(np.zeros(1))], lr=1.0)
    >>> schedule = CosineAnnealingLR(optimizer, T_max=4)
    >>> [round(schedule.lr_at(epoch), 4) for epoch in range(5)]
    [1.0, 0.8536, 0.5, 0.1464, 0.0]
    """

    T_max = Hyperparameter(positive_int)
    eta_min = Hyperparameter(non_negative)

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:  # noqa: N803 (PyTorch's name)
        super().__init__(optimizer, T_max=T_max, eta_min=eta_min)

    def lr_at(self, epoch: int) -> float:
        try:
            cosine = math.cos(math.pi * self._epoch(epoch) / self.T_max)
        except OverflowError:
            raise self._overflow(epoch) from None
        # PyTorch's eta_min + (base_lr - eta_min) * (1 + cos) / 2, rearranged so that
        # epoch 0 gives base_lr exactly (and T_max gives 0.0 exactly when eta_min is 0).
        return self.base_lr - (self.base_lr - self.eta_min) * (1.0 - cosine) / 2.0
