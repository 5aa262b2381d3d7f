"""The exceptions nnframe raises; every one is also a standard Python exception."""

from __future__ import annotations

__all__ = [
    "ArgumentError",
    "ArgumentTypeError",
    "CacheMissError",
    "DTypeError",
    "DataError",
    "IndexOutOfRangeError",
    "NnframeError",
    "SerializationError",
    "ShapeError",
    "StateDictError",
    "TrainingDivergedError",
    "one_line",
]


class NnframeError(Exception):
    """Base class of every error nnframe raises on purpose."""


class ShapeError(NnframeError, ValueError):
    """An array has the wrong number of dimensions or the wrong size along one."""


class DTypeError(NnframeError, TypeError):
    """An array's dtype cannot be used (strings, objects, complex numbers, ...)."""


class ArgumentError(NnframeError, ValueError):
    """An argument has an acceptable type but an unacceptable value (``Linear(-3, 2)``)."""


class IndexOutOfRangeError(ArgumentError, IndexError):
    """An integer index is outside its valid range (``Embedding(10, 3)`` given the index 12)."""


class ArgumentTypeError(NnframeError, TypeError):
    """An argument has the wrong type (``Linear(2.5, 2)``)."""


class CacheMissError(NnframeError, RuntimeError):
    """``backward`` was called without a cached ``forward`` pass to go back through."""


class StaleCacheError(NnframeError, RuntimeError):
    """``backward`` got a loss's gradient for an output the layer's cache no longer holds.

    The model ran forward again between the loss and backward (an evaluation outside
    ``nnframe.no_grad()``), so the cached activations belong to another pass.
    """


class StateDictError(NnframeError, ValueError):
    """A state dict does not match the model: missing or unexpected names, shapes, dtypes."""


class DataError(NnframeError, ValueError):
    """Training or evaluation data is unusable (NaN, mismatched lengths, bad labels)."""


class TrainingDivergedError(NnframeError, FloatingPointError):
    """The training loss became NaN or infinite, or grew past its divergence threshold.

    ``Trainer(divergence_threshold=...)``: that many times the first loss of the run.
    """


class SerializationError(NnframeError, ValueError):
    """A model file cannot be written or read safely."""


def one_line(error: BaseException, *, limit: int | None = 300, separator: str = " ") -> str:
    r"""Return ``str(error)`` on one line, cut to ``limit`` characters (None: no limit).

    Lines are joined with ``separator`` and runs of spaces collapsed; for messages that
    quote another error (a file's parse error, a failed config) or a command's output.

    Examples
    --------
    >>> one_line(ValueError("bad\n  value"))
    'bad value'
    >>> one_line(ValueError("two problems:\n  a\n  b"), separator="; ")
    'two problems:; a; b'
    """
    lines = (" ".join(line.split()) for line in str(error).splitlines())
    text = separator.join(line for line in lines if line)
    if limit is None or len(text) <= limit:
        return text
    return text[: limit - 3] + "..."
