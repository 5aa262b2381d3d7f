"""The file format: safetensors files with nnframe's metadata, written and read safely.

Every file nnframe writes is one `safetensors <https://github.com/huggingface/safetensors>`_
file: the arrays as tensors, everything else as JSON strings in the header's metadata.
Reading parses JSON and raw little-endian arrays only; it never imports a module, calls a
function named by the file, or unpickles. Writes go through
:func:`nnframe.atomic.write_atomic`: the bytes go to a hidden temporary file in the same
folder, which replaces the target only once it is complete and on disk.

File format (version 1). Metadata keys:

``nnframe.format_version``
    ``"1"``.
``nnframe.kind``
    ``"model"`` (:func:`~nnframe.save`), ``"weights"`` (:func:`~nnframe.save_weights`) or
    ``"checkpoint"`` (:func:`~nnframe.serialization.save_checkpoint`).
``nnframe.architecture``
    The model as JSON, ``{"class": "Sequential", "config": {"layers": [...]}}``: each
    layer's registered class name and its ``get_config()`` (models and checkpoints).
``nnframe.aliases``
    Only for a model with shared (tied) parameters or buffers: JSON mapping each further
    name of a shared array to the name it is stored under, ``{"2.weight": "0.weight"}``.
    The array is stored once; loading ties the names again.
``nnframe.checkpoint``
    The training state as JSON (checkpoints only; see
    :func:`~nnframe.serialization.save_checkpoint`).
``nnframe.sha256``
    A SHA-256 digest of every tensor (name, dtype, shape, bytes) and of the other
    ``nnframe.*`` keys, so that a corrupted file is detected instead of loaded.
``nnframe.version``
    The nnframe version that wrote the file (information only).

Other keys belong to the user (``metadata=``); those starting with ``nnframe.`` (such as
``nnframe.preprocessing``, which ``nnframe train --out`` writes) are covered by the
checksum too. Tensors are named by :meth:`~nnframe.Layer.state_dict` names
(``"0.weight"``); in a checkpoint they are prefixed with ``"model."``, and the optimizer's
arrays are ``"optimizer.state.<i>.<name>"``.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import math
import mmap
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

import attrs
import numpy as np
import safetensors.numpy

from nnframe.atomic import write_atomic
from nnframe.checks import file_path
from nnframe.errors import ArgumentError, ArgumentTypeError, SerializationError, one_line
from nnframe.layers.base import Layer

__all__ = [
    "FORMAT_VERSION",
    "KEY_ALIASES",
    "KEY_ARCHITECTURE",
    "KEY_CHECKPOINT",
    "KEY_DIGEST",
    "KEY_FROZEN",
    "KEY_KIND",
    "KEY_NNFRAME_VERSION",
    "KEY_VERSION",
    "KINDS",
    "MAX_HEADER_BYTES",
    "RESERVED_KEYS",
    "RESERVED_PREFIX",
    "StoredFile",
    "as_path",
    "check_model",
    "digest",
    "dumps",
    "file_kind",
    "make_header",
    "model_tensors",
    "read_file",
    "read_json",
    "short_json",
    "write_file",
]

FORMAT_VERSION = 1
"""The version of the file format this nnframe writes, and the newest it reads."""

MAX_HEADER_BYTES = 100_000_000
"""The largest safetensors header accepted (the reference implementation's limit)."""

KEY_VERSION = "nnframe.format_version"
KEY_KIND = "nnframe.kind"
KEY_ARCHITECTURE = "nnframe.architecture"
KEY_ALIASES = "nnframe.aliases"
KEY_FROZEN = "nnframe.frozen"
KEY_CHECKPOINT = "nnframe.checkpoint"
KEY_DIGEST = "nnframe.sha256"
KEY_NNFRAME_VERSION = "nnframe.version"
RESERVED_PREFIX = "nnframe."
RESERVED_KEYS = frozenset(
    {
        KEY_VERSION,
        KEY_KIND,
        KEY_ARCHITECTURE,
        KEY_ALIASES,
        KEY_FROZEN,
        KEY_CHECKPOINT,
        KEY_DIGEST,
        KEY_NNFRAME_VERSION,
    }
)
"""The metadata keys nnframe writes itself, which ``metadata=`` cannot give."""

KINDS = ("model", "weights", "checkpoint")
"""The values of ``nnframe.kind``."""

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

# What a file that is not safetensors usually is, by its first bytes.
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"PK\x03\x04", "a zip archive (an .npz file?)"),
    (b"\x93NUMPY", "a .npy array file"),
    (b"\x1f\x8b", "a gzip file"),
    (b"\x89HDF", "an HDF5 file"),
)


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


