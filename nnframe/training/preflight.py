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
from nnframe.errors import ArgumentError, ArgumentTypeError
from nnframe.grad_mode import no_grad
from nnframe.layers import Layer

__all__ = [
    "check_fits",
    "check_loss_takes_weights",
    "check_one_example_batch",
    "check_warmups",
    "check_optimizer_owns",
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
