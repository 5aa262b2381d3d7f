"""Saving and loading models, weights and training checkpoints as safetensors files.

One job per module:

- :mod:`nnframe.serialization.format`: the file format (header, metadata, digest, safe
  reading and verification, atomic writing); its module docstring lists the metadata keys.
- :mod:`nnframe.serialization.architecture`: a model's architecture record, and the
  aliases of shared (tied) parameters.
- :mod:`nnframe.serialization.models`: :func:`save`, :func:`load`,
  :func:`load_with_metadata`, :func:`save_weights`, :func:`load_weights`,
  :func:`read_metadata`.
- :mod:`nnframe.serialization.checkpoints`: :func:`save_checkpoint`,
  :func:`load_checkpoint`, :class:`Checkpoint`.

Loading never imports a module, calls a function named by the file, or unpickles; every
write is atomic (:func:`write_atomic`).
"""

from nnframe.atomic import write_atomic
from nnframe.serialization.checkpoints import Checkpoint, load_checkpoint, save_checkpoint
from nnframe.serialization.format import FORMAT_VERSION, MAX_HEADER_BYTES
from nnframe.serialization.models import (
    load,
    load_weights,
    load_with_metadata,
    read_metadata,
    save,
    save_weights,
)

__all__ = [
    "FORMAT_VERSION",
    "MAX_HEADER_BYTES",
    "Checkpoint",
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