def make_header(kind: str, metadata: Mapping[str, str] | None, owner: str) -> dict[str, str]:
    """Return the metadata of a new file: the user's entries and nnframe's own keys.

    Parameters
    ----------
    kind : str
        One of :data:`KINDS`.
    metadata : mapping of str to str or None
        The user's entries; a key of :data:`RESERVED_KEYS` is refused.
    owner : str
        The public function's name, for error messages.

    Returns
    -------
    dict of str to str

    Raises
    ------
    ArgumentTypeError, ArgumentError
        For metadata that is not a mapping of strings, or that uses nnframe's own keys.
    """
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
    header[KEY_NNFRAME_VERSION] = _nnframe_version()
    return header


def _nnframe_version() -> str:
    try:
        return importlib.metadata.version("nnframe")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - not installed
        return "unknown"


def write_file(file: Path, tensors: Mapping[str, np.ndarray], header: dict[str, str]) -> None:
    """Write ``tensors`` and ``header`` (plus the digest) to ``file``, atomically.

    Parameters
    ----------
    file : pathlib.Path
    tensors : mapping of str to ndarray
        Real or bool arrays; big-endian ones are stored little-endian.
    header : dict of str to str
        From :func:`make_header`, with any further ``nnframe.*`` keys.

    Raises
    ------
    SerializationError
        For a dtype the format cannot hold, or a file that cannot be written; the
        previous file is then left as it was.
    """
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
    header = {**header, KEY_DIGEST: digest(arrays, header)}
    try:
        data = safetensors.numpy.save(arrays, metadata=header)
    except Exception as error:
        raise SerializationError(f"{file}: cannot encode the tensors: {error}") from error
    try:
        write_atomic(file, data)
    except OSError as error:
        reason = error.strerror or str(error)
        raise SerializationError(f"{file}: cannot write the file ({reason})") from error


def digest(arrays: Mapping[str, np.ndarray], header: Mapping[str, str]) -> str:
    """Return the ``nnframe.sha256`` digest of a file's tensors and ``nnframe.*`` keys.

    Parameters
    ----------
    arrays : mapping of str to ndarray
    header : mapping of str to str
        The digest key itself and keys outside ``nnframe.`` are left out.

    Returns
    -------
    str
        The hexadecimal SHA-256 digest.
    """
    sha = hashlib.sha256()

    def text(value: str) -> None:
        raw = value.encode("utf-8")
        sha.update(len(raw).to_bytes(8, "little"))
        sha.update(raw)

    for key in sorted(k for k in header if k.startswith(RESERVED_PREFIX) and k != KEY_DIGEST):
        text(key)
        text(header[key])
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        text(name)
        text(array.dtype.name)
        text(",".join(map(str, array.shape)))
        sha.update(array.reshape(-1).view(np.uint8).data)
    return sha.hexdigest()


def dumps(value: Any) -> str:
    """Return ``value`` as compact JSON, the way metadata entries are written."""
    return json.dumps(value, separators=(",", ":"), allow_nan=True)


def short_json(value: Any) -> str:
    """Return ``value`` as JSON cut to 200 characters, for error messages."""
    text = dumps(value)
    return text if len(text) <= 200 else text[:197] + "..."


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


