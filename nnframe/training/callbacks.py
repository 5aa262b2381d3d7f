"""Callbacks: hooks into :meth:`Trainer.fit` (early stopping, schedules, checkpoints)."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nnframe.checks import boolean, file_path, non_negative, positive_int
from nnframe.errors import ArgumentError, ArgumentTypeError
from nnframe.serialization import save_checkpoint
from nnframe.training.history import History

if TYPE_CHECKING:
    from nnframe.training.trainer import Trainer

__all__ = ["Callback", "EarlyStopping", "LearningRateScheduler", "ModelCheckpoint"]

# The hooks Trainer.fit calls on every callback.
_HOOKS = ("on_train_begin", "on_epoch_begin", "on_batch_end", "on_epoch_end", "on_train_end")
# The hook Trainer.train_step calls between backward and the update: optional, so that a
# callback written before it existed still works.
_OPTIONAL_HOOK = "on_after_backward"


def _resolve_mode(owner: str, monitor: object, mode: object) -> str:
    """Check ``monitor`` and ``mode``; return "min" or "max" ("auto": max for accuracy-like)."""
    if not isinstance(monitor, str):
        raise ArgumentTypeError(f"{owner}: monitor must be a str; got {monitor!r}")
    if not isinstance(mode, str) or mode not in ("auto", "min", "max"):
        raise ArgumentError(f"{owner}: mode must be auto, min or max; got {mode!r}")
    if mode == "auto":
        return "max" if any(k in monitor for k in ("acc", "auc", "precision")) else "min"
    return mode


def _monitored(owner: str, monitor: str, logs: dict[str, float]) -> float:
    """Return the monitored value of an epoch's logs, or raise naming what was logged."""
    if monitor not in logs:
        raise ArgumentError(
            f"{owner}: monitor {monitor!r} is not among the logged values {sorted(logs)} "
            "(val_ values need validation_data or validation_split)"
        )
    return logs[monitor]


class Callback:
    """Base class: override the hooks you need; each receives the running Trainer.

    ``logs`` maps ``"loss"``, each metric and (at epoch end) ``"val_..."`` to floats.
    Epochs and batches count from 0. Set ``trainer.stop_training = True`` to stop after
    the current epoch.

    For each batch, :meth:`Trainer.train_step` runs ``on_after_backward`` once the
    gradients are complete and before the optimizer applies them (and before
    ``grad_clip_norm`` clips them): the place to read, check, average or rescale the
    gradients. An object with the other hooks but not this one is accepted too.

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

    def on_after_backward(self, trainer: Trainer) -> None:
        """Run in each step between backward and ``optimizer.step()``.

        Every ``Parameter.grad`` of ``trainer.optimizer.params`` holds the batch's
        gradient and no weight has changed yet; what the hook writes into the gradients
        (in place) is what gets clipped and applied.
        """

    def on_batch_end(self, trainer: Trainer, batch: int, logs: dict[str, float]) -> None:
        """Run after each optimizer step, with that batch's loss and metrics."""

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        """Run after each epoch (and its validation), with the epoch's averages."""

    def on_train_end(self, trainer: Trainer) -> None:
        """Run once after the last epoch."""


def check_callbacks(callbacks: object, where: str = "Trainer.fit") -> None:
    """Raise unless ``callbacks`` is a sequence of objects with the hooks of a Callback.

    ``on_after_backward`` may be absent (a callback written before it existed); when it
    is there, it must be callable.
    """
    if isinstance(callbacks, str) or not isinstance(callbacks, Sequence):
        raise ArgumentTypeError(
            f"{where}: callbacks must be a list of Callback objects; got "
            f"{type(callbacks).__name__}"
        )
    for i, callback in enumerate(callbacks):
        if isinstance(callback, type) or not all(
            callable(getattr(callback, hook, None)) for hook in _HOOKS
        ):
            raise ArgumentTypeError(
                f"{where}: callbacks[{i}] must be a Callback (with the hooks "
                f"{', '.join(_HOOKS)}); got {callback!r}"
            )
        hook = getattr(callback, _OPTIONAL_HOOK, None)
        if hook is not None and not callable(hook):
            raise ArgumentTypeError(
                f"{where}: callbacks[{i}].{_OPTIONAL_HOOK} must be a method; got {hook!r}"
            )


