"""Callbacks: hooks into :meth:`Trainer.fit` (early stopping, schedules, checkpoints)."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nnframe.checks import (
    boolean,
    file_path,
    interval,
    non_negative,
    non_negative_int,
    positive_int,
    real,
)
from nnframe.errors import ArgumentError, ArgumentTypeError
from nnframe.serialization import save_checkpoint
from nnframe.training.history import History

if TYPE_CHECKING:
    from nnframe.optim import Optimizer
    from nnframe.training.trainer import Trainer

__all__ = [
    "Callback",
    "EarlyStopping",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "ReduceLROnPlateau",
]

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
        Either a schedule from :mod:`nnframe.optim` (anything with ``lrs_at(epoch)``,
        one rate per parameter group, or ``lr_at(epoch)`` for a single group, e.g.
        ``StepLR``), or a Keras-style function ``schedule(epoch, lr) -> new_lr``, called
        for each parameter group with that group's current rate.

    Notes
    -----
    The learning rate used in each epoch is added to the epoch logs as ``"lr"`` (the
    first group's), with ``"lr_1"``, ``"lr_2"``, ... for the other groups.

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
        self._lrs: list[float] = []

    def on_epoch_begin(self, trainer: Trainer, epoch: int) -> None:
        groups = trainer.optimizer.param_groups
        lrs_at: Callable[[int], list[float]] | None = getattr(self.schedule, "lrs_at", None)
        lr_at: Callable[[int], float] | None = getattr(self.schedule, "lr_at", None)
        if lrs_at is not None:
            lrs = list(lrs_at(epoch))
        elif lr_at is not None:
            if len(groups) != 1:
                raise ArgumentError(
                    f"LearningRateScheduler: the schedule has lr_at(epoch) only, which "
                    f"gives one rate; the optimizer has {len(groups)} parameter groups"
                )
            lrs = [lr_at(epoch)]
        else:
            lrs = [self.schedule(epoch, group["lr"]) for group in groups]
        where = f"LearningRateScheduler: the lr for epoch {epoch}"
        checked = [non_negative(lr, where) for lr in lrs]
        if len(checked) != len(groups):
            raise ArgumentError(
                f"{where}: the schedule gives {len(checked)} rates for {len(groups)} groups"
            )
        for group, lr in zip(groups, checked, strict=True):
            group["lr"] = lr
        self._lrs = checked

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        log_rates(logs, self._lrs)


def log_rates(logs: dict[str, float], lrs: Sequence[float]) -> None:
    """Add the learning rates of an epoch to its logs: ``"lr"``, and ``"lr_<g>"`` for g > 0."""
    if lrs:
        logs["lr"] = lrs[0]
    for g, lr in enumerate(lrs[1:], start=1):
        logs[f"lr_{g}"] = lr


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
    The counters are not written to checkpoints: they are a function of the monitored
    values, so at the start of training (a resumed run included) they are recomputed
    from the history, as ``ModelCheckpoint`` does for its best value; the rates
    themselves are in the optimizer's state. Put it before ``ModelCheckpoint`` in the
    callbacks (it raises otherwise), so that a checkpoint holds the epoch's reduced
    rates. The rates used in each epoch are logged as ``"lr"`` (and ``"lr_1"``, ...).

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
        mode = _resolve_mode(owner, monitor, mode)
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
        for i, callback in enumerate(trainer.callbacks):
            if callback is self:
                break
            if isinstance(callback, ModelCheckpoint):
                raise ArgumentError(
                    f"ReduceLROnPlateau: callbacks[{i}] is a ModelCheckpoint, which runs "
                    "before it; put ReduceLROnPlateau first so that checkpoints hold the "
                    "reduced rates"
                )
        self._min_lrs(len(trainer.optimizer.param_groups))
        self.reset()
        for value in trainer.history.history.get(self.monitor, []):
            self._count(value)  # a resumed run: the counters as they were

    def on_epoch_begin(self, trainer: Trainer, epoch: int) -> None:
        self._lrs = [group["lr"] for group in trainer.optimizer.param_groups]

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        value = _monitored("ReduceLROnPlateau", self.monitor, logs)
        log_rates(logs, self._lrs)
        self.step(value, trainer.optimizer)


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
