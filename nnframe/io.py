"""Saving and loading models, weights and training checkpoints as safetensors files.

Every file nnframe writes is one `safetensors <https://github.com/huggingface/safetensors>`_
file: the arrays as tensors, everything else as JSON strings in the header's metadata.
Loading parses JSON and raw little-endian arrays only; it never imports a module, calls a
function named by the file, or unpickles. Writes are atomic: the bytes go to a hidden
temporary file in the same folder, which replaces the target only once it is complete
and on disk.

File format (version 1). Metadata keys:

``nnframe.format_version``
    ``"1"``.
``nnframe.kind``
    ``"model"`` (:func:`save`), ``"weights"`` (:func:`save_weights`) or ``"checkpoint"``
    (:func:`save_checkpoint`).
``nnframe.architecture``
    The model as JSON, ``{"class": "Sequential", "config": {"layers": [...]}}``: each
    layer's registered class name and its ``get_config()`` (models and checkpoints).
``nnframe.checkpoint``
    The training state as JSON (checkpoints only; see :func:`save_checkpoint`).
``nnframe.sha256``
    A SHA-256 digest of every tensor (name, dtype, shape, bytes) and of the other
    ``nnframe.*`` keys, so that a corrupted file is detected instead of loaded.
``nnframe.version``
    The nnframe version that wrote the file (information only).

Other keys belong to the user (``metadata=``); those starting with ``nnframe.`` (such as
``nnframe.preprocessing``, which ``nnframe train --out`` writes) are covered by the
checksum too. Tensors are named by
:meth:`~nnframe.Layer.state_dict` names (``"0.weight"``); in a checkpoint they are
prefixed with ``"model."``, and the optimizer's arrays are ``"optimizer.state.<i>.<name>"``.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import os
import stat
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import safetensors
import safetensors.numpy

from nnframe.atomic import write_atomic
from nnframe.checks import file_path, non_negative_int
from nnframe.errors import (
    ArgumentError,
    ArgumentTypeError,
    SerializationError,
    StateDictError,
    one_line,
)
from nnframe.layers.base import Layer
from nnframe.parameter import Buffer, Parameter
from nnframe.registry import layer_from_spec, layer_to_spec

__all__ = [
    "FORMAT_VERSION",
    "MAX_HEADER_BYTES",
    "Checkpoint",
    "layer_generators",
    "load",
    "load_checkpoint",
    "load_weights",
    "load_with_metadata",
    "read_metadata",
    "save",
    "save_checkpoint",
    "save_weights",
    "write_atomic",
]

FORMAT_VERSION = 1
"""The version of the file format this nnframe writes, and the newest it reads."""

MAX_HEADER_BYTES = 100_000_000
"""The largest safetensors header accepted (the reference implementation's limit)."""

KEY_VERSION = "nnframe.format_version"
KEY_KIND = "nnframe.kind"
KEY_ARCHITECTURE = "nnframe.architecture"
KEY_CHECKPOINT = "nnframe.checkpoint"
KEY_DIGEST = "nnframe.sha256"
KEY_NNFRAME_VERSION = "nnframe.version"
RESERVED_PREFIX = "nnframe."
RESERVED_KEYS = frozenset(
    {KEY_VERSION, KEY_KIND, KEY_ARCHITECTURE, KEY_CHECKPOINT, KEY_DIGEST, KEY_NNFRAME_VERSION}
)

KINDS = ("model", "weights", "checkpoint")

# The safetensors dtypes nnframe reads; others (bfloat16, float8) are refused.
_DTYPES: dict[str, type[np.generic]] = {
    "F64": np.float64,
    "F32": np.float32,
    "F16": np.float16,
    "I64": np.int64,
    "I32": np.int32,
    "I16": np.int16,
    "I8": np.int8,
    "U64": np.uint64,
    "U32": np.uint32,
    "U16": np.uint16,
    "U8": np.uint8,
    "BOOL": np.bool_,
}
_WRITABLE_KINDS = "fiub"

# The parser of safetensors' Rust core: (name, {"dtype", "shape", "data"}) per tensor.
_deserialize: Callable[[bytes], list[tuple[str, dict[str, Any]]]] = safetensors.deserialize

# What a file that is not safetensors usually is, by its first bytes.
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"PK\x03\x04", "a zip archive (an .npz file?)"),
    (b"\x93NUMPY", "a .npy array file"),
    (b"\x1f\x8b", "a gzip file"),
    (b"\x89HDF", "an HDF5 file"),
)


