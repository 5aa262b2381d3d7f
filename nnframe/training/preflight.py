"""What Trainer.fit checks before it changes anything, and its progress bar.

Each check runs the model or the loss on the data without changing them, so that a
problem shows before the first step instead of in the middle of an epoch.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from nnframe import metrics as metrics_module
from nnframe.checks import positive
from nnframe.errors import ArgumentError, ArgumentTypeError
from nnframe.grad_mode import no_grad
from nnframe.layers import Layer
from nnframe.parameter import Parameter
from nnframe.training.callbacks import (
    EarlyStopping,
    LearningRateScheduler,
    ModelCheckpoint,
    ReduceLROnPlateau,
)

__all__ = [
    "check_callback_settings",
    "check_clips",
    "check_fits",
    "check_loss_takes_weights",
    "check_one_example_batch",
    "check_warmups",
    "check_optimizer_owns",
    "log_nothing_to_train",
    "progress_bar",
    "resolve_metrics",
]

# The fewest targets Trainer.fit hands the loss at once when it checks them all.
CHECK_ROWS = 4096


def check_optimizer_owns(model: Layer, optimizer: Any) -> None:
    """Raise ``ArgumentError`` when ``optimizer`` updates none of ``model``'s parameters."""
    params = getattr(optimizer, "params", None)
    own = model.parameters()
    if isinstance(params, list) and own and not {id(p) for p in own} & {id(p) for p in params}:
        raise ArgumentError(
            f"Trainer: the optimizer updates none of the model's {len(own)} parameters; "
            "build it from this model: optimizer(model.parameters(), ...)"
        )


def check_clips(optimizer: Any, limits: Mapping[str, object]) -> dict[str, float]:
    """Check ``grad_clip_norm`` and ``grad_clip_value``; return those that are set.

    Each must be a positive number, and the optimizer must have ``params``, a list of
    Parameters, whose gradients are clipped.
    """
    clips = {}
    for name, limit in limits.items():
        if limit is None:
            continue
        clips[name] = positive(limit, f"Trainer: {name}")
        params = getattr(optimizer, "params", None)
        if not isinstance(params, list) or not all(isinstance(p, Parameter) for p in params):
            raise ArgumentTypeError(
                f"Trainer: {name} clips the gradients of optimizer.params, a list "
                f"of Parameters, which {type(optimizer).__name__} does not have"
            )
    return clips


def check_callback_settings(
    trainer: Any, callbacks: Sequence[Any], validated: bool, where: str
) -> None:
    """Check what the callbacks will need, before the first step changes anything.

    - Every ``monitor`` of ``EarlyStopping``, ``ReduceLROnPlateau`` and a
      ``save_best_only`` ``ModelCheckpoint`` is a value the epochs will log: ``loss``,
      a metric, ``val_...`` only with validation data, ``lr``... with a scheduler (any
      name, when a callback of another class may log it).
    - ``EarlyStopping`` and ``ReduceLROnPlateau`` run before every ``ModelCheckpoint``,
      so that a checkpoint holds their state after the epoch.
    - Each ``ModelCheckpoint``'s path template can be filled in and its folder written.

    Raises
    ------
    ArgumentError
        Naming the callback and what to change.
    """
    names = ["loss", *trainer.metrics]
    logged = names + [f"val_{name}" for name in names] if validated else list(names)
    rates = (LearningRateScheduler, ReduceLROnPlateau)
    if any(isinstance(c, rates) for c in callbacks):
        groups = len(getattr(trainer.optimizer, "param_groups", [None]))
        logged += ["lr", *(f"lr_{g}" for g in range(1, groups))]
    known = (EarlyStopping, LearningRateScheduler, ModelCheckpoint, ReduceLROnPlateau)
    open_ended = any(not isinstance(c, known) for c in callbacks)
    first_checkpoint = None
    for i, callback in enumerate(callbacks):
        watches = isinstance(callback, EarlyStopping | ReduceLROnPlateau) or (
            isinstance(callback, ModelCheckpoint) and callback.save_best_only
        )
        monitor = str(getattr(callback, "monitor", ""))
        if watches and monitor not in logged and (
            (monitor.startswith("val_") and not validated) or not open_ended
        ):
            raise ArgumentError(
                f"{type(callback).__name__}: monitor {monitor!r} is not among the logged "
                f"values {sorted(logged)} (val_ values need validation_data or "
                f"validation_split); found by {where} before training, nothing was changed"
            )
        if isinstance(callback, ModelCheckpoint):
            callback.check_path(logged, where)
            first_checkpoint = i if first_checkpoint is None else first_checkpoint
        elif first_checkpoint is not None and isinstance(
            callback, EarlyStopping | ReduceLROnPlateau
        ):
            name = type(callback).__name__
            raise ArgumentError(
                f"{where}: callbacks[{i}] {name} comes after callbacks[{first_checkpoint}], "
                f"a ModelCheckpoint, which runs before it; put {name} first so that "
                "checkpoints hold its state (and the reduced rates) after each epoch"
            )


