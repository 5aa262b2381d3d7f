"""Training checkpoints: save_checkpoint, load_checkpoint and Checkpoint.restore.

A checkpoint is one file of the nnframe format (kind ``"checkpoint"``): the model's and
the optimizer's arrays as tensors, and the epoch, history, optimizer scalars and random
generator states as JSON. :meth:`Checkpoint.restore` puts all of it back, all or nothing.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from nnframe.checks import non_negative_int
from nnframe.errors import (
    ArgumentError,
    ArgumentTypeError,
    SerializationError,
    StateDictError,
)
from nnframe.layers.base import Layer
from nnframe.layers.registry import layer_to_spec
from nnframe.serialization.architecture import describe_model, frozen_names, member_at
from nnframe.serialization.checkpoint_checks import (
    generator_problem,
    history_problem,
    index_problem,
    is_int,
    json_state,
)
from nnframe.serialization.format import (
    KEY_ALIASES,
    KEY_ARCHITECTURE,
    KEY_CHECKPOINT,
    KEY_FROZEN,
    as_path,
    check_model,
    dumps,
    file_kind,
    make_header,
    model_tensors,
    read_file,
    read_json,
    short_json,
    write_file,
)

__all__ = ["Checkpoint", "load_checkpoint", "save_checkpoint"]

# The metadata entry holding the training loop's and callbacks' states (JSON).
KEY_CALLBACKS = "nnframe.callbacks"


def save_checkpoint(
    path: str | os.PathLike[str],
    model: Layer,
    optimizer: Any = None,
    *,
    epoch: int,
    history: Any = None,
    data_rng: np.random.Generator | None = None,
    metadata: Mapping[str, str] | None = None,
    callback_states: Mapping[str, Mapping[str, Any]] | None = None,
) -> None:
    """Save everything needed to continue training exactly, to one file, atomically.

    Tensors: the model's weights and buffers (``"model.<name>"``) and the optimizer's
    state arrays (``"optimizer.state.<i>.<name>"``). The ``nnframe.checkpoint`` metadata
    entry is JSON with:

    - ``epoch``: the number of completed epochs;
    - ``history``: ``{"history": {name: [values]}, "epoch": [numbers]}``, the records so far;
    - ``optimizer``: ``{"class": name, "values": {...}}``, the optimizer's scalars from
      ``state_dict()`` (hyperparameters, ``step_count``), or null;
    - ``data_rng``: the ``bit_generator.state`` of the Generator that orders the data, or
      null;
    - ``layer_rngs``: the ``bit_generator.state`` of every Generator held by a layer, by
      its :meth:`~nnframe.Layer.named_generators` name (``"1.generator"``).

    The architecture (and the aliases of shared parameters, as :func:`~nnframe.save`
    writes them) is written too when the model can be rebuilt from it, so that
    :func:`~nnframe.load` can also read the model out of a checkpoint.

    The file is written with :func:`~nnframe.serialization.write_atomic`: saves from
    several threads or processes to one path are safe, and a ``path`` that is a symbolic
    link has the file it points to replaced (the link is kept).

    Parameters
    ----------
    path : str or path-like
    model : Layer
    optimizer : Optimizer, optional
        Anything with ``state_dict()`` returning scalars and arrays.
    epoch : int
        The number of completed epochs.
    history : History, optional
        Anything with ``history`` (dict of lists) and ``epoch`` (list) attributes. Its
        epoch numbers must increase and be below ``epoch``; no list may be longer than
        the epoch list (a quantity first logged after a resume may be shorter).
    data_rng : numpy.random.Generator, optional
    metadata : mapping of str to str, optional
    callback_states : mapping of str to mapping, optional
        The state of the training loop and its callbacks, by name (what
        ``nnframe.training`` saves: ``{"trainer": {...}, "0.EarlyStopping": {...}}``),
        each a flat mapping of str to bool, int, float, str, None or ndarray. Written
        as the JSON entry ``nnframe.callbacks`` (the arrays as tensors
        ``"callbacks.<name>.<key>"``) and read back as :attr:`Checkpoint.callback_states`.

    Raises
    ------
    ArgumentError, ArgumentTypeError
        For an ``epoch`` or ``history`` that cannot be saved; nothing is written.
    SerializationError
        When a value cannot be written or the file cannot be written.
    """
    file = as_path(path, "save_checkpoint")
    check_model(model, "save_checkpoint")
    completed = non_negative_int(epoch, "save_checkpoint: epoch")
    history_record = _history_record(history)
    problem = history_problem(history_record["history"], history_record["epoch"], completed)
    if problem is not None:
        raise ArgumentError(f"save_checkpoint: history: {problem}")
    tensors = {f"model.{name}": value for name, value in model.state_dict().items()}
    record: dict[str, Any] = {
        "epoch": completed,
        "history": history_record,
        "optimizer": None,
        "data_rng": None if data_rng is None else _rng_state(data_rng, "data_rng"),
        "layer_rngs": {
            name: _rng_state(generator, name)
            for name, generator in model.named_generators()
        },
    }
    if optimizer is not None:
        values: dict[str, Any] = {}
        for key, value in optimizer.state_dict().items():
            if isinstance(value, np.ndarray):
                tensors[f"optimizer.{key}"] = value
            else:
                values[key] = _scalar(value, f"optimizer state {key!r}")
        record["optimizer"] = {"class": type(optimizer).__name__, "values": values}
    header = make_header("checkpoint", metadata, "save_checkpoint")
    try:
        architecture, aliases = describe_model(model, "save_checkpoint")
    except SerializationError:
        pass  # a model the registry cannot describe: weights and training state only
    else:
        header[KEY_ARCHITECTURE] = dumps(architecture)
        if aliases:
            header[KEY_ALIASES] = dumps(aliases)
        frozen = frozen_names(model)
        if frozen:
            header[KEY_FROZEN] = dumps(frozen)
    header[KEY_CHECKPOINT] = dumps(record)
    if callback_states:
        if metadata is not None and KEY_CALLBACKS in metadata:
            raise ArgumentError(
                f"save_checkpoint: the metadata key {KEY_CALLBACKS!r} is nnframe's own"
            )
        header[KEY_CALLBACKS] = dumps(_callbacks_record(callback_states, tensors))
    write_file(file, tensors, header)


@attrs.frozen(eq=False)
class Checkpoint:
    """A training checkpoint read by :func:`load_checkpoint`; :meth:`restore` applies it.

    Parameters
    ----------
    path : pathlib.Path
    epoch : int
        The number of completed epochs.
    history : dict of str to list of float
    history_epochs : list of int
    model_state : dict of str to ndarray
    optimizer_class : str or None
    optimizer_state : dict or None
        As ``Optimizer.state_dict()`` returns it, arrays included.
    data_rng_state : dict or None
    layer_rng_states : dict of str to dict
    architecture : dict or None
    metadata : dict of str to str
    callback_states : dict of str to dict
        The training loop's and callbacks' states, as ``save_checkpoint`` was given them
        (arrays included); empty for a checkpoint written without them.

    Examples
    --------
    >>> import os, tempfile, nnframe as nf
    >>> model = nf.Sequential(nf.Linear(2, 1, rng=0))
    >>> path = os.path.join(tempfile.mkdtemp(), "run.safetensors")
    >>> nf.serialization.save_checkpoint(path, model, nf.SGD(model.parameters(), lr=0.1), epoch=3)
    >>> nf.serialization.load_checkpoint(path).epoch
    3
    """

    path: Path
    epoch: int
    history: dict[str, list[float]]
    history_epochs: list[int]
    model_state: dict[str, np.ndarray] = attrs.field(repr=False)
    optimizer_class: str | None
    optimizer_state: dict[str, Any] | None = attrs.field(repr=False)
    data_rng_state: dict[str, Any] | None = attrs.field(repr=False)
    layer_rng_states: dict[str, dict[str, Any]] = attrs.field(repr=False)
    architecture: dict[str, Any] | None = attrs.field(repr=False)
    metadata: dict[str, str] = attrs.field(repr=False)
    callback_states: dict[str, dict[str, Any]] = attrs.field(factory=dict, repr=False)

    def restore(
        self,
        model: Layer,
        optimizer: Any = None,
        *,
        data_rng: np.random.Generator | None = None,
    ) -> None:
        """Load the weights, optimizer state and generator states, all or nothing.

        Parameters
        ----------
        model : Layer
            Must have the checkpoint's architecture (when it was written), weight names,
            shapes and dtypes, and Generators at the same paths.
        optimizer : Optimizer, optional
            Of the checkpoint's optimizer class, over the same parameters.
        data_rng : numpy.random.Generator, optional
            Set to the saved data-order state (when the checkpoint has one).

        Raises
        ------
        SerializationError
            When a generator state is malformed (not a state numpy's bit generator of
            that name accepts exactly) or a name has an index not written in ASCII
            digits; nothing has been changed.
        StateDictError
            When anything does not match; nothing has been changed.
        """
        where = str(self.path)
        problem = _malformed(self)
        if problem is not None:
            raise SerializationError(f"{where}: invalid checkpoint: {problem}")
        if self.architecture is not None:
            try:
                own = layer_to_spec(model)
            except SerializationError:
                own = None
            if own is not None and own != self.architecture:
                raise StateDictError(
                    f"{where}: the checkpoint was written for another architecture; "
                    f"checkpoint {short_json(self.architecture)}, model {short_json(own)}"
                )
        generators = dict(model.named_generators())
        layers = dict(model.named_layers())
        saved = self.layer_rng_states
        # Checkpoints of earlier nnframe versions list a Generator held by two layers under
        # both names; the second name is found on its layer.
        owned = {
            name: generators[name] if name in generators else member_at(layers, name)
            for name in saved
        }
        owned = {
            name: generator
            for name, generator in owned.items()
            if any(generator is mine for mine in generators.values())
        }
        problems = [f"missing generator: {n!r}" for n in saved if n not in owned]
        problems += [f"unexpected generator: {n!r}" for n in generators if n not in saved]
        if optimizer is not None:
            if self.optimizer_state is None:
                problems.append("the checkpoint holds no optimizer state")
            elif self.optimizer_class != type(optimizer).__name__:
                problems.append(
                    f"the optimizer is a {type(optimizer).__name__}; the checkpoint holds "
                    f"the state of a {self.optimizer_class}"
                )
        if problems:
            raise StateDictError(
                f"{where}: the checkpoint does not match; nothing was loaded:\n  "
                + "\n  ".join(problems)
            )
        # Apply in steps and roll back on any failure, so that nothing is half-restored.
        saved_model = model.state_dict()
        saved_optimizer = None if optimizer is None else optimizer.state_dict()
        targets = [(owned[name], state) for name, state in saved.items()]
        if data_rng is not None and self.data_rng_state is not None:
            targets.append((data_rng, self.data_rng_state))
        saved_rngs = [(g, copy.deepcopy(g.bit_generator.state)) for g, _ in targets]
        try:
            model.load_state_dict(self.model_state)
            if optimizer is not None:
                assert self.optimizer_state is not None
                optimizer.load_state_dict(self.optimizer_state)
            for generator, state in targets:
                try:
                    generator.bit_generator.state = copy.deepcopy(state)
                except (TypeError, ValueError, KeyError) as error:
                    raise StateDictError(
                        f"a generator state cannot be restored: {error}"
                    ) from error
        except BaseException as error:
            model.load_state_dict(saved_model)
            if optimizer is not None:
                optimizer.load_state_dict(saved_optimizer)
            for generator, old_state in saved_rngs:
                generator.bit_generator.state = old_state
            if isinstance(error, StateDictError):
                raise StateDictError(f"{where}: {error}") from None
            raise


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint` (or ``ModelCheckpoint``).

    Raises
    ------
    SerializationError
        For anything but a valid, complete nnframe checkpoint.
    """
    stored = read_file(as_path(path, "load_checkpoint"))
    file_kind(stored, ("checkpoint",), "load_checkpoint")
    record = read_json(stored, KEY_CHECKPOINT)
    bad = _bad(stored.path)
    if not isinstance(record, dict) or set(record) != {
        "epoch", "history", "optimizer", "data_rng", "layer_rngs"
    }:
        raise bad("the checkpoint record has the wrong keys")
    epoch = record["epoch"]
    if not is_int(epoch) or epoch < 0:
        raise bad(f"'epoch' must be a non-negative int; got {epoch!r}")
    history, history_epochs = _parse_history(record["history"], epoch, bad)

    optimizer_class: str | None = None
    optimizer_state: dict[str, Any] | None = None
    arrays = {
        name[len("optimizer.") :]: value
        for name, value in stored.tensors.items()
        if name.startswith("optimizer.")
    }
    optimizer = record["optimizer"]
    if optimizer is not None:
        if (
            not isinstance(optimizer, dict)
            or set(optimizer) != {"class", "values"}
            or not isinstance(optimizer["class"], str)
            or not isinstance(optimizer["values"], dict)
        ):
            raise bad("'optimizer' must be {'class': name, 'values': {...}}")
        values = optimizer["values"]
        for key, value in values.items():
            if not (isinstance(value, bool | float) or is_int(value)):
                raise bad(f"optimizer value {key!r} must be a number or bool; got {value!r}")
        overlap = values.keys() & arrays.keys()
        if overlap:
            raise bad(f"optimizer keys stored twice: {sorted(overlap)}")
        optimizer_class = optimizer["class"]
        optimizer_state = {**values, **arrays}
    elif arrays:
        raise bad("optimizer tensors without an optimizer record")

    data_rng = record["data_rng"]
    if data_rng is not None and not isinstance(data_rng, dict):
        raise bad("'data_rng' must be a generator state or null")
    layer_rngs = record["layer_rngs"]
    if not isinstance(layer_rngs, dict) or not all(
        isinstance(state, dict) for state in layer_rngs.values()
    ):
        raise bad("'layer_rngs' must map layer paths to generator states")
    architecture = (
        read_json(stored, KEY_ARCHITECTURE) if KEY_ARCHITECTURE in stored.metadata else None
    )
    if architecture is not None and not isinstance(architecture, dict):
        raise bad("the architecture must be a JSON object")
    checkpoint = Checkpoint(
        path=stored.path,
        epoch=epoch,
        history=history,
        history_epochs=history_epochs,
        model_state=model_tensors(stored, "checkpoint"),
        optimizer_class=optimizer_class,
        optimizer_state=optimizer_state,
        data_rng_state=data_rng,
        layer_rng_states=layer_rngs,
        architecture=architecture,
        metadata=dict(stored.metadata),
        callback_states=_parse_callbacks(stored, bad),
    )
    problem = _malformed(checkpoint)
    if problem is not None:
        raise bad(problem)
    return checkpoint