# ---------------------------------------------------------------------------------------------
# Models and weights
# ---------------------------------------------------------------------------------------------


def save(
    model: Layer, path: str | os.PathLike[str], *, metadata: Mapping[str, str] | None = None
) -> None:
    """Save a model, architecture and weights, to one safetensors file, atomically.

    The weights (parameters and buffers, by :meth:`~nnframe.Layer.state_dict` name) are
    the tensors; the architecture (each layer's registered class name and
    :meth:`~nnframe.Layer.get_config`) is JSON in the metadata. :func:`load` rebuilds the
    model from the file alone.

    Parameters
    ----------
    model : Layer
        Every layer in it must be a built-in layer or registered with
        :func:`nnframe.register`, and no Parameter or layer may appear twice (a config
        cannot express sharing; use :func:`save_weights` for such models).
    path : str or path-like
        The file to write (conventionally ``*.safetensors``). It is replaced atomically:
        a failed save leaves the previous file as it was.
    metadata : mapping of str to str, optional
        Extra information to keep in the header. Keys starting with ``"nnframe."`` are
        covered by the checksum; the keys nnframe writes itself cannot be given.

    Raises
    ------
    SerializationError
        When a layer is not registered, a config value cannot be written, the model
        shares a Parameter or a layer, or the file cannot be written.

    Examples
    --------
    >>> import os, tempfile, numpy as np, nnframe as nf
    >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
    >>> model = nf.Sequential(nf.Linear(3, 2, rng=0), nf.ReLU())
    >>> nf.save(model, path)
    >>> again = nf.load(path)
    >>> again
    Sequential(
      (0): Linear(3 -> 2)
      (1): ReLU()
    )
    >>> x = np.ones((4, 3), dtype=np.float32)
    >>> np.array_equal(again(x), model(x))
    True
    """
    file = _as_path(path, "save")
    _check_model(model, "save")
    _check_unshared(model)
    architecture = layer_to_spec(model)
    header = _header("model", metadata, "save")
    header[KEY_ARCHITECTURE] = _dumps(architecture)
    _write_file(file, model.state_dict(), header)


def load(path: str | os.PathLike[str]) -> Layer:
    """Load a model saved with :func:`save` (or the model in a checkpoint).

    The architecture is rebuilt through the layer registry only: the file may name
    registered classes and plain values, nothing else. Then the weights are checked
    (every name, shape and dtype) and copied in.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    Layer
        A new model, in training mode (call ``.eval()`` for inference).

    Raises
    ------
    SerializationError
        For a missing or unreadable file, a file that is not an nnframe model (truncated,
        corrupted, another format, an oversized header), an architecture naming an
        unregistered class or holding anything but plain values, or weights that do not
        match the architecture (names, shapes, dtypes). No model is returned half-built.

    Notes
    -----
    Stochastic layers (Dropout) get fresh generators, made from their saved config: a
    layer that was given an int seed starts again from that seed, one that was given a
    Generator (or None) draws fresh entropy. To continue a training run exactly, use a
    checkpoint (:class:`nnframe.callbacks.ModelCheckpoint`), which keeps generator states.
    """
    model, _ = load_with_metadata(path)
    return model


