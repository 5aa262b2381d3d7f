"""Argument checks shared across nnframe: each returns the validated value or raises.

Every check takes the value and where it is given (``"Linear: in_features"``), which starts
the error message, and raises an ``nnframe.errors`` exception (``ArgumentTypeError`` for a
wrong type, ``ArgumentError`` for a wrong value) before anything has changed.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import numbers
import os
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import TypeGuard, TypeVar

import numpy as np

from nnframe.errors import ArgumentError, ArgumentTypeError, DTypeError, ShapeError

__all__ = [
    "DEFAULT_DTYPE",
    "Check",
    "allocation_budget",
    "array_size",
    "available_memory",
    "budget_active",
    "boolean",
    "file_path",
    "float_dtype",
    "format_shape",
    "interval",
    "matching_arrays",
    "is_integer",
    "is_real",
    "non_negative",
    "owned_real_array",
    "non_negative_int",
    "pair",
    "positive",
    "positive_int",
    "real",
    "real_array",
    "state_mismatch",
    "unit_interval",
]

T = TypeVar("T")

#: The dtype of parameters, and of integer or boolean inputs, unless a layer is told otherwise.
DEFAULT_DTYPE = np.dtype(np.float32)

#: A check takes the value and where it is set (``"SGD: lr"``, used as the start of
#: error messages) and returns the validated value as a plain Python object.
Check = Callable[[object, str], T]


# Python counts a bool as an int, and the numbers ABCs count numpy's timedelta64 as an
# integer; neither is a size, a count or a rate.
_NOT_NUMBERS = (bool, np.bool_, np.timedelta64)


def is_integer(value: object) -> TypeGuard[numbers.Integral]:
    """Return whether ``value`` is an integer (Python or numpy), and not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, _NOT_NUMBERS)


