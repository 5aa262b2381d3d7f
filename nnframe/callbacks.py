"""Callbacks: hooks into :meth:`Trainer.fit` (early stopping, learning-rate schedules)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from nnframe.checks import boolean, non_negative, positive_int
from nnframe.errors import ArgumentError, ArgumentTypeError

if TYPE_CHECKING:
    from nnframe.training import Trainer

__all__ = ["Callback", "EarlyStopping", "LearningRateScheduler"]


class Callback:
    """Base class: override the hooks you need; each receives the running Trainer.

    ``logs`` maps ``"loss"``, each metric and (at epoch end) ``"val_..."`` to floats.
    Epochs and batches count from 0. Set ``trainer.stop_training = True`` to stop after
    the current epoch.

    Examples
    --------
    >>> class PrintLoss(Callback):
    ...     def on_epoch_end(self, trainer, epoch, logs):
    ...         print(f"epoch {epoch}: {logs['loss']:.3f}")
    """

    def on_train_begin(self, trainer: Trainer) -> None:
        """Run once before the first epoch."""

    def on_epoch_begin(self, trainer: Trainer, epoch: int) -> None:
        """Run before each epoch."""

    def on_batch_end(self, trainer: Trainer, batch: int, logs: dict[str, float]) -> None:
        """Run after each optimizer step, with that batch's loss and metrics."""

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        """Run after each epoch (and its validation), with the epoch's averages."""

    def on_train_end(self, trainer: Trainer) -> None:
        """Run once after the last epoch."""


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
        if not isinstance(monitor, str):
            raise ArgumentTypeError(f"EarlyStopping: monitor must be a str; got {monitor!r}")
        if mode not in ("auto", "min", "max"):
            raise ArgumentError(f"EarlyStopping: mode must be auto, min or max; got {mode!r}")
        if mode == "auto":
            mode = "max" if any(k in monitor for k in ("acc", "auc", "precision")) else "min"
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
        if self.monitor not in logs:
            raise ArgumentError(
                f"EarlyStopping: monitor {self.monitor!r} is not among the logged values "
                f"{sorted(logs)} (val_ values need validation_data or validation_split)"
            )
        value = logs[self.monitor]
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


class LearningRateScheduler(Callback):
    """Set the optimizer's learning rate at the start of every epoch.

    Parameters
    ----------
    schedule : schedule object or callable
        Either a schedule from :mod:`nnframe.optim` (anything with ``lr_at(epoch)``,
        e.g. ``StepLR``), or a Keras-style function ``schedule(epoch, lr) -> new_lr``.

    Notes
    -----
    The learning rate used in each epoch is added to the epoch logs as ``"lr"``.

    Examples
    --------
    >>> halve_every_10 = LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch and epoch % 10 == 0 else lr)
    """  # noqa: E501

    def __init__(self, schedule: Any) -> None:
        if not (callable(getattr(schedule, "lr_at", None)) or callable(schedule)):
            raise ArgumentTypeError(
                "LearningRateScheduler takes a schedule with lr_at(epoch) or a function "
                f"(epoch, lr) -> lr; got {type(schedule).__name__}"
            )
        self.schedule = schedule
        self._lr = math.nan

    def on_epoch_begin(self, trainer: Trainer, epoch: int) -> None:
        lr_at: Callable[[int], float] | None = getattr(self.schedule, "lr_at", None)
        lr = lr_at(epoch) if lr_at is not None else self.schedule(epoch, trainer.optimizer.lr)
        self._lr = non_negative(lr, f"LearningRateScheduler: the lr for epoch {epoch}")
        trainer.optimizer.lr = self._lr

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        logs["lr"] = self._lr
