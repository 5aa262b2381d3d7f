"""Callbacks: hooks into :meth:`Trainer.fit` (early stopping, schedules, checkpoints).

``Callback`` and the checks of a callback list live in
:mod:`~nnframe.training.callback_base`, ``EarlyStopping`` and ``ReduceLROnPlateau`` in
:mod:`~nnframe.training.monitors`; all are importable from here.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nnframe.checks import boolean, file_path, non_negative
from nnframe.errors import ArgumentError, ArgumentTypeError
from nnframe.serialization import save_checkpoint
from nnframe.training.callback_base import (
    Callback,
    check_state,
    log_rates,
    monitored,
    resolve_mode,
    training_state,
)
from nnframe.training.history import History
from nnframe.training.monitors import EarlyStopping, ReduceLROnPlateau

if TYPE_CHECKING:
    from nnframe.training.trainer import Trainer

__all__ = [
    "Callback",
    "EarlyStopping",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "ReduceLROnPlateau",
]


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

    It has no state to checkpoint: each epoch's rates are computed from the epoch (a
    schedule's ``lrs_at`` is in closed form) or from the rates in the optimizer's state
    (a function), so a resumed run sets the rates an uninterrupted one would.

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
    adds ``"lr"``), so that the history it saves holds them, and after every callback
    with a state (``fit`` refuses ``EarlyStopping`` or ``ReduceLROnPlateau`` after it),
    so that the checkpoint holds their state after the epoch. ``fit`` fills in the path
    template and checks its folder before the first step.

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
        mode = resolve_mode("ModelCheckpoint", monitor, mode)
        self.path = path
        self.monitor: str = monitor
        self.save_best_only: bool = boolean(save_best_only, "ModelCheckpoint: save_best_only")
        self.mode: str = mode
        self.best = math.inf if mode == "min" else -math.inf
        self.last_saved: Path | None = None

    def _improved(self, value: float) -> bool:
        return value < self.best if self.mode == "min" else value > self.best

    def state_dict(self) -> dict[str, Any]:
        """Return ``{"best": ...}``, the best value of ``monitor`` seen."""
        return {"best": float(self.best)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`, checking it first.

        Raises
        ------
        StateDictError
            When ``state`` does not fit; nothing is changed.
        """
        check_state("ModelCheckpoint", state, {"best": float})
        self.best = float(state["best"])

    def check_path(self, logged: Sequence[str], where: str) -> None:
        """Raise unless the path template can be filled in and its folder written to.

        The template is filled in with ``epoch=1`` and ``1.0`` for every name (those in
        ``logged`` and any other, which a callback may log), so that a bad field
        (``"{epoch.real.foo}"``, ``"{epoch[0]}"``, ``"{loss:d}"``) fails before training;
        then the folder of the result must exist and be writable.

        Raises
        ------
        ArgumentError
            Naming the template or the folder.
        """
        path = self._fill(_AnyValue(epoch=1, **dict.fromkeys(logged, 1.0)), where)
        folder = path.parent
        if not folder.is_dir():
            raise ArgumentError(
                f"{where}: ModelCheckpoint cannot save {str(path)!r}: the folder "
                f"{str(folder)!r} does not exist or is not a folder (create it first)"
            )
        if not os.access(folder, os.W_OK | os.X_OK):
            raise ArgumentError(
                f"{where}: ModelCheckpoint cannot save {str(path)!r}: the folder "
                f"{str(folder)!r} is not writable"
            )

    def _fill(self, values: Mapping[str, Any], where: str) -> Path:
        try:
            return Path(self.path.format_map(values))
        except (KeyError, IndexError, ValueError, AttributeError, TypeError) as error:
            raise ArgumentError(
                f"{where}: ModelCheckpoint cannot fill in the path {self.path!r} "
                f"({error!r}); it may use {{epoch}} (an int) and the logged values "
                f"{sorted(k for k in values if k != 'epoch')} (floats)"
            ) from None

    def on_train_begin(self, trainer: Trainer) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf
        # A resumed run starts from the best of the epochs it already has.
        for value in trainer.history.history.get(self.monitor, []):
            if self._improved(value):
                self.best = value

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        if self.save_best_only:
            value = monitored("ModelCheckpoint", self.monitor, logs)
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
        path = self._fill({"epoch": epoch + 1, **logs}, "ModelCheckpoint")
        save_checkpoint(
            path,
            trainer.model,
            trainer.optimizer,
            epoch=epoch + 1,
            history=history,
            data_rng=trainer.data_rng,
            callback_states=training_state(trainer),
        )
        self.last_saved = path


class _AnyValue(dict[str, Any]):
    """The values a path template is tried with: 1.0 for a name nobody has logged yet."""

    def __missing__(self, key: str) -> float:
        return 1.0