def is_real(value: object) -> TypeGuard[numbers.Real]:
    """Return whether ``value`` is a real number (Python or numpy), and not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, _NOT_NUMBERS)


def real(value: object, where: str) -> float:
    """Return ``value`` as a finite Python float, or raise naming ``where``.

    Numpy scalars become Python floats on purpose: under NEP 50 a Python float does
    not change the dtype of a float32 array it meets, while an ``np.float64`` does.
    """
    if not is_real(value):
        raise ArgumentTypeError(
            f"{where} must be a real number; got {value!r} of type {type(value).__name__}"
        )
    try:
        result = float(value)
    except OverflowError:  # an int beyond the float range (10**400)
        result = math.inf
    if not math.isfinite(result):
        raise ArgumentError(f"{where} must be finite; got {result}")
    return result


def interval(
    low: float, high: float | None = None, *, low_open: bool = False, high_open: bool = True
) -> Check[float]:
    """Return a check for a real number in an interval (``[low, high)`` by default).

    Parameters
    ----------
    low : float
        The lower bound.
    high : float, optional
        The upper bound; without it the interval is unbounded above.
    low_open, high_open : bool
        Whether the bound itself is excluded.
    """
    if high is None:
        text = f"{'>' if low_open else '>='} {low:g}"
    else:
        text = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"

    def check(value: object, where: str) -> float:
        x = real(value, where)
        above = x > low if low_open else x >= low
        below = high is None or (x < high if high_open else x <= high)
        if not (above and below):
            raise ArgumentError(f"{where} must be {text}; got {x:g}")
        return x

    return check


non_negative = interval(0.0)
positive = interval(0.0, low_open=True)
unit_interval = interval(0.0, 1.0)


def positive_int(value: object, where: str) -> int:
    """Return ``value`` as a positive Python int, or raise naming ``where``."""
    if not is_integer(value):
        raise ArgumentTypeError(
            f"{where} must be an int; got {value!r} of type {type(value).__name__}"
        )
    if value <= 0:
        raise ArgumentError(f"{where} must be positive; got {value}")
    return int(value)


def boolean(value: object, where: str) -> bool:
    """Return ``value`` as a Python bool, or raise naming ``where``."""
    if not isinstance(value, bool | np.bool_):
        raise ArgumentTypeError(
            f"{where} must be a bool; got {value!r} of type {type(value).__name__}"
        )
    return bool(value)


def pair(check: Check[float]) -> Check[tuple[float, float]]:
    """Return a check for a pair of numbers (Adam's ``betas``), each passing ``check``."""

    def check_pair(value: object, where: str) -> tuple[float, float]:
        if not isinstance(value, tuple | list) or len(value) != 2:
            raise ArgumentTypeError(f"{where} must be a pair of numbers; got {value!r}")
        return check(value[0], f"{where}[0]"), check(value[1], f"{where}[1]")

    return check_pair


def non_negative_int(value: object, where: str) -> int:
    """Return ``value`` as a Python int >= 0, or raise naming ``where``."""
    if not is_integer(value):
        raise ArgumentTypeError(
            f"{where} must be an int; got {value!r} of type {type(value).__name__}"
        )
    if value < 0:
        raise ArgumentError(f"{where} must be >= 0; got {value}")
    return int(value)


def float_dtype(value: object, where: str) -> np.dtype:
    """Return ``value`` as a numpy float dtype, or raise naming ``where``."""
    try:
        with warnings.catch_warnings():  # deprecated aliases ("a") are rejected below anyway
            warnings.simplefilter("ignore", DeprecationWarning)
            result = np.dtype(value)  # type: ignore[call-overload]
    except (TypeError, ValueError, SyntaxError) as error:  # numpy parses some strings ("01")
        raise ArgumentTypeError(f"{where} must be a dtype; got {value!r}") from error
    if result.kind != "f":
        raise ArgumentError(f"{where} must be a float dtype; got {result}")
    return result


def file_path(value: object, where: str) -> str:
    """Return ``value`` as a non-empty ``str`` path the operating system accepts, or raise.

    Takes a ``str`` or a path-like object whose ``os.fspath`` is a ``str``; refuses bytes
    paths, empty paths and paths with a NUL character (which ``open`` would reject with a
    bare ``ValueError``).
    """
    if not isinstance(value, str | os.PathLike):
        raise ArgumentTypeError(f"{where} must be a str or path-like; got {type(value).__name__}")
    path = os.fspath(value)
    if not isinstance(path, str):
        raise ArgumentTypeError(f"{where} must be a str path; got {type(path).__name__}")
    if not path:
        raise ArgumentError(f"{where} is empty; expected a file name")
    if "\0" in path:
        raise ArgumentError(f"{where} contains a NUL character: {path!r}")
    return path


def real_array(value: object, where: str) -> np.ndarray:
    """Return ``value`` as a real numeric ndarray (an ndarray itself, uncopied), or raise.

    Raises ``ShapeError`` for ragged nested lists and ``DTypeError`` for strings, objects,
    complex numbers, dates and anything else that is not ints, floats or bools.
    """
    if isinstance(value, np.ndarray):
        array = value
    else:
        try:
            array = np.asarray(value)
        except ValueError as error:  # ragged nesting: [[1, 2], [3]]
            raise ShapeError(
                f"{where} must be a rectangular array of numbers; got a ragged "
                f"{type(value).__name__}"
            ) from error
        except TypeError as error:
            raise DTypeError(
                f"{where} must be a real numeric array; got {type(value).__name__}"
            ) from error
    if array.dtype.kind not in "fiub":
        raise DTypeError(f"{where} must be a real numeric array; got dtype {array.dtype}")
    return array


def owned_real_array(owner: object, value: object, what: str) -> np.ndarray:
    """:func:`real_array` for ``what`` of ``owner``, naming them only when it raises.

    A real ndarray is returned at once, without building the message (``f"{owner!r}:
    {what}"``): layers and losses check every array they are given, on every call.

    Examples
    --------
    >>> owned_real_array("Linear(2 -> 1)", np.ones(2), "the input").shape
    (2,)
    """
    if type(value) is np.ndarray and value.dtype.kind in "fiub":
        return value
    return real_array(value, f"{owner!r}: {what}")


def available_memory() -> int:
    """Return the bytes of memory this machine can give a new array now.

    ``MemAvailable`` of ``/proc/meminfo`` on Linux (free memory plus the caches the kernel
    can drop), else ``os.sysconf`` free pages (``SC_AVPHYS_PAGES``), else physical pages
    (``SC_PHYS_PAGES``), else numpy's index range; at most what the process's address-space
    limit (``ulimit -v``) leaves, where one is set.

    Examples
    --------
    >>> available_memory() > 0
    True
    """
    return min(_free_memory(), _address_space_left())


def _free_memory() -> int:
    with (
        contextlib.suppress(OSError, ValueError, IndexError),
        open("/proc/meminfo", encoding="ascii") as stream,
    ):
        for line in stream:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    for pages in ("SC_AVPHYS_PAGES", "SC_PHYS_PAGES"):
        with contextlib.suppress(AttributeError, ValueError, OSError):  # not a POSIX system
            count = os.sysconf(pages) * os.sysconf("SC_PAGE_SIZE")
            if count > 0:
                return count
    return int(np.iinfo(np.intp).max)


def _address_space_left() -> int:
    unlimited = int(np.iinfo(np.intp).max)
    try:
        import resource  # POSIX only
    except ImportError:  # pragma: no cover - Windows
        return unlimited
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY or soft < 0:
        return unlimited
    used = 0
    with (
        contextlib.suppress(OSError, ValueError, IndexError),
        open("/proc/self/status", encoding="ascii") as stream,
    ):
        for line in stream:
            if line.startswith("VmSize:"):
                used = int(line.split()[1]) * 1024
    return max(soft - used, 0)


class _Budget:
    """The bytes a model being built for loading may still ask for, and what says so."""

    __slots__ = ("left", "what")

    def __init__(self, left: int, what: str) -> None:
        self.left = left
        self.what = what


_budget: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar(
    "nnframe_allocation_budget", default=None
)


@contextlib.contextmanager
def allocation_budget(nbytes: int, what: str) -> Iterator[None]:
    """Within the block, :func:`array_size` grants at most ``nbytes`` in all, then refuses.

    :func:`nnframe.load` builds a model from a file's architecture inside this block, with
    the bytes the file's tensors justify, so that an architecture asking for more
    (``Linear(16000, 16000)`` in a file holding no tensors) is refused before its arrays
    exist; :func:`nnframe.init.draw` draws nothing inside it (the weights come from the
    file).

    Parameters
    ----------
    nbytes : int
        The budget.
    what : str
        What justifies it, for the error message (``"the file's tensors (280 bytes)"``).

    Examples
    --------
    >>> with allocation_budget(1000, "the example"):
    ...     array_size((10, 10), np.dtype(np.float32), "Linear")
    ...     array_size((100, 100), np.dtype(np.float32), "Linear")
    Traceback (most recent call last):
    ...
    nnframe.errors.ArgumentError: Linear: an array of shape (100, 100) and dtype float32
    (40000 bytes) is more than the example justifies (600 bytes left)
    """
    token = _budget.set(_Budget(int(nbytes), what))
    try:
        yield
    finally:
        _budget.reset(token)


def budget_active() -> bool:
    """Return whether an :func:`allocation_budget` block is active (in this context)."""
    return _budget.get() is not None


def array_size(
    shape: tuple[int, ...], dtype: np.dtype, where: str, *, copies: int = 1
) -> None:
    """Raise ``ArgumentError`` naming ``where`` when an array of ``shape`` cannot be made.

    ``copies`` is how many such arrays the caller makes at once (a drawn weight, its
    cast, the Parameter's value and its gradient). The limit is the memory available now
    (:func:`available_memory`), so that
    ``Linear(10**6, 10**6)`` fails at once instead of swapping, being killed or raising
    numpy's bare ``MemoryError`` while its weights are drawn. Inside
    :func:`allocation_budget` the array must also fit in what is left of the budget, and
    is counted against it.

    Examples
    --------
    >>> array_size((10**6, 10**6), np.dtype(np.float64), "Linear")
    Traceback (most recent call last):
    ...
    nnframe.errors.ArgumentError: Linear: an array of shape (1000000, 1000000) and dtype float64
    (7.45e+03 GiB) do not fit in the ... GiB this machine has available
    """
    nbytes = math.prod(shape) * dtype.itemsize * copies
    budget = _budget.get()
    if budget is not None:
        if nbytes > budget.left:
            raise ArgumentError(
                f"{where}: an array of shape {shape} and dtype {dtype} ({nbytes} bytes) is "
                f"more than {budget.what} justifies ({budget.left} bytes left)"
            )
        budget.left -= nbytes
    limit = available_memory()
    if nbytes > limit:
        raise ArgumentError(
            f"{where}: {'an array' if copies == 1 else f'{copies} arrays'} of shape {shape} "
            f"and dtype {dtype} ({_gib(nbytes)} GiB) do not fit in the "
            f"{limit / 2**30:.3g} GiB this machine has available"
        )


def _gib(nbytes: int) -> str:
    try:
        return f"{nbytes / 2**30:.3g}"
    except OverflowError:  # beyond the float range
        return f"about 1e{len(str(nbytes // 2**30)) - 1}"


def format_shape(shape: tuple[int | str, ...]) -> str:
    """Format a shape such as ``("batch", 20)`` as ``(batch, 20)``."""
    inner = ", ".join(str(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


def state_mismatch(name: str, array: np.ndarray, want: np.ndarray, owner: str) -> str | None:
    """Describe how a state-dict ``array`` fails to fit ``want`` (shape, then dtype), or None.

    ``owner`` says where ``want`` lives (``"in the model"``, ``"for params[0]"``).
    """
    if array.shape != want.shape:
        return (
            f"{name!r}: shape {format_shape(array.shape)} in the state dict, "
            f"{format_shape(want.shape)} {owner}"
        )
    if array.dtype != want.dtype:
        return f"{name!r}: dtype {array.dtype} in the state dict, {want.dtype} {owner}"
    return None


def matching_arrays(
    state: Mapping[str, object], own: Mapping[str, np.ndarray], strict: bool, owner: str
) -> tuple[dict[str, np.ndarray], list[str]]:
    """Match a state dict against the arrays it would be loaded into.

    Returns the arrays to copy, by name, and every problem found (missing and unexpected
    names when ``strict``, ragged values, shapes, dtypes), sorted, so that a caller
    loads all or nothing. ``owner`` says where ``own`` lives (``"in the model"``).
    """
    problems = []
    if strict:
        problems += [f"missing: {name!r}" for name in own if name not in state]
        problems += [f"unexpected: {name!r}" for name in state if name not in own]
    arrays = {}
    for name in own.keys() & state.keys():
        try:
            array = np.asarray(state[name])
        except (ValueError, TypeError):
            problems.append(f"{name!r}: not a rectangular array in the state dict")
            continue
        problem = state_mismatch(name, array, own[name], owner)
        if problem is not None:
            problems.append(problem)
        arrays[name] = array
    return arrays, sorted(problems)
