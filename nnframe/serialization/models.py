"""Model files and weight files: save, load, save_weights, load_weights, read_metadata."""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np

from nnframe.checks import allocation_budget, boolean, state_mismatch
from nnframe.errors import SerializationError, StateDictError
from nnframe.layers.base import Layer
from nnframe.parameter import Buffer, Parameter
from nnframe.serialization.architecture import (
    build_model,
    describe_model,
    freeze_named,
    frozen_names,
)
from nnframe.serialization.format import (
    KEY_ALIASES,
    KEY_ARCHITECTURE,
    KEY_FROZEN,
    KEY_VERSION,
    KINDS,
    as_path,
    check_model,
    dumps,
    file_kind,
    make_header,
    model_tensors,
    read_file,
    read_json,
    write_file,
)

__all__ = [
    "MAX_LISTED",
    "check_weights",
    "load",
    "load_weights",
    "load_with_metadata",
    "read_metadata",
    "refuse_nonfinite",
    "save",
    "save_weights",
]

MAX_LISTED = 20
"""How many names of each kind (missing, unexpected, mismatched) an error message lists."""

# What building a model for loading may allocate beyond twice the file's tensor bytes.
_BUDGET_SLACK = 16 * 2**20


def save(
    model: Layer, path: str | os.PathLike[str], *, metadata: Mapping[str, str] | None = None
) -> None:
    """Save a model, architecture and weights, to one safetensors file, atomically.

    The weights (parameters and buffers, by :meth:`~nnframe.Layer.state_dict` name) are
    the tensors; the architecture (each layer's registered class name and
    :meth:`~nnframe.Layer.get_config`) is JSON in the metadata. :func:`load` rebuilds the
    model from the file alone.

    Frozen parameters (``requires_grad`` False) are recorded and frozen again on load.
    Forward and backward hooks are not saved.

    A Parameter or Buffer shared by two layers (weight tying,
    ``decoder.weight = encoder.weight``) is stored once, under its first
    :meth:`~nnframe.Layer.walk` name; the file records its other names as aliases, and
    :func:`load` ties them again.

    Parameters
    ----------
    model : Layer
        Every layer in it must be a built-in layer or registered with
        :func:`nnframe.register`. Shared Parameters and Buffers must be layer attributes
        (not items of a list); a layer may not appear twice (a config cannot express
        sharing of layers; use :func:`save_weights` for such models).
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
        shares a layer or shares a Parameter where loading cannot tie it again, or the
        file cannot be written. Nothing is written then.

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

    Two layers sharing one weight come back sharing it:

    >>> tied = nf.Sequential(nf.Linear(3, 3, rng=0), nf.Tanh(), nf.Linear(3, 3, rng=1))
    >>> tied[2].weight = tied[0].weight
    >>> nf.save(tied, path)
    >>> again = nf.load(path)
    >>> again[2].weight is again[0].weight
    True
    """
    file = as_path(path, "save")
    check_model(model, "save")
    architecture, aliases = describe_model(model, "save")
    header = make_header("model", metadata, "save")
    header[KEY_ARCHITECTURE] = dumps(architecture)
    if aliases:
        header[KEY_ALIASES] = dumps(aliases)
    frozen = frozen_names(model)
    if frozen:
        header[KEY_FROZEN] = dumps(frozen)
    write_file(file, model.state_dict(), header)