def _history_record(history: Any) -> dict[str, Any]:
    if history is None:
        return {"history": {}, "epoch": []}
    values = getattr(history, "history", None)
    epochs = getattr(history, "epoch", None)
    if not isinstance(values, Mapping) or not isinstance(epochs, list | tuple):
        raise ArgumentTypeError(
            "save_checkpoint: history must have 'history' (a dict of lists) and 'epoch' "
            f"(a list); got {type(history).__name__}"
        )
    return {
        "history": {
            str(name): [_scalar(v, f"history {name!r}") for v in series]
            for name, series in values.items()
        },
        "epoch": [_scalar(e, "history epoch") for e in epochs],
    }


def _parse_history(
    record: object, completed: int, bad: Any
) -> tuple[dict[str, list[float]], list[int]]:
    if not isinstance(record, dict) or set(record) != {"history", "epoch"}:
        raise bad("'history' must be {'history': {...}, 'epoch': [...]}")
    values, epochs = record["history"], record["epoch"]
    if not isinstance(values, dict) or not all(
        isinstance(series, list)
        and all(isinstance(v, float) or (is_int(v)) for v in series)
        for series in values.values()
    ):
        raise bad("'history' must map names to lists of numbers")
    if not isinstance(epochs, list) or not all(is_int(e) for e in epochs):
        raise bad("the history's 'epoch' must be a list of ints")
    problem = history_problem(values, epochs, completed)
    if problem is not None:
        raise bad(f"'history': {problem}")
    return {name: [float(v) for v in series] for name, series in values.items()}, list(epochs)


