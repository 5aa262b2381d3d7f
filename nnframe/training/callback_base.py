"""The Callback base class, the checks of a callback list, and callback state in checkpoints."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from nnframe.errors import ArgumentError, ArgumentTypeError, StateDictError

if TYPE_CHECKING:
    from nnframe.training.trainer import Trainer

logger = logging.getLogger("nnframe.training")

__all__ = [
    "Callback",
    "after_backward_hooks",
    "check_callbacks",
    "log_rates",
    "monitored",
    "resolve_mode",
    "check_state",
    "restore_training_state",
    "state_name",
    "training_state",
]

# The hooks Trainer.fit calls on every callback.
_HOOKS = ("on_train_begin", "on_epoch_begin", "on_batch_end", "on_epoch_end", "on_train_end")
# The hook Trainer.train_step calls between backward and the update: optional, so that a
# callback written before it existed still works.
_OPTIONAL_HOOK = "on_after_backward"


def resolve_mode(owner: str, monitor: object, mode: object) -> str:
    """Check ``monitor`` and ``mode``; return "min" or "max" ("auto": max for accuracy-like)."""
    if not isinstance(monitor, str):
        raise ArgumentTypeError(f"{owner}: monitor must be a str; got {monitor!r}")
    if not isinstance(mode, str) or mode not in ("auto", "min", "max"):
        raise ArgumentError(f"{owner}: mode must be auto, min or max; got {mode!r}")
    if mode == "auto":
        return "max" if any(k in monitor for k in ("acc", "auc", "precision")) else "min"
    return mode


def monitored(owner: str, monitor: str, logs: dict[str, float]) -> float:
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

    def state_dict(self) -> dict[str, Any]:
        """Return what a resumed run needs to continue exactly as this one would.

        A flat dict of str to bool, int, float, str, None or ndarray, written into every
        checkpoint ``ModelCheckpoint`` saves; empty (the default) for a callback whose
        behaviour depends on nothing but the epoch and the logs.
        """
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` on resume (after ``on_train_begin``).

        Raises
        ------
        StateDictError
            When ``state`` does not fit this callback; nothing is changed.
        """
        check_state(type(self).__name__, state, {})


def check_state(owner: str, state: object, kinds: Mapping[str, Any]) -> None:
    """Raise ``StateDictError`` unless ``state`` has exactly the keys and types of ``kinds``.

    ``kinds`` maps each key to a type or a tuple of types (``float`` admits an int, and
    ``bool`` is accepted only where named); a key ending in ``"."`` is a prefix of any
    number of array entries (``"best_state."``).
    """
    if not isinstance(state, Mapping):
        raise StateDictError(f"{owner}: a saved callback state must be a dict; got {state!r}")
    prefixes = tuple(key for key in kinds if key.endswith("."))
    problems = [f"missing: {k!r}" for k in kinds if k not in prefixes and k not in state]
    for key, value in state.items():
        if isinstance(key, str) and key.startswith(prefixes):
            fits = isinstance(value, np.ndarray)
        elif key in kinds:
            types = kinds[key] if isinstance(kinds[key], tuple) else (kinds[key],)
            if float in types:
                types = (*types, int)
            fits = isinstance(value, types) and (bool in types or not isinstance(value, bool))
        else:
            problems.append(f"unexpected: {key!r}")
            continue
        if not fits:
            problems.append(f"{key!r} cannot be {value!r}")
    if problems:
        raise StateDictError(
            f"{owner}: the saved callback state does not fit; nothing was loaded:\n  "
            + "\n  ".join(problems)
        )


def state_name(index: int, callback: object) -> str:
    """The name a callback's state is saved under: its place and class, ``"0.EarlyStopping"``."""
    return f"{index}.{type(callback).__name__}"


def training_state(trainer: Trainer) -> dict[str, dict[str, Any]]:
    """Return the state a checkpoint needs besides the model, optimizer and generators.

    ``"trainer"``: whether a callback has stopped training (``stop_training``) and the
    reference loss of ``divergence_threshold`` (``first_loss``); and, under
    :func:`state_name`, the non-empty :meth:`Callback.state_dict` of every running callback.
    """
    states: dict[str, dict[str, Any]] = {
        "trainer": {
            "stop_training": bool(trainer.stop_training),
            "first_loss": trainer.first_loss,
        }
    }
    for index, callback in enumerate(trainer.callbacks):
        get = getattr(callback, "state_dict", None)
        state = get() if callable(get) else {}
        if state:
            states[state_name(index, callback)] = dict(state)
    return states


def restore_training_state(
    trainer: Trainer, callbacks: Sequence[Any], saved: Mapping[str, Mapping[str, Any]],
    where: str, *, dry_run: bool = False,
) -> None:
    """Put a checkpoint's :func:`training_state` back into ``trainer`` and ``callbacks``.

    Each saved state goes to the callback at the same place of the same class; a
    callback with no saved state keeps the state ``on_train_begin`` gave it (a
    checkpoint written before callback states were saved, or a callback added on
    resume), and a saved state with no such callback is left unused (logged at INFO
    level through the ``nnframe.training`` logger). With ``dry_run``, every state is
    loaded into shallow copies only, so that a state that does not fit raises before
    anything changes.

    Raises
    ------
    StateDictError
        When a saved state does not fit the callback of its class at its place.
    """
    names = {state_name(i, c): c for i, c in enumerate(callbacks)}
    for name, state in saved.items():
        if name == "trainer":
            check_state(f"{where}: the trainer", state,
                        {"stop_training": bool, "first_loss": (float, type(None))})
            if not dry_run:
                trainer.stop_training = bool(state["stop_training"])
                first = state["first_loss"]
                trainer.first_loss = None if first is None else float(first)
            continue
        callback = names.get(name)
        load = getattr(callback, "load_state_dict", None)
        if callback is None or not callable(load):
            if not dry_run:
                logger.info(
                    "%s: the saved state of callbacks[%s], a %s, is not used: this run has "
                    "no such callback there", where, *name.split(".", 1),
                )
            continue
        if dry_run:
            load = copy.copy(callback).load_state_dict
        try:
            load(state)
        except StateDictError as error:
            raise StateDictError(f"{where}: callbacks[{name.split('.')[0]}]: {error}") from None


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


def log_rates(logs: dict[str, float], lrs: Sequence[float]) -> None:
    """Add the learning rates of an epoch to its logs: ``"lr"``, and ``"lr_<g>"`` for g > 0."""
    if lrs:
        logs["lr"] = lrs[0]
    for g, lr in enumerate(lrs[1:], start=1):
        logs[f"lr_{g}"] = lr