def load(path: str | os.PathLike[str], *, allow_nonfinite: bool = False) -> Layer:
    """Load a model saved with :func:`save` (or the model in a checkpoint).

    The architecture is rebuilt through the layer registry only: the file may name
    registered classes and plain values, nothing else. Shared parameters are tied again.
    Then the weights are checked (every name, shape and dtype) and copied in.

    Loading is bounded by the file: the model is built without drawing initial weights,
    and an architecture whose arrays need more memory than the file's tensors justify
    (``Linear(16000, 16000)`` in a file holding none) is refused before they are made.

    Parameters
    ----------
    path : str or path-like
    allow_nonfinite : bool, default False
        Whether to load weights holding NaN or infinity; by default such a file is
        refused, naming the tensor.

    Returns
    -------
    Layer
        A new model, in evaluation mode: ready for inference (``with nf.no_grad():
        model(x)``, or ``Trainer.predict``), with Dropout off and BatchNorm using its
        running statistics. Call ``.train()`` before training it further.

    Raises
    ------
    SerializationError
        For a missing or unreadable file, a file that is not an nnframe model (truncated,
        corrupted, another format, an oversized header), an architecture naming an
        unregistered class or holding anything but plain values, aliases that cannot be
        tied, an architecture larger than its weights, weights that do not match the
        architecture (names, shapes, dtypes; at most :data:`MAX_LISTED` of each kind are
        listed, then a count), or weights that are not finite (unless
        ``allow_nonfinite``). No model is returned half-built.

    Notes
    -----
    Stochastic layers (Dropout) get fresh generators, made from their saved config: a
    layer that was given an int seed starts again from that seed, one that was given a
    Generator (or None) draws fresh entropy. To continue a training run exactly, use a
    checkpoint (:class:`nnframe.training.ModelCheckpoint`), which keeps generator states.

    Examples
    --------
    >>> import os, tempfile, nnframe as nf
    >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
    >>> nf.save(nf.Sequential(nf.Linear(3, 2, rng=0)), path)
    >>> nf.load(path)[0].weight.shape
    (2, 3)
    """
    model, _ = load_with_metadata(path, allow_nonfinite=allow_nonfinite)
    return model


def load_with_metadata(
    path: str | os.PathLike[str], *, allow_nonfinite: bool = False
) -> tuple[Layer, dict[str, str]]:
    """Load a model like :func:`load` and return it with the file's metadata.

    Parameters
    ----------
    path : str or path-like
    allow_nonfinite : bool, default False
        As for :func:`load`.

    Returns
    -------
    (Layer, dict of str to str)
        The model and every metadata entry of the file (``nnframe.*`` keys included),
        read in one pass.

    Raises
    ------
    SerializationError
        As :func:`load`.
    """
    file = as_path(path, "load")
    allow_nonfinite = boolean(allow_nonfinite, "load: allow_nonfinite")
    stored = read_file(file)
    kind = file_kind(stored, ("model", "checkpoint"), "load")
    if KEY_ARCHITECTURE not in stored.metadata:
        raise SerializationError(
            f"{stored.path}: has no architecture (the model was not serialisable when the "
            "checkpoint was written); build the model in code and use load_weights"
        )
    spec = read_json(stored, KEY_ARCHITECTURE)
    aliases = read_json(stored, KEY_ALIASES) if KEY_ALIASES in stored.metadata else {}
    weights = model_tensors(stored, kind)
    nbytes = sum(array.nbytes for array in weights.values())
    with allocation_budget(2 * nbytes + _BUDGET_SLACK, f"the file's tensors ({nbytes} bytes)"):
        model = build_model(spec, aliases, str(stored.path))
    if KEY_FROZEN in stored.metadata:
        freeze_named(model, read_json(stored, KEY_FROZEN), str(stored.path))
    try:
        check_weights(model, weights)
    except StateDictError as error:
        raise SerializationError(
            f"{stored.path}: the weights do not match the architecture: {error}"
        ) from error
    if not allow_nonfinite:
        refuse_nonfinite(weights, str(stored.path))
    model.load_state_dict(weights)
    return model.eval(), dict(stored.metadata)


def check_weights(model: Layer, weights: Mapping[str, np.ndarray]) -> None:
    """Check ``weights`` against the model's parameters and buffers, listing at most 20 each.

    Like :meth:`~nnframe.Layer.load_state_dict`'s check, but a file with thousands of
    wrong names gets a message of :data:`MAX_LISTED` names of each kind and a count.

    Raises
    ------
    StateDictError
        Listing missing and unexpected names and shape or dtype mismatches.

    Examples
    --------
    >>> import numpy as np, nnframe as nf
    >>> extra = {f"x{i}": np.zeros(0) for i in range(100)}
    >>> check_weights(nf.Linear(2, 1), {**nf.Linear(2, 1).state_dict(), **extra})
    Traceback (most recent call last):
    ...
    nnframe.errors.StateDictError: Linear.load_state_dict: ... nothing was loaded:
      unexpected: 'x0'
    ...
      ... and 80 more unexpected names
    """
    own = {name: obj.value for name, obj in model.walk() if isinstance(obj, Parameter | Buffer)}
    groups = {
        "missing": sorted(f"missing: {name!r}" for name in own if name not in weights),
        "unexpected": sorted(f"unexpected: {name!r}" for name in weights if name not in own),
        "mismatched": sorted(
            problem
            for name in own.keys() & weights.keys()
            if (problem := state_mismatch(name, weights[name], own[name], "in the model"))
        ),
    }
    lines = []
    for kind, problems in groups.items():
        lines += problems[:MAX_LISTED]
        if len(problems) > MAX_LISTED:
            lines.append(f"... and {len(problems) - MAX_LISTED} more {kind} names")
    if lines:
        raise StateDictError(
            f"{type(model).__name__}.load_state_dict: the state dict does not match the "
            "model; nothing was loaded:\n  " + "\n  ".join(lines)
        )