@attrs.frozen(eq=False)
class StoredFile:
    """A safetensors file read and verified by :func:`read_file`.

    Parameters
    ----------
    path : pathlib.Path
    metadata : dict of str to str
        Every metadata entry, ``nnframe.*`` keys included.
    tensors : dict of str to ndarray
        Read-only arrays, by tensor name.

    Examples
    --------
    >>> import os, tempfile, nnframe as nf
    >>> from nnframe.serialization.format import read_file
    >>> path = os.path.join(tempfile.mkdtemp(), "w.safetensors")
    >>> nf.save_weights(nf.Linear(2, 1, rng=0), path)
    >>> sorted(read_file(nf.serialization.format.as_path(path, "doc")).tensors)
    ['bias', 'weight']
    """

    path: Path
    metadata: dict[str, str]
    tensors: dict[str, np.ndarray]


def read_file(file: Path) -> StoredFile:
    """Read and verify a safetensors file (the digest, when nnframe wrote it).

    The header is checked first (each tensor's dtype, shape and byte range; the ranges
    cover the data exactly), then the tensors are read-only views of a memory map.

    Raises
    ------
    SerializationError
        For a missing or unreadable file, or one that is truncated, corrupted, of another
        format, of a newer file-format version, or with an oversized header.
    """
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
            length = int.from_bytes(head, "little")
            raw = stream.read(length)
            if len(raw) < length:
                raise SerializationError(f"{file}: is truncated (it changed while being read)")
            metadata, entries = _parse_header(file, head, raw, info.st_size - 8 - length)
            tensors = _map_tensors(file, stream, entries, 8 + length)
    except OSError as error:
        raise SerializationError(f"{file}: cannot be read ({error.strerror})") from None
    stored = StoredFile(file, metadata, tensors)
    _verify(stored)
    return stored


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


_Entry = tuple[type[np.generic], tuple[int, ...], int, int]


def _parse_header(
    file: Path, head: bytes, raw: bytes, data_size: int
) -> tuple[dict[str, str], dict[str, _Entry]]:
    """Parse and check the header: the metadata, and every tensor's entry by name."""
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_unique)
    except (ValueError, RecursionError) as error:  # JSONDecodeError, UnicodeDecodeError
        raise SerializationError(
            f"{file}: is corrupted or {_what(head)} (its header is not valid JSON: "
            f"{one_line(error)})"
        ) from None
    if not isinstance(header, dict):
        raise SerializationError(f"{file}: the safetensors header is not a JSON object")
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(
        isinstance(value, str) for value in metadata.values()
    ):
        raise SerializationError(f"{file}: the metadata must map strings to strings")
    entries = {name: _entry(file, name, info) for name, info in header.items()}
    end = 0
    for name, (_, _, begin, stop) in sorted(entries.items(), key=lambda item: item[1][2:]):
        if begin != end:
            raise SerializationError(
                f"{file}: is corrupted: tensor {name!r} starts at byte {begin} of the data, "
                f"expected {end} (the tensors must cover the data without gaps or overlaps)"
            )
        end = stop
    if end != data_size:
        raise SerializationError(
            f"{file}: is truncated or corrupted: file not fully covered (the tensors take "
            f"{end} bytes, the data after the header has {data_size})"
        )
    return metadata, entries


def _entry(file: Path, name: str, info: object) -> _Entry:
    if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
        raise SerializationError(
            f"{file}: has a malformed tensor {name[:100]!r} (its entry must have exactly "
            "dtype, shape and data_offsets)"
        )
    dtype = _DTYPES.get(info["dtype"]) if isinstance(info["dtype"], str) else None
    if dtype is None:
        raise SerializationError(
            f"{file}: tensor {name[:100]!r} has dtype {str(info['dtype'])[:20]}, which "
            "nnframe does not read"
        )
    shape, offsets = info["shape"], info["data_offsets"]
    if not (
        isinstance(shape, list)
        and all(type(n) is int and n >= 0 for n in shape)
        and isinstance(offsets, list)
        and len(offsets) == 2
        and all(type(n) is int and n >= 0 for n in offsets)
        and offsets[0] <= offsets[1]
        and offsets[1] - offsets[0] == math.prod(shape) * np.dtype(dtype).itemsize
    ):
        raise SerializationError(
            f"{file}: has a malformed tensor {name[:100]!r} (its shape and data_offsets do "
            "not agree)"
        )
    return dtype, tuple(shape), offsets[0], offsets[1]


