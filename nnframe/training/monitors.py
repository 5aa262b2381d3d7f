"""Callbacks that watch a logged value: EarlyStopping and ReduceLROnPlateau."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from nnframe.checks import (
    boolean,
    interval,
    non_negative,
    non_negative_int,
    positive_int,
    real,
)
from nnframe.errors import ArgumentError
from nnframe.training.callback_base import (
    Callback,
    check_state,
    log_rates,
    monitored,
    resolve_mode,
)

if TYPE_CHECKING:
    from nnframe.optim import Optimizer
    from nnframe.training.trainer import Trainer

__all__ = ["EarlyStopping", "ReduceLROnPlateau"]


class EarlyStopping(Callback):
    """Stop training when a monitored quantity has stopped improving.

    Parameters
    ----------
    monitor : str, default "val_loss"
        A key of the epoch logs.
    patience : int, default 5
        Stop after this many consecutive epochs without improvement (at least 1).
    min_delta : float, default 0.0
        Smallest change that counts as an improvement.
    mode : {"auto", "min", "max"}, default "auto"
        Whether smaller or larger is better; "auto" picks "max" for accuracy-like names.
    restore_best : bool, default True
        At the end of training, load the weights of the best epoch.

    Attributes
    ----------
    best : float
        The best value seen.
    best_epoch : int or None
        The epoch it was seen at.
    stopped_epoch : int or None
        The epoch training stopped after, or None when it ran to the end.

    Notes
    -----
    The counters, the best value and epoch and (with ``restore_best``) the best weights
    are written to checkpoints and restored on resume, so that a resumed run stops at
    the epoch an uninterrupted one would and ends with the same weights. Put it before
    ``ModelCheckpoint`` in the callbacks (``fit`` raises otherwise), so that a
    checkpoint holds its state after the epoch.

    Examples
    --------
    >>> stopper = EarlyStopping(monitor="val_loss", patience=3)
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 5,
        *,
        min_delta: float = 0.0,
        mode: str = "auto",
        restore_best: bool = True,
    ) -> None:
        mode = resolve_mode("EarlyStopping", monitor, mode)
        self.monitor: str = monitor
        self.patience: int = positive_int(patience, "EarlyStopping: patience")
        self.min_delta: float = non_negative(min_delta, "EarlyStopping: min_delta")
        self.mode: str = mode
        self.restore_best: bool = boolean(restore_best, "EarlyStopping: restore_best")
        self._reset()

    def _reset(self) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch: int | None = None
        self.stopped_epoch: int | None = None
        self._wait = 0
        self._best_state: dict[str, np.ndarray] | None = None

    def _improved(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_train_begin(self, trainer: Trainer) -> None:
        self._reset()

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        value = monitored("EarlyStopping", self.monitor, logs)
        if self._improved(value):
            self.best, self.best_epoch, self._wait = value, epoch, 0
            if self.restore_best:
                self._best_state = trainer.model.state_dict()
            return
        self._wait += 1
        if self._wait >= self.patience:
            self.stopped_epoch = epoch
            trainer.stop_training = True

    def on_train_end(self, trainer: Trainer) -> None:
        if self.restore_best and self._best_state is not None:
            trainer.model.load_state_dict(self._best_state)

    def state_dict(self) -> dict[str, Any]:
        """Return the counters, the best value and epoch, and the best weights if kept.

        The best weights (with ``restore_best``) are the arrays ``"best_state.<name>"``.
        """
        state: dict[str, Any] = {
            "best": float(self.best),
            "best_epoch": self.best_epoch,
            "stopped_epoch": self.stopped_epoch,
            "wait": self._wait,
        }
        for name, value in (self._best_state or {}).items():
            state[f"best_state.{name}"] = value
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`, checking it first.

        Raises
        ------
        StateDictError
            When ``state`` does not fit; nothing is changed.
        """
        optional_int = (int, type(None))
        kinds = {"best": float, "best_epoch": optional_int, "stopped_epoch": optional_int,
                 "wait": int, "best_state.": np.ndarray}
        check_state("EarlyStopping", state, kinds)
        prefix = "best_state."
        best = {k[len(prefix):]: np.array(v) for k, v in state.items() if k.startswith(prefix)}
        self.best = float(state["best"])
        self.best_epoch, self.stopped_epoch = state["best_epoch"], state["stopped_epoch"]
        self._wait = state["wait"]
        self._best_state = best or None


class ReduceLROnPlateau(Callback):
    """Divide the learning rates when a monitored quantity has stopped improving.

    PyTorch's ``torch.optim.lr_scheduler.ReduceLROnPlateau`` as a callback (Keras has
    the same callback): after each epoch the monitored value is compared with the best
    so far; after more than ``patience`` epochs in a row without improvement, every
    parameter group's rate is multiplied by ``factor`` (not below its ``min_lr``), and
    ``cooldown`` epochs pass before bad epochs count again.

    Parameters
    ----------
    monitor : str, default "val_loss"
        A key of the epoch logs.
    factor : float, default 0.1
        The factor each rate is multiplied by, in ``(0, 1)``.
    patience : int, default 10
        Epochs without improvement that are tolerated: the rates drop at the
        ``patience + 1``-th (PyTorch's rule; Keras drops at the ``patience``-th).
    mode : {"auto", "min", "max"}, default "auto"
        Whether smaller or larger is better; "auto" picks "max" for accuracy-like names.
    threshold : float, default 1e-4
        The smallest change that counts as an improvement, ``>= 0``.
    threshold_mode : {"rel", "abs"}, default "rel"
        "rel": better than ``best * (1 - threshold)`` (mode min) or
        ``best * (1 + threshold)`` (max); "abs": better than ``best -/+ threshold``.
    cooldown : int, default 0
        Epochs after a reduction during which no bad epoch is counted, ``>= 0``.
    min_lr : float or sequence of float, default 0.0
        The lowest rate, one for all groups or one per group, ``>= 0``.
    eps : float, default 1e-8
        A reduction smaller than this is skipped, ``>= 0``.

    Attributes
    ----------
    best : float
        The best value seen.
    num_bad_epochs : int
        Consecutive epochs without improvement (outside cooldown).
    cooldown_counter : int
        Epochs of cooldown left.

    Notes
    -----
    The best value and the counters are written to checkpoints (:meth:`state_dict`)
    and restored on resume; the rates themselves are in the optimizer's state. (A
    checkpoint written before callback states were saved: the counters are recomputed
    from its history.) Put it before ``ModelCheckpoint`` in the callbacks (``fit``
    raises otherwise), so that a checkpoint holds the epoch's reduced rates and
    counters. The rates used in each epoch are logged as ``"lr"`` (and ``"lr_1"``, ...).

    Without a Trainer, call :meth:`step` after each epoch with the value and the
    optimizer.

    Examples
    --------
    >>> import numpy as np
    >>> from nnframe import Parameter
    >>> from nnframe.optim import SGD
    >>> opt = SGD([Parameter(np.zeros(1))], lr=1.0)
    >>> plateau = ReduceLROnPlateau(factor=0.5, patience=1)
    >>> [plateau.step(loss, opt) for loss in [3.0, 2.0, 2.0, 2.0]]
    [False, False, False, True]
    >>> opt.lr
    0.5
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        *,
        mode: str = "auto",
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float | Sequence[float] = 0.0,
        eps: float = 1e-8,
    ) -> None:
        owner = "ReduceLROnPlateau"
        mode = resolve_mode(owner, monitor, mode)
        self.monitor: str = monitor
        self.factor: float = interval(0.0, 1.0, low_open=True)(factor, f"{owner}: factor")
        self.patience: int = non_negative_int(patience, f"{owner}: patience")
        self.mode: str = mode
        self.threshold: float = non_negative(threshold, f"{owner}: threshold")
        if threshold_mode not in ("rel", "abs"):
            raise ArgumentError(f"{owner}: "
                                f"threshold_mode must be rel or abs; got {threshold_mode!r}")
        self.threshold_mode: str = threshold_mode
        self.cooldown: int = non_negative_int(cooldown, f"{owner}: cooldown")
        given: object = min_lr
        if isinstance(given, Sequence) and not isinstance(given, str):
            self.min_lr: float | list[float] = [
                non_negative(v, f"{owner}: min_lr[{i}]") for i, v in enumerate(given)
            ]
        else:
            self.min_lr = non_negative(given, f"{owner}: min_lr")
        self.eps: float = non_negative(eps, f"{owner}: eps")
        self._lrs: list[float] = []
        self.reset()

    def reset(self) -> None:
        """Forget the values seen: no best, no bad epochs, no cooldown."""
        self.best = math.inf if self.mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0

    def _better(self, value: float) -> bool:
        if self.mode == "min":
            bar = self.best * (1.0 - self.threshold) if self.threshold_mode == "rel" else (
                self.best - self.threshold
            )
            return value < bar
        bar = self.best * (1.0 + self.threshold) if self.threshold_mode == "rel" else (
            self.best + self.threshold
        )
        return value > bar

    def _count(self, value: float) -> bool:
        """Record one value; return whether the rates are due to drop (PyTorch's order)."""
        if self._better(value):
            self.best, self.num_bad_epochs = value, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs in cooldown do not count
        if self.num_bad_epochs > self.patience:
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
            return True
        return False

    def _min_lrs(self, n: int) -> list[float]:
        if isinstance(self.min_lr, list):
            if len(self.min_lr) != n:
                raise ArgumentError(
                    f"ReduceLROnPlateau: min_lr has {len(self.min_lr)} values; the "
                    f"optimizer has {n} parameter groups"
                )
            return self.min_lr
        return [self.min_lr] * n

    def step(self, value: float, optimizer: Optimizer) -> bool:
        """Record the epoch's monitored ``value``; reduce ``optimizer``'s rates when due.

        Returns
        -------
        bool
            Whether the rates were due to drop (a group already at its ``min_lr`` keeps
            its rate).
        """
        groups = optimizer.param_groups
        floors = self._min_lrs(len(groups))
        value = real(value, "ReduceLROnPlateau: the monitored value")
        if not self._count(value):
            return False
        for group, floor in zip(groups, floors, strict=True):
            old = group["lr"]
            new = max(old * self.factor, floor)
            if old - new > self.eps:
                group["lr"] = new
        return True

    def on_train_begin(self, trainer: Trainer) -> None:
        self._min_lrs(len(trainer.optimizer.param_groups))
        self.reset()
        for value in trainer.history.history.get(self.monitor, []):
            self._count(value)  # a resumed run: the counters as they were

    def state_dict(self) -> dict[str, Any]:
        """Return ``best``, ``num_bad_epochs`` and ``cooldown_counter``."""
        return {"best": float(self.best), "num_bad_epochs": self.num_bad_epochs,
                "cooldown_counter": self.cooldown_counter}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`, checking it first.

        Raises
        ------
        StateDictError
            When ``state`` does not fit; nothing is changed.
        """
        kinds = {"best": float, "num_bad_epochs": int, "cooldown_counter": int}
        check_state("ReduceLROnPlateau", state, kinds)
        self.best = float(state["best"])
        self.num_bad_epochs = state["num_bad_epochs"]
        self.cooldown_counter = state["cooldown_counter"]

    def on_epoch_begin(self, trainer: Trainer, epoch: int) -> None:
        self._lrs = [group["lr"] for group in trainer.optimizer.param_groups]

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        value = monitored("ReduceLROnPlateau", self.monitor, logs)
        log_rates(logs, self._lrs)
        self.step(value, trainer.optimizer)