def refuse_nonfinite(weights: Mapping[str, np.ndarray], where: str) -> None:
    """Raise ``SerializationError`` naming the first tensor holding NaN or infinity.

    Examples
    --------
    >>> import numpy as np
    >>> refuse_nonfinite({"0.weight": np.array([1.0, np.inf])}, "model.safetensors")
    Traceback (most recent call last):
    ...
    nnframe.errors.SerializationError: model.safetensors: tensor '0.weight' holds 1 \
non-finite value(s) (NaN or infinity); pass allow_nonfinite=True to load it anyway
    """
    for name, array in weights.items():
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            count = array.size - int(np.count_nonzero(np.isfinite(array)))
            raise SerializationError(
                f"{where}: tensor {name!r} holds {count} non-finite value(s) (NaN or "
                "infinity); pass allow_nonfinite=True to load it anyway"
            )


def save_weights(
    model: Layer, path: str | os.PathLike[str], *, metadata: Mapping[str, str] | None = None
) -> None:
    """Save only the weights (parameters and buffers) of any model, atomically.

    A Parameter shared by two layers is one entry of the state dict, so it is stored
    once; load it into a model built in code with the same sharing.

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
    file = as_path(path, "save_weights")
    check_model(model, "save_weights")
    write_file(file, model.state_dict(), make_header("weights", metadata, "save_weights"))


def load_weights(model: Layer, path: str | os.PathLike[str]) -> None:
    """Copy weights from a file into ``model``, in place, after checking all of them.

    Reads files from :func:`save_weights`, :func:`save` and
    :func:`~nnframe.serialization.save_checkpoint`, and plain safetensors files written
    by other tools when their tensor names match :meth:`~nnframe.Layer.state_dict`.

    Parameters
    ----------
    model : Layer
    path : str or path-like

    Raises
    ------
    StateDictError
        Listing every missing or unexpected name and every shape or dtype mismatch at
        once (at most :data:`MAX_LISTED` of each kind, then a count); the model is
        unchanged.
    SerializationError
        For a file that cannot be read or is not a valid safetensors file.

    Examples
    --------
    >>> import os, tempfile, nnframe as nf
    >>> path = os.path.join(tempfile.mkdtemp(), "weights.safetensors")
    >>> nf.save_weights(nf.Linear(3, 2, rng=0), path)
    >>> nf.load_weights(nf.Linear(3, 2), path)
    """
    check_model(model, "load_weights")
    stored = read_file(as_path(path, "load_weights"))
    kind = (
        file_kind(stored, KINDS, "load_weights") if KEY_VERSION in stored.metadata else "weights"
    )
    weights = model_tensors(stored, kind)
    try:
        check_weights(model, weights)
        model.load_state_dict(weights)
    except StateDictError as error:
        raise StateDictError(f"{stored.path}: {error}") from None


def read_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """Return the metadata of a safetensors file (the ``nnframe.*`` keys included).

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    dict of str to str

    Raises
    ------
    SerializationError
        For a file that cannot be read or is not a valid safetensors file.

    Examples
    --------
    >>> import os, tempfile, nnframe as nf
    >>> path = os.path.join(tempfile.mkdtemp(), "weights.safetensors")
    >>> nf.save_weights(nf.Linear(3, 2), path, metadata={"author": "me"})
    >>> read_metadata(path)["author"]
    'me'
    """
    return dict(read_file(as_path(path, "read_metadata")).metadata)