def _map_tensors(
    file: Path, stream: BinaryIO, entries: Mapping[str, _Entry], start: int
) -> dict[str, np.ndarray]:
    """Return read-only arrays on a memory map of the data (empty ones need none)."""
    tensors: dict[str, np.ndarray] = {}
    buffer: mmap.mmap | None = None
    for name, (dtype, shape, begin, stop) in entries.items():
        little = np.dtype(dtype).newbyteorder("<")
        if begin == stop:
            array = np.empty(shape, dtype=little)
        else:
            if buffer is None:
                buffer = mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ)
            if start + stop > len(buffer):
                raise SerializationError(f"{file}: is truncated (it changed while being read)")
            count = (stop - begin) // little.itemsize
            array = np.frombuffer(buffer, little, count, start + begin).reshape(shape)
        array.flags.writeable = False
        tensors[name] = array
    return tensors


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"the key {key!r} appears twice")
        result[key] = value
    return result


def _verify(stored: StoredFile) -> None:
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
    if digest(stored.tensors, metadata) != expected:
        raise SerializationError(
            f"{stored.path}: is corrupted (its contents do not match the {KEY_DIGEST} "
            "checksum written with it)"
        )


def file_kind(stored: StoredFile, accepted: tuple[str, ...], owner: str) -> str:
    """Return the file's ``nnframe.kind``, which must be one of ``accepted``.

    Raises
    ------
    SerializationError
        For a plain safetensors file or a file of another kind, saying what to use instead.
    """
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


def model_tensors(stored: StoredFile, kind: str) -> dict[str, np.ndarray]:
    """Return the model's tensors, by state-dict name (without a checkpoint's ``model.``).

    Raises
    ------
    SerializationError
        For a checkpoint tensor that belongs to neither the model nor the optimizer.
    """
    if kind != "checkpoint":
        return dict(stored.tensors)
    weights = {}
    for name, value in stored.tensors.items():
        if name.startswith("model."):
            weights[name[len("model.") :]] = value
        elif not name.startswith(("optimizer.", "callbacks.")):
            raise SerializationError(f"{stored.path}: unexpected tensor {name!r} in a checkpoint")
    return weights


def read_json(stored: StoredFile, key: str) -> Any:
    """Parse the metadata entry ``key`` as JSON (duplicate keys refused).

    Raises
    ------
    SerializationError
        When the entry is missing or not valid JSON.
    """
    text = stored.metadata.get(key)
    if text is None:
        raise SerializationError(f"{stored.path}: has no {key} entry")
    try:
        return json.loads(text, object_pairs_hook=_unique)
    except (ValueError, RecursionError) as error:
        raise SerializationError(
            f"{stored.path}: the {key} entry is not valid JSON ({one_line(error)})"
        ) from None


# ---------------------------------------------------------------------------------------------
# Arguments
# ---------------------------------------------------------------------------------------------


def as_path(path: object, owner: str) -> Path:
    """Return ``path`` as a :class:`pathlib.Path` that names a file.

    Raises
    ------
    ArgumentTypeError, ArgumentError
        For a path that is not a string or path-like, holds a NUL, or names no file.
    """
    text = file_path(path, f"{owner}: path")
    file = Path(text)
    if file.name in ("", ".", ".."):
        raise ArgumentError(f"{owner}: {text!r} does not name a file")
    return file


def check_model(model: object, owner: str) -> None:
    """Refuse anything but a :class:`~nnframe.Layer`.

    Raises
    ------
    ArgumentTypeError
    """
    if not isinstance(model, Layer):
        raise ArgumentTypeError(f"{owner}: model must be a Layer; got {type(model).__name__}")
