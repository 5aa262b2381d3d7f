"""Learning-rate schedules: StepLR, ExponentialLR, InverseTimeDecay, CosineAnnealingLR, ..."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from nnframe.checks import interval, is_integer, non_negative, positive, positive_int
from nnframe.errors import ArgumentError, ArgumentTypeError, StateDictError
from nnframe.optim.base import Optimizer
from nnframe.optim.hyperparameters import HasHyperparameters, Hyperparameter

__all__ = [
    "CosineAnnealingLR",
    "ExponentialLR",
    "InverseTimeDecay",
    "LRScheduler",
    "LinearLR",
    "SequentialLR",
    "StepLR",
]


class LRScheduler(HasHyperparameters):
    """Base class of learning-rate schedules: set each group's ``lr`` from the epoch.

    A schedule reads the learning rate of each of the optimizer's parameter groups
    once, at construction, as :attr:`base_lrs`, and scales each group's own rate. Call
    :meth:`step` once per epoch, after the epoch's optimizer steps, as in PyTorch: it
    advances :attr:`last_epoch` and sets ``param_groups[g]["lr"]`` to
    ``lr_for(last_epoch, base_lrs[g])``. Subclasses implement :meth:`lr_for`, the
    schedule as a pure function of the epoch and a base rate.

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer whose groups' ``lr`` the schedule sets.
    **hyperparameters
        A value for every declared hyperparameter.

    Attributes
    ----------
    optimizer : Optimizer
    base_lrs : list of float
        Each group's learning rate when the schedule was made: ``lrs_at(0)``.
    base_lr : float
        The groups' common base rate (with several groups of different rates, reading
        it raises ``ArgumentError``; read :attr:`base_lrs`).
    last_epoch : int
        The number of calls to :meth:`step`; 0 at construction.
    last_lrs : list of float
        The rates the schedule last set, one per group.
    last_lr : float
        ``last_lrs[0]``, for a single group (or groups with a common rate).

    Examples
    --------
    A schedule is a subclass that declares its hyperparameters and implements ``lr_for``:

    >>> import numpy as np
    >>> from nnframe import Parameter, SGD
    >>> from nnframe.checks import positive_int
    >>> from nnframe.optim import Hyperparameter
    >>> class HalveEvery(LRScheduler):
    ...     every = Hyperparameter(positive_int)
    ...     def __init__(self, optimizer, every):
    ...         super().__init__(optimizer, every=every)
    ...     def lr_for(self, epoch, base_lr):
    ...         return base_lr * 0.5 ** (self.check_epoch(epoch) // self.every)
    >>> optimizer = SGD([Parameter(np.zeros(1))], lr=0.8)
    >>> schedule = HalveEvery(optimizer, every=2)
    >>> for _ in range(4):
    ...     schedule.step()
    >>> optimizer.lr
    0.2

    Each group's own rate is scaled:

    >>> two = SGD([{"params": [Parameter(np.zeros(1))]},
    ...            {"params": [Parameter(np.zeros(1))], "lr": 0.08}], lr=0.8)
    >>> schedule = HalveEvery(two, every=1)
    >>> schedule.step()
    >>> [group["lr"] for group in two.param_groups]
    [0.4, 0.04]
    """

    def __init__(self, optimizer: Optimizer, **hyperparameters: object) -> None:
        if not isinstance(optimizer, Optimizer):
            raise ArgumentTypeError(
                f"{type(self).__name__}: optimizer must be an nnframe Optimizer; "
                f"got {type(optimizer).__name__}"
            )
        self.init_hyperparameters(**hyperparameters)
        self.optimizer = optimizer
        self.base_lrs: list[float] = [group["lr"] for group in optimizer.param_groups]
        self.last_epoch = 0
        self.last_lrs: list[float] = self.lrs_at(0)
        self._apply(self.last_lrs)

    # -- the schedule -------------------------------------------------------------------

    def lr_for(self, epoch: int, base_lr: float) -> float:
        """Return the rate at ``epoch`` (0 is the first) of a group of base rate ``base_lr``.

        The schedule in closed form; it changes neither the schedule nor the optimizer.

        Raises
        ------
        ArgumentTypeError, ArgumentError
            When ``epoch`` is not a non-negative int.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement lr_for()")

    def lr_at(self, epoch: int) -> float:
        """Return the learning rate for ``epoch`` of a single group (or groups of one base).

        Raises
        ------
        ArgumentTypeError, ArgumentError
            When ``epoch`` is not a non-negative int, or the groups' base rates differ.
        """
        return self.lr_for(self.check_epoch(epoch, "lr_at: epoch"), self.base_lr)

    def lrs_at(self, epoch: int) -> list[float]:
        """Return the learning rate of each group for ``epoch``, in closed form.

        Raises
        ------
        ArgumentTypeError, ArgumentError
            When ``epoch`` is not a non-negative int.
        """
        if type(self).lr_for is not LRScheduler.lr_for:
            epoch = self.check_epoch(epoch, "lrs_at: epoch")
            return [self.lr_for(epoch, base) for base in self.base_lrs]
        # A subclass written before groups existed implements lr_at from base_lr.
        if len(self.base_lrs) != 1:
            raise ArgumentError(
                f"{type(self).__name__} implements lr_at only; implement "
                "lr_for(epoch, base_lr) to schedule several parameter groups"
            )
        return [self.lr_at(epoch)]

    @property
    def base_lr(self) -> float:
        """The groups' common base rate; see :attr:`base_lrs`."""
        return self._common(self.base_lrs, "base_lr", "base_lrs")

    @property
    def last_lr(self) -> float:
        """The rate last set, for groups of one rate; see :attr:`last_lrs`."""
        return self._common(self.last_lrs, "last_lr", "last_lrs")

    def _common(self, values: list[float], name: str, many: str) -> float:
        if any(v != values[0] for v in values):
            raise ArgumentError(
                f"{type(self).__name__}: the parameter groups have different {name} "
                f"({', '.join(map(repr, values))}); read {many}"
            )
        return values[0]

    @property
    def warmup_epochs(self) -> int:
        """The epochs the schedule spends warming up (0 for a decay schedule)."""
        return 0

    def check_epochs(self, epochs: int, where: str = "") -> None:
        """Raise ``ArgumentError`` when the warm-up does not end before ``epochs``.

        For a training loop that knows its number of epochs (``Trainer.fit``'s).
        """
        if self.warmup_epochs >= positive_int(epochs, f"{where or type(self).__name__}: epochs"):
            raise ArgumentError(
                f"{where or type(self).__name__}: the warm-up lasts {self.warmup_epochs} "
                f"epochs, training only {epochs}; shorten the warm-up"
            )

    def check_epoch(self, epoch: object, what: str = "lr_for: epoch") -> int:
        """Return ``epoch`` as an int, or raise unless it is a non-negative int."""
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

    # -- stepping -------------------------------------------------------------------------

    def _apply(self, lrs: list[float]) -> None:
        groups = self.optimizer.param_groups
        if len(groups) != len(lrs):
            raise ArgumentError(
                f"{type(self).__name__}: the optimizer has {len(groups)} parameter groups; "
                f"the schedule was made for {len(lrs)}"
            )
        checked = [non_negative(lr, f"{type(self).__name__}: lr") for lr in lrs]
        for group, lr in zip(groups, checked, strict=True):
            group["lr"] = lr

    def step(self) -> None:
        """Advance one epoch and set every group's learning rate."""
        lrs = self.lrs_at(self.last_epoch + 1)
        self._apply(lrs)
        self.last_epoch += 1
        self.last_lrs = lrs

    def get_last_lr(self) -> float | list[float]:
        """Return the learning rate last set: a float for one group, else one per group."""
        return self.last_lrs[0] if len(self.last_lrs) == 1 else list(self.last_lrs)

    # -- state ----------------------------------------------------------------------------

    def _rate_keys(self) -> list[str]:
        if len(self.base_lrs) == 1:
            return ["base_lr", "last_lr"]
        n = range(len(self.base_lrs))
        return [f"base_lr.{g}" for g in n] + [f"last_lr.{g}" for g in n]

    def state_dict(self) -> dict[str, Any]:
        """Return the hyperparameters, the base rates, ``last_epoch`` and the last rates.

        Every value is a Python scalar: with one group ``base_lr`` and ``last_lr``, with
        several ``base_lr.<g>`` and ``last_lr.<g>``. The optimizer is not included: save
        its own ``state_dict`` too.
        """
        rates = dict(zip(self._rate_keys(), [*self.base_lrs, *self.last_lrs], strict=True))
        return {**self.hyperparameters(), **rates, "last_epoch": self.last_epoch}

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
        rate_keys = self._rate_keys()
        expected = [*self.hyperparameter_names(), *rate_keys, "last_epoch"]
        problems = [f"missing: {key!r}" for key in expected if key not in state]
        problems += [f"unexpected: {key!r}" for key in state if key not in expected]
        values: dict[str, Any] = {}
        rates: list[float] = []
        last_epoch = self.last_epoch
        if not problems:
            try:
                values = self.validate_hyperparameters(
                    **{name: state[name] for name in self.hyperparameter_names()}
                )
                rates = [non_negative(state[key], f"{owner}: {key}") for key in rate_keys]
                last_epoch = self.check_epoch(state["last_epoch"], "load_state_dict: last_epoch")
            except (ArgumentError, ArgumentTypeError) as error:
                problems.append(str(error))
        if problems:
            raise StateDictError(
                f"{owner}.load_state_dict: the state dict does not match the schedule; "
                "nothing was loaded:\n  " + "\n  ".join(problems)
            )
        self.__dict__.update(values)
        n = len(self.base_lrs)
        self.base_lrs, self.last_lrs, self.last_epoch = rates[:n], rates[n:], last_epoch

    def __repr__(self) -> str:
        settings = "".join(f"{k}={v!r}, " for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({settings}last_epoch={self.last_epoch})"


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

    def lr_for(self, epoch: int, base_lr: float) -> float:
        try:
            return base_lr * self.gamma ** (self.check_epoch(epoch) // self.step_size)
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

    def lr_for(self, epoch: int, base_lr: float) -> float:
        try:
            return base_lr * self.gamma ** self.check_epoch(epoch)
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

    def lr_for(self, epoch: int, base_lr: float) -> float:
        try:
            return base_lr / (1.0 + self.decay_rate * (self.check_epoch(epoch) // self.decay_steps))
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

    def lr_for(self, epoch: int, base_lr: float) -> float:
        try:
            cosine = math.cos(math.pi * self.check_epoch(epoch) / self.T_max)
        except OverflowError:
            raise self._overflow(epoch) from None
        # PyTorch's eta_min + (base_lr - eta_min) * (1 + cos) / 2, rearranged so that
        # epoch 0 gives base_lr exactly (and T_max gives 0.0 exactly when eta_min is 0).
        return base_lr - (base_lr - self.eta_min) * (1.0 - cosine) / 2.0


class LinearLR(LRScheduler):
    """Warm up (or down) linearly: scale each base rate from ``start_factor`` to ``end_factor``.

    ``lr = base_lr * (start_factor + (end_factor - start_factor) * min(epoch, total_iters)
    / total_iters)``, PyTorch's ``LinearLR`` in closed form: the rate climbs for
    ``total_iters`` epochs, then stays at ``base_lr * end_factor``. Put it first in a
    :class:`SequentialLR` to warm up before another schedule.

    Parameters
    ----------
    optimizer : Optimizer
    start_factor : float, default 1/3
        The factor at epoch 0, in ``(0, 1]``.
    end_factor : float, default 1.0
        The factor from epoch ``total_iters`` on, in ``[0, 1]``.
    total_iters : int, default 5
        The epochs of the ramp, ``> 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from nnframe import Parameter
    >>> from nnframe.optim import SGD
    >>> warmup = LinearLR(SGD([Parameter(np.zeros(1))], lr=1.0), start_factor=0.25, total_iters=3)
    >>> [warmup.lr_at(epoch) for epoch in range(5)]
    [0.25, 0.5, 0.75, 1.0, 1.0]
    """

    start_factor = Hyperparameter(interval(0.0, 1.0, low_open=True, high_open=False))
    end_factor = Hyperparameter(interval(0.0, 1.0, high_open=False))
    total_iters = Hyperparameter(positive_int)

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1.0 / 3.0,
        end_factor: float = 1.0,
        total_iters: int = 5,
    ) -> None:
        super().__init__(
            optimizer, start_factor=start_factor, end_factor=end_factor, total_iters=total_iters
        )

    @property
    def warmup_epochs(self) -> int:
        """``total_iters`` when the rate rises, else 0."""
        return self.total_iters if self.end_factor > self.start_factor else 0

    def lr_for(self, epoch: int, base_lr: float) -> float:
        done = min(self.check_epoch(epoch), self.total_iters)
        factor = self.start_factor + (self.end_factor - self.start_factor) * done / self.total_iters
        return base_lr * factor


class SequentialLR(LRScheduler):
    """Run schedules one after another: each starts counting its epochs at its milestone.

    ``lr_for(epoch, base) = schedules[i].lr_for(epoch - start_i, base)``, where ``i`` is
    the number of milestones ``<= epoch`` and ``start_i`` is the milestone it passed last
    (0 for the first schedule): PyTorch's ``SequentialLR``, in closed form. The usual use
    is a warm-up, ``SequentialLR(opt, [LinearLR(opt, 0.1, total_iters=5),
    CosineAnnealingLR(opt, T_max=45)], milestones=[5])``.

    The base rates are those of the first schedule (made first, it read the optimizer's
    rates before any schedule changed them); every schedule is evaluated from them, so
    the order in which they were made does not matter after the first. Step only the
    ``SequentialLR``, not the schedules in it.

    Parameters
    ----------
    optimizer : Optimizer
    schedules : sequence of LRScheduler
        At least one, each made on ``optimizer`` and implementing ``lr_for``.
    milestones : sequence of int
        ``len(schedules) - 1`` increasing epochs ``> 0``, where the next schedule begins.

    Examples
    --------
    >>> import numpy as np
    >>> from nnframe import Parameter
    >>> from nnframe.optim import SGD, ExponentialLR
    >>> opt = SGD([Parameter(np.zeros(1))], lr=1.0)
    >>> warmup = LinearLR(opt, start_factor=0.5, total_iters=2)
    >>> decay = ExponentialLR(opt, gamma=0.5)
    >>> schedule = SequentialLR(opt, [warmup, decay], milestones=[2])
    >>> [schedule.lr_at(epoch) for epoch in range(5)]
    [0.5, 0.75, 1.0, 0.5, 0.25]
    """

    def __init__(
        self, optimizer: Optimizer, schedules: Sequence[LRScheduler], milestones: Sequence[int]
    ) -> None:
        owner = type(self).__name__
        given: object = schedules
        if isinstance(given, str) or not isinstance(given, Sequence) or not given:
            raise ArgumentTypeError(
                f"{owner}: schedules must be a non-empty list of schedules; got {schedules!r}"
            )
        for i, schedule in enumerate(schedules):
            if not isinstance(schedule, LRScheduler) or (
                type(schedule).lr_for is LRScheduler.lr_for
            ):
                raise ArgumentTypeError(
                    f"{owner}: schedules[{i}] must be a schedule with lr_for(epoch, base_lr); "
                    f"got {type(schedule).__name__}"
                )
            if schedule.optimizer is not optimizer:
                raise ArgumentError(
                    f"{owner}: schedules[{i}] was made for another optimizer; make every "
                    "schedule on the optimizer given here"
                )
        marks: object = milestones
        if isinstance(marks, str) or not isinstance(marks, Sequence):
            raise ArgumentTypeError(f"{owner}: milestones must be a list of ints; got {marks!r}")
        checked = [positive_int(m, f"{owner}: milestones[{i}]") for i, m in enumerate(milestones)]
        if len(checked) != len(schedules) - 1:
            raise ArgumentError(
                f"{owner}: {len(schedules)} schedules need {len(schedules) - 1} milestones; "
                f"got {len(checked)}"
            )
        for i in range(1, len(checked)):
            if checked[i] <= checked[i - 1]:
                raise ArgumentError(
                    f"{owner}: milestones must increase; milestones[{i}] = {checked[i]} "
                    f"follows {checked[i - 1]}"
                )
        self.schedules = list(schedules)
        self.milestones = checked
        # Restore the rates the first schedule read, then start as a schedule of them.
        first = self.schedules[0].base_lrs
        for group, lr in zip(optimizer.param_groups, first, strict=True):
            group["lr"] = lr
        super().__init__(optimizer)

    @property
    def warmup_epochs(self) -> int:
        """The first schedule's warm-up, cut at the first milestone."""
        warmup = self.schedules[0].warmup_epochs
        return min(warmup, self.milestones[0]) if self.milestones else warmup

    def lr_for(self, epoch: int, base_lr: float) -> float:
        epoch = self.check_epoch(epoch)
        start, index = 0, 0
        for milestone in self.milestones:
            if epoch < milestone:
                break
            start, index = milestone, index + 1
        return self.schedules[index].lr_for(epoch - start, base_lr)