def load_with_metadata(path: str | os.PathLike[str]) -> tuple[Layer, dict[str, str]]:
    """Load a model like :func:`load` and return it with the file's metadata.

    Returns
    -------
    (Layer, dict of str to str)
        The model and every metadata entry of the file (``nnframe.*`` keys included),
        read in one pass.
    """
    stored = _read(_as_path(path, "load"))
    kind = _kind(stored, ("model", "checkpoint"), "load")
    if KEY_ARCHITECTURE not in stored.metadata:
        raise SerializationError(
            f"{stored.path}: has no architecture (the model was not serialisable when the "
            "checkpoint was written); build the model in code and use load_weights"
        )
    spec = _loads(stored, KEY_ARCHITECTURE)
    try:
        model = layer_from_spec(spec)
    except SerializationError as error:
        raise SerializationError(f"{stored.path}: {error}") from error
    weights = _model_tensors(stored, kind)
    try:
        model.load_state_dict(weights)
    except StateDictError as error:
        raise SerializationError(
            f"{stored.path}: the weights do not match the architecture: {error}"
        ) from error
    return model, dict(stored.metadata)


def save_weights(
    model: Layer, path: str | os.PathLike[str], *, metadata: Mapping[str, str] | None = None
) -> None:
    """Save only the weights (parameters and buffers) of any model, atomically.

    Parameters
    ----------
    model : Layer
        Any layer, registered or not.
    path : str or path-like
    metadata : mapping of str to str, optional
        Extra header entries, as for :func:`save`.

    Raises
    ------
    SerializationError
        When the file cannot be written.

    Examples
    --------
    >>> import os, tempfile, numpy as np, nnframe as nf
    >>> path = os.path.join(tempfile.mkdtemp(), "weights.safetensors")
    >>> nf.save_weights(nf.Linear(3, 2, rng=0), path)
    >>> other = nf.Linear(3, 2, rng=1)
    >>> nf.load_weights(other, path)
    >>> np.array_equal(other.weight.value, nf.Linear(3, 2, rng=0).weight.value)
    True
    """
    file = _as_path(path, "save_weights")
    _check_model(model, "save_weights")
    _write_file(file, model.state_dict(), _header("weights", metadata, "save_weights"))


def load_weights(model: Layer, path: str | os.PathLike[str]) -> None:
    """Copy weights from a file into ``model``, in place, after checking all of them.

    Reads files from :func:`save_weights`, :func:`save` and :func:`save_checkpoint`, and
    plain safetensors files written by other tools when their tensor names match
    :meth:`~nnframe.Layer.state_dict`.

    Raises
    ------
    StateDictError
        Listing every missing or unexpected name and every shape or dtype mismatch at
        once; the model is unchanged.
    SerializationError
        For a file that cannot be read or is not a valid safetensors file.
    """
    _check_model(model, "load_weights")
    stored = _read(_as_path(path, "load_weights"))
    kind = _kind(stored, KINDS, "load_weights") if KEY_VERSION in stored.metadata else "weights"
    weights = _model_tensors(stored, kind)
    try:
        model.load_state_dict(weights)
    except StateDictError as error:
        raise StateDictError(f"{stored.path}: {error}") from None


def read_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """Return the metadata of a safetensors file (the ``nnframe.*`` keys included).

    Raises
    ------
    SerializationError
        For a file that cannot be read or is not a valid safetensors file.
    """
    return dict(_read(_as_path(path, "read_metadata")).metadata)


# ---------------------------------------------------------------------------------------------
# Checkpoints
# ---------------------------------------------------------------------------------------------


def layer_generators(model: Layer) -> dict[str, np.random.Generator]:
    """Return every ``numpy.random.Generator`` held by a layer of ``model``, by path.

    The path is the layer's dotted name and the attribute's (``"1.generator"`` for a
    Dropout at position 1). A Generator held in two places appears under both.

    Examples
    --------
    >>> import nnframe as nf
    >>> layer_generators(nf.Sequential(nf.Linear(2, 2, rng=0), nf.ReLU()))
    {}
    """
    found: dict[str, np.random.Generator] = {}
    for path, layer in model.named_layers():
        for name, value in layer.named_members():
            if isinstance(value, np.random.Generator):
                found[f"{path}.{name}" if path else name] = value
    return found


