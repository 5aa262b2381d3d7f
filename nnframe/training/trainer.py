"""The Trainer: fits a model batch by batch through an overridable step, evaluates, predicts."""

from __future__ import annotations

import logging
import math
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from nnframe import metrics as metrics_module
from nnframe.checks import (
    boolean,
    file_path,
    interval,
    non_negative_int,
    positive_int,
)
from nnframe.errors import ArgumentTypeError, TrainingDivergedError
from nnframe.grad_mode import no_grad
from nnframe.layers import Layer
from nnframe.optim import clip_grad_norm
from nnframe.optim.clip import clip_grad_value
from nnframe.rng import RNGLike, as_generator
from nnframe.serialization import load_checkpoint
from nnframe.training import preflight
from nnframe.training.callback_base import (
    Callback,
    after_backward_hooks,
    check_callbacks,
    restore_training_state,
)
from nnframe.training.data import as_data, batches, check_pair, example_weights, fit_data
from nnframe.training.divergence import IGNORE_OVERFLOW, diverged, first_non_finite_layer
from nnframe.training.history import History

__all__ = ["Trainer"]

logger = logging.getLogger("nnframe.training")

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
    grad_clip_value : float or None, default None
        Before every update (and before ``grad_clip_norm``), clip every gradient element
        into ``[-grad_clip_value, grad_clip_value]`` (``clip_grad_value``, PyTorch's
        ``clip_grad_value_``). A positive number; None does not clip.
    divergence_threshold : float or None, default 1e6
        Raise :class:`~nnframe.errors.TrainingDivergedError`, before the batch changes the
        weights, when a batch's loss exceeds this multiple of the first positive batch
        loss of the :meth:`fit` (of the Trainer's life, for :meth:`train_on_batch` outside
        ``fit``): a loss that grows a millionfold has diverged even while it is finite
        (``--lr 1e9`` reached 1e20). A number ``> 1``; None turns this check off
        (``stop_on_nan`` governs NaN and inf).

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
    first_loss : float or None
        The first positive batch loss, the reference of ``divergence_threshold``
        (checkpoints save it, so that a resumed run keeps it).

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
        grad_clip_value: float | None = None,
        divergence_threshold: float | None = 1e6,
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
        preflight.check_optimizer_owns(model, optimizer)
        clips = preflight.check_clips(
            optimizer, {"grad_clip_norm": grad_clip_norm, "grad_clip_value": grad_clip_value}
        )
        threshold = None
        if divergence_threshold is not None:
            threshold = interval(1.0, low_open=True)(
                divergence_threshold, "Trainer: divergence_threshold"
            )
        from_logits = getattr(type(loss), "input_kind", None) == "logit"
        resolved = preflight.resolve_metrics(metrics, from_logits, "Trainer")
        self.model = model
        self.loss = loss
        self.optimizer = optimizer
        self.stop_on_nan = boolean(stop_on_nan, "Trainer: stop_on_nan")
        self.grad_clip_norm = clips.get("grad_clip_norm")
        self.grad_clip_value = clips.get("grad_clip_value")
        self.divergence_threshold = threshold
        self.first_loss: float | None = None
        self.from_logits = from_logits
        self.metrics = resolved
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
        validation_data: tuple[np.ndarray, ...] | None = None,
        validation_split: float = 0.0,
        callbacks: Sequence[Callback] = (),
        progress: bool | None = None,
        rng: RNGLike = None,
        resume_from: str | os.PathLike[str] | None = None,
        class_weight: Mapping[int, float] | str | None = None,
        sample_weight: np.ndarray | None = None,
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
        validation_data : (x_val, y_val) or (x_val, y_val, w_val), optional
            Evaluated after every epoch; results are logged as ``val_<name>``. ``w_val``
            weighs the validation loss as ``sample_weight`` weighs the training loss
            (Keras's form); ``class_weight`` does not apply to it.
        validation_split : float, default 0.0
            Without ``validation_data``, hold out this fraction of the examples (the last
            ones, before shuffling, as Keras does), with their ``sample_weight``.
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
        class_weight : dict or "balanced", optional
            A weight per class, applied as per-example weights (so it works with every
            loss): ``{label: weight}`` (a class left out weighs 1; a key that is not a
            class of ``y`` is an error) or ``"balanced"``, scikit-learn's
            ``n_samples / (n_classes * np.bincount(y))``. ``y`` must hold class labels
            (shape ``(n,)`` or ``(n, 1)``, 0/1 for a binary output) or one-hot rows.
        sample_weight : ndarray of shape (n,), optional
            A weight per example, finite and ``>= 0``, shuffled and batched with the data;
            times the class weight when both are given. Each batch's loss is the weighted
            mean ``sum(w * l) / sum(w)`` (see :class:`~nnframe.Loss`); the metrics are
            not weighted.

        Returns
        -------
        History
            One record per epoch; a resumed run's records start with the checkpoint's.

        Raises
        ------
        TrainingDivergedError
            When a batch's loss is NaN or infinite (unless ``stop_on_nan=False``) or
            exceeds ``divergence_threshold`` times the first batch loss, before that batch
            changes the weights.
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
        x, y, weights, validation = fit_data(
            x,
            y,
            sample_weight=sample_weight,
            class_weight=class_weight,
            validation_data=validation_data,
            validation_split=validation_split,
            where="Trainer.fit",
        )
        if weights is not None or (validation is not None and validation[2] is not None):
            preflight.check_loss_takes_weights(self.loss, "Trainer.fit")
        total_epochs = non_negative_int(epochs, "Trainer.fit: epochs")
        positive_int(batch_size, "Trainer.fit: batch_size")
        shuffle = boolean(shuffle, "Trainer.fit: shuffle")
        if progress is not None:
            progress = boolean(progress, "Trainer.fit: progress")
        check_callbacks(callbacks)
        preflight.check_warmups(callbacks, total_epochs, "Trainer.fit")
        preflight.check_callback_settings(self, callbacks, validation is not None, "Trainer.fit")
        if resume_from is not None:
            file_path(resume_from, "Trainer.fit: resume_from")
        generator = as_generator(rng, name="Trainer.fit: rng")
        # Last among the checks: the model and the loss see the data, changing nothing.
        preflight.check_fits(
            self.model, self.loss, x, y, batch_size, "Trainer.fit", metrics=self.metrics
        )
        if len(x) % batch_size == 1 or batch_size == 1:
            preflight.check_one_example_batch(self.model, x, batch_size)
        if validation is not None:
            where = "Trainer.fit validation_data"
            preflight.check_fits(self.model, self.loss, *validation[:2], batch_size, where)
        show = sys.stderr.isatty() if progress is None else progress
        history = History()
        start, saved = 0, {}
        if resume_from is not None:
            checkpoint = load_checkpoint(resume_from)
            saved = checkpoint.callback_states
            where = f"Trainer.fit: resume_from {str(checkpoint.path)!r}"
            restore_training_state(self, callbacks, saved, where, dry_run=True)
            checkpoint.restore(self.model, self.optimizer, data_rng=generator)
            history = History(
                {name: list(values) for name, values in checkpoint.history.items()},
                list(checkpoint.history_epochs),
            )
            start = checkpoint.epoch
        self.history = history
        self.data_rng = generator
        self.stop_training = False
        self.first_loss = None
        self._use_callbacks(callbacks)
        try:
            for callback in callbacks:
                callback.on_train_begin(self)
            if resume_from is not None:
                restore_training_state(self, callbacks, saved, where)
                preflight.log_nothing_to_train(logger, where, start, total_epochs, self)
            for epoch in range(start, total_epochs if not self.stop_training else start):
                for callback in callbacks:
                    callback.on_epoch_begin(self, epoch)
                logs = self._train_epoch(
                    x, y, weights, epoch, total_epochs, batch_size, shuffle, generator,
                    callbacks, show,
                )
                if validation is not None:
                    x_val, y_val, w_val = validation
                    results = self.evaluate(
                        x_val, y_val, batch_size=max(256, batch_size), sample_weight=w_val
                    )
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

    def train_on_batch(
        self, x: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> float:
        """Take one optimizer step on one batch and return its loss.

        :meth:`train_step` without the data checks, metrics or callbacks of :meth:`fit`
        (gradient clipping still applies). No gradient is computed for the data. The model
        runs in the mode it is in. As in PyTorch, only the optimizer's parameters are
        zeroed.

        Raises
        ------
        TrainingDivergedError
            When the loss is not finite (unless ``stop_on_nan=False``) or exceeds
            ``divergence_threshold`` times the first loss; the weights are left as they
            were before this batch.
        """
        callbacks = self.callbacks
        if callbacks:  # called from a callback during fit
            self._use_callbacks(())
        try:
            if sample_weight is None:
                return self.train_step(x, y)[0]
            return self.train_step(x, y, sample_weight=sample_weight)[0]
        finally:
            if callbacks:
                self._use_callbacks(callbacks)

    def train_step(
        self, x: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> tuple[float, np.ndarray]:
        """Train on one batch: the step :meth:`fit` and :meth:`train_on_batch` take.

        In this order: ``optimizer.zero_grad()``; forward; loss; a check that the loss
        has not diverged (not finite, or over ``divergence_threshold`` times the first);
        backward (no gradient for the data; see :mod:`nnframe.fused`);
        :meth:`after_backward` (every callback's ``on_after_backward``, then gradient
        clipping); ``optimizer.step()``. :meth:`fit` passes ``sample_weight`` only when
        it trains with weights, so an override ``train_step(self, x, y)`` keeps working
        for unweighted training.

        Override it in a subclass for a custom step; :meth:`fit` calls it once per batch,
        in training mode. Call
        :meth:`after_backward` between backward and ``optimizer.step()`` to keep the
        callbacks' hook and the clipping.

        Parameters
        ----------
        x : ndarray of shape (batch, features)
        y : ndarray of shape (batch,) or (batch, outputs)
        sample_weight : ndarray of shape (batch,), optional
            Per-example weights, handed to ``loss(pred, y, sample_weight=...)``.

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
            When the loss is not finite (unless ``stop_on_nan=False``) or exceeds
            ``divergence_threshold`` times the first loss, before backward: the
            gradients and weights are left as they were.

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
        # An overflow is expected to end in a non-finite loss, detected below: numpy's
        # warnings are silenced so that none escapes (or, as an error, leaves a cache).
        with np.errstate(**(IGNORE_OVERFLOW if self.stop_on_nan else {})):
            pred = model.forward(x)
            if sample_weight is None:
                value = self.loss.forward(pred, y)
            else:
                value = self.loss.forward(pred, y, sample_weight=sample_weight)
            self._check_divergence(value, x)
            # No gradient for the data (nobody reads it), and the fused gradient when the
            # model ends in the activation the loss can fuse with (nnframe.fused).
            model.backward(self.loss.backward())
        self.after_backward()
        self.optimizer.step()
        return value, pred

    def _check_divergence(self, value: float, x: np.ndarray) -> None:
        """Raise TrainingDivergedError (dropping the caches) when ``value`` has diverged."""
        reason = diverged(value, self.first_loss, self.divergence_threshold, self.stop_on_nan)
        if reason is None:
            if self.first_loss is None and value > 0:
                self.first_loss = value
            return
        self.model.clear_cache()
        self.loss.clear_cache()
        if not math.isfinite(value):
            layer = first_non_finite_layer(self.model, x)
            reason += f"; the first layer whose output is not finite: {layer}" if layer else (
                "; every layer's output is finite (the loss overflowed)"
            )
        raise TrainingDivergedError(reason)

    def after_backward(self) -> None:
        """Run between backward and ``optimizer.step()``: the hooks, then the clipping.

        First every callback's ``on_after_backward(trainer)`` (during :meth:`fit`), in the
        order of the callbacks, then :func:`~nnframe.optim.clip.clip_grad_value` when
        ``grad_clip_value`` is set and :func:`~nnframe.optim.clip_grad_norm` when
        ``grad_clip_norm`` is set, on the optimizer's parameters. The hooks come first, so
        that what they do to the gradients (averaging them across processes, rescaling
        them) happens before the clipping, which then bounds the gradients the update
        uses.
        """
        for hook in self._after_backward_hooks:
            hook(self)
        if self.grad_clip_value is not None:
            clip_grad_value(self.optimizer.params, self.grad_clip_value)
        if self.grad_clip_norm is not None:
            clip_grad_norm(self.optimizer.params, self.grad_clip_norm)

    def _use_callbacks(self, callbacks: Sequence[Callback]) -> None:
        self.callbacks = tuple(callbacks)
        self._after_backward_hooks = after_backward_hooks(callbacks)

    def _train_epoch(
        self,
        x: np.ndarray,
        y: np.ndarray,
        weights: np.ndarray | None,
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
        # The epoch's metrics are computed once on every prediction of the epoch: the
        # mean of batch values would be wrong for F1, R^2 or ROC AUC.
        preds: list[np.ndarray] = []
        targets: list[np.ndarray] = []
        n_batches = math.ceil(len(x) / batch_size)
        if weights is None:
            stream: Any = batches(x, y, batch_size, shuffle=shuffle, rng=generator)
        else:
            stream = batches(
                x, y, batch_size, shuffle=shuffle, rng=generator, sample_weight=weights
            )
        with preflight.progress_bar(n_batches, f"Epoch {epoch + 1}/{total_epochs}", show) as bar:
            for index, (xb, yb, *wb) in enumerate(stream):
                try:
                    if wb:
                        value, pred = self.train_step(xb, yb, sample_weight=wb[0])
                    else:
                        value, pred = self.train_step(xb, yb)
                except TrainingDivergedError as error:
                    raise TrainingDivergedError(
                        f"{error} at epoch {epoch + 1}, batch {index + 1} of {n_batches}; "
                        "the weights are those after the previous batch (lower the "
                        "learning rate; see Trainer's stop_on_nan and divergence_threshold)"
                    ) from None
                count = len(xb)
                seen += count
                if self.metrics:
                    preds.append(pred)
                    targets.append(yb)
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
        logs = {"loss": sums["loss"] / seen}
        if self.metrics:
            pred_all, y_all = np.concatenate(preds), np.concatenate(targets)
            for name, metric in self.metrics.items():
                logs[name] = float(metric(pred_all, y_all))
        return logs

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

    def evaluate(
        self,
        x: np.ndarray,
        y: np.ndarray,
        *,
        batch_size: int = 256,
        sample_weight: np.ndarray | None = None,
    ) -> dict[str, float]:
        """Return the loss and every metric on ``(x, y)``, computed under ``no_grad``.

        Parameters
        ----------
        sample_weight : ndarray of shape (n,), optional
            Per-example weights of the loss (finite, ``>= 0``, not all 0); the metrics
            are not weighted.

        Returns
        -------
        dict of str to float
            ``{"loss": ..., "<metric>": ...}``; the loss is the mean of the batches'
            losses weighted by their sizes (by their total sample weight, with
            ``sample_weight``): the weighted mean over all examples, except for
            ``CrossEntropyLoss(weight=...)``, whose batches divide by their own sums of
            class weights.
        """
        x, y = check_pair(x, y, "Trainer.evaluate")
        size = positive_int(batch_size, "Trainer.evaluate: batch_size")
        w = None
        if sample_weight is not None:
            w = example_weights(sample_weight, len(x), "Trainer.evaluate")
            preflight.check_loss_takes_weights(self.loss, "Trainer.evaluate")
        pred = self.predict(x, batch_size=batch_size)
        total = 0.0
        with no_grad():
            for start in range(0, len(x), size):
                part = slice(start, start + size)
                if w is None:
                    total += self.loss.forward(pred[part], y[part]) * len(pred[part])
                else:
                    value = self.loss.forward(pred[part], y[part], sample_weight=w[part])
                    total += value * float(w[part].sum())
        results = {"loss": total / (len(x) if w is None else float(w.sum()))}
        for name, metric in self.metrics.items():
            results[name] = float(metric(pred, y))
        return results
