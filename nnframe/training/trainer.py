"""The Trainer: fits a model batch by batch through an overridable step, evaluates, predicts."""

from __future__ import annotations

import copy
import math
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from nnframe import metrics as metrics_module
from nnframe.checks import (
    boolean,
    file_path,
    interval,
    non_negative_int,
    positive,
    positive_int,
)
from nnframe.errors import ArgumentError, ArgumentTypeError, DataError, TrainingDivergedError
from nnframe.grad_mode import no_grad
from nnframe.layers import Layer
from nnframe.optim import clip_grad_norm
from nnframe.parameter import Parameter
from nnframe.rng import RNGLike, as_generator
from nnframe.serialization import load_checkpoint
from nnframe.training.callbacks import Callback, after_backward_hooks, check_callbacks
from nnframe.training.data import as_data, batches, check_pair
from nnframe.training.history import History

__all__ = ["Trainer"]

# The fewest targets Trainer.fit hands the loss at once when it checks them all.
_CHECK_ROWS = 4096


def _check_optimizer_owns(model: Layer, optimizer: Any) -> None:
    params = getattr(optimizer, "params", None)
    own = model.parameters()
    if isinstance(params, list) and own and not {id(p) for p in own} & {id(p) for p in params}:
        raise ArgumentError(
            f"Trainer: the optimizer updates none of the model's {len(own)} parameters; "
            "build it from this model: optimizer(model.parameters(), ...)"
        )


def _progress_bar(total: int, description: str, enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=description, disable=not enabled, leave=True, unit="batch")