def save_checkpoint(
    path: str | os.PathLike[str],
    model: Layer,
    optimizer: Any = None,
    *,
    epoch: int,
    history: Any = None,
    data_rng: np.random.Generator | None = None,
    metadata: Mapping[str, str] | None = None,
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
      path (see :func:`layer_generators`).

    The architecture is written too when every layer is registered, so that :func:`load`
    can also read the model out of a checkpoint.

    Parameters
    ----------
    path : str or path-like
    model : Layer
    optimizer : Optimizer, optional
        Anything with ``state_dict()`` returning scalars and arrays.
    epoch : int
        The number of completed epochs.
    history : History, optional
        Anything with ``history`` (dict of lists) and ``epoch`` (list) attributes.
    data_rng : numpy.random.Generator, optional
    metadata : mapping of str to str, optional

    Raises
    ------
    SerializationError
        When a value cannot be written or the file cannot be written.
    """
    file = _as_path(path, "save_checkpoint")
    _check_model(model, "save_checkpoint")
    completed = non_negative_int(epoch, "save_checkpoint: epoch")
    tensors = {f"model.{name}": value for name, value in model.state_dict().items()}
    record: dict[str, Any] = {
        "epoch": completed,
        "history": _history_record(history),
        "optimizer": None,
        "data_rng": None if data_rng is None else _rng_state(data_rng, "data_rng"),
        "layer_rngs": {
            name: _rng_state(generator, name)
            for name, generator in layer_generators(model).items()
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
    header = _header("checkpoint", metadata, "save_checkpoint")
    with contextlib.suppress(SerializationError):
        _check_unshared(model)
        header[KEY_ARCHITECTURE] = _dumps(layer_to_spec(model))
    header[KEY_CHECKPOINT] = _dumps(record)
    _write_file(file, tensors, header)


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

    Examples
    --------
    >>> import os, tempfile, nnframe as nf
    >>> model = nf.Sequential(nf.Linear(2, 1, rng=0))
    >>> path = os.path.join(tempfile.mkdtemp(), "run.safetensors")
    >>> nf.io.save_checkpoint(path, model, nf.SGD(model.parameters(), lr=0.1), epoch=3)
    >>> nf.io.load_checkpoint(path).epoch
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
        StateDictError
            When anything does not match; nothing has been changed.
        """
        where = str(self.path)
        if self.architecture is not None:
            try:
                own = layer_to_spec(model)
            except SerializationError:
                own = None
            if own is not None and own != self.architecture:
                raise StateDictError(
                    f"{where}: the checkpoint was written for another architecture; "
                    f"checkpoint {_short_json(self.architecture)}, model {_short_json(own)}"
                )
        generators = layer_generators(model)
        saved = self.layer_rng_states
        problems = [f"missing generator: {n!r}" for n in saved if n not in generators]
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
        targets = [(generators[name], state) for name, state in self.layer_rng_states.items()]
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
    stored = _read(_as_path(path, "load_checkpoint"))
    _kind(stored, ("checkpoint",), "load_checkpoint")
    record = _loads(stored, KEY_CHECKPOINT)
    bad = _bad(stored.path)
    if not isinstance(record, dict) or set(record) != {
        "epoch", "history", "optimizer", "data_rng", "layer_rngs"
    }:
        raise bad("the checkpoint record has the wrong keys")
    epoch = record["epoch"]
    if not _is_int(epoch) or epoch < 0:
        raise bad(f"'epoch' must be a non-negative int; got {epoch!r}")
    history, history_epochs = _parse_history(record["history"], bad)

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
            if not (isinstance(value, bool | float) or _is_int(value)):
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
    architecture = _loads(stored, KEY_ARCHITECTURE) if KEY_ARCHITECTURE in stored.metadata else None
    if architecture is not None and not isinstance(architecture, dict):
        raise bad("the architecture must be a JSON object")
    return Checkpoint(
        path=stored.path,
        epoch=epoch,
        history=history,
        history_epochs=history_epochs,
        model_state=_model_tensors(stored, "checkpoint"),
        optimizer_class=optimizer_class,
        optimizer_state=optimizer_state,
        data_rng_state=data_rng,
        layer_rng_states=layer_rngs,
        architecture=architecture,
        metadata=dict(stored.metadata),
    )


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


def _parse_history(record: object, bad: Any) -> tuple[dict[str, list[float]], list[int]]:
    if not isinstance(record, dict) or set(record) != {"history", "epoch"}:
        raise bad("'history' must be {'history': {...}, 'epoch': [...]}")
    values, epochs = record["history"], record["epoch"]
    if not isinstance(values, dict) or not all(
        isinstance(series, list)
        and all(isinstance(v, float) or (_is_int(v)) for v in series)
        for series in values.values()
    ):
        raise bad("'history' must map names to lists of numbers")
    if not isinstance(epochs, list) or not all(_is_int(e) for e in epochs):
        raise bad("the history's 'epoch' must be a list of ints")
    return {name: [float(v) for v in series] for name, series in values.items()}, list(epochs)


def _rng_state(generator: object, where: str) -> dict[str, Any]:
    if not isinstance(generator, np.random.Generator):
        raise ArgumentTypeError(
            f"save_checkpoint: {where} must be a numpy.random.Generator; got "
            f"{type(generator).__name__}"
        )
    plain = _json_state(generator.bit_generator.state)
    assert isinstance(plain, dict)
    return plain


def _json_state(value: Any) -> Any:
    # bit_generator.state holds ints (PCG64's are 128-bit; JSON keeps them exact), strings
    # and, for MT19937, a uint32 array, which numpy accepts back as a list.
    if isinstance(value, dict):
        return {str(k): _json_state(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, list | tuple):
        return [_json_state(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


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


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


def _header(kind: str, metadata: Mapping[str, str] | None, owner: str) -> dict[str, str]:
    from nnframe import __version__

    header: dict[str, str] = {}
    if metadata is not None:
        if not isinstance(metadata, Mapping):
            raise ArgumentTypeError(
                f"{owner}: metadata must be a mapping of str to str; got "
                f"{type(metadata).__name__}"
            )
        for key, value in metadata.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise ArgumentTypeError(
                    f"{owner}: metadata keys and values must be strings; got {key!r}: "
                    f"{type(value).__name__}"
                )
            if key in RESERVED_KEYS:
                raise ArgumentError(f"{owner}: the metadata key {key!r} is nnframe's own")
            header[key] = value
    header[KEY_VERSION] = str(FORMAT_VERSION)
    header[KEY_KIND] = kind
    header[KEY_NNFRAME_VERSION] = __version__
    return header


def _write_file(file: Path, tensors: Mapping[str, np.ndarray], header: dict[str, str]) -> None:
    arrays: dict[str, np.ndarray] = {}
    for name, value in tensors.items():
        array = np.asarray(value)
        if array.dtype.kind not in _WRITABLE_KINDS or array.dtype.itemsize > 8:
            raise SerializationError(
                f"{file}: tensor {name!r} has dtype {array.dtype}, which a model file cannot "
                "hold (real numbers and bools only)"
            )
        if array.dtype.byteorder == ">":
            array = array.astype(array.dtype.newbyteorder("<"))
        arrays[name] = np.ascontiguousarray(array)
    header = {**header, KEY_DIGEST: _digest(arrays, header)}
    try:
        data = safetensors.numpy.save(arrays, metadata=header)
    except Exception as error:
        raise SerializationError(f"{file}: cannot encode the tensors: {error}") from error
    try:
        write_atomic(file, data)
    except OSError as error:
        reason = error.strerror or str(error)
        raise SerializationError(f"{file}: cannot write the file ({reason})") from error


def _digest(arrays: Mapping[str, np.ndarray], header: Mapping[str, str]) -> str:
    digest = hashlib.sha256()

    def text(value: str) -> None:
        raw = value.encode("utf-8")
        digest.update(len(raw).to_bytes(8, "little"))
        digest.update(raw)

    for key in sorted(k for k in header if k.startswith(RESERVED_PREFIX) and k != KEY_DIGEST):
        text(key)
        text(header[key])
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        text(name)
        text(array.dtype.name)
        text(",".join(map(str, array.shape)))
        digest.update(array.reshape(-1).view(np.uint8).data)
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


@attrs.frozen(eq=False)
class _Stored:
    path: Path
    metadata: dict[str, str]
    tensors: dict[str, np.ndarray]


def _read(file: Path) -> _Stored:
    try:
        info = os.stat(file)
    except FileNotFoundError:
        raise SerializationError(f"{file}: no such file") from None
    except OSError as error:
        raise SerializationError(f"{file}: cannot be read ({error.strerror})") from None
    if stat.S_ISDIR(info.st_mode):
        raise SerializationError(f"{file}: is a directory, not a model file")
    if not stat.S_ISREG(info.st_mode):
        raise SerializationError(f"{file}: is not a regular file")
    try:
        with open(file, "rb") as stream:
            head = stream.read(8)
            _check_length(file, head, info.st_size)
            data = head + stream.read()
    except OSError as error:
        raise SerializationError(f"{file}: cannot be read ({error.strerror})") from None
    return _decode(file, data)


def _check_length(file: Path, head: bytes, size: int) -> None:
    if not head:
        raise SerializationError(f"{file}: is empty, not a safetensors file")
    if len(head) < 8:
        raise SerializationError(
            f"{file}: is too short to be a safetensors file ({len(head)} bytes)"
        )
    length = int.from_bytes(head, "little")
    if length > MAX_HEADER_BYTES:
        raise SerializationError(
            f"{file}: is {_what(head)} (its header length field says {length} bytes, "
            f"more than the {MAX_HEADER_BYTES}-byte limit)"
        )
    if 8 + length > size:
        raise SerializationError(
            f"{file}: is truncated or {_what(head)} (its header length field says "
            f"{length} bytes; the whole file has {size})"
        )


def _what(head: bytes) -> str:
    """Guess what a file that is not safetensors is, from its first bytes."""
    kind = next((what for magic, what in _MAGIC if head.startswith(magic)), None)
    return "not a safetensors file" if kind is None else f"{kind}, not a safetensors file"


def _decode(file: Path, data: bytes) -> _Stored:
    length = int.from_bytes(data[:8], "little")
    try:
        header = json.loads(data[8 : 8 + length].decode("utf-8"), object_pairs_hook=_unique)
    except (ValueError, RecursionError) as error:  # JSONDecodeError, UnicodeDecodeError
        raise SerializationError(
            f"{file}: is corrupted or {_what(data[:8])} (its header is not valid JSON: "
            f"{one_line(error)})"
        ) from None
    if not isinstance(header, dict):
        raise SerializationError(f"{file}: the safetensors header is not a JSON object")
    metadata = header.get("__metadata__", {})
    if not isinstance(metadata, dict) or not all(
        isinstance(value, str) for value in metadata.values()
    ):
        raise SerializationError(f"{file}: the metadata must map strings to strings")
    try:
        views = _deserialize(data)
    except Exception as error:  # SafetensorError, and anything else the parser raises
        raise SerializationError(
            f"{file}: is truncated, corrupted or not a safetensors file ({one_line(error)})"
        ) from None
    tensors: dict[str, np.ndarray] = {}
    try:
        for name, view in views:
            dtype = _DTYPES.get(view["dtype"])
            if dtype is None:
                raise SerializationError(
                    f"{file}: tensor {name!r} has dtype {view['dtype']}, which nnframe "
                    "does not read"
                )
            tensors[name] = np.frombuffer(view["data"], dtype=dtype).reshape(view["shape"])
    except SerializationError:
        raise
    except Exception as error:
        raise SerializationError(
            f"{file}: has a malformed tensor ({one_line(error)})"
        ) from None
    stored = _Stored(file, metadata, tensors)
    _verify(stored)
    return stored


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"the key {key!r} appears twice")
        result[key] = value
    return result


def _verify(stored: _Stored) -> None:
    metadata = stored.metadata
    if KEY_VERSION not in metadata:
        return  # a plain safetensors file: nothing to verify
    version = metadata[KEY_VERSION]
    if not (version.isascii() and version.isdecimal() and len(version) < 6):
        raise SerializationError(f"{stored.path}: bad {KEY_VERSION} {version[:20]!r}")
    if int(version) > FORMAT_VERSION:
        raise SerializationError(
            f"{stored.path}: was written in file format {int(version)} by a newer nnframe; "
            f"this nnframe reads format {FORMAT_VERSION} (upgrade nnframe)"
        )
    expected = metadata.get(KEY_DIGEST)
    if expected is None:
        raise SerializationError(f"{stored.path}: has no {KEY_DIGEST} checksum")
    if _digest(stored.tensors, metadata) != expected:
        raise SerializationError(
            f"{stored.path}: is corrupted (its contents do not match the {KEY_DIGEST} "
            "checksum written with it)"
        )


def _kind(stored: _Stored, accepted: tuple[str, ...], owner: str) -> str:
    kind = stored.metadata.get(KEY_KIND)
    if KEY_VERSION not in stored.metadata or kind is None:
        raise SerializationError(
            f"{stored.path}: is a safetensors file but not one nnframe wrote (no "
            f"{KEY_VERSION} and {KEY_KIND} metadata); {owner} needs an nnframe "
            f"{' or '.join(accepted)} file"
            + ("; load_weights reads plain safetensors files" if owner == "load" else "")
        )
    if kind not in accepted:
        hint = {
            "weights": "; it holds weights only: build the model in code and use load_weights",
            "model": "; it is a model file, not a checkpoint",
        }.get(kind, "")
        raise SerializationError(
            f"{stored.path}: {owner} needs a {' or '.join(accepted)} file; this one is a "
            f"{kind[:40]!r} file{hint}"
        )
    return kind


def _model_tensors(stored: _Stored, kind: str) -> dict[str, np.ndarray]:
    if kind != "checkpoint":
        return dict(stored.tensors)
    weights = {}
    for name, value in stored.tensors.items():
        if name.startswith("model."):
            weights[name[len("model.") :]] = value
        elif not name.startswith("optimizer."):
            raise SerializationError(f"{stored.path}: unexpected tensor {name!r} in a checkpoint")
    return weights


def _loads(stored: _Stored, key: str) -> Any:
    text = stored.metadata.get(key)
    if text is None:
        raise SerializationError(f"{stored.path}: has no {key} entry")
    try:
        return json.loads(text, object_pairs_hook=_unique)
    except (ValueError, RecursionError) as error:
        raise SerializationError(
            f"{stored.path}: the {key} entry is not valid JSON ({one_line(error)})"
        ) from None


def _bad(file: Path) -> Any:
    def make(message: str) -> SerializationError:
        return SerializationError(f"{file}: invalid checkpoint: {message}")

    return make


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------


def _as_path(path: object, owner: str) -> Path:
    text = file_path(path, f"{owner}: path")
    file = Path(text)
    if file.name in ("", ".", ".."):
        raise ArgumentError(f"{owner}: {text!r} does not name a file")
    return file


def _check_model(model: object, owner: str) -> None:
    if not isinstance(model, Layer):
        raise ArgumentTypeError(f"{owner}: model must be a Layer; got {type(model).__name__}")


def _check_unshared(model: Layer) -> None:
    """Refuse models in which a layer or Parameter is reachable twice.

    A config rebuilds one object per position, so a shared object would come back as two
    and the weights would not fit.
    """
    seen: dict[int, str] = {}

    def visit(path: str, value: object) -> None:
        if isinstance(value, Layer | Parameter | Buffer):
            if id(value) in seen:
                raise SerializationError(
                    f"save: {path or 'the model'} is the same object as {seen[id(value)]!r}; "
                    "an architecture cannot express sharing, so save the weights with "
                    "nnframe.save_weights and build the model in code"
                )
            seen[id(value)] = path
            if isinstance(value, Layer):
                for name, member in value.named_members():
                    visit(f"{path}.{name}" if path else name, member)
        elif isinstance(value, list | tuple):
            for i, item in enumerate(value):
                visit(f"{path}.{i}" if path else str(i), item)

    visit("", model)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=True)


def _short_json(value: Any) -> str:
    text = _dumps(value)
    return text if len(text) <= 200 else text[:197] + "..."


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