def _malformed(checkpoint: Checkpoint) -> str | None:
    """The first index or generator state of ``checkpoint`` that no model could take."""
    names = [f"model.{name}" for name in checkpoint.model_state]
    if checkpoint.optimizer_state is not None:
        names += [f"optimizer.{key}" for key in checkpoint.optimizer_state]
    names += [f"layer_rngs.{name}" for name in checkpoint.layer_rng_states]
    for name in names:
        problem = index_problem(name)
        if problem is not None:
            return f"{name!a}: {problem}"
    states = [(f"layer_rngs {name!r}", s) for name, s in checkpoint.layer_rng_states.items()]
    if checkpoint.data_rng_state is not None:
        states.insert(0, ("'data_rng'", checkpoint.data_rng_state))
    for where, state in states:
        problem = generator_problem(state)
        if problem is not None:
            return f"the generator state {where} {problem}"
    return None


def _rng_state(generator: object, where: str) -> dict[str, Any]:
    if not isinstance(generator, np.random.Generator):
        raise ArgumentTypeError(
            f"save_checkpoint: {where} must be a numpy.random.Generator; got "
            f"{type(generator).__name__}"
        )
    plain = json_state(generator.bit_generator.state)
    assert isinstance(plain, dict)
    return plain


def _scalar(value: object, where: str) -> bool | int | float:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value)
    raise SerializationError(
        f"{where} is a {type(value).__name__}; a checkpoint holds numbers, bools and arrays"
    )