class Trainer:
    """Fits a model with a loss and an optimizer; evaluates and predicts in batches.

    Parameters
    ----------
    model : Layer
    loss : Loss
        Called as ``loss(pred, target)``, then ``loss.backward()``.
    optimizer : Optimizer
        Stepped once per batch.
    metrics : sequence of str or callable, default ()
        Names from :mod:`nnframe.metrics` or functions ``metric(pred, target)``.
        Binary metrics know from the loss whether the model outputs logits.
    stop_on_nan : bool, default True
        Raise :class:`~nnframe.errors.TrainingDivergedError` when a batch's loss is not
        finite, before that batch changes the weights.
    grad_clip_norm : float or None, default None
        Before every update, rescale the gradients of the optimizer's parameters so that
        their global L2 norm is at most this (:func:`~nnframe.optim.clip_grad_norm`), after
        the callbacks' ``on_after_backward`` hooks. A positive finite number; None does not
        clip.

    Attributes
    ----------
    callbacks : tuple of Callback
        The callbacks of the :meth:`fit` in progress (whose ``on_after_backward`` hooks
        :meth:`train_step` runs); empty outside :meth:`fit`.
    stop_training : bool
        Set by a callback (EarlyStopping) to end :meth:`fit` after the current epoch.
    history : History
        The records of the current (or last) :meth:`fit`, earlier epochs of a resumed run
        included; callbacks read it (``ModelCheckpoint`` saves it).
    data_rng : numpy.random.Generator or None
        The Generator the current (or last) :meth:`fit` draws the shuffling order from.

    See Also
    --------
    train_step : the step of :meth:`fit`, to override for a custom one.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((64, 2)); y = (x[:, 0] > 0).astype(int)
    >>> model = nf.mlp([2, 8, 1], output_activation="sigmoid", rng=0)
    >>> trainer = nf.Trainer(model, nf.BCELoss(), nf.Adam(model.parameters(), lr=0.05),
    ...                      metrics=["accuracy"])
    >>> history = trainer.fit(x, y, epochs=20, batch_size=16, rng=0, progress=False)
    >>> history.history["accuracy"][-1] > 0.9
    True
    """

    def __init__(
        self,
        model: Layer,
        loss: Any,
        optimizer: Any,
        *,
        metrics: Sequence[str | metrics_module.Metric] = (),
        stop_on_nan: bool = True,
        grad_clip_norm: float | None = None,
    ) -> None:
        if not isinstance(model, Layer):
            raise ArgumentTypeError(f"Trainer: model must be a Layer; got {type(model).__name__}")
        for name, obj, needed in (
            ("loss", loss, ("forward", "backward")),
            ("optimizer", optimizer, ("step", "zero_grad")),
        ):
            if isinstance(obj, type):
                raise ArgumentTypeError(
                    f"Trainer: {name} must be an instance; got the class {obj.__name__} "
                    f"(pass {obj.__name__}(...))"
                )
            if isinstance(obj, Layer) or not all(callable(getattr(obj, m, None)) for m in needed):
                methods = " and ".join(f"{m}()" for m in needed)
                raise ArgumentTypeError(
                    f"Trainer: {name} must have {methods} methods; got {type(obj).__name__}"
                )
        _check_optimizer_owns(model, optimizer)
        clip_norm = None
        if grad_clip_norm is not None:
            clip_norm = positive(grad_clip_norm, "Trainer: grad_clip_norm")
            params = getattr(optimizer, "params", None)
            if not isinstance(params, list) or not all(isinstance(p, Parameter) for p in params):
                raise ArgumentTypeError(
                    "Trainer: grad_clip_norm clips the gradients of optimizer.params, a list "
                    f"of Parameters, which {type(optimizer).__name__} does not have"
                )
        if isinstance(metrics, str):
            metrics = [metrics]
        if not isinstance(metrics, Sequence):
            raise ArgumentTypeError(
                "Trainer: metrics must be a list of metric names or functions; got "
                f"{type(metrics).__name__}"
            )
        self.model = model
        self.loss = loss
        self.optimizer = optimizer
        self.stop_on_nan = boolean(stop_on_nan, "Trainer: stop_on_nan")
        self.grad_clip_norm = clip_norm
        self.from_logits = getattr(type(loss), "input_kind", None) == "logit"
        self.metrics = {}
        for i, metric in enumerate(metrics):
            try:
                name, function = metrics_module.get(metric, from_logits=self.from_logits)
            except ArgumentError as error:
                raise ArgumentError(f"Trainer: metrics[{i}]: {error}") from None
            self.metrics[name] = function
        self.stop_training = False
        self.history = History()
        self.data_rng: np.random.Generator | None = None
        self.callbacks: tuple[Callback, ...] = ()
        self._after_backward_hooks: list[Callable[[Trainer], object]] = []

    # -- training ---------------------------------------------------------------------

    def fit(
        self,
        x: np.ndarray,
        y: np.ndarray,
        *,
        epochs: int = 1,
        batch_size: int = 32,
        shuffle: bool = True,
        validation_data: tuple[np.ndarray, np.ndarray] | None = None,
        validation_split: float = 0.0,
        callbacks: Sequence[Callback] = (),
        progress: bool | None = None,
        rng: RNGLike = None,
        resume_from: str | os.PathLike[str] | None = None,
    ) -> History:
        """Train until ``epochs`` passes over ``(x, y)`` are complete.

        Parameters
        ----------
        x : ndarray of shape (n, features)
        y : ndarray of shape (n,) or (n, outputs)
        epochs : int, default 1
            The total number of epochs, those of a resumed run included (Keras's meaning).
        batch_size : int, default 32
        shuffle : bool, default True
            Reshuffle the training examples every epoch, drawing from ``rng``.
        validation_data : (x_val, y_val), optional
            Evaluated after every epoch; results are logged as ``val_<name>``.
        validation_split : float, default 0.0
            Without ``validation_data``, hold out this fraction of the examples (the last
            ones, before shuffling, as Keras does).
        callbacks : sequence of Callback
            Their hooks run around each epoch and batch; ``on_after_backward`` runs
            inside :meth:`train_step`. ``trainer.callbacks`` holds them during the run.
        progress : bool or None
            Show a progress bar per epoch; None shows it when stderr is a terminal.
        rng : None, int or numpy.random.Generator
            Source of the shuffling order.
        resume_from : str or path-like, optional
            A checkpoint written by :class:`~nnframe.training.ModelCheckpoint`: the model's
            weights, the optimizer's state, the shuffling Generator's state and every
            layer's Generator state are restored from it, and training continues after its
            last epoch up to ``epochs``. With the same data, seed, model and optimizer, an
            interrupted run resumed this way ends with exactly the weights of an
            uninterrupted one.

        Returns
        -------
        History
            One record per epoch; a resumed run's records start with the checkpoint's.

        Raises
        ------
        TrainingDivergedError
            When a batch's loss is NaN or infinite (unless ``stop_on_nan=False``).
        SerializationError
            When ``resume_from`` is not a readable checkpoint.
        StateDictError
            When the checkpoint does not fit the model or optimizer (nothing is changed).
        DataError, ShapeError, DTypeError, ArgumentError, ArgumentTypeError
            For bad data or arguments, before anything changes: besides the arguments and
            the arrays themselves (NaN, inf, lengths, dtypes), the model is run on
            ``x[:1]`` in evaluation mode and the loss on every target, so that a model
            that does not take ``x`` or a class label out of range fails before the first
            step (and a batch of one example, on a copy in training mode).
        """
        x, y = check_pair(x, y, "Trainer.fit")
        total_epochs = non_negative_int(epochs, "Trainer.fit: epochs")
        positive_int(batch_size, "Trainer.fit: batch_size")
        shuffle = boolean(shuffle, "Trainer.fit: shuffle")
        if progress is not None:
            progress = boolean(progress, "Trainer.fit: progress")
        check_callbacks(callbacks)
        if resume_from is not None:
            file_path(resume_from, "Trainer.fit: resume_from")
        split = interval(0.0, 1.0)(validation_split, "Trainer.fit: validation_split")
        if validation_data is None and split > 0:
            keep = len(x) - math.ceil(len(x) * split)
            if keep < 1:
                raise DataError(
                    f"Trainer.fit: validation_split={split} leaves no training data"
                )
            x, y, validation_data = x[:keep], y[:keep], (x[keep:], y[keep:])
        if validation_data is not None:
            given: object = validation_data
            if not isinstance(given, tuple | list) or len(given) != 2:
                got = type(given).__name__
                if isinstance(given, tuple | list):
                    got = f"{len(given)} items"
                raise ArgumentTypeError(
                    f"Trainer.fit: validation_data must be a pair (x_val, y_val); got {got}"
                )
            validation_data = check_pair(*validation_data, "Trainer.fit validation_data")
        generator = as_generator(rng, name="Trainer.fit: rng")
        # Last among the checks: the model and the loss see the data, changing nothing.
        self._check_fits(x, y, batch_size, "Trainer.fit")
        if len(x) % batch_size == 1 or batch_size == 1:
            self._check_one_example_batch(x, batch_size)
        if validation_data is not None:
            self._check_fits(*validation_data, batch_size, "Trainer.fit validation_data")
        show = sys.stderr.isatty() if progress is None else progress
        history = History()
        start = 0
        if resume_from is not None:
            checkpoint = load_checkpoint(resume_from)
            checkpoint.restore(self.model, self.optimizer, data_rng=generator)
            history = History(
                {name: list(values) for name, values in checkpoint.history.items()},
                list(checkpoint.history_epochs),
            )
            start = checkpoint.epoch
        self.history = history
        self.data_rng = generator
        self.stop_training = False
        self._use_callbacks(callbacks)
        try:
            for callback in callbacks:
                callback.on_train_begin(self)
            for epoch in range(start, total_epochs):
                for callback in callbacks:
                    callback.on_epoch_begin(self, epoch)
                logs = self._train_epoch(
                    x, y, epoch, total_epochs, batch_size, shuffle, generator, callbacks, show
                )
                if validation_data is not None:
                    results = self.evaluate(*validation_data, batch_size=max(256, batch_size))
                    logs.update({f"val_{name}": value for name, value in results.items()})
                for callback in callbacks:
                    callback.on_epoch_end(self, epoch, logs)
                history.record(epoch, logs)
                if self.stop_training:
                    break
            for callback in callbacks:
                callback.on_train_end(self)
        finally:
            self._use_callbacks(())
        return history

    def train_on_batch(self, x: np.ndarray, y: np.ndarray) -> float:
        """Take one optimizer step on one batch and return its loss.

        :meth:`train_step` without the data checks, metrics or callbacks of :meth:`fit`
        (gradient clipping still applies). No gradient is computed for the data. The model
        runs in the mode it is in. As in PyTorch, only the optimizer's parameters are
        zeroed.

        Raises
        ------
        TrainingDivergedError
            When the loss is not finite (unless ``stop_on_nan=False``); the weights are
            left as they were before this batch.
        """
        callbacks = self.callbacks
        if callbacks:  # called from a callback during fit
            self._use_callbacks(())
        try:
            return self.train_step(x, y)[0]
        finally:
            if callbacks:
                self._use_callbacks(callbacks)

    def train_step(self, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """Train on one batch: the step :meth:`fit` and :meth:`train_on_batch` take.

        In this order: ``optimizer.zero_grad()``; forward; loss; a check that the loss
        is finite; backward (no gradient for the data; see :mod:`nnframe.fused`);
        :meth:`after_backward` (every callback's ``on_after_backward``, then gradient
        clipping when ``grad_clip_norm`` is set); ``optimizer.step()``.

        Override it in a subclass for a custom step; :meth:`fit` calls it once per batch,
        in training mode. Call
        :meth:`after_backward` between backward and ``optimizer.step()`` to keep the
        callbacks' hook and the clipping.

        Parameters
        ----------
        x : ndarray of shape (batch, features)
        y : ndarray of shape (batch,) or (batch, outputs)

        Returns
        -------
        loss : float
            The batch's loss, before the update.
        pred : ndarray
            The model's outputs for ``x``, before the update (the metrics of :meth:`fit`
            are computed on them).

        Raises
        ------
        TrainingDivergedError
            When the loss is not finite (unless ``stop_on_nan=False``), before backward:
            the gradients and weights are left as they were.

        Examples
        --------
        >>> import numpy as np, nnframe as nf
        >>> class Counting(nf.Trainer):
        ...     steps = 0
        ...     def train_step(self, x, y):
        ...         self.steps += 1
        ...         return super().train_step(x, y)
        >>> model = nf.Linear(2, 1, rng=0)
        >>> trainer = Counting(model, nf.MSELoss(), nf.SGD(model.parameters(), lr=0.1))
        >>> _ = trainer.fit(np.ones((8, 2)), np.zeros((8, 1)), batch_size=4, progress=False)
        >>> trainer.steps
        2
        """
        self.optimizer.zero_grad()
        model = self.model
        pred = model.forward(x)
        value = self.loss.forward(pred, y)
        if self.stop_on_nan and not math.isfinite(value):
            model.clear_cache()
            self.loss.clear_cache()
            raise TrainingDivergedError(f"the training loss became {value}")
        # No gradient for the data (nobody reads it), and the fused gradient when the
        # model ends in the activation the loss can fuse with (nnframe.fused).
        model.backward(self.loss.backward())
        self.after_backward()
        self.optimizer.step()
        return value, pred

    def after_backward(self) -> None:
        """Run between backward and ``optimizer.step()``: the hooks, then the clipping.

        First every callback's ``on_after_backward(trainer)`` (during :meth:`fit`), in the
        order of the callbacks, then :func:`~nnframe.optim.clip_grad_norm` on the
        optimizer's parameters when ``grad_clip_norm`` is set. The hooks come first, so
        that what they do to the gradients (averaging them across processes, rescaling
        them) happens before the clipping, which then bounds the gradients the update
        uses.
        """
        for hook in self._after_backward_hooks:
            hook(self)
        if self.grad_clip_norm is not None:
            clip_grad_norm(self.optimizer.params, self.grad_clip_norm)

    def _use_callbacks(self, callbacks: Sequence[Callback]) -> None:
        self.callbacks = tuple(callbacks)
        self._after_backward_hooks = after_backward_hooks(callbacks)

    def _train_epoch(
        self,
        x: np.ndarray,
        y: np.ndarray,
        epoch: int,
        total_epochs: int,
        batch_size: int,
        shuffle: bool,
        generator: np.random.Generator,
        callbacks: Sequence[Callback],
        show: bool,
    ) -> dict[str, float]:
        self.model.train()
        sums = dict.fromkeys(["loss", *self.metrics], 0.0)
        seen = 0
        n_batches = math.ceil(len(x) / batch_size)
        with _progress_bar(n_batches, f"Epoch {epoch + 1}/{total_epochs}", show) as bar:
            for index, (xb, yb) in enumerate(
                batches(x, y, batch_size, shuffle=shuffle, rng=generator)
            ):
                try:
                    value, pred = self.train_step(xb, yb)
                except TrainingDivergedError as error:
                    raise TrainingDivergedError(
                        f"{error} at epoch {epoch + 1}, batch {index + 1} of {n_batches}; "
                        "the weights are those after the previous batch (lower the "
                        "learning rate, or pass stop_on_nan=False)"
                    ) from None
                count = len(xb)
                seen += count
                batch_logs = {"loss": float(value)}
                for name, metric in self.metrics.items():
                    batch_logs[name] = float(metric(pred, yb))
                for name, batch_value in batch_logs.items():
                    sums[name] += batch_value * count
                for callback in callbacks:
                    callback.on_batch_end(self, index, batch_logs)
                if show:
                    bar.update(1)
                    bar.set_postfix({name: f"{total / seen:.4f}" for name, total in sums.items()})
        return {name: total / seen for name, total in sums.items()}

    def _check_fits(self, x: np.ndarray, y: np.ndarray, batch_size: int, where: str) -> None:
        """Run the model on ``x[:1]`` and the loss on every target, changing nothing.

        A model that does not take ``x``, or targets the loss rejects (a wrong shape, a
        class label out of range), then fail before the first step instead of in the
        middle of an epoch. The model runs in evaluation mode under ``no_grad`` and is
        put back in its modes; the loss sees copies of that one prediction.
        """
        modes = [(sub, sub.training) for _, sub in self.model.named_layers()]
        self.model.eval()
        try:
            with no_grad():
                pred = self.model.forward(x[:1])
                rows = max(batch_size, _CHECK_ROWS)
                for start in range(0, len(y), rows):
                    target = y[start : start + rows]
                    self.loss.forward(np.repeat(pred, len(target), axis=0), target)
        except Exception as error:
            error.add_note(
                f"{where}: found when checking the model on x[:1] and the loss on every "
                "target, before training; nothing was changed"
            )
            raise
        finally:
            for sub, mode in modes:
                sub.training = mode

    def _check_one_example_batch(self, x: np.ndarray, batch_size: int) -> None:
        """Check, on a copy in training mode, that the model can train on one example.

        BatchNorm1d cannot; without this check the error would come at the last batch of
        the first epoch, after the others had changed the weights.
        """
        probe = copy.deepcopy(self.model).train()
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

    # -- inference --------------------------------------------------------------------

    def predict(self, x: np.ndarray, *, batch_size: int = 256) -> np.ndarray:
        """Return the model's outputs for ``x``, computed in batches under ``no_grad``.

        The model runs in evaluation mode and is put back in the mode it had.
        """
        data = as_data(x, "x", "Trainer.predict")
        size = positive_int(batch_size, "Trainer.predict: batch_size")
        modes = [(sub, sub.training) for _, sub in self.model.named_layers()]
        self.model.eval()
        try:
            with no_grad():
                out: np.ndarray | None = None
                for start in range(0, len(data), size):
                    pred = self.model.forward(data[start : start + size])
                    if out is None:
                        out = np.empty((len(data), *pred.shape[1:]), dtype=pred.dtype)
                    out[start : start + len(pred)] = pred
        finally:
            for sub, mode in modes:
                sub.training = mode
        assert out is not None  # _as_data rejected an empty x
        return out

    def evaluate(self, x: np.ndarray, y: np.ndarray, *, batch_size: int = 256) -> dict[str, float]:
        """Return the loss and every metric on ``(x, y)``, computed under ``no_grad``.

        Returns
        -------
        dict of str to float
            ``{"loss": ..., "<metric>": ...}``; the loss is the mean over batches weighted
            by their sizes.
        """
        x, y = check_pair(x, y, "Trainer.evaluate")
        size = positive_int(batch_size, "Trainer.evaluate: batch_size")
        pred = self.predict(x, batch_size=batch_size)
        total = 0.0
        with no_grad():
            for start in range(0, len(x), size):
                stop = start + size
                total += self.loss.forward(pred[start:stop], y[start:stop]) * len(
                    pred[start:stop]
                )
        results = {"loss": total / len(x)}
        for name, metric in self.metrics.items():
            results[name] = float(metric(pred, y))
        return results