def after_backward_hooks(callbacks: Sequence[Any]) -> list[Callable[[Trainer], object]]:
    """Return the ``on_after_backward`` methods of ``callbacks``, in order, skipping no-ops.

    Callbacks without the hook, and those that inherit :meth:`Callback.on_after_backward`
    unchanged, contribute nothing, so that a step with only such callbacks calls nothing.
    """
    hooks = []
    for callback in callbacks:
        hook = getattr(callback, _OPTIONAL_HOOK, None)
        if hook is None or getattr(hook, "__func__", None) is Callback.on_after_backward:
            continue
        hooks.append(hook)
    return hooks


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
        mode = _resolve_mode("EarlyStopping", monitor, mode)
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
        value = _monitored("EarlyStopping", self.monitor, logs)
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
        if isinstance(schedule, type) or not (
            callable(getattr(schedule, "lr_at", None)) or callable(schedule)
        ):
            got = (
                f"the class {schedule.__name__}; pass an instance"
                if isinstance(schedule, type)
                else type(schedule).__name__
            )
            raise ArgumentTypeError(
                "LearningRateScheduler: schedule must be a schedule with lr_at(epoch) or a "
                f"function (epoch, lr) -> lr; got {got}"
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


class ModelCheckpoint(Callback):
    """Save a checkpoint to resume training from, at every epoch end or on improvement.

    Each save writes one file, atomically (see :func:`nnframe.serialization.save_checkpoint`):
    the model's weights and buffers, the optimizer's state (step count, moments), the
    number of completed epochs, the history so far, the state of the Generator that
    shuffles the data, and the state of every Generator held by a layer (Dropout's).
    ``Trainer.fit(..., resume_from=path)`` continues from it exactly, and
    :func:`nnframe.load` reads the model out of it.

    Parameters
    ----------
    path : str or path-like
        The file to write. It may hold ``{epoch}`` (counting from 1) and the names of
        logged values, formatted with :meth:`str.format`
        (``"ckpt-{epoch:03d}-{val_loss:.3f}.safetensors"``).
    monitor : str, default "val_loss"
        The logged value that decides what an improvement is, with ``save_best_only``.
    save_best_only : bool, default False
        Save only when ``monitor`` improves on the best value so far (the best of a
        resumed run's earlier epochs included).
    mode : {"auto", "min", "max"}, default "auto"
        Whether smaller or larger is better; "auto" picks "max" for accuracy-like names.

    Attributes
    ----------
    best : float
        The best value of ``monitor`` seen.
    last_saved : pathlib.Path or None
        The file written last.

    Notes
    -----
    Put it after callbacks that add values to the epoch logs (``LearningRateScheduler``
    adds ``"lr"``), so that the history it saves holds them.

    Examples
    --------
    >>> import os, tempfile, numpy as np, nnframe as nf
    >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.safetensors")
    >>> x = np.random.default_rng(0).standard_normal((32, 2)); y = (x[:, :1] > 0) * 1.0
    >>> model = nf.mlp([2, 4, 1], output_activation="sigmoid", rng=0)
    >>> trainer = nf.Trainer(model, nf.BCELoss(), nf.Adam(model.parameters()))
    >>> _ = trainer.fit(x, y, epochs=2, rng=0, progress=False,
    ...                 callbacks=[ModelCheckpoint(path, monitor="loss")])
    >>> fresh = nf.mlp([2, 4, 1], output_activation="sigmoid", rng=1)
    >>> again = nf.Trainer(fresh, nf.BCELoss(), nf.Adam(fresh.parameters()))
    >>> again.fit(x, y, epochs=3, rng=0, progress=False, resume_from=path).epoch
    [0, 1, 2]
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        monitor: str = "val_loss",
        save_best_only: bool = False,
        *,
        mode: str = "auto",
    ) -> None:
        path = file_path(path, "ModelCheckpoint: path")
        mode = _resolve_mode("ModelCheckpoint", monitor, mode)
        self.path = path
        self.monitor: str = monitor
        self.save_best_only: bool = boolean(save_best_only, "ModelCheckpoint: save_best_only")
        self.mode: str = mode
        self.best = math.inf if mode == "min" else -math.inf
        self.last_saved: Path | None = None

    def _improved(self, value: float) -> bool:
        return value < self.best if self.mode == "min" else value > self.best

    def on_train_begin(self, trainer: Trainer) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf
        # A resumed run starts from the best of the epochs it already has.
        for value in trainer.history.history.get(self.monitor, []):
            if self._improved(value):
                self.best = value

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        if self.save_best_only:
            value = _monitored("ModelCheckpoint", self.monitor, logs)
            if not self._improved(value):
                return
            self.best = value
        # Trainer records the epoch after the callbacks have run: save the history as
        # it will be, with this epoch's values.
        history = History(
            {name: list(values) for name, values in trainer.history.history.items()},
            list(trainer.history.epoch),
        )
        history.record(epoch, logs)
        try:
            path = Path(self.path.format(epoch=epoch + 1, **logs))
        except (KeyError, IndexError, ValueError) as error:
            raise ArgumentError(
                f"ModelCheckpoint: cannot fill in the path {self.path!r} ({error!r}); it "
                f"may use {{epoch}} and the logged values {sorted(logs)}"
            ) from None
        save_checkpoint(
            path,
            trainer.model,
            trainer.optimizer,
            epoch=epoch + 1,
            history=history,
            data_rng=trainer.data_rng,
        )
        self.last_saved = path