def log_nothing_to_train(
    logger: Any, where: str, start: int, epochs: int, trainer: Any
) -> None:
    """Log a warning when a resumed run has no epoch left to train, saying why."""
    if trainer.stop_training:
        logger.warning(
            "%s: the checkpoint's run was stopped by a callback after epoch %d; "
            "nothing to train (epochs=%d)", where, start, epochs,
        )
    elif start >= epochs:
        logger.warning(
            "%s: the checkpoint has completed %d epochs and epochs=%d; nothing to train "
            "(epochs is the total, a resumed run's epochs included: pass epochs > %d to "
            "train more)", where, start, epochs, start,
        )


def check_loss_takes_weights(loss: Any, where: str) -> None:
    """Raise ``ArgumentTypeError`` unless ``loss.forward`` takes ``sample_weight``."""
    try:
        parameters = inspect.signature(loss.forward).parameters
    except (TypeError, ValueError):  # no signature to read: let the call decide
        return
    if "sample_weight" in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    ):
        return
    raise ArgumentTypeError(
        f"{where}: sample_weight and class_weight need a loss whose forward takes "
        f"sample_weight; {type(loss).__name__}.forward(pred, target) does not (add a "
        "sample_weight=None argument: see nnframe.Loss)"
    )


def check_fits(
    model: Layer,
    loss: Any,
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    where: str,
    *,
    metrics: Mapping[str, Callable[[np.ndarray, np.ndarray], float]] | None = None,
) -> None:
    """Run the model on ``x[:1]``, the loss on every target and each metric, changing nothing.

    A model that does not take ``x``, targets the loss rejects (a wrong shape, a class
    label out of range), or a metric that does not fit the task (F1 of a regression)
    then fail before the first step instead of in the middle of an epoch. The model
    runs in evaluation mode under ``no_grad`` and is put back in its modes; the loss and
    the metrics see copies of that one prediction.
    """
    modes = [(sub, sub.training) for _, sub in model.named_layers()]
    model.eval()
    try:
        with no_grad():
            pred = model.forward(x[:1])
            rows = max(batch_size, CHECK_ROWS)
            for start in range(0, len(y), rows):
                target = y[start : start + rows]
                loss.forward(np.repeat(pred, len(target), axis=0), target)
        target = y[:rows]
        for name, metric in (metrics or {}).items():
            try:
                metric(np.repeat(pred, len(target), axis=0), target)
            except Exception as error:
                error.add_note(f"in the metric {name!r}")
                raise
    except Exception as error:
        error.add_note(
            f"{where}: found when checking the model on x[:1] and the loss on every "
            "target, before training; nothing was changed"
        )
        raise
    finally:
        for sub, mode in modes:
            sub.training = mode


def resolve_metrics(
    metrics: object, from_logits: bool, where: str
) -> dict[str, Callable[[np.ndarray, np.ndarray], float]]:
    """Return ``{name: function}`` for a list of metric names and functions, or raise.

    Names and functions go through :func:`nnframe.metrics.get`; two metrics of one name
    are refused, since ``History`` keeps one value per name.
    """
    if isinstance(metrics, str):
        metrics = [metrics]
    if not isinstance(metrics, Sequence):
        raise ArgumentTypeError(
            f"{where}: metrics must be a list of metric names or functions; got "
            f"{type(metrics).__name__}"
        )
    resolved: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {}
    for i, metric in enumerate(metrics):
        try:
            name, function = metrics_module.get(metric, from_logits=from_logits)
        except ArgumentError as error:
            raise ArgumentError(f"{where}: metrics[{i}]: {error}") from None
        if name in resolved:
            first = list(resolved).index(name)
            raise ArgumentError(
                f"{where}: metrics[{i}] and metrics[{first}] are both named {name!r}; "
                "History keeps one value per name (give one another name with "
                "nnframe.metrics.named)"
            )
        resolved[name] = function
    return resolved


def check_warmups(callbacks: Sequence[Any], epochs: int, where: str) -> None:
    """Refuse a learning-rate warm-up that lasts as long as training or longer.

    Looks at the schedules of ``LearningRateScheduler`` callbacks (any callback with a
    ``schedule`` that has ``check_epochs``). Nothing to check when ``epochs`` is 0.
    """
    if epochs == 0:
        return
    for callback in callbacks:
        check = getattr(getattr(callback, "schedule", None), "check_epochs", None)
        if callable(check):
            check(epochs, where)


def check_one_example_batch(model: Layer, x: np.ndarray, batch_size: int) -> None:
    """Check, on a copy in training mode, that the model can train on one example.

    BatchNorm1d cannot; without this check the error would come at the last batch of
    the first epoch, after the others had changed the weights.
    """
    probe = copy.deepcopy(model).train()
    try:
        with no_grad():
            probe.forward(x[:1])
    except Exception as error:
        error.add_note(
            f"Trainer.fit: {len(x)} examples in batches of {batch_size} leave a batch of "
            "one example, which this model cannot train on (found on a copy, before "
            "training; nothing was changed): change batch_size or the number of examples"
        )
        raise


def progress_bar(total: int, description: str, enabled: bool) -> Any:
    """A tqdm bar of ``total`` batches, shown only when ``enabled``."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=description, disable=not enabled, leave=True, unit="batch")
