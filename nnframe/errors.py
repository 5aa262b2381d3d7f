"""The exceptions nnframe raises; every one is also a standard Python exception."""

from __future__ import annotations

__all__ = [
    "ArgumentError",
    "ArgumentTypeError",
    "CacheMissError",
    "DTypeError",
    "DataError",
    "NnframeError",
    "SerializationError",
    "ShapeError",
    "StateDictError",
    "TrainingDivergedError",
]


class NnframeError(Exception):
    """Base class of every error nnframe raises on purpose."""


class ShapeError(NnframeError, ValueError):
    """An array has the wrong number of dimensions or the wrong size along one."""


class DTypeError(NnframeError, TypeError):
    """An array's dtype cannot be used (strings, objects, complex numbers, ...)."""


class ArgumentError(NnframeError, ValueError):
    """An argument has an acceptable type but an unacceptable value (``Linear(-3, 2)``)."""


class ArgumentTypeError(NnframeError, TypeError):
    """An argument has the wrong type (``Linear(2.5, 2)``)."""


class CacheMissError(NnframeError, RuntimeError):
    """``backward`` was called without a cached ``forward`` pass to go back through."""


class StateDictError(NnframeError, ValueError):
    """A state dict does not match the model: missing or unexpected names, shapes, dtypes."""


class DataError(NnframeError, ValueError):
    """Training or evaluation data is unusable (NaN, mismatched lengths, bad labels)."""


class TrainingDivergedError(NnframeError, FloatingPointError):
    """The training loss became NaN or infinite."""


class SerializationError(NnframeError, ValueError):
    """A model file cannot be written or read safely."""