def _bad(file: Path) -> Any:
    def make(message: str) -> SerializationError:
        return SerializationError(f"{file}: invalid checkpoint: {message}")

    return make


def _callbacks_record(states: Mapping[str, Mapping[str, Any]], tensors: dict[str, Any]) -> Any:
    """The ``nnframe.callbacks`` entry: ``{name: {"values": {...}, "arrays": [keys]}}``.

    The arrays go into ``tensors`` as ``"callbacks.<name>.<key>"``.
    """
    record: dict[str, Any] = {}
    for name, state in states.items():
        values: dict[str, Any] = {}
        arrays: list[str] = []
        for key, value in state.items():
            if isinstance(value, np.ndarray):
                tensors[f"callbacks.{name}.{key}"] = value
                arrays.append(str(key))
            elif value is None or isinstance(value, str):
                values[str(key)] = value
            else:
                values[str(key)] = _scalar(value, f"callback state {name}.{key}")
        record[str(name)] = {"values": values, "arrays": arrays}
    return record


def _parse_callbacks(stored: Any, bad: Any) -> dict[str, dict[str, Any]]:
    """Read the ``nnframe.callbacks`` entry back (empty when the file has none)."""
    tensors = {n: v for n, v in stored.tensors.items() if n.startswith("callbacks.")}
    if KEY_CALLBACKS not in stored.metadata:
        if tensors:
            raise bad("callback tensors without a callbacks record")
        return {}
    record = read_json(stored, KEY_CALLBACKS)
    if not isinstance(record, dict):
        raise bad(f"{KEY_CALLBACKS} must be a JSON object")
    states: dict[str, dict[str, Any]] = {}
    used: set[str] = set()
    for name, entry in record.items():
        if (
            not isinstance(entry, dict)
            or set(entry) != {"values", "arrays"}
            or not isinstance(entry["values"], dict)
            or not isinstance(entry["arrays"], list)
            or not all(isinstance(key, str) for key in entry["arrays"])
        ):
            raise bad(f"the state of {name!r} must be {{'values': {{...}}, 'arrays': [...]}}")
        state: dict[str, Any] = {}
        for key, value in entry["values"].items():
            if not (value is None or isinstance(value, str | bool | float) or is_int(value)):
                raise bad(f"the state value {name}.{key} must be a number, str, bool or null")
            state[key] = value
        for key in entry["arrays"]:
            tensor = f"callbacks.{name}.{key}"
            if tensor not in tensors or key in state:
                raise bad(f"the state array {name}.{key} is missing or stored twice")
            state[key] = tensors[tensor]
            used.add(tensor)
        states[name] = state
    if set(tensors) - used:
        extra = sorted(set(tensors) - used)
        raise bad(f"callback tensors not in the callbacks record: {extra[:5]}")
    return states
